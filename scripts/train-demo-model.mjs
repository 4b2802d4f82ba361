#!/usr/bin/env node
// Train the demo weld-spot model from simulated frames and export it as ONNX + metadata (the model contract).
//
//   npm run train-demo-model            (builds first; writes models/demo/)
//   node scripts/train-demo-model.mjs --out /tmp/m --epochs 5 --train-frames 40   (quick try)
//
// Data: the camera simulator (nodes/lib/camera/simulator.ts) renders frames with known per-spot truth; every
// spot is cut with the crop node's own code (dist/nodes/lib/vision/crop.js), so training sees exactly what
// the runtime feeds the model. Model: a small MLP (input 48×48 grey → hidden ReLU layer → a 7-class softmax
// head and a nugget-diameter regression head), trained here with plain Float32Array math and Adam.
// Deterministic: fixed seeds for frames, weights and shuffling; one thread. Held-out figures (accuracy,
// diameter MAE, inference time) are measured on the exported ONNX file with onnxruntime.
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sim = require(join(root, 'dist/nodes/lib/camera/simulator.js'));
const { cropBatch, rawImageOf } = require(join(root, 'dist/nodes/lib/vision/crop.js'));
const { preprocessOf, validateMetadata } = require(join(root, 'dist/nodes/lib/vision/metadata.js'));
const { loadModel } = require(join(root, 'dist/nodes/lib/vision/model.js'));
const { buildModel, floatTensor, valueInfo, node } = require('./onnx/build-onnx.cjs');

// ---- settings -------------------------------------------------------------------------------------------
function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
}
const OUT = arg('out', join(root, 'models', 'demo'));
const EPOCHS = Number(arg('epochs', 24));
const TRAIN_FRAMES = Number(arg('train-frames', 200));
const TEST_FRAMES = Number(arg('test-frames', 40));
const HIDDEN = Number(arg('hidden', 64));
const SEED = 20251125;
const NAME = 'spotfusion-demo';
const VERSION = '1.0.0';
const LABELS = [...sim.SPOT_CLASSES];
const K = LABELS.length;
const ROI = 96; // px around the recipe position (3 nugget diameters at d = 32)
const SIDE = 48; // model input: ROI resized 2:1
const D = SIDE * SIDE;
const DIAMETER = 32; // nominal nugget diameter of the simulated recipes, px
const FRAME_W = 1024;
const FRAME_H = 768;
const BALANCED = Object.fromEntries(LABELS.map((l) => [l, 1]));

const log = (s) => process.stdout.write(`${s}\n`);

// ---- deterministic PRNG (mulberry32) --------------------------------------------------------------------
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r) {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

// ---- data from the simulator, cut with the runtime's crop code ------------------------------------------
const spotsOfFrame = sim.gridRecipe({ width: FRAME_W, height: FRAME_H, expectedDiameterPx: DIAMETER });
const recipeSpots = spotsOfFrame.map((s) => ({ id: String(s.id), x: s.x - ROI / 2, y: s.y - ROI / 2, w: ROI, h: ROI, expectedDiameter: DIAMETER }));
// preprocessing with identity normalisation; the dataset mean/std are applied afterwards (same affine map)
const rawPre = preprocessOf(
  validateMetadata({
    name: 'raw',
    version: '0',
    task: 'classification',
    input: { name: 'image', shape: [-1, 1, SIDE, SIDE], layout: 'NCHW', dtype: 'float32' },
    normalization: { scale: 1 / 255, mean: [0], std: [1] },
    outputs: [{ name: 'p', kind: 'classification', labels: LABELS }],
  }),
);

function makeSet(prefix, frames, classMix) {
  const n = frames * recipeSpots.length;
  const x = new Float32Array(n * D);
  const y = new Int32Array(n);
  const d = new Float32Array(n);
  let row = 0;
  for (let f = 0; f < frames; f++) {
    const frame = sim.renderFrame({ seed: `${prefix}-${f}`, width: FRAME_W, height: FRAME_H, spots: spotsOfFrame, classMix });
    const { batch } = cropBatch(rawImageOf(frame), recipeSpots, rawPre);
    x.set(batch.data, row * D);
    frame.truth.forEach((t, i) => {
      y[row + i] = LABELS.indexOf(t.class);
      d[row + i] = t.diameterPx;
    });
    row += frame.truth.length;
  }
  return { x, y, d, n };
}

// ---- the model: shared hidden layer, class head, diameter head ------------------------------------------
function initParams(r) {
  const p = {
    W1: new Float32Array(HIDDEN * D),
    b1: new Float32Array(HIDDEN),
    Wc: new Float32Array(K * HIDDEN),
    bc: new Float32Array(K),
    Wr: new Float32Array(HIDDEN),
    br: new Float32Array(1),
  };
  const he = (arr, fanIn) => {
    const s = Math.sqrt(2 / fanIn);
    for (let i = 0; i < arr.length; i++) arr[i] = gauss(r) * s;
  };
  he(p.W1, D);
  he(p.Wc, HIDDEN);
  he(p.Wr, HIDDEN);
  return p;
}

const REG_SCALE = 8; // the regression head learns (d - DIAMETER) / REG_SCALE; folded into the export
const REG_WEIGHT = 0.5;

/** forward + backward on rows idx[from..to) of set; accumulates gradients into g; returns loss */
function step(p, g, set, idx, from, to, hPre, h, logits) {
  const B = to - from;
  let loss = 0;
  for (const k of Object.keys(g)) g[k].fill(0);
  const dh = new Float32Array(HIDDEN);
  for (let bi = 0; bi < B; bi++) {
    const r = idx[from + bi];
    const xo = r * D;
    const xs = set.x;
    // hidden
    for (let j = 0; j < HIDDEN; j++) {
      let s = p.b1[j];
      const wo = j * D;
      for (let i = 0; i < D; i++) s += p.W1[wo + i] * xs[xo + i];
      hPre[j] = s;
      h[j] = s > 0 ? s : 0;
    }
    // class head
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = p.bc[k];
      for (let j = 0; j < HIDDEN; j++) s += p.Wc[k * HIDDEN + j] * h[j];
      logits[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) {
      logits[k] = Math.exp(logits[k] - max);
      sum += logits[k];
    }
    const yk = set.y[r];
    loss += -Math.log(Math.max(logits[yk] / sum, 1e-12)) / B;
    // regression head
    let reg = p.br[0];
    for (let j = 0; j < HIDDEN; j++) reg += p.Wr[j] * h[j];
    const target = (set.d[r] - DIAMETER) / REG_SCALE;
    const err = reg - target;
    loss += (REG_WEIGHT * err * err) / B;
    const dreg = (2 * REG_WEIGHT * err) / B;
    // backward
    dh.fill(0);
    for (let k = 0; k < K; k++) {
      const dl = (logits[k] / sum - (k === yk ? 1 : 0)) / B;
      g.bc[k] += dl;
      const o = k * HIDDEN;
      for (let j = 0; j < HIDDEN; j++) {
        g.Wc[o + j] += dl * h[j];
        dh[j] += dl * p.Wc[o + j];
      }
    }
    g.br[0] += dreg;
    for (let j = 0; j < HIDDEN; j++) {
      g.Wr[j] += dreg * h[j];
      dh[j] += dreg * p.Wr[j];
    }
    for (let j = 0; j < HIDDEN; j++) {
      if (hPre[j] <= 0) continue;
      const dj = dh[j];
      g.b1[j] += dj;
      const wo = j * D;
      for (let i = 0; i < D; i++) g.W1[wo + i] += dj * xs[xo + i];
    }
  }
  return loss;
}

function adam(params, lr, wd) {
  const m = {};
  const v = {};
  for (const k of Object.keys(params)) {
    m[k] = new Float32Array(params[k].length);
    v[k] = new Float32Array(params[k].length);
  }
  let t = 0;
  const b1 = 0.9;
  const b2 = 0.999;
  return (grads, rate = lr) => {
    t++;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (const k of Object.keys(params)) {
      const p = params[k];
      const g = grads[k];
      const mk = m[k];
      const vk = v[k];
      const decay = k.startsWith('W') ? wd : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] + decay * p[i];
        mk[i] = b1 * mk[i] + (1 - b1) * gi;
        vk[i] = b2 * vk[i] + (1 - b2) * gi * gi;
        p[i] -= (rate * (mk[i] / c1)) / (Math.sqrt(vk[i] / c2) + 1e-8);
      }
    }
  };
}

/** plain-JS forward for monitoring */
function evaluate(p, set) {
  const h = new Float32Array(HIDDEN);
  let correct = 0;
  for (let r = 0; r < set.n; r++) {
    const xo = r * D;
    for (let j = 0; j < HIDDEN; j++) {
      let s = p.b1[j];
      const wo = j * D;
      for (let i = 0; i < D; i++) s += p.W1[wo + i] * set.x[xo + i];
      h[j] = s > 0 ? s : 0;
    }
    let best = 0;
    let bestV = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = p.bc[k];
      for (let j = 0; j < HIDDEN; j++) s += p.Wc[k * HIDDEN + j] * h[j];
      if (s > bestV) {
        bestV = s;
        best = k;
      }
    }
    if (best === set.y[r]) correct++;
  }
  return correct / set.n;
}

// ---- export -----------------------------------------------------------------------------------------------
function exportOnnx(p) {
  // fold the regression target scaling into the last layer: px = raw * REG_SCALE + DIAMETER
  const Wr = Float32Array.from(p.Wr, (w) => w * REG_SCALE);
  const br = [p.br[0] * REG_SCALE + DIAMETER];
  return buildModel({
    name: NAME,
    producer: 'spotfusion-train-demo-model',
    inputs: [valueInfo('image', ['N', 1, SIDE, SIDE])],
    outputs: [valueInfo('class_probs', ['N', K]), valueInfo('nugget_diameter', ['N', 1])],
    nodes: [
      node('Flatten', ['image'], ['flat'], { axis: 1 }),
      node('Gemm', ['flat', 'W1', 'b1'], ['hidden_pre'], { transB: 1 }),
      node('Relu', ['hidden_pre'], ['hidden']),
      node('Gemm', ['hidden', 'Wc', 'bc'], ['class_logits'], { transB: 1 }),
      node('Softmax', ['class_logits'], ['class_probs'], { axis: -1 }),
      node('Gemm', ['hidden', 'Wr', 'br'], ['nugget_diameter'], { transB: 1 }),
    ],
    initializers: [
      floatTensor('W1', [HIDDEN, D], p.W1),
      floatTensor('b1', [HIDDEN], p.b1),
      floatTensor('Wc', [K, HIDDEN], p.Wc),
      floatTensor('bc', [K], p.bc),
      floatTensor('Wr', [1, HIDDEN], Wr),
      floatTensor('br', [1], br),
    ],
    metadata: { name: NAME, version: VERSION },
  });
}

function metadataJson(mean, std, metrics, training) {
  return {
    schemaVersion: 1,
    name: NAME,
    version: VERSION,
    description:
      'Demo weld-spot model trained on simulated frames (scripts/train-demo-model.mjs): 7-class spot verdict and nugget diameter. ' +
      `Input: the ${ROI}×${ROI} px ROI centred on the recipe position, resized to ${SIDE}×${SIDE}, grey. Not for production use.`,
    task: 'multi-head',
    input: { name: 'image', shape: [-1, 1, SIDE, SIDE], layout: 'NCHW', dtype: 'float32' },
    normalization: { scale: 1 / 255, mean: [mean], std: [std] },
    outputs: [
      { name: 'class_probs', head: 'class', kind: 'classification', labels: LABELS, activation: 'none', thresholds: { default: 0.6 } },
      { name: 'nugget_diameter', head: 'nugget', kind: 'regression', unit: 'px' },
    ],
    metrics,
    training,
  };
}

async function main() {
  const t0 = Date.now();
  const r = rng(SEED);
  log(`train-demo-model: simulating ${TRAIN_FRAMES} + ${TEST_FRAMES} frames of ${recipeSpots.length} spots (${FRAME_W}×${FRAME_H})`);
  const train = makeSet('demo-train', TRAIN_FRAMES, BALANCED);
  const test = makeSet('demo-test', TEST_FRAMES, BALANCED);
  const field = makeSet('demo-field', Math.max(4, TEST_FRAMES >> 1), undefined); // the simulator's default mix (mostly ok)
  // dataset normalisation: x' = (x - mean) / std, the same as metadata mean/std on pixel/255
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < train.x.length; i++) {
    s1 += train.x[i];
    s2 += train.x[i] * train.x[i];
  }
  const mean = Number((s1 / train.x.length).toFixed(6));
  const std = Number(Math.sqrt(s2 / train.x.length - (s1 / train.x.length) ** 2).toFixed(6));
  for (const set of [train, test, field]) for (let i = 0; i < set.x.length; i++) set.x[i] = (set.x[i] - mean) / std;
  log(`  data ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${train.n} train, ${test.n} held-out, ${field.n} field-mix spots; mean ${mean}, std ${std}`);

  const params = initParams(r);
  const grads = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, new Float32Array(v.length)]));
  const lr = 1e-3;
  const update = adam(params, lr, 1e-4);
  const idx = Int32Array.from({ length: train.n }, (_, i) => i);
  const hPre = new Float32Array(HIDDEN);
  const h = new Float32Array(HIDDEN);
  const logits = new Float64Array(K);
  const BATCH = 32;
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    const rate = lr * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / EPOCHS)); // cosine decay
    let loss = 0;
    let batches = 0;
    for (let from = 0; from < idx.length; from += BATCH) {
      loss += step(params, grads, train, idx, from, Math.min(from + BATCH, idx.length), hPre, h, logits);
      update(grads, rate);
      batches++;
    }
    if (epoch === EPOCHS || epoch % 4 === 0 || epoch === 1) {
      log(`  epoch ${epoch}/${EPOCHS}: loss ${(loss / batches).toFixed(4)}, held-out accuracy ${(evaluate(params, test) * 100).toFixed(2)} % (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }

  // ---- export and measure the exported file with onnxruntime ----
  mkdirSync(OUT, { recursive: true });
  const onnxPath = join(OUT, `${NAME}.onnx`);
  const jsonPath = join(OUT, `${NAME}.json`);
  writeFileSync(onnxPath, exportOnnx(params));
  const training = {
    script: 'scripts/train-demo-model.mjs',
    simulator: 'nodes/lib/camera/simulator.ts',
    seed: SEED,
    frames: { train: TRAIN_FRAMES, heldOut: TEST_FRAMES, size: [FRAME_W, FRAME_H], spotsPerFrame: recipeSpots.length },
    samples: { train: train.n, heldOut: test.n, fieldMix: field.n },
    classMix: 'balanced (1/7 each) for train and held-out; simulator default mix for fieldMix',
    roi: { size: ROI, expectedDiameterPx: DIAMETER, centredOn: 'recipe position' },
    architecture: `flatten(1×${SIDE}×${SIDE}) → dense ${HIDDEN} ReLU → softmax ${K} | dense 1 (diameter px)`,
    optimizer: { name: 'Adam', lr, schedule: 'cosine', weightDecay: 1e-4, batch: BATCH, epochs: EPOCHS },
  };
  writeFileSync(jsonPath, `${JSON.stringify(metadataJson(mean, std, {}, training), null, 2)}\n`);
  const model = await loadModel(onnxPath, { intraOpThreads: 1 });
  const measure = async (set) => {
    const per = D;
    let correct = 0;
    let absSum = 0;
    let nugget = 0;
    const perClass = Object.fromEntries(LABELS.map((l) => [l, { n: 0, correct: 0 }]));
    for (let from = 0; from < set.n; from += 256) {
      const n = Math.min(256, set.n - from);
      const batch = { data: set.x.subarray(from * per, (from + n) * per), dims: [n, 1, SIDE, SIDE], layout: 'NCHW', spotIds: Array.from({ length: n }, (_, i) => `s${from + i}`) };
      const preds = await model.run(batch);
      preds.forEach((p, i) => {
        const truth = LABELS[set.y[from + i]];
        perClass[truth].n++;
        if (p.label === truth) {
          correct++;
          perClass[truth].correct++;
        }
        if (set.d[from + i] > 0) {
          absSum += Math.abs(p.value - set.d[from + i]);
          nugget++;
        }
      });
    }
    return {
      accuracy: correct / set.n,
      diameterMaePx: absSum / nugget,
      perClass: Object.fromEntries(Object.entries(perClass).map(([l, c]) => [l, Number((c.correct / Math.max(c.n, 1)).toFixed(4))])),
    };
  };
  const held = await measure(test);
  const fieldRes = await measure(field);
  // inference time per 32-spot batch (onnxruntime, 1 intra-op thread, this machine)
  const b32 = { data: test.x.subarray(0, 32 * D), dims: [32, 1, SIDE, SIDE], layout: 'NCHW', spotIds: Array.from({ length: 32 }, (_, i) => `s${i}`) };
  for (let i = 0; i < 20; i++) await model.run(b32);
  const times = [];
  for (let i = 0; i < 200; i++) {
    const s = process.hrtime.bigint();
    await model.run(b32);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  times.sort((a, b) => a - b);
  await model.release();
  const metrics = {
    heldOutAccuracy: Number(held.accuracy.toFixed(4)),
    heldOutPerClassAccuracy: held.perClass,
    heldOutSpots: test.n,
    fieldMixAccuracy: Number(fieldRes.accuracy.toFixed(4)),
    fieldMixSpots: field.n,
    nuggetDiameterMaePx: Number(held.diameterMaePx.toFixed(3)),
    nuggetDiameterMaeNote: 'mean |predicted − true| nugget diameter over held-out spots that have a nugget (all but missing)',
    inferenceMsPer32Batch: { p50: Number(times[100].toFixed(3)), p99: Number(times[198].toFixed(3)), runtime: 'onnxruntime-node cpu, 1 intra-op thread', cpu: require('node:os').cpus()[0]?.model ?? 'unknown' },
  };
  writeFileSync(jsonPath, `${JSON.stringify(metadataJson(mean, std, metrics, training), null, 2)}\n`);
  log(`  held-out accuracy ${(held.accuracy * 100).toFixed(2)} % (${test.n} spots), field-mix ${(fieldRes.accuracy * 100).toFixed(2)} %, per class ${JSON.stringify(held.perClass)}`);
  log(`  nugget diameter MAE ${held.diameterMaePx.toFixed(3)} px; inference p50 ${metrics.inferenceMsPer32Batch.p50} ms per 32-spot batch`);
  log(`  wrote ${onnxPath} and ${jsonPath} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  process.stderr.write(`train-demo-model: ${err.stack || err}\n`);
  process.exit(1);
});
