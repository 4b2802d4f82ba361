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
const { renderFrame } = require('../../dist/nodes/lib/camera/simulator');

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
      assert.match((await grabError({}, 5000)).error.message, /bad\.jpg is not a readable image/);
      await helper.unload();
      await helper.load(NODES, flow({ source: 'folder', folder: join(dir, 'nope') }));
      await until(() => /watched folder .*nope.*ENOENT/.test(helper.getNode('cam').connection.lastError ?? ''), 5000, 'ENOENT reported');
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
      assert.match(helper.getNode('cam').connection.lastError, /packetSize must be a number in 576…16384/);
    });
  });
});
