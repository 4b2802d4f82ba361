/**
 * A GenICam (GenApi) interpreter for the subset real GigE Vision cameras use:
 *   registers  IntReg, MaskedIntReg, StructReg (StructEntry), FloatReg, StringReg, Register — with Address,
 *              pAddress, pIndex (Offset / pOffset), Length, AccessMode, Endianess, Sign, LSB/MSB/Bit, Cachable,
 *              pInvalidator;
 *   features   Integer, Float, Boolean, Enumeration (EnumEntry), Command, String — with Value/pValue, Min/pMin,
 *              Max/pMax, Inc/pInc, pIsAvailable, pIsLocked, pIsImplemented, pSelected;
 *   formulas   Converter, IntConverter, SwissKnife, IntSwissKnife (pVariable, Constant, Expression), evaluated by
 *              ./expression (our own parser, never eval);
 *   Category (pFeature) for listing. One Port: every register reads and writes through the given port.
 * Caching: registers are cached per address unless Cachable is NoCache; a write updates (WriteThrough) or drops
 * (WriteAround) the entry, and drops every register whose pInvalidator names a node the write went through.
 * A selector works through pIndex/pAddress: the address of a selected register follows the selector's value, so
 * the cache (keyed by address) keeps one entry per selector value.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SpotFusionError } from '../../errors';
import { Expr, evaluate, parseFormula } from './expression';

export interface Port {
  read(address: number, length: number): Promise<Buffer>;
  write(address: number, data: Buffer): Promise<void>;
}

export type FeatureValue = number | boolean | string;

type Xml = Record<string, unknown>;

const REGISTER_KINDS = new Set(['IntReg', 'MaskedIntReg', 'FloatReg', 'StringReg', 'Register']);
const KINDS = new Set([
  ...REGISTER_KINDS,
  'Integer',
  'Float',
  'Boolean',
  'Enumeration',
  'Command',
  'String',
  'Converter',
  'IntConverter',
  'SwissKnife',
  'IntSwissKnife',
  'Category',
  'Port',
]);

interface Ref {
  name?: string;
  value?: number;
}

interface GNode {
  kind: string;
  name: string;
  x: Xml;
  /** StructEntry fields override the StructReg's */
  entry?: Xml;
  formulas?: Map<string, Expr>;
}

function err(message: string): SpotFusionError {
  return new SpotFusionError('GENICAM', message);
}

export function parseNumber(s: string, what: string): number {
  const t = s.trim();
  const neg = t.startsWith('-');
  const body = neg || t.startsWith('+') ? t.slice(1) : t;
  const v = /^0x[0-9a-f]+$/i.test(body) ? parseInt(body.slice(2), 16) : Number(body);
  if (body === '' || !Number.isFinite(v)) throw err(`${what}: "${s}" is not a number`);
  return neg ? -v : v;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  removeNSPrefix: true,
  isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
});

function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v && typeof v === 'object' && '#text' in v) return String((v as Xml)['#text']);
  return undefined;
}

function attr(v: unknown, name: string): string | undefined {
  if (v && typeof v === 'object') {
    const a = (v as Xml)[`@_${name}`];
    return typeof a === 'string' ? a : undefined;
  }
  return undefined;
}

function children(x: Xml, tag: string): unknown[] {
  const v = x[tag];
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function child(x: Xml, tag: string): string | undefined {
  const c = children(x, tag);
  return c.length ? textOf(c[0]) : undefined;
}

export class NodeMap {
  private readonly nodes = new Map<string, GNode>();
  private readonly cache = new Map<string, Buffer>();
  /** values of nodes that hold their own Value (no pValue): writable in the node map itself */
  private readonly local = new Map<string, number>();
  /** register name → names whose write invalidates it */
  private readonly invalidators = new Map<string, string[]>();
  readonly vendor: string;
  readonly model: string;
  stats = { reads: 0, writes: 0, cacheHits: 0 };

  constructor(xml: string, private readonly port: Port) {
    let doc: Xml;
    const valid = XMLValidator.validate(xml);
    if (valid !== true) throw err(`GenICam XML does not parse: ${valid.err.msg} (line ${valid.err.line})`);
    try {
      doc = parser.parse(xml) as Xml;
    } catch (e) {
      throw err(`GenICam XML does not parse: ${(e as Error).message}`);
    }
    const root = children(doc, 'RegisterDescription');
    if (root.length === 0) throw err('GenICam XML has no RegisterDescription root element');
    const rd = (root[0] && typeof root[0] === 'object' ? root[0] : {}) as Xml;
    this.vendor = attr(rd, 'VendorName') ?? '';
    this.model = attr(rd, 'ModelName') ?? '';
    this.collect(rd);
    if (this.nodes.size === 0) throw err('GenICam XML declares no nodes');
  }

  private collect(x: Xml): void {
    for (const [tag, list] of Object.entries(x)) {
      if (tag.startsWith('@_') || !Array.isArray(list)) continue;
      for (const el of list) {
        if (!el || typeof el !== 'object') continue;
        const e = el as Xml;
        if (tag === 'Group') {
          this.collect(e);
        } else if (tag === 'StructReg') {
          for (const se of children(e, 'StructEntry')) {
            const name = attr(se, 'Name');
            if (name) this.add({ kind: 'MaskedIntReg', name, x: e, entry: se as Xml });
          }
        } else if (KINDS.has(tag)) {
          const name = attr(e, 'Name');
          if (name) this.add({ kind: tag, name, x: e });
        }
      }
    }
  }

  private add(n: GNode): void {
    this.nodes.set(n.name, n);
    for (const inv of children(n.x, 'pInvalidator')) {
      const t = textOf(inv);
      if (!t) continue;
      const list = this.invalidators.get(n.name) ?? [];
      list.push(t);
      this.invalidators.set(n.name, list);
    }
  }

  has(name: string): boolean {
    return this.nodes.has(name);
  }

  kindOf(name: string): string | undefined {
    return this.nodes.get(name)?.kind;
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  /** Names listed by a Category, recursively expanded to features (categories themselves left out). */
  features(category = 'Root'): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const walk = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const n = this.nodes.get(name);
      if (!n) return;
      if (n.kind === 'Category') for (const f of children(n.x, 'pFeature')) walk(textOf(f) ?? '');
      else out.push(name);
    };
    walk(category);
    return out;
  }

  private node(name: string): GNode {
    const n = this.nodes.get(name);
    if (!n) throw err(`feature "${name}" does not exist on this camera`);
    return n;
  }

  /** field of a node, StructEntry first */
  private field(n: GNode, tag: string): string | undefined {
    return (n.entry && child(n.entry, tag)) ?? child(n.x, tag);
  }

  /** a value given as a literal or as a pointer to another node */
  private ref(n: GNode, literal: string, pointer: string): Ref | undefined {
    const p = this.field(n, pointer);
    if (p !== undefined) return { name: p };
    const l = this.field(n, literal);
    if (l !== undefined) return { value: parseNumber(l, `${n.name}.${literal}`) };
    return undefined;
  }

  private async refValue(r: Ref | undefined, fallback: number, chain: string[]): Promise<number> {
    if (!r) return fallback;
    if (r.value !== undefined) return r.value;
    return this.numeric(r.name as string, chain);
  }

  // ------------------------------------------------------------------ registers

  private async address(n: GNode, chain: string[]): Promise<number> {
    let a = 0;
    for (const el of children(n.x, 'Address')) a += parseNumber(textOf(el) ?? '', `${n.name}.Address`);
    for (const el of children(n.x, 'pAddress')) a += await this.numeric(textOf(el) ?? '', chain);
    for (const el of children(n.x, 'pIndex')) {
      const idx = await this.numeric(textOf(el) ?? '', chain);
      const off = attr(el, 'Offset');
      const pOff = attr(el, 'pOffset');
      const step = pOff ? await this.numeric(pOff, chain) : off ? parseNumber(off, `${n.name}.pIndex@Offset`) : 0;
      a += idx * step;
    }
    return a;
  }

  private async length(n: GNode, chain: string[]): Promise<number> {
    const r = this.ref(n, 'Length', 'pLength');
    const len = await this.refValue(r, 4, chain);
    if (!Number.isInteger(len) || len < 1 || len > 65536) throw err(`${n.name}: register length ${len} is not supported`);
    return len;
  }

  private access(n: GNode): string {
    return (this.field(n, 'AccessMode') ?? 'RW').toUpperCase();
  }

  private cacheable(n: GNode): boolean {
    return (this.field(n, 'Cachable') ?? 'WriteThrough') !== 'NoCache';
  }

  private async readRegister(n: GNode, chain: string[]): Promise<Buffer> {
    if (this.access(n) === 'WO') throw err(`${chain[0] ?? n.name}: register ${n.name} is write-only`);
    const addr = await this.address(n, chain);
    const len = await this.length(n, chain);
    const key = `${n.name}@${addr}`;
    if (this.cacheable(n)) {
      const hit = this.cache.get(key);
      if (hit) {
        this.stats.cacheHits += 1;
        return hit;
      }
    }
    this.stats.reads += 1;
    const data = await this.port.read(addr, len);
    if (this.cacheable(n)) this.cache.set(key, data);
    return data;
  }

  private async writeRegister(n: GNode, data: Buffer, chain: string[]): Promise<void> {
    if (this.access(n) === 'RO') throw err(`${chain[0] ?? n.name} is read-only (register ${n.name})`);
    const addr = await this.address(n, chain);
    this.stats.writes += 1;
    await this.port.write(addr, data);
    const key = `${n.name}@${addr}`;
    const mode = this.field(n, 'Cachable') ?? 'WriteThrough';
    if (mode === 'WriteThrough') this.cache.set(key, Buffer.from(data));
    else this.cache.delete(key);
    // the same address may be read through another register node (e.g. a StructEntry): drop those
    for (const k of [...this.cache.keys()]) if (k.endsWith(`@${addr}`) && k !== key) this.cache.delete(k);
    this.invalidate([...chain, n.name]);
  }

  private invalidate(written: string[]): void {
    const set = new Set(written);
    for (const [reg, by] of this.invalidators) {
      if (by.some((b) => set.has(b))) for (const k of [...this.cache.keys()]) if (k.startsWith(`${reg}@`)) this.cache.delete(k);
    }
  }

  /** Forget every cached register (e.g. after reconnecting). */
  clearCache(): void {
    this.cache.clear();
  }

  private littleEndian(n: GNode): boolean {
    return (this.field(n, 'Endianess') ?? 'LittleEndian') === 'LittleEndian';
  }

  private signed(n: GNode): boolean {
    return (this.field(n, 'Sign') ?? 'Unsigned') === 'Signed';
  }

  private static toBig(b: Buffer, little: boolean): bigint {
    let v = 0n;
    for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[little ? b.length - 1 - i : i]);
    return v;
  }

  private static fromBig(v: bigint, len: number, little: boolean): Buffer {
    const b = Buffer.alloc(len);
    let x = BigInt.asUintN(len * 8, v);
    for (let i = 0; i < len; i++) {
      b[little ? i : len - 1 - i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return b;
  }

  /** [shift, width] of a MaskedIntReg's bit field within its register */
  private bits(n: GNode, len: number): [number, number] {
    const little = this.littleEndian(n);
    const bit = this.field(n, 'Bit');
    let lsb: number;
    let msb: number;
    if (bit !== undefined) {
      lsb = msb = parseNumber(bit, `${n.name}.Bit`);
    } else {
      lsb = parseNumber(this.field(n, 'LSB') ?? (little ? '0' : String(len * 8 - 1)), `${n.name}.LSB`);
      msb = parseNumber(this.field(n, 'MSB') ?? (little ? String(len * 8 - 1) : '0'), `${n.name}.MSB`);
    }
    const inside = (b: number): boolean => Number.isInteger(b) && b >= 0 && b < len * 8;
    if (!inside(lsb) || !inside(msb) || (little ? msb < lsb : lsb < msb)) {
      throw err(`${n.name}: bit field LSB ${lsb} / MSB ${msb} does not fit the ${len * 8}-bit register (${little ? 'LittleEndian' : 'BigEndian'})`);
    }
    // little endian numbers bit 0 as the least significant; big endian numbers bit 0 as the most significant
    return little ? [lsb, msb - lsb + 1] : [len * 8 - 1 - lsb, lsb - msb + 1];
  }

  private async readInt(n: GNode, chain: string[]): Promise<number> {
    const data = await this.readRegister(n, chain);
    const little = this.littleEndian(n);
    let v = NodeMap.toBig(data, little);
    let width = data.length * 8;
    if (n.kind === 'MaskedIntReg') {
      const [shift, w] = this.bits(n, data.length);
      v = (v >> BigInt(shift)) & ((1n << BigInt(w)) - 1n);
      width = w;
    }
    if (this.signed(n)) v = BigInt.asIntN(width, v);
    return Number(v);
  }

  private async writeInt(n: GNode, value: number, chain: string[]): Promise<void> {
    if (!Number.isInteger(value)) throw err(`${chain[0] ?? n.name}: ${value} is not an integer`);
    const len = await this.length(n, chain);
    const little = this.littleEndian(n);
    let v = BigInt(value);
    if (n.kind === 'MaskedIntReg') {
      const [shift, w] = this.bits(n, len);
      const mask = ((1n << BigInt(w)) - 1n) << BigInt(shift);
      const old = this.access(n) === 'WO' ? 0n : NodeMap.toBig(await this.readRegister(n, chain), little);
      v = (old & ~mask) | ((BigInt.asUintN(w, v) << BigInt(shift)) & mask);
    }
    await this.writeRegister(n, NodeMap.fromBig(v, len, little), chain);
  }

  // ------------------------------------------------------------------ values

  private formula(n: GNode, tag: string): Expr {
    n.formulas ??= new Map();
    let f = n.formulas.get(tag);
    if (!f) {
      const src = child(n.x, tag);
      if (src === undefined) throw err(`${n.name}: no ${tag}`);
      try {
        f = parseFormula(src);
      } catch (e) {
        throw err(`${n.name}.${tag}: ${(e as Error).message}`);
      }
      n.formulas.set(tag, f);
    }
    return f;
  }

  private async variables(n: GNode, expr: Expr, chain: string[], extra: Record<string, number>): Promise<(name: string) => number> {
    const vars: Record<string, number> = { ...extra };
    for (const pv of children(n.x, 'pVariable')) {
      const vn = attr(pv, 'Name');
      const target = textOf(pv);
      if (!vn || !target) continue;
      vars[vn] = await this.numeric(target, chain);
    }
    for (const c of children(n.x, 'Constant')) {
      const vn = attr(c, 'Name');
      if (vn) vars[vn] = parseNumber(textOf(c) ?? '', `${n.name}.Constant ${vn}`);
    }
    for (const ex of children(n.x, 'Expression')) {
      const vn = attr(ex, 'Name');
      if (!vn) continue;
      const sub = parseFormula(textOf(ex) ?? '');
      const look = { ...vars };
      vars[vn] = evaluate(sub, (v) => look[v], n.kind.startsWith('Int'));
    }
    void expr;
    return (name: string): number => {
      if (!(name in vars)) throw err(`${n.name}: formula uses "${name}", which no pVariable, Constant or Expression defines`);
      return vars[name];
    };
  }

  /** numeric value of any node (Enumeration → its integer value, Boolean → 1/0) */
  private async numeric(name: string, chain: string[]): Promise<number> {
    if (chain.includes(name)) throw err(`${chain[0]}: circular reference through ${name}`);
    const n = this.node(name);
    const ch = [...chain, name];
    switch (n.kind) {
      case 'IntReg':
      case 'MaskedIntReg':
        return this.readInt(n, ch);
      case 'FloatReg': {
        const d = await this.readRegister(n, ch);
        const little = this.littleEndian(n);
        if (d.length === 4) return little ? d.readFloatLE(0) : d.readFloatBE(0);
        if (d.length === 8) return little ? d.readDoubleLE(0) : d.readDoubleBE(0);
        throw err(`${name}: FloatReg length ${d.length} is not 4 or 8`);
      }
      case 'Integer':
      case 'Float':
      case 'Enumeration':
      case 'Boolean': {
        const r = this.ref(n, 'Value', 'pValue');
        if (!r) throw err(`${name} has neither Value nor pValue`);
        if (r.value !== undefined) return this.local.get(name) ?? r.value;
        return this.refValue(r, 0, ch);
      }
      case 'Converter':
      case 'IntConverter': {
        const to = await this.numeric(this.field(n, 'pValue') ?? '', ch);
        const f = this.formula(n, 'FormulaFrom');
        const v = evaluate(f, await this.variables(n, f, ch, { TO: to }), n.kind === 'IntConverter');
        return n.kind === 'IntConverter' ? Math.trunc(v) : v;
      }
      case 'SwissKnife':
      case 'IntSwissKnife': {
        const f = this.formula(n, 'Formula');
        const v = evaluate(f, await this.variables(n, f, ch, {}), n.kind === 'IntSwissKnife');
        return n.kind === 'IntSwissKnife' ? Math.trunc(v) : v;
      }
      default:
        throw err(`${name} (${n.kind}) has no numeric value`);
    }
  }

  private async writeNumeric(name: string, value: number, chain: string[]): Promise<void> {
    if (chain.includes(name)) throw err(`${chain[0]}: circular reference through ${name}`);
    const n = this.node(name);
    const ch = [...chain, name];
    switch (n.kind) {
      case 'IntReg':
      case 'MaskedIntReg':
        return this.writeInt(n, Math.round(value), ch);
      case 'FloatReg': {
        const len = await this.length(n, ch);
        if (len !== 4 && len !== 8) throw err(`${name}: FloatReg length ${len} is not 4 or 8`);
        const b = Buffer.alloc(len);
        const little = this.littleEndian(n);
        if (len === 4) {
          if (little) b.writeFloatLE(value, 0);
          else b.writeFloatBE(value, 0);
        } else if (little) b.writeDoubleLE(value, 0);
        else b.writeDoubleBE(value, 0);
        return this.writeRegister(n, b, ch);
      }
      case 'Integer':
      case 'Float':
      case 'Enumeration':
      case 'Boolean': {
        const p = this.field(n, 'pValue');
        if (p === undefined) {
          // a node holding its own value (e.g. a selector's index): kept here, read back by pIndex users
          this.local.set(name, value);
          this.invalidate(ch);
          return;
        }
        await this.writeNumeric(p, value, ch);
        this.invalidate(ch);
        return;
      }
      case 'Converter':
      case 'IntConverter': {
        const f = this.formula(n, 'FormulaTo');
        const to = evaluate(f, await this.variables(n, f, ch, { FROM: value }), n.kind === 'IntConverter');
        return this.writeNumeric(this.field(n, 'pValue') ?? '', to, ch);
      }
      default:
        throw err(`${ch[0]}: ${name} (${n.kind}) cannot be written`);
    }
  }

  private async flag(n: GNode, pointer: string, chain: string[]): Promise<boolean | undefined> {
    const p = this.field(n, pointer);
    if (p === undefined) return undefined;
    return (await this.numeric(p, chain)) !== 0;
  }

  async isAvailable(name: string): Promise<boolean> {
    const n = this.node(name);
    const impl = await this.flag(n, 'pIsImplemented', [name]);
    const avail = await this.flag(n, 'pIsAvailable', [name]);
    return impl !== false && avail !== false;
  }

  async isWritable(name: string, chain: string[] = []): Promise<boolean> {
    if (chain.includes(name)) throw err(`${chain[0]}: circular reference through ${name}`);
    const n = this.node(name);
    if (!(await this.isAvailable(name))) return false;
    if ((await this.flag(n, 'pIsLocked', [name])) === true) return false;
    if (REGISTER_KINDS.has(n.kind)) return this.access(n) !== 'RO';
    if (n.kind === 'SwissKnife' || n.kind === 'IntSwissKnife' || n.kind === 'Category' || n.kind === 'Port') return false;
    const p = this.field(n, 'pValue');
    if (p === undefined) return n.kind !== 'Command' && this.field(n, 'Value') !== undefined;
    return this.isWritable(p, [...chain, name]);
  }

  /** min/max/inc of an Integer or Float (undefined where the camera sets none) */
  async range(name: string): Promise<{ min?: number; max?: number; inc?: number }> {
    const n = this.node(name);
    const out: { min?: number; max?: number; inc?: number } = {};
    const min = this.ref(n, 'Min', 'pMin');
    const max = this.ref(n, 'Max', 'pMax');
    const inc = this.ref(n, 'Inc', 'pInc');
    if (min) out.min = await this.refValue(min, 0, [name]);
    if (max) out.max = await this.refValue(max, 0, [name]);
    if (inc) out.inc = await this.refValue(inc, 1, [name]);
    return out;
  }

  /** entry names of an Enumeration, with their integer values (unavailable ones left out) */
  async entries(name: string): Promise<Array<{ name: string; value: number }>> {
    const n = this.node(name);
    if (n.kind !== 'Enumeration') throw err(`${name} is not an Enumeration`);
    const out: Array<{ name: string; value: number }> = [];
    for (const e of children(n.x, 'EnumEntry')) {
      const en = attr(e, 'Name');
      const v = child(e as Xml, 'Value');
      if (!en || v === undefined) continue;
      const avail = child(e as Xml, 'pIsAvailable');
      const impl = child(e as Xml, 'pIsImplemented');
      if (avail && (await this.numeric(avail, [name])) === 0) continue;
      if (impl && (await this.numeric(impl, [name])) === 0) continue;
      out.push({ name: en, value: parseNumber(v, `${name}.${en}`) });
    }
    return out;
  }

  private async checkReadable(name: string): Promise<GNode> {
    const n = this.node(name);
    if (!(await this.isAvailable(name))) throw new SpotFusionError('NOT_AVAILABLE', `feature "${name}" is not available now`);
    return n;
  }

  /** Read a feature: Integer/Float/converters → number, Boolean → boolean, Enumeration → entry name, String → string. */
  async get(name: string, chain: string[] = []): Promise<FeatureValue> {
    if (chain.includes(name)) throw err(`${chain[0]}: circular reference through ${name}`);
    const n = await this.checkReadable(name);
    switch (n.kind) {
      case 'Boolean': {
        const v = await this.numeric(name, []);
        const on = parseNumber(child(n.x, 'OnValue') ?? '1', `${name}.OnValue`);
        return v === on;
      }
      case 'Enumeration': {
        const v = await this.numeric(name, []);
        const all = await this.entries(name);
        const e = all.find((x) => x.value === v);
        if (!e) throw err(`${name}: the camera reports ${v}, which is none of its entries (${all.map((x) => `${x.name}=${x.value}`).join(', ')})`);
        return e.name;
      }
      case 'String':
      case 'StringReg': {
        if (n.kind === 'String') {
          const lit = child(n.x, 'Value');
          if (lit !== undefined) return lit;
          return this.get(child(n.x, 'pValue') ?? '', [...chain, name]);
        }
        const d = await this.readRegister(n, [name]);
        const z = d.indexOf(0);
        return (z >= 0 ? d.subarray(0, z) : d).toString('latin1');
      }
      case 'Command':
        throw err(`${name} is a command: execute it instead of reading it`);
      case 'Category':
      case 'Port':
        throw err(`${name} is a ${n.kind}, not a value`);
      default:
        return this.numeric(name, []);
    }
  }

  /** Write a feature, checking availability, lock, access, range and enumeration entries first. */
  async set(name: string, value: FeatureValue, chain: string[] = []): Promise<void> {
    if (chain.includes(name)) throw err(`${chain[0]}: circular reference through ${name}`);
    const n = await this.checkReadable(name);
    if ((await this.flag(n, 'pIsLocked', [name])) === true) throw new SpotFusionError('LOCKED', `feature "${name}" is locked now (e.g. while acquisition runs)`);
    switch (n.kind) {
      case 'Boolean': {
        if (typeof value !== 'boolean') throw err(`${name} is a Boolean: give true or false, not ${JSON.stringify(value)}`);
        const on = parseNumber(child(n.x, 'OnValue') ?? '1', `${name}.OnValue`);
        const off = parseNumber(child(n.x, 'OffValue') ?? '0', `${name}.OffValue`);
        return this.writeNumeric(name, value ? on : off, []);
      }
      case 'Enumeration': {
        const all = await this.entries(name);
        const e = all.find((x) => x.name === value || (typeof value === 'number' && x.value === value));
        if (!e) throw err(`${name}: "${String(value)}" is not one of ${all.map((x) => x.name).join(', ')}`);
        return this.writeNumeric(name, e.value, []);
      }
      case 'StringReg': {
        if (typeof value !== 'string') throw err(`${name} is a string`);
        const len = await this.length(n, [name]);
        const b = Buffer.alloc(len);
        if (Buffer.byteLength(value, 'latin1') > len) throw err(`${name}: "${value}" is longer than ${len} bytes`);
        b.write(value, 'latin1');
        return this.writeRegister(n, b, [name]);
      }
      case 'String':
        return this.set(child(n.x, 'pValue') ?? '', value, [...chain, name]);
      case 'Integer':
      case 'Float':
      case 'Converter':
      case 'IntConverter':
      case 'IntReg':
      case 'MaskedIntReg':
      case 'FloatReg': {
        const v = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
        if (!Number.isFinite(v)) throw err(`${name} needs a number, got ${JSON.stringify(value)}`);
        const integer = n.kind === 'Integer' || n.kind === 'IntConverter' || n.kind === 'IntReg' || n.kind === 'MaskedIntReg';
        if (integer && !Number.isInteger(v)) throw err(`${name} is an integer: ${v} is not`);
        const r = await this.range(name);
        if ((r.min !== undefined && v < r.min) || (r.max !== undefined && v > r.max)) {
          throw new SpotFusionError('RANGE', `${name}: ${v} is outside ${r.min ?? '-∞'}…${r.max ?? '∞'}`);
        }
        if (integer && r.inc !== undefined && r.inc > 1 && (v - (r.min ?? 0)) % r.inc !== 0) throw new SpotFusionError('RANGE', `${name}: ${v} is not a step of ${r.inc} from ${r.min ?? 0}`);
        return this.writeNumeric(name, v, []);
      }
      default:
        throw err(`${name} (${n.kind}) cannot be written`);
    }
  }

  /** Execute a Command feature. */
  async execute(name: string): Promise<void> {
    const n = await this.checkReadable(name);
    if (n.kind !== 'Command') throw err(`${name} is not a Command`);
    const r = this.ref(n, 'CommandValue', 'pCommandValue');
    const v = await this.refValue(r, 1, [name]);
    const p = this.field(n, 'pValue');
    if (!p) throw err(`${name}: command has no pValue`);
    await this.writeNumeric(p, v, [name]);
  }
}
