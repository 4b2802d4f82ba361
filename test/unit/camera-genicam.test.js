'use strict';
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { parseFormula, evaluate, tokenize, variablesOf } = require('../../dist/nodes/lib/camera/genicam/expression');
const { NodeMap, parseNumber } = require('../../dist/nodes/lib/camera/genicam/nodemap');
const { parseFirstUrl, xmlFromFile } = require('../../dist/nodes/lib/camera/gige/camera');
const { zipSync, strToU8 } = require('fflate');

const calc = (src, vars = {}, integer = false) => evaluate(parseFormula(src), (n) => vars[n], integer);

describe('GenICam formulas (own parser, never eval)', function () {
  it('follows GenICam precedence and associativity', function () {
    assert.equal(calc('1 + 2 * 3'), 7);
    assert.equal(calc('(1 + 2) * 3'), 9);
    assert.equal(calc('2 ** 3 ** 2'), 512);
    assert.equal(calc('-2 ** 2'), 4);
    assert.equal(calc('10 - 4 - 3'), 3);
    assert.equal(calc('1 << 4 + 1'), 32);
    assert.equal(calc('6 & 3 | 8'), 10);
    assert.equal(calc('5 ^ 1'), 4);
    assert.equal(calc('1 < 2 = 1'), 1);
    assert.equal(calc('3 <> 3 || 2 >= 2 && 0'), 0);
    assert.equal(calc('X > 5 ? X * 2 : 0 - X', { X: 7 }), 14);
    assert.equal(calc('X > 5 ? 1 : X = 3 ? 30 : 40', { X: 3 }), 30);
    assert.equal(calc('!0 + ~0'), 0);
    assert.equal(calc('0x10 + 0b11 + 1.5e1'), 34);
  });

  it('has the GenICam functions and constants', function () {
    assert.equal(calc('ABS(-3) + SGN(-9) + NEG(1)'), 1);
    assert.equal(calc('TRUNC(2.7) + FLOOR(-1.5) + CEIL(1.1)'), 2);
    assert.equal(calc('ROUND(2.345, 2)'), 2.35);
    assert.equal(calc('ROUND(2.5)'), 3);
    assert.ok(Math.abs(calc('SIN(PI/2) + COS(0) + LN(E) + LG(100) + SQRT(16) + EXP(0)') - 10) < 1e-12);
    assert.ok(Math.abs(calc('ATAN(1) * 4 - PI')) < 1e-12);
    assert.ok(Math.abs(calc('ASIN(1) + ACOS(1) + TAN(0)') - Math.PI / 2) < 1e-12);
  });

  it('does integer semantics for IntSwissKnife: truncating division, 64-bit bit operations', function () {
    assert.equal(calc('7 / 2', {}, true), 3);
    assert.equal(calc('-7 / 2', {}, true), -3);
    assert.equal(calc('7 / 2'), 3.5);
    assert.equal(calc('0x100000000 | 1', {}, true), 4294967297);
    assert.equal(calc('(0x1234567800 >> 8) & 0xFFFFFFFF', {}, true), 0x12345678);
    assert.equal(calc('W * H * ((PF>>16)&0xFF) / 8', { W: 512, H: 512, PF: 17301505 }, true), 262144);
    assert.throws(() => calc('1 / 0', {}, true), /division by zero/);
    assert.throws(() => calc('1 % 0'), /modulo by zero/);
  });

  it('lists variables and rejects what is not a formula with its position', function () {
    assert.deepEqual([...variablesOf(parseFormula('A + B * SIN(C) ? D : 1'))].sort(), ['A', 'B', 'C', 'D']);
    assert.throws(() => parseFormula('1 +'), /unexpected end/);
    assert.throws(() => parseFormula('(1 + 2'), /expected "\)"/);
    assert.throws(() => parseFormula('1 2'), /unexpected "2" at position 3/);
    assert.throws(() => parseFormula('a $ b'), /unexpected character "\$"/);
    assert.throws(() => parseFormula(''), /empty/);
    assert.throws(() => parseFormula('process.exit(1)'), /unexpected "\("/);
    assert.throws(() => calc('X + 1', {}), /"X" has no numeric value/);
    assert.throws(() => calc('ROUND()'), /ROUND\(\) takes 1–2/);
    assert.equal(tokenize('a<=b').length, 3);
  });

  it('agrees with plain arithmetic on random integer expressions (property)', function () {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 50 }), (a, b, c) => {
        assert.equal(calc(`A + B * C - (A - B) / C`, { A: a, B: b, C: c }) || 0, a + b * c - (a - b) / c || 0);
        assert.equal(calc('A % C', { A: a, C: c }, true) || 0, a % c || 0);
        assert.equal(calc('(A & 0xFF) | (B << 2)', { A: a, B: b }, true), Number((BigInt(a) & 0xffn) | (BigInt(b) << 2n)));
      }),
    );
  });
});

/** A register space in memory behind the Port interface (the node map's only dependency). */
function memoryPort(size = 0x1000) {
  const mem = Buffer.alloc(size);
  const log = [];
  return {
    mem,
    log,
    async read(address, length) {
      log.push(['r', address, length]);
      if (address + length > size) throw new Error(`read past end at 0x${address.toString(16)}`);
      return Buffer.from(mem.subarray(address, address + length));
    },
    async write(address, data) {
      log.push(['w', address, data.length]);
      data.copy(mem, address);
    },
  };
}

const XML = `<?xml version="1.0"?>
<RegisterDescription ModelName="Unit" VendorName="SpotFusion" xmlns="http://www.genicam.org/GenApi/Version_1_0">
  <Category Name="Root"><pFeature>Width</pFeature><pFeature>Sub</pFeature></Category>
  <Category Name="Sub"><pFeature>Gain</pFeature><pFeature>Root</pFeature></Category>
  <Integer Name="Width"><pValue>WidthReg</pValue><Min>8</Min><pMax>MaxWidth</pMax><Inc>4</Inc></Integer>
  <IntReg Name="WidthReg"><Address>0x100</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Sign>Unsigned</Sign><Endianess>BigEndian</Endianess></IntReg>
  <Integer Name="MaxWidth"><Value>2048</Value></Integer>
  <IntReg Name="LittleReg"><Address>0x104</Address><Length>2</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Sign>Signed</Sign><Endianess>LittleEndian</Endianess></IntReg>
  <MaskedIntReg Name="Bits4to7"><Address>0x108</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><LSB>27</LSB><MSB>24</MSB><Endianess>BigEndian</Endianess></MaskedIntReg>
  <MaskedIntReg Name="LeBit3"><Address>0x108</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Bit>3</Bit><Endianess>LittleEndian</Endianess></MaskedIntReg>
  <StructReg Comment="s">
    <Address>0x10C</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess>
    <StructEntry Name="Hi"><LSB>15</LSB><MSB>0</MSB><Sign>Signed</Sign></StructEntry>
    <StructEntry Name="Lo"><LSB>31</LSB><MSB>16</MSB></StructEntry>
  </StructReg>
  <Float Name="Gain"><pValue>GainConv</pValue><Min>0</Min><Max>24</Max></Float>
  <Converter Name="GainConv"><pVariable Name="K">GainScale</pVariable><FormulaTo>FROM * K</FormulaTo><FormulaFrom>TO / K</FormulaFrom><pValue>GainRaw</pValue></Converter>
  <Integer Name="GainScale"><Value>10</Value></Integer>
  <IntReg Name="GainRaw"><Address>0x110</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <FloatReg Name="Temp"><Address>0x114</Address><Length>4</Length><AccessMode>RO</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></FloatReg>
  <FloatReg Name="Ratio"><Address>0x118</Address><Length>8</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>LittleEndian</Endianess></FloatReg>
  <IntSwissKnife Name="Payload"><pVariable Name="W">Width</pVariable><Constant Name="H">100</Constant><Expression Name="WH">W * H</Expression><Formula>WH * 2</Formula></IntSwissKnife>
  <SwissKnife Name="Half"><pVariable Name="G">Gain</pVariable><Formula>G / 4</Formula></SwissKnife>
  <Enumeration Name="Mode"><EnumEntry Name="Off"><Value>0</Value></EnumEntry><EnumEntry Name="On"><Value>1</Value></EnumEntry><EnumEntry Name="Hidden"><Value>2</Value><pIsAvailable>Never</pIsAvailable></EnumEntry><pValue>ModeReg</pValue></Enumeration>
  <Integer Name="Never"><Value>0</Value></Integer>
  <IntReg Name="ModeReg"><Address>0x120</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <Enumeration Name="Selector"><EnumEntry Name="A"><Value>0</Value></EnumEntry><EnumEntry Name="B"><Value>1</Value></EnumEntry><pValue>SelectorValue</pValue><pSelected>Level</pSelected></Enumeration>
  <Integer Name="SelectorValue"><Value>0</Value></Integer>
  <Integer Name="Level"><pValue>LevelReg</pValue></Integer>
  <IntReg Name="LevelReg"><Address>0x200</Address><pIndex Offset="0x10">SelectorValue</pIndex><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <Boolean Name="Enable"><pValue>EnableReg</pValue><OnValue>321</OnValue><OffValue>123</OffValue></Boolean>
  <IntReg Name="EnableReg"><Address>0x130</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <Command Name="Start"><pValue>CmdReg</pValue><CommandValue>7</CommandValue></Command>
  <IntReg Name="CmdReg"><Address>0x134</Address><Length>4</Length><AccessMode>WO</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <StringReg Name="Vendor"><Address>0x140</Address><Length>16</Length><AccessMode>RW</AccessMode><pPort>Device</pPort></StringReg>
  <String Name="Fixed"><Value>hello</Value></String>
  <Integer Name="Locked"><pValue>WidthReg</pValue><pIsLocked>LockFlag</pIsLocked></Integer>
  <Integer Name="LockFlag"><Value>1</Value></Integer>
  <Integer Name="Gone"><pValue>WidthReg</pValue><pIsAvailable>Never</pIsAvailable></Integer>
  <Integer Name="Status"><pValue>StatusReg</pValue></Integer>
  <IntReg Name="StatusReg"><Address>0x150</Address><Length>4</Length><AccessMode>RO</AccessMode><pPort>Device</pPort><Cachable>NoCache</Cachable><Endianess>BigEndian</Endianess></IntReg>
  <IntReg Name="Derived"><Address>0x154</Address><Length>4</Length><AccessMode>RO</AccessMode><pPort>Device</pPort><pInvalidator>Width</pInvalidator><Endianess>BigEndian</Endianess></IntReg>
  <IntReg Name="Pointed"><pAddress>BaseAddr</pAddress><Address>0x4</Address><Length>4</Length><AccessMode>RW</AccessMode><pPort>Device</pPort><Endianess>BigEndian</Endianess></IntReg>
  <Integer Name="BaseAddr"><Value>0x300</Value></Integer>
  <Integer Name="LoopA"><pValue>LoopB</pValue></Integer>
  <Integer Name="LoopB"><pValue>LoopA</pValue></Integer>
  <Group Comment="g"><Integer Name="InGroup"><Value>5</Value></Integer></Group>
  <Port Name="Device"/>
</RegisterDescription>`;

describe('GenICam node map', function () {
  let port;
  let nm;
  beforeEach(function () {
    port = memoryPort();
    nm = new NodeMap(XML, port);
  });

  it('refuses a FloatReg whose length is not 4 or 8, on read and on write (fuzzer seed 225046460)', async function () {
    const bad = new NodeMap(
      '<?xml version="1.0"?>\n<RegisterDescription ModelName="Fuzz" VendorName="SpotFusion">\n<FloatReg Name="A"><Address>0x100</Address><Length>2</Length><pPort>Device</pPort></FloatReg>\n</RegisterDescription>',
      memoryPort(),
    );
    await assert.rejects(bad.set('A', 1.5), (e) => e.code === 'GENICAM' && /FloatReg length 2 is not 4 or 8/.test(e.message));
    await assert.rejects(bad.get('A'), (e) => e.code === 'GENICAM' && /FloatReg length 2 is not 4 or 8/.test(e.message));
  });

  it('reads vendor, model, nodes, categories and groups', function () {
    assert.equal(nm.vendor, 'SpotFusion');
    assert.equal(nm.model, 'Unit');
    assert.equal(nm.kindOf('Width'), 'Integer');
    assert.equal(nm.kindOf('Hi'), 'MaskedIntReg');
    assert.ok(nm.has('InGroup'));
    assert.deepEqual(nm.features('Root'), ['Width', 'Gain']);
  });

  it('reads and writes big- and little-endian, signed and masked registers', async function () {
    port.mem.writeUInt32BE(640, 0x100);
    assert.equal(await nm.get('Width'), 640);
    await nm.set('LittleReg', -2);
    assert.deepEqual([...port.mem.subarray(0x104, 0x106)], [0xfe, 0xff]);
    assert.equal(await nm.get('LittleReg'), -2);
    port.mem.writeUInt32BE(0xa5000000 + 0xa8, 0x108);
    assert.equal(await nm.get('Bits4to7'), 0xa, 'big-endian LSB 27…MSB 24 is bits 4–7 counted from the least significant');
    await nm.set('Bits4to7', 0xc);
    assert.equal(port.mem.readUInt32BE(0x108), 0xa50000c8);
    assert.equal(await nm.get('LeBit3'), 0, 'little-endian bit 3 of a big-endian stored 0x…08 is in byte 0');
    port.mem.writeUInt32BE(0xfffe0007, 0x10c);
    assert.equal(await nm.get('Hi'), -2);
    assert.equal(await nm.get('Lo'), 7);
    await nm.set('Lo', 0x1234);
    assert.equal(port.mem.readUInt32BE(0x10c), 0xfffe1234);
  });

  it('checks Min/pMax/Inc, access mode, lock and availability', async function () {
    await nm.set('Width', 1024);
    assert.equal(port.mem.readUInt32BE(0x100), 1024);
    await assert.rejects(nm.set('Width', 4096), /Width: 4096 is outside 8…2048/);
    await assert.rejects(nm.set('Width', 1026), /not a step of 4/);
    await assert.rejects(nm.set('Width', 10.5), /integer/);
    await assert.rejects(nm.set('Width', 'abc'), /needs a number/);
    await assert.rejects(nm.set('Temp', 1), /read-only/);
    await assert.rejects(nm.set('Locked', 16), (e) => e.code === 'LOCKED');
    await assert.rejects(nm.get('Gone'), (e) => e.code === 'NOT_AVAILABLE');
    await assert.rejects(nm.get('CmdReg'), /write-only/);
    await assert.rejects(nm.get('Nope'), /"Nope" does not exist/);
    await assert.rejects(nm.get('LoopA'), /circular/);
    assert.deepEqual(await nm.range('Width'), { min: 8, max: 2048, inc: 4 });
    assert.equal(await nm.isWritable('Width'), true);
    assert.equal(await nm.isWritable('Temp'), false);
    assert.equal(await nm.isWritable('Locked'), false);
    assert.equal(await nm.isWritable('Gone'), false);
    assert.equal(await nm.isWritable('Payload'), false);
  });

  it('evaluates Converter and (Int)SwissKnife formulas both ways', async function () {
    await nm.set('Gain', 12.5);
    assert.equal(port.mem.readUInt32BE(0x110), 125);
    assert.equal(await nm.get('Gain'), 12.5);
    assert.equal(await nm.get('Half'), 3.125);
    port.mem.writeUInt32BE(100, 0x100);
    assert.equal(await nm.get('Payload'), 20000);
    await assert.rejects(nm.set('Gain', 30), /outside 0…24/);
    await assert.rejects(nm.set('Payload', 1), /cannot be written/);
  });

  it('handles FloatReg, Enumeration, Boolean, Command, String and StringReg', async function () {
    port.mem.writeFloatBE(36.5, 0x114);
    assert.equal(await nm.get('Temp'), 36.5);
    await nm.set('Ratio', 0.125);
    assert.equal(port.mem.readDoubleLE(0x118), 0.125);
    await nm.set('Mode', 'On');
    assert.equal(port.mem.readUInt32BE(0x120), 1);
    assert.equal(await nm.get('Mode'), 'On');
    assert.deepEqual((await nm.entries('Mode')).map((e) => e.name), ['Off', 'On']);
    await assert.rejects(nm.set('Mode', 'Hidden'), /not one of Off, On/);
    port.mem.writeUInt32BE(9, 0x120);
    nm.clearCache();
    await assert.rejects(nm.get('Mode'), /reports 9, which is none of its entries/);
    await nm.set('Enable', true);
    assert.equal(port.mem.readUInt32BE(0x130), 321);
    assert.equal(await nm.get('Enable'), true);
    await assert.rejects(nm.set('Enable', 1), /Boolean/);
    await nm.execute('Start');
    assert.equal(port.mem.readUInt32BE(0x134), 7);
    await assert.rejects(nm.execute('Width'), /not a Command/);
    await assert.rejects(nm.get('Start'), /execute it/);
    await nm.set('Vendor', 'ACME');
    assert.equal(await nm.get('Vendor'), 'ACME');
    await assert.rejects(nm.set('Vendor', 'x'.repeat(17)), /longer than 16/);
    assert.equal(await nm.get('Fixed'), 'hello');
    assert.equal(await nm.get('InGroup'), 5);
  });

  it('follows selectors through pIndex and keeps one cache entry per selected address', async function () {
    port.mem.writeUInt32BE(11, 0x200);
    port.mem.writeUInt32BE(22, 0x210);
    assert.equal(await nm.get('Level'), 11);
    await nm.set('Selector', 'B');
    assert.equal(await nm.get('Selector'), 'B');
    assert.equal(await nm.get('Level'), 22);
    await nm.set('Level', 33);
    assert.equal(port.mem.readUInt32BE(0x210), 33);
    await nm.set('Selector', 'A');
    assert.equal(await nm.get('Level'), 11);
    port.mem.writeUInt32BE(0x55, 0x304);
    assert.equal(await nm.get('Pointed'), 0x55, 'pAddress + Address');
  });

  it('caches registers, except NoCache ones, and drops what a pInvalidator names', async function () {
    port.mem.writeUInt32BE(5, 0x150);
    port.mem.writeUInt32BE(6, 0x154);
    assert.equal(await nm.get('Status'), 5);
    assert.equal(await nm.get('Derived'), 6);
    port.mem.writeUInt32BE(50, 0x150);
    port.mem.writeUInt32BE(60, 0x154);
    assert.equal(await nm.get('Status'), 50, 'NoCache is read again');
    assert.equal(await nm.get('Derived'), 6, 'cached');
    await nm.set('Width', 64);
    assert.equal(await nm.get('Derived'), 60, 'writing Width invalidated Derived');
    const reads = port.log.filter((l) => l[0] === 'r' && l[1] === 0x100).length;
    assert.equal(await nm.get('Width'), 64);
    assert.equal(port.log.filter((l) => l[0] === 'r' && l[1] === 0x100).length, reads, 'write-through: no read back');
    assert.ok(nm.stats.cacheHits > 0);
  });

  it('rejects XML that is not a GenICam description', function () {
    assert.throws(() => new NodeMap('<foo/>', port), /no RegisterDescription/);
    assert.throws(() => new NodeMap('<RegisterDescription></RegisterDescription>', port), /declares no nodes/);
    assert.throws(() => new NodeMap('<RegisterDescription><Integer Name="A"><Value>1</Value></Integer>', port), /does not parse/);
    const bad = new NodeMap('<RegisterDescription><SwissKnife Name="S"><Formula>1 +</Formula></SwissKnife></RegisterDescription>', port);
    return assert.rejects(bad.get('S'), /S\.Formula: formula "1 \+": unexpected end/);
  });

  it('parses numbers and first-URL registers, and unzips zipped XML', function () {
    assert.equal(parseNumber('0x1F', 'x'), 31);
    assert.equal(parseNumber('-12', 'x'), -12);
    assert.throws(() => parseNumber('zz', 'Node.Value'), /Node\.Value: "zz" is not a number/);
    assert.deepEqual(parseFirstUrl('Local:arv-fake-camera.xml;10000;3e67'), { file: 'arv-fake-camera.xml', address: 0x10000, length: 0x3e67 });
    assert.deepEqual(parseFirstUrl('local:///cam.zip;0x8000;0x200'), { file: 'cam.zip', address: 0x8000, length: 0x200 });
    assert.throws(() => parseFirstUrl('http://vendor.example/cam.xml'), /scheme http/);
    assert.equal(xmlFromFile('a.xml', Buffer.from('<x/>\0\0\0')), '<x/>');
    const zip = zipSync({ 'readme.txt': strToU8('hi'), 'cam.xml': strToU8('<RegisterDescription/>') });
    assert.equal(xmlFromFile('cam.zip', zip), '<RegisterDescription/>');
    assert.throws(() => xmlFromFile('cam.zip', zipSync({ 'a.txt': strToU8('x') })), /holds no \.xml/);
    assert.throws(() => xmlFromFile('cam.zip', Buffer.from('PK\u0003\u0004garbage')), /not a valid zip/);
  });
});
