#!/usr/bin/env node
'use strict';
// SPC benchmarks (issue 21), both sides in the same run:
//  (a) the SPC update of one 48-spot InspectionResult (diameter and confidence: 96 chart series, subgroups of 5,
//      limits frozen, all 8 run rules on), p50/p99 per result. Target: p99 ≤ 0.2 ms. For scale, the same figures
//      of enrich() making that result, and the cost of writing the 96 series to SQLite (done once per flush
//      interval, 1 s by default, not per part).
//  (b) the station pipeline camera-sim frame → crop → infer (demo model) → enrich → spc in a Node-RED runtime,
//      against the same chain without spc, in one runtime, parts interleaved in chunks. Parts/s both ways, ratio
//      (goal ≥ 0.95×), on two workloads: each part one of 40 all-ok frames drawn at random (seeded; the goal's case)
//      and, for the record, 12 frames of the simulator's class mix cycled (every series repeats, with defects' diameters
//      in it). spc's alarm output is wired (to a helper), as a flow routes its alarms; the alarm events per part are
//      printed with each ratio.
// Standalone: `npm run build && node bench/spc.bench.cjs [--quick]`. Writes bench/results/spc.json.
const { mkdirSync, writeFileSync, mkdtempSync, rmSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const os = require('node:os');

const root = join(__dirname, '..');
const dist = (p) => join(root, 'dist', p);
const sim = require(dist('nodes/lib/camera/simulator.js'));
const { enrich, checkIdentity } = require(dist('nodes/lib/result/enrich.js'));
const { parseRules } = require(dist('nodes/lib/result/verdict.js'));
const { SpcEngine, parseConfig } = require(dist('nodes/lib/spc/engine.js'));
const { SpcStore } = require(dist('nodes/lib/spc/store.js'));

const MODEL = join(root, 'models', 'demo', 'spotfusion-demo.onnx');
const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
for (const a of process.argv.slice(2)) if (a !== '--quick') process.stderr.write(`spc bench: ignoring option ${a} (meant for another bench)\n`);
const log = (s) => process.stdout.write(`${s}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e6;
function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: +pct(s, 50).toFixed(4), p99: +pct(s, 99).toFixed(4), mean: +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(4) };
}

const SPOTS = Array.from({ length: 48 }, (_, i) => `S${String(i + 1).padStart(2, '0')}`);
const RULES = parseRules({ diameter: { head: 'nugget', unit: 'px' }, spots: Object.fromEntries(SPOTS.map((s) => [s, { minDiameter: 25.6 }])) }, 'rules');
const ID = checkIdentity({ line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' });

/** a deterministic pseudo-random stream (no Math.random: the same parts each run) */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function benchUpdate() {
  const r = rng(21);
  const parts = QUICK ? 4000 : 40000;
  const inputs = Array.from({ length: 500 }, (_, i) => ({
    part: { serial: `WB-${i}`, program: 7 },
    predictions: SPOTS.map((s) => ({ spotId: s, heads: { class: { label: 'ok', score: 0.9 + 0.09 * r() }, nugget: { value: 30 + 4 * r(), unit: 'px' } } })),
    model: { name: 'spotnet', version: '1' },
  }));
  const results = [];
  const tEnrich = [];
  for (let i = 0; i < inputs.length; i++) {
    const t = now();
    results.push(enrich(inputs[i], RULES, ID));
    tEnrich.push(now() - t);
  }
  const engine = new SpcEngine(parseConfig({ subgroupSize: 5, baselineSubgroups: 25 }));
  // baseline: 125 parts, then warm-up
  for (let i = 0; i < 2000; i++) engine.update(results[i % results.length]);
  if (engine.summary().some((x) => x.phase !== 'monitor')) throw new Error('spc bench: the series did not freeze their limits');
  const t = [];
  const floor = [];
  let alarms = 0;
  const noop = (x) => x;
  for (let i = 0; i < parts; i++) {
    const res = results[i % results.length];
    const t0 = now();
    const o = engine.update(res);
    t.push(now() - t0);
    alarms += o.alarms.length;
    // the machine's floor in the same loop: the same timing around a call that does nothing
    const t1 = now();
    noop(res);
    floor.push(now() - t1);
  }
  // the SQLite write of every series (what a flush does once a second), in a temp dir
  const dir = mkdtempSync(join(os.tmpdir(), 'sf-spc-bench-'));
  const store = new SpcStore(join(dir, 'spc.db'), 'bench');
  const tSave = [];
  try {
    for (let i = 0; i < (QUICK ? 20 : 100); i++) {
      engine.update(results[i % results.length]);
      const t0 = now();
      store.save([...engine.records()]);
      tSave.push(now() - t0);
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const u = stats(t);
  return {
    what: `SpcEngine.update of one 48-spot InspectionResult: 96 series (diameter, confidence), subgroups of 5, limits frozen, rules 1–8 on; ${parts} results`,
    update: u,
    timingFloorSameLoop: stats(floor),
    enrichSameResult: stats(tEnrich),
    sqliteSave96Series: stats(tSave),
    alarmEvents: alarms,
    target: { p99MsMax: 0.2 },
    met: u.p99 <= 0.2,
  };
}

/** one runtime with both chains; `spcOn` says which chain ('a' or 'b') has the spc node */
async function pipelineRun(spcOn, frames, order) {
  if (!existsSync(MODEL)) throw new Error(`${MODEL} not found: run npm run train-demo-model first`);
  const helper = require('node-red-node-test-helper');
  const { removeHelperSpies } = require('./helper-spies.cjs');
  const userDir = mkdtempSync(join(os.tmpdir(), 'sf-spc-bench-red-'));
  helper.settings({ userDir });
  const nFrames = frames.length;
  const spots = sim.gridRecipe({ width: 2448, height: 2048 }).map((s, i) => ({ id: SPOTS[i], x: s.x - 48, y: s.y - 48, w: 96, h: 96, expectedDiameter: s.expectedDiameterPx }));
  if (spots.length !== 48) throw new Error(`spc bench: the grid has ${spots.length} spots, not 48`);
  const recipe = { program: 1, spots };
  const nodes = ['spotfusion-recipe-config', 'spotfusion-model-config', 'crop', 'infer', 'enrich', 'spc'].map((n) => require(dist(`nodes/${n}/${n}.js`)));
  const rules = JSON.stringify({ diameter: { head: 'nugget', unit: 'px' }, spots: Object.fromEntries(SPOTS.map((s) => [s, { minDiameter: 25.6 }])) });
  const chain = (p, withSpc) => [
    { id: `${p}crop`, type: 'crop', z: 'tab', x: 100, y: 100, recipes: 'rc', model: 'mc', wires: [[`${p}infer`]] },
    { id: `${p}infer`, type: 'infer', z: 'tab', x: 300, y: 100, model: 'mc', wires: [[`${p}en`]] },
    { id: `${p}en`, type: 'enrich', z: 'tab', x: 500, y: 100, line: 'L1', area: 'A', station: 'ST10', camera: 'cam1', rules, wires: [[withSpc ? `${p}spc` : `${p}out`]] },
    ...(withSpc ? [{ id: `${p}spc`, type: 'spc', z: 'tab', x: 700, y: 100, subgroupSize: 5, baselineSubgroups: 25, characteristics: 'both', diameterHead: 'nugget', flushMs: process.env.SPC_FLUSH_MS, wires: [[`${p}out`], [`${p}alarms`]] }, { id: `${p}alarms`, type: 'helper', z: 'tab', x: 900, y: 160 }] : []),
    { id: `${p}out`, type: 'helper', z: 'tab', x: 900, y: 100 },
  ];
  const flow = [
    { id: 'tab', type: 'tab', label: 'bench' },
    { id: 'rc', type: 'spotfusion-recipe-config', source: 'inline', recipes: JSON.stringify({ recipes: [recipe] }) },
    { id: 'mc', type: 'spotfusion-model-config', path: MODEL, intraOpThreads: 1, executionProviders: 'cpu' },
    ...chain('a', spcOn === 'a'),
    ...chain('b', spcOn === 'b'),
  ];
  await new Promise((resolve, reject) => helper.startServer((err) => (err ? reject(err) : resolve())));
  await helper.load(nodes, flow);
  removeHelperSpies(helper, [`${spcOn}spc`, `${spcOn}alarms`, 'acrop', 'ainfer', 'aen', 'aout', 'bcrop', 'binfer', 'ben', 'bout']);
  let alarmEvents = 0;
  let measuring = false;
  helper.getNode(`${spcOn}alarms`).on('input', () => {
    if (measuring) alarmEvents += 1;
  });
  await helper.getNode('mc').host.ready();
  const side = (p) => {
    const crop = helper.getNode(`${p}crop`);
    let pending;
    helper.getNode(`${p}out`).on('input', (msg) => pending && pending(msg));
    let serial = 0;
    return (frame) =>
      new Promise((resolve, reject) => {
        pending = (msg) => (msg.payload && msg.payload.spots && msg.payload.spots.length === 48 ? resolve(msg) : reject(new Error(`${p}: no 48-spot result`)));
        crop.receive({ frame, part: { serial: `P${serial++}`, program: 1 }, predictions: undefined });
      });
  };
  const run = { spc: side(spcOn), plain: side(spcOn === 'a' ? 'b' : 'a') };
  const lat = { spc: [], plain: [] };
  const total = { spc: 0, plain: 0 };
  const go = async (k, count, record) => {
    for (let i = 0; i < count; i++) {
      const t = now();
      await run[k](frames[order(i + lat[k].length)]);
      const dt = now() - t;
      if (record) {
        lat[k].push(dt);
        total[k] += dt;
      }
    }
  };
  const rounds = QUICK ? 6 : 40;
  const chunk = 10;
  try {
    // warm-up, and the spc side's baseline (25 subgroups of 5 = 125 parts) so it runs its rules while measured
    await go('spc', 150, false);
    await go('plain', 150, false);
    measuring = true;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? ['spc', 'plain'] : ['plain', 'spc'];
      for (const k of order) await go(k, chunk, true);
    }

  } finally {
    await helper.unload();
    await new Promise((resolve) => helper.stopServer(resolve));
    rmSync(userDir, { recursive: true, force: true });
  }
  return { lat, total, nFrames, rounds, chunk, alarmEvents };
}

/**
 * Two runtimes one after the other, the spc node on chain a in the first and on chain b in the second, so that
 * whatever favours one chain of a runtime (it does: the same two chains without spc differ) counts on both sides.
 */
async function benchPipeline(workload) {
  const storm = workload === 'class-mix-cycled';
  const nFrames = storm ? (QUICK ? 4 : 12) : QUICK ? 10 : 40;
  const frames = Array.from({ length: nFrames }, (_, i) =>
    sim.renderFrame({ seed: `spc-bench-${i}`, width: 2448, height: 2048, ...(storm ? {} : { classMix: { ok: 1 } }) }),
  );
  // all ok: each part a frame drawn at random (seeded), consecutive parts independent draws; the class mix cycles
  // its frames, so every series repeats
  const draw = rng(7);
  const picks = Array.from({ length: 4096 }, () => Math.floor(draw() * nFrames));
  const order = storm ? (i) => i % nFrames : (i) => picks[i % picks.length];
  const r1 = await pipelineRun('a', frames, order);
  const r2 = await pipelineRun('b', frames, order);
  const lat = { spc: [...r1.lat.spc, ...r2.lat.spc], plain: [...r1.lat.plain, ...r2.lat.plain] };
  const total = { spc: r1.total.spc + r2.total.spc, plain: r1.total.plain + r2.total.plain };
  const { rounds, chunk } = r2;
  const measured = r1.lat.spc.length + r2.lat.spc.length;
  const s = (k) => ({ partsPerSecond: +((lat[k].length * 1000) / total[k]).toFixed(1), latencyMs: stats(lat[k]) });
  const a = s('spc');
  const b = s('plain');
  const pps = (r, k) => (r.lat[k].length * 1000) / r.total[k];
  return {
    perRuntime: [
      { spcOnChain: 'a', ratio: +(pps(r1, 'spc') / pps(r1, 'plain')).toFixed(3) },
      { spcOnChain: 'b', ratio: +(pps(r2, 'spc') / pps(r2, 'plain')).toFixed(3) },
    ],
    workload,
    alarmEventsPerPart: +((r1.alarmEvents + r2.alarmEvents) / measured).toFixed(3),
    what: `camera-sim 2448×2048 frames (${nFrames} distinct${storm ? ', the simulator\'s class mix' : ', every weld ok'}) → crop (48 spots 96×96 → 48×48) → infer (demo model) → enrich → spc (96 series) vs the same chain without spc; ${rounds} rounds of ${chunk} parts per side, interleaved, one part at a time; twice, spc on either chain`,
    withSpc: a,
    withoutSpc: b,
    ratio: +(a.partsPerSecond / b.partsPerSecond).toFixed(3),
    loadAverage: os.loadavg().map((v) => +v.toFixed(2)),
    target: storm ? null : { ratioMin: 0.95 },
    met: storm ? null : a.partsPerSecond / b.partsPerSecond >= 0.95,
  };
}

async function main() {
  // the pipelines first, in a process that has done nothing else: (a)'s 40 000 updates and SQLite writes leave a
  // large heap behind (the same effect as in vision.bench.cjs)
  const pipe = await benchPipeline('all-ok-random');
  const storm = await benchPipeline('class-mix-cycled');
  const upd = benchUpdate();
  log(`spc (a) update of a 48-spot result (96 series): p50 ${upd.update.p50} ms, p99 ${upd.update.p99} ms [target p99 ≤ 0.2 ms: ${upd.met ? 'met' : 'NOT met'}; an empty call timed in the same loop: p99 ${upd.timingFloorSameLoop.p99} ms, load average ${os.loadavg()[0].toFixed(2)}]; enrich() of the same result p50 ${upd.enrichSameResult.p50} ms → SPC/enrich ${(upd.update.p50 / upd.enrichSameResult.p50).toFixed(3)}; SQLite write of the 96 series (once per flush) p50 ${upd.sqliteSave96Series.p50} ms`);
  const line = (pipe, goal) =>
    `${pipe.withSpc.partsPerSecond} parts/s (p50 ${pipe.withSpc.latencyMs.p50} ms) vs without spc ${pipe.withoutSpc.partsPerSecond} parts/s (p50 ${pipe.withoutSpc.latencyMs.p50} ms) → ratio ${pipe.ratio} (per runtime ${pipe.perRuntime.map((x) => x.ratio).join(', ')}); ${pipe.alarmEventsPerPart} alarm events per part [${goal}; load average ${pipe.loadAverage.join(' ')}]`;
  log(`spc (b) station pipeline crop → infer → enrich → spc, all-ok frames drawn at random: ${line(pipe, `goal ≥ 0.95: ${pipe.met ? 'met' : 'NOT met'}`)}`);
  log(`spc (b') the same, 12 frames of the class mix cycled: ${line(storm, 'no goal: for the record')}`);
  const result = { bench: 'spc', date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length, quick: QUICK, update: upd, pipeline: pipe, classMixCycled: storm };
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'spc.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

main().then(
  (r) => process.exit(r.update.met && r.pipeline.met ? 0 : 1),
  (err) => {
    process.stderr.write(`spc bench failed: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  },
);
