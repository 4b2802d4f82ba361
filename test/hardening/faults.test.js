'use strict';
// Faults on the station flow in a real Node-RED process (test/hardening/rig.js), one part per second:
// - the PLC drops every session in the middle of a part's cycle and refuses connections for 3 s: every part
//   triggered while the flow was connected has exactly one result, the part in flight included, and none of
//   the results is for a part the PLC never triggered;
// - the model file is replaced by garbage while parts flow (the station's model config with its file watch
//   on): the flow keeps judging with the model it had, and the status the editor shows says why the new file
//   was refused.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const Database = require('better-sqlite3');
const { StationRig, sleep } = require('./rig');
const { ROOT } = require('../../scripts/userdir.cjs');
const { until } = require('../support/wait');

describe('hardening: faults on flows/station.json (real Node-RED, PLC and camera simulators)', function () {
  this.timeout(60000);
  let rig;
  let tmp;

  afterEach(async function () {
    if (rig) await rig.stop();
    rig = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('PLC dropped mid-cycle and back: a result for every part triggered while the PLC was connected, none extra', async function () {
    rig = await StationRig.start({ periodMs: 1000 });
    rig.run();
    await until(() => rig.results().length >= 2, 20000, 'two results before the fault');
    const db = rig.sim.db;
    // mid-cycle: the station has answered Busy for the part now at the station and not yet Done
    await until(() => db.get('Busy') === true && db.get('Done') === false, 5000, 'a part in its cycle');
    const inFlight = db.get('PartSerial');
    const downAt = Date.now();
    rig.sim.refuseConnects(3000);
    rig.sim.dropAllSessions();
    await sleep(3000);
    const backAt = await until(() => rig.sim.openConnections > 0 && Date.now(), 20000, 'the flow connected to the PLC again');
    await until(() => [...rig.triggers].filter(([, t]) => t > backAt + 50).length >= 3, 10000, 'three parts after the reconnect');
    rig.halt();
    const rows = await rig.drain(15000);
    const stored = new Set(rows.map((r) => r.part_serial));
    const whileUp = [...rig.triggers].filter(([, t]) => t < downAt || t > backAt + 50).map(([s]) => s);
    assert.ok(whileUp.includes(inFlight), `the part in flight ${inFlight} counts as triggered while up`);
    const timeline = [...rig.triggers].map(([s, t]) => `${s} ${t - downAt} ms${rig.busy.has(s) ? ' busy' : ''}${stored.has(s) ? ' stored' : ''}`).join(', ');
    assert.deepEqual(whileUp.filter((s) => !stored.has(s)), [], `parts without a result (PLC down for ${backAt - downAt} ms; triggers relative to the drop: ${timeline})`);
    assert.equal(stored.size, rows.length, 'one result per part');
    assert.deepEqual(rows.filter((r) => !rig.fired.has(r.part_serial)).map((r) => r.part_serial), [], 'results of parts never triggered');
    assert.doesNotMatch(rig.log, /close timed out|uncaught|unhandled/i);
  });

  it('model file replaced by garbage: the old model keeps judging and the status says why the new file was refused', async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-model-'));
    for (const f of ['spotfusion-demo.onnx', 'spotfusion-demo.json']) fs.copyFileSync(path.join(ROOT, 'models', 'demo', f), path.join(tmp, f));
    const modelFile = path.join(tmp, 'spotfusion-demo.onnx');
    rig = await StationRig.start({
      periodMs: 1000,
      env: { MODEL_PATH: modelFile },
      // a station that swaps models at run time has the file watch on (the demo flow ships with it off)
      patch: (flow) => Object.assign(flow.find((n) => n.id === 'sf_st_model'), { watch: true, watchInterval: 200 }),
    });
    const status = await rig.watchStatus();
    try {
      rig.run();
      await until(() => rig.results().length >= 2, 20000, 'two results before the fault');
      const model = modelOf(rig, rig.results()[0].result_id);
      assert.ok(model.name && model.version, 'results carry the model');
      const garbageAt = Date.now();
      fs.writeFileSync(modelFile, crypto.randomBytes(64 * 1024));
      const refused = await until(() => (status.statuses.get('sf_st_infer') || []).find((s) => /failed/i.test(s.text || '')), 15000, 'a status saying the new model failed');
      assert.match(refused.text, new RegExp(`${model.name} ${model.version}; new version failed: .+`));
      // three parts the station has answered (a part whose trigger the halt cuts before Busy is taken out)
      await until(() => [...rig.triggers].filter(([s, t]) => t > garbageAt + 2000 && rig.busy.has(s)).length >= 3, 15000, 'three parts answered after the garbage');
      rig.halt();
      const rows = await rig.drain(15000);
      const after = rows.filter((r) => rig.triggers.get(r.part_serial) > garbageAt + 2000);
      assert.ok(after.length >= 3, `results after the garbage: ${after.length}`);
      for (const r of after) assert.deepEqual(modelOf(rig, r.result_id), model, `${r.part_serial} judged by the old model`);
      assert.deepEqual([...rig.triggers.keys()].filter((s) => !rows.some((r) => r.part_serial === s)), [], 'parts without a result');
    } finally {
      status.close();
    }
  });
});

function modelOf(rig, resultId) {
  const db = new Database(rig.dbFile, { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare('SELECT model_name AS name, model_version AS version FROM inspection_result WHERE result_id = ?').get(resultId);
    return { name: r.name, version: r.version };
  } finally {
    db.close();
  }
}
