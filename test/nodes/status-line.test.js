'use strict';
// A node's per-part status in a real Node-RED runtime (StatusLine, nodes/shared/status.ts): a burst of parts
// shows a handful of statuses rather than one per part, the editor still ends on the last part, a colour change
// shows at once, and a pending per-part status never covers a later error. enrich's status ("N parts, M NOK")
// tells which part a status belongs to.
const assert = require('node:assert/strict');
const { helper, onTab, until } = require('../support/red');
const enrichNode = require('../../dist/nodes/enrich/enrich.js');
const { STATUS_MIN_INTERVAL_MS } = require('../../dist/nodes/shared/status.js');

const RULES = '{"version":"t1","okLabels":["ok"],"part":{"nokWhenAnySpotNok":true}}';

function flow() {
  return onTab([
    { id: 'en', type: 'enrich', name: 'result', line: 'L1', area: 'A', station: 'ST1', camera: 'cam1', rules: RULES, wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'st', type: 'status', scope: ['en'], wires: [['statuses']] },
    { id: 'statuses', type: 'helper' },
  ]);
}

function part(k, label = 'ok') {
  return {
    part: { serial: `WB-${k}`, program: 7 },
    plc: { station: 'ST1', readAt: new Date().toISOString(), cycle: k, quality: { Trigger: 'good' } },
    frame: { cameraId: 'cam1', frameId: k, width: 64, height: 48, pixelFormat: 'Mono8', timestamp: Date.now() },
    crops: [{ spotId: 's1', box: { x: 1, y: 2, w: 10, h: 10, rotation: 0 }, index: 0 }],
    predictions: [{ spotId: 's1', label, score: 0.97 }],
    model: { name: 'spotnet', version: '1.2.0' },
  };
}

describe('status line: per-part status coalesced in a Node-RED runtime', function () {
  this.timeout(15000);
  let statuses;
  let results;

  beforeEach(async function () {
    await helper.load([enrichNode], flow());
    statuses = [];
    results = [];
    helper.getNode('statuses').on('input', (m) => statuses.push({ ...m.status, at: Date.now() }));
    helper.getNode('out').on('input', (m) => results.push(m));
  });

  afterEach(async function () {
    await helper.unload();
  });

  it('a burst of 200 parts shows a few statuses, the last one naming all 200 parts', async function () {
    const t0 = Date.now();
    for (let k = 1; k <= 200; k++) helper.getNode('en').receive(part(k));
    await until(() => results.length === 200, 10000, '200 results');
    const burstMs = Date.now() - t0;
    await until(() => statuses.some((s) => s.text === '200 parts, 0 NOK'), 3 * STATUS_MIN_INTERVAL_MS, 'the last part in the status');
    const green = statuses.filter((s) => s.fill === 'green');
    // one at the first part, then at most one per interval (plus the trailing one)
    assert.ok(green.length <= 2 + Math.ceil(burstMs / STATUS_MIN_INTERVAL_MS), `${green.length} statuses for 200 parts in ${burstMs} ms`);
    assert.equal(green[0].text, '1 parts, 0 NOK');
    assert.equal(statuses.at(-1).text, '200 parts, 0 NOK');
    for (let i = 2; i < green.length; i++) assert.ok(green[i].at - green[i - 1].at >= STATUS_MIN_INTERVAL_MS - 20, 'at most one per interval');
  });

  it('a colour change shows at once; an error is not covered by the pending per-part status', async function () {
    helper.getNode('en').receive(part(1));
    await until(() => statuses.length === 1, 2000, 'the first status');
    // NOK turns the status yellow: shown at once, not at the end of the interval
    helper.getNode('en').receive(part(2, 'crack'));
    await until(() => statuses.length === 2, STATUS_MIN_INTERVAL_MS / 2, 'the yellow status at once');
    assert.deepEqual([statuses[1].fill, statuses[1].text], ['yellow', '2 parts, 1 NOK']);
    // a yellow per-part status pending, then a message enrich fails: the error shows and stays
    helper.getNode('en').receive(part(3, 'crack'));
    helper.getNode('en').receive({ part: { serial: 'X' }, predictions: 'not a list', error: 'x' });
    await until(() => statuses.some((s) => s.fill === 'red'), 2000, 'the red status');
    await new Promise((r) => setTimeout(r, 2 * STATUS_MIN_INTERVAL_MS));
    assert.equal(statuses.at(-1).fill, 'red', `the error stays: ${JSON.stringify(statuses.map((s) => s.text))}`);
  });
});
