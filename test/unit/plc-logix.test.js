'use strict';
// Our Logix client against the Logix simulator, both over real EtherNet/IP bytes on 127.0.0.1; plus the
// ethernet-ip 1.2.5 client (behind node-red-contrib-cip-ethernet-ip) against the same simulator.
const assert = require('node:assert/strict');
const net = require('node:net');
const fc = require('fast-check');
const { LogixSimulator, STATION_TAGS, STATION_UDTS, benchTags } = require('../../dist/nodes/lib/plc/logix-sim');
const { listIdentity } = require('../../dist/nodes/lib/plc/logix-client');
const { LogixPlc } = require('../../dist/nodes/lib/plc/logix-plc');
const { parseTagMap, checkWriteValue } = require('../../dist/nodes/lib/plc/types');
const { planWrites, writeTags } = require('../../dist/nodes/lib/plc/handshake');
const { parsePlcSettings, certFolderIn, plcDriver } = require('../../dist/nodes/lib/plc/driver');
const { buildOutput, PlcReader } = require('../../dist/nodes/lib/plc/reader');
const { StationScript } = require('../../dist/nodes/lib/plc/station-sim');
const { until } = require('../support/wait');
const cip = require('../../dist/nodes/lib/plc/cip');
const { loadEthernetIp } = require('../support/ethernet-ip');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tag = (name, type, extra = {}) => ({ name, address: name, type, ...extra });

describe('Logix simulator and client (EtherNet/IP on 127.0.0.1)', function () {
  this.timeout(20000);
  let sim;
  const clients = [];
  async function connect(opts = {}) {
    const c = await LogixPlc.connect({ host: '127.0.0.1', port: sim.port, timeoutMs: 1000, ...opts });
    clients.push(c);
    return c;
  }

  before(async function () {
    sim = await new LogixSimulator({ tags: [...STATION_TAGS, ...benchTags(200, true)], udts: STATION_UDTS }).start();
  });
  afterEach(async function () {
    for (const c of clients.splice(0)) await c.close();
    sim.slowReplies(0);
    sim.refuseConnects(0);
  });
  after(async function () {
    await sim.stop();
  });

  it('answers ListIdentity over TCP and over unicast UDP on 127.0.0.1', async function () {
    const found = await listIdentity('127.0.0.1', sim.udpPort, 2000);
    assert.equal(found.length, 1);
    assert.equal(found[0].productName, '1756-L83E/B SpotFusion Sim');
    assert.equal(found[0].port, sim.port);
    await assert.rejects(listIdentity('255.255.255.255'), /unicast only/);
    const sock = net.connect(sim.port, '127.0.0.1');
    const reply = await new Promise((resolve, reject) => {
      sock.on('error', reject);
      sock.once('data', resolve);
      sock.write(cip.encodeEncap({ command: cip.Command.ListIdentity }));
    });
    sock.destroy();
    assert.equal(cip.decodeListIdentityReply(cip.decodeEncap(reply).data)[0].serial, 0xc0ffee);
  });

  it('serves the ethernet-ip 1.2.5 Controller (node-red-contrib-cip-ethernet-ip): identity, DINT, tag group', async function () {
    const { Controller, Tag, TagGroup } = loadEthernetIp(sim.port);
    const plc = new Controller();
    plc.on('error', () => undefined);
    try {
      await plc.connect('127.0.0.1', 0);
      assert.equal(plc.properties.name, '1756-L83E/B SpotFusion Sim');
      const t = new Tag('aDint');
      await plc.readTag(t);
      assert.equal(t.value, 123456);
      const g = new TagGroup();
      const ts = ['aInt', 'aReal', 'ProgramNo'].map((n) => new Tag(n));
      ts.forEach((x) => g.add(x));
      await plc.readTagGroup(g);
      assert.deepEqual(ts.map((x) => x.value), [-1234, 1.5, 1]);
      assert.equal(sim.openSessions, 1);
    } finally {
      plc.destroy();
    }
    await sleep(100);
    assert.equal(sim.openSessions, 0);
  });

  it('negotiates the connection size: Large Forward Open, smaller when the controller offers less', async function () {
    const c = await connect();
    assert.equal(c.client.connectionSize, 4002);
    assert.equal(sim.openConnections, 1);
    const small = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, maxConnectionSize: 1000, udp: false }).start();
    try {
      const c2 = await LogixPlc.connect({ host: '127.0.0.1', port: small.port, connectionSize: 4002 });
      assert.equal(c2.client.connectionSize, 1000);
      const c3 = await LogixPlc.connect({ host: '127.0.0.1', port: small.port, connectionSize: 400 });
      assert.equal(c3.client.connectionSize, 400);
      const r = await c3.read([tag('BigArray', 'DINT', { count: 2000 })]);
      assert.equal(r[0].value[1999], 1999);
      await c2.close();
      await c3.close();
    } finally {
      await small.stop();
    }
  });

  it('refuses extra connections with a readable CIP error and keeps the session count right', async function () {
    const one = await new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, maxConnections: 1, udp: false }).start();
    try {
      const a = await LogixPlc.connect({ host: '127.0.0.1', port: one.port });
      await assert.rejects(LogixPlc.connect({ host: '127.0.0.1', port: one.port }), /Forward Open: CIP status 0x01\/0x0113: connection failure \(out of connections\)/);
      await sleep(50);
      assert.equal(one.openSessions, 1);
      await a.close();
      await sleep(50);
      assert.equal(one.openSessions, 0);
      assert.equal(one.openConnections, 0, 'Forward Close freed the connection');
    } finally {
      await one.stop();
    }
  });

  it('packs 200 mixed tags into few Multiple Service Packets, fewer than unconnected', async function () {
    const tags = benchTags(200, true).map((t) => tag(t.name, t.type));
    const c = await connect();
    const before = c.client.requests;
    const r = await c.read(tags);
    const connectedRequests = c.client.requests - before;
    assert.ok(r.every((x) => x.quality === 'good'), JSON.stringify(r.find((x) => x.quality !== 'good')));
    assert.equal(r[7].value, 'S7');
    assert.equal(r[3].value, false);
    const u = await connect({ connected: false });
    const b2 = u.client.requests;
    const r2 = await u.read(tags);
    const unconnectedRequests = u.client.requests - b2;
    assert.deepEqual(r2, r);
    assert.ok(connectedRequests <= 4, `connected: ${connectedRequests} requests`);
    assert.ok(unconnectedRequests > connectedRequests * 3, `unconnected: ${unconnectedRequests} vs ${connectedRequests}`);
  });

  it('one bad tag gives one bad result; the session stays open', async function () {
    const c = await connect();
    const r = await c.read([tag('aDint', 'DINT'), tag('Nope', 'DINT'), { name: 'oob', address: 'Currents[10]', type: 'REAL' }, { name: 'bad', address: 'aDint[', type: 'DINT' }, { name: 'mem', address: 'Part.Nope', type: 'DINT' }, { name: 'bitOfReal', address: 'aReal.3', type: 'BOOL' }, { name: 'udtAsString', address: 'Part', type: 'STRING' }]);
    assert.equal(r[0].value, 123456);
    assert.match(r[1].error, /0x05/);
    assert.match(r[2].error, /0xff\/0x2105.*beyond the end/);
    assert.match(r[3].error, /expected an array index/);
    assert.match(r[4].error, /0x05/);
    assert.match(r[5].error, /type mismatch/);
    assert.match(r[6].error, /type mismatch/);
    assert.equal(sim.openSessions >= 1, true);
    assert.equal((await c.read([tag('aInt', 'INT')]))[0].value, -1234);
  });

  it('fragmented reads and writes of a 2000-element array, on both paths', async function () {
    for (const connected of [true, false]) {
      const c = await connect({ connected });
      const big = tag('BigArray', 'DINT', { count: 2000 });
      const values = Array.from({ length: 2000 }, (_, k) => k * (connected ? 3 : 5));
      assert.deepEqual(await c.write([{ tag: big, value: values }]), [undefined]);
      assert.deepEqual(sim.db.get('BigArray'), values);
      assert.deepEqual((await c.read([big]))[0].value, values);
    }
    sim.db.set('BigArray', Array.from({ length: 2000 }, (_, k) => k));
  });

  it('tag list (0x55) and templates (0x6C) decode the UDT and STRING', async function () {
    const c = await connect({ connected: false });
    const list = await c.client.tagList();
    assert.ok(list.length > 200);
    const part = list.find((s) => s.name === 'Part');
    assert.ok(part.type & 0x8000);
    const t = await c.client.readTemplate(part.type & 0x0fff);
    assert.equal(t.name, 'PartData');
    assert.deepEqual(t.members.filter((m) => !cip.hiddenMember(m.name)).map((m) => m.name), ['Serial', 'Program', 'Present', 'Clamped', 'Thickness', 'Stamp']);
    assert.equal(list.find((s) => s.name === 'Matrix').dims[1], 3);
  });

  it('values round-trip through write and read for every atomic type (property)', async function () {
    const c = await connect();
    const arb = {
      SINT: fc.integer({ min: -128, max: 127 }),
      INT: fc.integer({ min: -32768, max: 32767 }),
      DINT: fc.integer({ min: -2147483648, max: 2147483647 }),
      USINT: fc.integer({ min: 0, max: 255 }),
      UINT: fc.integer({ min: 0, max: 65535 }),
      UDINT: fc.integer({ min: 0, max: 4294967295 }),
      LREAL: fc.double({ noNaN: true, noDefaultInfinity: true }),
      LINT: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
      BOOL: fc.boolean(),
    };
    const names = { SINT: 'aSint', INT: 'aInt', DINT: 'aDint', USINT: 'aUsint', UINT: 'aUint', UDINT: 'aUdint', LREAL: 'aLreal', LINT: 'aLint', BOOL: 'Ready' };
    await fc.assert(
      fc.asyncProperty(fc.record(arb), async (vals) => {
        const items = Object.entries(vals).map(([type, value]) => ({ tag: { name: type, address: names[type], type }, value: checkWriteValue({ name: type, type }, value) }));
        assert.deepEqual(await c.write(items), items.map(() => undefined));
        const r = await c.read(items.map((i) => i.tag));
        for (const [k, i] of items.entries()) {
          const expect = i.tag.type === 'LINT' ? (Number.isSafeInteger(Number(i.value)) && String(Number(i.value)) === i.value ? Number(i.value) : i.value) : Object.is(i.value, -0) ? 0 : i.value;
          assert.deepEqual(r[k].value === 0 ? 0 : r[k].value, expect, i.tag.type);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('fault switches: refused connects, slow replies (timeout), dropped sessions (lost)', async function () {
    sim.refuseConnects(3_600_000);
    await assert.rejects(LogixPlc.connect({ host: '127.0.0.1', port: sim.port, timeoutMs: 1000 }), /ECONNRESET|reset|refused/);
    sim.refuseConnects(0);
    const c = await connect();
    // a reply slower than usual but within the timeout is still a reply; one beyond it is a timeout
    sim.slowReplies(300);
    const r = await c.read([tag('ProgramNo', 'DINT')]);
    assert.equal(r[0].value, 1);
    sim.slowReplies(1500);
    await assert.rejects(c.read([tag('ProgramNo', 'DINT')]), /no reply within 1000 ms/);
    sim.slowReplies(0);
    const d = await connect();
    const lost = new Promise((resolve) => d.onLost(resolve));
    sim.dropAllSessions();
    assert.match((await lost).message, /closed by the controller/);
    await assert.rejects(d.read([tag('ProgramNo', 'DINT')]), /closed by the controller/);
  });

  it('remembers "templates unavailable" across reconnects when the PLC drops the session on the tag list (no reconnect loop)', async function () {
    const s = parsePlcSettings({ protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, timeout: 1000 }, {}, '/u');
    const driver = plcDriver(s);
    const part = tag('Part', 'UDT');
    sim.dropSessionOnTagList(true);
    const lists0 = sim.stats.tagLists;
    try {
      // the first two sessions are lost on the tag list (one loss alone may be a cable pull)...
      for (let k = 0; k < 2; k++) {
        const c = await driver.open();
        const lost = new Promise((resolve) => c.onLost(resolve));
        await assert.rejects(c.read([part]), /closed by the controller|reset|lost/i);
        await lost;
        await driver.close(c);
      }
      // ...then a new session reads the UDT tag as bad without asking for the tag list again, and stays up
      const c = await driver.open();
      const r = await c.read([part, tag('ProgramNo', 'DINT')]);
      assert.equal(r[0].quality, 'bad');
      assert.match(r[0].error, /UDT templates unavailable: the controller ended the session 2 times in a row while its tag list/);
      assert.equal(r[1].value, 1);
      assert.equal(sim.stats.tagLists - lists0, 2);
      assert.equal(c.client.closed, false);
      assert.equal((await c.read([part]))[0].quality, 'bad');
      assert.equal(sim.stats.tagLists - lists0, 2);
      await driver.close(c);
    } finally {
      sim.dropSessionOnTagList(false);
    }
    // a fresh PLC config (redeploy) tries again
    const again = await plcDriver(s).open();
    clients.push(again);
    assert.equal((await again.read([part]))[0].quality, 'good');
  });

  it('says what is wrong when a BOOL array is served as single BOOLs', async function () {
    const c = await connect();
    const [r] = await c.read([tag('Ready', 'BOOL', { count: 4 })]);
    assert.equal(r.quality, 'bad');
    assert.match(r.error, /the tag map reads BOOL\[4\], a Logix BOOL array, which a controller sends packed in 32-bit DWORDs; the PLC sent single BOOLs \(1 byte\(s\)\)/);
    assert.doesNotMatch(r.error, /has BOOL, the tag map says BOOL/);
  });

  it('survives garbage: bad session handles, unknown commands and random bytes', async function () {
    const talk = (buf) =>
      new Promise((resolve) => {
        const s = net.connect(sim.port, '127.0.0.1');
        const chunks = [];
        s.on('data', (d) => chunks.push(d));
        s.on('error', () => undefined);
        s.on('connect', () => s.write(buf));
        setTimeout(() => {
          s.destroy();
          resolve(Buffer.concat(chunks));
        }, 80);
      });
    const noSession = cip.decodeEncap(await talk(cip.encodeEncap({ command: cip.Command.SendRRData, session: 99, data: cip.sendRRData(Buffer.from([0x4c, 0])) })));
    assert.equal(noSession.status, 0x64);
    const unknown = cip.decodeEncap(await talk(cip.encodeEncap({ command: 0x99 })));
    assert.equal(unknown.status, 0x01);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        await talk(Buffer.from(bytes));
      }),
      { numRuns: 25 },
    );
    const c = await connect();
    assert.equal((await c.read([tag('ProgramNo', 'DINT')]))[0].value, 1, 'still serving');
  });
});

describe('PLC settings, tag maps, writes and the reader (pure)', function () {
  it('parsePlcSettings names what is wrong', function () {
    const ok = parsePlcSettings({ protocol: 'ethernet-ip', host: '10.0.0.5', route: '1,2', messaging: 'unconnected' }, {}, '/u');
    assert.equal(ok.connected, false);
    assert.deepEqual(ok.route, [{ kind: 'port', port: 1, link: 2 }]);
    const bad = [
      [{ protocol: 'modbus' }, /unknown protocol "modbus"/],
      [{ protocol: 'ethernet-ip', host: '' }, /PLC address is empty/],
      [{ protocol: 'ethernet-ip', host: 'a b' }, /not an IP address or host name/],
      [{ protocol: 'ethernet-ip', host: 'plc1', port: 70000 }, /port "70000" must be an integer 1..65535/],
      [{ protocol: 'ethernet-ip', host: 'plc1', connectionSize: 10 }, /connection size/],
      [{ protocol: 'opcua', endpoint: 'nope' }, /is not a URL/],
      [{ protocol: 'opcua', endpoint: 'opc.tcp://h:4840', securityMode: 'Bogus' }, /security mode "Bogus"/],
      [{ protocol: 'opcua', endpoint: 'opc.tcp://h:4840', securityMode: 'Sign', securityPolicy: 'Bogus' }, /security policy "Bogus"/],
    ];
    for (const [def, re] of bad) assert.throws(() => parsePlcSettings(def, {}, '/u'), (e) => e.code === 'CONFIG' && re.test(e.message), JSON.stringify(def));
    const ua = parsePlcSettings({ protocol: 'opcua', endpoint: 'opc.tcp://h:4840', securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' }, { username: 'u', password: 'p' }, '/u');
    assert.equal(ua.opcua.username, 'u');
    assert.equal(ua.opcua.certificateFolder, '/u/opcua-pki');
    assert.throws(() => certFolderIn('/u', '/etc'), /relative/);
    assert.equal(plcDriver(ua).describe(), 'opcua opc.tcp://h:4840');
    assert.equal(plcDriver(parsePlcSettings({ protocol: 'simulator' }, {}, '/u')).describe(), 'simulated Logix station');
  });

  it('parseTagMap and planWrites check everything before anything is sent', async function () {
    const map = parseTagMap(JSON.stringify([{ name: 'a', address: 'A', type: 'dint', count: '3', scale: '2', role: 'extra', unit: 'V' }]), 'x');
    assert.deepEqual(map, [{ name: 'a', address: 'A', type: 'DINT', count: 3, scale: 2, unit: 'V', role: 'extra' }]);
    for (const [raw, re] of [[{}, /must be a list/], [[{}], /name is empty/], [[{ name: 'a' }], /address is empty/], [[{ name: 'a', address: 'A', type: 'DINT' }, { name: 'a', address: 'B', type: 'DINT' }], /used twice/], [[{ name: 'a', address: 'A', type: 'DINT', count: -1 }], /count/], [[{ name: 'a', address: 'A', type: 'DINT', role: 'boss' }], /role "boss"/], [[{ name: 'a', address: 'A', type: 'DINT', scale: 'x' }], /scale "x" is not a number/]]) {
      assert.throws(() => parseTagMap(raw, 'x'), re);
    }
    assert.deepEqual(parseTagMap('', 'x'), []);
    const tags = [tag('A', 'DINT'), tag('S', 'STRING'), tag('U', 'UDT'), tag('L', 'LINT')];
    assert.throws(() => planWrites(tags, { A: 1, S: 2, U: [], Z: 1 }), /nothing written: .*A|S.*STRING needs a string.*U.*UDT needs an object.*"Z" is not in the tag map/);
    assert.throws(() => planWrites(tags, []), /must be an object/);
    assert.throws(() => planWrites(tags, {}), /nothing to write/);
    assert.deepEqual(planWrites(tags, { L: 2n ** 60n }).map((i) => i.value), [String(2n ** 60n)]);
    const fake = { write: async (items) => items.map((i) => (i.tag.name === 'A' ? 'refused' : undefined)) };
    await assert.rejects(writeTags(fake, tags, { A: 1, S: 'x' }), (e) => e.code === 'WRITE' && /"A" \(refused\); written: S/.test(e.message) && e.report.written[0] === 'S');
  });

  it('buildOutput and the reader: scale, roles, trigger edges, no message after stop', async function () {
    const tags = [tag('T', 'BOOL'), tag('N', 'DINT', { scale: 0.5, unit: 'mm', role: 'program' }), tag('S', 'STRING', { role: 'serial' })];
    const out = buildOutput(tags, [{ value: true, quality: 'good' }, { value: 4, quality: 'good' }, { value: null, quality: 'bad', error: 'gone' }], { station: 's', protocol: 'p', readAt: 'now', cycle: 1, durationMs: 1, overruns: 0 });
    assert.deepEqual(out.payload, { T: true, N: 2, S: null });
    assert.deepEqual(out.part, { program: 2, serial: null, extra: {} });
    assert.equal(out.plc.errors.S, 'gone');
    // sequenced by the reads the reader makes, not by sleeps: each step waits for the cycles it needs
    let value = false;
    let fail = false;
    let reads = 0;
    let gate; // while set, a read waits for it: a cycle in flight
    const client = { protocol: 'ethernet-ip', read: async () => {
      reads += 1;
      if (gate) await gate.promise;
      if (fail) throw new Error('lost');
      return [{ value, quality: 'good' }, { value: 1, quality: 'good' }, { value: 'x', quality: 'good' }];
    } };
    const moreReads = (k, what) => {
      const n = reads + k;
      return until(() => reads >= n, 10000, what, 1);
    };
    const sent = [];
    const errors = [];
    const r = new PlcReader({ tags, mode: 'trigger', trigger: 'T', intervalMs: 10, station: 's', client: () => client, emit: (o) => sent.push(o), onError: (e) => errors.push(e) });
    r.start();
    await moreReads(2, 'two cycles with the trigger low');
    assert.equal(sent.length, 0, 'no message without an edge');
    value = true;
    await until(() => sent.length === 1, 10000, 'the rising edge sent', 1);
    fail = true;
    await until(() => errors.length >= 1, 10000, 'a failed read reported', 1);
    fail = false;
    await moreReads(3, 'three good cycles after the error');
    assert.equal(sent.length, 1, 'one edge, no second message when the trigger stays high across an error');
    value = false;
    await moreReads(2, 'two cycles with the trigger low again');
    // a rising edge whose read is in flight when stop() is called is not sent, and no cycle follows
    let release;
    gate = { promise: new Promise((resolve) => (release = resolve)) };
    value = true;
    await moreReads(1, 'a read in flight');
    const readsAtStop = reads;
    await r.stop();
    release();
    await new Promise((resolve) => setImmediate(resolve)); // the cycle in flight has finished
    await new Promise((resolve) => setImmediate(resolve)); // and would have scheduled the next one
    assert.equal(sent.length, 1, 'nothing after stop');
    assert.equal(reads, readsAtStop, 'no read after stop');
    assert.equal(sent[0].plc.fired, 'edge');
    const st = { v: {}, get: (n) => st.v[n], set: (n, x) => (st.v[n] = x) };
    const script = new StationScript(st, { periodMs: 20, pulseMs: 5 }).start();
    await sleep(70);
    script.stop();
    assert.ok(script.parts >= 2);
    assert.match(st.v.PartSerial, /^WB-0000\d\d$/);
    assert.equal(st.v.Trigger, false);
  });

  it('trigger mode: a new serial under a trigger that stayed high is a new part, counted once', async function () {
    const tags = [tag('T', 'BOOL'), tag('S', 'STRING', { role: 'serial' })];
    const plc = { T: true, S: 'A', fail: false };
    const reads = [];
    const client = { protocol: 'ethernet-ip', read: async () => {
      if (plc.fail) throw new Error('lost');
      reads.push(`${plc.T ? 'H' : 'L'}${plc.S}`);
      return [{ value: plc.T, quality: 'good' }, { value: plc.S, quality: 'good' }];
    } };
    const sent = [];
    const r = new PlcReader({ tags, mode: 'trigger', trigger: 'T', intervalMs: 5, station: 's', client: () => client, emit: (o) => sent.push(`${o.plc.fired}:${o.part.serial}`), onError: () => undefined });
    // settle for a few cycles, then change the PLC and wait until the reader has read the new state twice
    const set = async (state) => {
      Object.assign(plc, state);
      const n = reads.length;
      while (reads.length < n + 2) await sleep(5);
    };
    r.start();
    await set({});
    assert.deepEqual(sent, [], 'high at start with a serial: no part');
    await set({ S: 'B' });
    assert.deepEqual(sent, ['serial:B'], 'the low phase was missed: the new serial is the part');
    await set({ T: false });
    await set({ T: true });
    assert.deepEqual(sent, ['serial:B'], 'the late edge of B is the same part');
    await set({ T: false, S: 'C' });
    await set({ T: true });
    assert.deepEqual(sent, ['serial:B', 'edge:C']);
    await set({ T: false });
    await set({ T: true });
    assert.deepEqual(sent, ['serial:B', 'edge:C', 'edge:C'], 'a second edge of the same serial is a re-inspection');
    // the trigger fell and rose again while the connection was down: the serial tells the new part
    plc.fail = true;
    await sleep(30);
    plc.S = 'D';
    await set({ fail: false });
    assert.deepEqual(sent, ['serial:B', 'edge:C', 'edge:C', 'serial:D']);
    await set({ S: 'E', T: true });
    await r.stop();
    assert.deepEqual(sent, ['serial:B', 'edge:C', 'edge:C', 'serial:D', 'serial:E']);
  });
});
