/**
 * Frame sources behind camera-grab: GigE Vision (./gige), HTTP(S) snapshot, watched folder and the weld-spot
 * simulator. Each is opened by a ConnectionDriver, so the config node's SharedConnection owns its life cycle
 * (reconnect with capped backoff + jitter, close). Knows nothing of Node-RED.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join, extname } from 'node:path';
import { EventEmitter } from 'node:events';
import sharp from '../vision/sharp';
import { ConnectionDriver, PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError, describeError } from '../errors';
import { GigeCamera, GigeCameraOptions } from './gige/camera';
import type { GvspFrame } from './gige/gvsp';
import { SimRenderThread } from './sim-render';
import { FiducialTruth, Optics, WearTrend, Placement, PlacementTolerance, renderFrame, RenderOptions, SimSpot, SpotClass, SpotTruth, gridRecipe, withJpegArtefacts } from './simulator';

export interface Frame {
  data: Buffer;
  width: number;
  height: number;
  pixelFormat: string;
  cameraId: string;
  frameId: number;
  timestamp: number;
  /** simulator only: ground truth per spot */
  truth?: SpotTruth[];
  /** simulator only: where the part sits (ground truth; zeros when aligned) */
  placement?: Placement;
  /** simulator only: the fiducial marks drawn (ground truth) */
  fiducials?: FiducialTruth[];
  /** folder only: the file the frame came from */
  file?: string;
}

export interface GrabRequest {
  /** simulator: seed for this frame (default: "<seed>:<frame number>") */
  seed?: string | number;
  /** simulator: class per spot id for this frame */
  classOverrides?: RenderOptions['classOverrides'];
  /** simulator: where the part sits in this frame (instead of one drawn within the tolerance) */
  placement?: Placement;
  timeoutMs?: number;
}

/**
 * A frame source. grab() takes one frame on demand. A self-triggered source (`selfTriggered`: a GigE camera on its
 * own trigger, the simulator with a period) also emits 'frame' (Frame) for every frame it delivers by itself, and
 * 'incomplete' ({ blockId, missing, expected, reason }) for a frame it dropped.
 */
export interface FrameSource extends EventEmitter {
  readonly kind: string;
  readonly selfTriggered: boolean;
  grab(req?: GrabRequest): Promise<Frame>;
  close(): Promise<void>;
  /** counters shown in status: frames, incomplete… */
  counters(): Record<string, number>;
}

function configError(message: string): SpotFusionError {
  return new SpotFusionError(PERMANENT_ERROR_CODE, message);
}

// ------------------------------------------------------------------ GigE Vision

export class GigeSource extends EventEmitter implements FrameSource {
  readonly kind = 'gige';
  readonly selfTriggered: boolean;
  private n = 0;
  constructor(readonly camera: GigeCamera, readonly cameraId: string) {
    super();
    this.selfTriggered = camera.opts.trigger === 'hardware';
    camera.on('lost', (e: Error) => this.emit('lost', e));
    camera.on('incomplete', (i: unknown) => this.emit('incomplete', i));
    if (this.selfTriggered) {
      camera.on('frame', (f: GvspFrame) => {
        this.n += 1;
        this.emit('frame', this.toFrame(f));
      });
    }
  }
  private toFrame(f: GvspFrame): Frame {
    return { data: f.data, width: f.width, height: f.height, pixelFormat: f.pixelFormat, cameraId: this.cameraId, frameId: f.blockId, timestamp: Date.now() };
  }
  async grab(req: GrabRequest = {}): Promise<Frame> {
    const f = await this.camera.grab(req.timeoutMs);
    this.n += 1;
    return this.toFrame(f);
  }
  /** a note for the log about the receive path (the OS capped the stream socket's buffer), or undefined */
  receiveWarning(): string | undefined {
    return this.camera.recvBufferWarning;
  }
  /** how the stream is received (batched addon, or dgram and why), for the log */
  receivePathNote(): { text: string; warn: boolean } | undefined {
    return this.camera.receivePathNote;
  }
  /** how the GVSP packet size was chosen (negotiated, from the link, or set), for the log */
  packetSizeNote(): string | undefined {
    return this.camera.packetSizeNote;
  }
  counters(): Record<string, number> {
    const s = this.camera.stats;
    return { frames: this.n, incomplete: s.incomplete, resent: s.resentPackets, lostPackets: s.lostPackets };
  }
  close(): Promise<void> {
    return this.camera.close();
  }
}

export function gigeDriver(opts: GigeCameraOptions, cameraId: string): ConnectionDriver<FrameSource> {
  if (!opts.host || !/^\d{1,3}(\.\d{1,3}){3}$/.test(opts.host)) {
    const msg = `GigE camera address "${opts.host ?? ''}" is not an IPv4 address`;
    return failingDriver(`gige ${opts.host ?? '?'}`, msg);
  }
  return {
    describe: () => `GigE Vision camera ${opts.host}:${opts.port ?? 3956}`,
    open: async () => {
      const cam = new GigeCamera(opts);
      await cam.open();
      return new GigeSource(cam, cameraId);
    },
    watch: (src, lost) => {
      src.on('lost', lost);
      return () => src.removeListener('lost', lost);
    },
    close: (src) => src.close(),
  };
}

// ------------------------------------------------------------------ decoding (HTTP, folder)

/** Decode PNG/JPEG/TIFF/BMP… with sharp into raw Mono8 (grey images, or always with `mono`) or RGB8. */
export async function decodeImage(bytes: Buffer, mono: boolean, what: string): Promise<{ data: Buffer; width: number; height: number; pixelFormat: string }> {
  try {
    let img = sharp(bytes, { failOn: 'error' });
    const meta = await img.metadata();
    const grey = mono || meta.channels === 1 || (meta.channels === 2 && meta.hasAlpha);
    img = grey ? img.greyscale().removeAlpha().toColourspace('b-w') : img.removeAlpha().toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height, pixelFormat: info.channels === 1 ? 'Mono8' : 'RGB8' };
  } catch (e) {
    throw new SpotFusionError('DECODE', `${what} is not a readable image: ${describeError(e)}`, { cause: e });
  }
}

// ------------------------------------------------------------------ HTTP(S) snapshot

export interface HttpOptions {
  url: string;
  timeoutMs?: number;
  mono?: boolean;
  username?: string;
  password?: string;
  token?: string;
}

export class HttpSource extends EventEmitter implements FrameSource {
  readonly kind = 'http';
  readonly selfTriggered = false;
  private n = 0;
  private failures = 0;
  private readonly url: URL;
  constructor(readonly opts: HttpOptions, readonly cameraId: string) {
    super();
    this.url = new URL(opts.url);
  }
  private get safeUrl(): string {
    return `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
  }
  async grab(req: GrabRequest = {}): Promise<Frame> {
    const timeoutMs = req.timeoutMs ?? this.opts.timeoutMs ?? 5000;
    const headers: Record<string, string> = { accept: 'image/*' };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    else if (this.opts.username) headers.authorization = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password ?? ''}`).toString('base64')}`;
    let res: Response;
    try {
      res = await fetch(this.url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    } catch (e) {
      this.failures += 1;
      const name = (e as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new SpotFusionError('TIMEOUT', `snapshot ${this.safeUrl}: no answer within ${timeoutMs} ms`);
      throw new SpotFusionError('NETWORK', `snapshot ${this.safeUrl}: ${describeError((e as { cause?: unknown }).cause ?? e)}`);
    }
    if (!res.ok) {
      this.failures += 1;
      await res.body?.cancel();
      const hint = res.status === 401 || res.status === 403 ? ' (check the credentials of the camera config node)' : '';
      throw new SpotFusionError('HTTP', `snapshot ${this.safeUrl}: HTTP ${res.status} ${res.statusText}${hint}`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const img = await decodeImage(bytes, this.opts.mono ?? true, `snapshot ${this.safeUrl}`);
    this.n += 1;
    return { ...img, cameraId: this.cameraId, frameId: this.n, timestamp: Date.now() };
  }
  counters(): Record<string, number> {
    return { frames: this.n, failures: this.failures };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function httpDriver(opts: HttpOptions, cameraId: string): ConnectionDriver<FrameSource> {
  let url: URL;
  try {
    url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`scheme ${url.protocol} is not http: or https:`);
    if (url.username || url.password) throw new Error('put the user name and password in the credentials, not in the URL');
  } catch (e) {
    return failingDriver('http snapshot', `snapshot URL "${opts.url}" is not usable: ${describeError(e)}`);
  }
  return {
    describe: () => `HTTP snapshot ${url.protocol}//${url.host}${url.pathname}`,
    open: () => Promise.resolve(new HttpSource(opts, cameraId)),
    watch: () => () => undefined,
    close: (s) => s.close(),
  };
}

// ------------------------------------------------------------------ watched folder

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp']);

export interface FolderOptions {
  path: string;
  /** ms between scans (default 200) */
  pollMs?: number;
  /** a file is read once its size and mtime stayed the same this long (default 300 ms) */
  stableMs?: number;
  /** delete a file after it became a frame */
  deleteAfterRead?: boolean;
  mono?: boolean;
  /** also take files already there when the source opens (default false: only new ones) */
  includeExisting?: boolean;
}

interface Candidate {
  size: number;
  mtimeMs: number;
  since: number;
}

export class FolderSource extends EventEmitter implements FrameSource {
  readonly kind = 'folder';
  readonly selfTriggered = false;
  private readonly seen = new Set<string>();
  private readonly candidates = new Map<string, Candidate>();
  private readonly ready: string[] = [];
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  private n = 0;
  private closed = false;
  private undecodable = 0;

  constructor(readonly opts: FolderOptions, readonly cameraId: string) {
    super();
  }

  async start(): Promise<void> {
    const st = await stat(this.opts.path).catch((e: unknown) => {
      throw new SpotFusionError('FOLDER', `watched folder ${this.opts.path}: ${describeError(e)}`);
    });
    if (!st.isDirectory()) throw new SpotFusionError(PERMANENT_ERROR_CODE, `watched folder ${this.opts.path} is not a directory`);
    if (!this.opts.includeExisting) for (const f of await readdir(this.opts.path)) this.seen.add(f);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.scan()
        .catch((e: unknown) => this.emit('lost', new SpotFusionError('FOLDER', `watched folder ${this.opts.path}: ${describeError(e)}`)))
        .finally(() => this.schedule(this.opts.pollMs ?? 200));
    }, ms);
  }

  /** names being written under a temporary name and renamed in when complete are skipped until renamed */
  private static candidate(name: string): boolean {
    return !name.startsWith('.') && IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.closed) return;
    this.scanning = true;
    try {
      const names = await readdir(this.opts.path);
      const now = Date.now();
      const stable = this.opts.stableMs ?? 300;
      for (const name of names.sort()) {
        if (this.seen.has(name) || !FolderSource.candidate(name)) continue;
        const st = await stat(join(this.opts.path, name)).catch(() => undefined);
        if (!st || !st.isFile()) continue;
        const c = this.candidates.get(name);
        if (!c || c.size !== st.size || c.mtimeMs !== st.mtimeMs) {
          this.candidates.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        } else if (st.size > 0 && now - c.since >= stable) {
          this.candidates.delete(name);
          this.seen.add(name);
          this.ready.push(name);
        }
      }
      if (this.ready.length) for (const w of this.waiters.splice(0)) w();
    } finally {
      this.scanning = false;
    }
  }

  async grab(req: GrabRequest = {}): Promise<Frame> {
    const timeoutMs = req.timeoutMs ?? 5000;
    if (this.ready.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const w = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new SpotFusionError('TIMEOUT', `no new complete image file in ${this.opts.path} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.waiters.push(w);
      });
    }
    const name = this.ready.shift() as string;
    const file = join(this.opts.path, name);
    const bytes = await readFile(file);
    let img;
    try {
      img = await decodeImage(bytes, this.opts.mono ?? true, `file ${file}`);
    } catch (e) {
      this.undecodable += 1;
      throw e;
    }
    if (this.opts.deleteAfterRead) await unlink(file).catch((e: unknown) => this.emit('warning', `could not delete ${file}: ${describeError(e)}`));
    this.n += 1;
    return { ...img, cameraId: this.cameraId, frameId: this.n, timestamp: Date.now(), file };
  }

  counters(): Record<string, number> {
    return { frames: this.n, waiting: this.ready.length, undecodable: this.undecodable };
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve();
  }
}

export function folderDriver(opts: FolderOptions, cameraId: string): ConnectionDriver<FrameSource> {
  if (!opts.path) return failingDriver('watched folder', 'no folder configured');
  return {
    describe: () => `watched folder ${opts.path}`,
    open: async () => {
      const s = new FolderSource(opts, cameraId);
      await s.start();
      return s;
    },
    watch: (src, lost) => {
      src.on('lost', lost);
      return () => src.removeListener('lost', lost);
    },
    close: (s) => s.close(),
  };
}

// ------------------------------------------------------------------ simulator

export interface SimulatorSourceOptions {
  seed: string;
  width: number;
  height: number;
  spots?: SimSpot[];
  cols?: number;
  rows?: number;
  expectedDiameterPx?: number;
  classMix?: Partial<Record<SpotClass, number>>;
  /** per-part placement drawn within ±shiftPx and ±angleDeg (default: aligned); see LINE_PRESET for a line's */
  placementTolerance?: PlacementTolerance;
  /** defocus blur, vignette and exposure-drift ranges (renderFrame's defaults: sharp, 0…0.3, ±0.2) */
  optics?: Optics;
  /** sensor noise σ in grey levels (default: drawn per frame, 1.5…4.5) */
  noiseSigma?: number;
  /** draw the fiducial marks (default true) */
  fiducials?: boolean;
  /** JPEG quality 1…100 of a camera that sends JPEG: each frame is encoded and decoded (default: raw, no JPEG) */
  jpegQuality?: number;
  /** the simulator's stand-in for a hardware trigger: render and emit a frame every periodMs (start() starts it) */
  periodMs?: number;
  /**
   * Render only this many distinct frames and hand them out in turn (0: a new frame every grab). Rendering a
   * 2448×2048 frame costs about 150 ms of CPU (in its render thread, ./sim-render), more than the whole inspection it stands in
   * for; a pool keeps load and soak runs about the station, not about the simulator. A grab with its own seed or
   * class overrides is always rendered.
   */
  pool?: number;
  /** electrode wear on these spots' nugget diameters, the frame number being the part number (frames with wear are never pooled) */
  wear?: Record<string, WearTrend>;
}

export class SimulatorSource extends EventEmitter implements FrameSource {
  readonly kind = 'simulator';
  readonly selfTriggered: boolean;
  private n = 0;
  private readonly spots: SimSpot[];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly pool: ReturnType<typeof renderFrame>[] = [];
  /** renders off the event loop (./sim-render) */
  private readonly thread = new SimRenderThread();
  constructor(readonly opts: SimulatorSourceOptions, readonly cameraId: string) {
    super();
    this.selfTriggered = opts.periodMs !== undefined;
    if (opts.periodMs !== undefined && !(opts.periodMs >= 10 && opts.periodMs <= 3_600_000)) throw configError(`simulator period ${opts.periodMs} ms is not in 10…3600000`);
    if (opts.pool !== undefined && !(Number.isInteger(opts.pool) && opts.pool >= 0 && opts.pool <= 256)) throw configError(`simulator frame pool ${opts.pool} is not an integer in 0…256`);
    this.spots = opts.spots ?? gridRecipe({ width: opts.width, height: opts.height, cols: opts.cols, rows: opts.rows, expectedDiameterPx: opts.expectedDiameterPx });
    if (opts.jpegQuality !== undefined && !(Number.isInteger(opts.jpegQuality) && opts.jpegQuality >= 1 && opts.jpegQuality <= 100)) throw configError(`simulator JPEG quality ${opts.jpegQuality} is not an integer in 1…100`);
    // fail now (permanently) on a recipe or optics that cannot render, not on the first message
    renderFrame({ ...this.look(), seed: 0, width: Math.max(16, Math.min(opts.width, 64)), height: Math.max(16, Math.min(opts.height, 64)), spots: [] });
    for (const [i, s] of this.spots.entries()) {
      if (s.x >= opts.width || s.y >= opts.height) throw configError(`simulator recipe: spots[${i}] (${s.x}, ${s.y}) is outside the ${opts.width}×${opts.height} frame`);
    }
  }
  async grab(req: GrabRequest = {}): Promise<Frame> {
    this.n += 1;
    const frameId = this.n;
    const size = this.opts.pool ?? 0;
    const pooled = size > 0 && req.seed === undefined && req.classOverrides === undefined && req.placement === undefined && this.opts.wear === undefined;
    const slot = pooled ? (frameId - 1) % size : -1;
    const f = pooled && this.pool[slot] ? this.pool[slot] : await this.render(req, pooled ? `${this.opts.seed}:${slot + 1}` : (req.seed ?? `${this.opts.seed}:${frameId}`), frameId);
    if (pooled) this.pool[slot] = f;
    // a pooled frame goes out as its own Buffer: a node that writes into msg.frame.data must not change the pool
    const data = pooled ? Buffer.from(f.data) : f.data;
    return { data, width: f.width, height: f.height, pixelFormat: 'Mono8', cameraId: this.cameraId, frameId, timestamp: Date.now(), truth: f.truth, placement: f.placement, fiducials: f.fiducials };
  }
  /** What a line does to the picture, from the options: placement tolerance, optics, noise, marks. */
  private look(): Pick<RenderOptions, 'classMix' | 'expectedDiameterPx' | 'placementTolerance' | 'optics' | 'noiseSigma' | 'fiducials'> {
    const o = this.opts;
    return { classMix: o.classMix, expectedDiameterPx: o.expectedDiameterPx, placementTolerance: o.placementTolerance, optics: o.optics, noiseSigma: o.noiseSigma, fiducials: o.fiducials };
  }
  private async render(req: GrabRequest, seed: string | number, part: number): Promise<ReturnType<typeof renderFrame>> {
    const f = await this.thread.render({
      wear: this.opts.wear ? { part, spots: this.opts.wear } : undefined,
      ...this.look(),
      seed,
      width: this.opts.width,
      height: this.opts.height,
      spots: this.spots,
      classOverrides: req.classOverrides,
      placement: req.placement,
    });
    return this.opts.jpegQuality === undefined ? f : withJpegArtefacts(f, this.opts.jpegQuality);
  }
  /** With a period: emit the first frame one period from now, then one every period (a slow render delays, never piles up). */
  start(): void {
    const period = this.opts.periodMs;
    if (period === undefined || this.closed || this.timer) return;
    const tick = (): void => {
      const started = Date.now();
      this.timer = undefined;
      Promise.resolve()
        .then(() => this.grab())
        .then((f) => this.emit('frame', f))
        .catch((e: unknown) => this.emit('warning', `simulator: ${describeError(e)}`))
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, Math.max(0, period - (Date.now() - started)));
        });
    };
    this.timer = setTimeout(tick, period);
  }
  counters(): Record<string, number> {
    return { frames: this.n };
  }
  close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.thread.close();
  }
}

export function simulatorDriver(opts: SimulatorSourceOptions, cameraId: string): ConnectionDriver<FrameSource> {
  return {
    describe: () => `weld-spot simulator ${opts.width}×${opts.height}`,
    open: () => {
      try {
        const src = new SimulatorSource(opts, cameraId);
        src.start();
        return Promise.resolve(src);
      } catch (e) {
        return Promise.reject(configError(describeError(e)));
      }
    },
    watch: () => () => undefined,
    close: (s) => s.close(),
  };
}

export function failingDriver(label: string, message: string): ConnectionDriver<FrameSource> {
  return {
    describe: () => label,
    open: () => Promise.reject(configError(message)),
    watch: () => () => undefined,
    close: () => Promise.resolve(),
  };
}

/** Encode a raw frame as PNG or JPEG (off the hot path: only when the flow asks). */
export async function encodeFrame(frame: Frame, format: 'png' | 'jpeg'): Promise<Buffer> {
  const channels = frame.pixelFormat === 'Mono8' ? 1 : frame.pixelFormat === 'RGB8' ? 3 : 0;
  if (!channels) throw new SpotFusionError('PIXEL_FORMAT', `cannot encode pixel format ${frame.pixelFormat} as ${format}: only Mono8 and RGB8`);
  const img = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels } });
  return format === 'png' ? img.png({ compressionLevel: 3 }).toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

