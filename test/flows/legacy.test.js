'use strict';
// The per-service flows of flows/legacy-*.json, all loaded into one Node-RED runtime as a line in the middle of
// its migration: the test drives the simulated Logix controller as the PLC program would (serial, program,
// Trigger; the next part once get-result has written Done), the camera simulator renders the frames, the real Redis (db 9,
// a key prefix per run) carries the legacy hashes, the real PostgreSQL takes the results. Each flow is checked
// by what it produced: hashes (as the legacy Python readers would parse them), files, HTTP answers, PLC writes
// and database rows.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { helper, until, loggedErrors } = require('../support/red');
const { requireService, connectPostgres, connectRedis } = require('../support/services');
const { prepareUserDir } = require('../../scripts/userdir.cjs');
const { acquireSimulator, releaseSimulator, currentSimulator } = require('../../dist/nodes/lib/plc/sim-host');
const { parsePythonLiteral } = require('../../dist/nodes/lib/python-literal');
const { readFlow, loadFlow, httpGet, withEnv, ROOT } = require('./support');

const LEGACY = fs.readdirSync(path.join(ROOT, 'flows')).filter((f) => f.startsWith('legacy-') && f.endsWith('.json')).sort();
const HS = ['Busy', 'Done', 'ResultOK', 'ResultNOK', 'ResultCode'];

describe('flows/legacy-*.json: one flow per legacy service, run together on the simulators, Redis and PostgreSQL', function () {
  this.timeout(60000);
  const run = crypto.randomBytes(4).toString('hex');
  const prefix = `sftest:${run}:`;
  const schema = `sflegacy_${run}`;
  let redis;
  let pg;
  let restore;
  let userDir;
  let httpNode;
  const results = []; // InspectionResults leaving data-enrichment, in order
  const handshakes = []; // groups of the five get-result tag writes, in order
  const truth = new Map(); // part serial → { spotId: class }: the camera simulator's ground truth of its frame
  const caught = []; // what the flows' own Catch nodes received: nothing, in a run where all went well

  before(async function () {
    for (const s of ['redis', 'postgres']) await requireService(this, s);
    assert.deepEqual(LEGACY.map((f) => f.replace(/^legacy-|\.json$/g, '')), [
      'camera-acquisition', 'data-enrichment', 'database-writer', 'get-data', 'get-image', 'get-result', 'image-processing', 'inference', 'plc-monitor', 'tag-monitor',
    ]);
    redis = await connectRedis(9);
    pg = await connectPostgres();

    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-legacy-'));
    prepareUserDir(userDir);
    helper.settings({ userDir });
    restore = withEnv({
      REDIS_DB: '9',
      REDIS_KEY_PREFIX: prefix,
      IMAGE_DIR: path.join(userDir, 'images'),
      DATABASE_NAME: 'test',
      DATABASE_SCHEMA: schema,
    });
    // the test is the PLC program: it takes the simulated controller first (its own station script, period one
    // hour, never fires) and records the five get-result tags after every tag write
    const sim = await acquireSimulator(3_600_000);
    const db = sim.db;
    const writes = [];
    const orig = db.writeBytes.bind(db);
    db.writeBytes = (...args) => {
      const r = orig(...args);
      writes.push(Object.fromEntries(HS.map((k) => [k, db.get(k)])));
      if (writes.length % HS.length === 0) handshakes.push(writes[writes.length - 1]);
      return r;
    };
    const flow = LEGACY.flatMap((f) => readFlow(f));
    ({ httpNode } = await loadFlow(helper, flow));
    helper.getNode('lg_de_out').on('input', (msg) => results.push(msg.payload));
    // the frame camera-acquisition grabbed reaches image-processing with the simulator's ground truth
    helper.getNode('lg_ip_crop').on('input', (msg) => {
      truth.set(msg.part.serial, Object.fromEntries(msg.frame.truth.map((t) => [t.spotId, t.class])));
    });
    for (const n of flow.filter((x) => x.type === 'catch')) {
      helper.getNode(n.id).on('input', (msg) => caught.push(`${n.id}: ${msg.error && msg.error.message}`));
    }
    const reads = sim.stats.tagReads;
    await until(() => sim.stats.tagReads > reads + 10, 10000, 'the plc-read nodes cycling');
    // three parts through the whole chain, one at a time
    for (let k = 1; k <= 3; k++) {
      const serial = `WB-${String(k).padStart(6, '0')}`;
      db.set('Done', false);
      db.set('PartSerial', serial);
      db.set('ProgramNo', k);
      db.set('Model', 'SEDAN-A');
      db.set('Counter', k);
      db.set('Trigger', true);
      await new Promise((r) => setTimeout(r, 200));
      db.set('Trigger', false);
      await until(() => db.get('Done') === true && results.length === k, 20000, `part ${serial} through the legacy flows`, 20);
    }
  });

  after(async function () {
    await helper.unload();
    await releaseSimulator();
    if (restore) restore();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pg.end();
    }
  });

  const hash = async (name) => {
    const raw = await redis.hgetall(`${prefix}${name}`);
    return { raw, value: Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, parsePythonLiteral(v)])) };
  };

  it('plc-monitor writes the part of each trigger into plc_data as Python literals', async function () {
    const { raw, value } = await hash('plc_data');
    assert.equal(raw.trigger, 'True');
    assert.match(raw.part_serial, /^'WB-\d{6}'$/);
    assert.match(raw.program, /^[1-4]$/);
    assert.equal(typeof value.counter, 'number');
    assert.equal(value.part_serial, `WB-${String(value.counter).padStart(6, '0')}`);
  });

  it('tag-monitor keeps plc_tags up to date with the changed tags', async function () {
    const { value } = await until(async () => {
      const h = await hash('plc_tags');
      return h.value.counter === 3 && h;
    }, 5000, 'counter in plc_tags');
    assert.equal(value.currents.length, 10);
    assert.equal(typeof value.done, 'boolean');
    assert.equal(value.counter, 3);
  });

  it('camera-acquisition saves each frame as PNG and records it in image_data', async function () {
    const { value } = await hash('image_data');
    assert.equal(value.path, path.join(userDir, 'images', `${value.part_serial}.png`));
    assert.deepEqual([value.width, value.height], [2448, 2048]);
    const png = fs.readFileSync(value.path);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
  });

  it('get-image answers the last image over HTTP, 404 before there is one', async function () {
    const { value } = await hash('image_data');
    const r = await httpGet(httpNode, '/spotfusion/legacy/image');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.match(r.headers['x-part-serial'], /^WB-\d{6}$/);
    assert.equal(r.body.subarray(1, 4).toString(), 'PNG');
    assert.ok(r.body.length > 1000 && fs.existsSync(value.path));
    await redis.hdel(`${prefix}image_data`, 'path');
    const missing = await httpGet(httpNode, '/spotfusion/legacy/image');
    assert.equal(missing.status, 404);
  });

  it('image-processing cuts the spots of the part\'s program and records them in image_processing', async function () {
    const { value } = await hash('image_processing');
    assert.equal(value.spots, String(value.program) === '1' ? 48 : 24);
    assert.equal(value.spot_ids.length, value.spots);
    assert.deepEqual(value.errors, []);
  });

  it('inference (module-a / default-module) writes the predictions into neural_result, agreeing with the ground truth', async function () {
    const { value } = await hash('neural_result');
    assert.equal(value.model, 'spotfusion-demo');
    assert.ok(value.predictions.length === 24 || value.predictions.length === 48);
    // the hash holds the last part: its predictions against what the camera simulator drew in that frame
    const t = truth.get(results[results.length - 1].part.serial);
    assert.ok(t, 'ground truth of the last part seen');
    let agree = 0;
    for (const p of value.predictions) {
      assert.match(p.spot, /^S\d\d$/);
      assert.ok(p.spot in t, `${p.spot} is a weld of the frame`);
      assert.ok(['ok', 'undersize', 'missing', 'crack', 'expulsion', 'burn_through', 'off_position'].includes(p.label));
      assert.ok(p.score > 0 && p.score <= 1);
      if ((p.label === 'ok') === (t[p.spot] === 'ok')) agree += 1;
    }
    // the demo model is 98.3 % right on full-size frames (docs/VISION.md)
    assert.ok(agree / value.predictions.length >= 0.97, `predictions agreeing with the ground truth: ${agree}/${value.predictions.length}`);
  });

  it('data-enrichment joins plc_data and the predictions into an InspectionResult in result_data, with the verdicts of the ground truth', async function () {
    assert.deepEqual(results.map((r) => r.part.serial), ['WB-000001', 'WB-000002', 'WB-000003']);
    let spotsChecked = 0;
    let spotsAgree = 0;
    for (const r of results) {
      assert.match(r.part.serial, /^WB-\d{6}$/);
      assert.equal(r.station.station, 'ST-DEMO');
      assert.deepEqual(r.faults, []);
      assert.equal(r.verdict, r.spots.every((s) => s.verdict === 'OK') ? 'OK' : 'NOK');
      const t = truth.get(r.part.serial);
      assert.ok(t, `ground truth seen for ${r.part.serial}`);
      // the frame has every weld of the sedan; the recipe of the part's program picks 48 (program 1) or 24
      assert.equal(r.spots.length, String(r.part.program) === '1' ? 48 : 24, `spots of ${r.part.serial} (program ${r.part.program})`);
      let expected = 'OK';
      for (const sp of r.spots) {
        assert.ok(sp.spotId in t, `${sp.spotId} is a weld of the frame`);
        if (t[sp.spotId] !== 'ok') expected = 'NOK';
        spotsChecked += 1;
        if ((sp.verdict === 'OK') === (t[sp.spotId] === 'ok')) spotsAgree += 1;
      }
      assert.equal(r.verdict, expected, `${r.part.serial}: verdict against the simulator's ground truth ${JSON.stringify(Object.entries(t).filter(([, c]) => c !== 'ok'))}`);
    }
    assert.ok(spotsAgree / spotsChecked >= 0.97, `spot verdicts agreeing with the ground truth: ${spotsAgree}/${spotsChecked}`);
    const { value } = await hash('result_data');
    assert.ok(['OK', 'NOK'].includes(value.verdict));
    assert.equal(value.result.part.serial, value.part_serial);
    assert.equal(value.result_code, value.verdict === 'OK' ? 1 : 2);
  });

  it('get-result writes each verdict to the PLC (Done, ResultOK/ResultNOK, ResultCode)', async function () {
    for (let i = 0; i < 3; i++) {
      const r = results[i];
      assert.deepEqual(handshakes[i], { Busy: false, Done: true, ResultOK: r.verdict === 'OK', ResultNOK: r.verdict === 'NOK', ResultCode: r.resultCode }, `part ${r.part.serial}`);
    }
    // "check now" re-reads result_data (e.g. written by the legacy data-enrichment) and writes it
    await redis.hset(`${prefix}result_data`, 'verdict', "'NOK'", 'result_code', '3');
    const n = handshakes.length;
    const sim = currentSimulator();
    sim.db.set('Done', false);
    helper.getNode('lg_gr_check').receive({});
    await until(() => handshakes.length > n && handshakes.some((h, i) => i >= n && h.ResultCode === 3), 5000, 'the handshake of "check now"');
    assert.deepEqual(handshakes.find((h, i) => i >= n && h.ResultCode === 3), { Busy: false, Done: true, ResultOK: false, ResultNOK: true, ResultCode: 3 });
  });

  it('database-writer stores every result in PostgreSQL', async function () {
    const ids = results.slice(0, 3).map((r) => r.resultId);
    const rows = await until(async () => {
      const q = await pg.query(`SELECT result_id, verdict, part_serial FROM "${schema}".inspection_result`).catch(() => ({ rows: [] }));
      return ids.every((id) => q.rows.some((x) => x.result_id === id)) && q.rows;
    }, 15000, 'results in PostgreSQL');
    for (const r of results.slice(0, 3)) {
      const row = rows.find((x) => x.result_id === r.resultId);
      assert.deepEqual([row.verdict, row.part_serial], [r.verdict, r.part.serial]);
    }
  });

  it('get-data answers the PLC and result hashes as JSON', async function () {
    const r = await httpGet(httpNode, '/spotfusion/legacy/data');
    r.body = JSON.parse(r.body.toString('utf8'));
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /application\/json/);
    assert.match(r.body.plc.part_serial, /^WB-\d{6}$/);
    assert.equal(r.body.plc.trigger, true);
    assert.ok(['OK', 'NOK'].includes(r.body.result.verdict));
  });

  it('ran without an error: every Catch node of the flows stayed silent and nothing was logged as an error', function () {
    assert.deepEqual(caught, [], 'errors caught by the flows');
    assert.deepEqual(loggedErrors(), [], 'errors logged');
  });
});

describe('flows/legacy-*.json: each flow deploys on its own (next to legacy services still running)', function () {
  this.timeout(60000);
  let restore;
  let userDir;

  before(async function () {
    for (const s of ['redis', 'postgres']) await requireService(this, s);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-legacy-one-'));
    prepareUserDir(userDir);
    helper.settings({ userDir });
    restore = withEnv({ REDIS_DB: '9', REDIS_KEY_PREFIX: `sftest:${crypto.randomBytes(4).toString('hex')}:`, IMAGE_DIR: path.join(userDir, 'images'), DATABASE_NAME: 'test' });
  });

  after(function () {
    if (restore) restore();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  afterEach(async function () {
    await helper.unload();
  });

  for (const file of LEGACY) {
    it(`${file} starts alone: every node created, no error logged`, async function () {
      const flow = readFlow(file);
      await loadFlow(helper, flow);
      await new Promise((r) => setTimeout(r, 300));
      for (const n of flow.filter((x) => x.type !== 'tab')) assert.ok(helper.getNode(n.id), `${n.id} (${n.type}) created`);
      assert.deepEqual(loggedErrors(), []);
    });
  }
});
