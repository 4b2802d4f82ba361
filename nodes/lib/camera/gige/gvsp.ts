/**
 * GVSP receive path: one UDP socket with a receive buffer sized from the frame size; packets of a block (leader,
 * payload packets, trailer) are copied by packet id straight into a preallocated frame buffer, so out-of-order
 * arrival costs nothing and no packet allocates anything of ours. At most `poolSize` blocks are assembled at once
 * (fixed slots, found by index). Lost packets are asked again with PACKETRESEND (through the `resend` callback,
 * i.e. the GVCP client) a bounded number of rounds within `holdMs`; a block that stays incomplete is reported once
 * ('incomplete') and its slot reused. With every slot taken, the packet that starts a new block is never dropped:
 * the oldest block is reported incomplete and recycled for it, so frames keep flowing under loss. 16-bit block
 * ids wrap (65535 → 1).
 */
import { EventEmitter } from 'node:events';
import { SpotFusionError } from '../../errors';
import { decodeImageLeader, GVSP_HEADER, PacketFormat, PAYLOAD_IMAGE, PIXEL_FORMATS, pixelFormatName } from './protocol';
import { chooseReceivePath, createStreamSocket, ReceivePath, StreamSocket } from './stream-socket';

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
  /** asked receive buffer (SO_RCVBUF), default recvBufferFor(maxPayload); the OS may cap it (net.core.rmem_max) */
  recvBufferBytes?: number;
  /** buffers in the pool (blocks assembled at once + frames the consumer still holds), default 8 */
  poolSize?: number;
  /** ask the device to send packets [first…last] of a block again; undefined = no resends */
  resend?: (blockId: number, first: number, last: number) => void;
  /** rounds of PACKETRESEND per block before it is dropped (default 3) */
  maxResendRounds?: number;
  /** ms to wait for the packets of one PACKETRESEND round before asking again (default 30) */
  resendWaitMs?: number;
  /**
   * ms an incomplete block is held, waiting for resent packets, once its end is known (its trailer came, or a newer
   * block started); then it is reported incomplete (default 100; without a resend path it is reported at once)
   */
  holdMs?: number;
  /** ms a block may take in all before it is dropped (default 1000) */
  blockTimeoutMs?: number;
  /** 'auto' (default: SPOTFUSION_GVSP_RECEIVE, else the batched addon when built, else dgram), 'native' or 'dgram' */
  receivePath?: 'auto' | ReceivePath;
  /** on the native path, read the stream from a packet ring where the process may (CAP_NET_RAW); default true unless SPOTFUSION_GVSP_RING=0 */
  packetRing?: boolean;
}

/** The receiver's counters, in this order also in the shared array a stream worker writes them to. */
export const GVSP_STAT_KEYS = ['packets', 'frames', 'incomplete', 'resendRequests', 'resentPackets', 'duplicates', 'badPackets', 'noBuffer', 'lostPackets', 'allocated'] as const;
export type GvspStats = Record<(typeof GVSP_STAT_KEYS)[number], number>;
export function emptyGvspStats(): GvspStats {
  return Object.fromEntries(GVSP_STAT_KEYS.map((k) => [k, 0])) as GvspStats;
}

/** SO_RCVBUF asked for a stream whose blocks are `payload` bytes: room for 4 frames, at least 4 MiB, at most 256 MiB. */
export function recvBufferFor(payload: number): number {
  return Math.min(256 * 1024 * 1024, Math.max(4 * 1024 * 1024, 4 * payload));
}

/** Throws a CONFIG error for a packet or payload size no receiver can work with. */
export function checkReceiverOptions(opts: Pick<GvspReceiverOptions, 'packetSize' | 'maxPayload'>): void {
  if (!Number.isInteger(opts.packetSize) || opts.packetSize <= PACKET_OVERHEAD + 4) throw new SpotFusionError('CONFIG', `GVSP packet size ${opts.packetSize} is too small`);
  if (!Number.isInteger(opts.maxPayload) || opts.maxPayload <= 0) throw new SpotFusionError('CONFIG', `payload size ${opts.maxPayload} is not a positive integer`);
}

/** One block being assembled. Slots are made once per receiver and reused: nothing is allocated per packet. */
class Slot {
  /** 0: the slot is free */
  blockId = 0;
  /** order in which blocks started (the oldest is recycled first) */
  seq = 0;
  buf: Buffer | undefined;
  /** got[p] for p = 0 (leader) … n+1 (trailer) */
  readonly got: Uint8Array;
  /** packets asked again with PACKETRESEND */
  readonly requested: Uint8Array;
  count = 0;
  /** number of payload packets, once known (from the leader's image size or the trailer's packet id) */
  nPayload = -1;
  size = 0;
  width = 0;
  height = 0;
  pixelFormatCode = 0;
  timestamp = 0n;
  leader = false;
  trailer = false;
  maxSeen = 0;
  rounds = 0;
  resent = 0;
  startedAt = 0;
  /** when the block's end became known (its trailer came, or a newer block started); 0: not yet */
  endAt = 0;
  /** when to look at the block again (next resend round or give up); 0: not scheduled */
  dueAt = 0;

  constructor(packets: number) {
    this.got = new Uint8Array(packets);
    this.requested = new Uint8Array(packets);
  }

  reset(blockId: number, seq: number, now: number): void {
    this.blockId = blockId;
    this.seq = seq;
    this.got.fill(0);
    this.requested.fill(0);
    this.count = 0;
    this.nPayload = -1;
    this.size = 0;
    this.width = 0;
    this.height = 0;
    this.pixelFormatCode = 0;
    this.timestamp = 0n;
    this.leader = false;
    this.trailer = false;
    this.maxSeen = 0;
    this.rounds = 0;
    this.resent = 0;
    this.startedAt = now;
    this.endAt = 0;
    this.dueAt = 0;
  }
}

/** a finished block id counts as done (its late or duplicate packets are dropped) for this long */
const DONE_MS = 1000;

export class GvspReceiver extends EventEmitter {
  private readonly socket: StreamSocket;
  private boundPort = 0;
  private readonly opts: Required<Omit<GvspReceiverOptions, 'resend' | 'receivePath' | 'packetRing'>> & Pick<GvspReceiverOptions, 'resend'>;
  private readonly perPacket: number;
  private readonly maxPackets: number;
  private readonly slots: Slot[] = [];
  private last: Slot | undefined;
  private seq = 0;
  private readonly free: Buffer[] = [];
  /** Date.now() when each 16-bit block id last finished (0: never) */
  private readonly doneAt = new Float64Array(0x10000);
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private closed = false;
  /** SO_RCVBUF asked for, and what the OS granted (Linux reports twice the usable size, capped at 2 × rmem_max) */
  recvBufferAsked = 0;
  recvBufferBytes = 0;
  /** how packets arrive: 'native' (batched recvmmsg addon) or 'dgram' */
  readonly receivePath: ReceivePath;
  /** why the batched path is not used, when 'auto' fell back to dgram */
  readonly receiveNote: string | undefined;
  /** once bound: 'ring' (packet ring), 'recvmmsg' (both native) or 'dgram' */
  receiveMode: 'ring' | 'recvmmsg' | 'dgram' | undefined;
  /** why the packet ring is not used, when it was tried */
  ringError: string | undefined;
  readonly stats: GvspStats = emptyGvspStats();

  constructor(opts: GvspReceiverOptions) {
    super();
    checkReceiverOptions(opts);
    const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as GvspReceiverOptions;
    this.opts = {
      recvBufferBytes: recvBufferFor(opts.maxPayload),
      poolSize: 8,
      maxResendRounds: 3,
      resendWaitMs: 30,
      holdMs: 100,
      blockTimeoutMs: 1000,
      ...given,
    };
    if (!Number.isInteger(this.opts.poolSize) || this.opts.poolSize < 1) throw new SpotFusionError('CONFIG', `GVSP pool size ${this.opts.poolSize} is not a positive integer`);
    this.perPacket = opts.packetSize - PACKET_OVERHEAD;
    this.maxPackets = Math.ceil(opts.maxPayload / this.perPacket);
    for (let i = 0; i < this.opts.poolSize; i++) this.slots.push(new Slot(this.maxPackets + 2));
    this.recvBufferAsked = this.opts.recvBufferBytes;
    const chosen = chooseReceivePath(opts.receivePath === 'auto' ? undefined : opts.receivePath);
    this.receivePath = chosen.path;
    this.receiveNote = chosen.note;
    this.socket = createStreamSocket(
      chosen.path,
      opts.packetSize,
      this.opts.recvBufferBytes,
      (m, o, n) => this.onPacket(m, o, n),
      (e) => this.emit('socket-error', e),
      opts.packetRing,
    );
  }

  /** Bind to an ephemeral port; resolves with it. */
  async bind(): Promise<number> {
    const b = await this.socket.bind(this.opts.localAddress);
    this.recvBufferBytes = b.recvBufferBytes;
    this.boundPort = b.port;
    this.receiveMode = this.socket.mode ?? 'dgram';
    this.ringError = this.socket.ringError;
    return b.port;
  }

  /** true when the OS gave the stream socket less receive buffer than asked (net.core.rmem_max caps it) */
  get recvBufferCapped(): boolean {
    // the packet ring is as large as asked (rmem_max does not apply to it)
    if (this.receiveMode === 'ring') return false;
    // Linux grants min(asked, rmem_max), doubles it for its bookkeeping and reports that
    const granted = process.platform === 'linux' ? this.recvBufferBytes / 2 : this.recvBufferBytes;
    return this.recvBufferBytes > 0 && granted < this.recvBufferAsked;
  }

  get port(): number {
    return this.boundPort;
  }

  /** blocks being assembled now (0 after close) */
  get inAssembly(): number {
    let n = 0;
    for (const s of this.slots) if (s.blockId !== 0) n++;
    return n;
  }

  /** Give a delivered frame's buffer back to the pool (optional: a buffer kept by its consumer is simply replaced). */
  release(buf: Buffer): void {
    const base = buf.byteOffset === 0 && buf.buffer.byteLength === this.opts.maxPayload ? Buffer.from(buf.buffer, 0, this.opts.maxPayload) : undefined;
    if (base && this.free.length < this.opts.poolSize) this.free.push(base);
  }

  private find(blockId: number): Slot | undefined {
    const last = this.last;
    if (last !== undefined && last.blockId === blockId) return last;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      if (slots[i].blockId === blockId) {
        this.last = slots[i];
        return slots[i];
      }
    }
    return undefined;
  }

  /** A packet of a block we are not assembling: take a free slot, or recycle the oldest block (reported once). */
  private start(blockId: number): Slot {
    const now = Date.now();
    let slot: Slot | undefined;
    let oldest: Slot | undefined;
    for (const s of this.slots) {
      if (s.blockId === 0) {
        slot = s;
        break;
      }
      if (!oldest || s.seq < oldest.seq) oldest = s;
    }
    if (!slot) {
      // poolSize >= 1, so there is an oldest
      slot = oldest ?? this.slots[0];
      this.stats.noBuffer += 1;
      this.giveUp(slot, `recycled for block ${blockId}: ${this.opts.poolSize} blocks already in assembly`);
    }
    if (!slot.buf) {
      slot.buf = this.free.pop();
      if (!slot.buf) {
        this.stats.allocated += 1;
        // every pool buffer is its own ArrayBuffer of exactly maxPayload bytes, so release() can recognise it
        slot.buf = Buffer.from(new ArrayBuffer(this.opts.maxPayload));
      }
    }
    this.seq += 1;
    slot.reset(blockId, this.seq, now);
    this.last = slot;
    // a newer block started: the older ones got all the packets they will get without asking
    for (const s of this.slots) if (s !== slot && s.blockId !== 0 && s.endAt === 0) this.ended(s, now);
    this.schedule(now + this.opts.blockTimeoutMs);
    return slot;
  }

  /** one packet: bytes [o, o + len) of m (valid only during this call) */
  private onPacket(m: Buffer, o: number, len: number): void {
    if (this.closed) return;
    this.stats.packets += 1;
    if (len < GVSP_HEADER) return this.bad();
    const status = (m[o] << 8) | m[o + 1];
    const blockId = (m[o + 2] << 8) | m[o + 3];
    const fmt = m[o + 4];
    // extended ids (64-bit block id) are not negotiated by us
    if ((status !== 0 && status !== 0x0100) || blockId === 0 || fmt & 0x80) return this.bad();
    const p = (m[o + 5] << 16) | (m[o + 6] << 8) | m[o + 7];
    if (p > this.maxPackets + 1) return this.bad();
    const doneAt = this.doneAt[blockId];
    if (doneAt !== 0) {
      if (Date.now() - doneAt < DONE_MS) {
        this.stats.duplicates += 1;
        return;
      }
      this.doneAt[blockId] = 0;
    }
    const a = this.find(blockId) ?? this.start(blockId);
    if (a.got[p] === 1) {
      this.stats.duplicates += 1;
      return;
    }
    if (a.nPayload >= 0 && p > a.nPayload + 1) return this.bad();
    if (a.requested[p] === 1) {
      a.resent += 1;
      this.stats.resentPackets += 1;
    }
    const format = fmt & 0x0f;
    if (format === PacketFormat.PAYLOAD) {
      if (p < 1) return this.bad();
      const off = (p - 1) * this.perPacket;
      const n = Math.min(len - GVSP_HEADER, this.opts.maxPayload - off);
      m.copy(a.buf as Buffer, off, o + GVSP_HEADER, o + GVSP_HEADER + n);
    } else if (format === PacketFormat.LEADER) {
      if (p !== 0 || !this.onLeader(a, m.subarray(o + GVSP_HEADER, o + len))) return;
    } else if (format === PacketFormat.TRAILER) {
      if (a.nPayload < 0) a.nPayload = p - 1;
      else if (p !== a.nPayload + 1) return this.bad();
      a.trailer = true;
    } else {
      return this.bad();
    }
    a.got[p] = 1;
    a.count += 1;
    if (p > a.maxSeen) a.maxSeen = p;
    if (a.leader && a.trailer && a.count === a.nPayload + 2) this.complete(a);
    else if (format === PacketFormat.TRAILER) this.ended(a, Date.now());
  }

  /** false when the leader ended the block (not an image, unsupported, too large) or is malformed; body: after the header */
  private onLeader(a: Slot, body: Buffer): boolean {
    const l = decodeImageLeader(body);
    if (!l) {
      this.bad();
      return false;
    }
    if (l.payloadType !== PAYLOAD_IMAGE) {
      this.giveUp(a, `payload type 0x${l.payloadType.toString(16)} is not an image`);
      return false;
    }
    const info = PIXEL_FORMATS[l.pixelFormat];
    if (!info) {
      this.giveUp(a, `unsupported pixel format ${pixelFormatName(l.pixelFormat)}`);
      this.emit('unsupported', pixelFormatName(l.pixelFormat));
      return false;
    }
    const size = (l.width * l.height * info.bitsPerPixel) / 8;
    if (size > this.opts.maxPayload) {
      this.giveUp(a, `image ${l.width}×${l.height} ${info.name} (${size} bytes) is larger than the payload size ${this.opts.maxPayload}`);
      return false;
    }
    const n = Math.ceil(size / this.perPacket);
    if ((a.nPayload >= 0 && a.nPayload !== n) || a.maxSeen > n + 1) {
      this.giveUp(a, `leader announces ${n} payload packets, the block has ${a.nPayload >= 0 ? a.nPayload : a.maxSeen}`);
      return false;
    }
    a.leader = true;
    a.width = l.width;
    a.height = l.height;
    a.pixelFormatCode = l.pixelFormat;
    a.timestamp = l.timestamp;
    a.size = size;
    a.nPayload = n;
    return true;
  }

  private bad(): void {
    this.stats.badPackets += 1;
  }

  /** Wake service() at `at` (ms since epoch) unless it wakes earlier already. */
  private schedule(at: number): void {
    if (this.closed || (this.timer && this.timerAt <= at)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.service(), Math.max(0, at - Date.now()));
  }

  /** Blocks whose time came: the next resend round, give up, or block timeout. */
  private service(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = Date.now();
    let next = Infinity;
    for (const s of this.slots) {
      if (s.blockId === 0) continue;
      if (s.endAt === 0) {
        if (now - s.startedAt >= this.opts.blockTimeoutMs) this.giveUp(s, 'block timeout');
        else next = Math.min(next, s.startedAt + this.opts.blockTimeoutMs);
      } else if (s.dueAt !== 0) {
        if (now >= s.dueAt) this.check(s, now);
        if (s.blockId !== 0 && s.dueAt !== 0) next = Math.min(next, s.dueAt);
      }
    }
    if (next !== Infinity) this.schedule(next);
  }

  private missing(a: Slot): number {
    const last = a.nPayload >= 0 ? a.nPayload + 1 : Math.max(a.maxSeen, 1);
    let n = 0;
    for (let p = 0; p <= last; p++) if (a.got[p] === 0) n++;
    return n;
  }

  /**
   * The block's end is known: on the next turn of the event loop (packets already queued may still fill it) it is
   * reported, or, with a resend path, its missing packets are asked.
   */
  private ended(a: Slot, now: number): void {
    if (a.endAt !== 0) return;
    a.endAt = now;
    a.dueAt = now;
    this.schedule(now);
  }

  /** Ask for what is missing (one request per contiguous range), or give up after the rounds or the hold time. */
  private check(a: Slot, now: number): void {
    const resend = this.opts.resend;
    if (!resend || a.rounds >= this.opts.maxResendRounds || now - a.endAt >= this.opts.holdMs) {
      this.giveUp(a, `${this.missing(a)} packet(s) missing`);
      return;
    }
    a.rounds += 1;
    const last = a.nPayload >= 0 ? a.nPayload + 1 : Math.max(a.maxSeen, 1);
    let p = 0;
    while (p <= last) {
      if (a.got[p] === 1) {
        p++;
        continue;
      }
      const first = p;
      while (p + 1 <= last && a.got[p + 1] === 0) p++;
      for (let k = first; k <= p; k++) a.requested[k] = 1;
      this.stats.resendRequests += 1;
      resend(a.blockId, first, p);
      p++;
    }
    a.dueAt = Math.min(now + this.opts.resendWaitMs, a.endAt + this.opts.holdMs);
    this.schedule(a.dueAt);
  }

  private finish(a: Slot): void {
    this.doneAt[a.blockId] = Date.now();
    a.blockId = 0;
    a.dueAt = 0;
  }

  private complete(a: Slot): void {
    const buf = a.buf as Buffer;
    a.buf = undefined;
    const frame: GvspFrame = {
      blockId: a.blockId,
      data: buf.subarray(0, a.size),
      width: a.width,
      height: a.height,
      pixelFormat: pixelFormatName(a.pixelFormatCode),
      pixelFormatCode: a.pixelFormatCode,
      timestamp: a.timestamp,
      resent: a.resent,
    };
    this.finish(a);
    this.stats.frames += 1;
    this.emit('frame', frame);
  }

  /** Report the block incomplete (once: its slot is free afterwards and its buffer stays with the slot). */
  private giveUp(a: Slot, reason: string): void {
    if (a.blockId === 0) return;
    const missing = this.missing(a);
    const info: IncompleteInfo = { blockId: a.blockId, missing, expected: a.nPayload >= 0 ? a.nPayload + 2 : a.maxSeen + 1, reason };
    this.finish(a);
    this.stats.incomplete += 1;
    this.stats.lostPackets += missing;
    this.emit('incomplete', info);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.slots) s.blockId = 0;
    await this.socket.close();
  }
}
