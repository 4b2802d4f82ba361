'use strict';
// Fuzz: recipe sets and model metadata (nodes/lib/vision), ONNX model files replaced by garbage, flow files
// (nodes/lib/deploy/flow-check.ts) and InspectionResult validation (nodes/lib/schemas.ts +
// nodes/schemas/inspection-result.schema.json). Seeds are printed on failure (FUZZ_SEED replays).
const path = require('node:path');
const { runProperty } = require('./harness');

const PROPS = path.join(__dirname, 'props', 'files.js');

describe('fuzz: recipes, model metadata and files, flows, InspectionResult', function () {
  this.timeout(240000); // under CI each property runs twice: the fixed seed and the fresh one (harness.js)
  it('recipe sets: mutated demo recipes and random values', async function () {
    await runProperty(PROPS, 'recipes', 3000, 60000);
  });
  it('model metadata: mutated demo metadata and random values', async function () {
    await runProperty(PROPS, 'metadata', 3000, 60000);
  });
  it('model files: garbage, truncated and bit-flipped ONNX fail with a MODEL error', async function () {
    await runProperty(PROPS, 'modelFiles', 1000, 90000);
  });
  it('flow files: mutated station flow and random values give a report, never a throw', async function () {
    await runProperty(PROPS, 'flows', 3000, 60000);
  });
  it('InspectionResult: mutated valid results and random values pass or name every wrong field', async function () {
    await runProperty(PROPS, 'inspectionResult', 3000, 60000);
  });
});
