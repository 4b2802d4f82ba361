'use strict';
/* global document -- the functions passed to page.waitForFunction() run in the browser */
// The plant wizard page's metrics tab and its diff and deploy actions in headless chromium: results stored in the
// real PostgreSQL on loopback shown per station as counted here; a plant without a database says so; the lab
// plant diffed against, deployed to and diffed again against a real target Node-RED (adminAuth on) from the
// page, its login only in the admin server's environment. No console error on the page.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { Runtime } = require('../support/runtime');
const { freePort } = require('../support/redis-server');
const { launchChromium, watchedPage } = require('../support/browser');
const { requireService, connectPostgres } = require('../support/services');
const { station, storeResults } = require('../support/plant-results');
const { labPlant, labTarget } = require('../support/plant-lab');
const W = require('../support/plant-wizard');

const ROOT = path.join(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const SAMPLE = YAML.parse(fs.readFileSync(path.join(ROOT, 'docs', 'plant.yaml'), 'utf8'));

describe('plant wizard page: metrics, diff and deploy in headless chromium (real PostgreSQL, real target station)', function () {
  this.timeout(180000);
  const PASSWORD = crypto.randomBytes(12).toString('hex');
  const schema = `sfwizardmetrics_${process.pid}`;
  let rt;
  let target;
  let pg;
  let browser;
  let profile;
  let page;
  let dir;
  let stopCoverage;
  let errors = [];
  let parts;

  before(async function () {
    await requireService(this, 'postgres');
    pg = await connectPostgres();
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-wizard-actions-chromium-'));
    try {
      browser = await launchChromium(this, profile);
    } catch (err) {
      fs.rmSync(profile, { recursive: true, force: true });
      throw err;
    }
    target = await labTarget(PASSWORD);
    rt = await Runtime.withAdminAuth(PASSWORD, {
      // the stations' login and the database's, for the admin server only: the page never sends or sees them
      SPOTFUSION_DEPLOY_PASSWORD: PASSWORD,
      DATABASE_USER: 'postgres',
      DATABASE_PASSWORD: undefined,
    });
    dir = path.join(rt.userDir, 'plant');
    fs.mkdirSync(dir, { recursive: true });
    // the lab plant: L1-UB-010 at the target, L1-UB-020 at a port where nothing listens; results in the database
    const lab = labPlant([target.port, await freePort()]);
    lab.network.services = { database: { host: '127.0.0.1', port: 5432, name: 'test', schema } };
    fs.writeFileSync(path.join(dir, 'lab.yaml'), YAML.stringify(lab));
    const nodb = structuredClone(SAMPLE);
    delete nodb.network.services;
    fs.writeFileSync(path.join(dir, 'nodb.yaml'), YAML.stringify(nodb));
    // L1-UB-010: 20 parts, every 4th NOK with its spot s3 NOK, s2 MISSING on part 7
    parts = station({ line: 'L1', name: 'L1-UB-010', count: 20, centre: [6, 6, 6], spread: [0.2, 0.2, 0.2], nok: (i) => i % 4 === 0, missing: 's2', missingAt: 7, seed: 21 });
    for (const [i, part] of parts.entries()) if (i % 4 === 0) part.spots[2].verdict = 'NOK';
    await storeResults(schema, parts);
    await rt.start();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    ({ page, errors, stopCoverage } = await watchedPage(browser));
    await W.openWizard(page, rt.port, PASSWORD);
  });

  afterEach(function () {
    const left = errors.splice(0);
    assert.deepEqual(left, [], 'console errors on the page');
  });

  after(async function () {
    if (stopCoverage) await stopCoverage();
    if (browser) await browser.close();
    await Promise.all([rt?.stop(), target?.stop()]);
    for (const r of [rt, target]) if (r) fs.rmSync(r.userDir, { recursive: true, force: true });
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    }
  });

  it('metrics: parts, OK, NOK, yield and the NOK spots per station from the plant database; a station without results says so', async function () {
    await W.openFile(page, 'lab.yaml');
    await page.click('#pw-view-metrics');
    await page.waitForSelector('#pw-metrics tbody tr[data-station="L1-UB-020"]');
    const cells = (id) => page.$$eval(`#pw-metrics tr[data-station="${id}"] td`, (tds) => tds.map((td) => td.textContent));
    const ok = parts.filter((p) => p.verdict === 'OK').length;
    const s3 = parts.filter((p) => p.spots[2].verdict === 'NOK').length;
    const [, name, n, okN, nokN, yieldText, spots] = await cells('L1-UB-010');
    assert.deepEqual([name, n, okN, nokN, yieldText], ['L1-UB-010', String(parts.length), String(ok), String(parts.length - ok), `${((100 * ok) / parts.length).toFixed(1)} %`]);
    assert.equal(spots.split('\n')[0], `s3: ${s3} NOK of ${parts.length}`);
    assert.match(spots, /s2: 0 NOK, 1 missing of 20/);
    const idle = await cells('L1-UB-020');
    assert.deepEqual([idle[2], idle[5], idle[7]], ['0', '–', 'no results']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-metrics.png') });
    // another window, read again
    await page.selectOption('#pw-hours', '1');
    await page.waitForFunction(() => document.querySelector('#pw-metrics tbody tr'));
    assert.equal((await cells('L1-UB-010'))[2], String(parts.length));
    // a plant without a database: an empty state, not an error
    await W.openFile(page, 'nodb.yaml');
    await page.click('#pw-view-metrics');
    await page.waitForSelector('#pw-metrics .pw-empty');
    assert.match(await page.textContent('#pw-metrics'), /No plant database: .*no database/);
  });

  it('diff, deploy and diff again from the page: the station differs, is deployed and healthy, then the same', async function () {
    await W.openFile(page, 'lab.yaml');
    await page.click('#pw-action-diff');
    await page.uncheck('#pw-picks input[data-station="L1-UB-020"]');
    await page.click('#pw-diff');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#pw-diff-done').textContent), undefined, { timeout: 60000 });
    const row = (action) => page.$$eval(`#pw-${action}-out tbody tr`, (trs) => trs.map((tr) => [tr.getAttribute('data-station'), tr.querySelector('.pw-result').textContent, tr.querySelector('.pw-details').textContent]));
    let rows = await row('diff');
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [['L1-UB-010', 'differs']],
    );
    assert.match(rows[0][2], /\+/, 'the diff names what a deploy adds');
    // deploy: asked first, then per station with its health check
    await page.click('#pw-action-deploy');
    await page.uncheck('#pw-picks input[data-station="L1-UB-020"]');
    await page.click('#pw-deploy');
    await page.waitForSelector('#pw-dialog h2:has-text("Deploy")');
    await page.click('#pw-deploy-go');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#pw-deploy-done').textContent), undefined, { timeout: 90000 });
    rows = await row('deploy');
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [['L1-UB-010', 'ok · healthy']],
      rows.map((r) => r[2]).join('\n'),
    );
    assert.equal(await page.textContent('#pw-deploy-done'), 'deploy finished: every station healthy');
    const body = await page.textContent('body');
    assert.ok(!body.includes(PASSWORD), 'no password on the page');
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-deploy.png') });
    // the station runs the generated flow: a diff now finds nothing to change
    await page.click('#pw-action-diff');
    await page.uncheck('#pw-picks input[data-station="L1-UB-020"]');
    await page.click('#pw-diff');
    await page.waitForFunction(() => /finished/.test(document.querySelector('#pw-diff-done').textContent), undefined, { timeout: 60000 });
    rows = await row('diff');
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [['L1-UB-010', 'same']],
    );
    // the target's flows hold the station's tab
    const tabs = (await target.request('GET', '/flows', { token: await target.token('admin', PASSWORD), headers: { 'Node-RED-API-Version': 'v2' } })).json.flows.filter((n) => n.type === 'tab');
    assert.ok(tabs.length >= 1);
  });
});
