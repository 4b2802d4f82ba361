'use strict';
// Round trip: the sample plant → `plant generate` with the package's station flow → the flow of one station
// loaded in a Node-RED runtime on the PLC and camera simulators → every result carries that station's line,
// area, station and camera, a program of a product the process flow sends there, and exactly the spots the
// process flow gives that station for that product.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const Database = require('better-sqlite3');
const { helper, until } = require('../support/red');
const { prepareUserDir } = require('../../scripts/userdir.cjs');
const { loadFlow, withEnv } = require('../flows/support');
const { parsePlant, validateLoaded } = require('../../dist/nodes/lib/plant/validate');
const { generatePlant, templateDefault } = require('../../dist/nodes/lib/plant/generate');
const { packageTypes } = require('../../dist/nodes/lib/deploy/flow-check');

const ROOT = path.join(__dirname, '..', '..');
const STATION = 'L1-UB-010';

/** The sample plant with STATION on the simulators and no central services (nothing leaves loopback). */
function labPlant() {
  const p = YAML.parse(fs.readFileSync(path.join(ROOT, 'docs', 'plant.yaml'), 'utf8'));
  const s = p.lines[0].areas[0].stations[0];
  assert.equal(s.id, STATION);
  s.devices.plc = { ...s.devices.plc, protocol: 'simulator' };
  delete s.devices.plc.address;
  s.devices.cameras[0] = { id: s.devices.cameras[0].id, source: 'simulator', sensor: s.devices.cameras[0].sensor };
  delete p.network.services;
  const r = validateLoaded(parsePlant(YAML.stringify(p), 'lab.yaml'));
  assert.deepEqual(r.problems, []);
  return r.plant;
}

describe('plant round trip: generated station flow in Node-RED with the simulators', function () {
  this.timeout(60000);

  afterEach(async function () {
    await helper.unload();
  });

  it(`tags every result of ${STATION} with its line, station, product and spots`, async function () {
    const plant = labPlant();
    const template = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'station.json'), 'utf8'));
    const g = generatePlant(plant, { template, templateName: 'station.json', known: packageTypes(ROOT), plantName: 'lab.yaml' });
    assert.deepEqual(g.problems, []);
    const flow = JSON.parse(g.files.find((f) => f.path === `stations/${STATION}/flow.json`).content);
    // no plant target runs without a service: RESULT_TARGETS keeps the template's "sqlite", and the station's one
    // result-publish (one outbox for every target) takes its targets from it
    const tabs = flow.filter((n) => n.type === 'tab');
    assert.equal(tabs.length, 1, 'one tab: no target tabs');
    assert.equal(templateDefault(tabs[0].env.find((e) => e.name === 'RESULT_TARGETS')), 'sqlite');
    assert.equal(flow.find((n) => n.type === 'result-publish').targets, '${RESULT_TARGETS}');

    // what the process flow says this station inspects, by program
    const expected = new Map();
    for (const step of plant.processFlow.filter((s) => s.station === STATION)) {
      const product = plant.products.find((p) => p.id === step.product);
      expected.set(String(product.program), { product: product.id, spots: [...step.spots].sort() });
    }
    assert.deepEqual([...expected.keys()], ['1', '2']);

    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-plant-rt-'));
    prepareUserDir(userDir);
    helper.settings({ userDir });
    // the simulator's only setting that is not a plant value: its part period
    const restore = withEnv({ PLC_SIM_PERIOD_MS: '800' });
    try {
      await loadFlow(helper, flow);
      const file = path.join(userDir, 'spotfusion', 'results.db');
      const rows = await until(
        () => {
          if (!fs.existsSync(file)) return false;
          const db = new Database(file, { readonly: true, fileMustExist: true });
          try {
            const r = db.prepare('SELECT * FROM inspection_result').all();
            const programs = new Set(r.map((x) => String(x.program)));
            return programs.has('1') && programs.has('2') ? r : false;
          } finally {
            db.close();
          }
        },
        40000,
        'results of programs 1 and 2 in the station database',
        100,
      );
      // the plant targets that are off opened nothing (their config nodes have no user)
      for (const id of ['sf_pg_cfg', 'sf_amqp_cfg', 'sf_mqtt_cfg']) assert.equal(helper.getNode(id).connection.state, 'idle', `${id}: no connection while its target is off`);
      for (const r of rows) {
        const body = JSON.parse(r.body);
        assert.deepEqual(body.station, { line: 'L1', area: 'UB', station: STATION, camera: 'L1-UB-010-CAM1' }, r.result_id);
        const want = expected.get(String(r.program));
        assert.ok(want, `program ${r.program} is a product the process flow sends to ${STATION}`);
        assert.deepEqual(body.spots.map((s) => s.spotId).sort(), want.spots, `${r.part_serial} (${want.product}): the spots of the process flow`);
        assert.equal(body.model.name, 'spotfusion-demo');
        assert.equal(body.rulesVersion, 'SF-DEMO 2025.11.1');
      }
    } finally {
      restore();
    }
  });
});
