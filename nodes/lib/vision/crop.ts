import sharp from './sharp';
import { SpotFusionError } from '../errors';
import type { Spot } from './recipe';
import { batchDims, Preprocess } from './metadata';

/**
 * Cut every ROI of a recipe out of one frame and turn them into one model-ready batch tensor.
 *
 * - The frame is decoded at most once (only when it arrives encoded); every ROI is then cut from the raw
 *   pixel buffer with typed-array row copies (no per-ROI image pipeline).
 * - Resize is bilinear with half-pixel centres and edge clamping, no antialiasing (the same as OpenCV's
 *   INTER_LINEAR and ONNX Resize linear/half_pixel): src = (dst + 0.5) * in / out - 0.5.
 * - Normalisation: (pixel * scale - mean[c]) / std[c], written straight into one Float32Array in the
 *   model's layout (NCHW or NHWC); channel conversion mono↔RGB/BGR follows the model's metadata.
 * - A ROI outside the frame gives that spot an error; the other spots go on.
 */

export type SourceOrder = 'MONO' | 'RGB' | 'BGR';

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  order: SourceOrder;
}

export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
  rotation: number;
}

export interface CropInfo {
  spotId: string;
  box: CropBox;
  /** row of this spot in the batch (absent when error is set) */
  index?: number;
  error?: string;
  expectedDiameter?: number;
  stackupThickness?: number;
  head?: string | string[];
  /** re-centring: where the nugget was found, relative to the spot's (located) nominal centre, frame px */
  offset?: { dx: number; dy: number; score: number };
  /** re-centring was asked for but no nugget was found within the margin: cut at the nominal place */
  recenter?: 'not found';
  png?: Buffer;
}

export interface Batch {
  data: Float32Array;
  dims: [number, number, number, number];
  layout: 'NCHW' | 'NHWC';
  spotIds: string[];
  model?: { name: string; version: string };
}

export interface CropPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface CropResult {
  crops: CropInfo[];
  batch: Batch;
  /** the pixels of each cut ROI (index = batch row), only with keepPixels */
  pixels?: CropPixels[];
}

const RAW_FORMATS: Record<string, { channels: 1 | 3; order: SourceOrder }> = {
  mono8: { channels: 1, order: 'MONO' },
  rgb8: { channels: 3, order: 'RGB' },
  rgb8packed: { channels: 3, order: 'RGB' },
  bgr8: { channels: 3, order: 'BGR' },
  bgr8packed: { channels: 3, order: 'BGR' },
};
/** GenICam PFNC unpacked grey formats: one little-endian 16-bit word per pixel, the value in the low bits. */
const RAW16_FORMATS: Record<string, number> = { mono10: 1023, mono12: 4095, mono16: 65535 };
const ENCODED_FORMATS = new Set(['png', 'jpeg', 'jpg', 'tiff', 'bmp', 'webp', 'encoded']);

/**
 * 16-bit samples → 8-bit pixels: round(v · 255 / max), where max is the format's largest value (1023 for Mono10,
 * 4095 for Mono12, 65535 for Mono16 and 16-bit PNG/TIFF), so black stays 0 and full scale becomes 255; a value
 * above max (bits beyond the format) counts as max. The model sees the same 0…255 range as from an 8-bit frame.
 */
export function to8bit(words: Uint8Array, max: number): Uint8Array {
  const n = words.length >> 1;
  const out = new Uint8Array(n);
  const k = 255 / max;
  for (let i = 0; i < n; i++) {
    const v = words[2 * i] | (words[2 * i + 1] << 8);
    out[i] = v >= max ? 255 : Math.round(v * k);
  }
  return out;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/**
 * msg.frame → raw pixels. Raw frames (Mono8/RGB8/BGR8 with data of width*height*channels bytes) are used in
 * place, without a copy; Mono10/12/16 are scaled to 8 bits (to8bit, one copy); an encoded frame (frame.encoded, or data with pixelFormat png/jpeg/…) is decoded
 * once with sharp.
 */
export async function frameToImage(frame: unknown, where = 'msg.frame'): Promise<RawImage> {
  const raw = rawImageOf(frame, where);
  if (raw) return raw;
  const f = frame as Record<string, unknown>;
  const encoded = isBytes(f.encoded) ? f.encoded : f.data;
  if (!isBytes(encoded)) throw new SpotFusionError('FRAME', `${where} has no pixel data (data or encoded must be a Buffer)`);
  return decodeImage(encoded, where);
}

/** The raw view of a frame, or undefined when it must be decoded; throws on frames that are neither. */
export function rawImageOf(frame: unknown, where = 'msg.frame'): RawImage | undefined {
  if (typeof frame !== 'object' || frame === null) throw new SpotFusionError('FRAME', `${where} is missing (the crop node needs a camera frame)`);
  const f = frame as Record<string, unknown>;
  const fmt = typeof f.pixelFormat === 'string' ? f.pixelFormat.toLowerCase() : '';
  const spec = RAW_FORMATS[fmt];
  if (spec && isBytes(f.data)) {
    const { width, height } = f;
    if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) <= 0 || (height as number) <= 0) {
      throw new SpotFusionError('FRAME', `${where}.width and .height must be positive integers`);
    }
    const need = (width as number) * (height as number) * spec.channels;
    if (f.data.length !== need) {
      throw new SpotFusionError('FRAME', `${where}.data has ${f.data.length} bytes; ${f.pixelFormat as string} ${width as number}×${height as number} needs ${need}`);
    }
    // a plain Uint8Array view of the same memory (no copy): its subarray() is cheaper than a Buffer's
    const data = new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.length);
    return { data, width: width as number, height: height as number, channels: spec.channels, order: spec.order };
  }
  const max16 = RAW16_FORMATS[fmt];
  if (max16 !== undefined && isBytes(f.data)) {
    const { width, height } = f;
    if (!Number.isInteger(width) || !Number.isInteger(height) || (width as number) <= 0 || (height as number) <= 0) {
      throw new SpotFusionError('FRAME', `${where}.width and .height must be positive integers`);
    }
    const need = (width as number) * (height as number) * 2;
    if (f.data.length !== need) {
      throw new SpotFusionError('FRAME', `${where}.data has ${f.data.length} bytes; ${f.pixelFormat as string} ${width as number}×${height as number} needs ${need} (2 bytes a pixel)`);
    }
    return { data: to8bit(f.data, max16), width: width as number, height: height as number, channels: 1, order: 'MONO' };
  }
  if (isBytes(f.encoded) || (isBytes(f.data) && (fmt === '' || ENCODED_FORMATS.has(fmt)))) return undefined;
  if (fmt && !spec && !ENCODED_FORMATS.has(fmt)) {
    throw new SpotFusionError(
      'FRAME',
      `${where}.pixelFormat "${f.pixelFormat as string}" is not supported (Mono8, RGB8, BGR8, Mono10/Mono12/Mono16, or an encoded PNG/JPEG/TIFF)`,
    );
  }
  throw new SpotFusionError('FRAME', `${where} has no pixel data (data or encoded must be a Buffer)`);
}

export async function decodeImage(bytes: Uint8Array, where = 'image'): Promise<RawImage> {
  try {
    // sharp's raw output is sRGB unless told otherwise: keep grey images grey (1 byte per pixel)
    const meta = await sharp(bytes).metadata();
    const grey = (meta.channels ?? 3) <= 2;
    // 16 bits a sample (PNG, TIFF): decoded at 16 bits and scaled as raw Mono16 (to8bit), not left to libvips
    const wide = meta.depth === 'ushort';
    const pipeline = sharp(bytes).removeAlpha();
    if (wide) pipeline.toColourspace(grey ? 'grey16' : 'rgb16');
    else if (grey) pipeline.toColourspace('b-w');
    const { data, info } = await pipeline.raw({ depth: wide ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 && info.channels !== 3) {
      throw new SpotFusionError('FRAME', `${where}: decoded image has ${info.channels} channels (expected 1 or 3)`);
    }
    const pixels = wide ? to8bit(data, 65535) : data;
    return { data: pixels, width: info.width, height: info.height, channels: info.channels, order: info.channels === 1 ? 'MONO' : 'RGB' };
  } catch (err) {
    if (err instanceof SpotFusionError) throw err;
    throw new SpotFusionError('FRAME', `${where} could not be decoded: ${(err as Error).message}`, { cause: err });
  }
}

/** weights[c][k]: model channel c = Σ_k weights[c][k] · source channel k */
function channelWeights(src: RawImage, pre: Preprocess): number[][] {
  if (src.channels === 1) return pre.channels === 1 ? [[1]] : [[1], [1], [1]];
  // source is RGB or BGR; index of R, G, B in the source
  const r = src.order === 'BGR' ? 2 : 0;
  const b = 2 - r;
  const pick = (k: number): number[] => [0, 1, 2].map((i) => (i === k ? 1 : 0));
  if (pre.channels === 1) {
    const w = [0, 0, 0];
    w[r] = 0.299;
    w[1] = 0.587;
    w[b] = 0.114;
    return [w];
  }
  return pre.channelOrder === 'RGB' ? [pick(r), pick(1), pick(b)] : [pick(b), pick(1), pick(r)];
}

/** Where a ROI lies outside the frame, the reason; undefined when it is inside. */
export function roiProblem(spot: Spot, width: number, height: number): string | undefined {
  const rot = spot.rotation ?? 0;
  const outside = `ROI ${spot.w}×${spot.h} at (${spot.x}, ${spot.y})${rot ? ` rotated ${rot}°` : ''} lies outside the ${width}×${height} frame`;
  if (!rot) {
    if (spot.x < 0 || spot.y < 0 || spot.x + spot.w > width || spot.y + spot.h > height) return outside;
    return undefined;
  }
  const eps = 1e-6;
  for (const [bx, by] of [[0, 0], [spot.w, 0], [0, spot.h], [spot.w, spot.h]]) {
    const [fx, fy] = boxToFrame(spot, bx, by);
    if (fx < -eps || fy < -eps || fx > width + eps || fy > height + eps) return outside;
  }
  return undefined;
}

/** continuous box coordinates (0..w, 0..h) → continuous frame coordinates, for a rotated box */
function boxToFrame(spot: Spot, bx: number, by: number): [number, number] {
  const t = ((spot.rotation ?? 0) * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const dx = bx - spot.w / 2;
  const dy = by - spot.h / 2;
  return [spot.x + spot.w / 2 + dx * cos + dy * sin, spot.y + spot.h / 2 - dx * sin + dy * cos];
}

/** A box that cannot be cut by row copies: turned, or at a fractional place (moved by location/re-centring). */
function sampled(spot: Spot): boolean {
  return !!spot.rotation || !Number.isInteger(spot.x) || !Number.isInteger(spot.y);
}

/** Per-axis bilinear taps for resizing `inSize` → `outSize` (half-pixel centres, clamped). */
interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}
const tapCache = new Map<number, Taps>();
function taps(inSize: number, outSize: number): Taps {
  const key = inSize * 65536 + outSize;
  let t = tapCache.get(key);
  if (t) return t;
  t = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), f: new Float32Array(outSize) };
  const ratio = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    let s = (o + 0.5) * ratio - 0.5;
    if (s < 0) s = 0;
    if (s > inSize - 1) s = inSize - 1;
    const i0 = Math.floor(s);
    t.i0[o] = i0;
    t.i1[o] = Math.min(i0 + 1, inSize - 1);
    t.f[o] = s - i0;
  }
  if (tapCache.size > 256) tapCache.clear();
  tapCache.set(key, t);
  return t;
}

export interface CropOptions {
  /** keep the cut pixels of each ROI (for PNGs); off on the hot path */
  keepPixels?: boolean;
  model?: { name: string; version: string };
}

/** Cut, resize and normalise every spot into one batch. */
/** batches made by cropBatch in this process: frozen, so one still here is as it was made (valid) */
const madeHere = new WeakSet<object>();

/**
 * True when `batch` is a batch cropBatch made in this process, unchanged (it is frozen): infer skips the schema
 * check for it. A copy (Node-RED deep-copies a message for a second wire) or a batch built elsewhere is checked.
 */
export function isOwnBatch(batch: unknown): boolean {
  return typeof batch === 'object' && batch !== null && madeHere.has(batch);
}

export function cropBatch(img: RawImage, spots: readonly Spot[], pre: Preprocess, opts: CropOptions = {}): CropResult {
  const crops: CropInfo[] = [];
  const good: Spot[] = [];
  for (const spot of spots as ReadonlyArray<Spot & Pick<CropInfo, 'offset'> & { notFound?: boolean }>) {
    const info: CropInfo = { spotId: spot.id, box: { x: spot.x, y: spot.y, w: spot.w, h: spot.h, rotation: spot.rotation ?? 0 } };
    if (spot.offset) info.offset = spot.offset;
    if (spot.notFound) info.recenter = 'not found';
    if (spot.expectedDiameter !== undefined) info.expectedDiameter = spot.expectedDiameter;
    if (spot.stackupThickness !== undefined) info.stackupThickness = spot.stackupThickness;
    if (spot.head !== undefined) info.head = spot.head;
    const problem = roiProblem(spot, img.width, img.height);
    if (problem) info.error = problem;
    else {
      info.index = good.length;
      good.push(spot);
    }
    crops.push(info);
  }
  const { width: W, height: H, channels: C } = pre;
  const plane = W * H;
  const per = plane * C;
  const data = new Float32Array(good.length * per);
  const weights = channelWeights(img, pre);
  // normalisation folded into one multiply-add per channel: v * a[c] + b[c]
  const a = pre.std.map((s) => pre.scale / s);
  const b = pre.mean.map((m, c) => -m / pre.std[c]);
  const S = img.channels;
  const pixels: CropPixels[] | undefined = opts.keepPixels ? [] : undefined;
  let scratch = new Uint8Array(0);
  // where channel c of pixel (x, y) of crop n goes
  const chw = pre.layout === 'NCHW';
  const chanStride = chw ? plane : 1;
  const pixStride = chw ? 1 : C;

  good.forEach((spot, n) => {
    const base = n * per;
    if (sampled(spot)) {
      sampleRotated(img, spot, pre, weights, a, b, data, base, chanStride, pixStride);
      if (pixels) pixels.push(rotatedPixels(img, spot));
      return;
    }
    // 1. cut: one typed-array row copy per ROI row
    const rowBytes = spot.w * S;
    const need = rowBytes * spot.h;
    if (scratch.length < need) scratch = new Uint8Array(need);
    const stride = img.width * S;
    let src = spot.y * stride + spot.x * S;
    for (let r = 0, dst = 0; r < spot.h; r++, src += stride, dst += rowBytes) {
      scratch.set(img.data.subarray(src, src + rowBytes), dst);
    }
    if (pixels) pixels.push({ data: scratch.slice(0, need), width: spot.w, height: spot.h, channels: S });
    // 2. resize + channel mapping + normalisation straight into the batch
    resizeInto(scratch, spot.w, spot.h, S, W, H, weights, a, b, data, base, chanStride, pixStride);
  });

  const batch: Batch = { data, dims: batchDims(pre, good.length), layout: pre.layout, spotIds: good.map((s) => s.id) };
  if (opts.model) batch.model = Object.freeze({ name: opts.model.name, version: opts.model.version });
  Object.freeze(batch.dims);
  Object.freeze(batch.spotIds);
  madeHere.add(Object.freeze(batch));
  const result: CropResult = { crops, batch };
  if (pixels) result.pixels = pixels;
  return result;
}

function resizeInto(
  src: Uint8Array,
  w: number,
  h: number,
  S: number,
  W: number,
  H: number,
  weights: number[][],
  a: number[],
  b: number[],
  out: Float32Array,
  base: number,
  chanStride: number,
  pixStride: number,
): void {
  const C = weights.length;
  if (S === 1) {
    // the hot path: mono source
    if (w === W && h === H) {
      for (let c = 0; c < C; c++) {
        const ac = a[c];
        const bc = b[c];
        let o = base + c * chanStride;
        for (let i = 0; i < w * h; i++, o += pixStride) out[o] = src[i] * ac + bc;
      }
      return;
    }
    const tx = taps(w, W);
    const ty = taps(h, H);
    for (let oy = 0; oy < H; oy++) {
      const r0 = ty.i0[oy] * w;
      const r1 = ty.i1[oy] * w;
      const fy = ty.f[oy];
      for (let ox = 0; ox < W; ox++) {
        const x0 = tx.i0[ox];
        const x1 = tx.i1[ox];
        const fx = tx.f[ox];
        const top = src[r0 + x0] + (src[r0 + x1] - src[r0 + x0]) * fx;
        const bot = src[r1 + x0] + (src[r1 + x1] - src[r1 + x0]) * fx;
        const v = top + (bot - top) * fy;
        let o = base + (oy * W + ox) * pixStride;
        for (let c = 0; c < C; c++, o += chanStride) out[o] = v * a[c] + b[c];
      }
    }
    return;
  }
  const tx = taps(w, W);
  const ty = taps(h, H);
  const samp = [0, 0, 0];
  for (let oy = 0; oy < H; oy++) {
    const r0 = ty.i0[oy] * w;
    const r1 = ty.i1[oy] * w;
    const fy = ty.f[oy];
    for (let ox = 0; ox < W; ox++) {
      const x0 = tx.i0[ox];
      const x1 = tx.i1[ox];
      const fx = tx.f[ox];
      for (let k = 0; k < S; k++) {
        const p00 = src[(r0 + x0) * S + k];
        const p01 = src[(r0 + x1) * S + k];
        const p10 = src[(r1 + x0) * S + k];
        const p11 = src[(r1 + x1) * S + k];
        const top = p00 + (p01 - p00) * fx;
        const bot = p10 + (p11 - p10) * fx;
        samp[k] = top + (bot - top) * fy;
      }
      let o = base + (oy * W + ox) * pixStride;
      for (let c = 0; c < C; c++, o += chanStride) {
        const wc = weights[c];
        let v = 0;
        for (let k = 0; k < S; k++) v += wc[k] * samp[k];
        out[o] = v * a[c] + b[c];
      }
    }
  }
}

/** bilinear sample of channel k at continuous pixel-centre coordinates (px, py), clamped to the frame */
function sampleAt(img: RawImage, px: number, py: number, k: number): number {
  const maxX = img.width - 1;
  const maxY = img.height - 1;
  const x = px < 0 ? 0 : px > maxX ? maxX : px;
  const y = py < 0 ? 0 : py > maxY ? maxY : py;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = x0 < maxX ? x0 + 1 : maxX;
  const y1 = y0 < maxY ? y0 + 1 : maxY;
  const fx = x - x0;
  const fy = y - y0;
  const S = img.channels;
  const d = img.data;
  const w = img.width;
  const p00 = d[(y0 * w + x0) * S + k];
  const p01 = d[(y0 * w + x1) * S + k];
  const p10 = d[(y1 * w + x0) * S + k];
  const p11 = d[(y1 * w + x1) * S + k];
  const top = p00 + (p01 - p00) * fx;
  const bot = p10 + (p11 - p10) * fx;
  return top + (bot - top) * fy;
}

/**
 * A rotated (or fractionally placed) ROI is sampled straight from the frame at the model's size (one
 * interpolation, not two). The box's axes are stepped incrementally: no trigonometry per pixel.
 */
function sampleRotated(
  img: RawImage,
  spot: Spot,
  pre: Preprocess,
  weights: number[][],
  a: number[],
  b: number[],
  out: Float32Array,
  base: number,
  chanStride: number,
  pixStride: number,
): void {
  const { width: W, height: H } = pre;
  const C = weights.length;
  const S = img.channels;
  const samp = [0, 0, 0];
  const t = ((spot.rotation ?? 0) * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const sx = spot.w / W;
  const sy = spot.h / H;
  // frame position (pixel-centre coordinates) of output pixel (ox, oy): origin + ox·u + oy·v
  const ux = sx * cos;
  const uy = -sx * sin;
  const vx = sy * sin;
  const vy = sy * cos;
  const bx0 = 0.5 * sx - spot.w / 2;
  const by0 = 0.5 * sy - spot.h / 2;
  const ox0 = spot.x + spot.w / 2 + bx0 * cos + by0 * sin - 0.5;
  const oy0 = spot.y + spot.h / 2 - bx0 * sin + by0 * cos - 0.5;
  for (let oy = 0; oy < H; oy++) {
    let fx = ox0 + oy * vx;
    let fy = oy0 + oy * vy;
    for (let ox = 0; ox < W; ox++, fx += ux, fy += uy) {
      if (S === 1 && C === 1) {
        out[base + (oy * W + ox) * pixStride] = sampleAt(img, fx, fy, 0) * a[0] + b[0];
        continue;
      }
      for (let k = 0; k < S; k++) samp[k] = sampleAt(img, fx, fy, k);
      let o = base + (oy * W + ox) * pixStride;
      for (let c = 0; c < C; c++, o += chanStride) {
        const wc = weights[c];
        let v = 0;
        for (let k = 0; k < S; k++) v += wc[k] * samp[k];
        out[o] = v * a[c] + b[c];
      }
    }
  }
}

function rotatedPixels(img: RawImage, spot: Spot): CropPixels {
  const S = img.channels;
  const data = new Uint8Array(spot.w * spot.h * S);
  for (let y = 0; y < spot.h; y++) {
    for (let x = 0; x < spot.w; x++) {
      const [fx, fy] = boxToFrame(spot, x + 0.5, y + 0.5);
      for (let k = 0; k < S; k++) data[(y * spot.w + x) * S + k] = Math.round(sampleAt(img, fx - 0.5, fy - 0.5, k));
    }
  }
  return { data, width: spot.w, height: spot.h, channels: S };
}

/** PNG of each cut ROI (only when asked: archive, dashboard); sharp encodes off the event loop. */
export async function attachPngs(result: CropResult): Promise<void> {
  if (!result.pixels) throw new SpotFusionError('CROP', 'attachPngs needs a crop made with keepPixels');
  const pixels = result.pixels;
  await Promise.all(
    result.crops.map(async (c) => {
      if (c.index === undefined) return;
      const p = pixels[c.index];
      const img = sharp(p.data, { raw: { width: p.width, height: p.height, channels: p.channels } });
      if (p.channels === 1) img.toColourspace('b-w');
      c.png = await img.png({ compressionLevel: 3 }).toBuffer();
    }),
  );
}
