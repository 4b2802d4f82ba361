/**
 * CIP EPATHs (CIP Vol. 1 appendix C): port segments for the route to the controller, logical segments
 * (class, instance, attribute) and the ANSI extended symbolic segments (0x91) plus member/element segments
 * Logix uses to name tags: `Tag`, `Tag[3]`, `Arr[1,2]`, `Udt.Member[4].Field`, `Program:Main.Tag`, and a
 * trailing `.N` for bit N of an integer.
 */
import { PacketError, need } from './encap';
import { SpotFusionError } from '../../errors';

export type PathSegment =
  | { kind: 'symbol'; name: string }
  | { kind: 'element'; index: number }
  | { kind: 'class'; id: number }
  | { kind: 'instance'; id: number }
  | { kind: 'attribute'; id: number }
  | { kind: 'port'; port: number; link: number };

export interface TagAddress {
  /** the address as written */
  text: string;
  /** symbolic + element segments up to (not including) a trailing bit number */
  segments: PathSegment[];
  /** bit number when the address ends in `.N` */
  bit?: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
const PROGRAM = /^Program:[A-Za-z_][A-Za-z0-9_]{0,39}$/i;

/** Parse a Logix tag address; throws an ADDRESS error saying where it is wrong. */
export function parseTagAddress(text: string): TagAddress {
  if (typeof text !== 'string' || text.trim() === '') throw new SpotFusionError('ADDRESS', 'tag address is empty');
  const src = text.trim();
  const segments: PathSegment[] = [];
  let bit: number | undefined;
  let i = 0;
  const fail = (why: string): never => {
    throw new SpotFusionError('ADDRESS', `tag address "${src}": ${why} at character ${i + 1}`);
  };
  const readName = (): string => {
    const start = i;
    while (i < src.length && /[A-Za-z0-9_:]/.test(src[i])) i++;
    return src.slice(start, i);
  };
  let first = true;
  while (i < src.length) {
    if (!first) {
      if (src[i] === '.') {
        i++;
      } else if (src[i] !== '[') {
        fail(`unexpected "${src[i]}"`);
      }
    }
    if (src[i] === '[') {
      if (first) fail('address must start with a name');
      i++;
      for (;;) {
        const start = i;
        while (i < src.length && /[0-9]/.test(src[i])) i++;
        if (i === start) fail('expected an array index');
        const n = Number(src.slice(start, i));
        if (n > 0xffffffff) fail('array index too large');
        segments.push({ kind: 'element', index: n });
        if (src[i] === ',') {
          i++;
          continue;
        }
        if (src[i] === ']') {
          i++;
          break;
        }
        fail('expected "," or "]"');
      }
      continue;
    }
    if (!first && /[0-9]/.test(src[i] ?? '')) {
      const start = i;
      while (i < src.length && /[0-9]/.test(src[i])) i++;
      if (i !== src.length) fail('a bit number must end the address');
      bit = Number(src.slice(start, i));
      if (bit > 63) fail('bit number above 63');
      break;
    }
    const name = readName();
    if (!(NAME.test(name) || (first && PROGRAM.test(name)))) fail(`"${name}" is not a valid tag or member name`);
    segments.push({ kind: 'symbol', name });
    first = false;
  }
  if (segments.length === 0) fail('no tag name');
  const out: TagAddress = { text: src, segments };
  if (bit !== undefined) out.bit = bit;
  return out;
}

function encodeSymbol(name: string): Buffer {
  const bytes = Buffer.from(name, 'latin1');
  const len = 2 + bytes.length + (bytes.length % 2);
  const b = Buffer.alloc(len);
  b.writeUInt8(0x91, 0);
  b.writeUInt8(bytes.length, 1);
  bytes.copy(b, 2);
  return b;
}

function encodeLogical(type: number, id: number): Buffer {
  // type: 0x20 class, 0x24 instance, 0x28 member/element, 0x30 attribute
  if (id <= 0xff) return Buffer.from([type, id]);
  if (id <= 0xffff) {
    const b = Buffer.alloc(4);
    b.writeUInt8(type | 1, 0);
    b.writeUInt16LE(id, 2);
    return b;
  }
  const b = Buffer.alloc(6);
  b.writeUInt8(type | 2, 0);
  b.writeUInt32LE(id >>> 0, 2);
  return b;
}

export function encodePath(segments: readonly PathSegment[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of segments) {
    switch (s.kind) {
      case 'symbol':
        parts.push(encodeSymbol(s.name));
        break;
      case 'element':
        parts.push(encodeLogical(0x28, s.index));
        break;
      case 'class':
        parts.push(encodeLogical(0x20, s.id));
        break;
      case 'instance':
        parts.push(encodeLogical(0x24, s.id));
        break;
      case 'attribute':
        parts.push(encodeLogical(0x30, s.id));
        break;
      case 'port':
        if (s.port > 14 || s.link > 0xff) throw new SpotFusionError('ADDRESS', `route port ${s.port}/link ${s.link} is not supported`);
        parts.push(Buffer.from([s.port, s.link]));
        break;
    }
  }
  return Buffer.concat(parts);
}

/** Decode a padded EPATH (as carried in a message router request). */
export function decodePath(buf: Buffer): PathSegment[] {
  const out: PathSegment[] = [];
  let o = 0;
  while (o < buf.length) {
    const t = buf.readUInt8(o);
    if (t === 0x91) {
      need(buf, o, 2, 'symbolic segment');
      const len = buf.readUInt8(o + 1);
      need(buf, o + 2, len, 'symbolic segment name');
      out.push({ kind: 'symbol', name: buf.toString('latin1', o + 2, o + 2 + len) });
      o += 2 + len + (len % 2);
      continue;
    }
    if ((t & 0xe0) === 0x20) {
      const logical = t & 0x1c;
      const format = t & 0x03;
      let id: number;
      if (format === 0) {
        need(buf, o, 2, 'logical segment');
        id = buf.readUInt8(o + 1);
        o += 2;
      } else if (format === 1) {
        need(buf, o, 4, 'logical segment');
        id = buf.readUInt16LE(o + 2);
        o += 4;
      } else if (format === 2) {
        need(buf, o, 6, 'logical segment');
        id = buf.readUInt32LE(o + 2);
        o += 6;
      } else {
        throw new PacketError(`reserved logical segment format 0x${t.toString(16)}`);
      }
      if (logical === 0x00) out.push({ kind: 'class', id });
      else if (logical === 0x04) out.push({ kind: 'instance', id });
      else if (logical === 0x08) out.push({ kind: 'element', index: id });
      else if (logical === 0x10) out.push({ kind: 'attribute', id });
      else throw new PacketError(`unsupported logical segment 0x${t.toString(16)}`);
      continue;
    }
    if ((t & 0xe0) === 0x00) {
      if (t & 0x10) throw new PacketError('extended link address port segments are not supported');
      need(buf, o, 2, 'port segment');
      out.push({ kind: 'port', port: t & 0x0f, link: buf.readUInt8(o + 1) });
      o += 2;
      continue;
    }
    throw new PacketError(`unsupported path segment type 0x${t.toString(16)} at byte ${o}`);
  }
  return out;
}

/** Route to a Logix CPU: backplane port 1, slot N (e.g. "1,0"), or a longer "port,link,port,link" route. */
export function parseRoute(text: string): PathSegment[] {
  const src = String(text ?? '').trim();
  if (src === '') return [];
  const nums = src.split(/[,\s/]+/).map((s) => Number(s));
  if (nums.some((n) => !Number.isInteger(n) || n < 0 || n > 255) || nums.length % 2 !== 0) {
    throw new SpotFusionError('CONFIG', `route path "${src}": expected pairs of port,link numbers such as "1,0" (backplane, slot 0)`);
  }
  const out: PathSegment[] = [];
  for (let k = 0; k < nums.length; k += 2) out.push({ kind: 'port', port: nums[k], link: nums[k + 1] });
  return out;
}

export function logicalPath(classId: number, instance: number, attribute?: number): Buffer {
  const segs: PathSegment[] = [
    { kind: 'class', id: classId },
    { kind: 'instance', id: instance },
  ];
  if (attribute !== undefined) segs.push({ kind: 'attribute', id: attribute });
  return encodePath(segs);
}
