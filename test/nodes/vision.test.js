'use strict';
const assert = require('node:assert/strict');
const { writeFileSync, utimesSync } = require('node:fs');
const { join } = require('node:path');
const sharp = require('sharp');
const { helper, onTab, nextMessage, until, watchStatus } = require('../support/red');
const { twoHeadModel, metadataFor, reference, writeModel, LABELS } = require('../support/vision-models');
const { assertValid } = require('../../dist/nodes/lib/schemas');
const { sessionCount } = require('../../dist/nodes/lib/vision/model');
const recipeConfigNode = require('../../dist/nodes/spotfusion-recipe-config/spotfusion-recipe-config.js');
const modelConfigNode = require('../../dist/nodes/spotfusion-model-config/spotfusion-model-config.js');
const cropNode = require('../../dist/nodes/crop/crop.js');
const inferNode = require('../../dist/nodes/infer/infer.js');

const NODES = [recipeConfigNode, modelConfigNode, cropNode, inferNode];

// a 64×48 Mono8 test frame
const FW = 64;
const FH = 48;
function testFrame(seed = 3) {
  const data = Buffer.alloc(FW * FH);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: FW, height: FH, pixelFormat: 'Mono8', cameraId: 'cam1', frameId: seed, timestamp: 1700000000000 };
}

const RECIPES = {
  recipes: [
    {
      program: 7,
      product: 'B-pillar',
      spots: [
        { id: 'S1', x: 0, y: 0, w: 8, h: 8, expectedDiameter: 5 },
        { id: 'S2', x: 20, y: 10, w: 8, h: 8, head: 'class' },
        { id: 'S3', x: 56, y: 40, w: 8, h: 8, head: ['nugget'] },
      ],
    },
    { program: 'P2', spots: [{ id: 'A', x: 10, y: 10, w: 8, h: 8 }, { id: 'OUT', x: 60, y: 0, w: 8, h: 8 }] },
  ],
};

/**
 * Independent expectation for one 8×8 ROI fed to the 4×4 model: halving with half-pixel bilinear samples
 * at 2j + 0.5, i.e. the mean of each 2×2 block; then (p/255 - 0.5) / 0.25 and the model's math.
 */
function expectRow(frame, x, y) {
  const row = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      const p = (dx, dy) => frame.data[(y + 2 * i + dy) * FW + x + 2 * j + dx];
      const mean = (p(0, 0) + p(1, 0) + p(0, 1) + p(1, 1)) / 4;
      row.push((mean / 255 - 0.5) / 0.25);
    }
  }
  return row;
}

function flow({ modelPath, recipes = RECIPES, model = {}, crop = {}, extraInfer = false, recipeConfig } = {}) {
  const nodes = [
    recipeConfig || { id: 'rc', type: 'spotfusion-recipe-config', source: 'inline', recipes: JSON.stringify(recipes) },
    { id: 'mc', type: 'spotfusion-model-config', path: modelPath, intraOpThreads: 1, executionProviders: 'cpu', ...model },
    { id: 'crop', type: 'crop', recipes: 'rc', model: 'mc', wires: [['infer']], ...crop },
    { id: 'infer', type: 'infer', model: 'mc', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
    { id: 'statuses', type: 'helper' },
  ];
  if (extraInfer) {
    nodes[2].wires = [['infer', 'infer2']];
    nodes.push({ id: 'infer2', type: 'infer', model: 'mc', wires: [['out2']] }, { id: 'out2', type: 'helper' });
  }
  return onTab(nodes);
}

function close(a, b, tol, what) {
  if (!(Math.abs(a - b) <= tol)) assert.fail(`${what}: ${a} vs ${b}`);
}

describe('crop + infer nodes in a Node-RED runtime', function () {
  const cleanups = [];
  let v1;
  let files;

  beforeEach(function () {
    v1 = twoHeadModel({ seed: 1 });
    files = writeModel({ bytes: v1.bytes, metadata: metadataFor({ version: '1' }) });
    cleanups.push(files.cleanup);
  });

  afterEach(async function () {
    await helper.unload();
    while (cleanups.length) cleanups.pop()();
  });

  async function ready(id = 'mc') {
    const mc = helper.getNode(id);
    await until(() => mc.host.status().state !== 'loading' && mc.host.status().state !== 'idle', 5000, 'model loaded');
    return mc;
  }

  async function part(msg) {
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('crop').receive(msg);
    return got;
  }

  it('cuts the recipe of msg.part.program and predicts every spot with the math computed here', async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx }));
    await ready();
    // every status from here on, as the editor gets them (a Status node's next message can miss one: a status equal
    // to the one shown is not sent again, and the tiny model's time often rounds to the same 0.1 ms)
    const statuses = watchStatus();
    const frame = testFrame();
    const msg = await part({ frame, part: { serial: 'WB-001', program: 7 }, topic: 'station-3' });
    assert.deepEqual(msg.part, { serial: 'WB-001', program: 7 }, 'other properties pass through');
    assert.equal(msg.topic, 'station-3');
    assert.deepEqual(msg.model, { name: 'tiny', version: '1' });
    assertValid('vision-crops', msg.crops, 'msg.crops');
    assertValid('vision-predictions', msg.predictions, 'msg.predictions');
    assert.deepEqual(msg.batch.dims, [3, 1, 4, 4]);
    assert.deepEqual(msg.crops.map((c) => [c.spotId, c.index]), [['S1', 0], ['S2', 1], ['S3', 2]]);
    assert.equal(msg.crops[0].expectedDiameter, 5);
    assert.deepEqual(msg.predictions.map((p) => p.spotId), ['S1', 'S2', 'S3']);
    const spots = RECIPES.recipes[0].spots;
    spots.forEach((s, i) => {
      const ref = reference(v1, expectRow(frame, s.x, s.y));
      const p = msg.predictions[i];
      if (s.id !== 'S3') {
        const best = ref.probs.indexOf(Math.max(...ref.probs));
        assert.equal(p.label, LABELS[best], `${s.id} label`);
        LABELS.forEach((l, j) => close(p.probabilities[l], ref.probs[j], 1e-5, `${s.id} ${l}`));
      } else {
        assert.equal(p.label, undefined, 'S3 asks for the nugget head only');
      }
      if (s.id !== 'S2') close(p.value, ref.diameter * 2 + 1, 1e-3, `${s.id} value`);
      else assert.equal(p.value, undefined, 'S2 asks for the class head only');
    });
    // green status naming the spots of the part
    try {
      await statuses.statusOf('infer', (s) => s.fill === 'green' && /3 spots/.test(s.text), 5000);
    } finally {
      statuses.stop();
    }
  });

  it('one session per model config, shared by two infer nodes', async function () {
    const before = sessionCount();
    await helper.load(NODES, flow({ modelPath: files.onnx, extraInfer: true }));
    const mc = await ready();
    const a = nextMessage(helper.getNode('out'));
    const b = nextMessage(helper.getNode('out2'));
    helper.getNode('crop').receive({ frame: testFrame(), part: { program: 7 } });
    const [ma, mb] = await Promise.all([a, b]);
    assert.deepEqual(ma.predictions, mb.predictions);
    assert.equal(sessionCount() - before, 1, 'exactly one InferenceSession for the config node');
    assert.equal(mc.host.loads, 1);
  });

  it('names an unknown program and the known ones; carries per-spot crop errors into the predictions', async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx }));
    await ready();
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('crop').receive({ frame: testFrame(), part: { program: 99 } });
    const err = await caught;
    assert.equal(err.error.source.id, 'crop');
    assert.match(err.error.message, /no recipe for program 99; known programs: "7", "P2"/);
    const yellow = nextMessage(helper.getNode('statuses'), (m) => m.status.source.id === 'crop' && m.status.fill === 'yellow');
    const msg = await part({ frame: testFrame(), part: { program: 'P2' } });
    assert.match((await yellow).status.text, /1\/2 spots cut, 1 outside the frame/);
    assert.equal(msg.predictions.length, 2);
    assert.equal(msg.predictions[0].spotId, 'A');
    assert.ok(msg.predictions[0].label);
    assert.deepEqual(Object.keys(msg.predictions[1]), ['spotId', 'error']);
    assert.match(msg.predictions[1].error, /ROI 8×8 at \(60, 0\) lies outside the 64×48 frame/);
  });

  it('takes an inline msg.recipe, a default program, an encoded frame, and PNGs when asked', async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx, crop: { program: 'P2', png: true } }));
    await ready();
    const frame = testFrame(9);
    const png = await sharp(frame.data, { raw: { width: FW, height: FH, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const byDefault = await part({ frame: { encoded: png, width: FW, height: FH, pixelFormat: 'Mono8' } });
    assert.deepEqual(byDefault.crops.map((c) => c.spotId), ['A', 'OUT']);
    assert.equal((await sharp(byDefault.crops[0].png).metadata()).width, 8);
    assert.equal(byDefault.crops[1].png, undefined);
    const inline = await part({ frame, recipe: { program: 'adhoc', spots: [{ id: 'Z', x: 4, y: 4, w: 8, h: 8 }] } });
    assert.deepEqual(inline.predictions.map((p) => p.spotId), ['Z']);
    const ref = reference(v1, expectRow(frame, 4, 4));
    close(inline.predictions[0].probabilities.ok, ref.probs[0], 1e-5, 'inline recipe ok prob');
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('crop').receive({ frame, recipe: { program: 'bad', spots: [{ id: 'Z', x: 4, y: 4, w: 0, h: 8 }] } });
    assert.match((await caught).error.message, /msg\.recipe\.recipes\[0\]\.spots\[0\]\.w must be >= 1/);
  });

  it('turns bad frames and bad batches into errors for Catch, and keeps going', async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx }));
    await ready();
    const cases = [
      ['crop', { part: { program: 7 } }, /msg\.frame is missing/],
      ['crop', { frame: { ...testFrame(), width: 10 }, part: { program: 7 } }, /msg\.frame\.data has 3072 bytes; Mono8 10×48 needs 480/],
      ['infer', { payload: 1 }, /msg\.batch is missing \(wire a crop node before infer\)/],
      ['infer', { batch: { data: new Float32Array(16).fill(NaN), dims: [1, 1, 4, 4], layout: 'NCHW', spotIds: ['x'] } }, /non-finite value \(NaN\) in row 0 \(spot "x"\)/],
      ['infer', { batch: { data: new Float32Array(64), dims: [1, 1, 8, 8], layout: 'NCHW', spotIds: ['x'] } }, /needs \[1, 1, 4, 4\]/],
      ['infer', { batch: { data: new Float32Array(0), dims: [0, 1, 4, 4], layout: 'NCHW', spotIds: [] } }, /msg\.batch is empty/],
      ['infer', { batch: { data: new Float32Array(16), dims: [1, 1, 4, 4], layout: 'NCHW', spotIds: ['x'], extra: 1 } }, /msg\.batch\.extra is not allowed/],
      ['infer', { batch: { data: new Float32Array(16), dims: [1, 1, 4, 4], layout: 'NCHW', spotIds: ['x'] }, crops: [{ spotId: 'x', head: 'thickness' }] }, /recipe names head\(s\) "thickness"/],
      ['infer', { topic: 'model:load', payload: 42 }, /model:load needs msg\.payload/],
    ];
    for (const [id, msg, re] of cases) {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode(id).receive(msg);
      const err = await caught;
      assert.equal(err.error.source.id, id);
      assert.match(err.error.message, re);
    }
    // still working, status back to the model's
    const ok = await part({ frame: testFrame(), part: { program: 7 } });
    assert.equal(ok.predictions.length, 3);
  });

  it("skips the schema check only for the crop node's own batch, which is frozen; a copy or a changed batch is still checked", async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx }));
    await ready();
    const { batch } = await part({ frame: testFrame(), part: { program: 7 } });
    assert.ok(Object.isFrozen(batch) && Object.isFrozen(batch.dims) && Object.isFrozen(batch.spotIds));
    assert.throws(() => batch.spotIds.push('extra'), TypeError);
    assert.throws(() => {
      batch.layout = 'NHWC';
    }, TypeError);
    const cases = [
      // a copy (what Node-RED hands a second wire) with a field too many: the schema check runs
      [{ ...batch, extra: 1 }, /msg\.batch\.extra is not allowed/],
      // a copy whose spot ids are no strings
      [{ ...batch, spotIds: [1, 2, 3] }, /msg\.batch\.spotIds\[0\] must be string/],
    ];
    const rejects = async (b, re) => {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode('infer').receive({ batch: b });
      assert.match((await caught).error.message, re);
    };
    for (const [b, re] of cases) await rejects(b, re);
    // the pixels of the own batch are not frozen (a typed array cannot be): the model's own check still sees them
    batch.data[0] = Number.POSITIVE_INFINITY;
    await rejects(batch, /non-finite value \(Infinity\) in row 0/);
  });

  it('hot-swaps by msg command between parts; a failed load keeps the old model and says why', async function () {
    const v2 = writeModel({ bytes: twoHeadModel({ seed: 2 }).bytes, metadata: metadataFor({ version: '2' }) });
    const bad = writeModel({ bytes: twoHeadModel({ seed: 3 }).bytes, metadata: metadataFor({ version: '3', h: 5, w: 5 }) });
    cleanups.push(v2.cleanup, bad.cleanup);
    await helper.load(NODES, flow({ modelPath: files.onnx, extraInfer: true }));
    const mc = await ready();
    assert.equal((await part({ frame: testFrame(), part: { program: 7 } })).model.version, '1');
    const swapped = nextMessage(helper.getNode('statuses'), (m) => m.status.source.id === 'infer2' && m.status.text === 'tiny 2');
    helper.getNode('infer').receive({ topic: 'model:load', payload: { path: v2.onnx } });
    await swapped;
    assert.equal((await part({ frame: testFrame(), part: { program: 7 } })).model.version, '2');
    const caught = nextMessage(helper.getNode('caught'));
    const warned = nextMessage(helper.getNode('statuses'), (m) => m.status.source.id === 'infer2' && /new version failed/.test(m.status.text));
    helper.getNode('infer').receive({ topic: 'model:load', payload: bad.onnx });
    assert.match((await caught).error.message, /metadata does not match the ONNX graph/);
    assert.match((await warned).status.text, /^tiny 2; new version failed: .*metadata does not match/);
    const after = await part({ frame: testFrame(), part: { program: 7 } });
    assert.equal(after.model.version, '2');
    assert.equal(mc.host.loads, 3);
  });

  it('reloads the model when its files change (watch)', async function () {
    await helper.load(NODES, flow({ modelPath: files.onnx, model: { watch: true, watchInterval: 100 } }));
    await ready();
    assert.equal((await part({ frame: testFrame(), part: { program: 7 } })).model.version, '1');
    writeFileSync(files.onnx, twoHeadModel({ seed: 5 }).bytes);
    writeFileSync(files.json, JSON.stringify(metadataFor({ version: '1.1' })));
    const t = Date.now() / 1000 + 10;
    utimesSync(files.json, t, t);
    await until(() => helper.getNode('mc').host.current().metadata.version === '1.1', 8000, 'version 1.1 loaded');
    assert.equal((await part({ frame: testFrame(), part: { program: 7 } })).model.version, '1.1');
  });

  it('shows a model that cannot load on every user, and fails parts with the reason', async function () {
    await helper.load(NODES, flow({ modelPath: join(files.dir, 'missing.onnx') }));
    const red = nextMessage(helper.getNode('statuses'), (m) => m.status.source.id === 'infer' && m.status.fill === 'red');
    await ready();
    assert.match((await red).status.text, /model not loaded: cannot read model .*missing\.onnx/);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('crop').receive({ frame: testFrame(), part: { program: 7 } });
    assert.match((await caught).error.message, /no model loaded from .*missing\.onnx: cannot read model/);
  });

  it('reads recipes from a file and reloads them when it changes, keeping the old ones if the new file is bad', async function () {
    const path = join(files.dir, 'recipes.json');
    writeFileSync(path, JSON.stringify(RECIPES));
    await helper.load(NODES, flow({ modelPath: files.onnx, recipeConfig: { id: 'rc', type: 'spotfusion-recipe-config', source: 'file', file: path, watchInterval: 100 } }));
    await ready();
    assert.equal((await part({ frame: testFrame(), part: { program: 7 } })).predictions.length, 3);
    writeFileSync(path, JSON.stringify({ recipes: [{ program: 8, spots: [{ id: 'N', x: 1, y: 1, w: 8, h: 8 }] }] }));
    utimesSync(path, Date.now() / 1000 + 10, Date.now() / 1000 + 10);
    const rc = helper.getNode('rc');
    await until(() => rc.book().programs.includes('8'), 5000, 'recipes reloaded');
    assert.deepEqual((await part({ frame: testFrame(), part: { program: 8 } })).predictions.map((p) => p.spotId), ['N']);
    writeFileSync(path, '{"recipes": [');
    utimesSync(path, Date.now() / 1000 + 20, Date.now() / 1000 + 20);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(rc.book().programs, ['8'], 'bad file: previous recipes kept');
  });

  it('refuses at deploy a recipe whose reference patch is missing or whose region lies outside the sensor, naming the recipe and the field', async function () {
    const spots = [{ id: 'A', x: 4, y: 4, w: 16, h: 16 }];
    const patch = Buffer.alloc(16 * 16, 0).map((_, i) => (i * 37) & 255).toString('base64');
    const feature = { id: 'F1', x: 20, y: 10, w: 16, h: 16, patch };
    const noPatch = { ...feature };
    delete noPatch.patch;
    const bad = {
      recipes: [
        { program: 5, product: 'hood', spots, locate: { frame: { width: FW, height: FH }, features: [noPatch] } },
      ],
    };
    const outside = { recipes: [{ program: 6, product: 'door', spots, locate: { frame: { width: FW, height: FH }, features: [{ ...feature, x: 56 }] } }] };
    await helper.load(
      NODES,
      onTab([
        { id: 'rc1', type: 'spotfusion-recipe-config', name: 'no patch', source: 'inline', recipes: JSON.stringify(bad) },
        { id: 'rc2', type: 'spotfusion-recipe-config', name: 'outside', source: 'inline', recipes: JSON.stringify(outside) },
        { id: 'mc', type: 'spotfusion-model-config', path: files.onnx },
        { id: 'crop1', type: 'crop', recipes: 'rc1', model: 'mc', wires: [['out']] },
        { id: 'crop2', type: 'crop', recipes: 'rc2', model: 'mc', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]),
    );
    await ready();
    // at deploy: the config node reports the problem (node.error), naming the recipe and the field
    const errors = helper.log().args.filter((a) => a[0] && a[0].level === 20).map((a) => String(a[0].msg));
    assert.ok(errors.some((m) => /recipe config "no patch": .*recipes\.recipes\[0\]\.locate\.features\[0\]\.patch is required \(recipe program 5\)/.test(m)), errors.join('\n'));
    assert.ok(errors.some((m) => /recipe config "outside": recipe 6 \(door\): recipes\.recipes\[0\]\.locate\.features\[0\]: region 16×16 at \(56, 10\) lies outside the 64×48 sensor/.test(m)), errors.join('\n'));
    // and no part is cut with it: each part fails with the same reason (Catch)
    for (const [id, re] of [
      ['crop1', /patch is required \(recipe program 5\)/],
      ['crop2', /recipe 6 \(door\).*lies outside the 64×48 sensor/],
    ]) {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode(id).receive({ frame: testFrame(), part: { program: 5 } });
      assert.match((await caught).error.message, re);
    }
  });

  it('reports configuration problems clearly', async function () {
    await helper.load(
      NODES,
      onTab([
        { id: 'rc', type: 'spotfusion-recipe-config', source: 'inline', recipes: '{"recipes": []}' },
        { id: 'mc', type: 'spotfusion-model-config', path: files.onnx },
        { id: 'crop', type: 'crop', recipes: 'rc', model: 'mc', wires: [['out']] },
        { id: 'crop2', type: 'crop', recipes: '', model: '', wires: [['out']] },
        { id: 'infer2', type: 'infer', model: '', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]),
    );
    await ready();
    for (const [id, re] of [
      ['crop', /recipe config "rc": invalid recipe-set: recipes\.recipes must NOT have fewer than 1 items/],
      ['crop2', /crop has no model config/],
      ['infer2', /infer has no model config/],
    ]) {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode(id).receive({ frame: testFrame(), part: { program: 7 }, batch: {} });
      assert.match((await caught).error.message, re);
    }
  });
});
