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

  describe('render thread (off the event loop)', function () {
    const { SimRenderThread } = require('../../dist/nodes/lib/camera/sim-render');

    it('gives the pixels and truth of renderFrame, placed and aligned, while the event loop keeps turning', async function () {
      const thread = new SimRenderThread();
      try {
        for (const opts of [
          { seed: 'thread-1', width: 1224, height: 1024 },
          { seed: 'thread-2', width: 1224, height: 1024, placement: { dx: 7.25, dy: -3.5, angleDeg: 0.8 } },
          { seed: 'tiny', width: 16, height: 16, spots: [] }, // a Buffer small enough to sit in Node's shared pool
        ]) {
          let turns = 0;
          let spinning = true;
          const spin = () => {
            turns += 1;
            if (spinning) setImmediate(spin);
          };
          setImmediate(spin);
          const f = await thread.render(opts);
          spinning = false;
          const direct = sim.renderFrame(opts);
          assert.ok(Buffer.isBuffer(f.data), 'a Buffer');
          assert.equal(sha(f.data), sha(direct.data), `${opts.seed}: the same pixels`);
          assert.deepEqual(f.truth, direct.truth);
          assert.deepEqual(f.placement, direct.placement);
          // rendered on the main thread, not one immediate would have run before the frame was there
          if (opts.width > 16) assert.ok(turns >= 3, `${opts.seed}: the event loop turned ${turns} times during the render`);
        }
      } finally {
        await thread.close();
      }
    });

    it('ends an idle worker and starts another for the next render', async function () {
      const thread = new SimRenderThread(50);
      try {
        assert.equal(thread.running, false, 'no worker before the first render');
        await thread.render({ seed: 5, width: 64, height: 64, spots: [] });
        assert.equal(thread.running, true);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(thread.running, false, 'ended after 50 ms without a render');
        const f = await thread.render({ seed: 5, width: 64, height: 64, spots: [] });
        assert.equal(sha(f.data), sha(sim.renderFrame({ seed: 5, width: 64, height: 64, spots: [] }).data));
      } finally {
        await thread.close();
      }
    });

    it('keeps the code of a render error, and close() fails a render still waiting', async function () {
      const thread = new SimRenderThread();
      await assert.rejects(thread.render({ seed: 1, width: 100, height: 100, spots: [], optics: { vignette: 2 } }), (e) => e.code === 'SIMULATOR' && /optics\.vignette/.test(e.message));
      // the thread is still there for the next render
      const ok = await thread.render({ seed: 2, width: 64, height: 64, spots: [] });
      assert.equal(ok.data.length, 64 * 64);
      const waiting = thread.render({ seed: 3, width: 2448, height: 2048 });
      await thread.close();
      await assert.rejects(waiting, (e) => e.code === 'SIMULATOR' && /render thread exited/.test(e.message));
      await assert.rejects(thread.render({ seed: 4, width: 64, height: 64, spots: [] }), (e) => e.code === 'SIMULATOR' && /closed/.test(e.message));
    });
  });

  describe('placement, fiducial marks and optics', function () {
    const FLAT = { lighting: { gain: 1, gradientX: 0, gradientY: 0, vignette: 0 }, noiseSigma: 0 };
    const at = (f, x, y) => f.data[Math.round(y) * f.width + Math.round(x)];

    it('places points by rotating counter-clockwise on screen about the frame centre, then shifting', function () {
      const P = (placement, x, y) => sim.placePoint(placement, 200, 100, x, y);
      assert.deepEqual(P({ dx: 0, dy: 0, angleDeg: 0 }, 13.25, 7), { x: 13.25, y: 7 });
      assert.deepEqual(P({ dx: 5, dy: -3, angleDeg: 0 }, 10, 10), { x: 15, y: 7 });
      // 90° counter-clockwise on screen (y down): a point right of the centre goes above it
      const q = P({ dx: 0, dy: 0, angleDeg: 90 }, 150, 50);
      assert.ok(Math.abs(q.x - 100) < 1e-9 && Math.abs(q.y - 0) < 1e-9, JSON.stringify(q));
      const r = P({ dx: 2, dy: 1, angleDeg: 90 }, 100, 80);
      assert.ok(Math.abs(r.x - 132) < 1e-9 && Math.abs(r.y - 51) < 1e-9, JSON.stringify(r));
    });

    it('stays aligned by default: placement zeros, spots at the recipe, all three marks at their nominal place', function () {
      const f = sim.renderFrame({ seed: 21, width: 1224, height: 1024 });
      assert.deepEqual(f.placement, { dx: 0, dy: 0, angleDeg: 0 });
      assert.equal(f.blurSigma, 0);
      for (const t of f.truth) assert.ok(Math.hypot(t.x - t.expectedX, t.y - t.expectedY) === t.offsetPx || Math.abs(Math.hypot(t.x - t.expectedX, t.y - t.expectedY) - t.offsetPx) < 1e-9);
      assert.deepEqual(f.fiducials.map((m) => [m.id, m.x, m.y]), sim.fiducialPositions(1224, 1024).map((m) => [m.id, m.x, m.y]));
      assert.equal(sim.renderFrame({ seed: 21, width: 1224, height: 1024, fiducials: false }).fiducials.length, 0);
    });

    it('puts the marks of the default station frame clear of every spot of the demo recipe, each a distinct non-symmetric pattern', function () {
      const recipe = require('../../models/demo/recipe-demo-station.json').recipes[0];
      const marks = sim.fiducialPositions(2448, 2048);
      assert.deepEqual(marks.map((m) => m.id), ['F1', 'F2', 'F3']);
      for (const m of marks) {
        assert.ok(m.size >= 60, `mark ${m.id} is ${m.size} px`);
        for (const s of recipe.spots) {
          const cx = s.x + s.w / 2;
          const cy = s.y + s.h / 2;
          // the mark's corner is ≥ 80 px from the corner of every spot's 96 px ROI
          assert.ok(Math.hypot(cx - m.x, cy - m.y) - m.size * 0.71 - s.w * 0.71 >= 80, `${m.id} near ${s.id}`);
        }
      }
      const rot90 = (p) => p.map((_, r) => p.map((row) => row[p.length - 1 - r]).join(''));
      const seen = new Set();
      for (const [id, p] of Object.entries(sim.FIDUCIAL_PATTERNS)) {
        let q = p;
        for (let k = 0; k < 4; k++) {
          const key = q.join('/');
          assert.ok(!seen.has(key), `${id} turned ${k * 90}° repeats a pattern`);
          seen.add(key);
          q = rot90(q);
        }
      }
    });

    it('leaves out a mark that would come near a spot of a custom recipe', function () {
      const [f1] = sim.fiducialPositions(1200, 900);
      const f = sim.renderFrame({ seed: 3, width: 1200, height: 900, spots: [{ id: 'A', x: f1.x + 40, y: f1.y }] });
      assert.deepEqual(f.fiducials.map((m) => m.id), ['F2', 'F3']);
    });

    it('moves the whole part rigidly: a shifted frame is the aligned frame shifted (spots, marks and texture)', function () {
      const base = { seed: 22, width: 1224, height: 1024, ...FLAT };
      const a = sim.renderFrame(base);
      const b = sim.renderFrame({ ...base, placement: { dx: 7, dy: -4, angleDeg: 0 } });
      assert.deepEqual(b.placement, { dx: 7, dy: -4, angleDeg: 0 });
      let worst = 0;
      for (let y = 20; y < 1000; y += 3) for (let x = 20; x < 1200; x += 3) worst = Math.max(worst, Math.abs(at(a, x, y) - at(b, x + 7, y - 4)));
      assert.ok(worst <= 1, `largest difference ${worst} grey levels`);
      for (let i = 0; i < a.truth.length; i++) {
        assert.ok(Math.abs(b.truth[i].x - a.truth[i].x - 7) < 1e-9 && Math.abs(b.truth[i].y - a.truth[i].y + 4) < 1e-9);
        assert.equal(b.truth[i].expectedX, a.truth[i].expectedX);
        assert.equal(b.truth[i].class, a.truth[i].class);
      }
      assert.deepEqual(b.fiducials.map((m) => [m.x - m.expectedX, m.y - m.expectedY]), [[7, -4], [7, -4], [7, -4]]);
    });

    it('turns the part counter-clockwise on screen: a mark turned 90° is the aligned mark turned', function () {
      const base = { seed: 23, width: 1200, height: 1200, spots: [], ...FLAT };
      const a = sim.renderFrame(base);
      const b = sim.renderFrame({ ...base, placement: { dx: 0, dy: 0, angleDeg: 90 } });
      const [m] = a.fiducials;
      const n = b.fiducials[0];
      assert.ok(Math.abs(n.x - m.y) < 1e-6 && Math.abs(n.y - (1200 - m.x)) < 1e-6, JSON.stringify(n));
      const h = Math.floor(m.size / 2);
      let diff = 0, count = 0, contrast = 0;
      for (let ey = -h; ey <= h; ey++) {
        for (let ex = -h; ex <= h; ex++) {
          // (ex, ey) in the turned frame shows the aligned part at (-ey, ex) from the mark's centre
          diff += Math.abs(at(b, n.x + ex, n.y + ey) - at(a, m.x - ey, m.y + ex));
          contrast += Math.abs(at(b, n.x + ex, n.y + ey) - at(a, m.x + ex, m.y + ey));
          count += 1;
        }
      }
      assert.ok(diff / count < 2, `mean difference to the turned mark ${(diff / count).toFixed(2)}`);
      assert.ok(contrast / count > 20, `the pattern does not show its rotation (${(contrast / count).toFixed(2)})`);
    });

    it('draws the nuggets where the truth says in a placed frame', function () {
      const f = sim.renderFrame({ seed: 24, width: 1224, height: 1024, placement: { dx: -18, dy: 11, angleDeg: -1.5 }, classMix: { ok: 1 } });
      for (const t of f.truth) {
        const m = measure(sim.cropMono8(f, t.x, t.y, CROP));
        assert.ok(m.offset < 1.5, `${t.spotId}: nugget ${m.offset.toFixed(2)} px from its truth`);
        const nominal = sim.placePoint(f.placement, 1224, 1024, t.expectedX, t.expectedY);
        assert.ok(Math.hypot(t.x - nominal.x, t.y - nominal.y) <= t.offsetPx + 1e-9);
      }
    });

    it('draws a placement per seed within the tolerance, the same part wherever it sits', function () {
      const tol = { shiftPx: 25, angleDeg: 1.5 };
      const placements = [];
      for (let seed = 0; seed < 12; seed++) {
        const f = sim.renderFrame({ seed, width: 256, height: 256, spots: [], placementTolerance: tol });
        assert.ok(Math.abs(f.placement.dx) <= 25 && Math.abs(f.placement.dy) <= 25 && Math.abs(f.placement.angleDeg) <= 1.5, JSON.stringify(f.placement));
        placements.push(f.placement);
      }
      assert.ok(new Set(placements.map((p) => p.dx)).size === 12);
      assert.ok(placements.some((p) => Math.abs(p.dx) > 12) && placements.some((p) => Math.abs(p.angleDeg) > 0.75));
      const opts = { seed: 'p', width: 1024, height: 768 };
      const placed = sim.renderFrame({ ...opts, placementTolerance: tol });
      assert.deepEqual(sim.renderFrame({ ...opts, placementTolerance: tol }).placement, placed.placement);
      const aligned = sim.renderFrame(opts);
      assert.deepEqual(placed.truth.map((t) => [t.class, t.diameterPx, t.offsetPx]), aligned.truth.map((t) => [t.class, t.diameterPx, t.offsetPx]));
      // an explicit placement wins over the tolerance
      assert.deepEqual(sim.renderFrame({ ...opts, width: 64, height: 64, spots: [], placementTolerance: tol, placement: { dx: 1, dy: 2, angleDeg: 0.5 } }).placement, { dx: 1, dy: 2, angleDeg: 0.5 });
    });

    it('blurs (defocus), and draws vignette and exposure drift within the configured ranges', function () {
      const sharpness = (f) => {
        let s = 0;
        for (let y = 0; y < f.height; y++) for (let x = 1; x < f.width; x++) s += Math.abs(f.data[y * f.width + x] - f.data[y * f.width + x - 1]);
        return s;
      };
      const base = { seed: 25, width: 640, height: 480, noiseSigma: 0 };
      const s0 = sharpness(sim.renderFrame(base));
      const s1 = sharpness(sim.renderFrame({ ...base, optics: { blurSigma: 1 } }));
      const s2 = sharpness(sim.renderFrame({ ...base, optics: { blurSigma: 2 } }));
      assert.ok(s1 < 0.8 * s0 && s2 < 0.8 * s1, `edge energy ${s0} → ${s1} → ${s2}`);
      const blurred = sim.renderFrame({ ...base, optics: { blurSigma: 2 } });
      assert.equal(blurred.blurSigma, 2);
      const mean = (buf) => buf.reduce((s, v) => s + v, 0) / buf.length;
      assert.ok(Math.abs(mean(blurred.data) - mean(sim.renderFrame(base).data)) < 1, 'blur keeps the brightness');
      const gains = [];
      for (let seed = 0; seed < 40; seed++) {
        const f = sim.renderFrame({ seed, width: 32, height: 32, spots: [], optics: { exposureDrift: 0.4, vignette: 0 } });
        assert.equal(f.lighting.vignette, 0);
        gains.push(f.lighting.gain);
      }
      assert.ok(gains.every((g) => g >= 0.6 && g <= 1.4) && gains.some((g) => g < 0.8) && gains.some((g) => g > 1.2), gains.join());
      assert.equal(sim.renderFrame({ seed: 1, width: 32, height: 32, spots: [], optics: { exposureDrift: 0 } }).lighting.gain, 1);
    });

    it('adds JPEG artefacts through a real encode and decode, stronger at lower quality', async function () {
      const f = sim.renderFrame({ seed: 26, width: 640, height: 480 });
      const mad = (g) => g.data.reduce((s, v, i) => s + Math.abs(v - f.data[i]), 0) / g.data.length;
      const q90 = await sim.withJpegArtefacts(f, 90);
      const q20 = await sim.withJpegArtefacts(f, 20);
      assert.equal(q90.data.length, f.data.length);
      assert.deepEqual(q90.truth, f.truth);
      assert.ok(mad(q90) > 0.2 && mad(q90) < mad(q20) && mad(q20) < 6, `mean abs difference q90 ${mad(q90)}, q20 ${mad(q20)}`);
      await assert.rejects(sim.withJpegArtefacts(f, 0), /jpegQuality must be an integer in 1…100/);
    });

    it('rejects bad placement and optics options with an error naming the field', function () {
      const bad = [
        [{ placement: { dx: NaN, dy: 0, angleDeg: 0 } }, /placement\.dx/],
        [{ placement: { dx: 0, dy: 0, angleDeg: 200 } }, /placement\.angleDeg/],
        [{ placement: 'left' }, /placement must be an object/],
        [{ placementTolerance: { shiftPx: -1, angleDeg: 1 } }, /placementTolerance\.shiftPx/],
        [{ placementTolerance: { shiftPx: 1 } }, /placementTolerance\.angleDeg/],
        [{ optics: { blurSigma: -1 } }, /optics\.blurSigma/],
        [{ optics: { vignette: 2 } }, /optics\.vignette/],
        [{ optics: { exposureDrift: 1 } }, /optics\.exposureDrift/],
        [{ fiducials: 'yes' }, /fiducials must be true or false/],
      ];
      for (const [opts, re] of bad) {
        assert.throws(() => sim.renderFrame({ seed: 1, width: 100, height: 100, spots: [], ...opts }), (e) => e.code === 'SIMULATOR' && re.test(e.message), JSON.stringify(opts));
      }
    });
  });
});

const GOLDEN = '3a1559fb1a101980cad1a6b6800c28b690ef6f514d4a3e2ca8da5ae9b0e1e3ea';
