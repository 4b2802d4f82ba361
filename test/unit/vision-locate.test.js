'use strict';
// Part location and per-spot re-centring (nodes/lib/vision/locate.ts) on simulator frames with a known placement:
// the reference patches are taught from an aligned golden frame, the part is then put elsewhere by the simulator
// (its truth is frame.placement), and the placement found must match it.
const assert = require('node:assert/strict');
const sim = require('../../dist/nodes/lib/camera/simulator');
const L = require('../../dist/nodes/lib/vision/locate');
const { parseRecipeSet, RecipeBook } = require('../../dist/nodes/lib/vision/recipe');
const { cropBatch } = require('../../dist/nodes/lib/vision/crop');
const { enrich } = require('../../dist/nodes/lib/result/enrich');
const { parseRules } = require('../../dist/nodes/lib/result/verdict');

// half the station's size keeps the test quick; the marks scale with the frame (50 px here, 90 px at 2448×2048)
const W = 1224;
const H = 1024;

function raw(f) {
  return { data: f.data, width: f.width, height: f.height, channels: 1, order: 'MONO' };
}

/** Regions around the simulator's fiducial marks (the mark plus 4 px of quiet metal on each side). */
function markRegions(width, height, ids = ['F1', 'F2', 'F3']) {
  return sim
    .fiducialPositions(width, height)
    .filter((f) => ids.includes(f.id))
    .map((f) => {
      const s = f.size + 8;
      return { id: f.id, x: Math.round(f.x - s / 2), y: Math.round(f.y - s / 2), w: s, h: s };
    });
}

const golden = sim.renderFrame({ seed: 'locate-golden', width: W, height: H });

describe('part location (coarse-to-fine NCC) on simulator frames with a known placement', function () {
  this.timeout(60000);
  const spec = L.teachLocate(raw(golden), markRegions(W, H), { searchRange: 64, rotationRange: 2 });

  it('recovers translation within 0.5 px and rotation within 0.1° at the edge of the line tolerance (±25 px, ±1.5°), blur and noise included', function () {
    const placements = [
      { dx: 25, dy: -25, angleDeg: 1.5 },
      { dx: -24.6, dy: 23.3, angleDeg: -1.5 },
      { dx: 0.37, dy: -0.81, angleDeg: 0.05 },
      { dx: -12.25, dy: 7.5, angleDeg: -0.8 },
    ];
    const worst = { t: 0, a: 0 };
    placements.forEach((placement, k) => {
      const f = sim.renderFrame({ seed: `locate-${k}`, width: W, height: H, placement, noiseSigma: k === 1 ? 12 : 3, optics: k === 2 ? { blurSigma: 1.5 } : undefined });
      assert.deepEqual(f.placement, placement);
      const r = L.locate(raw(f), spec);
      assert.ok(r.ok, `frame ${k}: located (${r.reason})`);
      const t = Math.hypot(r.dx - placement.dx, r.dy - placement.dy);
      const a = Math.abs(r.angleDeg - placement.angleDeg);
      worst.t = Math.max(worst.t, t);
      worst.a = Math.max(worst.a, a);
      assert.ok(t <= 0.5, `frame ${k}: translation error ${t.toFixed(3)} px (found ${r.dx}, ${r.dy}; truth ${placement.dx}, ${placement.dy})`);
      assert.ok(a <= 0.1, `frame ${k}: rotation error ${a.toFixed(4)}° (found ${r.angleDeg}; truth ${placement.angleDeg})`);
      assert.ok(r.score >= 0.8 && r.score <= 1, `frame ${k}: score ${r.score}`);
      assert.equal(r.features.length, 3);
    });
    this.test.title += ` [worst ${worst.t.toFixed(3)} px, ${worst.a.toFixed(4)}°]`;
  });

  it('locates a colour frame (RGB8 or BGR8: luma) as its grey version', function () {
    const f = sim.renderFrame({ seed: 'locate-rgb', width: W, height: H, placement: { dx: 7.25, dy: -3.5, angleDeg: -0.6 } });
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) rgb.fill(f.data[i], 3 * i, 3 * i + 3);
    const grey = L.locate(raw(f), spec);
    for (const order of ['RGB', 'BGR']) {
      const r = L.locate({ data: rgb, width: W, height: H, channels: 3, order }, spec);
      assert.deepEqual([r.dx, r.dy, r.angleDeg, r.score], [grey.dx, grey.dy, grey.angleDeg, grey.score], order);
    }
  });

  it('moves the recipe spots with the placement: the moved boxes are centred on the nuggets the simulator drew', function () {
    const placement = { dx: -18.5, dy: 21.25, angleDeg: 1.2 };
    const spots = sim.gridRecipe({ width: W, height: H, cols: 4, rows: 3 });
    const f = sim.renderFrame({ seed: 'locate-move', width: W, height: H, spots, placement, classMix: { ok: 1 } });
    const r = L.locate(raw(f), spec);
    // the simulator's spot at pixel (x, y) is the box [x − 48, x + 48) centred on x + 0.5 in crop coordinates
    const recipe = spots.map((s) => ({ id: s.id, x: s.x - 48, y: s.y - 48, w: 96, h: 96 }));
    const moved = L.placeSpots(recipe, r, W, H);
    // (the simulator draws pixel i at coordinate i, crop boxes cover [x, x + w): a box centre c is the simulator's c − 0.5)
    moved.forEach((m, i) => {
      const truth = sim.placePoint(placement, W, H, recipe[i].x + 48 - 0.5, recipe[i].y + 48 - 0.5);
      const e = Math.hypot(m.x + 48 - (truth.x + 0.5), m.y + 48 - (truth.y + 0.5));
      assert.ok(e <= 0.5, `${m.id}: moved box centre ${e.toFixed(3)} px from where the part put it`);
      assert.equal(m.rotation, r.angleDeg);
    });
  });

  it('gives a LOCATE result (ok false, the feature and its score named) for a frame without the part and for an occluded reference', function () {
    const empty = sim.renderFrame({ seed: 'locate-empty', width: W, height: H, spots: [], fiducials: false });
    const none = L.locate(raw(empty), spec);
    assert.equal(none.ok, false);
    assert.ok(none.score < 0.6, `score without the part: ${none.score}`);
    assert.match(none.reason, /feature F1 score 0\.\d+ < 0\.6/);

    // the part is there, but a glove (a flat grey rectangle) hides mark F2
    const f = sim.renderFrame({ seed: 'locate-occluded', width: W, height: H, placement: { dx: 10, dy: -5, angleDeg: 0.5 } });
    const mark = f.fiducials.find((m) => m.id === 'F2');
    const half = Math.ceil(mark.size / 2) + 6;
    for (let y = Math.round(mark.y) - half; y < Math.round(mark.y) + half; y++) f.data.fill(128, y * W + Math.round(mark.x) - half, y * W + Math.round(mark.x) + half);
    const hidden = L.locate(raw(f), spec);
    assert.equal(hidden.ok, false);
    assert.match(hidden.reason, /^feature F2 score 0\.\d+ < 0\.6$/);
    assert.ok(hidden.features.find((m) => m.id === 'F1').score > 0.8, 'the other marks are still found');

    const err = L.locateFailure({ program: 7, product: 'B-pillar', spots: [] }, hidden);
    assert.equal(err.code, 'LOCATE');
    assert.match(err.message, /^part not located for recipe program 7 \(B-pillar\): score 0\.\d{3} \(minimum 0\.6\): feature F2 score/);
  });

  it('refuses a frame of another size, a placement beyond the rotation range, and features that do not fit one rigid placement', function () {
    const small = sim.renderFrame({ seed: 'locate-small', width: 640, height: 480 });
    assert.match(L.locate(raw(small), spec).reason, /the frame is 640×480, the reference was taught on 1224×1024/);
    const tight = L.teachLocate(raw(golden), markRegions(W, H), { rotationRange: 0.5 });
    const turned = sim.renderFrame({ seed: 'locate-turned', width: W, height: H, placement: { dx: 0, dy: 0, angleDeg: 1.5 } });
    assert.match(L.locate(raw(turned), tight).reason, /angle 1\.50° is outside ±0\.5°/);
    // F3 taught at the place of F1 shifted: the found marks disagree with one rigid placement
    const regions = markRegions(W, H);
    const taught = L.teachLocate(raw(golden), regions);
    const wrong = { ...taught, features: [taught.features[0], taught.features[1], { ...taught.features[2], x: taught.features[2].x + 20 }] };
    const shifted = L.locate(raw(golden), wrong);
    assert.match(shifted.reason, /do not fit one rigid placement \(residual \d+\.\d+ px > 3 px\)/);
  });

  it('with one feature, searches the rotation too (coarser: the angle of one mark is worth less than two marks far apart)', function () {
    const one = L.teachLocate(raw(golden), markRegions(W, H, ['F1']).map((r) => ({ ...r, x: r.x - 12, y: r.y - 12, w: r.w + 24, h: r.h + 24 })), { rotationRange: 2 });
    const placement = { dx: 6.5, dy: -9.25, angleDeg: 1.2 };
    const f = sim.renderFrame({ seed: 'locate-one', width: W, height: H, placement });
    const r = L.locate(raw(f), one);
    assert.ok(r.ok, r.reason);
    const ft = one.features[0];
    const at = sim.placePoint(placement, W, H, ft.x + ft.w / 2 - 0.5, ft.y + ft.h / 2 - 0.5);
    const e = Math.hypot(r.features[0].x - (at.x + 0.5), r.features[0].y - (at.y + 0.5));
    assert.ok(e <= 0.5, `the taught region found at ${r.features[0].x}, ${r.features[0].y}; the part put it at ${at.x + 0.5}, ${at.y + 0.5}`);
    assert.ok(Math.abs(r.angleDeg - placement.angleDeg) <= 0.6, `angle ${r.angleDeg} vs ${placement.angleDeg}`);
  });
});

describe('per-spot re-centring', function () {
  this.timeout(30000);

  it('finds the nugget inside the margin and centres the crop on it; off the margin or missing, the crop stays at the nominal place', function () {
    const spots = sim.gridRecipe({ width: 640, height: 480, cols: 4, rows: 2 });
    const f = sim.renderFrame({
      seed: 'recenter',
      width: 640,
      height: 480,
      spots,
      classMix: { ok: 1 },
      classOverrides: {
        S02: { class: 'off_position', offsetPx: 5, angle: 0 },
        S03: { class: 'off_position', offsetPx: 4, angle: Math.PI / 2 },
        S04: { class: 'off_position', offsetPx: 22, angle: Math.PI },
        S05: 'missing',
        S06: 'undersize',
      },
    });
    const recipe = spots.map((s) => ({ id: s.id, x: s.x - 48, y: s.y - 48, w: 96, h: 96, expectedDiameter: 32, search: 8 }));
    const placed = L.recenterSpots(raw(f), recipe);
    const byId = Object.fromEntries(placed.map((p) => [p.id, p]));
    for (const [i, t] of f.truth.entries()) {
      const p = placed[i];
      if (t.class === 'missing' || t.offsetPx > 8) {
        assert.equal(p.notFound, true, `${t.spotId} (${t.class}, ${t.offsetPx.toFixed(1)} px): not found within the margin`);
        assert.equal(p.x, recipe[i].x);
        continue;
      }
      if (t.class === 'undersize') continue; // a small nugget may or may not match the model of the full diameter
      assert.ok(p.offset, `${t.spotId} (${t.class}): found`);
      // the box centre x is the simulator's x − 0.5: the nugget drawn at t.x lies t.x − expectedX + 0.5 from it
      const ex = t.x - t.expectedX + 0.5;
      const ey = t.y - t.expectedY + 0.5;
      const e = Math.hypot(p.offset.dx - ex, p.offset.dy - ey);
      assert.ok(e <= 0.5, `${t.spotId}: offset (${p.offset.dx}, ${p.offset.dy}) vs truth (${ex.toFixed(2)}, ${ey.toFixed(2)}): ${e.toFixed(2)} px`);
    }
    assert.ok(Math.abs(byId.S02.offset.dx - 5.5) < 0.5 && Math.abs(byId.S02.offset.dy - 0.5) < 0.5, JSON.stringify(byId.S02.offset));
    // the crop of a re-centred spot is cut around the nugget (a fractional box: sampled), and says so
    const { crops } = cropBatch(raw(f), placed, { width: 48, height: 48, channels: 1, layout: 'NCHW', scale: 1 / 255, mean: [0], std: [1], channelOrder: 'RGB' });
    assert.deepEqual(crops.find((c) => c.spotId === 'S02').offset, byId.S02.offset);
    assert.equal(crops.find((c) => c.spotId === 'S05').recenter, 'not found');
  });

  it('judges off position against the nominal place: the re-centred offset above maxOffset makes the spot NOK, and the result carries locate and offsets', function () {
    const rules = parseRules({ maxOffset: 3, spots: { S2: { maxOffset: 6 } } });
    const crops = [
      { spotId: 'S1', box: { x: 0, y: 0, w: 96, h: 96 }, offset: { dx: 3, dy: 4 } },
      { spotId: 'S2', box: { x: 100, y: 0, w: 96, h: 96 }, offset: { dx: 3, dy: 4 } },
    ];
    const predictions = ['S1', 'S2'].map((spotId) => ({ spotId, label: 'ok', score: 0.99 }));
    const locate = { dx: 1.5, dy: -2, angleDeg: 0.3, score: 0.93, minScore: 0.6, ok: true, features: [{ id: 'F1', x: 1, y: 2, score: 0.93 }] };
    const r = enrich({ part: { serial: 'X', program: 1 }, crops, predictions, model: { name: 'm', version: '1' }, locate }, rules, { line: '', area: '', station: 'ST', camera: '' });
    assert.equal(r.spots[0].verdict, 'NOK');
    assert.equal(r.spots[0].reason, 'off position 5 px > 3 px');
    assert.deepEqual(r.spots[0].offset, { dx: 3, dy: 4, distance: 5 });
    assert.equal(r.spots[1].verdict, 'OK');
    assert.deepEqual(r.locate, { dx: 1.5, dy: -2, angleDeg: 0.3, score: 0.93, minScore: 0.6, ok: true, features: [{ id: 'F1', score: 0.93 }] });
    require('../../dist/nodes/lib/schemas').assertValid('inspection-result', r, 'result');
  });
});

describe('LOCATE fault result (enrich) and recipe checks at deploy', function () {
  it('turns a crop failure with code LOCATE into a LOCATE fault: NOK with codes.locate (5/4 by default), the recipe and the score named', function () {
    const rules = parseRules({});
    const message = 'SpotFusionError: part not located for recipe program 1 (demo): score 0.212 (minimum 0.6): feature F2 score 0.212 < 0.6';
    const locate = { dx: 0, dy: 0, angleDeg: 0, score: 0.212, minScore: 0.6, ok: false, features: [] };
    const r = enrich(
      { part: { serial: 'P1', program: 1 }, locate, error: { message, code: 'LOCATE', source: { id: 'c', type: 'crop', name: 'cut the spots' } } },
      rules,
      { line: '', area: '', station: 'ST', camera: '' },
    );
    assert.equal(r.verdict, 'NOK');
    assert.equal(r.resultCode, 5);
    assert.equal(r.classId, 4);
    assert.deepEqual(r.faults.map((f) => f.code), ['LOCATE']);
    assert.match(r.faults[0].message, /^crop "cut the spots" failed: part not located for recipe program 1 \(demo\): score 0\.212/);
    assert.equal(r.locate.ok, false);
    // a CROP failure of another kind keeps the fault outcome
    const c = enrich({ part: { serial: 'P1', program: 1 }, error: { message: 'boom', source: { type: 'crop' } } }, rules, { line: '', area: '', station: 'ST', camera: '' });
    assert.equal(c.resultCode, 4);
    assert.equal(parseRules({ codes: { locate: { resultCode: 9, classId: 8 } } }).codes.locate.resultCode, 9);
  });

  it('refuses a recipe whose reference patch is missing, wrong or flat, or whose region lies outside the sensor, naming the recipe and the field', function () {
    const good = L.teachLocate(raw(golden), markRegions(W, H, ['F1', 'F2']));
    const set = (locate) => ({ recipes: [{ program: 3, product: 'door', spots: [{ id: 'S', x: 0, y: 0, w: 8, h: 8 }], locate }] });
    assert.equal(RecipeBook.parse(set(good)).get(3).locate, good);
    const noPatch = { ...good, features: [{ ...good.features[0], patch: undefined }, good.features[1]] };
    delete noPatch.features[0].patch;
    assert.throws(() => parseRecipeSet(set(noPatch)), /recipes\.recipes\[0\]\.locate\.features\[0\]\.patch is required \(recipe program 3\)/);
    const short = { ...good, features: [{ ...good.features[0], patch: good.features[0].patch.slice(0, 40) }] };
    assert.throws(() => parseRecipeSet(set(short)), /recipe 3 \(door\): recipes\.recipes\[0\]\.locate\.features\[0\]\.patch has 30 bytes after base64 decoding; a 58×58 Mono8 patch needs 3364/);
    const outside = { ...good, features: [{ ...good.features[0], x: W - 20 }] };
    assert.throws(() => parseRecipeSet(set(outside)), /recipe 3 \(door\): recipes\.recipes\[0\]\.locate\.features\[0\]: region 58×58 at \(1204, \d+\) lies outside the 1224×1024 sensor/);
    const flat = { ...good, features: [{ ...good.features[0], patch: Buffer.alloc(58 * 58, 120).toString('base64') }] };
    assert.throws(() => parseRecipeSet(set(flat)), /recipe 3 \(door\): .*features\[0\]\.patch has no contrast/);
    // shared sections: by name, checked once, an unknown name refused
    const shared = { locates: { door: good }, recipes: [{ program: 1, spots: [{ id: 'S', x: 0, y: 0, w: 8, h: 8 }], locate: 'door' }, { program: 2, spots: [{ id: 'S', x: 0, y: 0, w: 8, h: 8 }], locate: 'door' }] };
    const book = RecipeBook.parse(shared);
    assert.equal(book.get(1).locate, book.get(2).locate);
    assert.throws(() => parseRecipeSet({ ...shared, recipes: [{ ...shared.recipes[0], locate: 'hood' }] }), /recipe 1: recipes\.recipes\[0\]\.locate "hood" is not in recipes\.locates \(known: door\)/);
    assert.throws(() => parseRecipeSet({ ...shared, locates: { door: outside } }), /recipes 1, 2 \(locate "door"\): recipes\.locates\.door\.features\[0\]: region .* lies outside the 1224×1024 sensor/);
  });

  it('teaches patches from a golden frame (teachLocate) and refuses regions outside it or too small', function () {
    const spec = L.teachLocate(raw(golden), markRegions(W, H, ['F1']));
    const r = spec.features[0];
    assert.deepEqual(spec.frame, { width: W, height: H });
    const px = Buffer.from(r.patch, 'base64');
    assert.equal(px.length, r.w * r.h);
    assert.equal(px[5 * r.w + 7], golden.data[(r.y + 5) * W + r.x + 7]);
    assert.throws(() => L.teachLocate(raw(golden), [{ id: 'X', x: W - 10, y: 0, w: 32, h: 32 }]), /regions\[0\] \(X\): 32×32 at \(1214, 0\) lies outside the 1224×1024 frame/);
    assert.throws(() => L.teachLocate(raw(golden), [{ id: 'X', x: 0, y: 0, w: 4, h: 32 }]), /w, h integers ≥ 8/);
  });
});
