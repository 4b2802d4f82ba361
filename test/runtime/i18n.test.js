/* global window, RED, $ */
'use strict';
// The editor in German: a browser whose language is de (navigator.language and Accept-Language, as Node-RED
// detects it) gets the node dialogs' labels and the help from locales/de; the runtime serves both languages.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium, nodeRedTipsBug } = require('../support/browser');
const { Runtime } = require('../support/runtime');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');
const TYPES = Object.keys(require('../../package.json')['node-red'].nodes);

describe('editor in German (locales/de)', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start();
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('the runtime serves the catalogs and the help in the language asked for', async function () {
    for (const [lng, label, helpText] of [
      ['en-US', 'Default program', 'Cuts every weld-spot ROI'],
      ['de', 'Standardprogramm', 'Schneidet jeden Schweißpunkt-Prüfbereich'],
    ]) {
      const cat = await rt.request('GET', `/locales/@spotfusion/node-red-spotfusion-edge/crop?lng=${lng}`);
      assert.equal(cat.status, 200);
      assert.equal(cat.json.crop.label.program.replace(/\u00ad/g, ''), label, lng);
      const html = await rt.request('GET', '/nodes', { headers: { Accept: 'text/html', 'Accept-Language': lng } });
      assert.ok(html.text.includes(helpText), `${lng}: help of crop`);
    }
  });

  it('a German browser shows the crop dialog\'s labels and the help in German, with no console error', async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-i18n-chromium-'));
    browser = await launchChromium(this, profile, { locale: 'de-DE' });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType('crop') && RED.workspaces.active(), undefined, { timeout: 30000 });
    assert.match(await page.evaluate(() => navigator.language), /^de/);
    await page.evaluate(() => {
      RED.nodes.import([{ id: 'c1', type: 'crop', z: RED.workspaces.active(), name: '', x: 200, y: 100, wires: [[]] }]);
      RED.editor.edit(RED.nodes.node('c1'));
    });
    await page.waitForSelector('#node-input-program', { state: 'visible', timeout: 30000 });
    // long German compounds carry soft hyphens (U+00AD) so the 100 px label column can break them
    const labels = await page.evaluate(() => ['name', 'recipes', 'model', 'program', 'png'].map((f) => $(`label[for="node-input-${f}"]`).text().replace(/\u00ad/g, '').trim()));
    assert.deepEqual(labels, ['Name', 'Rezepte', 'Modell', 'Standardprogramm', 'PNG je Ausschnitt']);
    // the help of the node, as the sidebar's help tab shows it
    await page.evaluate(() => RED.sidebar.help.show('crop'));
    await page.waitForFunction(() => /Schweißpunkt/.test($('.red-ui-help').text()), undefined, { timeout: 10000 });
    const helpText = await page.evaluate(() => $('.red-ui-help').text());
    assert.match(helpText, /Eigenschaften/);
    assert.match(helpText, /Standardprogramm/);
    assert.doesNotMatch(helpText, /Cuts every weld-spot ROI/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-de-crop.png') });
    await page.evaluate(() => $('#node-dialog-cancel').click());
    // every dialog of the package in German: no label wider than its column (a word cut off at the right)
    const cut = await page.evaluate(async (types) => {
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      const found = [];
      for (const type of types) {
        const def = RED.nodes.getType(type);
        if (def.category === 'config') RED.editor.editConfig('', type, '_ADD_');
        else {
          RED.nodes.import([{ id: `n_${type}`, type, z: RED.workspaces.active(), x: 300, y: 300, wires: [] }]);
          RED.editor.edit(RED.nodes.node(`n_${type}`));
        }
        await wait(700);
        const tray = $('.red-ui-tray').last();
        tray.find('.form-row label:visible').each(function () {
          if (this.scrollWidth > this.clientWidth + 1) found.push(`${type}: "${$(this).text().trim()}" ${this.scrollWidth} > ${this.clientWidth}`);
        });
        tray.find('.red-ui-tray-footer, .red-ui-tray-toolbar').find('button').filter(function () {
          return /cancel/.test(this.id);
        }).click();
        await wait(400);
      }
      return found;
    }, TYPES);
    await page.close();
    assert.deepEqual(cut, []);
    assert.deepEqual(errors, []);
  });
});

describe('runtime texts in German (a runtime started with LANG/LC_ALL de)', function () {
  this.timeout(60000);
  const { watchStatus } = require('../support/status-watch');
  const { until } = require('../support/wait');
  const { freePort } = require('../support/redis-server');
  let rt;
  let watch;

  before(async function () {
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, LC_ALL: 'de_DE.UTF-8', LANG: 'de_DE.UTF-8' });
    // Node-RED's own log is in German too
    await rt.start({ ready: /Server wird jetzt auf \S+ ausgeführt/ });
    watch = await watchStatus(rt.port);
  });

  after(async function () {
    if (watch) watch.close();
    if (rt) await rt.stop();
  });

  const lastStatus = (id) => {
    const seen = watch.statuses.get(id);
    return seen?.length ? seen[seen.length - 1] : undefined;
  };

  it('node status texts and errors come from locales/de: counts, a missing config, a server that is away', async function () {
    const away = await freePort();
    // the enrich example's part and rules, its identity fixed here (the example takes it from the environment)
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'enrich', '01 - Judge a part and build the InspectionResult.json'), 'utf8'));
    const inject = example.find((n) => n.type === 'inject');
    const enrich = example.find((n) => n.type === 'enrich');
    const flow = [
      { id: 'de_tab', type: 'tab', label: 'de' },
      { ...inject, id: 'de_inject', z: 'de_tab', once: false, repeat: '', x: 120, y: 60, wires: [['de_enrich']] },
      { ...enrich, id: 'de_enrich', z: 'de_tab', line: 'L1', area: 'A1', station: 'ST10', x: 320, y: 60, wires: [[]] },
      { id: 'de_rc_none', type: 'redis-cache', z: 'de_tab', name: '', redis: '', operation: 'get', key: 'k', x: 120, y: 140, wires: [[]] },
      { id: 'de_redis', type: 'spotfusion-redis-config', name: '', host: '127.0.0.1', port: String(away), db: '0', keyPrefix: '', valueFormat: 'json', connectTimeout: 1000, commandTimeout: 1000 },
      { id: 'de_rc_away', type: 'redis-cache', z: 'de_tab', name: '', redis: 'de_redis', operation: 'get', key: 'k', x: 120, y: 220, wires: [[]] },
    ];
    const r = await rt.request('POST', '/flows', { body: flow, headers: { 'Node-RED-Deployment-Type': 'full' } });
    assert.ok([200, 204].includes(r.status), `POST /flows: ${r.status} ${r.text}`);
    await until(() => lastStatus('de_rc_none') && /neuer Versuch/.test(lastStatus('de_rc_away')?.text ?? ''), 20000, `German statuses; seen ${JSON.stringify([...watch.statuses])}`, 50);
    const injected = await rt.request('POST', '/inject/de_inject');
    assert.equal(injected.status, 200);
    await until(() => lastStatus('de_enrich')?.text, 10000, 'the status of enrich after one part', 50);

    assert.deepEqual(lastStatus('de_rc_none'), { fill: 'red', shape: 'dot', text: 'keine Redis-Konfiguration gewählt' });
    assert.match(lastStatus('de_rc_away').text, new RegExp(`^redis 127\\.0\\.0\\.1:${away} db 0: .*ECONNREFUSED.*, neuer Versuch in \\d+\\.\\d s$`));
    assert.match(lastStatus('de_enrich').text, /^1 Teile, [01] NOK$/);
    // the runtime's own catalog says the same: nothing English and no bare key reached the status
    for (const id of ['de_rc_none', 'de_rc_away', 'de_enrich']) assert.doesNotMatch(lastStatus(id).text, /retry in|parts|selected|\.status\.|\.errors\./);
  });
});
