#!/usr/bin/env node
// Soak of the station flow: a real Node-RED process (own temporary user dir) runs flows/station.json on the
// simulators (test/hardening/rig.js: the Logix station simulator fires a part every period over EtherNet/IP on
// loopback; the camera simulator renders full-size 2448×2048 frames; the demo model judges the spots; results
// go to the embedded SQLite store) for --minutes N, then prints parts triggered, results delivered, trigger-to-
// result latency, RSS/heap at start (after warm-up) and end, sockets of the process, and PASS/FAIL against the
// goals of issue 8: RSS growth < 5 % after warm-up, p99 ≤ 50 ms, zero lost results.
//
//   npm run soak -- --minutes 2 [--rate 10] [--warmup 20] [--archive nok] [--smoke]
//
// --rate: parts per second asked of the PLC simulator (default 10, the goal). As on a PLC, the trigger bit stays
// high until the station answers Busy and the next part comes only after the station's Done (or after the PLC
// gave up waiting, 2 s): the rate reached is what the station sustains. The flow samples the trigger every 10 ms.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { StationRig, percentile, sleep } = require('../test/hardening/rig.js');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} needs a positive number, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}

const minutes = arg('minutes', 2);
// --smoke: fail only on what must never happen (a lost, repeated or ghost result, a leaked socket, an error in
// the log); the speed and memory goals are printed, not checked (CI runs `npm run soak -- --minutes 2 --smoke`)
const smoke = process.argv.includes('--smoke');
const rate = arg('rate', 10);
const warmupS = arg('warmup', 20);
const periodMs = Math.round(1000 / rate);
// --archive none|nok|sampled|all: the station's ARCHIVE_POLICY (default nok, as the flow ships). The simulator's
// class mix makes nearly every 48-spot part NOK, so with nok each part writes a 5-megapixel PNG and its crops.
const ai = process.argv.indexOf('--archive');
const archive = ai < 0 ? 'nok' : process.argv[ai + 1];
if (!['none', 'nok', 'sampled', 'all'].includes(archive)) {
  console.error(`soak: --archive must be none, nok, sampled or all, got ${archive}`);
  process.exit(2);
}
const GOAL = { rssGrowth: 0.05, p99Ms: 50 };

const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');

async function snapshot(rig) {
  const m = await rig.metrics();
  return {
    rss: m.spotfusion_process_resident_memory_bytes,
    heap: m.spotfusion_nodejs_heap_size_used_bytes,
    heapTotal: m.spotfusion_nodejs_heap_size_total_bytes,
    sockets: rig.sockets(),
    // libuv handles held open (sockets, servers, timers' handle, …) and the timers among the active resources
    handles: m.spotfusion_nodejs_active_handles_total,
    timers: m['spotfusion_nodejs_active_resources{type="Timeout"}'] ?? 0,
  };
}

const rig = await StationRig.start({ periodMs, env: { ARCHIVE_POLICY: archive } });
let failed = false;
try {
  console.log(`soak: Node-RED pid ${rig.pid} on 127.0.0.1:${rig.rt.port}, user dir ${rig.rt.userDir}`);
  console.log(`soak: asked rate ${rate} parts/s (period ${periodMs} ms), warm-up ${warmupS} s, run ${minutes} min after it, archive ${archive}`);
  rig.run();
  await sleep(warmupS * 1000);
  const warmParts = rig.triggers.size;
  const start = await snapshot(rig);
  const t0 = Date.now();
  const end = t0 + minutes * 60000;
  while (Date.now() < end) {
    await sleep(Math.min(10000, end - Date.now()));
    const rows = rig.results().length;
    process.stdout.write(`  ${Math.round((Date.now() - t0) / 1000)} s: ${rig.triggers.size} triggered, ${rows} stored\n`);
  }
  const runS = (Date.now() - t0) / 1000;
  rig.halt();
  const rows = await rig.drain(60000);
  const endSnap = await snapshot(rig);

  const stored = new Map(rows.map((r) => [r.part_serial, r]));
  const lost = [...rig.triggers.keys()].filter((s) => !stored.has(s));
  const ghosts = rows.filter((r) => !rig.fired.has(r.part_serial));
  const dupes = rows.length - stored.size;
  // latency of the parts triggered after the warm-up: result timestamp − trigger timestamp of the result
  // (the flow's own clock: plc-read's read of the rising edge → enrich), and trigger rise → row in SQLite
  const measured = rows.filter((r) => Number(r.part_serial.slice(-6)) > warmParts);
  const lat = measured.map((r) => Date.parse(r.result_at) - Date.parse(r.trigger_at)).filter(Number.isFinite).sort((a, b) => a - b);
  const e2e = measured.map((r) => r.stored_at - rig.triggers.get(r.part_serial)).filter(Number.isFinite).sort((a, b) => a - b);
  const done = measured.length / runS;
  const growth = (endSnap.rss - start.rss) / start.rss;

  console.log('');
  const fired = (rig.triggers.size - warmParts) / runS;
  console.log(`rate             asked ${rate} parts/s; after warm-up triggered ${fired.toFixed(2)}/s, results ${done.toFixed(2)}/s (the PLC waits for Done: ${rig.waits} period(s) waited, ${rig.timeouts} part(s) given up)`);
  console.log(`parts triggered  ${rig.triggers.size} (${warmParts} in warm-up)`);
  console.log(`results stored   ${rows.length} rows in SQLite (${stored.size} serials, ${dupes} repeats, ${ghosts.length} not triggered)`);
  const unseen = lost.filter((s) => !rig.busy.has(s));
  console.log(`lost             ${lost.length}${lost.length ? ` (first: ${lost.slice(0, 5).join(', ')}; ${unseen.length} of them never answered with Busy: the flow did not see the trigger)` : ''}`);
  console.log(`latency          trigger→result p50 ${ms(percentile(lat, 50))}, p99 ${ms(percentile(lat, 99))}, max ${ms(lat[lat.length - 1])} (${lat.length} parts, 24 or 48 spots); trigger rise→stored p50 ${ms(percentile(e2e, 50))}, p99 ${ms(percentile(e2e, 99))}`);
  console.log(`RSS              start ${mb(start.rss)}, end ${mb(endSnap.rss)} (${(growth * 100).toFixed(1)} %)`);
  console.log(`heap used        start ${mb(start.heap)}, end ${mb(endSnap.heap)} (total ${mb(start.heapTotal)} → ${mb(endSnap.heapTotal)})`);
  console.log(`sockets          start ${start.sockets}, end ${endSnap.sockets}`);
  console.log(`open handles     start ${start.handles}, end ${endSnap.handles} (timers ${start.timers} → ${endSnap.timers})`);
  // correctness: every run must hold these; goals: figures of this machine, checked by a full run only (a smoke
  // on a shared CI machine checks what must never happen, not how fast it went)
  const correctness = [
    [`lost ${lost.length} = 0, not triggered ${ghosts.length} = 0, repeats ${dupes} = 0`, lost.length === 0 && ghosts.length === 0 && dupes === 0],
    [`sockets ${endSnap.sockets} ≤ start ${start.sockets}`, endSnap.sockets <= start.sockets],
  ];
  const goals = [
    [`RSS growth ${(growth * 100).toFixed(1)} % < ${GOAL.rssGrowth * 100} %`, growth < GOAL.rssGrowth],
    [`p99 ${ms(percentile(lat, 99))} ≤ ${GOAL.p99Ms} ms`, percentile(lat, 99) <= GOAL.p99Ms],
    [`results ${done.toFixed(2)}/s ≥ 95 % of the asked ${rate}/s`, done >= 0.95 * rate],
  ];
  const errors = rig.log.split('\n').filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|Encrypted credentials|^\S* *\S* \S* - \[warn\] *$/.test(l));
  console.log(`log              ${errors.length} error/warning lines${errors.length ? `, the first:\n    ${errors.slice(0, 5).join('\n    ')}` : ''}`);
  correctness.push([`log error/warning lines ${errors.length} = 0`, errors.length === 0]);
  const checks = smoke ? correctness : [...correctness, ...goals];
  failed = checks.some(([, ok]) => !ok);
  const fmt = (list) => list.map(([t, ok]) => `${ok ? 'ok' : 'NOT MET'} ${t}`).join('; ');
  console.log(`${failed ? 'FAIL' : 'PASS'}${smoke ? ' (smoke: correctness only)' : ''}: ${fmt(checks)}`);
  if (smoke) console.log(`goals (not checked by a smoke): ${fmt(goals)}`);
} finally {
  await rig.stop();
}
process.exit(failed ? 1 : 0);
