/* global window, RED, $ */
'use strict';
// The node editor in a real browser: the shared tag-map editor (resources/tag-map-editor.js) builds, edits
// and saves the tag map of plc-read and plc-write.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium } = require('../support/browser');
const { Runtime } = require('../support/runtime');

describe('node editor in headless chromium', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-editor-chromium-'));
    browser = await launchChromium(this, profile);
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start();
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  for (const [type, roles] of [
    ['plc-read', true],
    ['plc-write', false],
  ]) {
    it(`${type}: the tag map editor shows, edits and saves the tags`, async function () {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${rt.port}/`);
      await page.waitForFunction((t) => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType(t), type, { timeout: 30000 });
      const r = await page.evaluate(async (t) => {
        RED.nodes.import([
          { id: 'pc1', type: 'plc-config', name: 'p', protocol: 'simulator' },
          {
            id: 'n1',
            type: t,
            z: RED.workspaces.active(),
            plc: 'pc1',
            tags: [
              { name: 'Serial', address: 'PartSerial', type: 'STRING', role: 'serial' },
              { name: 'Prog', address: 'Program', type: 'DINT', count: 2, scale: 0.5, unit: 'mm' },
            ],
            x: 100,
            y: 100,
            wires: [[]],
          },
        ]);
        RED.editor.edit(RED.nodes.node('n1'));
        const end = Date.now() + 10000;
        while ($('#node-input-tag-list').length === 0 || $('#node-input-tag-list').editableList('items').length < 2) {
          if (Date.now() > end) throw new Error('edit dialog did not show the tag list');
          await new Promise((res) => setTimeout(res, 50));
        }
        // let the tray finish opening (its resize handlers run after the list appears), as a person would
        await new Promise((res) => setTimeout(res, 500));
        const shown = {
          rows: $('#node-input-tag-list').editableList('items').length,
          roleSelects: $('#node-input-tag-list .tag-role').length,
          firstType: $('#node-input-tag-list .tag-type').first().val(),
        };
        $('#node-input-tag-list').editableList('addItem', { name: 'Model', address: 'Model', type: 'INT' });
        $('#node-dialog-ok').click();
        await new Promise((res) => setTimeout(res, 300));
        return { shown, saved: RED.nodes.node('n1').tags };
      }, type);
      await page.close();
      assert.deepEqual(errors, []);
      assert.equal(r.shown.rows, 2);
      assert.equal(r.shown.roleSelects, roles ? 2 : 0);
      assert.equal(r.shown.firstType, 'STRING');
      assert.deepEqual(r.saved, [
        roles ? { name: 'Serial', address: 'PartSerial', type: 'STRING', role: 'serial' } : { name: 'Serial', address: 'PartSerial', type: 'STRING' },
        { name: 'Prog', address: 'Program', type: 'DINT', count: 2, scale: 0.5, unit: 'mm' },
        { name: 'Model', address: 'Model', type: 'INT' },
      ]);
    });
  }

  it('result-publish: the PLC handshake rows are made per role with the types each may have, and save the map', async function () {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType('result-publish'), undefined, { timeout: 30000 });
    const r = await page.evaluate(async () => {
      RED.nodes.import([
        { id: 'pc2', type: 'plc-config', name: 'p', protocol: 'simulator' },
        { id: 'rp1', type: 'result-publish', z: RED.workspaces.active(), plc: 'pc2', plcTags: { resultCode: { address: 'Result.Code', type: 'INT' }, done: { address: 'Done', type: 'BOOL' } }, sqlite: true, x: 100, y: 100, wires: [[]] },
      ]);
      RED.editor.edit(RED.nodes.node('rp1'));
      const end = Date.now() + 10000;
      while ($('.result-publish-plc-tag').length === 0) {
        if (Date.now() > end) throw new Error('edit dialog did not show the PLC rows');
        await new Promise((res) => setTimeout(res, 50));
      }
      await new Promise((res) => setTimeout(res, 500));
      const rows = $('.result-publish-plc-tag')
        .map(function () {
          return { role: $(this).data('role'), label: $(this).find('label').text(), address: $(this).find('.result-publish-plc-address').val(), type: $(this).find('.result-publish-plc-type').val(), types: $(this).find('option').map(function () { return $(this).val(); }).get() };
        })
        .get();
      $('.result-publish-plc-tag[data-role="ack"] .result-publish-plc-address').val(' Ack ');
      $('.result-publish-plc-tag[data-role="done"] .result-publish-plc-address').val('');
      $('#node-dialog-ok').click();
      await new Promise((res) => setTimeout(res, 300));
      return { rows, saved: RED.nodes.node('rp1').plcTags };
    });
    await page.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(r.rows.map((x) => x.role), ['resultCode', 'classId', 'ok', 'nok', 'counter', 'serial', 'done', 'ack', 'ready']);
    for (const x of r.rows) assert.ok(x.label && !/result-publish\./.test(x.label), `${x.role} has a translated label: ${x.label}`);
    const byRole = Object.fromEntries(r.rows.map((x) => [x.role, x]));
    assert.deepEqual([byRole.resultCode.address, byRole.resultCode.type], ['Result.Code', 'INT']);
    assert.deepEqual(byRole.serial.types, ['STRING']);
    assert.deepEqual(byRole.ack.types, ['BOOL']);
    assert.deepEqual(byRole.counter.types, ['DINT', 'INT', 'SINT', 'LINT', 'UDINT', 'UINT', 'USINT', 'ULINT']);
    assert.deepEqual(r.saved, { resultCode: { address: 'Result.Code', type: 'INT' }, ack: { address: 'Ack', type: 'BOOL' } });
  });
});
