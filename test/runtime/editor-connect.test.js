/* global window, RED, $, monaco */
'use strict';
// The config dialogs' Browse tags, Test connection and ${VAR} values in a real editor (headless chromium,
// real clicks and typing) against a real Node-RED process, the Logix and OPC UA simulators and the real
// Redis and RabbitMQ on loopback; the inline recipe editor's JSON check; zero console errors throughout.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium, coverResources, nodeRedTipsBug } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { requireService } = require('../support/services');
const { freePort } = require('../support/redis-server');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { OpcuaSimulator } = require('../../dist/nodes/lib/plc/opcua-sim');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

describe('editor: Browse tags, Test connection and ${VAR} values in headless chromium', function () {
  this.timeout(120000);
  let rt;
  let browser;
  let profile;
  let logix;
  let opcua;
  let pki;

  before(async function () {
    await requireService(this, 'redis');
    await requireService(this, 'rabbitmq');
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-editor-connect-'));
    browser = await launchChromium(this, profile);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    logix = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, udp: false }).start();
    pki = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-editor-connect-pki-'));
    opcua = await new OpcuaSimulator({ tags: STATION_TAGS, pkiFolder: pki }).start();
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, SF_UI_REDIS_HOST: '127.0.0.1', SF_UI_STATION: 'ST-UI-7' });
    const flow = path.join(profile, 'flow.json');
    fs.writeFileSync(
      flow,
      JSON.stringify([
        { id: 'ui_tab', type: 'tab', label: 'editor tools' },
        { id: 'ui_redis', type: 'spotfusion-redis-config', name: 'station redis', host: '${SF_UI_REDIS_HOST}', port: 6379, db: 0 },
        { id: 'ui_plc', type: 'plc-config', name: 'logix sim', protocol: 'ethernet-ip', host: '127.0.0.1', port: logix.port, route: '1,0', station: '${SF_UI_STATION}' },
        { id: 'ui_read', type: 'plc-read', z: 'ui_tab', plc: 'ui_plc', mode: 'input', tags: [{ name: 'Trigger', address: 'Trigger', type: 'BOOL' }], x: 200, y: 100, wires: [[]] },
        { id: 'ui_cache', type: 'redis-cache', z: 'ui_tab', redis: 'ui_redis', operation: 'get', key: 'k', x: 200, y: 200, wires: [[]] },
      ]),
    );
    await rt.start({ flowSource: flow });
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (logix) await logix.stop();
    if (opcua) await opcua.stop();
    for (const d of [profile, pki]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  async function openEditor() {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1400, height: 1100 });
    const covered = await coverResources(page);
    const errors = [];
    // the stack of a page error goes to the log as well: once in CI (node-red 5) Monaco threw "Cannot read
    // properties of null (reading 'uri')" after the recipe dialog closed, and the message alone did not say where
    page.on('pageerror', (e) => nodeRedTipsBug(e) || (errors.push(process.env.SF_STACKS ? `${e.message} @ ${e.stack}` : e.message), process.stderr.write(`browser page error: ${e.stack}\n`)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node('ui_read') && RED.workspaces.active(), undefined, { timeout: 30000 });
    return { page, errors, covered };
  }

  it('plc-read: Browse tags lists the Logix controller, program and UDT member tags; a click adds the row with address, type and count', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('ui_read')));
    await page.locator('.sf-tag-browse').click();
    await page.locator('.sf-tag-entry').first().waitFor({ timeout: 15000 });
    const addresses = await page.locator('.sf-tag-entry .sf-tag-address').allInnerTexts();
    assert.ok(addresses.includes('Program:Main.Step') && addresses.includes('Part.Serial') && addresses.includes('Bits'), addresses.join(' '));
    await page.locator('.sf-tag-search').fill('thick');
    await page.waitForFunction(() => $('.sf-tag-entry').length === 1, undefined, { timeout: 5000 });
    await page.locator('.sf-tag-entry[data-address="Part.Thickness"]').click();
    await page.locator('.sf-tag-search').fill('main');
    await page.locator('.sf-tag-entry[data-address="Program:Main.Step"]').click();
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-browse-logix.png') });
    await page.click('#node-dialog-ok');
    const tags = await page.evaluate(() => RED.nodes.node('ui_read').tags);
    await covered();
    await page.close();
    assert.deepEqual(tags, [
      { name: 'Trigger', address: 'Trigger', type: 'BOOL' },
      { name: 'Part_Thickness', address: 'Part.Thickness', type: 'REAL', count: 3 },
      { name: 'Step', address: 'Program:Main.Step', type: 'DINT' },
    ]);
    assert.deepEqual(errors, []);
  });

  it('plc-write on a new OPC UA config: Browse tags lists the address space; a click adds node id, type and array length', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate((endpoint) => {
      RED.nodes.import([
        { id: 'ui_ua', type: 'plc-config', name: 'ua sim', protocol: 'opcua', endpoint, securityMode: 'None', securityPolicy: 'None', certFolder: 'pki-ui', acceptUnknownCertificate: true },
        { id: 'ui_write', type: 'plc-write', z: RED.workspaces.active(), plc: 'ui_ua', tags: [], valueProperty: 'payload', x: 400, y: 100, wires: [[]] },
      ]);
      RED.editor.edit(RED.nodes.node('ui_write'));
    }, opcua.endpointUrl);
    await page.locator('.sf-tag-browse').click();
    await page.locator('.sf-tag-search').fill('Currents');
    await page.locator('.sf-tag-entry[data-address="ns=1;s=Currents"]').click({ timeout: 20000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-browse-opcua.png') });
    await page.click('#node-dialog-ok');
    const tags = await page.evaluate(() => RED.nodes.node('ui_write').tags);
    await covered();
    await page.close();
    assert.deepEqual(tags, [{ name: 'Currents', address: 'ns=1;s=Currents', type: 'REAL', count: 10 }]);
    assert.deepEqual(errors, []);
  });

  it('Redis config: the ${VAR} host shows its value; Test connection says connected, and ECONNREFUSED on a wrong port', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-redis-config', 'ui_redis'));
    const env = page.locator('.sf-env-value').first();
    await env.getByText('SF_UI_REDIS_HOST = "127.0.0.1"').waitFor({ timeout: 10000 });
    const result = page.locator('.sf-connection-test-result');
    await page.locator('.sf-connection-test').click();
    await result.getByText(/Connected: redis 127\.0\.0\.1:6379/).waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-test-redis-ok.png') });
    const closed = await freePort();
    await page.locator('#node-config-input-port').fill(String(closed));
    await page.locator('.sf-connection-test').click();
    await result.getByText(/ECONNREFUSED/).waitFor({ timeout: 10000 });
    const text = await result.innerText();
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-test-redis-refused.png') });
    await page.click('#node-config-dialog-cancel');
    await covered();
    await page.close();
    assert.match(text, new RegExp(`No connection to redis 127\\.0\\.0\\.1:${closed} db 0: .*ECONNREFUSED[\\s\\S]*Nothing answers at that address and port`));
    assert.deepEqual(errors, []);
  });

  it('AMQP config (new, undeployed): Test connection with the typed credentials; a wrong password is a refused login', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-amqp-config', '_ADD_'));
    await page.locator('#node-config-input-host').fill('127.0.0.1');
    await page.locator('#node-config-input-port').fill('5672');
    await page.locator('#node-config-input-username').fill('guest');
    await page.locator('#node-config-input-password').fill('guest');
    const result = page.locator('.sf-connection-test-result');
    await page.locator('.sf-connection-test').click();
    await result.getByText(/Connected: amqp/).waitFor({ timeout: 10000 });
    await page.locator('#node-config-input-password').fill('not-the-password');
    await page.locator('.sf-connection-test').click();
    await result.getByText(/refused the login/).waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-test-amqp-auth.png') });
    await page.click('#node-config-dialog-cancel');
    await covered();
    await page.close();
    assert.deepEqual(errors, []);
  });

  it('PLC config: Browse tags and Test connection on the dialog\'s settings; the ${VAR} station shows its value', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate(() => RED.editor.editConfig('', 'plc-config', 'ui_plc'));
    await page.locator('.sf-env-value').getByText('SF_UI_STATION = "ST-UI-7"').waitFor({ timeout: 10000 });
    await page.locator('.sf-connection-test').click();
    await page.locator('.sf-connection-test-result').getByText(new RegExp(`Connected: ethernet-ip 127\\.0\\.0\\.1:${logix.port}`)).waitFor({ timeout: 10000 });
    await page.locator('.sf-tag-browse').click();
    await page.locator('.sf-tag-entry[data-address="Part.Stamp"]').waitFor({ timeout: 15000 });
    const status = await page.locator('.sf-tag-status').innerText();
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-plc-config-tools.png') });
    await page.click('#node-config-dialog-cancel');
    await covered();
    await page.close();
    // the 30 station tags and the 6 members of Part
    assert.match(status, new RegExp(`^${STATION_TAGS.length + 6} of ${STATION_TAGS.length + 6} tags shown`));
    assert.deepEqual(errors, []);
  });

  it('result-publish: an archive policy bound to ${VAR} shows the variable and every archive field; the recipe editor marks invalid JSON', async function () {
    const { page, errors, covered } = await openEditor();
    await page.evaluate(() => {
      RED.nodes.import([{ id: 'ui_rp', type: 'result-publish', z: RED.workspaces.active(), archivePolicy: '${ARCHIVE_POLICY}', sqlite: true, x: 600, y: 100, wires: [[]] }]);
      RED.editor.edit(RED.nodes.node('ui_rp'));
    });
    await page.locator('#node-input-archiveDir').waitFor({ state: 'visible', timeout: 10000 });
    const shown = await page.evaluate(() => ({
      value: $('#node-input-archivePolicy').val(),
      text: $('#node-input-archivePolicy option:selected').text(),
      sample: $('#node-input-archiveSample').is(':visible'),
    }));
    await page.locator('#node-input-archivePolicy').locator('xpath=ancestor::div[contains(@class,"form-row")]').locator('.sf-env-value').getByText(/ARCHIVE_POLICY: value shown once a deployed node uses it/).waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-env-archive.png') });
    await page.click('#node-dialog-cancel');
    assert.deepEqual(shown, { value: '${ARCHIVE_POLICY}', text: '${ARCHIVE_POLICY} (from the environment)', sample: true });

    await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-recipe-config', '_ADD_'));
    const editor = page.locator('#node-config-input-recipes-editor');
    await editor.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await editor.evaluate((el) => el.classList.contains('input-error')), false, 'the default recipes are valid');
    await editor.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' ,');
    await page.locator('.recipe-config-json-error').getByText(/inline recipes: not valid JSON/).waitFor({ timeout: 5000 });
    assert.equal(await editor.evaluate((el) => el.classList.contains('input-error')), true);
    const tall = await editor.evaluate((el) => el.getBoundingClientRect().height);
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-recipe-json-error.png') });
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace');
    await page.waitForFunction(() => !$('#node-config-input-recipes-editor').hasClass('input-error'), undefined, { timeout: 5000 });
    await page.click('#node-config-dialog-cancel');
    // as a person does, let the dialog close before the page goes: closing the page while the tray is still taking
    // the editor down made Monaco report "Model is disposed!" (2 of 2 full-file runs under c8, none with this wait)
    await page.waitForFunction(() => $('#node-config-input-recipes-editor').length === 0 && $('.red-ui-tray').length === 0, undefined, { timeout: 10000 });
    await covered();
    await page.close();
    assert.ok(tall > 400, `the recipe editor takes the dialog's height: ${tall}px`);
    assert.deepEqual(errors, []);
  });
  it('recipe editor: closed (Cancel or Add) right after typing, 16 times over, leaves no page error and no Monaco model behind', async function () {
    // Monaco's delayed work from the last key press used to outlive the dialog: "Model is disposed!" (node-red 4)
    // and "Cannot read properties of null (reading 'uri')" in sticky scroll's createStickyModel (1 of 3 runs of
    // 20 closes here; CI under node-red 5)
    const { page, errors, covered } = await openEditor();
    const models = () => page.evaluate(() => (window.monaco ? monaco.editor.getModels().length : 0));
    const before = await models();
    for (let i = 0; i < 16; i++) {
      await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-recipe-config', '_ADD_'));
      const editor = page.locator('#node-config-input-recipes-editor');
      await editor.waitFor({ state: 'visible', timeout: 10000 });
      await editor.click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' ,');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('Backspace');
      await page.keyboard.press('ArrowUp');
      await new Promise((r) => setTimeout(r, (i * 37) % 300));
      await page.click(i % 2 ? '#node-config-dialog-cancel' : '#node-config-dialog-ok');
      await page.waitForFunction(() => $('#node-config-input-recipes-editor').length === 0 && $('.red-ui-tray').length === 0, undefined, { timeout: 10000 });
    }
    // the editors are taken down once their delayed work has run (1.5 s after the dialog closed)
    await page.waitForFunction((n) => (window.monaco ? monaco.editor.getModels().length : 0) === n, before, { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 500));
    await covered();
    await page.close();
    assert.deepEqual(errors, []);
  });
});
