'use strict';
const assert = require('node:assert/strict');
const http = require('node:http');
const { mkdtempSync, writeFileSync, rmSync, renameSync, openSync, writeSync, closeSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const sharp = require('sharp');
const { helper, onTab, nextMessage, until } = require('../support/red');
const configNode = require('../../dist/nodes/spotfusion-camera-config/spotfusion-camera-config.js');
const grabNode = require('../../dist/nodes/camera-grab/camera-grab.js');
const { renderFrame, withJpegArtefacts } = require('../../dist/nodes/lib/camera/simulator');
const { gigeCameraPeer } = require('../support/gige-peer');

const NODES = [configNode, grabNode];

function flow(config, grab = {}) {
  return onTab([
    { id: 'cam', type: 'spotfusion-camera-config', name: 'cam1', ...config },
    { id: 'grab', type: 'camera-grab', camera: 'cam', wires: [['out']], ...grab },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

async function grab(msg = { payload: 1 }, timeoutMs = 5000) {
  const got = nextMessage(helper.getNode('out'), () => true, timeoutMs);
  helper.getNode('grab').receive(msg);
  return got;
}

async function grabError(msg = { payload: 1 }, timeoutMs = 8000) {
  const got = nextMessage(helper.getNode('caught'), () => true, timeoutMs);
  helper.getNode('grab').receive(msg);
  return got;
}

const connected = () => until(() => helper.getNode('cam')?.connection?.state === 'connected', 5000, 'camera connected');

describe('camera-grab node', function () {
  afterEach(async function () {
    await helper.unload();
  });

  describe('simulator source', function () {
    const SIM = { source: 'simulator', simWidth: 320, simHeight: 240, seed: 'unit', cols: 3, rows: 2, diameter: 24 };

    it('adds msg.frame with ground truth and keeps every other property (msg.part travels on)', async function () {
      await helper.load(NODES, flow(SIM));
      await connected();
      const part = { serial: 'P-001', program: 7 };
      const msg = await grab({ payload: 'go', part, topic: 't' });
      assert.deepEqual(msg.part, part);
      assert.equal(msg.topic, 't');
      assert.equal(msg.payload, 'go');
      const f = msg.frame;
      assert.equal(f.width, 320);
      assert.equal(f.height, 240);
      assert.equal(f.pixelFormat, 'Mono8');
      assert.equal(f.cameraId, 'cam1');
      assert.equal(f.frameId, 1);
      assert.ok(Buffer.isBuffer(f.data) && f.data.length === 320 * 240);
      assert.ok(Math.abs(f.timestamp - Date.now()) < 5000);
      assert.equal(f.truth.length, 6);
      assert.equal(msg.image, undefined, 'no encoding unless asked');
      const expected = renderFrame({ seed: 'unit:1', width: 320, height: 240, spots: f.truth.map((t) => ({ id: t.spotId, x: t.expectedX, y: t.expectedY, expectedDiameterPx: 24 })) });
      assert.ok(expected.data.equals(f.data), 'frame n is seed "<seed>:n"');
      const second = await grab();
      assert.equal(second.frame.frameId, 2);
      assert.ok(!second.frame.data.equals(f.data));
    });

    it('electrode wear (simWear): the worn spot\'s nugget shrinks with the frame number, the others are as without wear', async function () {
      await helper.load(NODES, flow({ ...SIM, simWear: '{"S02": {"pxPerPart": 1.5, "fromPart": 1}}', simPool: 4 }));
      await connected();
      for (let n = 1; n <= 3; n++) {
        const { frame } = await grab();
        assert.equal(frame.frameId, n);
        assert.ok(frame.truth.some((t) => t.spotId === 'S02' && t.class !== 'missing'), 'the worn spot is in the recipe');
        const plain = renderFrame({ seed: `unit:${n}`, width: 320, height: 240, spots: frame.truth.map((t) => ({ id: t.spotId, x: t.expectedX, y: t.expectedY, expectedDiameterPx: 24 })) });
        for (const [i, t] of frame.truth.entries()) {
          const want = t.spotId === 'S02' && plain.truth[i].class !== 'missing' ? Math.max(1, plain.truth[i].diameterPx - 1.5 * (n - 1)) : plain.truth[i].diameterPx;
          assert.ok(Math.abs(t.diameterPx - want) < 1e-9, `frame ${n} ${t.spotId}: ${t.diameterPx} vs ${want}`);
        }
      }
    });

    it('renders the frame msg.simulator asks for, and encodes PNG when asked', async function () {
      await helper.load(NODES, flow(SIM, { encode: 'png' }));
      await connected();
      const a = await grab({ simulator: { seed: 42, classOverrides: { S01: 'missing' } } });
      const b = await grab({ simulator: { seed: 42, classOverrides: { S01: 'missing' } }, encode: 'none' });
      assert.ok(a.frame.data.equals(b.frame.data));
      assert.equal(a.frame.truth[0].class, 'missing');
      assert.ok(Buffer.isBuffer(a.image));
      const meta = await sharp(a.image).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, 320);
      assert.equal(b.image, undefined);
      const j = await grab({ encode: 'jpeg' });
      assert.equal((await sharp(j.image).metadata()).format, 'jpeg');
      const bad = await grabError({ encode: 'gif' });
      assert.match(bad.error.message, /msg\.encode must be one of none, png, jpeg/);
      const bad2 = await grabError({ simulator: 'x' });
      assert.match(bad2.error.message, /msg\.simulator must be an object/);
    });

    it('draws each part within the placement tolerance, with the optics and JPEG artefacts configured (truth in msg.frame)', async function () {
      const LINE = { ...SIM, simWidth: 480, simHeight: 400, simShift: 20, simAngle: 1.5, simBlur: 0.8, simVignette: 0.25, simExposure: 0.3, simNoise: 4, simJpeg: 85 };
      await helper.load(NODES, flow(LINE));
      await connected();
      const a = (await grab()).frame;
      const b = (await grab()).frame;
      for (const f of [a, b]) {
        assert.ok(Math.abs(f.placement.dx) <= 20 && Math.abs(f.placement.dy) <= 20 && Math.abs(f.placement.angleDeg) <= 1.5, JSON.stringify(f.placement));
        assert.ok(Array.isArray(f.fiducials));
      }
      assert.notDeepEqual(a.placement, b.placement);
      const spots = a.truth.map((t) => ({ id: t.spotId, x: t.expectedX, y: t.expectedY, expectedDiameterPx: 24 }));
      const opts = { seed: 'unit:1', width: 480, height: 400, spots, placementTolerance: { shiftPx: 20, angleDeg: 1.5 }, optics: { blurSigma: 0.8, vignette: 0.25, exposureDrift: 0.3 }, noiseSigma: 4 };
      const raw = renderFrame(opts);
      assert.deepEqual(a.placement, raw.placement);
      assert.deepEqual(a.truth, raw.truth);
      assert.ok(!a.data.equals(raw.data), 'JPEG artefacts');
      assert.ok(a.data.equals((await withJpegArtefacts(raw, 85)).data), 'frame n is seed "<seed>:n" through JPEG quality 85');
      // msg.simulator.placement puts the part exactly there
      const c = (await grab({ simulator: { seed: 7, placement: { dx: 3, dy: -2, angleDeg: 0.5 } } })).frame;
      assert.deepEqual(c.placement, { dx: 3, dy: -2, angleDeg: 0.5 });
      const bad = await grabError({ simulator: { placement: { dx: 3, dy: 'down', angleDeg: 0 } } });
      assert.match(bad.error.message, /placement\.dy must be a number/);
      await helper.unload();
      await helper.load(NODES, flow({ ...SIM, simJpeg: 101 }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /simJpeg must be a number in 0…100, got 101/);
      await helper.unload();
      await helper.load(NODES, flow({ ...SIM, simBlur: 30 }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /simBlur must be a number in 0…20, got 30/);
    });

    it('turns a bad configuration into a permanent, named error', async function () {
      await helper.load(NODES, flow({ ...SIM, classMix: '{"ok": 1, "wobbly": 2}' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /classMix: unknown class "wobbly"/);
      const e = await grabError();
      assert.match(e.error.message, /not connected: failed/);
    });

    it('names the field of an invalid recipe or number', async function () {
      await helper.load(NODES, flow({ ...SIM, recipe: '[{"id": "A", "x": 999, "y": 10}]' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /spots\[0\] \(999, 10\) is outside the 320×240 frame/);
      await helper.unload();
      await helper.load(NODES, flow({ ...SIM, simWidth: 'wide' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /simWidth must be a number in 16…16384, got "wide"/);
      await helper.unload();
      await helper.load(NODES, flow({ ...SIM, recipe: '[oops' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /simulator recipe is not valid JSON/);
    });

    it('says so when no camera config is selected', async function () {
      await helper.load(NODES, onTab([
        { id: 'grab', type: 'camera-grab', camera: '', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ]));
      const e = await grabError();
      assert.match(e.error.message, /no camera config node/);
    });
  });

  describe('HTTP(S) snapshot source (server on 127.0.0.1)', function () {
    let server;
    let port;
    let png;
    let mode = 'ok';
    before(async function () {
      png = await sharp(Buffer.alloc(40 * 30 * 3, 200), { raw: { width: 40, height: 30, channels: 3 } }).png().toBuffer();
      server = http.createServer((req, res) => {
        if (mode === 'slow') return setTimeout(() => res.end(png), 1500);
        if (req.headers.authorization !== `Basic ${Buffer.from('op:s3cret').toString('base64')}`) {
          res.writeHead(401);
          return res.end();
        }
        if (mode === 'garbage') return res.end('not an image');
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(png);
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      port = server.address().port;
    });
    after(async function () {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    afterEach(function () {
      mode = 'ok';
    });

    const cfg = (extra = {}) => ({ source: 'http', url: `http://127.0.0.1:${port}/snap.png`, timeout: 500, mono: true, ...extra });
    const creds = { cam: { username: 'op', password: 's3cret' } };

    it('fetches with the credentials and decodes to Mono8 (or RGB8)', async function () {
      await helper.load(NODES, flow(cfg()), creds);
      await connected();
      const m = await grab();
      assert.equal(m.frame.width, 40);
      assert.equal(m.frame.height, 30);
      assert.equal(m.frame.pixelFormat, 'Mono8');
      assert.equal(m.frame.data.length, 40 * 30);
      assert.equal(m.frame.data[0], 200);
      await helper.unload();
      await helper.load(NODES, flow(cfg({ mono: false })), creds);
      await connected();
      const c = await grab();
      assert.equal(c.frame.pixelFormat, 'RGB8');
      assert.equal(c.frame.data.length, 40 * 30 * 3);
    });

    it('reports 401, a timeout and an undecodable answer clearly', async function () {
      await helper.load(NODES, flow(cfg()), { cam: { username: 'op', password: 'wrong' } });
      await connected();
      assert.match((await grabError()).error.message, /HTTP 401 .*check the credentials/);
      await helper.unload();
      await helper.load(NODES, flow(cfg()), creds);
      await connected();
      mode = 'slow';
      assert.match((await grabError()).error.message, /no answer within 500 ms/);
      mode = 'garbage';
      assert.match((await grabError()).error.message, /snapshot http:\/\/127\.0\.0\.1:\d+\/snap\.png is not a readable image/);
    });

    it('refuses credentials in the URL and non-HTTP schemes', async function () {
      await helper.load(NODES, flow(cfg({ url: `http://op:pw@127.0.0.1:${port}/x` })));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /credentials, not in the URL/);
      await helper.unload();
      await helper.load(NODES, flow(cfg({ url: 'ftp://127.0.0.1/x' })));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /scheme ftp: is not http: or https:/);
    });
  });

  describe('watched folder source', function () {
    let dir;
    let png;
    before(async function () {
      png = await sharp(Buffer.alloc(16 * 8, 77), { raw: { width: 16, height: 8, channels: 1 } }).png().toBuffer();
    });
    beforeEach(function () {
      dir = mkdtempSync(join(tmpdir(), 'sf-folder-'));
    });
    afterEach(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    it('turns new files into frames, never reads a partial file, and ignores files already there', async function () {
      writeFileSync(join(dir, 'old.png'), png);
      await helper.load(NODES, flow({ source: 'folder', folder: dir, stableMs: 300, timeout: 4000, deleteAfterRead: true }));
      await connected();
      // a writer that is slow: first half now, the rest later; the grab must wait for the whole file
      const fd = openSync(join(dir, 'a.png'), 'w');
      writeSync(fd, png.subarray(0, 20));
      const got = grab({}, 6000);
      await new Promise((r) => setTimeout(r, 200));
      writeSync(fd, png.subarray(20, 40));
      await new Promise((r) => setTimeout(r, 200));
      writeSync(fd, png.subarray(40));
      closeSync(fd);
      const m = await got;
      assert.equal(m.frame.width, 16);
      assert.equal(m.frame.data[0], 77);
      assert.equal(m.frame.file, join(dir, 'a.png'));
      await until(() => !existsSync(join(dir, 'a.png')), 2000, 'file deleted after reading');
      // renamed in from a temporary name
      writeFileSync(join(dir, 'b.png.tmp'), png);
      renameSync(join(dir, 'b.png.tmp'), join(dir, 'b.png'));
      const b = await grab({}, 6000);
      assert.equal(b.frame.file, join(dir, 'b.png'));
      assert.ok(existsSync(join(dir, 'old.png')), 'files there before start are left alone');
    });

    it('times out when no file comes, reports undecodable files and a missing folder', async function () {
      await helper.load(NODES, flow({ source: 'folder', folder: dir, stableMs: 50, timeout: 300 }));
      await connected();
      assert.match((await grabError()).error.message, /no new complete image file in .* within 300 ms/);
      writeFileSync(join(dir, 'bad.jpg'), 'not a jpeg');
      // the grab timeout is 300 ms: wait until the source has taken the file as complete, then grab
      await until(() => helper.getNode('cam').connection.client().counters().waiting === 1, 5000, 'bad.jpg ready');
      assert.match((await grabError({}, 5000)).error.message, /bad\.jpg is not a readable image/);
      await helper.unload();
      await helper.load(NODES, flow({ source: 'folder', folder: join(dir, 'nope') }));
      await until(() => /watched folder .*nope.*ENOENT/.test(helper.getNode('cam').connection.lastError ?? ''), 5000, 'ENOENT reported');
    });
  });

  describe("camera's own trigger (trigger: hardware): camera-grab is a source", function () {
    let peer;
    afterEach(async function () {
      await helper.unload();
      await peer?.close();
      peer = undefined;
    });

    /** messages arriving at `out` from now on */
    function collect(id = 'out') {
      const got = [];
      helper.getNode(id).on('input', (m) => got.push(m));
      return got;
    }

    it('GigE: one message per frame the camera sends on its own line, pixel-exact, without input messages', async function () {
      peer = await gigeCameraPeer();
      await helper.load(NODES, flow({ source: 'gige', host: '127.0.0.1', gvcpPort: peer.port, packetSize: 600, trigger: 'hardware', triggerSource: '' }));
      await connected();
      assert.equal(peer.regs.get(peer.R.TriggerMode), 1);
      const out = collect();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await peer.pulse());
      await until(() => out.length === 3, 3000, '3 frames');
      for (const [i, m] of out.entries()) {
        assert.equal(m.topic, 'cam1');
        assert.equal(m.frame.cameraId, 'cam1');
        assert.equal(m.frame.frameId, ids[i]);
        assert.equal(m.frame.width, 64);
        assert.ok(m.frame.data.equals(peer.pattern(ids[i])), `frame ${ids[i]} pixel-exact`);
      }
      const grab = helper.getNode('grab');
      await until(() => grab.status.lastCall?.args[0].text === `#${ids[2]} 64×48 Mono8`, 3000, 'status of the last frame');
      assert.equal(grab.status.lastCall.args[0].fill, 'green');
      // input messages grab nothing: one warning, no message, no error
      grab.receive({ payload: 1 });
      grab.receive({ payload: 2 });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(out.length, 3);
      const warnings = grab.warn.getCalls().map((c) => String(c.args[0])).filter((t) => /ignores input messages/.test(t));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /camera cam1 triggers itself \(trigger: hardware\)/);
    });

    it('GigE: an incomplete frame is dropped, counted in the status and reported to Catch; PNG when asked', async function () {
      peer = await gigeCameraPeer();
      await helper.load(NODES, flow({ source: 'gige', host: '127.0.0.1', gvcpPort: peer.port, packetSize: 600, trigger: 'hardware' }, { encode: 'png' }));
      await connected();
      const out = collect();
      const caught = nextMessage(helper.getNode('caught'));
      const bad = await peer.pulse({ lose: [3] });
      const err = await caught;
      assert.match(err.error.message, new RegExp(`incomplete frame dropped \\(block ${bad}: .*missing; 1 so far\\)`));
      assert.equal(err.dropped.blockId, bad);
      assert.equal(err.topic, 'cam1');
      const good = await peer.pulse();
      await until(() => out.length === 1, 3000, 'next frame');
      assert.equal(out[0].frame.frameId, good);
      assert.equal((await sharp(out[0].image).metadata()).format, 'png');
      const grab = helper.getNode('grab');
      await until(() => grab.status.lastCall?.args[0].text === `#${good} 64×48 Mono8, 1 incomplete`, 3000, 'status with the count');
    });

    it('GigE: the packet size chosen is logged; a stream worker that dies turns the status red with the reason, then the camera reconnects and grabs', async function () {
      peer = await gigeCameraPeer();
      await helper.load(NODES, flow({ source: 'gige', host: '127.0.0.1', gvcpPort: peer.port, trigger: 'software' }));
      await connected();
      const cam = helper.getNode('cam');
      const logged = cam.log.getCalls().map((c) => String(c.args[0]));
      assert.ok(
        logged.some((t) => /packet size 9000 bytes from the link \(at most 9000, MTU of lo 65536\)/.test(t)),
        `packet size logged: ${logged.join(' | ')}`,
      );
      const first = await grab({ payload: 'before' });
      assert.ok(first.frame.data.equals(peer.pattern(first.frame.frameId)));
      const node = helper.getNode('grab');
      const camera = cam.connection.client().camera;
      await camera.gvsp.worker.terminate();
      await until(() => node.status.getCalls().some((c) => c.args[0].fill === 'red' && /stream worker exited/.test(c.args[0].text)), 5000, 'red status naming the worker');
      await connected();
      assert.notEqual(cam.connection.client().camera, camera, 'a new camera session');
      const m = await grab({ payload: 'after' });
      assert.equal(m.payload, 'after');
      assert.ok(m.frame.data.equals(peer.pattern(m.frame.frameId)), 'pixel-exact after the reconnect');
    });

    it('GigE: an unknown trigger source is a permanent error naming what the camera offers', async function () {
      peer = await gigeCameraPeer();
      await helper.load(NODES, flow({ source: 'gige', host: '127.0.0.1', gvcpPort: peer.port, trigger: 'hardware', triggerSource: 'Line7' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /no trigger source "Line7" .*it offers Line1, Software/);
    });

    it('simulator: a frame every period, msg.topic = camera id, and nothing after the flow stops', async function () {
      await helper.load(NODES, flow({ source: 'simulator', simWidth: 160, simHeight: 120, cols: 2, rows: 1, diameter: 16, seed: 'hw', trigger: 'hardware', simPeriod: 40 }));
      const out = collect();
      await until(() => out.length >= 3, 5000, '3 timed frames');
      assert.deepEqual(out.slice(0, 3).map((m) => m.frame.frameId), [1, 2, 3]);
      assert.equal(out[0].topic, 'cam1');
      assert.equal(out[0].frame.truth.length, 2);
      const expected = renderFrame({ seed: 'hw:1', width: 160, height: 120, spots: out[0].frame.truth.map((t) => ({ id: t.spotId, x: t.expectedX, y: t.expectedY, expectedDiameterPx: 16 })) });
      assert.ok(expected.data.equals(out[0].frame.data));
      const grab = helper.getNode('grab');
      await until(() => /^#\d+ 160×120 Mono8$/.test(grab.status.lastCall?.args[0].text ?? ''), 3000, 'frame status');
      await helper.unload();
      const n = out.length;
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(out.length, n, 'no ghost frames after close');
    });
  });

  describe('GigE source configuration', function () {
    it('rejects an address that is not IPv4 permanently', async function () {
      await helper.load(NODES, flow({ source: 'gige', host: 'camera.local' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /"camera\.local" is not an IPv4 address/);
    });

    it('rejects an unknown source and an out-of-range packet size', async function () {
      await helper.load(NODES, flow({ source: 'usb' }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /source "usb" is not one of gige, http, folder, simulator/);
      await helper.unload();
      await helper.load(NODES, flow({ source: 'gige', host: '127.0.0.1', packetSize: 99999 }));
      await until(() => helper.getNode('cam').connection.state === 'failed', 5000, 'failed');
      assert.match(helper.getNode('cam').connection.lastError, /packetSize must be auto or an integer in 576…16384, got 99999/);
    });
  });
});
