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
 *     options.placement          { dx, dy, angleDeg }: where the part sits. A rigid transform of the whole part
 *                                (spots, fiducial marks, sheet texture) about the frame centre (width/2, height/2):
 *                                first a rotation by angleDeg, counter-clockwise on screen, then a shift by (dx, dy)
 *                                px. See placePoint(). Default: aligned (the part exactly where the recipe says).
 *     options.placementTolerance { shiftPx, angleDeg }: draw a placement per seed instead, dx, dy uniform in
 *                                ±shiftPx and the angle in ±angleDeg (ignored when options.placement is given).
 *     options.fiducials          draw the part's fiducial marks (default true); see fiducialPositions().
 *     options.wear               { part, spots: { [spotId]: { pxPerPart, fromPart? } } }: electrode wear, a trend on
 *                                chosen spots' nugget diameters. The diameter drawn for this frame shrinks by
 *                                pxPerPart · (part − fromPart) px (fromPart default 0; never below 1 px); a spot of an
 *                                ok-sized class whose worn nugget falls below 0.72 d becomes 'undersize' in the
 *                                truth. part is the part number of the frame (SimulatorSource: the frame number).
 *     options.optics             { blurSigma?, vignette?, exposureDrift? }: defocus blur (Gaussian σ in px, default
 *                                0), the largest vignette drawn per frame (default 0.3: 0…30 % darker in the
 *                                corners) and the exposure drift per part (default 0.2: gain 0.8…1.2). Sensor noise
 *                                is options.noiseSigma; JPEG artefacts are withJpegArtefacts() (async, sharp).
 *   → { data: Buffer (width*height bytes, row-major, no padding), width, height, pixelFormat: 'Mono8', seed,
 *       lighting, noiseSigma, blurSigma, placement: { dx, dy, angleDeg } (the truth; zeros when aligned),
 *       fiducials: FiducialTruth[] (the marks drawn), truth: SpotTruth[] } with one SpotTruth per recipe spot, in
 *       recipe order:
 *       { spotId, class, x, y (rendered nugget centre in the frame, px, may be fractional: placement included),
 *         expectedX, expectedY (the recipe position, i.e. nominal, placement not included), expectedDiameterPx,
 *         diameterPx (rendered nugget diameter; 0 for missing), offsetPx (distance of the nugget from the recipe
 *         position on the part, placement not included), holeDiameterPx (burn_through), cracks (crack),
 *         spatter (expulsion) }.
 *
 *   gridRecipe({ width, height, cols?, rows?, expectedDiameterPx?, margin? }) → spots on a regular grid.
 *   fiducialPositions(width, height) → the nominal fiducial marks [{ id, x, y, size }] of a frame size.
 *   placePoint(placement, width, height, x, y) → where a nominal point of the part lands in the frame.
 *   cropMono8(frame, cx, cy, size) → size×size Buffer centred on (cx, cy), out-of-frame pixels = 0.
 *   withJpegArtefacts(frame, quality) → Promise of the frame encoded as JPEG and decoded again (sharp).
 *   SPOT_CLASSES, DEFAULT_CLASS_MIX, LINE_PRESET (realistic line conditions for the station demo).
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
 * Fiducial marks: three square marks (ids F1, F2, F3) of 10×10 cells — a light quiet zone, a dark border and a
 * 6×6 pattern of light and dark cells, each mark its own pattern, none symmetric under rotation — at three
 * corners of the default 8×6 grid, in the middle of the grid cells next to the corner spots (top left, top
 * right, bottom left), so a template match has one sharp peak and the part's rotation is observable. A mark that
 * would come near a recipe spot (a custom recipe) is left out: frame.fiducials lists those drawn.
 *
 * The order of a frame: the unlit part (sheet texture, spots, marks) at its placement → lighting (gain, gradient,
 * vignette) → defocus blur → sensor noise → 8-bit quantisation (→ JPEG, optionally). Aligned frames without
 * blur are byte-identical to those of earlier releases (the golden hash in the tests).
 *
 * Determinism: only an integer PRNG seeded from the seed (and, per spot, from the seed and the spot id, so a
 * spot's look does not depend on the other spots), Math.sqrt/sin/cos/exp (V8's fdlibm) and integer rounding.
 */
import sharp from '../vision/sharp';
import { SpotFusionError, describeError } from '../errors';

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
  placement?: Placement;
  placementTolerance?: PlacementTolerance;
  fiducials?: boolean;
  optics?: Optics;
  wear?: Wear;
}

/** Electrode wear: the nugget diameters of chosen spots shrink part by part (see renderFrame's options.wear). */
export interface Wear {
  part: number;
  spots: Record<string, WearTrend>;
}

export interface WearTrend {
  /** px the nugget diameter loses per part */
  pxPerPart: number;
  /** the part the wear starts from (a fresh cap; default 0) */
  fromPart?: number;
}

/** Where the part sits: rotation by angleDeg (counter-clockwise on screen) about the frame centre, then a shift. */
export interface Placement {
  dx: number;
  dy: number;
  angleDeg: number;
}

export interface PlacementTolerance {
  shiftPx: number;
  angleDeg: number;
}

export interface Optics {
  /** defocus: Gaussian σ in px (0: sharp) */
  blurSigma?: number;
  /** largest vignette drawn per frame (0…1; 0.3: corners up to 30 % darker) */
  vignette?: number;
  /** exposure drift per part: gain drawn in 1 ± exposureDrift */
  exposureDrift?: number;
}

export interface FiducialTruth {
  id: string;
  /** the mark's centre in the frame (placement included) */
  x: number;
  y: number;
  /** its nominal centre (fiducialPositions) */
  expectedX: number;
  expectedY: number;
  size: number;
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
  blurSigma: number;
  placement: Placement;
  fiducials: FiducialTruth[];
  truth: SpotTruth[];
}

export const DEFAULT_WIDTH = 2448;
export const DEFAULT_HEIGHT = 2048;
export const DEFAULT_DIAMETER_PX = 32;

/**
 * What a car-body line does to the picture, for the station demo: parts within ±25 px and ±1.5° of nominal,
 * slight defocus, up to 30 % vignetting, ±20 % exposure drift per part, sensor noise σ 4 grey levels. These
 * are the camera config node's simulator settings of the demo flow; renderFrame's own defaults stay aligned
 * and sharp.
 */
export const LINE_PRESET: Readonly<{ placementTolerance: PlacementTolerance; optics: Required<Optics>; noiseSigma: number }> = Object.freeze({
  placementTolerance: Object.freeze({ shiftPx: 25, angleDeg: 1.5 }),
  optics: Object.freeze({ blurSigma: 0.8, vignette: 0.3, exposureDrift: 0.2 }),
  noiseSigma: 4,
});

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

/**
 * The 6×6 inner pattern of each fiducial mark, row by row from the top, 1 = light cell. Each differs from the
 * others and from its own 90°, 180° and 270° rotations (the tests check it).
 */
export const FIDUCIAL_PATTERNS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  F1: ['110100', '100011', '011010', '001101', '110001', '011110'],
  F2: ['101110', '010010', '100111', '111000', '001011', '100100'],
  F3: ['011001', '110110', '000111', '101000', '010011', '111010'],
});
const FIDUCIAL_CELLS = 10; // quiet zone, border, 6 pattern cells, border, quiet zone
const FIDUCIAL_LIGHT = 200;
const FIDUCIAL_DARK = 30;

/**
 * The nominal fiducial marks of a frame size: F1 top left, F2 top right, F3 bottom left, each in the middle of
 * the cell between the corner spot of the default 8×6 gridRecipe and its neighbours (on 2448×2048: (315, 336),
 * (2133, 336), (315, 1712), 90 px square, ≥ 225 px from every spot of models/demo/recipe-demo-station.json).
 * size is the side of the whole mark in px (10 cells, quiet zone included).
 */
export function fiducialPositions(width: number, height: number): Array<{ id: string; x: number; y: number; size: number }> {
  const margin = Math.max(2 * DEFAULT_DIAMETER_PX, Math.round(Math.min(width, height) * 0.08));
  const halfX = (width - 2 * margin) / 7 / 2;
  const halfY = (height - 2 * margin) / 5 / 2;
  const size = FIDUCIAL_CELLS * Math.max(2, Math.round(Math.min(width, height) * 0.0044));
  const left = Math.round(margin + halfX);
  const right = Math.round(width - margin - halfX);
  const top = Math.round(margin + halfY);
  const bottom = Math.round(height - margin - halfY);
  return [
    { id: 'F1', x: left, y: top, size },
    { id: 'F2', x: right, y: top, size },
    { id: 'F3', x: left, y: bottom, size },
  ];
}

const ALIGNED: Placement = Object.freeze({ dx: 0, dy: 0, angleDeg: 0 });

function isAligned(p: Placement): boolean {
  return p.dx === 0 && p.dy === 0 && p.angleDeg === 0;
}

/** Where the nominal point (x, y) of the part lands in a width×height frame when the part sits at `placement`. */
export function placePoint(placement: Placement, width: number, height: number, x: number, y: number): { x: number; y: number } {
  if (isAligned(placement)) return { x, y };
  const a = (placement.angleDeg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const ex = x - width / 2;
  const ey = y - height / 2;
  return { x: width / 2 + c * ex + s * ey + placement.dx, y: height / 2 - s * ex + c * ey + placement.dy };
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

function checkWear(w: Wear | undefined): Wear | undefined {
  if (w === undefined) return undefined;
  if (typeof w !== 'object' || w === null) fail('wear must be { part, spots: { [spotId]: { pxPerPart, fromPart? } } }');
  checkNumber('wear.part', w.part, 0, Number.MAX_SAFE_INTEGER, true);
  if (typeof w.spots !== 'object' || w.spots === null || Array.isArray(w.spots)) fail('wear.spots must be an object of spotId → { pxPerPart, fromPart? }');
  for (const [id, t] of Object.entries(w.spots)) {
    if (typeof t !== 'object' || t === null) fail(`wear.spots["${id}"] must be { pxPerPart, fromPart? }`);
    checkNumber(`wear.spots["${id}"].pxPerPart`, t.pxPerPart, -1000, 1000);
    if (t.fromPart !== undefined) checkNumber(`wear.spots["${id}"].fromPart`, t.fromPart, 0, Number.MAX_SAFE_INTEGER, true);
  }
  return w;
}

function planSpots(opts: RenderOptions, width: number, height: number, seedInt: number, placement: Placement): SpotPlan[] {
  const defD = checkNumber('expectedDiameterPx', opts.expectedDiameterPx ?? DEFAULT_DIAMETER_PX, 4, 1000);
  const spots = opts.spots ?? gridRecipe({ width, height, expectedDiameterPx: defD });
  if (!Array.isArray(spots)) fail('spots must be an array of { id, x, y, expectedDiameterPx? }');
  const { mix, total } = normaliseMix(opts.classMix);
  const overrides = opts.classOverrides ?? {};
  const wear = checkWear(opts.wear);
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
    const worn = wear?.spots[id];
    if (worn && cls !== 'missing') {
      diameter = Math.max(1, diameter - worn.pxPerPart * Math.max(0, wear.part - (worn.fromPart ?? 0)));
      if (diameter < 0.72 * d && cls !== 'undersize' && cls !== 'burn_through') cls = 'undersize';
    }
    let offset: number;
    let angle = rng.range(0, 2 * Math.PI);
    if (cls === 'off_position') {
      offset = d * rng.range(0.55, 0.85);
      if (ovr?.offsetPx !== undefined) offset = checkNumber(`classOverrides["${id}"].offsetPx`, ovr.offsetPx, 0, 10000);
      if (ovr?.angle !== undefined) angle = checkNumber(`classOverrides["${id}"].angle`, ovr.angle, -100, 100);
    } else {
      offset = cls === 'missing' ? 0 : d * rng.range(0, 0.05);
    }
    const at = placePoint(placement, width, height, x + offset * Math.cos(angle), y + offset * Math.sin(angle));
    const truth: SpotTruth = {
      spotId: id,
      class: cls,
      x: at.x,
      y: at.y,
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

/** Paint one spot onto the unlit canvas; rot (radians, counter-clockwise on screen) turns the part. */
function paintSpot(c: Canvas, plan: SpotPlan, metal: number, rot: number): void {
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
      const base = rng.range(0, Math.PI) - rot;
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
      const phi = rng.range(-Math.PI, Math.PI) - rot;
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
        const a = rng.range(0, 2 * Math.PI) - rot;
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
      const phase = rng.range(0, 2 * Math.PI) + lobes * rot;
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

function checkPlacement(opts: RenderOptions, width: number, height: number, seedInt: number): Placement {
  if (opts.placement !== undefined) {
    const p = opts.placement;
    if (typeof p !== 'object' || p === null) fail('placement must be an object { dx, dy, angleDeg }');
    return {
      dx: checkNumber('placement.dx', p.dx, -width, width),
      dy: checkNumber('placement.dy', p.dy, -height, height),
      angleDeg: checkNumber('placement.angleDeg', p.angleDeg, -180, 180),
    };
  }
  const t = opts.placementTolerance;
  if (t === undefined) return { ...ALIGNED };
  if (typeof t !== 'object' || t === null) fail('placementTolerance must be an object { shiftPx, angleDeg }');
  const shift = checkNumber('placementTolerance.shiftPx', t.shiftPx, 0, 4096);
  const angle = checkNumber('placementTolerance.angleDeg', t.angleDeg, 0, 45);
  // a stream of its own: the same seed gives the same part wherever it sits
  const rng = new Rng(hashString('placement', seedInt));
  return { dx: rng.range(-shift, shift), dy: rng.range(-shift, shift), angleDeg: rng.range(-angle, angle) };
}

function checkOptics(o: Optics | undefined): Required<Optics> {
  if (o !== undefined && (typeof o !== 'object' || o === null)) fail('optics must be an object { blurSigma?, vignette?, exposureDrift? }');
  return {
    blurSigma: checkNumber('optics.blurSigma', o?.blurSigma ?? 0, 0, 20),
    vignette: checkNumber('optics.vignette', o?.vignette ?? 0.3, 0, 1),
    exposureDrift: checkNumber('optics.exposureDrift', o?.exposureDrift ?? 0.2, 0, 0.9),
  };
}

/**
 * The sheet's texture as a function of part coordinates: T(u, v) = metal + row(v) + col(u) + Σ a_k(u)·b_k(v), tabulated
 * at integer u in [-pad, width + pad) and v in [-pad, height + pad). Inside the frame the tables hold exactly the
 * values earlier releases drew from the frame's stream; the pad comes from streams of its own, drawn outwards,
 * so a part coordinate's texture does not depend on how large the pad is.
 */
class SheetTexture {
  readonly row: Float32Array;
  readonly col: Float32Array;
  readonly a: Float32Array[] = [];
  readonly b: Float32Array[] = [];
  constructor(readonly width: number, readonly height: number, readonly pad: number, rng: Rng, seedInt: number, readonly metal: number) {
    const stream = (tag: string): Rng => new Rng(hashString(tag, seedInt));
    const H = height + 2 * pad;
    const W = width + 2 * pad;
    this.row = new Float32Array(H);
    let walk = 0;
    for (let y = 0; y < height; y++) {
      walk = walk * 0.9 + rng.range(-2.2, 2.2);
      this.row[pad + y] = walk + (rng.next() < 0.01 ? rng.range(-8, 8) : 0);
    }
    this.col = new Float32Array(W);
    for (let x = 0; x < width; x++) this.col[pad + x] = rng.range(-1.2, 1.2);
    if (pad > 0) {
      const extendRows = (r: Rng, from: number, step: number): void => {
        let w = this.row[from - step];
        for (let k = 0, y = from; k < pad; k++, y += step) {
          w = w * 0.9 + r.range(-2.2, 2.2);
          this.row[y] = w + (r.next() < 0.01 ? r.range(-8, 8) : 0);
        }
      };
      extendRows(stream('rows-below'), pad + height, 1);
      extendRows(stream('rows-above'), pad - 1, -1);
      const right = stream('cols-right');
      for (let k = 0; k < pad; k++) this.col[pad + width + k] = right.range(-1.2, 1.2);
      const left = stream('cols-left');
      for (let k = 0; k < pad; k++) this.col[pad - 1 - k] = left.range(-1.2, 1.2);
    }
    for (let k = 0; k < 3; k++) {
      const fx = rng.range(0.5, 3) * ((2 * Math.PI) / width);
      const fy = rng.range(0.5, 3) * ((2 * Math.PI) / height);
      const px = rng.range(0, 2 * Math.PI);
      const py = rng.range(0, 2 * Math.PI);
      const amp = rng.range(2, 5);
      const ax = new Float32Array(W);
      const ay = new Float32Array(H);
      for (let x = -pad; x < width + pad; x++) ax[x + pad] = amp * Math.sin(fx * x + px);
      for (let y = -pad; y < height + pad; y++) ay[y + pad] = Math.sin(fy * y + py);
      this.a.push(ax);
      this.b.push(ay);
    }
  }

  /** The aligned part: texture at integer part coordinates, as earlier releases computed it. */
  fillAligned(px: Float32Array): void {
    const { width, height, pad } = this;
    const [a0, a1, a2] = this.a.map((t) => t.subarray(pad, pad + width));
    const col = this.col.subarray(pad, pad + width);
    for (let y = 0; y < height; y++) {
      const base = this.metal + this.row[pad + y];
      const b0 = this.b[0][pad + y];
      const b1 = this.b[1][pad + y];
      const b2 = this.b[2][pad + y];
      let i = y * width;
      for (let x = 0; x < width; x++, i++) px[i] = base + col[x] + a0[x] * b0 + a1[x] * b1 + a2[x] * b2;
    }
  }

  /** The placed part: each frame pixel's part coordinates (inverse placement), tables interpolated linearly. */
  fillPlaced(px: Float32Array, p: Placement): void {
    const { width, height, pad } = this;
    const rad = (p.angleDeg * Math.PI) / 180;
    const c = Math.cos(rad);
    const s = Math.sin(rad);
    const cx = width / 2;
    const cy = height / 2;
    const W = width + 2 * pad;
    const H = height + 2 * pad;
    const [a0, a1, a2] = this.a;
    const [b0, b1, b2] = this.b;
    const { row, col, metal } = this;
    // the tables are interpolated linearly at (u, v): one index and fraction per axis and pixel, shared by the
    // eight lookups (clamped to the table's ends)
    for (let y = 0; y < height; y++) {
      const ey = y - cy - p.dy;
      let i = y * width;
      for (let x = 0; x < width; x++, i++) {
        const ex = x - cx - p.dx;
        const u = cx + c * ex - s * ey + pad;
        const v = cy + s * ex + c * ey + pad;
        let iu = Math.floor(u);
        let fu = u - iu;
        if (iu < 0) {
          iu = 0;
          fu = 0;
        } else if (iu >= W - 1) {
          iu = W - 2;
          fu = 1;
        }
        let iv = Math.floor(v);
        let fv = v - iv;
        if (iv < 0) {
          iv = 0;
          fv = 0;
        } else if (iv >= H - 1) {
          iv = H - 2;
          fv = 1;
        }
        const ju = iu + 1;
        const jv = iv + 1;
        px[i] =
          metal +
          (row[iv] + (row[jv] - row[iv]) * fv) +
          (col[iu] + (col[ju] - col[iu]) * fu) +
          (a0[iu] + (a0[ju] - a0[iu]) * fu) * (b0[iv] + (b0[jv] - b0[iv]) * fv) +
          (a1[iu] + (a1[ju] - a1[iu]) * fu) * (b1[iv] + (b1[jv] - b1[iv]) * fv) +
          (a2[iu] + (a2[ju] - a2[iu]) * fu) * (b2[iv] + (b2[jv] - b2[iv]) * fv);
      }
    }
  }
}

/** How far outside the frame (in part coordinates) the placed frame reaches: the texture tables' pad. */
function texturePad(p: Placement, width: number, height: number): number {
  if (isAligned(p)) return 0;
  // the inverse placement is the placement by (-angle) after shifting back
  const inv = { dx: 0, dy: 0, angleDeg: -p.angleDeg };
  let reach = 0;
  for (const [x, y] of [[0, 0], [width, 0], [0, height], [width, height]]) {
    const q = placePoint(inv, width, height, x - p.dx, y - p.dy);
    reach = Math.max(reach, -q.x, q.x - width, -q.y, q.y - height);
  }
  return Math.ceil(reach) + 2;
}

/** Draw one fiducial mark centred at (fx, fy), turned by rot (radians, counter-clockwise on screen); 4×4 supersampled. */
function paintFiducial(c: Canvas, pattern: readonly string[], fx: number, fy: number, size: number, rot: number): void {
  const cell = size / FIDUCIAL_CELLS;
  const cos = Math.cos(rot);
  const sin = Math.sin(rot);
  const half = size / 2;
  const reach = half * Math.SQRT2 + 1;
  const S = 4;
  c.each(fx, fy, reach, (i, dx, dy) => {
    let inside = 0;
    let sum = 0;
    for (let sy = 0; sy < S; sy++) {
      const ey = dy + (sy + 0.5) / S - 0.5;
      for (let sx = 0; sx < S; sx++) {
        const ex = dx + (sx + 0.5) / S - 0.5;
        // back to the mark's own axes
        const p = cos * ex - sin * ey + half;
        const q = sin * ex + cos * ey + half;
        if (p < 0 || q < 0 || p >= size || q >= size) continue;
        const ci = Math.floor(p / cell);
        const cj = Math.floor(q / cell);
        const ring = Math.min(ci, cj, FIDUCIAL_CELLS - 1 - ci, FIDUCIAL_CELLS - 1 - cj);
        let light: boolean;
        if (ring === 0) light = true;
        else if (ring === 1) light = false;
        else light = pattern[cj - 2][ci - 2] === '1';
        inside += 1;
        sum += light ? FIDUCIAL_LIGHT : FIDUCIAL_DARK;
      }
    }
    if (inside > 0) c.blend(i, sum / inside, inside / (S * S));
  });
}

/** The fiducial marks to draw: fiducialPositions(), less those that would come near a recipe spot. */
function planFiducials(plans: SpotPlan[], width: number, height: number, placement: Placement): FiducialTruth[] {
  const out: FiducialTruth[] = [];
  for (const f of fiducialPositions(width, height)) {
    const clear = plans.every((p) => Math.hypot(p.truth.expectedX - f.x, p.truth.expectedY - f.y) >= f.size * 0.71 + 2.2 * p.truth.expectedDiameterPx);
    if (!clear) continue;
    const at = placePoint(placement, width, height, f.x, f.y);
    out.push({ id: f.id, x: at.x, y: at.y, expectedX: f.x, expectedY: f.y, size: f.size });
  }
  return out;
}

/** Separable Gaussian blur in place (edges clamped). */
function gaussianBlur(px: Float32Array, width: number, height: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let j = -r; j <= r; j++) sum += k[j + r] = Math.exp(-(j * j) / (2 * sigma * sigma));
  for (let j = 0; j < k.length; j++) k[j] /= sum;
  const tmp = new Float32Array(width * height);
  // along rows
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let j = -r; j <= r; j++) {
        const xx = x + j < 0 ? 0 : x + j >= width ? width - 1 : x + j;
        acc += k[j + r] * px[row + xx];
      }
      tmp[row + x] = acc;
    }
  }
  // along columns, a row at a time
  px.fill(0);
  for (let y = 0; y < height; y++) {
    const out = px.subarray(y * width, (y + 1) * width);
    for (let j = -r; j <= r; j++) {
      const yy = y + j < 0 ? 0 : y + j >= height ? height - 1 : y + j;
      const w = k[j + r];
      const src = tmp.subarray(yy * width, (yy + 1) * width);
      for (let x = 0; x < width; x++) out[x] += w * src[x];
    }
  }
}

/** Render one frame. See the comment at the top of this file for the options and the classes. */
export function renderFrame(opts: RenderOptions): SimFrame {
  if (typeof opts !== 'object' || opts === null) fail('options must be an object');
  if (opts.seed === undefined || opts.seed === null) fail('seed is required (a number or a string)');
  const seedInt = seedToInt(opts.seed);
  const width = checkNumber('width', opts.width ?? DEFAULT_WIDTH, 16, 16384, true);
  const height = checkNumber('height', opts.height ?? DEFAULT_HEIGHT, 16, 16384, true);
  const placement = checkPlacement(opts, width, height, seedInt);
  const optics = checkOptics(opts.optics);
  if (opts.fiducials !== undefined && typeof opts.fiducials !== 'boolean') fail(`fiducials must be true or false, got ${String(opts.fiducials)}`);
  const plans = planSpots(opts, width, height, seedInt, placement);
  const fiducials = opts.fiducials === false ? [] : planFiducials(plans, width, height, placement);
  const rot = (placement.angleDeg * Math.PI) / 180;

  const rng = new Rng(seedInt);
  const metal = rng.range(112, 148);
  const lighting: Lighting = {
    gain: rng.range(1 - optics.exposureDrift, 1 + optics.exposureDrift),
    gradientX: rng.range(-0.25, 0.25),
    gradientY: rng.range(-0.25, 0.25),
    vignette: rng.range(0, optics.vignette),
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
  const texture = new SheetTexture(width, height, texturePad(placement, width, height), rng, seedInt, metal);
  const px = new Float32Array(width * height);
  if (isAligned(placement)) texture.fillAligned(px);
  else texture.fillPlaced(px, placement);

  const canvas = new Canvas(width, height, px);
  for (const f of fiducials) paintFiducial(canvas, FIDUCIAL_PATTERNS[f.id], f.x, f.y, f.size, rot);
  for (const plan of plans) paintSpot(canvas, plan, metal, rot);

  // lighting, defocus, noise, then quantise
  const blurred = optics.blurSigma > 0;
  const halfW = width / 2;
  const halfH = height / 2;
  const invR2 = 1 / (halfW * halfW + halfH * halfH);
  const gainAt = (x: number, y: number): number => {
    const dx = x - halfW;
    const dy = y - halfH;
    const rowGain = lighting.gain * (1 + lighting.gradientY * (dy / height));
    return rowGain * (1 + lighting.gradientX * (dx / width)) * (1 - lighting.vignette * (dx * dx + dy * dy) * invR2);
  };
  if (blurred) {
    for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++, i++) px[i] *= gainAt(x, y);
    gaussianBlur(px, width, height, optics.blurSigma);
  }
  const data = Buffer.allocUnsafe(width * height);
  let ns = (seedInt ^ 0xa5a5a5a5) >>> 0 || 1;
  const scale = noiseSigma * 2 / 4294967296; // sum of 3 uniforms - 1.5 has std 0.5
  for (let y = 0; y < height; y++) {
    const ny = (y - halfH) / height;
    const dy2 = (y - halfH) * (y - halfH);
    const rowGain = lighting.gain * (1 + lighting.gradientY * ny);
    let i = y * width;
    for (let x = 0; x < width; x++, i++) {
      const dx = x - halfW;
      const g = blurred ? 1 : rowGain * (1 + lighting.gradientX * (dx / width)) * (1 - lighting.vignette * (dx * dx + dy2) * invR2);
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
    blurSigma: optics.blurSigma,
    placement,
    fiducials,
    truth: plans.map((p) => p.truth),
  };
}

/**
 * The frame as a camera that sends JPEG delivers it: encoded at `quality` (1…100) and decoded again, through
 * sharp. Truth and everything else stay as they are.
 */
export async function withJpegArtefacts<F extends { data: Buffer; width: number; height: number }>(frame: F, quality: number): Promise<F> {
  checkNumber('jpegQuality', quality, 1, 100, true);
  try {
    const raw = { width: frame.width, height: frame.height, channels: 1 as const };
    const jpeg = await sharp(frame.data, { raw }).jpeg({ quality }).toBuffer();
    const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 || info.width !== frame.width || info.height !== frame.height) throw new Error(`decoded to ${info.width}×${info.height}×${info.channels}`);
    return { ...frame, data };
  } catch (e) {
    throw new SpotFusionError('SIMULATOR', `simulator: JPEG round trip failed: ${describeError(e)}`, { cause: e });
  }
}
