'use strict';
// Fuzz: CIP replies as the Logix client decodes them (nodes/lib/plc/cip, nodes/lib/plc/logix-plc.ts): typed
// read data for every tag kind against PLC-supplied templates, and nested Multiple Service Packet replies. The
// byte-level parsers are fuzzed in test/unit/plc-cip.test.js. Seeds are printed on failure (FUZZ_SEED replays).
const path = require('node:path');
const { runProperty } = require('./harness');

const PROPS = path.join(__dirname, 'props', 'cip.js');

describe('fuzz: CIP replies', function () {
  this.timeout(240000); // under CI each property runs twice: the fixed seed and the fresh one (harness.js)
  it('typed read data of every tag kind and UDT templates from the PLC (cycles, bad offsets, odd names)', async function () {
    await runProperty(PROPS, 'typedReply', 4000, 60000);
  });
  it('Multiple Service Packet replies nested in replies, with bytes spliced in', async function () {
    await runProperty(PROPS, 'nestedReplies', 4000, 60000);
  });
});
