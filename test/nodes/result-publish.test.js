'use strict';
// result-publish (+ enrich) in a Node-RED runtime against the real RabbitMQ, Mosquitto, PostgreSQL and Redis on
// loopback; SQLite (outbox and store) in a temp user dir. Needs better-sqlite3 (native).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const amqplib = require('amqplib');
const mqtt = require('mqtt');
const Database = require('better-sqlite3');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { requireService, connectPostgres, connectRedis } = require('../support/services');
const { TcpProxy } = require('../support/tcp-proxy');
const { freePort } = require('../support/redis-server');
const { enrich, checkIdentity } = require('../../dist/nodes/lib/result/enrich.js');
const { parseRules } = require('../../dist/nodes/lib/result/verdict.js');
const { registry } = require('../../dist/nodes/lib/metrics.js');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { Runtime } = require('../support/runtime');

let httpNode;
const NODES = [
  require('../../dist/nodes/plc-config/plc-config.js'),
  require('../../dist/nodes/spotfusion-amqp-config/spotfusion-amqp-config.js'),
  require('../../dist/nodes/spotfusion-mqtt-config/spotfusion-mqtt-config.js'),
  require('../../dist/nodes/spotfusion-postgres-config/spotfusion-postgres-config.js'),
  require('../../dist/nodes/spotfusion-redis-config/spotfusion-redis-config.js'),
  require('../../dist/nodes/enrich/enrich.js'),
  (RED) => {
    httpNode = RED.httpNode;
    return require('../../dist/nodes/result-publish/result-publish.js')(RED);
  },
];

const RULES = parseRules({ spots: { s1: {}, s2: {} } });
const ID = checkIdentity({ line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' });
const REDIS_DB = 9;

function makeResult(i, over = {}) {
  return enrich(
    {
      part: { serial: `WB-${i}`, program: 7 },
      predictions: [
        { spotId: 's1', label: 'ok', score: 0.99 },
        { spotId: 's2', label: i % 7 === 0 ? 'nok' : 'ok', score: 0.95 },
      ],
      model: { name: 'spotnet', version: '1' },
      ...over,
    },
    RULES,
    ID,
  );
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('result-publish node (real RabbitMQ, Mosquitto, PostgreSQL, Redis; SQLite in a temp dir)', function () {
  this.timeout(60000);
  const run = crypto.randomBytes(4).toString('hex');
  let pg;
  let redis;
  let amqpConn;
  let amqpCh;
  let proxies;
  let userDir;
  let n = 0;
  let names;

  before(async function () {
    for (const s of ['rabbitmq', 'postgres', 'mosquitto', 'redis']) await requireService(this, s);
    pg = await connectPostgres();
    redis = await connectRedis(REDIS_DB);
    amqpConn = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
    amqpConn.on('error', () => undefined);
    amqpCh = await amqpConn.createChannel();
    proxies = { amqp: await TcpProxy.start(5672), mqtt: await TcpProxy.start(1883), pg: await TcpProxy.start(5432), redis: await TcpProxy.start(6379) };
  });

  beforeEach(function () {
    n += 1;
    names = {
      exchange: `sftest.${run}.${n}`,
      queue: `sftest.${run}.${n}.q`,
      topic: `sftest/${run}/${n}/{station}/result`,
      schema: `sftest_${run}_${n}`,
      stream: `sftest:${run}:${n}:results`,
    };
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-publish-'));
    helper.settings({ userDir });
    for (const p of Object.values(proxies || {})) p.restore();
  });

  beforeEach(async function () {
    // the node declares the same durable queue; declaring it first lets the test look at it at any time
    if (amqpCh) await amqpCh.assertQueue(names.queue, { durable: true });
  });

  afterEach(async function () {
    await helper.unload();
    if (!pg) return;
    await pg.query(`DROP SCHEMA IF EXISTS "${names.schema}" CASCADE`);
    await amqpCh.deleteQueue(names.queue).catch(() => undefined);
    await amqpCh.deleteExchange(names.exchange).catch(() => undefined);
    await redis.del(names.stream);
  });

  after(async function () {
    for (const p of Object.values(proxies || {})) await p.close();
    if (amqpConn) await amqpConn.close().catch(() => undefined);
    if (pg) await pg.end();
    if (redis) await redis.quit();
  });

  /** the flow: every target, each network one through its proxy (or straight to the server) */
  function flow({ via = true, publish = {}, targets = ['amqp', 'mqtt', 'pg', 'redis', 'sqlite'] } = {}) {
    const port = (k, direct) => (via ? proxies[k].port : direct);
    const nodes = [
      { id: 'amqpc', type: 'spotfusion-amqp-config', host: '127.0.0.1', port: port('amqp', 5672), heartbeat: 5, reconnectMaxMs: 300 },
      { id: 'mqttc', type: 'spotfusion-mqtt-config', host: '127.0.0.1', port: port('mqtt', 1883), clientId: `sftest-${run}-${n}`, reconnectMaxMs: 300 },
      { id: 'pgc', type: 'spotfusion-postgres-config', host: '127.0.0.1', port: port('pg', 5432), database: 'test', schema: names.schema, reconnectMaxMs: 300, queryTimeout: 3000 },
      { id: 'redisc', type: 'spotfusion-redis-config', host: '127.0.0.1', port: port('redis', 6379), db: REDIS_DB },
      {
        id: 'pub',
        type: 'result-publish',
        amqp: targets.includes('amqp') ? 'amqpc' : '',
        amqpExchange: names.exchange,
        amqpQueue: names.queue,
        amqpBindingKey: '#',
        amqpMandatory: true,
        mqtt: targets.includes('mqtt') ? 'mqttc' : '',
        mqttTopic: names.topic,
        postgres: targets.includes('pg') ? 'pgc' : '',
        redis: targets.includes('redis') ? 'redisc' : '',
        redisStream: names.stream,
        redisMaxLen: 5000,
        sqlite: targets.includes('sqlite'),
        retryMaxMs: 300,
        deliveryTimeout: 3000,
        wires: [['out']],
        ...publish,
      },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    return onTab(nodes);
  }

  async function mqttSubscriber() {
    const sub = await mqtt.connectAsync({ host: '127.0.0.1', port: 1883, protocolVersion: 5, clientId: `sftest-sub-${run}-${n}`, reconnectPeriod: 0 });
    const got = [];
    sub.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), packet }));
    await sub.subscribeAsync(names.topic.replace('{station}', '+'), { qos: 1 });
    return { sub, got };
  }

  async function amqpIds() {
    const ids = [];
    for (;;) {
      const m = await amqpCh.get(names.queue, { noAck: true });
      if (!m) return ids;
      ids.push(m.properties.messageId);
    }
  }

  /** Rows and distinct result ids in a table of the run's schema; { n: -1, d: -1 } only when the table (or its schema) does not exist (42P01): any other PostgreSQL error fails the test. */
  async function pgCount(table = 'inspection_result') {
    try {
      const r = await pg.query(`SELECT count(*)::int AS n, count(DISTINCT result_id)::int AS d FROM "${names.schema}".${table}`);
      return r.rows[0];
    } catch (err) {
      if (err.code === '42P01') return { n: -1, d: -1 };
      throw err;
    }
  }

  function sqliteCount() {
    const file = path.join(userDir, 'spotfusion', 'results.db');
    if (!fs.existsSync(file)) return 0;
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT count(*) AS n FROM inspection_result').get().n;
    } catch (err) {
      if (/no such table/.test(err.message)) return 0;
      throw err;
    } finally {
      db.close();
    }
  }

  function outboxRows() {
    const file = path.join(userDir, 'spotfusion', 'outbox-pub.db');
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT count(*) AS n FROM outbox').get().n;
    } finally {
      db.close();
    }
  }

  it('delivers one result to AMQP, MQTT, PostgreSQL, Redis and SQLite, each with the resultId', async function () {
    const { sub, got } = await mqttSubscriber();
    try {
      await helper.load(NODES, flow({ via: false }));
      const r = makeResult(1);
      const out = nextMessage(helper.getNode('out'));
      helper.getNode('pub').receive({ payload: r });
      const m = await out;
      assert.deepEqual(m.outbox, { seq: 1, duplicate: false, dropped: 0, rows: 1 });
      await until(
        async () => (await pgCount()).n === 1 && sqliteCount() === 1 && got.length === 1 && (await redis.xlen(names.stream)) === 1 && (await amqpCh.checkQueue(names.queue)).messageCount === 1,
        15000,
        'every target',
      );
      // AMQP: persistent, messageId, JSON body
      const msg = await amqpCh.get(names.queue, { noAck: true });
      assert.equal(msg.properties.messageId, r.resultId);
      assert.equal(msg.properties.deliveryMode, 2);
      assert.equal(msg.properties.contentType, 'application/json');
      assert.equal(msg.fields.routingKey, 'inspection.L1.ST10.OK');
      assert.deepEqual(JSON.parse(msg.content.toString()), r);
      // MQTT: QoS 1, user property
      assert.equal(got[0].topic, `sftest/${run}/${n}/ST10/result`);
      assert.equal(got[0].packet.qos, 1);
      assert.equal(got[0].packet.properties.userProperties.resultId, r.resultId);
      assert.deepEqual(JSON.parse(got[0].payload), r);
      // PostgreSQL: both tables
      const row = (await pg.query(`SELECT part_serial, station, verdict, result_code, body FROM "${names.schema}".inspection_result`)).rows[0];
      assert.deepEqual([row.part_serial, row.station, row.verdict, row.result_code], ['WB-1', 'ST10', 'OK', 1]);
      assert.deepEqual(row.body, r);
      assert.equal((await pgCount('spot_result')).n, 2);
      const mig = await pg.query(`SELECT id FROM "${names.schema}".spotfusion_migrations`);
      assert.deepEqual(mig.rows, [{ id: 1 }]);
      // Redis stream
      const [[, fields]] = await redis.xrange(names.stream, '-', '+');
      assert.deepEqual(fields.slice(0, 6), ['resultId', r.resultId, 'verdict', 'OK', 'station', 'ST10']);
      // the same result again is not stored twice
      const again = nextMessage(helper.getNode('out'));
      helper.getNode('pub').receive({ payload: r });
      const m2 = await again;
      assert.equal(m2.outbox.duplicate || m2.outbox.seq === 2, true);
      await until(() => outboxRows() === 0, 5000, 'outbox empty');
      assert.equal((await pgCount()).n, 1);
      assert.equal(sqliteCount(), 1);
      const metrics = await registry.metrics();
      assert.match(metrics, /spotfusion_outbox_depth\{node_id="pub",node_name="",target="postgres"\} 0/);
      assert.match(metrics, /spotfusion_outbox_delivered_total\{node_id="pub",target="amqp"\} [12]/);
    } finally {
      await sub.endAsync();
    }
  });

  it('refuses a payload that is not an InspectionResult with an error naming the field, and writes nothing', async function () {
    await helper.load(NODES, flow({ via: false, targets: ['pg', 'sqlite'] }));
    await until(() => helper.getNode('pgc').connection.connected, 5000, 'pg connected');
    const bad = makeResult(2);
    delete bad.resultId;
    bad.spots[0].score = 'high';
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('pub').receive({ payload: bad });
    const c = await caught;
    assert.match(c.error.message, /msg\.payload\.resultId is required/);
    assert.match(c.error.message, /msg\.payload\.spots\[0\]\.score must be number/);
    const c2 = nextMessage(helper.getNode('caught'));
    helper.getNode('pub').receive({ payload: 'not a result' });
    assert.match((await c2).error.message, /msg\.payload must be object/);
    await sleep(300);
    assert.equal(outboxRows(), 0);
    assert.equal((await pgCount()).n, 0);
    assert.equal(sqliteCount(), 0);
  });

  it('outbox full: the reject policy refuses and says so; drop-oldest drops and warns', async function () {
    proxies.pg.cut();
    await helper.load(NODES, flow({ targets: ['pg'], publish: { outboxMaxRows: 5 } }));
    const pub = helper.getNode('pub');
    for (let i = 0; i < 5; i++) pub.receive({ payload: makeResult(100 + i) });
    await until(() => outboxRows() === 5, 5000, '5 in outbox');
    const caught = nextMessage(helper.getNode('caught'));
    pub.receive({ payload: makeResult(200) });
    const c = await caught;
    assert.equal(c.error.source.id, 'pub');
    assert.match(c.error.message, /outbox full: 5 results wait for delivery; the full policy "reject" refused this result/);
    assert.equal(outboxRows(), 5);
    assert.match(await registry.metrics(), /spotfusion_outbox_full_total\{node_id="pub",action="rejected"\} 1/);
    await until(() => /outbox 5 · oldest .* waiting for postgres/.test(pub.status.lastCall?.args?.[0]?.text ?? statusText()), 5000, 'status shows the outbox');
    proxies.pg.restore();
    await until(async () => (await pgCount()).n === 5, 10000, 'pg got the 5');
    await helper.unload();

    proxies.pg.cut();
    await helper.load(NODES, flow({ targets: ['pg'], publish: { outboxMaxRows: 3, outboxFullPolicy: 'drop-oldest' } }));
    const pub2 = helper.getNode('pub');
    const warned = [];
    pub2.on('call:warn', (call) => warned.push(String(call.args[0])));
    const kept = [];
    for (let i = 0; i < 4; i++) {
      const r = makeResult(300 + i);
      if (i > 0) kept.push(r.resultId);
      const out = nextMessage(helper.getNode('out'));
      pub2.receive({ payload: r });
      const m = await out;
      assert.equal(m.outbox.dropped, i === 3 ? 1 : 0);
    }
    await until(() => warned.some((w) => /outbox full \(3\): dropped the 1 oldest undelivered result\(s\) \(policy drop-oldest\)/.test(w)), 3000, 'warning');
    proxies.pg.restore();
    await until(async () => (await pgCount()).n === 8, 10000, 'pg got the 3 kept');
    const ids = (await pg.query(`SELECT result_id::text AS id FROM "${names.schema}".inspection_result`)).rows.map((r) => r.id);
    for (const k of kept) assert.ok(ids.includes(k));
  });

  it('status never shows green while a target is down: PostgreSQL on a closed port is red with the reason; back up, green', async function () {
    const closed = await freePort();
    const nodes = flow({ targets: ['pg'] }).map((n) => (n.id === 'pgc' ? { ...n, port: closed } : n));
    await helper.load(NODES, nodes);
    const pub = helper.getNode('pub');
    const pgc = helper.getNode('pgc');
    await until(() => pgc.connection.failures >= 3, 10000, 'three refused attempts');
    const calls = pub.status.getCalls().map((c) => c.args[0]);
    assert.ok(calls.length > 0);
    assert.deepEqual(calls.filter((st) => st.fill === 'green'), [], 'no green status while PostgreSQL is down');
    assert.deepEqual(calls.filter((st) => st.text === 'node-red:common.status.connected' || /^node-red:/.test(st.text)), [], 'only the node\'s own status');
    const last = calls.at(-1);
    assert.equal(last.fill, 'red');
    assert.match(last.text, /^outbox 0 · waiting for postgres: .*ECONNREFUSED/);
    await helper.unload();

    // through a proxy that refuses, then lets PostgreSQL through: red while cut, green once connected
    proxies.pg.cut();
    await helper.load(NODES, flow({ targets: ['pg'] }));
    const pub2 = helper.getNode('pub');
    await until(() => helper.getNode('pgc').connection.failures >= 2, 10000, 'two refused attempts');
    assert.equal(pub2.status.lastCall.args[0].fill, 'red');
    assert.ok(pub2.status.getCalls().every((c) => c.args[0].fill !== 'green'));
    proxies.pg.restore();
    await until(() => helper.getNode('pgc').connection.connected, 10000, 'connected');
    await until(() => pub2.status.lastCall.args[0].fill === 'green', 3000, 'green once PostgreSQL is up');
    assert.equal(pub2.status.lastCall.args[0].text, 'outbox 0 · 0 delivered');
  });

  function statusText() {
    const s = helper.getNode('pub').status;
    return s && s.lastCall ? s.lastCall.args[0].text : '';
  }

  it('outage: 1,000 results while each target in turn goes away and comes back — every result reaches every target, PostgreSQL holds each once', async function () {
    this.timeout(120000);
    const { sub, got } = await mqttSubscriber();
    try {
      await helper.load(NODES, flow());
      await until(() => ['amqpc', 'mqttc', 'pgc', 'redisc'].every((id) => helper.getNode(id).connection.connected), 10000, 'all connected');
      const pub = helper.getNode('pub');
      const ids = new Set();
      const TOTAL = 1000;
      const CHUNK = 25;
      const schedule = { 4: ['cut', 'amqp'], 10: ['restore', 'amqp'], 11: ['cut', 'mqtt'], 17: ['restore', 'mqtt'], 18: ['cut', 'pg'], 24: ['restore', 'pg'], 25: ['cut', 'redis'], 31: ['restore', 'redis'] };
      let acked = 0;
      helper.getNode('out').on('input', () => (acked += 1));
      for (let c = 0; c < TOTAL / CHUNK; c++) {
        if (schedule[c]) {
          const [what, which] = schedule[c];
          proxies[which][what]();
        }
        for (let k = 0; k < CHUNK; k++) {
          const r = makeResult(c * CHUNK + k);
          ids.add(r.resultId);
          pub.receive({ payload: r });
        }
        await sleep(150);
      }
      await until(() => acked === TOTAL, 10000, 'all acknowledged');
      await until(() => outboxRows() === 0, 60000, 'outbox drained');
      // PostgreSQL: exactly 1,000 rows, none twice
      assert.deepEqual(await pgCount(), { n: TOTAL, d: TOTAL });
      assert.equal((await pgCount('spot_result')).n, 2 * TOTAL);
      const pgIds = (await pg.query(`SELECT result_id::text AS id FROM "${names.schema}".inspection_result`)).rows.map((r) => r.id);
      assert.deepEqual(new Set(pgIds), ids);
      // SQLite: exactly 1,000
      assert.equal(sqliteCount(), TOTAL);
      // AMQP: every result (at least once)
      const a = await amqpIds();
      assert.deepEqual(new Set(a), ids);
      // MQTT: every result (at least once)
      await until(() => new Set(got.map((g) => g.packet.properties.userProperties.resultId)).size === TOTAL, 10000, 'mqtt all');
      // Redis stream: every result (at least once)
      const entries = await redis.xrange(names.stream, '-', '+');
      assert.deepEqual(new Set(entries.map(([, f]) => f[1])), ids);
      // each network target really was cut: its connection failed at least once
      for (const id of ['amqpc', 'mqttc', 'pgc', 'redisc']) assert.ok(helper.getNode(id).connection.failures >= 1, `${id} never failed`);
      const failures = await registry.metrics();
      for (const t of ['amqp', 'mqtt', 'postgres', 'redis']) assert.match(failures, new RegExp(`spotfusion_outbox_delivered_total\\{node_id="pub",target="${t}"\\} \\d+`));
    } finally {
      await sub.endAsync();
    }
  });

  it('Node-RED restart mid-run: delivery resumes from the outbox, PostgreSQL ends with each result once', async function () {
    await helper.load(NODES, flow({ targets: ['pg', 'sqlite'] }));
    let pub = helper.getNode('pub');
    const ids = new Set();
    const send = (from, count) => {
      for (let i = from; i < from + count; i++) {
        const r = makeResult(i);
        ids.add(r.resultId);
        pub.receive({ payload: r });
      }
    };
    send(0, 150);
    await until(async () => (await pgCount()).n === 150, 10000, 'first 150 in pg');
    proxies.pg.cut();
    send(150, 150);
    await until(() => sqliteCount() === 300, 10000, 'sqlite has 300');
    assert.equal(outboxRows(), 150);
    await helper.unload(); // Node-RED stops with 150 results waiting for PostgreSQL
    assert.equal(outboxRows(), 150);
    await helper.load(NODES, flow({ targets: ['pg', 'sqlite'] }));
    pub = helper.getNode('pub');
    send(300, 200);
    await sleep(300);
    assert.ok(outboxRows() >= 150);
    proxies.pg.restore();
    await until(() => outboxRows() === 0, 20000, 'outbox drained after restart');
    assert.deepEqual(await pgCount(), { n: 500, d: 500 });
    assert.equal(sqliteCount(), 500);
    const pgIds = (await pg.query(`SELECT result_id::text AS id FROM "${names.schema}".inspection_result`)).rows.map((r) => r.id);
    assert.deepEqual(new Set(pgIds), ids);
  });

  it('a target added later starts with new results, or with the backlog still in the outbox when asked to', async function () {
    proxies.pg.cut();
    await helper.load(NODES, flow({ targets: ['pg'] }));
    const old = [];
    for (let i = 0; i < 5; i++) {
      const r = makeResult(400 + i);
      old.push(r.resultId);
      helper.getNode('pub').receive({ payload: r });
    }
    await until(() => outboxRows() === 5, 5000, '5 wait for PostgreSQL');
    await helper.unload();
    // redeployed with two more targets: SQLite asks for the backlog, Redis does not
    await helper.load(NODES, flow({ targets: ['pg', 'sqlite', 'redis'], publish: { sqliteBacklog: true } }));
    const fresh = [];
    for (let i = 0; i < 3; i++) {
      const r = makeResult(500 + i);
      fresh.push(r.resultId);
      helper.getNode('pub').receive({ payload: r });
    }
    await until(async () => sqliteCount() === 8 && (await redis.xlen(names.stream)) === 3, 10000, 'sqlite 8, redis 3');
    const streamIds = (await redis.xrange(names.stream, '-', '+')).map(([, f]) => f[1]);
    assert.deepEqual(streamIds, fresh, 'Redis (no backlog) starts with the new results');
    assert.equal(outboxRows(), 8, 'all 8 still wait for PostgreSQL');
    proxies.pg.restore();
    await until(() => outboxRows() === 0, 10000, 'outbox drained');
    assert.deepEqual(await pgCount(), { n: 8, d: 8 });
  });

  it('targets (env-substitutable): a configured target that is off gets nothing and opens no connection; switched on later it starts with new results', async function () {
    const accepted = () => Object.fromEntries(['amqp', 'mqtt', 'pg'].map((k) => [k, proxies[k].accepted]));
    const before = accepted();
    const prev = process.env.SFTEST_RESULT_TARGETS;
    process.env.SFTEST_RESULT_TARGETS = 'sqlite, redis';
    try {
      // every target configured, two on: the list comes from the environment as in flows/station.json
      await helper.load(NODES, flow({ publish: { targets: '${SFTEST_RESULT_TARGETS}' } }));
      const pub = helper.getNode('pub');
      const first = [];
      for (let i = 0; i < 3; i++) {
        const r = makeResult(600 + i);
        first.push(r.resultId);
        const out = nextMessage(helper.getNode('out'));
        pub.receive({ payload: r });
        await out;
      }
      // the outbox empties once SQLite and Redis have them: no cursor holds rows for the targets that are off
      await until(async () => sqliteCount() === 3 && (await redis.xlen(names.stream)) === 3 && outboxRows() === 0, 10000, 'SQLite 3, Redis 3, outbox empty');
      assert.deepEqual(accepted(), before, 'no connection to AMQP, MQTT or PostgreSQL while they are off');
      for (const id of ['amqpc', 'mqttc', 'pgc']) assert.equal(helper.getNode(id).connection.state, 'idle', `${id}: no user, no connection`);
      assert.deepEqual(await pgCount(), { n: -1, d: -1 }, 'PostgreSQL: not even the schema');
      assert.deepEqual(await amqpIds(), [], 'AMQP: nothing');
      assert.ok(pub.log.getCalls().some((c) => /targets on: redis, sqlite; off: amqp, mqtt, postgres/.test(String(c.args[0]))), 'the log names the targets that are off');
      await helper.unload();

      // PostgreSQL switched on: a new target, it starts with the results that arrive from now on
      process.env.SFTEST_RESULT_TARGETS = 'sqlite,redis,postgres';
      await helper.load(NODES, flow({ publish: { targets: '${SFTEST_RESULT_TARGETS}' } }));
      const fresh = [];
      for (let i = 0; i < 2; i++) {
        const r = makeResult(700 + i);
        fresh.push(r.resultId);
        helper.getNode('pub').receive({ payload: r });
      }
      await until(async () => (await pgCount()).n === 2 && sqliteCount() === 5 && outboxRows() === 0, 10000, 'PostgreSQL 2, SQLite 5');
      const inPg = (await pg.query(`SELECT result_id::text AS id FROM "${names.schema}".inspection_result`)).rows.map((r) => r.id);
      assert.deepEqual(inPg.sort(), [...fresh].sort(), 'PostgreSQL: the new results only');
      assert.ok(proxies.pg.accepted > before.pg, 'PostgreSQL connected once on');
      assert.deepEqual([proxies.amqp.accepted, proxies.mqtt.accepted], [before.amqp, before.mqtt], 'AMQP and MQTT still never connected');
    } finally {
      if (prev === undefined) delete process.env.SFTEST_RESULT_TARGETS;
      else process.env.SFTEST_RESULT_TARGETS = prev;
    }
  });

  it('targets: an unknown name or a target whose config is not set is a configuration error naming it', async function () {
    await helper.load(NODES, onTab([
      { id: 'pgc', type: 'spotfusion-postgres-config', host: '127.0.0.1', port: proxies.pg.port, database: 'test', schema: names.schema },
      { id: 'pub', type: 'result-publish', sqlite: true, postgres: 'pgc', targets: 'sqlite,kafka', wires: [[]] },
      { id: 'pub2', type: 'result-publish', sqlite: true, targets: 'sqlite,postgres', wires: [[]] },
      { id: 'pub3', type: 'result-publish', sqlite: false, postgres: 'pgc', targets: 'postgres,sqlite', wires: [[]] },
      { id: 'pub4', type: 'result-publish', sqlite: true, targets: 7, wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const cases = [
      ['pub', /targets: "kafka" is not a target \(one of plc, amqp, mqtt, postgres, redis, sqlite\)/],
      ['pub2', /targets: "postgres" is on, but this node has no PostgreSQL config/],
      ['pub3', /targets: "sqlite" is on, but this node has no SQLite store/],
      ['pub4', /targets must be a text \(a list of plc, amqp, mqtt, postgres, redis, sqlite\), got 7/],
    ];
    for (const [id, re] of cases) {
      const node = helper.getNode(id);
      assert.ok(node.status.getCalls().some((c) => c.args[0]?.fill === 'red' && re.test(c.args[0].text)), `${id}: a red status naming it`);
      const caught = nextMessage(helper.getNode('caught'));
      node.receive({ payload: makeResult(1) });
      assert.match((await caught).error.message, re);
    }
    assert.equal(helper.getNode('pgc').connection.state, 'idle', 'a node that is not configured uses no connection');
    assert.equal(fs.existsSync(path.join(userDir, 'spotfusion', 'results.db')), false, 'nothing stored');
  });

  it('archives NOK parts as PNG, puts relative paths in the result and serves them over HTTP', async function () {
    await helper.load(NODES, flow({ via: false, targets: ['sqlite'], publish: { archivePolicy: 'nok', archiveMaxMB: 1 } }));
    const w = 64;
    const h = 48;
    const data = Buffer.alloc(w * h);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const frame = { data, width: w, height: h, pixelFormat: 'Mono8', cameraId: 'cam1', frameId: 1, timestamp: Date.now() };
    const crops = [
      { spotId: 's1', box: { x: 2, y: 2, w: 10, h: 10, rotation: 0 }, index: 0 },
      { spotId: 's2/evil', box: { x: 30, y: 20, w: 10, h: 10, rotation: 0 }, index: 1 },
    ];
    const okOut = nextMessage(helper.getNode('out'));
    helper.getNode('pub').receive({ payload: makeResult(1), frame, crops });
    assert.equal((await okOut).payload.images, undefined); // OK part: not archived
    const nok = makeResult(7); // i % 7 === 0: NOK
    assert.equal(nok.verdict, 'NOK');
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('pub').receive({ payload: nok, frame, crops });
    const m = await out;
    const day = m.payload.timestamps.result.slice(0, 10);
    assert.deepEqual(m.payload.images, {
      frame: `${day}/${nok.resultId}/frame.png`,
      crops: { s1: `${day}/${nok.resultId}/s1.png`, 's2/evil': `${day}/${nok.resultId}/s2_evil.png` },
    });
    assert.equal(typeof m.payload.images.frame, 'string');
    const server = http.createServer(httpNode);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const get = (p) =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: server.address().port, path: p }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    try {
      const png = await get(`/spotfusion/archive/pub/${m.payload.images.frame}`);
      assert.equal(png.status, 200);
      assert.equal(png.body.subarray(1, 4).toString(), 'PNG');
      const sharp = require('sharp');
      const meta = await sharp(png.body).metadata();
      assert.deepEqual([meta.width, meta.height], [w, h]);
      const crop = await get(`/spotfusion/archive/pub/${m.payload.images.crops.s1}`);
      assert.deepEqual([(await sharp(crop.body).metadata()).width], [10]);
      assert.equal((await get('/spotfusion/archive/nobody/x.png')).status, 404);
      // path traversal, as text: every variant answers 404 and never the file's bytes
      const part = `${day}/${nok.resultId}`;
      const traversals = [
        '..%2F..%2Fetc%2Fpasswd',
        `${day}/../../outbox-pub.db`,
        `${day}/..%2F..%2Foutbox-pub.db`,
        '%2e%2e/%2e%2e/etc/passwd',
        '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
        '..%252F..%252Fetc%252Fpasswd',
        '%2Fetc%2Fpasswd',
        '/etc/passwd',
        '..\\..\\etc\\passwd',
        '..%5C..%5Cetc%5Cpasswd',
        `${part}/frame.png%00.txt`,
        `${part}/./frame.png`,
        `./${part}/frame.png`,
        '....//....//etc/passwd',
        `${day}/%2e%2e/${day}/../../outbox-pub.db`,
        '.%2e/.%2e/etc/passwd',
        `${part}/.hidden`,
        '~/.ssh/id_rsa',
      ];
      assert.equal(traversals.length, 18);
      for (const t of traversals) {
        const r = await get(`/spotfusion/archive/pub/${t}`);
        assert.equal(r.status, 404, `${t} answered ${r.status}`);
        assert.doesNotMatch(r.body.toString('latin1'), /root:|SQLite format/, t);
      }
      // symlinks inside the archive folder that point out of it are refused, not followed (a link to a file,
      // a link to a folder); a link that stays inside the archive still serves its file
      const archiveDir = path.join(userDir, 'spotfusion', 'archive');
      fs.symlinkSync('/etc/passwd', path.join(archiveDir, part, 'passwd.png'));
      fs.symlinkSync('/etc', path.join(archiveDir, day, 'etc'));
      fs.symlinkSync(path.join(userDir, 'spotfusion'), path.join(archiveDir, day, 'up'));
      fs.symlinkSync(path.join(archiveDir, part, 'frame.png'), path.join(archiveDir, part, 'same.png'));
      for (const t of [`${part}/passwd.png`, `${day}/etc/passwd`, `${day}/up/outbox-pub.db`, `${day}/up/results.db`]) {
        const r = await get(`/spotfusion/archive/pub/${t}`);
        assert.equal(r.status, 404, `${t} answered ${r.status}`);
        assert.doesNotMatch(r.body.toString('latin1'), /root:|SQLite format/, t);
      }
      assert.equal((await get(`/spotfusion/archive/pub/${part}/same.png`)).status, 200);
    } finally {
      server.close();
    }
    // the result in the store carries the paths
    await until(() => sqliteCount() === 2, 5000, 'stored');
  });

  it('MQTT: the default client id names the machine and the config node (stations share the flow, not the id)', async function () {
    await helper.load(NODES, onTab([{ id: 'mqttc', type: 'spotfusion-mqtt-config', host: '127.0.0.1', port: 1883 }]));
    const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
    assert.equal(helper.getNode('mqttc').settings.clientId, `spotfusion-${host}-mqttc`);
  });

  it('archive disk full (ENOSPC from the kernel): the result still goes out and is stored; a warning, a counter and the status say which part lost its images', async function () {
    const archiveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-archive-full-'));
    try {
      await helper.load(NODES, flow({ via: false, targets: ['sqlite'], publish: { archivePolicy: 'all', archiveDir } }));
      const frame = { data: Buffer.alloc(32 * 24, 7), width: 32, height: 24, pixelFormat: 'Mono8', cameraId: 'cam1', frameId: 1, timestamp: Date.now() };
      const full = makeResult(1);
      // the frame file of this part is /dev/full: every write to it fails with ENOSPC, as on a full disk
      const partDir = path.join(archiveDir, full.timestamps.result.slice(0, 10), full.resultId);
      fs.mkdirSync(partDir, { recursive: true });
      fs.symlinkSync('/dev/full', path.join(partDir, 'frame.png'));
      const pub = helper.getNode('pub');
      const before = (await registry.getSingleMetric('spotfusion_archive_failures_total').get()).values.reduce((a, v) => a + v.value, 0);
      const out = nextMessage(helper.getNode('out'));
      pub.receive({ payload: full, frame, crops: [] });
      const m = await out;
      assert.equal(m.payload.images.frame, `${full.timestamps.result.slice(0, 10)}/${full.resultId}/frame.png`);
      await until(() => pub.warn.getCalls().some((c) => /ENOSPC/.test(String(c.args[0]))), 5000, 'a warning naming ENOSPC');
      const warning = String(pub.warn.getCalls().find((c) => /ENOSPC/.test(String(c.args[0]))).args[0]);
      assert.match(warning, new RegExp(`images of ${full.resultId} could not be written`));
      const after = (await registry.getSingleMetric('spotfusion_archive_failures_total').get()).values.reduce((a, v) => a + v.value, 0);
      assert.equal(after - before, 1);
      await until(() => pub.status.getCalls().some((c) => /archive: 1 part\(s\) not written/.test(c.args[0]?.text ?? '') && c.args[0].fill === 'red'), 5000, 'a red status');
      // the next part (its own directory, a disk with room) is archived, and both results are stored
      const next = makeResult(2);
      const out2 = nextMessage(helper.getNode('out'));
      pub.receive({ payload: next, frame, crops: [] });
      const m2 = await out2;
      await until(() => fs.existsSync(path.join(archiveDir, m2.payload.images.frame)), 5000, 'the next frame written');
      await until(() => sqliteCount() === 2, 5000, 'both results stored');
    } finally {
      fs.rmSync(archiveDir, { recursive: true, force: true });
    }
  });

  it('reports configuration errors by name and fails messages instead of crashing', async function () {
    await helper.load(NODES, onTab([
      { id: 'pub', type: 'result-publish', sqlite: false, wires: [[]] },
      { id: 'pub2', type: 'result-publish', sqlite: true, outboxFullPolicy: 'maybe', wires: [[]] },
      { id: 'pub3', type: 'result-publish', postgres: 'missing', wires: [[]] },
      { id: 'pgbad', type: 'spotfusion-postgres-config', schema: 'Robert"); DROP TABLE x;--' },
      { id: 'pub4', type: 'result-publish', postgres: 'pgbad', sqlite: true, wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('pub').receive({ payload: makeResult(1) });
    assert.match((await caught).error.message, /no target: select at least one/);
    const c2 = nextMessage(helper.getNode('caught'));
    helper.getNode('pub2').receive({ payload: makeResult(1) });
    assert.match((await c2).error.message, /full policy "maybe"/);
    const c3 = nextMessage(helper.getNode('caught'));
    helper.getNode('pub3').receive({ payload: makeResult(1) });
    assert.match((await c3).error.message, /config node missing does not exist/);
    await until(() => helper.getNode('pgbad').connection.state === 'failed', 5000, 'pg config failed');
    assert.match(helper.getNode('pgbad').connection.lastError, /schema must be a lower-case SQL name/);
  });
});

/** rows in the outbox file of node `id` in `dir` (0 when it does not exist yet) */
function outboxRowsIn(dir, id = 'pub') {
  const file = path.join(dir, 'spotfusion', `outbox-${id}.db`);
  if (!fs.existsSync(file)) return 0;
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) AS n FROM outbox').get().n;
  } finally {
    db.close();
  }
}

// The handshake tags of the simulated station (nodes/lib/plc/logix-sim/station-tags.ts): classId goes to a
// spare DINT, the serial into a STRING array element.
const PLC_TAGS = {
  resultCode: { address: 'ResultCode', type: 'DINT' },
  classId: { address: 'aDint', type: 'DINT' },
  ok: { address: 'ResultOK', type: 'BOOL' },
  nok: { address: 'ResultNOK', type: 'BOOL' },
  counter: { address: 'Counter', type: 'DINT' },
  serial: { address: 'Names[2]', type: 'STRING' },
  done: { address: 'Done', type: 'BOOL' },
  ack: { address: 'Ack', type: 'BOOL' },
  ready: { address: 'Ready', type: 'BOOL' },
};
const DATA_TAGS = ['ResultCode', 'aDint', 'ResultOK', 'ResultNOK', 'Counter', 'Names'];

describe('result-publish PLC handshake (Logix EtherNet/IP simulator on 127.0.0.1)', function () {
  this.timeout(30000);
  let sim;
  let log; // every tag write the simulator applied, in order, plus the PLC program's own writes
  let taken; // what the PLC program took at each done edge
  let plcProgram;
  let ackEnabled;
  let onTaken; // called by the PLC program right after it acked a result
  let userDir;

  before(async function () {
    sim = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, udp: false }).start();
    // record every write the simulator applies (over the wire), in order
    const db = sim.db;
    const writeBytes = db.writeBytes.bind(db);
    db.writeBytes = (r, ...rest) => {
      writeBytes(r, ...rest);
      log.push({ by: 'node', tag: r.tag.name, value: db.get(r.tag.name) });
    };
  });

  after(async function () {
    if (sim) await sim.stop();
  });

  beforeEach(function () {
    log = [];
    taken = [];
    ackEnabled = true;
    onTaken = () => undefined;
    for (const [t, v] of [['Ready', true], ['Ack', false], ['Done', false], ['Counter', 0], ['ResultCode', 0]]) sim.db.set(t, v);
    // the PLC's side of the handshake, scanning every 2 ms: take the result on done, ack; drop ack when done falls
    plcProgram = setInterval(() => {
      const done = sim.db.get('Done');
      const ack = sim.db.get('Ack');
      if (done && !ack && ackEnabled) {
        taken.push({ counter: sim.db.get('Counter'), code: sim.db.get('ResultCode'), classId: sim.db.get('aDint'), ok: sim.db.get('ResultOK'), nok: sim.db.get('ResultNOK'), serial: sim.db.get('Names')[2] });
        sim.db.set('Ack', true);
        log.push({ by: 'plc', tag: 'Ack', value: true });
        onTaken(taken[taken.length - 1]);
      } else if (!done && ack) {
        sim.db.set('Ack', false);
        log.push({ by: 'plc', tag: 'Ack', value: false });
      }
    }, 2);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-publish-plc-'));
    helper.settings({ userDir });
  });

  afterEach(async function () {
    clearInterval(plcProgram);
    await helper.unload();
    sim.refuseConnects(0);
    await until(() => sim.openSessions === 0, 3000, 'sessions closed after unload');
  });

  function plcFlow(publish = {}) {
    return onTab([
      { id: 'plcc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0', station: 'ST10', timeout: 1000 },
      { id: 'pub', type: 'result-publish', plc: 'plcc', plcTags: PLC_TAGS, plcPollMs: 5, plcReadyTimeout: 1000, plcAckTimeout: 1000, sqlite: false, retryMaxMs: 300, deliveryTimeout: 3000, wires: [['out']], ...publish },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);
  }

  /** the write log as handshake steps: the data writes of one request collapse into one 'data' step */
  function steps(entries = log) {
    const out = [];
    for (const e of entries) {
      const step = DATA_TAGS.includes(e.tag) ? 'data' : `${e.tag.toLowerCase()}=${e.value ? 1 : 0}`;
      if (step === 'data' && out[out.length - 1] === 'data') continue;
      out.push(step);
    }
    return out;
  }

  /** consecutive repeats of the same counter removed (a repeat after a cut carries the same counter) */
  const distinct = (list) => list.filter((x, k) => k === 0 || x.counter !== list[k - 1].counter);

  it('writes code, class, OK/NOK, counter and serial, then done; waits for the ack; clears done — in that order, per result', async function () {
    await helper.load(NODES, plcFlow());
    const pub = helper.getNode('pub');
    const results = [1, 7, 2, 14, 3].map((i) => makeResult(i)); // 7 and 14 are NOK
    for (const r of results) pub.receive({ payload: r });
    await until(() => taken.length === 5 && outboxRowsIn(userDir) === 0, 10000, '5 results acked by the PLC');
    assert.deepEqual(
      taken,
      results.map((r, k) => ({ counter: k + 1, code: r.resultCode, classId: r.classId, ok: r.verdict === 'OK', nok: r.verdict === 'NOK', serial: r.part.serial })),
    );
    assert.deepEqual([taken[1].code, taken[1].nok, taken[1].ok], [2, true, false]);
    await until(() => log.filter((e) => e.tag === 'Ack' && e.value === false).length === 5, 2000, 'last ack dropped');
    // every result: data (one request) → done=1 → PLC ack=1 → done=0 → PLC ack=0, and nothing in between
    assert.deepEqual(steps(), Array.from({ length: 5 }, () => ['data', 'done=1', 'ack=1', 'done=0', 'ack=0']).flat());
    // the data of each result are all written before its done (one Multiple Service Packet, in map order)
    const firstData = log.slice(0, log.findIndex((e) => e.tag === 'Done'));
    assert.deepEqual(firstData.map((e) => e.tag), DATA_TAGS);
    await until(() => /outbox 0 · 5 delivered/.test(helper.getNode('pub').status.lastCall?.args?.[0]?.text ?? ''), 3000, 'status: outbox empty');
  });

  it('waits for ready; without the ack the result stays in the outbox, done is cleared and the same counter is sent again', async function () {
    sim.db.set('Ready', false);
    ackEnabled = false;
    await helper.load(NODES, plcFlow({ plcReadyTimeout: 200, plcAckTimeout: 300 }));
    const pub = helper.getNode('pub');
    const warned = [];
    pub.on('call:warn', (c) => warned.push(String(c.args[0])));
    const r = makeResult(21);
    pub.receive({ payload: r });
    await until(() => warned.some((w) => /plc: PLC handshake: the PLC did not set ready after 200 ms/.test(w)), 5000, 'ready warning');
    assert.deepEqual(log, [], 'nothing written while the PLC is not ready');
    assert.equal(outboxRowsIn(userDir), 1);
    sim.db.set('Ready', true);
    await until(() => log.some((e) => e.tag === 'Done' && e.value === false), 5000, 'done cleared after the ack timeout');
    await until(() => warned.some((w) => /no ack from the PLC for result .* \(outbox seq 1\) after 300 ms/.test(w)), 5000, 'ack warning');
    assert.equal(outboxRowsIn(userDir), 1, 'not acked: still in the outbox');
    assert.deepEqual(steps().slice(0, 3), ['data', 'done=1', 'done=0']);
    ackEnabled = true;
    await until(() => taken.length === 1 && outboxRowsIn(userDir) === 0, 5000, 'acked after all');
    assert.equal(taken[0].counter, 1, 'the repeat carries the same counter');
    assert.equal(taken[0].code, r.resultCode);
    await until(() => sim.db.get('Ack') === false, 2000, 'ack dropped');
    const s = steps();
    assert.deepEqual(s.slice(s.lastIndexOf('data')), ['data', 'done=1', 'ack=1', 'done=0', 'ack=0']);
  });

  it('PLC away: results wait in the outbox; PLC back: every one delivered in order, none lost', async function () {
    await helper.load(NODES, plcFlow({ sqlite: true }));
    const pub = helper.getNode('pub');
    const results = [];
    const feed = (count) => {
      for (let k = 0; k < count; k++) {
        const r = makeResult(results.length + 1);
        results.push(r);
        pub.receive({ payload: r });
      }
    };
    feed(10);
    await until(() => taken.length >= 10, 10000, 'first 10 delivered');
    // the PLC goes away (cable pull + controller refusing connections for 1.5 s) in the middle of result 12's
    // handshake: it took the result and set ack, but the node never reads that ack
    let cutAt;
    onTaken = (t) => {
      if (t.counter !== 12 || cutAt !== undefined) return;
      cutAt = log.length;
      sim.refuseConnects(1500);
      sim.dropAllSessions();
    };
    let waiting = 0;
    for (let b = 0; b < 4; b++) {
      feed(5);
      await sleep(200);
      waiting = Math.max(waiting, outboxRowsIn(userDir));
    }
    assert.ok(cutAt !== undefined, 'cut during the handshake of result 12');
    assert.ok(waiting >= 10, `results wait in the outbox while the PLC is away (${waiting})`);
    await until(() => /waiting for plc/.test(helper.getNode('pub').status.lastCall?.args?.[0]?.text ?? ''), 3000, 'status names the PLC');
    await until(() => distinct(taken).length === 30 && outboxRowsIn(userDir) === 0, 15000, 'all 30 delivered after the PLC came back');
    const got = distinct(taken);
    assert.deepEqual(got.map((t) => t.counter), results.map((_, k) => k + 1), 'in order, none lost');
    assert.deepEqual(got.map((t) => t.serial), results.map((r) => r.part.serial));
    assert.deepEqual(got.map((t) => t.code), results.map((r) => r.resultCode));
    assert.ok(helper.getNode('plcc').connection.failures >= 1, 'the connection really failed');
    // the one repeat: result 12, same counter, after the node cleared its stale done and the PLC dropped ack
    assert.deepEqual(taken.map((t) => t.counter).filter((c, k, a) => a.indexOf(c) !== k), [12]);
    assert.deepEqual(steps(log.slice(cutAt)).slice(0, 5), ['done=0', 'ack=0', 'data', 'done=1', 'ack=1']);
    this.test.title += ` [most waiting ${waiting}, repeats ${taken.length - got.length}]`;
  });

  it('skips a result the tags cannot hold (to Catch, named), keeps delivering the next ones', async function () {
    await helper.load(NODES, plcFlow({ plcTags: { ...PLC_TAGS, resultCode: { address: 'aSint', type: 'SINT' } } }));
    const pub = helper.getNode('pub');
    const bad = makeResult(31);
    bad.resultCode = 300;
    const good = makeResult(32);
    const caught = nextMessage(helper.getNode('caught'));
    pub.receive({ payload: bad });
    pub.receive({ payload: good });
    const c = await caught;
    assert.match(c.error.message, new RegExp(`plc: PLC handshake: result ${bad.resultId} cannot be written: .*"resultCode" \\(SINT\\)`));
    assert.deepEqual(c.payload, { target: 'plc', resultIds: [bad.resultId] });
    await until(() => taken.length === 1 && outboxRowsIn(userDir) === 0, 5000, 'the next result delivered');
    assert.equal(taken[0].counter, 2);
    assert.match(await registry.metrics(), /spotfusion_outbox_undeliverable_total\{node_id="pub",target="plc"\} 1/);
  });

  it('the PLC handshake example runs on the simulator protocol: each part acknowledged by the stand-in PLC program', async function () {
    const { currentSimulator } = require('../../dist/nodes/lib/plc/sim-host');
    const core = (f) => require(require.resolve(`@node-red/nodes/core/${f}`, { paths: [require.resolve('node-red')] }));
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'result-publish', '02 - PLC handshake through the outbox.json'), 'utf8'));
    const fast = example.map((n) => (n.type === 'plc-config' ? { ...n, simPeriod: 300 } : n.type === 'debug' ? { ...n, type: 'helper' } : n));
    const plcNodes = ['plc-read', 'plc-write'].map((t) => require(`../../dist/nodes/${t}/${t}.js`));
    await helper.load([...NODES, ...plcNodes, core('function/15-change.js'), core('common/90-comment.js')], fast);
    const committed = [];
    helper.getNode('ex_rph_debug').on('input', (m) => committed.push(m.payload.resultId));
    // the counter (aUdint, 4000000000 in the simulator at start) becomes the outbox sequence: 1, 2, 3 …
    const counter = () => Number(currentSimulator()?.db.get('aUdint'));
    await until(() => committed.length >= 3 && counter() >= 3 && counter() <= committed.length, 10000, '3 parts written to the PLC');
    const dbSim = currentSimulator().db;
    await until(() => outboxRowsIn(userDir, 'ex_rph_publish') <= 1, 5000, 'outbox follows the parts');
    assert.equal(dbSim.get('ResultCode'), 1);
    assert.equal(dbSim.get('ResultOK'), true);
  });

  it('refuses a bad handshake tag map with an error naming the role', async function () {
    const cases = [
      [{ done: { address: 'Done', type: 'BOOL' }, resultCode: { address: 'ResultCode' } }, /handshake tags "done" and "ack" go together/],
      [{ ok: { address: 'ResultOK', type: 'DINT' } }, /handshake tag "ok": type "DINT" must be BOOL/],
      [{ verdict: { address: 'X', type: 'BOOL' } }, /handshake tag "verdict" is not one of resultCode/],
      [{ ready: { address: 'Ready', type: 'BOOL' } }, /writes nothing: map at least one of/],
      [{ resultCode: { address: 'Result Code!' } }, /PLC handshake: tag "resultCode": tag address "Result Code!"/],
      ['{not json', /handshake tags are not JSON/],
    ];
    await helper.load(NODES, onTab([
      { id: 'plcc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0', timeout: 1000 },
      ...cases.map(([tags], k) => ({ id: `p${k}`, type: 'result-publish', plc: 'plcc', plcTags: tags, sqlite: true, wires: [[]] })),
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]));
    for (let k = 0; k < cases.length; k++) {
      const caught = nextMessage(helper.getNode('caught'));
      helper.getNode(`p${k}`).receive({ payload: makeResult(1) });
      assert.match((await caught).error.message, cases[k][1]);
    }
  });
});

describe('result-publish in a real Node-RED process killed mid-run (SIGKILL), PostgreSQL + SQLite + Redis stream', function () {
  this.timeout(60000);
  const run = crypto.randomBytes(4).toString('hex');
  const schema = `sfkill_${run}`;
  const stream = `sfkill:${run}:results`;
  let pg;
  let redis;
  let rt;

  before(async function () {
    for (const s of ['postgres', 'redis']) await requireService(this, s);
    pg = await connectPostgres();
    redis = await connectRedis(REDIS_DB);
  });

  after(async function () {
    if (rt && rt.proc && rt.proc.exitCode === null && rt.proc.signalCode === null) await rt.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    }
    if (redis) {
      await redis.del(stream);
      await redis.quit();
    }
  });

  /** POST one result; resolves true when Node-RED answered 200 (= committed to the outbox), false on any failure */
  function post(port, result) {
    return new Promise((resolve) => {
      const body = Buffer.from(JSON.stringify(result));
      const req = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: `/sftest/results`, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, timeout: 5000 },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
          res.on('error', () => resolve(false));
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end(body);
    });
  }

  /** feed results with `inFlight` requests at a time until `stop()` says so; records what was acknowledged */
  async function feed(port, { inFlight, stop, sent, acked }) {
    let i = sent.size;
    const worker = async () => {
      while (!stop()) {
        const r = makeResult(100000 + i++);
        sent.add(r.resultId);
        if (await post(port, r)) acked.add(r.resultId);
        else if (stop()) return;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  }

  function sqliteIds(file) {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT result_id AS id FROM inspection_result').all().map((r) => r.id);
    } finally {
      db.close();
    }
  }

  it('every acknowledged result reaches PostgreSQL and SQLite exactly once; the at-least-once Redis stream may repeat a few', async function () {
    const flowFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-kill-flow-')), 'flows.json');
    fs.writeFileSync(
      flowFile,
      JSON.stringify([
        { id: 'kt', type: 'tab', label: 'kill test' },
        { id: 'kpg', type: 'spotfusion-postgres-config', host: '127.0.0.1', port: 5432, database: 'test', schema, reconnectMaxMs: 300 },
        { id: 'kredis', type: 'spotfusion-redis-config', host: '127.0.0.1', port: 6379, db: REDIS_DB },
        { id: 'kin', type: 'http in', z: 'kt', url: '/sftest/results', method: 'post', x: 100, y: 100, wires: [['kpub']] },
        { id: 'kpub', type: 'result-publish', z: 'kt', postgres: 'kpg', redis: 'kredis', redisStream: stream, sqlite: true, batchSize: 50, retryMaxMs: 300, x: 300, y: 100, wires: [['kout']] },
        { id: 'kout', type: 'http response', z: 'kt', statusCode: '200', x: 500, y: 100, wires: [] },
        { id: 'kcatch', type: 'catch', z: 'kt', scope: ['kpub'], x: 300, y: 200, wires: [['kerr']] },
        { id: 'kerr', type: 'http response', z: 'kt', statusCode: '500', x: 500, y: 200, wires: [] },
      ]),
    );
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start({ flowSource: flowFile });
    const sent = new Set();
    const acked = new Set();
    // 1. results flow in, 8 at a time; Node-RED is SIGKILLed once 250 are acknowledged, requests still in flight
    let killed = false;
    const feeding = feed(rt.port, { inFlight: 8, stop: () => killed, sent, acked });
    await until(() => acked.size >= 250, 20000, '250 acknowledged');
    const outbox = path.join(rt.userDir, 'spotfusion', 'outbox-kpub.db');
    const waitingAtKill = outboxRowsIn(rt.userDir, 'kpub');
    rt.proc.kill('SIGKILL');
    killed = true;
    const { signal } = await rt.exited;
    assert.equal(signal, 'SIGKILL');
    await feeding;
    const ackedBeforeKill = acked.size;
    const inFlightAtKill = sent.size - acked.size;
    assert.ok(fs.existsSync(outbox));
    // 2. the same user dir again: delivery resumes from the outbox, more results come in
    await rt.start();
    let enough = false;
    const more = feed(rt.port, { inFlight: 8, stop: () => enough, sent, acked });
    await until(() => acked.size >= ackedBeforeKill + 100, 20000, '100 more acknowledged');
    enough = true;
    await more;
    await until(() => outboxRowsIn(rt.userDir, 'kpub') === 0, 20000, 'outbox drained after the restart');
    // 3. PostgreSQL and SQLite: every acknowledged result exactly once, nothing that was never sent
    const pgRows = (await pg.query(`SELECT result_id::text AS id FROM "${schema}".inspection_result`)).rows.map((r) => r.id);
    const sqRows = sqliteIds(path.join(rt.userDir, 'spotfusion', 'results.db'));
    for (const [name, rows] of [['PostgreSQL', pgRows], ['SQLite', sqRows]]) {
      const set = new Set(rows);
      assert.equal(set.size, rows.length, `${name}: a result stored twice`);
      for (const id of acked) assert.ok(set.has(id), `${name}: acknowledged result ${id} lost`);
      for (const id of set) assert.ok(sent.has(id), `${name}: ${id} was never sent`);
    }
    assert.equal((await pg.query(`SELECT count(*)::int AS n FROM "${schema}".spot_result`)).rows[0].n, 2 * pgRows.length);
    // Redis stream (at least once): every acknowledged result, repeats counted
    const entries = (await redis.xrange(stream, '-', '+')).map(([, f]) => f[1]);
    const distinctEntries = new Set(entries);
    for (const id of acked) assert.ok(distinctEntries.has(id), `Redis: acknowledged result ${id} lost`);
    const repeats = entries.length - distinctEntries.size;
    // the kill can repeat at most the batches that were in flight to Redis: one batch
    assert.ok(repeats <= 50, `Redis repeats ${repeats}`);
    this.test.title += ` [acked ${acked.size}, in flight at the kill ${inFlightAtKill}, outbox at the kill ${waitingAtKill}, stored unacked ${pgRows.length - acked.size}, Redis repeats ${repeats}]`;
  });
});

describe('enrich node', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('sends one InspectionResult per part and reports faults to Catch', async function () {
    await helper.load(NODES, onTab([
      { id: 'en', type: 'enrich', line: 'L1', area: 'A', station: 'ST10', camera: '', rules: '{"version":"v1","spots":{"s1":{},"s2":{}}}', wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      { id: 'bad', type: 'enrich', rules: '{"minScore": 5}', wires: [['out']] },
    ]));
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('en').receive({
      part: { serial: 'WB-9', program: 3 },
      plc: { station: 'ST10', readAt: new Date().toISOString(), cycle: 1, quality: {} },
      frame: { cameraId: 'camA', frameId: 5, width: 10, height: 10, pixelFormat: 'Mono8', timestamp: Date.now() },
      predictions: [{ spotId: 's1', label: 'ok', score: 0.9 }, { spotId: 's2', label: 'ok', score: 0.8 }],
      model: { name: 'm', version: '2' },
    });
    const m = await out;
    assert.equal(m.payload.verdict, 'OK');
    assert.equal(m.payload.station.camera, 'camA');
    assert.equal(m.payload.rulesVersion, 'v1');
    const out2 = nextMessage(helper.getNode('out'));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('en').receive({ part: {}, predictions: [{ spotId: 's1', label: 'ok', score: 0.9 }, { spotId: 'zz', label: 'ok', score: 1 }], model: { name: 'm', version: '2' } });
    const [m2, c] = await Promise.all([out2, caught]);
    assert.equal(m2.payload.verdict, 'NOK');
    assert.match(c.error.message, /fault\(s\): msg\.part\.serial is missing or empty; .*prediction for unknown spot zz/);
    const c2 = nextMessage(helper.getNode('caught'));
    helper.getNode('bad').receive({});
    assert.match((await c2).error.message, /rules\.minScore must be <= 1/);
  });
});
