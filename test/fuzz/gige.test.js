'use strict';
// Fuzz: GVCP/GVSP packet parsers and the state built on them (nodes/lib/camera/gige/). Loopback only: the
// GVCP client talks to a silent UDP socket on 127.0.0.1; the acknowledges are injected. Seeds are printed on
// failure (FUZZ_SEED replays).
const path = require('node:path');
const { runProperty } = require('./harness');

const PROPS = path.join(__dirname, 'props', 'gige.js');

describe('fuzz: GVCP and GVSP packets', function () {
  this.timeout(240000); // under CI each property runs twice: the fixed seed and the fresh one (harness.js)
  it('decoders (ack, command, discovery ack, GVSP header, image leader) take any bytes', async function () {
    await runProperty(PROPS, 'decoders', 5000, 60000);
  });
  it('GVSP receiver: hostile packet sequences end in whole frames or incomplete blocks, and close frees every block', async function () {
    await runProperty(PROPS, 'receiver', 1000, 90000);
  });
  it('GVCP client: random acknowledges to a waiting request resolve it or fail it with our errors', async function () {
    await runProperty(PROPS, 'client', 1000, 90000);
  });
});
