'use strict';
// The plant wizard's actions (nodes/shared/plant-actions.ts) in a real Node-RED process under adminAuth:
// - metrics of a saved plant from the real PostgreSQL on loopback: per station parts, OK, NOK, yield and NOK /
//   MISSING per spot, counted here from the stored results (not by the package's code); every station listed;
//   no database → configured: false; a database that does not answer → 503 naming host:port;
// - diff and deploy of the generated stations to real target Node-RED processes (adminAuth on), streamed as
//   NDJSON: start, progress per step, one result per station, done; `only`; the login from the admin server's
//   environment only, never in the answer; a client that goes away mid-stream harms nothing.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const YAML = require('yaml');
const { Runtime } = require('../support/runtime');
const { freePort } = require('../support/redis-server');
const { requireService, connectPostgres } = require('../support/services');
const { station, storeResults } = require('../support/plant-results');
const { labPlant, labTarget } = require('../support/plant-lab');
const { AdminClient } = require('../../dist/nodes/lib/deploy/admin-client');

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = fs.readFileSync(path.join(ROOT, 'docs', 'plant.yaml'), 'utf8');
const PASSWORD = crypto.randomBytes(12).toString('hex');
const WRONG = `wrong-${crypto.randomBytes(8).toString('hex')}`;
const schema = `sfplantmetrics_${process.pid}`;

const sample = () => YAML.parse(SAMPLE);
const target = () => labTarget(PASSWORD);

/**
 * POST and read the NDJSON answer line by line as it comes: each event with the ms since the request when its
 * line arrived. stopAfter(event): destroy the connection after that event (a client that goes away).
 */
function stream(port, urlPath, { token, body, stopAfter } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const data = Buffer.from(JSON.stringify(body ?? {}));
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: urlPath, headers: { 'Content-Type': 'application/json', 'Content-Length': data.length, ...(token ? { Authorization: `Bearer ${token}` } : {}) } },
      (res) => {
        const events = [];
        const lines = /^application\/x-ndjson/.test(res.headers['content-type'] ?? '');
        let text = '';
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
          if (!lines) return;
          rest += chunk;
          let i;
          while ((i = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, i);
            rest = rest.slice(i + 1);
            const event = JSON.parse(line);
            events.push({ ...event, atMs: Date.now() - t0 });
            if (stopAfter && stopAfter(event)) {
              req.destroy();
              resolve({ status: res.statusCode, headers: res.headers, events, text, stopped: true });
              return;
            }
          }
        });
        res.on('error', (err) => (stopAfter ? undefined : reject(err)));
        res.on('end', () => {
          if (rest !== '') reject(new Error(`the answer does not end with a complete line: ${rest.slice(0, 200)}`));
          else resolve({ status: res.statusCode, headers: res.headers, events, text });
        });
      },
    );
    req.on('error', (err) => (stopAfter ? undefined : reject(err)));
    req.setTimeout(120000, () => req.destroy(new Error(`${urlPath} timed out`)));
    req.end(data);
  });
}

/** the events of one answer in order: start, then per station its progress and its result, then done; steps: the same for every station, or by station */
function checkSequence(r, action, stations, steps) {
  const stepsOf = (s) => (Array.isArray(steps) ? steps : steps[s]);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^application\/x-ndjson/);
  const types = r.events.map((e) => (e.type === 'progress' ? `progress ${e.station} ${e.step}` : e.type === 'station' ? `station ${e.station}` : e.type));
  const expected = ['start', ...stations.flatMap((s) => [...stepsOf(s).map((step) => `progress ${s} ${step}`), `station ${s}`]), 'done'];
  assert.deepEqual(types, expected, r.text);
  assert.deepEqual(r.events[0], { type: 'start', action, stations, atMs: r.events[0].atMs });
  return Object.fromEntries(r.events.filter((e) => e.type === 'station').map((e) => [e.station, e]));
}

describe('plant wizard actions under adminAuth: metrics, diff and deploy', function () {
  this.timeout(180000);
  let rt;
  let admin;
  let reader;
  let dir;
  let pg;
  const targets = [];

  before(async function () {
    await requireService(this, 'postgres');
    pg = await connectPostgres();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    targets.push(...(await Promise.all([target(), target()])));
    rt = await Runtime.withAdminAuth(PASSWORD, {
      // the stations' login, for the admin server only: the browser never sends it
      SPOTFUSION_DEPLOY_PASSWORD: PASSWORD,
      SF_TEST_WRONG_PASSWORD: WRONG,
      DATABASE_USER: 'postgres',
      DATABASE_PASSWORD: undefined,
    });
    dir = path.join(rt.userDir, 'plant');
    fs.mkdirSync(dir, { recursive: true });
    await rt.start();
    admin = await rt.token('admin', PASSWORD);
    reader = await rt.token('admin', PASSWORD, 'read');
  });

  after(async function () {
    await Promise.all([rt?.stop(), ...targets.map((t) => t.stop())]);
    for (const r of [rt, ...targets]) if (r) fs.rmSync(r.userDir, { recursive: true, force: true });
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    }
  });

  const save = (name, plant) => fs.writeFileSync(path.join(dir, name), YAML.stringify(plant));

  describe('metrics', function () {
    let parts;

    before(async function () {
      const p = sample();
      p.network.services.database = { host: '127.0.0.1', port: 5432, name: 'test', schema };
      save('metrics.yaml', p);
      const nodb = sample();
      delete nodb.network.services.database;
      save('nodb.yaml', nodb);
      const down = sample();
      down.network.services.database = { host: '127.0.0.1', port: await freePort(), name: 'test', schema };
      save('down.yaml', down);
      fs.writeFileSync(path.join(dir, 'broken.yaml'), SAMPLE.replace('protocol: ethernet-ip', 'protocol: profinet'));

      // L1-UB-010: 20 parts, every 4th NOK with its spot s3 NOK, s2 MISSING on part 7; L2-BS-010: 10 OK parts
      // now and 3 NOK parts ten hours ago; a station that is not in the plant
      const ub010 = station({ line: 'L1', name: 'L1-UB-010', count: 20, centre: [6, 6, 6], spread: [0.2, 0.2, 0.2], nok: (i) => i % 4 === 0, missing: 's2', missingAt: 7, seed: 11 });
      for (const [i, part] of ub010.entries()) if (i % 4 === 0) part.spots[2].verdict = 'NOK';
      const bs010 = station({ line: 'L2', name: 'L2-BS-010', count: 10, centre: [6, 6], spread: [0.2, 0.2], seed: 12 });
      const old = station({ line: 'L2', name: 'L2-BS-010', count: 3, centre: [6, 6], spread: [0.2, 0.2], nok: () => true, ageS: 36000, seed: 13 });
      for (const part of old) part.spots[0].verdict = 'NOK';
      const stranger = station({ line: 'L9', name: 'L9-XX-010', count: 4, centre: [6], spread: [0.2], seed: 14 });
      parts = [...ub010, ...bs010, ...old, ...stranger];
      await storeResults(schema, parts);
    });

    /** what the metrics must say for the stations of the sample plant, counted from the parts stored */
    function expected(hours) {
      const since = Date.now() - hours * 3600 * 1000;
      const out = [];
      for (const line of sample().lines)
        for (const area of line.areas)
          for (const st of area.stations) {
            const mine = parts.filter((p) => p.station.line === line.id && p.station.station === st.id && Date.parse(p.timestamps.result) >= since);
            const ok = mine.filter((p) => p.verdict === 'OK').length;
            const spots = new Map();
            for (const p of mine)
              for (const s of p.spots) {
                const c = spots.get(s.spotId) ?? { spot: s.spotId, total: 0, nok: 0, missing: 0 };
                c.total += 1;
                if (s.verdict === 'NOK') c.nok += 1;
                if (s.verdict === 'MISSING') c.missing += 1;
                spots.set(s.spotId, c);
              }
            const last = mine.length ? new Date(Math.max(...mine.map((p) => Date.parse(p.timestamps.result)))).toISOString() : null;
            out.push({
              line: line.id,
              area: area.id,
              station: st.id,
              parts: mine.length,
              ok,
              nok: mine.length - ok,
              yield: mine.length ? Number(((100 * ok) / mine.length).toFixed(1)) : null,
              last,
              spots: [...spots.values()].sort((a, b) => b.nok + b.missing - (a.nok + a.missing) || a.spot.localeCompare(b.spot)),
            });
          }
      return out;
    }

    it('counts parts, OK, NOK, yield and NOK/MISSING per spot per station of the plant, in plant order, over the window', async function () {
      const r = await rt.request('GET', '/spotfusion/plant/metrics/metrics.yaml', { token: reader });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ok, true);
      assert.equal(r.json.configured, true);
      assert.equal(r.json.hours, 24);
      assert.deepEqual(r.json.stations, expected(24));
      // what that means, spelled out for two stations
      const [ub010, , , bs010, bs020] = r.json.stations;
      assert.deepEqual([ub010.parts, ub010.ok, ub010.nok, ub010.yield], [20, 15, 5, 75]);
      assert.deepEqual(ub010.spots.slice(0, 2).map((s) => [s.spot, s.nok, s.missing]), [['s3', 5, 0], ['s2', 0, 1]]);
      assert.deepEqual([bs010.parts, bs010.nok], [13, 3]);
      assert.deepEqual(bs020, { line: 'L2', area: 'BS', station: 'L2-BS-020', parts: 0, ok: 0, nok: 0, yield: null, last: null, spots: [] }, 'a station without results is listed');
      assert.ok(!r.json.stations.some((s) => s.station === 'L9-XX-010'), 'only the stations of the plant');

      const eight = await rt.request('GET', '/spotfusion/plant/metrics/metrics.yaml?hours=8', { token: reader });
      assert.equal(eight.status, 200, eight.text);
      assert.equal(eight.json.hours, 8);
      assert.deepEqual(eight.json.stations, expected(8));
      assert.deepEqual([eight.json.stations[3].parts, eight.json.stations[3].yield], [10, 100], 'the old NOK parts are outside 8 hours');
    });

    it('a plant without a database: configured false; a database that does not answer: 503 naming it; bad hours 400; an invalid plant 422', async function () {
      const none = await rt.request('GET', '/spotfusion/plant/metrics/nodb.yaml', { token: reader });
      assert.equal(none.status, 200, none.text);
      assert.equal(none.json.configured, false);
      assert.match(none.json.reason, /no database/);
      assert.equal(none.json.stations, undefined);

      const { port } = YAML.parse(fs.readFileSync(path.join(dir, 'down.yaml'), 'utf8')).network.services.database;
      const t0 = Date.now();
      const down = await rt.request('GET', '/spotfusion/plant/metrics/down.yaml', { token: reader });
      assert.equal(down.status, 503, down.text);
      assert.equal(down.json.code, 'NOT_CONNECTED');
      assert.match(down.json.error, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.match(down.json.error, /ECONNREFUSED/);
      assert.ok(Date.now() - t0 < 8000, 'answered within the connect timeout');

      for (const h of ['0', '721', 'abc', '-5']) {
        const bad = await rt.request('GET', `/spotfusion/plant/metrics/metrics.yaml?hours=${h}`, { token: reader });
        assert.equal(bad.status, 400, `hours=${h}: ${bad.text}`);
        assert.match(bad.json.error, /hours must be a number from 1 to 720/);
      }
      const invalid = await rt.request('GET', '/spotfusion/plant/metrics/broken.yaml', { token: reader });
      assert.equal(invalid.status, 422, invalid.text);
      assert.ok(invalid.json.problems.length >= 1);
      assert.equal((await rt.request('GET', '/spotfusion/plant/metrics/none.yaml', { token: reader })).status, 404);
    });

    it('a plant database without the tables yet: every station with 0 parts', async function () {
      const p = sample();
      p.network.services.database = { host: '127.0.0.1', port: 5432, name: 'test', schema: `${schema}_empty` };
      save('fresh.yaml', p);
      const r = await rt.request('GET', '/spotfusion/plant/metrics/fresh.yaml', { token: reader });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.stations.length, 5);
      assert.ok(r.json.stations.every((s) => s.parts === 0 && s.yield === null));
      assert.match(r.json.note, /holds no results yet/);
    });
  });

  describe('permissions', function () {
    it('asks for a login; a read-only login reads metrics but may not diff or deploy', async function () {
      save('perm.yaml', labPlant([targets[0].port, targets[1].port]));
      for (const [m, p] of [
        ['GET', '/spotfusion/plant/metrics/perm.yaml'],
        ['POST', '/spotfusion/plant/diff/perm.yaml'],
        ['POST', '/spotfusion/plant/deploy/perm.yaml'],
      ]) {
        assert.equal((await rt.request(m, p, { body: {} })).status, 401, `${m} ${p}`);
      }
      assert.equal((await rt.request('GET', '/spotfusion/plant/metrics/perm.yaml', { token: reader })).status, 200);
      for (const p of ['/spotfusion/plant/diff/perm.yaml', '/spotfusion/plant/deploy/perm.yaml']) {
        const r = await rt.request('POST', p, { token: reader, body: {} });
        assert.equal(r.status, 401, `${p}: ${r.text}`);
      }
      assert.equal(fs.existsSync(path.join(dir, 'generated', 'perm')), false, 'nothing generated');
    });
  });

  describe('diff and deploy', function () {
    const A = 'L1-UB-010';
    const B = 'L1-UB-020';

    before(function () {
      save('lab.yaml', labPlant([targets[0].port, targets[1].port]));
    });

    it('diff before a deploy: both stations differ, streamed as NDJSON; the generated files are the plant\'s', async function () {
      const r = await stream(rt.port, '/spotfusion/plant/diff/lab.yaml', { token: admin, body: {} });
      const by = checkSequence(r, 'diff', [A, B], ['diff']);
      for (const [s, t] of [
        [A, targets[0]],
        [B, targets[1]],
      ]) {
        assert.equal(by[s].status, 'differs', JSON.stringify(by[s]));
        assert.equal(by[s].url, `http://${s === A ? '127.0.0.1' : 'localhost'}:${t.port}`);
        assert.ok(by[s].added > 0, 'the station flow is new there');
        assert.match(by[s].diff, /^\+ /m);
        assert.equal(by[s].diff.split('\n').filter((l) => l.startsWith('+ ')).length, by[s].added);
      }
      assert.deepEqual(r.events.at(-1), { type: 'done', ok: true, summary: { [A]: 'differs', [B]: 'differs' }, atMs: r.events.at(-1).atMs });
      const inventory = YAML.parse(fs.readFileSync(path.join(dir, 'generated', 'lab', 'stations.yaml'), 'utf8'));
      assert.deepEqual(inventory.stations.map((s) => s.name), [A, B]);
      assert.ok(!r.text.includes(PASSWORD), 'no password in the answer');
    });

    it('only: an unknown station is 400 before anything starts; a bad body is 400', async function () {
      fs.rmSync(path.join(dir, 'generated', 'lab'), { recursive: true, force: true });
      for (const only of [['L1-UB-999'], [A, 'nope'], [], 'L1-UB-010', [3]]) {
        const r = await rt.request('POST', '/spotfusion/plant/deploy/lab.yaml', { token: admin, body: { only } });
        assert.equal(r.status, 400, `${JSON.stringify(only)}: ${r.text}`);
        assert.equal(r.json.code, 'USAGE');
        assert.match(r.headers['content-type'], /^application\/json/);
      }
      const unknown = await rt.request('POST', '/spotfusion/plant/diff/lab.yaml', { token: admin, body: { only: ['L1-UB-999'] } });
      assert.match(unknown.json.error, /not in the plant: "L1-UB-999"/);
      assert.equal(fs.existsSync(path.join(dir, 'generated', 'lab')), false, 'nothing generated');
      fs.writeFileSync(path.join(dir, 'broken.yaml'), SAMPLE.replace('protocol: ethernet-ip', 'protocol: profinet'));
      const invalid = await rt.request('POST', '/spotfusion/plant/deploy/broken.yaml', { token: admin, body: {} });
      assert.equal(invalid.status, 422, invalid.text);
      assert.ok(invalid.json.problems.length >= 1);
    });

    it('deploy of one station (only): progress deploy then health as they happen, healthy; then its diff is "same", the other still differs', async function () {
      const r = await stream(rt.port, '/spotfusion/plant/deploy/lab.yaml', { token: admin, body: { only: [A] } });
      const by = checkSequence(r, 'deploy', [A], ['deploy', 'health']);
      assert.equal(by[A].status, 'ok', JSON.stringify(by[A]));
      assert.equal(by[A].exit, 0);
      assert.equal(by[A].health, 'healthy');
      assert.ok(by[A].messages.some((m) => /deployed .*flow\.json \(full; \+\d+ -\d+ ~\d+; rev [0-9a-f]+\)/.test(m)), JSON.stringify(by[A].messages));
      assert.ok(by[A].messages.includes(`${A}: healthy`));
      assert.deepEqual(r.events.at(-1).summary, { [A]: 'ok' });
      assert.equal(r.events.at(-1).ok, true);
      // streamed: the start line came before the health check's settle time had passed
      assert.ok(r.events.at(-1).atMs - r.events[0].atMs >= 1500, `start at ${r.events[0].atMs} ms, done at ${r.events.at(-1).atMs} ms: not streamed`);
      assert.ok(!r.text.includes(PASSWORD));

      // the flow is on the station A, with its station values
      const api = new AdminClient(`http://127.0.0.1:${targets[0].port}`, { user: 'admin', password: PASSWORD });
      await api.login();
      const { flows } = await api.getFlows();
      const tab = flows.find((n) => n.type === 'tab' && Array.isArray(n.env) && n.env.some((e) => e.name === 'STATION_ID'));
      assert.ok(tab, 'the station tab is deployed');
      assert.equal(tab.env.find((e) => e.name === 'STATION_ID').value, A);

      const d = await stream(rt.port, '/spotfusion/plant/diff/lab.yaml', { token: admin, body: {} });
      const dby = checkSequence(d, 'diff', [A, B], ['diff']);
      assert.equal(dby[A].status, 'same', JSON.stringify(dby[A]));
      assert.equal(dby[A].diff, 'no changes');
      assert.deepEqual([dby[A].added, dby[A].removed, dby[A].changed], [0, 0, 0]);
      assert.equal(dby[B].status, 'differs');
      const only = await stream(rt.port, '/spotfusion/plant/diff/lab.yaml', { token: admin, body: { only: [B] } });
      checkSequence(only, 'diff', [B], ['diff']);
    });

    it('a wrong password in the admin server\'s environment: the station failed, with a message, and no password anywhere', async function () {
      save('wrongpw.yaml', labPlant([targets[0].port, targets[1].port], { passwordEnv: 'SF_TEST_WRONG_PASSWORD' }));
      const r = await stream(rt.port, '/spotfusion/plant/deploy/wrongpw.yaml', { token: admin, body: { only: [B] } });
      const by = checkSequence(r, 'deploy', [B], ['deploy']);
      assert.equal(by[B].status, 'failed');
      assert.equal(by[B].exit, 5);
      assert.equal(by[B].health, 'not checked');
      assert.ok(by[B].messages.some((m) => /login as admin at http:\/\/localhost:\d+ failed: HTTP 40[13]/.test(m)), JSON.stringify(by[B].messages));
      assert.deepEqual(r.events.at(-1).summary, { [B]: 'failed (exit 5)' });
      assert.equal(r.events.at(-1).ok, false);
      for (const secret of [WRONG, PASSWORD, '***']) assert.ok(!r.text.includes(secret), `the answer holds ${secret === '***' ? 'a masked secret' : 'a password'}`);
      const api = new AdminClient(`http://localhost:${targets[1].port}`, { user: 'admin', password: PASSWORD });
      await api.login();
      const { flows } = await api.getFlows();
      assert.ok(!flows.some((n) => n.type === 'tab' && Array.isArray(n.env) && n.env.some((e) => e.name === 'STATION_ID')), 'nothing deployed on B');
    });

    it('a station whose edge does not answer: error in the diff, failed in the deploy, and the others go on', async function () {
      const free = await freePort();
      save('half.yaml', labPlant([targets[0].port, free]));
      const d = await stream(rt.port, '/spotfusion/plant/diff/half.yaml', { token: admin, body: {} });
      const by = checkSequence(d, 'diff', [A, B], ['diff']);
      // A runs lab.yaml's flow: only the generated tab's note of the plant file differs
      assert.equal(by[A].status, 'differs', JSON.stringify(by[A]));
      assert.deepEqual([by[A].added, by[A].removed, by[A].changed], [0, 0, 1]);
      assert.match(by[A].diff, /^~ \S+ \(tab\): info$/);
      assert.equal(by[B].status, 'error');
      assert.equal(by[B].diff, undefined);
      assert.ok(by[B].messages.some((m) => m.includes(`localhost:${free}`) && /ECONNREFUSED/.test(m)), JSON.stringify(by[B].messages));
      assert.deepEqual(d.events.at(-1).summary, { [A]: 'differs', [B]: 'error' });
      assert.equal(d.events.at(-1).ok, false);

      const r = await stream(rt.port, '/spotfusion/plant/deploy/half.yaml', { token: admin, body: {} });
      const dep = checkSequence(r, 'deploy', [A, B], { [A]: ['deploy', 'health'], [B]: ['deploy'] });
      assert.deepEqual([dep[A].status, dep[A].health], ['ok', 'healthy'], JSON.stringify(dep[A]));
      assert.deepEqual([dep[B].status, dep[B].exit, dep[B].health], ['failed', 5, 'not checked'], JSON.stringify(dep[B]));
      assert.ok(dep[B].messages.some((m) => /ECONNREFUSED/.test(m)), JSON.stringify(dep[B].messages));
      assert.deepEqual(r.events.at(-1).summary, { [A]: 'ok', [B]: 'failed (exit 5)' });
      assert.equal(r.events.at(-1).ok, false);
    });

    it('a client that goes away mid-stream breaks nothing: the deploy ends, the server answers, the next deploy runs', async function () {
      const r = await stream(rt.port, '/spotfusion/plant/deploy/lab.yaml', { token: admin, body: { only: [A] }, stopAfter: (e) => e.type === 'progress' });
      assert.equal(r.stopped, true);
      // the running deploy holds the plant: a second one waits its turn (409) or runs after it ended
      const end = Date.now() + 60000;
      let next;
      for (;;) {
        next = await stream(rt.port, '/spotfusion/plant/deploy/lab.yaml', { token: admin, body: { only: [A] } });
        if (next.status !== 409 || Date.now() > end) break;
        assert.match(JSON.parse(next.text).error, /is running/);
        await new Promise((res) => setTimeout(res, 500));
      }
      const by = checkSequence(next, 'deploy', [A], ['deploy', 'health']);
      assert.equal(by[A].status, 'ok', JSON.stringify(by[A]));
      assert.equal((await rt.request('GET', '/spotfusion/plant/files', { token: reader })).status, 200);
      assert.equal(rt.proc.exitCode, null, 'the admin server runs');
      assert.doesNotMatch(rt.stdout + rt.stderr, /Unhandled|ERR_STREAM|uncaught/i);
    });
  });
});
