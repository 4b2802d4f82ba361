'use strict';
// Heavy client libraries load only when a deployed flow uses them (issue 23, docs/RELIABILITY.md "Memory"):
// a real Node-RED process runs the station flow on its simulators and is asked, by a preload that answers
// SIGWINCH (test/support/loaded-modules.cjs), which packages it has loaded. Then an OPC UA flow is deployed
// through the admin API against a node-opcua server on loopback: node-opcua loads and the write arrives.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Runtime } = require('../support/runtime');
const { until } = require('../support/wait');
const Database = require('better-sqlite3');
const { STATION_TAGS } = require('../../dist/nodes/lib/plc/logix-sim');
const { OpcuaSimulator } = require('../../dist/nodes/lib/plc/opcua-sim');
const { ROOT } = require('../../scripts/userdir.cjs');

const LAZY = ['node-opcua', 'ioredis', 'mqtt', 'amqplib', 'pg'];

describe('lazy loading of heavy modules (real Node-RED process)', function () {
  this.timeout(90000);
  let rt;
  let sim;
  let listFile;

  async function loadedModules() {
    fs.rmSync(listFile, { force: true });
    // asked again each second: on a loaded machine the busy station may take seconds to run the handler
    let asked = 0;
    await until(
      () => {
        if (fs.existsSync(listFile)) return true;
        if (Date.now() - asked >= 1000) {
          rt.proc.kill('SIGWINCH');
          asked = Date.now();
        }
        return false;
      },
      20000,
      'the preload wrote the module list',
    );
    // written in one call, but read only once complete
    await until(() => fs.statSync(listFile).size > 0, 2000, 'the module list is not empty');
    return JSON.parse(fs.readFileSync(listFile, 'utf8'));
  }

  before(async function () {
    rt = await Runtime.create({
      SPOTFUSION_DEV_MODE: 'true',
      SPOTFUSION_ADMIN_PASSWORD_HASH: undefined,
      SPOTFUSION_CREDENTIAL_SECRET: undefined,
      PLC_SIM_PERIOD_MS: '500',
      ARCHIVE_POLICY: 'none',
      NODE_OPTIONS: `--require ${path.join(__dirname, '..', 'support', 'loaded-modules.cjs')}`,
    });
    listFile = path.join(rt.userDir, 'loaded-modules.json');
    rt.env.SF_LOADED_MODULES_FILE = listFile;
    rt.env.SF_PACKAGE_DIST = path.join(ROOT, 'dist') + path.sep;
    await rt.start({ flowSource: path.join(ROOT, 'flows', 'station.json') });
  });

  after(async function () {
    if (rt) {
      await rt.stop();
      fs.rmSync(rt.userDir, { recursive: true, force: true });
    }
    if (sim) await sim.stop();
  });

  it('the station flow (Logix simulator, SQLite) runs parts without node-opcua, ioredis, mqtt, amqplib or pg', async function () {
    const db = path.join(rt.userDir, 'spotfusion', 'results.db');
    await until(
      () => {
        if (!fs.existsSync(db)) return false;
        const d = new Database(db, { readonly: true, fileMustExist: true });
        try {
          return d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'inspection_result'").get().n === 1 && d.prepare('SELECT count(*) AS n FROM inspection_result').get().n > 0;
        } finally {
          d.close();
        }
      },
      45000,
      `a part went through the station (a row in ${db})`,
    );
    const { all, ours } = await loadedModules();
    // the probe sees what the station uses: the check below could fail
    for (const used of ['onnxruntime-node', 'sharp', 'better-sqlite3']) assert.ok(ours.includes(used), `${used} is loaded by the running station (ours: ${ours.join(', ')})`);
    assert.deepEqual(LAZY.filter((m) => ours.includes(m)), [], 'our nodes load no client of a PLC protocol or plant target the flow does not use');
    // nothing else in the process loads node-opcua either (Node-RED's core MQTT node loads mqtt for itself)
    assert.ok(!all.includes('node-opcua'), 'node-opcua is not in require.cache');
  });

  it('an OPC UA flow deployed later loads node-opcua and writes to the PLC', async function () {
    assert.equal(rt.proc.exitCode, null, `Node-RED is running:\n${rt.stdout.slice(-2000)}\n${rt.stderr.slice(-2000)}`);
    sim = await new OpcuaSimulator({ tags: STATION_TAGS }).start();
    sim.set('ResultCode', 0);
    const flows = [
      { id: 'ua_tab', type: 'tab', label: 'OPC UA' },
      { id: 'ua_plc', type: 'plc-config', z: 'ua_tab', protocol: 'opcua', endpoint: sim.endpointUrl, securityMode: 'None', securityPolicy: 'None', certFolder: 'opcua-pki', station: 'ST-UA', timeout: 3000 },
      { id: 'ua_inject', type: 'inject', z: 'ua_tab', props: [{ p: 'payload' }], payload: '{"ResultCode":4242}', payloadType: 'json', repeat: '0.5', once: true, onceDelay: '0.2', wires: [['ua_write']] },
      { id: 'ua_write', type: 'plc-write', z: 'ua_tab', plc: 'ua_plc', tags: [{ name: 'ResultCode', address: 'ns=1;s=ResultCode', type: 'DINT' }], wires: [[]] },
    ];
    const dep = await rt.request('POST', '/flows', { body: { flows }, headers: { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' } });
    assert.equal(dep.status, 200, `${dep.status} ${dep.text}\n${rt.stdout.slice(-2000)}\n${rt.stderr.slice(-2000)}`);
    await until(() => sim.get('ResultCode') === 4242, 30000, `the OPC UA write arrived:\n${rt.stdout.slice(-2000)}`);
    const { all } = await loadedModules();
    assert.ok(all.includes('node-opcua'), 'node-opcua is loaded once an OPC UA PLC config is deployed');
  });
});
