'use strict';
// Throughput and latency of our redis-cache node against node-red-contrib-redis@1.3.9 (its redis-command
// node), both inside a real Node-RED runtime (node-red-node-test-helper), against the same Redis on
// 127.0.0.1:6379 (db 10), in the same process and run. See bench/README.md.
//
//   node --expose-gc bench/redis-cache.bench.cjs [--messages 20000] [--inflight 64] [--repeats 3]
//        [--warmup 2000] [--seq-messages N] [--port 6379] [--db 10] [--side both|ours|theirs] [--out FILE]
//
// Every measurement is checked: SET results are read back from Redis and compared with what was sent,
// GET results are compared with what was SET, and INFO commandstats must show at least as many SET/GET
// calls as messages, so a side that does not do the work cannot look fast.
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { isDeepStrictEqual } = require('node:util');
const Redis = require('ioredis');

const ROOT = path.join(__dirname, '..');
// the test helper looks for node-red from the package.json of the working directory
process.chdir(ROOT);
const helper = require('node-red-node-test-helper');
const { removeHelperSpies } = require('./helper-spies.cjs');
const HOST = '127.0.0.1'; // loopback only (network rule)

// ---------------------------------------------------------------------------------------------- options

function parseOptions(argv) {
  const opts = {
    messages: 20000,
    inflight: 64,
    repeats: 3,
    warmup: 2000,
    seqMessages: undefined,
    port: 6379,
    db: 10,
    side: 'both',
    keepHelperSpies: false,
    out: path.join(__dirname, 'results', 'redis-cache.json'),
  };
  let quick = process.env.BENCH_QUICK === '1';
  const given = new Set();
  const ints = { messages: [1, 10_000_000], inflight: [1, 100_000], repeats: [1, 99], warmup: [0, 10_000_000], 'seq-messages': [1, 10_000_000], port: [1, 65535], db: [0, 15] };
  const known = [...Object.keys(ints), 'side', 'out', 'quick', 'keep-helper-spies'];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'keep-helper-spies' || name === 'quick') {
      if (name === 'quick') quick = true;
      else opts.keepHelperSpies = true;
      continue;
    }
    if (!known.includes(name)) {
      // bench/run.mjs hands every option to every bench: one meant for another bench is skipped, with a word
      console.error(`redis-cache bench: ignoring unknown option --${name} (known: --${known.join(', --')})`);
      if (eq < 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) i += 1; // and its value
      continue;
    }
    const raw = eq > 0 ? a.slice(eq + 1) : argv[(i += 1)];
    if (raw === undefined) throw new Error(`--${name} needs a value`);
    if (ints[name]) {
      const n = Number(raw);
      const [min, max] = ints[name];
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
      opts[name === 'seq-messages' ? 'seqMessages' : name] = n;
      given.add(name);
    } else if (name === 'side') {
      if (!['both', 'ours', 'theirs'].includes(raw)) throw new Error(`--side must be both, ours or theirs, got ${JSON.stringify(raw)}`);
      opts.side = raw;
    } else {
      opts.out = path.resolve(raw);
    }
  }
  if (quick) {
    for (const [k, v] of Object.entries({ messages: 2000, warmup: 500, repeats: 1 })) if (!given.has(k)) opts[k] = v;
  }
  if (opts.seqMessages === undefined) opts.seqMessages = opts.messages;
  return opts;
}

// ------------------------------------------------------------------------------------------------ sides

const RUN_ID = `bench:redis-cache:${process.pid}:`;

/**
 * One side of the comparison: the nodes to load, the flow, and how a message for key i looks.
 * Ours takes the value as an object and stores it as JSON (it JSON-encodes on SET and decodes on GET).
 * Theirs (redis-command) sends msg.payload as is, so it gets the JSON text, made before the clock starts,
 * and hands back the raw string on GET: it does no JSON work at all, which favours it.
 */
const SIDES = {
  ours: {
    label: 'ours (redis-cache)',
    prefix: `${RUN_ID}ours:`,
    connectionName: `spotfusion:bench-ours-cfg`,
    nodes: () => [
      require(path.join(ROOT, 'dist/nodes/spotfusion-redis-config/spotfusion-redis-config.js')),
      require(path.join(ROOT, 'dist/nodes/redis-cache/redis-cache.js')),
    ],
    flow(opts) {
      const common = { type: 'redis-cache', redis: 'bench-ours-cfg', key: '', field: '', ttl: '', valueProperty: 'payload', outputProperty: 'payload' };
      return [
        { id: 'bench-ours-cfg', type: 'spotfusion-redis-config', name: 'bench', host: HOST, port: opts.port, db: opts.db, keyPrefix: this.prefix, valueFormat: 'json' },
        { ...common, id: 'set', operation: 'set', wires: [['out']] },
        { ...common, id: 'get', operation: 'get', wires: [['out']] },
      ];
    },
    async ready() {
      await until(() => helper.getNode('bench-ours-cfg').connection.connected, 10000, 'our Redis connection');
    },
    // the key the node gets (the config node adds the prefix) and the key it lands on in Redis
    topic: (i) => String(i),
    stored: (i) => `${SIDES.ours.prefix}${i}`,
    setPayload: (value) => value.obj,
    getMatches: (payload, value) => isDeepStrictEqual(payload, value.obj),
  },
  theirs: {
    label: 'theirs (node-red-contrib-redis redis-command)',
    prefix: `${RUN_ID}theirs:`,
    connectionName: 'bench-theirs',
    nodes: () => [require(path.join(ROOT, 'node_modules/node-red-contrib-redis/redis.js'))],
    flow(opts) {
      // block: false = the nodes of one config share one connection (their fastest setting, and what ours does)
      const options = JSON.stringify({ host: HOST, port: opts.port, db: opts.db, connectionName: this.connectionName });
      const common = { type: 'redis-command', server: 'bench-theirs-cfg', name: '', topic: '', params: '[]', block: false };
      return [
        { id: 'bench-theirs-cfg', type: 'redis-config', name: `bench-theirs-${process.pid}`, options, optionsType: 'json', cluster: false },
        { ...common, id: 'set', command: 'set', wires: [['out']] },
        { ...common, id: 'get', command: 'get', wires: [['out']] },
      ];
    },
    async ready() {
      // their client connects on its own with an offline queue; wait until it shows in CLIENT LIST
      await until(async () => (await clientsNamed(SIDES.theirs.connectionName)) > 0, 10000, 'their Redis connection');
    },
    topic: (i) => `${SIDES.theirs.prefix}${i}`,
    stored: (i) => `${SIDES.theirs.prefix}${i}`,
    setPayload: (value) => value.json,
    getMatches: (payload, value) => payload === value.json,
  },
};

// ------------------------------------------------------------------------------------------------ redis

let direct; // our own client for checks and clean-up, never used by the nodes

async function clientsNamed(name) {
  const list = await direct.client('LIST');
  return list.split('\n').filter((l) => l.includes(` name=${name} `)).length;
}

async function commandCalls() {
  const info = await direct.info('commandstats');
  const calls = {};
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
  return calls;
}

async function deleteKeys(pattern) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await direct.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await direct.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Every key 0..n-1 of the side must hold exactly the JSON that was sent. */
async function verifyStored(side, values, what) {
  const CHUNK = 1000;
  for (let start = 0; start < values.length; start += CHUNK) {
    const keys = [];
    for (let i = start; i < Math.min(values.length, start + CHUNK); i += 1) keys.push(side.stored(i));
    const got = await direct.mget(...keys);
    got.forEach((raw, k) => {
      const i = start + k;
      if (raw !== values[i].json) throw new Error(`${what}: key ${keys[k]} holds ${JSON.stringify(raw)?.slice(0, 80)}, expected the value sent (${values[i].json.slice(0, 80)}…)`);
    });
  }
}

// ------------------------------------------------------------------------------------------------ tools

function until(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      if (await fn()) return;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
}

/** ~200 bytes of JSON, different for every key and every pass, so stale data cannot pass the checks. */
function makeValues(n, tag) {
  const values = new Array(n);
  for (let i = 0; i < n; i += 1) {
    const obj = {
      serial: `WB-${tag}-${String(i).padStart(7, '0')}`,
      station: 'ST-07',
      program: 12,
      index: i,
      ok: i % 7 !== 0,
      takenAt: '2025-11-25T22:53:00.000Z',
      spots: [
        { id: 101, cls: 'OK', d: 5.42 },
        { id: 102, cls: i % 7 === 0 ? 'NOK' : 'OK', d: 4.97 },
        { id: 103, cls: 'OK', d: 5.1 },
      ],
    };
    values[i] = { obj, json: JSON.stringify(obj) };
  }
  return values;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function resetHelperSpies() {
  const proto = helper._NodePrototype;
  for (const m of ['log', 'status', 'warn', 'error', 'debug', 'trace', 'send']) {
    if (proto && typeof proto[m]?.resetHistory === 'function') proto[m].resetHistory();
  }
}

function settle() {
  resetHelperSpies();
  if (typeof global.gc === 'function') global.gc();
  return new Promise((r) => setTimeout(r, 50));
}

// ------------------------------------------------------------------------------------------------ drive

/**
 * Send n messages into node `nodeId` with at most `inflight` unanswered, the next one as soon as one comes
 * out (inflight 1 = one at a time). Returns elapsed seconds, each message's latency and each output payload.
 */
function drive(nodeId, n, inflight, makeMsg) {
  const node = helper.getNode(nodeId);
  const out = helper.getNode('out');
  const caught = helper.getNode('caught');
  const started = new Float64Array(n);
  const latencyMs = new Float64Array(n);
  const payloads = new Array(n);
  let sent = 0;
  let received = 0;
  let t0 = 0n;
  let cpu0;
  return new Promise((resolve, reject) => {
    let lastProgress = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > 15000) finish(new Error(`${nodeId}: no progress for 15 s (${received}/${n} answered)`));
    }, 1000);
    function finish(err) {
      clearInterval(watchdog);
      out.removeListener('input', onOut);
      caught.removeListener('input', onError);
      if (err) reject(err);
      else {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        resolve({ seconds, cpuUsPerMsg: (cpu.user + cpu.system) / n, latencyMs, payloads });
      }
    }
    function sendOne() {
      const i = sent;
      sent += 1;
      const msg = makeMsg(i);
      msg.benchIndex = i;
      started[i] = performance.now();
      node.receive(msg);
    }
    function onOut(msg) {
      const i = msg.benchIndex;
      latencyMs[i] = performance.now() - started[i];
      payloads[i] = msg.payload;
      received += 1;
      lastProgress = Date.now();
      if (received === n) finish();
      else if (sent < n) sendOne();
    }
    function onError(msg) {
      finish(new Error(`${nodeId} reported an error for message ${msg.benchIndex}: ${msg.error?.message ?? JSON.stringify(msg.error)}`));
    }
    out.on('input', onOut);
    caught.on('input', onError);
    cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    const first = Math.min(n, inflight);
    for (let k = 0; k < first; k += 1) sendOne();
  });
}

/** SET then GET of n values through one side's nodes, checked against Redis; returns one result per op. */
async function setThenGet(side, values, inflight, what, check = true) {
  const n = values.length;
  const results = {};
  for (const op of ['set', 'get']) {
    await settle();
    const before = check ? await commandCalls() : undefined;
    const makeMsg = op === 'set' ? (i) => ({ topic: side.topic(i), payload: side.setPayload(values[i]) }) : (i) => ({ topic: side.topic(i) });
    const r = await drive(op, n, inflight, makeMsg);
    if (check) {
      const after = await commandCalls();
      const calls = (after[op] ?? 0) - (before[op] ?? 0);
      if (calls < n) throw new Error(`${what} ${op}: Redis saw ${calls} ${op.toUpperCase()} calls for ${n} messages`);
      if (op === 'set') {
        r.payloads.forEach((p, i) => {
          if (p !== 'OK') throw new Error(`${what} set: message ${i} came out with payload ${JSON.stringify(p)}, expected "OK"`);
        });
        await verifyStored(side, values, `${what} set`);
      } else {
        r.payloads.forEach((p, i) => {
          if (!side.getMatches(p, values[i])) throw new Error(`${what} get: message ${i} came out with ${JSON.stringify(p)?.slice(0, 80)}, not the value that was SET`);
        });
      }
      r.redisCalls = calls;
    }
    const sorted = Array.from(r.latencyMs).sort((a, b) => a - b);
    results[op] = { opsPerSec: n / r.seconds, seconds: r.seconds, cpuUsPerMsg: r.cpuUsPerMsg, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), redisCalls: r.redisCalls };
  }
  return results;
}

/**
 * One pass of one side: load it, warm up, measure every workload once (unless `measure` is false: warm-up
 * only), unload, check that its connection closed.
 */
async function pass(sideName, opts, rep, measure = true) {
  const side = SIDES[sideName];
  const flow = [
    { id: 'tab', type: 'tab', label: 'bench' },
    ...side.flow(opts).map((n) => (n.wires ? { z: 'tab', x: 100, y: 100, ...n } : n)),
    { id: 'out', type: 'helper', z: 'tab', x: 100, y: 100 },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, z: 'tab', x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', x: 100, y: 100 },
  ];
  await helper.load(side.nodes(), flow);
  if (!opts.keepHelperSpies) removeHelperSpies(helper, flow.filter((n) => n.z).map((n) => n.id));
  try {
    await side.ready();
    const warm = makeValues(Math.max(1, opts.warmup), `warm${rep}`);
    await setThenGet(side, warm, opts.inflight, `${sideName} warm-up`, false);
    await setThenGet(side, warm.slice(0, Math.max(1, opts.warmup >> 2)), 1, `${sideName} warm-up`, false);
    if (!measure) return undefined;
    const inflight = await setThenGet(side, makeValues(opts.messages, `r${rep}a`), opts.inflight, `${sideName} pass ${rep} x${opts.inflight}`);
    const sequential = await setThenGet(side, makeValues(opts.seqMessages, `r${rep}b`), 1, `${sideName} pass ${rep} sequential`);
    return { inflight, sequential };
  } finally {
    await helper.unload();
    resetHelperSpies();
    await until(async () => (await clientsNamed(side.connectionName)) === 0, 5000, `${side.label} to close its Redis connection after unload`);
  }
}

// ------------------------------------------------------------------------------------------------ report

function fmtOps(x) {
  return x === undefined ? '-' : Math.round(x).toLocaleString('en-US');
}
function fmtMs(x) {
  return x === undefined ? '-' : x < 1 ? x.toFixed(3) : x.toFixed(2);
}

function summarise(opts, passes) {
  const workloads = [
    { id: 'set-inflight', title: `SET x${opts.inflight} in flight`, mode: 'inflight', op: 'set' },
    { id: 'get-inflight', title: `GET x${opts.inflight} in flight`, mode: 'inflight', op: 'get' },
    { id: 'set-sequential', title: 'SET one at a time', mode: 'sequential', op: 'set' },
    { id: 'get-sequential', title: 'GET one at a time', mode: 'sequential', op: 'get' },
  ];
  return workloads.map((w) => {
    const row = { workload: w.id, title: w.title, messages: w.mode === 'inflight' ? opts.messages : opts.seqMessages };
    for (const s of ['ours', 'theirs']) {
      const runs = passes[s].map((p) => p[w.mode][w.op]);
      if (runs.length === 0) continue;
      row[s] = {
        opsPerSec: median(runs.map((r) => r.opsPerSec)),
        cpuUsPerMsg: median(runs.map((r) => r.cpuUsPerMsg)),
        p50Ms: median(runs.map((r) => r.p50Ms)),
        p99Ms: median(runs.map((r) => r.p99Ms)),
        runs: runs.map((r) => ({ opsPerSec: Math.round(r.opsPerSec), cpuUsPerMsg: r.cpuUsPerMsg, p50Ms: r.p50Ms, p99Ms: r.p99Ms, redisCalls: r.redisCalls })),
      };
    }
    if (row.ours && row.theirs) row.ratio = row.ours.opsPerSec / row.theirs.opsPerSec;
    return row;
  });
}

function printTable(rows) {
  const head = ['workload', 'ours ops/s', 'theirs ops/s', 'ratio', 'ours p50/p99 ms', 'theirs p50/p99 ms', 'CPU us/msg ours/theirs'];
  const body = rows.map((r) => [
    r.title,
    fmtOps(r.ours?.opsPerSec),
    fmtOps(r.theirs?.opsPerSec),
    r.ratio === undefined ? '-' : `${r.ratio.toFixed(2)}x`,
    r.ours ? `${fmtMs(r.ours.p50Ms)} / ${fmtMs(r.ours.p99Ms)}` : '-',
    r.theirs ? `${fmtMs(r.theirs.p50Ms)} / ${fmtMs(r.theirs.p99Ms)}` : '-',
    `${r.ours ? r.ours.cpuUsPerMsg.toFixed(1) : '-'} / ${r.theirs ? r.theirs.cpuUsPerMsg.toFixed(1) : '-'}`,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
  const line = (cells) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

// ------------------------------------------------------------------------------------------------ main

async function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    err.usage = true;
    throw err;
  }
  helper.init(require.resolve('node-red'));
  direct = new Redis({ host: HOST, port: opts.port, db: opts.db, lazyConnect: true, connectionName: 'bench-direct', maxRetriesPerRequest: 1, retryStrategy: () => null });
  direct.on('error', () => undefined);
  try {
    await direct.connect();
  } catch (err) {
    throw new Error(`cannot reach Redis on ${HOST}:${opts.port} (${err.message}); start one (e.g. redis-server --port ${opts.port}) and run again`);
  }
  const sides = opts.side === 'both' ? ['ours', 'theirs'] : [opts.side];
  const redisVersion = /redis_version:(\S+)/.exec(await direct.info('server'))?.[1];
  console.log(
    `redis-cache bench: ${opts.messages} messages x${opts.inflight} in flight, ${opts.seqMessages} one at a time, ` +
      `${opts.repeats} passes per side (median), Redis ${redisVersion} on ${HOST}:${opts.port} db ${opts.db}, ` +
      `Node ${process.version}, ${os.cpus().length} CPU(s)${typeof global.gc === 'function' ? '' : ' (no --expose-gc: no GC between runs)'}`,
  );
  const passes = { ours: [], theirs: [] };
  try {
    // one unmeasured round first, so that neither side pays for warming up the process (JIT, heap, sockets)
    for (const s of sides) await pass(s, opts, 0, false);
    // then the sides take turns, each pass a separate load, and the first side changes every pass (ours,
    // theirs | theirs, ours | ...), so that drift and the order hit both alike
    for (let rep = 1; rep <= opts.repeats; rep += 1) {
      for (const s of rep % 2 ? sides : [...sides].reverse()) {
        const t = Date.now();
        const p = await pass(s, opts, rep);
        passes[s].push(p);
        console.log(
          `  pass ${rep} ${s.padEnd(6)}: set ${fmtOps(p.inflight.set.opsPerSec)}/s get ${fmtOps(p.inflight.get.opsPerSec)}/s x${opts.inflight}; ` +
            `set ${fmtOps(p.sequential.set.opsPerSec)}/s get ${fmtOps(p.sequential.get.opsPerSec)}/s sequential (${((Date.now() - t) / 1000).toFixed(1)} s, checked)`,
        );
      }
    }
  } finally {
    const deleted = await deleteKeys(`${RUN_ID}*`);
    console.log(`  deleted ${deleted} bench keys (${RUN_ID}*) from db ${opts.db}`);
  }

  const rows = summarise(opts, passes);
  const ratios = rows.filter((r) => r.ratio !== undefined);
  let summary;
  if (ratios.length) {
    const min = Math.min(...ratios.map((r) => r.ratio));
    const geomean = Math.exp(ratios.reduce((a, r) => a + Math.log(r.ratio), 0) / ratios.length);
    summary = { min, geomean, goal: 1.0, met: min >= 1.0 };
  }
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  const report = {
    bench: 'redis-cache',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}`, loadavg: os.loadavg() },
    redis: { version: redisVersion, host: HOST, port: opts.port, db: opts.db },
    options: { messages: opts.messages, inflight: opts.inflight, seqMessages: opts.seqMessages, repeats: opts.repeats, warmup: opts.warmup, helperSpies: opts.keepHelperSpies },
    baseline: `node-red-contrib-redis@${require(path.join(ROOT, 'node_modules/node-red-contrib-redis/package.json')).version} redis-command`,
    rows,
    ratio: summary,
  };
  fs.writeFileSync(opts.out, JSON.stringify(report, null, 2) + '\n');

  console.log('');
  printTable(rows);
  console.log(`(medians of ${opts.repeats} passes; results in ${path.relative(process.cwd(), opts.out)})`);
  console.log('');
  for (const r of rows) {
    const parts = [r.ours && `ours ${fmtOps(r.ours.opsPerSec)} ops/s (p50 ${fmtMs(r.ours.p50Ms)} ms, p99 ${fmtMs(r.ours.p99Ms)} ms)`, r.theirs && `theirs ${fmtOps(r.theirs.opsPerSec)} ops/s (p50 ${fmtMs(r.theirs.p50Ms)} ms, p99 ${fmtMs(r.theirs.p99Ms)} ms)`].filter(Boolean);
    console.log(`redis-cache ${r.workload}: ${parts.join(', ')}${r.ratio === undefined ? '' : `, ratio ${r.ratio.toFixed(2)}x`}`);
  }
  if (summary) {
    const each = ratios.map((r) => `${r.workload} ${r.ratio.toFixed(2)}x`).join(', ');
    console.log(`ratio (ours/theirs ops/s): ${each}; min ${summary.min.toFixed(2)}x, geomean ${summary.geomean.toFixed(2)}x; goal >= 1.00x ${summary.met ? 'met' : 'NOT met'}`);
  } else {
    console.log('ratio: n/a (only one side measured)');
  }
}

// Ctrl-C: delete what we wrote, then stop
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`redis-cache bench: ${sig}, deleting bench keys and stopping`);
    const quit = () => process.exit(130);
    if (direct?.status === 'ready') deleteKeys(`${RUN_ID}*`).then(quit, quit);
    else quit();
  });
}

let failed = false;
main()
  .catch((err) => {
    failed = true;
    console.error(`redis-cache bench FAILED: ${err.usage ? err.message : (err.stack ?? err)}`);
  })
  .finally(async () => {
    if (direct) await direct.quit().catch(() => direct.disconnect());
    process.exitCode = failed ? 1 : 0;
    // everything is closed: the process should end now; if a handle is left, say which and stop anyway
    const t = setTimeout(() => {
      const left = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
      console.error(`redis-cache bench: handles still open after close: ${left.join(', ') || 'none'}; exiting`);
      process.exit(failed ? 1 : 2);
    }, 5000);
    t.unref();
  });
