/**
 * A GigE Vision camera: unicast discovery, control privilege with heartbeat, GenICam XML from the first-URL
 * register (plain or zipped), the GenICam node map, standard features with fallbacks, stream channel set-up and
 * the GVSP receiver. grab() gets one frame (software trigger or free run); 'lost' is emitted when the camera
 * stops answering or control is gone.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { unzipSync } from 'fflate';
import { SpotFusionError, describeError } from '../../errors';
import { FeatureValue, NodeMap, Port } from '../genicam/nodemap';
import { GvcpClient } from './gvcp';
import { GvspFrame, GvspReceiver, IncompleteInfo } from './gvsp';
import { CCP_CONTROL, DeviceInfo, GvcpStatusError, ipToNumber, Reg } from './protocol';

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
  /** GVSP packet size (IP+UDP+GVSP headers included), default 1500 */
  packetSize?: number;
  trigger?: TriggerMode;
  /** hardware trigger: the TriggerSource entry (default Line1; other spellings of the same line are tried, see triggerSourceCandidates) */
  triggerSource?: string;
  /** features to set after connecting, by standard name (fallbacks applied): ExposureTime, Gain, PixelFormat, Width… */
  features?: Record<string, FeatureValue>;
  /** ms to wait for a frame in grab() (default 2000) */
  frameTimeoutMs?: number;
  /** PACKETRESEND rounds per frame (0 = never ask) */
  maxResendRounds?: number;
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
  private receiver: GvspReceiver | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private closed = false;
  private lostOnce = false;
  private acquiring = false;
  private controlTaken = false;
  private frameCounter = 0;
  private waiters: Array<{ resolve: (f: GvspFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  readonly features = new Map<string, string>();
  lastIncomplete: IncompleteInfo | undefined;
  /** hardware trigger: the TriggerSource entry in use */
  triggerSource: string | undefined;

  constructor(readonly opts: GigeCameraOptions) {
    super();
    this.gvcp = new GvcpClient({ host: opts.host, port: opts.port, timeoutMs: opts.timeoutMs ?? 300, retries: opts.retries ?? 3 });
    this.gvcp.on('socket-error', (e: Error) => this.lose(new SpotFusionError('NETWORK', `camera ${opts.host}: ${e.message}`)));
  }

  get where(): string {
    return `${this.opts.host}:${this.opts.port ?? 3956}`;
  }

  get stats(): GvspReceiver['stats'] & { grabbed: number } {
    const s = this.receiver?.stats ?? { packets: 0, frames: 0, incomplete: 0, resendRequests: 0, resentPackets: 0, duplicates: 0, badPackets: 0, noBuffer: 0, lostPackets: 0 };
    return { ...s, grabbed: this.frameCounter };
  }

  get gvsp(): GvspReceiver | undefined {
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
        .catch((e: unknown) => this.lose(new SpotFusionError('CAMERA_LOST', `camera ${this.where} stopped answering: ${describeError(e)}`, { cause: e })))
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

  private lose(err: Error): void {
    if (this.closed || this.lostOnce) return;
    this.lostOnce = true;
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
    // features the user configured (ROI and pixel format first: they change the payload size)
    const order = ['PixelFormat', 'OffsetX', 'OffsetY', 'Width', 'Height'];
    const entries = Object.entries(this.opts.features ?? {}).sort(([a], [b]) => (order.indexOf(b) + 1 || -1) - (order.indexOf(a) + 1 || -1));
    for (const [k, v] of entries) {
      if (v === '' || v === undefined || v === null) continue;
      await this.set(k, v);
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
    const packetSize = this.opts.packetSize ?? 1500;
    await this.gvcp.writeReg(Reg.SCPS0, packetSize);
    const actual = (await this.gvcp.readReg(Reg.SCPS0)) & 0xffff;
    const payload = nm.has('PayloadSize') ? Number(await nm.get('PayloadSize')) : 0;
    const pf = this.resolve('PixelFormat') ? String(await this.get('PixelFormat')) : 'Mono8';
    if (payload <= 0) throw new SpotFusionError('CONFIG', `camera ${this.where} reports payload size ${payload}`);
    const local = await localAddressFor(this.opts.host, this.opts.port ?? 3956);
    const rx = new GvspReceiver({
      localAddress: local,
      packetSize: actual || packetSize,
      maxPayload: payload,
      recvBufferBytes: this.opts.recvBufferBytes,
      maxResendRounds: this.opts.maxResendRounds ?? 3,
      resend: (block, first, last) => this.gvcp.packetResend(0, block, first, last),
    });
    rx.on('socket-error', (e: Error) => this.lose(new SpotFusionError('NETWORK', `stream socket: ${e.message}`)));
    rx.on('frame', (f: GvspFrame) => this.onFrame(f));
    rx.on('incomplete', (i: IncompleteInfo) => {
      this.lastIncomplete = i;
      this.emit('incomplete', i);
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
    await this.gvcp.writeReg(Reg.SCDA0, ipToNumber(local));
    await this.gvcp.writeReg(Reg.SCP0, rxPort);
    void pf;
    await this.execute('AcquisitionStart');
    this.acquiring = true;
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
    if (!this.lostOnce && this.info) {
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
