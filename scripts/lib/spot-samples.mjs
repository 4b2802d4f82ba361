// Spot samples from the camera simulator, cut with the crop node's own code (dist/nodes/lib/vision/crop.js), so
// training (scripts/train-demo-model.mjs) and the acceptance table (scripts/eval-model.mjs) see exactly what the
// runtime feeds the model. Shared by both; the conditions of each frame (placement, optics, noise, brightness)
// and where each ROI is cut come from the caller.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sim = require(join(root, 'dist/nodes/lib/camera/simulator.js'));
const { cropBatch, rawImageOf } = require(join(root, 'dist/nodes/lib/vision/crop.js'));

export const LABELS = [...sim.SPOT_CLASSES];
export const ROI = 96; // px around the spot (3 nugget diameters at d = 32)
export const DIAMETER = 32; // nominal nugget diameter of the simulated recipes, px

/** mulberry32: deterministic [0, 1) stream */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const uniform = (r, lo, hi) => lo + (hi - lo) * r();

/**
 * Render `frames` frames and cut every spot `cropsPerSpot` times.
 *   seeds(f) → the frame's seed; render(f) → extra renderFrame options (placement, optics, noiseSigma, lighting…);
 *   roiCentres(frame, f) → per spot a list of [cx, cy] centres to cut a ROI×ROI box at, or of boxes
 *   { x, y, w, h, rotation? } to cut as they are (default: one box at the spot's nominal position moved with the
 *   frame's true placement); pre: the model's Preprocess.
 * → { x: Float32Array (n × plane), y: Int32Array (label index), d: Float32Array (true nugget Ø px), n, plane }
 */
export function spotSamples({ frames, seeds, render = () => ({}), width, height, spots, classMix, roiCentres, cropsPerSpot = 1, pre }) {
  const plane = pre.width * pre.height * pre.channels;
  const cap = frames * spots.length * cropsPerSpot;
  const x = new Float32Array(cap * plane);
  const y = new Int32Array(cap);
  const d = new Float32Array(cap);
  let n = 0;
  for (let f = 0; f < frames; f++) {
    const frame = sim.renderFrame({ seed: seeds(f), width, height, spots, classMix, ...render(f) });
    const centres = roiCentres ? roiCentres(frame, f) : frame.truth.map((t) => [placedNominal(frame, t)]);
    const rois = [];
    const rows = [];
    frame.truth.forEach((t, i) => {
      for (const c of centres[i]) {
        const box = Array.isArray(c) ? { x: Math.round(c[0] - ROI / 2), y: Math.round(c[1] - ROI / 2), w: ROI, h: ROI } : c;
        rois.push({ ...box, id: `${t.spotId}#${rois.length}`, expectedDiameter: DIAMETER });
        rows.push(t);
      }
    });
    const { batch, crops } = cropBatch(rawImageOf(frame), rois, pre);
    crops.forEach((c, i) => {
      if (c.index === undefined) throw new Error(`frame ${seeds(f)}: ${c.spotId}: ${c.error}`);
      x.set(batch.data.subarray(c.index * plane, (c.index + 1) * plane), n * plane);
      y[n] = LABELS.indexOf(rows[i].class);
      d[n] = rows[i].diameterPx;
      n += 1;
    });
  }
  return { x: x.subarray(0, n * plane), y: y.subarray(0, n), d: d.subarray(0, n), n, plane };
}

/** Where the recipe position of a spot lies in the frame, the part's true placement applied. */
export function placedNominal(frame, t) {
  const p = sim.placePoint(frame.placement, frame.width, frame.height, t.expectedX, t.expectedY);
  return [p.x, p.y];
}
