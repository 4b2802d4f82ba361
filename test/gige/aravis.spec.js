'use strict';
// Runs ONLY inside a network namespace with nothing but loopback (test/support/netns-run.sh, started by
// test/unit/camera-aravis.test.js): the aravis fake camera broadcasts discovery on every interface.
const assert = require('node:assert/strict');
const { mkdtempSync, writeFileSync, rmSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { zipSync, strToU8 } = require('fflate');
const { GigeCamera } = require('../../dist/nodes/lib/camera/gige/camera');
const { GvcpClient } = require('../../dist/nodes/lib/camera/gige/gvcp');
const { SharedConnection } = require('../../dist/nodes/lib/connection');
const { gigeDriver } = require('../../dist/nodes/lib/camera/sources');
const { assertLoopbackOnly, startFake, stopFake, checkPattern, sleep, streamFaults, netFaults, clearStreamFaults, events } = require('../support/aravis-fake');
const { gigeCameraPeer } = require('../support/gige-peer');

assertLoopbackOnly();

function waitState(conn, state, timeoutMs = 15000) {
  if (conn.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`state ${state} not reached in ${timeoutMs} ms (now ${conn.state}, ${conn.lastError})`)), timeoutMs);
    conn.on('state', function on(s) {
      if (s.state !== state) return;
      clearTimeout(t);
      conn.removeListener('state', on);
      resolve();
    });
  });
}

describe('GigE Vision against the aravis fake camera (network namespace, lo only)', function () {
  this.timeout(30000);
  let fake;
  const open = [];
  async function camera(opts = {}) {
    const c = new GigeCamera({ host: '127.0.0.1', ...opts });
    open.push(c);
    await c.open();
    return c;
  }
  beforeEach(async function () {
    fake = await startFake();
  });
  afterEach(async function () {
    clearStreamFaults();
    for (const c of open.splice(0)) await c.close();
    await stopFake(fake);
  });

  it('discovers by unicast, takes control, loads and interprets the GenICam XML', async function () {
    const cam = await camera();
    assert.equal(cam.info.manufacturer, 'Aravis');
    assert.equal(cam.info.model, 'Fake');
    assert.equal(cam.xmlFile, 'arv-fake-camera.xml');
    assert.equal(cam.heartbeatTimeoutMs, 3000);
    assert.equal(cam.nodemap.vendor, 'Aravis');
    assert.equal(await cam.get('Width'), 512);
    assert.equal(await cam.get('Height'), 512);
    assert.equal(await cam.get('PixelFormat'), 'Mono8');
    assert.equal(await cam.get('PayloadSize'), 512 * 512);
    assert.equal(await cam.get('DeviceVendorName'), 'Aravis');
    assert.ok(cam.nodemap.features('Root').includes('TriggerSoftware'));
    const ccp = new GvcpClient({ host: '127.0.0.1' });
    try {
      assert.equal(await ccp.readReg(0x0a00), 2, 'we hold control');
    } finally {
      await ccp.close();
    }
  });

  it('reads and writes features by standard name with fallbacks', async function () {
    const cam = await camera({ features: { Width: 256, Height: 128, Gain: 3, ExposureTime: 20000, AcquisitionFrameRate: 50 } });
    assert.equal(cam.resolve('ExposureTime'), 'ExposureTimeAbs');
    assert.equal(cam.resolve('Gain'), 'GainRaw');
    assert.equal(await cam.get('Width'), 256);
    assert.equal(await cam.get('Height'), 128);
    assert.equal(await cam.get('Gain'), 3);
    assert.equal(await cam.get('ExposureTime'), 20000);
    assert.equal(await cam.get('AcquisitionFrameRate'), 50);
    assert.equal(await cam.get('PayloadSize'), 256 * 128);
    await cam.set('Gain', 0);
    cam.nodemap.clearCache();
    assert.equal(await cam.get('Gain'), 0, 'read back from the camera');
    await cam.set('TestBoolean', true);
    cam.nodemap.clearCache();
    assert.equal(await cam.get('TestBoolean'), true);
    await assert.rejects(cam.set('Gain', 11), /Gain.*outside 0…10/);
    await assert.rejects(cam.set('PixelFormat', 'Mono12p'), /not one of/);
    await assert.rejects(cam.get('NoSuchThing'), /has no NoSuchThing feature/);
  });

  it('grabs on software trigger, pixel-exact against the fake test pattern', async function () {
    const cam = await camera({ trigger: 'software' });
    for (let i = 0; i < 3; i++) {
      const f = await cam.grab();
      assert.equal(f.width, 512);
      assert.equal(f.pixelFormat, 'Mono8');
      assert.equal(f.data.length, 512 * 512);
      assert.equal(checkPattern(f, true), 0, `frame ${f.blockId} differs from the pattern`);
    }
    assert.equal(cam.stats.incomplete, 0);
  });

  it("uses the camera's own trigger (hardware mode): arms its line, and emits every frame it sends by itself", async function () {
    // the fake has one line, Line0, that nothing can pulse: armed on it, it must stay silent
    const line = await camera({ trigger: 'hardware', triggerSource: 'Line0' });
    assert.equal(line.triggerSource, 'Line0');
    line.nodemap.clearCache();
    assert.equal(await line.get('TriggerMode'), 'On');
    assert.equal(await line.get('TriggerSource'), 'Line0');
    assert.equal(await line.get('TriggerSelector'), 'FrameStart');
    let early = 0;
    line.on('frame', () => early++);
    await sleep(500);
    assert.equal(early, 0, 'no frame while the line stays low (the fake free-runs at 25 fps otherwise)');
    await line.close();
    // Line1 (the default) does not exist on the fake: a clear configuration error, not a guess at another line
    const missing = new GigeCamera({ host: '127.0.0.1', trigger: 'hardware' });
    open.push(missing);
    await assert.rejects(missing.open(), (e) => e.code === 'CONFIG' && /no trigger source "Line1" .*it offers Line0, Software/.test(e.message));
    // its software source stands in for the line: the frames arrive without grab(), pixel-exact
    const cam = await camera({ trigger: 'hardware', triggerSource: 'Software' });
    const frames = [];
    cam.on('frame', (f) => frames.push(f));
    for (let i = 1; i <= 3; i++) {
      await cam.execute('TriggerSoftware');
      const end = Date.now() + 3000;
      while (frames.length < i && Date.now() < end) await sleep(5);
      assert.equal(frames.length, i, `frame ${i} emitted`);
    }
    for (const f of frames) assert.equal(checkPattern(f, true), 0, `frame ${f.blockId} differs from the pattern`);
    assert.equal(new Set(frames.map((f) => f.data.buffer)).size, 3, 'each emitted frame keeps its own buffer');
    await sleep(200);
    assert.equal(frames.length, 3, 'one frame per trigger');
    assert.equal(cam.stats.incomplete, 0);
  });

  it('reads the stream from a packet ring (root here: CAP_NET_RAW), or in recvmmsg batches when the ring is off; the camera says which for the log', async function () {
    const cam = await camera({ trigger: 'software' });
    assert.equal(cam.gvsp.receivePath, 'native', `receive path ${cam.gvsp.receivePath}: ${cam.gvsp.receiveNote}`);
    assert.equal(cam.gvsp.receiveMode, 'ring', `ring: ${cam.gvsp.ringError}`);
    assert.deepEqual(cam.receivePathNote, { text: 'camera 127.0.0.1:3956: stream read from a packet ring (AF_PACKET, addon)', warn: false });
    for (let i = 0; i < 3; i++) assert.equal(checkPattern(await cam.grab()), 0);
    assert.equal(cam.stats.incomplete, 0);
    await cam.close(); // one controlling host at a time
    const batched = await camera({ trigger: 'software', packetRing: false });
    assert.equal(batched.gvsp.receiveMode, 'recvmmsg');
    assert.deepEqual(batched.receivePathNote, { text: 'camera 127.0.0.1:3956: stream received in batches (recvmmsg, addon)', warn: false });
    for (let i = 0; i < 3; i++) assert.equal(checkPattern(await batched.grab()), 0);
    assert.equal(batched.stats.incomplete, 0);
  });

  it("falls back to Node's dgram when asked (SPOTFUSION_GVSP_RECEIVE=dgram or the option), same frames", async function () {
    const cam = await camera({ trigger: 'freerun', receivePath: 'dgram', features: { AcquisitionFrameRate: 100 } });
    assert.equal(cam.gvsp.receivePath, 'dgram');
    assert.equal(cam.receivePathNote.warn, false, 'asked for: a log line, not a warning');
    for (let i = 0; i < 5; i++) assert.equal(checkPattern(await cam.grab()), 0);
    assert.equal(cam.stats.incomplete, 0);
  });

  it('grabs continuously (free run), every frame complete and pixel-exact', async function () {
    const cam = await camera({ trigger: 'freerun', features: { AcquisitionFrameRate: 100 } });
    const ids = [];
    for (let i = 0; i < 10; i++) {
      const f = await cam.grab();
      ids.push(f.blockId);
      assert.equal(checkPattern(f), 0);
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] !== ids[i - 1]);
    assert.equal(cam.stats.incomplete, 0);
    assert.equal(cam.stats.lostPackets, 0);
  });

  // nftables drops and duplicates in the sender's output hook: every receive path sees the same loss
  const paths = [
    ['native', true, 'ring'],
    ['native', false, 'recvmmsg'],
    ['dgram', false, 'dgram'],
  ];
  for (const [receivePath, packetRing, mode] of paths) for (const lossPerMille of [5, 10]) {
    it(`keeps frames flowing at ${lossPerMille / 10} % stream loss and 0.5 % duplication (nftables), receiving by ${mode}: each incomplete frame reported once, never a jam`, async function () {
      // small frames at a high rate: many blocks in flight, as with big frames on a fast link
      const cam = await camera({ trigger: 'freerun', packetSize: 1400, receivePath, packetRing, features: { Width: 128, Height: 128, AcquisitionFrameRate: 500 } });
      assert.equal(cam.gvsp.receiveMode, mode);
      await cam.grab();
      streamFaults({ lossPerMille, dupPerMille: 5 });
      const reported = new Map();
      const complete = new Set();
      let wrong = 0;
      cam.on('incomplete', (i) => reported.set(i.blockId, (reported.get(i.blockId) ?? 0) + 1));
      cam.on('frame', (f) => {
        complete.add(f.blockId);
        if (checkPattern(f) !== 0) wrong++;
      });
      // 128×128 Mono8 in 1400-byte packets is 14 packets a frame: at 1 % loss ~87 % of the frames are whole
      await events(cam, 'frame', 300, 10000);
      await events(cam, 'frame', 300, 5000); // and they keep coming (before the fix: 0 frames/s after ~1 s)
      clearStreamFaults();
      assert.ok(reported.size > 0, 'the loss made incomplete frames');
      assert.deepEqual([...reported.values()].filter((n) => n !== 1), [], 'each incomplete frame is reported once');
      assert.deepEqual([...complete].filter((id) => reported.has(id)), [], 'no block is both complete and incomplete');
      assert.equal(wrong, 0, 'every complete frame is pixel-exact');
      assert.equal(cam.canResend, false, "the fake's capability register says it cannot resend");
      assert.equal(cam.stats.resendRequests, 0, 'so no PACKETRESEND is sent');
    });
  }

  it('retries a control request whose send fails (every 4th GVCP send dropped by nftables: EPERM), the camera stays', async function () {
    const cam = await camera({ trigger: 'software', timeoutMs: 100 });
    let lost;
    cam.on('lost', (e) => (lost = e));
    netFaults('udp dport 3956 numgen inc mod 4 == 0 drop');
    for (let i = 0; i < 40; i++) assert.equal(await cam.gvcp.readReg(0x0a00), 2, `request ${i}`);
    assert.equal(checkPattern(await cam.grab()), 0);
    clearStreamFaults();
    assert.ok(cam.gvcp.stats.sendErrors >= 10, `send errors: ${cam.gvcp.stats.sendErrors}`);
    assert.equal(lost, undefined);
  });

  it('a PACKETRESEND that cannot be sent costs that frame only, never the camera (our peer camera, nftables drops it)', async function () {
    const peer = await gigeCameraPeer();
    try {
      const cam = await camera({ port: peer.port, trigger: 'hardware', packetSize: 36 + 512 });
      let lost;
      cam.on('lost', (e) => (lost = e));
      // GVCP command 0x0040 (PACKETRESEND) at byte 2 of the UDP payload
      netFaults(`udp dport ${peer.port} @th,80,16 0x0040 drop`);
      const inc = events(cam, 'incomplete', 1, 3000);
      await peer.pulse({ drop: [2] });
      await inc;
      assert.equal(lost, undefined, 'the camera was not marked lost');
      assert.ok(cam.gvcp.stats.resendSendErrors >= 1);
      const got = new Promise((resolve) => cam.once('frame', resolve));
      const id = await peer.pulse();
      assert.ok((await got).data.equals(peer.pattern(id)));
      assert.equal(lost, undefined, 'the camera was not marked lost');
      clearStreamFaults();
      await cam.close();
    } finally {
      await peer.close();
    }
  });

  it('a camera lost after failed sends is released (CCP written back) and re-opened at once, without waiting out its heartbeat', async function () {
    const conn = new SharedConnection(gigeDriver({ host: '127.0.0.1', trigger: 'software', timeoutMs: 100, retries: 1 }, 'fake'), { baseMs: 100, maxMs: 500 });
    const errors = [];
    conn.on('state', (s) => {
      if (s.lastError) errors.push(s.lastError);
    });
    try {
      conn.acquire({});
      await waitState(conn, 'connected');
      const lost = waitState(conn, 'reconnecting');
      netFaults('udp dport 3956 drop'); // every GVCP send fails (EPERM) until the loss is noticed
      await lost;
      clearStreamFaults();
      await waitState(conn, 'connected');
      assert.match(errors[0], /stopped answering.*last send failed/);
      assert.deepEqual(errors.filter((e) => /control refused/.test(e)), [], 'our old session released control');
      assert.equal(conn.failures, 1, 're-opened on the first attempt');
      assert.equal(checkPattern(await conn.client().grab()), 0);
    } finally {
      clearStreamFaults();
      await conn.destroy();
    }
  });

  it('a value the camera refuses (range, enumeration entry) is a permanent CONFIG error naming the feature and the value', async function () {
    for (const [features, why] of [
      [{ PixelFormat: 'Mono12p' }, /setting PixelFormat = "Mono12p" failed: .*"Mono12p" is not one of .*Mono8/],
      [{ ExposureTime: 1 }, /setting ExposureTime = 1 failed: .*ExposureTimeAbs: 1 is outside 10…/],
      [{ Height: 4096 }, /setting Height = 4096 failed: .*outside 1…2048/],
    ]) {
      const cam = new GigeCamera({ host: '127.0.0.1', features });
      open.push(cam);
      await assert.rejects(cam.open(), (e) => e.code === 'CONFIG' && why.test(e.message));
    }
  });

  it('grabs single 2048×2048 Mono8 frames complete and pixel-exact from the packet ring, sized from the frame', async function () {
    const cam = await camera({ trigger: 'software', features: { Width: 2048, Height: 2048 } });
    assert.equal(cam.gvsp.receiveMode, 'ring');
    for (let i = 0; i < 3; i++) {
      const f = await cam.grab(5000);
      assert.equal(f.data.length, 2048 * 2048);
      assert.equal(checkPattern(f), 0, `frame ${f.blockId}`);
    }
    assert.equal(cam.stats.incomplete, 0);
    // four frames, in whole 256 KiB blocks; rmem_max does not cap a ring, so no warning
    assert.equal(cam.gvsp.recvBufferBytes, 4 * 2048 * 2048);
    assert.equal(cam.recvBufferWarning, undefined);
  });

  it('grabs single 2048×2048 Mono8 frames complete and pixel-exact; sizes SO_RCVBUF from the frame and notes an OS cap with rmem_max', async function () {
    const cam = await camera({ trigger: 'software', packetRing: false, features: { Width: 2048, Height: 2048 } });
    // packet size auto: the fake fires no SCPS test packet, lo's MTU is 65536: jumbo 9000, and the fake sends that
    assert.equal(cam.packetSize, 9000);
    assert.match(cam.packetSizeNote, /packet size 9000 bytes from the link \(at most 9000, MTU of lo 65536\): the camera sent no test packet/);
    for (let i = 0; i < 3; i++) {
      const f = await cam.grab(5000);
      assert.equal(f.data.length, 2048 * 2048);
      assert.equal(checkPattern(f), 0, `frame ${f.blockId}`);
    }
    assert.equal(cam.stats.incomplete, 0);
    const rx = cam.gvsp;
    assert.equal(rx.recvBufferAsked, 4 * 2048 * 2048, 'four frames');
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // Linux grants min(asked, rmem_max) and reports twice that
    assert.equal(rx.recvBufferBytes, 2 * Math.min(rx.recvBufferAsked, rmemMax));
    if (rmemMax < rx.recvBufferAsked) {
      assert.match(cam.recvBufferWarning, new RegExp(`got a ${rx.recvBufferBytes}-byte receive buffer of the ${rx.recvBufferAsked} asked .*net\\.core\\.rmem_max = ${rmemMax}.*sysctl -w net\\.core\\.rmem_max=${rx.recvBufferAsked}`));
    } else {
      assert.equal(cam.recvBufferWarning, undefined);
    }
  });

  it('reads the zipped GenICam XML the fake serves with -g', async function () {
    const first = await camera();
    const text = first.xml; // the XML as the camera served it to our client
    await first.close();
    await stopFake(fake);
    const dir = mkdtempSync(join(tmpdir(), 'sf-genicam-'));
    try {
      const zip = join(dir, 'fake-camera.zip');
      writeFileSync(zip, zipSync({ 'fake-camera.xml': strToU8(text) }));
      fake = await startFake(['-g', zip]);
      const cam = await camera();
      assert.equal(cam.xmlZipped, true, 'the camera served a zip');
      assert.equal(first.xmlZipped, false);
      assert.equal(await cam.get('Width'), 512);
      assert.equal(checkPattern(await cam.grab()), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports control refused while another host holds the camera, and gets control once it is free', async function () {
    const holder = await camera();
    const other = new GigeCamera({ host: '127.0.0.1', timeoutMs: 100, retries: 1 });
    await assert.rejects(other.open(), (e) => e.code === 'CONTROL_REFUSED' && /another host holds control/.test(e.message));
    await holder.close();
    const again = await camera();
    assert.equal(checkPattern(await again.grab()), 0);
  });

  it('notices lost control (heartbeat expired) and regains it through SharedConnection', async function () {
    const conn = new SharedConnection(gigeDriver({ host: '127.0.0.1', trigger: 'software' }, 'fake'), { baseMs: 100, maxMs: 500 });
    const user = {};
    try {
      conn.acquire(user);
      await waitState(conn, 'connected');
      const cam = conn.client().camera;
      cam.pauseHeartbeat(3600); // longer than the 3000 ms heartbeat timeout
      await waitState(conn, 'reconnecting');
      assert.match(conn.lastError, /control of camera 127\.0\.0\.1:3956 lost/);
      await waitState(conn, 'connected');
      // the fake restarts its stream thread when control is granted again; on a loaded machine the first trigger
      // after that can miss the grab timeout, so a station's next trigger (one retry) must get a frame
      const f = await conn
        .client()
        .grab()
        .catch(() => conn.client().grab());
      assert.equal(checkPattern(f), 0);
    } finally {
      await conn.destroy();
    }
  });

  it('notices a killed camera and reconnects when it is back', async function () {
    const conn = new SharedConnection(gigeDriver({ host: '127.0.0.1', trigger: 'software', timeoutMs: 150, retries: 2 }, 'fake'), { baseMs: 100, maxMs: 500 });
    const user = {};
    try {
      conn.acquire(user);
      await waitState(conn, 'connected');
      await stopFake(fake);
      await waitState(conn, 'reconnecting');
      assert.match(conn.lastError, /stopped answering/);
      await assert.rejects(Promise.resolve().then(() => conn.client().grab()), /not connected/);
      fake = await startFake();
      await waitState(conn, 'connected');
      assert.equal(checkPattern(await conn.client().grab()), 0);
    } finally {
      await conn.destroy();
    }
  });

  it('reports camera not found when nothing answers discovery', async function () {
    await stopFake(fake);
    const cam = new GigeCamera({ host: '127.0.0.1', timeoutMs: 100, retries: 1 });
    await assert.rejects(cam.open(), (e) => e.code === 'CAMERA_NOT_FOUND' && /no answer to DISCOVERY from 127\.0\.0\.1:3956/.test(e.message));
  });
});
