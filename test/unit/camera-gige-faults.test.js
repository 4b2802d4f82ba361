'use strict';
// GigE Vision faults against our own peer camera on 127.0.0.1 (test/support/gige-peer.js): resends only when the
// camera can resend, control requests retried, send errors, permanent camera errors, incomplete triggered frames.
const assert = require('node:assert/strict');
const { GigeCamera } = require('../../dist/nodes/lib/camera/gige/camera');
const { cameraDriver } = require('../../dist/nodes/lib/camera/settings');
const { gigeCameraPeer } = require('../support/gige-peer');
const { nextEvent } = require('../support/wait');

describe('GigE camera faults against our own peer camera (127.0.0.1)', function () {
  let peer;
  const cams = [];
  async function open(opts = {}, peerOpts = {}) {
    peer = peer ?? (await gigeCameraPeer(peerOpts));
    const cam = new GigeCamera({ host: '127.0.0.1', port: peer.port, packetSize: 36 + 512, trigger: 'hardware', ...opts });
    cams.push(cam);
    await cam.open();
    return cam;
  }
  afterEach(async function () {
    for (const c of cams.splice(0)) await c.close();
    await peer?.close();
    peer = undefined;
  });

  it('asks for a lost packet again when the capability register says the camera can resend', async function () {
    const cam = await open();
    assert.equal(cam.canResend, true);
    assert.equal(cam.resending, true);
    const got = nextEvent(cam, 'frame');
    const id = await peer.pulse({ drop: [2] });
    const f = await got;
    assert.equal(f.blockId, id);
    assert.equal(f.resent, 1);
    assert.ok(f.data.equals(peer.pattern(id)));
    assert.deepEqual(peer.resends, [{ blockId: id, first: 2, last: 2 }]);
  });

  it('never sends PACKETRESEND to a camera that cannot resend: the frame is reported incomplete at once', async function () {
    const cam = await open({}, { canResend: false });
    assert.equal(cam.canResend, false);
    assert.equal(cam.resending, false);
    const inc = nextEvent(cam, 'incomplete');
    const id = await peer.pulse({ drop: [2] });
    assert.equal((await inc).blockId, id);
    assert.deepEqual(peer.resends, []);
    const got = nextEvent(cam, 'frame');
    const next = await peer.pulse();
    assert.ok((await got).data.equals(peer.pattern(next)));
  });

  it('never sends PACKETRESEND with resends turned off (camera config "Resend lost packets: off")', async function () {
    const cam = await open({ resend: false });
    assert.equal(cam.canResend, true);
    assert.equal(cam.resending, false);
    const inc = nextEvent(cam, 'incomplete');
    await peer.pulse({ drop: [3] });
    assert.equal((await inc).missing, 1);
    assert.deepEqual(peer.resends, []);
  });

  it('a software-triggered frame that arrives incomplete fails grab() at once with a clear error, and the next grab works', async function () {
    const cam = await open({ trigger: 'software' });
    peer.loseNext([2, 3]); // never arrive, not even when asked again
    await assert.rejects(cam.grab(60000), (e) => e.code === 'INCOMPLETE' && /frame \(block \d+\) from camera 127\.0\.0\.1:\d+ arrived incomplete: 2 of \d+ packets missing/.test(e.message));
    const f = await cam.grab();
    assert.ok(f.data.equals(peer.pattern(f.blockId)));
  });

  it('reads the resend setting of the camera config node, and rejects an unknown value', async function () {
    const base = { source: 'gige', host: '127.0.0.1', trigger: 'software' };
    await assert.rejects(cameraDriver({ ...base, resend: 'sometimes' }, {}, 'c1').open(), (e) => e.code === 'CONFIG' && /resend "sometimes" is not auto or off/.test(e.message));
    peer = await gigeCameraPeer();
    for (const [resend, resending] of [['off', false], ['auto', true], [undefined, true]]) {
      const driver = cameraDriver({ ...base, gvcpPort: peer.port, packetSize: 600, resend }, {}, 'c1');
      const source = await driver.open();
      try {
        assert.equal(source.camera.resending, resending, `resend ${resend}`);
      } finally {
        await driver.close(source);
      }
    }
  });
});
