/**
 * Our EtherNet/IP client for Logix controllers: one TCP session, connected explicit messaging over a Large
 * Forward Open (falling back to Forward Open, or unconnected messaging when configured), many reads and
 * writes packed into Multiple Service Packets sized to the connection, fragmented reads and writes for
 * values larger than one packet, UDT templates from the tag list, and per-tag CIP errors. Every request has
 * its own timeout; a timeout or a socket error ends the client ('lost'), reconnects belong to the caller.
 */
import { Socket, connect as netConnect } from 'node:net';
import { createSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import {
  CipError,
  Command,
  EncapFramer,
  EncapPacket,
  Identity,
  MrReply,
  PathSegment,
  STRING_HANDLE,
  STRUCT_TYPE,
  Service,
  Template,
  TemplateSource,
  TypedData,
  connectedPayload,
  decodeIdentityAttributes,
  decodeListIdentityReply,
  decodeMultiple,
  decodeReply,
  decodeSymbolEntries,
  decodeTemplateAttributes,
  decodeTemplateDefinition,
  decodeTypedData,
  describeEncapStatus,
  encodeEncap,
  forwardCloseRequest,
  forwardOpenRequest,
  identityRequest,
  multipleOverhead,
  multipleServiceRequest,
  readTagFragmentedRequest,
  readTagRequest,
  readTemplateRequest,
  registerSessionData,
  sendRRData,
  sendUnitData,
  tagListRequest,
  templateAttributesRequest,
  unconnectedPayload,
  unconnectedSend,
  writeTagFragmentedRequest,
  writeTagRequest,
  readModifyWriteRequest,
  MEMBER_STRUCT,
  SymbolEntry,
  ConnectionTriad,
} from './cip';
import { SpotFusionError, describeError } from '../errors';

export interface LogixOptions {
  host: string;
  port?: number;
  /** route from the Ethernet module to the CPU, default backplane port 1 slot 0 */
  route?: PathSegment[];
  /** connected messaging (Forward Open) — default true */
  connected?: boolean;
  /** requested connection size in bytes (Large Forward Open above 511), default 4002 */
  connectionSize?: number;
  /** requested packet interval of the class 3 connection, ms (default 2000) */
  rpiMs?: number;
  /** per request and connect timeout, ms (default 3000) */
  timeoutMs?: number;
  /**
   * What earlier clients of the same controller learned, kept by the caller across reconnects (plcDriver keeps
   * one per PLC config): see LogixMemory.
   */
  memory?: LogixMemory;
}

/**
 * Facts about a controller that outlive one client. Some controllers and gateways end the session when asked
 * for the tag list (0x55); without this every read of a UDT tag would load the tag list again on the new
 * session and cause another reconnect, forever.
 */
export interface LogixMemory {
  /** sessions lost in a row while the tag list and templates were loading */
  templateDrops?: number;
  /** set after TEMPLATE_DROPS such losses in a row: why UDT templates are unavailable for this controller */
  templateError?: string;
}

/** Sessions lost in a row on the tag list before templates count as unavailable (one loss may be a cable pull). */
export const TEMPLATE_DROPS = 2;

export const UNCONNECTED_LIMIT = 504;
const VENDOR_ID = 0x1337;

/** One read in a batch. */
export interface ReadSpec {
  path: PathSegment[];
  elements: number;
  /** estimated bytes of the value (elements x element size), for packing */
  estimate: number;
  /** the encoded Read Tag request, when the caller keeps it between cycles */
  request?: Buffer;
}

export type ReadOutcome = { ok: true; typed: TypedData } | { ok: false; error: string };

export interface WriteSpec {
  path: PathSegment[];
  /** Read-Modify-Write of one bit when set */
  bit?: number;
  code: number;
  handle?: number;
  elements: number;
  data: Buffer;
}

let serialCounter = randomInt(1, 0xffff);

export class LogixClient extends EventEmitter {
  private socket: Socket | undefined;
  private readonly framer = new EncapFramer();
  private session = 0;
  private conn: { otId: number; toId: number; size: number; triad: ConnectionTriad } | undefined;
  private seq = 0;
  private waiter: { resolve: (p: EncapPacket) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private queue: Array<() => void> = [];
  private busy = false;
  private dead: Error | undefined;
  private readonly route: PathSegment[];
  private readonly timeoutMs: number;
  identity: Identity | undefined;
  /** templates by structure handle and by instance */
  private readonly byHandle = new Map<number, Template>();
  private readonly byInstance = new Map<number, Template>();
  private symbolCache: SymbolEntry[] | undefined;
  private templateError: string | undefined;
  readonly templates: TemplateSource = { byInstance: (i) => this.byInstance.get(i) };
  /** round trips made, for tests and benches */
  requests = 0;

  constructor(readonly opts: LogixOptions) {
    super();
    this.route = opts.route ?? [{ kind: 'port', port: 1, link: 0 }];
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.on('error', () => undefined);
  }

  describe(): string {
    return `ethernet-ip ${this.opts.host}:${this.opts.port ?? 44818}`;
  }

  get connectionSize(): number {
    return this.conn?.size ?? 0;
  }

  get isConnected(): boolean {
    return this.conn !== undefined;
  }

  get closed(): boolean {
    return this.dead !== undefined;
  }

  /** Largest message router reply the target sends on this path. */
  get maxReply(): number {
    return this.conn ? this.conn.size - 2 : UNCONNECTED_LIMIT;
  }

  /** Largest message router request we send on this path. */
  get maxRequest(): number {
    return this.conn ? this.conn.size - 2 : UNCONNECTED_LIMIT - (this.route.length ? 12 + this.route.length * 2 : 0);
  }

  static async connect(opts: LogixOptions): Promise<LogixClient> {
    const c = new LogixClient(opts);
    try {
      await c.open();
      return c;
    } catch (err) {
      c.destroy(err instanceof Error ? err : new Error(describeError(err)));
      throw err;
    }
  }

  private async open(): Promise<void> {
    const { host, port = 44818 } = this.opts;
    const socket = netConnect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy(new SpotFusionError('CONNECTION_LOST', `${this.describe()}: connection closed by the controller`)));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new SpotFusionError('TIMEOUT', `${this.describe()}: TCP connect timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      socket.once('close', () => {
        clearTimeout(t);
        reject(this.dead ?? new SpotFusionError('CONNECTION_LOST', `${this.describe()}: connection refused or reset`));
      });
    });
    const reg = await this.exchange(Command.RegisterSession, registerSessionData(), 0);
    this.session = reg.session;
    const idReply = await this.unconnected(identityRequest());
    if (idReply.status === 0) this.identity = decodeIdentityAttributes(idReply.data).identity;
    if (this.opts.connected !== false) await this.forwardOpen();
  }

  private async forwardOpen(): Promise<void> {
    let size = Math.max(64, Math.min(this.opts.connectionSize ?? 4002, 65_511));
    let large = size > 511;
    const rpiUs = (this.opts.rpiMs ?? 2000) * 1000;
    for (let attempt = 0; attempt < 3; attempt++) {
      const triad: ConnectionTriad = { serial: (serialCounter = (serialCounter + 1) & 0xffff), vendorId: VENDOR_ID, originatorSerial: process.pid >>> 0 };
      const toId = randomInt(1, 0x7fffffff);
      const req = forwardOpenRequest({
        large,
        otConnectionId: 0,
        toConnectionId: toId,
        ...triad,
        timeoutMultiplier: 1,
        rpiUs,
        size,
        path: [...this.route, { kind: 'class', id: 0x02 }, { kind: 'instance', id: 1 }],
      });
      const r = await this.unconnectedRaw(req);
      if (r.status === 0) {
        if (r.data.length < 8) throw new SpotFusionError('PACKET', 'Forward Open reply too short');
        this.conn = { otId: r.data.readUInt32LE(0), toId, size, triad };
        return;
      }
      if (large && r.status === 0x08) {
        large = false;
        size = Math.min(size, 504);
        continue;
      }
      if (r.status === 0x01 && r.extended[0] === 0x0109 && r.extended[1] !== undefined && r.extended[1] < size) {
        size = r.extended[1];
        large = size > 511;
        continue;
      }
      throw new CipError(r.status, r.extended, `${this.describe()}: ${large ? 'Large ' : ''}Forward Open`);
    }
    throw new SpotFusionError('CIP', `${this.describe()}: Forward Open refused`);
  }

  // ---- transport ----

  private onData(chunk: Buffer): void {
    let packets: EncapPacket[];
    try {
      packets = this.framer.push(chunk);
    } catch (err) {
      this.destroy(new SpotFusionError('PACKET', `${this.describe()}: bad packet: ${describeError(err)}`));
      return;
    }
    for (const p of packets) {
      const w = this.waiter;
      if (!w) continue; // late reply after a timeout: the client is already dead
      this.waiter = undefined;
      clearTimeout(w.timer);
      w.resolve(p);
    }
  }

  /** One request, one reply; requests are queued so that one is in flight at a time. */
  private exchange(command: number, data: Buffer, session = this.session): Promise<EncapPacket> {
    return new Promise<EncapPacket>((resolve, reject) => {
      const run = (): void => {
        if (this.dead || !this.socket) {
          this.next();
          reject(this.dead ?? new SpotFusionError('NOT_CONNECTED', `${this.describe()}: not connected`));
          return;
        }
        this.requests += 1;
        const timer = setTimeout(() => {
          this.destroy(new SpotFusionError('TIMEOUT', `${this.describe()}: no reply within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        this.waiter = {
          timer,
          resolve: (p) => {
            this.next();
            if (p.status !== 0) reject(new SpotFusionError('ENCAP', `${this.describe()}: ${describeEncapStatus(p.status)}`));
            else resolve(p);
          },
          reject: (e) => {
            this.next();
            reject(e);
          },
        };
        this.socket.write(encodeEncap({ command, session, data }));
      };
      if (this.busy) this.queue.push(run);
      else {
        this.busy = true;
        run();
      }
    });
  }

  private next(): void {
    const fn = this.queue.shift();
    if (fn) fn();
    else this.busy = false;
  }

  private async unconnectedRaw(mr: Buffer): Promise<MrReply> {
    const p = await this.exchange(Command.SendRRData, sendRRData(mr, Math.ceil(this.timeoutMs / 1000)));
    return decodeReply(unconnectedPayload(p.data));
  }

  /** Unconnected request through the route (Unconnected Send) when there is one. */
  private unconnected(mr: Buffer): Promise<MrReply> {
    return this.unconnectedRaw(this.route.length ? unconnectedSend(mr, this.route, this.timeoutMs) : mr);
  }

  /** Send a message router request on the best path: the connection when open, else unconnected. */
  async send(mr: Buffer): Promise<MrReply> {
    if (!this.conn) return this.unconnected(mr);
    this.seq = (this.seq + 1) & 0xffff;
    const p = await this.exchange(Command.SendUnitData, sendUnitData(this.conn.otId, this.seq, mr));
    const { mr: reply } = connectedPayload(p.data);
    return decodeReply(reply);
  }

  destroy(err: Error = new SpotFusionError('CLOSED', 'closed')): void {
    if (this.dead) return;
    this.dead = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    const q = this.queue;
    this.queue = [];
    for (const fn of q) fn();
    this.conn = undefined;
    this.socket?.destroy();
    this.emit('lost', err);
  }

  /** Forward Close, UnregisterSession, then close the socket (bounded by the timeout). */
  async close(): Promise<void> {
    if (this.dead) return;
    const s = this.socket;
    try {
      if (this.conn) {
        const { triad } = this.conn;
        this.conn = undefined;
        await this.unconnectedRaw(forwardCloseRequest(triad, [...this.route, { kind: 'class', id: 0x02 }, { kind: 'instance', id: 1 }]));
      }
    } catch (err) {
      this.emit('closeError', err); // the socket is closed below whatever the controller answers
    } finally {
      if (s && !s.destroyed && !this.dead) s.write(encodeEncap({ command: Command.UnregisterSession, session: this.session }));
      this.dead = new SpotFusionError('CLOSED', `${this.describe()}: closed`);
      s?.end();
      s?.destroy();
    }
  }

  // ---- reads ----

  private static replyEstimate(spec: ReadSpec): number {
    return 4 + 4 + spec.estimate;
  }

  /** Read many tags: packed into Multiple Service Packets that fit the connection, big ones fragmented. */
  async readMany(specs: readonly ReadSpec[]): Promise<ReadOutcome[]> {
    const out: ReadOutcome[] = new Array<ReadOutcome>(specs.length);
    const reqs = specs.map((s) => s.request ?? readTagRequest(s.path, s.elements));
    const big: number[] = [];
    const batches: number[][] = [];
    let cur: number[] = [];
    let reqBytes = 0;
    let repBytes = 0;
    const maxReq = this.maxRequest;
    const maxRep = this.maxReply;
    specs.forEach((s, k) => {
      const rep = LogixClient.replyEstimate(s);
      if (rep > maxRep - 8 || reqs[k].length > maxReq - 8) {
        big.push(k);
        return;
      }
      const addReq = reqs[k].length + 2;
      const addRep = rep + 2;
      if (cur.length && (multipleOverhead(cur.length + 1) + reqBytes + addReq > maxReq || 8 + 2 * (cur.length + 1) + repBytes + addRep > maxRep)) {
        batches.push(cur);
        cur = [];
        reqBytes = 0;
        repBytes = 0;
      }
      cur.push(k);
      reqBytes += reqs[k].length;
      repBytes += rep;
    });
    if (cur.length) batches.push(cur);
    for (const b of batches) await this.readBatch(specs, reqs, b, out);
    for (const k of big) out[k] = await this.readFragmented(specs[k]);
    return out;
  }

  private async readBatch(specs: readonly ReadSpec[], reqs: Buffer[], idx: number[], out: ReadOutcome[]): Promise<void> {
    if (idx.length === 1) {
      const k = idx[0];
      const r = await this.send(reqs[k]);
      out[k] = await this.finishRead(specs[k], r);
      return;
    }
    const r = await this.send(multipleServiceRequest(idx.map((k) => reqs[k])));
    if (r.status === 0x11 || (r.status !== 0 && r.status !== 0x1e && r.data.length === 0)) {
      if (r.status !== 0x11) {
        const err = new CipError(r.status, r.extended, 'Multiple Service Packet').message;
        for (const k of idx) out[k] = { ok: false, error: err };
        return;
      }
      const half = Math.ceil(idx.length / 2);
      await this.readBatch(specs, reqs, idx.slice(0, half), out);
      await this.readBatch(specs, reqs, idx.slice(half), out);
      return;
    }
    const parts = decodeMultiple(r.data);
    if (parts.length !== idx.length) throw new SpotFusionError('PACKET', `Multiple Service Packet: ${parts.length} replies for ${idx.length} requests`);
    for (let j = 0; j < idx.length; j++) out[idx[j]] = await this.finishRead(specs[idx[j]], decodeReply(parts[j]));
  }

  private async finishRead(spec: ReadSpec, r: MrReply): Promise<ReadOutcome> {
    if (r.status === 0) return { ok: true, typed: decodeTypedData(r.data) };
    if (r.status === 0x06) {
      const first = decodeTypedData(r.data);
      return this.readFragmented(spec, first);
    }
    return { ok: false, error: new CipError(r.status, r.extended).message };
  }

  private async readFragmented(spec: ReadSpec, first?: TypedData): Promise<ReadOutcome> {
    const chunks: Buffer[] = [];
    let typed = first;
    let offset = 0;
    if (first) {
      chunks.push(Buffer.from(first.data));
      offset = first.data.length;
    }
    for (let guard = 0; guard < 10_000; guard++) {
      const r = await this.send(readTagFragmentedRequest(spec.path, spec.elements, offset));
      if (r.status !== 0 && r.status !== 0x06) return { ok: false, error: new CipError(r.status, r.extended).message };
      const t = decodeTypedData(r.data);
      typed ??= t;
      chunks.push(Buffer.from(t.data));
      offset += t.data.length;
      if (r.status === 0) break;
      if (t.data.length === 0) return { ok: false, error: 'fragmented read made no progress' };
    }
    const done: TypedData = { code: typed?.code ?? 0, data: Buffer.concat(chunks) };
    if (typed?.handle !== undefined) done.handle = typed.handle;
    return { ok: true, typed: done };
  }

  // ---- writes ----

  /** Write many tags in packed Multiple Service Packets; returns an error text or undefined per write. */
  async writeMany(specs: readonly WriteSpec[]): Promise<Array<string | undefined>> {
    const out: Array<string | undefined> = new Array<string | undefined>(specs.length);
    const reqs: Array<Buffer | undefined> = specs.map((s) => {
      if (s.bit !== undefined) {
        const size = s.bit < 32 ? 4 : 8;
        const bitMask = 1n << BigInt(s.bit);
        const all = (1n << BigInt(size * 8)) - 1n;
        const on = s.data.readUInt8(0) !== 0;
        return readModifyWriteRequest(s.path, size, on ? bitMask : 0n, on ? all : all ^ bitMask);
      }
      const r = writeTagRequest(s.path, s.code, s.handle, s.elements, s.data);
      return r.length > this.maxRequest - 8 ? undefined : r;
    });
    const batches: number[][] = [];
    let cur: number[] = [];
    let bytes = 0;
    reqs.forEach((r, k) => {
      if (!r) return;
      if (cur.length && multipleOverhead(cur.length + 1) + bytes + r.length + 2 > this.maxRequest) {
        batches.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(k);
      bytes += r.length;
    });
    if (cur.length) batches.push(cur);
    for (const b of batches) {
      if (b.length === 1) {
        const r = await this.send(reqs[b[0]] as Buffer);
        out[b[0]] = r.status === 0 ? undefined : new CipError(r.status, r.extended).message;
        continue;
      }
      const r = await this.send(multipleServiceRequest(b.map((k) => reqs[k] as Buffer)));
      if (r.status !== 0 && r.status !== 0x1e) {
        for (const k of b) out[k] = new CipError(r.status, r.extended, 'Multiple Service Packet').message;
        continue;
      }
      const parts = decodeMultiple(r.data);
      b.forEach((k, j) => {
        const one = parts[j] ? decodeReply(parts[j]) : undefined;
        out[k] = one && one.status === 0 ? undefined : one ? new CipError(one.status, one.extended).message : 'no reply';
      });
    }
    for (let k = 0; k < specs.length; k++) {
      if (reqs[k]) continue;
      out[k] = await this.writeFragmented(specs[k]);
    }
    return out;
  }

  private async writeFragmented(s: WriteSpec): Promise<string | undefined> {
    const room = Math.floor((this.maxRequest - 60) / 8) * 8;
    for (let off = 0; off < s.data.length; off += room) {
      const r = await this.send(writeTagFragmentedRequest(s.path, s.code, s.handle, s.elements, off, s.data.subarray(off, off + room)));
      if (r.status !== 0) return new CipError(r.status, r.extended).message;
    }
    return undefined;
  }

  // ---- tag list and templates ----

  /**
   * The controller's tag list (Get Instance Attribute List on the symbol class), cached per client; with
   * `program` ("Program:Main") that program's tags instead (not cached).
   */
  async tagList(program?: string): Promise<SymbolEntry[]> {
    if (program === undefined && this.symbolCache) return this.symbolCache;
    const all: SymbolEntry[] = [];
    let start = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      const r = await this.send(tagListRequest(start, program));
      if (r.status !== 0 && r.status !== 0x06) throw new CipError(r.status, r.extended, `tag list (0x55)${program === undefined ? '' : ` of ${program}`}`);
      const entries = decodeSymbolEntries(r.data);
      all.push(...entries);
      if (r.status === 0 || entries.length === 0) break;
      start = entries[entries.length - 1].instance + 1;
    }
    if (program === undefined) this.symbolCache = all;
    return all;
  }

  async readTemplate(instance: number): Promise<Template> {
    const known = this.byInstance.get(instance);
    if (known) return known;
    const a = await this.send(templateAttributesRequest(instance));
    if (a.status !== 0) throw new CipError(a.status, a.extended, `template ${instance} attributes`);
    const attrs = decodeTemplateAttributes(a.data);
    const total = attrs.definitionWords * 4 - 23;
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset < total) {
      const r = await this.send(readTemplateRequest(instance, offset, total - offset));
      if (r.status !== 0 && r.status !== 0x06) throw new CipError(r.status, r.extended, `template ${instance}`);
      chunks.push(Buffer.from(r.data));
      offset += r.data.length;
      if (r.status === 0 || r.data.length === 0) break;
    }
    const t = decodeTemplateDefinition(Buffer.concat(chunks), attrs.memberCount, instance, attrs.handle, attrs.structureSize);
    this.byInstance.set(instance, t);
    this.byHandle.set(t.handle, t);
    for (const m of t.members) if (m.type & MEMBER_STRUCT) await this.readTemplate(m.type & 0x0fff);
    return t;
  }

  /** The template of a structure handle; loads every UDT the tag list names on first need. */
  async templateByHandle(handle: number): Promise<Template | undefined> {
    const t = this.byHandle.get(handle);
    if (t) return t;
    const memory = this.opts.memory;
    const known = this.templateError ?? memory?.templateError;
    if (known) throw new SpotFusionError('TEMPLATE', known);
    try {
      const symbols = await this.tagList();
      const ids = new Set(symbols.filter((s) => s.type & 0x8000).map((s) => s.type & 0x0fff));
      for (const id of ids) {
        if (this.byHandle.size > 0 && this.byHandle.has(handle)) break;
        await this.readTemplate(id);
      }
    } catch (err) {
      if (this.dead) {
        if (memory) {
          memory.templateDrops = (memory.templateDrops ?? 0) + 1;
          if (memory.templateDrops >= TEMPLATE_DROPS) {
            memory.templateError =
              `UDT templates unavailable: the controller ended the session ${memory.templateDrops} times in a row while its tag list ` +
              `and templates were read (${describeError(err)}); UDT tags stay unreadable until the PLC config is redeployed`;
          }
        }
        throw err;
      }
      this.templateError = `UDT templates unavailable: ${describeError(err)}`;
      throw new SpotFusionError('TEMPLATE', this.templateError);
    }
    if (memory) memory.templateDrops = 0;
    return this.byHandle.get(handle);
  }

  static isStringHandle(handle: number | undefined): boolean {
    return handle === STRING_HANDLE;
  }
}

export { STRUCT_TYPE, Service };

/** ListIdentity by unicast UDP to one address (never broadcast). */
export async function listIdentity(host: string, port = 44818, timeoutMs = 1000): Promise<Identity[]> {
  if (host === '255.255.255.255' || host.endsWith('.255')) throw new SpotFusionError('CONFIG', 'listIdentity is unicast only');
  const sock = createSocket('udp4');
  const found: Identity[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, timeoutMs);
      sock.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      sock.on('message', (msg) => {
        try {
          const f = new EncapFramer();
          for (const p of f.push(msg)) if (p.command === Command.ListIdentity) found.push(...decodeListIdentityReply(p.data));
          clearTimeout(t);
          resolve();
        } catch (err) {
          clearTimeout(t);
          reject(err instanceof Error ? err : new Error(describeError(err)));
        }
      });
      sock.send(encodeEncap({ command: Command.ListIdentity }), port, host);
    });
  } finally {
    sock.close();
  }
  return found;
}
