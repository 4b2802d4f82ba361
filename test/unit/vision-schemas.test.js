'use strict';
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { validateMetadata, preprocessOf, batchDims } = require('../../dist/nodes/lib/vision/metadata');
const { parseRecipeSet, parseRecipe, RecipeBook } = require('../../dist/nodes/lib/vision/recipe');
const { cropBatch } = require('../../dist/nodes/lib/vision/crop');
const { SpotFusionError } = require('../../dist/nodes/lib/errors');

const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== '');

const metadataArb = fc
  .record({
    c: fc.constantFrom(1, 3),
    h: fc.integer({ min: 1, max: 512 }),
    w: fc.integer({ min: 1, max: 512 }),
    batch: fc.oneof(fc.constant(-1), fc.constant('N'), fc.integer({ min: 1, max: 64 })),
    layout: fc.constantFrom('NCHW', 'NHWC'),
    labels: fc.uniqueArray(name, { minLength: 2, maxLength: 8 }),
    regression: fc.boolean(),
    classification: fc.boolean(),
    mean: fc.double({ min: -10, max: 10, noNaN: true }),
    std: fc.double({ min: 0.001, max: 10, noNaN: true }),
  })
  .filter((r) => r.regression || r.classification)
  .map((r) => {
    const outputs = [];
    if (r.classification) outputs.push({ name: 'probs', kind: 'classification', labels: r.labels, thresholds: { [r.labels[0]]: 0.5 } });
    if (r.regression) outputs.push({ name: 'd', kind: 'regression', unit: 'px', range: { min: 0, max: 100 } });
    return {
      meta: {
        name: 'm',
        version: '1',
        task: r.regression && r.classification ? 'multi-head' : r.classification ? 'classification' : 'regression',
        input: { name: 'x', shape: r.layout === 'NCHW' ? [r.batch, r.c, r.h, r.w] : [r.batch, r.h, r.w, r.c], layout: r.layout, dtype: 'float32' },
        normalization: { mean: new Array(r.c).fill(r.mean), std: new Array(r.c).fill(r.std) },
        outputs,
      },
      r,
    };
  });

/** set value at a random path of a JSON object (or delete it), to break it */
function mutate(obj, path, value, del) {
  const copy = JSON.parse(JSON.stringify(obj));
  let o = copy;
  for (let i = 0; i < path.length - 1; i++) {
    if (o === null || typeof o !== 'object') return copy;
    o = o[path[i]];
  }
  if (o === null || typeof o !== 'object') return copy;
  if (del) delete o[path[path.length - 1]];
  else o[path[path.length - 1]] = value;
  return copy;
}

function paths(obj, prefix = []) {
  if (obj === null || typeof obj !== 'object') return [prefix];
  const out = prefix.length ? [prefix] : [];
  for (const k of Object.keys(obj)) out.push(...paths(obj[k], [...prefix, Array.isArray(obj) ? Number(k) : k]));
  return out;
}

function expectClearError(fn, codes) {
  try {
    fn();
    return true;
  } catch (err) {
    assert.ok(err instanceof SpotFusionError, `not a SpotFusionError: ${err && err.stack}`);
    assert.ok(codes.includes(err.code), `code ${err.code}`);
    assert.ok(err.message.length > 10 && !/undefined/.test(err.message.replace(/is undefined/g, '')), err.message);
    return false;
  }
}

describe('vision metadata and recipe validation (fast-check)', function () {
  it('accepts every well-formed metadata and derives the input geometry from it', function () {
    fc.assert(
      fc.property(metadataArb, ({ meta, r }) => {
        const m = validateMetadata(meta);
        const pre = preprocessOf(m);
        assert.deepEqual([pre.channels, pre.height, pre.width, pre.layout], [r.c, r.h, r.w, r.layout]);
        assert.equal(pre.fixedBatch, typeof r.batch === 'number' && r.batch > 0 ? r.batch : undefined);
        assert.deepEqual(batchDims(pre, 5), r.layout === 'NCHW' ? [5, r.c, r.h, r.w] : [5, r.h, r.w, r.c]);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects broken metadata with an error naming the field, never a crash', function () {
    fc.assert(
      fc.property(
        metadataArb,
        fc.nat(),
        fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.constant(0), fc.constant(-5), fc.constant(''), fc.constant([])),
        fc.boolean(),
        ({ meta }, pick, value, del) => {
          const all = paths(meta);
          const path = all[pick % all.length];
          const broken = mutate(meta, path, value, del);
          expectClearError(() => validateMetadata(broken, 'model.json'), ['SCHEMA', 'MODEL']);
        },
      ),
      { numRuns: 400 },
    );
    fc.assert(fc.property(fc.anything(), (v) => assert.equal(expectClearError(() => validateMetadata(v), ['SCHEMA', 'MODEL']), false)), { numRuns: 200 });
  });

  it('names specific metadata mistakes', function () {
    const base = () => ({
      name: 'm',
      version: '1',
      task: 'multi-head',
      input: { name: 'x', shape: [-1, 3, 8, 8], layout: 'NCHW', dtype: 'float32' },
      normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
      outputs: [{ name: 'p', kind: 'classification', labels: ['a', 'b'] }],
    });
    const cases = [
      [(m) => (m.input.shape = [-1, 2, 8, 8]), /channel dimension \(NCHW\) must be 1 or 3, got 2/],
      [(m) => (m.input.shape = [-1, 3, 'H', 8]), /height and width must be positive integers/],
      [(m) => (m.normalization.mean = [0]), /normalization\.mean has 1 values for 3 channel\(s\)/],
      [(m) => (m.normalization.std = [1, 1]), /normalization\.std has 2 values for 3 channel\(s\)/],
      [(m) => (m.normalization.std = [1, 0, 1]), /normalization\.std\[1\] must be > 0/],
      [(m) => m.outputs.push({ name: 'p', kind: 'regression', unit: 'px' }), /outputs\[1\]\.name "p" appears twice/],
      [(m) => m.outputs.push({ name: 'q', head: 'p', kind: 'regression', unit: 'px' }), /outputs\[1\]\.head "p" appears twice/],
      [(m) => (m.outputs[0].labels = ['a', 'a']), /labels has duplicates/],
      [(m) => (m.outputs[0].thresholds = { z: 0.5 }), /thresholds\.z is not one of the labels/],
      [(m) => (m.outputs[0].unit = 'px'), /classification output: unit, scale, offset and range do not apply/],
      [(m) => m.outputs.push({ name: 'r', kind: 'regression', unit: 'px', labels: ['a', 'b'] }), /regression output: labels, thresholds and activation do not apply/],
      [(m) => m.outputs.push({ name: 'r', kind: 'regression', unit: 'px', range: { min: 5, max: 1 } }), /range\.min is above range\.max/],
      [(m) => m.outputs.push({ name: 'r', kind: 'regression' }), /outputs\[1\]\.unit is required/],
      [(m) => (m.outputs[0].kind = 'classification', delete m.outputs[0].labels), /outputs\[0\]\.labels is required/],
      [(m) => ((m.task = 'classification'), m.outputs.push({ name: 'r', kind: 'regression', unit: 'px' })), /task "classification" allows classification outputs only/],
      [(m) => ((m.task = 'regression')), /task "regression" allows regression outputs only/],
      [(m) => (m.input.dtype = 'uint8'), /input\.dtype must be one of "float32"/],
      [(m) => (m.extra = 1), /meta\.extra is not allowed/],
    ];
    for (const [change, re] of cases) {
      const m = base();
      change(m);
      assert.throws(() => validateMetadata(m, 'meta'), re);
    }
  });

  const spotArb = fc.record(
    {
      id: name,
      x: fc.integer({ min: -50, max: 300 }),
      y: fc.integer({ min: -50, max: 300 }),
      w: fc.integer({ min: 1, max: 80 }),
      h: fc.integer({ min: 1, max: 80 }),
      rotation: fc.double({ min: -360, max: 360, noNaN: true }),
      expectedDiameter: fc.double({ min: 0.5, max: 100, noNaN: true }),
      head: fc.oneof(name, fc.array(name, { minLength: 1, maxLength: 3 })),
    },
    { requiredKeys: ['id', 'x', 'y', 'w', 'h'] },
  );
  const recipeSetArb = fc
    .uniqueArray(fc.oneof(fc.integer({ min: 0, max: 9999 }), name), { minLength: 1, maxLength: 6, selector: (p) => String(p) })
    .chain((programs) =>
      fc.tuple(...programs.map((program) => fc.uniqueArray(spotArb, { minLength: 1, maxLength: 6, selector: (s) => s.id }).map((spots) => ({ program, spots })))),
    )
    .map((recipes) => ({ recipes }));

  it('accepts well-formed recipe sets and finds each recipe by program (number or string)', function () {
    fc.assert(
      fc.property(recipeSetArb, (set) => {
        const book = RecipeBook.parse(set);
        for (const r of set.recipes) {
          assert.equal(book.get(r.program), book.get(String(r.program)));
          assert.deepEqual(book.get(r.program).spots.map((s) => s.id), r.spots.map((s) => s.id));
        }
        assert.throws(() => book.get('no-such-program-xyz'), /no recipe for program "no-such-program-xyz"; known programs: /);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects broken recipe sets with an error naming the field, never a crash', function () {
    fc.assert(
      fc.property(
        recipeSetArb,
        fc.nat(),
        fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.constant(0.5), fc.constant(-1), fc.constant('')),
        fc.boolean(),
        (set, pick, value, del) => {
          const all = paths(set);
          const broken = mutate(set, all[pick % all.length], value, del);
          expectClearError(() => parseRecipeSet(broken), ['SCHEMA', 'RECIPE']);
        },
      ),
      { numRuns: 400 },
    );
    fc.assert(fc.property(fc.anything(), (v) => assert.equal(expectClearError(() => parseRecipeSet(v), ['SCHEMA', 'RECIPE']), false)), { numRuns: 200 });
  });

  it('names duplicate programs and spot ids, and bad lookups', function () {
    const spot = { id: 'S1', x: 0, y: 0, w: 4, h: 4 };
    assert.throws(() => parseRecipeSet({ recipes: [{ program: 1, spots: [spot] }, { program: '1', spots: [spot] }] }), /recipes\.recipes\[1\]\.program "1" appears twice/);
    assert.throws(() => parseRecipeSet({ recipes: [{ program: 1, spots: [spot, spot] }] }), /recipes\.recipes\[0\]\.spots\[1\]\.id "S1" appears twice/);
    assert.throws(() => parseRecipe({ program: 1, spots: [{ ...spot, x: 1.5 }] }), /msg\.recipe\.recipes\[0\]\.spots\[0\]\.x must be integer/);
    const book = RecipeBook.parse({ recipes: Array.from({ length: 25 }, (_, i) => ({ program: i, spots: [spot] })) });
    assert.throws(() => book.get(undefined), /no program: set msg\.part\.program/);
    assert.throws(() => book.get({ a: 1 }), /program must be a string or a number, got object/);
    assert.throws(() => book.get(99), /no recipe for program 99; known programs: "0", .* "19" … \(25 in all\)/);
  });

  it('crops any recipe on any frame without throwing: every spot gets a batch row or an error, values finite', function () {
    const frame = { data: Buffer.alloc(200 * 150), width: 200, height: 150, channels: 1, order: 'MONO' };
    for (let i = 0; i < frame.data.length; i++) frame.data[i] = (i * 31) & 0xff;
    const pre = preprocessOf(
      validateMetadata({
        name: 'm',
        version: '1',
        task: 'classification',
        input: { name: 'x', shape: [-1, 1, 6, 5], layout: 'NCHW', dtype: 'float32' },
        normalization: { mean: [0.5], std: [0.25] },
        outputs: [{ name: 'p', kind: 'classification', labels: ['a', 'b'] }],
      }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(spotArb, { minLength: 1, maxLength: 8, selector: (s) => s.id }), (spots) => {
        const { crops, batch } = cropBatch(frame, spots, pre);
        assert.equal(crops.length, spots.length);
        const good = crops.filter((c) => c.index !== undefined);
        assert.deepEqual(good.map((c) => c.index), good.map((_, i) => i));
        assert.ok(crops.every((c) => (c.index === undefined) !== (c.error === undefined)));
        assert.deepEqual(batch.dims, [good.length, 1, 6, 5]);
        assert.equal(batch.data.length, good.length * 30);
        for (const v of batch.data) assert.ok(Number.isFinite(v) && v >= -2 - 1e-6 && v <= 2 + 1e-6);
      }),
      { numRuns: 200 },
    );
  });
});
