/**
 * CIP message router packets and the services a Logix controller answers: Multiple Service Packet,
 * Unconnected Send, Forward Open / Large Forward Open / Forward Close, Read/Write Tag (and fragmented),
 * Read-Modify-Write, Get Instance Attribute List (tag list), template attributes and Read Template.
 */
import { PacketError, need } from './encap';
import { PathSegment, encodePath, decodePath } from './epath';

export const Service = {
  GetAttributesAll: 0x01,
  GetAttributeList: 0x03,
  GetAttributeSingle: 0x0e,
  SetAttributeSingle: 0x10,
  MultipleServicePacket: 0x0a,
  ReadTag: 0x4c,
  WriteTag: 0x4d,
  ReadModifyWrite: 0x4e,
  ForwardClose: 0x4e,
  ReadTagFragmented: 0x52,
  UnconnectedSend: 0x52,
  WriteTagFragmented: 0x53,
  ForwardOpen: 0x54,
  GetInstanceAttributeList: 0x55,
  LargeForwardOpen: 0x5b,
  ReadTemplate: 0x4c,
} as const;

export const ClassId = {
  Identity: 0x01,
  MessageRouter: 0x02,
  ConnectionManager: 0x06,
  Symbol: 0x6b,
  Template: 0x6c,
  WallClock: 0x8b,
} as const;

export interface MrRequest {
  service: number;
  path: Buffer;
  data: Buffer;
}

export interface MrReply {
  service: number;
  status: number;
  extended: number[];
  data: Buffer;
}

export function encodeRequest(service: number, path: Buffer | readonly PathSegment[], data: Buffer = Buffer.alloc(0)): Buffer {
  const p = Buffer.isBuffer(path) ? path : encodePath(path);
  if (p.length % 2 !== 0) throw new PacketError('EPATH must be an even number of bytes');
  const head = Buffer.from([service & 0x7f, p.length / 2]);
  return Buffer.concat([head, p, data]);
}

export function decodeRequest(b: Buffer): MrRequest {
  need(b, 0, 2, 'request header');
  const words = b.readUInt8(1);
  need(b, 2, words * 2, 'request path');
  return { service: b.readUInt8(0), path: b.subarray(2, 2 + words * 2), data: b.subarray(2 + words * 2) };
}

export function encodeReply(service: number, status = 0, data: Buffer = Buffer.alloc(0), extended: readonly number[] = []): Buffer {
  const head = Buffer.alloc(4 + extended.length * 2);
  head.writeUInt8((service | 0x80) & 0xff, 0);
  head.writeUInt8(status, 2);
  head.writeUInt8(extended.length, 3);
  extended.forEach((e, k) => head.writeUInt16LE(e, 4 + k * 2));
  return Buffer.concat([head, data]);
}

export function decodeReply(b: Buffer): MrReply {
  need(b, 0, 4, 'reply header');
  const service = b.readUInt8(0);
  if ((service & 0x80) === 0) throw new PacketError(`reply service 0x${service.toString(16)} lacks the reply bit`);
  const extWords = b.readUInt8(3);
  need(b, 4, extWords * 2, 'extended status');
  const extended: number[] = [];
  for (let k = 0; k < extWords; k++) extended.push(b.readUInt16LE(4 + k * 2));
  return { service: service & 0x7f, status: b.readUInt8(2), extended, data: b.subarray(4 + extWords * 2) };
}

const MR_PATH = encodePath([
  { kind: 'class', id: ClassId.MessageRouter },
  { kind: 'instance', id: 1 },
]);

/** Multiple Service Packet body: count, offsets (from the count), then the requests or replies. */
export function encodeMultiple(parts: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(2 + parts.length * 2);
  head.writeUInt16LE(parts.length, 0);
  let off = head.length;
  parts.forEach((p, k) => {
    head.writeUInt16LE(off, 2 + k * 2);
    off += p.length;
  });
  if (off > 0xffff) throw new PacketError('Multiple Service Packet larger than 64 KiB');
  return Buffer.concat([head, ...parts]);
}

export function decodeMultiple(b: Buffer): Buffer[] {
  need(b, 0, 2, 'service count');
  const n = b.readUInt16LE(0);
  need(b, 2, n * 2, 'service offsets');
  const offs: number[] = [];
  for (let k = 0; k < n; k++) offs.push(b.readUInt16LE(2 + k * 2));
  return offs.map((o, k) => {
    const end = k + 1 < n ? offs[k + 1] : b.length;
    if (o < 2 + n * 2 || end > b.length || end < o) throw new PacketError(`service ${k}: offset ${o}..${end} outside the packet`);
    return b.subarray(o, end);
  });
}

export function multipleServiceRequest(requests: readonly Buffer[]): Buffer {
  return encodeRequest(Service.MultipleServicePacket, MR_PATH, encodeMultiple(requests));
}

/** Bytes a Multiple Service Packet adds around its requests (header, path, count, offsets). */
export function multipleOverhead(count: number): number {
  return 2 + MR_PATH.length + 2 + count * 2;
}

/** Unconnected Send (0x52 to the connection manager): wraps a request with a route path. */
export function unconnectedSend(request: Buffer, route: readonly PathSegment[], timeoutMs = 2000): Buffer {
  // priority/time tick: tick 2^10 ms ... choose tick = 4 (16 ms) and ticks so that ticks*16 >= timeout
  const tick = 4;
  const ticks = Math.min(255, Math.max(1, Math.ceil(timeoutMs / 16)));
  const routeBuf = encodePath(route);
  const head = Buffer.alloc(4);
  head.writeUInt8(tick, 0);
  head.writeUInt8(ticks, 1);
  head.writeUInt16LE(request.length, 2);
  const pad = request.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0);
  const tail = Buffer.from([routeBuf.length / 2, 0]);
  return encodeRequest(
    Service.UnconnectedSend,
    [
      { kind: 'class', id: ClassId.ConnectionManager },
      { kind: 'instance', id: 1 },
    ],
    Buffer.concat([head, request, pad, tail, routeBuf]),
  );
}

export function decodeUnconnectedSend(data: Buffer): { request: Buffer; route: PathSegment[] } {
  need(data, 0, 4, 'unconnected send header');
  const len = data.readUInt16LE(2);
  need(data, 4, len, 'embedded request');
  const request = data.subarray(4, 4 + len);
  let o = 4 + len + (len % 2);
  need(data, o, 2, 'route path size');
  const words = data.readUInt8(o);
  o += 2;
  need(data, o, words * 2, 'route path');
  return { request, route: decodePath(data.subarray(o, o + words * 2)) };
}

export interface ForwardOpenParams {
  large: boolean;
  /** O->T connection id proposed by the originator (target may replace it) */
  otConnectionId: number;
  toConnectionId: number;
  serial: number;
  vendorId: number;
  originatorSerial: number;
  /** timeout multiplier code 0..7 (x4, x8 ... x512) */
  timeoutMultiplier: number;
  rpiUs: number;
  /** connection size in bytes (max 511 for Forward Open, 65 535 for Large Forward Open) */
  size: number;
  path: readonly PathSegment[];
  /** 0xA3: class 3, application-triggered, server */
  transport?: number;
}

export function forwardOpenRequest(p: ForwardOpenParams): Buffer {
  const pathBuf = encodePath(p.path);
  const paramSize = p.large ? 4 : 2;
  const b = Buffer.alloc(32 + paramSize * 2 + pathBuf.length);
  let o = 0;
  b.writeUInt8(0x0a, o++); // priority/time tick
  b.writeUInt8(0x0e, o++); // timeout ticks
  b.writeUInt32LE(p.otConnectionId >>> 0, o);
  o += 4;
  b.writeUInt32LE(p.toConnectionId >>> 0, o);
  o += 4;
  b.writeUInt16LE(p.serial & 0xffff, o);
  o += 2;
  b.writeUInt16LE(p.vendorId, o);
  o += 2;
  b.writeUInt32LE(p.originatorSerial >>> 0, o);
  o += 4;
  b.writeUInt8(p.timeoutMultiplier, o);
  o += 4; // + 3 reserved
  for (let k = 0; k < 2; k++) {
    b.writeUInt32LE(p.rpiUs >>> 0, o);
    o += 4;
    if (p.large) {
      // point-to-point (0x40000000), variable size (0x02000000), low priority, size in low 16 bits
      b.writeUInt32LE((0x42000000 | (p.size & 0xffff)) >>> 0, o);
    } else {
      b.writeUInt16LE(0x4200 | (p.size & 0x1ff), o);
    }
    o += paramSize;
  }
  b.writeUInt8(p.transport ?? 0xa3, o++);
  b.writeUInt8(pathBuf.length / 2, o++);
  pathBuf.copy(b, o);
  return encodeRequest(
    p.large ? Service.LargeForwardOpen : Service.ForwardOpen,
    [
      { kind: 'class', id: ClassId.ConnectionManager },
      { kind: 'instance', id: 1 },
    ],
    b,
  );
}

export function decodeForwardOpenRequest(data: Buffer, large: boolean): ForwardOpenParams {
  const paramSize = large ? 4 : 2;
  const pathAt = 32 + paramSize * 2;
  need(data, 0, pathAt, 'Forward Open request');
  const netO2T = large ? data.readUInt32LE(26) : data.readUInt16LE(26);
  const pathWords = data.readUInt8(pathAt - 1);
  need(data, pathAt, pathWords * 2, 'Forward Open connection path');
  return {
    large,
    otConnectionId: data.readUInt32LE(2),
    toConnectionId: data.readUInt32LE(6),
    serial: data.readUInt16LE(10),
    vendorId: data.readUInt16LE(12),
    originatorSerial: data.readUInt32LE(14),
    timeoutMultiplier: data.readUInt8(18),
    rpiUs: data.readUInt32LE(22),
    size: large ? netO2T & 0xffff : netO2T & 0x1ff,
    transport: data.readUInt8(pathAt - 2),
    path: decodePath(data.subarray(pathAt, pathAt + pathWords * 2)),
  };
}

export interface ForwardOpenReply {
  otConnectionId: number;
  toConnectionId: number;
  serial: number;
  vendorId: number;
  originatorSerial: number;
  otApiUs: number;
  toApiUs: number;
}

export function encodeForwardOpenReply(r: ForwardOpenReply): Buffer {
  const b = Buffer.alloc(26);
  b.writeUInt32LE(r.otConnectionId >>> 0, 0);
  b.writeUInt32LE(r.toConnectionId >>> 0, 4);
  b.writeUInt16LE(r.serial, 8);
  b.writeUInt16LE(r.vendorId, 10);
  b.writeUInt32LE(r.originatorSerial >>> 0, 12);
  b.writeUInt32LE(r.otApiUs >>> 0, 16);
  b.writeUInt32LE(r.toApiUs >>> 0, 20);
  return b;
}

export function decodeForwardOpenReply(b: Buffer): ForwardOpenReply {
  need(b, 0, 24, 'Forward Open reply');
  return {
    otConnectionId: b.readUInt32LE(0),
    toConnectionId: b.readUInt32LE(4),
    serial: b.readUInt16LE(8),
    vendorId: b.readUInt16LE(10),
    originatorSerial: b.readUInt32LE(12),
    otApiUs: b.readUInt32LE(16),
    toApiUs: b.readUInt32LE(20),
  };
}

export interface ConnectionTriad {
  serial: number;
  vendorId: number;
  originatorSerial: number;
}

export function forwardCloseRequest(t: ConnectionTriad, path: readonly PathSegment[]): Buffer {
  const pathBuf = encodePath(path);
  const b = Buffer.alloc(12 + pathBuf.length);
  b.writeUInt8(0x0a, 0);
  b.writeUInt8(0x0e, 1);
  b.writeUInt16LE(t.serial & 0xffff, 2);
  b.writeUInt16LE(t.vendorId, 4);
  b.writeUInt32LE(t.originatorSerial >>> 0, 6);
  b.writeUInt8(pathBuf.length / 2, 10);
  pathBuf.copy(b, 12);
  return encodeRequest(
    Service.ForwardClose,
    [
      { kind: 'class', id: ClassId.ConnectionManager },
      { kind: 'instance', id: 1 },
    ],
    b,
  );
}

export function decodeForwardClose(data: Buffer): ConnectionTriad {
  need(data, 0, 10, 'Forward Close request');
  return { serial: data.readUInt16LE(2), vendorId: data.readUInt16LE(4), originatorSerial: data.readUInt32LE(6) };
}

export function encodeTriadReply(t: ConnectionTriad): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt16LE(t.serial, 0);
  b.writeUInt16LE(t.vendorId, 2);
  b.writeUInt32LE(t.originatorSerial >>> 0, 4);
  return b;
}

// ---- tag services ----

export function readTagRequest(path: readonly PathSegment[], elements = 1): Buffer {
  const d = Buffer.alloc(2);
  d.writeUInt16LE(elements, 0);
  return encodeRequest(Service.ReadTag, path, d);
}

export function readTagFragmentedRequest(path: readonly PathSegment[], elements: number, byteOffset: number): Buffer {
  const d = Buffer.alloc(6);
  d.writeUInt16LE(elements, 0);
  d.writeUInt32LE(byteOffset >>> 0, 2);
  return encodeRequest(Service.ReadTagFragmented, path, d);
}

/** The type field of a read reply / write request: 2 bytes for atomics, 4 for structures (0x02A0 + handle). */
export function encodeTypeField(code: number, handle?: number): Buffer {
  if (code === 0x02a0) {
    const b = Buffer.alloc(4);
    b.writeUInt16LE(0x02a0, 0);
    b.writeUInt16LE(handle ?? 0, 2);
    return b;
  }
  const b = Buffer.alloc(2);
  b.writeUInt16LE(code, 0);
  return b;
}

export interface TypedData {
  code: number;
  handle?: number;
  data: Buffer;
}

export function decodeTypedData(b: Buffer): TypedData {
  need(b, 0, 2, 'data type');
  const code = b.readUInt16LE(0);
  if (code === 0x02a0) {
    need(b, 2, 2, 'structure handle');
    return { code, handle: b.readUInt16LE(2), data: b.subarray(4) };
  }
  return { code, data: b.subarray(2) };
}

export function writeTagRequest(path: readonly PathSegment[], code: number, handle: number | undefined, elements: number, data: Buffer): Buffer {
  const n = Buffer.alloc(2);
  n.writeUInt16LE(elements, 0);
  return encodeRequest(Service.WriteTag, path, Buffer.concat([encodeTypeField(code, handle), n, data]));
}

export function writeTagFragmentedRequest(
  path: readonly PathSegment[],
  code: number,
  handle: number | undefined,
  elements: number,
  byteOffset: number,
  data: Buffer,
): Buffer {
  const n = Buffer.alloc(6);
  n.writeUInt16LE(elements, 0);
  n.writeUInt32LE(byteOffset >>> 0, 2);
  return encodeRequest(Service.WriteTagFragmented, path, Buffer.concat([encodeTypeField(code, handle), n, data]));
}

export interface WriteBody {
  code: number;
  handle?: number;
  elements: number;
  offset: number;
  data: Buffer;
}

export function decodeWriteBody(b: Buffer, fragmented: boolean): WriteBody {
  const t = decodeTypedData(b);
  const head = fragmented ? 6 : 2;
  need(t.data, 0, head, 'write element count');
  const out: WriteBody = {
    code: t.code,
    elements: t.data.readUInt16LE(0),
    offset: fragmented ? t.data.readUInt32LE(2) : 0,
    data: t.data.subarray(head),
  };
  if (t.handle !== undefined) out.handle = t.handle;
  return out;
}

/** Read-Modify-Write (0x4E): mask size, OR mask (bits to set), AND mask (bits to keep). */
export function readModifyWriteRequest(path: readonly PathSegment[], size: number, orMask: bigint, andMask: bigint): Buffer {
  const d = Buffer.alloc(2 + size * 2);
  d.writeUInt16LE(size, 0);
  for (let k = 0; k < size; k++) {
    d.writeUInt8(Number((orMask >> BigInt(k * 8)) & 0xffn), 2 + k);
    d.writeUInt8(Number((andMask >> BigInt(k * 8)) & 0xffn), 2 + size + k);
  }
  return encodeRequest(Service.ReadModifyWrite, path, d);
}

export function decodeReadModifyWrite(b: Buffer): { size: number; or: Buffer; and: Buffer } {
  need(b, 0, 2, 'mask size');
  const size = b.readUInt16LE(0);
  if (![1, 2, 4, 8, 12].includes(size)) throw new PacketError(`mask size ${size} is not 1, 2, 4, 8 or 12`);
  need(b, 2, size * 2, 'masks');
  return { size, or: b.subarray(2, 2 + size), and: b.subarray(2 + size, 2 + size * 2) };
}

// ---- tag list and templates ----

export interface SymbolEntry {
  instance: number;
  name: string;
  /** symbol type word: bit 15 struct (low 12 bits: template instance), bits 13-14: dimensions, else type code */
  type: number;
  dims: [number, number, number];
}

/**
 * Get Instance Attribute List on the symbol class from `start`: attributes 1 (name), 2 (type), 8 (dims). With
 * `program` ("Program:Main") the request goes to that program's own symbol class (its program-scope tags).
 */
export function tagListRequest(start: number, program?: string): Buffer {
  const d = Buffer.alloc(8);
  d.writeUInt16LE(3, 0);
  d.writeUInt16LE(1, 2);
  d.writeUInt16LE(2, 4);
  d.writeUInt16LE(8, 6);
  return encodeRequest(Service.GetInstanceAttributeList, [
    ...(program === undefined ? [] : [{ kind: 'symbol' as const, name: program }]),
    { kind: 'class', id: ClassId.Symbol },
    { kind: 'instance', id: start },
  ], d);
}

export function encodeSymbolEntries(entries: readonly SymbolEntry[]): Buffer {
  return Buffer.concat(
    entries.map((e) => {
      const name = Buffer.from(e.name, 'latin1');
      const b = Buffer.alloc(4 + 2 + name.length + 2 + 12);
      b.writeUInt32LE(e.instance, 0);
      b.writeUInt16LE(name.length, 4);
      name.copy(b, 6);
      let o = 6 + name.length;
      b.writeUInt16LE(e.type, o);
      o += 2;
      for (let k = 0; k < 3; k++) b.writeUInt32LE(e.dims[k], o + k * 4);
      return b;
    }),
  );
}

export function decodeSymbolEntries(b: Buffer): SymbolEntry[] {
  const out: SymbolEntry[] = [];
  let o = 0;
  while (o < b.length) {
    need(b, o, 6, 'symbol entry');
    const instance = b.readUInt32LE(o);
    const len = b.readUInt16LE(o + 4);
    need(b, o + 6, len + 14, `symbol entry ${instance}`);
    const name = b.toString('latin1', o + 6, o + 6 + len);
    let p = o + 6 + len;
    const type = b.readUInt16LE(p);
    p += 2;
    const dims: [number, number, number] = [b.readUInt32LE(p), b.readUInt32LE(p + 4), b.readUInt32LE(p + 8)];
    out.push({ instance, name, type, dims });
    o = p + 12;
  }
  return out;
}

/** Get Attribute List on a template instance: 4 (definition size, words), 5 (structure size), 2 (members), 1 (handle). */
export function templateAttributesRequest(instance: number): Buffer {
  const d = Buffer.alloc(10);
  d.writeUInt16LE(4, 0);
  [4, 5, 2, 1].forEach((a, k) => d.writeUInt16LE(a, 2 + k * 2));
  return encodeRequest(Service.GetAttributeList, [
    { kind: 'class', id: ClassId.Template },
    { kind: 'instance', id: instance },
  ], d);
}

export interface TemplateAttributes {
  definitionWords: number;
  structureSize: number;
  memberCount: number;
  handle: number;
}

export function encodeTemplateAttributes(a: TemplateAttributes): Buffer {
  const b = Buffer.alloc(2 + 8 + 8 + 6 + 6);
  let o = 0;
  b.writeUInt16LE(4, o);
  o += 2;
  const put = (id: number, size: 2 | 4, v: number): void => {
    b.writeUInt16LE(id, o);
    b.writeUInt16LE(0, o + 2);
    if (size === 4) b.writeUInt32LE(v >>> 0, o + 4);
    else b.writeUInt16LE(v, o + 4);
    o += 4 + size;
  };
  put(4, 4, a.definitionWords);
  put(5, 4, a.structureSize);
  put(2, 2, a.memberCount);
  put(1, 2, a.handle);
  return b;
}

export function decodeTemplateAttributes(b: Buffer): TemplateAttributes {
  need(b, 0, 2, 'attribute count');
  const n = b.readUInt16LE(0);
  const out: Partial<TemplateAttributes> = {};
  let o = 2;
  for (let k = 0; k < n; k++) {
    need(b, o, 4, 'attribute header');
    const id = b.readUInt16LE(o);
    const status = b.readUInt16LE(o + 2);
    o += 4;
    if (status !== 0) throw new PacketError(`template attribute ${id}: status 0x${status.toString(16)}`);
    const size = id === 4 || id === 5 ? 4 : 2;
    need(b, o, size, `template attribute ${id}`);
    const v = size === 4 ? b.readUInt32LE(o) : b.readUInt16LE(o);
    o += size;
    if (id === 4) out.definitionWords = v;
    else if (id === 5) out.structureSize = v;
    else if (id === 2) out.memberCount = v;
    else if (id === 1) out.handle = v;
  }
  if (out.definitionWords === undefined || out.structureSize === undefined || out.memberCount === undefined || out.handle === undefined) {
    throw new PacketError('template attributes incomplete');
  }
  return out as TemplateAttributes;
}

export function readTemplateRequest(instance: number, offset: number, bytes: number): Buffer {
  const d = Buffer.alloc(6);
  d.writeUInt32LE(offset >>> 0, 0);
  d.writeUInt16LE(bytes, 4);
  return encodeRequest(Service.ReadTemplate, [
    { kind: 'class', id: ClassId.Template },
    { kind: 'instance', id: instance },
  ], d);
}

export function identityRequest(): Buffer {
  return encodeRequest(Service.GetAttributesAll, [
    { kind: 'class', id: ClassId.Identity },
    { kind: 'instance', id: 1 },
  ]);
}
