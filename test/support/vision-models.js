'use strict';
// Tiny hand-built ONNX models for the crop/infer tests (protobufjs + our ONNX .proto subset), with the same math
// written out in plain JS so the tests can check onnxruntime's answers independently.
const { mkdtempSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { buildModel, floatTensor, valueInfo, node } = require('../../scripts/onnx/build-onnx.cjs');

/** deterministic pseudo-random weights in [-1, 1) */
function weights(n, seed) {
  const out = new Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

const LABELS = ['ok', 'crack', 'missing'];

/**
 * A two-head model on a C×H×W input (NCHW, or NHWC): flatten → Gemm(W1, b1) [→ Softmax] = "probs" (3 classes),
 * and flatten → MatMul(W2) → Add(b2) = "diameter" (1 value). Options let tests break it on purpose.
 */
function twoHeadModel({ c = 1, h = 4, w = 4, layout = 'NCHW', batch = 'N', softmax = true, classes = 3, regression = true, classification = true, inputName = 'image', seed = 1, scaleW = 1, symbolicSize = false } = {}) {
  const k = c * h * w;
  const W1 = weights(classes * k, seed).map((v) => v * scaleW);
  const b1 = weights(classes, seed + 1);
  const W2 = weights(k, seed + 2).map((v) => v * scaleW);
  const b2 = [weights(1, seed + 3)[0] + 10];
  const [gh, gw] = symbolicSize ? ['H', 'W'] : [h, w]; // symbolicSize: H and W declared symbolic, the weights still need h×w
  const shape = layout === 'NCHW' ? [batch, c, gh, gw] : [batch, gh, gw, c];
  const nodes = [node('Flatten', [inputName], ['flat'], { axis: 1 })];
  const outputs = [];
  const initializers = [];
  if (classification) {
    initializers.push(floatTensor('W1', [classes, k], W1), floatTensor('b1', [classes], b1));
    nodes.push(node('Gemm', ['flat', 'W1', 'b1'], [softmax ? 'logits' : 'probs'], { transB: 1, alpha: { f: 1 }, beta: { f: 1 } }));
    if (softmax) nodes.push(node('Softmax', ['logits'], ['probs'], { axis: -1 }));
    outputs.push(valueInfo('probs', [batch, classes]));
  }
  if (regression) {
    initializers.push(floatTensor('W2', [k, 1], W2), floatTensor('b2', [1], b2));
    nodes.push(node('MatMul', ['flat', 'W2'], ['mm']), node('Add', ['mm', 'b2'], ['diameter']));
    outputs.push(valueInfo('diameter', [batch, 1]));
  }
  const bytes = buildModel({ inputs: [valueInfo(inputName, shape)], outputs, nodes, initializers });
  return { bytes, W1, b1, W2, b2, k, classes };
}

function metadataFor({ c = 1, h = 4, w = 4, layout = 'NCHW', batch = -1, version = '1.0.0', name = 'tiny', task = 'multi-head', outputs, inputName = 'image' } = {}) {
  return {
    schemaVersion: 1,
    name,
    version,
    task,
    input: { name: inputName, shape: layout === 'NCHW' ? [batch, c, h, w] : [batch, h, w, c], layout, dtype: 'float32' },
    normalization: { scale: 1 / 255, mean: new Array(c).fill(0.5), std: new Array(c).fill(0.25) },
    outputs: outputs || [
      { name: 'probs', head: 'class', kind: 'classification', labels: LABELS, activation: 'none', thresholds: { ok: 0.9, default: 0.5 } },
      { name: 'diameter', head: 'nugget', kind: 'regression', unit: 'px', scale: 2, offset: 1, range: { min: 0, max: 25 } },
    ],
  };
}

/** independent forward pass of twoHeadModel for one row (NCHW or NHWC, flattened in memory order) */
function reference(model, row) {
  const logits = [];
  for (let j = 0; j < model.classes; j++) {
    let s = model.b1[j];
    for (let i = 0; i < model.k; i++) s += Math.fround(model.W1[j * model.k + i]) * row[i];
    logits.push(s);
  }
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  let d = Math.fround(model.b2[0]);
  for (let i = 0; i < model.k; i++) d += Math.fround(model.W2[i]) * row[i];
  return { logits, probs: e.map((v) => v / sum), diameter: d };
}

/**
 * A classifier as PyTorch exports one with dynamic axes: input [N, C, "H", "W"] (symbolic H and W) →
 * GlobalAveragePool → Flatten → Gemm(W, b) = "probs" [N, classes] (logits). It runs on any H×W; the
 * metadata fixes the size. transposed: the output comes out as [classes, N], rows not following the input's.
 */
function poolClassifier({ c = 3, classes = 3, seed = 5, transposed = false } = {}) {
  const W = weights(classes * c, seed);
  const b = weights(classes, seed + 1);
  const nodes = [
    node('GlobalAveragePool', ['image'], ['pooled']),
    node('Flatten', ['pooled'], ['flat'], { axis: 1 }),
    node('Gemm', ['flat', 'W', 'b'], [transposed ? 'rows' : 'probs'], { transB: 1, alpha: { f: 1 }, beta: { f: 1 } }),
  ];
  if (transposed) nodes.push(node('Transpose', ['rows'], ['probs'], { perm: [1, 0] }));
  const bytes = buildModel({
    inputs: [valueInfo('image', ['N', c, 'H', 'W'])],
    outputs: [valueInfo('probs', transposed ? [classes, 'N'] : ['N', classes])],
    nodes,
    initializers: [floatTensor('W', [classes, c], W), floatTensor('b', [classes], b)],
  });
  /** logits of one NCHW row of c×h×w values */
  const logits = (row, h, w) => {
    const mean = Array.from({ length: c }, (_, ch) => row.slice(ch * h * w, (ch + 1) * h * w).reduce((a, v) => a + v, 0) / (h * w));
    return Array.from({ length: classes }, (_, j) => b[j] + mean.reduce((a, m, ch) => a + Math.fround(W[j * c + ch]) * m, 0));
  };
  return { bytes, logits };
}

/** write model + metadata into a fresh temp dir; returns paths and a cleanup */
function writeModel(files, dir = mkdtempSync(join(tmpdir(), 'sf-vision-'))) {
  const base = files.base || 'model';
  const onnx = join(dir, `${base}.onnx`);
  const json = join(dir, `${base}.json`);
  if (files.bytes) writeFileSync(onnx, files.bytes);
  if (files.metadata !== undefined) writeFileSync(json, typeof files.metadata === 'string' ? files.metadata : JSON.stringify(files.metadata, null, 2));
  return { dir, onnx, json, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

module.exports = { poolClassifier, twoHeadModel, metadataFor, reference, writeModel, weights, LABELS };
