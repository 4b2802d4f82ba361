/**
 * Writing an edited plant back into its YAML text, keeping what a person wrote: the plant wizard edits the plant
 * as a plain value; mergePlantText() carries that value into the parsed document of the file, changing only the
 * nodes whose value changed. Comments, key order, quoting, flow style and anchors of untouched parts stay as they
 * were; a text whose value did not change is returned as it was, byte for byte.
 * When only values changed (the usual edit), each is written over its own characters in the text and nothing else
 * moves. When keys or list items were added or removed, or a value changed kind, the document is written out again
 * by the YAML library: comments, order and anchors stay, but the spacing inside flow collections (`{ a: 1 }`,
 * `[a]`) follows one style for the whole file; the report says `reformatted`. A changed value under an alias
 * (`*logixTags`) becomes a copy of its own (the anchor's other uses keep the old value), and new keys are added
 * after the existing ones.
 */
import { Document, isAlias, isMap, isScalar, isSeq, Node, Pair, parseDocument, Scalar } from 'yaml';
import { SpotFusionError } from '../errors';
import { formatPath, Path } from './model';

export interface MergeReport {
  /** nodes given a new value, added or removed */
  changed: number;
  /** paths where an alias was replaced by a copy because the value under it changed */
  unaliased: string[];
  /** the library wrote the whole document again (keys or items added or removed, a value changed kind) */
  reformatted: boolean;
}

/** a changed scalar written over its own characters: [start, end) of the text */
interface Patch {
  start: number;
  end: number;
  text: string;
}

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

/** the scalar as YAML text, quoted (JSON-style) unless it is a plain word that reads back as the same string */
function scalarText(value: unknown, quoted: boolean): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const plain = /^[A-Za-z_][A-Za-z0-9_./-]*( [A-Za-z0-9_./-]+)*$/.test(value) && !RESERVED.test(value);
  return quoted || !plain ? JSON.stringify(value) : value;
}

type Plain = null | boolean | number | string | Plain[] | { [k: string]: Plain };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

/** a new node for `value`, carrying over the comments of the node it replaces */
function replacement(doc: Document, old: unknown, value: unknown): Node {
  const fresh = doc.createNode(value) as Node;
  if (old && typeof old === 'object') {
    const o = old as { comment?: string | null; commentBefore?: string | null; spaceBefore?: boolean };
    const f = fresh as { comment?: string | null; commentBefore?: string | null; spaceBefore?: boolean };
    f.comment = o.comment;
    f.commentBefore = o.commentBefore;
    f.spaceBefore = o.spaceBefore;
  }
  return fresh;
}

function keyOf(pair: Pair): string {
  const k = pair.key;
  return String(isScalar(k) ? k.value : k);
}

interface MergeState extends MergeReport {
  patches: Patch[];
}

function merge(doc: Document, node: unknown, value: unknown, path: Path, report: MergeState): unknown {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target && sameValue(target.toJS(doc), value)) return node;
    report.changed += 1;
    report.reformatted = true;
    report.unaliased.push(formatPath(path));
    return replacement(doc, node, value);
  }
  if (isMap(node) && isRecord(value)) {
    const map = node;
    const seen = new Set<string>();
    const kept: Pair[] = [];
    for (const pair of map.items) {
      const k = keyOf(pair);
      if (!Object.prototype.hasOwnProperty.call(value, k)) {
        report.changed += 1;
        report.reformatted = true;
        continue;
      }
      seen.add(k);
      pair.value = merge(doc, pair.value, value[k], [...path, k], report);
      kept.push(pair);
    }
    map.items = kept;
    for (const [k, v] of Object.entries(value)) {
      if (seen.has(k)) continue;
      report.changed += 1;
      report.reformatted = true;
      map.items.push(doc.createPair(k, v));
    }
    return map;
  }
  if (isSeq(node) && Array.isArray(value)) {
    const seq = node;
    const n = Math.min(seq.items.length, value.length);
    for (let i = 0; i < n; i++) seq.items[i] = merge(doc, seq.items[i], value[i], [...path, i], report);
    if (seq.items.length > value.length) {
      report.changed += seq.items.length - value.length;
      report.reformatted = true;
      seq.items.splice(value.length);
    }
    for (let i = n; i < value.length; i++) {
      report.changed += 1;
      report.reformatted = true;
      seq.items.push(doc.createNode(value[i]));
    }
    return seq;
  }
  if (isScalar(node) && (value === null || typeof value !== 'object')) {
    const s = node;
    if (s.value === value) return s;
    report.changed += 1;
    const quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
    const text = scalarText(value, quoted);
    // block scalars (| and >) and values without a source range are left to the library
    if (text !== undefined && s.range && s.type !== Scalar.BLOCK_LITERAL && s.type !== Scalar.BLOCK_FOLDED) report.patches.push({ start: s.range[0], end: s.range[1], text });
    else report.reformatted = true;
    // a number written as a string (or the other way) gets the plain style again
    if (typeof s.value !== typeof value) s.type = undefined;
    s.value = value;
    return s;
  }
  report.changed += 1;
  report.reformatted = true;
  // an empty value, or a map that became a list, a scalar that became a map, …
  if (node === null || node === undefined) return doc.createNode(value);
  return replacement(doc, node, value);
}

/**
 * The plant file's text with `value` carried into it (see the module comment). An empty `text` makes a new
 * document. Throws a CONFIG error for text that does not parse (the wizard shows the file's own problems first).
 */
export function mergePlantText(text: string, value: Plain | Record<string, unknown>): { text: string; report: MergeReport } {
  if (text.trim() === '') {
    const doc = new Document(value);
    return { text: doc.toString({ lineWidth: 0 }), report: { changed: 1, unaliased: [], reformatted: true } };
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) throw new SpotFusionError('CONFIG', `the plant file does not parse: ${doc.errors[0].message.split('\n')[0]}`);
  const state: MergeState = { changed: 0, unaliased: [], reformatted: false, patches: [] };
  doc.contents = merge(doc, doc.contents, value, [], state) as typeof doc.contents;
  const report: MergeReport = { changed: state.changed, unaliased: state.unaliased, reformatted: state.reformatted };
  if (state.changed === 0) return { text, report };
  if (!state.reformatted) {
    let out = text;
    for (const p of [...state.patches].sort((a, b) => b.start - a.start)) out = out.slice(0, p.start) + p.text + out.slice(p.end);
    return { text: out, report };
  }
  return { text: doc.toString({ lineWidth: 0 }), report };
}
