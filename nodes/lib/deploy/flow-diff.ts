import { SpotFusionError } from '../errors';
import type { FlowNode } from './flow-check';

export interface FlowDiff {
  added: FlowNode[];
  removed: FlowNode[];
  changed: Array<{ id: string; type: string; fields: string[] }>;
}

/** Position-only changes (x, y, w, h) do not count as changes of behaviour but are still reported. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** What deploying `next` over `current` would change, node by node and field by field. */
export function diffFlows(current: FlowNode[], next: FlowNode[]): FlowDiff {
  const cur = new Map(current.map((n) => [n.id, n]));
  const nxt = new Map(next.map((n) => [n.id, n]));
  const diff: FlowDiff = { added: [], removed: [], changed: [] };
  for (const n of next) if (!cur.has(n.id)) diff.added.push(n);
  for (const n of current) if (!nxt.has(n.id)) diff.removed.push(n);
  for (const n of next) {
    const c = cur.get(n.id);
    if (!c) continue;
    const keys = new Set([...Object.keys(c), ...Object.keys(n)]);
    // the server adds credentials placeholders and never returns secrets: compare without them
    keys.delete('credentials');
    const fields = [...keys].filter((k) => stable(c[k]) !== stable(n[k])).sort();
    if (fields.length) diff.changed.push({ id: n.id, type: n.type, fields });
  }
  return diff;
}

function named(n: FlowNode): string {
  const name = typeof n.name === 'string' && n.name ? n.name : typeof n.label === 'string' ? n.label : '';
  return `${n.id} (${n.type})${name ? ` "${name}"` : ''}`;
}

export function formatDiff(d: FlowDiff): string {
  const lines: string[] = [];
  for (const n of d.added) lines.push(`+ ${named(n)}`);
  for (const n of d.removed) lines.push(`- ${named(n)}`);
  for (const c of d.changed) lines.push(`~ ${c.id} (${c.type}): ${c.fields.join(', ')}`);
  if (!lines.length) lines.push('no changes');
  return lines.join('\n');
}

const CONTAINER = new Set(['tab', 'subflow']);

/**
 * What a deploy of `file` makes of the station's `current` flows: the file owns its tabs and subflows (with
 * every node in them) and each node it holds by id (config nodes); everything else on the station stays as it
 * is, in its place. Tabs or subflows named in `removeTabs` (by id or label) go, with their nodes: the only way
 * a deploy removes a tab the file does not hold.
 */
export function mergeFlows(current: FlowNode[], file: FlowNode[], removeTabs: readonly string[] = []): FlowNode[] {
  const fileById = new Map(file.map((n) => [n.id, n]));
  const owned = new Set(file.filter((n) => CONTAINER.has(n.type)).map((n) => n.id));
  const removed = new Set<string>();
  for (const name of removeTabs) {
    const hits = current.filter((n) => CONTAINER.has(n.type) && (n.id === name || n.label === name || n.name === name));
    if (!hits.length) throw new SpotFusionError('USAGE', `--remove-tab ${JSON.stringify(name)} names no tab or subflow on the station`);
    for (const t of hits) {
      if (fileById.has(t.id)) throw new SpotFusionError('USAGE', `--remove-tab ${JSON.stringify(name)} names ${t.id}, which the file deploys`);
      removed.add(t.id);
    }
  }
  const out: FlowNode[] = [];
  const placed = new Set<string>();
  for (const n of current) {
    const mine = fileById.get(n.id);
    if (mine) {
      out.push(mine);
      placed.add(n.id);
    } else if (removed.has(n.id) || (typeof n.z === 'string' && (owned.has(n.z) || removed.has(n.z)))) continue;
    else out.push(n);
  }
  for (const n of file) if (!placed.has(n.id)) out.push(n);
  if (!removed.size) return out;
  // config nodes that only the removed tabs used go with them; one that anything left refers to stays
  const gone = current.filter((n) => removed.has(n.id) || (typeof n.z === 'string' && removed.has(n.z)));
  const stillUsed = new Set(out.flatMap(referencedIds));
  const orphans = new Set(gone.flatMap(referencedIds).filter((id) => !stillUsed.has(id)));
  return out.filter((n) => !(orphans.has(n.id) && !fileById.has(n.id) && isConfigNode(n)));
}

function isConfigNode(n: FlowNode): boolean {
  return (n.z === undefined || n.z === '') && !CONTAINER.has(n.type) && n.wires === undefined;
}

/** Ids a node names in its own fields (config node references), wires left out. */
function referencedIds(n: FlowNode): string[] {
  const ids: string[] = [];
  for (const [k, v] of Object.entries(n)) {
    if (k === 'id' || k === 'z' || k === 'wires') continue;
    if (typeof v === 'string') ids.push(v);
    else if (Array.isArray(v)) for (const e of v) if (typeof e === 'string') ids.push(e);
  }
  return ids;
}
