'use strict';
// The Redis driver's watch() (nodes/lib/redis/client.ts) keeps each reply on the socket's direct path: its
// on('data') listener makes Node hand every chunk to ioredis' parser at once, where a bare ioredis 5 client
// (parser attached with prependListener) has Node buffer the reply and re-read it one process.nextTick later.
// This bench counts process.nextTick calls and times one PING at a time on both connections, in the same run,
// against the same Redis on 127.0.0.1:6379 (db 10), and prints the ratios. A performance detail, not product
// behaviour: it lives here, not in the tests (an ioredis or Node upgrade may change the bare client's count).
//
//   node bench/redis-watch.bench.cjs [--commands 5000] [--repeats 3] [--port 6379] [--db 10] [--quick]
//
// Exit status 1 when our connection needs more ticks per command than the bare client (the listener stopped
// doing its job), or a PING did not answer PONG.
const path = require('node:path');
const fs = require('node:fs');
const Redis = require('ioredis');
const { redisDriver, parseRedisSettings } = require('../dist/nodes/lib/redis/client');

const HOST = '127.0.0.1'; // loopback only (network rule)

function parseOptions(argv) {
  const opts = { commands: 5000, repeats: 3, port: 6379, db: 10, out: path.join(__dirname, 'results', 'redis-watch.json') };
  let quick = process.env.BENCH_QUICK === '1';
  const ints = { commands: [10, 10_000_000], repeats: [1, 99], port: [1, 65535], db: [0, 15] };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') ? (eq > 0 ? a.slice(2, eq) : a.slice(2)) : '';
    if (name === 'quick') {
      quick = true;
      continue;
    }
    if (!ints[name] && name !== 'out') {
      // bench/run.mjs hands every option to every bench: one meant for another bench is skipped, with a word
      console.error(`redis-watch bench: ignoring unknown option ${a}`);
      if (eq < 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) i += 1;
      continue;
    }
    const raw = eq > 0 ? a.slice(eq + 1) : argv[(i += 1)];
    if (name === 'out') {
      opts.out = path.resolve(String(raw));
      continue;
    }
    const n = Number(raw);
    const [min, max] = ints[name];
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
    opts[name] = n;
  }
  if (quick) {
    opts.commands = Math.min(opts.commands, 500);
    opts.repeats = 1;
  }
  return opts;
}

/** process.nextTick calls and wall time of `n` PINGs one after another on `client`. */
async function measure(client, n) {
  for (let i = 0; i < 50; i += 1) await client.ping(); // warm up
  let ticks = 0;
  const original = process.nextTick;
  process.nextTick = function counted(...args) {
    ticks += 1;
    return original.apply(this, args);
  };
  const t0 = process.hrtime.bigint();
  try {
    for (let i = 0; i < n; i += 1) {
      const r = await client.ping();
      if (r !== 'PONG') throw new Error(`PING answered ${JSON.stringify(r)}`);
    }
  } finally {
    process.nextTick = original;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ticksPerCommand: ticks / n, usPerCommand: ns / n / 1000 };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const driver = redisDriver(parseRedisSettings({ host: HOST, port: opts.port, db: opts.db, commandTimeout: 5000 }, {}, 'spotfusion:bench-watch'));
  const ours = await driver.open();
  const unwatch = driver.watch(ours, (err) => {
    console.error(`redis-watch bench: our connection was reported lost: ${err.message}`);
    process.exitCode = 1;
  });
  const bare = new Redis({ host: HOST, port: opts.port, db: opts.db, lazyConnect: true, maxRetriesPerRequest: 0 });
  bare.on('error', (err) => console.error(`redis-watch bench: bare client: ${err.message}`));
  await bare.connect();
  const rows = [];
  try {
    for (let r = 0; r < opts.repeats; r += 1) {
      // alternate the order so that neither side always runs on a warmer process
      const first = r % 2 === 0 ? ['ours', ours] : ['bare', bare];
      const second = r % 2 === 0 ? ['bare', bare] : ['ours', ours];
      const m = {};
      m[first[0]] = await measure(first[1], opts.commands);
      m[second[0]] = await measure(second[1], opts.commands);
      rows.push(m);
    }
  } finally {
    unwatch();
    await driver.close(ours);
    bare.disconnect();
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = {
    commands: opts.commands,
    repeats: opts.repeats,
    node: process.versions.node,
    ioredis: require('ioredis/package.json').version,
    ours: { ticksPerCommand: median(rows.map((x) => x.ours.ticksPerCommand)), usPerCommand: median(rows.map((x) => x.ours.usPerCommand)) },
    bare: { ticksPerCommand: median(rows.map((x) => x.bare.ticksPerCommand)), usPerCommand: median(rows.map((x) => x.bare.usPerCommand)) },
  };
  summary.tickRatio = summary.bare.ticksPerCommand / summary.ours.ticksPerCommand;
  summary.latencyRatio = summary.bare.usPerCommand / summary.ours.usPerCommand;
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify({ rows, summary }, null, 2)}\n`);
  console.log(`redis-watch: process.nextTick per command ours ${summary.ours.ticksPerCommand.toFixed(2)}, bare ioredis ${summary.bare.ticksPerCommand.toFixed(2)} (ratio ${summary.tickRatio.toFixed(2)}x)`);
  console.log(`redis-watch: one PING at a time ours ${summary.ours.usPerCommand.toFixed(1)} µs, bare ioredis ${summary.bare.usPerCommand.toFixed(1)} µs (ratio bare/ours ${summary.latencyRatio.toFixed(2)}x; noisy on a busy machine)`);
  if (summary.ours.ticksPerCommand > summary.bare.ticksPerCommand) {
    console.error('redis-watch bench: our watched connection needs more ticks per command than a bare client: the data listener no longer keeps replies on the direct path');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`redis-watch bench: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
