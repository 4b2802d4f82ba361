'use strict';
/* global document -- the functions passed to page.waitForFunction() run in the browser */
// The plant view (flows/plant-view.json, /dashboard/plant) in a real Node-RED with Dashboard 2.0 against the real
// PostgreSQL on loopback, in headless chromium: results of three stations on two lines in the plant database; the
// page shows one row per line and per station, worst Cpk first, with yield and worst Cpk as computed independently
// from the stored values; a station that starts publishing appears after a click on Refresh; no console error.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { requireService, connectPostgres } = require('../support/services');
const { station, expectedCpk, worstOf, plantData, storeResults } = require('../support/plant-results');
const { ROOT } = require('../../scripts/userdir.cjs');

const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const PLANT_FLOW = path.join(ROOT, 'flows', 'plant-view.json');
/** the flow's spc-plant: Cpk over 25 subgroups of 5, lower limit from the rules' minimum (4.5 mm in the data) */
const FLOW_W = 25;
const RULES_MIN = { lsl: 4.5 };

describe('plant view (flows/plant-view.json, /dashboard/plant) in headless chromium, real PostgreSQL', function () {
  this.timeout(120000);
  let rt;
  let browser;
  let profile;
  let page;
  let pg;
  const schema = `sfplantview_${process.pid}`;
  const errors = [];
  let data;

  before(async function () {
    await requireService(this, 'postgres');
    pg = await connectPostgres();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    data = plantData();
    await storeResults(schema, [...data.l1st10, ...data.old, ...data.l1st20, ...data.l2st10]);
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-plant-chromium-'));
    try {
      browser = await launchChromium(this, profile);
    } catch (err) {
      fs.rmSync(profile, { recursive: true, force: true });
      throw err;
    }
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: 'true',
      SPOTFUSION_ADMIN_PASSWORD_HASH: undefined,
      DATABASE_HOST: '127.0.0.1',
      DATABASE_PORT: '5432',
      DATABASE_NAME: 'test',
      DATABASE_SCHEMA: schema,
      // one read when the database connects, then only on Refresh (the test's second read is the click's)
      PLANT_REFRESH_S: '3600',
    });
    await rt.start({ flowSource: [PLANT_FLOW] });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.stack || e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    }
  });

  const lineRows = () => page.$$eval('[data-testid="sf-plant-lines"] tbody tr', (trs) => trs.map((tr) => ({ line: tr.dataset.line, cells: [...tr.children].map((td) => td.textContent.trim()), low: tr.querySelector('.sf-cpk').classList.contains('sf-low') })));
  const stationRows = () => page.$$eval('[data-testid="sf-plant-stations"] tbody tr', (trs) => trs.map((tr) => ({ at: `${tr.dataset.line}/${tr.dataset.station}`, cells: [...tr.children].map((td) => td.textContent.trim()) })));

  it('shows yield and the worst Cpk per line and per station, worst first, as computed from the stored values', async function () {
    await page.goto(`http://127.0.0.1:${rt.port}/dashboard/plant`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="sf-plant-stations"] tbody tr').length === 3 && document.querySelectorAll('[data-testid="sf-plant-lines"] tbody tr').length === 2, undefined, { timeout: 30000 });

    const cpk = {
      'L1/ST10': worstOf(expectedCpk(data.l1st10, RULES_MIN, FLOW_W)),
      'L1/ST20': worstOf(expectedCpk(data.l1st20, RULES_MIN, FLOW_W)),
      'L2/ST10': worstOf(expectedCpk(data.l2st10, RULES_MIN, FLOW_W)),
    };
    const order = Object.entries(cpk).sort((a, b) => a[1].cpk - b[1].cpk).map(([k]) => k);
    const stations = await stationRows();
    assert.deepEqual(stations.map((s) => s.at), order, JSON.stringify(stations));
    const yieldOf = { 'L1/ST10': '90.0 %', 'L1/ST20': '100.0 %', 'L2/ST10': '90.0 %' };
    const partsOf = { 'L1/ST10': '60', 'L1/ST20': '30', 'L2/ST10': '40' };
    for (const s of stations) {
      // line / station, parts, NOK, yield, worst Cpk, spot, spots with Cpk, last result
      assert.equal(s.cells[1], partsOf[s.at], `${s.at} parts (the 5 old parts of L1/ST20 are outside the window)`);
      assert.equal(s.cells[3], yieldOf[s.at], `${s.at} yield`);
      assert.equal(s.cells[4], cpk[s.at].cpk.toFixed(2), `${s.at} worst Cpk`);
      assert.equal(s.cells[5], cpk[s.at].spot, `${s.at} worst spot`);
    }
    const lines = await lineRows();
    assert.deepEqual(lines.map((l) => l.line), ['L2', 'L1']);
    // line, stations, parts, NOK, yield, worst Cpk, at
    assert.deepEqual(lines[0].cells, ['L2', '1', '40', '4', '90.0 %', cpk['L2/ST10'].cpk.toFixed(2), `ST10/${cpk['L2/ST10'].spot}`]);
    const l1 = [cpk['L1/ST10'], cpk['L1/ST20']].sort((a, b) => a.cpk - b.cpk)[0];
    assert.deepEqual(lines[1].cells.slice(0, 6), ['L1', '2', '90', '6', '93.3 %', l1.cpk.toFixed(2)]);
    // L2's s1 sits near the lower limit: its Cpk is under 1.33 and shown red
    assert.ok(cpk['L2/ST10'].cpk < 1.33);
    assert.equal(lines[0].low, true);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-view.png'), fullPage: true });
  });

  it('a station that starts publishing shows after a click on Refresh; the page logged no error', async function () {
    const l3 = station({ line: 'L3', name: 'ST30', count: 25, centre: [6, 6], spread: [0.1, 0.1], nok: (i) => i < 5, seed: 5 });
    await storeResults(schema, l3);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="sf-plant-lines"] tr[data-line="L3"]'), undefined, { timeout: 10000 });
    const row = (await lineRows()).find((l) => l.line === 'L3');
    assert.deepEqual(row.cells.slice(0, 5), ['L3', '1', '25', '5', '80.0 %']);
    assert.equal((await stationRows()).length, 4);
    assert.deepEqual(errors, [], 'console errors on the plant page');
    // from the start of the flows on (Node-RED's own start-up notes about projects and credentials come before)
    const log = rt.stdout.slice(rt.stdout.indexOf('Started flows'));
    assert.ok(log.length > 0 && rt.stdout.includes('Started flows'));
    const problems = (log + rt.stderr).split('\n').filter((l) => /\[(error|warn)\]/.test(l));
    assert.deepEqual(problems, [], 'the runtime logged an error or warning');
  });
});
