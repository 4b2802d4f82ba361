'use strict';
// Fuzz: GenICam formula parser/evaluator and node map (nodes/lib/camera/genicam/). No crash (only
// SpotFusionError with the module's codes), no hang (each property runs in a worker with a deadline), clear
// messages. Seeds are printed on failure; replay with FUZZ_SEED=<seed>.
const path = require('node:path');
const { runProperty } = require('./harness');

const PROPS = path.join(__dirname, 'props', 'genicam.js');

describe('fuzz: GenICam formulas and XML node maps', function () {
  this.timeout(240000); // under CI each property runs twice: the fixed seed and the fresh one (harness.js)
  it('formulas: random token soups, text and deep nesting parse or fail with GENICAM errors; evaluation never throws anything else', async function () {
    await runProperty(PROPS, 'formula', 5000, 60000);
  });
  it('node maps: generated XML with cycles, bad numbers, bad bit fields and formulas; every operation on every feature', async function () {
    await runProperty(PROPS, 'nodemap', 1500, 90000);
  });
  it('raw XML: random edits of a valid description and random text', async function () {
    await runProperty(PROPS, 'rawXml', 3000, 60000);
  });
});
