'use strict';
// GVSP packet size negotiation (nodes/lib/camera/gige/packet-size.ts) against our own peer camera on 127.0.0.1:
// SCPS test packets with do-not-fragment, the largest size that arrives over a "link" that drops larger packets,
// the 1500-byte class and below, a camera that fires no test packets, a fixed size, and the config setting.
const assert = require('node:assert/strict');
const { GigeCamera } = require('../../dist/nodes/lib/camera/gige/camera');
const { cameraDriver } = require('../../dist/nodes/lib/camera/settings');
const { gigeCameraPeer } = require('../support/gige-peer');
const { nextEvent } = require('../support/wait');

describe('GVSP packet size negotiation (our peer camera, 127.0.0.1)', function () {
  let peer;
  const cams = [];
  async function open(peerOpts, opts = {}) {
    peer = await gigeCameraPeer({ width: 320, height: 240, ...peerOpts });
    const cam = new GigeCamera({ host: '127.0.0.1', port: peer.port, trigger: 'hardware', ...opts });
    cams.push(cam);
    await cam.open();
    return cam;
  }
  afterEach(async function () {
    for (const c of cams.splice(0)) await c.close();
    await peer?.close();
    peer = undefined;
  });

  async function framePixelExact(cam) {
    const got = nextEvent(cam, 'frame');
    const id = await peer.pulse();
    const f = await got;
    assert.ok(f.data.equals(peer.pattern(id)), `frame ${id} pixel-exact at packet size ${cam.packetSize}`);
  }

  it('takes jumbo 9000 when its test packet arrives (do-not-fragment set), and frames flow at that size', async function () {
    const cam = await open({ testPackets: true, linkMtu: 9000 });
    assert.equal(cam.packetSize, 9000);
    assert.equal(peer.testFires[0], 9000, 'the largest size is tried first');
    assert.equal(peer.regs.get(0x0d04) & 0xffff, 9000);
    assert.ok(peer.regs.get(0x0d04) & 0x40000000, 'do-not-fragment stays set');
    assert.match(cam.packetSizeNote, /packet size 9000 bytes, the largest whose test packet arrived \(at most 9000, MTU of lo 65536\)/);
    await framePixelExact(cam);
  });

  it('finds the largest size a link carries between the 1500-byte class and 9000 (link drops packets over 4000)', async function () {
    const cam = await open({ testPackets: true, linkMtu: 4000 });
    assert.equal(cam.packetSize, 4000);
    assert.ok(peer.testFires.every((s) => s % 4 === 0), 'sizes on the 4-byte increment');
    assert.ok(peer.testFires.length <= 3 * 16, `${peer.testFires.length} fires`);
    await framePixelExact(cam);
  });

  it('falls below the 1500-byte class only when 1500 does not arrive (link MTU 1400)', async function () {
    const cam = await open({ testPackets: true, linkMtu: 1400 });
    assert.equal(cam.packetSize, 1400);
    await framePixelExact(cam);
  });

  it('a camera that fires no test packet gets what the local link allows (loopback: 9000) and the note says so', async function () {
    const cam = await open({ testPackets: false });
    assert.equal(cam.packetSize, 9000);
    assert.match(cam.packetSizeNote, /packet size 9000 bytes from the link \(at most 9000, MTU of lo 65536\): the camera sent no test packet.*set Packet size to 1500/);
    await framePixelExact(cam);
  });

  it('a fixed size is written as it is, with no test packet fired', async function () {
    const cam = await open({ testPackets: true }, { packetSize: 1500 });
    assert.equal(cam.packetSize, 1500);
    assert.deepEqual(peer.testFires, []);
    assert.match(cam.packetSizeNote, /packet size 1500 bytes \(set in the camera config\)/);
    await framePixelExact(cam);
  });

  it('packetSizeMax bounds what auto negotiates', async function () {
    const cam = await open({ testPackets: true }, { packetSizeMax: 6000 });
    assert.equal(cam.packetSize, 6000);
  });

  it('the camera config reads Packet size: auto or empty negotiates, a number fixes it, anything else is a config error', async function () {
    const base = { source: 'gige', host: '127.0.0.1', cameraId: 'c' };
    const opened = [];
    for (const [packetSize, want] of [['auto', 'auto'], ['', 'auto'], [undefined, 'auto'], ['1500', 1500], [8000, 8000]]) {
      peer = await gigeCameraPeer({ testPackets: false });
      const drv = cameraDriver({ ...base, gvcpPort: peer.port, packetSize, trigger: 'hardware' }, {}, 'c');
      const src = await drv.open();
      opened.push(src);
      assert.equal(src.camera.opts.packetSize, want, `packetSize ${JSON.stringify(packetSize)}`);
      assert.equal(src.camera.packetSize, want === 'auto' ? 9000 : want);
      assert.equal(src.packetSizeNote(), src.camera.packetSizeNote);
      await drv.close(src);
      await peer.close();
      peer = undefined;
    }
    for (const bad of ['jumbo', '100', '20000', '1500.5']) {
      const drv = cameraDriver({ ...base, gvcpPort: 3956, packetSize: bad }, {}, 'c');
      await assert.rejects(drv.open(), (e) => e.code === 'CONFIG' && /packetSize must be auto or an integer in 576…16384/.test(e.message), bad);
    }
  });
});
