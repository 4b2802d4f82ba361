'use strict';
// A real Node-RED process (red.js) with dist/settings.js: adminAuth, health, metrics, JSON logs, refusals,
// `npm start`. Under .ci/node22.sh the same file runs on Node 22 against node-red 5.x.
const assert = require('node:assert/strict');
const path = require('node:path');
const crypto = require('node:crypto');
const bcrypt = require('bcryptjs');
const { Runtime, runSettingsOnly, RED_JS } = require('../support/runtime');
const { requireService } = require('../support/services');
const { freePort } = require('../support/redis-server');
const { ROOT } = require('../../scripts/userdir.cjs');

const PASSWORD = crypto.randomBytes(12).toString('hex');
const OUR_TYPES = require('../../package.json')['node-red'].nodes;

describe(`real Node-RED runtime (${path.relative(ROOT, RED_JS)} on Node ${process.versions.node})`, function () {
  this.timeout(60000);

  describe('with adminAuth and JSON logs', function () {
    let rt;
    let token;

    before(async function () {
      rt = await Runtime.create({
        SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(PASSWORD, 8),
        SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
        SPOTFUSION_LOG_FORMAT: 'json',
        SPOTFUSION_DEV_MODE: undefined,
      });
      await rt.start();
      token = await rt.token('admin', PASSWORD);
    });

    after(async function () {
      if (rt) await rt.stop();
    });

    it('refuses the admin API, health and metrics without a token', async function () {
      for (const p of ['/flows', '/nodes', '/spotfusion/health', '/spotfusion/metrics']) {
        const r = await rt.request('GET', p);
        assert.equal(r.status, 401, `${p} answered ${r.status}`);
      }
      const bad = await rt.request('POST', '/auth/token', { body: { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'wrong' } });
      assert.notEqual(bad.status, 200);
    });

    it('loads every node of the package into the palette', async function () {
      const r = await rt.request('GET', '/nodes', { token, headers: { Accept: 'application/json' } });
      assert.equal(r.status, 200);
      const ours = r.json.filter((set) => set.module === '@spotfusion/node-red-spotfusion-edge');
      const types = ours.flatMap((s) => s.types);
      for (const t of Object.keys(OUR_TYPES)) assert.ok(types.includes(t), `${t} missing from palette: ${types}`);
      for (const s of ours) assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
      const icon = await rt.request('GET', '/icons/@spotfusion/node-red-spotfusion-edge/redis.svg', { token });
      assert.equal(icon.status, 200);
      // editor code shared by several nodes comes from the package's resources/ folder
      const editor = await rt.request('GET', '/nodes', { token, headers: { Accept: 'text/html' } });
      assert.match(editor.text, /src="resources\/@spotfusion\/node-red-spotfusion-edge\/tag-map-editor\.js"/);
      const shared = await rt.request('GET', '/resources/@spotfusion/node-red-spotfusion-edge/tag-map-editor.js', { token });
      assert.equal(shared.status, 200);
      assert.match(shared.text, /window\.SpotFusionTagMap = /);
      // Node-RED answers unknown icons with a default one: compare with our file
      assert.equal(icon.text, require('node:fs').readFileSync(path.join(ROOT, 'icons', 'redis.svg'), 'utf8'));
    });

    it('serves health (503 while a connection in use is down) and Prometheus metrics', async function () {
      const empty = await rt.request('GET', '/spotfusion/health', { token });
      assert.equal(empty.status, 200);
      assert.equal(empty.json.status, 'up');

      const deadPort = await freePort();
      const flows = [
        { id: 't1', type: 'tab', label: 'health' },
        { id: 'rc-dead', type: 'spotfusion-redis-config', host: '127.0.0.1', port: deadPort, db: 0 },
        { id: 'c1', z: 't1', type: 'redis-cache', redis: 'rc-dead', operation: 'get', key: 'k', wires: [[]] },
      ];
      const dep = await rt.request('POST', '/flows', { token, body: { flows }, headers: { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' } });
      assert.equal(dep.status, 200, dep.text);
      let h;
      for (let i = 0; i < 50; i++) {
        h = await rt.request('GET', '/spotfusion/health', { token });
        if (h.json.connections?.[0]?.state === 'reconnecting') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(h.status, 503);
      assert.equal(h.json.status, 'down');
      assert.equal(h.json.connections[0].id, 'rc-dead');
      assert.match(h.json.connections[0].lastError, /ECONNREFUSED/);

      const m = await rt.request('GET', '/spotfusion/metrics', { token });
      assert.equal(m.status, 200);
      assert.match(m.headers['content-type'], /text\/plain/);
      assert.match(m.text, /spotfusion_connection_up\{config_id="rc-dead",config_type="spotfusion-redis-config",config_name=""\} 0/);
      assert.match(m.text, /spotfusion_process_resident_memory_bytes/);
    });

    it('reports healthy once every connection in use is up', async function () {
      await requireService(this, 'redis');
      const flows = [
        { id: 't1', type: 'tab', label: 'health' },
        { id: 'rc-live', type: 'spotfusion-redis-config', host: '127.0.0.1', port: 6379, db: 9 },
        { id: 'c1', z: 't1', type: 'redis-cache', redis: 'rc-live', operation: 'get', key: 'k', wires: [[]] },
      ];
      const dep = await rt.request('POST', '/flows', { token, body: { flows }, headers: { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' } });
      assert.equal(dep.status, 200, dep.text);
      let h;
      for (let i = 0; i < 50; i++) {
        h = await rt.request('GET', '/spotfusion/health', { token });
        if (h.status === 200 && h.json.connections.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(h.status, 200, JSON.stringify(h.json));
      assert.deepEqual(h.json.connections.map((c) => [c.id, c.state]), [['rc-live', 'connected']]);
    });

    it('writes one JSON object per log line and no secret', function () {
      const lines = rt.stdout.split('\n').filter((l) => l.trim() !== '');
      assert.ok(lines.length > 5, 'some log lines');
      for (const l of lines) {
        const e = JSON.parse(l);
        assert.ok(e.time && e.level && typeof e.msg === 'string', l);
      }
      assert.ok(lines.some((l) => JSON.parse(l).msg.includes('Server now running')));
      assert.ok(!rt.stdout.includes(PASSWORD));
    });
  });

  describe('refusals at start-up', function () {
    it('refuses a non-loopback address without adminAuth, before listening', async function () {
      const r = await runSettingsOnly({ SPOTFUSION_HOST: '0.0.0.0', SPOTFUSION_CREDENTIAL_SECRET: 'x'.repeat(20) });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /refusing to listen on non-loopback address 0\.0\.0\.0 without adminAuth/);
    });

    it('refuses development mode on a non-loopback address', async function () {
      const r = await runSettingsOnly({ SPOTFUSION_HOST: '0.0.0.0', SPOTFUSION_DEV_MODE: 'true' });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /SPOTFUSION_DEV_MODE=true is only allowed on a loopback/);
    });

    it('names a malformed variable', async function () {
      const r = await runSettingsOnly({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_PORT: 'eighty' });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /SPOTFUSION_PORT expects a whole number 1–65535, got "eighty"/);
    });
  });

  // on both legs: Node 20 + node-red 4.1, and Node 22 + the Node-RED that SPOTFUSION_RED_JS names (node-red 5)
  describe('npm start (scripts/start.mjs)', function () {
    it('starts in development mode on loopback with the station flow on embedded defaults, and results appear', async function () {
      // on a development machine's unsupported Node.js, start anyway (the refusal: test/unit/node-support.test.js)
      const allowOldNode = require('../../scripts/node-check.cjs').nodeProblem(process.version) ? '1' : undefined;
      const rt = await Runtime.create(
        { SPOTFUSION_DEV_MODE: undefined, SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, SPOTFUSION_ALLOW_UNSUPPORTED_NODE: allowOldNode },
        { script: path.join(ROOT, 'scripts', 'start.mjs') },
      );
      try {
        // ready once the flows started: the admin API answers before they are loaded, and a GET /flows then makes
        // Node-RED itself log "[error] TypeError: Cannot read properties of null (reading 'flows')" (editor-api
        // flows.get reads result.flows of a null config; once in CI)
        await rt.start({ ready: /\[info\] Started flows/ });
        const flows = await rt.request('GET', '/flows');
        assert.equal(flows.status, 200, JSON.stringify(flows.json));
        assert.ok(flows.json.some((n) => n.id === 'sf_station' && n.type === 'tab' && !n.disabled), 'the station tab is deployed and enabled');
        const nodes = await rt.request('GET', '/nodes', { headers: { Accept: 'application/json' } });
        assert.ok(nodes.json.some((s) => s.types.includes('redis-cache')));
        // the Node-RED of this leg: node-red 4.1 from node_modules, or the one SPOTFUSION_RED_JS names
        const settings = await rt.request('GET', '/settings');
        // (Node-RED adds "-git" to its version when a .git folder sits above it, as in this clone)
        assert.equal(settings.json.version.replace(/-git$/, ''), require(path.join(path.dirname(RED_JS), 'package.json')).version, 'npm start ran the Node-RED of this leg');
        // the PLC simulator triggers a part every 3 s; each one becomes a row of the SQLite store
        const Database = require('better-sqlite3');
        const file = path.join(rt.userDir, 'spotfusion', 'results.db');
        let rows = [];
        for (let i = 0; i < 200 && rows.length < 2; i++) {
          await new Promise((r) => setTimeout(r, 100));
          if (!require('node:fs').existsSync(file)) continue;
          const db = new Database(file, { readonly: true, fileMustExist: true });
          try {
            rows = db.prepare('SELECT part_serial, verdict, station, model_name FROM inspection_result ORDER BY part_serial').all();
          } finally {
            db.close();
          }
        }
        assert.ok(rows.length >= 2, `results in ${file}: ${JSON.stringify(rows)}\n${rt.stdout.slice(-2000)}`);
        for (const r of rows) {
          assert.match(r.part_serial, /^WB-\d{6}$/);
          assert.ok(['OK', 'NOK'].includes(r.verdict));
          assert.equal(r.station, 'ST-DEMO');
          assert.equal(r.model_name, 'spotfusion-demo');
        }
        const h = await rt.request('GET', '/spotfusion/health');
        assert.equal(h.status, 200, JSON.stringify(h.json));
        // the plant targets are configured but off (RESULT_TARGETS=sqlite): idle, no connection, health still 200
        assert.deepEqual(h.json.connections.map((c) => [c.id, c.state]).sort(), [['sf_amqp_cfg', 'idle'], ['sf_mqtt_cfg', 'idle'], ['sf_pg_cfg', 'idle'], ['sf_st_camera', 'connected'], ['sf_st_plc', 'connected']]);
        assert.deepEqual(rt.stdout.split('\n').filter((l) => /\[error\]/.test(l)), [], 'no error logged');
      } finally {
        await rt.stop();
      }
    });
  });
});
