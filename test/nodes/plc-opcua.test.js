'use strict';
// plc-config / plc-read / plc-write over OPC UA against a node-opcua server with the station's tags, on a
// free loopback port; one server for the whole file (node-opcua servers are slow to start).
const assert = require('node:assert/strict');
const { mkdtempSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { STATION_TAGS } = require('../../dist/nodes/lib/plc/logix-sim');
const { OpcuaSimulator } = require('../../dist/nodes/lib/plc/opcua-sim');
const { StationScript } = require('../../dist/nodes/lib/plc/station-sim');
const plcConfig = require('../../dist/nodes/plc-config/plc-config.js');
const plcRead = require('../../dist/nodes/plc-read/plc-read.js');
const plcWrite = require('../../dist/nodes/plc-write/plc-write.js');

const NODES = [plcConfig, plcRead, plcWrite];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ua = (name) => `ns=1;s=${name}`;

const TAGS = [
  { name: 'Trigger', address: ua('Trigger'), type: 'BOOL' },
  { name: 'serial', address: ua('PartSerial'), type: 'STRING', role: 'serial' },
  { name: 'program', address: ua('ProgramNo'), type: 'DINT', role: 'program' },
  { name: 'model', address: ua('Model'), type: 'STRING', role: 'model' },
  { name: 'sint', address: ua('aSint'), type: 'SINT' },
  { name: 'int', address: ua('aInt'), type: 'INT' },
  { name: 'dint', address: ua('aDint'), type: 'DINT' },
  { name: 'lint', address: ua('aLint'), type: 'LINT' },
  { name: 'usint', address: ua('aUsint'), type: 'USINT' },
  { name: 'uint', address: ua('aUint'), type: 'UINT' },
  { name: 'udint', address: ua('aUdint'), type: 'UDINT' },
  { name: 'ulint', address: ua('aUlint'), type: 'ULINT' },
  { name: 'real', address: ua('aReal'), type: 'REAL' },
  { name: 'lreal', address: ua('aLreal'), type: 'LREAL' },
  { name: 'currents', address: ua('Currents'), type: 'REAL', count: 10 },
  { name: 'names', address: ua('Names'), type: 'STRING', count: 3 },
  { name: 'missing', address: ua('NoSuchTag'), type: 'DINT' },
  { name: 'wrongType', address: ua('aInt'), type: 'DINT' },
];
const HANDSHAKE = [
  { name: 'Busy', address: ua('Busy'), type: 'BOOL' },
  { name: 'ResultCode', address: ua('ResultCode'), type: 'DINT' },
  { name: 'Serial', address: ua('PartSerial'), type: 'STRING' },
  { name: 'Big', address: ua('aLint'), type: 'LINT' },
  { name: 'Currents', address: ua('Currents'), type: 'REAL', count: 10 },
];

describe('plc nodes over OPC UA (node-opcua server on 127.0.0.1)', function () {
  this.timeout(40000);
  let sim;
  let station;
  let userDir;

  function flow({ read = {}, config = {}, write = false } = {}) {
    const nodes = [
      { id: 'plc', type: 'plc-config', protocol: 'opcua', endpoint: sim.endpointUrl, securityMode: 'None', securityPolicy: 'None', certFolder: 'pki', station: 'ST-20', timeout: 3000, ...config },
      { id: 'read', type: 'plc-read', plc: 'plc', tags: TAGS, mode: 'trigger', interval: 30, trigger: 'Trigger', wires: [['out']], ...read },
      { id: 'out', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
      { id: 'statuses', type: 'helper' },
    ];
    if (write) nodes.push({ id: 'write', type: 'plc-write', plc: 'plc', tags: HANDSHAKE, wires: [['wout']] }, { id: 'wout', type: 'helper' });
    return onTab(nodes);
  }

  before(async function () {
    userDir = mkdtempSync(join(tmpdir(), 'sf-plc-ua-'));
    helper.settings({ userDir });
    sim = await new OpcuaSimulator({ tags: STATION_TAGS, users: { operator: 'op-secret' } }).start();
    station = new StationScript(sim, { pulseMs: 200 });
  });

  after(async function () {
    station.stop();
    helper.settings({});
    await sim.stop();
    rmSync(userDir, { recursive: true, force: true });
  });

  afterEach(async function () {
    await helper.unload();
    await until(() => sim.openSessions === 0, 5000, 'OPC UA sessions closed after unload');
  });

  async function connected() {
    await until(() => helper.getNode('plc').connection.connected, 10000, 'plc connected');
  }

  it('trigger mode: one message per rising edge with every type, arrays, STRING and per-tag quality', async function () {
    await helper.load(NODES, flow());
    await connected();
    const out = helper.getNode('out');
    const seen = [];
    out.on('input', (m) => seen.push(m));
    await sleep(150);
    assert.equal(seen.length, 0);
    station.step();
    await until(() => seen.length === 1, 3000, 'message on the edge');
    const msg = seen[0];
    const p = msg.payload;
    assert.equal(p.Trigger, true);
    assert.equal(p.serial, `WB-${String(station.parts).padStart(6, '0')}`);
    assert.equal(msg.part.program, p.program);
    assert.equal(p.sint, -5);
    assert.equal(p.int, -1234);
    assert.equal(p.dint, 123456);
    assert.equal(p.lint, '9007199254740993');
    assert.equal(p.usint, 200);
    assert.equal(p.uint, 60000);
    assert.equal(p.udint, 4000000000);
    assert.equal(p.ulint, 42);
    assert.equal(p.real, 1.5);
    assert.equal(p.lreal, 2.25);
    assert.deepEqual(p.currents, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
    assert.deepEqual(p.names, ['a', 'bb', 'ccc']);
    assert.equal(msg.plc.quality.missing, 'bad');
    assert.match(msg.plc.errors.missing, /BadNodeIdUnknown/);
    assert.match(msg.plc.errors.wrongType, /type mismatch: the server has Int16/);
    assert.equal(msg.plc.protocol, 'opcua');
    await sleep(400);
    assert.equal(seen.length, 1, 'exactly one message per edge');
    assert.equal(sim.openSessions, 1);
  });

  it('change mode uses a subscription and honours the deadband', async function () {
    const tags = [
      { name: 'real', address: ua('aLreal'), type: 'LREAL' },
      { name: 'code', address: ua('ResultCode'), type: 'DINT' },
    ];
    sim.set('aLreal', 2.25);
    await helper.load(NODES, flow({ read: { mode: 'change', interval: 50, deadband: 1, tags } }));
    const out = helper.getNode('out');
    await nextMessage(out, (m) => m.plc.quality.real === 'good' && m.plc.quality.code === 'good', 10000);
    const seen = [];
    out.on('input', (m) => seen.push(m));
    sim.set('aLreal', 2.75);
    await sleep(300);
    assert.equal(seen.length, 0, 'inside the deadband');
    sim.set('aLreal', 5);
    await until(() => seen.length === 1, 3000, 'change beyond the deadband');
    assert.deepEqual(seen[0].plc.changed, ['real']);
    assert.equal(seen[0].payload.real, 5);
    sim.set('aLreal', 2.25);
  });

  it('poll and input modes read many nodes in one call', async function () {
    await helper.load(NODES, flow({ read: { mode: 'poll', interval: 50 } }));
    const a = await nextMessage(helper.getNode('out'), () => true, 10000);
    const b = await nextMessage(helper.getNode('out'));
    assert.ok(b.plc.cycle > a.plc.cycle);
    await helper.unload();
    await helper.load(NODES, flow({ read: { mode: 'input' } }));
    await connected();
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('read').receive({ keep: 1 });
    const m = await got;
    assert.equal(m.keep, 1);
    assert.equal(m.payload.int, -1234);
  });

  it('plc-write: typed writes incl. LINT beyond 2^53 and arrays; type errors send nothing', async function () {
    await helper.load(NODES, flow({ read: { mode: 'input' }, write: true }));
    await connected();
    const got = nextMessage(helper.getNode('wout'));
    helper.getNode('write').receive({ payload: { Busy: true, ResultCode: -7, Serial: 'UA-1', Big: '-9007199254740995', Currents: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] } });
    await got;
    assert.equal(sim.get('Busy'), true);
    assert.equal(sim.get('ResultCode'), -7);
    assert.equal(sim.get('PartSerial'), 'UA-1');
    assert.equal(sim.get('aLint'), '-9007199254740995');
    assert.deepEqual(sim.get('Currents'), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const writes = sim.writes;
    const c = nextMessage(helper.getNode('caught'));
    helper.getNode('write').receive({ payload: { Busy: false, ResultCode: 'seven' } });
    assert.match((await c).error.message, /ResultCode.*needs an integer/);
    assert.equal(sim.writes, writes);
    assert.equal(sim.get('Busy'), true);
    sim.set('aLint', '9007199254740993');
    sim.set('Currents', [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  });

  it('user and password from credentials; a wrong password is a clear error', async function () {
    await helper.load(NODES, flow({ read: { mode: 'input' } }), { plc: { username: 'operator', password: 'op-secret' } });
    await connected();
    await helper.unload();
    await helper.load(NODES, flow({ read: { mode: 'input' } }), { plc: { username: 'operator', password: 'wrong' } });
    const st = await nextMessage(helper.getNode('statuses'), (s) => s.status.source.id === 'read' && s.status.fill === 'red', 10000);
    assert.match(st.status.text, /BadUserAccessDenied/);
  });

  it('bad configuration: endpoint, security pairing, certificate folder, node ids', async function () {
    await helper.load(NODES, flow({ config: { endpoint: 'http://nope' } }));
    await until(() => helper.getNode('plc').connection.state === 'failed', 3000, 'failed');
    assert.match(helper.getNode('plc').connection.lastError, /must start with opc.tcp:\/\//);
    await helper.unload();
    await helper.load(NODES, flow({ config: { securityMode: 'Sign', securityPolicy: 'None' } }));
    assert.match(helper.getNode('plc').configError, /security mode None goes with policy None/);
    await helper.unload();
    await helper.load(NODES, flow({ config: { certFolder: '../../etc' } }));
    assert.match(helper.getNode('plc').configError, /must stay inside the user directory/);
    await helper.unload();
    await helper.load(NODES, flow({ read: { tags: [{ name: 't', address: 'Trigger', type: 'BOOL' }], trigger: 't' } }));
    assert.match(helper.getNode('read').problem, /tag "t": "Trigger" is not an OPC UA node id/);
  });

  it('server restart: red with the reason, reads resume within 2 s of the server coming back, no ghosts', async function () {
    await helper.load(NODES, flow({ read: { mode: 'poll', interval: 50, tags: TAGS.slice(0, 4) } }));
    const out = helper.getNode('out');
    await nextMessage(out, () => true, 10000);
    const red = nextMessage(helper.getNode('statuses'), (s) => s.status.source.id === 'read' && s.status.fill === 'red', 10000);
    await sim.stop();
    await red;
    const seen = [];
    out.on('input', (m) => seen.push(m));
    const failuresBefore = helper.getNode('plc').connection.failures;
    const retries = [];
    helper.getNode('plc').connection.on('state', (c) => c.retryInMs !== undefined && retries.push(c.retryInMs));
    await until(() => helper.getNode('plc').connection.failures - failuresBefore >= 2, 15000, 'two failed reconnect attempts');
    assert.equal(seen.length, 0, 'no messages while the server is away');
    await sim.start();
    await until(() => seen.length > 0, 10000, 'reads resumed');
    // no storm and a quick return: every retry waits between the backoff's floor (100 ms) and cap (1 s), so
    // reads resume within about a second of the server coming back
    assert.ok(retries.length >= 2, `retry delays ${retries.join(', ')}`);
    for (const d of retries) assert.ok(d >= 100 && d <= 1000, `retry delay ${d} ms outside [100, 1000]: ${retries.join(', ')}`);
    await until(() => sim.openSessions === 1, 3000, 'one session');
  });

  it('partial and full redeploys keep one session and leak none', async function () {
    const f = flow({ read: { mode: 'poll', interval: 50, tags: TAGS.slice(0, 4) }, write: true });
    await helper.load(NODES, f);
    await nextMessage(helper.getNode('out'), () => true, 10000);
    for (let k = 0; k < 2; k++) {
      await helper.setFlows(f.map((n) => (n.id === 'read' ? { ...n, interval: 60 + k } : n)), 'nodes');
      await nextMessage(helper.getNode('out'), () => true, 5000);
      assert.equal(sim.openSessions, 1, `partial redeploy ${k}`);
    }
    await helper.setFlows(f, 'full');
    await nextMessage(helper.getNode('out'), () => true, 10000);
    await until(() => sim.openSessions === 1, 5000, 'one session after a full deploy');
    await helper.setFlows(f.filter((n) => !['read', 'write'].includes(n.id)), 'nodes');
    await until(() => sim.openSessions === 0 && sim.openChannels === 0, 5000, 'closed after the last user');
  });
});
