/* global window, RED, $ */
'use strict';
// The node editor in a real browser: the shared tag-map editor (resources/tag-map-editor.js) builds, edits
// and saves the tag map of plc-read and plc-write; the camera config's simulator settings.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium, coverResources, nodeRedTipsBug } = require('../support/browser');
const { Runtime } = require('../support/runtime');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

describe('node editor in headless chromium', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-editor-chromium-'));
    browser = await launchChromium(this, profile);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start();
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  /** A fresh editor page with `type` registered and a workspace open; `errors` collects page errors and console errors. */
  async function openEditor(type, viewport) {
    const page = await browser.newPage();
    if (viewport) await page.setViewportSize(viewport);
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction((t) => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType(t) && RED.nodes.workspace(RED.workspaces.active()), type, { timeout: 30000 });
    return { page, errors };
  }

  for (const [type, roles] of [
    ['plc-read', true],
    ['plc-write', false],
  ]) {
    it(`${type}: the tag map editor shows, edits and saves the tags`, async function () {
      const page = await browser.newPage();
      const covered = await coverResources(page); // resources/tag-map-editor.js counts towards the coverage gate
      const errors = [];
      page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
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
      await covered();
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

  it('camera config: the simulator settings of a line (placement, optics, JPEG, fiducials) are typed in and saved', async function () {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType('spotfusion-camera-config'), undefined, { timeout: 30000 });
    // a new camera, as "add new spotfusion-camera-config" makes it
    await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-camera-config', '_ADD_'));
    await page.waitForSelector('#node-config-input-simShift', { state: 'visible', timeout: 30000 });
    // the tray shows the form before the editor has filled it from the node's defaults (a name typed in earlier was
    // overwritten with the empty default in one CI run): wait until a default shows, as a person sees it
    await page.waitForFunction(() => $('#node-config-input-simVignette').val() === '0.3', undefined, { timeout: 30000 });
    // the defaults a new camera gets: aligned and sharp (0 shows as its placeholder), vignette 0.3, exposure ±0.2,
    // noise drawn ("auto"), raw frames ("off"), marks on
    assert.deepEqual(
      await page.evaluate(() =>
        ['simShift', 'simAngle', 'simBlur', 'simVignette', 'simExposure', 'simNoise', 'simJpeg']
          .map((k) => $(`#node-config-input-${k}`).val() || `(${$(`#node-config-input-${k}`).attr('placeholder')})`)
          .concat($('#node-config-input-simFiducials').prop('checked')),
      ),
      ['(0)', '(0)', '(0)', '0.3', '0.2', '(auto)', '(off)', true],
    );
    for (const [field, value] of [['simShift', '25'], ['simAngle', '1.5'], ['simBlur', '0.8'], ['simNoise', '4'], ['simJpeg', '90']]) {
      await page.fill(`#node-config-input-${field}`, '');
      await page.type(`#node-config-input-${field}`, value);
    }
    await page.click('#node-config-input-simFiducials');
    // the name last, into the field clicked first: once, under node-red 5, the keys after "line" went elsewhere
    // while the fresh tray was still settling (the camera was saved as "line")
    await page.click('#node-config-input-name');
    await page.type('#node-config-input-name', 'line camera');
    await page.waitForFunction(() => $('#node-config-input-name').val() === 'line camera', undefined, { timeout: 5000 });
    await page.screenshot({ path: path.join(profile, 'camera-config-simulator.png') });
    await page.click('#node-config-dialog-ok');
    // the saved camera's simulator settings (found by the name typed in)
    const find = (name) => {
      let n;
      RED.nodes.eachConfig((c) => {
        if (c.type === 'spotfusion-camera-config' && c.name === name) n = c;
      });
      return n && { simShift: n.simShift, simAngle: n.simAngle, simBlur: n.simBlur, simVignette: n.simVignette, simExposure: n.simExposure, simNoise: n.simNoise, simJpeg: n.simJpeg, simFiducials: n.simFiducials };
    };
    await page.waitForFunction(find, 'line camera', { timeout: 10000 }).catch(async (err) => {
      // say what the editor holds instead, so a failure here can be read from the CI log
      const state = await page.evaluate(() => {
        const cams = [];
        RED.nodes.eachConfig((c) => c.type === 'spotfusion-camera-config' && cams.push({ id: c.id, name: c.name, valid: c.valid }));
        return { cams, dialogOpen: $('#node-config-dialog-ok').length > 0, name: $('#node-config-input-name').val(), notifications: $('.red-ui-notification').text() };
      });
      await page.screenshot({ path: path.join(ARTIFACTS, 'camera-config-simulator-failed.png') });
      throw new Error(`${err.message}: ${JSON.stringify(state)} (page errors: ${JSON.stringify(errors)})`);
    });
    const saved = await page.evaluate(find, 'line camera');
    await page.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(saved, { simShift: '25', simAngle: '1.5', simBlur: '0.8', simVignette: 0.3, simExposure: 0.2, simNoise: '4', simJpeg: '90', simFiducials: false });
  });

  for (const type of ['plc-write', 'plc-read']) {
    it(`${type}: the tag list takes the dialog's height (all rows in view in a tall window, scrolling in a small one); the label names every column`, async function () {
      // tall enough for the eight handshake rows under node-red 5 too, whose tray header and rows take more height
      const { page, errors } = await openEditor(type, { width: 1200, height: 1200 });
      await page.evaluate((t) => {
        const names = ['Ready', 'Busy', 'Ack', 'Done', 'ResultOK', 'ResultNOK', 'ResultCode', 'Counter'];
        RED.nodes.import([
          { id: 'pc9', type: 'plc-config', name: 'p', protocol: 'simulator' },
          { id: 'w9', type: t, z: RED.workspaces.active(), plc: 'pc9', valueProperty: 'payload', mode: 'poll', interval: 1000, tags: names.map((n) => ({ name: n, address: n, type: 'BOOL' })), x: 100, y: 100, wires: [[]] },
        ]);
        RED.editor.edit(RED.nodes.node('w9'));
      }, type);
      await page.locator('#node-input-tag-list .tag-name').first().waitFor({ timeout: 10000, state: 'attached' });
      const geometry = () =>
        page.evaluate(() => {
          const list = $('#node-input-tag-list').closest('.red-ui-editableList-container')[0];
          const r = list.getBoundingClientRect();
          const tray = $('.red-ui-tray-body')[0].getBoundingClientRect();
          const rows = $('#node-input-tag-list .tag-name').map(function () { const b = this.getBoundingClientRect(); return { top: b.top, bottom: b.bottom }; }).get();
          return { top: r.top, bottom: r.bottom, trayBottom: tray.bottom, inView: rows.filter((b) => b.top >= r.top && b.bottom <= r.bottom).length, rows: rows.length, scrolls: list.scrollHeight > list.clientHeight, label: $('label:has(.fa-list)').text().trim() };
        });
      // the tray opens with an animation and resizes at its end
      await page.waitForFunction(() => $('#node-input-tag-list').closest('.red-ui-editableList-container').height() > 250, undefined, { timeout: 5000 }).catch(() => undefined);
      const tall = await geometry();
      await page.screenshot({ path: path.join(ARTIFACTS, `editor-${type}-tall.png`) });
      assert.equal(tall.inView, 8, `every handshake row in view in a tall window: ${JSON.stringify(tall)}`);
      assert.ok(tall.trayBottom - tall.bottom < 120, `the list fills the dialog: ${JSON.stringify(tall)}`);
      assert.match(tall.label, /scale, unit/);

      await page.setViewportSize({ width: 1200, height: 600 });
      await page.waitForFunction(() => $('#node-input-tag-list').closest('.red-ui-editableList-container').height() < 250, undefined, { timeout: 5000 }).catch(() => undefined);
      const small = await geometry();
      await page.screenshot({ path: path.join(ARTIFACTS, `editor-${type}-small.png`) });
      // a window too small for the list: it keeps a usable height and scrolls, and the dialog scrolls to it
      assert.ok(small.bottom - small.top >= 100 && small.scrolls, `the list keeps a usable height and scrolls: ${JSON.stringify(small)}`);
      const last = page.locator('#node-input-tag-list .tag-name').last();
      await last.scrollIntoViewIfNeeded();
      await last.fill('Count');
      await page.click('#node-dialog-ok');
      assert.equal(await page.evaluate(() => RED.nodes.node('w9').tags.at(-1).name), 'Count');
      await page.close();
      assert.deepEqual(errors, []);
    });
  }

  it('config dialogs: every required field is validated (red border, a message), ${VAR} passes, and Deploy warns of invalid nodes', async function () {
    const { page, errors } = await openEditor('plc-config');
    const states = await page.evaluate(() => {
      RED.nodes.import([
        { id: 'v_plc_host', type: 'plc-config', protocol: 'ethernet-ip', host: '' },
        { id: 'v_plc_ip', type: 'plc-config', protocol: 'ethernet-ip', host: '10.0.0.300' },
        { id: 'v_plc_env', type: 'plc-config', protocol: 'ethernet-ip', host: '${PLC_HOST}' },
        { id: 'v_plc_ok', type: 'plc-config', protocol: 'ethernet-ip', host: 'plc-st010.local' },
        { id: 'v_ua', type: 'plc-config', protocol: 'opcua', endpoint: '' },
        { id: 'v_ua_bad', type: 'plc-config', protocol: 'opcua', endpoint: 'http://10.0.0.5:4840' },
        { id: 'v_sim', type: 'plc-config', protocol: 'simulator', host: '' },
        { id: 'v_cam_gige', type: 'spotfusion-camera-config', source: 'gige', host: '' },
        { id: 'v_cam_http', type: 'spotfusion-camera-config', source: 'http', url: '' },
        { id: 'v_cam_folder', type: 'spotfusion-camera-config', source: 'folder', folder: '' },
        { id: 'v_cam_sim', type: 'spotfusion-camera-config', source: 'simulator' },
        { id: 'v_rec_file', type: 'spotfusion-recipe-config', source: 'file', file: '' },
        { id: 'v_rec_json', type: 'spotfusion-recipe-config', source: 'inline', recipes: '{"recipes": [' },
        { id: 'v_rec_empty', type: 'spotfusion-recipe-config', source: 'inline', recipes: '{"recipes": []}' },
        { id: 'v_rec_nospots', type: 'spotfusion-recipe-config', source: 'inline', recipes: '{"recipes": [{"program": 4, "spots": []}]}' },
        { id: 'v_rec_dup', type: 'spotfusion-recipe-config', source: 'inline', recipes: '{"recipes": [{"program": 1, "spots": [{"id": "A", "x": 0, "y": 0, "w": 9, "h": 9}, {"id": "A", "x": 20, "y": 0, "w": 9, "h": 9}]}]}' },
        // outside the 640×480 sensor only when turned: its corners reach past the bottom edge
        { id: 'v_rec_out', type: 'spotfusion-recipe-config', source: 'inline', frameWidth: 640, frameHeight: 480, recipes: '{"recipes": [{"program": 2, "spots": [{"id": "B", "x": 300, "y": 380, "w": 200, "h": 100, "rotation": 45}]}]}' },
        { id: 'v_rec_ok', type: 'spotfusion-recipe-config', source: 'inline', frameWidth: 640, frameHeight: 480, recipes: '{"recipes": [{"program": 2, "spots": [{"id": "B", "x": 300, "y": 380, "w": 200, "h": 100}]}]}' },
      ]);
      const out = {};
      RED.nodes.eachConfig((n) => {
        if (!n.id.startsWith('v_')) return;
        RED.editor.validateNode(n);
        out[n.id] = { valid: n.valid, errors: n.validationErrors || [] };
      });
      out.loaded = { valid: typeof window.SpotFusionValidate === 'object', errors: [] };
      return out;
    });
    const invalid = Object.entries(states).filter(([, v]) => !v.valid).map(([id, v]) => `${id}: ${v.errors.join(',')}`).sort();
    assert.deepEqual(invalid, [
      'v_cam_folder: image folder is required',
      'v_cam_gige: camera host is required',
      'v_cam_http: snapshot URL is required',
      'v_plc_host: PLC host is required',
      'v_plc_ip: PLC host: IPv4 parts go up to 255, got 300',
      'v_rec_dup: inline recipes: recipe 1: spot id "A" appears twice',
      'v_rec_empty: inline recipes: the recipe set is empty: add a recipe with at least one spot',
      'v_rec_file: recipe file is required',
      'v_rec_json: inline recipes: not valid JSON (Unexpected end of JSON input)',
      'v_rec_nospots: inline recipes: recipe 4 is empty: draw at least one spot',
      'v_rec_out: inline recipes: recipe 2: spot "B" lies outside the 640×480 sensor',
      'v_ua: OPC UA endpoint is required',
      'v_ua_bad: OPC UA endpoint must be a opc.tcp URL',
    ]);

    // in the dialog: typing a bad address turns the field red with the reason as its tooltip
    await page.evaluate(() => RED.editor.editConfig('', 'plc-config', 'v_plc_ok'));
    const host = page.locator('#node-config-input-host');
    await host.waitFor({ timeout: 30000 });
    assert.equal(await host.evaluate((el) => el.classList.contains('input-error')), false);
    await host.fill('10.0.0.300');
    await host.dispatchEvent('change');
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-validation-host.png') });
    await page.waitForFunction(() => $('#node-config-input-host').hasClass('input-error'), undefined, { timeout: 3000 }).catch((e) => assert.fail(`no red border: ${e.message}`));
    assert.equal(await host.evaluate((el) => $(el).data('tooltip') !== undefined), true, 'the reason is its tooltip');
    // switching to the simulator needs no host: the field is no longer in error
    await page.selectOption('#node-config-input-protocol', 'simulator');
    await page.waitForFunction(() => !$('#node-config-input-host').hasClass('input-error'), undefined, { timeout: 3000 }).catch(async (e) => assert.fail(`still red under the simulator: ${e.message} ${await page.evaluate(() => $('#node-config-input-protocol').val() + ' ' + $('#node-config-input-protocol').is(':visible'))}`));
    await page.selectOption('#node-config-input-protocol', 'ethernet-ip');
    await page.click('#node-config-dialog-cancel');

    // Deploy asks first: the flows hold invalid nodes
    await page.evaluate(() => {
      RED.nodes.import([{ id: 'v_read', type: 'plc-read', z: RED.workspaces.active(), plc: 'v_plc_ip', mode: 'poll', interval: 1000, tags: [{ name: 'a', address: 'A', type: 'DINT' }], x: 200, y: 200, wires: [[]] }]);
      RED.nodes.dirty(true);
    });
    await page.click('#red-ui-header-button-deploy');
    const confirm = page.locator('.red-ui-notification').filter({ hasText: /not properly configured|invalid/i });
    await confirm.first().waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-validation-deploy.png') });
    await page.close();
    assert.deepEqual(errors, []);
  });

  it('selects bound to ${VAR} (PLC protocol, camera source) show the variable, keep every dependent field on show and save it', async function () {
    const { page, errors } = await openEditor('plc-config');
    const seen = {};
    for (const [id, type, field, value, rows] of [
      ['e_plc', 'plc-config', 'protocol', '${PLC_PROTOCOL}', ['host', 'endpoint']],
      ['e_cam', 'spotfusion-camera-config', 'source', '${CAMERA_SOURCE}', ['host', 'url', 'folder']],
    ]) {
      await page.evaluate(([i, t, f, v]) => {
        RED.nodes.import([{ id: i, type: t, [f]: v }]);
        RED.editor.editConfig('', t, i);
      }, [id, type, field, value]);
      const select = page.locator(`#node-config-input-${field}`);
      await select.waitFor({ timeout: 30000 });
      seen[id] = await page.evaluate(([f, rs]) => ({
        value: $(`#node-config-input-${f}`).val(),
        text: $(`#node-config-input-${f} option:selected`).text(),
        visible: rs.filter((r) => $(`#node-config-input-${r}`).is(':visible')),
        red: rs.filter((r) => $(`#node-config-input-${r}`).hasClass('input-error')),
      }), [field, rows]);
      await page.screenshot({ path: path.join(ARTIFACTS, `editor-env-${type}.png`) });
      await page.click('#node-config-dialog-ok');
      await page.waitForFunction(() => $('#node-config-dialog-ok:visible').length === 0, undefined, { timeout: 10000 });
      seen[id].saved = await page.evaluate(([i, f]) => RED.nodes.node(i)[f], [id, field]);
      // which fields the variable's value needs is not known in the editor: none is required, none red
      assert.deepEqual(seen[id], { value, text: `${value} (from the environment)`, visible: rows, red: [], saved: value }, id);
    }
    await page.close();
    assert.deepEqual(errors, []);
  });

  it('result-publish: the PLC handshake rows are made per role with the types each may have, and save the map', async function () {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
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

  it('camera config: the GigE "Resend lost packets" field shows auto by default, is chosen with a real click and saved', async function () {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType && RED.nodes.getType('spotfusion-camera-config'), undefined, { timeout: 30000 });
    await page.evaluate(async () => {
      RED.nodes.import([{ id: 'cc1', type: 'spotfusion-camera-config', name: 'cam', source: 'gige', host: '127.0.0.1' }]);
      RED.editor.editConfig('', 'spotfusion-camera-config', 'cc1');
      const end = Date.now() + 15000;
      while (!$('#node-config-input-resend').is(':visible')) {
        if (Date.now() > end) throw new Error('the camera config dialog did not show the resend field');
        await new Promise((res) => setTimeout(res, 50));
      }
      // let the tray finish opening, as a person would
      await new Promise((res) => setTimeout(res, 500));
    });
    const select = page.locator('#node-config-input-resend');
    const shown = { value: await select.inputValue(), label: await page.locator('label[for="node-config-input-resend"]').innerText(), options: await select.locator('option').allInnerTexts() };
    await select.selectOption('off');
    await page.click('#node-config-dialog-ok');
    await page.waitForFunction(() => RED.nodes.node('cc1').resend === 'off', undefined, { timeout: 5000 });
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(shown.value, 'auto');
    assert.equal(shown.label.trim(), 'Resend lost packets');
    assert.deepEqual(shown.options, ['When the camera can resend', 'Off']);
  });
  it('spc plant: the window, refresh and subgroup fields turn red with the reason while invalid, ${VAR} passes, and the typed values are saved', async function () {
    const { page, errors } = await openEditor('spc-plant');
    await page.evaluate(() => {
      RED.nodes.import([
        { id: 'pg1', type: 'spotfusion-postgres-config', name: 'plant db', host: '127.0.0.1', port: 5432, database: 'spotfusion', schema: 'public' },
        { id: 'sp_nodb', type: 'spc-plant', z: RED.workspaces.active(), x: 200, y: 100, wires: [[], []] },
        { id: 'sp1', type: 'spc-plant', z: RED.workspaces.active(), name: '', postgres: 'pg1', hours: 8, interval: 30, chart: 'xbar-r', subgroupSize: 5, capabilityWindow: 25, characteristics: 'diameter', diameterHead: '', spec: '{}', x: 200, y: 200, wires: [[], []] },
      ]);
      RED.editor.validateNode(RED.nodes.node('sp_nodb'));
    });
    // no database chosen: the node is invalid
    assert.equal(await page.evaluate(() => RED.nodes.node('sp_nodb').valid), false);
    await page.evaluate(() => RED.editor.edit(RED.nodes.node('sp1')));
    const hours = page.locator('#node-input-hours');
    await hours.waitFor({ state: 'visible', timeout: 30000 });
    await page.waitForFunction(() => $('#node-input-hours').val() === '8' && $('#node-input-capabilityWindow').val() === '25', undefined, { timeout: 30000 });
    const red = (id) => page.evaluate((i) => $(`#node-input-${i}`).hasClass('input-error'), id);
    // typed key by key; what the field holds is checked before its border is (once in CI the border stayed as it
    // was, with the field's value unknown: a keystroke that did not land is typed again, and named if it never does)
    const typeInto = async (id, value) => {
      const sel = `#node-input-${id}`;
      let held;
      for (let attempt = 0; attempt < 3 && held !== value; attempt++) {
        await page.fill(sel, '');
        await page.type(sel, value);
        held = await page.inputValue(sel);
      }
      assert.equal(held, value, `${id}: the field holds what was typed`);
      await page.dispatchEvent(sel, 'change');
    };
    const seen = {};
    for (const [id, bad, good] of [['hours', '0', '12'], ['interval', '0.5', '60'], ['subgroupSize', '1', '4'], ['capabilityWindow', '61', '20']]) {
      await typeInto(id, bad);
      await page.waitForFunction((i) => $(`#node-input-${i}`).hasClass('input-error'), id, { timeout: 3000 }).catch(async (e) => assert.fail(`${id} = ${bad}: no red border, the field holds ${JSON.stringify(await page.inputValue(`#node-input-${id}`))} (${e.message})`));
      seen[id] = await page.evaluate((i) => $(`#node-input-${i}`).data('tooltip') !== undefined, id);
      await typeInto(id, good);
      await page.waitForFunction((i) => !$(`#node-input-${i}`).hasClass('input-error'), id, { timeout: 3000 }).catch((e) => assert.fail(`${id} = ${good}: still red (${e.message})`));
    }
    assert.deepEqual(seen, { hours: true, interval: true, subgroupSize: true, capabilityWindow: true }, 'each red field has its reason as a tooltip');
    // a whole-value ${VAR} is resolved at run time: accepted
    await typeInto('hours', '${PLANT_WINDOW_HOURS}');
    assert.equal(await red('hours'), false);
    await page.type('#node-input-name', 'plant view');
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-spc-plant.png') });
    await page.click('#node-dialog-ok');
    await page.waitForFunction(() => RED.nodes.node('sp1').name === 'plant view', undefined, { timeout: 10000 });
    const saved = await page.evaluate(() => {
      const n = RED.nodes.node('sp1');
      return { hours: n.hours, interval: n.interval, subgroupSize: n.subgroupSize, capabilityWindow: n.capabilityWindow, postgres: n.postgres, valid: n.valid };
    });
    await page.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(saved, { hours: '${PLANT_WINDOW_HOURS}', interval: '60', subgroupSize: '4', capabilityWindow: '20', postgres: 'pg1', valid: true });
  });
});
