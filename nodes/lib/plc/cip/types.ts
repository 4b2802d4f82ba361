/**
 * Logix data types on the wire: atomic type codes and sizes, value encoding and decoding, structures
 * (type 0x02A0 + structure handle), the built-in STRING (DINT LEN + SINT[82] DATA, handle 0x0FCE) and UDT
 * templates (class 0x6C: attributes and the Read Template member list).
 */
import { PacketError, need } from './encap';
import { SpotFusionError } from '../../errors';

export const TypeCode = {
  BOOL: 0xc1,
  SINT: 0xc2,
  INT: 0xc3,
  DINT: 0xc4,
  LINT: 0xc5,
  USINT: 0xc6,
  UINT: 0xc7,
  UDINT: 0xc8,
  ULINT: 0xc9,
  REAL: 0xca,
  LREAL: 0xcb,
  DWORD: 0xd3,
} as const;

export type AtomicName = keyof typeof TypeCode;
export const STRUCT_TYPE = 0x02a0;
export const STRING_HANDLE = 0x0fce;
export const STRING_DATA_LEN = 82;
export const STRING_SIZE = 88;

export const ATOMIC_SIZE: Readonly<Record<number, number>> = {
  0xc1: 1,
  0xc2: 1,
  0xc3: 2,
  0xc4: 4,
  0xc5: 8,
  0xc6: 1,
  0xc7: 2,
  0xc8: 4,
  0xc9: 8,
  0xca: 4,
  0xcb: 8,
  0xd3: 4,
};

export const ATOMIC_NAME: Readonly<Record<number, AtomicName>> = (() => {
  const out: Record<number, AtomicName> = {};
  for (const k of Object.keys(TypeCode) as AtomicName[]) out[TypeCode[k]] = k;
  return out;
})();

export function isAtomic(code: number): boolean {
  return ATOMIC_SIZE[code] !== undefined;
}

/** LINT/ULINT values: a number while exact, else the decimal text (JSON-safe, never a lossy float). */
export function int64Value(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

export function decodeAtomic(code: number, b: Buffer, o: number): boolean | number | string {
  need(b, o, ATOMIC_SIZE[code] ?? 1, `${ATOMIC_NAME[code] ?? 'value'}`);
  switch (code) {
    case 0xc1:
      return b.readUInt8(o) !== 0;
    case 0xc2:
      return b.readInt8(o);
    case 0xc3:
      return b.readInt16LE(o);
    case 0xc4:
      return b.readInt32LE(o);
    case 0xc5:
      return int64Value(b.readBigInt64LE(o));
    case 0xc6:
      return b.readUInt8(o);
    case 0xc7:
      return b.readUInt16LE(o);
    case 0xc8:
    case 0xd3:
      return b.readUInt32LE(o);
    case 0xc9:
      return int64Value(b.readBigUInt64LE(o));
    case 0xca:
      return b.readFloatLE(o);
    case 0xcb:
      return b.readDoubleLE(o);
    default:
      throw new PacketError(`unknown atomic type 0x${code.toString(16)}`);
  }
}

const RANGES: Readonly<Record<number, [number, number]>> = {
  0xc2: [-128, 127],
  0xc3: [-32768, 32767],
  0xc4: [-2147483648, 2147483647],
  0xc6: [0, 255],
  0xc7: [0, 65535],
  0xc8: [0, 4294967295],
  0xd3: [0, 4294967295],
};

function toBigInt(v: unknown, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  throw new SpotFusionError('TYPE', `${what}: expected an integer, got ${JSON.stringify(v)}`);
}

/** Check a JS value against an atomic type; returns the normalised value or throws a TYPE error. */
export function checkAtomic(code: number, v: unknown, what: string): boolean | number | bigint {
  const name = ATOMIC_NAME[code] ?? 'value';
  switch (code) {
    case 0xc1:
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw new SpotFusionError('TYPE', `${what}: BOOL needs true/false (or 0/1), got ${JSON.stringify(v)}`);
    case 0xca:
    case 0xcb:
      if (typeof v === 'number' && Number.isFinite(v)) return v;
      throw new SpotFusionError('TYPE', `${what}: ${name} needs a finite number, got ${JSON.stringify(v)}`);
    case 0xc5: {
      const n = toBigInt(v, what);
      if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new SpotFusionError('TYPE', `${what}: ${String(v)} is outside LINT range`);
      return n;
    }
    case 0xc9: {
      const n = toBigInt(v, what);
      if (n < 0n || n >= 2n ** 64n) throw new SpotFusionError('TYPE', `${what}: ${String(v)} is outside ULINT range`);
      return n;
    }
    default: {
      const range = RANGES[code];
      if (!range) throw new SpotFusionError('TYPE', `${what}: unknown type 0x${code.toString(16)}`);
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new SpotFusionError('TYPE', `${what}: ${name} needs an integer, got ${JSON.stringify(v)}`);
      if (v < range[0] || v > range[1]) throw new SpotFusionError('TYPE', `${what}: ${v} is outside ${name} range ${range[0]}..${range[1]}`);
      return v;
    }
  }
}

export function encodeAtomic(code: number, v: unknown, b: Buffer, o: number, what = 'value'): void {
  const x = checkAtomic(code, v, what);
  switch (code) {
    case 0xc1:
      b.writeUInt8(x ? 0xff : 0, o);
      return;
    case 0xc2:
      b.writeInt8(x as number, o);
      return;
    case 0xc3:
      b.writeInt16LE(x as number, o);
      return;
    case 0xc4:
      b.writeInt32LE(x as number, o);
      return;
    case 0xc5:
      b.writeBigInt64LE(x as bigint, o);
      return;
    case 0xc6:
      b.writeUInt8(x as number, o);
      return;
    case 0xc7:
      b.writeUInt16LE(x as number, o);
      return;
    case 0xc8:
    case 0xd3:
      b.writeUInt32LE(x as number, o);
      return;
    case 0xc9:
      b.writeBigUInt64LE(x as bigint, o);
      return;
    case 0xca:
      b.writeFloatLE(x as number, o);
      return;
    case 0xcb:
      b.writeDoubleLE(x as number, o);
      return;
  }
}

/** Logix STRING (or any LEN + DATA string type) to text. */
export function decodeLogixString(b: Buffer, o: number, dataLen = STRING_DATA_LEN): string {
  need(b, o, 4, 'STRING LEN');
  const len = b.readInt32LE(o);
  if (len < 0 || len > dataLen) throw new PacketError(`STRING LEN ${len} outside 0..${dataLen}`);
  need(b, o + 4, len, 'STRING DATA');
  return b.toString('latin1', o + 4, o + 4 + len);
}

export function encodeLogixString(s: unknown, what = 'value', dataLen = STRING_DATA_LEN): Buffer {
  if (typeof s !== 'string') throw new SpotFusionError('TYPE', `${what}: STRING needs a string, got ${JSON.stringify(s)}`);
  const bytes = Buffer.from(s, 'latin1');
  if (bytes.length > dataLen) throw new SpotFusionError('TYPE', `${what}: string of ${bytes.length} characters is longer than ${dataLen}`);
  const b = Buffer.alloc(4 + dataLen + ((4 + dataLen) % 4 === 0 ? 0 : 4 - ((4 + dataLen) % 4)));
  b.writeInt32LE(bytes.length, 0);
  bytes.copy(b, 4);
  return b;
}

// ---- templates (UDTs) ----

export interface TemplateMember {
  name: string;
  /** raw member type word: bit 15 = structure (low 12 bits: template instance), 0x2000 = array */
  type: number;
  /** array length for arrays, bit number for BOOL members */
  info: number;
  offset: number;
}

export interface Template {
  /** template instance id (class 0x6C instance), referenced by symbol types and struct members */
  instance: number;
  /** structure handle, sent in Read Tag replies after 0x02A0 */
  handle: number;
  name: string;
  /** bytes of one instance on the wire */
  size: number;
  members: TemplateMember[];
}

export const MEMBER_STRUCT = 0x8000;
export const MEMBER_ARRAY = 0x2000;

/** Hidden host members of packed BOOLs and other compiler-made members are not user data. */
export function hiddenMember(name: string): boolean {
  return name.startsWith('ZZZZZZZZZZ') || name.startsWith('__') || name === '';
}

/** The Read Template (0x4C on class 0x6C) byte image: member records, then "NAME;..." and member names. */
export function encodeTemplateDefinition(t: Template): Buffer {
  const recs = Buffer.alloc(t.members.length * 8);
  t.members.forEach((m, k) => {
    recs.writeUInt16LE(m.info, k * 8);
    recs.writeUInt16LE(m.type, k * 8 + 2);
    recs.writeUInt32LE(m.offset, k * 8 + 4);
  });
  const names = [`${t.name};n\u0000`, ...t.members.map((m) => `${m.name}\u0000`)].join('');
  return Buffer.concat([recs, Buffer.from(names, 'latin1')]);
}

/** "Object definition size" attribute (4): 32-bit words; a client reads words*4 - 23 bytes. */
export function templateDefinitionWords(defBytes: number): number {
  return Math.ceil((defBytes + 23) / 4);
}

export function decodeTemplateDefinition(b: Buffer, memberCount: number, instance: number, handle: number, size: number): Template {
  need(b, 0, memberCount * 8, 'template member records');
  const raw: Array<Omit<TemplateMember, 'name'>> = [];
  for (let k = 0; k < memberCount; k++) {
    raw.push({ info: b.readUInt16LE(k * 8), type: b.readUInt16LE(k * 8 + 2), offset: b.readUInt32LE(k * 8 + 4) });
  }
  const strings = b.toString('latin1', memberCount * 8).split('\u0000');
  if (strings.length < memberCount + 1) throw new PacketError(`template ${instance}: ${strings.length - 1} member names for ${memberCount} members`);
  const name = strings[0].split(';')[0];
  const members = raw.map((r, k) => ({ ...r, name: strings[k + 1] }));
  return { instance, handle, name, size, members };
}

/** A STRING-like template: LEN DINT + DATA SINT[n]. */
export function stringTemplateLength(t: Template): number | undefined {
  const visible = t.members.filter((m) => !hiddenMember(m.name));
  if (visible.length !== 2) return undefined;
  const [len, data] = visible;
  if (len.name.toUpperCase() !== 'LEN' || (len.type & 0xff) !== 0xc4) return undefined;
  if (data.name.toUpperCase() !== 'DATA' || (data.type & 0xff) !== 0xc2 || !(data.type & MEMBER_ARRAY)) return undefined;
  return data.info;
}

export const STRING_TEMPLATE: Template = {
  instance: 0x0fce,
  handle: STRING_HANDLE,
  name: 'STRING',
  size: STRING_SIZE,
  members: [
    { name: 'LEN', type: TypeCode.DINT, info: 0, offset: 0 },
    { name: 'DATA', type: MEMBER_ARRAY | TypeCode.SINT, info: STRING_DATA_LEN, offset: 4 },
  ],
};

export interface TemplateSource {
  byInstance(instance: number): Template | undefined;
}

export type PlcValue = boolean | number | string | PlcValue[] | { [k: string]: PlcValue };

/** Structures nested deeper than this are refused (a template that contains itself would never end). */
export const MAX_STRUCT_DEPTH = 16;

/** Decode one structure instance by its template (nested structures and packed BOOLs included). */
export function decodeStruct(t: Template, b: Buffer, o: number, templates: TemplateSource, depth = 0): PlcValue {
  if (depth >= MAX_STRUCT_DEPTH) throw new PacketError(`structure ${t.name}: nested deeper than ${MAX_STRUCT_DEPTH} levels (does a template contain itself?)`);
  need(b, o, t.size, `structure ${t.name}`);
  const strLen = stringTemplateLength(t);
  if (strLen !== undefined) return decodeLogixString(b, o, strLen);
  const out: Record<string, PlcValue> = {};
  for (const m of t.members) {
    if (hiddenMember(m.name)) continue;
    // an own data property even for a name like "__proto__" (never the object's prototype)
    Object.defineProperty(out, m.name, { value: decodeMember(m, b, o + m.offset, templates, depth), writable: true, enumerable: true, configurable: true });
  }
  return out;
}

function decodeMember(m: TemplateMember, b: Buffer, o: number, templates: TemplateSource, depth: number): PlcValue {
  const isArray = (m.type & MEMBER_ARRAY) !== 0;
  if (m.type & MEMBER_STRUCT) {
    const sub = templates.byInstance(m.type & 0x0fff);
    if (!sub) throw new PacketError(`member ${m.name}: template ${m.type & 0x0fff} unknown`);
    if (isArray) return Array.from({ length: m.info }, (_, k) => decodeStruct(sub, b, o + k * sub.size, templates, depth + 1));
    return decodeStruct(sub, b, o, templates, depth + 1);
  }
  const code = m.type & 0xff;
  if (code === TypeCode.BOOL && !isArray) {
    need(b, o, 1, `member ${m.name} (BOOL)`);
    return ((b.readUInt8(o) >> (m.info & 7)) & 1) === 1;
  }
  if (code === TypeCode.DWORD && isArray) {
    need(b, o, m.info * 4, `member ${m.name} (BOOL[${m.info * 32}])`);
    // BOOL[n] members are stored as DWORDs
    const bits: boolean[] = [];
    for (let k = 0; k < m.info * 32; k++) bits.push(((b.readUInt32LE(o + Math.floor(k / 32) * 4) >>> (k % 32)) & 1) === 1);
    return bits;
  }
  const size = ATOMIC_SIZE[code];
  if (size === undefined) throw new PacketError(`member ${m.name}: unknown type 0x${m.type.toString(16)}`);
  if (isArray) return Array.from({ length: m.info }, (_, k) => decodeAtomic(code, b, o + k * size));
  return decodeAtomic(code, b, o);
}

/** Encode a JS object into a structure image (for writes of whole UDTs); unknown or missing members throw. */
export function encodeStruct(t: Template, v: unknown, templates: TemplateSource, what: string): Buffer {
  const b = Buffer.alloc(t.size);
  const strLen = stringTemplateLength(t);
  if (strLen !== undefined) {
    encodeLogixString(v, what, strLen).copy(b, 0, 0, Math.min(t.size, 4 + strLen));
    return b;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpotFusionError('TYPE', `${what}: ${t.name} needs an object`);
  const obj = v as Record<string, unknown>;
  const visible = t.members.filter((m) => !hiddenMember(m.name));
  for (const key of Object.keys(obj)) {
    if (!visible.some((m) => m.name === key)) throw new SpotFusionError('TYPE', `${what}: ${t.name} has no member "${key}"`);
  }
  for (const m of visible) {
    if (!(m.name in obj)) throw new SpotFusionError('TYPE', `${what}.${m.name} is missing`);
    const mv = obj[m.name];
    const w = `${what}.${m.name}`;
    const arr = (m.type & MEMBER_ARRAY) !== 0;
    if (m.type & MEMBER_STRUCT) {
      const sub = templates.byInstance(m.type & 0x0fff);
      if (!sub) throw new SpotFusionError('TYPE', `${w}: template unknown`);
      const items = arr ? expectArray(mv, m.info, w) : [mv];
      items.forEach((x, k) => encodeStruct(sub, x, templates, `${w}[${k}]`).copy(b, m.offset + k * sub.size));
      continue;
    }
    const code = m.type & 0xff;
    if (code === TypeCode.BOOL && !arr) {
      const on = checkAtomic(code, mv, w) as boolean;
      const cur = b.readUInt8(m.offset);
      b.writeUInt8(on ? cur | (1 << (m.info & 7)) : cur & ~(1 << (m.info & 7)), m.offset);
      continue;
    }
    if (code === TypeCode.DWORD && arr) {
      const bits = expectArray(mv, m.info * 32, w);
      bits.forEach((x, k) => {
        const on = checkAtomic(TypeCode.BOOL, x, `${w}[${k}]`) as boolean;
        const at = m.offset + Math.floor(k / 32) * 4;
        const cur = b.readUInt32LE(at);
        b.writeUInt32LE((on ? cur | (1 << (k % 32)) : cur & ~(1 << (k % 32))) >>> 0, at);
      });
      continue;
    }
    const size = ATOMIC_SIZE[code] ?? 1;
    const items = arr ? expectArray(mv, m.info, w) : [mv];
    items.forEach((x, k) => encodeAtomic(code, x, b, m.offset + k * size, arr ? `${w}[${k}]` : w));
  }
  return b;
}

function expectArray(v: unknown, n: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== n) throw new SpotFusionError('TYPE', `${what}: needs an array of ${n} elements`);
  return v;
}
