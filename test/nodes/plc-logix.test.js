'use strict';
// plc-config / plc-read / plc-write in a real Node-RED runtime against the Logix EtherNet/IP simulator on a
// free loopback port (one simulator for the file). Real CIP bytes on 127.0.0.1, no mocks.
const assert = require('node:assert/strict');
const { helper, onTab, nextMessage, until, watchStatus, loggedErrors } = require('../support/red');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { StationScript } = require('../../dist/nodes/lib/plc/station-sim');
const { currentSimulator } = require('../../dist/nodes/lib/plc/sim-host');
const plcConfig = require('../../dist/nodes/plc-config/plc-config.js');
const plcRead = require('../../dist/nodes/plc-read/plc-read.js');
const plcWrite = require('../../dist/nodes/plc-write/plc-write.js');

const NODES = [plcConfig, plcRead, plcWrite];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const ALL_TAGS = [
  { name: 'Trigger', address: 'Trigger', type: 'BOOL' },
  { name: 'serial', address: 'PartSerial', type: 'STRING', role: 'serial' },
  { name: 'program', address: 'ProgramNo', type: 'DINT', role: 'program' },
  { name: 'model', address: 'Model', type: 'STRING', role: 'model' },
  { name: 'counter', address: 'Counter', type: 'DINT', role: 'extra' },
  { name: 'sint', address: 'aSint', type: 'SINT' },
  { name: 'int', address: 'aInt', type: 'INT' },
  { name: 'dint', address: 'aDint', type: 'DINT', scale: 0.001, unit: 'mm' },
  { name: 'lint', address: 'aLint', type: 'LINT' },
  { name: 'usint', address: 'aUsint', type: 'USINT' },
  { name: 'uint', address: 'aUint', type: 'UINT' },
  { name: 'udint', address: 'aUdint', type: 'UDINT' },
  { name: 'ulint', address: 'aUlint', type: 'ULINT' },
  { name: 'real', address: 'aReal', type: 'REAL' },
  { name: 'lreal', address: 'aLreal', type: 'LREAL' },
  { name: 'currents', address: 'Currents', type: 'REAL', count: 10 },
  { name: 'matrix', address: 'Matrix', type: 'INT', count: 6 },
  { name: 'cell', address: 'Matrix[1,2]', type: 'INT' },
  { name: 'big', address: 'BigArray', type: 'DINT', count: 2000 },
  { name: 'bits', address: 'Bits', type: 'BOOL', count: 64 },
  { name: 'names', address: 'Names', type: 'STRING', count: 3 },
  { name: 'part', address: 'Part', type: 'UDT' },
  { name: 'thick', address: 'Part.Thickness[1]', type: 'REAL' },
  { name: 'flag3', address: 'Flags.3', type: 'BOOL' },
  { name: 'step', address: 'Program:Main.Step', type: 'DINT' },
  { name: 'missing', address: 'NoSuchTag', type: 'DINT' },
  { name: 'wrongType', address: 'aInt', type: 'DINT' },
];

const HANDSHAKE = [
  { name: 'Busy', address: 'Busy', type: 'BOOL' },
  { name: 'Done', address: 'Done', type: 'BOOL' },
  { name: 'ResultOK', address: 'ResultOK', type: 'BOOL' },
  { name: 'ResultCode', address: 'ResultCode', type: 'DINT' },
  { name: 'Flag5', address: 'Flags.5', type: 'BOOL' },
  { name: 'Serial', address: 'PartSerial', type: 'STRING' },
  { name: 'Currents', address: 'Currents', type: 'REAL', count: 10 },
  { name: 'Part', address: 'Part', type: 'UDT' },
  { name: 'Ghost', address: 'GhostTag', type: 'DINT' },
];

function flow(port, { read = {}, config = {}, write = false } = {}) {
  const nodes = [
    { id: 'plc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port, route: '1,0', station: 'ST-10', timeout: 1000, ...config },
    { id: 'read', type: 'plc-read', plc: 'plc', tags: ALL_TAGS, mode: 'trigger', interval: 20, trigger: 'Trigger', wires: [['out']], ...read },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
    { id: 'statuses', type: 'helper' },
  ];
  if (write) nodes.push({ id: 'write', type: 'plc-write', plc: 'plc', tags: HANDSHAKE, wires: [['wout']] }, { id: 'wout', type: 'helper' });
  return onTab(nodes);
}

describe('plc nodes over EtherNet/IP (Logix simulator on 127.0.0.1)', function () {
  this.timeout(30000);
  let sim;
  let station;

  before(async function () {
    sim = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS }).start();
    station = new StationScript(sim.db, { pulseMs: 150 });
  });

  after(async function () {
    station.stop();
    await sim.stop();
  });

  afterEach(async function () {
    await helper.unload();
    sim.slowReplies(0);
    sim.refuseConnects(0);
    await until(() => sim.openSessions === 0, 3000, 'sessions closed after unload');
  });

  async function connected() {
    await until(() => helper.getNode('plc').connection.connected, 5000, 'plc connected');
  }

  it('trigger mode: one message per rising edge with every type, arrays, UDT, STRING, roles and per-tag quality', async function () {
    await helper.load(NODES, flow(sim.port));
    await connected();
    const out = helper.getNode('out');
    const seen = [];
    out.on('input', (m) => seen.push(m));
    const caught = [];
    helper.getNode('caught').on('input', (m) => caught.push(m.error && m.error.message));
    await sleep(100);
    assert.equal(seen.length, 0, 'no message without an edge');
    const got = nextMessage(out);
    station.step();
    const msg = await got;
    const p = msg.payload;
    assert.equal(p.Trigger, true);
    assert.equal(p.serial, `WB-${String(station.parts).padStart(6, '0')}`);
    assert.deepEqual(msg.part, { serial: p.serial, program: p.program, model: p.model, extra: { counter: station.parts } });
    assert.equal(p.sint, -5);
    assert.equal(p.int, -1234);
    assert.equal(p.dint, 123.456);
    assert.equal(msg.plc.units.dint, 'mm');
    assert.equal(p.lint, '9007199254740993');
    assert.equal(p.usint, 200);
    assert.equal(p.uint, 60000);
    assert.equal(p.udint, 4000000000);
    assert.equal(p.ulint, 42);
    assert.equal(p.real, 1.5);
    assert.equal(p.lreal, 2.25);
    assert.deepEqual(p.currents, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
    assert.deepEqual(p.matrix, [1, 2, 3, 4, 5, 6]);
    assert.equal(p.cell, 6);
    assert.equal(p.big.length, 2000);
    assert.equal(p.big[1999], 1999);
    assert.equal(p.bits.length, 64);
    assert.deepEqual(p.bits.slice(0, 4), [true, false, false, true]);
    assert.deepEqual(p.names, ['a', 'bb', 'ccc']);
    assert.deepEqual(p.part, { Serial: 'WB-000000', Program: 1, Present: true, Clamped: false, Thickness: [p.part.Thickness[0], p.part.Thickness[1], 0], Stamp: 0 });
    assert.ok(Math.abs(p.part.Thickness[1] - 1.2) < 1e-6);
    assert.ok(Math.abs(p.thick - 1.2) < 1e-6);
    assert.equal(p.flag3, false);
    assert.equal(p.step, 7);
    assert.equal(p.missing, null);
    assert.equal(msg.plc.quality.missing, 'bad');
    assert.match(msg.plc.errors.missing, /0x05/);
    assert.equal(msg.plc.quality.wrongType, 'bad');
    assert.match(msg.plc.errors.wrongType, /type mismatch: the PLC has INT/);
    assert.equal(msg.plc.quality.dint, 'good');
    assert.equal(msg.plc.station, 'ST-10');
    assert.equal(msg.plc.protocol, 'ethernet-ip');
    assert.ok(msg.plc.cycle > 1);
    assert.ok(Date.parse(msg.plc.readAt) > 0);
    // the trigger stays high for a few cycles, falls, and only the next rise sends again
    await sleep(400);
    assert.equal(seen.length, 1, 'exactly one message per edge');
    station.step();
    await until(() => seen.length === 2, 2000, 'second edge');
    assert.equal(sim.openSessions, 1, 'one session for the config node');
    // a missing tag and a type mismatch are per-tag quality, not errors: the Catch node saw nothing, nothing was logged as an error
    assert.deepEqual(caught, [], 'errors caught on the tab');
    assert.deepEqual(loggedErrors(), [], 'errors logged');
  });

  it('poll mode never overlaps, counts overruns and shows them in the status', async function () {
    await helper.load(NODES, flow(sim.port, { read: { mode: 'poll', interval: 30, tags: ALL_TAGS.slice(0, 5) } }));
    await connected();
    const out = helper.getNode('out');
    const a = await nextMessage(out);
    const b = await nextMessage(out);
    assert.ok(b.plc.cycle > a.plc.cycle);
    sim.slowReplies(60);
    await until(async () => (await nextMessage(out)).plc.overruns > 0, 5000, 'overrun counted');
    const statuses = helper.getNode('statuses');
    const st = await nextMessage(statuses, (m) => m.status.source.id === 'read' && /overrun/.test(m.status.text), 5000);
    assert.equal(st.status.fill, 'yellow');
    const before = sim.stats.packets;
    await sleep(300);
    // with replies taking 60 ms, at most one request is in flight at a time: about 5 in 300 ms, never more
    assert.ok(sim.stats.packets - before <= 7, `requests overlapped: ${sim.stats.packets - before}`);
    // cycles keep time again: the status goes back to green (it stayed yellow for good after one slow cycle)
    sim.slowReplies(0);
    const green = await nextMessage(statuses, (m) => m.status.source.id === 'read' && m.status.fill === 'green', 8000);
    assert.match(green.status.text, /^poll: cycle \d+, \d+ sent, \d+ ms$/);
    assert.ok((await nextMessage(out)).plc.overruns > 0, 'the count since deploy stays in msg.plc');
  });

  it('change mode: sends the first snapshot, then only changes beyond the deadband', async function () {
    sim.db.set('aReal', 1.5);
    const tags = [
      { name: 'real', address: 'aReal', type: 'REAL' },
      { name: 'dint', address: 'aDint', type: 'DINT' },
    ];
    await helper.load(NODES, flow(sim.port, { read: { mode: 'change', interval: 20, deadband: 0.5, tags } }));
    const out = helper.getNode('out');
    const first = await nextMessage(out);
    assert.deepEqual(first.plc.changed, ['real', 'dint']);
    const seen = [];
    out.on('input', (m) => seen.push(m));
    sim.db.set('aReal', 1.8);
    await sleep(150);
    assert.equal(seen.length, 0, 'inside the deadband');
    sim.db.set('aReal', 2.5);
    await until(() => seen.length === 1, 2000, 'change beyond the deadband');
    assert.deepEqual(seen[0].plc.changed, ['real']);
    assert.equal(seen[0].payload.real, 2.5);
    sim.db.set('aDint', 123457);
    await until(() => seen.length === 2, 2000, 'dint change');
    assert.deepEqual(seen[1].plc.changed, ['dint']);
    sim.db.set('aDint', 123456);
    sim.db.set('aReal', 1.5);
  });

  it('input mode reads once per message and keeps the message; other modes refuse input', async function () {
    await helper.load(NODES, flow(sim.port, { read: { mode: 'input', tags: ALL_TAGS.slice(0, 8) } }));
    await connected();
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('read').receive({ topic: 'go', keep: 42 });
    const msg = await got;
    assert.equal(msg.keep, 42);
    assert.equal(msg.topic, 'go');
    assert.equal(msg.payload.int, -1234);
    assert.equal(msg.plc.cycle, 1);
    await helper.unload();
    await helper.load(NODES, flow(sim.port, { read: { mode: 'poll', interval: 1000 } }));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('read').receive({ payload: 1 });
    assert.match((await caught).error.message, /poll mode/);
  });

  it('plc-write: type-checked handshake writes, bits by read-modify-write, STRING, arrays and UDT', async function () {
    await helper.load(NODES, flow(sim.port, { read: { mode: 'input' }, write: true }));
    await connected();
    sim.db.set('Flags', 0);
    const wout = helper.getNode('wout');
    let got = nextMessage(wout);
    const part = { Serial: 'X-1', Program: 3, Present: true, Clamped: true, Thickness: [1, 2, 3], Stamp: '12345678901234567' };
    helper.getNode('write').receive({ payload: { Busy: true, Done: false, ResultOK: true, ResultCode: 17, Flag5: true, Serial: 'WB-777', Currents: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Part: part } });
    const m = await got;
    assert.deepEqual(m.plc.written.sort(), ['Busy', 'Currents', 'Done', 'Flag5', 'Part', 'ResultCode', 'ResultOK', 'Serial']);
    assert.equal(sim.db.get('Busy'), true);
    assert.equal(sim.db.get('ResultOK'), true);
    assert.equal(sim.db.get('ResultCode'), 17);
    assert.equal(sim.db.get('Flags'), 32);
    assert.equal(sim.db.get('PartSerial'), 'WB-777');
    assert.deepEqual(sim.db.get('Currents'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(sim.db.get('Part'), part);
    // type errors: nothing is sent
    const writesBefore = sim.stats.tagWrites;
    for (const bad of [{ ResultCode: 1.5 }, { Busy: 'yes' }, { ResultCode: 2 ** 31 }, { Serial: 'x'.repeat(83) }, { Currents: [1, 2] }, { Nope: 1 }]) {
      const c = nextMessage(helper.getNode('caught'));
      helper.getNode('write').receive({ payload: { Done: true, ...bad } });
      const e = await c;
      assert.ok(/nothing|must|needs|not in the tag map|outside|longer|msg.payload/.test(e.error.message), e.error.message);
    }
    assert.equal(sim.stats.tagWrites, writesBefore, 'no write reached the PLC');
    assert.equal(sim.db.get('Done'), false);
    const empty = nextMessage(helper.getNode('caught'));
    helper.getNode('write').receive({ payload: {} });
    assert.match((await empty).error.message, /msg.payload must NOT have fewer than 1 properties/);
    // the PLC refuses one tag: the error names it, the others are written
    const c = nextMessage(helper.getNode('caught'));
    helper.getNode('write').receive({ payload: { Ghost: 1, Done: true } });
    assert.match((await c).error.message, /"Ghost" \(CIP status 0x05/);
    assert.equal(sim.db.get('Done'), true);
    got = nextMessage(helper.getNode('statuses'), (s) => s.status.source.id === 'write' && s.status.fill === 'green');
    helper.getNode('write').receive({ payload: { Busy: false } });
    await got;
    assert.equal(sim.db.get('Busy'), false);
  });

  it('unconnected messaging reads the same values', async function () {
    await helper.load(NODES, flow(sim.port, { config: { messaging: 'unconnected' }, read: { mode: 'input' } }));
    await connected();
    const got = nextMessage(helper.getNode('out'));
    helper.getNode('read').receive({});
    const msg = await got;
    assert.equal(msg.payload.big.length, 2000);
    assert.deepEqual(msg.payload.names, ['a', 'bb', 'ccc']);
    assert.equal(typeof msg.payload.part.Program, 'number');
    assert.equal(sim.openConnections, 0, 'no Forward Open');
  });

  it('bad configuration gives a clear error and no connection attempts', async function () {
    await helper.load(NODES, flow(sim.port, { config: { protocol: 'profinet' } }));
    const plc = helper.getNode('plc');
    await until(() => plc.connection.state === 'failed', 2000, 'failed');
    assert.match(plc.connection.lastError, /unknown protocol "profinet"/);
    await helper.unload();
    // the status as the editor gets it, recorded from before the start: a red one set while the flow started counts
    const statuses = watchStatus();
    await helper.load(NODES, flow(sim.port, { config: { host: 'bad host!' } }));
    await until(() => helper.getNode('plc').connection.state === 'failed', 2000, 'failed');
    assert.match(helper.getNode('plc').connection.lastError, /"bad host!" is not an IP address/);
    const st = await statuses.statusOf('read', (s) => s.fill === 'red', 10000).finally(() => statuses.stop());
    assert.match(st.text, /not an IP/);
    assert.match(loggedErrors().join('\n'), /plc-config .*"bad host!" is not an IP address/, 'the error is logged');
    await helper.unload();
    await helper.load(NODES, flow(sim.port, { config: { route: '1' } }));
    assert.match(helper.getNode('plc').configError, /route path "1"/);
    await helper.unload();
    const before = sim.stats.packets;
    await helper.load(NODES, flow(sim.port, { read: { tags: [{ name: 't', address: 'Bad..Addr', type: 'BOOL' }], trigger: 't' } }));
    assert.match(helper.getNode('read').problem, /tag "t": tag address "Bad..Addr": "" is not a valid tag or member name at character 5/);
    const c = nextMessage(helper.getNode('caught'));
    helper.getNode('read').receive({});
    assert.match((await c).error.message, /tag address "Bad..Addr"/);
    await helper.unload();
    await helper.load(NODES, flow(sim.port, { read: { trigger: 'nope' } }));
    assert.match(helper.getNode('read').problem, /trigger tag "nope" is not in the tag map/);
    await helper.unload();
    await helper.load(NODES, flow(sim.port, { read: { mode: 'sometimes' } }));
    assert.match(helper.getNode('read').problem, /mode "sometimes" is not one of/);
    await helper.unload();
    await helper.load(NODES, flow(sim.port, { read: { tags: [{ name: 'x', address: 'X', type: 'WORD' }] } }));
    assert.match(helper.getNode('read').problem, /tag 1 "x": type "WORD" is not one of/);
    assert.ok(sim.stats.packets - before < 5, 'a node with a bad tag map does not poll');
  });

  it('connection lost: red with the reason, capped backoff without a storm, back within 2 s, no ghost messages', async function () {
    await helper.load(NODES, flow(sim.port, { read: { mode: 'poll', interval: 50, tags: ALL_TAGS.slice(0, 5) } }));
    await connected();
    const out = helper.getNode('out');
    await nextMessage(out);
    const statuses = helper.getNode('statuses');
    const red = nextMessage(statuses, (s) => s.status.source.id === 'read' && s.status.fill === 'red', 3000);
    const refusedBefore = sim.stats.refused;
    const retries = [];
    helper.getNode('plc').connection.on('state', (c) => c.retryInMs !== undefined && retries.push(c.retryInMs));
    // the controller refuses every connect until the test lets it back (no wall-clock window)
    sim.refuseConnects(3_600_000);
    sim.dropAllSessions();
    const r = await red;
    assert.match(r.status.text, /closed by the controller|reset|refused|ECONN/);
    const seen = [];
    out.on('input', (m) => seen.push(m));
    await until(() => sim.stats.refused - refusedBefore >= 4, 15000, 'four refused reconnect attempts');
    assert.equal(seen.length, 0, 'no messages while the PLC is away');
    const attempts = sim.stats.refused - refusedBefore;
    // no storm: every attempt was scheduled with a delay announced beforehand, between the backoff's floor
    // (100 ms) and its cap (1 s), so reads resume within about a second of the PLC's return
    assert.ok(retries.length >= attempts, `every retry announced its delay: ${retries.length} delays for ${attempts} attempts`);
    for (const d of retries) assert.ok(d >= 100 && d <= 1000, `retry delay ${d} ms outside [100, 1000]: ${retries}`);
    sim.refuseConnects(0);
    await until(() => seen.length > 0, 10000, 'reads resumed');
    assert.equal(sim.openSessions, 1);
  });

  it('slow replies beyond the timeout end the connection and it comes back', async function () {
    await helper.load(NODES, flow(sim.port, { read: { mode: 'poll', interval: 50, tags: ALL_TAGS.slice(0, 3) } }));
    await connected();
    sim.slowReplies(1500);
    await nextMessage(helper.getNode('statuses'), (s) => s.status.source.id === 'read' && /no reply within 1000 ms/.test(s.status.text), 5000);
    sim.slowReplies(0);
    await nextMessage(helper.getNode('out'), () => true, 5000);
  });

  it('partial and full redeploys keep exactly one session and leak none', async function () {
    const f = flow(sim.port, { read: { mode: 'poll', interval: 50, tags: ALL_TAGS.slice(0, 5) }, write: true });
    await helper.load(NODES, f);
    await connected();
    await nextMessage(helper.getNode('out'));
    assert.equal(sim.openSessions, 1);
    for (let k = 0; k < 3; k++) {
      const changed = f.map((n) => (n.id === 'read' ? { ...n, interval: 60 + k } : n));
      await helper.setFlows(changed, 'nodes');
      await nextMessage(helper.getNode('out'));
      assert.equal(sim.openSessions, 1, `partial redeploy ${k}`);
    }
    const cfgChanged = f.map((n) => (n.id === 'plc' ? { ...n, timeout: 2000 } : n));
    await helper.setFlows(cfgChanged, 'nodes');
    await nextMessage(helper.getNode('out'));
    await until(() => sim.openSessions === 1, 3000, 'one session after the config node changed');
    await helper.setFlows(cfgChanged, 'full');
    await nextMessage(helper.getNode('out'));
    await until(() => sim.openSessions === 1 && sim.openSockets === 1, 3000, 'one session after a full deploy');
    // removing the reader stops its messages at once
    const seen = [];
    const out = helper.getNode('out');
    await helper.setFlows(cfgChanged.filter((n) => n.id !== 'read'), 'nodes');
    out.on('input', (m) => seen.push(m));
    await sleep(200);
    assert.equal(seen.length, 0, 'no ghost messages after removal');
    assert.equal(sim.openSessions, 1, 'plc-write still holds the connection');
    await helper.setFlows(cfgChanged.filter((n) => !['read', 'write'].includes(n.id)), 'nodes');
    await until(() => sim.openSessions === 0 && sim.openSockets === 0, 3000, 'connection closed after the last user');
  });

  it('the simulator protocol runs a demo station over real EtherNet/IP', async function () {
    await helper.load(NODES, flow(0, { config: { protocol: 'simulator', simPeriod: 200 }, read: { tags: ALL_TAGS.slice(0, 5) } }));
    const msg = await nextMessage(helper.getNode('out'), () => true, 5000);
    assert.match(msg.part.serial, /^WB-\d{6}$/);
    assert.equal(currentSimulator().openSessions, 1);
    await helper.unload();
    assert.equal(currentSimulator(), undefined, 'simulator stopped with its last user');
  });

  it('the examples import and run: trigger read, then the handshake written', async function () {
    const fs = require('node:fs');
    const path = require('node:path');
    const load = (p) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', p), 'utf8'));
    const read = load('plc-read/01 - Read tags on a trigger.json');
    const write = load('plc-write/01 - Write the inspection handshake.json');
    const fast = (f) => f.map((n) => (n.type === 'plc-config' ? { ...n, simPeriod: 300 } : n.type === 'debug' ? { ...n, type: 'helper' } : n));
    await helper.load(NODES, fast(read));
    const msg = await nextMessage(helper.getNode('a1b2c3d4e5f60004'), () => true, 5000);
    assert.match(msg.part.serial, /^WB-/);
    assert.equal(msg.payload.currents.length, 10);
    assert.equal(typeof msg.payload.part.Program, 'number');
    await helper.unload();
    const core = (f) => require(require.resolve(`@node-red/nodes/core/function/${f}`, { paths: [require.resolve('node-red')] }));
    await helper.load([...NODES, core('15-change.js'), core('89-delay.js')], fast(write));
    const w = await nextMessage(helper.getNode('b1b2c3d4e5f60008'), (m) => m.plc.written.includes('ResultCode'), 5000);
    assert.deepEqual(w.plc.written.sort(), ['Busy', 'Done', 'ResultCode', 'ResultNOK', 'ResultOK']);
    assert.equal(currentSimulator().db.get('Done'), true);
  });
});
