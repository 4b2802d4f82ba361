// The memory half of the soak (issue 23): samples the station process's memory over the whole run (warm-up
// included), fits a least-squares line to the RSS after a memory warm-up, and writes the curve as CSV and as a
// small PNG plot (an SVG built here, rendered by sharp). Used by scripts/soak.mjs; the arithmetic is exported for
// test/unit/soak-memory.test.js.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const MB = 1048576;

/**
 * The smoke's limit on the RSS slope after warm-up, MB per minute (480 MB an hour: a 4 GB panel PC would be
 * full within a shift). A 2-minute smoke fits about one minute of samples, and the station's RSS moves by tens of
 * MB with every collection of its frames (5 MB each) and PNG buffers: on this 2-core machine the fitted line's
 * residuals were ±26 MB and the slope's standard error ~14 MB/min, so the bare slope of a healthy station can
 * read +24 MB/min (docs/RELIABILITY.md "Memory"). The smoke therefore fails only when the slope is above the
 * limit beyond noise: slope − 2 × standard error > limit (a ~2.5 % chance for a flat station). A leak on the
 * station's path is far above that: one frame (5 MB) kept per part is ~1 200 MB/min at 4 parts/s, one crop
 * batch (48 × 96 × 96 floats, 1.7 MB) ~400 MB/min. Slow leaks (kB per part) are the full soak's job: its fit
 * over hours has a standard error of a few hundredths of a MB/min.
 */
export const SMOKE_SLOPE_MB_PER_MIN = 8;

/**
 * The shortest fit window (minutes of samples after the memory warm-up) on which the smoke judges the slope. The
 * 30-second smokes of the other Node.js lines fit ~10 samples over 0.3 min, taken while the station still fills
 * its caches (sharp, onnxruntime arenas, the frame pool): their slope read +64 and +82 MB/min with a standard error
 * of 27–54 MB/min, so one of them failed a healthy station. Below this window the smoke prints the slope and says
 * it is not judged; the 2-minute smoke of the primary line (one minute of fit) judges it.
 */
export const SMOKE_MIN_FIT_MIN = 1;

/**
 * The RSS of a process in bytes, from /proc (no request to the process itself): rss (VmRSS) and its anonymous
 * part (RssAnon: malloc, V8, buffers) and file part (RssFile: code and files mapped), which tell native growth from
 * pages of mapped files.
 */
export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

/**
 * Sample every `everyS` seconds from now until stop(): t (s since start), rss (from /proc), heapUsed, heapTotal,
 * external and arrayBuffers (the station's /spotfusion/metrics). A failed scrape keeps the RSS and leaves the rest
 * empty (NaN) rather than ending the soak.
 */
export function startMemorySampler(rig, everyS) {
  const samples = [];
  const t0 = Date.now();
  let busy = false;
  const take = async () => {
    if (busy) return;
    busy = true;
    const s = { t: (Date.now() - t0) / 1000, ...rssOf(rig.pid), heapUsed: NaN, heapTotal: NaN, external: NaN, arrayBuffers: NaN };
    try {
      const m = await rig.metrics();
      s.heapUsed = m.spotfusion_nodejs_heap_size_used_bytes;
      s.heapTotal = m.spotfusion_nodejs_heap_size_total_bytes;
      s.external = m.spotfusion_nodejs_external_memory_bytes;
      s.arrayBuffers = m.spotfusion_nodejs_array_buffers_bytes ?? NaN;
    } catch (err) {
      s.error = err.message;
    } finally {
      busy = false;
    }
    samples.push(s);
  };
  void take();
  const timer = setInterval(() => void take(), everyS * 1000);
  return {
    samples,
    /** seconds since the sampler started */
    elapsed: () => (Date.now() - t0) / 1000,
    stop: async () => {
      clearInterval(timer);
      await take();
      return samples;
    },
  };
}

/** Least-squares line y = a + b·x; n, the residuals' standard deviation and the standard error of the slope. */
export function leastSquares(xs, ys) {
  const n = xs.length;
  if (n < 3) return { a: NaN, b: NaN, n, sd: NaN, se: NaN };
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i += 1) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  const b = sxx === 0 ? NaN : sxy / sxx;
  const a = my - b * mx;
  const sd = Math.sqrt(ys.reduce((s, y, i) => s + (y - (a + b * xs[i])) ** 2, 0) / (n - 2));
  return { a, b, n, sd, se: sd / Math.sqrt(sxx) };
}

/**
 * The RSS trend after `fromS` seconds: slope in MB/min and in % per hour of the fitted RSS at fromS, the growth
 * along the line over the fitted span (% of the fitted start), and the RSS at the start and end of that span.
 */
export function rssTrend(samples, fromS) {
  const after = samples.filter((s) => s.t >= fromS && Number.isFinite(s.rss));
  const fit = leastSquares(
    after.map((s) => s.t / 60),
    after.map((s) => s.rss / MB),
  );
  const spanMin = after.length ? (after[after.length - 1].t - after[0].t) / 60 : 0;
  const startMb = fit.a + fit.b * (after.length ? after[0].t / 60 : 0);
  return {
    points: fit.n,
    fromS,
    spanMin,
    slopeMbPerMin: fit.b,
    /** standard error of the slope, MB/min: the slope of pure noise is within ±2 se 95 % of the time */
    slopeSe: fit.se,
    pctPerHour: (fit.b * 60 * 100) / startMb,
    growthPct: (fit.b * spanMin * 100) / startMb,
    startMb,
    endMb: startMb + fit.b * spanMin,
    noiseMb: fit.sd,
  };
}

/** The samples as CSV: seconds and MB of each series. */
export function memoryCsv(samples) {
  const f = (v) => (Number.isFinite(v) ? (v / MB).toFixed(2) : '');
  const lines = ['t_s,rss_mb,heap_used_mb,heap_total_mb,external_mb,array_buffers_mb,rss_anon_mb,rss_file_mb'];
  for (const s of samples) lines.push([s.t.toFixed(1), f(s.rss), f(s.heapUsed), f(s.heapTotal), f(s.external), f(s.arrayBuffers), f(s.rssAnon), f(s.rssFile)].join(','));
  return `${lines.join('\n')}\n`;
}

const SERIES = [
  ['rss', 'RSS', '#c0392b'],
  ['heapTotal', 'heap total', '#8e44ad'],
  ['heapUsed', 'heap used', '#2980b9'],
  ['external', 'external', '#27ae60'],
  ['arrayBuffers', 'arrayBuffers', '#d68910'],
];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An SVG line plot of the samples (MB over minutes), the warm-up line and the fitted RSS line. */
export function memorySvg(samples, trend, title, { width = 900, height = 420 } = {}) {
  const m = { l: 60, r: 150, t: 36, b: 44 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const tMax = Math.max(1, ...samples.map((s) => s.t)) / 60;
  const yMax = Math.max(1, ...samples.flatMap((s) => SERIES.map(([k]) => (Number.isFinite(s[k]) ? s[k] / MB : 0))));
  const step = [10, 20, 25, 50, 100, 200, 250, 500, 1000].find((v) => yMax / v <= 8) ?? 1000;
  const top = Math.ceil(yMax / step) * step;
  const tStep = [0.5, 1, 2, 5, 10, 15, 20, 30, 60].find((v) => tMax / v <= 10) ?? 60;
  const x = (min) => m.l + (min / tMax) * w;
  const y = (mb) => m.t + h - (mb / top) * h;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="12">`];
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="22" font-size="14">${esc(title)}</text>`);
  for (let v = 0; v <= top; v += step) {
    out.push(`<line x1="${m.l}" x2="${m.l + w}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    out.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${m.t + h}" y2="${m.t + h + 4}" stroke="#333"/><text x="${x(t)}" y="${m.t + h + 17}" text-anchor="middle">${+t.toFixed(1)}</text>`);
  }
  out.push(`<text x="${m.l + w / 2}" y="${height - 6}" text-anchor="middle">minutes</text>`);
  out.push(`<text x="14" y="${m.t + h / 2}" transform="rotate(-90 14 ${m.t + h / 2})" text-anchor="middle">MB</text>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  if (trend && Number.isFinite(trend.slopeMbPerMin)) {
    const t0 = trend.fromS / 60;
    out.push(`<line x1="${x(t0)}" x2="${x(t0)}" y1="${m.t}" y2="${m.t + h}" stroke="#555" stroke-dasharray="4 4"/><text x="${x(t0) + 4}" y="${m.t + 14}" fill="#555">fit from here</text>`);
    const t1 = t0 + trend.spanMin;
    out.push(`<line x1="${x(t0)}" x2="${x(t1)}" y1="${y(trend.startMb)}" y2="${y(trend.endMb)}" stroke="#000" stroke-width="1.5" stroke-dasharray="8 3"/>`);
  }
  SERIES.forEach(([k, label, color], i) => {
    const pts = samples.filter((s) => Number.isFinite(s[k])).map((s) => `${x(s.t / 60).toFixed(1)},${y(s[k] / MB).toFixed(1)}`);
    if (pts.length) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    out.push(`<line x1="${m.l + w + 12}" x2="${m.l + w + 32}" y1="${m.t + 10 + i * 18}" y2="${m.t + 10 + i * 18}" stroke="${color}" stroke-width="2"/><text x="${m.l + w + 38}" y="${m.t + 14 + i * 18}">${label}</text>`);
  });
  if (trend && Number.isFinite(trend.slopeMbPerMin)) {
    out.push(`<line x1="${m.l + w + 12}" x2="${m.l + w + 32}" y1="${m.t + 10 + SERIES.length * 18}" y2="${m.t + 10 + SERIES.length * 18}" stroke="#000" stroke-dasharray="8 3"/><text x="${m.l + w + 38}" y="${m.t + 14 + SERIES.length * 18}">RSS fit</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/** Write the CSV and/or the PNG (sharp renders the SVG: no charting dependency). */
export async function writeMemoryFiles(samples, trend, title, { csv, png }) {
  if (csv) writeFileSync(csv, memoryCsv(samples));
  if (png) {
    const sharp = require('sharp');
    await sharp(Buffer.from(memorySvg(samples, trend, title))).png({ compressionLevel: 9, palette: true }).toFile(png);
  }
}

/** The memory lines of the soak's report. */
export function memoryLines(samples, trend) {
  const valid = samples.filter((s) => Number.isFinite(s.rss));
  const last = valid[valid.length - 1] ?? {};
  const f = (v) => (Number.isFinite(v) ? `${(v / MB).toFixed(1)} MB` : 'n/a');
  const peak = Math.max(...valid.map((s) => s.rss));
  return [
    `memory           now: RSS ${f(last.rss)} (peak ${f(peak)}), heap used ${f(last.heapUsed)} of ${f(last.heapTotal)}, external ${f(last.external)}, arrayBuffers ${f(last.arrayBuffers)} (${samples.length} samples)`,
    `RSS trend        after ${(trend.fromS / 60).toFixed(1)} min: ${trend.slopeMbPerMin >= 0 ? '+' : ''}${trend.slopeMbPerMin.toFixed(2)} ± ${trend.slopeSe.toFixed(2)} MB/min = ${trend.pctPerHour >= 0 ? '+' : ''}${trend.pctPerHour.toFixed(2)} %/h of ${trend.startMb.toFixed(1)} MB; along the fit ${trend.startMb.toFixed(1)} → ${trend.endMb.toFixed(1)} MB over ${trend.spanMin.toFixed(1)} min (${trend.growthPct >= 0 ? '+' : ''}${trend.growthPct.toFixed(2)} %), ${trend.points} points, noise ±${trend.noiseMb.toFixed(1)} MB`,
  ];
}
