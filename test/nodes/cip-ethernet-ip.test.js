'use strict';
// node-red-contrib-cip-ethernet-ip's nodes in a Node-RED runtime, reading and writing the Logix simulator on
// 127.0.0.1 (its ethernet-ip client with the port set to the simulator's; no discovery).
const path = require('node:path');
const { helper, onTab, until } = require('../support/red');
const { loadEthernetIp } = require('../support/ethernet-ip');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');

describe('node-red-contrib-cip-ethernet-ip nodes against the Logix simulator (127.0.0.1)', function () {
  this.timeout(20000);
  let sim;
  let contrib;
  before(async function () {
    // the endpoint calls RED.settings.get('verbose'), which the test runtime has no value for and throws on. The
    // helper hands the nodes its own settings object (a copy once any test file called helper.settings), so the
    // value is given there, for this file only (after() puts the runtime's settings back)
    const base = helper.settings({});
    helper.settings({ get: (prop) => (prop === 'verbose' ? false : base.get(prop)) });
    sim = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS }).start();
    loadEthernetIp(sim.port);
    const file = path.join(path.dirname(require.resolve('node-red-contrib-cip-ethernet-ip/package.json')), 'red', 'ethernet-ip.js');
    delete require.cache[file];
    contrib = require(file);
  });
  afterEach(async function () {
    await helper.unload();
  });
  after(async function () {
    helper.settings({});
    await sim.stop();
  });

  it('reads a DINT and a REAL and writes a DINT through eth-ip in/out', async function () {
    sim.db.set('aReal', 2.5);
    sim.db.set('aDint', 123456);
    const vartable = { '': { aDint: { type: 'DINT' }, aReal: { type: 'REAL' } } };
    await helper.load(
      contrib,
      [
        // the endpoint is a config node (no z, x, y)
        { id: 'ep', type: 'eth-ip endpoint', address: '127.0.0.1', slot: 0, cycletime: 50, vartable },
        ...onTab([
        { id: 'in', type: 'eth-ip in', endpoint: 'ep', mode: 'all', wires: [['out']] },
        { id: 'w', type: 'eth-ip out', endpoint: 'ep', program: '', variable: 'aDint' },
        { id: 'out', type: 'helper' },
        ]),
      ],
    );
    // the in node sends all values whenever one changes, its first reads included: keep every payload
    const seen = [];
    helper.getNode('out').on('input', (m) => seen.push({ ...m.payload }));
    await until(() => helper.getNode('ep').getStatus() === 'online', 10000, 'endpoint online');
    await until(() => seen.some((p) => p.aDint === 123456 && p.aReal === 2.5), 10000, 'aDint and aReal read');
    helper.getNode('w').receive({ payload: -77 });
    await until(() => sim.db.get('aDint') === -77, 10000, 'aDint written');
  });
});
