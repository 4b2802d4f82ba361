'use strict';
// CIP reply decoding beyond the byte-level parsers of test/unit/plc-cip.test.js: a read reply's typed data
// decoded for every kind of tag (atomic, BOOL bit, BOOL array, STRING, UDT) against templates that come from
// the PLC itself (random member tables, nested and self-containing templates), and Multiple Service Packet
// replies nested in replies.
const cip = require('../../../dist/nodes/lib/plc/cip');
const { LogixPlc } = require('../../../dist/nodes/lib/plc/logix-plc');
const { SpotFusionError } = require('../../../dist/nodes/lib/errors');
const { expectOwnError } = require('../own-error');

const CODES = [0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xd3, 0x02a0, 0xd0, 0];
const TAG_TYPES = ['BOOL', 'SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT', 'REAL', 'LREAL', 'DWORD', 'STRING', 'UDT'];

function memberArb(fc) {
  return fc.record({
    name: fc.constantFrom('A', 'B', 'LEN', 'DATA', '__proto__', 'constructor', 'ZZZZ_hidden', ''),
    type: fc.oneof(fc.constantFrom(...CODES.slice(0, 12)), fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0x8001, 0x8002, 0xa001, 0x2000 | 0xc1, 0x2000 | 0xd3, 0x2000 | 0xc2)),
    info: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(82, 1000, 65535)),
    offset: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0xffff, 0x7fffffff)),
  });
}

function templateArb(fc, instance) {
  return fc.record({
    instance: fc.constant(instance),
    handle: fc.integer({ min: 0, max: 0xffff }),
    name: fc.constantFrom('T', 'STRING', 'UDT'),
    size: fc.oneof(fc.integer({ min: 0, max: 96 }), fc.constant(88)),
    members: fc.array(memberArb(fc), { maxLength: 6 }),
  });
}

const OWN = ['PACKET', 'TYPE', 'ADDRESS', 'TEMPLATE'];

/** decodeStruct and LogixPlc's value decoding: a value or one of our errors, never a RangeError or a prototype change. */
async function typedReply({ fc, params, progress }) {
  const fake = (templates) => ({ learned: new Map(), client: { templates } });
  const decodeWith = LogixPlc.prototype.decodeWith;
  fc.assert(
    fc.property(
      fc.record({
        tag: fc.record({ name: fc.constant('t'), address: fc.constant('T'), type: fc.constantFrom(...TAG_TYPES), count: fc.option(fc.integer({ min: 0, max: 70 }), { nil: undefined }) }),
        bit: fc.option(fc.integer({ min: 0, max: 70 }), { nil: undefined }),
        code: fc.constantFrom(...CODES),
        handle: fc.option(fc.oneof(fc.constant(cip.STRING_HANDLE), fc.integer({ min: 0, max: 0xffff })), { nil: undefined }),
        data: fc.uint8Array({ maxLength: 200 }),
        t1: templateArb(fc, 1),
        t2: templateArb(fc, 2),
      }),
      ({ tag, bit, code, handle, data, t1, t2 }) => {
        progress({ tag, bit, code, handle, data, t1, t2 });
        const byInst = new Map([[1, t1], [2, t2]]);
        const source = { byInstance: (i) => byInst.get(i) };
        const buf = Buffer.from(data);
        for (const t of [t1, t2]) {
          try {
            const v = cip.decodeStruct(t, buf, 0, source);
            if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) throw new Error('decodeStruct changed the prototype of its result');
          } catch (err) {
            expectOwnError(err, SpotFusionError, OWN, 'decodeStruct');
          }
        }
        const typed = { code, data: buf };
        if (handle !== undefined) typed.handle = handle;
        const addr = { text: 'T', segments: [], ...(bit !== undefined ? { bit } : {}) };
        try {
          decodeWith.call(fake(source), tag, addr, typed, tag.type === 'UDT' || tag.type === 'STRING' ? t1 : undefined);
        } catch (err) {
          expectOwnError(err, SpotFusionError, OWN, `decode ${tag.type}${tag.count ? `[${tag.count}]` : ''} from 0x${code.toString(16)}`);
        }
      },
    ),
    params,
  );
}

/** A Multiple Service Packet reply inside a reply, with random bytes spliced in: parses or PACKET errors. */
async function nestedReplies({ fc, params, progress }) {
  fc.assert(
    fc.property(
      fc.array(fc.record({ service: fc.integer({ min: 0, max: 0xff }), status: fc.integer({ min: 0, max: 255 }), ext: fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 3 }), data: fc.uint8Array({ maxLength: 24 }) }), { maxLength: 6 }),
      fc.array(fc.tuple(fc.nat(400), fc.nat(4), fc.uint8Array({ maxLength: 4 })), { maxLength: 4 }),
      (items, edits) => {
        let b = cip.encodeReply(0x8a, 0, cip.encodeMultiple(items.map((i) => cip.encodeReply(i.service, i.status, Buffer.from(i.data), i.ext))));
        for (const [at, del, ins] of edits) b = Buffer.concat([b.subarray(0, at), Buffer.from(ins), b.subarray(at + del)]);
        progress(b);
        try {
          const top = cip.decodeReply(b);
          for (const part of cip.decodeMultiple(top.data)) {
            const r = cip.decodeReply(part);
            try {
              cip.decodeTypedData(r.data);
            } catch (err) {
              expectOwnError(err, SpotFusionError, ['PACKET'], 'decodeTypedData');
            }
            if (r.status !== 0) new cip.CipError(r.status, r.extended).message.slice(0);
          }
        } catch (err) {
          expectOwnError(err, SpotFusionError, ['PACKET'], 'decodeReply/decodeMultiple');
        }
      },
    ),
    params,
  );
}

module.exports = { typedReply, nestedReplies };
