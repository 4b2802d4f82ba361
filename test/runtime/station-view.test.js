/* global window, document, RED */
'use strict';
// The station flow as `npm start` opens it, in the real editor (headless chromium): every node's box as the editor
// drew it lies on the canvas and overlaps no other, so no label is cut; the boxes computed without a browser
// (test/flows/layout.js) are at least as large as the drawn ones. Screenshot: test/artifacts/station-tab.png.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { launchChromium, nodeRedTipsBug } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { nodeBox, overlaps } = require('../flows/layout');
const { ROOT } = require('../../scripts/userdir.cjs');

const ARTIFACTS = path.join(__dirname, '..', 'artifacts');

describe('station flow in the editor (headless chromium)', function () {
  this.timeout(90000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-station-chromium-'));
    browser = await launchChromium(this, profile);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start({ flowSource: [path.join(ROOT, 'flows', 'station.json'), path.join(ROOT, 'flows', 'dashboard.json')] });
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('draws every node of the station tab on the canvas, none over another; the labels are whole', async function () {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1900, height: 800 });
    const errors = [];
    page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${rt.port}/#flow/sf_station`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node('sf_st_enrich') && RED.workspaces.active() === 'sf_station', undefined, { timeout: 30000 });
    await page.waitForSelector('#sf_st_enrich', { timeout: 30000 }).catch(() => undefined);
    await page.waitForTimeout(1000);
    const drawn = await page.evaluate(() =>
      RED.nodes
        .filterNodes({ z: 'sf_station' })
        .filter((n) => n.type !== 'group')
        .map((n) => {
          const hidden = n.l === false || (n.l === undefined && (n.type === 'link in' || n.type === 'link out'));
          const text = hidden ? null : document.querySelector(`[id="${n.id}"] .red-ui-flow-node-label text`);
          return { id: n.id, type: n.type, label: RED.utils.getNodeLabel(n, n.type), x: n.x, y: n.y, w: n.w, h: n.h, textWidth: text ? text.getBBox().width : 0 };
        }),
    );
    await page.locator('#red-ui-workspace-chart').screenshot({ path: path.join(ARTIFACTS, 'station-tab.png') });
    await page.close();
    assert.deepEqual(errors, []);
    const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'station.json'), 'utf8'));
    assert.equal(drawn.length, flow.filter((n) => n.z === 'sf_station' && n.x !== undefined).length);
    const boxes = drawn.map((d) => ({ id: d.id, type: d.type, label: d.label, x0: d.x - d.w / 2, y0: d.y - d.h / 2, x1: d.x + d.w / 2, y1: d.y + d.h / 2 }));
    for (const b of boxes) assert.ok(b.x0 >= 0 && b.y0 >= 0, `${b.type} "${b.label}" is off the canvas: ${JSON.stringify(b)}`);
    assert.deepEqual(overlaps(boxes).map(([a, b]) => `${a.label} overlaps ${b.label}`), []);
    for (const d of drawn) {
      const computed = nodeBox(flow.find((n) => n.id === d.id));
      assert.equal(computed.label, d.label, `${d.id}: the label the editor shows`);
      assert.ok(computed.x1 - computed.x0 >= d.w && computed.y1 - computed.y0 >= d.h, `${d.id} "${d.label}": computed box ${JSON.stringify(computed)} is smaller than the drawn ${d.w}×${d.h}`);
      // a label is cut when its text is wider than the room the node leaves it (icon and ports)
      if (d.textWidth) assert.ok(d.textWidth + 40 <= d.w, `${d.id} "${d.label}": text ${d.textWidth} px in a ${d.w} px node`);
    }
  });
});
