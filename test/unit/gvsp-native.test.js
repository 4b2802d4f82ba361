'use strict';
// The GigE stream addon (native/gvsp_rx.c, built by the package's install script): batches of datagrams from one
// recvmmsg(2), lengths and bytes exact, an over-long datagram flagged, sockets closed by close() and by a worker
// that ends without it, errors named. Traffic: 127.0.0.1 only.
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { gvspAddon, chooseReceivePath, createStreamSocket, BATCH } = require('../../dist/nodes/lib/camera/gige/stream-socket');

const ROOT = path.join(__dirname, '..', '..');
const fdCount = () => fs.readdirSync('/proc/self/fd').length;
// CAP_NET_RAW (bit 13) in this process's effective set: root in CI; then the packet ring is used where asked
const canRaw = (BigInt('0x' + /CapEff:\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) >> 13n) & 1n;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms`);
    await sleep(5);
  }
}

function sender() {
  const s = dgram.createSocket('udp4');
  s.on('error', (e) => assert.fail(e));
  return s;
}

describe('GigE stream addon: batched receive (recvmmsg), 127.0.0.1', function () {
  let addon;
  before(function () {
    const a = gvspAddon();
    // the install script builds it (CI installs with a compiler): its absence is a failure here, not a skip
    assert.ok(a.mod, `the addon is not available: ${a.error}`);
    addon = a.mod;
  });

  for (const ring of [false, true]) {
  it(`delivers every datagram with its exact length and bytes, many per call, in order (${ring ? 'packet ring' : 'recvmmsg'})`, async function () {
    if (ring && !canRaw) this.skip(); // (CI runs as root: not skipped there)
    const SLOT = 1472;
    const buf = new Uint8Array(BATCH * SLOT);
    const lens = new Int32Array(BATCH);
    const got = [];
    let calls = 0;
    const r = addon.open('127.0.0.1', 4 << 20, buf, SLOT, lens, (n) => {
      calls++;
      for (let i = 0; i < n; i++) got.push(Buffer.from(buf.subarray(i * SLOT, i * SLOT + lens[i])));
    }, 1, ring ? 4 << 20 : 0);
    const s = sender();
    // traffic to another port of 127.0.0.1 must not reach a ring (its filter is this socket's address and port)
    const other = dgram.createSocket('udp4');
    other.on('error', (e) => assert.fail(e));
    await new Promise((resolve) => other.bind(0, '127.0.0.1', resolve));
    try {
      assert.equal(r.mode, ring ? 'ring' : 'recvmmsg', r.ringError);
      assert.ok(r.port > 0 && r.recvBufferBytes > 0);
      if (ring) assert.equal(r.recvBufferBytes, 8 << 20, "the ring: at least 32 blocks of 256 KiB");
      for (let i = 0; i < 50; i++) s.send(Buffer.alloc(30, 0xee), other.address().port, '127.0.0.1');
      const N = 2000;
      const sent = [];
      // sent in bursts without waiting, so the socket queues many between two turns of the event loop
      for (let i = 0; i < N; i++) {
        const d = Buffer.alloc(8 + (i % 1400), i & 0xff);
        d.writeUInt32BE(i, 0);
        sent.push(d);
        s.send(d, r.port, '127.0.0.1');
      }
      await until(() => got.length === N, 5000);
      for (let i = 0; i < N; i++) assert.ok(got[i].equals(sent[i]), `datagram ${i}`);
      assert.ok(calls < N / 4, `${N} datagrams took ${calls} calls: not batched`);
      await sleep(20);
      assert.equal(got.length, N, 'nothing else arrived (the other port\'s datagrams stay out)');
    } finally {
      addon.close(r.handle);
      s.close();
      other.close();
    }
  });
  }

  it('without CAP_NET_RAW (a child process with it dropped) the ring falls back to recvmmsg and says why', function () {
    const { spawnSync } = require('node:child_process');
    if (spawnSync('setpriv', ['--version']).status !== 0) this.skip();
    const code = `
      const a = require(${JSON.stringify(path.join(ROOT, 'build', 'Release', 'spotfusion_gvsp.node'))});
      const r = a.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => {}, 2, 1 << 20);
      console.log(JSON.stringify({ mode: r.mode, ringError: r.ringError }));
      a.close(r.handle);
    `;
    const r = spawnSync('setpriv', ['--bounding-set', '-net_raw', '--inh-caps', '-net_raw', '--', process.execPath, '-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { mode: 'recvmmsg', ringError: 'a packet socket needs CAP_NET_RAW: Operation not permitted' });
  });

  it('coalesces: after emptying the socket it waits coalesceMs, so a trickle of packets comes in batches, not one per wake', async function () {
    // a worker trickles 1,500 datagrams, one every ~0.1 ms (the rate of a 1 Gbit/s camera's packets is ~10× that)
    const sendCode = `
      const { workerData, parentPort } = require('node:worker_threads');
      const dgram = require('node:dgram');
      const s = dgram.createSocket('udp4');
      const gap = new Int32Array(new SharedArrayBuffer(4));
      (async () => {
        for (let i = 0; i < 1500; i++) {
          await new Promise((r) => s.send(Buffer.alloc(100, i & 0xff), workerData.port, '127.0.0.1', r));
          Atomics.wait(gap, 0, 0, 0.1);
        }
        s.close();
        parentPort.postMessage('done');
      })();
    `;
    const perCall = {};
    for (const coalesceMs of [0, 2]) {
      const SLOT = 200;
      const buf = new Uint8Array(BATCH * SLOT);
      const lens = new Int32Array(BATCH);
      let got = 0;
      let calls = 0;
      const r = addon.open('127.0.0.1', 1 << 20, buf, SLOT, lens, (n) => ((got += n), calls++), coalesceMs);
      try {
        const w = new Worker(sendCode, { eval: true, workerData: { port: r.port } });
        await new Promise((resolve, reject) => (w.once('message', resolve), w.once('error', reject)));
        await until(() => got === 1500, 5000);
        perCall[coalesceMs] = got / calls;
      } finally {
        addon.close(r.handle);
      }
    }
    assert.ok(perCall[2] >= 4 * perCall[0] && perCall[2] >= 4, `datagrams per call: ${JSON.stringify(perCall)}`);
    assert.throws(() => addon.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => undefined, 101), { code: 'ERR_GVSP_ARGS' });
  });

  it('flags a datagram longer than its slot with length -1 (the assembler counts it bad) and goes on', async function () {
    const SLOT = 100;
    const buf = new Uint8Array(4 * SLOT);
    const lens = new Int32Array(4);
    const got = [];
    const r = addon.open('127.0.0.1', 0, buf, SLOT, lens, (n) => {
      for (let i = 0; i < n; i++) got.push(lens[i]);
    });
    const s = sender();
    try {
      s.send(Buffer.alloc(60), r.port, '127.0.0.1');
      s.send(Buffer.alloc(101), r.port, '127.0.0.1');
      s.send(Buffer.alloc(100), r.port, '127.0.0.1');
      await until(() => got.length === 3);
      assert.deepEqual(got, [60, -1, 100]);
    } finally {
      addon.close(r.handle);
      s.close();
    }
  });

  it('close() frees the socket and the ring (fd count back, port free to bind again); a second close() is harmless', async function () {
    const before = fdCount();
    const ports = [];
    for (let i = 0; i < 50; i++) {
      const r = addon.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => undefined, 2, i % 2 ? 1 << 20 : 0);
      ports.push(r.port);
      addon.close(r.handle);
      addon.close(r.handle);
    }
    await new Promise((r) => setImmediate(r));
    await until(() => fdCount() <= before);
    // the last port can be bound again at once: nothing holds it
    const again = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      again.once('error', reject);
      again.bind({ port: ports[ports.length - 1], address: '127.0.0.1', exclusive: true }, resolve);
    });
    again.close();
  });

  it('a worker that ends without close() (terminated) releases its socket, without crashing the process', async function () {
    const before = fdCount();
    const code = `
      const { parentPort } = require('node:worker_threads');
      const a = require(${JSON.stringify(path.join(ROOT, 'build', 'Release', 'spotfusion_gvsp.node'))});
      const ports = [];
      for (let i = 0; i < 5; i++) ports.push(a.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => {}, 2, i % 2 ? 1 << 20 : 0).port);
      parentPort.postMessage(ports);
      setInterval(() => {}, 1000);
    `;
    for (let round = 0; round < 5; round++) {
      const w = new Worker(code, { eval: true });
      const ports = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      assert.equal(ports.length, 5);
      await w.terminate();
    }
    await until(() => fdCount() <= before);
  });

  it('an exception in the batch callback is the thread\'s uncaught exception (a stream worker: its "error" event)', async function () {
    const code = `
      const { parentPort } = require('node:worker_threads');
      const a = require(${JSON.stringify(path.join(ROOT, 'build', 'Release', 'spotfusion_gvsp.node'))});
      const r = a.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => { throw new Error('assembler bug'); });
      parentPort.postMessage(r.port);
      setInterval(() => {}, 1000);
    `;
    const w = new Worker(code, { eval: true });
    try {
      const port = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      const failed = new Promise((resolve) => w.once('error', resolve));
      const s = sender();
      s.send(Buffer.alloc(10), port, '127.0.0.1');
      const err = await failed;
      s.close();
      assert.match(err.message, /assembler bug/);
    } finally {
      await w.terminate();
    }
  });

  it('refuses bad arguments and names socket errors', function () {
    assert.throws(() => addon.open('127.0.0.1', 0, new Uint8Array(10), 1500, new Int32Array(1), () => undefined), { code: 'ERR_GVSP_ARGS' });
    assert.throws(() => addon.open('127.0.0.1', 0, new Uint8Array(1500), 1500, new Float64Array(1), () => undefined), { code: 'ERR_GVSP_ARGS' });
    assert.throws(() => addon.open('not-an-ip', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => undefined), { code: 'ERR_GVSP_ARGS' });
    assert.throws(() => addon.close({}), { code: 'ERR_GVSP_ARGS' });
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails (nothing is sent)
    assert.throws(() => addon.open('192.0.2.1', 0, new Uint8Array(1500), 1500, new Int32Array(1), () => undefined), (e) => e.code === 'ERR_GVSP_SOCKET' && /bind: Cannot assign requested address/.test(e.message));
  });

  it('the stream socket on either path hands the assembler the same packets (offset and length into the batch)', async function () {
    for (const which of ['native', 'dgram']) {
      const seen = [];
      const sock = createStreamSocket(which, 1500, 1 << 20, (b, o, n) => seen.push(Buffer.from(b.subarray(o, o + n))), (e) => assert.fail(e));
      const { port } = await sock.bind('127.0.0.1');
      const s = sender();
      for (let i = 0; i < 100; i++) s.send(Buffer.alloc(20 + i, i), port, '127.0.0.1');
      await until(() => seen.length === 100);
      for (let i = 0; i < 100; i++) assert.ok(seen[i].equals(Buffer.alloc(20 + i, i)), `${which} datagram ${i}`);
      s.close();
      await sock.close();
      assert.equal(sock.path, which);
    }
  });
});

describe('GigE stream receive path choice', function () {
  it("'auto' takes the addon where it is built; an unknown path is a CONFIG error", function () {
    assert.equal(chooseReceivePath('auto').path, 'native');
    assert.equal(chooseReceivePath('dgram').path, 'dgram');
    assert.throws(() => chooseReceivePath('fast'), { code: 'CONFIG' });
  });

  it("without the addon (a copy of the code outside the package): 'auto' falls back to dgram with the reason, 'native' is a CONFIG error", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-noaddon-'));
    try {
      fs.cpSync(path.join(ROOT, 'dist', 'nodes', 'lib'), path.join(dir, 'lib'), { recursive: true });
      // the copy finds this package.json as its root, and no build/Release under it
      fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"copy"}');
      const copy = require(path.join(dir, 'lib', 'camera', 'gige', 'stream-socket.js'));
      const auto = copy.chooseReceivePath('auto');
      assert.equal(auto.path, 'dgram');
      assert.match(auto.note, /GigE stream on Node's dgram \(more CPU per frame\): .*spotfusion_gvsp\.node is not built \(npm rebuild builds it/);
      assert.throws(() => copy.chooseReceivePath('native'), (e) => e.code === 'CONFIG' && /addon is not available/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the install script builds the addon, and when told not to (or unable to) it warns and exits 0', function () {
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-native.cjs')], { env: { ...process.env, SPOTFUSION_SKIP_NATIVE: '1' }, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /the GigE stream addon was not built \(SPOTFUSION_SKIP_NATIVE=1\)\. GigE cameras will receive through Node's dgram/);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.scripts.install, 'node scripts/build-native.cjs');
    for (const f of ['binding.gyp', 'native/', 'scripts/build-native.cjs']) assert.ok(pkg.files.includes(f), `${f} is packed`);
  });
});
