'use strict';
/* global document -- the functions passed to page.waitForFunction() run in the browser */
// The SPC page of flows/dashboard.json (/dashboard/spc) in a real Node-RED with Dashboard 2.0, in headless
// chromium: station results (a test feeder → link out to "station results") go through the dashboard's spc node;
// the page shows the Cpk table worst first, the control chart of the worst spot with the breaching points marked,
// and the alarm list, whose Acknowledge button acknowledges the alarm in the spc node's store.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { ROOT } = require('../../scripts/userdir.cjs');

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const DASHBOARD_FLOW = path.join(ROOT, 'flows', 'dashboard.json');
const SPOTS = ['s1', 's2', 's3', 's4'];

function feederFlow() {
  const z = 'spcfeed_tab';
  return [
    { id: z, type: 'tab', label: 'spc dashboard test feeder', info: 'Test only: POST /test/spc-feed {result}' },
    { id: 'spcfeed_in', type: 'http in', z, name: '', url: '/test/spc-feed', method: 'post', upload: false, x: 100, y: 60, wires: [['spcfeed_fn']] },
    { id: 'spcfeed_fn', type: 'function', z, name: 'result', func: 'msg.payload = msg.payload.result;\nreturn msg;', outputs: 1, x: 260, y: 60, wires: [['spcfeed_out', 'spcfeed_res']] },
    { id: 'spcfeed_out', type: 'link out', z, name: '', mode: 'link', links: ['sf_dash_results_in'], x: 420, y: 40, wires: [] },
    { id: 'spcfeed_res', type: 'http response', z, name: '', statusCode: '200', headers: {}, x: 420, y: 80, wires: [] },
  ];
}

/** a deterministic wobble in ±0.1 mm */
const wobble = (i, k) => 0.1 * Math.sin(i * 1.3 + k * 2.1);

function result(i, d) {
  const spots = SPOTS.map((spotId, k) => ({ spotId, verdict: 'OK', label: 'ok', score: 0.95, values: { diameter: { value: d[spotId] ?? 6 + wobble(i, k), unit: 'mm', min: 4 } } }));
  return {
    schema: 'spotfusion.inspection-result/1',
    resultId: crypto.randomUUID(),
    part: { serial: `WB-${i}`, program: 7 },
    station: { line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' },
    timestamps: { result: new Date(Date.now() - (200 - i) * 1000).toISOString() },
    durations: { total: 50 },
    model: { name: 'spotnet', version: '1' },
    verdict: 'OK',
    resultCode: 1,
    classId: 0,
    spots,
    summary: { total: 4, ok: 4, nok: 0, missing: 0 },
    faults: [],
  };
}

describe('SPC dashboard page (flows/dashboard.json, /dashboard/spc) in headless chromium', function () {
  this.timeout(120000);
  let rt;
  let browser;
  let profile;
  let page;

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-spc-chromium-'));
    try {
      browser = await launchChromium(this, profile);
    } catch (err) {
      fs.rmSync(profile, { recursive: true, force: true });
      throw err;
    }
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, SPOTFUSION_ARCHIVE_URL: undefined });
    const feederFile = path.join(rt.userDir, 'spc-feeder.json');
    fs.writeFileSync(feederFile, JSON.stringify(feederFlow()));
    await rt.start({ flowSource: [DASHBOARD_FLOW, feederFile] });
    const end = Date.now() + 20000;
    while (!/\[info\] Started flows/.test(rt.stdout)) {
      if (Date.now() > end) throw new Error(`the flows did not start:\n${rt.stdout.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // 125 parts in control (the baseline: 25 subgroups of 5), then s2 drops by 0.5 mm for 15 parts
    for (let i = 0; i < 140; i++) {
      const r = result(i, i >= 125 ? { s2: 5.5 + wobble(i, 1) } : {});
      const res = await rt.request('POST', '/test/spc-feed', { body: { result: r } });
      assert.equal(res.status, 200, `feed ${i}: ${res.status}`);
    }
    page = await browser.newPage();
    // NETWORK RULE: the page may reach this runtime on loopback and nothing else
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('shows the Cpk table worst first, the control chart of the worst spot with its breaches, and the alarm list; Acknowledge acknowledges', async function () {
    await page.goto(`http://127.0.0.1:${rt.port}/dashboard/spc`, { waitUntil: 'domcontentloaded' });
    // The views follow the summaries, which come every 5 s, and the page first shows the last one stored: one made
    // while the parts were still being fed can have all four spots past their baseline but s2 not yet drifted
    // (CI 2026-12-07 read 27 points, 2 breaches; a later CI failed here again). The chart of the worst spot is
    // asked for after each summary, so once it holds all 28 subgroups (25 baseline + 3 low) of s2, the table on
    // the page comes from a summary that saw every part: wait for that chart, then read both.
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="sf-spc-chart"]');
      return el?.dataset.key === 'L1/ST10/s2/diameter' && el.querySelectorAll('circle').length >= 28;
    }, undefined, { timeout: 30000 });
    const chart = await page.$eval('[data-testid="sf-spc-chart"]', (el) => ({ points: el.querySelectorAll('circle').length, breaches: el.querySelectorAll('circle.sf-breach').length, lines: el.querySelectorAll('line.sf-lim').length }));
    assert.deepEqual(chart, { points: 28, breaches: 3, lines: 3 });
    // Cpk table: four spots, all monitoring, the drifted one first
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="sf-spc-cpk"] tbody tr').length === 4, undefined, { timeout: 30000 });
    const rows = await page.$$eval('[data-testid="sf-spc-cpk"] tbody tr', (trs) => trs.map((tr) => ({ spot: tr.dataset.spot, cpk: tr.querySelector('.sf-cpk').textContent.trim(), phase: tr.children[1].textContent.trim() })));
    assert.equal(rows[0].spot, 's2', JSON.stringify(rows));
    assert.deepEqual(rows.map((r) => r.phase), ['monitor', 'monitor', 'monitor', 'monitor']);
    const cpks = rows.map((r) => Number(r.cpk));
    assert.ok(cpks.every((c) => Number.isFinite(c) && c > 0), JSON.stringify(rows));
    assert.ok(cpks[0] < Math.min(...cpks.slice(1)), `worst first: ${JSON.stringify(rows)}`);
    // the alarm list: rule 1 on s2, active, with its button
    await page.waitForFunction(() => document.querySelector('[data-testid="sf-spc-alarms"] tr[data-spot="s2"][data-rule="1"]'), undefined, { timeout: 30000 });
    const row = page.locator('[data-testid="sf-spc-alarms"] tr[data-spot="s2"][data-rule="1"]');
    assert.match(await row.locator('.sf-state').textContent(), /^active$/);
    const id = await row.getAttribute('data-id');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-spc.png'), fullPage: true });
    await row.locator('button.sf-ack').click();
    await page.waitForFunction((aid) => /acknowledged by dashboard/.test(document.querySelector(`[data-testid="sf-spc-alarms"] tr[data-id="${aid}"] .sf-state`)?.textContent ?? ''), id, { timeout: 30000 });
    assert.equal(await page.locator(`[data-testid="sf-spc-alarms"] tr[data-id="${id}"] button.sf-ack`).count(), 0, 'no button once acknowledged');
    assert.doesNotMatch(rt.stdout + rt.stderr, /\[error\]/, 'the runtime logged an error');
  });
});
