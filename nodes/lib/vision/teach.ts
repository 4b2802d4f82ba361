import { randomBytes } from 'node:crypto';
import sharp from './sharp';
import { SpotFusionError } from '../errors';
import { RawImage, cropBatch, decodeImage, rawImageOf } from './crop';
import { LocateSummary, locateSummary, placeRecipe, teachLocate } from './locate';
import type { Model, Prediction } from './model';
import type { LocateSpec, Recipe } from './recipe';
import { SpotResult, VerdictRules, judgeSpot, parseRules } from '../result/verdict';

/**
 * Teaching a recipe on a real frame (the teach view of the recipe config dialog, resources/teach/*.js): the
 * frames the view shows are kept here, in memory, by a random id (grabbed from a camera, or uploaded), so the
 * browser sends a frame once and then only names it. Nothing here reads or writes files.
 */

/** largest upload body accepted (bytes): a 2448×2048 TIFF is ~5 MB, a 12 MP Mono8 raw 12 MB */
export const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;
/** largest frame decoded or kept (pixels): a decompression bomb stops at the header */
export const MAX_FRAME_PIXELS = 40_000_000;
/** largest side of a frame */
export const MAX_FRAME_SIDE = 16384;

export interface StoredFrame {
  id: string;
  image: RawImage;
  /** where it came from: "camera <id>", "upload" */
  source: string;
  created: number;
}

/** The frames of the teach views, newest kept: at most `maxFrames` and `maxBytes`, each for `ttlMs`. */
export class FrameStore {
  private readonly frames = new Map<string, StoredFrame>();

  constructor(
    readonly maxFrames = 8,
    readonly maxBytes = 256 * 1024 * 1024,
    readonly ttlMs = 30 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.frames.size;
  }

  put(image: RawImage, source: string): StoredFrame {
    const f: StoredFrame = { id: randomBytes(12).toString('hex'), image, source, created: this.now() };
    this.frames.set(f.id, f);
    this.prune();
    return f;
  }

  /** The frame of `id`, or undefined for an id that is unknown, malformed or expired. */
  get(id: unknown): StoredFrame | undefined {
    if (typeof id !== 'string' || !/^[0-9a-f]{24}$/.test(id)) return undefined;
    this.prune();
    return this.frames.get(id);
  }

  private prune(): void {
    const t = this.now();
    for (const [id, f] of this.frames) if (t - f.created > this.ttlMs) this.frames.delete(id);
    let bytes = 0;
    for (const f of this.frames.values()) bytes += f.image.data.length;
    // oldest first (a Map keeps insertion order); the newest frame always stays
    for (const [id, f] of this.frames) {
      if (this.frames.size <= 1 || (this.frames.size <= this.maxFrames && bytes <= this.maxBytes)) break;
      this.frames.delete(id);
      bytes -= f.image.data.length;
    }
  }
}

function checkSide(v: unknown, what: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_FRAME_SIDE) throw new SpotFusionError('FRAME', `${what} must be an integer 1…${MAX_FRAME_SIDE}`);
  return n;
}

/**
 * An uploaded file as a frame: raw Mono8 (`format` "mono8" with its width and height: exactly width·height bytes)
 * or an encoded image (PNG, JPEG, TIFF…), whose header is read first so an oversized image is refused before it
 * is decoded.
 */
export async function decodeUpload(bytes: Buffer, format: string, width?: unknown, height?: unknown): Promise<RawImage> {
  if (bytes.length === 0) throw new SpotFusionError('FRAME', 'the upload is empty');
  if (bytes.length > MAX_UPLOAD_BYTES) throw new SpotFusionError('TOO_LARGE', `the upload has ${bytes.length} bytes; at most ${MAX_UPLOAD_BYTES}`);
  if (format === 'mono8') {
    const w = checkSide(width, 'width');
    const h = checkSide(height, 'height');
    if (w * h > MAX_FRAME_PIXELS) throw new SpotFusionError('TOO_LARGE', `${w}×${h} is more than ${MAX_FRAME_PIXELS} pixels`);
    if (bytes.length !== w * h) throw new SpotFusionError('FRAME', `raw Mono8 ${w}×${h} needs ${w * h} bytes, the upload has ${bytes.length}`);
    return rawImageOf({ data: bytes, width: w, height: h, pixelFormat: 'Mono8' }, 'upload') as RawImage;
  }
  if (format !== 'image') throw new SpotFusionError('FRAME', `format must be "image" (PNG, JPEG, TIFF) or "mono8", got ${JSON.stringify(format)}`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw new SpotFusionError('FRAME', `the upload is not a readable image: ${(err as Error).message}`, { cause: err });
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!w || !h) throw new SpotFusionError('FRAME', 'the upload has no image size');
  if (w > MAX_FRAME_SIDE || h > MAX_FRAME_SIDE || w * h > MAX_FRAME_PIXELS) throw new SpotFusionError('TOO_LARGE', `${w}×${h} is larger than ${MAX_FRAME_PIXELS} pixels or ${MAX_FRAME_SIDE} a side`);
  return decodeImage(bytes, 'upload');
}

/** The frame as PNG for the browser (grey stays one channel; BGR is turned to RGB). */
export async function framePng(img: RawImage): Promise<Buffer> {
  let data: Uint8Array = img.data;
  if (img.order === 'BGR') {
    const rgb = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i += 3) {
      rgb[i] = data[i + 2];
      rgb[i + 1] = data[i + 1];
      rgb[i + 2] = data[i];
    }
    data = rgb;
  }
  return sharp(data, { raw: { width: img.width, height: img.height, channels: img.channels } }).png({ compressionLevel: 1 }).toBuffer();
}

export interface TrySpot extends SpotResult {
  /** where the spot was cut in this frame (located, re-centred) */
  box: { x: number; y: number; w: number; h: number; rotation?: number };
}

export interface TryResult {
  program: string | number;
  model?: { name: string; version: string };
  locate?: LocateSummary;
  spots: TrySpot[];
  ms: number;
}

/**
 * Try a recipe on a frame as the station would: locate the part (when the recipe has a locate section), move and
 * re-centre the ROIs, cut them, run the model and judge each spot with `rules` (default rules when absent).
 * A part that is not located answers with the locate result and no spots.
 */
export async function tryRecipe(img: RawImage, recipe: Recipe, model: Model, rules: VerdictRules = parseRules({})): Promise<TryResult> {
  const started = process.hrtime.bigint();
  const placed = placeRecipe(img, recipe);
  const out: TryResult = { program: recipe.program, model: model.id, spots: [], ms: 0 };
  if (placed.locate) out.locate = locateSummary(placed.locate);
  if (!placed.locate || placed.locate.ok) {
    const cut = cropBatch(img, placed.spots, model.preprocess, { model: model.id });
    const heads = new Map<string, string[]>();
    for (const c of cut.crops) if (c.head !== undefined) heads.set(c.spotId, Array.isArray(c.head) ? c.head : [c.head]);
    const preds: Prediction[] = cut.batch.spotIds.length ? await model.run(cut.batch, heads.size ? heads : undefined) : [];
    const byId = new Map(preds.map((p) => [p.spotId, p]));
    for (const c of cut.crops) {
      const pred = byId.get(c.spotId) ?? { spotId: c.spotId, error: c.error ?? 'not inferred' };
      const { spot } = judgeSpot(rules, c.spotId, pred, { spotId: c.spotId, box: c.box, stackupThickness: c.stackupThickness, error: c.error, offset: c.offset });
      out.spots.push({ ...spot, box: { ...c.box } });
    }
  }
  out.ms = Number((Number(process.hrtime.bigint() - started) / 1e6).toFixed(1));
  return out;
}

/** The part reference cut from the shown (golden) frame: a locate section for the recipe. */
export function teachReference(
  img: RawImage,
  regions: unknown,
  opts: { searchRange?: unknown; minScore?: unknown; rotationRange?: unknown } = {},
): LocateSpec {
  if (!Array.isArray(regions) || regions.length < 1 || regions.length > 8) throw new SpotFusionError('RECIPE', 'regions must be a list of 1…8 reference regions');
  const list = regions.map((r: unknown, i) => {
    const o = (r ?? {}) as Record<string, unknown>;
    const id = typeof o.id === 'string' && o.id.trim() ? o.id.trim().slice(0, 64) : `F${i + 1}`;
    const [x, y, w, h] = ['x', 'y', 'w', 'h'].map((k) => Math.round(Number(o[k])));
    if (![x, y, w, h].every(Number.isFinite)) throw new SpotFusionError('RECIPE', `regions[${i}] needs numbers x, y, w, h`);
    if (w > 512 || h > 512) throw new SpotFusionError('RECIPE', `regions[${i}] (${id}): at most 512×512 px, got ${w}×${h}`);
    return { id, x, y, w, h };
  });
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return teachLocate(img, list, { searchRange: num(opts.searchRange), minScore: num(opts.minScore), rotationRange: num(opts.rotationRange) });
}
