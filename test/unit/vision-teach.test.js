'use strict';
// The teach view's pieces that need no browser: the geometry of resources/teach/geometry.js against the crop
// node's own (nodes/lib/vision/crop.ts), the recipe document of resources/teach/recipe.js (JSON text both ways,
// undo/redo), and nodes/lib/vision/teach.ts (kept frames, uploads, the part reference, try).
const assert = require('node:assert/strict');
const path = require('node:path');
const zlib = require('node:zlib');
const fc = require('fast-check');
const sharp = require('sharp');
const { roiProblem } = require('../../dist/nodes/lib/vision/crop');
const { FrameStore, decodeUpload, teachReference, MAX_UPLOAD_BYTES } = require('../../dist/nodes/lib/vision/teach');
const { locate } = require('../../dist/nodes/lib/vision/locate');
const { ROOT } = require('../../scripts/userdir.cjs');

/** the browser modules as the editor runs them (each puts its part on window.SpotFusionTeach); they also export it for Node */
function browserModules(...names) {
  global.window = {};
  try {
    for (const n of names) {
      const file = path.join(ROOT, 'resources', 'teach', `${n}.js`);
      delete require.cache[require.resolve(file)];
      require(file);
    }
    return global.window.SpotFusionTeach;
  } finally {
    delete global.window;
  }
}

const T = browserModules('geometry', 'recipe');
const G = T.geometry;

const spotArb = fc.record({
  id: fc.constant('S'),
  x: fc.integer({ min: -50, max: 700 }),
  y: fc.integer({ min: -50, max: 500 }),
  w: fc.integer({ min: 1, max: 300 }),
  h: fc.integer({ min: 1, max: 300 }),
  rotation: fc.oneof(fc.constant(0), fc.integer({ min: -3600, max: 3600 }).map((v) => v / 10)),
});

describe('teach view geometry (resources/teach/geometry.js)', function () {
  it('says "outside the sensor" exactly where the crop node refuses the ROI', function () {
    fc.assert(
      fc.property(spotArb, (s) => {
        assert.equal(G.outside(s, 640, 480), roiProblem(s, 640, 480) !== undefined, JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('turns a box the way the crop node does: positive rotation lifts the box x axis (counter-clockwise on screen)', function () {
    const s = { id: 'A', x: 0, y: 0, w: 100, h: 20, rotation: 90 };
    const right = G.toFrame(s, 50, 0); // the middle of the right edge
    assert.ok(Math.abs(right.x - 50) < 1e-9 && Math.abs(right.y - -40) < 1e-9, JSON.stringify(right));
    const back = G.toLocal(s, right.x, right.y);
    assert.ok(Math.abs(back.x - 50) < 1e-9 && Math.abs(back.y) < 1e-9);
  });

  it('a dragged corner keeps the opposite corner in place, the rotation too', function () {
    fc.assert(
      fc.property(spotArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: -40, max: 40 }), fc.integer({ min: -40, max: 40 }), (s, i, dx, dy) => {
        const c = G.corners(s)[i];
        const r = G.resize(s, i, c.x + dx, c.y + dy);
        const before = G.corners(s)[(i + 2) % 4];
        // dragged across it, the box flips: the fixed point is then another of its corners; x, y, w, h are whole
        // pixels, so it moves by rounding only
        const nearest = Math.min(...G.corners(r).map((p) => Math.hypot(p.x - before.x, p.y - before.y)));
        assert.ok(nearest <= 1.5, `${JSON.stringify(before)} → ${JSON.stringify(G.corners(r))}`);
        assert.equal(r.rotation || 0, s.rotation || 0);
        assert.ok(Number.isInteger(r.x) && Number.isInteger(r.y) && r.w >= 1 && r.h >= 1);
      }),
      { numRuns: 500 },
    );
  });

  it('the rotate handle dragged to a point gives the rotation that points it there', function () {
    for (const deg of [0, 30, -45, 90, 135, -170]) {
      const s = { id: 'A', x: 100, y: 100, w: 60, h: 40, rotation: deg };
      const h = G.rotateHandle(s, 30);
      const back = G.rotationTowards({ ...s, rotation: 0 }, h.x, h.y, false);
      assert.ok(Math.abs(back - deg) < 0.11, `${deg} → ${back}`);
    }
    assert.equal(G.rotationTowards({ id: 'A', x: 0, y: 0, w: 10, h: 10 }, 5 - 10 * Math.sin(0.6), 5 - 10 * Math.cos(0.6), true), 30);
  });

  it('hit-tests the box, its corners and the rotate handle', function () {
    const s = { id: 'A', x: 100, y: 100, w: 40, h: 20, rotation: 90 };
    assert.deepEqual(G.hit(s, 120, 110, 3, 10, true), { what: 'inside' });
    assert.equal(G.hit(s, 135, 110, 3, 10, true), null, 'outside the turned box, inside the unturned one');
    const c = G.corners(s)[2];
    assert.deepEqual(G.hit(s, c.x + 1, c.y, 3, 10, true), { what: 'corner', index: 2 });
    assert.deepEqual(G.hit(s, c.x + 1, c.y, 3, 10, false), null, 'no handles without selection');
    const r = G.rotateHandle(s, 10);
    assert.deepEqual(G.hit(s, r.x, r.y, 3, 10, true), { what: 'rotate' });
  });

  it('numbers new spots after the last numbered id and copies a spot into a grid', function () {
    assert.equal(G.nextId([]), 'S01');
    assert.equal(G.nextId([{ id: 'P007' }, { id: 'P009' }]), 'P010');
    assert.equal(G.nextId([{ id: 'S01' }], ['S02']), 'S03');
    const copies = G.grid({ id: 'S01', x: 10, y: 20, w: 8, h: 8, expectedDiameter: 5 }, [{ id: 'S01' }], 2, 2, 30.4, 40);
    assert.deepEqual(
      copies.map((c) => [c.id, c.x, c.y, c.expectedDiameter]),
      [
        ['S02', 40, 20, 5],
        ['S03', 10, 60, 5],
        ['S04', 40, 60, 5],
      ],
    );
  });

  it('lists what the dialog refuses: empty set, empty recipe, duplicate id, outside the sensor or the locate frame', function () {
    assert.match(G.recipeProblems({ recipes: [] })[0].message, /recipe set is empty/);
    assert.match(G.recipeProblems({})[0].message, /needs a "recipes" list/);
    const p = G.recipeProblems(
      {
        recipes: [
          { program: 1, spots: [] },
          { program: 2, spots: [{ id: 'A', x: 0, y: 0, w: 9, h: 9 }, { id: 'A', x: 600, y: 0, w: 90, h: 9 }] },
          { program: 3, locate: { frame: { width: 100, height: 100 }, features: [] }, spots: [{ id: 'B', x: 95, y: 0, w: 9, h: 9 }] },
        ],
      },
      { width: 640, height: 480 },
    );
    assert.deepEqual(
      p.map((x) => x.message),
      ['recipe 1 is empty: draw at least one spot', 'recipe 2: spot id "A" appears twice', 'recipe 2: spot "A" lies outside the 640×480 sensor', 'recipe 3: spot "B" lies outside the 100×100 sensor'],
    );
    assert.deepEqual(G.recipeProblems({ recipes: [{ program: 1, spots: [{ id: 'A', x: 600, y: 0, w: 90, h: 9 }] }] }), [], 'no sensor known: no outside check');
  });
});

describe('teach view recipe document (resources/teach/recipe.js)', function () {
  it('writes the set as JSON that reads back the same (one spot a line)', function () {
    const json = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(
      fc.property(json, (v) => {
        assert.deepEqual(JSON.parse(T.format(v)), JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
    const text = T.format({ recipes: [{ program: 1, spots: [{ id: 'S01', x: 1, y: 2, w: 3, h: 4 }, { id: 'S02', x: 5, y: 6, w: 7, h: 8, head: ['a', 'b'] }] }] });
    assert.ok(text.includes('{ "id": "S01", "x": 1, "y": 2, "w": 3, "h": 4 }'), text);
    assert.ok(text.includes('{ "id": "S02", "x": 5, "y": 6, "w": 7, "h": 8, "head": ["a", "b"] }'), text);
  });

  it('follows typed JSON, says why text is not taken, and undoes and redoes changes', function () {
    const d = new T.Doc('{"recipes":[{"program":1,"spots":[{"id":"S01","x":0,"y":0,"w":9,"h":9}]}]}');
    const events = [];
    d.on((why) => events.push(why));
    assert.equal(d.setText('{"recipes": ['), false);
    assert.match(d.error, /not valid JSON/);
    assert.equal(d.setText('{"spots": []}'), false);
    assert.equal(d.error, 'needs a "recipes" list');
    assert.equal(d.spots().length, 1, 'the set is kept');
    d.addSpots([{ id: 'S02', x: 20, y: 0, w: 9, h: 9 }]);
    assert.deepEqual(d.selection, [1]);
    d.setField('expectedDiameter', 5);
    d.setField('rotation', undefined);
    assert.equal(d.spots()[1].expectedDiameter, 5);
    d.deleteSelected();
    assert.deepEqual(d.spots().map((s) => s.id), ['S01']);
    d.undo();
    assert.deepEqual(d.spots().map((s) => s.id), ['S01', 'S02']);
    d.undo();
    d.undo();
    d.undo();
    assert.deepEqual(d.spots().map((s) => s.id), ['S01']);
    assert.equal(d.undo(), false, 'nothing left to undo');
    d.redo();
    assert.deepEqual(d.spots().map((s) => s.id), ['S01', 'S02']);
    // a drag that moved nothing leaves no undo step
    const depth = d.undoStack.length;
    d.begin();
    d.end(false);
    assert.equal(d.undoStack.length, depth);
    assert.ok(d.setText('{"recipes":[{"program":7,"spots":[{"id":"Q","x":1,"y":1,"w":2,"h":2}]}]}'));
    assert.equal(d.recipe().program, 7);
    d.undo();
    assert.deepEqual(d.spots().map((s) => s.id), ['S01', 'S02'], 'typed JSON is undone too');
    assert.ok(events.includes('error') && events.includes('change') && events.includes('text'));
  });
});

describe('teach frames, uploads and the part reference (nodes/lib/vision/teach.ts)', function () {
  const img = (w, h, v = 0) => ({ data: new Uint8Array(w * h).fill(v), width: w, height: h, channels: 1, order: 'MONO' });

  it('keeps frames under random ids, the newest within the count, bytes and age', function () {
    let now = 0;
    const store = new FrameStore(3, 250, 1000, () => now);
    const a = store.put(img(10, 10), 'a');
    assert.match(a.id, /^[0-9a-f]{24}$/);
    assert.equal(store.get(a.id), a);
    for (const bad of ['../x', a.id.toUpperCase(), undefined, 5, `${a.id}0`]) assert.equal(store.get(bad), undefined);
    const b = store.put(img(10, 10), 'b');
    store.put(img(10, 10), 'c'); // 300 bytes: over 250, the oldest goes
    assert.equal(store.get(a.id), undefined);
    assert.equal(store.get(b.id), b);
    store.put(img(30, 30), 'big'); // one frame larger than the cap alone: kept (the newest always stays)
    assert.equal(store.size, 1);
    now = 2000;
    assert.equal(store.size, 1);
    store.put(img(1, 1), 'late');
    assert.equal(store.size, 1, 'the expired ones are gone');
  });

  it('decodes raw Mono8 of the size given and PNG/TIFF, refusing wrong sizes and oversized images before decoding', async function () {
    const raw = await decodeUpload(Buffer.alloc(6, 7), 'mono8', '3', 2);
    assert.deepEqual([raw.width, raw.height, raw.channels, raw.data[5]], [3, 2, 1, 7]);
    await assert.rejects(decodeUpload(Buffer.alloc(5), 'mono8', 3, 2), /needs 6 bytes, the upload has 5/);
    await assert.rejects(decodeUpload(Buffer.alloc(5), 'mono8', 0, 2), /width must be an integer/);
    await assert.rejects(decodeUpload(Buffer.alloc(5), 'mono8', 10000, 10000), /more than 40000000 pixels/);
    await assert.rejects(decodeUpload(Buffer.alloc(0), 'image'), /empty/);
    await assert.rejects(decodeUpload(Buffer.alloc(MAX_UPLOAD_BYTES + 1), 'image'), (e) => e.code === 'TOO_LARGE');
    await assert.rejects(decodeUpload(Buffer.from('x'), 'bmp-ish'), /format must be/);
    const tiff = await sharp(Buffer.alloc(40 * 30, 99), { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('b-w').tiff().toBuffer();
    const t = await decodeUpload(tiff, 'image');
    assert.deepEqual([t.width, t.height, t.channels, t.data[0]], [40, 30, 1, 99]);
    // a PNG whose header says 7000×7000 (49 MP): refused from the header, nothing decoded
    const png = await sharp(Buffer.alloc(16 * 16), { raw: { width: 16, height: 16, channels: 1 } }).png().toBuffer();
    png.writeUInt32BE(7000, 16);
    png.writeUInt32BE(7000, 20);
    png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
    await assert.rejects(decodeUpload(png, 'image'), (e) => e.code === 'TOO_LARGE' && /7000×7000/.test(e.message));
  });

  it('cuts the part reference from the golden frame, and locate finds it there', function () {
    const golden = texture(640, 480);
    const spec = teachReference(golden, [{ x: 40, y: 40, w: 120, h: 100 }]);
    assert.deepEqual([spec.frame.width, spec.features[0].id, spec.features[0].w, spec.features[0].h], [640, 'F1', 120, 100]);
    const found = locate(golden, spec);
    assert.ok(found.ok && Math.abs(found.dx) < 0.5 && Math.abs(found.dy) < 0.5, JSON.stringify(found));
    assert.throws(() => teachReference(golden, []), /1…8 reference regions/);
    assert.throws(() => teachReference(golden, [{ x: 600, y: 0, w: 100, h: 100 }]), /outside the 640×480 frame/);
    assert.throws(() => teachReference(golden, [{ x: 0, y: 0, w: 600, h: 100 }]), /at most 512×512/);
    assert.throws(() => teachReference(golden, [{ x: 'a', y: 0, w: 10, h: 10 }]), /needs numbers/);
  });
});

/** a frame with structure everywhere (for the reference without the simulator) */
function texture(w, h) {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = (Math.sin(x / 7) * Math.cos(y / 11) * 100 + 128 + ((x * 31 + y * 17) % 23)) & 255;
  return { data, width: w, height: h, channels: 1, order: 'MONO' };
}
