/* global window, RED, $, SpotFusionTeach */
'use strict';
// The teach view of the recipe config dialog (resources/teach/*.js) in a real Node-RED and a real headless
// Chromium: a frame grabbed from a deployed simulator camera, ROIs drawn, moved, resized and turned with real
// mouse drags, a grid copy, Try it with the demo model, the part reference, the dialog's red border for a bad
// ROI; and the teach endpoints (nodes/shared/teach-admin.ts) under adminAuth: permissions, sizes, ids.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const http = require('node:http');
const bcrypt = require('bcryptjs');
const { launchChromium, watchedPage } = require('../support/browser');
const { Runtime } = require('../support/runtime');
const { ROOT } = require('../../scripts/userdir.cjs');
const sharp = require('sharp');
const sim = require('../../dist/nodes/lib/camera/simulator');

const MODEL = path.join(ROOT, 'models', 'demo', 'spotfusion-demo.onnx');
const DEMO_RECIPES = fs.readFileSync(path.join(ROOT, 'models', 'demo', 'recipe-demo-station.json'), 'utf8');
// a test run writes its screenshot beside the other browser tests' (docs/teach-view.png is a copy of one, looked at)
const SCREENSHOT = path.join(__dirname, '..', 'artifacts', 'teach-view.png');
const V2 = { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' };

const RULES = JSON.stringify({ okLabels: ['ok'], minScore: 0.5, lowConfidence: 0.8, diameter: { k: 4, unit: 'mm', pxPerMm: 4 } });

/** camera (simulator), model (demo), recipe config `recipes` and a crop node that ties them together */
function station(recipes) {
  return [
    { id: 'tt', type: 'tab', label: 'teach' },
    { id: 'cam1', type: 'spotfusion-camera-config', name: 'line camera', source: 'simulator', simWidth: 2448, simHeight: 2048, seed: 'teach', cols: 8, rows: 6, diameter: 32, timeout: 5000 },
    { id: 'mdl1', type: 'spotfusion-model-config', name: 'demo model', path: MODEL, metadataPath: '', intraOpThreads: 1, executionProviders: 'cpu', watch: false, watchInterval: 2000 },
    { id: 'rc1', type: 'spotfusion-recipe-config', name: 'station recipes', source: 'inline', recipes, file: '', watchInterval: 2000 },
    { id: 'crop1', type: 'crop', z: 'tt', name: '', recipes: 'rc1', model: 'mdl1', program: '', png: false, x: 200, y: 100, wires: [['infer1']] },
    { id: 'infer1', type: 'infer', z: 'tt', name: '', model: 'mdl1', x: 380, y: 100, wires: [['enrich1']] },
    { id: 'enrich1', type: 'enrich', z: 'tt', name: '', rules: RULES, x: 560, y: 100, wires: [[]] },
  ];
}

/** POST raw bytes (the support helper sends JSON) */
function postBytes(port, urlPath, token, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: urlPath, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, timeout: 20000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = {};
          if (/json/.test(res.headers['content-type'] || '')) json = JSON.parse(text);
          resolve({ status: res.statusCode, text, json });
        });
        res.on('error', reject);
      },
    );
    // the server may answer (413, 401) and close before the whole body is sent
    req.on('error', (err) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.on('timeout', () => req.destroy(new Error(`POST ${urlPath} timed out`)));
    req.end(bytes);
  });
}

const SMALL = JSON.stringify({ recipes: [{ program: 1, product: 'panel', spots: [{ id: 'S01', x: 100, y: 100, w: 96, h: 96 }] }] });

describe('teach view: a recipe drawn on a live frame in the editor', function () {
  this.timeout(120000);
  let rt;
  let browser;
  let profile;

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-teach-chromium-'));
    browser = await launchChromium(this, profile);
    rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
    await rt.start();
  });

  after(async function () {
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  async function deploy(recipes) {
    const r = await rt.request('POST', '/flows', { body: { flows: station(recipes) }, headers: V2 });
    assert.equal(r.status, 200, r.text);
  }

  /** the editor with the deployed station loaded, the recipe dialog open and the teach view open in front */
  async function openTeach() {
    const { page, errors, stopCoverage: covered } = await watchedPage(browser);
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.goto(`http://127.0.0.1:${rt.port}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.node && RED.nodes.node('rc1') && window.SpotFusionTeach, undefined, { timeout: 30000 });
    await page.evaluate(() => RED.editor.editConfig('', 'spotfusion-recipe-config', 'rc1'));
    await page.waitForSelector('#node-config-teach', { state: 'visible', timeout: 30000 });
    await page.click('#node-config-teach');
    await page.waitForSelector('.sf-teach-canvas', { state: 'visible', timeout: 30000 });
    await page.waitForTimeout(500); // the tray finishes opening (resize, fit)
    return { page, errors, covered };
  }

  async function grab(page) {
    await page.selectOption('.sf-teach-camera', 'cam1');
    await page.click('.sf-teach-grab');
    await page.waitForSelector('.sf-teach-canvas[data-frame]', { timeout: 30000 });
    await page.waitForTimeout(200);
  }

  /** page coordinates of frame point (fx, fy) */
  function at(page, fx, fy) {
    return page.evaluate(
      ([x, y]) => {
        const v = SpotFusionTeach.current.view;
        const r = v.canvas.getBoundingClientRect();
        const p = v.toScreen(x, y);
        return { x: r.left + p.x, y: r.top + p.y };
      },
      [fx, fy],
    );
  }

  async function drag(page, from, to) {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await page.mouse.move(to.x, to.y, { steps: 4 });
    await page.mouse.up();
    await page.waitForTimeout(50);
  }

  const spots = (page) => page.evaluate(() => SpotFusionTeach.current.doc.spots().map((s) => ({ ...s })));

  /** S01 (the recipe's one spot) selected and copied into 3 × 2 with pitch 150 × 120 */
  async function gridCopy(page) {
    await page.click('.sf-teach-canvas', { position: await page.evaluate(() => SpotFusionTeach.current.view.toScreen(148, 148)) });
    for (const [k, v] of [['cols', '3'], ['rows', '2'], ['pitchX', '150'], ['pitchY', '120']]) await page.fill(`.sf-teach-grid-${k}`, v);
    await page.click('.sf-teach-grid');
  }

  /** Cancel in the teach view */
  async function cancelTeach(page) {
    await page.click('#sf-teach-cancel');
    await page.waitForSelector('.sf-teach-canvas', { state: 'detached', timeout: 10000 });
  }

  /** the page's resource coverage taken, the page closed, and no console error on it */
  async function finish(page, covered, errors) {
    await covered();
    await page.close();
    assert.deepEqual(errors, []);
  }

  /** the size of the frame shown (the canvas's data-size) and of the view's sensor */
  const frameShown = (page) => page.evaluate(() => ({ size: $('.sf-teach-canvas').attr('data-size'), sensor: [SpotFusionTeach.current.view.width, SpotFusionTeach.current.view.height] }));

  /** the grey level the canvas shows at each frame point [x, y] */
  const greysAt = (page, points) =>
    page.evaluate((pts) => {
      const v = SpotFusionTeach.current.view;
      const dpr = v.canvas.width / v.canvas.getBoundingClientRect().width;
      return pts.map(([fx, fy]) => {
        const p = v.toScreen(fx, fy);
        return v.canvas.getContext('2d').getImageData(Math.round(p.x * dpr), Math.round(p.y * dpr), 1, 1).data[0];
      });
    }, points);

  /** Done in the teach view, OK in the dialog: the recipe config node's saved JSON */
  async function save(page) {
    await page.click('#sf-teach-done');
    await page.waitForSelector('.sf-teach-canvas', { state: 'detached', timeout: 10000 });
    await page.click('#node-config-dialog-ok');
    await page.waitForTimeout(300);
    return page.evaluate(() => JSON.parse(RED.nodes.node('rc1').recipes));
  }

  it('grabs a frame from the running simulator camera and shows it', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await grab(page);
    const shown = await page.evaluate(() => {
      const c = $('.sf-teach-canvas');
      const v = SpotFusionTeach.current.view;
      // the frame on the canvas: the simulator's panel is not one flat grey
      const ctx = v.canvas.getContext('2d');
      const r = v.toScreen(0, 0);
      const d = ctx.getImageData(Math.max(0, Math.round(r.x)), Math.max(0, Math.round(r.y)), 200, 200).data;
      let lo = 255;
      let hi = 0;
      for (let i = 0; i < d.length; i += 4) {
        lo = Math.min(lo, d[i]);
        hi = Math.max(hi, d[i]);
      }
      return { size: c.attr('data-size'), bitmap: v.image && v.image.width, spread: hi - lo, status: $('.sf-teach-status').text() };
    });
    assert.equal(shown.size, '2448x2048');
    assert.equal(shown.bitmap, 2448);
    assert.ok(shown.spread > 30, `the frame shows on the canvas (grey spread ${shown.spread})`);
    assert.match(shown.status, /2448×2048 from camera cam1/);
    // zoom with the wheel about the pointer: the frame point under it stays under it
    const p = await at(page, 1224, 1024);
    await page.mouse.move(p.x, p.y);
    const before = await page.evaluate(() => SpotFusionTeach.current.view.scale);
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(100);
    const after = await page.evaluate(([x, y]) => ({ scale: SpotFusionTeach.current.view.scale, under: SpotFusionTeach.current.view.toFrame(x - SpotFusionTeach.current.view.canvas.getBoundingClientRect().left, y - SpotFusionTeach.current.view.canvas.getBoundingClientRect().top) }), [p.x, p.y]);
    assert.ok(after.scale > before * 1.3, `zoomed in: ${before} → ${after.scale}`);
    assert.ok(Math.abs(after.under.x - 1224) < 2 && Math.abs(after.under.y - 1024) < 2, JSON.stringify(after.under));
    const saved = await save(page);
    // the dialog's sensor size follows the frame shown (the outside-the-sensor check uses it)
    assert.deepEqual(await page.evaluate(() => [RED.nodes.node('rc1').frameWidth, RED.nodes.node('rc1').frameHeight]), ['2448', '2048']);
    assert.deepEqual(saved, JSON.parse(SMALL));
    await finish(page, covered, errors);
  });

  it('creates, moves, resizes and turns an ROI with the mouse; the saved recipe holds the numbers', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await grab(page);
    // zoom so a frame px is about 0.5 screen px and the box is large on screen
    await page.evaluate(() => {
      const v = SpotFusionTeach.current.view;
      v.scale = 1;
      v.ox = -300;
      v.oy = -300;
      v.redraw();
    });
    // create: "new spot" mode, a drag from (500, 500) to (596, 580)
    await page.click('.sf-teach-mode-create');
    await drag(page, await at(page, 500, 500), await at(page, 596, 580));
    await page.click('.sf-teach-mode-select');
    let s = (await spots(page))[1];
    assert.equal(s.id, 'S02');
    for (const [k, v] of Object.entries({ x: 500, y: 500, w: 96, h: 80 })) assert.ok(Math.abs(s[k] - v) <= 1, `created ${k} ${s[k]} ≈ ${v}`);
    // move: drag the box by (+50, +30)
    await drag(page, await at(page, 548, 540), await at(page, 598, 570));
    s = (await spots(page))[1];
    assert.ok(Math.abs(s.x - 550) <= 1 && Math.abs(s.y - 530) <= 1, `moved to ${s.x}, ${s.y}`);
    // resize: the bottom-right corner by (+20, +10); the top-left stays
    await drag(page, await at(page, s.x + s.w, s.y + s.h), await at(page, s.x + s.w + 20, s.y + s.h + 10));
    s = (await spots(page))[1];
    for (const [k, v] of Object.entries({ x: 550, y: 530, w: 116, h: 90 })) assert.ok(Math.abs(s[k] - v) <= 1, `resized ${k} ${s[k]} ≈ ${v}`);
    // rotate: the handle above the box dragged to 30° counter-clockwise about the centre
    const handle = await page.evaluate(() => {
      const cur = SpotFusionTeach.current;
      const sp = cur.doc.spots()[1];
      return SpotFusionTeach.geometry.rotateHandle(sp, 24 / cur.view.scale);
    });
    const cx = s.x + s.w / 2;
    const cy = s.y + s.h / 2;
    const t = (30 * Math.PI) / 180;
    await drag(page, await at(page, handle.x, handle.y), await at(page, cx - 120 * Math.sin(t), cy - 120 * Math.cos(t)));
    s = (await spots(page))[1];
    assert.ok(Math.abs(s.rotation - 30) <= 1, `rotation ${s.rotation} ≈ 30`);
    assert.ok(Math.abs(s.x + s.w / 2 - cx) <= 1 && Math.abs(s.y + s.h / 2 - cy) <= 1, 'turned about its centre');
    // the JSON beside the view follows the drawing
    const text = await page.evaluate(() => SpotFusionTeach.current.json.getValue());
    assert.equal(JSON.parse(text).recipes[0].spots[1].rotation, s.rotation);
    // arrow keys nudge (Shift ×10), undo takes the nudge back, redo puts it again
    await page.keyboard.down('Shift');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.up('Shift');
    await page.keyboard.press('ArrowDown');
    let n = (await spots(page))[1];
    assert.deepEqual([n.x, n.y], [s.x + 10, s.y + 1]);
    await page.keyboard.press('Control+z');
    n = (await spots(page))[1];
    assert.deepEqual([n.x, n.y], [s.x + 10, s.y]);
    await page.keyboard.press('Control+y');
    n = (await spots(page))[1];
    assert.deepEqual([n.x, n.y], [s.x + 10, s.y + 1]);
    // the per-spot fields: expected diameter typed in for the selection
    await page.fill('.sf-teach-field-expectedDiameter', '34');
    await page.press('.sf-teach-field-expectedDiameter', 'Enter');
    await page.fill('.sf-teach-field-id', 'P1');
    await page.press('.sf-teach-field-id', 'Enter');
    const saved = await save(page);
    const got = saved.recipes[0].spots[1];
    assert.equal(got.id, 'P1');
    assert.equal(got.expectedDiameter, 34);
    assert.ok(Math.abs(got.rotation - 30) <= 1);
    for (const [k, v] of Object.entries({ x: 561, y: 531, w: 116, h: 90 })) assert.ok(Math.abs(got[k] - v) <= 1, `saved ${k} ${got[k]} ≈ ${v}`);
    await finish(page, covered, errors);
  });

  it('copies a spot into a grid, selects several with Shift and moves them together, deletes', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await gridCopy(page);
    let list = await spots(page);
    assert.deepEqual(
      list.map((s) => [s.id, s.x, s.y]),
      [
        ['S01', 100, 100],
        ['S02', 250, 100],
        ['S03', 400, 100],
        ['S04', 100, 220],
        ['S05', 250, 220],
        ['S06', 400, 220],
      ],
    );
    // S02 and S05 selected (click, Shift-click) and dragged together by (+20, +40)
    const c2 = await page.evaluate(() => SpotFusionTeach.current.view.toScreen(298, 148));
    const c5 = await page.evaluate(() => SpotFusionTeach.current.view.toScreen(298, 268));
    await page.click('.sf-teach-canvas', { position: c2 });
    await page.click('.sf-teach-canvas', { position: c5, modifiers: ['Shift'] });
    await drag(page, await at(page, 298, 268), await at(page, 318, 308));
    list = await spots(page);
    // one screen px is about 4 frame px at this zoom
    for (const [got, want] of [[list[1].x, 270], [list[1].y, 140], [list[4].x, 270], [list[4].y, 260]]) assert.ok(Math.abs(got - want) <= 4, `${got} ≈ ${want}`);
    assert.equal(list[1].x - 250, list[4].x - 250, 'moved together');
    assert.equal(list[1].y - 100, list[4].y - 220, 'moved together');
    assert.deepEqual([list[0].x, list[3].y], [100, 220], 'the others stay');
    await page.click('.sf-teach-delete');
    list = await spots(page);
    assert.deepEqual(list.map((s) => s.id), ['S01', 'S03', 'S04', 'S06']);
    const saved = await save(page);
    assert.deepEqual(saved.recipes[0].spots.map((s) => s.id), ['S01', 'S03', 'S04', 'S06']);
    await finish(page, covered, errors);
  });

  it('uploads a raw Mono8 file with its width and height through the browser and shows it', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await page.selectOption('.sf-teach-format', 'mono8');
    await page.fill('.sf-teach-raw-w', '320');
    await page.fill('.sf-teach-raw-h', '160');
    // a left-to-right ramp: the canvas must show dark on the left and bright on the right
    const raw = Buffer.alloc(320 * 160);
    for (let y = 0; y < 160; y++) for (let x = 0; x < 320; x++) raw[y * 320 + x] = Math.round((x / 319) * 255);
    await page.setInputFiles('.sf-teach-file', { name: 'panel.raw', mimeType: 'application/octet-stream', buffer: raw });
    await page.waitForSelector('.sf-teach-canvas[data-frame]', { timeout: 30000 });
    await page.waitForTimeout(200);
    const [left, right] = await greysAt(page, [[5, 80], [315, 80]]);
    const seen = { ...(await frameShown(page)), left, right };
    assert.equal(seen.size, '320x160');
    assert.deepEqual(seen.sensor, [320, 160]);
    assert.ok(seen.left < 30 && seen.right > 225, JSON.stringify(seen));
    // the recipe's spot (100, 100, 96, 96) now reaches past the 160 px high sensor: the view says so
    assert.match(await page.$eval('.sf-teach-problems', (e) => e.textContent), /outside the 320×160 sensor/);
    // Cancel puts back what the dialog had: the text and the (empty) sensor size
    await cancelTeach(page);
    assert.deepEqual(await page.evaluate(() => [$('#node-config-input-frameWidth').val(), $('#node-config-input-frameHeight').val(), $('.recipe-config-json-error').is(':visible')]), ['', '', false]);
    await page.click('#node-config-dialog-cancel');
    await finish(page, covered, errors);
  });

  it('uploads PNG, JPEG and TIFF files through the browser; the server decodes each and the view shows it', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await page.selectOption('.sf-teach-format', 'image');
    // a top-to-bottom ramp, 400×240, grey: dark at the top, bright at the bottom
    const W = 400;
    const H = 240;
    const ramp = Buffer.alloc(W * H);
    for (let y = 0; y < H; y++) ramp.fill(Math.round((y / (H - 1)) * 255), y * W, (y + 1) * W);
    const img = () => sharp(ramp, { raw: { width: W, height: H, channels: 1 } });
    const files = [
      { name: 'golden.png', mimeType: 'image/png', buffer: await img().png().toBuffer() },
      { name: 'golden.jpg', mimeType: 'image/jpeg', buffer: await img().jpeg({ quality: 85 }).toBuffer() },
      { name: 'golden.tif', mimeType: 'image/tiff', buffer: await img().tiff().toBuffer() },
    ];
    assert.deepEqual(files[1].buffer.subarray(0, 3), Buffer.from([0xff, 0xd8, 0xff]), 'a real JPEG file');
    assert.equal(files[2].buffer.subarray(0, 2).toString('latin1'), 'II', 'a real TIFF file');
    let frame = null;
    for (const file of files) {
      await page.setInputFiles('.sf-teach-file', file);
      await page.waitForFunction((prev) => {
        const f = $('.sf-teach-canvas').attr('data-frame');
        return f && f !== prev;
      }, frame, { timeout: 30000 });
      frame = await page.$eval('.sf-teach-canvas', (c) => c.getAttribute('data-frame'));
      await page.waitForTimeout(200);
      const [top, middle, bottom] = await greysAt(page, [[200, 4], [200, 120], [200, 235]]);
      const seen = { ...(await frameShown(page)), top, middle, bottom };
      assert.equal(seen.size, '400x240', file.name);
      assert.deepEqual(seen.sensor, [400, 240], file.name);
      assert.ok(seen.top < 25 && Math.abs(seen.middle - 128) < 25 && seen.bottom > 230, `${file.name}: ${JSON.stringify(seen)}`);
    }
    await cancelTeach(page);
    await page.click('#node-config-dialog-cancel');
    await finish(page, covered, errors);
  });

  it('edits expected diameter, stack-up and model heads for a selection of spots at once; the id only for one', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await gridCopy(page);
    // S01 alone: a diameter of its own
    await page.click('.sf-teach-canvas', { position: await page.evaluate(() => SpotFusionTeach.current.view.toScreen(148, 148)) });
    await page.fill('.sf-teach-field-expectedDiameter', '28');
    await page.press('.sf-teach-field-expectedDiameter', 'Enter');
    // S01, S03 and S05 selected with Shift-clicks: S01's diameter differs from the others', so the field is blank
    for (const [fx, fy] of [[448, 148], [298, 268]]) await page.click('.sf-teach-canvas', { position: await page.evaluate(([x, y]) => SpotFusionTeach.current.view.toScreen(x, y), [fx, fy]), modifiers: ['Shift'] });
    const shown = await page.evaluate(() => ({
      selected: SpotFusionTeach.current.doc.selected().map((s) => s.id),
      diameter: [$('.sf-teach-field-expectedDiameter').val(), $('.sf-teach-field-expectedDiameter').attr('placeholder')],
      idDisabled: $('.sf-teach-field-id').prop('disabled'),
    }));
    assert.deepEqual(shown.selected, ['S01', 'S03', 'S05']);
    assert.deepEqual(shown.diameter, ['', '(mixed)']);
    assert.equal(shown.idDisabled, true, 'one id cannot be given to three spots');
    // typed once, set on all three
    for (const [k, v] of [['expectedDiameter', '31.5'], ['stackupThickness', '2,4'], ['head', 'nugget, porosity']]) {
      await page.click(`.sf-teach-field-${k}`, { clickCount: 3 });
      await page.keyboard.type(v);
      await page.keyboard.press('Enter');
    }
    assert.equal(await page.$eval('.sf-teach-field-expectedDiameter', (e) => e.value), '31.5');
    // undo takes the last edit back on all three at once
    await page.click('.sf-teach-canvas', { position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+z');
    let list = await spots(page);
    assert.deepEqual([list[0].head, list[2].head, list[4].head], [undefined, undefined, undefined]);
    await page.keyboard.press('Control+y');
    const saved = await save(page);
    list = saved.recipes[0].spots;
    assert.deepEqual(list.map((s) => s.id), ['S01', 'S02', 'S03', 'S04', 'S05', 'S06']);
    for (const i of [0, 2, 4]) {
      assert.equal(list[i].expectedDiameter, 31.5, list[i].id);
      assert.equal(list[i].stackupThickness, 2.4, list[i].id);
      assert.deepEqual(list[i].head, ['nugget', 'porosity'], list[i].id);
    }
    for (const i of [1, 3, 5]) assert.deepEqual([list[i].expectedDiameter, list[i].stackupThickness, list[i].head], [undefined, undefined, undefined], `${list[i].id} untouched`);
    await finish(page, covered, errors);
  });

  it('a bad ROI (outside the sensor, duplicate id) shows a red border and the reason, in the view and in the dialog', async function () {
    await deploy(SMALL);
    const { page, errors, covered } = await openTeach();
    await grab(page);
    // typed into the JSON beside the view: the view follows it
    await page.fill('.sf-teach-json', JSON.stringify({ recipes: [{ program: 1, spots: [{ id: 'S01', x: 2400, y: 100, w: 96, h: 96 }, { id: 'S01', x: 10, y: 10, w: 20, h: 20 }] }] }));
    await page.waitForFunction(() => SpotFusionTeach.current.doc.spots().length === 2, undefined, { timeout: 5000 });
    const view = await page.evaluate(() => ({ invalid: $('.sf-teach-canvas-box').hasClass('sf-teach-invalid'), border: $('.sf-teach-canvas-box').css('border-top-color'), text: $('.sf-teach-problems').text() }));
    assert.ok(view.invalid);
    assert.notEqual(view.border, 'rgba(0, 0, 0, 0)');
    assert.match(view.text, /outside the 2448×2048 sensor/);
    assert.match(view.text, /"S01" appears twice/);
    await page.click('#sf-teach-done');
    await page.waitForSelector('.sf-teach-canvas', { state: 'detached', timeout: 10000 });
    const dialog = await page.evaluate(() => ({ invalid: $('#node-config-input-recipes-editor').hasClass('input-error'), text: $('.recipe-config-json-error').text() }));
    assert.ok(dialog.invalid, 'the dialog editor has the red border');
    assert.match(dialog.text, /outside the 2448×2048 sensor/);
    await page.click('#node-config-dialog-ok');
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => RED.nodes.node('rc1').valid), false, 'the node is invalid: Deploy warns');
    await finish(page, covered, errors);
  });

  it('Try it runs location, crop and the demo model on the shown frame and draws each verdict; the part reference is taught on the frame', async function () {
    await deploy(DEMO_RECIPES);
    const { page, errors, covered } = await openTeach();
    await grab(page);
    assert.equal(await page.$eval('.sf-teach-model', (e) => e.value), 'mdl1', 'the model of the crop node that uses the recipes');
    // the part reference: regions drawn on this (golden, aligned) frame round two of the panel's marks, taught from it
    const marks = sim.fiducialPositions(2448, 2048).slice(0, 2);
    await page.click('.sf-teach-mode-reference');
    for (const m of marks) await drag(page, await at(page, m.x - 70, m.y - 70), await at(page, m.x + 70, m.y + 70));
    await page.click('.sf-teach-reference');
    // the demo recipe names the shared section "panel": that section is taught
    await page.waitForFunction(() => SpotFusionTeach.current.doc.set.locates.panel.features.length === 2 && SpotFusionTeach.current.doc.set.locates.panel.features[0].w > 100, undefined, { timeout: 10000 });
    const loc = await page.evaluate(() => SpotFusionTeach.current.doc.set.locates.panel);
    assert.deepEqual([loc.frame.width, loc.frame.height, loc.features.map((f) => f.id)], [2448, 2048, ['F1', 'F2']]);
    // one screen px is about 3 frame px at the fitted zoom
    for (const [k, v] of Object.entries({ x: marks[0].x - 70, y: marks[0].y - 70, w: 140, h: 140 })) assert.ok(Math.abs(loc.features[0][k] - v) <= 4, `reference ${k} ${loc.features[0][k]} ≈ ${v}`);
    assert.equal(Buffer.from(loc.features[0].patch, 'base64').length, loc.features[0].w * loc.features[0].h);
    // the current frame: the part moved on the fixture (a PNG file uploaded through the browser's file input)
    const moved = sim.renderFrame({ seed: 'teach-moved', width: 2448, height: 2048, placement: { dx: 18, dy: -11, angleDeg: 0.8 } });
    const png = await sharp(moved.data, { raw: { width: 2448, height: 2048, channels: 1 } }).png().toBuffer();
    const golden = await page.$eval('.sf-teach-canvas', (c) => c.getAttribute('data-frame'));
    await page.setInputFiles('.sf-teach-file', { name: 'moved.png', mimeType: 'image/png', buffer: png });
    await page.waitForFunction((g) => $('.sf-teach-canvas').attr('data-frame') !== g, golden, { timeout: 30000 });
    assert.match(await page.$eval('.sf-teach-status', (e) => e.textContent), /2448×2048 from upload/);
    await page.click('.sf-teach-mode-select');
    // every spot selected (Ctrl+A on the canvas), their stack-up typed in once: the diameter rule needs it
    await page.click('.sf-teach-canvas', { position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+a');
    assert.equal(await page.evaluate(() => SpotFusionTeach.current.doc.selection.length), 48);
    await page.fill('.sf-teach-field-stackupThickness', '1.2');
    await page.press('.sf-teach-field-stackupThickness', 'Enter');
    assert.ok(await page.evaluate(() => SpotFusionTeach.current.doc.spots().every((s) => s.stackupThickness === 1.2)));
    await page.click('.sf-teach-try');
    await page.waitForSelector('.sf-teach-canvas[data-verdicts]', { timeout: 60000 });
    const r = await page.evaluate(() => ({ result: SpotFusionTeach.current.result, verdicts: JSON.parse($('.sf-teach-canvas').attr('data-verdicts')), status: $('.sf-teach-status').text() }));
    assert.equal(r.result.spots.length, 48);
    assert.equal(r.verdicts.OK + r.verdicts.NOK + r.verdicts.MISSING, 48);
    // the simulator draws mostly good spots; the demo model and the station's rules find them
    assert.ok(r.verdicts.OK >= 24, JSON.stringify(r.verdicts));
    // where the current frame locates the reference: the placement the frame was rendered with (about the frame
    // centre there, about the features here: the angle is the same, the shift is compared through a spot's move)
    assert.ok(r.result.locate.ok, `located: ${JSON.stringify(r.result.locate)}`);
    assert.ok(Math.abs(r.result.locate.angleDeg - 0.8) < 0.2, `angle ${r.result.locate.angleDeg}`);
    assert.equal(r.result.locate.features.length, 2);
    const recipeSpot = await page.evaluate(() => SpotFusionTeach.current.doc.spots()[20]);
    const want = sim.placePoint({ dx: 18, dy: -11, angleDeg: 0.8 }, 2448, 2048, recipeSpot.x + recipeSpot.w / 2, recipeSpot.y + recipeSpot.h / 2);
    const box = r.result.spots[20].box;
    assert.ok(Math.hypot(box.x + box.w / 2 - want.x, box.y + box.h / 2 - want.y) < 1.5, `spot cut at ${JSON.stringify(box)}, the part put it at ${JSON.stringify(want)}`);
    assert.match(r.status, /located .* OK, .* NOK/);
    assert.ok(r.result.spots.every((s) => typeof s.score === 'number' && s.box && ['OK', 'NOK', 'MISSING'].includes(s.verdict)));
    // the verdicts are drawn: the OK green or NOK red of a label shows on the canvas near the first spot
    const drawn = await page.evaluate(() => {
      const cur = SpotFusionTeach.current;
      const v = cur.view;
      const sp = cur.result.spots[0];
      const g = SpotFusionTeach.geometry.corners(sp.box)[3];
      const p = v.toScreen(g.x, g.y);
      const dpr = v.canvas.width / v.canvas.getBoundingClientRect().width;
      const d = v.canvas.getContext('2d').getImageData(Math.round(p.x * dpr), Math.round((p.y + 4) * dpr), Math.round(60 * dpr), Math.round(14 * dpr)).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - d[i + 1]) > 80) coloured += 1;
      return coloured;
    });
    assert.ok(drawn > 10, `verdict label drawn (${drawn} coloured px)`);
    // the teach view as the docs show it
    await page.evaluate(() => SpotFusionTeach.current.doc.select([9]));
    assert.match(await page.$eval('.sf-teach-verdict', (e) => e.textContent), /^S10: (OK|NOK|MISSING)/);
    await page.waitForTimeout(200);
    await page.screenshot({ path: SCREENSHOT });
    await cancelTeach(page);
    await page.click('#node-config-dialog-cancel');
    await finish(page, covered, errors);
  });
});

describe('teach endpoints under adminAuth: permissions, sizes, ids', function () {
  this.timeout(60000);
  const PASSWORD = crypto.randomBytes(12).toString('hex');
  let rt;
  let admin;
  let reader;
  let outside;

  before(async function () {
    rt = await Runtime.create({
      SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(PASSWORD, 8),
      SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
      SPOTFUSION_READ_TOKEN: crypto.randomBytes(24).toString('hex'),
      SPOTFUSION_DEV_MODE: undefined,
    });
    await rt.start();
    admin = await rt.token('admin', PASSWORD);
    // the same user with a read-only login (scope "read"): spotfusion.teach.read, not .write
    reader = await rt.token('admin', PASSWORD, 'read');
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-teach-outside-'));
    const publishers = [
      { id: 'rp1', type: 'result-publish', z: 'tt', name: 'archive in the user dir', sqlite: true, sqliteFile: '', outboxMaxRows: 1000, outboxFullPolicy: 'reject', outboxSync: 'FULL', batchSize: 10, retryMaxMs: 5000, deliveryTimeout: 10000, archivePolicy: 'all', archiveSample: 10, archiveDir: '', archiveMaxAgeDays: 0, archiveMaxMB: 0, x: 300, y: 300, wires: [[]] },
      { id: 'rp2', type: 'result-publish', z: 'tt', name: 'archive outside', sqlite: true, sqliteFile: 'outbox-2.db', outboxMaxRows: 1000, outboxFullPolicy: 'reject', outboxSync: 'FULL', batchSize: 10, retryMaxMs: 5000, deliveryTimeout: 10000, archivePolicy: 'all', archiveSample: 10, archiveDir: outside, archiveMaxAgeDays: 0, archiveMaxMB: 0, x: 300, y: 400, wires: [[]] },
    ];
    const dep = await rt.request('POST', '/flows', { token: admin, body: { flows: [...station(SMALL), ...publishers] }, headers: V2 });
    assert.equal(dep.status, 200, dep.text);
  });

  after(async function () {
    if (rt) await rt.stop();
    if (outside) fs.rmSync(outside, { recursive: true, force: true });
  });

  it('refuses every endpoint without a login, and the monitoring token (spotfusion.read only)', async function () {
    for (const [m, p] of [['POST', '/spotfusion/teach/grab/cam1'], ['POST', '/spotfusion/teach/archived/rp1'], ['POST', '/spotfusion/teach/upload'], ['GET', '/spotfusion/teach/frame/0123456789abcdef01234567'], ['POST', '/spotfusion/teach/try'], ['POST', '/spotfusion/teach/reference']]) {
      assert.equal((await rt.request(m, p)).status, 401, `${m} ${p}`);
      assert.equal((await rt.request(m, p, { token: rt.env.SPOTFUSION_READ_TOKEN })).status, 401, `${m} ${p} with the read token`);
    }
  });

  it('read permission grabs and shows frames; uploading needs the write permission', async function () {
    const g = await rt.request('POST', '/spotfusion/teach/grab/cam1', { token: reader, body: {} });
    assert.equal(g.status, 200, g.text);
    assert.deepEqual([g.json.width, g.json.height, g.json.channels], [2448, 2048, 1]);
    const f = await rt.request('GET', `/spotfusion/teach/frame/${g.json.frame}`, { token: reader });
    assert.equal(f.status, 200);
    assert.equal(f.headers['content-type'], 'image/png');
    const raw = Buffer.alloc(64 * 32, 128);
    const up = (token) => postBytes(rt.port, '/spotfusion/teach/upload?format=mono8&width=64&height=32', token, raw);
    assert.equal((await up(reader)).status, 401, 'read-only login may not upload (Node-RED answers 401 for a missing permission)');
    const ok = await up(admin);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.width, ok.json.height], [64, 32]);
  });

  it('refuses an oversized upload, a raw size that does not match, and a file that is no image', async function () {
    const big = Buffer.alloc(33 * 1024 * 1024);
    const r = await postBytes(rt.port, '/spotfusion/teach/upload?format=image', admin, big);
    assert.equal(r.status, 413, r.text);
    assert.match(r.json.error, /at most 33554432/);
    const raw = Buffer.alloc(100);
    const mismatch = await postBytes(rt.port, '/spotfusion/teach/upload?format=mono8&width=64&height=32', admin, raw);
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.json.error, /needs 2048 bytes, the upload has 100/);
    const huge = await postBytes(rt.port, '/spotfusion/teach/upload?format=mono8&width=20000&height=20000', admin, raw);
    assert.equal(huge.status, 400);
    assert.match(huge.json.error, /width must be an integer 1…16384/);
    const junk = await postBytes(rt.port, '/spotfusion/teach/upload?format=image', admin, Buffer.from('not an image at all'));
    assert.equal(junk.status, 400);
    assert.match(junk.json.error, /not a readable image/);
  });

  it('refuses ids that are unknown, malformed or of another type, and frames that are not kept', async function () {
    for (const [id, why] of [
      ['nope', /is not deployed/],
      ['mdl1', /is a spotfusion-model-config, not a spotfusion-camera-config/],
      ['..%2F..%2Fetc%2Fpasswd', /no valid node id/],
    ]) {
      const r = await rt.request('POST', `/spotfusion/teach/grab/${id}`, { token: admin, body: {} });
      assert.equal(r.status, 404, `${id}: ${r.text}`);
      assert.match(r.json.error, why);
    }
    const f = await rt.request('GET', '/spotfusion/teach/frame/..%2F..%2Fsettings.js', { token: admin });
    assert.equal(f.status, 404);
    const tr = await rt.request('POST', '/spotfusion/teach/try', { token: admin, body: { frame: '0123456789abcdef01234567', recipes: SMALL, program: 1, model: 'mdl1' } });
    assert.equal(tr.status, 404);
    // a kept frame, a model id that is the camera
    const g = await rt.request('POST', '/spotfusion/teach/grab/cam1', { token: admin, body: {} });
    const wrong = await rt.request('POST', '/spotfusion/teach/try', { token: admin, body: { frame: g.json.frame, recipes: SMALL, program: 1, model: 'cam1' } });
    assert.equal(wrong.status, 404);
    assert.match(wrong.json.error, /not a spotfusion-model-config/);
    const badRecipe = await rt.request('POST', '/spotfusion/teach/try', { token: admin, body: { frame: g.json.frame, recipes: '{"recipes":[]}', program: 1, model: 'mdl1' } });
    assert.equal(badRecipe.status, 400);
    const tried = await rt.request('POST', '/spotfusion/teach/try', { token: reader, body: { frame: g.json.frame, recipes: SMALL, program: 1, model: 'mdl1' } });
    assert.equal(tried.status, 200, tried.text);
    assert.equal(tried.json.spots.length, 1);
  });

  it('shows the last frame a result-publish node archived, never a file outside its archive or the user dir', async function () {
    const png = (w, h, v) => sharp(Buffer.alloc(w * h, v), { raw: { width: w, height: h, channels: 1 } }).png().toBuffer();
    const archive = path.join(rt.userDir, 'spotfusion', 'archive');
    const none = await rt.request('POST', '/spotfusion/teach/archived/rp1', { token: reader, body: {} });
    assert.equal(none.status, 404);
    assert.match(none.json.error, /has archived no frame yet/);
    for (const [day, id, w] of [['2026-12-04', 'older', 32], ['2026-12-05', 'newest', 64]]) {
      fs.mkdirSync(path.join(archive, day, id), { recursive: true });
      fs.writeFileSync(path.join(archive, day, id, 'frame.png'), await png(w, 48, 77));
    }
    const ok = await rt.request('POST', '/spotfusion/teach/archived/rp1', { token: reader, body: {} });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.json.width, ok.json.height, ok.json.archived], [64, 48, '2026-12-05/newest/frame.png']);
    // a newer "frame" that is a link to a file outside the archive: refused, not followed
    fs.writeFileSync(path.join(outside, 'secret.png'), await png(16, 16, 1));
    fs.mkdirSync(path.join(archive, '2026-12-06', 'link'), { recursive: true });
    fs.symlinkSync(path.join(outside, 'secret.png'), path.join(archive, '2026-12-06', 'link', 'frame.png'));
    const link = await rt.request('POST', '/spotfusion/teach/archived/rp1', { token: reader, body: {} });
    assert.equal(link.status, 404, link.text);
    assert.match(link.json.error, /not a file inside the archive and the user dir/);
    // an archive folder outside the user dir is not read at all
    fs.mkdirSync(path.join(outside, '2026-12-05', 'x'), { recursive: true });
    fs.writeFileSync(path.join(outside, '2026-12-05', 'x', 'frame.png'), await png(16, 16, 1));
    const out = await rt.request('POST', '/spotfusion/teach/archived/rp2', { token: reader, body: {} });
    assert.equal(out.status, 404, out.text);
    assert.match(out.json.error, /not a file inside the archive and the user dir/);
    const wrong = await rt.request('POST', '/spotfusion/teach/archived/cam1', { token: reader, body: {} });
    assert.equal(wrong.status, 404);
    assert.match(wrong.json.error, /is a spotfusion-camera-config, not a result-publish/);
  });
});
