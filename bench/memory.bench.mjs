#!/usr/bin/env node
// Memory budget of a station (issue 23): the RSS of a real Node-RED process (our settings, red.js, its own user
// dir) started with more and more of the station, one process per row, each measured after it settled (median
// of the RSS from /proc over the last --sample seconds of --settle seconds). The rows add, in order: bare
// Node-RED; the SpotFusion package; the dashboard flow; a model config and an infer node (onnxruntime + model);
// the whole station flow deployed but idle; the station running as `npm start` runs it (simulated PLC every
// 3 s, simulated camera, archive of NOK parts in its writer thread); the camera's frame pool (16 frames). Beside them:
// what an OPC UA PLC config and the plant targets (AMQP, MQTT, PostgreSQL on loopback) would add (the modules
// loaded only when a flow uses them), and the demo without the memory bounds of nodes/lib/memory.ts — the
// baseline of the same run: the bounded/unbounded ratio is the figure.
//
//   npm run bench -- memory [--quick] [--settle 60] [--sample 15] [--only a,b]
//
// Goal: the station demo ≤ 350 MB RSS after warm-up. Writes bench/results/memory.json.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import os from 'node:os';

const require = createRequire(import.meta.url);
const { Runtime } = require('../test/support/runtime.js');
const { ROOT } = require('../scripts/userdir.cjs');
const { withMemoryBounds } = require('../dist/nodes/lib/memory.js');
const { rssOf } = await import('../scripts/lib/soak-memory.mjs');

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
function num(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? def : Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}
const settleS = num('settle', QUICK ? 30 : 60);
const sampleS = Math.min(settleS, num('sample', QUICK ? 8 : 15));
const oi = process.argv.indexOf('--only');
const only = oi < 0 ? undefined : process.argv[oi + 1].split(',');
const GOAL_MB = 350;
const MB = 1048576;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const station = JSON.parse(readFileSync(join(ROOT, 'flows', 'station.json'), 'utf8'));
const dashboard = join(ROOT, 'flows', 'dashboard.json');
const stationFile = join(ROOT, 'flows', 'station.json');
const tmp = mkdirSync(join(os.tmpdir(), `sf-memory-bench-${process.pid}`), { recursive: true }) ?? join(os.tmpdir(), `sf-memory-bench-${process.pid}`);
const flowFile = (name, nodes) => {
  const f = join(tmp, `${name}.json`);
  writeFileSync(f, JSON.stringify(nodes));
  return f;
};
// a model config and an infer node of the station flow, on their tab: onnxruntime loads the demo model
const modelOnly = flowFile(
  'model-only',
  station.filter((n) => n.type === 'tab' || n.id === 'sf_st_model').concat(station.filter((n) => n.type === 'infer').map((n) => ({ ...n, wires: [[]] }))),
);
// the station with its PLC config on OPC UA (a server that is not there: the connection retries, node-opcua is loaded)
const opcua = flowFile(
  'station-opcua',
  station.map((n) => (n.type === 'plc-config' ? { ...n, protocol: 'opcua', endpoint: 'opc.tcp://127.0.0.1:4840', securityMode: 'None', securityPolicy: 'None' } : n)),
);

const bounded = withMemoryBounds({});
// the MALLOC_ variables in the environment, the V8 flags on the command line (as the service unit passes them)
const BOUNDS = Object.fromEntries(Object.entries(bounded.env).filter(([k]) => k.startsWith('MALLOC_')));
const UNBOUNDED = { MALLOC_ARENA_MAX: undefined, MALLOC_MMAP_THRESHOLD_: undefined, NODE_OPTIONS: undefined };
const IDLE = { PLC_SIM_PERIOD_MS: '3600000' };

// name, what it adds, flow files ('bare': no package in the user dir), environment
const ROWS = [
  ['bare', 'bare Node-RED 4.1 (our settings, no nodes of ours, no flow)', 'bare', {}],
  ['package', '+ the SpotFusion package loaded (no flow)', [], {}],
  ['dashboard', '+ Dashboard 2.0 and flows/dashboard.json', [dashboard], {}],
  ['model', '+ onnxruntime and the demo model (model config + infer node)', [dashboard, modelOnly], {}],
  ['idle', '+ the whole station flow deployed, no part yet (PLC simulator, camera config, SQLite outbox open)', [dashboard, stationFile], IDLE],
  ['demo', '+ parts every 3 s: the station demo as `npm start` runs it (camera frames, crop, infer, PNG archive of NOK parts in its writer thread, outbox)', [dashboard, stationFile], {}],
  ['pool', '+ the camera simulator frame pool (CAMERA_SIM_POOL=16, as the soak runs)', [dashboard, stationFile], { CAMERA_SIM_POOL: '16' }],
  ['opcua', 'beside idle: the PLC on OPC UA (node-opcua loaded)', [dashboard, opcua], IDLE],
  ['targets', 'beside idle: AMQP, MQTT and PostgreSQL targets on loopback (amqplib, mqtt, pg loaded)', [dashboard, stationFile], { ...IDLE, RESULT_TARGETS: 'sqlite,amqp,mqtt,postgres' }],
  ['unbounded', 'the demo without the memory bounds (baseline: no MALLOC_ variables, no V8 flags)', [dashboard, stationFile], UNBOUNDED],
];

async function measure([name, what, flows, env]) {
  const bare = flows === 'bare';
  const rt = await Runtime.create(
    { SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, SPOTFUSION_CREDENTIAL_SECRET: undefined, ...BOUNDS, ...env },
    { ...(bare ? { installed: true } : {}), nodeFlags: env === UNBOUNDED ? [] : bounded.flags },
  );
  if (bare) {
    mkdirSync(rt.userDir, { recursive: true });
    writeFileSync(join(rt.userDir, 'package.json'), '{"name":"bare","private":true}\n');
    writeFileSync(join(rt.userDir, 'flows.json'), '[]\n');
  }
  try {
    await rt.start({ flowSource: bare ? undefined : flows.length ? flows : [flowFile('empty', [])] });
    await sleep((settleS - sampleS) * 1000);
    const rss = [];
    for (let i = 0; i < sampleS; i += 1) {
      if (rt.proc.exitCode !== null || rt.proc.signalCode !== null) {
        throw new Error(`${name}: Node-RED exited (${rt.proc.exitCode ?? rt.proc.signalCode}) while being measured\n${rt.stderr.slice(-3000)}\n${rt.stdout.slice(-3000)}`);
      }
      rss.push(rssOf(rt.proc.pid));
      await sleep(1000);
    }
    const m = await rt.request('GET', '/spotfusion/metrics').catch(() => ({ text: '' }));
    const metric = (k) => Number((new RegExp(`^${k} (\\S+)`, 'm').exec(m.text ?? '') ?? [])[1]) / MB;
    rss.sort((a, b) => a - b);
    const errors = (rt.stdout + rt.stderr).split('\n').filter((l) => /\[error\]/.test(l));
    return {
      name,
      what,
      rssMb: rss[Math.floor(rss.length / 2)] / MB,
      heapUsedMb: metric('spotfusion_nodejs_heap_size_used_bytes'),
      heapTotalMb: metric('spotfusion_nodejs_heap_size_total_bytes'),
      externalMb: metric('spotfusion_nodejs_external_memory_bytes'),
      errors: errors.length,
    };
  } finally {
    await rt.stop();
    rmSync(rt.userDir, { recursive: true, force: true });
  }
}

const load = os.loadavg().map((v) => v.toFixed(2)).join(' ');
console.log(`memory: ${ROWS.length} configurations, ${settleS} s each (median RSS of the last ${sampleS} s), load average ${load}, ${os.cpus().length} cores, Node ${process.version}`);
const results = [];
for (const row of ROWS) {
  if (only && !only.includes(row[0])) continue;
  const r = await measure(row);
  results.push(r);
  const prev = results.length > 1 && results[results.length - 2];
  const delta = prev && !['opcua', 'targets', 'unbounded'].includes(r.name) ? ` (${r.rssMb - prev.rssMb >= 0 ? '+' : ''}${(r.rssMb - prev.rssMb).toFixed(1)})` : '';
  console.log(
    `  ${r.name.padEnd(10)} RSS ${r.rssMb.toFixed(1).padStart(6)} MB${delta.padEnd(9)} heap ${r.heapUsedMb.toFixed(1)}/${r.heapTotalMb.toFixed(1)} MB, external ${r.externalMb.toFixed(1)} MB${r.errors ? `, ${r.errors} error lines` : ''}  ${r.what}`,
  );
}
rmSync(tmp, { recursive: true, force: true });
const by = Object.fromEntries(results.map((r) => [r.name, r]));
const loadEnd = os.loadavg().map((v) => v.toFixed(2)).join(' ');
let failed = false;
if (by.idle && by.opcua) console.log(`OPC UA PLC config: +${(by.opcua.rssMb - by.idle.rssMb).toFixed(1)} MB (node-opcua, loaded only for it)`);
if (by.idle && by.targets) console.log(`plant targets: +${(by.targets.rssMb - by.idle.rssMb).toFixed(1)} MB (amqplib, mqtt, pg and their connections, loaded only for them)`);
if (by.demo) {
  const ok = by.demo.rssMb <= GOAL_MB;
  failed ||= !ok;
  console.log(`station demo ${by.demo.rssMb.toFixed(1)} MB: ${ok ? 'met' : 'NOT MET'} goal ≤ ${GOAL_MB} MB`);
}
if (by.demo && by.unbounded) console.log(`bounded / unbounded demo: ${by.demo.rssMb.toFixed(1)} / ${by.unbounded.rssMb.toFixed(1)} MB = ${(by.demo.rssMb / by.unbounded.rssMb).toFixed(3)}×`);
console.log(`load average at the end ${loadEnd}`);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'memory.json'), JSON.stringify({ at: new Date().toISOString(), load, loadEnd, settleS, sampleS, results }, null, 2));
process.exit(failed ? 1 : 0);
