/**
 * A Logix EtherNet/IP tag server on loopback for tests, benches and the demo: encapsulation sessions,
 * ListIdentity over TCP and over unicast UDP on the device's port (the TCP port's number), ListInterfaces
 * (empty), Identity Get Attributes All / Get Attribute Single, the wall clock object (0x8B attribute 5 get/set),
 * program-scope tags ("Program:Main.Step", program tag lists), Forward Open / Large Forward Open /
 * Forward Close, unconnected (SendRRData, with or without Unconnected Send) and connected (SendUnitData)
 * messaging, Read/Write Tag and their fragmented forms, Read-Modify-Write, Multiple Service Packet, the tag
 * list (0x55) and templates (class 0x6C). Fault switches: drop all sessions, refuse connects, slow replies.
 */
import { createServer, Server, Socket, AddressInfo } from 'node:net';
import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import {
  ClassId,
  Command,
  EncapFramer,
  EncapPacket,
  ForwardOpenParams,
  Identity,
  Item,
  MrRequest,
  PacketError,
  STRUCT_TYPE,
  Service,
  connectedPayload,
  decodeForwardClose,
  decodeForwardOpenRequest,
  decodeMultiple,
  decodePath,
  decodeReadModifyWrite,
  decodeRequest,
  decodeUnconnectedSend,
  decodeWriteBody,
  encodeCpf,
  encodeEncap,
  encodeForwardOpenReply,
  encodeIdentityAttributes,
  encodeListIdentityReply,
  encodeMultiple,
  encodeReply,
  encodeTemplateAttributes,
  encodeTemplateDefinition,
  encodeTriadReply,
  encodeTypeField,
  templateDefinitionWords,
  unconnectedPayload,
} from '../cip';
import { CipStatus, SimSymbol, SimTagDef, SimUdtDef, TagDatabase } from './tag-db';

/** Largest message router reply on an unconnected (UCMM) request. */
export const UNCONNECTED_REPLY_MAX = 504;

export interface LogixSimOptions {
  host?: string;
  /** 0 = any free port */
  port?: number;
  udts?: SimUdtDef[];
  tags?: SimTagDef[];
  identity?: Partial<Identity>;
  /** largest connection size accepted by Large Forward Open (default 4002) */
  maxConnectionSize?: number;
  maxConnections?: number;
  /** answer ListIdentity on a unicast UDP socket on `host` and the TCP port's number too (default true) */
  udp?: boolean;
}

interface CipConnection {
  otId: number;
  toId: number;
  serial: number;
  vendorId: number;
  originatorSerial: number;
  size: number;
  socket: Socket;
}

export interface SimStats {
  packets: number;
  services: number;
  tagReads: number;
  tagWrites: number;
  multiPackets: number;
  forwardOpens: number;
  refused: number;
  tagLists: number;
}

export class LogixSimulator extends EventEmitter {
  readonly db = new TagDatabase();
  readonly identity: Identity;
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Map<Socket, number>();
  private readonly connections = new Map<number, CipConnection>();
  private refuseUntil = 0;
  /** decoded request paths by their bytes: a controller resolves the same tags cycle after cycle */
  private readonly pathCache = new Map<string, ReturnType<typeof decodePath>>();
  private delayMs = 0;
  /** fault switch: a tag-list request (0x55) ends the TCP session instead of being answered */
  private dropOnTagList = false;
  /** set while handling a request that must end its session */
  private dropNow = false;
  /** wall clock: simulator time minus host time, ms */
  private clockOffsetMs = 0;
  private readonly host: string;
  private readonly wantPort: number;
  private readonly maxSize: number;
  private readonly maxConnections: number;
  private readonly wantUdp: boolean;
  port = 0;
  udpPort = 0;
  readonly stats: SimStats = { packets: 0, services: 0, tagReads: 0, tagWrites: 0, multiPackets: 0, forwardOpens: 0, refused: 0, tagLists: 0 };

  constructor(opts: LogixSimOptions = {}) {
    super();
    this.host = opts.host ?? '127.0.0.1';
    this.wantPort = opts.port ?? 0;
    this.maxSize = opts.maxConnectionSize ?? 4002;
    this.maxConnections = opts.maxConnections ?? 32;
    this.wantUdp = opts.udp ?? true;
    this.identity = {
      vendorId: 1,
      deviceType: 0x0e,
      productCode: 0x0096,
      revision: { major: 33, minor: 11 },
      status: 0x3060,
      serial: 0x00c0ffee,
      productName: '1756-L83E/B SpotFusion Sim',
      state: 3,
      ...opts.identity,
    };
    for (const u of opts.udts ?? []) this.db.defineUdt(u);
    for (const t of opts.tags ?? []) this.db.addTag(t);
    this.on('error', () => undefined);
  }

  async start(): Promise<this> {
    const server = createServer((s) => this.accept(s));
    server.on('error', (err) => this.emit('error', err));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.wantPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    if (this.wantUdp) {
      const udp = createSocket('udp4');
      udp.on('error', (err) => this.emit('error', err));
      udp.on('message', (msg, rinfo) => this.onUdp(msg, rinfo.address, rinfo.port));
      // the device's port: a ListIdentity to UDP <port> finds it as it finds a controller on 44818
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(this.port, this.host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        udp.close();
        await this.stop();
        throw err;
      }
      this.udp = udp;
      this.udpPort = udp.address().port;
    }
    return this;
  }

  async stop(): Promise<void> {
    this.dropAllSessions();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    const u = this.udp;
    this.udp = undefined;
    if (u) await new Promise<void>((resolve) => u.close(() => resolve()));
  }

  // ---- fault switches ----

  /** Cut every TCP session at once (cable pull, controller reset). */
  dropAllSessions(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.sessions.clear();
    this.connections.clear();
  }

  /** Reset every new TCP connection for `ms` (controller rebooting / program download). */
  refuseConnects(ms: number): void {
    this.refuseUntil = Date.now() + ms;
  }

  /**
   * Cut the TCP session whenever a tag list (Get Instance Attribute List on the symbol class) is asked for, as
   * some controllers and gateways do (false switches it off). Tag-list requests so far: stats.tagLists.
   */
  dropSessionOnTagList(on: boolean): void {
    this.dropOnTagList = on;
  }

  /** Delay every reply by `ms` (0 switches it off). */
  slowReplies(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  // ---- transport ----

  private accept(socket: Socket): void {
    if (Date.now() < this.refuseUntil) {
      this.stats.refused += 1;
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new EncapFramer();
    let chain: Promise<void> = Promise.resolve();
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.sessions.delete(socket);
      for (const [id, c] of this.connections) if (c.socket === socket) this.connections.delete(id);
    });
    socket.on('data', (chunk: Buffer) => {
      let packets: EncapPacket[];
      try {
        packets = framer.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      if (framer.buffered > 65_535 + 24) {
        socket.destroy();
        return;
      }
      for (const p of packets) {
        this.stats.packets += 1;
        const reply = this.handle(socket, p);
        if (this.dropNow) {
          this.dropNow = false;
          socket.destroy();
          return;
        }
        if (reply === undefined) continue;
        const delay = this.delayMs;
        chain = chain.then(async () => {
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
          if (!socket.destroyed) socket.write(reply);
        });
      }
    });
  }

  private onUdp(msg: Buffer, address: string, port: number): void {
    try {
      const framer = new EncapFramer();
      for (const p of framer.push(msg)) {
        if (p.command !== Command.ListIdentity) continue;
        const reply = encodeEncap({ command: Command.ListIdentity, context: p.context, data: encodeListIdentityReply(this.identity, this.host, this.port) });
        this.udp?.send(reply, port, address);
      }
    } catch (err) {
      this.emit('error', err);
    }
  }

  private handle(socket: Socket, p: EncapPacket): Buffer | undefined {
    const reply = (data: Buffer, status = 0): Buffer => encodeEncap({ command: p.command, session: p.session, status, context: p.context, data });
    switch (p.command) {
      case Command.RegisterSession: {
        if (p.data.length < 4 || p.data.readUInt16LE(0) !== 1) return reply(p.data, 0x69);
        if (this.sessions.has(socket)) return reply(p.data, 0x01);
        const handle = randomInt(1, 0x7fffffff);
        this.sessions.set(socket, handle);
        return encodeEncap({ command: p.command, session: handle, context: p.context, data: p.data });
      }
      case Command.UnregisterSession:
        this.sessions.delete(socket);
        socket.end();
        return undefined;
      case Command.ListIdentity:
        return reply(encodeListIdentityReply(this.identity, this.host, this.port));
      case Command.ListServices: {
        const item = Buffer.alloc(20);
        item.writeUInt16LE(1, 0);
        item.writeUInt16LE(0x0120, 2);
        item.write('Communications', 4, 'latin1');
        return reply(encodeCpf([{ type: Item.ListServices, data: item }]));
      }
      case Command.ListInterfaces:
        // a Logix controller has no non-CIP interfaces to list: an empty item list
        return reply(encodeCpf([]));
      case Command.NOP:
        return undefined;
      case Command.SendRRData:
      case Command.SendUnitData: {
        if (this.sessions.get(socket) !== p.session) return reply(Buffer.alloc(0), 0x64);
        try {
          return p.command === Command.SendRRData ? reply(this.unconnected(socket, p.data)) : reply(this.connected(p.data));
        } catch (err) {
          if (err instanceof PacketError) return reply(Buffer.alloc(0), 0x03);
          throw err;
        }
      }
      default:
        return reply(Buffer.alloc(0), 0x01);
    }
  }

  private unconnected(socket: Socket, data: Buffer): Buffer {
    const mr = unconnectedPayload(data);
    const out = this.routeUnconnected(socket, mr);
    const head = Buffer.alloc(6);
    return Buffer.concat([head, encodeCpf([{ type: Item.Null, data: Buffer.alloc(0) }, { type: Item.UnconnectedData, data: out }])]);
  }

  private connected(data: Buffer): Buffer {
    const { connectionId, sequence, mr } = connectedPayload(data);
    const conn = this.connections.get(connectionId);
    let out: Buffer;
    let toId = 0;
    if (!conn) {
      out = encodeReply(mr.length ? mr.readUInt8(0) : 0, 0x01, Buffer.alloc(0), [0x0107]);
    } else {
      toId = conn.toId;
      out = this.service(mr, conn.size - 2);
    }
    const addr = Buffer.alloc(4);
    addr.writeUInt32LE(toId >>> 0, 0);
    const seq = Buffer.alloc(2);
    seq.writeUInt16LE(sequence, 0);
    return Buffer.concat([Buffer.alloc(6), encodeCpf([{ type: Item.ConnectedAddress, data: addr }, { type: Item.ConnectedData, data: Buffer.concat([seq, out]) }])]);
  }

  /** Connection manager services and Unconnected Send unwrap; anything else goes to the message router. */
  private routeUnconnected(socket: Socket, mr: Buffer): Buffer {
    let req: MrRequest;
    try {
      req = decodeRequest(mr);
    } catch {
      return encodeReply(0, 0x13);
    }
    const path = safePath(req.path);
    const toCm = path?.[0]?.kind === 'class' && path[0].id === ClassId.ConnectionManager;
    if (toCm) {
      try {
        if (req.service === Service.UnconnectedSend) {
          const { request } = decodeUnconnectedSend(req.data);
          return this.routeUnconnected(socket, request);
        }
        if (req.service === Service.ForwardOpen || req.service === Service.LargeForwardOpen) {
          return this.forwardOpen(socket, req.service, decodeForwardOpenRequest(req.data, req.service === Service.LargeForwardOpen));
        }
        if (req.service === Service.ForwardClose) {
          const triad = decodeForwardClose(req.data);
          for (const [id, c] of this.connections) {
            if (c.serial === triad.serial && c.vendorId === triad.vendorId && c.originatorSerial === triad.originatorSerial) {
              this.connections.delete(id);
              return encodeReply(req.service, 0, Buffer.concat([encodeTriadReply(triad), Buffer.from([0, 0])]));
            }
          }
          return encodeReply(req.service, 0x01, Buffer.concat([encodeTriadReply(triad), Buffer.from([0, 0])]), [0x0107]);
        }
      } catch (err) {
        if (err instanceof PacketError) return encodeReply(req.service, 0x13);
        throw err;
      }
      return encodeReply(req.service, 0x08);
    }
    return this.service(mr, UNCONNECTED_REPLY_MAX);
  }

  private forwardOpen(socket: Socket, service: number, p: ForwardOpenParams): Buffer {
    this.stats.forwardOpens += 1;
    const triad = Buffer.alloc(8);
    triad.writeUInt16LE(p.serial, 0);
    triad.writeUInt16LE(p.vendorId, 2);
    triad.writeUInt32LE(p.originatorSerial >>> 0, 4);
    const fail = (ext: number, extra: number[] = []): Buffer => encodeReply(service, 0x01, Buffer.concat([triad, Buffer.from([0, 0])]), [ext, ...extra]);
    for (const c of this.connections.values()) {
      if (c.serial === p.serial && c.vendorId === p.vendorId && c.originatorSerial === p.originatorSerial) return fail(0x0100);
    }
    if (this.connections.size >= this.maxConnections) return fail(0x0113);
    const max = p.large ? this.maxSize : Math.min(this.maxSize, 511);
    if (p.size < 32 || p.size > max) return fail(0x0109, [max]);
    const mrTarget = p.path.some((s) => s.kind === 'class' && s.id === ClassId.MessageRouter);
    if (!mrTarget) return fail(0x0315);
    let otId = randomInt(1, 0x7fffffff);
    while (this.connections.has(otId)) otId = randomInt(1, 0x7fffffff);
    this.connections.set(otId, { otId, toId: p.toConnectionId, serial: p.serial, vendorId: p.vendorId, originatorSerial: p.originatorSerial, size: p.size, socket });
    const body = Buffer.concat([
      encodeForwardOpenReply({ otConnectionId: otId, toConnectionId: p.toConnectionId, serial: p.serial, vendorId: p.vendorId, originatorSerial: p.originatorSerial, otApiUs: p.rpiUs, toApiUs: p.rpiUs }),
      Buffer.from([0, 0]),
    ]);
    return encodeReply(service, 0, body);
  }

  /** One message router request (possibly a Multiple Service Packet) with a reply size limit. */
  private service(mr: Buffer, maxReply: number): Buffer {
    let req: MrRequest;
    try {
      req = decodeRequest(mr);
    } catch {
      return encodeReply(mr.length ? mr.readUInt8(0) : 0, 0x13);
    }
    if (req.service === Service.MultipleServicePacket) {
      this.stats.multiPackets += 1;
      let parts: Buffer[];
      try {
        parts = decodeMultiple(req.data);
      } catch {
        return encodeReply(req.service, 0x13);
      }
      const replies = parts.map((p) => this.single(p, maxReply));
      const out = encodeReply(req.service, replies.some((r) => r.readUInt8(2) !== 0 && r.readUInt8(2) !== 0x06) ? 0x1e : 0, encodeMultiple(replies));
      if (out.length > maxReply) return encodeReply(req.service, 0x11);
      return out;
    }
    return this.single(mr, maxReply);
  }

  private single(mr: Buffer, maxReply: number): Buffer {
    this.stats.services += 1;
    let req: MrRequest;
    try {
      req = decodeRequest(mr);
    } catch {
      return encodeReply(mr.length ? mr.readUInt8(0) : 0, 0x13);
    }
    try {
      const key = req.path.toString('latin1');
      let path = this.pathCache.get(key);
      if (!path) {
        path = decodePath(req.path);
        if (this.pathCache.size > 50_000) this.pathCache.clear();
        this.pathCache.set(key, path);
      }
      const first = path[0];
      if (first?.kind === 'class') return this.classService(req.service, path, req.data, maxReply);
      if (first?.kind === 'symbol' && path[1]?.kind === 'class' && /^program:/i.test(first.name)) {
        // a program's own symbol class: "Program:Main" then class 0x6B (its tag list)
        if (path[1].id !== ClassId.Symbol || req.service !== Service.GetInstanceAttributeList) return encodeReply(req.service, 0x08);
        const entries = this.db.symbols(first.name);
        if (!entries) return encodeReply(req.service, 0x05, Buffer.alloc(0), [0]);
        return this.tagList(req.service, entries, path, req.data, maxReply);
      }
      switch (req.service) {
        case Service.ReadTag: {
          this.stats.tagReads += 1;
          const r = this.db.resolve(path);
          const n = req.data.length >= 2 ? req.data.readUInt16LE(0) : 1;
          const bytes = this.db.readBytes(r, n);
          const type = encodeTypeField(r.elem.code, r.elem.template?.handle);
          const room = maxReply - 4 - type.length;
          if (bytes.length > room) {
            const fit = Math.floor(room / r.elem.size) * r.elem.size;
            return encodeReply(req.service, 0x06, Buffer.concat([type, bytes.subarray(0, fit)]));
          }
          return encodeReply(req.service, 0, Buffer.concat([type, bytes]));
        }
        case Service.ReadTagFragmented: {
          this.stats.tagReads += 1;
          if (req.data.length < 6) throw new CipStatus(0x13);
          const r = this.db.resolve(path);
          const n = req.data.readUInt16LE(0);
          const offset = req.data.readUInt32LE(2);
          const bytes = this.db.readBytes(r, n);
          if (offset > bytes.length) throw new CipStatus(0xff, [0x2104]);
          const type = encodeTypeField(r.elem.code, r.elem.template?.handle);
          const room = Math.floor((maxReply - 4 - type.length) / 4) * 4;
          const chunk = bytes.subarray(offset, offset + room);
          return encodeReply(req.service, offset + chunk.length < bytes.length ? 0x06 : 0, Buffer.concat([type, chunk]));
        }
        case Service.WriteTag:
        case Service.WriteTagFragmented: {
          this.stats.tagWrites += 1;
          const frag = req.service === Service.WriteTagFragmented;
          const body = decodeWriteBody(req.data, frag);
          const r = this.db.resolve(path);
          this.db.writeBytes(r, body.code, body.handle, body.elements, body.offset, body.data, frag);
          return encodeReply(req.service, 0);
        }
        case Service.ReadModifyWrite: {
          this.stats.tagWrites += 1;
          const m = decodeReadModifyWrite(req.data);
          this.db.readModifyWrite(this.db.resolve(path), m.or, m.and);
          return encodeReply(req.service, 0);
        }
        default:
          return encodeReply(req.service, 0x08);
      }
    } catch (err) {
      if (err instanceof CipStatus) return encodeReply(req.service, err.general, Buffer.alloc(0), err.extended);
      if (err instanceof PacketError) return encodeReply(req.service, 0x04, Buffer.alloc(0), [0]);
      return encodeReply(req.service, 0x1e, Buffer.alloc(0), []);
    }
  }

  private classService(service: number, path: ReturnType<typeof decodePath>, data: Buffer, maxReply: number): Buffer {
    const classId = (path[0] as { id: number }).id;
    const instance = path[1]?.kind === 'instance' ? path[1].id : 0;
    const attribute = path[2]?.kind === 'attribute' ? path[2].id : undefined;
    if (classId === ClassId.Identity) return this.identityService(service, instance, attribute);
    if (classId === ClassId.WallClock) return this.wallClockService(service, instance, attribute, data);
    if (classId === ClassId.Symbol && service === Service.GetInstanceAttributeList) {
      return this.tagList(service, this.db.symbols() ?? [], path, data, maxReply);
    }
    if (classId === ClassId.Template) {
      const t = this.db.templates.get(instance);
      if (!t) return encodeReply(service, 0x05, Buffer.alloc(0), [0]);
      const def = encodeTemplateDefinition(t);
      if (service === Service.GetAttributeList) {
        return encodeReply(service, 0, encodeTemplateAttributes({ definitionWords: templateDefinitionWords(def.length), structureSize: t.size, memberCount: t.members.length, handle: t.handle }));
      }
      if (service === Service.ReadTemplate) {
        if (data.length < 6) return encodeReply(service, 0x13);
        const offset = data.readUInt32LE(0);
        const want = data.readUInt16LE(4);
        const room = Math.floor((maxReply - 4) / 4) * 4;
        const chunk = def.subarray(offset, offset + Math.min(want, room));
        return encodeReply(service, offset + chunk.length < def.length && chunk.length < want ? 0x06 : 0, chunk);
      }
      return encodeReply(service, 0x08);
    }
    return encodeReply(service, classId === ClassId.Symbol ? 0x08 : 0x05, Buffer.alloc(0), classId === ClassId.Symbol ? [] : [0]);
  }

  /**
   * Get Instance Attribute List (0x55) on a symbol class: from the instance in the path on, each entry is its
   * instance (UDINT) then exactly the attributes asked for, in the order asked: 1 name (UINT length + chars),
   * 2 type (UINT), 3 and 5 addresses (UDINT, 0 here), 6 software control (UDINT), 7 element size (UINT),
   * 8 dimensions (3 × UDINT). An unknown attribute: status 0x14 (attribute not supported).
   */
  private tagList(service: number, all: readonly SimSymbol[], path: ReturnType<typeof decodePath>, data: Buffer, maxReply: number): Buffer {
    this.stats.tagLists += 1;
    if (this.dropOnTagList) {
      this.dropNow = true;
      return Buffer.alloc(0);
    }
    const at = path.findIndex((s) => s.kind === 'class');
    const start = path[at + 1]?.kind === 'instance' ? (path[at + 1] as { id: number }).id : 0;
    if (data.length < 2) return encodeReply(service, 0x13);
    const count = data.readUInt16LE(0);
    if (data.length < 2 + count * 2) return encodeReply(service, 0x13);
    const attrs = Array.from({ length: count }, (_, k) => data.readUInt16LE(2 + k * 2));
    if (attrs.some((a) => !SYMBOL_ATTRIBUTES.has(a))) return encodeReply(service, 0x14);
    const out: Buffer[] = [];
    let size = 4;
    const entries = all.filter((e) => e.instance >= start);
    let k = 0;
    for (; k < entries.length; k++) {
      const b = encodeSymbolAttributes(entries[k], attrs);
      if (size + b.length > maxReply) break;
      out.push(b);
      size += b.length;
    }
    return encodeReply(service, k < entries.length ? 0x06 : 0, Buffer.concat(out));
  }

  /** Identity object (class 1) instance 1: Get Attributes All and Get Attribute Single of attributes 1-8. */
  private identityService(service: number, instance: number, attribute: number | undefined): Buffer {
    if (service !== Service.GetAttributesAll && service !== Service.GetAttributeSingle) return encodeReply(service, 0x08);
    if (instance !== 1) return encodeReply(service, 0x16);
    const all = encodeIdentityAttributes(this.identity);
    if (service === Service.GetAttributesAll) return encodeReply(service, 0, all);
    const state = Buffer.from([this.identity.state ?? 3]);
    const pieces: Record<number, Buffer> = { 1: all.subarray(0, 2), 2: all.subarray(2, 4), 3: all.subarray(4, 6), 4: all.subarray(6, 8), 5: all.subarray(8, 10), 6: all.subarray(10, 14), 7: all.subarray(14), 8: state };
    const piece = attribute === undefined ? undefined : pieces[attribute];
    return piece ? encodeReply(service, 0, piece) : encodeReply(service, 0x14);
  }

  /**
   * Wall clock object (class 0x8B) instance 1, attribute 5 local time: 7 × DINT year, month (1-12), day, hour,
   * minute, second, microsecond, in the simulator's local time; Get/Set Attribute Single. Setting it moves this
   * simulator's clock only (an offset from the host clock).
   */
  private wallClockService(service: number, instance: number, attribute: number | undefined, data: Buffer): Buffer {
    if (service !== Service.GetAttributeSingle && service !== Service.SetAttributeSingle) return encodeReply(service, 0x08);
    if (instance !== 1) return encodeReply(service, 0x16);
    if (attribute !== 5) return encodeReply(service, 0x14);
    if (service === Service.GetAttributeSingle) {
      const now = new Date(Date.now() + this.clockOffsetMs);
      const parts = [now.getFullYear(), now.getMonth() + 1, now.getDate(), now.getHours(), now.getMinutes(), now.getSeconds(), now.getMilliseconds() * 1000];
      const b = Buffer.alloc(28);
      parts.forEach((v, k) => b.writeInt32LE(v, k * 4));
      return encodeReply(service, 0, b);
    }
    if (data.length < 28) return encodeReply(service, 0x13);
    if (data.length > 28) return encodeReply(service, 0x15);
    const [y, mo, d, h, mi, s, us] = Array.from({ length: 7 }, (_, k) => data.readInt32LE(k * 4));
    const valid = mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 60 && us >= 0 && us < 1_000_000 && y >= 1970;
    if (!valid) return encodeReply(service, 0x09); // invalid attribute value
    this.clockOffsetMs = new Date(y, mo - 1, d, h, mi, s, Math.floor(us / 1000)).getTime() - Date.now();
    return encodeReply(service, 0);
  }
}

const SYMBOL_ATTRIBUTES: ReadonlySet<number> = new Set([1, 2, 3, 5, 6, 7, 8]);

function encodeSymbolAttributes(e: SimSymbol, attrs: readonly number[]): Buffer {
  const parts: Buffer[] = [u32(e.instance)];
  for (const a of attrs) {
    if (a === 1) {
      const name = Buffer.from(e.name, 'latin1');
      parts.push(u16(name.length), name);
    } else if (a === 2) parts.push(u16(e.type));
    else if (a === 7) parts.push(u16(e.size));
    else if (a === 8) parts.push(u32(e.dims[0]), u32(e.dims[1]), u32(e.dims[2]));
    else parts.push(u32(0));
  }
  return Buffer.concat(parts);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v, 0);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function safePath(b: Buffer): ReturnType<typeof decodePath> | undefined {
  try {
    return decodePath(b);
  } catch {
    return undefined;
  }
}

export { STRUCT_TYPE };
