'use strict';
// st-ethernet-ip 2.7 (an independent Logix client) against our Logix simulator on 127.0.0.1 only: connect
// (Register Session, Forward Open, controller properties, tag-list upload with program tags and templates),
// reads and writes of every atomic type, a UDT, the wall clock, Get Attribute Single. No discovery is called.
const assert = require('node:assert/strict');
const path = require('node:path');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');

/** st-ethernet-ip with its fixed port 44818 replaced by the simulator's (it has no port option) */
function loadStEthernetIp(port) {
  const root = path.dirname(require.resolve('st-ethernet-ip/package.json'));
  for (const k of Object.keys(require.cache)) if (k.startsWith(root + path.sep)) delete require.cache[k];
  require(path.join(root, 'dist', 'config.js')).EIP_PORT = port;
  return { Controller: require(path.join(root, 'dist', 'controller')).default, Tag: require(path.join(root, 'dist', 'tag')).default, Structure: require(path.join(root, 'dist', 'structure')).Structure };
}

describe('st-ethernet-ip 2.7 against the Logix simulator (127.0.0.1)', function () {
  this.timeout(20000);
  let sim;
  let plc;
  let lib;
  before(async function () {
    sim = await new LogixSimulator({ tags: [...STATION_TAGS, { name: 'Program:Main.Count', type: 'INT', value: 3 }], udts: STATION_UDTS }).start();
    lib = loadStEthernetIp(sim.port);
    plc = new lib.Controller();
    plc.on('error', () => undefined);
    await plc.connect('127.0.0.1', 0);
  });
  after(async function () {
    if (plc) await plc.disconnect().catch(() => undefined);
    await sim.stop();
  });

  it('reads the controller properties at connect', function () {
    assert.equal(plc.properties.name, '1756-L83E/B SpotFusion Sim');
    assert.equal(plc.properties.serial_number, 0xc0ffee);
    assert.equal(plc.properties.version, '33.11');
    assert.equal(plc.properties.run, true);
    assert.equal(plc.properties.faulted, false);
  });

  it('uploads the tag list with program tags and template names', function () {
    const list = plc.tagList;
    const find = (name, program = null) => list.find((t) => t.name === name && t.program === program);
    assert.equal(find('ProgramNo').type.typeName, 'DINT');
    assert.equal(find('Matrix').type.arrayDims, 2);
    assert.equal(find('Part').type.typeName, 'PartData');
    assert.equal(find('Step', 'Main').type.typeName, 'DINT');
    assert.equal(find('Count', 'Main').type.typeName, 'INT');
    assert.ok(!list.some((t) => /^Program:Main\./.test(t.name)), 'no program tag in the controller scope');
  });

  it('reads and writes every atomic type, and a program tag', async function () {
    const cases = [
      ['aSint', -100],
      ['aInt', -30000],
      ['aDint', -2000000000],
      ['aUsint', 200],
      ['aReal', 1.5],
      ['aLint', 1234567890123n],
      ['Ready', true],
    ];
    for (const [name, value] of cases) {
      const t = new lib.Tag(name);
      await plc.readTag(t);
      await plc.writeTag(t, value);
      const back = new lib.Tag(name);
      await plc.readTag(back);
      assert.equal(typeof value === 'bigint' ? BigInt(back.value) : back.value, value, name);
      const simValue = sim.db.get(name);
      assert.equal(typeof value === 'bigint' ? BigInt(simValue) : simValue, value, `${name} in the simulator`);
    }
    // UINT: st-ethernet-ip 2.7 reads it but has no writer for it ("Unrecognized Type to Write to Controller: 199");
    // UDINT and LREAL it can neither read nor write ("Unrecognized Type Passed Read from Controller: 200", 203)
    sim.db.set('aUint', 60000);
    const u = new lib.Tag('aUint');
    await plc.readTag(u);
    assert.equal(u.value, 60000);
    const step = new lib.Tag('Step', 'Main');
    await plc.readTag(step);
    assert.equal(step.value, 7);
    await plc.writeTag(step, 9);
    assert.equal(sim.db.get('Program:Main.Step'), 9);
  });

  it('reads a UDT (structure with its template)', async function () {
    const part = new lib.Structure('Part', plc.state.tagList);
    await plc.readTag(part);
    assert.equal(part.value.Serial, sim.db.get('Part').Serial);
    assert.equal(part.value.Program, sim.db.get('Part').Program);
    // writing it back is not covered: st-ethernet-ip 2.7.5 writes a scalar LINT member at its offset + 8
    // (structure/index.js, _parseWriteData), so PartData.Stamp at offset 112 of 120 bytes throws a RangeError;
    // the template it read (size 120, Stamp at 112) is right
  });

  it('gets and sets the wall clock, and Get Attribute Single on the Identity object', async function () {
    await plc.writeWallClock(new Date(2030, 1, 2, 3, 4, 5));
    await plc.readWallClock();
    const t = plc.properties.time;
    assert.deepEqual([t.getFullYear(), t.getMonth(), t.getDate(), t.getHours(), t.getMinutes()], [2030, 1, 2, 3, 4]);
    const name = await plc.getAttributeSingle(1, 1, 7);
    assert.equal(name.toString('latin1', 1, 1 + name[0]), '1756-L83E/B SpotFusion Sim');
    const serial = await plc.getAttributeSingle(1, 1, 6);
    assert.equal(serial.readUInt32LE(0), 0xc0ffee);
  });
});
