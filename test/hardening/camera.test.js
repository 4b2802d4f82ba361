'use strict';
// The camera killed mid-frame on the station flow (flows/station.json) in a real Node-RED process
// (test/hardening/rig.js), one part per second, with a real GigE Vision camera: our own peer camera
// (test/support/gige-peer.js) on 127.0.0.1, reached over GVCP/GVSP UDP by the flow's camera config (CAMERA_SOURCE=gige,
// unicast to the peer's port: no discovery broadcast). Its frames are 640×480 renderings of the weld-spot simulator
// (12 spots), so the demo model judges real spots; the flow's recipes are patched to those 12 spots.
// While parts flow the camera dies in the middle of sending a frame (no more GVSP packets of that block, no more
// GVCP answers), stays away a few seconds and boots again. Every part triggered gets exactly one result row in
// SQLite: the part whose frame was cut and the parts during the outage as fault results (NOK, resultCode 4, a
// CAMERA fault), the parts after the camera is back judged by the model again; no ghost; the process holds no more
// sockets after the outage than before; nothing uncaught, unhandled or a close that timed out in the log.
const assert = require('node:assert/strict');
const Database = require('better-sqlite3');
const { StationRig, sleep } = require('./rig');
const { gigeCameraPeer } = require('../support/gige-peer');
const { renderFrame, gridRecipe } = require('../../dist/nodes/lib/camera/simulator');
const { until } = require('../support/wait');

const WIDTH = 640;
const HEIGHT = 480;
const DOWN_MS = 4000;

/** Every row of the station's store with its body parsed. */
function rowsOf(rig) {
  const db = new Database(rig.dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT result_id, part_serial, verdict, result_code, class_id, body FROM inspection_result ORDER BY rowid')
      .all()
      .map((r) => ({ ...r, body: JSON.parse(r.body) }));
  } finally {
    db.close();
  }
}

describe('hardening: the GigE camera killed mid-frame on flows/station.json (real Node-RED, PLC simulator, GigE peer camera)', function () {
  this.timeout(90000);
  let rig;
  let peer;

  afterEach(async function () {
    if (rig) await rig.stop();
    rig = undefined;
    if (peer) await peer.close();
    peer = undefined;
  });

  it('every part triggered has exactly one result: faults (NOK, code 4, CAMERA) while the camera is away, judged again after it boots', async function () {
    const spots = gridRecipe({ width: WIDTH, height: HEIGHT, cols: 4, rows: 3, expectedDiameterPx: 32 });
    // a small pool of frames, handed out by block id (rendering is the test's cost, not the station's)
    const frames = [1, 2, 3, 4].map((k) => renderFrame({ seed: `camera-kill:${k}`, width: WIDTH, height: HEIGHT, spots, expectedDiameterPx: 32, classMix: { ok: 1 } }).data);
    peer = await gigeCameraPeer({ width: WIDTH, height: HEIGHT, image: (id) => frames[id % frames.length] });
    const recipe = spots.map((s) => ({ id: String(s.id), x: s.x - 48, y: s.y - 48, w: 96, h: 96, expectedDiameter: 32, stackupThickness: 2 }));
    rig = await StationRig.start({
      periodMs: 1000,
      env: { CAMERA_SOURCE: 'gige', CAMERA_HOST: '127.0.0.1' },
      patch: (flow) => {
        Object.assign(flow.find((n) => n.id === 'sf_st_camera'), { gvcpPort: peer.port });
        const recipes = [1, 2, 3, 4].map((program) => ({ program, product: `peer camera ${WIDTH}×${HEIGHT}, 12 spots`, spots: recipe }));
        Object.assign(flow.find((n) => n.id === 'sf_st_recipes'), { recipes: JSON.stringify({ recipes }) });
      },
    });
    await until(() => peer.acquiring, 20000, 'the flow to open the peer camera and start acquisition');
    rig.run();
    await until(() => rowsOf(rig).filter((r) => r.result_code !== 4).length >= 3, 30000, 'three parts judged before the fault');
    const before = rowsOf(rig);
    assert.deepEqual(before.filter((r) => r.result_code === 4).map((r) => [r.part_serial, r.body.faults]), [], 'no fault results while the camera is up');
    const socketsBefore = rig.sockets();

    // the camera dies in the middle of the next frame it sends (after 60 of its packets)
    const death = await peer.dieMidFrame({ afterPackets: 60 });
    const diedAt = Date.now();
    const cut = rig.current.serial; // the part whose frame was cut
    assert.ok(death.sent > 0 && death.sent < death.total, `died mid-frame: ${death.sent} of ${death.total} packets sent`);
    await sleep(DOWN_MS);
    const backAt = Date.now();
    peer.powerOn();
    const reconnectedAt = await until(() => peer.acquiring && Date.now(), 20000, 'the flow to open the camera again after it booted');
    // answered Busy: halt() keeps them (it takes back only a trigger the station has not seen yet)
    await until(() => [...rig.triggers].filter(([s, t]) => t > reconnectedAt && rig.busy.has(s)).length >= 3, 15000, 'three parts seen by the station after the camera came back');
    rig.halt();
    await rig.drain(20000);
    const rows = rowsOf(rig);
    // sockets of an attempt that ended may take a moment to close: the count must come back within 8 s
    const socketsAfter = await rig.settledSockets(socketsBefore);

    const bySerial = new Map();
    for (const r of rows) bySerial.set(r.part_serial, [...(bySerial.get(r.part_serial) ?? []), r]);
    const timeline = [...rig.triggers]
      .map(([s, t]) => `${s} ${t - diedAt} ms ${(bySerial.get(s) ?? []).map((r) => `${r.verdict}/${r.result_code}`).join('+') || 'none'}`)
      .join(', ');
    const what = `(camera died ${diedAt - backAt} ms before power-on, reconnected ${reconnectedAt - backAt} ms after it; triggers relative to the death: ${timeline})`;

    // exactly one result per part triggered, none for a part never triggered
    assert.deepEqual([...rig.triggers.keys()].filter((s) => !bySerial.has(s)), [], `parts without a result ${what}`);
    assert.deepEqual([...bySerial].filter(([, rs]) => rs.length > 1).map(([s, rs]) => `${s}×${rs.length}`), [], `parts with more than one result ${what}`);
    assert.deepEqual(rows.filter((r) => !rig.fired.has(r.part_serial)).map((r) => r.part_serial), [], `results of parts never triggered ${what}`);

    // the part whose frame was cut, and every part triggered while the camera was away: a fault result
    const isCameraFault = (r) => r.verdict === 'NOK' && r.result_code === 4 && r.class_id === 3 && r.body.faults.some((f) => f.code === 'CAMERA' && /^camera-grab "grab" failed: .*camera/.test(f.message));
    const down = [...rig.triggers].filter(([, t]) => t > diedAt && t < backAt).map(([s]) => s);
    assert.ok(down.length >= 2, `parts triggered while the camera was away: ${down.length} ${what}`);
    for (const s of [cut, ...down]) {
      const [r] = bySerial.get(s);
      assert.ok(isCameraFault(r), `${s}: a CAMERA fault result, got ${r.verdict}/${r.result_code}/${r.class_id} ${JSON.stringify(r.body.faults)} ${what}`);
      assert.equal(r.body.part.serial, s);
      assert.ok(r.body.timestamps.trigger, `${s}: the fault result keeps the trigger time`);
    }
    const cutFault = bySerial.get(cut)[0].body.faults.find((f) => f.code === 'CAMERA');
    assert.match(cutFault.message, /stopped answering|no complete frame|arrived incomplete|not connected/, `the cut part says what happened to the camera: ${cutFault.message}`);

    // after the camera is back: judged by the model again, every spot of the recipe, no fault
    const after = [...rig.triggers].filter(([, t]) => t > reconnectedAt).map(([s]) => s);
    assert.ok(after.length >= 3, `parts after the camera came back: ${after.length}`);
    for (const s of after) {
      const [r] = bySerial.get(s);
      assert.ok(r.result_code === 1 || r.result_code === 2, `${s}: judged (code 1 or 2), got ${r.result_code} ${JSON.stringify(r.body.faults)} ${what}`);
      assert.deepEqual(r.body.faults, [], `${s}: no fault`);
      assert.equal(r.body.spots.length, 12, `${s}: the 12 spots judged`);
      assert.equal(r.body.model.name, 'spotfusion-demo');
    }

    // the GigE client let go of the dead camera's sockets: the process holds no more than before the death
    assert.ok(socketsAfter <= socketsBefore, `sockets of the Node-RED process: ${socketsBefore} before the death, ${socketsAfter} after the recovery`);
    assert.doesNotMatch(rig.log, /close timed out|uncaught|unhandled/i);
    this.test.title += ` [${rows.length} results: ${rows.filter((r) => r.result_code === 4).length} faults, ${after.length} after the return; died after ${death.sent}/${death.total} packets; reconnected ${reconnectedAt - backAt} ms after power-on; cut part: ${cutFault.message.slice(0, 160)}; sockets ${socketsBefore} → ${socketsAfter}]`;
  });
});
