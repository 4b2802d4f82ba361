'use strict';
// The Logix simulator answers the requests common EtherNet/IP clients send at connect and browse as a
// ControlLogix does: real request bytes over TCP/UDP on 127.0.0.1, replies decoded here by hand.
const assert = require('node:assert/strict');
const net = require('node:net');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { LogixClient, listIdentity } = require('../../dist/nodes/lib/plc/logix-client');
const cip = require('../../dist/nodes/lib/plc/cip');

const { Service, ClassId } = cip;

/** Get Instance Attribute List on the symbol class (optionally of a program) from `start`, asking for `attrs` */
function tagListRequest(attrs, { start = 0, program } = {}) {
  const data = Buffer.alloc(2 + attrs.length * 2);
  data.writeUInt16LE(attrs.length, 0);
  attrs.forEach((a, k) => data.writeUInt16LE(a, 2 + k * 2));
  const path = [];
  if (program) path.push({ kind: 'symbol', name: program });
  path.push({ kind: 'class', id: ClassId.Symbol }, { kind: 'instance', id: start });
  return cip.encodeRequest(Service.GetInstanceAttributeList, path, data);
}

/** entries of a 1 (name) + 2 (type) reply */
function nameType(b) {
  const out = [];
  for (let o = 0; o < b.length; ) {
    const instance = b.readUInt32LE(o);
    const len = b.readUInt16LE(o + 4);
    out.push({ instance, name: b.toString('latin1', o + 6, o + 6 + len), type: b.readUInt16LE(o + 6 + len) });
    o += 8 + len;
  }
  return out;
}

async function wholeList(c, attrs, opts = {}) {
  const all = [];
  let start = 0;
  for (;;) {
    const r = await c.send(tagListRequest(attrs, { ...opts, start }));
    assert.ok(r.status === 0 || r.status === 6, `status ${r.status}`);
    const entries = nameType(r.data);
    all.push(...entries);
    if (r.status === 0) return all;
    start = entries[entries.length - 1].instance + 1;
  }
}

describe('Logix simulator answers like a ControlLogix', function () {
  this.timeout(10000);
  let sim;
  let c;
  before(async function () {
    sim = await new LogixSimulator({ tags: [...STATION_TAGS, { name: 'Program:Main.Count', type: 'INT', value: 3 }], udts: STATION_UDTS }).start();
    c = await LogixClient.connect({ host: '127.0.0.1', port: sim.port, timeoutMs: 2000, connected: false });
  });
  after(async function () {
    await c.close();
    await sim.stop();
  });

  it('tag list (0x55) answers exactly the attributes asked for, in the order asked', async function () {
    const list = await wholeList(c, [1, 2]);
    const program = list.find((e) => e.name === 'ProgramNo');
    assert.equal(program.type, cip.TypeCode.DINT);
    // type first, then name: entries are instance, type (UINT), name
    const r = await c.send(tagListRequest([2, 1], { start: program.instance }));
    assert.equal(r.data.readUInt32LE(0), program.instance);
    assert.equal(r.data.readUInt16LE(4), cip.TypeCode.DINT);
    assert.equal(r.data.readUInt16LE(6), 'ProgramNo'.length);
    assert.equal(r.data.toString('latin1', 8, 8 + 9), 'ProgramNo');
    // element size (7) and dimensions (8) only when asked
    const m = list.find((e) => e.name === 'Matrix');
    const dims = await c.send(tagListRequest([7, 8], { start: m.instance }));
    assert.equal(dims.data.readUInt32LE(0), m.instance);
    assert.equal(dims.data.readUInt16LE(4), 2); // INT
    assert.equal(dims.data.readUInt32LE(6), 2);
    assert.equal(dims.data.readUInt32LE(10), 3);
    // an attribute a symbol does not have: attribute not supported, the session stays
    assert.equal((await c.send(tagListRequest([1, 99]))).status, 0x14);
    assert.equal(c.closed, false);
  });

  it('program scope: Program:Main is a controller entry, its tags are in its own tag list, not the controller\'s', async function () {
    const list = await wholeList(c, [1, 2]);
    assert.ok(!list.some((e) => /^Program:Main\./i.test(e.name)), 'no program tag in the controller scope');
    const prog = list.find((e) => e.name === 'Program:Main');
    assert.ok(prog, 'a Program:Main entry');
    assert.equal(prog.type, 0x1068);
    const mine = await wholeList(c, [1, 2], { program: 'Program:Main' });
    assert.deepEqual(mine.map((e) => e.name).sort(), ['Count', 'Step']);
    assert.equal(mine.find((e) => e.name === 'Step').type, cip.TypeCode.DINT);
    const none = await c.send(tagListRequest([1, 2], { program: 'Program:Nope' }));
    assert.equal(none.status, 0x05);
    // and the tags read as Program:Main.Step
    const read = await c.send(cip.encodeRequest(Service.ReadTag, cip.parseTagAddress('Program:Main.Step').segments, Buffer.from([1, 0])));
    assert.equal(read.status, 0);
    assert.equal(read.data.readInt32LE(2), 7);
  });

  it('Identity: Get Attributes All and Get Attribute Single 1-8', async function () {
    const path = (attr) => [{ kind: 'class', id: ClassId.Identity }, { kind: 'instance', id: 1 }, ...(attr ? [{ kind: 'attribute', id: attr }] : [])];
    const all = await c.send(cip.encodeRequest(Service.GetAttributesAll, path()));
    assert.equal(all.status, 0);
    const one = async (a) => {
      const r = await c.send(cip.encodeRequest(Service.GetAttributeSingle, path(a)));
      assert.equal(r.status, 0, `attribute ${a}`);
      return r.data;
    };
    assert.equal((await one(1)).readUInt16LE(0), 1);
    assert.equal((await one(2)).readUInt16LE(0), 0x0e);
    assert.equal((await one(3)).readUInt16LE(0), 0x96);
    assert.deepEqual([...(await one(4))], [33, 11]);
    assert.equal((await one(5)).readUInt16LE(0), 0x3060);
    assert.equal((await one(6)).readUInt32LE(0), 0xc0ffee);
    const name = await one(7);
    assert.equal(name.toString('latin1', 1, 1 + name[0]), '1756-L83E/B SpotFusion Sim');
    assert.deepEqual([...(await one(8))], [3]);
    assert.equal((await c.send(cip.encodeRequest(Service.GetAttributeSingle, path(42)))).status, 0x14);
    const wrongInstance = [{ kind: 'class', id: ClassId.Identity }, { kind: 'instance', id: 2 }, { kind: 'attribute', id: 1 }];
    assert.equal((await c.send(cip.encodeRequest(Service.GetAttributeSingle, wrongInstance))).status, 0x16);
  });

  it('wall clock object (0x8B): get and set the local time (attribute 5, 7 DINTs)', async function () {
    const path = [{ kind: 'class', id: ClassId.WallClock }, { kind: 'instance', id: 1 }, { kind: 'attribute', id: 5 }];
    const want = [2031, 7, 15, 13, 45, 30, 250000];
    const b = Buffer.alloc(28);
    want.forEach((v, k) => b.writeInt32LE(v, k * 4));
    assert.equal((await c.send(cip.encodeRequest(Service.SetAttributeSingle, path, b))).status, 0);
    const r = await c.send(cip.encodeRequest(Service.GetAttributeSingle, path));
    assert.equal(r.status, 0);
    const got = Array.from({ length: 7 }, (_, k) => r.data.readInt32LE(k * 4));
    assert.deepEqual(got.slice(0, 5), want.slice(0, 5));
    assert.ok(got[5] >= 30 && got[5] <= 32, `seconds ${got[5]}`);
    const bad = Buffer.from(b);
    bad.writeInt32LE(13, 4);
    assert.equal((await c.send(cip.encodeRequest(Service.SetAttributeSingle, path, bad))).status, 0x09);
    assert.equal((await c.send(cip.encodeRequest(Service.SetAttributeSingle, path, b.subarray(0, 8)))).status, 0x13);
  });

  it('unsupported requests get the CIP status a controller gives and the session stays', async function () {
    assert.equal((await c.send(cip.encodeRequest(0x33, [{ kind: 'class', id: ClassId.Identity }, { kind: 'instance', id: 1 }]))).status, 0x08);
    assert.equal((await c.send(cip.encodeRequest(Service.GetAttributeSingle, [{ kind: 'class', id: 0x99 }, { kind: 'instance', id: 1 }]))).status, 0x05);
    assert.equal((await c.send(cip.encodeRequest(Service.GetAttributeSingle, [{ kind: 'class', id: ClassId.WallClock }, { kind: 'instance', id: 1 }, { kind: 'attribute', id: 77 }]))).status, 0x14);
    assert.equal(c.closed, false);
  });

  it('ListIdentity on the device\'s UDP port (127.0.0.1 only) and an empty ListInterfaces', async function () {
    assert.equal(sim.udpPort, sim.port);
    const found = await listIdentity('127.0.0.1', sim.port, 2000);
    assert.equal(found.length, 1);
    assert.equal(found[0].port, sim.port);
    const sock = net.connect(sim.port, '127.0.0.1');
    const reply = await new Promise((resolve, reject) => {
      sock.on('error', reject);
      sock.once('data', resolve);
      sock.write(cip.encodeEncap({ command: cip.Command.ListInterfaces }));
    });
    sock.destroy();
    const p = cip.decodeEncap(reply);
    assert.equal(p.command, cip.Command.ListInterfaces);
    assert.equal(p.status, 0);
    assert.deepEqual([...p.data], [0, 0]);
  });
});
