'use strict';
// The memory bounds (nodes/lib/memory.ts) and the soak's RSS arithmetic (scripts/lib/soak-memory.mjs), issue 23.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const { NODE_MEMORY_FLAGS, MALLOC_ENV, withMemoryBounds, describeMemoryBounds } = require('../../dist/nodes/lib/memory');
const { vipsSettings } = require('../../dist/nodes/lib/vision/sharp');
const { loadRuntimeConfig, EnvError } = require('../../dist/nodes/lib/runtime-config');

const ROOT = path.join(__dirname, '..', '..');
const MB = 1048576;
const soakMemory = () => import('../../scripts/lib/soak-memory.mjs');

/** A deterministic pseudo-random series in [-1, 1) (no Math.random: a failure replays). */
function noise(seed) {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  };
}

describe('memory bounds', function () {
  it('the service unit and the container image carry the same bounds as nodes/lib/memory.ts', function () {
    const unit = fs.readFileSync(path.join(ROOT, 'deploy', 'spotfusion-edge.service'), 'utf8');
    const docker = fs.readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)[1];
    const cmd = /^CMD (.*)$/m.exec(docker)[1];
    const flags = NODE_MEMORY_FLAGS.join(' ');
    assert.ok(exec.includes(`node ${flags} node_modules/node-red/red.js`), `the unit passes the V8 flags before red.js: ${flags}`);
    assert.equal(JSON.parse(cmd).slice(0, NODE_MEMORY_FLAGS.length + 1).join(' '), `node ${flags}`, "the image's CMD starts with node and the V8 flags");
    for (const [k, v] of Object.entries(MALLOC_ENV)) {
      assert.match(unit, new RegExp(`^Environment=.*\\b${k}=${v}\\b`, 'm'), `unit: ${k}=${v}`);
      assert.match(docker, new RegExp(`\\b${k}=${v}\\b`), `Dockerfile: ${k}=${v}`);
    }
  });

  it('every V8 flag is one this Node.js takes on its command line', function () {
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(process.execPath, [...NODE_MEMORY_FLAGS, '-e', 'process.stdout.write(process.execArgv.slice(0, -2).join(" "))'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, NODE_MEMORY_FLAGS.join(' '));
  });

  it('withMemoryBounds fills what is missing and keeps what the station set', function () {
    const a = withMemoryBounds({ PATH: '/bin' });
    assert.equal(a.env.MALLOC_ARENA_MAX, '2');
    assert.equal(a.env.PATH, '/bin');
    assert.deepEqual(a.flags, NODE_MEMORY_FLAGS);
    const b = withMemoryBounds({ MALLOC_ARENA_MAX: '4', NODE_OPTIONS: '--max-semi-space-size=8' });
    assert.equal(b.env.MALLOC_ARENA_MAX, '4');
    assert.deepEqual(b.flags, [], 'a semi-space size already given is not repeated');
    assert.deepEqual(withMemoryBounds({}, ['--max-semi-space-size=32']).flags, []);
  });

  it('describeMemoryBounds names the bounds in effect and the missing ones', function () {
    assert.match(describeMemoryBounds({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, ['--max-semi-space-size=16']), /^memory bounds: --max-semi-space-size=16 MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072$/);
    const missing = describeMemoryBounds({ MALLOC_ARENA_MAX: '2' }, []);
    assert.match(missing, /not set .*--max-semi-space-size=16 MALLOC_MMAP_THRESHOLD_=131072/);
  });

  it('SPOTFUSION_VIPS_CACHE_MB and SPOTFUSION_VIPS_CONCURRENCY: defaults off and 1, checked at start-up', function () {
    assert.deepEqual(vipsSettings({}), { cacheMb: 0, concurrency: 1 });
    assert.deepEqual(vipsSettings({ SPOTFUSION_VIPS_CACHE_MB: '64', SPOTFUSION_VIPS_CONCURRENCY: '2' }), { cacheMb: 64, concurrency: 2 });
    const env = { SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_VIPS_CACHE_MB: 'lots', SPOTFUSION_VIPS_CONCURRENCY: '0' };
    assert.throws(() => loadRuntimeConfig(env, '/tmp'), (err) => err instanceof EnvError && /SPOTFUSION_VIPS_CACHE_MB expects a whole number/.test(err.message) && /SPOTFUSION_VIPS_CONCURRENCY expects a whole number 1–64, got 0/.test(err.message));
    // this process loaded sharp through nodes/lib/vision/sharp: the cache is off
    assert.equal(sharp.cache().memory.max, 0);
  });
});

describe('soak RSS trend (scripts/lib/soak-memory.mjs)', function () {
  const series = (minutes, everyS, mbAt) => {
    const out = [];
    for (let t = 0; t <= minutes * 60; t += everyS) out.push({ t, rss: mbAt(t / 60) * MB, heapUsed: 50 * MB, heapTotal: 90 * MB, external: 30 * MB, arrayBuffers: 20 * MB, rssAnon: (mbAt(t / 60) - 40) * MB, rssFile: 40 * MB });
    return out;
  };

  it('least squares recovers a known line', async function () {
    const { leastSquares } = await soakMemory();
    const fit = leastSquares([0, 1, 2, 3, 4], [3, 5, 7, 9, 11]);
    assert.equal(fit.a, 3);
    assert.equal(fit.b, 2);
    assert.equal(fit.sd, 0);
    assert.ok(Number.isNaN(leastSquares([1, 2], [1, 2]).b), 'two points give no slope with an error');
  });

  it('a flat station with GC noise passes the smoke limit; a leak of one frame per 10 parts (120 MB/min) does not', async function () {
    const { rssTrend, SMOKE_SLOPE_MB_PER_MIN } = await soakMemory();
    const r = noise(7);
    // as measured on the smoke: ±26 MB of noise around 370 MB, samples every 2 s, fit after 1.1 min
    const flat = rssTrend(series(2.2, 2, () => 370 + 45 * r()), 66);
    assert.ok(flat.slopeMbPerMin - 2 * flat.slopeSe <= SMOKE_SLOPE_MB_PER_MIN, `flat: ${flat.slopeMbPerMin} ± ${flat.slopeSe}`);
    // one 5 MB frame kept per 10 parts at 4 parts/s: 120 MB/min (per 100 parts, 12 MB/min, is the full soak's job)
    const r2 = noise(7);
    const leak = rssTrend(series(2.2, 2, (min) => 370 + 120 * min + 45 * r2()), 66);
    assert.ok(leak.slopeMbPerMin - 2 * leak.slopeSe > SMOKE_SLOPE_MB_PER_MIN, `leak: ${leak.slopeMbPerMin} ± ${leak.slopeSe}`);
    assert.ok(Math.abs(leak.slopeMbPerMin - 120) < 3 * leak.slopeSe);
  });

  it('growth along the fit and % per hour over a long run', async function () {
    const { rssTrend } = await soakMemory();
    const t = rssTrend(series(120, 15, (min) => (min < 30 ? 200 + 4 * min : 320 + 0.01 * (min - 30))), 30 * 60);
    assert.ok(Math.abs(t.slopeMbPerMin - 0.01) < 1e-9);
    assert.ok(Math.abs(t.startMb - 320) < 1e-6);
    assert.ok(Math.abs(t.growthPct - (0.9 * 100) / 320) < 1e-6, `${t.growthPct}`);
    assert.ok(Math.abs(t.pctPerHour - (0.6 * 100) / 320) < 1e-6);
  });

  it('writes the curve as CSV and as a PNG plot', async function () {
    const { rssTrend, memoryCsv, writeMemoryFiles } = await soakMemory();
    const s = series(3, 5, (min) => 300 + min);
    s[3].heapUsed = NaN; // a failed scrape leaves a gap, not a zero
    const csv = memoryCsv(s).trim().split('\n');
    assert.equal(csv[0], 't_s,rss_mb,heap_used_mb,heap_total_mb,external_mb,array_buffers_mb,rss_anon_mb,rss_file_mb');
    assert.equal(csv.length, s.length + 1);
    assert.equal(csv[4], '15.0,300.25,,90.00,30.00,20.00,260.25,40.00');
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sf-soak-plot-'));
    try {
      const png = path.join(dir, 'rss.png');
      await writeMemoryFiles(s, rssTrend(s, 60), 'test <plot> & more', { csv: path.join(dir, 'rss.csv'), png });
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, 900);
      // the plot has the RSS line's red in it
      const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      let red = 0;
      for (let i = 0; i < data.length; i += info.channels) if (data[i] > 170 && data[i + 1] < 80 && data[i + 2] < 80) red += 1;
      assert.ok(red > 100, `${red} red pixels`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
