'use strict';
// The CIP / EtherNet/IP codec: round trips of every packet we build, and fuzzing of every parser that reads
// bytes from the network (fast-check): garbage gives a PacketError (or a valid result), never a crash.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const cip = require('../../dist/nodes/lib/plc/cip');

describe('CIP codec', function () {
  it('encapsulation header and framer across split and merged chunks', function () {
    const a = cip.encodeEncap({ command: cip.Command.SendRRData, session: 0x12345678, context: Buffer.from('abcdefgh'), data: Buffer.from([1, 2, 3]) });
    const b = cip.encodeEncap({ command: cip.Command.RegisterSession, data: cip.registerSessionData() });
    const f = new cip.EncapFramer();
    const all = Buffer.concat([a, b]);
    assert.deepEqual(f.push(all.subarray(0, 10)), []);
    const got = [...f.push(all.subarray(10, 30)), ...f.push(all.subarray(30))];
    assert.equal(got.length, 2);
    assert.equal(got[0].session, 0x12345678);
    assert.equal(got[0].context.toString(), 'abcdefgh');
    assert.deepEqual([...got[0].data], [1, 2, 3]);
    assert.equal(got[1].command, 0x65);
    assert.throws(() => cip.decodeEncap(Buffer.alloc(10)), /encapsulation header: need 24/);
  });

  it('SendRRData / SendUnitData bodies and CPF items', function () {
    const mr = Buffer.from([0x4c, 0x02, 0x91, 0x01, 0x41, 0x00, 0x01, 0x00]);
    assert.deepEqual(cip.unconnectedPayload(cip.sendRRData(mr)), mr);
    const c = cip.connectedPayload(cip.sendUnitData(0xdeadbeef, 7, mr));
    assert.equal(c.connectionId, 0xdeadbeef);
    assert.equal(c.sequence, 7);
    assert.deepEqual(c.mr, mr);
    assert.throws(() => cip.unconnectedPayload(cip.sendUnitData(1, 1, mr)), /without an unconnected data item/);
  });

  it('identity and ListIdentity', function () {
    const id = { vendorId: 1, deviceType: 14, productCode: 150, revision: { major: 33, minor: 11 }, status: 0x3060, serial: 0xc0ffee, productName: '1756-L83E', state: 3 };
    const [back] = cip.decodeListIdentityReply(cip.encodeListIdentityReply(id, '127.0.0.1', 44818));
    assert.equal(back.productName, '1756-L83E');
    assert.equal(back.address, '127.0.0.1');
    assert.equal(back.port, 44818);
    assert.equal(back.serial, 0xc0ffee);
    assert.equal(back.state, 3);
  });

  it('tag addresses: members, elements, program scope, bits, and clear errors', function () {
    const a = cip.parseTagAddress('Line.Part[2].Serial');
    assert.deepEqual(a.segments, [{ kind: 'symbol', name: 'Line' }, { kind: 'symbol', name: 'Part' }, { kind: 'element', index: 2 }, { kind: 'symbol', name: 'Serial' }]);
    assert.deepEqual(cip.parseTagAddress('M[1,2,3]').segments.filter((s) => s.kind === 'element').map((s) => s.index), [1, 2, 3]);
    assert.equal(cip.parseTagAddress('Flags.31').bit, 31);
    assert.equal(cip.parseTagAddress('Arr[3].7').bit, 7);
    assert.equal(cip.parseTagAddress('Program:Main.Step').segments[0].name, 'Program:Main');
    for (const [bad, why] of [['', /empty/], ['1abc', /not a valid tag/], ['A[', /expected an array index/], ['A[1', /expected "," or "]"/], ['A.3.B', /bit number must end/], ['A.99', /above 63/], ['[1]', /must start with a name/], ['A b', /unexpected " "/]]) {
      assert.throws(() => cip.parseTagAddress(bad), (e) => e.code === 'ADDRESS' && why.test(e.message), bad);
    }
    const segs = [...a.segments, { kind: 'element', index: 300 }, { kind: 'element', index: 70000 }, { kind: 'class', id: 0x6b }, { kind: 'instance', id: 0x1234 }, { kind: 'attribute', id: 1 }, { kind: 'port', port: 1, link: 3 }];
    assert.deepEqual(cip.decodePath(cip.encodePath(segs)), segs);
    assert.deepEqual(cip.parseRoute('1,0'), [{ kind: 'port', port: 1, link: 0 }]);
    assert.deepEqual(cip.parseRoute(''), []);
    assert.throws(() => cip.parseRoute('1'), /pairs of port,link/);
  });

  it('atomic values: every type, ranges and type errors', function () {
    const cases = [['BOOL', true], ['SINT', -128], ['INT', 32767], ['DINT', -2147483648], ['LINT', '-9223372036854775808'], ['USINT', 255], ['UINT', 65535], ['UDINT', 4294967295], ['ULINT', '18446744073709551615'], ['REAL', 1.5], ['LREAL', Math.PI], ['LINT', 12]];
    for (const [name, v] of cases) {
      const code = cip.TypeCode[name];
      const b = Buffer.alloc(8);
      cip.encodeAtomic(code, v, b, 0);
      assert.deepEqual(cip.decodeAtomic(code, b, 0), v, name);
    }
    assert.throws(() => cip.checkAtomic(cip.TypeCode.SINT, 128, 'x'), /outside SINT range/);
    assert.throws(() => cip.checkAtomic(cip.TypeCode.DINT, 1.5, 'x'), /needs an integer/);
    assert.throws(() => cip.checkAtomic(cip.TypeCode.BOOL, 'on', 'x'), /BOOL needs/);
    assert.throws(() => cip.checkAtomic(cip.TypeCode.REAL, NaN, 'x'), /finite number/);
    assert.throws(() => cip.checkAtomic(cip.TypeCode.ULINT, -1, 'x'), /outside ULINT/);
    assert.throws(() => cip.checkAtomic(cip.TypeCode.LINT, 'abc', 'x'), /expected an integer/);
    assert.equal(cip.checkAtomic(cip.TypeCode.BOOL, 1, 'x'), true);
    assert.equal(cip.decodeLogixString(cip.encodeLogixString('hello'), 0), 'hello');
    assert.throws(() => cip.encodeLogixString('x'.repeat(83)), /longer than 82/);
    assert.throws(() => cip.encodeLogixString(5), /STRING needs a string/);
  });

  it('templates: definition round trip, nested structures, packed BOOLs, STRING detection', function () {
    const t = { instance: 0x101, handle: 0xabcd, name: 'Part', size: 96, members: [
      { name: 'ZZZZZZZZZZPart0', type: cip.TypeCode.SINT, info: 0, offset: 0 },
      { name: 'Ok', type: cip.TypeCode.BOOL, info: 2, offset: 0 },
      { name: 'Serial', type: cip.MEMBER_STRUCT | 0x0fce, info: 0, offset: 4 },
      { name: 'N', type: cip.TypeCode.DINT, info: 0, offset: 92 },
    ] };
    const def = cip.encodeTemplateDefinition(t);
    const back = cip.decodeTemplateDefinition(def, 4, t.instance, t.handle, t.size);
    assert.deepEqual(back, t);
    const templates = { byInstance: (i) => (i === 0x0fce ? cip.STRING_TEMPLATE : i === 0x101 ? t : undefined) };
    const v = { Ok: true, Serial: 'abc', N: -3 };
    const img = cip.encodeStruct(t, v, templates, 'p');
    assert.deepEqual(cip.decodeStruct(t, img, 0, templates), v);
    assert.equal(cip.stringTemplateLength(cip.STRING_TEMPLATE), 82);
    assert.equal(cip.stringTemplateLength(t), undefined);
    assert.throws(() => cip.encodeStruct(t, { Ok: true, Serial: 'a' }, templates, 'p'), /p.N is missing/);
    assert.throws(() => cip.encodeStruct(t, { ...v, Extra: 1 }, templates, 'p'), /no member "Extra"/);
    assert.throws(() => cip.encodeStruct(t, 5, templates, 'p'), /needs an object/);
    assert.equal(cip.templateDefinitionWords(def.length) * 4 - 23 >= def.length, true);
  });

  it('services: Multiple Service Packet, Forward Open/Close, write bodies, tag list, template attributes', function () {
    const parts = [Buffer.from([1, 2]), Buffer.from([3]), Buffer.alloc(0)];
    assert.deepEqual(cip.decodeMultiple(cip.encodeMultiple(parts)).map((b) => [...b]), parts.map((b) => [...b]));
    for (const large of [true, false]) {
      const req = cip.decodeRequest(cip.forwardOpenRequest({ large, otConnectionId: 0, toConnectionId: 77, serial: 5, vendorId: 0x1337, originatorSerial: 9, timeoutMultiplier: 1, rpiUs: 2e6, size: large ? 4002 : 504, path: [{ kind: 'port', port: 1, link: 0 }, { kind: 'class', id: 2 }, { kind: 'instance', id: 1 }] }));
      const p = cip.decodeForwardOpenRequest(req.data, large);
      assert.equal(p.size, large ? 4002 : 504);
      assert.equal(p.toConnectionId, 77);
      assert.equal(p.transport, 0xa3);
      assert.equal(p.path.length, 3);
    }
    const fc1 = cip.decodeRequest(cip.forwardCloseRequest({ serial: 5, vendorId: 1, originatorSerial: 2 }, [{ kind: 'port', port: 1, link: 0 }]));
    assert.deepEqual(cip.decodeForwardClose(fc1.data), { serial: 5, vendorId: 1, originatorSerial: 2 });
    const w = cip.decodeRequest(cip.writeTagFragmentedRequest([{ kind: 'symbol', name: 'A' }], 0x2a0, 0x0fce, 1, 8, Buffer.from([9])));
    assert.deepEqual(cip.decodeWriteBody(w.data, true), { code: 0x2a0, handle: 0x0fce, elements: 1, offset: 8, data: Buffer.from([9]) });
    const entries = [{ instance: 1, name: 'A', type: 0xc4, dims: [0, 0, 0] }, { instance: 9, name: 'Part', type: 0x8101, dims: [3, 0, 0] }];
    assert.deepEqual(cip.decodeSymbolEntries(cip.encodeSymbolEntries(entries)), entries);
    const attrs = { definitionWords: 20, structureSize: 96, memberCount: 4, handle: 0xabcd };
    assert.deepEqual(cip.decodeTemplateAttributes(cip.encodeTemplateAttributes(attrs)), attrs);
    const rmw = cip.decodeRequest(cip.readModifyWriteRequest([{ kind: 'symbol', name: 'F' }], 4, 8n, 0xffffffffn));
    const m = cip.decodeReadModifyWrite(rmw.data);
    assert.equal(m.size, 4);
    assert.equal(m.or.readUInt32LE(0), 8);
    const us = cip.decodeRequest(cip.unconnectedSend(Buffer.from([0x4c, 0x00, 0x01]), [{ kind: 'port', port: 1, link: 2 }]));
    const inner = cip.decodeUnconnectedSend(us.data);
    assert.deepEqual([...inner.request], [0x4c, 0x00, 0x01]);
    assert.deepEqual(inner.route, [{ kind: 'port', port: 1, link: 2 }]);
  });

  it('CIP status texts', function () {
    assert.match(cip.describeStatus(0x05, [0]), /path destination unknown/);
    assert.match(cip.describeStatus(0x01, [0x0100]), /connection in use/);
    assert.match(cip.describeStatus(0xff, [0x2107]), /data type does not match/);
    assert.match(cip.describeStatus(0x42), /unknown status/);
    const e = new cip.CipError(0x04, [0], 'read');
    assert.equal(e.code, 'CIP');
    assert.match(e.message, /^read: CIP status 0x04/);
    assert.match(cip.describeEncapStatus(0x64), /invalid session handle/);
  });

  describe('fuzz: parsers of network bytes never crash', function () {
    const parsers = {
      decodeEncap: (b) => cip.decodeEncap(b),
      framer: (b) => new cip.EncapFramer().push(b),
      decodeCpf: (b) => cip.decodeCpf(b),
      decodeRRBody: (b) => cip.decodeRRBody(b),
      connectedPayload: (b) => cip.connectedPayload(b),
      decodeReply: (b) => cip.decodeReply(b),
      decodeRequest: (b) => cip.decodeRequest(b),
      decodeMultiple: (b) => cip.decodeMultiple(b),
      decodePath: (b) => cip.decodePath(b),
      decodeTypedData: (b) => cip.decodeTypedData(b),
      decodeWriteBody: (b) => cip.decodeWriteBody(b, true),
      decodeForwardOpenReply: (b) => cip.decodeForwardOpenReply(b),
      decodeForwardOpenRequest: (b) => cip.decodeForwardOpenRequest(b, true),
      decodeUnconnectedSend: (b) => cip.decodeUnconnectedSend(b),
      decodeReadModifyWrite: (b) => cip.decodeReadModifyWrite(b),
      decodeSymbolEntries: (b) => cip.decodeSymbolEntries(b),
      decodeTemplateAttributes: (b) => cip.decodeTemplateAttributes(b),
      decodeTemplateDefinition: (b) => cip.decodeTemplateDefinition(b, b.length ? b[0] % 5 : 0, 1, 1, 8),
      decodeListIdentityReply: (b) => cip.decodeListIdentityReply(b),
      decodeIdentityAttributes: (b) => cip.decodeIdentityAttributes(b),
      decodeLogixString: (b) => cip.decodeLogixString(b, 0),
    };
    for (const [name, parse] of Object.entries(parsers)) {
      it(name, function () {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
            try {
              parse(Buffer.from(bytes));
            } catch (err) {
              if (err.code !== 'PACKET') throw err;
            }
          }),
          { numRuns: 400 },
        );
      });
    }

    it('a reply built from random services and statuses parses back exactly', function () {
      fc.assert(
        fc.property(fc.array(fc.record({ service: fc.integer({ min: 0, max: 0x7f }), status: fc.integer({ min: 0, max: 255 }), ext: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 3 }), data: fc.uint8Array({ maxLength: 40 }) }), { minLength: 1, maxLength: 8 }), (items) => {
          const packed = cip.encodeReply(0x0a, 0, cip.encodeMultiple(items.map((i) => cip.encodeReply(i.service, i.status, Buffer.from(i.data), i.ext))));
          const top = cip.decodeReply(packed);
          const back = cip.decodeMultiple(top.data).map(cip.decodeReply);
          assert.deepEqual(back.map((r) => [r.service, r.status, r.extended, [...r.data]]), items.map((i) => [i.service, i.status, i.ext, [...i.data]]));
        }),
      );
    });
  });
});
