/**
 * EtherNet/IP encapsulation (EtherNet/IP spec, chapter 2): the 24-byte header, the Common Packet Format
 * items, RegisterSession, ListIdentity, SendRRData and SendUnitData bodies, and a framer that cuts a TCP
 * byte stream into whole packets. Pure functions over Buffers; every parser checks lengths and throws a
 * PacketError naming what is wrong.
 */
import { SpotFusionError } from '../../errors';

export const ENCAP_HEADER_SIZE = 24;
/** Largest encapsulation body we accept (a Large Forward Open connection carries at most 65 511 bytes). */
export const MAX_ENCAP_BODY = 65_511;

export const Command = {
  NOP: 0x0000,
  ListServices: 0x0004,
  ListIdentity: 0x0063,
  ListInterfaces: 0x0064,
  RegisterSession: 0x0065,
  UnregisterSession: 0x0066,
  SendRRData: 0x006f,
  SendUnitData: 0x0070,
} as const;

export const Item = {
  Null: 0x0000,
  ListIdentity: 0x000c,
  ConnectedAddress: 0x00a1,
  ConnectedData: 0x00b1,
  UnconnectedData: 0x00b2,
  ListServices: 0x0100,
  SockaddrO2T: 0x8000,
  SockaddrT2O: 0x8001,
  SequencedAddress: 0x8002,
} as const;

export class PacketError extends SpotFusionError {
  constructor(message: string) {
    super('PACKET', message);
    this.name = 'PacketError';
  }
}

export function need(buf: Buffer, offset: number, bytes: number, what: string): void {
  if (offset < 0 || offset + bytes > buf.length) {
    throw new PacketError(`${what}: need ${bytes} byte(s) at offset ${offset}, packet has ${buf.length}`);
  }
}

export interface EncapPacket {
  command: number;
  session: number;
  status: number;
  /** 8 bytes, echoed by the target */
  context: Buffer;
  options: number;
  data: Buffer;
}

export function encodeEncap(p: Partial<EncapPacket> & { command: number }): Buffer {
  const data = p.data ?? Buffer.alloc(0);
  const out = Buffer.alloc(ENCAP_HEADER_SIZE + data.length);
  out.writeUInt16LE(p.command, 0);
  out.writeUInt16LE(data.length, 2);
  out.writeUInt32LE((p.session ?? 0) >>> 0, 4);
  out.writeUInt32LE((p.status ?? 0) >>> 0, 8);
  if (p.context) p.context.copy(out, 12, 0, 8);
  out.writeUInt32LE((p.options ?? 0) >>> 0, 20);
  data.copy(out, ENCAP_HEADER_SIZE);
  return out;
}

export function decodeEncap(buf: Buffer): EncapPacket {
  need(buf, 0, ENCAP_HEADER_SIZE, 'encapsulation header');
  const length = buf.readUInt16LE(2);
  need(buf, ENCAP_HEADER_SIZE, length, 'encapsulation data');
  return {
    command: buf.readUInt16LE(0),
    session: buf.readUInt32LE(4),
    status: buf.readUInt32LE(8),
    context: Buffer.from(buf.subarray(12, 20)),
    options: buf.readUInt32LE(20),
    data: buf.subarray(ENCAP_HEADER_SIZE, ENCAP_HEADER_SIZE + length),
  };
}

/** Cuts a TCP stream into encapsulation packets; push() returns the whole packets received so far. */
export class EncapFramer {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): EncapPacket[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: EncapPacket[] = [];
    while (this.pending.length >= ENCAP_HEADER_SIZE) {
      const len = this.pending.readUInt16LE(2);
      if (this.pending.length < ENCAP_HEADER_SIZE + len) break;
      out.push(decodeEncap(this.pending.subarray(0, ENCAP_HEADER_SIZE + len)));
      this.pending = this.pending.subarray(ENCAP_HEADER_SIZE + len);
    }
    return out;
  }
  get buffered(): number {
    return this.pending.length;
  }
}

export interface CpfItem {
  type: number;
  data: Buffer;
}

export function encodeCpf(items: readonly CpfItem[]): Buffer {
  const size = 2 + items.reduce((n, it) => n + 4 + it.data.length, 0);
  const out = Buffer.alloc(size);
  out.writeUInt16LE(items.length, 0);
  let o = 2;
  for (const it of items) {
    out.writeUInt16LE(it.type, o);
    out.writeUInt16LE(it.data.length, o + 2);
    it.data.copy(out, o + 4);
    o += 4 + it.data.length;
  }
  return out;
}

export function decodeCpf(buf: Buffer, offset = 0): CpfItem[] {
  need(buf, offset, 2, 'CPF item count');
  const count = buf.readUInt16LE(offset);
  if (count > 16) throw new PacketError(`CPF item count ${count} is implausible`);
  const items: CpfItem[] = [];
  let o = offset + 2;
  for (let i = 0; i < count; i++) {
    need(buf, o, 4, `CPF item ${i} header`);
    const type = buf.readUInt16LE(o);
    const len = buf.readUInt16LE(o + 2);
    need(buf, o + 4, len, `CPF item ${i} data`);
    items.push({ type, data: buf.subarray(o + 4, o + 4 + len) });
    o += 4 + len;
  }
  return items;
}

/** RegisterSession body: protocol version 1, options 0. */
export function registerSessionData(): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(1, 0);
  return b;
}

/** SendRRData body: interface handle 0, timeout (s), CPF [null address, unconnected data]. */
export function sendRRData(mr: Buffer, timeoutS = 10): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(timeoutS, 4);
  return Buffer.concat([head, encodeCpf([{ type: Item.Null, data: Buffer.alloc(0) }, { type: Item.UnconnectedData, data: mr }])]);
}

/** SendUnitData body: CPF [connected address, connected data with sequence count]. */
export function sendUnitData(connectionId: number, sequence: number, mr: Buffer): Buffer {
  const head = Buffer.alloc(6);
  const addr = Buffer.alloc(4);
  addr.writeUInt32LE(connectionId >>> 0, 0);
  const seq = Buffer.alloc(2);
  seq.writeUInt16LE(sequence & 0xffff, 0);
  return Buffer.concat([head, encodeCpf([{ type: Item.ConnectedAddress, data: addr }, { type: Item.ConnectedData, data: Buffer.concat([seq, mr]) }])]);
}

export interface RRBody {
  timeout: number;
  items: CpfItem[];
}

export function decodeRRBody(data: Buffer): RRBody {
  need(data, 0, 6, 'SendRRData/SendUnitData header');
  return { timeout: data.readUInt16LE(4), items: decodeCpf(data, 6) };
}

/** The message router packet of a SendRRData body. */
export function unconnectedPayload(data: Buffer): Buffer {
  const { items } = decodeRRBody(data);
  const item = items.find((i) => i.type === Item.UnconnectedData);
  if (!item) throw new PacketError('SendRRData without an unconnected data item (0xB2)');
  return item.data;
}

export interface ConnectedPayload {
  connectionId: number;
  sequence: number;
  mr: Buffer;
}

export function connectedPayload(data: Buffer): ConnectedPayload {
  const { items } = decodeRRBody(data);
  const addr = items.find((i) => i.type === Item.ConnectedAddress);
  const item = items.find((i) => i.type === Item.ConnectedData);
  if (!addr || addr.data.length < 4) throw new PacketError('SendUnitData without a connected address item (0xA1)');
  if (!item || item.data.length < 2) throw new PacketError('SendUnitData without a connected data item (0xB1)');
  return { connectionId: addr.data.readUInt32LE(0), sequence: item.data.readUInt16LE(0), mr: item.data.subarray(2) };
}

export interface Identity {
  vendorId: number;
  deviceType: number;
  productCode: number;
  revision: { major: number; minor: number };
  status: number;
  serial: number;
  productName: string;
  state?: number;
  /** ListIdentity only: the socket address the device announces */
  address?: string;
  port?: number;
}

/** Identity object, Get Attributes All reply data (attributes 1-7). */
export function encodeIdentityAttributes(id: Identity): Buffer {
  const name = Buffer.from(id.productName.slice(0, 32), 'latin1');
  const b = Buffer.alloc(15 + name.length);
  b.writeUInt16LE(id.vendorId, 0);
  b.writeUInt16LE(id.deviceType, 2);
  b.writeUInt16LE(id.productCode, 4);
  b.writeUInt8(id.revision.major, 6);
  b.writeUInt8(id.revision.minor, 7);
  b.writeUInt16LE(id.status, 8);
  b.writeUInt32LE(id.serial >>> 0, 10);
  b.writeUInt8(name.length, 14);
  name.copy(b, 15);
  return b;
}

export function decodeIdentityAttributes(b: Buffer, offset = 0): { identity: Identity; end: number } {
  need(b, offset, 15, 'identity attributes');
  const nameLen = b.readUInt8(offset + 14);
  need(b, offset + 15, nameLen, 'identity product name');
  return {
    identity: {
      vendorId: b.readUInt16LE(offset),
      deviceType: b.readUInt16LE(offset + 2),
      productCode: b.readUInt16LE(offset + 4),
      revision: { major: b.readUInt8(offset + 6), minor: b.readUInt8(offset + 7) },
      status: b.readUInt16LE(offset + 8),
      serial: b.readUInt32LE(offset + 10),
      productName: b.toString('latin1', offset + 15, offset + 15 + nameLen),
    },
    end: offset + 15 + nameLen,
  };
}

/** ListIdentity reply body: one CPF item 0x0C with protocol version, sockaddr (big endian), identity, state. */
export function encodeListIdentityReply(id: Identity, address: string, port: number): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16LE(1, 0);
  head.writeInt16BE(2, 2); // AF_INET
  head.writeUInt16BE(port, 4);
  const parts = address.split('.').map((p) => Number(p) & 0xff);
  for (let i = 0; i < 4; i++) head.writeUInt8(parts[i] ?? 0, 6 + i);
  const attrs = encodeIdentityAttributes(id);
  const item = Buffer.concat([head, attrs, Buffer.from([id.state ?? 3])]);
  return encodeCpf([{ type: Item.ListIdentity, data: item }]);
}

export function decodeListIdentityReply(data: Buffer): Identity[] {
  return decodeCpf(data)
    .filter((i) => i.type === Item.ListIdentity)
    .map((i) => {
      need(i.data, 0, 18, 'ListIdentity item');
      const { identity, end } = decodeIdentityAttributes(i.data, 18);
      identity.address = [6, 7, 8, 9].map((k) => i.data.readUInt8(k)).join('.');
      identity.port = i.data.readUInt16BE(4);
      if (end < i.data.length) identity.state = i.data.readUInt8(end);
      return identity;
    });
}
