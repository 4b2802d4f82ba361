/**
 * GVSP receive path: one UDP socket with a large receive buffer; packets of a block (leader, payload packets,
 * trailer) are placed by packet id straight into a pooled buffer, so out-of-order arrival costs nothing; lost
 * packets are asked again with PACKETRESEND (through the `resend` callback, i.e. the GVCP client) a bounded number
 * of times; a block that stays incomplete is dropped and counted. 16-bit block ids wrap (65535 → 1).
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { SpotFusionError } from '../../errors';
import { decodeGvspHeader, decodeImageLeader, GVSP_HEADER, PacketFormat, PAYLOAD_IMAGE, PIXEL_FORMATS, pixelFormatName } from './protocol';

/** IP (20) + UDP (8) + GVSP (8) header bytes in every stream packet */
export const PACKET_OVERHEAD = 36;

export interface GvspFrame {
  blockId: number;
  data: Buffer;
  width: number;
  height: number;
  pixelFormat: string;
  pixelFormatCode: number;
  timestamp: bigint;
  /** packets that arrived only after a PACKETRESEND */
  resent: number;
}

export interface IncompleteInfo {
  blockId: number;
  missing: number;
  expected: number;
  reason: string;
}

export interface GvspReceiverOptions {
  /** local address to bind (127.0.0.1 for a loopback camera) */
  localAddress: string;
  /** negotiated GVSP packet size (SCPS), IP and UDP headers included */
  packetSize: number;
  /** largest payload of one block in bytes (the camera's PayloadSize) */
  maxPayload: number;
  /** asked receive buffer (SO_RCVBUF), default 16 MiB; the OS may cap it (net.core.rmem_max) */
  recvBufferBytes?: number;
  /** buffers in the pool (blocks assembled at once + frames the consumer still holds), default 8 */
  poolSize?: number;
  /** ask the device to send packets [first…last] of a block again; undefined = no resends */
  resend?: (blockId: number, first: number, last: number) => void;
  /** rounds of PACKETRESEND per block before it is dropped (default 3) */
  maxResendRounds?: number;
  /** ms to wait after the trailer (or since the last packet) before asking again / giving up (default 30) */
  resendWaitMs?: number;
  /** ms a block may take in all before it is dropped (default 1000) */
  blockTimeoutMs?: number;
}

interface Assembly {
  blockId: number;
  buf: Buffer;
  /** received[p] for p = 0 (leader) … n+1 (trailer); grows while n is unknown */
  got: Uint8Array;
  count: number;
  /** number of payload packets, once known (from leader size or trailer id) */
  nPayload: number;
  size: number;
  width: number;
  height: number;
  pixelFormatCode: number;
  timestamp: bigint;
  leader: boolean;
  trailer: boolean;
  maxSeen: number;
  rounds: number;
  resent: number;
  requested: Set<number>;
  timer: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
}

export class GvspReceiver extends EventEmitter {
  private readonly socket: dgram.Socket;
  private readonly opts: Required<Omit<GvspReceiverOptions, 'resend'>> & Pick<GvspReceiverOptions, 'resend'>;
  private readonly perPacket: number;
  private readonly maxPackets: number;
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly blocks = new Map<number, Assembly>();
  /** recently finished block ids, to drop their late duplicates */
  private readonly done = new Set<number>();
  private readonly doneOrder: number[] = [];
  private closed = false;
  recvBufferBytes = 0;
  readonly stats = { packets: 0, frames: 0, incomplete: 0, resendRequests: 0, resentPackets: 0, duplicates: 0, badPackets: 0, noBuffer: 0, lostPackets: 0 };

  constructor(opts: GvspReceiverOptions) {
    super();
    if (!Number.isInteger(opts.packetSize) || opts.packetSize <= PACKET_OVERHEAD + 4) throw new SpotFusionError('CONFIG', `GVSP packet size ${opts.packetSize} is too small`);
    if (!Number.isInteger(opts.maxPayload) || opts.maxPayload <= 0) throw new SpotFusionError('CONFIG', `payload size ${opts.maxPayload} is not a positive integer`);
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as GvspReceiverOptions;
    this.opts = {
      recvBufferBytes: 16 * 1024 * 1024,
      poolSize: 8,
      maxResendRounds: 3,
      resendWaitMs: 30,
      blockTimeoutMs: 1000,
      ...given,
    };
    this.perPacket = opts.packetSize - PACKET_OVERHEAD;
    this.maxPackets = Math.ceil(opts.maxPayload / this.perPacket);
    this.socket = dgram.createSocket({ type: 'udp4', recvBufferSize: this.opts.recvBufferBytes });
    this.socket.on('message', (m) => this.onPacket(m));
    this.socket.on('error', (e) => this.emit('socket-error', e));
  }

  /** Bind to an ephemeral port; resolves with it. */
  bind(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      this.socket.once('error', onErr);
      this.socket.bind({ port: 0, address: this.opts.localAddress, exclusive: true }, () => {
        this.socket.removeListener('error', onErr);
        try {
          this.socket.setRecvBufferSize(this.opts.recvBufferBytes);
        } catch (e) {
          this.emit('socket-error', e);
        }
        this.recvBufferBytes = this.socket.getRecvBufferSize();
        resolve(this.socket.address().port);
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Give a delivered frame's buffer back to the pool (optional: a buffer kept by its consumer is simply replaced). */
  release(buf: Buffer): void {
    const base = buf.byteOffset === 0 && buf.buffer.byteLength >= this.opts.maxPayload ? Buffer.from(buf.buffer, 0, this.opts.maxPayload) : undefined;
    if (base && this.free.length < this.opts.poolSize) this.free.push(base);
  }

  private acquire(): Buffer | undefined {
    const b = this.free.pop();
    if (b) return b;
    if (this.blocks.size >= this.opts.poolSize) return undefined;
    this.allocated += 1;
    // every pool buffer starts at offset 0 of its own ArrayBuffer, so release() can recognise it
    return Buffer.from(new ArrayBuffer(this.opts.maxPayload));
  }

  private onPacket(m: Buffer): void {
    if (this.closed) return;
    this.stats.packets += 1;
    const h = decodeGvspHeader(m);
    if (!h || (h.status !== 0 && h.status !== 0x0100) || h.blockId === 0) {
      this.stats.badPackets += 1;
      return;
    }
    if (this.done.has(h.blockId)) {
      this.stats.duplicates += 1;
      return;
    }
    let a = this.blocks.get(h.blockId);
    if (!a) {
      const buf = this.acquire();
      if (!buf) {
        this.stats.noBuffer += 1;
        this.dropOldest();
        return;
      }
      a = {
        blockId: h.blockId,
        buf,
        got: new Uint8Array(this.maxPackets + 2),
        count: 0,
        nPayload: -1,
        size: 0,
        width: 0,
        height: 0,
        pixelFormatCode: 0,
        timestamp: 0n,
        leader: false,
        trailer: false,
        maxSeen: 0,
        rounds: 0,
        resent: 0,
        requested: new Set(),
        timer: undefined,
        deadline: undefined,
      };
      const blk = a;
      a.deadline = setTimeout(() => this.giveUp(blk, 'block timeout'), this.opts.blockTimeoutMs);
      this.blocks.set(h.blockId, a);
      // a newer block started while older ones wait: their missing packets are lost, not late
      for (const other of this.blocks.values()) if (other !== a && !other.timer && other.count > 0) this.arm(other, this.opts.resendWaitMs);
    }
    const p = h.packetId;
    if (p >= a.got.length) {
      this.stats.badPackets += 1;
      return;
    }
    if (a.got[p]) {
      this.stats.duplicates += 1;
      return;
    }
    if (a.requested.has(p)) {
      a.resent += 1;
      this.stats.resentPackets += 1;
    }
    const body = m.subarray(GVSP_HEADER);
    if (h.format === PacketFormat.LEADER) {
      if (p !== 0) return this.bad();
      const l = decodeImageLeader(body);
      if (!l) return this.bad();
      if (l.payloadType !== PAYLOAD_IMAGE) {
        this.giveUp(a, `payload type 0x${l.payloadType.toString(16)} is not an image`);
        return;
      }
      const info = PIXEL_FORMATS[l.pixelFormat];
      if (!info) {
        this.giveUp(a, `unsupported pixel format ${pixelFormatName(l.pixelFormat)}`);
        this.emit('unsupported', pixelFormatName(l.pixelFormat));
        return;
      }
      const size = (l.width * l.height * info.bitsPerPixel) / 8;
      if (size > this.opts.maxPayload) {
        this.giveUp(a, `image ${l.width}×${l.height} ${info.name} (${size} bytes) is larger than the payload size ${this.opts.maxPayload}`);
        return;
      }
      a.leader = true;
      a.width = l.width;
      a.height = l.height;
      a.pixelFormatCode = l.pixelFormat;
      a.timestamp = l.timestamp;
      a.size = size;
      a.nPayload = Math.ceil(size / this.perPacket);
    } else if (h.format === PacketFormat.PAYLOAD) {
      if (p < 1 || p > this.maxPackets) return this.bad();
      const off = (p - 1) * this.perPacket;
      const n = Math.min(body.length, this.opts.maxPayload - off);
      if (n < 0) return this.bad();
      body.copy(a.buf, off, 0, n);
    } else if (h.format === PacketFormat.TRAILER) {
      a.trailer = true;
      if (a.nPayload < 0) a.nPayload = p - 1;
    } else {
      return this.bad();
    }
    a.got[p] = 1;
    a.count += 1;
    if (p > a.maxSeen) a.maxSeen = p;
    if (a.leader && a.trailer && a.count === a.nPayload + 2) {
      this.complete(a);
      return;
    }
    if (a.trailer && !a.timer) this.arm(a, 0);
  }

  private bad(): void {
    this.stats.badPackets += 1;
  }

  private arm(a: Assembly, ms: number): void {
    if (a.timer) clearTimeout(a.timer);
    a.timer = setTimeout(() => {
      a.timer = undefined;
      this.check(a);
    }, ms);
  }

  private missing(a: Assembly): number[] {
    const last = a.nPayload >= 0 ? a.nPayload + 1 : Math.max(a.maxSeen, 1);
    const out: number[] = [];
    for (let p = 0; p <= last; p++) if (!a.got[p]) out.push(p);
    return out;
  }

  /** After the trailer, or once a newer block started: ask for what is missing, or give up. */
  private check(a: Assembly): void {
    if (this.blocks.get(a.blockId) !== a) return;
    const miss = this.missing(a);
    if (miss.length === 0 && a.leader && a.trailer) {
      this.complete(a);
      return;
    }
    if (!this.opts.resend || a.rounds >= this.opts.maxResendRounds) {
      this.giveUp(a, `${miss.length} packet(s) missing`);
      return;
    }
    a.rounds += 1;
    // one request per contiguous range
    let i = 0;
    while (i < miss.length) {
      let j = i;
      while (j + 1 < miss.length && miss[j + 1] === miss[j] + 1) j++;
      this.stats.resendRequests += 1;
      for (let k = i; k <= j; k++) a.requested.add(miss[k]);
      this.opts.resend(a.blockId, miss[i], miss[j]);
      i = j + 1;
    }
    this.arm(a, this.opts.resendWaitMs);
  }

  private finish(a: Assembly): void {
    if (a.timer) clearTimeout(a.timer);
    if (a.deadline) clearTimeout(a.deadline);
    this.blocks.delete(a.blockId);
    this.done.add(a.blockId);
    this.doneOrder.push(a.blockId);
    if (this.doneOrder.length > 64) this.done.delete(this.doneOrder.shift() as number);
  }

  private complete(a: Assembly): void {
    this.finish(a);
    this.stats.frames += 1;
    const frame: GvspFrame = {
      blockId: a.blockId,
      data: a.buf.subarray(0, a.size),
      width: a.width,
      height: a.height,
      pixelFormat: pixelFormatName(a.pixelFormatCode),
      pixelFormatCode: a.pixelFormatCode,
      timestamp: a.timestamp,
      resent: a.resent,
    };
    this.emit('frame', frame);
  }

  private giveUp(a: Assembly, reason: string): void {
    if (this.blocks.get(a.blockId) !== a) return;
    const miss = this.missing(a);
    this.finish(a);
    this.free.push(a.buf);
    this.stats.incomplete += 1;
    this.stats.lostPackets += miss.length;
    const info: IncompleteInfo = { blockId: a.blockId, missing: miss.length, expected: a.nPayload >= 0 ? a.nPayload + 2 : a.maxSeen + 1, reason };
    this.emit('incomplete', info);
  }

  private dropOldest(): void {
    const oldest = this.blocks.values().next();
    if (!oldest.done) this.giveUp(oldest.value, 'no free buffer (frames not consumed fast enough)');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const a of this.blocks.values()) {
      if (a.timer) clearTimeout(a.timer);
      if (a.deadline) clearTimeout(a.deadline);
    }
    this.blocks.clear();
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch (e) {
        this.emit('socket-error', e);
        resolve();
      }
    });
  }
}
