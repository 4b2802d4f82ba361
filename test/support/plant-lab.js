'use strict';
// A plant small enough to deploy in a test: the sample (docs/plant.yaml) cut to line L1, area UB (L1-UB-010 and
// L1-UB-020) on the PLC and camera simulators, without central services, each station's edge on loopback
// (127.0.0.1 and localhost: the validator wants one address per device), and the target stations to deploy it to.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { Runtime } = require('./runtime');

const SAMPLE = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'plant.yaml'), 'utf8');

/** the lab plant, its two stations' edges at `ports` (admin API of a target each); `deploy`: network.deploy extras */
function labPlant(ports, deploy = {}) {
  const p = YAML.parse(SAMPLE);
  p.lines = [{ ...p.lines[0], areas: [p.lines[0].areas[0]] }];
  const edges = [
    ['127.0.0.1', ports[0]],
    ['localhost', ports[1]],
  ];
  p.lines[0].areas[0].stations.forEach((s, i) => {
    s.devices.plc = { id: s.devices.plc.id, protocol: 'simulator', tags: s.devices.plc.tags };
    s.devices.cameras = [{ id: s.devices.cameras[0].id, source: 'simulator', sensor: s.devices.cameras[0].sensor }];
    s.devices.edge = { id: s.devices.edge.id, address: edges[i][0], port: edges[i][1] };
  });
  const ids = new Set(p.lines[0].areas[0].stations.map((s) => s.id));
  p.processFlow = p.processFlow.filter((s) => ids.has(s.station));
  p.products = p.products.filter((x) => x.id !== 'WAGON');
  for (const pr of p.products) for (const sp of pr.spots) for (const k of Object.keys(sp.roi)) if (!k.startsWith('L1-UB')) delete sp.roi[k];
  p.inspection.models = p.inspection.models.filter((m) => m.id === 'weld-steel');
  p.inspection.classes = p.inspection.classes.filter((c) => c.id === 'steel');
  p.weldProcess.rules = p.weldProcess.rules.filter((r) => r.id !== 'alu');
  delete p.network.services;
  p.network.deploy = { user: 'admin', healthTimeout: 15, ...deploy };
  return p;
}

/** a target station: Node-RED with adminAuth (admin's password `password`), its simulator slow so it idles */
async function labTarget(password) {
  const rt = await Runtime.withAdminAuth(password, {
    PLC_SIM_PERIOD_MS: '600000',
  });
  return rt.start();
}

/** every file under `dir`, by its path relative to `dir`, with its text (generated output compared tree to tree) */
function fileTree(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

module.exports = { labPlant, labTarget, fileTree };
