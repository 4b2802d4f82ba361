#!/usr/bin/env node
'use strict';
// Image archive bench (issue 23): the cost of archiving one NOK part — a 2448×2048 Mono8 simulator frame (line
// optics and noise) and its 48 spot crops (96×96) — as result-publish does it now (ImageArchive: png.ts in the
// writer thread, one file after the other) against the way it did before, run in the same process, interleaved:
// sharp writing the frame at zlib level 3 and every crop at once on libuv's pool, then the files.
// Figures per part: CPU of the whole process (all threads, process.cpuUsage), wall time, the event loop's longest
// stall while the part is written, and the bytes on disk. Goal: less CPU per part than before (ratio < 1), with the
// files no larger.
// Standalone: `npm run build && node bench/archive.bench.cjs [--quick]`; writes bench/results/archive.json.
const { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { writeFile } = require('node:fs/promises');
const { join } = require('node:path');
const os = require('node:os');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const root = join(__dirname, '..');
const sim = require(join(root, 'dist/nodes/lib/camera/simulator.js'));
const sharp = require(join(root, 'dist/nodes/lib/vision/sharp.js')).default;
const { ImageArchive } = require(join(root, 'dist/nodes/lib/result/archive.js'));

const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 4 : 16;
const W = 2448;
const H = 2048;
const log = (s) => process.stdout.write(`${s}\n`);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const boxes = [];
for (let r = 0; r < 6; r++) for (let c = 0; c < 8; c++) boxes.push({ spotId: `S${String(r * 8 + c + 1).padStart(2, '0')}`, box: { x: 116 + c * 303, y: 116 + r * 344, w: 96, h: 96 } });

function dirBytes(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(join(d, e.name)) : statSync(join(d, e.name)).size;
  return n;
}

/** the archive before this change: sharp, frame at level 3, every crop at once, then the files */
async function before(frame, dir) {
  mkdirSync(dir, { recursive: true });
  const src = sharp(frame.data, { raw: { width: W, height: H, channels: 1 } });
  const files = [{ name: 'frame.png', png: () => src.clone().png({ compressionLevel: 3 }).toBuffer() }];
  for (const b of boxes) {
    const rows = Buffer.allocUnsafe(96 * 96);
    for (let y = 0; y < 96; y++) frame.data.copy(rows, y * 96, (b.box.y + y) * W + b.box.x, (b.box.y + y) * W + b.box.x + 96);
    files.push({ name: `${b.spotId}.png`, png: () => sharp(rows, { raw: { width: 96, height: 96, channels: 1 } }).png({ compressionLevel: 3 }).toBuffer() });
  }
  await Promise.all(files.map(async (f) => writeFile(join(dir, f.name), await f.png())));
}

async function measure(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  h.disable();
  return { cpu: (c.user + c.system) / 1000, wall, stall: h.max / 1e6 };
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), 'sf-archive-bench-'));
  const frames = [0, 1, 2, 3].map((k) => sim.renderFrame({ seed: `archive-${k}`, width: W, height: H, placementTolerance: sim.LINE_PRESET.placementTolerance, optics: sim.LINE_PRESET.optics, noiseSigma: sim.LINE_PRESET.noiseSigma, fiducials: true }));
  const archive = new ImageArchive({ dir: join(tmp, 'now'), policy: 'all' });
  const r = { before: [], now: [] };
  let bytes = { before: 0, now: 0 };
  const t = Date.parse('2026-12-06T12:00:00Z');
  try {
    // one part each way first: the writer thread started, sharp loaded
    await before(frames[0], join(tmp, 'before', 'warm'));
    await archive.store({ resultId: 'warm', verdict: 'NOK', timestamps: { result: new Date(t).toISOString() } }, { ...frames[0], pixelFormat: 'Mono8' }, boxes);
    for (let i = 0; i < ROUNDS; i++) {
      const f = frames[i % frames.length];
      const sides = i % 2 ? ['now', 'before'] : ['before', 'now'];
      for (const side of sides) {
        global.gc?.();
        const id = `p${i}`;
        if (side === 'before') {
          const d = join(tmp, 'before', id);
          r.before.push(await measure(() => before(f, d)));
          bytes.before = dirBytes(d);
        } else {
          r.now.push(await measure(() => archive.store({ resultId: id, verdict: 'NOK', timestamps: { result: new Date(t).toISOString() } }, { ...f, pixelFormat: 'Mono8' }, boxes)));
          bytes.now = dirBytes(join(tmp, 'now', '2026-12-06', id));
        }
      }
    }
  } finally {
    await archive.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const sum = (side) => ({ cpuMs: +median(r[side].map((x) => x.cpu)).toFixed(1), wallMs: +median(r[side].map((x) => x.wall)).toFixed(1), stallMaxMs: +Math.max(...r[side].map((x) => x.stall)).toFixed(1), bytes: bytes[side] });
  const out = { rounds: ROUNDS, loadavg: os.loadavg().map((x) => +x.toFixed(2)), before: sum('before'), now: sum('now') };
  out.cpuRatio = +(out.now.cpuMs / out.before.cpuMs).toFixed(3);
  out.bytesRatio = +(out.now.bytes / out.before.bytes).toFixed(3);
  log(`archive of one NOK part (2448×2048 Mono8 frame + 48 crops 96×96), ${ROUNDS} rounds each, interleaved; load average ${out.loadavg.join(' ')}`);
  for (const side of ['before', 'now']) {
    const s = out[side];
    log(`  ${side === 'now' ? 'now (png.ts, writer thread)' : 'before (sharp, all at once)'}`.padEnd(34) + `CPU p50 ${s.cpuMs} ms, wall p50 ${s.wallMs} ms, event-loop stall max ${s.stallMaxMs} ms, ${(s.bytes / 1e6).toFixed(2)} MB`);
  }
  log(`  CPU per part now / before: ${out.cpuRatio} (goal < 1); bytes now / before: ${out.bytesRatio} (goal ≤ 1)`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'archive.json'), JSON.stringify(out, null, 2));
  if (!(out.cpuRatio < 1 && out.bytesRatio <= 1)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
