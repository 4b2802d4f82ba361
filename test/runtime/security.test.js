'use strict';
// The station probed as an attacker on loopback, in a real Node-RED process (red.js + dist/settings.js):
// Dashboard 2.0's socket.io (Engine.IO polling and WebSocket upgrade) behind the viewer login and the kiosk
// addresses. Clients are bound to 127.0.0.1 or 127.0.0.2 (both on lo) to be "another machine".
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const bcrypt = require('bcryptjs');
const { Runtime } = require('../support/runtime');
const { ROOT } = require('../../scripts/userdir.cjs');

const DASHBOARD_FLOW = path.join(ROOT, 'flows', 'dashboard.json');
const EIO = '/dashboard/socket.io/?EIO=4&transport=polling';
const VIEWER_PASSWORD = crypto.randomBytes(12).toString('hex');
const ADMIN_PASSWORD = crypto.randomBytes(12).toString('hex');
const basic = (user, pass) => ({ Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

/** A flow that posts its body into the dashboard's "station results" link (what the station's result-publish does). */
function feederFlow() {
  const z = 'sec_feeder';
  return [
    { id: z, type: 'tab', label: 'security test feeder' },
    { id: 'sec_in', type: 'http in', z, url: '/test/result', method: 'post', upload: false, wires: [['sec_split']] },
    { id: 'sec_split', type: 'function', z, func: 'return [{ payload: msg.payload }, msg];', outputs: 2, wires: [['sec_out'], ['sec_res']] },
    { id: 'sec_out', type: 'link out', z, mode: 'link', links: ['sf_dash_results_in'], wires: [] },
    { id: 'sec_res', type: 'http response', z, statusCode: '200', headers: {}, wires: [] },
  ];
}

/** A result the dashboard shows, with a serial to look for in what the socket delivers. */
function inspectionResult(serial) {
  return {
    schema: 'spotfusion.inspection-result/1',
    resultId: crypto.randomUUID(),
    part: { serial, program: 1 },
    station: { line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' },
    timestamps: { result: new Date().toISOString() },
    durations: { total: 50 },
    verdict: 'NOK',
    spots: [{ spotId: 's1', verdict: 'NOK', label: 'crack', score: 0.9, box: { x: 1, y: 1, w: 5, h: 5 } }],
    summary: { total: 1, ok: 0, nok: 1, missing: 0 },
    faults: [],
  };
}

async function startStation(env) {
  const rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, ...env });
  const feeder = path.join(rt.userDir, 'feeder.json');
  fs.writeFileSync(feeder, JSON.stringify(feederFlow()));
  await rt.start({ flowSource: [DASHBOARD_FLOW, feeder] });
  const end = Date.now() + 20000;
  while (!/\[info\] Started flows/.test(rt.stdout)) {
    if (Date.now() > end) throw new Error(`the flows did not start:\n${rt.stdout.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return rt;
}

/**
 * An Engine.IO v4 polling client: handshake, socket.io CONNECT ("40"), then long polls until `until` matches
 * what arrived (or the handshake is refused: then its answer).
 */
async function pollingSession(rt, { headers = {}, localAddress, until, afterConnect }) {
  const opts = { headers, localAddress };
  const hs = await rt.request('GET', EIO, opts);
  if (hs.status !== 200) return { handshake: hs };
  const sid = JSON.parse(hs.text.slice(1)).sid;
  const post = await rt.request('POST', `${EIO}&sid=${sid}`, { ...opts, body: '40', headers: { ...headers, 'Content-Type': 'text/plain;charset=UTF-8' } });
  assert.equal(post.status, 200, post.text);
  let received = '';
  let connected = false;
  for (let i = 0; i < 20 && !until.test(received); i++) {
    const r = await rt.request('GET', `${EIO}&sid=${sid}`, opts);
    assert.equal(r.status, 200, r.text);
    received += r.text;
    // packets of one poll are separated by the record separator (0x1e)
    if (!connected && received.split(String.fromCharCode(0x1e)).some((p) => p.startsWith('40{'))) {
      connected = true;
      if (afterConnect) await afterConnect();
    }
  }
  return { handshake: hs, received };
}

/** A raw WebSocket upgrade of the dashboard's socket.io: its status and, on 101, the first bytes the server sends. */
function websocketUpgrade(port, { headers = {}, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/dashboard/socket.io/?EIO=4&transport=websocket',
      localAddress,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), ...headers },
      timeout: 10000,
    });
    req.on('upgrade', (res, socket, head) => {
      socket.on('error', reject);
      const done = (buf) => {
        socket.destroy();
        resolve({ status: res.statusCode, first: buf.toString('latin1') });
      };
      if (head.length) done(head);
      else socket.once('data', done);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('upgrade timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('security of a station on the plant network (real Node-RED, dist/settings.js)', function () {
  this.timeout(60000);

  describe('dashboard socket.io with the viewer password set', function () {
    let rt;
    before(async function () {
      rt = await startStation({ SPOTFUSION_HTTP_PASSWORD_HASH: bcrypt.hashSync(VIEWER_PASSWORD, 8) });
    });
    after(async function () {
      if (rt) await rt.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('gives a raw Engine.IO client without a login, or with a wrong one, nothing: 401 on the handshake, on "40" and on a WebSocket upgrade', async function () {
      for (const headers of [{}, basic('viewer', 'wrong'), basic('admin', VIEWER_PASSWORD)]) {
        const s = await pollingSession(rt, { headers, until: /ui-config/ });
        assert.equal(s.handshake.status, 401, `handshake answered ${s.handshake.status}: ${s.handshake.text.slice(0, 200)}`);
        assert.doesNotMatch(s.handshake.text, /sid|ui-config/);
        assert.match(s.handshake.headers['www-authenticate'], /^Basic /);
        const connect = await rt.request('POST', `${EIO}&sid=guessed`, { body: '40', headers: { ...headers, 'Content-Type': 'text/plain;charset=UTF-8' } });
        assert.equal(connect.status, 401);
        const ws = await websocketUpgrade(rt.port, { headers });
        assert.equal(ws.status, 401, `upgrade answered ${ws.status}`);
      }
      // the pages and the HTTP routes ask for the same login
      assert.equal((await rt.request('GET', '/dashboard/station')).status, 401);
      assert.equal((await rt.request('POST', '/test/result', { body: inspectionResult('WB-NOBODY') })).status, 401);
    });

    it('still gives a logged-in viewer the dashboard and its live data (polling and WebSocket)', async function () {
      const headers = basic('viewer', VIEWER_PASSWORD);
      assert.equal((await rt.request('GET', '/dashboard/station', { headers })).status, 200);
      const serial = `WB-LIVE-${crypto.randomBytes(3).toString('hex')}`;
      const s = await pollingSession(rt, {
        headers,
        until: new RegExp(serial),
        afterConnect: async () => assert.equal((await rt.request('POST', '/test/result', { headers, body: inspectionResult(serial) })).status, 200),
      });
      assert.equal(s.handshake.status, 200);
      assert.match(s.received, /42\["ui-config"/);
      assert.match(s.received, new RegExp(`42\\["msg-input:[^"]+".*${serial}`));
      const ws = await websocketUpgrade(rt.port, { headers });
      assert.equal(ws.status, 101);
      assert.match(ws.first, /0\{"sid":/);
    });
  });

  describe('dashboard in kiosk mode (SPOTFUSION_HTTP_PUBLIC=true, SPOTFUSION_KIOSK_ADDRESSES=127.0.0.2, no viewer password)', function () {
    let rt;
    before(async function () {
      rt = await startStation({ SPOTFUSION_HTTP_PUBLIC: 'true', SPOTFUSION_KIOSK_ADDRESSES: '127.0.0.2' });
    });
    after(async function () {
      if (rt) await rt.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('refuses every other address: 403 on the socket.io handshake, the WebSocket upgrade, the pages and the archive', async function () {
      const s = await pollingSession(rt, { localAddress: '127.0.0.1', until: /ui-config/ });
      assert.equal(s.handshake.status, 403);
      assert.doesNotMatch(s.handshake.text, /sid|ui-config/);
      assert.equal((await websocketUpgrade(rt.port, { localAddress: '127.0.0.1' })).status, 403);
      for (const p of ['/dashboard/station', '/spotfusion/archive/sf_st_publish/2026-01-01/x/frame.png']) {
        assert.equal((await rt.request('GET', p, { localAddress: '127.0.0.3' })).status, 403, p);
      }
    });

    it('serves the kiosk without a login: the page and the live data', async function () {
      const localAddress = '127.0.0.2';
      assert.equal((await rt.request('GET', '/dashboard/station', { localAddress })).status, 200);
      const serial = `WB-KIOSK-${crypto.randomBytes(3).toString('hex')}`;
      const s = await pollingSession(rt, {
        localAddress,
        until: new RegExp(serial),
        afterConnect: async () => assert.equal((await rt.request('POST', '/test/result', { localAddress, body: inspectionResult(serial) })).status, 200),
      });
      assert.equal(s.handshake.status, 200);
      assert.match(s.received, new RegExp(`42\\["msg-input:[^"]+".*${serial}`));
      assert.equal((await websocketUpgrade(rt.port, { localAddress })).status, 101);
    });
  });

  describe('admin login throttling (by client address, not by user name)', function () {
    let rt;
    const login = (localAddress, password, username = 'admin') =>
      rt.request('POST', '/auth/token', { localAddress, body: { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username, password } });
    before(async function () {
      rt = await Runtime.create({
        SPOTFUSION_DEV_MODE: undefined,
        SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(ADMIN_PASSWORD, 8),
        SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
      });
      await rt.start();
    });
    after(async function () {
      if (rt) await rt.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('lets the owner in from another address after 8 wrong passwords for admin; the attacking address waits, longer after each failure', async function () {
      const wrong = [];
      for (let i = 0; i < 8; i++) {
        const password = `guess-${i}-${crypto.randomBytes(4).toString('hex')}`;
        wrong.push(password);
        const r = await login('127.0.0.2', password);
        assert.ok([403, 429].includes(r.status), `attempt ${i}: ${r.status} ${r.text}`);
        assert.equal(r.json.access_token, undefined);
      }
      // the right password from the attacking address waits (429 + Retry-After) ...
      const held = await login('127.0.0.2', ADMIN_PASSWORD);
      assert.equal(held.status, 429, held.text);
      assert.ok(Number(held.headers['retry-after']) >= 1, `Retry-After: ${held.headers['retry-after']}`);
      // ... while the owner at another address gets a token (Node-RED's per-user limit would answer 500 here)
      const owner = await login('127.0.0.1', ADMIN_PASSWORD);
      assert.equal(owner.status, 200, owner.text);
      assert.ok(owner.json.access_token);
      // wait the backoff out: the first wrong password after it makes the address wait longer than before
      await new Promise((r) => setTimeout(r, Number(held.headers['retry-after']) * 1000 + 100));
      const again = await login('127.0.0.2', 'still-wrong');
      assert.equal(again.status, 403);
      assert.ok(Number(again.headers['retry-after']) > Number(held.headers['retry-after']), `backoff grows: ${held.headers['retry-after']} → ${again.headers['retry-after']}`);

      // every refusal is logged with the address and user, never with the password, and counted
      const lines = rt.stdout.split('\n').filter((l) => /login (failed|refused)/.test(l));
      assert.ok(lines.filter((l) => /login failed .*user "admin" from 127\.0\.0\.2/.test(l)).length >= 6, lines.join('\n'));
      assert.ok(lines.some((l) => /login refused \(address throttled\).*from 127\.0\.0\.2/.test(l)), lines.join('\n'));
      for (const p of [...wrong, ADMIN_PASSWORD, 'still-wrong']) assert.ok(!(rt.stdout + rt.stderr).includes(p), 'a password in the log');
      const m = await rt.request('GET', '/spotfusion/metrics', { token: owner.json.access_token });
      const count = (reason) => Number(new RegExp(`spotfusion_login_failures_total\\{reason="${reason}"\\} (\\d+)`).exec(m.text)?.[1] ?? 0);
      assert.ok(count('password') >= 6, m.text.match(/spotfusion_login_failures_total.*/g)?.join('\n'));
      assert.ok(count('throttled') >= 1);
      // a wrong user name is refused the same way; the right password from the owner's address still works
      assert.equal((await login('127.0.0.3', ADMIN_PASSWORD, 'root')).status, 403);
      assert.equal((await login('127.0.0.1', ADMIN_PASSWORD)).status, 200);
    });
  });
});
