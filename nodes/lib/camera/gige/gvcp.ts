/**
 * GVCP client: one UDP socket to one device, one request in flight at a time (the protocol's rule), request ids
 * 1…65535, retries (the GigE Vision spec's retry count, 3 by default) on a timeout and on a failed send alike,
 * PENDING_ACK extending the wait, error statuses turned into readable errors.
 * Discovery is unicast to the configured address only: this client never broadcasts.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { SpotFusionError } from '../../errors';
import {
  Cmd,
  decodeAck,
  DeviceInfo,
  encodeCommand,
  GVCP_PORT,
  GvcpStatusError,
  hex,
  MAX_MEM_CHUNK,
  parseDiscoveryAck,
} from './protocol';

export interface GvcpOptions {
  /** camera IPv4 address (unicast) */
  host: string;
  port?: number;
  /** local address to bind (default: 127.0.0.1 for a loopback camera, else all interfaces) */
  localAddress?: string;
  /** ms to wait for each acknowledge (default 300) */
  timeoutMs?: number;
  /** extra tries after a timeout or a failed send (default 3, the GigE Vision spec's retry count) */
  retries?: number;
}

interface Pending {
  id: number;
  command: number;
  what: string;
  packet: Buffer;
  triesLeft: number;
  /** the last send error (the next try is made when the ack timeout runs out, as for a lost packet) */
  sendError: string | undefined;
  timer: NodeJS.Timeout | undefined;
  resolve: (payload: Buffer) => void;
  reject: (err: Error) => void;
}

interface Queued {
  command: number;
  payload: Buffer;
  what: string;
  resolve: (payload: Buffer) => void;
  reject: (err: Error) => void;
}

export class GvcpClient extends EventEmitter {
  readonly host: string;
  readonly port: number;
  private readonly socket: dgram.Socket;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private nextId = 0;
  private current: Pending | undefined;
  private readonly queue: Queued[] = [];
  private closed = false;
  private bound: Promise<void>;
  /** counters for status and tests */
  stats = { requests: 0, retries: 0, pending: 0, stale: 0, sendErrors: 0, resendSendErrors: 0 };

  constructor(opts: GvcpOptions) {
    super();
    this.host = opts.host;
    this.port = opts.port ?? GVCP_PORT;
    this.timeoutMs = opts.timeoutMs ?? 300;
    this.retries = opts.retries ?? 3;
    this.socket = dgram.createSocket('udp4');
    this.socket.on('message', (msg) => this.onMessage(msg));
    this.socket.on('error', (err) => this.fatal(err));
    const local = opts.localAddress ?? (this.host.startsWith('127.') ? '127.0.0.1' : undefined);
    this.bound = new Promise((resolve, reject) => {
      const onErr = (err: Error): void => reject(err);
      this.socket.once('error', onErr);
      this.socket.bind({ port: 0, address: local, exclusive: true }, () => {
        this.socket.removeListener('error', onErr);
        resolve();
      });
    });
    // a bind failure is reported by the first request
    this.bound.catch(() => undefined);
  }

  /** local UDP port of the control socket */
  get localPort(): number {
    return this.socket.address().port;
  }

  private fatal(err: Error): void {
    this.emit('socket-error', err);
  }

  private onMessage(msg: Buffer): void {
    const ack = decodeAck(msg);
    const cur = this.current;
    if (!ack || !cur || ack.ackId !== cur.id) {
      this.stats.stale += 1;
      return;
    }
    if (ack.answer === Cmd.PENDING) {
      // the device needs more time: wait what it says (plus our own margin), without using up a retry
      this.stats.pending += 1;
      const ms = ack.payload.length >= 4 ? ack.payload.readUInt16BE(2) : this.timeoutMs;
      this.arm(cur, ms + this.timeoutMs);
      return;
    }
    if (ack.answer !== cur.command + 1) {
      this.stats.stale += 1;
      return;
    }
    this.finish();
    if (ack.status !== 0) cur.reject(new GvcpStatusError(ack.status, cur.what, `to ${this.host}`));
    else cur.resolve(ack.payload);
  }

  private arm(p: Pending, ms: number): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => this.onTimeout(p), ms);
  }

  private onTimeout(p: Pending): void {
    if (this.current !== p) return;
    if (p.triesLeft > 0) {
      p.triesLeft -= 1;
      this.stats.retries += 1;
      this.transmit(p);
      return;
    }
    this.finish();
    if (p.sendError !== undefined) {
      p.reject(new SpotFusionError('NETWORK', `${p.what} to ${this.host}:${this.port}: no answer after ${this.retries + 1} tries of ${this.timeoutMs} ms (last send failed: ${p.sendError})`));
      return;
    }
    p.reject(new SpotFusionError('TIMEOUT', `${p.what}: no answer from camera ${this.host}:${this.port} after ${this.retries + 1} tries of ${this.timeoutMs} ms`));
  }

  private transmit(p: Pending): void {
    this.arm(p, this.timeoutMs);
    this.socket.send(p.packet, this.port, this.host, (err) => {
      if (!err) return;
      // a failed send is a lost packet: the ack timeout tries again, up to the retry count
      this.stats.sendErrors += 1;
      if (this.current === p) p.sendError = err.message;
    });
  }

  private finish(): void {
    const cur = this.current;
    if (cur?.timer) clearTimeout(cur.timer);
    this.current = undefined;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    if (this.current || this.closed) return;
    const q = this.queue.shift();
    if (!q) return;
    this.nextId = (this.nextId % 0xffff) + 1; // 1…65535, never 0
    const p: Pending = {
      id: this.nextId,
      command: q.command,
      what: q.what,
      packet: encodeCommand(q.command, this.nextId, q.payload),
      triesLeft: this.retries,
      sendError: undefined,
      timer: undefined,
      resolve: q.resolve,
      reject: q.reject,
    };
    this.current = p;
    this.stats.requests += 1;
    this.transmit(p);
  }

  /** Send one command and wait for its acknowledge payload. */
  async request(command: number, payload: Buffer, what: string): Promise<Buffer> {
    if (this.closed) throw new SpotFusionError('CLOSED', `${what}: GVCP client for ${this.host} is closed`);
    await this.bound;
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ command, payload, what, resolve, reject });
      this.pump();
    });
  }

  /** Unicast DISCOVERY to the configured address. */
  async discover(): Promise<DeviceInfo> {
    const payload = await this.request(Cmd.DISCOVERY, Buffer.alloc(0), 'DISCOVERY');
    return parseDiscoveryAck(payload);
  }

  async readRegs(addresses: number[]): Promise<number[]> {
    if (addresses.length === 0) return [];
    const p = Buffer.alloc(4 * addresses.length);
    addresses.forEach((a, i) => p.writeUInt32BE(a >>> 0, 4 * i));
    const what = `READREG ${addresses.map(hex).join(',')}`;
    const ack = await this.request(Cmd.READREG, p, what);
    if (ack.length < 4 * addresses.length) throw new SpotFusionError('GVCP', `${what}: short READREG_ACK (${ack.length} bytes)`);
    return addresses.map((_a, i) => ack.readUInt32BE(4 * i));
  }

  async readReg(address: number): Promise<number> {
    return (await this.readRegs([address]))[0];
  }

  async writeRegs(pairs: Array<[number, number]>): Promise<void> {
    const p = Buffer.alloc(8 * pairs.length);
    pairs.forEach(([a, v], i) => {
      p.writeUInt32BE(a >>> 0, 8 * i);
      p.writeUInt32BE(v >>> 0, 8 * i + 4);
    });
    await this.request(Cmd.WRITEREG, p, `WRITEREG ${pairs.map(([a, v]) => `${hex(a)}=${v >>> 0}`).join(',')}`);
  }

  async writeReg(address: number, value: number): Promise<void> {
    await this.writeRegs([[address, value]]);
  }

  /** Read `length` bytes from `address`, in chunks of at most 512 bytes. */
  async readMem(address: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    for (let off = 0; off < length; off += MAX_MEM_CHUNK) {
      const n = Math.min(MAX_MEM_CHUNK, length - off);
      const count = (n + 3) & ~3;
      const p = Buffer.alloc(8);
      p.writeUInt32BE((address + off) >>> 0, 0);
      p.writeUInt16BE(count, 6);
      const what = `READMEM ${hex(address + off)}+${count}`;
      const ack = await this.request(Cmd.READMEM, p, what);
      if (ack.length < 4 + n) throw new SpotFusionError('GVCP', `${what}: short READMEM_ACK (${ack.length} bytes)`);
      ack.copy(out, off, 4, 4 + n);
    }
    return out;
  }

  async writeMem(address: number, data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += MAX_MEM_CHUNK) {
      const chunk = data.subarray(off, Math.min(data.length, off + MAX_MEM_CHUNK));
      const padded = Buffer.alloc(4 + ((chunk.length + 3) & ~3));
      padded.writeUInt32BE((address + off) >>> 0, 0);
      chunk.copy(padded, 4);
      await this.request(Cmd.WRITEMEM, padded, `WRITEMEM ${hex(address + off)}+${chunk.length}`);
    }
  }

  /** Ask the device to send lost stream packets again (no acknowledge; a failed send is counted and emitted as 'resend-error'). */
  packetResend(channel: number, blockId: number, firstPacket: number, lastPacket: number): void {
    if (this.closed) return;
    const p = Buffer.alloc(12);
    p.writeUInt16BE(channel, 0);
    p.writeUInt16BE(blockId & 0xffff, 2);
    p.writeUInt32BE(firstPacket & 0xffffff, 4);
    p.writeUInt32BE(lastPacket & 0xffffff, 8);
    this.nextId = (this.nextId % 0xffff) + 1;
    this.socket.send(encodeCommand(Cmd.PACKETRESEND, this.nextId, p, 0), this.port, this.host, (err) => {
      // a resend request that could not be sent costs that frame at most, never the camera
      if (err) {
        this.stats.resendSendErrors += 1;
        this.emit('resend-error', err);
      }
    });
  }

  /** Fail what is queued, free the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new SpotFusionError('CLOSED', `GVCP client for ${this.host} closed`);
    const cur = this.current;
    if (cur) {
      if (cur.timer) clearTimeout(cur.timer);
      this.current = undefined;
      cur.reject(err);
    }
    for (const q of this.queue.splice(0)) q.reject(err);
    await this.bound.catch(() => undefined);
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch (e) {
        // already closed (bind failed)
        this.emit('socket-error', e);
        resolve();
      }
    });
  }
}
