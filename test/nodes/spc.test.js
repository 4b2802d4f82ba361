'use strict';
// The spc node in a Node-RED runtime after a real enrich: results go on untouched (plus msg.spc), a drift is one
// alarm message, alarms are acknowledged, a cap change resets, bad input reaches Catch, and the state continues
// across a restart of the flow (SQLite in the user dir).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, onTab, until } = require('../support/red');
const enrichNode = require('../../dist/nodes/enrich/enrich.js');
const spcNode = require('../../dist/nodes/spc/spc.js');
const { assertValid } = require('../../dist/nodes/lib/schemas.js');
const { SpcStore } = require('../../dist/nodes/lib/spc/store.js');

const NODES = [enrichNode, spcNode];
const RULES = JSON.stringify({ version: 't1', diameter: { head: 'diameter', unit: 'mm' }, spots: { s1: { minDiameter: 4 }, s2: { minDiameter: 4 } } });

function flow(spc = {}) {
  return onTab([
    { id: 'en', type: 'enrich', name: 'enrich', line: 'L1', area: 'A', station: 'ST1', camera: 'c1', rules: RULES, wires: [['spc']] },
    { id: 'spc', type: 'spc', name: 'spc', subgroupSize: 4, chart: 'xbar-r', baselineSubgroups: 5, characteristics: 'both', rules: '[1,2]', clearAfter: 2, spec: '{"diameter":{"lsl":4,"usl":8}}', guns: '{"G1":["s1"]}', wires: [['out'], ['alarms']], ...spc },
    { id: 'out', type: 'helper' },
    { id: 'alarms', type: 'helper' },
    { id: 'catch', type: 'catch', scope: ['spc'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

function collect(id) {
  const got = [];
  helper.getNode(id).on('input', (m) => got.push(m));
  return got;
}

let serial = 0;
/** one part through enrich: s1 measures d1, s2 measures 6.0 (stable) */
function part(d1, d2 = 6) {
  serial += 1;
  const predictions = [
    { spotId: 's1', label: 'ok', score: 0.95, heads: { diameter: { value: d1, unit: 'mm' } } },
    { spotId: 's2', label: 'ok', score: 0.93, heads: { diameter: { value: d2, unit: 'mm' } } },
  ];
  // the topic a plc-read upstream may leave on the part message: a result is charted whatever its topic
  helper.getNode('en').receive({ topic: serial % 7 === 0 ? 'summary' : 'ST1', part: { serial: `WB-${serial}`, program: 1 }, predictions, model: { name: 'm', version: '1' } });
}

const IN_CONTROL = [5.9, 6.1, 6.0, 6.0];
const LOW = [5.5, 5.6, 5.5, 5.6];

describe('spc node', function () {
  this.timeout(20000);
  let userDir;

  beforeEach(function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-spc-'));
    helper.settings({ userDir });
  });

  afterEach(async function () {
    await helper.unload();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('passes every result on untouched with msg.spc, raises one alarm for a drift, and acknowledges it', async function () {
    await helper.load(NODES, flow());
    const out = collect('out');
    const alarms = collect('alarms');
    for (let i = 0; i < 5; i++) for (const d of IN_CONTROL) part(d);
    await until(() => out.length === 20, 5000, '20 results');
    assertValid('inspection-result', out[19].payload, 'msg.payload');
    assert.equal(out[19].payload.spots.length, 2);
    assert.deepEqual(out[19].spc, { subgroups: 4, alarms: 0, activeAlarms: 0 }, 'the 20th part closed a subgroup of each of the 4 series');
    assert.equal(out[0].spc.subgroups, 0);
    // three low subgroups on s1: one rule-1 alarm, not three
    for (let i = 0; i < 3; i++) for (const d of LOW) part(d);
    await until(() => out.length === 32, 5000, '32 results');
    assert.equal(alarms.length, 1, JSON.stringify(alarms.map((m) => m.payload)));
    const a = alarms[0];
    assert.equal(a.topic, 'spc/alarm/raised');
    assert.deepEqual([a.payload.spot, a.payload.characteristic, a.payload.chart, a.payload.rule, a.payload.station, a.payload.line], ['s1', 'diameter', 'xbar', 1, 'ST1', 'L1']);
    assert.equal(a.payload.since, out[20].payload.timestamps.result, 'since: the first part of the breaching subgroup');
    assert.ok(Math.abs(a.payload.values[0] - 5.55) < 1e-9);
    assert.equal(out[31].spc.activeAlarms, 1);
    // the alarm list, then acknowledge it
    helper.getNode('spc').receive({ topic: 'alarms', payload: { open: true } });
    const list = await until(() => alarms.find((m) => m.topic === 'spc/alarms'), 5000, 'the alarm list');
    assert.deepEqual(list.payload.map((x) => x.id), [a.payload.id]);
    helper.getNode('spc').receive({ topic: 'ack', payload: { id: a.payload.id, by: 'QE Müller' } });
    const ack = await until(() => alarms.find((m) => m.topic === 'spc/alarm/acked'), 5000, 'the acknowledgement');
    assert.equal(ack.payload.id, a.payload.id);
    assert.equal(ack.payload.ackedBy, 'QE Müller');
    helper.getNode('spc').receive({ topic: 'alarms', payload: { open: true } });
    await until(() => alarms.filter((m) => m.topic === 'spc/alarms').length === 2, 5000, 'the second alarm list');
    assert.deepEqual(alarms.filter((m) => m.topic === 'spc/alarms')[1].payload, []);
    // back in control: cleared after 2 quiet subgroups
    for (let i = 0; i < 2; i++) for (const d of IN_CONTROL) part(d);
    const cleared = await until(() => alarms.find((m) => m.topic === 'spc/alarm/cleared'), 5000, 'the clear');
    assert.equal(cleared.payload.id, a.payload.id);
    assert.equal(cleared.payload.reason, 'quiet');
    // the summary: worst Cpk first, four series
    helper.getNode('spc').receive({ topic: 'summary' });
    const sum = await until(() => alarms.find((m) => m.topic === 'spc/summary'), 5000, 'the summary');
    assert.equal(sum.payload.length, 4);
    assert.deepEqual(sum.payload.map((r) => r.phase), ['monitor', 'monitor', 'monitor', 'monitor']);
    assert.equal(sum.payload[0].key, 'L1/ST1/s1/diameter', 'the drifted spot has the worst Cpk');
  });

  it('continues after a restart: limits, the subgroup in progress and the run history come back from SQLite', async function () {
    await helper.load(NODES, flow({ rules: '[2]' }));
    let out = collect('out');
    for (let i = 0; i < 5; i++) for (const d of IN_CONTROL) part(d);
    // 8 subgroups slightly high and half a subgroup: rule 2 needs 9
    for (let i = 0; i < 8; i++) for (const d of [6.05, 6.05, 6.05, 6.05]) part(d);
    part(6.05);
    part(6.05);
    await until(() => out.length === 54, 5000, '54 results');
    const firstOfSubgroup = out[52].payload.timestamps.result;
    await helper.unload();
    assert.ok(fs.existsSync(path.join(userDir, 'spotfusion', 'spc.db')), 'the state file in the user dir');
    await helper.load(NODES, flow({ rules: '[2]' }));
    out = collect('out');
    const alarms = collect('alarms');
    helper.getNode('spc').receive({ topic: 'summary' });
    const sum = await until(() => alarms.find((m) => m.topic === 'spc/summary'), 5000, 'the summary');
    const s1 = sum.payload.find((r) => r.key === 'L1/ST1/s1/diameter');
    assert.equal(s1.subgroups, 13, 'the subgroups before the restart');
    assert.equal(s1.phase, 'monitor', 'the baseline is not collected again');
    assert.ok(Math.abs(s1.limits.centre - 6) < 1e-9);
    // two more parts complete the 9th high subgroup begun before the restart: rule 2 fires now
    part(6.05);
    part(6.05);
    const a = await until(() => alarms.find((m) => m.topic === 'spc/alarm/raised'), 5000, 'the rule-2 alarm');
    assert.equal(a.payload.rule, 2);
    assert.equal(a.payload.values.length, 9);
    assert.equal(out.length, 2);
    assert.ok(a.payload.since < firstOfSubgroup, 'the run began before the restart');
  });

  it('a cap change by gun resets the spot and clears its alarm; an unknown gun or a bad payload reaches Catch and the node goes on', async function () {
    await helper.load(NODES, flow());
    const out = collect('out');
    const alarms = collect('alarms');
    const caught = collect('caught');
    for (let i = 0; i < 5; i++) for (const d of IN_CONTROL) part(d);
    for (const d of LOW) part(d);
    part(6.0);
    const raised = await until(() => alarms.find((m) => m.topic === 'spc/alarm/raised'), 5000, 'the alarm');
    helper.getNode('spc').receive({ topic: 'cap-change', payload: { gun: 'G1' } });
    const cleared = await until(() => alarms.find((m) => m.topic === 'spc/alarm/cleared'), 5000, 'the clear by the cap change');
    assert.equal(cleared.payload.id, raised.payload.id);
    assert.equal(cleared.payload.reason, 'cap-change');
    helper.getNode('spc').receive({ topic: 'summary' });
    const sum = await until(() => alarms.find((m) => m.topic === 'spc/summary'), 5000, 'the summary');
    assert.equal(sum.payload.find((r) => r.key === 'L1/ST1/s1/diameter').alarms, 0);
    // s2 was not on the gun: its part in progress is still there (one part after 24): 3 more close its subgroup
    const before = out.length;
    for (let i = 0; i < 3; i++) part(6.0);
    await until(() => out.length === before + 3, 5000, 'three results');
    assert.equal(out[out.length - 1].spc.subgroups, 2, 's2 diameter and confidence close their subgroup; s1 (reset) does not');

    helper.getNode('spc').receive({ topic: 'cap-change', payload: { gun: 'G9' } });
    const e1 = await until(() => caught[0], 5000, 'the unknown gun at Catch');
    assert.match(e1.error.message, /gun "G9" is not in the node's guns \(known: G1\)/);
    helper.getNode('spc').receive({ payload: { hello: 1 } });
    const e2 = await until(() => caught[1], 5000, 'the bad payload at Catch');
    assert.match(e2.error.message, /msg.payload is not an InspectionResult/);
    part(6.0);
    await until(() => out.length === before + 4, 5000, 'a result after the errors');
  });

  it('re-baselines on demand: new limits after N subgroups, every frozen set recorded with its reason; the chart command', async function () {
    await helper.load(NODES, flow({ characteristics: 'diameter' }));
    const out = collect('out');
    const alarms = collect('alarms');
    for (let i = 0; i < 5; i++) for (const d of IN_CONTROL) part(d);
    await until(() => out.length === 20, 5000, '20 results');
    helper.getNode('spc').receive({ topic: 'rebaseline', payload: { spots: ['s1'], reason: 'new tip dresser' } });
    for (let i = 0; i < 5; i++) for (const d of [6.4, 6.6, 6.5, 6.5]) part(d);
    await until(() => out.length === 40, 5000, '40 results');
    helper.getNode('spc').receive({ topic: 'chart', payload: { key: 'L1/ST1/s1/diameter' } });
    const chart = await until(() => alarms.find((m) => m.topic === 'spc/chart'), 5000, 'the chart');
    assert.ok(Math.abs(chart.payload.limits.centre - 6.5) < 1e-9, 'the new centre line');
    assert.equal(chart.payload.limits.reason, 'rebaseline: new tip dresser');
    assert.equal(chart.payload.points.length, 10);
    assert.match(chart.payload.points[9].at, /^\d{4}-\d\d-\d\dT/);
    await helper.unload();
    const store = new SpcStore(path.join(userDir, 'spotfusion', 'spc.db'), 'spc');
    try {
      const s1 = store.baselines('L1/ST1/s1/diameter');
      assert.deepEqual(s1.map((b) => b.reason), ['initial', 'rebaseline: new tip dresser']);
      assert.deepEqual(store.baselines('L1/ST1/s2/diameter').map((b) => b.reason), ['initial'], 's2 was not re-baselined');
    } finally {
      store.close();
    }
  });

  it('an invalid option stops the node with an error naming it', async function () {
    await helper.load(NODES, flow({ subgroupSize: 40 }));
    const caught = collect('caught');
    part(6.0);
    const e = await until(() => caught[0], 5000, 'the configuration error at Catch');
    assert.match(e.error.message, /subgroupSize must be an integer in 2…25/);
  });
});
