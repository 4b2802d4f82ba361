'use strict';
// The plant file (spotfusion plant validate|generate|graph): schema, every cross-reference rule with a failing
// fixture and its exact message, generation against golden files, the inventory deploy reads, the graph.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { parsePlant, validateLoaded, validatePlantFile, roiBounds, formatProblem } = require('../../dist/nodes/lib/plant/validate');
const { generatePlant, stableJson, templateDefault } = require('../../dist/nodes/lib/plant/generate');
const { plantGraph, plantGraphMarkdown } = require('../../dist/nodes/lib/plant/graph');
const { formatPath } = require('../../dist/nodes/lib/plant/model');
const { checkFlow, packageTypes } = require('../../dist/nodes/lib/deploy/flow-check');
const { LEGACY_PASSWORDS } = require('../support/legacy-passwords');
const { main, inventoryTargets } = require('../../dist/nodes/lib/deploy/cli');
const { assertValid } = require('../../dist/nodes/lib/schemas');

const ROOT = path.join(__dirname, '..', '..');
const SAMPLE = path.join(ROOT, 'docs', 'plant.yaml');
const FIX = path.join(ROOT, 'test', 'fixtures', 'plant');
const TEMPLATE = path.join(FIX, 'template.json');
const GOLDEN = path.join(FIX, 'golden');
const known = packageTypes(ROOT);

const sample = () => YAML.parse(fs.readFileSync(SAMPLE, 'utf8'));
/** Validate a plant object through the YAML path (as a file would be); problems without line numbers. */
function problemsOf(plant) {
  const r = validateLoaded(parsePlant(YAML.stringify(plant), 'p.yaml'));
  return r.problems.map((p) => ({ path: p.path, message: p.message }));
}
function mutated(fn) {
  const p = sample();
  fn(p);
  return p;
}
const st = (p, li, ai, si) => p.lines[li].areas[ai].stations[si];
const ST010 = 'lines[0].areas[0].stations[0]';
const ST020 = 'lines[0].areas[0].stations[1]';

async function cli(args) {
  const out = [];
  const err = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: {} }, ROOT);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sf-plant-'));
}

function genOpts(template = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'))) {
  return { template, templateName: 'template.json', known, plantName: 'plant.yaml' };
}

function listFiles(dir, base = dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name)).split(path.sep).join('/')]))
    .sort();
}

describe('plant: validate', function () {
  it('the sample plant (two lines, five stations, three products) is valid', function () {
    const r = validatePlantFile(SAMPLE);
    assert.deepEqual(r.problems, []);
    assert.equal(r.ok, true);
    assert.equal(r.plant.lines.length, 2);
    assert.equal(r.plant.lines.flatMap((l) => l.areas.flatMap((a) => a.stations)).length, 5);
    assert.equal(r.plant.products.length, 3);
  });

  it('formats paths as in the file', function () {
    assert.equal(formatPath(['lines', 0, 'areas', 1, 'stations', 2, 'devices', 'plc', 'address']), 'lines[0].areas[1].stations[2].devices.plc.address');
    assert.equal(formatPath([]), '(top level)');
    assert.equal(formatPath(['products', 0, 'spots', 1, 'roi', 'L1-UB-010-CAM1']), 'products[0].spots[1].roi.L1-UB-010-CAM1');
  });

  describe('schema problems name the field', function () {
    const cases = [
      ['a secret value where none belongs', (p) => (st(p, 0, 0, 0).devices.plc.password = 'x'), [{ path: `${ST010}.devices.plc.password`, message: 'is not allowed here' }]],
      ['a missing required field', (p) => delete st(p, 0, 0, 0).devices.edge, [{ path: `${ST010}.devices.edge`, message: 'is required' }]],
      ['an unknown protocol', (p) => (st(p, 0, 0, 0).devices.plc.protocol = 'modbus'), [{ path: `${ST010}.devices.plc.protocol`, message: 'must be one of "ethernet-ip", "opcua", "simulator"' }]],
      ['an id with a slash', (p) => (p.products[0].id = 'A/B'), [{ path: 'products[0].id', message: 'must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }]],
      ['a secret env name in lower case', (p) => (p.network.secrets[0].env = 'db_password'), [{ path: 'network.secrets[0].env', message: 'must match ^[A-Z_][A-Z0-9_]{0,127}$' }]],
    ];
    for (const [name, fn, expected] of cases) {
      it(name, function () {
        assert.deepEqual(problemsOf(mutated(fn)), expected);
      });
    }
  });

  describe('cross-reference rules (each with a failing fixture and its exact message)', function () {
    const cases = [
      // ids unique
      ['line ids unique', (p) => (p.lines[1].id = 'L1'), [{ path: 'lines[1].id', message: 'line id "L1" is already used by lines[0].id' }]],
      ['area ids unique within a line', (p) => (p.lines[0].areas[1].id = 'UB'), [{ path: 'lines[0].areas[1].id', message: 'area id "UB" is already used by lines[0].areas[0].id' }]],
      ['station ids unique', (p) => (st(p, 1, 0, 0).id = 'L1-UB-010'), [{ path: 'lines[1].areas[0].stations[0].id', message: 'station id "L1-UB-010" is already used by lines[0].areas[0].stations[0].id' }]],
      ['device ids unique', (p) => (st(p, 0, 0, 1).devices.cameras[0].id = 'L1-UB-010-PLC'), null],
      ['product ids unique', (p) => (p.products[1].id = 'SEDAN-A'), null],
      ['panel ids unique', (p) => (p.products[0].panels[1].id = 'SA-FLOOR'), null],
      ['stackup ids unique', (p) => (p.products[0].stackups[1].id = 'SA-T1'), [{ path: 'products[0].stackups[1].id', message: 'stackup id "SA-T1" is already used by products[0].stackups[0].id' }]],
      ['spot ids unique in the plant', (p) => (p.products[1].spots[0].id = 'SA-001'), null],
      ['model ids unique', (p) => (p.inspection.models[1].id = 'weld-steel'), null],
      ['spot class ids unique', (p) => (p.inspection.classes[1].id = 'steel'), null],
      ['rule ids unique', (p) => (p.weldProcess.rules[1].id = 'std'), null],
      ['secret names unique', (p) => (p.network.secrets[1].env = 'DATABASE_PASSWORD'), [{ path: 'network.secrets[1].env', message: 'secret id "DATABASE_PASSWORD" is already used by network.secrets[0].env' }]],
      ['programs unique', (p) => (p.products[2].program = 1), [{ path: 'products[2].program', message: 'program 1 is already used by products[0].program' }]],
      // addresses
      ['IP addresses unique', (p) => (st(p, 0, 0, 1).devices.plc.address = '10.10.1.11'), [{ path: `${ST020}.devices.plc.address`, message: `address 10.10.1.11 is also used by ${ST010}.devices.plc.address` }]],
      ['IP addresses unique across device kinds', (p) => (st(p, 1, 0, 1).devices.edge.address = '10.10.1.21'), [{ path: 'lines[1].areas[0].stations[1].devices.edge.address', message: `address 10.10.1.21 is also used by ${ST010}.devices.cameras[0].address` }]],
      ['a PLC needs an address', (p) => delete st(p, 0, 0, 0).devices.plc.address, [{ path: `${ST010}.devices.plc.address`, message: 'PLC protocol ethernet-ip needs an address' }]],
      ['a GigE camera needs an address', (p) => delete st(p, 0, 0, 0).devices.cameras[0].address, [{ path: `${ST010}.devices.cameras[0].address`, message: 'a GigE Vision camera needs an address' }]],
      ['an HTTP camera needs a url', (p) => delete st(p, 0, 1, 0).devices.cameras[0].url, [{ path: 'lines[0].areas[1].stations[0].devices.cameras[0].url', message: 'an HTTP snapshot camera needs a url' }]],
      ['a folder camera needs a folder', (p) => delete st(p, 1, 0, 1).devices.cameras[0].folder, [{ path: 'lines[1].areas[0].stations[1].devices.cameras[0].folder', message: 'a watched-folder camera needs a folder' }]],
      // PLC tag map complete for the handshake
      ['the handshake needs every tag', (p) => delete st(p, 1, 0, 1).devices.plc.tags.resultNok, [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.resultNok', message: 'the handshake needs the resultNok tag' }]],
      ['handshake bits are BOOL', (p) => (st(p, 1, 0, 1).devices.plc.tags.done.type = 'DINT'), [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.done.type', message: 'done must be BOOL for the handshake, got DINT' }]],
      ['the result code is an integer', (p) => (st(p, 1, 0, 1).devices.plc.tags.resultCode.type = 'REAL'), [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.resultCode.type', message: 'resultCode must be an integer type, got REAL' }]],
      ['the program is an integer or text', (p) => (st(p, 1, 0, 1).devices.plc.tags.program.type = 'LREAL'), [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.program.type', message: 'program must be an integer type or STRING, got LREAL' }]],
      ['tag addresses unique in a map', (p) => (st(p, 1, 0, 1).devices.plc.tags.ack.address = 'ns=2;s=BS020.Busy'), [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.ack.address', message: 'tag address ns=2;s=BS020.Busy is also used by lines[1].areas[0].stations[1].devices.plc.tags.busy.address' }]],
      ['extra tags do not take a role name', (p) => {
        st(p, 1, 0, 1).devices.plc.tags.extra = [{ name: 'serial', address: 'ns=2;s=X', type: 'DINT' }];
      }, [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.extra[0].name', message: 'extra tag name serial is reserved' }]],
      ['extra tag names unique', (p) => {
        st(p, 1, 0, 1).devices.plc.tags.extra = [{ name: 'n', address: 'ns=2;s=X', type: 'DINT' }, { name: 'n', address: 'ns=2;s=Y', type: 'DINT' }];
      }, [{ path: 'lines[1].areas[0].stations[1].devices.plc.tags.extra[1].name', message: 'extra tag id "n" is already used by lines[1].areas[0].stations[1].devices.plc.tags.extra[0].name' }]],
      // references
      ['a class names a model that exists', (p) => (p.inspection.classes[1].model = 'weld-x'), [{ path: 'inspection.classes[1].model', message: 'model "weld-x" is not in inspection.models' }]],
      ['a spot names a panel of its product', (p) => (p.products[0].spots[0].panel = 'SB-FLOOR'), [{ path: 'products[0].spots[0].panel', message: 'panel "SB-FLOOR" is not a panel of product SEDAN-A' }]],
      ['a spot names a stackup of its product', (p) => (p.products[0].spots[0].stackup = 'SB-T1'), [{ path: 'products[0].spots[0].stackup', message: 'stackup "SB-T1" is not a stackup of product SEDAN-A' }]],
      ['a spot names a class', (p) => (p.products[0].spots[0].class = 'copper'), [{ path: 'products[0].spots[0].class', message: 'spot class "copper" is not in inspection.classes' }]],
      ['a spot names a rule', (p) => (p.products[0].spots[0].rule = 'strict'), [{ path: 'products[0].spots[0].rule', message: 'rule "strict" is not in weldProcess.rules' }]],
      ['an ROI names a camera that exists', (p) => (p.products[0].spots[4].roi = { 'L1-UB-020-CAM1': p.products[0].spots[4].roi['L1-UB-020-CAM1'], 'CAM-X': { x: 1, y: 1, w: 8, h: 8 } }), [{ path: 'products[0].spots[4].roi.CAM-X', message: 'camera "CAM-X" is not a camera of any station' }]],
      ['the process flow names a station', (p) => (p.processFlow[7].station = 'L9-XX-999'), [
        { path: 'processFlow[7].station', message: 'station "L9-XX-999" is not a station of the plant' },
        { path: 'products[2].spots[2].roi.L2-BS-020-CAM1', message: 'camera L2-BS-020-CAM1 of station L2-BS-020 has an ROI for spot WG-003, but processFlow does not have L2-BS-020 inspect it' },
        { path: 'products[2].spots[3].roi.L2-BS-020-CAM1', message: 'camera L2-BS-020-CAM1 of station L2-BS-020 has an ROI for spot WG-004, but processFlow does not have L2-BS-020 inspect it' },
      ]],
      ['the process flow names a product', (p) => p.processFlow.push({ station: 'L1-UB-010', product: 'COUPE', spots: ['C-1'] }), [{ path: 'processFlow[8].product', message: 'product "COUPE" is not a product of the plant' }]],
      ['the process flow names spots of its product', (p) => p.processFlow[0].spots.push('SB-001'), [{ path: 'processFlow[0].spots[3]', message: 'spot "SB-001" is not a spot of product SEDAN-A' }]],
      ['a spot is listed once per station', (p) => p.processFlow[0].spots.push('SA-001'), [{ path: 'processFlow[0].spots[3]', message: 'spot "SA-001" is listed twice for station L1-UB-010' }]],
      ['one entry per station and product', (p) => p.processFlow.push({ station: 'L1-UB-010', product: 'SEDAN-A', spots: ['SA-001'] }), [{ path: 'processFlow[8]', message: 'station L1-UB-010 and product SEDAN-A already have an entry at processFlow[0]' }]],
      // every spot inspected by exactly the stations the process flow says
      ['a station inspects only spots its cameras see', (p) => p.processFlow[2].spots.push('SA-001'), [{ path: 'processFlow[2].spots[2]', message: 'station L1-UB-020 inspects spot SA-001, but the spot has no ROI for a camera of L1-UB-020' }]],
      ['every spot is inspected by some station', (p) => p.processFlow.splice(6, 1), [{ path: 'products[2].spots[0]', message: 'spot WG-001 of product WAGON is inspected by no station in processFlow' }, { path: 'products[2].spots[0].roi.L2-BS-010-CAM1', message: 'camera L2-BS-010-CAM1 of station L2-BS-010 has an ROI for spot WG-001, but processFlow does not have L2-BS-010 inspect it' }, { path: 'products[2].spots[1]', message: 'spot WG-002 of product WAGON is inspected by no station in processFlow' }, { path: 'products[2].spots[1].roi.L2-BS-010-CAM1', message: 'camera L2-BS-010-CAM1 of station L2-BS-010 has an ROI for spot WG-002, but processFlow does not have L2-BS-010 inspect it' }]],
      ['a camera that sees a spot means its station inspects it', (p) => (p.products[0].spots[0].roi['L1-SF-030-CAM1'] = { x: 10, y: 10, w: 50, h: 50 }), [{ path: 'products[0].spots[0].roi.L1-SF-030-CAM1', message: 'camera L1-SF-030-CAM1 of station L1-SF-030 has an ROI for spot SA-001, but processFlow does not have L1-SF-030 inspect it' }]],
      // ROIs inside the sensor
      ['an ROI lies inside the sensor', (p) => (p.products[0].spots[2].roi['L1-SF-030-CAM1'] = { x: 1880, y: 500, w: 80, h: 80 }), [{ path: 'products[0].spots[2].roi.L1-SF-030-CAM1', message: 'ROI x 1880..1960, y 500..580 lies outside the 1920×1200 sensor of camera L1-SF-030-CAM1' }]],
      ['a rotated ROI lies inside the sensor', (p) => (p.products[0].spots[2].roi['L1-SF-030-CAM1'] = { x: 1820, y: 500, w: 100, h: 20, rotation: 90 }), null],
      ['an ROI does not start left of the sensor', (p) => (p.products[0].spots[2].roi['L1-SF-030-CAM1'] = { x: -1, y: 0, w: 10, h: 10 }), [{ path: 'products[0].spots[2].roi.L1-SF-030-CAM1', message: 'ROI x -1..9, y 0..10 lies outside the 1920×1200 sensor of camera L1-SF-030-CAM1' }]],
      // secrets: names only
      ['no legacy password anywhere', (p) => (p.plant.name = `pw ${LEGACY_PASSWORDS[0]}`), [{ path: 'plant.name', message: 'contains a known legacy password: secrets are environment variables, named in network.secrets' }]],
    ];
    const expectedDefaults = {
      'device ids unique': [{ path: `${ST020}.devices.cameras[0].id`, message: `device id "L1-UB-010-PLC" is already used by ${ST010}.devices.plc.id` }],
      'product ids unique': [{ path: 'products[1].id', message: 'product id "SEDAN-A" is already used by products[0].id' }],
      'panel ids unique': [{ path: 'products[0].panels[1].id', message: 'panel id "SA-FLOOR" is already used by products[0].panels[0].id' }],
      'spot ids unique in the plant': [{ path: 'products[1].spots[0].id', message: 'spot id "SA-001" is already used by products[0].spots[0].id' }],
      'model ids unique': [{ path: 'inspection.models[1].id', message: 'model id "weld-steel" is already used by inspection.models[0].id' }],
      'spot class ids unique': [{ path: 'inspection.classes[1].id', message: 'spot class id "steel" is already used by inspection.classes[0].id' }],
      'rule ids unique': [{ path: 'weldProcess.rules[1].id', message: 'rule id "std" is already used by weldProcess.rules[0].id' }],
      'a rotated ROI lies inside the sensor': [{ path: 'products[0].spots[2].roi.L1-SF-030-CAM1', message: 'ROI x 1860..1880, y 470..570 lies outside the 1920×1200 sensor of camera L1-SF-030-CAM1' }],
    };
    for (const [name, fn, expected] of cases) {
      it(name, function () {
        const want = expected ?? expectedDefaults[name];
        const got = problemsOf(mutated(fn));
        if (name === 'spot ids unique in the plant') {
          // the renamed spot is also "listed" by the process flow of SEDAN-B no more: only the id rule matters here
          assert.deepEqual(got.filter((g) => g.path === 'products[1].spots[0].id'), want);
          return;
        }
        if (name === 'a rotated ROI lies inside the sensor') {
          // 100×20 turned by 90° is 20×100 about the same centre (1870, 510): inside; moved down it is not
          assert.deepEqual(got, []);
          assert.deepEqual(problemsOf(mutated((p) => (p.products[0].spots[2].roi['L1-SF-030-CAM1'] = { x: 1820, y: 1150, w: 100, h: 20, rotation: 90 }))), [
            { path: 'products[0].spots[2].roi.L1-SF-030-CAM1', message: 'ROI x 1860..1880, y 1110..1210 lies outside the 1920×1200 sensor of camera L1-SF-030-CAM1' },
          ]);
          return;
        }
        if (/ids unique/.test(name)) {
          // renaming an id also leaves the references to the old id dangling (reported too): the duplicate itself
          // is reported at its path with exactly this message
          assert.deepEqual(got.filter((g) => want.some((w) => w.path === g.path)), want);
          return;
        }
        assert.deepEqual(got, want);
      });
    }
  });

  it('computes the frame box of rotated ROIs', function () {
    assert.deepEqual(roiBounds({ x: 0, y: 0, w: 10, h: 10 }), [0, 0, 10, 10]);
    assert.deepEqual(roiBounds({ x: 0, y: 0, w: 20, h: 10, rotation: 90 }), [5, -5, 15, 15]);
    const [x0, , x1] = roiBounds({ x: 0, y: 0, w: 10, h: 10, rotation: 45 });
    assert.ok(Math.abs(x1 - x0 - 10 * Math.SQRT2) < 0.01);
  });

  it('reports the line of each problem and YAML syntax errors with their line', function () {
    const text = fs.readFileSync(SAMPLE, 'utf8').replace('address: 10.10.1.12', 'address: 10.10.1.11');
    const r = validateLoaded(parsePlant(text, 'p.yaml'));
    assert.equal(r.problems.length, 1);
    const line = text.split('\n').findIndex((l, i) => i > text.split('\n').findIndex((x) => x.includes('L1-UB-020-PLC')) && l.includes('address: 10.10.1.11')) + 1;
    assert.equal(formatProblem('p.yaml', r.problems[0]), `p.yaml:${line}: ${ST020}.devices.plc.address: address 10.10.1.11 is also used by ${ST010}.devices.plc.address`);
    const bad = validateLoaded(parsePlant('plant:\n  id: x\n  id: y\n', 'b.yaml'));
    assert.equal(bad.ok, false);
    assert.equal(bad.problems[0].path, '(file)');
    assert.equal(bad.problems[0].line, 3);
    assert.match(bad.problems[0].message, /unique/i);
  });

  it('reads JSON as well as YAML', function () {
    const r = validateLoaded(parsePlant(JSON.stringify(sample()), 'p.json'));
    assert.deepEqual(r.problems, []);
  });
});

describe('plant: generate', function () {
  this.timeout(20000);

  it('matches the golden files (sample plant, test template)', function () {
    const plant = validatePlantFile(SAMPLE).plant;
    const g = generatePlant(plant, genOpts());
    assert.deepEqual(g.problems, []);
    if (process.env.UPDATE_GOLDEN === '1') {
      fs.rmSync(GOLDEN, { recursive: true, force: true });
      for (const f of g.files) {
        fs.mkdirSync(path.dirname(path.join(GOLDEN, f.path)), { recursive: true });
        fs.writeFileSync(path.join(GOLDEN, f.path), f.content);
      }
    }
    assert.deepEqual(g.files.map((f) => f.path).sort(), listFiles(GOLDEN));
    for (const f of g.files) assert.equal(f.content, fs.readFileSync(path.join(GOLDEN, f.path), 'utf8'), f.path);
  });

  it('is deterministic: same input, same bytes, whatever the key order of the input', function () {
    const a = generatePlant(validatePlantFile(SAMPLE).plant, genOpts()).files;
    const shuffled = JSON.parse(JSON.stringify(sample(), (k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
    const b = generatePlant(shuffled, genOpts()).files;
    assert.deepEqual(b, a);
    assert.ok(a.every((f) => !/\d{4}-\d\d-\d\dT\d\d:/.test(f.content)), 'no timestamps');
  });

  it('gives every station a flow that passes checkFlow, recipes and rules that pass their schemas, and the station values in the tab env', function () {
    const g = generatePlant(validatePlantFile(SAMPLE).plant, genOpts());
    const byPath = new Map(g.files.map((f) => [f.path, f.content]));
    assert.deepEqual(g.stations, ['L1-UB-010', 'L1-UB-020', 'L1-SF-030', 'L2-BS-010', 'L2-BS-020']);
    for (const id of g.stations) {
      const flow = JSON.parse(byPath.get(`stations/${id}/flow.json`));
      assert.deepEqual(checkFlow(flow, id, known).problems, []);
      const recipes = JSON.parse(byPath.get(`stations/${id}/recipes.json`));
      assertValid('recipe-set', recipes);
      assert.equal(flow.find((n) => n.type === 'spotfusion-recipe-config').recipes, JSON.stringify(JSON.parse(flow.find((n) => n.type === 'spotfusion-recipe-config').recipes)));
      assert.deepEqual(JSON.parse(flow.find((n) => n.type === 'spotfusion-recipe-config').recipes), recipes);
      assertValid('verdict-rules', JSON.parse(flow.find((n) => n.type === 'enrich').rules));
      const env = Object.fromEntries(flow.find((n) => n.id === 't_tab').env.map((e) => [e.name, e]));
      assert.deepEqual(env.STATION_ID, { name: 'STATION_ID', type: 'str', value: id });
    }
    const l2 = JSON.parse(byPath.get('stations/L2-BS-020/flow.json'));
    assert.equal(l2.find((n) => n.type === 'plc-config').endpoint, 'opc.tcp://10.20.1.12:4840');
    assert.deepEqual(l2.find((n) => n.type === 'plc-read').tags.map((t) => t.address), ['ns=2;s=BS020.Trigger', 'ns=2;s=BS020.PartSerial', 'ns=2;s=BS020.ProgramNo']);
    assert.equal(l2.find((n) => n.type === 'plc-write').tags.find((t) => t.name === 'ResultCode').address, 'ns=2;s=BS020.ResultCode');
    const rules = JSON.parse(l2.find((n) => n.type === 'enrich').rules);
    assert.deepEqual(rules.spots['WG-003'], { stackup: 'WAGON/WG-T2', minScore: 0.6, minDiameter: 6 });
    assert.deepEqual(rules.stackups, { 'WAGON/WG-T2': { t: 1.2 } });
    const l1 = JSON.parse(byPath.get('stations/L1-UB-010/flow.json'));
    assert.deepEqual(JSON.parse(l1.find((n) => n.type === 'enrich').rules).stackups['SEDAN-A/SA-T2@structural'], { t: 1.2, k: 5 });
    // the database and broker are targets of the station's one result-publish (one outbox) because the plant
    // names those services: RESULT_TARGETS adds them to the template's default; no tab is enabled or disabled
    const l1env = Object.fromEntries(l1.find((n) => n.id === 't_tab').env.map((e) => [e.name, e]));
    assert.deepEqual(l1env.RESULT_TARGETS, { name: 'RESULT_TARGETS', type: 'str', value: 'sqlite,postgres,amqp' });
    assert.deepEqual(l1.filter((n) => n.type === 'tab').map((n) => [n.id, n.disabled]), [['t_tab', false]]);
    assert.equal(l1.find((n) => n.type === 'result-publish').targets, '${RESULT_TARGETS}');
    const cam = l1.find((n) => n.type === 'spotfusion-camera-config');
    assert.deepEqual([cam.exposure, cam.gain, cam.pixelFormat, cam.packetSize, cam.trigger], ['8000', '2', 'Mono8', 1500, 'software']);
  });

  it('writes env files with every variable, station values filled and secrets only named', function () {
    const g = generatePlant(validatePlantFile(SAMPLE).plant, genOpts());
    const env = g.files.find((f) => f.path === 'stations/L1-SF-030/station.env').content;
    const vars = env.split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => l.split('=')[0]);
    const template = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
    const declared = template.filter((n) => n.type === 'tab').flatMap((t) => t.env.map((e) => e.name));
    assert.deepEqual([...vars].sort(), [...declared].sort());
    assert.match(env, /^CAMERA_URL=http:\/\/10\.10\.2\.21\/snapshot\.png$/m);
    assert.match(env, /^CAMERA_HOST=$/m);
    assert.match(env, /^PLC_SIM_PERIOD_MS=1000$/m, 'template default where the plant sets nothing');
    for (const s of ['DATABASE_PASSWORD', 'AMQP_PASSWORD', 'NODE_RED_CREDENTIAL_SECRET']) assert.match(env, new RegExp(`^# ${s}=$`, 'm'));
    assert.doesNotMatch(env, /^[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*=./m);
  });

  it('writes an inventory that spotfusion deploy --inventory reads as it is', function () {
    const dir = tmpDir();
    const g = generatePlant(validatePlantFile(SAMPLE).plant, genOpts());
    for (const f of g.files) {
      fs.mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.path), f.content);
    }
    const targets = inventoryTargets(path.join(dir, 'stations.yaml'), undefined);
    assert.deepEqual(targets.map((t) => [t.name, t.url, t.user, t.passwordEnv]), [
      ['L1-UB-010', 'http://10.10.1.31:1880', 'deployer', 'SPOTFUSION_DEPLOY_PASSWORD'],
      ['L1-UB-020', 'http://10.10.1.32:1880', 'deployer', 'SPOTFUSION_DEPLOY_PASSWORD'],
      ['L1-SF-030', 'http://10.10.2.31:1880', 'deployer', 'SPOTFUSION_DEPLOY_PASSWORD'],
      ['L2-BS-010', 'http://10.20.1.31:1880', 'deployer', 'SPOTFUSION_DEPLOY_PASSWORD'],
      ['L2-BS-020', 'http://10.20.1.32:1880', 'deployer', 'SPOTFUSION_DEPLOY_PASSWORD'],
    ]);
    for (const t of targets) {
      assert.equal(t.flow, path.join(dir, 'stations', t.name, 'flow.json'));
      assert.deepEqual(t.env, {});
      assert.deepEqual(checkFlow(JSON.parse(fs.readFileSync(t.flow, 'utf8')), t.flow, known).problems, []);
    }
  });

  it('RESULT_TARGETS: the template default plus one target per service the plant names; not set without services', function () {
    const targetsOf = (plant, template) => {
      const g = generatePlant(plant, genOpts(template));
      assert.deepEqual(g.problems, []);
      const flow = JSON.parse(g.files.find((f) => f.path === 'stations/L1-UB-010/flow.json').content);
      const env = flow.find((n) => n.type === 'tab').env.find((e) => e.name === 'RESULT_TARGETS');
      return env.type === 'str' ? env.value : `default ${templateDefault(env)}`;
    };
    assert.equal(targetsOf(validatePlantFile(SAMPLE).plant), 'sqlite,postgres,amqp');
    const station = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'station.json'), 'utf8'));
    assert.equal(targetsOf(mutated((p) => (p.network.services.mqtt = { host: '10.0.0.12' })), station), 'sqlite,postgres,amqp,mqtt');
    assert.equal(targetsOf(mutated((p) => delete p.network.services)), 'default sqlite', 'no service: the template default stands');
    const t = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
    const noSqlite = t.map((n) => (n.type === 'tab' ? { ...n, env: n.env.map((e) => (e.name === 'RESULT_TARGETS' ? { ...e, value: '$env("RESULT_TARGETS") ? $env("RESULT_TARGETS") : ""' } : e)) } : n));
    assert.equal(targetsOf(validatePlantFile(SAMPLE).plant, noSqlite), 'default ', 'an empty default (every configured target on) stands');
  });

  it('reads template defaults of both tab env forms', function () {
    assert.equal(templateDefault({ name: 'A', type: 'jsonata', value: '$env("A") ? $env("A") : "x\\"y"' }), 'x"y');
    assert.equal(templateDefault({ name: 'A', type: 'str', value: 'v' }), 'v');
    assert.equal(templateDefault({ name: 'A', type: 'num', value: 3 }), '3');
    assert.equal(templateDefault({ name: 'A', type: 'jsonata', value: '$env("B") ? 1 : 2' }), undefined);
    assert.equal(stableJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{\n  "a": [\n    {\n      "c": 2,\n      "d": 1\n    }\n  ],\n  "b": 1\n}\n');
  });

  describe('what the station flow cannot run is reported with the station path', function () {
    const plantOf = (fn) => mutated(fn);
    const cases = [
      ['a station whose spots need two cameras', (p) => {
        st(p, 0, 0, 0).devices.cameras.push({ id: 'L1-UB-010-CAM2', source: 'simulator', sensor: { width: 2448, height: 2048 } });
        p.products[0].spots[1].roi = { 'L1-UB-010-CAM2': { x: 10, y: 10, w: 50, h: 50 } };
      }, [{ path: `${ST010}.devices.cameras`, message: 'the station flow runs one camera, but the spots of L1-UB-010 are seen by L1-UB-010-CAM1 and L1-UB-010-CAM2' }]],
      ['a station whose spots need two models', (p) => (p.products[0].spots[0].class = 'aluminium'), [{ path: `${ST010}.id`, message: 'the station flow runs one model, but the spots of L1-UB-010 need weld-alu and weld-steel' }]],
      ['a station that inspects nothing', (p) => {
        p.processFlow = p.processFlow.filter((s) => s.station !== 'L1-SF-030');
        for (const s of p.products.flatMap((x) => x.spots)) delete s.roi['L1-SF-030-CAM1'];
      }, [{ path: 'lines[0].areas[1].stations[0].id', message: 'station L1-SF-030 inspects nothing in processFlow: there is no recipe to generate' }]],
    ];
    for (const [name, fn, expected] of cases) {
      it(name, function () {
        const plant = plantOf(fn);
        assert.deepEqual(problemsOf(plant), [], 'the plant itself is valid');
        const g = generatePlant(plant, genOpts());
        assert.deepEqual(g.problems.map((p) => ({ path: p.path, message: p.message })), expected);
        assert.deepEqual(g.files, []);
      });
    }

    it('a template without a variable the plant sets, without plc-read, or with a write tag that is not the handshake', function () {
      const plant = validatePlantFile(SAMPLE).plant;
      const t = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
      const withoutVars = (re) => t.map((n) => (n.type === 'tab' ? { ...n, env: n.env.filter((e) => !re.test(e.name)) } : n));
      const noDb = withoutVars(/^DATABASE_/).filter((n) => n.id !== 't_db').map((n) => (n.type === 'result-publish' ? { ...n, postgres: '' } : n));
      const g1 = generatePlant(plant, genOpts(noDb));
      assert.equal(g1.problems.length, 5);
      assert.deepEqual(g1.problems[0], { path: `${ST010}.id`, message: 'template.json: the template has no variable for DATABASE_HOST, DATABASE_NAME, DATABASE_PORT, DATABASE_SCHEMA', line: undefined });
      // an old template (target tabs, no RESULT_TARGETS): the plant's services cannot be switched on, said by name
      const noTargets = withoutVars(/^RESULT_TARGETS$/).map((n) => (n.type === 'result-publish' ? { ...n, targets: '' } : n));
      const g5 = generatePlant(plant, genOpts(noTargets));
      assert.equal(g5.problems.length, 5);
      assert.equal(g5.problems[0].message, 'template.json: the template has no variable for RESULT_TARGETS');
      const g2 = generatePlant(plant, genOpts(t.filter((n) => n.type !== 'plc-read')));
      assert.equal(g2.problems[0].message, 'template.json: the station flow template needs exactly one plc-read node, it has 0');
      const g3 = generatePlant(plant, genOpts(t.filter((n) => n.type !== 'enrich' && n.id !== 't_infer')));
      assert.equal(g3.problems[0].message, 'template.json: the station tab of the template needs exactly one enrich node, it has 0');
      const odd = t.map((n) => (n.type === 'plc-write' ? { ...n, tags: [...n.tags, { name: 'Lamp', address: 'Lamp', type: 'BOOL' }] } : n));
      const g4 = generatePlant(plant, genOpts(odd));
      assert.equal(g4.problems[0].message, 'template.json: plc-write tag Lamp of node t_wbusy has no handshake tag in the plant');
      const badRules = t.map((n) => (n.type === 'enrich' ? { ...n, rules: '{nope' } : n));
      assert.match(generatePlant(plant, genOpts(badRules)).problems[0].message, /^template\.json: enrich node t_enrich has rules that are not JSON/);
    });
  });

  it('with the package station flow (flows/station.json): every station flow passes checkFlow', function () {
    const file = path.join(ROOT, 'flows', 'station.json');
    const g = generatePlant(validatePlantFile(SAMPLE).plant, { ...genOpts(JSON.parse(fs.readFileSync(file, 'utf8'))), templateName: 'station.json' });
    assert.deepEqual(g.problems, []);
    assert.equal(g.stations.length, 5);
    for (const f of g.files.filter((x) => x.path.endsWith('flow.json'))) assert.deepEqual(checkFlow(JSON.parse(f.content), f.path, known).problems, [], f.path);
  });
});

describe('plant: graph', function () {
  it('draws lines → areas → stations → devices and the process flow', function () {
    const g = plantGraph(validatePlantFile(SAMPLE).plant);
    assert.match(g, /^flowchart LR\n/);
    assert.match(g, /subgraph line_L1\["line L1<br\/>Sedan line"\]/);
    assert.match(g, /st_L1_UB_010 --- dev_L1_UB_010_PLC/);
    assert.match(g, /dev_L2_BS_020_PLC\[\("PLC L2-BS-020-PLC<br\/>opcua<br\/>10\.20\.1\.12"\)\]/);
    assert.match(g, /prod_SEDAN_A -\.->\|3 spots\| st_L1_UB_010\n {2}st_L1_UB_010 -\.->\|2 spots\| st_L1_UB_020\n {2}st_L1_UB_020 -\.->\|1 spot\| st_L1_SF_030/);
    assert.equal((g.match(/ --- /g) || []).length, 15, 'a PLC, a camera and an edge panel for each of the five stations');
  });

  it('docs/plant-example.md is the graph of the sample, up to date', function () {
    const md = plantGraphMarkdown(validatePlantFile(SAMPLE).plant, 'docs/plant.yaml');
    assert.equal(fs.readFileSync(path.join(ROOT, 'docs', 'plant-example.md'), 'utf8'), md);
    assert.match(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /docs\/plant-example\.md/);
  });
});

describe('plant: the spotfusion plant command', function () {
  this.timeout(20000);

  it('validate: exit 0 on the sample, 1 with every problem and its line, 2 on usage', async function () {
    const ok = await cli(['plant', 'validate', SAMPLE]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^ok .*plant\.yaml \(plant SF-DEMO 2025\.11\.1: 2 lines, 5 stations, 3 products, 12 spots\)$/);
    const dir = tmpDir();
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(SAMPLE, 'utf8').replace('id: L1-UB-020-EDGE, address: 10.10.1.32', 'id: L1-UB-020-EDGE, address: 10.10.1.31').replace(/^ *busy: \{ address: "ns=2;s=BS020\.Busy", type: BOOL \}\n/m, ''));
    const r = await cli(['plant', 'validate', bad]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.err.split('\n'), [
      `error ${bad}:59: ${ST020}.devices.edge.address: address 10.10.1.31 is also used by ${ST010}.devices.edge.address`,
      `error ${bad}:107: lines[1].areas[0].stations[1].devices.plc.tags.busy: the handshake needs the busy tag`,
    ]);
    const syntax = path.join(dir, 'syntax.yaml');
    fs.writeFileSync(syntax, 'plant: [\n');
    const s = await cli(['plant', 'validate', syntax]);
    assert.equal(s.code, 1);
    assert.match(s.err, /^error .*syntax\.yaml:\d+: \(file\): /);
    assert.equal((await cli(['plant', 'validate', path.join(dir, 'missing.yaml')])).code, 2);
    assert.equal((await cli(['plant', 'validate'])).code, 2);
    assert.equal((await cli(['plant', 'frobnicate', SAMPLE])).code, 2);
    assert.equal((await cli(['plant'])).code, 2);
    assert.equal((await cli(['plant', 'validate', SAMPLE, '--bogus', 'x'])).code, 2);
    assert.equal((await cli(['plant', 'generate', SAMPLE])).code, 2, 'generate needs --out');
    assert.equal((await cli(['plant', 'generate', SAMPLE, '--out', dir, '--out', dir])).code, 2);
    assert.equal((await cli(['plant', 'generate', SAMPLE, '--out', dir, '--template', path.join(dir, 'none.json')])).code, 2);
    fs.writeFileSync(path.join(dir, 'notflow.json'), '{}');
    assert.equal((await cli(['plant', 'generate', SAMPLE, '--out', dir, '--template', path.join(dir, 'notflow.json')])).code, 2);
    assert.equal((await cli(['plant', 'generate', bad, '--out', dir, '--template', TEMPLATE])).code, 1);
    assert.equal((await cli(['plant', 'graph', bad])).code, 1);
    const help = await cli(['help']);
    assert.match(help.out, /spotfusion plant generate PLANT\.yaml --out DIR/);
  });

  it('generate: writes the golden tree, again byte for byte, and removes the folder of a station that left the plant', async function () {
    const out = tmpDir();
    const r = await cli(['plant', 'generate', SAMPLE, '--out', out, '--template', TEMPLATE]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote 21 files for 5 stations to /);
    assert.deepEqual(listFiles(out), listFiles(GOLDEN));
    for (const f of listFiles(GOLDEN)) assert.equal(fs.readFileSync(path.join(out, f), 'utf8'), fs.readFileSync(path.join(GOLDEN, f), 'utf8'), f);
    fs.mkdirSync(path.join(out, 'stations', 'OLD-STATION'));
    fs.writeFileSync(path.join(out, 'stations', 'OLD-STATION', 'flow.json'), '[]');
    fs.mkdirSync(path.join(out, 'stations', 'NOTES'));
    fs.writeFileSync(path.join(out, 'stations', 'NOTES', 'readme.txt'), 'mine');
    const again = await cli(['plant', 'generate', SAMPLE, '--out', out, '--template', TEMPLATE]);
    assert.equal(again.code, 0);
    assert.match(again.out, /removed stations\/OLD-STATION/);
    assert.match(again.err, /stations\/NOTES is not in the plant but holds other files: left alone/);
    assert.ok(!fs.existsSync(path.join(out, 'stations', 'OLD-STATION')));
    assert.ok(fs.existsSync(path.join(out, 'stations', 'NOTES', 'readme.txt')));
    // generation problems: exit 1, nothing written
    const two = path.join(out, 'two-models.yaml');
    fs.writeFileSync(two, fs.readFileSync(SAMPLE, 'utf8').replace('{ id: SA-001, panel: SA-FLOOR, stackup: SA-T1, class: steel', '{ id: SA-001, panel: SA-FLOOR, stackup: SA-T1, class: aluminium'));
    const g = await cli(['plant', 'generate', two, '--out', path.join(out, 'x'), '--template', TEMPLATE]);
    assert.equal(g.code, 1);
    assert.match(g.err, /two-models\.yaml:\d+: lines\[0\]\.areas\[0\]\.stations\[0\]\.id: the station flow runs one model, but the spots of L1-UB-010 need weld-alu and weld-steel/);
    assert.ok(!fs.existsSync(path.join(out, 'x')));
  });

  it('graph: to stdout, to a Mermaid file and to a Markdown page', async function () {
    const dir = tmpDir();
    const s = await cli(['plant', 'graph', SAMPLE]);
    assert.equal(s.code, 0);
    assert.match(s.out, /^flowchart LR/);
    const mmd = path.join(dir, 'p.mmd');
    assert.equal((await cli(['plant', 'graph', SAMPLE, '--out', mmd])).code, 0);
    assert.match(fs.readFileSync(mmd, 'utf8'), /^flowchart LR/);
    const md = path.join(dir, 'p.md');
    assert.equal((await cli(['plant', 'graph', SAMPLE, '--out', md])).code, 0);
    assert.match(fs.readFileSync(md, 'utf8'), /^# Plant SF-DEMO — Demo body shop \(version 2025\.11\.1\)\n[\s\S]*```mermaid\nflowchart LR/);
    assert.equal((await cli(['plant', 'graph', SAMPLE, '--template', TEMPLATE])).code, 2);
  });
});
