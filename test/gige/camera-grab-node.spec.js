'use strict';
// camera-grab in a real Node-RED runtime (node-red-node-test-helper) grabbing from Debian's aravis fake GigE camera.
// Runs ONLY inside a network namespace with nothing but loopback (test/support/netns-run.sh, started by
// test/unit/camera-aravis.test.js): the aravis fake camera broadcasts discovery on every interface.
const assert = require('node:assert/strict');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { assertLoopbackOnly, startFake, stopFake, checkPattern } = require('../support/aravis-fake');
const configNode = require('../../dist/nodes/spotfusion-camera-config/spotfusion-camera-config.js');
const grabNode = require('../../dist/nodes/camera-grab/camera-grab.js');

assertLoopbackOnly();

const NODES = [configNode, grabNode];

function flow(config) {
  return onTab([
    { id: 'cam', type: 'spotfusion-camera-config', name: 'fake', cameraId: 'station-cam', source: 'gige', host: '127.0.0.1', gvcpPort: 3956, packetSize: 1500, timeout: 2000, ...config },
    { id: 'grab', type: 'camera-grab', camera: 'cam', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

const lastStatus = (id) => helper.getNode(id).status.lastCall?.args[0] ?? {};

describe('camera-grab in Node-RED against the aravis fake camera (network namespace, lo only)', function () {
  this.timeout(40000);
  let fake;
  beforeEach(async function () {
    fake = await startFake();
  });
  afterEach(async function () {
    await helper.unload();
    await stopFake(fake);
  });

  /** send n messages one after the other; resolves with the n frames out, in order */
  async function grabN(n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const got = nextMessage(helper.getNode('out'), () => true, 5000);
      helper.getNode('grab').receive({ payload: i, part: { serial: `P-${i}` } });
      out.push(await got);
    }
    return out;
  }

  it('software trigger: N messages in, N frames out, pixel-exact, status green; camera killed: red and errors to Catch; back: grabs resume', async function () {
    await helper.load(NODES, flow({ trigger: 'software' }));
    const grab = helper.getNode('grab');
    await until(() => helper.getNode('cam').connection.state === 'connected', 10000, 'connected to the fake');
    const out = await grabN(5);
    const ids = out.map((m) => m.frame.frameId);
    for (const [i, m] of out.entries()) {
      assert.equal(m.part.serial, `P-${i}`, 'msg.part travels on');
      assert.equal(m.frame.cameraId, 'station-cam');
      assert.equal(m.frame.width, 512);
      assert.equal(m.frame.height, 512);
      assert.equal(m.frame.pixelFormat, 'Mono8');
      assert.equal(m.frame.data.length, 512 * 512);
      assert.equal(checkPattern(m.frame, true), 0, `frame ${m.frame.frameId} differs from the fake's pattern`);
    }
    assert.equal(new Set(ids).size, 5, 'five different frames');
    assert.equal(lastStatus('grab').fill, 'green');
    // a text-only status change shows at most every 250 ms (StatusLine), and the latest one always shows
    await until(() => lastStatus('grab').text === `#${ids[4]} 512×512 Mono8`, 2000, `status naming the last frame #${ids[4]}`);

    // the camera dies: red status with the reason, and a message now fails to Catch
    await stopFake(fake);
    await until(() => lastStatus('grab').fill === 'red', 10000, 'red status');
    assert.match(lastStatus('grab').text, /stopped answering|not found|no answer/);
    const caught = nextMessage(helper.getNode('caught'), () => true, 5000);
    grab.receive({ payload: 'while down' });
    const err = await caught;
    assert.equal(err.payload, 'while down');
    assert.match(err.error.message, /not connected/);
    assert.equal(lastStatus('grab').fill, 'red');

    // back again: the connection comes back on its own and grabs resume, pixel-exact
    fake = await startFake();
    await until(() => helper.getNode('cam').connection.state === 'connected', 15000, 'reconnected');
    await until(() => lastStatus('grab').fill === 'green', 5000, 'green again');
    const again = await grabN(3);
    for (const m of again) assert.equal(checkPattern(m.frame, true), 0);
    assert.equal(lastStatus('grab').fill, 'green');
    const last = again[again.length - 1].frame.frameId;
    await until(() => lastStatus('grab').text === `#${last} 512×512 Mono8`, 2000, `status naming the last frame #${last}`);
  });

  it('a setting the camera rejects (Width 2448 on the 2048-wide fake): "failed" with feature and value, no retries; a redeploy with a new value connects', async function () {
    await helper.load(NODES, flow({ trigger: 'software', roiWidth: 2448 }));
    const conn = helper.getNode('cam').connection;
    await until(() => conn.state === 'failed', 10000, `failed (now ${conn.state}: ${conn.lastError})`);
    assert.match(conn.lastError, /setting Width = 2448 failed: camera 127\.0\.0\.1:3956 rejects it \(Width: 2448 is outside 1…2048\)/);
    assert.equal(conn.pendingRetry, false, 'no retry scheduled');
    assert.equal(conn.failures, 0);
    assert.equal(lastStatus('grab').fill, 'red');
    assert.match(lastStatus('grab').text, /Width = 2448 failed/);
    const caught = nextMessage(helper.getNode('caught'), () => true, 5000);
    helper.getNode('grab').receive({ payload: 'p1' });
    assert.match((await caught).error.message, /failed.*Width = 2448/);
    // the user changes the setting and deploys: it starts again
    await helper.unload();
    await helper.load(NODES, flow({ trigger: 'software', roiWidth: 1024 }));
    await until(() => helper.getNode('cam').connection.state === 'connected', 10000, 'connected with the new width');
    const [m] = await grabN(1);
    assert.equal(m.frame.width, 1024);
    assert.equal(checkPattern(m.frame), 0);
  });

  it("hardware trigger on the fake's software source: one message per frame without input messages", async function () {
    await helper.load(NODES, flow({ trigger: 'hardware', triggerSource: 'Software' }));
    await until(() => helper.getNode('cam').connection.state === 'connected', 10000, 'connected to the fake');
    const out = [];
    helper.getNode('out').on('input', (m) => out.push(m));
    const cam = helper.getNode('cam').connection.client().camera;
    // something else pulls the trigger (here: the camera's own TriggerSoftware, as a line would)
    for (let i = 1; i <= 3; i++) {
      await cam.execute('TriggerSoftware');
      await until(() => out.length === i, 5000, `message ${i}`);
    }
    for (const m of out) {
      assert.equal(m.topic, 'station-cam');
      assert.equal(checkPattern(m.frame, true), 0);
    }
    await until(() => lastStatus('grab').text === `#${out[2].frame.frameId} 512×512 Mono8`, 3000, 'status of the last frame');
    assert.equal(lastStatus('grab').fill, 'green');
  });
});
