'use strict';
// The camera's own trigger (hardware trigger) against our own GigE Vision peer camera on 127.0.0.1, which sends
// frames by itself on a line pulse, as a hardware-triggered camera does; and the simulator's timed equivalent.
const assert = require('node:assert/strict');
const { GigeCamera, triggerSourceCandidates } = require('../../dist/nodes/lib/camera/gige/camera');
const { SharedConnection } = require('../../dist/nodes/lib/connection');
const { gigeDriver, simulatorDriver, SimulatorSource } = require('../../dist/nodes/lib/camera/sources');
const { cameraDriver, isSelfTriggered } = require('../../dist/nodes/lib/camera/settings');
const { gigeCameraPeer, gvcpPeer } = require('../support/gige-peer');
const { until, nextEvent } = require('../support/wait');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('hardware trigger (the camera triggers itself) against our own GigE peer camera (127.0.0.1)', function () {
  let peer;
  const cams = [];
  async function open(opts = {}, peerOpts = {}) {
    peer = peer ?? (await gigeCameraPeer(peerOpts));
    const cam = new GigeCamera({ host: '127.0.0.1', port: peer.port, packetSize: 36 + 512, ...opts });
    cams.push(cam);
    await cam.open();
    return cam;
  }
  afterEach(async function () {
    for (const c of cams.splice(0)) await c.close();
    await peer?.close();
    peer = undefined;
  });

  it('arms TriggerSelector=FrameStart, TriggerSource=Line1, TriggerMode=On and emits every frame the camera sends by itself', async function () {
    const cam = await open({ trigger: 'hardware' });
    assert.equal(cam.triggerSource, 'Line1');
    assert.equal(peer.regs.get(peer.R.TriggerSelector), 0);
    assert.equal(peer.regs.get(peer.R.TriggerSource), 0, 'Line1');
    assert.equal(peer.regs.get(peer.R.TriggerMode), 1, 'On');
    assert.ok(peer.acquiring);
    const frames = [];
    cam.on('frame', (f) => frames.push(f));
    await sleep(100);
    assert.equal(frames.length, 0, 'nothing without a trigger');
    for (let i = 0; i < 3; i++) {
      const got = nextEvent(cam, 'frame');
      const id = await peer.pulse();
      const f = await got;
      assert.equal(f.blockId, id);
      assert.equal(f.width, 64);
      assert.equal(f.height, 48);
      assert.ok(f.data.equals(peer.pattern(id)), `frame ${id} pixel-exact`);
    }
    assert.equal(frames.length, 3);
    // every buffer stays the listener's: three distinct buffers, none overwritten by a later frame
    assert.equal(new Set(frames.map((f) => f.data.buffer)).size, 3);
    assert.ok(frames[0].data.equals(peer.pattern(frames[0].blockId)));
    assert.equal(cam.stats.grabbed, 3);
  });

  it('tries the other standard spellings of a line, and names what the camera offers when none fits', async function () {
    const cam = await open({ trigger: 'hardware', triggerSource: 'Input1' }, { triggerSources: ['InputLine1', 'Software'] });
    assert.equal(cam.triggerSource, 'InputLine1');
    assert.deepEqual(triggerSourceCandidates('Line1'), ['Line1', 'LineIn1', 'Input1', 'InputLine1']);
    assert.deepEqual(triggerSourceCandidates('line2'), ['line2', 'Line2', 'LineIn2', 'Input2', 'InputLine2']);
    assert.deepEqual(triggerSourceCandidates('Action1'), ['Action1']);
    const other = new GigeCamera({ host: '127.0.0.1', port: peer.port, trigger: 'hardware', triggerSource: 'Line3' });
    await cam.close();
    await assert.rejects(other.open(), (e) => e.code === 'CONFIG' && /has no trigger source "Line3" \(tried Line3, LineIn3, Input3, InputLine3; it offers InputLine1, Software\)/.test(e.message));
  });

  it('drops and counts a frame that stays incomplete, and goes on with the next one', async function () {
    const cam = await open({ trigger: 'hardware', maxResendRounds: 1 });
    const inc = nextEvent(cam, 'incomplete');
    const id = await peer.pulse({ lose: [2] });
    const info = await inc;
    assert.equal(info.blockId, id);
    assert.equal(info.missing, 1);
    assert.equal(cam.stats.incomplete, 1);
    const got = nextEvent(cam, 'frame');
    const next = await peer.pulse();
    assert.ok((await got).data.equals(peer.pattern(next)));
  });

  it('GigeSource is self-triggered in hardware mode and emits msg-ready frames through SharedConnection', async function () {
    peer = await gigeCameraPeer();
    const conn = new SharedConnection(gigeDriver({ host: '127.0.0.1', port: peer.port, trigger: 'hardware', packetSize: 548 }, 'peer-cam'), { baseMs: 50, maxMs: 200 });
    try {
      conn.acquire({});
      await new Promise((r) => conn.on('state', (s) => s.state === 'connected' && r()));
      const src = conn.client();
      assert.equal(src.selfTriggered, true);
      const got = nextEvent(src, 'frame');
      const id = await peer.pulse();
      const f = await got;
      assert.equal(f.cameraId, 'peer-cam');
      assert.equal(f.frameId, id);
      assert.ok(f.data.equals(peer.pattern(id)));
      assert.equal(src.counters().frames, 1);
    } finally {
      await conn.destroy();
    }
  });

  it('a camera without FrameStart or trigger features is a configuration error for the triggered modes', async function () {
    peer = await gigeCameraPeer({ triggerSources: ['Software'] });
    const cam = new GigeCamera({ host: '127.0.0.1', port: peer.port, trigger: 'hardware' });
    await assert.rejects(cam.open(), /no trigger source "Line1" .*it offers Software/);
  });
});

describe('a GigE camera that does not answer (127.0.0.1)', function () {
  it('each failed open frees its control socket: reconnecting to an absent camera for hours leaks nothing', async function () {
    const silent = await gvcpPeer(() => undefined); // takes every command, answers none
    const udp = () => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    try {
      const before = udp();
      for (let i = 0; i < 5; i++) {
        const cam = new GigeCamera({ host: '127.0.0.1', port: silent.port, timeoutMs: 20, retries: 1 });
        await assert.rejects(cam.open(), (e) => e.code === 'CAMERA_NOT_FOUND' && /no answer to DISCOVERY/.test(e.message));
      }
      // a closed socket leaves the list of active resources a moment after its close callback
      await until(() => udp() === before, 2000, `no UDP socket left after 5 failed opens (${before} before, ${udp()} now)`);
      assert.ok(silent.seen.length >= 5, `the peer saw the discoveries: ${silent.seen.length}`);
    } finally {
      await silent.close();
    }
  });
});

describe('simulator with a period (hardware-trigger stand-in) and trigger settings', function () {
  it('emits frames by itself every period until closed', async function () {
    const src = new SimulatorSource({ seed: 's', width: 256, height: 128, cols: 2, rows: 1, expectedDiameterPx: 8, periodMs: 30 }, 'sim');
    assert.equal(src.selfTriggered, true);
    const frames = [];
    src.on('frame', (f) => frames.push(f));
    src.start();
    src.start(); // a second start does not double the rate
    while (frames.length < 3) await sleep(10);
    await src.close();
    const n = frames.length;
    await sleep(100);
    assert.equal(frames.length, n, 'no frame after close');
    assert.deepEqual(frames.slice(0, 3).map((f) => f.frameId), [1, 2, 3]);
    assert.equal(frames[0].truth.length, 2);
    assert.throws(() => new SimulatorSource({ seed: 's', width: 64, height: 48, periodMs: 1 }, 'sim'), /period 1 ms is not in 10…3600000/);
    const per = new SimulatorSource({ seed: 's', width: 256, height: 128, cols: 1, rows: 1 }, 'sim');
    assert.equal(per.selfTriggered, false);
  });

  it('a frame pool renders N frames once and hands them out in turn, each grab its own copy; a seeded grab is rendered', async function () {
    const opts = { seed: 'p', width: 96, height: 64, cols: 2, rows: 1, expectedDiameterPx: 8 };
    const pooled = new SimulatorSource({ ...opts, pool: 3 }, 'sim');
    const fresh = new SimulatorSource(opts, 'sim');
    const a = [];
    for (let i = 0; i < 7; i++) a.push(await pooled.grab());
    const b = [];
    for (let i = 0; i < 3; i++) b.push(await fresh.grab());
    assert.deepEqual(a.map((f) => f.frameId), [1, 2, 3, 4, 5, 6, 7]);
    for (let i = 0; i < 7; i++) {
      // frame i of the pool is the frame (i mod 3) of a simulator without one: same pixels, same truth
      assert.ok(a[i].data.equals(b[i % 3].data), `frame ${i + 1} pixels`);
      assert.deepEqual(a[i].truth, b[i % 3].truth, `frame ${i + 1} truth`);
    }
    assert.ok(!a[0].data.equals(a[1].data), 'the pool holds different frames');
    a[3].data.fill(0); // a node that writes into its frame does not change the pool
    assert.ok((await pooled.grab()).data.equals(b[1].data) && (await pooled.grab()).data.equals(b[2].data) && (await pooled.grab()).data.equals(b[0].data));
    const seeded = await pooled.grab({ seed: 'own' });
    assert.ok(seeded.data.equals((await fresh.grab({ seed: 'own' })).data));
    assert.throws(() => new SimulatorSource({ ...opts, pool: 257 }, 'sim'), /frame pool 257 is not an integer in 0…256/);
    assert.throws(() => new SimulatorSource({ ...opts, pool: 1.5 }, 'sim'), /frame pool 1.5/);
    await assert.rejects(cameraDriver({ source: 'simulator', simPool: 'lots' }, {}, 'x').open(), (e) => e.code === 'CONFIG' && /simPool/.test(e.message));
  });

  it('reads the trigger fields of a config, naming a bad one', async function () {
    assert.equal(isSelfTriggered({ source: 'gige', trigger: 'hardware' }), true);
    assert.equal(isSelfTriggered({ source: '', trigger: 'hardware' }), true, 'simulator by default');
    assert.equal(isSelfTriggered({ source: 'http', trigger: 'hardware' }), false);
    assert.equal(isSelfTriggered({ source: 'gige', trigger: 'software' }), false);
    const fails = async (def, re) => {
      const d = cameraDriver(def, {}, 'x');
      await assert.rejects(d.open(), (e) => e.code === 'CONFIG' && re.test(e.message));
    };
    await fails({ source: 'gige', host: '127.0.0.1', trigger: 'sometimes' }, /trigger "sometimes" is not one of software, freerun, hardware/);
    await fails({ source: 'gige', host: '127.0.0.1', trigger: 'hardware', triggerSource: 'Line 1; x' }, /triggerSource "Line 1; x" is not a GenICam entry name/);
    await fails({ source: 'simulator', trigger: 'hardware', simPeriod: 5 }, /simPeriod must be a number in 10…3600000/);
    const sim = await cameraDriver({ source: 'simulator', trigger: 'hardware', simWidth: 256, simHeight: 128, cols: 1, rows: 1, simPeriod: 20 }, {}, 'x').open();
    try {
      assert.equal(sim.selfTriggered, true);
      assert.equal((await nextEvent(sim, 'frame')).width, 256);
    } finally {
      await sim.close();
    }
    const d = simulatorDriver({ seed: 'a', width: 64, height: 48, periodMs: 2 }, 'x');
    await assert.rejects(d.open(), /period 2 ms/);
  });
});
