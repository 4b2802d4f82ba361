'use strict';
// Results/s through result-publish (outbox → PostgreSQL + AMQP) against direct inserts + publishes with the
// same client libraries (pg, amqplib), in the same process and run, against the real servers on loopback.
//
//   node --expose-gc bench/result-publish.bench.cjs [--results 2000] [--repeats 3] [--inflight 64] [--out FILE]
//
// ours-full / ours-normal: results sent into a result-publish node (Node-RED test runtime) with the outbox at
//   synchronous=FULL (default, survives power loss) or NORMAL; the clock stops when PostgreSQL and RabbitMQ
//   confirmed every result (outbox empty), and both are checked (row count, queue depth).
// direct-seq: per result, INSERT (same statement, one result) then publish + wait for the broker's confirm —
//   what the legacy database-writer did, without any durability of its own.
// direct-inflight: the same with --inflight results in flight.
// ratio = ours-full results/s ÷ direct-seq results/s (and ÷ direct-inflight).
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const crypto = require('node:crypto');
const helper = require('node-red-node-test-helper');
const amqplib = require('amqplib');
const { Pool, Client } = require('pg');

const ROOT = path.join(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', 'nodes', p));
const { enrich, checkIdentity } = dist('lib/result/enrich.js');
const { parseRules } = dist('lib/result/verdict.js');
const { migrate, insertResults } = dist('lib/pg/client.js');

function options(argv) {
  const o = { results: 2000, repeats: 3, inflight: 64, out: path.join(__dirname, 'results', 'result-publish.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (a === '--out') o.out = path.resolve(v);
    else if (['--results', '--repeats', '--inflight'].includes(a)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} must be a positive whole number, got ${JSON.stringify(v)}`);
      o[a.slice(2)] = n;
    } else throw new Error(`unknown option ${a} (known: --results, --repeats, --inflight, --out)`);
  }
  return o;
}

const RULES = parseRules({ spots: { s1: {}, s2: {}, s3: {}, s4: {} } });
const ID = checkIdentity({ line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' });
function results(n) {
  return Array.from({ length: n }, (_, i) =>
    enrich(
      {
        part: { serial: `WB-${i}`, program: 7 },
        predictions: ['s1', 's2', 's3', 's4'].map((s) => ({ spotId: s, label: 'ok', score: 0.95 })),
        model: { name: 'spotnet', version: '1' },
      },
      RULES,
      ID,
    ),
  );
}

const RUN = crypto.randomBytes(3).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const o = options(process.argv.slice(2));
  const admin = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  const conn = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await conn.createChannel();
  const rows = [];
  let k = 0;

  async function fresh() {
    k += 1;
    const names = { schema: `sfbench_${RUN}_${k}`, exchange: `sfbench.${RUN}.${k}`, queue: `sfbench.${RUN}.${k}.q` };
    await ch.assertExchange(names.exchange, 'topic', { durable: true });
    await ch.assertQueue(names.queue, { durable: true });
    await ch.bindQueue(names.queue, names.exchange, '#');
    return names;
  }
  async function cleanup(names) {
    await admin.query(`DROP SCHEMA IF EXISTS "${names.schema}" CASCADE`);
    await ch.deleteQueue(names.queue);
    await ch.deleteExchange(names.exchange);
  }
  async function check(names, n) {
    const c = (await admin.query(`SELECT count(*)::int AS n FROM "${names.schema}".inspection_result`)).rows[0].n;
    const q = (await ch.checkQueue(names.queue)).messageCount;
    if (c !== n || q < n) throw new Error(`check failed: ${c} rows, ${q} messages for ${n} results`);
  }

  async function ours(sync, list) {
    const names = await fresh();
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-bench-'));
    helper.settings({ userDir, logging: { console: { level: 'off' } } });
    const nodes = [dist('spotfusion-amqp-config/spotfusion-amqp-config.js'), dist('spotfusion-postgres-config/spotfusion-postgres-config.js'), dist('result-publish/result-publish.js')];
    await helper.load(nodes, [
      { id: 't', type: 'tab' },
      { id: 'a', type: 'spotfusion-amqp-config', host: '127.0.0.1', port: 5672 },
      { id: 'p', type: 'spotfusion-postgres-config', host: '127.0.0.1', port: 5432, database: 'test', schema: names.schema },
      { id: 'pub', z: 't', x: 1, y: 1, type: 'result-publish', amqp: 'a', amqpExchange: names.exchange, amqpRoutingKey: 'r', postgres: 'p', sqlite: false, outboxSync: sync, wires: [['out']] },
      { id: 'out', z: 't', x: 1, y: 1, type: 'helper' },
    ]);
    const a = helper.getNode('a');
    const p = helper.getNode('p');
    while (!a.connection.connected || !p.connection.connected) await sleep(20);
    const pub = helper.getNode('pub');
    const Database = require('better-sqlite3');
    const obFile = path.join(userDir, 'spotfusion', 'outbox-pub.db');
    const t0 = process.hrtime.bigint();
    let acked = 0;
    helper.getNode('out').on('input', () => (acked += 1));
    for (const r of list) pub.receive({ payload: r });
    const ob = new Database(obFile, { readonly: true });
    for (;;) {
      const left = ob.prepare('SELECT count(*) AS n FROM outbox').get().n;
      if (left === 0 && acked >= list.length) break;
      await sleep(5);
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    ob.close();
    await helper.unload();
    await check(names, list.length);
    await cleanup(names);
    return list.length / s;
  }

  async function direct(inflight, list) {
    const names = await fresh();
    const pool = new Pool({ host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', max: 4 });
    await migrate(pool, names.schema);
    const pconn = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
    const cc = await pconn.createConfirmChannel();
    const one = async (r) => {
      const body = JSON.stringify(r);
      await insertResults({ pool, schema: names.schema }, [body]);
      await new Promise((resolve, reject) =>
        cc.publish(names.exchange, 'r', Buffer.from(body), { persistent: true, messageId: r.resultId, contentType: 'application/json' }, (err) => (err ? reject(err) : resolve())),
      );
    };
    const t0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < list.length) await one(list[next++]);
      }),
    );
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await pconn.close();
    await pool.end();
    await check(names, list.length);
    await cleanup(names);
    return list.length / s;
  }

  const sides = {
    'ours-full': () => ours('FULL', results(o.results)),
    'ours-normal': () => ours('NORMAL', results(o.results)),
    'direct-seq': () => direct(1, results(o.results)),
    'direct-inflight': () => direct(o.inflight, results(o.results)),
  };
  // warm-up (JIT, connections, first migrations)
  await sides['ours-normal']();
  await sides['direct-seq']();
  const all = {};
  for (let rep = 0; rep < o.repeats; rep++) {
    for (const [name, fn] of Object.entries(sides)) {
      if (global.gc) global.gc();
      const v = await fn();
      (all[name] ??= []).push(v);
      rows.push({ rep, side: name, resultsPerSec: Math.round(v) });
      console.log(`${name.padEnd(16)} run ${rep + 1}: ${Math.round(v)} results/s`);
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const med = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, median(v)]));
  const summary = {
    bench: 'result-publish',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
    options: o,
    medianResultsPerSec: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, Math.round(v)])),
    ratio: {
      oursFullVsDirectSeq: med['ours-full'] / med['direct-seq'],
      oursNormalVsDirectSeq: med['ours-normal'] / med['direct-seq'],
      oursFullVsDirectInflight: med['ours-full'] / med['direct-inflight'],
      oursNormalVsDirectInflight: med['ours-normal'] / med['direct-inflight'],
    },
    runs: rows,
  };
  console.log('\nmedian results/s:', summary.medianResultsPerSec);
  console.log('ratio (ours ÷ direct):', Object.fromEntries(Object.entries(summary.ratio).map(([k, v]) => [k, v.toFixed(2)])));
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, JSON.stringify(summary, null, 2) + '\n');
  await conn.close();
  await admin.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench result-publish: ${err.stack || err.message}`);
    process.exit(1);
  },
);
