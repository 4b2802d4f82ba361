/**
 * Weld-spot frame simulator: deterministic synthetic Mono8 frames of a sheet-metal panel with resistance spot
 * welds at recipe positions, each with a ground-truth class. Pure module, knows nothing of Node-RED.
 *
 * API
 * ---
 *   renderFrame(options): SimFrame
 *     options.seed               number | string (required). Same options → byte-identical frame.
 *     options.width, .height     frame size in pixels (default 2448 × 2048, 16…16384).
 *     options.spots              recipe: [{ id, x, y, expectedDiameterPx? }] (default: gridRecipe() of the frame).
 *     options.expectedDiameterPx default nominal nugget diameter for spots without their own (default 32).
 *     options.classOverrides     { [spotId]: SpotClass | { class, diameterPx?, offsetPx?, angle? } } forces a class.
 *     options.classMix           relative weights per class for the others, e.g. { ok: 8, crack: 1 }
 *                                (classes left out get weight 0; default: DEFAULT_CLASS_MIX).
 *     options.lighting           { gain?, gradientX?, gradientY?, vignette? } fixes the lighting (else drawn from seed).
 *     options.noiseSigma         pixel noise std-dev in grey levels (else drawn from the seed, 1.5…4.5).
 *   → { data: Buffer (width*height bytes, row-major, no padding), width, height, pixelFormat: 'Mono8', seed,
 *       lighting, noiseSigma, truth: SpotTruth[] } with one SpotTruth per recipe spot, in recipe order:
 *       { spotId, class, x, y (rendered nugget centre, px, may be fractional), expectedX, expectedY,
 *         expectedDiameterPx, diameterPx (rendered nugget diameter; 0 for missing), offsetPx (distance from the
 *         recipe position), holeDiameterPx (burn_through), cracks (crack), spatter (expulsion) }.
 *
 *   gridRecipe({ width, height, cols?, rows?, expectedDiameterPx?, margin? }) → spots on a regular grid.
 *   cropMono8(frame, cx, cy, size) → size×size Buffer centred on (cx, cy), out-of-frame pixels = 0.
 *   SPOT_CLASSES, DEFAULT_CLASS_MIX.
 *
 * What each class looks like (d = expected diameter; crops of about 2.5 d, e.g. 64–96 px for d = 32, hold it):
 *   ok            dark nugget of diameter 0.92–1.08 d with a thin bright rim, inside a slightly darker electrode
 *                 imprint of 1.5 d, centred within 0.05 d of the recipe position.
 *   undersize     the same imprint, but a nugget of only 0.45–0.72 d (truth.diameterPx says how big).
 *   missing       bare sheet metal: no imprint, no nugget, no rim.
 *   crack         ok nugget crossed by 1–3 near-black jagged lines that run past the rim.
 *   expulsion     ok nugget plus a bright molten lobe on one side and 8–20 bright spatter droplets around it.
 *   burn_through  ok-sized nugget with a near-black hole of 0.35–0.55 of its diameter and a bright ring round it.
 *   off_position  ok nugget and imprint, displaced 0.55–0.85 d from the recipe position (truth.offsetPx).
 * Lighting (gain, linear gradient, vignette), the metal's grey level, brushed texture and pixel noise vary
 * per frame; nugget depth and rim brightness vary per spot.
 *
 * Determinism: only an integer PRNG seeded from the seed (and, per spot, from the seed and the spot id, so a
 * spot's look does not depend on the other spots), Math.sqrt/sin/cos/exp (V8's fdlibm) and integer rounding.
 */
import { SpotFusionError } from '../errors';

export const SPOT_CLASSES = ['ok', 'undersize', 'missing', 'crack', 'expulsion', 'burn_through', 'off_position'] as const;
export type SpotClass = (typeof SPOT_CLASSES)[number];

export const DEFAULT_CLASS_MIX: Readonly<Record<SpotClass, number>> = Object.freeze({
  ok: 0.55,
  undersize: 0.075,
  missing: 0.075,
  crack: 0.075,
  expulsion: 0.075,
  burn_through: 0.075,
  off_position: 0.075,
});

export interface SimSpot {
  id: string | number;
  x: number;
  y: number;
  expectedDiameterPx?: number;
}

export interface ClassOverride {
  class: SpotClass;
  /** nugget diameter to render (ok / undersize / crack / expulsion / burn_through / off_position) */
  diameterPx?: number;
  /** off_position: displacement in px */
  offsetPx?: number;
  /** off_position: direction of the displacement in radians */
  angle?: number;
}

export interface Lighting {
  gain: number;
  gradientX: number;
  gradientY: number;
  vignette: number;
}

export interface RenderOptions {
  seed: number | string;
  width?: number;
  height?: number;
  spots?: SimSpot[];
  expectedDiameterPx?: number;
  classOverrides?: Record<string, SpotClass | ClassOverride>;
  classMix?: Partial<Record<SpotClass, number>>;
  lighting?: Partial<Lighting>;
  noiseSigma?: number;
}

export interface SpotTruth {
  spotId: string;
  class: SpotClass;
  x: number;
  y: number;
  expectedX: number;
  expectedY: number;
  expectedDiameterPx: number;
  diameterPx: number;
  offsetPx: number;
  holeDiameterPx?: number;
  cracks?: number;
  spatter?: number;
}

export interface SimFrame {
  data: Buffer;
  width: number;
  height: number;
  pixelFormat: 'Mono8';
  seed: number | string;
  lighting: Lighting;
  noiseSigma: number;
  truth: SpotTruth[];
}

export const DEFAULT_WIDTH = 2448;
export const DEFAULT_HEIGHT = 2048;
export const DEFAULT_DIAMETER_PX = 32;

function fail(message: string): never {
  throw new SpotFusionError('SIMULATOR', `simulator: ${message}`);
}

/** 32-bit FNV-1a of a string, for seeds and per-spot streams. */
function hashString(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function seedToInt(seed: number | string): number {
  if (typeof seed === 'number') {
    if (!Number.isFinite(seed)) fail(`seed must be a finite number or a string, got ${String(seed)}`);
    return hashString(`n:${seed}`);
  }
  if (typeof seed !== 'string') fail(`seed must be a number or a string, got ${typeof seed}`);
  return hashString(`s:${seed}`);
}

/** mulberry32: small, fast, well-distributed 32-bit PRNG. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** [0, 1) */
  next(): number {
    return this.u32() / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Spots on a regular grid, ids "S01", "S02"… row by row. */
export function gridRecipe(opts: { width: number; height: number; cols?: number; rows?: number; expectedDiameterPx?: number; margin?: number }): SimSpot[] {
  const cols = opts.cols ?? 8;
  const rows = opts.rows ?? 6;
  const d = opts.expectedDiameterPx ?? DEFAULT_DIAMETER_PX;
  const margin = opts.margin ?? Math.max(2 * d, Math.round(Math.min(opts.width, opts.height) * 0.08));
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1) fail('gridRecipe: cols and rows must be integers ≥ 1');
  const spots: SimSpot[] = [];
  const w = opts.width - 2 * margin;
  const h = opts.height - 2 * margin;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      n += 1;
      spots.push({
        id: `S${String(n).padStart(2, '0')}`,
        x: Math.round(margin + (cols === 1 ? w / 2 : (c * w) / (cols - 1))),
        y: Math.round(margin + (rows === 1 ? h / 2 : (r * h) / (rows - 1))),
        expectedDiameterPx: d,
      });
    }
  }
  return spots;
}

/** size×size crop centred on (cx, cy); pixels outside the frame are 0. */
export function cropMono8(frame: { data: Buffer; width: number; height: number }, cx: number, cy: number, size: number): Buffer {
  if (!Number.isInteger(size) || size < 1) fail(`crop size must be a positive integer, got ${size}`);
  const out = Buffer.alloc(size * size);
  const x0 = Math.round(cx) - (size >> 1);
  const y0 = Math.round(cy) - (size >> 1);
  for (let y = 0; y < size; y++) {
    const sy = y0 + y;
    if (sy < 0 || sy >= frame.height) continue;
    const from = Math.max(0, x0);
    const to = Math.min(frame.width, x0 + size);
    if (to > from) frame.data.copy(out, y * size + (from - x0), sy * frame.width + from, sy * frame.width + to);
  }
  return out;
}

/** The working canvas: a float image of the unlit scene, modified in place by the spot painters. */
class Canvas {
  constructor(readonly w: number, readonly h: number, readonly px: Float32Array) {}

  /** Visit every pixel centre within radius r of (cx, cy). */
  each(cx: number, cy: number, r: number, fn: (i: number, dx: number, dy: number) => void): void {
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.w - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.h - 1, Math.ceil(cy + r));
    for (let y = y0; y <= y1; y++) {
      const dy = y - cy;
      let i = y * this.w + x0;
      for (let x = x0; x <= x1; x++, i++) fn(i, x - cx, dy);
    }
  }

  blend(i: number, target: number, a: number): void {
    if (a <= 0) return;
    const p = this.px;
    p[i] = a >= 1 ? target : p[i] + (target - p[i]) * a;
  }

  /** anti-aliased thick line segment blended towards target */
  line(ax: number, ay: number, bx: number, by: number, width: number, target: number): void {
    const vx = bx - ax;
    const vy = by - ay;
    const len2 = vx * vx + vy * vy || 1e-9;
    const half = width / 2;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1));
    const x1 = Math.min(this.w - 1, Math.ceil(Math.max(ax, bx) + half + 1));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - half - 1));
    const y1 = Math.min(this.h - 1, Math.ceil(Math.max(ay, by) + half + 1));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const t = clamp01(((x - ax) * vx + (y - ay) * vy) / len2);
        const ex = x - (ax + t * vx);
        const ey = y - (ay + t * vy);
        const dist = Math.sqrt(ex * ex + ey * ey);
        this.blend(y * this.w + x, target, clamp01(half + 0.5 - dist));
      }
    }
  }
}

interface SpotPlan {
  truth: SpotTruth;
  rng: Rng;
}

function pickClass(rng: Rng, mix: Record<SpotClass, number>, total: number): SpotClass {
  let r = rng.next() * total;
  for (const c of SPOT_CLASSES) {
    r -= mix[c];
    if (r < 0 && mix[c] > 0) return c;
  }
  // rounding at the very end of the range: the last class with weight
  for (let i = SPOT_CLASSES.length - 1; i >= 0; i--) if (mix[SPOT_CLASSES[i]] > 0) return SPOT_CLASSES[i];
  return 'ok';
}

function isSpotClass(v: unknown): v is SpotClass {
  return typeof v === 'string' && (SPOT_CLASSES as readonly string[]).includes(v);
}

function normaliseMix(mix: Partial<Record<SpotClass, number>> | undefined): { mix: Record<SpotClass, number>; total: number } {
  if (mix === undefined) return { mix: { ...DEFAULT_CLASS_MIX }, total: 1 };
  if (typeof mix !== 'object' || mix === null) fail('classMix must be an object of class → weight');
  const out = {} as Record<SpotClass, number>;
  let total = 0;
  for (const c of SPOT_CLASSES) out[c] = 0;
  for (const [k, v] of Object.entries(mix)) {
    if (!isSpotClass(k)) fail(`classMix: unknown class "${k}" (known: ${SPOT_CLASSES.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`classMix.${k} must be a number ≥ 0, got ${String(v)}`);
    out[k] = v;
    total += v;
  }
  if (total <= 0) fail('classMix: at least one class needs a weight > 0');
  return { mix: out, total };
}

function checkNumber(name: string, v: unknown, lo: number, hi: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
    fail(`${name} must be ${integer ? 'an integer' : 'a number'} in ${lo}…${hi}, got ${String(v)}`);
  }
  return v;
}

function planSpots(opts: RenderOptions, width: number, height: number, seedInt: number): SpotPlan[] {
  const defD = checkNumber('expectedDiameterPx', opts.expectedDiameterPx ?? DEFAULT_DIAMETER_PX, 4, 1000);
  const spots = opts.spots ?? gridRecipe({ width, height, expectedDiameterPx: defD });
  if (!Array.isArray(spots)) fail('spots must be an array of { id, x, y, expectedDiameterPx? }');
  const { mix, total } = normaliseMix(opts.classMix);
  const overrides = opts.classOverrides ?? {};
  if (typeof overrides !== 'object' || overrides === null) fail('classOverrides must be an object of spotId → class');
  const ids = new Set<string>();
  const plans: SpotPlan[] = [];
  spots.forEach((s, n) => {
    const where = `spots[${n}]`;
    if (typeof s !== 'object' || s === null) fail(`${where} must be an object`);
    if (typeof s.id !== 'string' && typeof s.id !== 'number') fail(`${where}.id must be a string or number`);
    const id = String(s.id);
    if (ids.has(id)) fail(`${where}.id "${id}" is used twice`);
    ids.add(id);
    const x = checkNumber(`${where}.x`, s.x, 0, width - 1);
    const y = checkNumber(`${where}.y`, s.y, 0, height - 1);
    const d = checkNumber(`${where}.expectedDiameterPx`, s.expectedDiameterPx ?? defD, 4, 1000);
    const rng = new Rng(hashString(id, seedInt ^ 0x9e3779b9));
    const drawn = pickClass(rng, mix, total);
    const ov = overrides[id];
    let cls: SpotClass = drawn;
    let ovr: ClassOverride | undefined;
    if (ov !== undefined) {
      ovr = typeof ov === 'string' ? { class: ov } : ov;
      if (typeof ovr !== 'object' || ovr === null || !isSpotClass(ovr.class)) {
        fail(`classOverrides["${id}"]: unknown class ${JSON.stringify(typeof ov === 'string' ? ov : (ov as { class?: unknown })?.class)} (known: ${SPOT_CLASSES.join(', ')})`);
      }
      cls = ovr.class;
    }
    let diameter: number;
    if (cls === 'missing') diameter = 0;
    else if (cls === 'undersize') diameter = d * rng.range(0.45, 0.72);
    else diameter = d * rng.range(0.92, 1.08);
    if (ovr?.diameterPx !== undefined && cls !== 'missing') diameter = checkNumber(`classOverrides["${id}"].diameterPx`, ovr.diameterPx, 1, 1000);
    let offset: number;
    let angle = rng.range(0, 2 * Math.PI);
    if (cls === 'off_position') {
      offset = d * rng.range(0.55, 0.85);
      if (ovr?.offsetPx !== undefined) offset = checkNumber(`classOverrides["${id}"].offsetPx`, ovr.offsetPx, 0, 10000);
      if (ovr?.angle !== undefined) angle = checkNumber(`classOverrides["${id}"].angle`, ovr.angle, -100, 100);
    } else {
      offset = cls === 'missing' ? 0 : d * rng.range(0, 0.05);
    }
    const truth: SpotTruth = {
      spotId: id,
      class: cls,
      x: x + offset * Math.cos(angle),
      y: y + offset * Math.sin(angle),
      expectedX: x,
      expectedY: y,
      expectedDiameterPx: d,
      diameterPx: diameter,
      offsetPx: offset,
    };
    plans.push({ truth, rng });
  });
  return plans;
}

/** Paint one spot onto the unlit canvas. */
function paintSpot(c: Canvas, plan: SpotPlan, metal: number): void {
  const t = plan.truth;
  const rng = plan.rng;
  if (t.class === 'missing') return;
  const cx = t.x;
  const cy = t.y;
  const rn = t.diameterPx / 2;
  const re = (t.expectedDiameterPx * 1.5) / 2; // electrode imprint
  const depth = rng.range(55, 75);
  const rimGain = rng.range(25, 40);
  const ripple = rng.range(3, 7);
  const rippleK = (2 * Math.PI) / Math.max(2.5, rn / 2.2);
  const nuggetLevel = metal - depth;

  // electrode imprint: smoother, slightly darker; its texture is flattened towards a constant
  c.each(cx, cy, re + 2, (i, dx, dy) => {
    const r = Math.sqrt(dx * dx + dy * dy);
    c.blend(i, metal - 12, 0.65 * clamp01((re - r) / 2 + 0.5));
  });
  // heat-affected zone: a darker discoloured band just outside the nugget
  const hazOuter = Math.max(rn * 1.3, rn + 3);
  c.each(cx, cy, hazOuter + 2, (i, dx, dy) => {
    const r = Math.sqrt(dx * dx + dy * dy);
    if (r < rn) return;
    const a = clamp01((hazOuter - r) / (hazOuter - rn));
    c.blend(i, metal - 28, 0.6 * a);
  });
  // nugget: dark, with faint concentric ripples, anti-aliased edge; then a thin bright rim at its edge
  c.each(cx, cy, rn + 4, (i, dx, dy) => {
    const r = Math.sqrt(dx * dx + dy * dy);
    const a = clamp01(rn - r + 0.5);
    if (a > 0) c.blend(i, nuggetLevel + ripple * Math.cos(r * rippleK), a);
    // the rim sits just outside the nugget, so the dark disc keeps its full diameter
    const e = (r - rn - 1.3) / 1.1;
    c.px[i] += rimGain * Math.exp(-e * e);
  });

  switch (t.class) {
    case 'crack': {
      const n = rng.int(1, 3);
      t.cracks = n;
      const base = rng.range(0, Math.PI);
      for (let k = 0; k < n; k++) {
        const theta = base + (k * Math.PI) / n + rng.range(-0.3, 0.3);
        // start a little past the centre on one side, end beyond the rim on the other
        let px = cx - Math.cos(theta) * rn * rng.range(0.5, 1.15);
        let py = cy - Math.sin(theta) * rn * rng.range(0.5, 1.15);
        const len = rn * rng.range(1.7, 2.4);
        const step = Math.max(2, rn / 4);
        const width = rng.range(1.6, 2.4);
        let dir = theta;
        for (let s = 0; s < len; s += step) {
          dir += rng.range(-0.35, 0.35);
          const nx = px + Math.cos(dir) * step;
          const ny = py + Math.sin(dir) * step;
          c.line(px, py, nx, ny, width, rng.range(4, 12));
          px = nx;
          py = ny;
          dir = dir * 0.6 + theta * 0.4;
        }
      }
      break;
    }
    case 'expulsion': {
      // molten lobe squeezed out on one side
      const phi = rng.range(-Math.PI, Math.PI);
      const reach = rn * rng.range(1.5, 1.9);
      c.each(cx, cy, reach + 2, (i, dx, dy) => {
        const r = Math.sqrt(dx * dx + dy * dy);
        if (r < rn * 0.9) return;
        let da = Math.atan2(dy, dx) - phi;
        while (da > Math.PI) da -= 2 * Math.PI;
        while (da < -Math.PI) da += 2 * Math.PI;
        const lim = reach * (1 - (da * da) / 0.5);
        if (lim <= rn) return;
        c.blend(i, metal + 55, 0.85 * clamp01(lim - r + 0.5));
      });
      const n = rng.int(8, 20);
      t.spatter = n;
      for (let k = 0; k < n; k++) {
        const a = rng.range(0, 2 * Math.PI);
        const dist = rn * rng.range(1.2, 2.3);
        const dx0 = cx + dist * Math.cos(a);
        const dy0 = cy + dist * Math.sin(a);
        const rr = rng.range(1.3, 3.2);
        c.each(dx0, dy0, rr + 2, (i, dx, dy) => {
          const r = Math.sqrt(dx * dx + dy * dy);
          c.blend(i, metal + 95, clamp01(rr - r + 0.5));
          // shadow just below-right of each droplet
          const sx = dx - 1;
          const sy = dy - 1;
          const sr = Math.sqrt(sx * sx + sy * sy);
          if (r > rr) c.blend(i, metal - 40, 0.5 * clamp01(rr - sr + 0.5));
        });
      }
      break;
    }
    case 'burn_through': {
      const frac = rng.range(0.35, 0.55);
      const rh = rn * frac;
      t.holeDiameterPx = 2 * rh;
      const lobes = rng.int(3, 6);
      const phase = rng.range(0, 2 * Math.PI);
      c.each(cx, cy, rh * 1.2 + 5, (i, dx, dy) => {
        const r = Math.sqrt(dx * dx + dy * dy);
        const edge = rh * (1 + 0.12 * Math.sin(lobes * Math.atan2(dy, dx) + phase));
        const e = (r - edge - 1.8) / 1.4;
        c.px[i] += 60 * Math.exp(-e * e);
        c.blend(i, rng.range(2, 10), clamp01(edge - r + 0.5));
      });
      break;
    }
    default:
      break;
  }
}

/** Render one frame. See the comment at the top of this file for the options and the classes. */
export function renderFrame(opts: RenderOptions): SimFrame {
  if (typeof opts !== 'object' || opts === null) fail('options must be an object');
  if (opts.seed === undefined || opts.seed === null) fail('seed is required (a number or a string)');
  const seedInt = seedToInt(opts.seed);
  const width = checkNumber('width', opts.width ?? DEFAULT_WIDTH, 16, 16384, true);
  const height = checkNumber('height', opts.height ?? DEFAULT_HEIGHT, 16, 16384, true);
  const plans = planSpots(opts, width, height, seedInt);

  const rng = new Rng(seedInt);
  const metal = rng.range(112, 148);
  const lighting: Lighting = {
    gain: rng.range(0.8, 1.2),
    gradientX: rng.range(-0.25, 0.25),
    gradientY: rng.range(-0.25, 0.25),
    vignette: rng.range(0, 0.3),
  };
  const drawnNoise = rng.range(1.5, 4.5);
  if (opts.lighting !== undefined) {
    const l = opts.lighting;
    if (l.gain !== undefined) lighting.gain = checkNumber('lighting.gain', l.gain, 0.05, 4);
    if (l.gradientX !== undefined) lighting.gradientX = checkNumber('lighting.gradientX', l.gradientX, -1, 1);
    if (l.gradientY !== undefined) lighting.gradientY = checkNumber('lighting.gradientY', l.gradientY, -1, 1);
    if (l.vignette !== undefined) lighting.vignette = checkNumber('lighting.vignette', l.vignette, 0, 1);
  }
  const noiseSigma = opts.noiseSigma !== undefined ? checkNumber('noiseSigma', opts.noiseSigma, 0, 64) : drawnNoise;

  // brushed sheet metal: per-row streaks (smoothed random walk), faint column streaks, soft blotches
  const rowStreak = new Float32Array(height);
  let walk = 0;
  for (let y = 0; y < height; y++) {
    walk = walk * 0.9 + rng.range(-2.2, 2.2);
    rowStreak[y] = walk + (rng.next() < 0.01 ? rng.range(-8, 8) : 0);
  }
  const colStreak = new Float32Array(width);
  for (let x = 0; x < width; x++) colStreak[x] = rng.range(-1.2, 1.2);
  const K = 3;
  const bx: Float32Array[] = [];
  const by: Float32Array[] = [];
  for (let k = 0; k < K; k++) {
    const fx = rng.range(0.5, 3) * ((2 * Math.PI) / width);
    const fy = rng.range(0.5, 3) * ((2 * Math.PI) / height);
    const px = rng.range(0, 2 * Math.PI);
    const py = rng.range(0, 2 * Math.PI);
    const amp = rng.range(2, 5);
    const ax = new Float32Array(width);
    const ay = new Float32Array(height);
    for (let x = 0; x < width; x++) ax[x] = amp * Math.sin(fx * x + px);
    for (let y = 0; y < height; y++) ay[y] = Math.sin(fy * y + py);
    bx.push(ax);
    by.push(ay);
  }
  const px = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const base = metal + rowStreak[y];
    const b0 = by[0][y];
    const b1 = by[1][y];
    const b2 = by[2][y];
    const a0 = bx[0];
    const a1 = bx[1];
    const a2 = bx[2];
    let i = y * width;
    for (let x = 0; x < width; x++, i++) px[i] = base + colStreak[x] + a0[x] * b0 + a1[x] * b1 + a2[x] * b2;
  }

  const canvas = new Canvas(width, height, px);
  for (const plan of plans) paintSpot(canvas, plan, metal);

  // lighting and noise, then quantise
  const data = Buffer.allocUnsafe(width * height);
  let ns = (seedInt ^ 0xa5a5a5a5) >>> 0 || 1;
  const scale = noiseSigma * 2 / 4294967296; // sum of 3 uniforms - 1.5 has std 0.5
  const halfW = width / 2;
  const halfH = height / 2;
  const invR2 = 1 / (halfW * halfW + halfH * halfH);
  for (let y = 0; y < height; y++) {
    const ny = (y - halfH) / height;
    const dy2 = (y - halfH) * (y - halfH);
    const rowGain = lighting.gain * (1 + lighting.gradientY * ny);
    let i = y * width;
    for (let x = 0; x < width; x++, i++) {
      const dx = x - halfW;
      const g = rowGain * (1 + lighting.gradientX * (dx / width)) * (1 - lighting.vignette * (dx * dx + dy2) * invR2);
      // xorshift32, three draws
      ns ^= ns << 13; ns >>>= 0; ns ^= ns >>> 17; ns ^= ns << 5; ns >>>= 0;
      const u1 = ns;
      ns ^= ns << 13; ns >>>= 0; ns ^= ns >>> 17; ns ^= ns << 5; ns >>>= 0;
      const u2 = ns;
      ns ^= ns << 13; ns >>>= 0; ns ^= ns >>> 17; ns ^= ns << 5; ns >>>= 0;
      const noise = (u1 + u2 + ns - 6442450944) * scale;
      const v = Math.round(px[i] * g + noise);
      data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }

  return {
    data,
    width,
    height,
    pixelFormat: 'Mono8',
    seed: opts.seed,
    lighting,
    noiseSigma,
    truth: plans.map((p) => p.truth),
  };
}
