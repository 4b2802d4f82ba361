/**
 * A GigE Vision camera: unicast discovery, control privilege with heartbeat, GenICam XML from the first-URL
 * register (plain or zipped), the GenICam node map, standard features with fallbacks, stream channel set-up and
 * the GVSP receiver. grab() gets one frame (software trigger or free run); 'lost' is emitted when the camera
 * stops answering or control is gone.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { unzipSync } from 'fflate';
import { SpotFusionError, describeError } from '../../errors';
import { FeatureValue, NodeMap, Port } from '../genicam/nodemap';
import { GvcpClient } from './gvcp';
import { emptyGvspStats, GvspFrame, GvspStats, IncompleteInfo } from './gvsp';
import { GvspThreadReceiver } from './gvsp-thread';
import { JUMBO_PACKET_SIZE, linkMtu, MIN_PACKET_SIZE, probePacketSize, STANDARD_PACKET_SIZE } from './packet-size';
import { CAP_PACKET_RESEND, CCP_CONTROL, DeviceInfo, GvcpStatusError, ipToNumber, Reg } from './protocol';

/**
 * software: grab() fires TriggerSoftware and takes that frame; freerun: the camera streams, grab() takes the next
 * complete frame; hardware: the camera's own trigger (TriggerSource, e.g. an input line) starts each frame, and
 * every complete frame is emitted as 'frame' (its buffer then belongs to the listener).
 */
export type TriggerMode = 'software' | 'freerun' | 'hardware';

export interface GigeCameraOptions {
  host: string;
  port?: number;
  /** GVCP ack timeout and retries */
  timeoutMs?: number;
  retries?: number;
  /** heartbeat timeout to set on the camera (ms); default: keep the camera's */
  heartbeatTimeoutMs?: number;
  /**
   * GVSP packet size (IP+UDP+GVSP headers included): a number fixes it; 'auto' (default) negotiates it with test
   * packets, up to `packetSizeMax` and what the local link's MTU allows (see ./packet-size)
   */
  packetSize?: number | 'auto';
  /** largest size 'auto' negotiates (default 9000, the usual jumbo frame) */
  packetSizeMax?: number;
  trigger?: TriggerMode;
  /** hardware trigger: the TriggerSource entry (default Line1; other spellings of the same line are tried, see triggerSourceCandidates) */
  triggerSource?: string;
  /** features to set after connecting, by standard name (fallbacks applied): ExposureTime, Gain, PixelFormat, Width… */
  features?: Record<string, FeatureValue>;
  /** ms to wait for a frame in grab() (default 2000) */
  frameTimeoutMs?: number;
  /** PACKETRESEND rounds per frame (0 = never ask) */
  maxResendRounds?: number;
  /**
   * ask for lost stream packets again (PACKETRESEND), default true; only done when the camera's GVCP capability
   * register says it can resend, whatever this says
   */
  resend?: boolean;
  /** ms an incomplete frame is held for resent packets before it is reported (default 100) */
  holdMs?: number;
  /** how the stream socket is read: 'auto' (default: SPOTFUSION_GVSP_RECEIVE, else the batched addon when built), 'native', 'dgram' */
  receivePath?: 'auto' | 'native' | 'dgram';
  /** on the native path, read the stream from a packet ring where the process has CAP_NET_RAW (default true) */
  packetRing?: boolean;
  recvBufferBytes?: number;
}

/** Standard feature names and the older names cameras use for them. */
export const FEATURE_FALLBACKS: Readonly<Record<string, string[]>> = {
  ExposureTime: ['ExposureTime', 'ExposureTimeAbs', 'ExposureTimeRaw'],
  Gain: ['Gain', 'GainAbs', 'GainRaw'],
  AcquisitionFrameRate: ['AcquisitionFrameRate', 'AcquisitionFrameRateAbs'],
  TriggerSoftware: ['TriggerSoftware'],
};

/**
 * Names cameras use for the same trigger source: SFNC says LineN, older cameras InputN, InputLineN or LineInN. The
 * given name comes first; a line is never replaced by another line number (Line1 does not fall back to Line0).
 */
export function triggerSourceCandidates(source: string): string[] {
  const s = source.trim();
  const m = /^(?:line|input|inputline|linein|line_in)[ _]?(\d+)$/i.exec(s);
  if (!m) return [s];
  const n = m[1];
  return [...new Set([s, `Line${n}`, `LineIn${n}`, `Input${n}`, `InputLine${n}`])];
}

/** Parse "Local:name.xml;10000;3e67" (also "local:///name.zip;…"); other schemes are reported as unsupported. */
export function parseFirstUrl(url: string): { file: string; address: number; length: number } {
  const m = /^local:(?:\/\/\/)?([^;]+);(?:0x)?([0-9a-f]+);(?:0x)?([0-9a-f]+)/i.exec(url.trim());
  if (!m) {
    const scheme = /^([a-z]+):/i.exec(url)?.[1] ?? 'unknown';
    throw new SpotFusionError('GENICAM', `GenICam XML URL "${url}" is not supported (scheme ${scheme}); only Local: URLs are read from the camera`);
  }
  return { file: m[1], address: parseInt(m[2], 16), length: parseInt(m[3], 16) };
}

/** The XML text from the file bytes: plain, or the first .xml inside a zip. */
export function xmlFromFile(file: string, bytes: Uint8Array): string {
  if (/\.zip$/i.test(file) || (bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(bytes);
    } catch (e) {
      throw new SpotFusionError('GENICAM', `GenICam file ${file} is not a valid zip: ${describeError(e)}`);
    }
    const name = Object.keys(files).find((n) => /\.xml$/i.test(n));
    if (!name) throw new SpotFusionError('GENICAM', `GenICam zip ${file} holds no .xml (${Object.keys(files).join(', ') || 'empty'})`);
    return Buffer.from(files[name]).toString('utf8');
  }
  const end = bytes.indexOf(0);
  return Buffer.from(end >= 0 ? bytes.subarray(0, end) : bytes).toString('utf8');
}

/** The local address the OS uses to reach `host` (where the camera must send its stream). */
export function localAddressFor(host: string, port: number): Promise<string> {
  if (host.startsWith('127.')) return Promise.resolve('127.0.0.1');
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(port, host, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

/** net.core.rmem_max in bytes (Linux), or undefined where it cannot be read */
function rmemMax(): number | undefined {
  try {
    const v = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    return Number.isFinite(v) ? v : undefined;
  } catch (e) {
    // not Linux, or /proc not mounted: the warning goes without the figure
    void e;
    return undefined;
  }
}

/** GVCP statuses that answer a write the same way every time */
const PERMANENT_STATUSES = new Set([0x8001, 0x8002, 0x8003, 0x8004, 0x8006, 0x800f]);

/**
 * Whether setting a feature failed for good: a value out of range, an enumeration entry or a feature the camera does
 * not have, access denied or another permanent GVCP status. Timeouts, lost sockets and BUSY are worth a retry.
 */
export function isPermanentSettingError(e: unknown): boolean {
  const code = (e as SpotFusionError | undefined)?.code;
  if (code === 'RANGE' || code === 'GENICAM' || code === 'FEATURE' || code === 'ACCESS_DENIED' || code === 'NOT_AVAILABLE' || code === 'CONFIG') return true;
  const status = (e as { cause?: unknown } | undefined)?.cause instanceof GvcpStatusError ? ((e as { cause: GvcpStatusError }).cause.status) : e instanceof GvcpStatusError ? e.status : undefined;
  return status !== undefined && PERMANENT_STATUSES.has(status);
}

/** The log line about how a camera's stream is received: a warning only when the addon is missing (more CPU). */
export function receivePathNote(where: string, rx: Pick<GvspThreadReceiver, 'receiveMode' | 'receiveNote' | 'ringError'>): { text: string; warn: boolean } {
  if (rx.receiveMode === 'ring') return { text: `camera ${where}: stream read from a packet ring (AF_PACKET, addon)`, warn: false };
  if (rx.receiveMode === 'recvmmsg') {
    const why = rx.ringError ? `; no packet ring (${rx.ringError}): CAP_NET_RAW for the service gives one, see docs/CAMERA.md` : '';
    return { text: `camera ${where}: stream received in batches (recvmmsg, addon)${why}`, warn: false };
  }
  if (rx.receiveNote) return { text: `camera ${where}: ${rx.receiveNote}`, warn: true };
  return { text: `camera ${where}: stream received through Node's dgram (asked: SPOTFUSION_GVSP_RECEIVE=dgram or the option)`, warn: false };
}

export class GigeCamera extends EventEmitter {
  info: DeviceInfo | undefined;
  nodemap: NodeMap | undefined;
  xmlFile = '';
  /** the GenICam XML text as read from the camera */
  xml = '';
  /** whether the camera served it zipped */
  xmlZipped = false;
  heartbeatTimeoutMs = 3000;
  readonly gvcp: GvcpClient;
  private receiver: GvspThreadReceiver | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private closed = false;
  private lostOnce = false;
  /** lost after send errors: close() still releases the stream channel and control */
  private releaseAfterLoss = false;
  private acquiring = false;
  private controlTaken = false;
  private frameCounter = 0;
  private waiters: Array<{ resolve: (f: GvspFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  readonly features = new Map<string, string>();
  lastIncomplete: IncompleteInfo | undefined;
  /** hardware trigger: the TriggerSource entry in use */
  triggerSource: string | undefined;
  /** set when the OS gave the stream socket less receive buffer than asked (net.core.rmem_max), with the figures */
  recvBufferWarning: string | undefined;
  /** how the stream is received, for the log: the batched addon, or dgram with the reason (a warning then) */
  receivePathNote: { text: string; warn: boolean } | undefined;
  /** whether the camera's capability register says it can resend stream packets (PACKETRESEND) */
  canResend = false;
  /** whether lost stream packets are asked again: the camera can, and the setting allows it */
  resending = false;
  /** the GVSP packet size in use (SCPS as the camera took it), IP and UDP headers included; 0 before open() */
  packetSize = 0;
  /** how the packet size was chosen, for the log */
  packetSizeNote: string | undefined;

  constructor(readonly opts: GigeCameraOptions) {
    super();
    this.gvcp = new GvcpClient({ host: opts.host, port: opts.port, timeoutMs: opts.timeoutMs ?? 300, retries: opts.retries ?? 3 });
    this.gvcp.on('socket-error', (e: Error) => this.lose(new SpotFusionError('NETWORK', `camera ${opts.host}: ${e.message}`), true));
    // a PACKETRESEND that could not be sent costs that frame at most (it is reported incomplete), never the camera
    this.gvcp.on('resend-error', (e: Error) => this.emit('resend-error', e));
  }

  get where(): string {
    return `${this.opts.host}:${this.opts.port ?? 3956}`;
  }

  get stats(): GvspStats & { grabbed: number } {
    const s = this.receiver?.stats ?? emptyGvspStats();
    return { ...s, grabbed: this.frameCounter };
  }

  /** the stream receiver (a worker thread owns the socket and assembles frames) */
  get gvsp(): GvspThreadReceiver | undefined {
    return this.receiver;
  }

  /** Discover, take control, start the heartbeat, load the GenICam XML, set features, set up the stream. */
  async open(): Promise<void> {
    try {
      this.info = await this.gvcp.discover();
    } catch (e) {
      // the control socket exists from the constructor: free it, or every failed attempt to reach an absent
      // camera (a reconnect loop for hours) leaves a UDP socket behind
      await this.close();
      if ((e as SpotFusionError).code === 'TIMEOUT') throw new SpotFusionError('CAMERA_NOT_FOUND', `camera not found: no answer to DISCOVERY from ${this.where}`, { cause: e });
      throw e;
    }
    try {
      await this.takeControl();
      this.startHeartbeat();
      await this.loadXml();
      await this.configure();
      await this.setupStream();
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  private async takeControl(): Promise<void> {
    const ccp = await this.gvcp.readReg(Reg.CCP);
    if (ccp !== 0) throw new SpotFusionError('CONTROL_REFUSED', `control refused: another host holds control of camera ${this.where} (CCP = ${ccp})`);
    try {
      await this.gvcp.writeReg(Reg.CCP, CCP_CONTROL);
      this.controlTaken = true;
    } catch (e) {
      const code = (e as SpotFusionError).code;
      if (code === 'TIMEOUT' || code === 'ACCESS_DENIED') throw new SpotFusionError('CONTROL_REFUSED', `control refused by camera ${this.where}: ${describeError(e)}`, { cause: e });
      throw e;
    }
    if (this.opts.heartbeatTimeoutMs !== undefined) await this.gvcp.writeReg(Reg.HEARTBEAT_TIMEOUT, this.opts.heartbeatTimeoutMs);
    this.heartbeatTimeoutMs = (await this.gvcp.readReg(Reg.HEARTBEAT_TIMEOUT)) || 3000;
  }

  /** Re-read CCP well inside the heartbeat timeout (a quarter of it, at most 1 s apart). */
  private startHeartbeat(): void {
    const every = Math.max(100, Math.min(1000, Math.floor(this.heartbeatTimeoutMs / 4)));
    this.heartbeat = setInterval(() => {
      if (this.beating || this.closed) return;
      this.beating = true;
      this.gvcp
        .readReg(Reg.CCP)
        .then((ccp) => {
          if ((ccp & CCP_CONTROL) === 0) this.lose(new SpotFusionError('CONTROL_LOST', `control of camera ${this.where} lost (heartbeat expired)`));
        })
        .catch((e: unknown) => {
          // sends that kept failing (a local network error, not a silent camera): release and re-open at once
          const sendFailed = (e as SpotFusionError).code === 'NETWORK';
          this.lose(new SpotFusionError('CAMERA_LOST', `camera ${this.where} stopped answering: ${describeError(e)}`, { cause: e }), sendFailed);
        })
        .finally(() => {
          this.beating = false;
        });
    }, every);
  }

  /** Stop the heartbeat for `ms` (a stalled host), then resume it. For tests of lost control. */
  pauseHeartbeat(ms: number): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const t = setTimeout(() => {
      if (!this.closed && !this.heartbeat) this.startHeartbeat();
    }, ms);
    t.unref();
  }

  /**
   * The camera is gone for this session. `afterSendError`: lost because our sends failed, so the camera may still
   * hold our control: close() releases it (CCP written back) and the error asks SharedConnection to re-open at once.
   */
  private lose(err: Error, afterSendError = false): void {
    if (this.closed || this.lostOnce) return;
    this.lostOnce = true;
    this.releaseAfterLoss = afterSendError;
    if (afterSendError) (err as Error & { reopenNow?: boolean }).reopenNow = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.emit('lost', err);
  }

  private port(): Port {
    const g = this.gvcp;
    return {
      read: async (address, length) => {
        if (length === 4 && address % 4 === 0) {
          const v = await g.readReg(address);
          const b = Buffer.alloc(4);
          b.writeUInt32BE(v >>> 0);
          return b;
        }
        return g.readMem(address, length);
      },
      write: async (address, data) => {
        if (data.length === 4 && address % 4 === 0) return g.writeReg(address, data.readUInt32BE(0));
        return g.writeMem(address, data);
      },
    };
  }

  private async loadXml(): Promise<void> {
    const raw = await this.gvcp.readMem(Reg.FIRST_URL, 512);
    const z = raw.indexOf(0);
    const url = raw.subarray(0, z >= 0 ? z : raw.length).toString('latin1');
    const loc = parseFirstUrl(url);
    if (loc.length <= 0 || loc.length > 16 * 1024 * 1024) throw new SpotFusionError('GENICAM', `GenICam file length ${loc.length} in "${url}" is not plausible`);
    // never read past the file: READMEM past its end may crash a device; the last chunk is read 4-aligned within it
    const aligned = loc.length & ~3;
    const head = aligned > 0 ? await this.gvcp.readMem(loc.address, aligned) : Buffer.alloc(0);
    let bytes = head;
    if (aligned < loc.length) {
      const tail = await this.gvcp.readMem(loc.address + loc.length - 4, 4);
      bytes = Buffer.concat([head, tail.subarray(4 - (loc.length - aligned))]);
    }
    this.xmlFile = loc.file;
    this.xmlZipped = bytes[0] === 0x50 && bytes[1] === 0x4b;
    this.xml = xmlFromFile(loc.file, bytes);
    this.nodemap = new NodeMap(this.xml, this.port());
  }

  /** name the camera uses for a standard feature, or undefined */
  resolve(feature: string): string | undefined {
    const nm = this.map();
    const cached = this.features.get(feature);
    if (cached) return cached;
    const found = (FEATURE_FALLBACKS[feature] ?? [feature]).find((n) => nm.has(n));
    if (found) this.features.set(feature, found);
    return found;
  }

  private map(): NodeMap {
    if (!this.nodemap) throw new SpotFusionError('NOT_CONNECTED', `camera ${this.where} is not open`);
    return this.nodemap;
  }

  private need(feature: string): string {
    const n = this.resolve(feature);
    if (!n) throw new SpotFusionError('FEATURE', `camera ${this.where} has no ${feature} feature (tried ${(FEATURE_FALLBACKS[feature] ?? [feature]).join(', ')})`);
    return n;
  }

  async get(feature: string): Promise<FeatureValue> {
    return this.map().get(this.need(feature));
  }

  async set(feature: string, value: FeatureValue): Promise<void> {
    try {
      await this.map().set(this.need(feature), value);
    } catch (e) {
      if (e instanceof GvcpStatusError || (e as SpotFusionError).code === 'TIMEOUT') {
        throw new SpotFusionError((e as SpotFusionError).code, `setting ${feature}: ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
  }

  async execute(feature: string): Promise<void> {
    await this.map().execute(this.need(feature));
  }

  private async trySet(feature: string, value: FeatureValue): Promise<void> {
    if (this.resolve(feature)) await this.set(feature, value);
  }

  private async configure(): Promise<void> {
    const nm = this.map();
    nm.clearCache();
    // a camera whose previous controller went away (heartbeat expired, host crashed) may still be acquiring, and
    // stream to that session's port: stop it first, so that AcquisitionStart below streams to ours (the aravis fake
    // otherwise keeps the old stream address), and so that features locked while acquiring can be set
    if (this.resolve('AcquisitionStop')) {
      try {
        await this.execute('AcquisitionStop');
      } catch (e) {
        // not fatal: a camera that refuses to stop while idle is still set up below
        this.emit('close-warning', e);
      }
    }
    // features the user configured (ROI and pixel format first: they change the payload size)
    const order = ['PixelFormat', 'OffsetX', 'OffsetY', 'Width', 'Height'];
    const entries = Object.entries(this.opts.features ?? {}).sort(([a], [b]) => (order.indexOf(b) + 1 || -1) - (order.indexOf(a) + 1 || -1));
    for (const [k, v] of entries) {
      if (v === '' || v === undefined || v === null) continue;
      try {
        await this.set(k, v);
      } catch (e) {
        if (!isPermanentSettingError(e)) throw e;
        // the camera will refuse this value on every attempt: no retries (state 'failed') until the setting changes
        throw new SpotFusionError('CONFIG', `setting ${k} = ${JSON.stringify(v)} failed: camera ${this.where} rejects it (${describeError(e)}); change the setting`, { cause: e });
      }
    }
    const trigger = this.opts.trigger ?? 'software';
    await this.trySet('AcquisitionMode', 'Continuous');
    if (this.resolve('TriggerSelector')) {
      const selectors = (await this.map().entries(this.need('TriggerSelector'))).map((e) => e.name);
      if (!selectors.includes('FrameStart')) {
        if (trigger !== 'freerun') throw new SpotFusionError('CONFIG', `camera ${this.where} has no FrameStart trigger (TriggerSelector offers ${selectors.join(', ') || 'nothing'}): use free run`);
      } else {
        await this.set('TriggerSelector', 'FrameStart');
      }
    }
    if (trigger === 'hardware') {
      if (!this.resolve('TriggerMode') || !this.resolve('TriggerSource')) {
        throw new SpotFusionError('CONFIG', `camera ${this.where} has no TriggerMode/TriggerSource: its own trigger cannot be used`);
      }
      const wanted = this.opts.triggerSource?.trim() || 'Line1';
      const offered = (await this.map().entries(this.need('TriggerSource'))).map((e) => e.name);
      const tried = triggerSourceCandidates(wanted);
      const lower = new Map(offered.map((n) => [n.toLowerCase(), n]));
      const found = tried.map((n) => lower.get(n.toLowerCase())).find((n) => n !== undefined);
      if (!found) {
        throw new SpotFusionError('CONFIG', `camera ${this.where} has no trigger source "${wanted}" (tried ${tried.join(', ')}; it offers ${offered.join(', ') || 'none'})`);
      }
      await this.set('TriggerSource', found);
      await this.set('TriggerMode', 'On');
      this.triggerSource = found;
    } else if (trigger === 'software') {
      if (!this.resolve('TriggerMode') || !this.resolve('TriggerSoftware')) {
        throw new SpotFusionError('CONFIG', `camera ${this.where} has no software trigger (TriggerMode/TriggerSoftware): use free run`);
      }
      await this.set('TriggerMode', 'On');
      await this.trySet('TriggerSource', 'Software');
    } else {
      await this.trySet('TriggerMode', 'Off');
    }
  }

  private async setupStream(): Promise<void> {
    const nm = this.map();
    const channels = await this.gvcp.readReg(Reg.STREAM_CHANNELS);
    if (channels < 1) throw new SpotFusionError('CONFIG', `camera ${this.where} has no stream channel`);
    const payload = nm.has('PayloadSize') ? Number(await nm.get('PayloadSize')) : 0;
    if (payload <= 0) throw new SpotFusionError('CONFIG', `camera ${this.where} reports payload size ${payload}`);
    const local = await localAddressFor(this.opts.host, this.opts.port ?? 3956);
    const packetSize = await this.choosePacketSize(local);
    const actual = (await this.gvcp.readReg(Reg.SCPS0)) & 0xffff;
    this.canResend = ((await this.gvcp.readReg(Reg.GVCP_CAPABILITY)) & CAP_PACKET_RESEND) !== 0;
    const rounds = this.opts.maxResendRounds ?? 3;
    this.resending = this.canResend && this.opts.resend !== false && rounds > 0;
    this.packetSize = actual || packetSize;
    const rx = new GvspThreadReceiver({
      localAddress: local,
      packetSize: this.packetSize,
      maxPayload: payload,
      recvBufferBytes: this.opts.recvBufferBytes,
      receivePath: this.opts.receivePath,
      packetRing: this.opts.packetRing,
      maxResendRounds: rounds,
      holdMs: this.opts.holdMs,
      resend: this.resending ? (block, first, last) => this.gvcp.packetResend(0, block, first, last) : undefined,
    });
    // a local failure (the stream socket, the stream worker): the camera still holds our control, so close()
    // releases it and the connection re-opens at once
    rx.on('socket-error', (e: Error) => this.lose(new SpotFusionError('NETWORK', `stream socket: ${e.message}`), true));
    rx.on('close-warning', (e: unknown) => this.emit('close-warning', e));
    rx.on('frame', (f: GvspFrame) => this.onFrame(f));
    rx.on('incomplete', (i: IncompleteInfo) => {
      this.lastIncomplete = i;
      this.emit('incomplete', i);
      // software trigger: the camera sends a frame only when grab() asks, so this was the grab's frame: fail it now
      // rather than after the whole timeout
      if ((this.opts.trigger ?? 'software') !== 'software') return;
      const w = this.waiters.shift();
      if (!w) return;
      clearTimeout(w.timer);
      w.reject(new SpotFusionError('INCOMPLETE', `frame (block ${i.blockId}) from camera ${this.where} arrived incomplete: ${i.missing} of ${i.expected} packets missing (${i.reason})`));
    });
    rx.on('unsupported', (name: string) => {
      const err = new SpotFusionError('PIXEL_FORMAT', `camera ${this.where} sends pixel format ${name}, which camera-grab does not support`);
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    });
    this.receiver = rx;
    const rxPort = await rx.bind();
    this.receivePathNote = receivePathNote(this.where, rx);
    if (rx.recvBufferCapped) {
      const max = rmemMax();
      this.recvBufferWarning =
        `camera ${this.where}: the stream socket got a ${rx.recvBufferBytes}-byte receive buffer of the ${rx.recvBufferAsked} asked for ` +
        `(frames of ${payload} bytes): the OS caps it at net.core.rmem_max${max !== undefined ? ` = ${max}` : ''}, so bursts may lose packets; ` +
        `raise it with: sysctl -w net.core.rmem_max=${rx.recvBufferAsked}`;
    }
    await this.gvcp.writeReg(Reg.SCDA0, ipToNumber(local));
    await this.gvcp.writeReg(Reg.SCP0, rxPort);
    await this.execute('AcquisitionStart');
    this.acquiring = true;
  }

  /**
   * Set SCPS: the configured size, or (auto) the largest whose test packet arrives, bounded by the local link's MTU,
   * the camera's GevSCPSPacketSize maximum and packetSizeMax; `packetSizeNote` says which and why.
   */
  private async choosePacketSize(local: string): Promise<number> {
    const fixed = this.opts.packetSize;
    if (typeof fixed === 'number') {
      await this.gvcp.writeReg(Reg.SCPS0, fixed);
      this.packetSizeNote = `camera ${this.where}: packet size ${fixed} bytes (set in the camera config)`;
      return fixed;
    }
    const nm = this.map();
    const bounds: string[] = [];
    let upper = this.opts.packetSizeMax ?? JUMBO_PACKET_SIZE;
    bounds.push(`at most ${upper}`);
    const link = linkMtu(local);
    if (link) {
      upper = Math.min(upper, link.mtu);
      bounds.push(`MTU of ${link.name} ${link.mtu}`);
    }
    let inc = 4;
    if (nm.has('GevSCPSPacketSize')) {
      const r = await nm.range('GevSCPSPacketSize');
      if (r.max !== undefined) {
        upper = Math.min(upper, r.max);
        bounds.push(`camera maximum ${r.max}`);
      }
      if (r.inc !== undefined && r.inc > 0) inc = r.inc;
    }
    upper = Math.max(MIN_PACKET_SIZE, upper);
    const found = await probePacketSize({ gvcp: this.gvcp, localAddress: local, upper, inc });
    if (found !== undefined) {
      this.packetSizeNote = `camera ${this.where}: packet size ${found} bytes, the largest whose test packet arrived (${bounds.join(', ')})`;
      return found;
    }
    await this.gvcp.writeReg(Reg.SCPS0, upper);
    this.packetSizeNote =
      `camera ${this.where}: packet size ${upper} bytes from the link (${bounds.join(', ')}): the camera sent no test packet, ` +
      `so the size could not be checked end to end; if no frames arrive, set Packet size to ${STANDARD_PACKET_SIZE}`;
    return upper;
  }

  private onFrame(f: GvspFrame): void {
    const w = this.waiters.shift();
    if (!w && this.opts.trigger === 'hardware') {
      // the camera's own trigger: every frame is delivered, its buffer belongs to the 'frame' listeners
      this.frameCounter += 1;
      this.emit('frame', f);
      return;
    }
    this.emit('frame', f);
    if (!w) {
      this.receiver?.release(f.data);
      return;
    }
    clearTimeout(w.timer);
    this.frameCounter += 1;
    w.resolve(f);
  }

  /** The next complete frame (after a software trigger in software mode). The frame's buffer is the caller's. */
  async grab(timeoutMs = this.opts.frameTimeoutMs ?? 2000): Promise<GvspFrame> {
    if (this.closed || this.lostOnce) throw new SpotFusionError('NOT_CONNECTED', `camera ${this.where} is not connected`);
    const p = new Promise<GvspFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        const inc = this.lastIncomplete ? `; last incomplete frame: block ${this.lastIncomplete.blockId}, ${this.lastIncomplete.reason}` : '';
        reject(new SpotFusionError('TIMEOUT', `no complete frame from camera ${this.where} within ${timeoutMs} ms (${this.stats.incomplete} incomplete so far${inc})`));
      }, timeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
    if ((this.opts.trigger ?? 'software') === 'software') {
      try {
        await this.execute('TriggerSoftware');
      } catch (e) {
        const w = this.waiters.pop();
        if (w) clearTimeout(w.timer);
        void p.catch(() => undefined);
        throw e;
      }
    }
    return p;
  }

  /** Stop acquisition, release the stream channel and control, free sockets and timers. Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const err = new SpotFusionError('CLOSED', `camera ${this.where} closed`);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    if ((!this.lostOnce || this.releaseAfterLoss) && this.info) {
      const quiet = async (fn: () => Promise<void>): Promise<void> => {
        try {
          await fn();
        } catch (e) {
          this.emit('close-warning', e);
        }
      };
      const release = async (): Promise<void> => {
        if (this.acquiring && this.nodemap) await quiet(() => this.execute('AcquisitionStop'));
        if (this.receiver) await quiet(() => this.gvcp.writeReg(Reg.SCP0, 0));
        if (this.controlTaken) await quiet(() => this.gvcp.writeReg(Reg.CCP, 0));
      };
      // a camera that went away must not hold up a deploy: at most 1.5 s for the polite part
      let budget: NodeJS.Timeout | undefined;
      await Promise.race([release(), new Promise<void>((r) => (budget = setTimeout(r, 1500)))]);
      clearTimeout(budget);
    }
    this.closed = true;
    await this.receiver?.close();
    await this.gvcp.close();
  }
}
