'use strict';
// The editor's admin endpoints (nodes/shared/editor-admin.ts) against the real servers on loopback and the
// PLC simulators: Test connection for every config type, Browse tags for Logix and OPC UA, the ${VAR} values;
// and, in a Node-RED process with adminAuth, that nobody without the permission gets in.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const { mkdtempSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const { helper, onTab } = require('../support/red');
const { requireService } = require('../support/services');
const { freePort } = require('../support/redis-server');
const { Runtime } = require('../support/runtime');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { OpcuaSimulator } = require('../../dist/nodes/lib/plc/opcua-sim');

const NODES = [
  require('../../dist/nodes/plc-config/plc-config.js'),
  require('../../dist/nodes/spotfusion-redis-config/spotfusion-redis-config.js'),
  require('../../dist/nodes/spotfusion-amqp-config/spotfusion-amqp-config.js'),
  require('../../dist/nodes/spotfusion-mqtt-config/spotfusion-mqtt-config.js'),
  require('../../dist/nodes/spotfusion-postgres-config/spotfusion-postgres-config.js'),
  require('../../dist/nodes/spotfusion-camera-config/spotfusion-camera-config.js'),
];

/** A tiny HTTP camera: one PNG per GET /snap (1x1 grey), 401 without the right Basic credentials when asked. */
function httpCamera(user, pass) {
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');
  const server = http.createServer((req, res) => {
    const want = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    if (req.headers.authorization !== want) {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('editor admin endpoints: Test connection, Browse tags, ${VAR} values', function () {
  this.timeout(60000);
  let logix;
  let opcua;
  let camera;
  let pki;

  before(async function () {
    for (const s of ['redis', 'rabbitmq', 'postgres', 'mosquitto']) await requireService(this, s);
    logix = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, udp: false }).start();
    pki = mkdtempSync(join(tmpdir(), 'sf-editor-pki-'));
    opcua = await new OpcuaSimulator({ tags: STATION_TAGS, users: { operator: 'op-secret' }, pkiFolder: join(pki, 'server') }).start();
    camera = await httpCamera('cam', 'cam-secret');
    // the OPC UA client's PKI folder lies in the user dir
    helper.settings({ userDir: pki });
    await helper.startServer();
  });
  after(async function () {
    await helper.stopServer();
    helper.settings({});
    if (logix) await logix.stop();
    if (opcua) await opcua.stop();
    if (camera) await new Promise((r) => camera.close(r));
    if (pki) rmSync(pki, { recursive: true, force: true });
  });
  afterEach(async function () {
    await helper.unload();
  });

  const test = (type, config, credentials, id) =>
    helper
      .request()
      .post(`/spotfusion/editor/test/${type}`)
      .send({ config, credentials, ...(id ? { id } : {}) })
      .expect(200)
      .then((r) => r.body);

  it('Test connection answers ok from each live server and the reason from a wrong port or password', async function () {
    await helper.load(NODES, onTab([]));
    const closed = await freePort();
    const cases = [
      ['spotfusion-redis-config', { host: '127.0.0.1', port: 6379 }, {}, /redis 127\.0\.0\.1:6379/],
      ['spotfusion-amqp-config', { host: '127.0.0.1', port: 5672 }, { username: 'guest', password: 'guest' }, /amqp/],
      ['spotfusion-mqtt-config', { host: '127.0.0.1', port: 1883 }, {}, /mqtt/],
      ['spotfusion-postgres-config', { host: '127.0.0.1', port: 5432, database: 'test' }, { user: 'postgres' }, /postgres 127\.0\.0\.1:5432\/test/],
      ['plc-config', { protocol: 'ethernet-ip', host: '127.0.0.1', port: logix.port, route: '1,0' }, {}, new RegExp(`ethernet-ip 127\\.0\\.0\\.1:${logix.port}`)],
      ['plc-config', { protocol: 'opcua', endpoint: opcua.endpointUrl, certFolder: 'pki-test', acceptUnknownCertificate: true }, { username: 'operator', password: 'op-secret' }, /opcua/],
      ['spotfusion-camera-config', { source: 'http', url: `http://127.0.0.1:${camera.address().port}/snap`, timeout: 3000 }, { username: 'cam', password: 'cam-secret' }, /HTTP snapshot/],
      ['spotfusion-camera-config', { source: 'simulator', simWidth: 320, simHeight: 240 }, {}, /simulat/i],
    ];
    for (const [type, config, creds, target] of cases) {
      const ok = await test(type, config, creds);
      assert.equal(ok.ok, true, `${type} ${JSON.stringify(config)}: ${JSON.stringify(ok)}`);
      assert.match(ok.target, target);
      assert.ok(ok.ms < 5000, `${type} took ${ok.ms} ms`);
    }
    const camOk = await test(...cases[6].slice(0, 3));
    assert.match(camOk.detail, /http: one frame 1×1/);

    // nothing listens on the port: refused, said so, well within the time bound
    for (const [type, config, creds] of cases.slice(0, 5)) {
      const bad = await test(type, { ...config, port: closed }, creds);
      assert.equal(bad.ok, false, type);
      assert.equal(bad.code, 'ECONNREFUSED', `${type}: ${JSON.stringify(bad)}`);
      assert.match(bad.error, /ECONNREFUSED|refused/i);
    }
    const uaBad = await test('plc-config', { ...cases[5][1], endpoint: `opc.tcp://127.0.0.1:${closed}` }, {});
    assert.equal(uaBad.ok, false);
    assert.match(uaBad.error, /ECONNREFUSED|connect/i);
    const camBad = await test('spotfusion-camera-config', { ...cases[6][1], url: `http://127.0.0.1:${closed}/snap` }, cases[6][2]);
    assert.equal(camBad.ok, false);
    assert.match(camBad.error, /ECONNREFUSED/);

    // wrong password: RabbitMQ, the OPC UA server and the camera refuse it, and the answer says it is the login
    const amqpAuth = await test('spotfusion-amqp-config', cases[1][1], { username: 'guest', password: 'wrong' });
    assert.deepEqual([amqpAuth.ok, amqpAuth.code], [false, 'AUTH'], JSON.stringify(amqpAuth));
    const uaAuth = await test('plc-config', cases[5][1], { username: 'operator', password: 'wrong' });
    assert.deepEqual([uaAuth.ok, uaAuth.code], [false, 'AUTH'], JSON.stringify(uaAuth));
    const camAuth = await test('spotfusion-camera-config', cases[6][1], { username: 'cam', password: 'wrong' });
    assert.equal(camAuth.ok, false);
    assert.match(camAuth.error, /401/);
    // a database that does not exist: the server's own words
    const pgDb = await test('spotfusion-postgres-config', { ...cases[3][1], database: 'no_such_db_sf' }, { user: 'postgres' });
    assert.equal(pgDb.ok, false);
    assert.match(pgDb.error, /no_such_db_sf.*does not exist/);
    // a configuration that cannot work is refused before anything is contacted
    const cfg = await test('plc-config', { protocol: 'ethernet-ip', host: '10.0.0.300' }, {});
    assert.deepEqual([cfg.ok, cfg.code], [false, 'CONFIG']);
    assert.match(cfg.error, /10\.0\.0\.300/);
  });

  it('Test connection and Browse tags contact only the one device configured: broadcast, multicast and unspecified addresses are refused before anything is sent', async function () {
    await helper.load(NODES, onTab([]));
    // the directed broadcast of the loopback network (127.0.0.1/8), as this machine's interfaces give it
    for (const [type, config, re] of [
      ['plc-config', { protocol: 'ethernet-ip', host: '255.255.255.255', port: 44818 }, /host "255\.255\.255\.255" is a broadcast address/],
      ['plc-config', { protocol: 'ethernet-ip', host: '127.255.255.255', port: 44818 }, /host "127\.255\.255\.255" is a broadcast address/],
      ['plc-config', { protocol: 'opcua', endpoint: 'opc.tcp://224.0.0.1:4840' }, /endpoint "224\.0\.0\.1" is a multicast address/],
      ['spotfusion-camera-config', { source: 'gige', host: '255.255.255.255' }, /broadcast address/],
      ['spotfusion-camera-config', { source: 'http', url: 'http://[ff02::1]:80/snap' }, /url "ff02::1" is a multicast address/],
      ['spotfusion-redis-config', { host: '0.0.0.0', port: 6379 }, /unspecified address/],
    ]) {
      const r = await test(type, config, {});
      assert.deepEqual([r.ok, r.code], [false, 'CONFIG'], JSON.stringify(r));
      assert.match(r.error, re);
    }
    const browse = await helper.request().post('/spotfusion/editor/browse/plc-config').send({ config: { protocol: 'ethernet-ip', host: '255.255.255.255' } }).expect(200);
    assert.deepEqual([browse.body.ok, browse.body.code], [false, 'CONFIG']);
    // one device's address is contacted as configured
    const one = await test('spotfusion-redis-config', { host: '127.0.0.1', port: 6379 }, {});
    assert.equal(one.ok, true, JSON.stringify(one));
  });

  it('Test connection is bounded in time: a server that accepts and never answers is a TIMEOUT after the bound', async function () {
    await helper.load(NODES, onTab([]));
    const silent = require('node:net').createServer((s) => s.on('error', () => undefined));
    await new Promise((r) => silent.listen(0, '127.0.0.1', r));
    const sockets = new Set();
    silent.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    try {
      const started = Date.now();
      const r = await helper
        .request()
        .post('/spotfusion/editor/test/spotfusion-amqp-config')
        .send({ config: { host: '127.0.0.1', port: silent.address().port, connectTimeout: 60000 }, credentials: { username: 'guest', password: 'guest' }, timeoutMs: 1500 })
        .expect(200);
      const took = Date.now() - started;
      assert.deepEqual([r.body.ok, r.body.code], [false, 'TIMEOUT'], JSON.stringify(r.body));
      assert.ok(took >= 1400 && took < 4000, `answered after ${took} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a password the dialog did not change (__PWRD__) is the deployed node\'s; a new one replaces it', async function () {
    await helper.load(NODES, onTab([{ id: 'amqp1', type: 'spotfusion-amqp-config', host: '127.0.0.1', port: 5672 }]), {
      amqp1: { username: 'guest', password: 'guest' },
    });
    const stored = await test('spotfusion-amqp-config', { host: '127.0.0.1', port: 5672 }, { username: 'guest', password: '__PWRD__' }, 'amqp1');
    assert.equal(stored.ok, true, JSON.stringify(stored));
    const changed = await test('spotfusion-amqp-config', { host: '127.0.0.1', port: 5672 }, { username: 'guest', password: 'not-guest' }, 'amqp1');
    assert.deepEqual([changed.ok, changed.code], [false, 'AUTH']);
  });

  it('Browse tags lists the Logix controller tags, program tags and UDT members with their types', async function () {
    await helper.load(NODES, onTab([]));
    const r = await helper
      .request()
      .post('/spotfusion/editor/browse/plc-config')
      .send({ config: { protocol: 'ethernet-ip', host: '127.0.0.1', port: logix.port, route: '1,0' } })
      .expect(200);
    assert.equal(r.body.ok, true, JSON.stringify(r.body).slice(0, 500));
    const by = Object.fromEntries(r.body.entries.map((e) => [e.address, e]));
    assert.deepEqual(by.Trigger, { address: 'Trigger', type: 'BOOL', scope: 'controller' });
    assert.deepEqual(by.PartSerial, { address: 'PartSerial', type: 'STRING', scope: 'controller' });
    assert.deepEqual(by.aLreal, { address: 'aLreal', type: 'LREAL', scope: 'controller' });
    assert.deepEqual(by.Currents, { address: 'Currents', type: 'REAL', count: 10, scope: 'controller' });
    assert.deepEqual(by.Matrix, { address: 'Matrix', type: 'INT', count: 6, scope: 'controller' });
    assert.deepEqual(by.Names, { address: 'Names', type: 'STRING', count: 3, scope: 'controller' });
    // BOOL[64] is two DWORDs on the wire
    assert.deepEqual(by.Bits, { address: 'Bits', type: 'BOOL', count: 64, scope: 'controller' });
    assert.deepEqual(by.Part, { address: 'Part', type: 'UDT', detail: 'PartData', scope: 'controller' });
    assert.deepEqual(by['Part.Serial'], { address: 'Part.Serial', type: 'STRING', scope: 'controller' });
    assert.deepEqual(by['Part.Thickness'], { address: 'Part.Thickness', type: 'REAL', count: 3, scope: 'controller' });
    assert.deepEqual(by['Part.Stamp'], { address: 'Part.Stamp', type: 'LINT', scope: 'controller' });
    assert.deepEqual(by['Program:Main.Step'], { address: 'Program:Main.Step', type: 'DINT', scope: 'Program:Main' });
    // the program entry itself and compiler-made members are no rows
    assert.equal(by['Program:Main'], undefined);
    assert.equal(r.body.entries.filter((e) => /ZZZZ|__/.test(e.address)).length, 0);
    assert.equal(r.body.entries.length, STATION_TAGS.length + 6, r.body.entries.map((e) => e.address).join(' '));
    assert.equal(r.body.truncated, false);
  });

  it('Browse tags lists the OPC UA address space (node ids, types, array lengths) and the simulator protocol', async function () {
    await helper.load(NODES, onTab([]));
    const ua = await helper
      .request()
      .post('/spotfusion/editor/browse/plc-config')
      .send({ config: { protocol: 'opcua', endpoint: opcua.endpointUrl, certFolder: 'pki-test', acceptUnknownCertificate: true }, credentials: { username: 'operator', password: 'op-secret' } })
      .expect(200);
    assert.equal(ua.body.ok, true, JSON.stringify(ua.body).slice(0, 500));
    const by = Object.fromEntries(ua.body.entries.map((e) => [e.address, e]));
    assert.deepEqual([by['ns=1;s=Trigger'].type, by['ns=1;s=Trigger'].count], ['BOOL', undefined]);
    assert.deepEqual([by['ns=1;s=Currents'].type, by['ns=1;s=Currents'].count], ['REAL', 10]);
    assert.deepEqual([by['ns=1;s=aUlint'].type, by['ns=1;s=PartSerial'].type], ['ULINT', 'STRING']);
    assert.ok(ua.body.entries.every((e) => !e.address.startsWith('ns=0;')), 'the server object is left out');

    const sim = await helper.request().post('/spotfusion/editor/browse/plc-config').send({ config: { protocol: 'simulator' } }).expect(200);
    assert.equal(sim.body.ok, true, JSON.stringify(sim.body).slice(0, 300));
    assert.ok(sim.body.entries.some((e) => e.address === 'Part.Program' && e.type === 'DINT'));

    const refused = await helper.request().post('/spotfusion/editor/browse/plc-config').send({ config: { protocol: 'ethernet-ip', host: '127.0.0.1', port: await freePort() } }).expect(200);
    assert.deepEqual([refused.body.ok, refused.body.code], [false, 'ECONNREFUSED']);
    await helper.request().post('/spotfusion/editor/browse/no-such-type').send({}).expect(404);
  });

  it('${VAR} values: only names this package\'s deployed fields use, secrets masked, unset said so', async function () {
    process.env.SF_EDITOR_TEST_HOST = '127.0.0.1';
    process.env.SF_EDITOR_TEST_PASSWORD = 'hunter2';
    process.env.SF_EDITOR_UNUSED = 'not for the editor';
    try {
      await helper.load(NODES, onTab([
        { id: 'rc', type: 'spotfusion-redis-config', host: '${SF_EDITOR_TEST_HOST}', port: 6379, keyPrefix: '${SF_EDITOR_TEST_PASSWORD}' },
        { id: 'pc', type: 'plc-config', protocol: 'simulator', station: '${SF_EDITOR_TEST_UNSET}' },
      ]));
      const r = await helper.request().get('/spotfusion/editor/env?names=SF_EDITOR_TEST_HOST,SF_EDITOR_TEST_PASSWORD,SF_EDITOR_TEST_UNSET,SF_EDITOR_UNUSED,PATH,bad-name').expect(200);
      assert.deepEqual(r.body.values, {
        SF_EDITOR_TEST_HOST: { referenced: true, set: true, value: '127.0.0.1' },
        SF_EDITOR_TEST_PASSWORD: { referenced: true, set: true, masked: true },
        SF_EDITOR_TEST_UNSET: { referenced: true, set: false },
        SF_EDITOR_UNUSED: { referenced: false },
        PATH: { referenced: false },
      });
      assert.doesNotMatch(r.text, /hunter2|not for the editor/);
      // ${VAR}s in the dialog's settings resolve for a test too
      const ok = await test('spotfusion-redis-config', { host: '${SF_EDITOR_TEST_HOST}', port: 6379 }, {});
      assert.equal(ok.ok, true, JSON.stringify(ok));
    } finally {
      delete process.env.SF_EDITOR_TEST_HOST;
      delete process.env.SF_EDITOR_TEST_PASSWORD;
      delete process.env.SF_EDITOR_UNUSED;
    }
  });
});

describe('editor admin endpoints under adminAuth (a real Node-RED process)', function () {
  this.timeout(60000);
  const PASSWORD = crypto.randomBytes(12).toString('hex');
  const READ_TOKEN = crypto.randomBytes(32).toString('hex');
  let rt;

  before(async function () {
    await requireService(this, 'redis');
    const bcrypt = require('bcryptjs');
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: undefined,
      SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(PASSWORD, 8),
      SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
      SPOTFUSION_READ_TOKEN: READ_TOKEN,
    });
    await rt.start();
  });
  after(async function () {
    if (rt) await rt.stop();
  });

  // Node-RED's needsPermission answers 401 for a known user without the permission as well (no 403)
  it('401 without a token and with the read-only monitoring token (which health accepts), 200 for the admin', async function () {
    const body = { config: { host: '127.0.0.1', port: 6379 } };
    const paths = [
      ['POST', '/spotfusion/editor/test/spotfusion-redis-config'],
      ['POST', '/spotfusion/editor/browse/plc-config'],
      ['GET', '/spotfusion/editor/env?names=PATH'],
    ];
    // the token is good: health takes it
    assert.notEqual((await rt.request('GET', '/spotfusion/health', { token: READ_TOKEN })).status, 401);
    for (const [method, p] of paths) {
      assert.equal((await rt.request(method, p, { body: method === 'POST' ? body : undefined })).status, 401, `${method} ${p} without a token`);
      const r = await rt.request(method, p, { body: method === 'POST' ? body : undefined, token: READ_TOKEN });
      assert.equal(r.status, 401, `${method} ${p} with the read token`);
      assert.doesNotMatch(r.text, /ok|values/);
    }
    const admin = await rt.token('admin', PASSWORD);
    const r = await rt.request('POST', paths[0][1], { body, token: admin });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.ok, true, r.text);
  });
});
