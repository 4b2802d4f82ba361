/**
 * Part location ("fixturing"): where is the part in this frame, relative to the golden frame its recipe was
 * taught on? Each reference feature of the recipe (a Mono8 patch cut from the golden frame) is searched near
 * its taught position by zero-mean normalised cross-correlation (NCC), coarse to fine on a pyramid of the search
 * window (2×2 averages, 1–3 levels until the patch is ≥ 12 px): the coarsest level exhaustively, each finer level
 * by hill-climbing from the peak above, and the full-resolution peak to sub-pixel by a parabola through the
 * scores next to it. Two or more features give translation and rotation (least squares
 * rigid fit of the found centres to the taught ones); a single feature also searches over a small set of
 * rotated copies of its patch and refines the angle with a parabola. The recipe's ROIs are then moved with the
 * rigid transform before they are cut (see placeSpots).
 *
 * Per-spot re-centring: NCC of a ring model (dark nugget of the expected diameter inside a brighter ring) over
 * a small margin around the spot's (moved) centre, at half resolution then full resolution.
 *
 * Coordinates are continuous frame coordinates, as in crop.ts: pixel (i, j) covers [i, i+1) × [j, j+1). The
 * transform is a rotation by angleDeg (counter-clockwise on screen, y down) about the frame centre
 * (width/2, height/2) followed by a translation (dx, dy):
 *   x' = cx + (x − cx)·cos θ + (y − cy)·sin θ + dx,   y' = cy − (x − cx)·sin θ + (y − cy)·cos θ + dy.
 *
 * Cost: no per-pixel allocation; the windows are copied into module-level scratch buffers that grow as needed
 * (the functions are synchronous, so one set of scratch buffers is enough); templates are prepared once per
 * recipe object (WeakMap: a locate section is not to be changed after its first use; a reloaded recipe file is a
 * new object) and their pixel offsets once per window stride. An inline msg.recipe is parsed, and so prepared,
 * for every message.
 */
import { SpotFusionError } from '../errors';
import type { RawImage } from './crop';
import type { LocateSpec, Recipe, Spot } from './recipe';

export interface Placement {
  dx: number;
  dy: number;
  angleDeg: number;
}

export interface FeatureMatch {
  id: string;
  /** found centre of the feature, frame px */
  x: number;
  y: number;
  score: number;
  /** the angle this feature was matched at (single-feature rotation search), degrees */
  angleDeg?: number;
}

export interface LocateResult extends Placement {
  /** the lowest feature score: the part's location score */
  score: number;
  minScore: number;
  ok: boolean;
  /** why the part is not located (ok false) */
  reason?: string;
  features: FeatureMatch[];
  /** largest distance between a found feature centre and its taught centre moved by the fitted transform, px */
  residual: number;
}

// ------------------------------------------------------------------ scratch buffers

let winBuf: Uint8Array = new Uint8Array(0);
let coarseBuf: Uint8Array = new Uint8Array(0);
let mapBuf = new Float32Array(0);

function scratch(buf: Uint8Array, n: number): Uint8Array {
  return buf.length >= n ? buf : new Uint8Array(Math.max(n, buf.length * 2));
}

/**
 * Copy the window [x0, x0+w) × [y0, y0+h) of the frame into `out` as Mono8 (RGB/BGR: BT.601 luma, integer).
 * The window must lie inside the frame.
 */
function copyWindow(img: RawImage, x0: number, y0: number, w: number, h: number, out: Uint8Array): void {
  const W = img.width;
  const d = img.data;
  if (img.channels === 1) {
    for (let r = 0; r < h; r++) {
      const src = (y0 + r) * W + x0;
      out.set(d.subarray(src, src + w), r * w);
    }
    return;
  }
  const rI = img.order === 'BGR' ? 2 : 0;
  const bI = 2 - rI;
  for (let r = 0; r < h; r++) {
    let s = ((y0 + r) * W + x0) * 3;
    let o = r * w;
    for (let c = 0; c < w; c++, s += 3, o++) out[o] = (d[s + rI] * 77 + d[s + 1] * 150 + d[s + bI] * 29 + 128) >> 8;
  }
}

/** Box average by f (integer): (w, h) → (floor(w/f), floor(h/f)). */
function downsample(src: Uint8Array, w: number, h: number, f: number, out: Uint8Array): { w: number; h: number } {
  const cw = Math.floor(w / f);
  const ch = Math.floor(h / f);
  const area = f * f;
  const half = area >> 1;
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let sum = 0;
      let row = cy * f * w + cx * f;
      for (let j = 0; j < f; j++, row += w) for (let i = 0; i < f; i++) sum += src[row + i];
      out[cy * cw + cx] = ((sum + half) / area) | 0;
    }
  }
  return { w: cw, h: ch };
}

// ------------------------------------------------------------------ templates

/**
 * A zero-mean template. Unmasked: dense row-major values (the hot loop reads image rows straight). Masked
 * (rotated patches, the nugget's ring model): a list of pixels with their offsets for one window stride.
 */
export interface Template {
  /** bounding box size */
  w: number;
  h: number;
  /** number of pixels that take part */
  n: number;
  /** dense w·h zero-mean values, when unmasked */
  dense: Float32Array | null;
  dx: Int16Array;
  dy: Int16Array;
  v: Float32Array;
  /** sqrt(Σ v²) */
  norm: number;
  /** pixel offsets for one window stride (masked templates) */
  offStride: number;
  off: Int32Array;
}

/**
 * Template from a dense w×h grey patch (numbers 0…255) and an optional mask; the values are made zero-mean.
 * A flat template (no contrast) has norm 0: it never matches.
 */
export function makeTemplate(pixels: ArrayLike<number>, w: number, h: number, mask?: (x: number, y: number) => boolean): Template {
  const xs: number[] = [];
  const ys: number[] = [];
  const vs: number[] = [];
  let sum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (mask && !mask(x, y)) continue;
      xs.push(x);
      ys.push(y);
      const v = pixels[y * w + x];
      vs.push(v);
      sum += v;
    }
  }
  const n = vs.length;
  const mean = n ? sum / n : 0;
  const v = new Float32Array(n);
  let ss = 0;
  for (let k = 0; k < n; k++) {
    v[k] = vs[k] - mean;
    ss += v[k] * v[k];
  }
  return { w, h, n, dense: mask ? null : v, dx: Int16Array.from(xs), dy: Int16Array.from(ys), v, norm: Math.sqrt(ss), offStride: -1, off: new Int32Array(n) };
}

function offsets(t: Template, stride: number): Int32Array {
  if (t.offStride !== stride) {
    for (let k = 0; k < t.n; k++) t.off[k] = t.dy[k] * stride + t.dx[k];
    t.offStride = stride;
  }
  return t.off;
}

/** NCC of template t with its top-left at image index `base` (image rows `stride` wide); a flat patch scores 0. */
function nccAt(img: Uint8Array, stride: number, base: number, t: Template): number {
  const n = t.n;
  let s = 0;
  let s2 = 0;
  let st = 0;
  const dense = t.dense;
  if (dense) {
    const w = t.w;
    let k = 0;
    for (let row = base, j = 0; j < t.h; j++, row += stride) {
      for (let i = 0; i < w; i++, k++) {
        const p = img[row + i];
        s += p;
        s2 += p * p;
        st += p * dense[k];
      }
    }
  } else {
    const off = offsets(t, stride);
    const v = t.v;
    for (let k = 0; k < n; k++) {
      const p = img[base + off[k]];
      s += p;
      s2 += p * p;
      st += p * v[k];
    }
  }
  const varI = s2 - (s * s) / n;
  return varI > 1e-6 && t.norm > 0 ? st / (Math.sqrt(varI) * t.norm) : 0;
}

/** Offset of the peak of a parabola through (−1, a), (0, b), (1, c), clamped to ±0.5. */
function parabola(a: number, b: number, c: number): number {
  const den = a - 2 * b + c;
  if (!(den < 0)) return 0;
  const d = (0.5 * (a - c)) / den;
  return d > 0.5 ? 0.5 : d < -0.5 ? -0.5 : d;
}

interface Peak {
  /** sub-pixel top-left position in the searched image */
  x: number;
  y: number;
  score: number;
}

/** Every top-left position in [x0, x1] × [y0, y1]: the best, with a sub-pixel peak. */
function scan(img: Uint8Array, stride: number, t: Template, x0: number, x1: number, y0: number, y1: number): Peak {
  const mw = x1 - x0 + 1;
  const need = mw * (y1 - y0 + 1);
  if (mapBuf.length < need) mapBuf = new Float32Array(Math.max(need, mapBuf.length * 2));
  const map = mapBuf;
  let best = 0;
  let bestS = -Infinity;
  for (let y = y0, i = 0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++, i++) {
      const sc = nccAt(img, stride, y * stride + x, t);
      map[i] = sc;
      if (sc > bestS) {
        bestS = sc;
        best = i;
      }
    }
  }
  const bx = best % mw;
  const by = (best - bx) / mw;
  const fx = bx > 0 && bx < mw - 1 ? parabola(map[best - 1], bestS, map[best + 1]) : 0;
  const fy = by > 0 && y0 + by < y1 ? parabola(map[best - mw], bestS, map[best + mw]) : 0;
  return { x: x0 + bx + fx, y: y0 + by + fy, score: bestS };
}

const around = new Float64Array(9);

/**
 * Hill-climb from the integer top-left (sx, sy) to the local NCC maximum over 3×3 neighbourhoods (at most
 * `steps` moves), then a sub-pixel peak from the scores next to it. Positions stay within [0, maxX] × [0, maxY].
 */
function climb(img: Uint8Array, stride: number, t: Template, sx: number, sy: number, maxX: number, maxY: number, steps = 12): Peak {
  let x = Math.min(Math.max(0, sx), maxX);
  let y = Math.min(Math.max(0, sy), maxY);
  for (let step = 0; ; step++) {
    let best = 4;
    for (let j = -1, k = 0; j <= 1; j++) {
      for (let i = -1; i <= 1; i++, k++) {
        const px = x + i;
        const py = y + j;
        around[k] = px < 0 || py < 0 || px > maxX || py > maxY ? -Infinity : nccAt(img, stride, py * stride + px, t);
        if (around[k] > around[best]) best = k;
      }
    }
    if (best === 4 || step >= steps) break;
    x += (best % 3) - 1;
    y += Math.floor(best / 3) - 1;
  }
  const c = around[4];
  const fx = Number.isFinite(around[3]) && Number.isFinite(around[5]) ? parabola(around[3], c, around[5]) : 0;
  const fy = Number.isFinite(around[1]) && Number.isFinite(around[7]) ? parabola(around[1], c, around[7]) : 0;
  return { x: x + fx, y: y + fy, score: c };
}

// ------------------------------------------------------------------ prepared features

/** One angle of a feature: its template at full resolution (levels[0]) and halved again and again. */
interface AngleTemplates {
  angleDeg: number;
  levels: Template[];
}

interface PreparedFeature {
  id: string;
  /** taught centre, frame px */
  cx: number;
  cy: number;
  w: number;
  h: number;
  minScore: number;
  /** number of pyramid levels below full resolution: the coarse factor is 2^depth */
  depth: number;
  /** index 0…: ascending angles; one (0°) unless the single-feature rotation search is on */
  angles: AngleTemplates[];
  /** the angles searched at the coarse level (indexes into angles) */
  coarseAngles: number[];
}

interface PreparedLocate {
  features: PreparedFeature[];
  range: number;
  maxAngle: number;
  maxResidual: number;
  frame: { width: number; height: number };
  /** angle step of the single-feature search, degrees */
  angleStep: number;
}

const prepared = new WeakMap<LocateSpec, PreparedLocate>();

/** Base64 Mono8 patch → bytes; errors name the field. */
export function decodePatch(patch: string, w: number, h: number, where: string): Uint8Array {
  const bytes = Buffer.from(patch, 'base64');
  if (bytes.length !== w * h) {
    throw new SpotFusionError('RECIPE', `${where}.patch has ${bytes.length} bytes after base64 decoding; a ${w}×${h} Mono8 patch needs ${w * h}`);
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Pyramid depth for a patch: the coarse template keeps at least 12 px on its short side (coarse factor ≤ 8). */
function pyramidDepth(w: number, h: number): number {
  let d = 0;
  while (d < 3 && Math.min(w, h) >> (d + 1) >= 12) d++;
  return d;
}

/** Bilinear rotation of a patch about its centre, inside the inscribed circle (the mask). */
function rotatePatch(src: Uint8Array, w: number, h: number, angleDeg: number): { px: Float32Array; mask: Uint8Array } {
  const t = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const px = new Float32Array(w * h);
  const mask = new Uint8Array(w * h);
  const hx = w / 2;
  const hy = h / 2;
  const r2 = (Math.min(hx, hy) - 1) ** 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const ox = x + 0.5 - hx;
      const oy = y + 0.5 - hy;
      if (ox * ox + oy * oy > r2) continue;
      // the part turned by θ shows at (ox, oy) what the golden frame shows at R(−θ)(ox, oy)
      const sx = hx + ox * cos - oy * sin - 0.5;
      const sy = hy + ox * sin + oy * cos - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < 0 || y0 < 0 || x0 + 1 >= w || y0 + 1 >= h) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * w + x0;
      const top = src[i] + (src[i + 1] - src[i]) * fx;
      const bot = src[i + w] + (src[i + w + 1] - src[i + w]) * fx;
      px[y * w + x] = top + (bot - top) * fy;
      mask[y * w + x] = 1;
    }
  }
  return { px, mask };
}

/** The template pyramid of one patch (and mask): each level the 2×2 average of the one above, as the window's. */
function templatePyramid(px: ArrayLike<number>, w: number, h: number, depth: number, mask?: Uint8Array): Template[] {
  const out: Template[] = [];
  let cur = Float32Array.from(px);
  let m = mask;
  let cw = w;
  let ch = h;
  for (let level = 0; ; level++) {
    const mm = m;
    const ww = cw;
    out.push(makeTemplate(level === 0 ? px : cur, cw, ch, mm ? (x, y) => mm[y * ww + x] === 1 : undefined));
    if (level === depth) return out;
    const nw = cw >> 1;
    const nh = ch >> 1;
    const next = new Float32Array(nw * nh);
    const nm = m ? new Uint8Array(nw * nh) : undefined;
    for (let y = 0; y < nh; y++) {
      for (let x = 0; x < nw; x++) {
        const i = 2 * y * cw + 2 * x;
        // the window is averaged with integer rounding: do the same
        next[y * nw + x] = Math.floor((cur[i] + cur[i + 1] + cur[i + cw] + cur[i + cw + 1] + 2) / 4);
        if (m && nm) nm[y * nw + x] = m[i] & m[i + 1] & m[i + cw] & m[i + cw + 1];
      }
    }
    cur = next;
    m = nm;
    cw = nw;
    ch = nh;
  }
}

/** Defaults of a recipe's locate section. */
export const LOCATE_DEFAULTS = { searchRange: 64, minScore: 0.6, rotationRange: 2, maxResidual: 3, angleStep: 0.25, coarseAngleStep: 1 } as const;

function prepare(spec: LocateSpec, where: string): PreparedLocate {
  let p = prepared.get(spec);
  if (p) return p;
  const rotationRange = spec.rotationRange ?? LOCATE_DEFAULTS.rotationRange;
  const rotate = spec.features.length === 1 && rotationRange > 0;
  const step = LOCATE_DEFAULTS.angleStep;
  const features = spec.features.map((ft, i): PreparedFeature => {
    const src = decodePatch(ft.patch, ft.w, ft.h, `${where}.features[${i}]`);
    const depth = pyramidDepth(ft.w, ft.h);
    const list = [0];
    if (rotate) for (let a = step; a <= rotationRange + 1e-9; a += step) list.push(a, -a);
    list.sort((x, y) => x - y);
    const angles = list.map((a): AngleTemplates => {
      if (!rotate) return { angleDeg: a, levels: templatePyramid(src, ft.w, ft.h, depth) };
      const r = rotatePatch(src, ft.w, ft.h, a);
      return { angleDeg: a, levels: templatePyramid(r.px, ft.w, ft.h, depth, r.mask) };
    });
    const every = Math.max(1, Math.round(LOCATE_DEFAULTS.coarseAngleStep / step));
    const zero = list.indexOf(0);
    const coarseAngles = angles.map((_, k) => k).filter((k) => (k - zero) % every === 0);
    return {
      id: ft.id,
      cx: ft.x + ft.w / 2,
      cy: ft.y + ft.h / 2,
      w: ft.w,
      h: ft.h,
      minScore: ft.minScore ?? spec.minScore ?? LOCATE_DEFAULTS.minScore,
      depth,
      angles,
      coarseAngles,
    };
  });
  p = {
    features,
    range: spec.searchRange ?? LOCATE_DEFAULTS.searchRange,
    maxAngle: rotationRange,
    maxResidual: spec.maxResidual ?? LOCATE_DEFAULTS.maxResidual,
    frame: spec.frame,
    angleStep: step,
  };
  prepared.set(spec, p);
  return p;
}

/** Check a locate section against its frame (schema done): patches decode, regions inside the frame. */
export function checkLocate(spec: LocateSpec, where: string): void {
  const ids = new Set<string>();
  spec.features.forEach((ft, i) => {
    const at = `${where}.features[${i}]`;
    if (ids.has(ft.id)) throw new SpotFusionError('RECIPE', `${at}.id "${ft.id}" appears twice`);
    ids.add(ft.id);
    if (ft.x < 0 || ft.y < 0 || ft.x + ft.w > spec.frame.width || ft.y + ft.h > spec.frame.height) {
      throw new SpotFusionError('RECIPE', `${at}: region ${ft.w}×${ft.h} at (${ft.x}, ${ft.y}) lies outside the ${spec.frame.width}×${spec.frame.height} sensor (${where}.frame)`);
    }
    const px = decodePatch(ft.patch, ft.w, ft.h, at);
    let min = 255;
    let max = 0;
    for (let k = 0; k < px.length; k++) {
      if (px[k] < min) min = px[k];
      if (px[k] > max) max = px[k];
    }
    if (max - min < 8) throw new SpotFusionError('RECIPE', `${at}.patch has no contrast (grey ${min}…${max}): teach a feature with texture`);
  });
  prepare(spec, where);
}

// ------------------------------------------------------------------ location

/** The window pyramid: level k is the window averaged over 2^k × 2^k blocks. */
const levelBufs: Uint8Array[] = [];

function matchFeature(img: RawImage, ft: PreparedFeature, range: number, angleStep: number): FeatureMatch {
  const miss: FeatureMatch = { id: ft.id, x: ft.cx, y: ft.cy, score: 0 };
  // the search window: the taught region grown by the range, clipped to the frame
  const tx = Math.round(ft.cx - ft.w / 2);
  const ty = Math.round(ft.cy - ft.h / 2);
  const x0 = Math.max(0, tx - range);
  const y0 = Math.max(0, ty - range);
  const x1 = Math.min(img.width, tx + ft.w + range);
  const y1 = Math.min(img.height, ty + ft.h + range);
  const ww = x1 - x0;
  const wh = y1 - y0;
  if (ww < ft.w || wh < ft.h) return miss;
  levelBufs[0] = scratch(levelBufs[0] ?? new Uint8Array(0), ww * wh);
  copyWindow(img, x0, y0, ww, wh, levelBufs[0]);
  const sizes: Array<{ w: number; h: number }> = [{ w: ww, h: wh }];
  for (let k = 1; k <= ft.depth; k++) {
    const up = sizes[k - 1];
    levelBufs[k] = scratch(levelBufs[k] ?? new Uint8Array(0), (up.w >> 1) * (up.h >> 1));
    sizes.push(downsample(levelBufs[k - 1], up.w, up.h, 2, levelBufs[k]));
  }
  // coarse: every position of the smallest level, at every coarse angle
  const D = ft.depth;
  const cs = sizes[D];
  let best: Peak | undefined;
  let bestA = 0;
  for (const a of ft.coarseAngles) {
    const t = ft.angles[a].levels[D];
    if (cs.w < t.w || cs.h < t.h) return miss;
    const pk = scan(levelBufs[D], cs.w, t, 0, cs.w - t.w, 0, cs.h - t.h);
    if (!best || pk.score > best.score) {
      best = pk;
      bestA = a;
    }
  }
  if (!best) return miss;
  // finer levels: climb from the coarser peak (×2); with a rotation search, among the neighbouring angles too
  let pk = best;
  const scores = new Map<number, Peak>();
  for (let k = D - 1; k >= 0; k--) {
    const s = sizes[k];
    const sx = Math.round(pk.x * 2);
    const sy = Math.round(pk.y * 2);
    const at = (a: number): Peak => {
      const t = ft.angles[a].levels[k];
      return climb(levelBufs[k], s.w, t, sx, sy, s.w - t.w, s.h - t.h);
    };
    if (ft.angles.length === 1) {
      pk = at(0);
      continue;
    }
    scores.clear();
    const get = (a: number): number => {
      if (a < 0 || a >= ft.angles.length) return -Infinity;
      let r = scores.get(a);
      if (!r) {
        r = at(a);
        scores.set(a, r);
      }
      return r.score;
    };
    if (k === 0) {
      // full size: every angle within one coarse step of the current one
      const span = Math.round(LOCATE_DEFAULTS.coarseAngleStep / (ft.angles[1].angleDeg - ft.angles[0].angleDeg));
      let top = bestA;
      for (let a = bestA - span; a <= bestA + span; a++) if (get(a) > get(top)) top = a;
      bestA = top;
    }
    // climb in angle: move towards the better neighbour until the current angle is the best
    for (let step = 0; step < ft.angles.length; step++) {
      const here = get(bestA);
      if (get(bestA - 1) > here) bestA -= 1;
      else if (get(bestA + 1) > here) bestA += 1;
      else break;
    }
    pk = scores.get(bestA) ?? at(bestA);
  }
  const out: FeatureMatch = { id: ft.id, x: x0 + pk.x + ft.w / 2, y: y0 + pk.y + ft.h / 2, score: Math.max(0, Math.min(1, pk.score)) };
  if (ft.angles.length > 1) {
    // the angle: a parabola through the full-size peak scores of the best angle and its neighbours
    const lo = scores.get(bestA - 1)?.score;
    const hi = scores.get(bestA + 1)?.score;
    const step = ft.angles.length > 1 ? ft.angles[1].angleDeg - ft.angles[0].angleDeg : angleStep;
    out.angleDeg = ft.angles[bestA].angleDeg + (lo !== undefined && hi !== undefined ? parabola(lo, pk.score, hi) * step : 0);
  }
  return out;
}

/** The placement that maps the taught points q onto the found points p (least squares rigid fit). */
function rigidFit(q: Array<[number, number]>, p: Array<[number, number]>, cx: number, cy: number, angleDeg?: number): Placement {
  const n = q.length;
  let qx = 0;
  let qy = 0;
  let px = 0;
  let py = 0;
  for (let i = 0; i < n; i++) {
    qx += q[i][0] / n;
    qy += q[i][1] / n;
    px += p[i][0] / n;
    py += p[i][1] / n;
  }
  let theta: number;
  if (angleDeg !== undefined) theta = (angleDeg * Math.PI) / 180;
  else {
    let dot = 0;
    let cross = 0;
    for (let i = 0; i < n; i++) {
      const ax = q[i][0] - qx;
      const ay = q[i][1] - qy;
      const bx = p[i][0] - px;
      const by = p[i][1] - py;
      dot += ax * bx + ay * by;
      cross += ax * by - ay * bx;
    }
    // counter-clockwise on screen (y down) is the negative of the maths angle
    theta = -Math.atan2(cross, dot);
  }
  const [mx, my] = applyRotation(qx, qy, cx, cy, theta);
  return { dx: px - mx, dy: py - my, angleDeg: (theta * 180) / Math.PI };
}

function applyRotation(x: number, y: number, cx: number, cy: number, theta: number): [number, number] {
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const ox = x - cx;
  const oy = y - cy;
  return [cx + ox * cos + oy * sin, cy - ox * sin + oy * cos];
}

/** A point of the golden frame moved by the placement (about the centre of a width × height frame). */
export function movePoint(x: number, y: number, pl: Placement, width: number, height: number): [number, number] {
  const [rx, ry] = applyRotation(x, y, width / 2, height / 2, (pl.angleDeg * Math.PI) / 180);
  return [rx + pl.dx, ry + pl.dy];
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * Locate the part of `spec` in the frame. Never throws for a bad frame: a part that is not found (a feature
 * below its minimum score, a fit that does not hold together, an angle out of range, a frame of another size)
 * comes back with ok false and the reason.
 */
export function locate(img: RawImage, spec: LocateSpec, where = 'locate'): LocateResult {
  const p = prepare(spec, where);
  const minScore = Math.min(...p.features.map((ft) => ft.minScore));
  if (img.width !== p.frame.width || img.height !== p.frame.height) {
    return { dx: 0, dy: 0, angleDeg: 0, score: 0, minScore, ok: false, residual: 0, features: [], reason: `the frame is ${img.width}×${img.height}, the reference was taught on ${p.frame.width}×${p.frame.height}` };
  }
  const features = p.features.map((ft) => matchFeature(img, ft, p.range, p.angleStep));
  const score = Math.min(...features.map((m) => m.score));
  const low = features.map((m, i) => ({ m, min: p.features[i].minScore })).filter(({ m, min }) => m.score < min);
  const q = p.features.map((ft): [number, number] => [ft.cx, ft.cy]);
  const found = features.map((m): [number, number] => [m.x, m.y]);
  const pl = rigidFit(q, found, img.width / 2, img.height / 2, features.length === 1 ? features[0].angleDeg ?? 0 : undefined);
  let residual = 0;
  for (let i = 0; i < q.length; i++) {
    const [mx, my] = movePoint(q[i][0], q[i][1], pl, img.width, img.height);
    residual = Math.max(residual, Math.hypot(mx - found[i][0], my - found[i][1]));
  }
  const res: LocateResult = {
    dx: round3(pl.dx),
    dy: round3(pl.dy),
    angleDeg: round3(pl.angleDeg),
    score: round3(score),
    minScore,
    ok: true,
    residual: round3(residual),
    features: features.map((m) => ({ ...m, x: round3(m.x), y: round3(m.y), score: round3(m.score), ...(m.angleDeg !== undefined ? { angleDeg: round3(m.angleDeg) } : {}) })),
  };
  if (low.length) {
    res.ok = false;
    res.reason = low.map(({ m, min }) => `feature ${m.id} score ${m.score.toFixed(3)} < ${min}`).join(', ');
  } else if (features.length > 1 && residual > p.maxResidual) {
    res.ok = false;
    res.reason = `the features do not fit one rigid placement (residual ${residual.toFixed(2)} px > ${p.maxResidual} px)`;
  } else if (Math.abs(pl.angleDeg) > p.maxAngle + 1e-9) {
    res.ok = false;
    res.reason = `angle ${pl.angleDeg.toFixed(2)}° is outside ±${p.maxAngle}°`;
  }
  return res;
}

// ------------------------------------------------------------------ moving the ROIs, re-centring the spots

export interface PlacedSpot extends Spot {
  /** re-centring: the nugget found this far from the spot's (moved) nominal centre, frame px */
  offset?: { dx: number; dy: number; score: number };
  /** re-centring was asked for but no nugget was found inside the margin: the crop stays at the nominal place */
  notFound?: boolean;
}

/** The recipe's spots moved with the placement (box centre moved, box turned by the angle). */
export function placeSpots(spots: readonly Spot[], pl: Placement, width: number, height: number): Spot[] {
  if (pl.dx === 0 && pl.dy === 0 && pl.angleDeg === 0) return spots.slice();
  return spots.map((s) => {
    const [cx, cy] = movePoint(s.x + s.w / 2, s.y + s.h / 2, pl, width, height);
    const rotation = (s.rotation ?? 0) + pl.angleDeg;
    return { ...s, x: round3(cx - s.w / 2), y: round3(cy - s.h / 2), rotation: round3(rotation) };
  });
}

interface RingModel {
  d: number;
  margin: number;
  coarse: Template;
  fine: Template;
}
const rings = new Map<string, RingModel>();

/**
 * The nugget model for diameter d: dark disc of radius d/2 in a brighter ring, as a band of ±0.3 d around the
 * nugget's edge; at full and at half resolution.
 */
function ringModel(d: number, margin: number): RingModel {
  const key = `${d}:${margin}`;
  let m = rings.get(key);
  if (m) return m;
  const make = (scale: number): Template => {
    const rn = (d / 2) * scale;
    // only a band around the nugget's edge takes part: the edge is where the position is (and it costs a third)
    const ri = Math.max(0, rn - Math.max(2, 0.3 * d * scale));
    const ro = rn + Math.max(2, 0.3 * d * scale);
    const size = 2 * Math.ceil(ro) + 1;
    const c = size / 2;
    const px = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x + 0.5 - c, y + 0.5 - c);
        px[y * size + x] = r < rn ? 0 : 1;
      }
    }
    return makeTemplate(px, size, size, (x, y) => {
      const r = Math.hypot(x + 0.5 - c, y + 0.5 - c);
      return r >= ri && r <= ro;
    });
  };
  m = { d, margin, coarse: make(0.5), fine: make(1) };
  if (rings.size > 64) rings.clear();
  rings.set(key, m);
  return m;
}

/** Lowest NCC with the nugget model that counts as a nugget found. */
export const RECENTER_MIN_SCORE = 0.5;

/**
 * Re-centre the spots that have a search margin (spot.search, else `margin`): the nugget (ring model of the
 * spot's expectedDiameter, else 1/3 of the box's short side) is searched within ±margin of the box centre; when
 * found (score ≥ RECENTER_MIN_SCORE and not on the margin's edge) the box is centred on it and the offset kept.
 */
export function recenterSpots(img: RawImage, spots: readonly Spot[], margin = 0): PlacedSpot[] {
  return spots.map((s): PlacedSpot => {
    const m = s.search ?? margin;
    if (!(m > 0)) return s;
    const d = s.expectedDiameter ?? Math.min(s.w, s.h) / 3;
    const model = ringModel(d, m);
    const ccx = s.x + s.w / 2;
    const ccy = s.y + s.h / 2;
    const fine = model.fine;
    // the window: model + margin around the centre, inside the frame
    const half = Math.ceil(fine.w / 2) + Math.ceil(m) + 2;
    const x0 = Math.max(0, Math.floor(ccx) - half);
    const y0 = Math.max(0, Math.floor(ccy) - half);
    const x1 = Math.min(img.width, Math.floor(ccx) + half);
    const y1 = Math.min(img.height, Math.floor(ccy) + half);
    const ww = x1 - x0;
    const wh = y1 - y0;
    if (ww < fine.w + 2 || wh < fine.h + 2) return { ...s, notFound: true };
    winBuf = scratch(winBuf, ww * wh);
    copyWindow(img, x0, y0, ww, wh, winBuf);
    // top-left of the model when centred at the box centre, in window pixels
    const tlx = ccx - fine.w / 2 - x0;
    const tly = ccy - fine.h / 2 - y0;
    coarseBuf = scratch(coarseBuf, Math.ceil((ww * wh) / 4) + 1);
    const c = downsample(winBuf, ww, wh, 2, coarseBuf);
    const ct = model.coarse;
    // coarse: every position within the margin at half size (the model's centre at 2·(k + size/2))
    const cm = Math.ceil(m / 2) + 1;
    const cc0x = Math.round((ccx - x0) / 2 - ct.w / 2);
    const cc0y = Math.round((ccy - y0) / 2 - ct.h / 2);
    const cx0 = Math.max(0, cc0x - cm);
    const cy0 = Math.max(0, cc0y - cm);
    const cx1 = Math.min(c.w - ct.w, cc0x + cm);
    const cy1 = Math.min(c.h - ct.h, cc0y + cm);
    if (cx1 < cx0 || cy1 < cy0) return { ...s, notFound: true };
    const coarse = scan(coarseBuf, c.w, ct, cx0, cx1, cy0, cy1);
    // full size: climb from the coarse centre
    const fx = Math.round((coarse.x + ct.w / 2) * 2 - fine.w / 2);
    const fy = Math.round((coarse.y + ct.h / 2) * 2 - fine.h / 2);
    const pk = climb(winBuf, ww, fine, fx, fy, ww - fine.w, wh - fine.h, 4);
    const dx = pk.x - tlx;
    const dy = pk.y - tly;
    if (pk.score < RECENTER_MIN_SCORE || Math.abs(dx) > m || Math.abs(dy) > m) return { ...s, notFound: true };
    return { ...s, x: round3(s.x + dx), y: round3(s.y + dy), offset: { dx: round3(dx), dy: round3(dy), score: round3(pk.score) } };
  });
}

/** Where the recipe's spots are cut in this frame: located, moved, re-centred. Throws nothing for a bad frame. */
export function placeRecipe(img: RawImage, recipe: Recipe, where = 'recipe'): { locate?: LocateResult; spots: PlacedSpot[] } {
  let spots: Spot[] = recipe.spots;
  let loc: LocateResult | undefined;
  if (recipe.locate) {
    loc = locate(img, recipe.locate, `${where}.locate`);
    if (!loc.ok) return { locate: loc, spots: [] };
    spots = placeSpots(spots, loc, img.width, img.height);
  }
  const margin = recipe.spotSearch ?? 0;
  const any = margin > 0 || spots.some((s) => (s.search ?? 0) > 0);
  return { locate: loc, spots: any ? recenterSpots(img, spots, margin) : spots };
}

/**
 * Teaching: cut the reference patches of `regions` from a golden Mono8 (or RGB/BGR) frame into a locate
 * section. Each region must lie inside the frame and have contrast.
 */
export function teachLocate(
  img: RawImage,
  regions: Array<{ id: string; x: number; y: number; w: number; h: number; minScore?: number }>,
  opts: { searchRange?: number; minScore?: number; rotationRange?: number } = {},
): LocateSpec {
  const spec: LocateSpec = {
    frame: { width: img.width, height: img.height },
    features: regions.map((r, i) => {
      if (!Number.isInteger(r.x) || !Number.isInteger(r.y) || !Number.isInteger(r.w) || !Number.isInteger(r.h) || r.w < 8 || r.h < 8) {
        throw new SpotFusionError('RECIPE', `regions[${i}] (${r.id}): x, y must be integers and w, h integers ≥ 8`);
      }
      if (r.x < 0 || r.y < 0 || r.x + r.w > img.width || r.y + r.h > img.height) {
        throw new SpotFusionError('RECIPE', `regions[${i}] (${r.id}): ${r.w}×${r.h} at (${r.x}, ${r.y}) lies outside the ${img.width}×${img.height} frame`);
      }
      const px = new Uint8Array(r.w * r.h);
      copyWindow(img, r.x, r.y, r.w, r.h, px);
      const ft: LocateSpec['features'][number] = { id: r.id, x: r.x, y: r.y, w: r.w, h: r.h, patch: Buffer.from(px).toString('base64') };
      if (r.minScore !== undefined) ft.minScore = r.minScore;
      return ft;
    }),
  };
  if (opts.searchRange !== undefined) spec.searchRange = opts.searchRange;
  if (opts.minScore !== undefined) spec.minScore = opts.minScore;
  if (opts.rotationRange !== undefined) spec.rotationRange = opts.rotationRange;
  checkLocate(spec, 'taught locate');
  return spec;
}

/** What goes into msg.locate (and from there into the InspectionResult). */
export interface LocateSummary extends Placement {
  score: number;
  minScore: number;
  ok: boolean;
  residual: number;
  features: Array<{ id: string; x: number; y: number; score: number }>;
  reason?: string;
}

export function locateSummary(r: LocateResult): LocateSummary {
  const out: LocateSummary = {
    dx: r.dx,
    dy: r.dy,
    angleDeg: r.angleDeg,
    score: r.score,
    minScore: r.minScore,
    ok: r.ok,
    residual: r.residual,
    features: r.features.map((f) => ({ id: f.id, x: f.x, y: f.y, score: f.score })),
  };
  if (r.reason !== undefined) out.reason = r.reason;
  return out;
}

/** The error of a part that was not located: names the recipe, the score and why (code LOCATE). */
export function locateFailure(recipe: Recipe, r: LocateResult): SpotFusionError {
  const name = `program ${JSON.stringify(recipe.program)}${recipe.product ? ` (${recipe.product})` : ''}`;
  return new SpotFusionError('LOCATE', `part not located for recipe ${name}: score ${r.score.toFixed(3)} (minimum ${r.minScore}): ${r.reason ?? 'not found'}`);
}
