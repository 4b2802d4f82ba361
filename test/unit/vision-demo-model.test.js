'use strict';
const assert = require('node:assert/strict');
const { join } = require('node:path');
const { statSync } = require('node:fs');
const sim = require('../../dist/nodes/lib/camera/simulator');
const { cropBatch, rawImageOf } = require('../../dist/nodes/lib/vision/crop');
const { loadModel } = require('../../dist/nodes/lib/vision/model');
const { RecipeBook } = require('../../dist/nodes/lib/vision/recipe');

const DIR = join(__dirname, '..', '..', 'models', 'demo');

describe('the committed demo model (models/demo)', function () {
  let model;
  before(async function () {
    model = await loadModel(join(DIR, 'spotfusion-demo.onnx'), { intraOpThreads: 1 });
  });
  after(async function () {
    if (model) await model.release();
  });

  it('is small, loads against its contract and reports its figures', function () {
    assert.ok(statSync(join(DIR, 'spotfusion-demo.onnx')).size < 2 * 1024 * 1024);
    assert.deepEqual(model.id, { name: 'spotfusion-demo', version: '2.0.0' });
    assert.deepEqual(model.metadata.outputs[0].labels, [...sim.SPOT_CLASSES]);
    assert.ok(model.metadata.metrics.heldOutAccuracy >= 0.97);
    assert.ok(model.metadata.metrics.nuggetDiameterMaePx > 0);
  });

  it('classifies fresh simulated spots of every class through the station recipe (full-size frame, unseen seed)', async function () {
    const book = RecipeBook.parse(require(join(DIR, 'recipe-demo-station.json')));
    const recipe = book.get(1);
    const classes = sim.SPOT_CLASSES;
    // every class on the 48 spots of the station grid, on a 2448×2048 frame the model never saw
    const overrides = Object.fromEntries(recipe.spots.map((s, i) => [s.id, classes[i % classes.length]]));
    const frame = sim.renderFrame({ seed: 'demo-model-test-1', classOverrides: overrides });
    const { batch } = cropBatch(rawImageOf(frame), recipe.spots, model.preprocess);
    const preds = await model.run(batch);
    let correct = 0;
    let absErr = 0;
    let nuggets = 0;
    preds.forEach((p, i) => {
      const truth = frame.truth[i];
      assert.equal(p.spotId, truth.spotId);
      if (p.label === truth.class) correct++;
      if (truth.diameterPx > 0) {
        absErr += Math.abs(p.value - truth.diameterPx);
        nuggets++;
      }
    });
    assert.ok(correct / preds.length >= 0.95, `accuracy ${correct}/${preds.length}`);
    assert.ok(absErr / nuggets < 2.5, `diameter MAE ${(absErr / nuggets).toFixed(2)} px`);
  });

  it('holds under line conditions: the part 3 px off where it is cut, defocus σ 1.5, noise σ 12, exposure −25 %', async function () {
    const book = RecipeBook.parse(require(join(DIR, 'recipe-demo-station.json')));
    const recipe = book.get(1);
    const classes = sim.SPOT_CLASSES;
    const overrides = Object.fromEntries(recipe.spots.map((s, i) => [s.id, classes[(i + 3) % classes.length]]));
    const frame = sim.renderFrame({
      seed: 'demo-model-test-line',
      classOverrides: overrides,
      placement: { dx: 3, dy: -3, angleDeg: 0 },
      optics: { blurSigma: 1.5, exposureDrift: 0 },
      lighting: { gain: 0.75 },
      noiseSigma: 12,
    });
    // cut where the recipe says: location left the part 3 px off in x and y
    const { batch } = cropBatch(rawImageOf(frame), recipe.spots, model.preprocess);
    const preds = await model.run(batch);
    const wrong = [];
    let absErr = 0;
    let nuggets = 0;
    preds.forEach((p, i) => {
      const truth = frame.truth[i];
      if (p.label !== truth.class) wrong.push(`${truth.spotId} ${truth.class} → ${p.label}`);
      if (truth.diameterPx > 0) {
        absErr += Math.abs(p.value - truth.diameterPx);
        nuggets++;
      }
    });
    assert.ok(wrong.length <= 2, `wrong: ${wrong.join(', ')}`);
    assert.ok(absErr / nuggets < 1.5, `diameter MAE ${(absErr / nuggets).toFixed(2)} px`);
  });
});
