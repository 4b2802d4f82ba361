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
const { Client } = require('pg');
const Redis = require('ioredis');
const Database = require('better-sqlite3');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { requireService } = require('../support/services');
const { TcpProxy } = require('../support/tcp-proxy');
const { enrich, checkIdentity } = require('../../dist/nodes/lib/result/enrich.js');
const { parseRules } = require('../../dist/nodes/lib/result/verdict.js');
const { registry } = require('../../dist/nodes/lib/metrics.js');

let httpNode;
const NODES = [
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
    pg = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    pg.on('error', () => undefined);
    await pg.connect();
    redis = new Redis({ host: '127.0.0.1', port: 6379, db: REDIS_DB, lazyConnect: true });
    redis.on('error', () => undefined);
    await redis.connect();
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

  async function pgCount(table = 'inspection_result') {
    const r = await pg.query(`SELECT count(*)::int AS n, count(DISTINCT result_id)::int AS d FROM "${names.schema}".${table}`).catch(() => ({ rows: [{ n: -1, d: -1 }] }));
    return r.rows[0];
  }

  function sqliteCount() {
    const file = path.join(userDir, 'spotfusion', 'results.db');
    if (!fs.existsSync(file)) return 0;
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare('SELECT count(*) AS n FROM inspection_result').get().n;
    } catch (noTable) {
      return 0;
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
      assert.equal((await get('/spotfusion/archive/pub/..%2F..%2Fetc%2Fpasswd')).status, 404);
      assert.equal((await get(`/spotfusion/archive/pub/${day}/../../outbox-pub.db`)).status, 404);
      assert.equal((await get('/spotfusion/archive/nobody/x.png')).status, 404);
    } finally {
      server.close();
    }
    // the result in the store carries the paths
    await until(() => sqliteCount() === 2, 5000, 'stored');
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
