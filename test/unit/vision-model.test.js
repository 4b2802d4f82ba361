'use strict';
const assert = require('node:assert/strict');
const { writeFileSync, utimesSync } = require('node:fs');
const { loadModel, ModelHost, checkAgainstSession, sessionCount, metadataPathFor, mapPredictions, checkHeads } = require('../../dist/nodes/lib/vision/model');
const { validateMetadata } = require('../../dist/nodes/lib/vision/metadata');
const { poolClassifier, twoHeadModel, metadataFor, reference, writeModel, weights, LABELS } = require('../support/vision-models');
const { until } = require('../support/red');

function batchOf(rows, dims, spotIds) {
  const data = Float32Array.from(rows.flat());
  return { data, dims, layout: 'NCHW', spotIds: spotIds || rows.map((_, i) => `S${i + 1}`) };
}

function randomRows(n, k, seed) {
  return Array.from({ length: n }, (_, i) => weights(k, seed + i * 31).map((v) => Math.fround(v * 2)));
}

function close(a, b, tol, what) {
  if (!(Math.abs(a - b) <= tol)) assert.fail(`${what}: ${a} vs ${b}`);
}

describe('vision model: ONNX load, contract checks, inference', function () {
  const cleanups = [];
  afterEach(function () {
    while (cleanups.length) cleanups.pop()();
  });
  function files(f) {
    const w = writeModel(f);
    cleanups.push(w.cleanup);
    return w;
  }

  it('runs a hand-built Gemm+Softmax classifier and MatMul regression head and matches the math done here', async function () {
    const m = twoHeadModel();
    const p = files({ bytes: m.bytes, metadata: metadataFor() });
    const before = sessionCount();
    const model = await loadModel(p.onnx);
    assert.equal(sessionCount(), before + 1);
    assert.deepEqual(model.id, { name: 'tiny', version: '1.0.0' });
    assert.match(model.sha256, /^[0-9a-f]{64}$/);
    const rows = randomRows(5, 16, 3);
    const batch = batchOf(rows, [5, 1, 4, 4]);
    const raw = await model.runRaw(batch);
    const preds = await model.run(batch);
    assert.equal(preds.length, 5);
    rows.forEach((row, i) => {
      const ref = reference(m, row);
      for (let j = 0; j < 3; j++) close(raw.get('probs')[i * 3 + j], ref.probs[j], 1e-5, `probs[${i}][${j}]`);
      close(raw.get('diameter')[i], ref.diameter, 1e-4, `diameter[${i}]`);
      const p = preds[i];
      const best = ref.probs.indexOf(Math.max(...ref.probs));
      assert.equal(p.spotId, `S${i + 1}`);
      assert.equal(p.label, LABELS[best]);
      close(p.score, ref.probs[best], 1e-5, 'score');
      LABELS.forEach((l, j) => close(p.probabilities[l], ref.probs[j], 1e-5, `probabilities.${l}`));
      // thresholds: ok needs 0.9, the others the default 0.5
      assert.equal(p.uncertain, ref.probs[best] < (LABELS[best] === 'ok' ? 0.9 : 0.5));
      const value = ref.diameter * 2 + 1;
      close(p.value, value, 2e-4, 'value = raw * scale + offset');
      assert.equal(p.unit, 'px');
      assert.equal(p.outOfRange, value < 0 || value > 25);
      assert.deepEqual(Object.keys(p.heads), ['class', 'nugget']);
      assert.equal(p.heads.class.label, p.label);
      assert.equal(p.heads.nugget.value, p.value);
    });
    await model.release();
    await model.release();
    await assert.rejects(model.run(batch), /was released/);
  });

  it('applies softmax itself to a logits output, and maps single-head classification and regression models', async function () {
    const m = twoHeadModel({ softmax: false, regression: false, seed: 9, scaleW: 3 });
    const meta = metadataFor({ task: 'classification', outputs: [{ name: 'probs', kind: 'classification', labels: LABELS, activation: 'softmax' }] });
    const model = await loadModel(files({ bytes: m.bytes, metadata: meta }).onnx);
    const rows = randomRows(3, 16, 40);
    const preds = await model.run(batchOf(rows, [3, 1, 4, 4], ['a', 'b', 'c']));
    rows.forEach((row, i) => {
      const ref = reference(m, row);
      LABELS.forEach((l, j) => close(preds[i].probabilities[l], ref.probs[j], 1e-5, l));
      assert.equal(preds[i].heads, undefined, 'one head: no heads object');
      assert.equal(preds[i].uncertain, undefined, 'no thresholds: no uncertain flag');
      assert.equal(preds[i].value, undefined);
    });
    await model.release();

    const r = twoHeadModel({ classification: false, seed: 4 });
    const rmeta = metadataFor({ task: 'regression', outputs: [{ name: 'diameter', kind: 'regression', unit: 'mm' }] });
    const rmodel = await loadModel(files({ bytes: r.bytes, metadata: rmeta }).onnx);
    const rpreds = await rmodel.run(batchOf(rows, [3, 1, 4, 4]));
    rows.forEach((row, i) => {
      close(rpreds[i].value, reference(r, row).diameter, 1e-4, 'regression value');
      assert.equal(rpreds[i].unit, 'mm');
      assert.equal(rpreds[i].label, undefined);
      assert.equal(rpreds[i].outOfRange, undefined);
    });
    await rmodel.release();
  });

  it('runs NHWC models and fixed-batch models (chunked and padded) with the same answers', async function () {
    const m = twoHeadModel({ c: 3, h: 2, w: 2, layout: 'NHWC', batch: 4, seed: 21 });
    const meta = metadataFor({ c: 3, h: 2, w: 2, layout: 'NHWC', batch: 4 });
    const model = await loadModel(files({ bytes: m.bytes, metadata: meta }).onnx);
    assert.equal(model.preprocess.fixedBatch, 4);
    const rows = randomRows(6, 12, 77);
    const batch = { ...batchOf(rows, [6, 2, 2, 3]), layout: 'NHWC' };
    const raw = await model.runRaw(batch);
    rows.forEach((row, i) => {
      const ref = reference(m, row);
      for (let j = 0; j < 3; j++) close(raw.get('probs')[i * 3 + j], ref.probs[j], 1e-5, `row ${i}`);
      close(raw.get('diameter')[i], ref.diameter, 1e-4, `row ${i} diameter`);
    });
    await model.release();
  });

  describe('symbolic dimensions and output rows (the probe run at load)', function () {
    const classOnly = (opts) => ({
      ...metadataFor({ c: 3, h: 48, w: 192, task: 'classification', ...opts }),
      outputs: [{ name: 'probs', kind: 'classification', labels: LABELS, activation: 'softmax' }],
    });

    it('loads a classifier exported with dynamic N, H and W when the metadata fixes H and W, and runs it', async function () {
      const m = poolClassifier();
      const model = await loadModel(files({ bytes: m.bytes, metadata: classOnly() }).onnx);
      const rows = randomRows(3, 3 * 48 * 192, 9);
      const preds = await model.run(batchOf(rows, [3, 3, 48, 192]));
      rows.forEach((row, i) => {
        const l = m.logits(row, 48, 192);
        const e = l.map((v) => Math.exp(v - Math.max(...l)));
        const sum = e.reduce((a, v) => a + v, 0);
        LABELS.forEach((label, j) => close(preds[i].probabilities[label], e[j] / sum, 1e-5, `row ${i} ${label}`));
      });
      await model.release();
      // the metadata may also fix the batch of a graph with a dynamic N
      const fixed = await loadModel(files({ bytes: m.bytes, metadata: classOnly({ batch: 2 }) }).onnx);
      assert.equal((await fixed.run(batchOf(rows, [3, 3, 48, 192]))).length, 3);
      await fixed.release();
    });

    it('refuses at load a symbolic size the graph cannot run at the metadata size, naming the shape', async function () {
      // Flatten + Gemm weights for 4×4, graph input declared [N, 1, "H", "W"], metadata says 8×8
      const { bytes } = twoHeadModel({ h: 4, w: 4, symbolicSize: true });
      await assert.rejects(loadModel(files({ bytes, metadata: metadataFor({ h: 8, w: 8 }) }).onnx), (err) => {
        assert.equal(err.code, 'MODEL');
        assert.match(err.message, /model\.onnx: the ONNX graph cannot run the metadata's input shape \[2, 1, 8, 8\] \(a probe run with zeros failed\)/);
        return true;
      });
      const ok = await loadModel(files({ bytes, metadata: metadataFor({ h: 4, w: 4 }) }).onnx);
      await ok.release();
    });

    it('refuses at load a model whose output rows do not follow its input rows', async function () {
      const m = poolClassifier({ transposed: true });
      await assert.rejects(loadModel(files({ bytes: m.bytes, metadata: classOnly() }).onnx), (err) => {
        assert.equal(err.code, 'MODEL');
        assert.match(err.message, /model\.onnx: the ONNX graph's outputs do not follow its input rows: output "probs" gives dims \[3, 2\] for an input of 2 rows; the contract needs 2 rows of 3 value\(s\)/);
        return true;
      });
    });
  });

  it('restricts each spot to the heads its recipe names', function () {
    const meta = validateMetadata(metadataFor());
    const raw = new Map([
      ['probs', Float32Array.from([0.1, 0.8, 0.1, 0.95, 0.03, 0.02])],
      ['diameter', Float32Array.from([5, 6])],
    ]);
    const heads = new Map([['a', ['nugget']], ['b', ['class']]]);
    const [a, b] = mapPredictions(meta, raw, ['a', 'b'], heads);
    assert.deepEqual(a, { spotId: 'a', value: 11, unit: 'px', outOfRange: false, heads: { nugget: { value: 11, unit: 'px', outOfRange: false } } });
    assert.equal(b.label, 'ok');
    assert.equal(b.uncertain, false);
    assert.deepEqual(Object.keys(b.heads), ['class']);
    assert.throws(() => checkHeads(meta, new Map([['a', ['thickness']]])), /recipe names head\(s\) "thickness" that model tiny 1.0.0 does not have \(its heads: "class", "nugget"\)/);
    checkHeads(meta, undefined);
  });

  describe('metadata that does not match the ONNX graph fails at load, naming the difference', function () {
    const cases = [
      ['input name', { inputName: 'pixels' }, {}, /input "image" is not in the ONNX graph \(its inputs: "pixels"\)/],
      ['output name', {}, { outputs: [{ name: 'prob', kind: 'classification', labels: LABELS }, { name: 'diameter', kind: 'regression', unit: 'px' }] }, /output "prob" is not in the ONNX graph \(its outputs: "probs", "diameter"\)/],
      ['label count', {}, { outputs: [{ name: 'probs', kind: 'classification', labels: ['ok', 'nok'] }, { name: 'diameter', kind: 'regression', unit: 'px' }] }, /output "probs" gives 3 values per spot, metadata has 2 labels/],
      ['input size', {}, { h: 8, w: 8 }, /input "image" has shape \["N", 1, 4, 4\] in the ONNX graph, metadata says \[-1, 1, 8, 8\] \(NCHW\)/],
      ['fixed vs dynamic batch', { batch: 2 }, {}, /has shape \[2, 1, 4, 4\].*metadata says \[-1, 1, 4, 4\]/],
      ['regression width', { classes: 3 }, { outputs: [{ name: 'probs', kind: 'regression', unit: 'px' }, { name: 'diameter', kind: 'regression', unit: 'px' }], task: 'regression' }, /output "probs" gives 3 values per spot, a regression head gives 1/],
    ];
    for (const [what, graphOpts, metaOpts, re] of cases) {
      it(what, async function () {
        const m = twoHeadModel(graphOpts);
        const meta = { ...metadataFor({ ...metaOpts, inputName: metaOpts.inputName }), ...(metaOpts.outputs ? { outputs: metaOpts.outputs } : {}) };
        const p = files({ bytes: m.bytes, metadata: meta });
        await assert.rejects(loadModel(p.onnx), (err) => {
          assert.equal(err.code, 'MODEL');
          assert.match(err.message, /model\.onnx: metadata does not match the ONNX graph/);
          assert.match(err.message, re);
          return true;
        });
      });
    }

    it('checks names and shapes against what a session reports, also with several inputs', function () {
      const meta = validateMetadata(metadataFor());
      assert.throws(
        () => checkAgainstSession(meta, { inputNames: ['image', 'mask'], outputNames: ['probs', 'diameter'] }),
        /the ONNX graph has 2 inputs \(image, mask\); the contract allows one/,
      );
      assert.throws(
        () =>
          checkAgainstSession(meta, {
            inputNames: ['image'],
            outputNames: ['probs', 'diameter'],
            inputMetadata: [{ name: 'image', isTensor: true, type: 'uint8', shape: [-1, 1, 4, 4] }],
            outputMetadata: [{ name: 'probs', isTensor: true, type: 'float16', shape: ['N', 3] }],
          }),
        /input "image" is uint8 in the ONNX graph, metadata says float32; output "probs" is float16/,
      );
      // a runtime that exposes no shapes: names are still checked, nothing else fails
      checkAgainstSession(meta, { inputNames: ['image'], outputNames: ['probs', 'diameter'] });
    });
  });

  it('reports unreadable files, bad JSON, invalid metadata and a broken ONNX file clearly', async function () {
    const m = twoHeadModel();
    const noMeta = files({ bytes: m.bytes });
    await assert.rejects(loadModel(noMeta.onnx), /cannot read the metadata of model\.onnx at .*model\.json: ENOENT/);
    await assert.rejects(loadModel('/nonexistent/dir/m.onnx'), /cannot read model \/nonexistent\/dir\/m\.onnx: ENOENT/);
    await assert.rejects(loadModel(files({ bytes: m.bytes, metadata: '{ nope' }).onnx), /model\.json is not valid JSON/);
    await assert.rejects(loadModel(files({ bytes: m.bytes, metadata: { ...metadataFor(), task: 'detection' } }).onnx), /model\.json\.task must be one of "classification", "regression", "multi-head"/);
    await assert.rejects(loadModel(files({ bytes: Buffer.from('not onnx at all'), metadata: metadataFor() }).onnx), /onnxruntime cannot load .*model\.onnx/);
    assert.match(metadataPathFor('/m/v2/weld.onnx'), /\/m\/v2\/weld\.json$/);
  });

  it('falls back to the CPU when an execution provider is not there, and says so', async function () {
    const m = twoHeadModel();
    const warnings = [];
    const model = await loadModel(files({ bytes: m.bytes, metadata: metadataFor() }).onnx, { executionProviders: ['nosuchep'], intraOpThreads: 1, warn: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /execution provider "nosuchep" is not known to onnxruntime-node \(it knows cpu, .*\); ignored/);
    const out = await model.run(batchOf(randomRows(1, 16, 1), [1, 1, 4, 4]));
    assert.equal(out.length, 1);
    await model.release();
    // cuda: on a machine without it the load falls back to the CPU with a warning; with it, no warning
    const cudaWarnings = [];
    const onCuda = await loadModel(files({ bytes: m.bytes, metadata: metadataFor() }).onnx, { executionProviders: ['cuda', 'cpu'], warn: (w) => cudaWarnings.push(w) });
    assert.ok(cudaWarnings.length <= 1);
    if (cudaWarnings.length) assert.match(cudaWarnings[0], /execution providers \[cuda, cpu\] failed \(.+\); using cpu/);
    assert.equal((await onCuda.run(batchOf(randomRows(2, 16, 1), [2, 1, 4, 4]))).length, 2);
    await onCuda.release();
  });

  describe('bad input is a clear error, not a crash', function () {
    let model;
    before(async function () {
      const w = writeModel({ bytes: twoHeadModel().bytes, metadata: metadataFor() });
      model = await loadModel(w.onnx);
      w.cleanup();
    });
    after(async function () {
      await model.release();
    });
    const good = () => batchOf(randomRows(2, 16, 5), [2, 1, 4, 4]);
    const cases = [
      ['no batch', () => undefined, /msg\.batch is missing/],
      ['not a Float32Array', () => ({ ...good(), data: Array.from(good().data) }), /msg\.batch\.data must be a Float32Array/],
      ['3 dims', () => ({ ...good(), dims: [2, 16, 1] }), /dims must be 4 non-negative integers, got \[2,16,1\]/],
      ['empty batch', () => ({ data: new Float32Array(0), dims: [0, 1, 4, 4], layout: 'NCHW', spotIds: [] }), /msg\.batch is empty/],
      ['wrong size', () => ({ ...good(), dims: [2, 1, 8, 8], model: { name: 'other', version: '3' } }), /dims \[2, 1, 8, 8\] NCHW \(made for other 3\); model tiny 1\.0\.0 needs \[2, 1, 4, 4\] NCHW/],
      ['wrong layout', () => ({ ...good(), layout: 'NHWC' }), /needs \[2, 1, 4, 4\] NCHW/],
      ['data too short', () => ({ ...good(), data: new Float32Array(31) }), /data has 31 values; dims \[2, 1, 4, 4\] need 32/],
      ['spotIds', () => ({ ...good(), spotIds: ['x'] }), /spotIds must name each of the 2 batch rows/],
      ['NaN', () => { const b = good(); b.data[20] = NaN; return b; }, /non-finite value \(NaN\) in row 1 \(spot "S2"\)/],
      ['Infinity', () => { const b = good(); b.data[3] = -Infinity; return b; }, /non-finite value \(-Infinity\) in row 0/],
    ];
    for (const [what, make, re] of cases) {
      it(what, async function () {
        await assert.rejects(model.run(make()), (err) => {
          assert.equal(err.code, 'INPUT');
          assert.match(err.message, re);
          return true;
        });
      });
    }
  });

  describe('ModelHost: one session, hot swap between parts', function () {
    it('swaps in a new version beside the old one; a part in flight finishes on the old one, which is then released', async function () {
      const v1 = twoHeadModel({ seed: 1 });
      const v2 = twoHeadModel({ seed: 50 });
      const p1 = files({ bytes: v1.bytes, metadata: metadataFor({ version: '1' }) });
      const p2 = files({ bytes: v2.bytes, metadata: metadataFor({ version: '2' }) });
      const host = new ModelHost(p1.onnx, { intraOpThreads: 1 });
      const events = [];
      host.on('state', (e) => events.push(e));
      await assert.rejects(host.acquire(), /no model loaded from .*model\.onnx$/);
      await host.load();
      const row = randomRows(1, 16, 9);
      const lease = await host.acquire();
      assert.equal(lease.model.metadata.version, '1');
      const swapped = await host.load(p2.onnx);
      assert.equal(swapped.metadata.version, '2');
      assert.equal(host.current().metadata.version, '2');
      assert.equal(host.modelPath, p2.onnx);
      // the part that started on v1 still runs on v1 (not released while leased)
      const old = await lease.model.run(batchOf(row, [1, 1, 4, 4]));
      close(old[0].probabilities.ok, reference(v1, row[0]).probs[0], 1e-5, 'v1 answer');
      lease.release();
      lease.release(); // idempotent
      await until(async () => lease.model.run(batchOf(row, [1, 1, 4, 4])).then(() => false, (e) => /released/.test(e.message)), 2000, 'v1 released');
      const next = await host.acquire();
      const now = await next.model.run(batchOf(row, [1, 1, 4, 4]));
      close(now[0].probabilities.ok, reference(v2, row[0]).probs[0], 1e-5, 'v2 answer');
      next.release();
      assert.deepEqual(events.map((e) => e.state), ['loading', 'ready', 'loading', 'ready']);
      assert.deepEqual(events[3].model, { name: 'tiny', version: '2' });
      await host.close();
      assert.equal(host.current(), undefined);
    });

    it('keeps the running model when a new version fails to load, and reports why', async function () {
      const p1 = files({ bytes: twoHeadModel().bytes, metadata: metadataFor({ version: '1' }) });
      const bad = files({ bytes: twoHeadModel().bytes, metadata: metadataFor({ version: '2', h: 9, w: 9 }) });
      const host = new ModelHost(p1.onnx);
      await host.load();
      await assert.rejects(host.load(bad.onnx), /metadata does not match the ONNX graph/);
      assert.equal(host.current().metadata.version, '1');
      assert.equal(host.modelPath, p1.onnx, 'the failed path does not replace the configured one');
      const s = host.status();
      assert.equal(s.state, 'ready');
      assert.deepEqual(s.model, { name: 'tiny', version: '1' });
      assert.match(s.lastError, /input "image" has shape/);
      await host.close();
      await assert.rejects(host.load(), /closed/);
    });

    it('fails clearly when the first load fails and nothing runs yet', async function () {
      const host = new ModelHost('/nonexistent/model.onnx');
      await assert.rejects(host.load(), /cannot read model/);
      assert.equal(host.status().state, 'failed');
      await assert.rejects(host.acquire(), /no model loaded from \/nonexistent\/model\.onnx: cannot read model/);
      await host.close();
    });

    it('reloads when the model files change on disk (watch), keeping the old one if the new files are bad', async function () {
      const p = files({ bytes: twoHeadModel({ seed: 1 }).bytes, metadata: metadataFor({ version: '1' }) });
      const host = new ModelHost(p.onnx, { watch: true, watchIntervalMs: 50, settleMs: 50 });
      await host.load();
      host.startWatch();
      try {
        writeFileSync(p.onnx, twoHeadModel({ seed: 2 }).bytes);
        writeFileSync(p.json, JSON.stringify(metadataFor({ version: '2' })));
        const t = Date.now() / 1000 + 5;
        utimesSync(p.json, t, t);
        await until(() => host.current() && host.current().metadata.version === '2', 5000, 'version 2 loaded');
        writeFileSync(p.json, '{ broken');
        utimesSync(p.json, t + 5, t + 5);
        await until(() => host.status().lastError, 5000, 'failed reload reported');
        assert.match(host.status().lastError, /not valid JSON/);
        assert.equal(host.current().metadata.version, '2');
        assert.equal(host.loads, 3);
      } finally {
        await host.close();
      }
    });
  });
});
