/**
 * The simulator's tag database: Logix tags stored as the bytes a controller holds (atomics, arrays, STRING,
 * UDTs laid out by templates), resolved from EPATHs the way Logix resolves them (elements, members, BOOL
 * members packed in hidden host bytes), with CIP status codes for every way a request can be wrong.
 */
import {
  ATOMIC_SIZE,
  AtomicName,
  MEMBER_ARRAY,
  MEMBER_STRUCT,
  PathSegment,
  PlcValue,
  STRING_TEMPLATE,
  STRUCT_TYPE,
  SymbolEntry,
  Template,
  TypeCode,
  checkAtomic,
  decodeAtomic,
  decodeStruct,
  encodeAtomic,
  encodeStruct,
  encodeTemplateDefinition,
} from '../cip';
import { SpotFusionError } from '../../errors';

export interface SimMemberDef {
  name: string;
  /** atomic name, 'STRING' or the name of another UDT defined before */
  type: string;
  /** array length */
  count?: number;
}

export interface SimUdtDef {
  name: string;
  members: SimMemberDef[];
}

export interface SimTagDef {
  name: string;
  type: string;
  /** array dimensions, e.g. [10] or [2, 3] */
  dims?: number[];
  value?: unknown;
}

/** An element type: atomic code, or a structure with its template. */
export interface ElemType {
  code: number;
  size: number;
  template?: Template;
}

export interface SimTag {
  instance: number;
  name: string;
  elem: ElemType;
  dims: number[];
  /** BOOL arrays are stored as DWORDs; the number of BOOLs */
  boolCount?: number;
  data: Buffer;
}

/** Where a path points inside a tag. */
export interface Resolved {
  tag: SimTag;
  offset: number;
  elem: ElemType;
  /** elements from offset to the end of the array (1 for a scalar) */
  available: number;
  /** BOOL member of a structure: bit in the host byte at offset */
  bit?: number;
}

/** CIP status thrown by the database, turned into a reply by the server. */
export class CipStatus extends Error {
  constructor(readonly general: number, readonly extended: number[] = [], message = '') {
    super(message || `CIP status 0x${general.toString(16)}`);
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export class TagDatabase {
  readonly tags = new Map<string, SimTag>();
  readonly templates = new Map<number, Template>([[STRING_TEMPLATE.instance, STRING_TEMPLATE]]);
  private readonly udts = new Map<string, Template>();
  private nextTemplate = 0x100;
  private nextInstance = 1;
  /** programs by upper-case name ("PROGRAM:MAIN"): the symbol instance of their "Program:Main" entry */
  private readonly programs = new Map<string, { instance: number; name: string }>();
  readonly source = { byInstance: (i: number): Template | undefined => this.templates.get(i) };

  defineUdt(def: SimUdtDef): Template {
    const members: Template['members'] = [];
    let offset = 0;
    let maxAlign = 4;
    let host: { offset: number; bits: number } | undefined;
    let hostCount = 0;
    for (const m of def.members) {
      const count = m.count ?? 0;
      if (m.type === 'BOOL' && count === 0) {
        if (!host || host.bits === 8) {
          host = { offset, bits: 0 };
          members.push({ name: `ZZZZZZZZZZ${def.name}${hostCount++}`, type: TypeCode.SINT, info: 0, offset });
          offset += 1;
        }
        members.push({ name: m.name, type: TypeCode.BOOL, info: host.bits++, offset: host.offset });
        continue;
      }
      host = undefined;
      const elem = this.elemType(m.type);
      const align = elem.template ? (elem.size % 8 === 0 && elem.size >= 8 ? 4 : 4) : Math.min(elem.size, 8);
      maxAlign = Math.max(maxAlign, align);
      offset = alignUp(offset, align);
      let type = elem.template ? MEMBER_STRUCT | elem.template.instance : elem.code;
      let size = elem.size;
      let info = 0;
      if (count > 0) {
        if (m.type === 'BOOL') {
          type = MEMBER_ARRAY | TypeCode.DWORD;
          info = Math.ceil(count / 32);
          size = 4 * info;
        } else {
          type |= MEMBER_ARRAY;
          info = count;
          size = elem.size * count;
        }
      }
      members.push({ name: m.name, type, info, offset });
      offset += size;
    }
    const t: Template = {
      instance: this.nextTemplate++,
      handle: 0,
      name: def.name,
      size: alignUp(offset, maxAlign),
      members,
    };
    // a stable structure handle derived from the layout (real controllers use a CRC of the definition)
    let h = 0x1d0f;
    for (const byte of encodeTemplateDefinition(t)) h = ((h << 5) ^ (h >>> 11) ^ byte) & 0xffff;
    t.handle = h === STRING_TEMPLATE.handle || h === 0 ? 0x1234 : h;
    this.templates.set(t.instance, t);
    this.udts.set(def.name.toUpperCase(), t);
    return t;
  }

  elemType(type: string): ElemType {
    const upper = type.toUpperCase();
    if (upper === 'STRING') return { code: STRUCT_TYPE, size: STRING_TEMPLATE.size, template: STRING_TEMPLATE };
    const code = (TypeCode as Record<string, number>)[upper];
    if (code !== undefined) return { code, size: ATOMIC_SIZE[code] };
    const t = this.udts.get(upper);
    if (t) return { code: STRUCT_TYPE, size: t.size, template: t };
    throw new SpotFusionError('CONFIG', `simulator: unknown type "${type}"`);
  }

  addTag(def: SimTagDef): SimTag {
    const dims = def.dims ?? [];
    if (dims.length > 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new SpotFusionError('CONFIG', `simulator tag ${def.name}: bad dims`);
    let elem = this.elemType(def.type);
    const total = dims.reduce((a, b) => a * b, 1);
    let boolCount: number | undefined;
    let count = total;
    if (def.type.toUpperCase() === 'BOOL' && dims.length > 0) {
      elem = { code: TypeCode.DWORD, size: 4 };
      boolCount = total;
      count = Math.ceil(total / 32);
    }
    const scope = programOf(def.name);
    if (scope && !this.programs.has(scope.toUpperCase())) this.programs.set(scope.toUpperCase(), { instance: this.nextInstance++, name: scope });
    const tag: SimTag = { instance: this.nextInstance++, name: def.name, elem, dims: boolCount !== undefined ? [count] : dims, data: Buffer.alloc(elem.size * count) };
    if (boolCount !== undefined) tag.boolCount = boolCount;
    this.tags.set(def.name.toUpperCase(), tag);
    if (def.value !== undefined) this.set(def.name, def.value);
    return tag;
  }

  private lookup(name: string): SimTag {
    const t = this.tags.get(name.toUpperCase());
    if (!t) throw new SpotFusionError('ADDRESS', `simulator: no tag "${name}"`);
    return t;
  }

  /** Set a whole tag from a JS value (arrays as JS arrays, UDTs as objects, STRING as text). */
  set(name: string, value: unknown): void {
    const t = this.lookup(name);
    if (t.boolCount !== undefined) {
      const bits = value as unknown[];
      if (!Array.isArray(bits) || bits.length !== t.boolCount) throw new SpotFusionError('TYPE', `${name}: needs ${t.boolCount} BOOLs`);
      t.data.fill(0);
      bits.forEach((x, k) => {
        if (checkAtomic(TypeCode.BOOL, x, name)) t.data.writeUInt32LE((t.data.readUInt32LE(Math.floor(k / 32) * 4) | (1 << k % 32)) >>> 0, Math.floor(k / 32) * 4);
      });
      return;
    }
    const items = t.dims.length ? (value as unknown[]).flat(2) : [value];
    const n = t.data.length / t.elem.size;
    if (items.length !== n) throw new SpotFusionError('TYPE', `${name}: needs ${n} element(s)`);
    items.forEach((v, k) => this.encodeElem(t.elem, v, t.data, k * t.elem.size, name));
  }

  get(name: string): PlcValue {
    const t = this.lookup(name);
    if (t.boolCount !== undefined) {
      return Array.from({ length: t.boolCount }, (_, k) => ((t.data.readUInt32LE(Math.floor(k / 32) * 4) >>> k % 32) & 1) === 1);
    }
    const n = t.data.length / t.elem.size;
    const vals = Array.from({ length: n }, (_, k) => this.decodeElem(t.elem, t.data, k * t.elem.size));
    return t.dims.length ? vals : vals[0];
  }

  encodeElem(e: ElemType, v: unknown, b: Buffer, o: number, what: string): void {
    if (e.template) encodeStruct(e.template, v, this.source, what).copy(b, o);
    else encodeAtomic(e.code, v, b, o, what);
  }

  decodeElem(e: ElemType, b: Buffer, o: number): PlcValue {
    return e.template ? decodeStruct(e.template, b, o, this.source) : decodeAtomic(e.code, b, o);
  }

  /** Resolve a symbolic EPATH to a place in a tag (CIP status 0x04/0x05 for a bad or unknown path). */
  resolve(path: readonly PathSegment[]): Resolved {
    let k = 0;
    const first = path[k++];
    if (!first || first.kind !== 'symbol') throw new CipStatus(0x04, [0], 'path must start with a symbol');
    let name = first.name;
    if (/^program:/i.test(name) && path[k]?.kind === 'symbol') name = `${name}.${(path[k++] as { name: string }).name}`;
    const tag = this.tags.get(name.toUpperCase());
    if (!tag) throw new CipStatus(0x05, [0], `no tag ${name}`);
    let elem = tag.elem;
    let offset = 0;
    let available = tag.dims.length ? tag.data.length / tag.elem.size : 1;
    let dims = tag.dims;
    let bit: number | undefined;
    while (k < path.length) {
      const seg = path[k];
      if (seg.kind === 'element') {
        if (dims.length === 0) throw new CipStatus(0x04, [0], 'index on a scalar');
        const idx: number[] = [];
        while (path[k]?.kind === 'element' && idx.length < dims.length) idx.push((path[k++] as { index: number }).index);
        if (idx.length !== dims.length && idx.length !== 1) throw new CipStatus(0x04, [0], 'wrong number of indices');
        let linear = 0;
        if (idx.length === 1 && dims.length > 1) {
          linear = idx[0];
        } else {
          for (let d = 0; d < dims.length; d++) {
            if (idx[d] >= dims[d]) throw new CipStatus(0xff, [0x2105], 'index out of range');
            linear = linear * dims[d] + idx[d];
          }
        }
        if (linear >= available) throw new CipStatus(0xff, [0x2105], 'index out of range');
        offset += linear * elem.size;
        available -= linear;
        dims = [];
        continue;
      }
      if (seg.kind === 'symbol') {
        if (!elem.template || bit !== undefined) throw new CipStatus(0x04, [0], `member ${seg.name} on a non-structure`);
        if (dims.length > 0) throw new CipStatus(0x04, [0], 'member of an array without an index');
        const m = elem.template.members.find((x) => x.name.toUpperCase() === seg.name.toUpperCase());
        if (!m) throw new CipStatus(0x05, [0], `no member ${seg.name}`);
        offset += m.offset;
        const isArray = (m.type & MEMBER_ARRAY) !== 0;
        if (m.type & MEMBER_STRUCT) {
          const sub = this.templates.get(m.type & 0x0fff);
          if (!sub) throw new CipStatus(0x05, [0]);
          elem = { code: STRUCT_TYPE, size: sub.size, template: sub };
        } else if ((m.type & 0xff) === TypeCode.BOOL && !isArray) {
          elem = { code: TypeCode.BOOL, size: 1 };
          bit = m.info;
        } else {
          elem = { code: m.type & 0xff, size: ATOMIC_SIZE[m.type & 0xff] ?? 1 };
        }
        available = isArray ? m.info : 1;
        dims = isArray ? [m.info] : [];
        k++;
        continue;
      }
      throw new CipStatus(0x04, [0], `unexpected ${seg.kind} segment`);
    }
    const out: Resolved = { tag, offset, elem, available };
    if (bit !== undefined) out.bit = bit;
    return out;
  }

  /** Bytes of `elements` elements at a resolved place (BOOL members as one byte 0x00/0x01). */
  readBytes(r: Resolved, elements: number): Buffer {
    if (elements < 1 || elements > r.available) throw new CipStatus(0xff, [0x2105], 'elements beyond the end');
    if (r.bit !== undefined) return Buffer.from([(r.tag.data.readUInt8(r.offset) >> r.bit) & 1 ? 0xff : 0]);
    return r.tag.data.subarray(r.offset, r.offset + elements * r.elem.size);
  }

  writeBytes(r: Resolved, code: number, handle: number | undefined, elements: number, byteOffset: number, data: Buffer, fragmented: boolean): void {
    if (code !== r.elem.code || (code === STRUCT_TYPE && handle !== r.elem.template?.handle)) throw new CipStatus(0xff, [0x2107], 'type mismatch');
    if (elements < 1 || elements > r.available) throw new CipStatus(0xff, [0x2105], 'elements beyond the end');
    const total = elements * r.elem.size;
    if (byteOffset + data.length > total) throw new CipStatus(0x15, [], 'too much data');
    if (!fragmented && data.length < total) throw new CipStatus(0x13, [], 'not enough data');
    if (r.bit !== undefined) {
      const cur = r.tag.data.readUInt8(r.offset);
      r.tag.data.writeUInt8(data.readUInt8(0) ? cur | (1 << r.bit) : cur & ~(1 << r.bit), r.offset);
      return;
    }
    data.copy(r.tag.data, r.offset + byteOffset);
  }

  readModifyWrite(r: Resolved, or: Buffer, and: Buffer): void {
    if (r.elem.template || r.bit !== undefined || [TypeCode.REAL, TypeCode.LREAL, TypeCode.BOOL].includes(r.elem.code as 0xca)) {
      throw new CipStatus(0xff, [0x2107], 'read-modify-write needs an integer tag');
    }
    if (or.length > r.elem.size) throw new CipStatus(0x03, [], 'mask larger than the tag');
    for (let k = 0; k < or.length; k++) {
      const cur = r.tag.data.readUInt8(r.offset + k);
      r.tag.data.writeUInt8((cur | or.readUInt8(k)) & and.readUInt8(k), r.offset + k);
    }
  }

  /**
   * The symbol entries of one scope, as a Logix tag list gives them: the controller scope has the controller
   * tags and a "Program:Name" entry per program (type PROGRAM_SYMBOL_TYPE); a program scope ("Program:Main")
   * has that program's tags under their own names ("Step"). Undefined for a program that does not exist.
   */
  symbols(program?: string): SimSymbol[] | undefined {
    const prefix = program === undefined ? undefined : `${program.toUpperCase()}.`;
    if (program !== undefined && !this.programs.has(program.toUpperCase())) return undefined;
    const out: SimSymbol[] = [];
    for (const t of this.tags.values()) {
      const scope = programOf(t.name);
      if (prefix === undefined ? scope !== undefined : !t.name.toUpperCase().startsWith(prefix)) continue;
      const dimsCount = t.dims.length;
      const base = t.elem.template ? MEMBER_STRUCT | t.elem.template.instance : t.elem.code;
      const dims: [number, number, number] = [t.dims[0] ?? 0, t.dims[1] ?? 0, t.dims[2] ?? 0];
      const name = prefix === undefined ? t.name : t.name.slice(prefix.length);
      out.push({ instance: t.instance, name, type: (base | (dimsCount << 13)) & 0xffff, dims, size: t.elem.size });
    }
    if (prefix === undefined) for (const p of this.programs.values()) out.push({ instance: p.instance, name: p.name, type: PROGRAM_SYMBOL_TYPE, dims: [0, 0, 0], size: 0 });
    return out.sort((a, b) => a.instance - b.instance);
  }
}

/** A tag-list entry with the element size in bytes (symbol attribute 7). */
export interface SimSymbol extends SymbolEntry {
  size: number;
}

/** The symbol type word of a "Program:Name" entry in a Logix controller's tag list (system bit 12, code 0x68). */
export const PROGRAM_SYMBOL_TYPE = 0x1068;

/** "Program:Main" of "Program:Main.Step"; undefined for a controller tag. */
function programOf(name: string): string | undefined {
  const m = /^(program:[^.]+)\./i.exec(name);
  return m ? m[1] : undefined;
}

export const ATOMIC_NAMES: readonly AtomicName[] = ['BOOL', 'SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT', 'REAL', 'LREAL'];
