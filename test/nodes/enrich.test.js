'use strict';
// enrich in a Node-RED runtime, fed by a Catch node: a part whose stage failed (here a real camera-grab whose
// camera cannot connect) still gets exactly one InspectionResult with a fault naming the stage, and enrich's own
// fault reports, or caught errors that are not parts, never make a second (or a ghost) result.
const assert = require('node:assert/strict');
const { helper, onTab, until } = require('../support/red');
const configNode = require('../../dist/nodes/spotfusion-camera-config/spotfusion-camera-config.js');
const grabNode = require('../../dist/nodes/camera-grab/camera-grab.js');
const enrichNode = require('../../dist/nodes/enrich/enrich.js');
const { assertValid } = require('../../dist/nodes/lib/schemas.js');

const NODES = [configNode, grabNode, enrichNode];
const RULES = '{"version":"t1","part":{"nokOnFault":true}}';

/**
 * grab → grabbed (never reached); Catch(scope) → enrich → out. The test helper takes one Catch node per flow: the
 * station's scope is ['grab']; ['grab', 'en'] is the wrong wiring that brings enrich's own reports back to it.
 */
function flow(scope = ['grab']) {
  return onTab([
    // an unknown source: the connection fails for good, so every grab fails at once with NOT_CONNECTED
    { id: 'cam', type: 'spotfusion-camera-config', name: 'cam1', source: 'usb' },
    { id: 'grab', type: 'camera-grab', name: 'grab', camera: 'cam', wires: [['grabbed']] },
    { id: 'grabbed', type: 'helper' },
    { id: 'catchStage', type: 'catch', scope, uncaught: false, wires: [['en']] },
    { id: 'en', type: 'enrich', name: 'InspectionResult', line: 'L1', area: 'A', station: 'ST1', camera: '', rules: RULES, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]);
}

const part = (serial) => ({ part: { serial, program: 1 }, plc: { station: 'ST1', readTime: new Date().toISOString(), cycle: 3 }, handshake: { Busy: true } });

function collect(node) {
  const got = [];
  node.on('input', (m) => got.push(m));
  return got;
}

/** what the nodes logged at `level` so far (RED.log: 20 error, 30 warn), as text */
function logged(level) {
  return helper
    .log()
    .args.map((a) => a[0])
    .filter((e) => e && e.level === level)
    .map((e) => String(e.msg));
}
const warnings = () => logged(30);

describe('enrich node: a failed stage still gives one result', function () {
  this.timeout(15000);

  afterEach(async function () {
    await helper.unload();
  });

  it('a camera-grab error caught into enrich becomes one NOK result (code 4) with a CAMERA fault, then one fault report', async function () {
    await helper.load(NODES, flow());
    await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'the camera connection to fail');
    const out = collect(helper.getNode('out'));
    const grabbed = collect(helper.getNode('grabbed'));
    helper.getNode('grab').receive({ ...part('WB-1'), payload: 'go' });
    const m = await until(() => out[0], 5000, 'a result from enrich');
    const r = m.payload;
    assertValid('inspection-result', r, 'msg.payload');
    assert.equal(r.part.serial, 'WB-1');
    assert.deepEqual([r.verdict, r.resultCode, r.classId], ['NOK', 4, 3]);
    assert.equal(r.faults.length, 1, JSON.stringify(r.faults));
    assert.equal(r.faults[0].code, 'CAMERA');
    assert.match(r.faults[0].message, /^camera-grab "grab" failed: .*is not connected: failed .*source "usb" is not one of gige, http, folder, simulator.* \[NOT_CONNECTED\]$/);
    assert.equal(m.error, undefined, 'msg.error is gone from the result message');
    assert.deepEqual(m.handshake, { Busy: true }, 'the part message travels on');
    // enrich reports the fault once (done(err): the log and Catch), naming the result
    const report = new RegExp(`result ${r.resultId} has 1 fault\\(s\\): camera-grab "grab" failed`);
    await until(() => logged(20).some((e) => report.test(e)), 5000, 'the fault report of enrich in the log');
    assert.equal(logged(20).filter((e) => report.test(e)).length, 1);
    assert.equal(out.length, 1, 'one result per failed part');
    assert.equal(grabbed.length, 0, 'the grab itself sent nothing');
  });

  it('its own fault report brought back by a Catch node is dropped with a warning: no second result, no loop', async function () {
    // the wrong wiring: a Catch scoped to enrich feeds enrich
    await helper.load(NODES, flow(['grab', 'en']));
    await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'the camera connection to fail');
    const out = collect(helper.getNode('out'));
    helper.getNode('grab').receive({ ...part('WB-2'), payload: 'go' });
    await until(() => warnings().some((w) => /ignored a caught error of enrich "InspectionResult": its result was sent already/.test(w)), 5000, 'the warning about enrich\'s own report');
    // the re-entered report was handled synchronously in the same input: what was sent is final now
    assert.equal(out.length, 1, `results: ${out.map((x) => x.payload.part.serial).join(', ')}`);
    assert.equal(out[0].payload.faults[0].code, 'CAMERA');
  });

  it('a caught error without msg.part is not a part: a warning, no (ghost) result', async function () {
    await helper.load(NODES, flow());
    await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'the camera connection to fail');
    const out = collect(helper.getNode('out'));
    helper.getNode('en').receive({ topic: 'cam1', dropped: { blockId: 4 }, error: { message: 'incomplete frame dropped', source: { id: 'grab', type: 'camera-grab', name: 'grab' } } });
    await until(() => warnings().some((w) => /ignored a caught error without msg\.part \(not a part, no result\): incomplete frame dropped/.test(w)), 5000, 'the warning about a caught error without a part');
    assert.equal(out.length, 0);
    // an ordinary part still gets its result afterwards
    helper.getNode('en').receive({ ...part('WB-3'), predictions: [], model: { name: 'm', version: '1' }, crops: [] });
    const m = await until(() => out[0], 5000, 'the result of WB-3');
    assert.equal(m.payload.part.serial, 'WB-3');
    assert.equal(m.payload.faults.some((f) => f.code === 'CAMERA'), false);
  });
});
