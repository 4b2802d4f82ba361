/**
 * GigE Vision wire format: GVCP (control, UDP 3956) commands and acknowledges, the bootstrap registers, and the
 * GVSP (stream) packet headers. Facts from the GigE Vision 2.x specification; pure functions, no sockets.
 */
import { SpotFusionError } from '../../errors';

export const GVCP_PORT = 3956;
export const GVCP_KEY = 0x42;
export const GVCP_HEADER = 8;
/** flag bit: the device must acknowledge */
export const FLAG_ACK_REQUIRED = 0x01;

export const Cmd = {
  DISCOVERY: 0x0002,
  FORCEIP: 0x0004,
  PACKETRESEND: 0x0040,
  READREG: 0x0080,
  WRITEREG: 0x0082,
  READMEM: 0x0084,
  WRITEMEM: 0x0086,
  PENDING: 0x0089,
  EVENT: 0x00c0,
} as const;

/** the most bytes one READMEM may ask for (and one WRITEMEM may carry); a multiple of 4 */
export const MAX_MEM_CHUNK = 512;

export const Reg = {
  VERSION: 0x0000,
  DEVICE_MODE: 0x0004,
  MAC_HIGH: 0x0008,
  MAC_LOW: 0x000c,
  CURRENT_IP: 0x0024,
  MANUFACTURER: 0x0048,
  MODEL: 0x0068,
  DEVICE_VERSION: 0x0088,
  SERIAL: 0x00d8,
  USER_NAME: 0x00e8,
  FIRST_URL: 0x0200,
  SECOND_URL: 0x0400,
  STREAM_CHANNELS: 0x0904,
  GVCP_CAPABILITY: 0x0934,
  HEARTBEAT_TIMEOUT: 0x0938,
  TICK_FREQ_HIGH: 0x093c,
  TICK_FREQ_LOW: 0x0940,
  GVCP_CONFIG: 0x0954,
  CCP: 0x0a00,
  /** stream channel 0 registers; channel n adds n * 0x40 */
  SCP0: 0x0d00,
  SCPS0: 0x0d04,
  SCPD0: 0x0d08,
  SCDA0: 0x0d18,
  SCSP0: 0x0d1c,
  SCC0: 0x0d20,
  SCCFG0: 0x0d24,
} as const;

/** GVCP capability register bits (bit 29 of the spec's MSB-0 numbering: PACKETRESEND) */
export const CAP_PACKET_RESEND = 1 << 2;

/** CCP bits */
export const CCP_EXCLUSIVE = 0x1;
export const CCP_CONTROL = 0x2;
/** SCPS bits */
export const SCPS_FIRE_TEST = 0x80000000;
export const SCPS_DO_NOT_FRAGMENT = 0x40000000;

export const STATUS_NAMES: Readonly<Record<number, string>> = {
  0x0000: 'SUCCESS',
  0x0100: 'PACKET_RESEND',
  0x8001: 'NOT_IMPLEMENTED',
  0x8002: 'INVALID_PARAMETER',
  0x8003: 'INVALID_ADDRESS',
  0x8004: 'WRITE_PROTECT',
  0x8005: 'BAD_ALIGNMENT',
  0x8006: 'ACCESS_DENIED',
  0x8007: 'BUSY',
  0x8008: 'LOCAL_PROBLEM',
  0x8009: 'MSG_MISMATCH',
  0x800a: 'INVALID_PROTOCOL',
  0x800b: 'NO_MSG',
  0x800c: 'PACKET_UNAVAILABLE',
  0x800d: 'DATA_OVERRUN',
  0x800e: 'INVALID_HEADER',
  0x800f: 'WRONG_CONFIG',
  0x8010: 'PACKET_NOT_YET_AVAILABLE',
  0x8011: 'PACKET_AND_PREV_REMOVED_FROM_MEMORY',
  0x8012: 'PACKET_REMOVED_FROM_MEMORY',
  0x8013: 'NO_REF_TIME',
  0x8014: 'PACKET_TEMPORARILY_UNAVAILABLE',
  0x8015: 'OVERFLOW',
  0x8016: 'ACTION_LATE',
  0x8fff: 'ERROR',
};

const STATUS_HELP: Readonly<Record<number, string>> = {
  0x8001: 'the camera does not implement this command',
  0x8002: 'a parameter is out of range',
  0x8003: 'the address does not exist on this camera',
  0x8004: 'the register is read-only',
  0x8005: 'the address or length is not a multiple of 4',
  0x8006: 'access denied: another host holds control of this camera',
  0x8007: 'the camera is busy',
};

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `0x${status.toString(16).padStart(4, '0')}`;
}

/** A device answered with an error status. */
export class GvcpStatusError extends SpotFusionError {
  constructor(readonly status: number, readonly command: string, where: string) {
    const help = STATUS_HELP[status];
    super(status === 0x8006 ? 'ACCESS_DENIED' : 'GVCP_STATUS', `${command} ${where}: camera answered ${statusName(status)}${help ? ` (${help})` : ''}`);
    this.name = 'GvcpStatusError';
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

export function encodeCommand(command: number, reqId: number, payload: Buffer = Buffer.alloc(0), flags = FLAG_ACK_REQUIRED): Buffer {
  if (payload.length % 4 !== 0) throw new SpotFusionError('GVCP', `GVCP payload must be a multiple of 4 bytes, got ${payload.length}`);
  const b = Buffer.alloc(GVCP_HEADER + payload.length);
  b.writeUInt8(GVCP_KEY, 0);
  b.writeUInt8(flags, 1);
  b.writeUInt16BE(command, 2);
  b.writeUInt16BE(payload.length, 4);
  b.writeUInt16BE(reqId, 6);
  payload.copy(b, GVCP_HEADER);
  return b;
}

export interface Ack {
  status: number;
  answer: number;
  length: number;
  ackId: number;
  payload: Buffer;
}

/** Parse an acknowledge; undefined for a datagram too short to be one. */
export function decodeAck(b: Buffer): Ack | undefined {
  if (b.length < GVCP_HEADER) return undefined;
  const length = b.readUInt16BE(4);
  return {
    status: b.readUInt16BE(0),
    answer: b.readUInt16BE(2),
    length,
    ackId: b.readUInt16BE(6),
    payload: b.subarray(GVCP_HEADER, GVCP_HEADER + Math.min(length, b.length - GVCP_HEADER)),
  };
}

export interface CommandPacket {
  flags: number;
  command: number;
  length: number;
  reqId: number;
  payload: Buffer;
}

/** Parse a command (what a device receives); for test peers and the GVSP sender of the tests. */
export function decodeCommand(b: Buffer): CommandPacket | undefined {
  if (b.length < GVCP_HEADER || b[0] !== GVCP_KEY) return undefined;
  const length = b.readUInt16BE(4);
  return { flags: b[1], command: b.readUInt16BE(2), length, reqId: b.readUInt16BE(6), payload: b.subarray(GVCP_HEADER, GVCP_HEADER + length) };
}

export function encodeAck(status: number, answer: number, ackId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(GVCP_HEADER + payload.length);
  b.writeUInt16BE(status, 0);
  b.writeUInt16BE(answer, 2);
  b.writeUInt16BE(payload.length, 4);
  b.writeUInt16BE(ackId, 6);
  payload.copy(b, GVCP_HEADER);
  return b;
}

function cstr(b: Buffer, offset: number, len: number): string {
  const s = b.subarray(offset, Math.min(b.length, offset + len));
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('latin1').trim();
}

export function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function ipToNumber(ip: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m || m.slice(1).some((p) => Number(p) > 255)) throw new SpotFusionError('CONFIG', `"${ip}" is not an IPv4 address`);
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export interface DeviceInfo {
  specVersion: string;
  mac: string;
  ip: string;
  subnet: string;
  manufacturer: string;
  model: string;
  deviceVersion: string;
  manufacturerInfo: string;
  serial: string;
  userName: string;
}

/** The 248-byte DISCOVERY_ACK payload (the same layout as the bootstrap registers 0x0000–0x00F7). */
export function parseDiscoveryAck(p: Buffer): DeviceInfo {
  if (p.length < 248) throw new SpotFusionError('GVCP', `DISCOVERY_ACK payload is ${p.length} bytes, expected 248`);
  const macHigh = p.readUInt16BE(10);
  const macLow = p.readUInt32BE(12);
  const mac = [macHigh >> 8, macHigh & 255, macLow >>> 24, (macLow >>> 16) & 255, (macLow >>> 8) & 255, macLow & 255]
    .map((v) => v.toString(16).padStart(2, '0'))
    .join(':');
  return {
    specVersion: `${p.readUInt16BE(0)}.${p.readUInt16BE(2)}`,
    mac,
    ip: ipToString(p.readUInt32BE(0x24)),
    subnet: ipToString(p.readUInt32BE(0x34)),
    manufacturer: cstr(p, 0x48, 32),
    model: cstr(p, 0x68, 32),
    deviceVersion: cstr(p, 0x88, 32),
    manufacturerInfo: cstr(p, 0xa8, 48),
    serial: cstr(p, 0xd8, 16),
    userName: cstr(p, 0xe8, 16),
  };
}

// ---------------------------------------------------------------- GVSP

export const GVSP_HEADER = 8;
export const PacketFormat = { LEADER: 1, TRAILER: 2, PAYLOAD: 3 } as const;
export const PAYLOAD_IMAGE = 0x0001;

export interface GvspHeader {
  status: number;
  blockId: number;
  format: number;
  packetId: number;
}

export function decodeGvspHeader(b: Buffer): GvspHeader | undefined {
  if (b.length < GVSP_HEADER) return undefined;
  const fmt = b[4];
  if (fmt & 0x80) return undefined; // extended ids (64-bit block id) are not negotiated by us
  return { status: b.readUInt16BE(0), blockId: b.readUInt16BE(2), format: fmt & 0x0f, packetId: b.readUIntBE(5, 3) };
}

export function encodeGvspHeader(h: GvspHeader, body: Buffer): Buffer {
  const b = Buffer.alloc(GVSP_HEADER + body.length);
  b.writeUInt16BE(h.status, 0);
  b.writeUInt16BE(h.blockId & 0xffff, 2);
  b[4] = h.format & 0x0f;
  b.writeUIntBE(h.packetId & 0xffffff, 5, 3);
  body.copy(b, GVSP_HEADER);
  return b;
}

export interface ImageLeader {
  payloadType: number;
  timestamp: bigint;
  pixelFormat: number;
  width: number;
  height: number;
  offsetX: number;
  offsetY: number;
  paddingX: number;
  paddingY: number;
}

/** leader body (after the 8-byte GVSP header) for the image payload type */
export function decodeImageLeader(body: Buffer): ImageLeader | undefined {
  if (body.length < 4) return undefined;
  const payloadType = body.readUInt16BE(2);
  if (payloadType !== PAYLOAD_IMAGE || body.length < 36) return { payloadType, timestamp: 0n, pixelFormat: 0, width: 0, height: 0, offsetX: 0, offsetY: 0, paddingX: 0, paddingY: 0 };
  return {
    payloadType,
    timestamp: (BigInt(body.readUInt32BE(4)) << 32n) | BigInt(body.readUInt32BE(8)),
    pixelFormat: body.readUInt32BE(12),
    width: body.readUInt32BE(16),
    height: body.readUInt32BE(20),
    offsetX: body.readUInt32BE(24),
    offsetY: body.readUInt32BE(28),
    paddingX: body.readUInt16BE(32),
    paddingY: body.readUInt16BE(34),
  };
}

export function encodeImageLeader(l: Omit<ImageLeader, 'payloadType'>): Buffer {
  const b = Buffer.alloc(36);
  b.writeUInt16BE(PAYLOAD_IMAGE, 2);
  b.writeUInt32BE(Number(l.timestamp >> 32n), 4);
  b.writeUInt32BE(Number(l.timestamp & 0xffffffffn), 8);
  b.writeUInt32BE(l.pixelFormat, 12);
  b.writeUInt32BE(l.width, 16);
  b.writeUInt32BE(l.height, 20);
  b.writeUInt32BE(l.offsetX, 24);
  b.writeUInt32BE(l.offsetY, 28);
  b.writeUInt16BE(l.paddingX, 32);
  b.writeUInt16BE(l.paddingY, 34);
  return b;
}

/** PFNC pixel formats we deliver, with bits per pixel as laid out in the buffer. */
export const PIXEL_FORMATS: Readonly<Record<number, { name: string; bitsPerPixel: number }>> = {
  0x01080001: { name: 'Mono8', bitsPerPixel: 8 },
  0x01100003: { name: 'Mono10', bitsPerPixel: 16 },
  0x01100005: { name: 'Mono12', bitsPerPixel: 16 },
  0x01100007: { name: 'Mono16', bitsPerPixel: 16 },
  0x01080008: { name: 'BayerGR8', bitsPerPixel: 8 },
  0x01080009: { name: 'BayerRG8', bitsPerPixel: 8 },
  0x0108000a: { name: 'BayerGB8', bitsPerPixel: 8 },
  0x0108000b: { name: 'BayerBG8', bitsPerPixel: 8 },
  0x02180014: { name: 'RGB8', bitsPerPixel: 24 },
  0x02180015: { name: 'BGR8', bitsPerPixel: 24 },
};

export function pixelFormatName(code: number): string {
  return PIXEL_FORMATS[code]?.name ?? `0x${code.toString(16).padStart(8, '0')}`;
}
