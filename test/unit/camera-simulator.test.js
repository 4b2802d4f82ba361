'use strict';
const assert = require('node:assert/strict');
const { createHash } = require('node:crypto');
const sim = require('../../dist/nodes/lib/camera/simulator');

const sha = (buf) => createHash('sha256').update(buf).digest('hex');
const D = 32;
const CROP = 96;

/** A frame with the given classes on a grid, 130 px apart, 100 px from the edges, one class per spot (cycling). */
function classFrame(seed, classes, cols = 7, rows = 4) {
  const spots = [];
  const classOverrides = {};
  let n = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const id = `s${n}`;
      spots.push({ id, x: 100 + c * 130, y: 100 + r * 130, expectedDiameterPx: D });
      classOverrides[id] = classes[n % classes.length];
      n += 1;
    }
  }
  return sim.renderFrame({ seed, width: cols * 130 + 70, height: rows * 130 + 70, spots, classOverrides });
}

function median(values) {
  const s = Float64Array.from(values).sort();
  return s[s.length >> 1];
}

/**
 * Measures a crop the way an inspector would, knowing nothing of the truth: local metal level from the crop
 * border, dark (nugget) area and centroid, near-black and bright pixels. Ratios to the metal level make it
 * independent of the frame's lighting.
 */
function measure(crop, size = CROP) {
  const border = [];
  for (let i = 0; i < size; i++) border.push(crop[i], crop[(size - 1) * size + i], crop[i * size], crop[i * size + size - 1]);
  const bg = median(border);
  let dark = 0, sx = 0, sy = 0, black = 0, bright = 0;
  const blackPts = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = crop[y * size + x] / bg;
      if (v < 0.74) { dark += 1; sx += x; sy += y; }
      if (v < 0.25) { black += 1; blackPts.push([x, y]); }
      if (v > 1.4) bright += 1;
    }
  }
  const c = (size - 1) / 2;
  const cx = dark ? sx / dark : c;
  const cy = dark ? sy / dark : c;
  // spread of the near-black pixels: E[r²] / (area / π) is 0.5 for a disc, much more for thin lines
  let bx = 0, by = 0, m2 = 0;
  for (const [x, y] of blackPts) { bx += x; by += y; }
  bx /= black || 1; by /= black || 1;
  for (const [x, y] of blackPts) m2 += (x - bx) ** 2 + (y - by) ** 2;
  const spread = black ? m2 / black / (black / Math.PI) : 0;
  return { bg, dark, diameter: 2 * Math.sqrt(dark / Math.PI), offset: Math.hypot(cx - c, cy - c), black, bright, spread };
}

/** A hand-written rule classifier over the measurements: if it separates the classes, a small CNN will too. */
function classify(m) {
  if (m.dark < 0.1 * Math.PI * (D / 2) ** 2) return 'missing';
  if (m.bright > 25) return 'expulsion';
  if (m.black > 20) return m.spread > 0.8 ? 'crack' : 'burn_through';
  if (m.offset > 0.3 * D) return 'off_position';
  if (m.diameter < 0.82 * D) return 'undersize';
  return 'ok';
}

describe('camera simulator', function () {
  it('renders a default 2448×2048 Mono8 frame with a truth entry per recipe spot', function () {
    const f = sim.renderFrame({ seed: 1 });
    assert.equal(f.width, 2448);
    assert.equal(f.height, 2048);
    assert.equal(f.pixelFormat, 'Mono8');
    assert.ok(Buffer.isBuffer(f.data));
    assert.equal(f.data.length, 2448 * 2048);
    assert.equal(f.truth.length, sim.gridRecipe({ width: 2448, height: 2048 }).length);
    for (const t of f.truth) {
      assert.ok(sim.SPOT_CLASSES.includes(t.class), t.class);
      assert.equal(t.expectedDiameterPx, 32);
    }
  });

  it('is deterministic: same seed → same bytes and truth; another seed → other bytes', function () {
    const opts = { seed: 'line-3/part-42', width: 640, height: 480, expectedDiameterPx: 30 };
    const a = sim.renderFrame(opts);
    const b = sim.renderFrame({ ...opts });
    assert.equal(sha(a.data), sha(b.data));
    assert.deepEqual(a.truth, b.truth);
    const c = sim.renderFrame({ ...opts, seed: 'line-3/part-43' });
    assert.notEqual(sha(a.data), sha(c.data));
    assert.notEqual(sha(sim.renderFrame({ ...opts, seed: 7 }).data), sha(sim.renderFrame({ ...opts, seed: '7' }).data));
  });

  it('keeps the same bytes across releases (golden hash; change it only on purpose, retrained models depend on it)', function () {
    const f = sim.renderFrame({ seed: 20240601, width: 320, height: 240, spots: [{ id: 'A', x: 80, y: 120 }, { id: 'B', x: 240, y: 120 }], classOverrides: { A: 'crack', B: 'expulsion' } });
    assert.equal(sha(f.data), GOLDEN);
  });

  it("draws a spot's class and look from the seed and its id only, not from the other spots", function () {
    const one = sim.renderFrame({ seed: 3, width: 400, height: 200, spots: [{ id: 'X', x: 100, y: 100 }] });
    const two = sim.renderFrame({ seed: 3, width: 400, height: 200, spots: [{ id: 'Y', x: 300, y: 100 }, { id: 'X', x: 100, y: 100 }] });
    assert.deepEqual(two.truth[1], one.truth[0]);
  });

  it('follows classMix and classOverrides', function () {
    const spots = sim.gridRecipe({ width: 1000, height: 1000, cols: 10, rows: 10 });
    const f = sim.renderFrame({ seed: 9, width: 1000, height: 1000, spots, classMix: { crack: 1, missing: 1 }, classOverrides: { S01: 'ok', S02: { class: 'undersize', diameterPx: 12 } } });
    const counts = {};
    for (const t of f.truth) counts[t.class] = (counts[t.class] ?? 0) + 1;
    assert.equal(f.truth[0].class, 'ok');
    assert.equal(f.truth[1].class, 'undersize');
    assert.equal(f.truth[1].diameterPx, 12);
    assert.equal(counts.crack + counts.missing, 98);
    assert.ok(counts.crack > 30 && counts.missing > 30, JSON.stringify(counts));
  });

  it('missing spots have no nugget contrast; present nuggets do', function () {
    const f = classFrame(11, ['missing', 'ok']);
    for (const t of f.truth) {
      const m = measure(sim.cropMono8(f, t.expectedX, t.expectedY, CROP));
      if (t.class === 'missing') {
        assert.equal(t.diameterPx, 0);
        assert.ok(m.dark < 5, `missing spot ${t.spotId} has ${m.dark} dark pixels`);
        assert.equal(m.bright, 0);
      } else {
        assert.ok(m.dark > 0.6 * Math.PI * (D / 2) ** 2, `ok spot ${t.spotId} has only ${m.dark} dark pixels`);
      }
    }
  });

  it('renders the nugget diameter the truth states (measurable to ±2 px)', function () {
    const f = classFrame(12, ['ok', 'undersize', 'off_position']);
    for (const t of f.truth) {
      const m = measure(sim.cropMono8(f, t.x, t.y, CROP));
      assert.ok(Math.abs(m.diameter - t.diameterPx) < 2, `${t.spotId} ${t.class}: measured ${m.diameter.toFixed(1)} px, truth ${t.diameterPx.toFixed(1)} px`);
      if (t.class === 'undersize') assert.ok(t.diameterPx <= 0.72 * D);
      else assert.ok(t.diameterPx >= 0.92 * D);
    }
  });

  it('places off_position nuggets away from the recipe position by truth.offsetPx', function () {
    const f = classFrame(13, ['off_position']);
    for (const t of f.truth) {
      const m = measure(sim.cropMono8(f, t.expectedX, t.expectedY, CROP));
      assert.ok(Math.abs(m.offset - t.offsetPx) < 2.5, `${t.spotId}: measured offset ${m.offset.toFixed(1)}, truth ${t.offsetPx.toFixed(1)}`);
      assert.ok(t.offsetPx >= 0.55 * D);
    }
  });

  it('makes the seven classes separable: a rule classifier on 96 px crops gets ≥ 97 % over 364 spots', function () {
    let right = 0, total = 0;
    const confusion = {};
    for (let seed = 100; seed < 113; seed++) {
      const f = classFrame(seed, sim.SPOT_CLASSES.slice());
      for (const t of f.truth) {
        const got = classify(measure(sim.cropMono8(f, t.expectedX, t.expectedY, CROP)));
        total += 1;
        if (got === t.class) right += 1;
        else confusion[`${t.class}→${got}`] = (confusion[`${t.class}→${got}`] ?? 0) + 1;
      }
    }
    assert.ok(right / total >= 0.97, `accuracy ${(right / total * 100).toFixed(1)} %: ${JSON.stringify(confusion)}`);
  });

  it('varies lighting and noise between seeds, and fixes them when asked', function () {
    const a = sim.renderFrame({ seed: 1, width: 64, height: 64, spots: [] });
    const b = sim.renderFrame({ seed: 2, width: 64, height: 64, spots: [] });
    assert.notEqual(a.lighting.gain, b.lighting.gain);
    assert.notEqual(a.noiseSigma, b.noiseSigma);
    const flat = sim.renderFrame({ seed: 1, width: 64, height: 64, spots: [], lighting: { gain: 1, gradientX: 0, gradientY: 0, vignette: 0 }, noiseSigma: 0 });
    assert.deepEqual(flat.lighting, { gain: 1, gradientX: 0, gradientY: 0, vignette: 0 });
    assert.equal(flat.noiseSigma, 0);
    const dark = sim.renderFrame({ seed: 1, width: 64, height: 64, spots: [], lighting: { gain: 0.5 }, noiseSigma: 0 });
    const mean = (buf) => buf.reduce((s, v) => s + v, 0) / buf.length;
    assert.ok(mean(dark.data) < mean(flat.data) * 0.6);
  });

  it('crops with zero fill outside the frame', function () {
    const f = sim.renderFrame({ seed: 5, width: 32, height: 32, spots: [] });
    const c = sim.cropMono8(f, 0, 0, 8);
    assert.equal(c.length, 64);
    assert.equal(c[0], 0);
    assert.equal(c[4 * 8 + 4], f.data[0]);
    assert.throws(() => sim.cropMono8(f, 0, 0, 0), /crop size/);
  });

  it('rejects bad options with an error naming the field', function () {
    const bad = [
      [{}, /seed is required/],
      [{ seed: NaN }, /seed/],
      [{ seed: 1, width: 10 }, /width must be an integer in 16/],
      [{ seed: 1, height: 100.5 }, /height/],
      [{ seed: 1, width: 100, height: 100, spots: [{ id: 'a', x: 500, y: 1 }] }, /spots\[0\]\.x/],
      [{ seed: 1, width: 100, height: 100, spots: [{ id: 'a', x: 5, y: 5 }, { id: 'a', x: 6, y: 6 }] }, /spots\[1\]\.id "a" is used twice/],
      [{ seed: 1, width: 100, height: 100, spots: [{ x: 5, y: 5 }] }, /spots\[0\]\.id/],
      [{ seed: 1, width: 100, height: 100, spots: [{ id: 'a', x: 5, y: 5 }], classOverrides: { a: 'wobbly' } }, /classOverrides\["a"\]: unknown class "wobbly"/],
      [{ seed: 1, width: 100, height: 100, spots: [], classMix: { nope: 1 } }, /classMix: unknown class "nope"/],
      [{ seed: 1, width: 100, height: 100, spots: [], classMix: { ok: -1 } }, /classMix\.ok/],
      [{ seed: 1, width: 100, height: 100, spots: [], classMix: { ok: 0 } }, /at least one class/],
      [{ seed: 1, width: 100, height: 100, spots: [], lighting: { gain: 0 } }, /lighting\.gain/],
      [{ seed: 1, width: 100, height: 100, spots: [], noiseSigma: -1 }, /noiseSigma/],
      [{ seed: 1, width: 100, height: 100, spots: 'x' }, /spots must be an array/],
    ];
    for (const [opts, re] of bad) {
      assert.throws(() => sim.renderFrame(opts), (e) => e.code === 'SIMULATOR' && re.test(e.message), JSON.stringify(opts));
    }
    assert.throws(() => sim.gridRecipe({ width: 100, height: 100, cols: 0 }), /cols and rows/);
  });
});

const GOLDEN = '3a1559fb1a101980cad1a6b6800c28b690ef6f514d4a3e2ca8da5ae9b0e1e3ea';
