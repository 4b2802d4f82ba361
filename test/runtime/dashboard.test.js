'use strict';
/* global document, window -- the functions passed to page.waitForFunction() run in the browser */
// flows/dashboard.json in a real Node-RED (red.js, dev mode on loopback) with Dashboard 2.0, fed by a small
// station-end flow of the test's own: known InspectionResults → the real result-publish (SQLite target, a
// Redis target whose server is down, image archive "all") → link out to the dashboard's "station results".
// The page is opened in Debian's chromium (headless, driven by playwright-core) and the widgets are checked
// against the values the results imply. Then the same beside flows/station.json on its simulators.
// Screenshots: test/artifacts/dashboard.png and dashboard-station.png (the latter also to docs/dashboard.png
// when SPOTFUSION_UPDATE_SCREENSHOT=1). Without a chromium that starts: fails under CI=true, skips loudly
// elsewhere.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { freePort } = require('../support/redis-server');
const { until } = require('../support/wait');
const { ROOT } = require('../../scripts/userdir.cjs');

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const DASHBOARD_FLOW = path.join(ROOT, 'flows', 'dashboard.json');
const COLOUR = { OK: '#2e7d32', NOK: '#d32f2f', MISSING: '#f9a825' };
const W = 320;
const H = 240;
const BOXES = {
  s1: { x: 20, y: 30, w: 60, h: 60 },
  s2: { x: 130, y: 30, w: 60, h: 60 },
  s3: { x: 240, y: 30, w: 60, h: 60 },
  s4: { x: 130, y: 150, w: 60, h: 60 },
};

/** The end of a station flow: what the dashboard needs from it (see docs/DASHBOARD.md). */
function feederFlow(redisPort) {
  const z = 'feeder_tab';
  return [
    { id: z, type: 'tab', label: 'dashboard test feeder', info: 'Test only: POST /test/feed {result, frame:{width,height}}' },
    { id: 'feeder_redis', type: 'spotfusion-redis-config', name: 'line redis', host: '127.0.0.1', port: redisPort, db: 0, tls: false, keyPrefix: '', valueFormat: 'json', connectTimeout: 500, commandTimeout: 1000 },
    { id: 'feeder_in', type: 'http in', z, name: '', url: '/test/feed', method: 'post', upload: false, x: 100, y: 60, wires: [['feeder_frame']] },
    {
      id: 'feeder_frame',
      type: 'function',
      z,
      name: 'synthetic frame',
      // a grey frame with a bright square per OK spot and a dark one per NOK spot (the archive crops them by box)
      func: [
        'const { result, frame } = msg.payload;',
        'const w = frame.width, h = frame.height;',
        'const data = Buffer.alloc(w * h * 3, 96);',
        'for (const s of result.spots) {',
        '  if (!s.box) continue;',
        "  const v = s.verdict === 'OK' ? 200 : s.verdict === 'NOK' ? 30 : 140;",
        '  for (let y = s.box.y; y < s.box.y + s.box.h; y++) for (let x = s.box.x; x < s.box.x + s.box.w; x++) {',
        '    const i = (y * w + x) * 3; data[i] = v; data[i + 1] = v; data[i + 2] = s.verdict === "NOK" ? 90 : v;',
        '  }',
        '}',
        "msg.frame = { width: w, height: h, pixelFormat: 'RGB8', data };",
        'msg.crops = result.spots.map((s) => ({ spotId: s.spotId, box: s.box }));',
        'msg.payload = result;',
        'return msg;',
      ].join('\n'),
      outputs: 1,
      x: 280,
      y: 60,
      wires: [['feeder_publish']],
    },
    {
      id: 'feeder_publish',
      type: 'result-publish',
      z,
      name: 'publish',
      sqlite: true,
      redis: 'feeder_redis',
      redisStream: 'spotfusion:results',
      archivePolicy: 'all',
      retryMaxMs: 1000,
      x: 460,
      y: 60,
      wires: [['feeder_url', 'feeder_res']],
    },
    // the hook the dashboard asks of the station flow: archive URL of this result-publish, then link out
    { id: 'feeder_url', type: 'change', z, name: 'archive URL', rules: [{ t: 'set', p: 'archiveUrl', pt: 'msg', to: '/spotfusion/archive/feeder_publish', tot: 'str' }], x: 640, y: 60, wires: [['feeder_out']] },
    { id: 'feeder_out', type: 'link out', z, name: 'station results', mode: 'link', links: ['sf_dash_results_in'], x: 800, y: 60, wires: [] },
    { id: 'feeder_res', type: 'http response', z, name: '', statusCode: '200', headers: {}, x: 640, y: 100, wires: [] },
    { id: 'feeder_status', type: 'status', z, name: '', scope: ['feeder_publish'], x: 460, y: 140, wires: [['feeder_status_out']] },
    { id: 'feeder_status_out', type: 'link out', z, name: 'station status', mode: 'link', links: ['sf_dash_status_in'], x: 640, y: 140, wires: [] },
    // straight into the dashboard, no result-publish: for messages that are not (or not quite) results
    { id: 'feeder_raw', type: 'http in', z, name: '', url: '/test/raw', method: 'post', upload: false, x: 100, y: 200, wires: [['feeder_raw_url', 'feeder_raw_res']] },
    {
      id: 'feeder_raw_url',
      type: 'function',
      z,
      name: '{archiveUrl, result}',
      func: "if (msg.payload && 'archiveUrl' in msg.payload) return { archiveUrl: msg.payload.archiveUrl, payload: msg.payload.result };\nreturn { payload: msg.payload };",
      outputs: 1,
      x: 300,
      y: 160,
      wires: [['feeder_raw_out']],
    },
    { id: 'feeder_raw_out', type: 'link out', z, name: '', mode: 'link', links: ['sf_dash_results_in'], x: 300, y: 200, wires: [] },
    { id: 'feeder_raw_res', type: 'http response', z, name: '', statusCode: '200', headers: {}, x: 300, y: 240, wires: [] },
  ];
}

const hourStart = (t) => {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours()).getTime();
};
const hourLabel = (t) => `${String(new Date(t).getHours()).padStart(2, '0')}:00`;

/** One valid InspectionResult: verdicts by spot, durations from i. */
function result(i, time, verdicts) {
  const spots = Object.entries(BOXES).map(([spotId, box]) => ({
    spotId,
    box,
    verdict: verdicts[spotId] ?? 'OK',
    label: (verdicts[spotId] ?? 'OK') === 'OK' ? 'ok' : 'crack',
    score: 0.9,
    ...(verdicts[spotId] === 'MISSING' ? { reason: 'no prediction' } : {}),
  }));
  const count = (v) => spots.filter((s) => s.verdict === v).length;
  const verdict = spots.every((s) => s.verdict === 'OK') ? 'OK' : 'NOK';
  return {
    schema: 'spotfusion.inspection-result/1',
    resultId: crypto.randomUUID(),
    part: { serial: `WB-${String(i).padStart(4, '0')}`, program: 7 },
    station: { line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' },
    frame: { cameraId: 'cam1', frameId: i, width: W, height: H, pixelFormat: 'RGB8' },
    timestamps: { result: new Date(time).toISOString() },
    durations: { triggerToGrab: 10 + i, infer: 20 + i, grabToResult: 50 + 2 * i, total: 60 + 3 * i },
    model: { name: 'spotnet', version: '1' },
    verdict,
    resultCode: verdict === 'OK' ? 1 : 2,
    classId: verdict === 'OK' ? 0 : 1,
    spots,
    summary: { total: spots.length, ok: count('OK'), nok: count('NOK'), missing: count('MISSING') },
    faults: count('MISSING') ? [{ code: 'SPOT_MISSING', message: 'no prediction for s4', spotId: 's4' }] : [],
  };
}

/** A headless Chromium with its own throw-away profile (skips the suite where none can start). */
async function openBrowser(ctx) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-chromium-'));
  try {
    return { profile, browser: await launchChromium(ctx, profile) };
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true }); // skipped or failed: nothing will use the profile
    throw err;
  }
}

/** Close what a suite opened: the browser, the Node-RED process and both temporary folders. */
async function closeAll({ browser, rt, profile }) {
  if (browser) await browser.close();
  if (rt) await rt.stop();
  if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}

/** Runtime.start() returns once the admin API answers; the flows start just after (or wait for missing types). */
async function flowsStarted(rt) {
  const end = Date.now() + 20000;
  while (!/\[info\] Started flows/.test(rt.stdout)) {
    if (Date.now() > end) throw new Error(`the flows did not start:\n${rt.stdout.slice(-3000)}\n${rt.stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


describe('station dashboard (flows/dashboard.json, Dashboard 2.0) in headless chromium', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let page;
  let profile;
  const seen = [];
  const base = () => `http://127.0.0.1:${rt.port}`;
  const widget = (id) => page.locator(`#nrdb-ui-widget-${id}`);
  const now = Date.now();
  const h0 = hourStart(now);
  const prev = h0 - 30 * 60000; // the previous hour
  // what is fed before the page opens (P1–P6) and while it is open (P7)
  const PARTS = [
    result(1, prev + 1000, {}),
    result(2, prev + 2000, { s2: 'NOK' }),
    result(3, prev + 3000, {}),
    result(4, h0 + 1000, { s2: 'NOK', s3: 'NOK' }),
    result(5, h0 + 2000, {}),
    result(6, h0 + 3000, { s2: 'NOK', s4: 'MISSING' }),
  ];
  const P7 = result(7, h0 + 4000, {});
  const P8 = result(8, h0 + 5000, { s1: 'NOK', s3: 'NOK' });

  async function feed(r) {
    const res = await rt.request('POST', '/test/feed', { body: { result: r, frame: { width: W, height: H } } });
    assert.equal(res.status, 200, `feed ${r.part.serial}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.json.resultId, r.resultId);
    return res.json;
  }

  before(async function () {
    ({ profile, browser } = await openBrowser(this));
    const redisPort = await freePort(); // nothing listens there: the Redis target stays down, its results wait
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, SPOTFUSION_ARCHIVE_URL: undefined });
    const feederFile = path.join(rt.userDir, 'feeder.json');
    fs.writeFileSync(feederFile, JSON.stringify(feederFlow(redisPort)));
    await rt.start({ flowSource: [DASHBOARD_FLOW, feederFile] }); // prepareUserDir puts both into flows.json
    await flowsStarted(rt);
    for (const r of PARTS) await feed(r);
    page = await browser.newPage();
    // NETWORK RULE: the page may reach this runtime on loopback and nothing else
    await page.route('**/*', (route) => {
      const u = new URL(route.request().url());
      seen.push(u.host);
      return u.hostname === '127.0.0.1' ? route.continue() : route.abort();
    });
    page.on('pageerror', (err) => process.stderr.write(`dashboard page error: ${err.message}\n`));
  });

  after(async function () {
    await closeAll({ browser, rt, profile });
  });

  it('loads Dashboard 2.0 and our nodes in the runtime from the prepared user dir', async function () {
    const link = fs.readlinkSync(path.join(rt.userDir, 'node_modules', '@flowfuse', 'node-red-dashboard'));
    assert.equal(fs.realpathSync(link), fs.realpathSync(path.join(ROOT, 'node_modules', '@flowfuse', 'node-red-dashboard')));
    const nodes = await rt.request('GET', '/nodes', { headers: { Accept: 'application/json' } });
    assert.equal(nodes.status, 200);
    const dash = nodes.json.filter((s) => s.module === '@flowfuse/node-red-dashboard');
    assert.ok(dash.length > 0, 'Dashboard 2.0 is not loaded');
    for (const s of dash) assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
    const flows = await rt.request('GET', '/flows', { headers: { 'Node-RED-API-Version': 'v2' } });
    const types = new Set(flows.json.flows.map((n) => n.type));
    for (const t of ['ui-base', 'ui-page', 'ui-group', 'ui-template', 'ui-chart', 'ui-table', 'ui-text']) assert.ok(types.has(t), `${t} missing`);
    assert.doesNotMatch(rt.stdout + rt.stderr, /\[error\]/, 'the runtime logged an error');
  });

  it('shows the last part: verdict, serial, and every spot drawn on the archived frame in its verdict colour', async function () {
    await page.goto(`${base()}/dashboard/station`, { waitUntil: 'domcontentloaded' });
    const last = PARTS[PARTS.length - 1];
    await page.getByTestId('sf-serial').filter({ hasText: last.part.serial }).waitFor({ timeout: 20000 });
    assert.equal((await page.getByTestId('sf-verdict').textContent()).trim(), 'NOK');
    assert.match(await page.getByTestId('sf-summary').textContent(), /2 OK · 1 NOK · 1 missing of 4 spots/);
    assert.match(await page.getByTestId('sf-faults').textContent(), /SPOT_MISSING/);

    const overlay = page.getByTestId('sf-overlay');
    assert.equal(await overlay.getAttribute('viewBox'), `0 0 ${W} ${H}`);
    const rects = await overlay.locator('rect.sf-spot').evaluateAll((els) =>
      els.map((e) => ({ spot: e.dataset.spot, verdict: e.dataset.verdict, stroke: e.getAttribute('stroke'), x: +e.getAttribute('x'), y: +e.getAttribute('y'), w: +e.getAttribute('width'), h: +e.getAttribute('height') })),
    );
    assert.equal(rects.length, last.spots.length);
    for (const s of last.spots) {
      const r = rects.find((x) => x.spot === s.spotId);
      assert.ok(r, `no box for ${s.spotId}`);
      assert.deepEqual({ verdict: r.verdict, stroke: r.stroke, x: r.x, y: r.y, w: r.w, h: r.h }, { verdict: s.verdict, stroke: COLOUR[s.verdict], ...s.box });
    }

    // the frame comes by URL from the result-publish archive, and has loaded
    const frame = page.getByTestId('sf-frame');
    const src = await frame.getAttribute('src');
    assert.match(src, new RegExp(`^/spotfusion/archive/feeder_publish/\\d{4}-\\d{2}-\\d{2}/${last.resultId}/frame\\.png$`));
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await frame.elementHandle(), { timeout: 10000 });
    assert.deepEqual(await frame.evaluate((el) => [el.naturalWidth, el.naturalHeight]), [W, H]);
    const png = await page.request.get(`${base()}${src}`);
    assert.equal(png.status(), 200);
    assert.equal(png.headers()['content-type'], 'image/png');
  });

  it('shows yield per hour, NOK per spot and per-stage timings computed from the results', async function () {
    const hours = page.getByTestId('sf-yield-table');
    const row = async (t) => (await hours.locator(`tr[data-hour="${hourLabel(t)}"] td`).allTextContents()).map((s) => s.trim());
    assert.deepEqual(await row(prev), [hourLabel(prev), '2', '1', '3', '66.7 %']);
    assert.deepEqual(await row(h0), [hourLabel(h0), '1', '2', '3', '33.3 %']);
    assert.match(await page.getByTestId('sf-yield-total').textContent(), /^50\.0 % \(3 OK of 6, last 24 h\)/);

    const nok = await page.getByTestId('sf-nok-table').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    assert.deepEqual(nok, [
      ['s2', '3', '6', '50.0 %'],
      ['s3', '1', '6', '16.7 %'],
    ]);

    const timings = await page.getByTestId('sf-timings-table').locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
    // i = 1..6: mean(10+i) = 13.5, p95 = the 6th value, last = i 6
    assert.deepEqual(timings, [
      ['triggerToGrab', '16.0', '13.5', '16.0', '16.0'],
      ['infer', '26.0', '23.5', '26.0', '26.0'],
      ['grabToResult', '62.0', '57.0', '62.0', '62.0'],
      ['total', '78.0', '70.5', '78.0', '78.0'],
    ]);

    // the charts rendered (ECharts draws on a canvas)
    for (const id of ['sf_dash_yield_chart', 'sf_dash_nok_chart', 'sf_dash_timing_chart']) {
      const box = await widget(id).locator('canvas').first().boundingBox();
      assert.ok(box && box.width > 50 && box.height > 50, `${id} has no chart canvas`);
    }
  });

  it('shows the last NOK crops by archive URL, newest first, each answering 200', async function () {
    const figs = page.getByTestId('sf-crops').locator('figure');
    const list = await figs.evaluateAll((fs) => fs.map((f) => ({ spot: f.dataset.spot, src: f.querySelector('img')?.getAttribute('src'), text: f.textContent })));
    const want = [
      [PARTS[5], 's2'],
      [PARTS[3], 's2'],
      [PARTS[3], 's3'],
      [PARTS[1], 's2'],
    ];
    assert.equal(list.length, want.length, JSON.stringify(list));
    for (let i = 0; i < want.length; i++) {
      const [r, spot] = want[i];
      assert.equal(list[i].spot, spot);
      assert.match(list[i].src, new RegExp(`^/spotfusion/archive/feeder_publish/\\d{4}-\\d{2}-\\d{2}/${r.resultId}/${spot}\\.png$`));
      assert.match(list[i].text, new RegExp(r.part.serial));
      const res = await page.request.get(`${base()}${list[i].src}`);
      assert.equal(res.status(), 200, list[i].src);
      assert.equal(res.headers()['content-type'], 'image/png');
    }
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="sf-crops"] img')].every((i) => i.complete && i.naturalWidth === 60), null, { timeout: 10000 });
    // no image bytes in our widgets' messages: every image of theirs is a plain URL
    const srcs = await page.locator('.sf-last img, .sf-crops img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src') || ''));
    assert.ok(srcs.every((s) => !s.startsWith('data:')), srcs.join(' '));
  });

  it('shows outbox depth per target and connection health from /spotfusion/metrics and /spotfusion/health', async function () {
    // 6 results wait for the Redis target (its server is down); SQLite has them all
    const target = (t) => page.getByTestId('sf-outbox-table').locator(`tr[data-target^="${t}"] .sf-depth`);
    await page.waitForFunction(() => document.querySelector('[data-testid="sf-outbox-table"] tr[data-target^="redis"] .sf-depth')?.textContent.trim() === '6', null, { timeout: 15000 });
    assert.equal((await target('sqlite').textContent()).trim(), '0');
    assert.match(await page.getByTestId('sf-outbox-waiting').textContent(), /^6 result\(s\) waiting/);
    assert.match(await page.getByTestId('sf-outbox-rows').textContent(), /after the last result: 6$/);

    const health = widget('sf_dash_health_text');
    await health.getByText(/DOWN · 1 connection\(s\), 1 down/).waitFor({ timeout: 15000 });
    const table = widget('sf_dash_conn_table');
    const cells = await table.locator('tbody tr').first().locator('td').allTextContents();
    assert.ok(cells.some((c) => c.trim() === 'line redis'), cells.join('|'));
    assert.ok(cells.some((c) => /^redis 127\.0\.0\.1:\d+ db 0$/.test(c.trim())), cells.join('|'));
    assert.ok(cells.some((c) => /ECONNREFUSED/.test(c)), cells.join('|'));
    assert.ok(cells.some((c) => /^(connecting|reconnecting|failed)$/.test(c.trim())), cells.join('|'));

    const links = widget('sf_dash_links_view');
    assert.match(await links.locator('[data-poll="health"]').textContent(), /reading/);
    assert.match(await links.locator('[data-poll="metrics"]').textContent(), /reading/);
    // the station's status feed: result-publish shows its outbox waiting, or the Redis connection's error
    await links.locator('[data-node="feeder_publish"]').getByText(/publish: .*redis/).waitFor({ timeout: 10000 });
  });

  it('updates live when the next results arrive, and saves a screenshot', async function () {
    await feed(P7);
    await page.getByTestId('sf-serial').filter({ hasText: P7.part.serial }).waitFor({ timeout: 10000 });
    assert.equal((await page.getByTestId('sf-verdict').textContent()).trim(), 'OK');
    const strokes = await page.getByTestId('sf-overlay').locator('rect.sf-spot').evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
    assert.deepEqual(strokes, [COLOUR.OK, COLOUR.OK, COLOUR.OK, COLOUR.OK]);
    await page.getByTestId('sf-yield-total').getByText(/^57\.1 % \(4 OK of 7/).waitFor({ timeout: 5000 });
    const cur = await page.getByTestId('sf-yield-table').locator(`tr[data-hour="${hourLabel(h0)}"] .sf-yield-pct`).textContent();
    assert.equal(cur.trim(), '50.0 %');
    await page.getByTestId('sf-outbox-rows').getByText(/after the last result: 7$/).waitFor({ timeout: 5000 });
    // and a NOK part after it (left on screen for the screenshot)
    await feed(P8);
    await page.getByTestId('sf-serial').filter({ hasText: P8.part.serial }).waitFor({ timeout: 10000 });
    assert.equal((await page.getByTestId('sf-verdict').textContent()).trim(), 'NOK');
    const colours = await page.getByTestId('sf-overlay').locator('rect.sf-spot').evaluateAll((els) => els.map((e) => e.getAttribute('stroke')));
    assert.deepEqual(colours, [COLOUR.NOK, COLOUR.OK, COLOUR.NOK, COLOUR.OK]);
    await page.getByTestId('sf-yield-total').getByText(/^50\.0 % \(4 OK of 8/).waitFor({ timeout: 5000 });
    await page.getByTestId('sf-crops').locator('figure').nth(5).waitFor({ timeout: 5000 });
    assert.deepEqual(await page.getByTestId('sf-crops').locator('figure').evaluateAll((fs) => fs.slice(0, 2).map((f) => f.dataset.spot)), ['s1', 's3']);
    // a fresh page gets the same state (widgets keep their last message)
    const again = await browser.newPage();
    await again.goto(`${base()}/dashboard/station`, { waitUntil: 'domcontentloaded' });
    await again.getByTestId('sf-serial').filter({ hasText: P8.part.serial }).waitFor({ timeout: 15000 });
    assert.equal(await again.getByTestId('sf-overlay').locator('rect.sf-spot').count(), 4);
    await again.close();

    await page.waitForFunction(() => [...document.querySelectorAll('img')].every((i) => i.complete), null, { timeout: 10000 });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10000);
  });

  it('ignores messages that are not InspectionResults and builds image URLs only from safe parts', async function () {
    const junk = await rt.request('POST', '/test/raw', { body: { hello: 'world' } });
    assert.equal(junk.status, 200);
    // archive paths that leave the archive: no image at all
    const escape = result(9, h0 + 6000, { s1: 'NOK' });
    escape.images = { frame: '../../etc/frame.png', crops: { s1: 'x/../s1.png' } };
    assert.equal((await rt.request('POST', '/test/raw', { body: { archiveUrl: '/spotfusion/archive/feeder_publish', result: escape } })).status, 200);
    await page.getByTestId('sf-serial').filter({ hasText: escape.part.serial }).waitFor({ timeout: 10000 });
    await page.getByTestId('sf-noframe').waitFor({ timeout: 5000 });
    assert.equal(await page.getByTestId('sf-frame').count(), 0);
    assert.equal(await page.getByTestId('sf-overlay').locator('rect.sf-spot').count(), 4);
    const first = page.getByTestId('sf-crops').locator('figure').first();
    assert.equal(await first.getAttribute('data-spot'), 's1');
    assert.equal(await first.locator('img').count(), 0);
    assert.match(await first.textContent(), /not archived/);
    // an unsafe archive base is not used: the default (flows/station.json's archive) takes its place
    const unsafe = result(10, h0 + 7000, { s1: 'NOK' });
    unsafe.images = { frame: 'x/frame.png', crops: { s1: 'x/s1.png' } };
    assert.equal((await rt.request('POST', '/test/raw', { body: { archiveUrl: 'javascript:alert(1)//', result: unsafe } })).status, 200);
    await page.getByTestId('sf-serial').filter({ hasText: unsafe.part.serial }).waitFor({ timeout: 10000 });
    assert.equal(await page.getByTestId('sf-frame').getAttribute('src'), '/spotfusion/archive/sf_st_publish/x/frame.png');
    assert.equal(await page.getByTestId('sf-crops').locator('figure').first().locator('img').getAttribute('src'), '/spotfusion/archive/sf_st_publish/x/s1.png');
    assert.match(rt.stdout, /station results: msg\.payload is not an InspectionResult/);
    assert.ok(seen.length > 0 && seen.every((h) => h === `127.0.0.1:${rt.port}`), `the page asked for ${[...new Set(seen)]}`);
  });
});

describe('station dashboard with adminAuth on (health and metrics need a token)', function () {
  this.timeout(60000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    ({ profile, browser } = await openBrowser(this));
    const bcrypt = require('bcryptjs');
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: undefined,
      SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(crypto.randomBytes(12).toString('hex'), 8),
      SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
      SPOTFUSION_DASHBOARD_TOKEN: undefined,
    });
    await rt.start({ flowSource: DASHBOARD_FLOW });
    await flowsStarted(rt);
  });

  after(async function () {
    await closeAll({ browser, rt, profile });
  });

  it('says that health and metrics are not readable (401) and how to fix it, instead of showing stale values', async function () {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${rt.port}/dashboard/station`, { waitUntil: 'domcontentloaded' });
    const links = page.locator('#nrdb-ui-widget-sf_dash_links_view');
    await links.locator('[data-poll="health"]').getByText(/health answered 401: adminAuth is on; set SPOTFUSION_READ_TOKEN/).waitFor({ timeout: 15000 });
    await links.locator('[data-poll="metrics"]').getByText(/metrics answered 401/).waitFor({ timeout: 5000 });
    await page.getByTestId('sf-outbox-error').getByText(/metrics answered 401: adminAuth is on/).waitFor({ timeout: 5000 });
    await page.locator('#nrdb-ui-widget-sf_dash_health_text').getByText(/UNKNOWN · health not readable/).waitFor({ timeout: 5000 });
    assert.equal((await page.getByTestId('sf-waiting').textContent()).trim(), 'waiting for the first result…');
    await page.close();
    // said once in the log, not a JSON parse warning every 5 s: two more polls, still one line
    const polls = () => (rt.stdout.match(/health answered 401/g) ?? []).length;
    await until(() => polls() >= 1, 15000, 'the log says health is not readable');
    await new Promise((r) => setTimeout(r, 11000));
    assert.equal(polls(), 1, rt.stdout.slice(-3000));
    assert.doesNotMatch(rt.stdout, /JSON parse error|Unexpected token/);
  });
});

describe('station dashboard with adminAuth on and the read-only token (SPOTFUSION_READ_TOKEN)', function () {
  this.timeout(60000);
  const OLD = crypto.randomBytes(32).toString('hex');
  const NEW = crypto.randomBytes(32).toString('hex');
  let rt;
  let browser;
  let profile;

  before(async function () {
    ({ profile, browser } = await openBrowser(this));
    const bcrypt = require('bcryptjs');
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: undefined,
      SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(crypto.randomBytes(12).toString('hex'), 8),
      SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
      SPOTFUSION_DASHBOARD_TOKEN: undefined,
      // being rotated: the old token still works until the next restart without it
      SPOTFUSION_READ_TOKEN: `${OLD},${NEW}`,
    });
    await rt.start({ flowSource: DASHBOARD_FLOW });
    await flowsStarted(rt);
  });

  after(async function () {
    await closeAll({ browser, rt, profile });
  });

  it('reads health and metrics with the token, which opens nothing else; the dashboard shows health', async function () {
    for (const token of [OLD, NEW]) {
      assert.notEqual((await rt.request('GET', '/spotfusion/health', { token })).status, 401);
      assert.equal((await rt.request('GET', '/spotfusion/metrics', { token })).status, 200);
      for (const [method, url] of [['GET', '/flows'], ['GET', '/settings'], ['GET', '/nodes'], ['POST', '/flows']]) {
        assert.equal((await rt.request(method, url, { token, body: method === 'POST' ? [] : undefined })).status, 401, `${method} ${url} with the read token`);
      }
    }
    assert.equal((await rt.request('GET', '/spotfusion/health', { token: `${NEW.slice(0, -1)}${NEW.endsWith('0') ? '1' : '0'}` })).status, 401);
    assert.equal((await rt.request('GET', '/spotfusion/health')).status, 401);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${rt.port}/dashboard/station`, { waitUntil: 'domcontentloaded' });
    await page.locator('#nrdb-ui-widget-sf_dash_health_text').getByText(/^(UP|DOWN) · \d+ connection\(s\), \d+ down$/).waitFor({ timeout: 15000 });
    await page.locator('#nrdb-ui-widget-sf_dash_links_view [data-poll="health"]').getByText(/: reading$/).waitFor({ timeout: 5000 });
    await page.close();
    assert.doesNotMatch(rt.stdout, /health answered 401|JSON parse error/);
  });
});

describe('station dashboard beside flows/station.json (simulators, with the one link the dashboard needs)', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    ({ profile, browser } = await openBrowser(this));
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, ARCHIVE_POLICY: 'all', PLC_SIM_PERIOD_MS: '1500' });
    // the hook asked of the station flow: its result link out also lists the dashboard's "station results"
    const station = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'station.json'), 'utf8'));
    const out = station.find((n) => n.type === 'link out' && n.wires.length === 0 && station.some((p) => p.type === 'result-publish' && p.z === n.z && p.wires.flat().includes(n.id)));
    assert.ok(out, 'flows/station.json has no link out after its result-publish');
    if (!out.links.includes('sf_dash_results_in')) out.links.push('sf_dash_results_in');
    const stationFile = path.join(rt.userDir, 'station.json');
    fs.writeFileSync(stationFile, JSON.stringify(station));
    await rt.start({ flowSource: [stationFile, DASHBOARD_FLOW] });
    await flowsStarted(rt);
  });

  after(async function () {
    await closeAll({ browser, rt, profile });
  });

  it('draws every spot of the station\'s last stored result, in its verdict colour, over the archived frame', async function () {
    const Database = require('better-sqlite3');
    const page = await browser.newPage();
    // (the network rule holds through the browser's own settings, test/support/browser.js: no page.route here, which
    // would pause every image of this busy page until the test process answers)
    // the dashboard's live messages pass through here, so that the page can be held still for the screenshot below
    let frozen = false;
    let held = 0;
    await page.routeWebSocket(/\/dashboard\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      // Engine.IO "4" + Socket.IO event "2": the widgets' messages; pings and the rest always pass
      server.onMessage((m) => (frozen && typeof m === 'string' && m.startsWith('42') ? (held += 1) : ws.send(m)));
    });
    const pending = new Map();
    page.on('request', (q) => pending.set(q, Date.now()));
    page.on('requestfinished', (q) => pending.delete(q));
    page.on('requestfailed', (q) => pending.delete(q));
    await page.goto(`http://127.0.0.1:${rt.port}/dashboard/station`, { waitUntil: 'domcontentloaded' });
    await page.getByTestId('sf-overlay').waitFor({ timeout: 30000 });
    // one consistent snapshot of the widget (parts keep coming every 1.5 s)
    const shown = await page.locator('.sf-last').evaluate((el) => ({
      resultId: el.dataset.resultId,
      verdict: el.querySelector('[data-testid="sf-verdict"]').textContent.trim(),
      frame: el.querySelector('[data-testid="sf-frame"]')?.getAttribute('src'),
      rects: [...el.querySelectorAll('rect.sf-spot')].map((r) => ({ spot: r.dataset.spot, verdict: r.dataset.verdict, stroke: r.getAttribute('stroke'), x: +r.getAttribute('x'), y: +r.getAttribute('y') })),
    }));
    const db = new Database(path.join(rt.userDir, 'spotfusion', 'results.db'), { readonly: true, fileMustExist: true });
    try {
      let row;
      for (let i = 0; i < 50 && !row; i++) {
        row = db.prepare('SELECT verdict FROM inspection_result WHERE result_id = ?').get(shown.resultId);
        if (!row) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(row, `result ${shown.resultId} shown on the dashboard is not in the station's SQLite store`);
      assert.equal(shown.verdict, row.verdict);
      const spots = db.prepare('SELECT spot_id, verdict, box FROM spot_result WHERE result_id = ? ORDER BY spot_id').all(shown.resultId);
      assert.ok(spots.length > 0);
      assert.equal(shown.rects.length, spots.filter((s) => s.box).length);
      for (const s of spots.filter((x) => x.box)) {
        const r = shown.rects.find((x) => x.spot === s.spot_id);
        const box = JSON.parse(s.box);
        assert.deepEqual(r, { spot: s.spot_id, verdict: s.verdict, stroke: COLOUR[s.verdict], x: box.x, y: box.y });
      }
    } finally {
      db.close();
    }
    assert.match(shown.frame, new RegExp(`^/spotfusion/archive/sf_st_publish/\\d{4}-\\d{2}-\\d{2}/${shown.resultId}/frame\\.png$`));
    const png = await page.request.get(`http://127.0.0.1:${rt.port}${shown.frame}`);
    assert.equal(png.status(), 200);
    assert.equal(png.headers()['content-type'], 'image/png');
    // health is read with the station's connections (PLC, camera…)
    await page.locator('#nrdb-ui-widget-sf_dash_health_text').getByText(/^(UP|DOWN) · [1-9]\d* connection\(s\)/).waitFor({ timeout: 15000 });
    if (process.env.SPOTFUSION_UPDATE_SCREENSHOT === '1') {
      // docs/dashboard.png: the station after a few parts
      await page.getByTestId('sf-yield-total').getByText(/of ([89]|\d\d+),/).waitFor({ timeout: 40000 });
    }
    // every image has loaded once or finished. The station keeps producing parts (one every 1.5 s), and an archive
    // image is served once it is written behind its part: where writing takes longer than a part, a src that changes
    // with every part never finishes loading. So the page is held still first (no more widget messages), then its
    // images must load; one that has shown a picture keeps it (naturalWidth). The crops load lazily: one below the
    // window is not fetched until it is scrolled to (a part with 48 spots), so it does not count here
    frozen = true;
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('.sf-last img, .sf-crops img')].every((i) => {
          const r = i.getBoundingClientRect();
          return i.complete || i.naturalWidth > 0 || (i.loading === 'lazy' && r.top >= window.innerHeight);
        }),
      null,
      { timeout: 30000 },
    ).catch(async (err) => {
      const imgs = await page.evaluate(() =>
        [...document.querySelectorAll('.sf-last img, .sf-crops img')].map((i) => ({ src: i.getAttribute('src'), complete: i.complete, w: i.naturalWidth, loading: i.loading, top: Math.round(i.getBoundingClientRect().top), h: Math.round(i.getBoundingClientRect().height), shown: i.offsetParent !== null, inner: window.innerHeight })),
      );
      const open = [...pending].map(([q, t]) => `${q.method()} ${q.url().replace(/^https?:\/\/[^/]+/, '')} ${Date.now() - t} ms`);
      const db2 = new Database(path.join(rt.userDir, 'spotfusion', 'results.db'), { readonly: true, fileMustExist: true });
      const rows = db2.prepare('SELECT count(*) AS n FROM inspection_result').get().n;
      db2.close();
      throw new Error(`${err.message}: images ${JSON.stringify(imgs.filter((i) => !i.complete && !i.w))} of ${imgs.length}; requests open ${JSON.stringify(open)}; results stored ${rows}; widget messages held ${held}; log ${rt.stdout.slice(-1500)}`);
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard-station.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.SPOTFUSION_UPDATE_SCREENSHOT === '1') fs.copyFileSync(shot, path.join(ROOT, 'docs', 'dashboard.png'));
    await page.close();
  });
});
