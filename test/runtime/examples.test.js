'use strict';
// Every example (examples/<node>/*.json, what Import › Examples offers) and every flow file (flows/*.json) imported
// into an empty, running Node-RED (red.js with dist/settings.js, as `npm start` runs it) and deployed, one at a
// time, as the editor does it: no error and no warning may appear in the log, and every node that waits for an
// unreachable server says so in its status.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Runtime } = require('../support/runtime');
const { watchStatus } = require('../support/status-watch');
const { until } = require('../support/wait');
const { freePort } = require('../support/redis-server');
const { ROOT } = require('../../scripts/userdir.cjs');

const SETTLE_MS = 3000;

/** Our node types that use a connection (PLC, camera, servers): each shows a status once deployed. */
const USES_CONNECTION = new Set(['plc-read', 'plc-write', 'camera-grab', 'redis-cache', 'result-publish', 'opcua-mv', 'spc-plant']);

/** Examples whose servers are away in this test (see `away`): what their nodes' status must say. */
const AWAY_STATUS = {
  'examples/redis-cache/01 - Share part data between flows.json': (port) =>
    Object.fromEntries(['ex_rc_set', 'ex_rc_incr', 'ex_rc_get', 'ex_rc_hgetall'].map((id) => [id, new RegExp(`^redis 127\\.0\\.0\\.1:${port} db 0: .*ECONNREFUSED.*retry in`)])),
  'examples/result-publish/01 - Publish results through the outbox.json': (port) => ({
    ex_rp_publish: new RegExp(`^outbox \\d+ · waiting for amqp, mqtt, postgres, redis: amqp 127\\.0\\.0\\.1:${port}`),
  }),
  'examples/spc-plant/01 - Plant view of yield and Cpk.json': (port) => ({ ex_sp_plant: new RegExp(`^postgres 127\\.0\\.0\\.1:${port}/spotfusion: .*ECONNREFUSED.*retry in`) }),
};

function disabledTabs(nodes) {
  return new Set(nodes.filter((n) => n.type === 'tab' && n.disabled).map((n) => n.id));
}

/** The files Node-RED offers under Import › Examples (its registry lists examples/ folders of .json files). */
function exampleFiles() {
  const dir = path.join(ROOT, 'examples');
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    assert.ok(d.isDirectory(), `examples/${d.name}: only folders of examples belong in examples/`);
    return fs.readdirSync(path.join(dir, d.name)).map((f) => path.join('examples', d.name, f));
  });
}

const FILES = [...exampleFiles(), ...fs.readdirSync(path.join(ROOT, 'flows')).filter((f) => f.endsWith('.json')).map((f) => path.join('flows', f))];

/** What the editor's import does with a file: nodes without a tab go onto a new one; config nodes stay global. */
function asImported(nodes) {
  if (nodes.some((n) => n.type === 'tab')) return nodes;
  const tab = { id: 'sf_example_tab', type: 'tab', label: 'example' };
  return [tab, ...nodes.map((n) => (n.x !== undefined && n.z === undefined ? { ...n, z: tab.id } : n))];
}

/** Log lines (Node-RED's console format) at level warn or error. */
function problems(log) {
  return log.split('\n').filter((l) => /\[(warn|error)\]/.test(l));
}

describe('examples/ and flows/: each imports and deploys into an empty Node-RED without an error or warning', function () {
  this.timeout(60000);
  let rt;
  let watch;
  let away;

  before(async function () {
    this.timeout(60000);
    // every server the flows name is away: their tab env defaults (127.0.0.1 at the usual port) give way to a
    // port nothing listens on, so each node has to say what it waits for instead of logging errors
    away = String(await freePort());
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: 'true',
      SPOTFUSION_ADMIN_PASSWORD_HASH: undefined,
      REDIS_PORT: away,
      AMQP_PORT: away,
      MQTT_PORT: away,
      DATABASE_PORT: away,
      // the OPC UA server of examples/opcua-mv listens: on a free port, not the well-known 4840
      OPCUA_PORT: String(await freePort()),
    });
    await rt.start();
    watch = await watchStatus(rt.port);
  });

  after(async function () {
    if (watch) watch.close();
    if (rt) await rt.stop();
  });

  async function deploy(nodes) {
    const started = (rt.stdout.match(/Started flows/g) || []).length;
    const r = await rt.request('POST', '/flows', { body: nodes, headers: { 'Node-RED-Deployment-Type': 'full' } });
    assert.ok([200, 204].includes(r.status), `POST /flows: ${r.status} ${r.text}`);
    await until(() => (rt.stdout.match(/Started flows/g) || []).length > started, 20000, `flows started\n${rt.stdout.slice(-2000)}`, 50);
  }

  it('examples/ holds only folders of .json flows (no empty folder in Import › Examples)', function () {
    const files = exampleFiles();
    assert.ok(files.length >= 10);
    for (const f of files) assert.match(f, /\.json$/, `${f} is not a flow: Import › Examples would show an empty entry`);
  });

  for (const file of FILES) {
    it(file, async function () {
      await deploy([]);
      watch.statuses.clear();
      const from = rt.stdout.length;
      const nodes = asImported(JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')));
      await deploy(nodes);
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const log = rt.stdout.slice(from);
      assert.deepEqual(problems(log), [], `${file}: the log after its deploy\n${log}`);
      const flows = await rt.request('GET', '/flows');
      assert.equal(flows.json.length, nodes.length, 'every node deployed');
      // every node that talks to a PLC, a camera or a server shows a status; a red one says what it waits for
      const shown = {};
      for (const n of nodes) {
        if (!USES_CONNECTION.has(n.type) || disabledTabs(nodes).has(n.z)) continue;
        const seen = watch.statuses.get(n.id);
        assert.ok(seen?.length, `${file}: ${n.type} "${n.name || n.id}" shows no status`);
        const last = seen[seen.length - 1];
        assert.ok(last.text && !/^(disconnected|failed)$/.test(last.text), `${file}: ${n.type} "${n.name || n.id}": status ${JSON.stringify(last)}`);
        shown[n.id] = last;
      }
      const expected = AWAY_STATUS[file];
      for (const [id, re] of Object.entries(expected ? expected(away) : {})) {
        assert.ok(shown[id], `${file}: ${id} has a status`);
        assert.match(shown[id].text, re, `${file}: the status of ${id} says which server it waits for`);
        assert.equal(shown[id].fill, 'red');
      }
    });
  }
});
