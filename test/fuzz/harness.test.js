'use strict';
// The fuzz harness itself: a property that takes longer than the stall limit but keeps trying inputs passes; one
// that stops trying (a busy loop) is stopped and reported as a hang with its seed and last input.
const assert = require('node:assert/strict');
const path = require('node:path');
const { runProperty } = require('./harness');

const PROPS = path.join(__dirname, 'props', 'harness-check.js');

describe('fuzz harness: hang detection by progress, not by total time', function () {
  this.timeout(30000);

  it('a slow property that keeps trying inputs is not a hang (30 × 60 ms against a 1 s limit)', async function () {
    const stats = await runProperty(PROPS, 'slowButSteady', 30, 1000);
    assert.deepEqual(stats, { ok: true });
  });

  it('a property stuck in a busy loop is stopped and reported with its seed and last input', async function () {
    await assert.rejects(runProperty(PROPS, 'spinsOnTheSixth', 50, 1000), (err) => {
      assert.match(err.message, /^spinsOnTheSixth: no new input tried for 1000 ms after 6 of 50 \(a hang\?\) — seed -?\d+, last input: \{"input":-?\d+,"n":5\}$/);
      return true;
    });
  });
});
