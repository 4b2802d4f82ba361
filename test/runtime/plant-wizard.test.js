'use strict';
/* global document -- the functions passed to page.waitForFunction() run in the browser */
// The plant wizard page (/spotfusion/plant, resources/plant/*.js) in headless chromium against a real Node-RED
// with adminAuth, used as a planner uses it: the editor's login in its dialog, the seven steps walked with clicks
// and typing, problems shown at their fields as they are typed, saves checked against the file on disk and
// against `spotfusion plant validate` (the CLI's own function), uploads, the viewer tabs and generate. No console
// error on the page.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const YAML = require('yaml');
const { Runtime } = require('../support/runtime');
const { fileTree } = require('../support/plant-lab');
const { launchChromium, watchedPage } = require('../support/browser');
const W = require('../support/plant-wizard');
const { plantMain } = require('../../dist/nodes/lib/plant/cli');

const ROOT = path.join(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
const SAMPLE_TEXT = fs.readFileSync(path.join(ROOT, 'docs', 'plant.yaml'), 'utf8');
const SAMPLE = YAML.parse(SAMPLE_TEXT);

/** `spotfusion plant <args>` through the CLI's function: exit code and what it printed */
function cli(args) {
  const out = [];
  const err = [];
  const code = plantMain(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, ROOT);
  return { code, out: out.join('\n'), err: err.join('\n') };
}


/** every station of a plant value with its path parts */
function stations(plant) {
  const out = [];
  plant.lines.forEach((l, li) => l.areas.forEach((a, ai) => a.stations.forEach((s, si) => out.push({ s, parts: ['lines', li, 'areas', ai, 'stations', si] }))));
  return out;
}

describe('plant wizard page (/spotfusion/plant) in headless chromium, Node-RED with adminAuth', function () {
  this.timeout(240000);
  const PASSWORD = crypto.randomBytes(12).toString('hex');
  let rt;
  let browser;
  let profile;
  let page;
  let dir;
  let stopCoverage;
  let errors = [];
  /** console errors a test provokes on purpose (a refused request it asserts) */
  let expected = [];

  before(async function () {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-wizard-chromium-'));
    try {
      browser = await launchChromium(this, profile);
    } catch (err) {
      fs.rmSync(profile, { recursive: true, force: true });
      throw err;
    }
    rt = await Runtime.withAdminAuth(PASSWORD);
    dir = path.join(rt.userDir, 'plant');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'plant.yaml'), SAMPLE_TEXT);
    await rt.start();
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    ({ page, errors, stopCoverage } = await watchedPage(browser));
    await W.openWizard(page, rt.port, PASSWORD);
  });

  afterEach(function () {
    const left = errors.splice(0).filter((e) => !expected.some((x) => x.test(e)));
    expected = [];
    assert.deepEqual(left, [], 'console errors on the page');
  });

  after(async function () {
    if (stopCoverage) await stopCoverage();
    if (browser) await browser.close();
    if (rt) await rt.stop();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  it('logs in with the editor\'s login (its token kept as the editor keeps it) and lists the plant folder', async function () {
    const options = await page.$$eval('#pw-files option', (os2) => os2.map((o) => o.value));
    assert.deepEqual(options, ['plant.yaml']);
    const tokens = await page.evaluate(() => JSON.parse(localStorage.getItem('auth-tokens')));
    assert.ok(tokens.access_token, 'the token is kept under auth-tokens');
    // no password anywhere in the page's storage
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(PASSWORD));
    // the steps wait for a file
    assert.equal(await page.isDisabled('#pw-step-lines'), true);
  });

  it('creates the sample plant from empty through the seven steps; the saved file is the sample and spotfusion plant validate passes', async function () {
    await page.click('#pw-new');
    await page.fill('#pw-name', 'built.yaml');
    await page.click('#pw-name-ok');
    await page.waitForSelector('.pw-step-title:has-text("Step 1 of 7")');
    // step 1: plant and lines
    await W.fill(page, ['plant'], SAMPLE.plant);
    for (let i = 0; i < SAMPLE.lines.length; i++) {
      await W.settled(page);
      await page.click('#pw-form button[data-action="add"][data-path="lines"]');
      await W.fillLeaf(page, `lines[${i}].id`, SAMPLE.lines[i].id);
      await W.fillLeaf(page, `lines[${i}].name`, SAMPLE.lines[i].name);
    }
    await W.settled(page);
    let counts = await W.stepCounts(page);
    assert.equal(counts[0], 0, 'step 1 is complete');
    assert.ok(counts[1] >= SAMPLE.lines.length, `the lines still need areas (step 2 shows ${counts[1]})`);
    // step 2: areas; step 3: stations
    await page.click('#pw-next');
    for (const [li, l] of SAMPLE.lines.entries()) {
      for (const [ai, a] of l.areas.entries()) {
        await W.settled(page);
        await page.click(`#pw-form button[data-action="add"][data-path="lines[${li}].areas"]`);
        await W.fillLeaf(page, `lines[${li}].areas[${ai}].id`, a.id);
        await W.fillLeaf(page, `lines[${li}].areas[${ai}].name`, a.name);
      }
    }
    await page.click('#pw-next');
    for (const { s, parts } of stations(SAMPLE)) {
      const list = W.pathText(parts.slice(0, -1));
      await W.settled(page);
      await page.click(`#pw-form button[data-action="add"][data-path="${list}"]`);
      await W.fillLeaf(page, `${W.pathText(parts)}.id`, s.id);
      if (s.name) await W.fillLeaf(page, `${W.pathText(parts)}.name`, s.name);
    }
    // step 4: each station's devices
    await page.click('#pw-next');
    await page.waitForSelector('.pw-step-title:has-text("Step 4 of 7")');
    for (const { s, parts } of stations(SAMPLE)) await W.fill(page, [...parts, 'devices'], s.devices);
    await W.settled(page);
    counts = await W.stepCounts(page);
    assert.deepEqual(counts.slice(0, 4), [0, 0, 0, 0], `lines, areas, stations and devices are complete (${counts})`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-devices.png') });
    // step 5: products; step 6: weld process and flow; step 7: inspection and network
    await page.click('#pw-next');
    await W.fill(page, ['products'], SAMPLE.products);
    await page.click('#pw-next');
    await W.fill(page, ['weldProcess'], SAMPLE.weldProcess);
    await W.fill(page, ['processFlow'], SAMPLE.processFlow);
    await page.click('#pw-next');
    await W.fill(page, ['inspection'], SAMPLE.inspection);
    await W.fill(page, ['network'], SAMPLE.network);
    await W.settled(page);
    assert.deepEqual(await W.stepCounts(page), [0, 0, 0, 0, 0, 0, 0]);
    assert.match(await W.stateText(page), /built\.yaml \(edited\) · valid/);
    await page.click('#pw-save');
    await page.waitForFunction(() => /built\.yaml · valid/.test(document.querySelector('#pw-state').textContent));
    const file = path.join(dir, 'built.yaml');
    const text = fs.readFileSync(file, 'utf8');
    assert.deepEqual(YAML.parse(text), SAMPLE, 'the file built in the page is the sample');
    assert.match(text, /^plant:\n {2}id: SF-DEMO\n/, 'keys in the schema\'s order, as a person writes them');
    const v = cli(['validate', file]);
    assert.equal(v.code, 0, v.err);
  });

  it('shows invalid input at its field as it is typed, counts it on its step, and saves an invalid plant only when told', async function () {
    fs.writeFileSync(path.join(dir, 'edit.yaml'), SAMPLE_TEXT);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#pw-files option[value="edit.yaml"]'));
    await W.openFile(page, 'edit.yaml');
    await W.step(page, 3);
    const addr = 'lines[0].areas[0].stations[0].devices.plc.address';
    await W.typeInto(page, addr, 'not an address!');
    await W.settled(page);
    assert.match(await W.errorAt(page, addr), /must match/);
    assert.equal(await page.locator(W.field(addr)).evaluate((e) => e.classList.contains('pw-invalid')), true);
    assert.equal((await W.stepCounts(page))[3], 1);
    // the schema first: the cross-reference checks run on a plant the schema accepts
    await W.typeInto(page, addr, SAMPLE.lines[0].areas[0].stations[0].devices.plc.address);
    await W.settled(page);
    assert.equal(await W.errorAt(page, addr), '');
    assert.match(await W.stateText(page), /· valid/);
    // a required tag removed: the handshake check names it where the tag was
    await W.settled(page);
    await page.click('#pw-form button[data-action="remove"][data-path="lines[0].areas[0].stations[1].devices.plc.tags.busy"]');
    await W.settled(page);
    assert.match(await W.errorAt(page, 'lines[0].areas[0].stations[1].devices.plc.tags.busy'), /the handshake needs the busy tag/);
    // a cross-reference on another step: counted there, shown at its field there
    await W.step(page, 5);
    await W.typeInto(page, 'processFlow[0].station', 'NOPE');
    await W.settled(page);
    assert.match(await W.errorAt(page, 'processFlow[0].station'), /station "NOPE" is not a station of the plant/);
    // the unknown station also leaves its spots uninspected (step 5): 1 + 3 + 1
    assert.deepEqual(await W.stepCounts(page), [0, 0, 0, 1, 3, 1, 0]);
    assert.match(await W.stateText(page), /5 problems/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-problems.png') });
    // Save says so, and "Keep editing" writes nothing
    await page.click('#pw-save');
    await page.waitForSelector('#pw-dialog h2:has-text("The plant is not valid")');
    await page.click('#pw-dialog button[value="cancel"]');
    assert.equal(fs.readFileSync(path.join(dir, 'edit.yaml'), 'utf8'), SAMPLE_TEXT);
    // "Save anyway" writes it, and the page says the saved file is invalid
    await page.click('#pw-save');
    await page.click('#pw-save-anyway');
    await page.waitForFunction(() => /edit\.yaml · 5 problems/.test(document.querySelector('#pw-state').textContent));
    const saved = YAML.parse(fs.readFileSync(path.join(dir, 'edit.yaml'), 'utf8'));
    assert.equal(saved.processFlow[0].station, 'NOPE');
    assert.equal(cli(['validate', path.join(dir, 'edit.yaml')]).code, 1);
  });

  it('round trip YAML → page → YAML: every step and view drawn, an edit typed and undone, saved: the same bytes; one edit: one line', async function () {
    fs.writeFileSync(path.join(dir, 'round.yaml'), SAMPLE_TEXT);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#pw-files option[value="round.yaml"]'));
    await W.openFile(page, 'round.yaml');
    for (let i = 0; i < 7; i++) await W.step(page, i);
    for (const v of ['flow', 'network', 'coverage']) await page.click(`#pw-view-${v}`);
    await W.step(page, 2);
    const name = 'lines[1].areas[0].stations[0].name';
    const before = SAMPLE.lines[1].areas[0].stations[0].name;
    await W.typeInto(page, name, 'changed');
    await W.typeInto(page, name, before);
    await W.settled(page);
    assert.equal(await page.isDisabled('#pw-save'), false, 'typing marks the plant edited');
    await page.click('#pw-save');
    await page.waitForFunction(() => /round\.yaml · valid/.test(document.querySelector('#pw-state').textContent));
    assert.equal(fs.readFileSync(path.join(dir, 'round.yaml'), 'utf8'), SAMPLE_TEXT, 'same bytes: comments, anchors, order and quoting kept');
    await W.typeInto(page, name, 'Body side inner, new fixture');
    await page.click('#pw-save');
    await page.waitForFunction(() => /round\.yaml · valid/.test(document.querySelector('#pw-state').textContent));
    const after = fs.readFileSync(path.join(dir, 'round.yaml'), 'utf8').split('\n');
    const orig = SAMPLE_TEXT.split('\n');
    assert.equal(after.length, orig.length);
    const changed = orig.map((l, i) => (l === after[i] ? -1 : i)).filter((i) => i >= 0);
    assert.equal(changed.length, 1, 'one line changed');
    assert.match(after[changed[0]], /^ {12}name: "?Body side inner, new fixture"?$/);
    // a structural edit (a list item added) lets the YAML library write the file anew: the page says so, and the
    // comments are still there
    await W.step(page, 1);
    await page.click('#pw-form button[data-action="add"][data-path="lines[1].areas"]');
    await W.fillLeaf(page, 'lines[1].areas[1].id', 'BS2');
    await W.fillLeaf(page, 'lines[1].areas[1].name', 'Body side, second cell');
    await W.settled(page);
    // the new area has no station yet: saved anyway, on purpose
    await page.click('#pw-save');
    await page.click('#pw-save-anyway');
    await page.waitForFunction(() => /written anew/.test(document.querySelector('#pw-toast').textContent));
    const text = fs.readFileSync(path.join(dir, 'round.yaml'), 'utf8');
    const comments = (t) => t.split('\n').filter((l) => /^\s*#/.test(l));
    assert.deepEqual(comments(text), comments(SAMPLE_TEXT), 'every comment line kept');
    assert.equal(YAML.parse(text).lines[1].areas[1].name, 'Body side, second cell');
  });

  it('a file changed on the server since it was opened: save refuses and says so, the edits stay in the page', async function () {
    fs.writeFileSync(path.join(dir, 'conflict.yaml'), SAMPLE_TEXT);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#pw-files option[value="conflict.yaml"]'));
    await W.openFile(page, 'conflict.yaml');
    await W.typeInto(page, 'plant.name', 'Demo body shop, edited in the page');
    const theirs = `${SAMPLE_TEXT}# a note someone added meanwhile\n`;
    fs.writeFileSync(path.join(dir, 'conflict.yaml'), theirs);
    await W.settled(page);
    expected = [/status of 409/];
    await page.click('#pw-save');
    await page.waitForSelector('#pw-dialog h2:has-text("The file changed")');
    assert.match(await page.textContent('#pw-dialog'), /changed since it was opened/);
    await page.click('#pw-dialog button[value="ok"]');
    assert.equal(fs.readFileSync(path.join(dir, 'conflict.yaml'), 'utf8'), theirs, 'the other change is kept');
    assert.match(await W.stateText(page), /conflict\.yaml \(edited\)/);
    assert.equal(await page.inputValue(W.field('plant.name')), 'Demo body shop, edited in the page');
    // opening another file asks before the edits go
    await page.selectOption('#pw-files', 'plant.yaml');
    await page.click('#pw-open');
    await page.waitForSelector('#pw-dialog h2:has-text("Unsaved changes")');
    await page.click('#pw-dialog button[value="drop"]');
    await page.waitForFunction(() => document.querySelector('#pw-state').textContent.startsWith('plant.yaml · '));
  });

  it('uploads a plant file from disk; an invalid one or a taken name only after asking', async function () {
    await page.setInputFiles('#pw-upload-file', { name: 'up.yaml', mimeType: 'application/yaml', buffer: Buffer.from(SAMPLE_TEXT) });
    await page.waitForSelector('#pw-name');
    await page.click('#pw-name-ok');
    await page.waitForFunction(() => /up\.yaml · valid/.test(document.querySelector('#pw-state').textContent));
    assert.equal(fs.readFileSync(path.join(dir, 'up.yaml'), 'utf8'), SAMPLE_TEXT);
    // invalid: asked, stored only with "Store it anyway", opened with its problems
    const bad = SAMPLE_TEXT.replace('version: "2025.11.1"', 'version: ""');
    await page.setInputFiles('#pw-upload-file', { name: 'bad.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) });
    await page.click('#pw-name-ok');
    await page.waitForSelector('#pw-dialog h2:has-text("The file has problems")');
    assert.match(await page.textContent('#pw-dialog pre'), /plant\.version/);
    await page.click('#pw-upload-invalid');
    await page.waitForFunction(() => /bad\.yaml · 1 problem/.test(document.querySelector('#pw-state').textContent));
    assert.equal(fs.readFileSync(path.join(dir, 'bad.yaml'), 'utf8'), bad);
    assert.match(await W.errorAt(page, 'plant.version'), /must NOT have fewer than 1 characters/);
    // a taken name: asked; Cancel keeps the file
    await page.setInputFiles('#pw-upload-file', { name: 'up.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) });
    await page.click('#pw-name-ok');
    await page.click('#pw-upload-invalid');
    await page.waitForSelector('#pw-dialog h2:has-text("The name is taken")');
    await page.click('#pw-dialog button[value="cancel"]');
    assert.equal(fs.readFileSync(path.join(dir, 'up.yaml'), 'utf8'), SAMPLE_TEXT);
  });

  it('viewer: production flow, PLC network and camera coverage of the plant as it is in the page, unsaved edits included', async function () {
    await W.openFile(page, 'plant.yaml');
    await page.click('#pw-view-flow');
    for (const { s } of stations(SAMPLE)) {
      const steps = SAMPLE.processFlow.filter((x) => x.station === s.id);
      const shown = await page.$$eval(`.pw-flow-station[data-station="${s.id}"] .pw-flow-step`, (es) => es.map((e) => [e.getAttribute('data-product'), e.textContent]));
      assert.deepEqual(
        shown.map(([p]) => p),
        steps.map((x) => x.product),
        s.id,
      );
      for (const [i, x] of steps.entries()) assert.ok(shown[i][1].includes(x.spots.join(', ')), `${s.id} ${x.product}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-flow.png') });
    await page.click('#pw-view-network');
    const rows = await page.$$eval('#pw-network tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-station'), tr.textContent]));
    assert.deepEqual(
      rows.map(([id]) => id),
      stations(SAMPLE).map(({ s }) => s.id),
    );
    for (const [i, { s }] of stations(SAMPLE).entries()) {
      assert.ok(rows[i][1].includes(s.devices.plc.address), `${s.id} PLC address`);
      assert.ok(rows[i][1].includes(`${s.devices.plc.tags.trigger.address} (${s.devices.plc.tags.trigger.type})`), `${s.id} trigger tag`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-network.png') });
    // coverage: each camera with the ROIs of the spots it sees
    await page.click('#pw-view-coverage');
    for (const { s } of stations(SAMPLE)) {
      for (const cam of s.devices.cameras) {
        const want = SAMPLE.products.flatMap((p) => p.spots.filter((x) => x.roi[cam.id]).map((x) => x.id)).sort();
        const got = await page.$$eval(`figure[data-camera="${cam.id}"] .pw-roi`, (gs) => gs.map((g) => g.getAttribute('data-spot')));
        assert.deepEqual(got.sort(), want, cam.id);
      }
    }
    assert.equal(await page.locator('.pw-outside').count(), 0);
    // one product at a time
    const first = SAMPLE.products[0];
    await page.selectOption('#pw-coverage-product', first.id);
    const shown = await page.$$eval('.pw-roi', (gs) => gs.map((g) => g.getAttribute('data-product')));
    assert.equal(shown.length, first.spots.reduce((n, x) => n + Object.keys(x.roi).length, 0));
    assert.ok(shown.every((p) => p === first.id));
    await page.selectOption('#pw-coverage-product', '');
    await page.screenshot({ path: path.join(ARTIFACTS, 'plant-wizard-coverage.png') });
    // an ROI typed past the sensor, not saved: red in the coverage at once
    await W.step(page, 4);
    const cam = Object.keys(SAMPLE.products[0].spots[0].roi)[0];
    await W.typeInto(page, `products[0].spots[0].roi.${cam}.x`, '2440');
    await page.click('#pw-view-coverage');
    assert.deepEqual(await page.$$eval('.pw-outside', (gs) => gs.map((g) => g.getAttribute('data-spot'))), [SAMPLE.products[0].spots[0].id]);
    assert.match(await page.textContent(`figure[data-camera="${cam}"] figcaption`), /1 ROI past the sensor/);
    // leave the page clean for the next test
    await W.step(page, 4);
    await W.typeInto(page, `products[0].spots[0].roi.${cam}.x`, String(SAMPLE.products[0].spots[0].roi[cam].x));
    await W.settled(page);
  });

  it('a read-only login reads, edits in the page and sees the problems, but cannot save, upload or run the actions', async function () {
    const r = await rt.request('POST', '/auth/token', { body: { client_id: 'node-red-editor', grant_type: 'password', scope: 'read', username: 'admin', password: PASSWORD } });
    assert.equal(r.status, 200, r.text);
    const full = await page.evaluate(() => localStorage.getItem('auth-tokens'));
    await page.evaluate((t) => localStorage.setItem('auth-tokens', JSON.stringify({ access_token: t, token_type: 'Bearer' })), r.json.access_token);
    try {
      await page.reload();
      await page.waitForFunction(() => /\(read only\)/.test(document.querySelector('#pw-user-name').textContent));
      assert.equal(await page.isDisabled('#pw-new'), true);
      assert.equal(await page.isDisabled('#pw-upload-file'), true);
      await W.openFile(page, 'plant.yaml');
      // an emptied field is a missing key: the schema's "is required", at the field
      await W.typeInto(page, 'plant.version', '');
      await W.settled(page);
      assert.match(await W.errorAt(page, 'plant.version'), /is required/);
      assert.equal(await page.isDisabled('#pw-save'), true, 'no save for a read-only login');
      await page.click('#pw-action-generate');
      assert.match(await page.textContent('#pw-readonly-note'), /may only read/);
      assert.equal(await page.locator('#pw-generate').count(), 0);
      assert.equal(fs.readFileSync(path.join(dir, 'plant.yaml'), 'utf8'), SAMPLE_TEXT);
    } finally {
      await page.evaluate((t) => localStorage.setItem('auth-tokens', t), full);
      await page.reload();
      await page.waitForFunction(() => document.querySelector('#pw-files option[value="plant.yaml"]'));
    }
  });

  it('generate writes what `spotfusion plant generate` writes, byte for byte', async function () {
    fs.writeFileSync(path.join(dir, 'gen.yaml'), SAMPLE_TEXT);
    await page.reload();
    await page.waitForFunction(() => document.querySelector('#pw-files option[value="gen.yaml"]'));
    await W.openFile(page, 'gen.yaml');
    await page.click('#pw-action-generate');
    await page.click('#pw-generate');
    await page.waitForSelector('#pw-generate-out .pw-good');
    assert.match(await page.textContent('#pw-generate-out'), /wrote \d+ files for 5 stations/);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-wizard-gen-'));
    fs.copyFileSync(path.join(dir, 'gen.yaml'), path.join(tmp, 'gen.yaml'));
    const r = cli(['generate', path.join(tmp, 'gen.yaml'), '--out', path.join(tmp, 'out')]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fileTree(path.join(dir, 'generated', 'gen')), fileTree(path.join(tmp, 'out')));
    fs.rmSync(tmp, { recursive: true, force: true });
  });
});
