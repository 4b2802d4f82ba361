'use strict';
// The spotfusion CLI against real Node-RED processes with adminAuth on.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Runtime, bareEnv } = require('../support/runtime');
const { freePort } = require('../support/redis-server');
const { AdminClient } = require('../../dist/nodes/lib/deploy/admin-client');

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'spotfusion.js');
const PASSWORD = crypto.randomBytes(12).toString('hex');

function cli(args, env = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: bareEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

function tmpFile(name, content) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-deploy-'));
  const f = path.join(dir, name);
  fs.writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return f;
}

const STATION_FLOW = [
  { id: 'st_tab', type: 'tab', label: 'station', info: 'Environment: STATION_ID (which station this is)' },
  { id: 'st_inject', type: 'inject', z: 'st_tab', name: '${STATION_ID}', props: [{ p: 'payload' }], repeat: '', once: false, payload: '', payloadType: 'date', x: 100, y: 100, wires: [['st_debug']] },
  { id: 'st_debug', type: 'debug', z: 'st_tab', name: 'out', active: true, x: 300, y: 100, wires: [] },
];

async function station() {
  const rt = await Runtime.withAdminAuth(PASSWORD);
  return rt.start();
}

describe('spotfusion CLI (validate, diff, deploy) against Node-RED with adminAuth', function () {
  this.timeout(90000);
  let a;
  let b;
  const url = (rt) => `http://127.0.0.1:${rt.port}`;
  const auth = { SPOTFUSION_DEPLOY_PASSWORD: PASSWORD };

  before(async function () {
    [a, b] = await Promise.all([station(), station()]);
  });
  after(async function () {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('validate: exit 0 for the shipped flows and examples, 1 with every problem named, 2 for bad usage', async function () {
    const ok = await cli(['validate', ...['flows/demo.json', 'examples/redis-cache/01 - Share part data between flows.json'].map((f) => path.join(ROOT, f))]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^ok .*demo\.json \(\d+ nodes; env: REDIS_HOST, REDIS_PORT\)$/m);
    const bad = tmpFile('bad.json', [{ id: 't', type: 'tab' }, { id: 'x', type: 'nope', z: 't', password: 'hunter2' }]);
    const r = await cli(['validate', bad]);
    assert.equal(r.code, 1);
    assert.match(r.err, /unknown node type 'nope'/);
    assert.match(r.err, /\.password: looks like a secret/);
    const notJson = await cli(['validate', tmpFile('x.json', '{oops')]);
    assert.equal(notJson.code, 1);
    assert.match(notJson.err, /x\.json: .*JSON/);
    assert.equal((await cli(['validate'])).code, 2);
    assert.equal((await cli(['frobnicate'])).code, 2);
    assert.equal((await cli(['deploy', bad, '--url', 'http://127.0.0.1:1', '--bogus', '1'])).code, 2);
  });

  it('deploy: refuses without credentials, deploys with them, reports healthy, and diff shows no change after', async function () {
    const flow = tmpFile('station.json', STATION_FLOW);
    const denied = await cli(['deploy', flow, '--url', url(a), '--env', 'STATION_ID=st010']);
    assert.equal(denied.code, 5);
    assert.match(denied.err, /HTTP 401/);
    const noPw = await cli(['deploy', flow, '--url', url(a), '--user', 'admin']);
    assert.equal(noPw.code, 2);
    assert.match(noPw.err, /needs the password in \$SPOTFUSION_DEPLOY_PASSWORD/);

    const r = await cli(['deploy', flow, '--url', url(a), '--user', 'admin', '--env', 'STATION_ID=st010'], auth);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /deployed .*station\.json \(nodes; \+3 -\d+ ~\d+; rev [0-9a-f]+\)/);
    assert.match(r.out, /healthy/);
    const api = new AdminClient(url(a), { user: 'admin', password: PASSWORD });
    await api.login();
    const { flows } = await api.getFlows();
    assert.deepEqual(flows.find((n) => n.id === 'st_tab').env, [{ name: 'STATION_ID', value: 'st010', type: 'str' }]);

    const same = await cli(['diff', flow, '--url', url(a), '--user', 'admin', '--env', 'STATION_ID=st010'], auth);
    assert.equal(same.code, 0, same.err);
    assert.equal(same.out.trim(), 'no changes');
    const changed = STATION_FLOW.map((n) => (n.id === 'st_debug' ? { ...n, name: 'renamed' } : n));
    const d = await cli(['diff', tmpFile('c.json', changed), '--url', url(a), '--user', 'admin', '--env', 'STATION_ID=st010'], auth);
    assert.equal(d.code, 1, d.err);
    assert.equal(d.out.trim(), '~ st_debug (debug): name');
  });

  it('deploy merges: the station keeps the tabs the file does not hold; --remove-tab removes one, diff shows it first', async function () {
    // what `npm start` has beside the station flow (the dashboard): another tab, with a config node of its own
    const other = [
      { id: 'o_tab', type: 'tab', label: 'dashboard' },
      { id: 'o_proxy', type: 'http proxy', name: 'dash proxy', url: 'http://127.0.0.1:3128' },
      { id: 'o_req', type: 'http request', z: 'o_tab', method: 'GET', url: 'http://127.0.0.1:1/x', proxy: 'o_proxy', x: 300, y: 80, wires: [[]] },
      { id: 'o_inject', type: 'inject', z: 'o_tab', name: 'tick', props: [{ p: 'payload' }], repeat: '', once: false, x: 100, y: 80, wires: [['o_req']] },
      { id: 'o_shared', type: 'http proxy', name: 'shared proxy', url: 'http://127.0.0.1:3129' },
    ];
    const api = new AdminClient(url(b), { user: 'admin', password: PASSWORD });
    await api.login();
    const before = await api.getFlows();
    await api.deploy(other, before.rev, 'full');
    const flow = tmpFile('station.json', STATION_FLOW);
    const args = ['--url', url(b), '--user', 'admin', '--env', 'STATION_ID=st020'];

    const pre = await cli(['diff', flow, ...args], auth);
    assert.equal(pre.code, 1, pre.err);
    assert.doesNotMatch(pre.out, /^- /m, 'a plain deploy removes nothing');
    const r = await cli(['deploy', flow, ...args, '--health-timeout', '5'], auth);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /\(nodes; \+3 -0 ~0; rev [0-9a-f]+\)$/m);
    let { flows } = await api.getFlows();
    for (const id of ['o_tab', 'o_proxy', 'o_req', 'o_inject', 'o_shared', 'st_tab', 'st_inject', 'st_debug']) assert.ok(flows.some((n) => n.id === id), `${id} is on the station`);
    assert.equal((await cli(['diff', flow, ...args], auth)).code, 0);

    // the file now drops st_debug: the file owns its tab, so the node goes; other tabs still stay
    const smaller = tmpFile('smaller.json', STATION_FLOW.filter((n) => n.id !== 'st_debug').map((n) => (n.id === 'st_inject' ? { ...n, wires: [[]] } : n)));
    const d2 = await cli(['diff', smaller, ...args], auth);
    assert.equal(d2.code, 1);
    assert.match(d2.out, /^- st_debug \(debug\) "out"$/m);
    assert.doesNotMatch(d2.out, /o_/);

    // removing a tab: diff names the tab, its nodes and the config node only it used, then deploy does it
    const rm = ['--remove-tab', 'dashboard'];
    const shown = await cli(['diff', flow, ...args, ...rm], auth);
    assert.equal(shown.code, 1, shown.err);
    assert.deepEqual(shown.out.trim().split('\n').sort(), ['- o_inject (inject) "tick"', '- o_proxy (http proxy) "dash proxy"', '- o_req (http request)', '- o_tab (tab) "dashboard"']);
    const gone = await cli(['deploy', flow, ...args, ...rm, '--health-timeout', '5'], auth);
    assert.equal(gone.code, 0, gone.out + gone.err);
    assert.match(gone.out, /-4 ~0; rev [0-9a-f]+\); removed o_tab "dashboard"/);
    ({ flows } = await api.getFlows());
    assert.deepEqual(flows.map((n) => n.id).sort(), ['o_shared', 'st_debug', 'st_inject', 'st_tab']);

    const unknownTab = await cli(['diff', flow, ...args, '--remove-tab', 'nope'], auth);
    assert.equal(unknownTab.code, 2);
    assert.match(unknownTab.err, /--remove-tab "nope" names no tab or subflow on the station/);
    const ownTab = await cli(['deploy', flow, ...args, '--remove-tab', 'st_tab'], auth);
    assert.equal(ownTab.code, 2);
    assert.match(ownTab.err, /names st_tab, which the file deploys/);
  });

  it('diff: exit 2 for an invalid flow (validated like deploy), an unreachable station and bad usage', async function () {
    const bad = tmpFile('secret.json', [...STATION_FLOW, { id: 'x', type: 'nope', z: 'st_tab', password: 'hunter2' }]);
    const inv = await cli(['diff', bad, '--url', url(a), '--user', 'admin'], auth);
    assert.equal(inv.code, 2, inv.out + inv.err);
    assert.match(inv.err, /unknown node type 'nope'/);
    assert.match(inv.err, /the flow is invalid, a deploy would refuse it/);
    const down = await cli(['diff', tmpFile('s.json', STATION_FLOW), '--url', `http://127.0.0.1:${await freePort()}`], auth);
    assert.equal(down.code, 2);
    assert.match(down.err, /ECONNREFUSED/);
    assert.equal((await cli(['diff', tmpFile('s.json', STATION_FLOW)])).code, 2);
  });

  it('deploy: stops on a rev conflict with a clear message (409)', async function () {
    const api = new AdminClient(url(a), { user: 'admin', password: PASSWORD });
    await api.login();
    const { rev, flows } = await api.getFlows();
    await api.deploy(flows.map((n) => (n.id === 'st_debug' ? { ...n, name: 'someone else' } : n)), rev, 'full');
    await assert.rejects(api.deploy(flows, rev, 'full'), (err) => {
      assert.equal(err.code, 'CONFLICT');
      assert.match(err.message, /changed since they were read.*someone deployed in between; run diff, then deploy again/);
      return true;
    });
  });

  it('deploy: exit 4 with the failing connection named when the station is unhealthy afterwards', async function () {
    const dead = await freePort();
    const flow = tmpFile('unhealthy.json', [
      { id: 'u_tab', type: 'tab', label: 'u' },
      { id: 'u_cfg', type: 'spotfusion-redis-config', host: '127.0.0.1', port: String(dead), db: '0' },
      { id: 'u_node', type: 'redis-cache', z: 'u_tab', redis: 'u_cfg', operation: 'get', key: 'k', x: 100, y: 100, wires: [[]] },
    ]);
    const r = await cli(['deploy', flow, '--url', url(a), '--user', 'admin', '--health-timeout', '1'], auth);
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.err, /unhealthy after 1 s \(HTTP 503\): spotfusion-redis-config u_cfg: reconnecting \(.*ECONNREFUSED/);
    // the tab stays on the station until it is removed by name, with the config node only it used
    const rm = await cli(['deploy', tmpFile('station.json', STATION_FLOW), '--url', url(a), '--user', 'admin', '--env', 'STATION_ID=st010', '--remove-tab', 'u_tab', '--health-timeout', '5'], auth);
    assert.equal(rm.code, 0, rm.out + rm.err);
    assert.match(rm.out, /-3 ~\d+; rev [0-9a-f]+\); removed u_tab "u"/);
  });

  it('deploy --inventory: every station with its own env, reported per station', async function () {
    const flow = tmpFile('station.json', STATION_FLOW);
    const inv = tmpFile(
      'stations.yaml',
      [
        'defaults:',
        `  flow: ${flow}`,
        '  user: admin',
        '  healthTimeout: 5',
        'stations:',
        `  - name: st010`,
        `    url: ${url(a)}`,
        '    env: { STATION_ID: st010 }',
        `  - name: st020`,
        `    url: ${url(b)}`,
        '    env: { STATION_ID: st020 }',
        `  - name: st030-offline`,
        `    url: http://127.0.0.1:${await freePort()}`,
        '    env: { STATION_ID: st030 }',
      ].join('\n'),
    );
    const r = await cli(['deploy', '--inventory', inv], auth);
    assert.equal(r.code, 5, r.out + r.err);
    assert.match(r.out, /summary: st010: ok; st020: ok; st030-offline: failed \(exit 5\)/);
    assert.match(r.err, /st030-offline: POST http:\/\/127\.0\.0\.1:\d+\/auth\/token: connect ECONNREFUSED/);
    for (const [rt, id] of [
      [a, 'st010'],
      [b, 'st020'],
    ]) {
      const api = new AdminClient(url(rt), { user: 'admin', password: PASSWORD });
      await api.login();
      const { flows } = await api.getFlows();
      assert.deepEqual(flows.find((n) => n.id === 'st_tab').env, [{ name: 'STATION_ID', value: id, type: 'str' }]);
    }
    const only = await cli(['deploy', '--inventory', inv, '--only', 'st020'], auth);
    assert.equal(only.code, 0, only.err);
    assert.doesNotMatch(only.out, /st010/);
    const unknown = await cli(['deploy', '--inventory', inv, '--only', 'st999'], auth);
    assert.equal(unknown.code, 2);
  });
});
