'use strict';
// The plant wizard's endpoints (nodes/shared/plant-admin.ts) in a real Node-RED process under adminAuth: who may
// read and write, file names only, the CLI's validation with paths, a save that keeps the file's comments and
// refuses an invalid plant unless told, atomically, and a conflict when the file changed meanwhile.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { Runtime } = require('../support/runtime');
const { fileTree } = require('../support/plant-lab');
const os = require('node:os');
const { validatePlantFile } = require('../../dist/nodes/lib/plant/validate');
const { plantMain } = require('../../dist/nodes/lib/plant/cli');

const ROOT = path.join(__dirname, '..', '..');

const SAMPLE = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'plant.yaml'), 'utf8');

describe('plant wizard endpoints under adminAuth', function () {
  this.timeout(60000);
  const PASSWORD = crypto.randomBytes(12).toString('hex');
  let rt;
  let admin;
  let reader;
  let dir;

  before(async function () {
    rt = await Runtime.withAdminAuth(PASSWORD);
    dir = path.join(rt.userDir, 'plant');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'plant.yaml'), SAMPLE);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a plant file');
    await rt.start();
    admin = await rt.token('admin', PASSWORD);
    reader = await rt.token('admin', PASSWORD, 'read');
  });

  after(async function () {
    if (rt) await rt.stop();
  });

  it('asks for a login; a read-only login reads and validates but cannot save', async function () {
    for (const [m, p] of [
      ['GET', '/spotfusion/plant/files'],
      ['GET', '/spotfusion/plant/files/plant.yaml'],
      ['POST', '/spotfusion/plant/validate'],
      ['PUT', '/spotfusion/plant/files/plant.yaml'],
    ]) {
      assert.equal((await rt.request(m, p, { body: { value: {} } })).status, 401, `${m} ${p}`);
    }
    assert.equal((await rt.request('GET', '/spotfusion/plant/files', { token: reader })).status, 200);
    assert.equal((await rt.request('POST', '/spotfusion/plant/validate', { token: reader, body: { value: {} } })).status, 200);
    const put = await rt.request('PUT', '/spotfusion/plant/files/plant.yaml', { token: reader, body: { value: {} } });
    assert.equal(put.status, 401, put.text);
    assert.equal(fs.readFileSync(path.join(dir, 'plant.yaml'), 'utf8'), SAMPLE);
  });

  it('lists the plant files of the folder and opens one with its value, problems (none) and summary', async function () {
    const list = await rt.request('GET', '/spotfusion/plant/files', { token: reader });
    assert.deepEqual(list.json.files.map((f) => f.name), ['plant.yaml']);
    const f = await rt.request('GET', '/spotfusion/plant/files/plant.yaml', { token: reader });
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.text, SAMPLE);
    assert.equal(f.json.valid, true);
    assert.deepEqual(f.json.problems, []);
    assert.equal(f.json.summary.id, 'SF-DEMO');
    assert.equal(f.json.sha, crypto.createHash('sha256').update(SAMPLE).digest('hex'));
    assert.equal(f.json.value.plant.id, 'SF-DEMO');
  });

  it('takes names, never paths: a traversal or another extension is refused, an unknown file is 404', async function () {
    for (const name of ['..%2F..%2Fsettings.js', '..%2Fplant.yaml', 'notes.txt', '.hidden.yaml', 'a%00.yaml']) {
      const r = await rt.request('GET', `/spotfusion/plant/files/${name}`, { token: admin });
      assert.ok([400, 404].includes(r.status), `${name}: ${r.status}`);
      if (r.status === 400) assert.match(r.json.error, /is not a plant file name/);
    }
    const none = await rt.request('GET', '/spotfusion/plant/files/other.yaml', { token: admin });
    assert.equal(none.status, 404);
    assert.match(none.json.error, /plant file other\.yaml is not in/);
  });

  it('validates an edited plant with the CLI checks, each problem at its path', async function () {
    const v = JSON.parse(JSON.stringify((await rt.request('GET', '/spotfusion/plant/files/plant.yaml', { token: reader })).json.value));
    v.lines[0].areas[0].stations[0].devices.plc.protocol = 'profinet';
    v.lines[0].areas[0].stations[1].id = v.lines[0].areas[0].stations[0].id;
    const r = await rt.request('POST', '/spotfusion/plant/validate', { token: reader, body: { value: v } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.valid, false);
    assert.ok(r.json.problems.some((p) => p.path === 'lines[0].areas[0].stations[0].devices.plc.protocol'), JSON.stringify(r.json.problems));
    const fixed = JSON.parse(JSON.stringify(v));
    fixed.lines[0].areas[0].stations[0].devices.plc.protocol = 'ethernet-ip';
    const cross = await rt.request('POST', '/spotfusion/plant/validate', { token: reader, body: { value: fixed } });
    assert.equal(cross.json.valid, false);
    assert.ok(cross.json.problems.length >= 1 && cross.json.problems.every((p) => typeof p.path === 'string' && p.message), JSON.stringify(cross.json.problems));
    const bad = await rt.request('POST', '/spotfusion/plant/validate', { token: reader, body: { notValue: 1 } });
    assert.equal(bad.status, 400);
  });

  it('saves an edit into the file: only the changed lines differ, comments stay, the CLI validates it; an invalid plant is refused unless allowInvalid; a stale base is a conflict', async function () {
    const file = path.join(dir, 'plant.yaml');
    const opened = (await rt.request('GET', '/spotfusion/plant/files/plant.yaml', { token: admin })).json;
    const v = JSON.parse(JSON.stringify(opened.value));
    v.plant.name = 'Body shop, hall 2';
    v.lines[0].areas[0].stations[0].devices.plc.pollMs = 40;
    const saved = await rt.request('PUT', '/spotfusion/plant/files/plant.yaml', { token: admin, body: { value: v, base: opened.sha } });
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.json.valid, true);
    assert.deepEqual(saved.json.report, { changed: 2, unaliased: [], reformatted: false });
    const text = fs.readFileSync(file, 'utf8');
    const before = SAMPLE.split('\n');
    const after = text.split('\n');
    assert.equal(after.length, before.length);
    assert.deepEqual(after.map((l, i) => (l === before[i] ? null : i + 1)).filter(Boolean).length, 2);
    assert.ok(text.includes('# A sample plant for'), 'comments kept');
    assert.equal(validatePlantFile(file).ok, true, 'spotfusion plant validate passes on the saved file');
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');

    // the base it was opened with is now stale
    const stale = await rt.request('PUT', '/spotfusion/plant/files/plant.yaml', { token: admin, body: { value: v, base: opened.sha } });
    assert.equal(stale.status, 409, stale.text);
    assert.match(stale.json.error, /changed since it was opened/);

    const invalid = JSON.parse(JSON.stringify(v));
    invalid.lines[0].areas[0].stations[0].devices.plc.protocol = 'profinet';
    const refused = await rt.request('PUT', '/spotfusion/plant/files/plant.yaml', { token: admin, body: { value: invalid, base: saved.json.sha } });
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.json.code, 'INVALID');
    assert.ok(refused.json.problems.length >= 1);
    assert.equal(fs.readFileSync(file, 'utf8'), text, 'not written');
    const forced = await rt.request('PUT', '/spotfusion/plant/files/plant.yaml', { token: admin, body: { value: invalid, base: saved.json.sha, allowInvalid: true } });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.json.valid, false, 'saved, and the answer says invalid');
    assert.equal(validatePlantFile(file).ok, false);

    // a new file from the wizard
    const created = await rt.request('PUT', '/spotfusion/plant/files/plant-2.yaml', { token: admin, body: { value: v, base: null } });
    assert.equal(created.status, 200, created.text);
    assert.equal(validatePlantFile(path.join(dir, 'plant-2.yaml')).ok, true);
  });

  it('stores an uploaded plant file as it is: 422 when invalid unless allowInvalid, 409 for a name taken unless overwrite', async function () {
    const text = `# uploaded from a planner's laptop\n${SAMPLE}`;
    const denied = await rt.request('POST', '/spotfusion/plant/upload/up.yaml', { token: reader, body: { text } });
    assert.equal(denied.status, 401);
    const r = await rt.request('POST', '/spotfusion/plant/upload/up.yaml', { token: admin, body: { text } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.valid, true);
    assert.equal(fs.readFileSync(path.join(dir, 'up.yaml'), 'utf8'), text, 'byte for byte');
    const again = await rt.request('POST', '/spotfusion/plant/upload/up.yaml', { token: admin, body: { text } });
    assert.equal(again.status, 409, again.text);
    const broken = SAMPLE.replace('protocol: ethernet-ip', 'protocol: profinet');
    const refused = await rt.request('POST', '/spotfusion/plant/upload/up.yaml', { token: admin, body: { text: broken, overwrite: true } });
    assert.equal(refused.status, 422);
    assert.ok(refused.json.problems.some((p) => /protocol/.test(p.path) && p.message));
    assert.equal(fs.readFileSync(path.join(dir, 'up.yaml'), 'utf8'), text, 'not written');
    const notYaml = await rt.request('POST', '/spotfusion/plant/upload/junk.yaml', { token: admin, body: { text: 'plant: [unclosed' } });
    assert.equal(notYaml.status, 422);
    assert.ok(notYaml.json.problems[0].line >= 1, JSON.stringify(notYaml.json.problems));
    const stored = await rt.request('POST', '/spotfusion/plant/upload/up.yaml', { token: admin, body: { text: broken, overwrite: true, allowInvalid: true } });
    assert.equal(stored.status, 200);
    assert.equal(stored.json.valid, false);
    assert.equal((await rt.request('POST', '/spotfusion/plant/upload/x.yaml', { token: admin, body: {} })).status, 400);
  });

  it('generate writes exactly what `spotfusion plant generate` writes, into the plant folder; an invalid plant generates nothing (422)', async function () {
    fs.writeFileSync(path.join(dir, 'gen.yaml'), SAMPLE);
    const denied = await rt.request('POST', '/spotfusion/plant/generate/gen.yaml', { token: reader, body: {} });
    assert.equal(denied.status, 401, 'generating writes files: a full login');
    const r = await rt.request('POST', '/spotfusion/plant/generate/gen.yaml', { token: admin, body: {} });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.out, path.join(dir, 'generated', 'gen'));
    assert.match(r.json.messages[0], /^wrote \d+ files for 5 stations to /);
    // the CLI on the same file
    const cliOut = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-plant-cli-'));
    try {
      const io = { out: () => undefined, err: (l) => assert.fail(l) };
      assert.equal(plantMain(['generate', path.join(dir, 'gen.yaml'), '--out', cliOut], io, ROOT), 0);
      assert.deepEqual(fileTree(r.json.out), fileTree(cliOut));
    } finally {
      fs.rmSync(cliOut, { recursive: true, force: true });
    }
    fs.writeFileSync(path.join(dir, 'broken.yaml'), SAMPLE.replace('protocol: ethernet-ip', 'protocol: profinet'));
    const bad = await rt.request('POST', '/spotfusion/plant/generate/broken.yaml', { token: admin, body: {} });
    assert.equal(bad.status, 422, bad.text);
    assert.ok(bad.json.problems.length >= 1);
    assert.equal(fs.existsSync(path.join(dir, 'generated', 'broken')), false);
    // the viewer's production flow: the CLI's graph of the saved file (read permission)
    const g = await rt.request('GET', '/spotfusion/plant/graph/gen.yaml', { token: reader });
    assert.equal(g.status, 200, g.text);
    const { plantGraph } = require('../../dist/nodes/lib/plant/graph');
    const { parsePlant } = require('../../dist/nodes/lib/plant/validate');
    assert.equal(g.json.mermaid, plantGraph(parsePlant(SAMPLE, 'gen.yaml').value));
    assert.match(g.json.mermaid, /^flowchart/);
    assert.equal((await rt.request('GET', '/spotfusion/plant/graph/broken.yaml', { token: reader })).status, 422);
  });
});
