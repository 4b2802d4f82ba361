'use strict';
// The spc-plant node in a Node-RED runtime against the real PostgreSQL on loopback: results of three stations on
// two lines stored as the stations store them (our insert path, idempotent on resultId), read back as yield and
// worst Cpk per line and station. The expected figures are computed here from the inserted values with the textbook
// X̄-R arithmetic (d2 = 2.326 for n = 5), not with the package's SPC code.
const assert = require('node:assert/strict');
const { helper, onTab, nextMessage, until, watchStatus } = require('../support/red');
const { requireService, connectPostgres } = require('../support/services');
const { freePort } = require('../support/redis-server');
const pgConfigNode = require('../../dist/nodes/spotfusion-postgres-config/spotfusion-postgres-config.js');
const spcPlantNode = require('../../dist/nodes/spc-plant/spc-plant.js');
const { N, W, SPEC, expectedCpk, worstOf, plantData, storeResults } = require('../support/plant-results');

const NODES = [pgConfigNode, spcPlantNode];

describe('spc-plant node (the plant view of SPC; real PostgreSQL on loopback)', function () {
  this.timeout(30000);
  let pg;
  let schema;
  let n = 0;
  let data;

  before(async function () {
    await requireService(this, 'postgres');
    pg = await connectPostgres();
  });

  beforeEach(async function () {
    n += 1;
    schema = `sfplant_${process.pid}_${n}`;
  });

  afterEach(async function () {
    await helper.unload();
    if (pg) await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  after(async function () {
    if (pg) await pg.end();
  });

  function flow(over = {}, pgOver = {}) {
    return onTab([
      { id: 'pgc', type: 'spotfusion-postgres-config', host: '127.0.0.1', port: 5432, database: 'test', schema, reconnectMaxMs: 300, connectTimeout: 2000, queryTimeout: 5000, ...pgOver },
      { id: 'plant', type: 'spc-plant', name: 'plant', postgres: 'pgc', hours: 8, interval: 0, chart: 'xbar-r', subgroupSize: N, capabilityWindow: W, characteristics: 'diameter', spec: JSON.stringify({ diameter: SPEC }), wires: [['lines'], ['stations']], ...over },
      { id: 'lines', type: 'helper' },
      { id: 'stations', type: 'helper' },
      { id: 'catch', type: 'catch', scope: ['plant'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
  }

  it('gives yield and the worst Cpk per line and station as computed independently; results outside the window do not count; worst first', async function () {
    data = plantData();
    await storeResults(schema, [...data.l1st10, ...data.old, ...data.l1st20, ...data.l2st10]);
    await helper.load(NODES, flow());
    await until(() => helper.getNode('pgc').connection.state === 'connected', 10000, 'connected');
    const gotLines = nextMessage(helper.getNode('lines'), () => true, 10000);
    const gotStations = nextMessage(helper.getNode('stations'), () => true, 10000);
    helper.getNode('plant').receive({ payload: 'refresh', topic: 'x' });
    const [lines, stations] = await Promise.all([gotLines, gotStations]);

    const e = {
      'L1/ST10': { parts: 60, ok: 54, cpk: expectedCpk(data.l1st10, SPEC) },
      'L1/ST20': { parts: 30, ok: 30, cpk: expectedCpk(data.l1st20, SPEC) },
      'L2/ST10': { parts: 40, ok: 36, cpk: expectedCpk(data.l2st10, SPEC) },
    };
    assert.equal(stations.topic, 'spc-plant/stations');
    assert.equal(stations.payload.length, 3, JSON.stringify(stations.payload));
    for (const row of stations.payload) {
      const x = e[`${row.line}/${row.station}`];
      assert.ok(x, `unexpected station ${row.line}/${row.station}`);
      assert.equal(row.parts, x.parts, `${row.line}/${row.station} parts`);
      assert.equal(row.ok, x.ok);
      assert.equal(row.nok, x.parts - x.ok);
      assert.equal(row.yield, Math.round((1000 * x.ok) / x.parts) / 10);
      const w = worstOf(x.cpk);
      assert.equal(row.worstSpot, w.spot, `${row.line}/${row.station}: worst spot of ${JSON.stringify(x.cpk)}`);
      assert.ok(Math.abs(row.worstCpk - w.cpk) <= 1e-3 * Math.abs(w.cpk), `${row.line}/${row.station}: Cpk ${row.worstCpk} vs ${w.cpk}`);
      assert.equal(row.series, Object.keys(x.cpk).length);
      assert.equal(row.withCpk, Object.keys(x.cpk).length);
    }
    // worst first: L2/ST10 (s1 near the lower limit), then the noisy s3 of L1/ST10, then L1/ST20
    const cpkOrder = stations.payload.map((r) => r.worstCpk);
    assert.deepEqual([...cpkOrder].sort((a, b) => a - b), cpkOrder);
    assert.equal(`${stations.payload[0].line}/${stations.payload[0].station}`, 'L2/ST10');
    assert.equal(stations.payload[0].worstSpot, 's1');

    assert.equal(lines.topic, 'spc-plant/lines');
    assert.deepEqual(lines.window, { hours: 8, partsPerStation: N * W, at: lines.window.at });
    assert.deepEqual(lines.payload.map((l) => [l.line, l.stations, l.parts, l.ok, l.nok, l.yield]), [
      ['L2', 1, 40, 36, 4, 90],
      ['L1', 2, 90, 84, 6, 93.3],
    ]);
    const l1 = lines.payload[1];
    const w1 = worstOf({ ...e['L1/ST10'].cpk });
    assert.equal(l1.worstAt, `ST10/${w1.spot}`);
    assert.ok(Math.abs(l1.worstCpk - w1.cpk) <= 1e-3 * Math.abs(w1.cpk));
    assert.equal(lines.payload[0].worstAt, 'ST10/s1');
    assert.equal(lines.payload[0].worstCpk, stations.payload[0].worstCpk);
  });

  it('without spec limits takes the lower limit from the verdict rules\' minimum (values in mm), as the spc node does', async function () {
    data = plantData();
    await storeResults(schema, data.l1st20);
    await helper.load(NODES, flow({ spec: '{}' }));
    await until(() => helper.getNode('pgc').connection.state === 'connected', 10000, 'connected');
    const got = nextMessage(helper.getNode('stations'), () => true, 10000);
    helper.getNode('plant').receive({ payload: 'refresh' });
    const [row] = (await got).payload;
    // one-sided: Cpl = (μ − 4.5)/3σ̂, 4.5 mm being the rules' minimum the spots carry
    const cpl = expectedCpk(data.l1st20, { lsl: 4.5 });
    const w = worstOf(cpl);
    assert.equal(row.worstSpot, w.spot);
    assert.ok(Math.abs(row.worstCpk - w.cpk) <= 1e-3 * Math.abs(w.cpk), `${row.worstCpk} vs ${w.cpk}`);
  });

  it('refreshes by itself every interval once the database is connected; an empty window gives empty lists and says so', async function () {
    const statuses = watchStatus();
    try {
      await helper.load(NODES, flow({ interval: 1 }));
      const lines = helper.getNode('lines');
      const first = await nextMessage(lines, () => true, 10000);
      const t0 = Date.now();
      const second = await nextMessage(lines, () => true, 10000);
      const gap = Date.now() - t0;
      assert.deepEqual(first.payload, []);
      assert.deepEqual(second.payload, []);
      assert.ok(gap >= 500, `a refresh every second, not faster: ${gap} ms`);
      await statuses.statusOf('plant', (s) => s.fill === 'green' && /no results in the last 8 h/.test(s.text), 5000);
    } finally {
      statuses.stop();
    }
  });

  it('a database that does not answer: an input fails to Catch with the reason, the status says it, and it recovers nothing it should not', async function () {
    const closed = await freePort();
    const statuses = watchStatus();
    try {
      await helper.load(NODES, flow({}, { port: closed }));
      helper.getNode('plant').receive({ payload: 'refresh', _msgid: 'm1' });
      const caught = await nextMessage(helper.getNode('caught'), () => true, 10000);
      assert.match(caught.error.message, /spc-plant: reading the plant database failed: .*not connected/);
      assert.equal(caught.error.source.id, 'plant');
      await statuses.statusOf('plant', (s) => s.fill === 'red' || s.fill === 'yellow', 10000);
    } finally {
      statuses.stop();
    }
  });

  it('refuses a bad configuration at deploy with an error naming the field', async function () {
    const cases = [
      [{ postgres: '' }, /no PostgreSQL config node/],
      [{ spec: '{"diameter":{"lsl":5,"usl":4}}' }, /spec\.diameter: lsl must be below usl/],
      [{ spec: '{nope' }, /spec is not JSON/],
      [{ hours: 0 }, /hours must be a number in 0\.01…8784/],
      [{ interval: 0.5 }, /interval must be 0 .* or at least 1 s/],
      [{ capabilityWindow: 61 }, /capabilityWindow must be an integer in 1…60/],
      [{ subgroupSize: 1 }, /subgroupSize must be an integer in 2…25/],
    ];
    for (const [over, re] of cases) {
      const statuses = watchStatus();
      try {
        await helper.load(NODES, flow(over));
        const s = await statuses.statusOf('plant', (x) => x.fill === 'red', 5000);
        assert.match(s.text, re, JSON.stringify(over));
        // an input then fails clearly, it does not hang
        helper.getNode('plant').receive({ payload: 1 });
        const caught = await nextMessage(helper.getNode('caught'), () => true, 5000);
        assert.match(caught.error.message, re);
      } finally {
        statuses.stop();
        await helper.unload();
      }
    }
  });

  it('closes within seconds and leaves no connection of its own behind', async function () {
    await storeResults(schema, []);
    await helper.load(NODES, flow({ interval: 1 }));
    await nextMessage(helper.getNode('lines'), () => true, 10000);
    const mine = async () => (await pg.query("SELECT count(*)::int AS c FROM pg_stat_activity WHERE application_name = 'spotfusion:pgc'")).rows[0].c;
    assert.ok((await mine()) >= 1, 'the plant view holds a connection while deployed');
    const t = Date.now();
    await helper.unload();
    assert.ok(Date.now() - t < 5000, `closed in ${Date.now() - t} ms`);
    await until(async () => (await mine()) === 0, 5000, 'its connections closed');
  });
});
