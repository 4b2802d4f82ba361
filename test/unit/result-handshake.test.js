'use strict';
// The PLC handshake's pure parts (tag map, values), the outbox's per-target backlog start and the dispatcher's
// handling of results a target can never take. The handshake over the wire is tested in
// test/nodes/result-publish.test.js against the Logix simulator.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseHandshakeTags, handshakeValues } = require('../../dist/nodes/lib/result/plc-handshake.js');
const { Outbox } = require('../../dist/nodes/lib/result/outbox.js');
const { Dispatcher } = require('../../dist/nodes/lib/result/dispatcher.js');
const { SpotFusionError } = require('../../dist/nodes/lib/errors.js');
const { until } = require('../support/red');

const result = (over = {}) => ({ resultId: 'r1', serial: 'WB-1', ok: true, resultCode: 1, classId: 0, seq: 1, ...over });

describe('PLC handshake tag map and values', function () {
  it('takes the map as an object, a JSON string or a list; empty roles are not used; types default by role', function () {
    const fromObject = parseHandshakeTags({ resultCode: { address: 'ResultCode' }, ok: { address: 'ResultOK' }, serial: { address: 'Serial' }, nok: { address: '' }, ready: null }, 'ethernet-ip', 'x');
    assert.deepEqual(fromObject, [
      { name: 'resultCode', address: 'ResultCode', type: 'DINT' },
      { name: 'ok', address: 'ResultOK', type: 'BOOL' },
      { name: 'serial', address: 'Serial', type: 'STRING' },
    ]);
    assert.deepEqual(parseHandshakeTags(JSON.stringify({ counter: { address: 'ns=1;s=Counter', type: 'uint' } }), 'opcua', 'x'), [{ name: 'counter', address: 'ns=1;s=Counter', type: 'UINT' }]);
    assert.deepEqual(parseHandshakeTags([{ name: 'done', address: 'Done' }, { name: 'ack', address: 'Ack' }, { name: 'ok', address: 'Flags.3', type: 'BOOL' }], 'simulator', 'x').map((t) => t.name), ['done', 'ack', 'ok']);
  });

  it('refuses what it cannot use, naming the role', function () {
    assert.throws(() => parseHandshakeTags('', 'ethernet-ip', 'PLC'), /writes nothing/);
    assert.throws(() => parseHandshakeTags(42, 'ethernet-ip', 'PLC'), /must be an object of role/);
    assert.throws(() => parseHandshakeTags({ ok: 'ResultOK' }, 'ethernet-ip', 'PLC'), /handshake tag "ok" must be \{address, type\}/);
    assert.throws(() => parseHandshakeTags([{ name: 'ok', address: 'A' }, { name: 'ok', address: 'B' }], 'ethernet-ip', 'PLC'), /"ok" is mapped twice/);
    assert.throws(() => parseHandshakeTags([{ address: 'A' }], 'ethernet-ip', 'PLC'), /handshake tag "#1" is not one of/);
    assert.throws(() => parseHandshakeTags({ serial: { address: 'S', type: 'DINT' } }, 'ethernet-ip', 'PLC'), /"serial": type "DINT" must be STRING/);
    assert.throws(() => parseHandshakeTags({ resultCode: { address: 'R', type: 'REAL' } }, 'ethernet-ip', 'PLC'), /"resultCode": type "REAL" must be SINT or INT or DINT/);
    assert.throws(() => parseHandshakeTags({ ack: { address: 'Ack' }, ok: { address: 'OK' } }, 'ethernet-ip', 'PLC'), /"done" and "ack" go together/);
    assert.throws(() => parseHandshakeTags({ ok: { address: 'ResultOK' } }, 'opcua', 'PLC'), /PLC: tag "ok": "ResultOK" is not an OPC UA node id/);
  });

  it('writes OK/NOK as a pair, the outbox sequence as counter (wrapping at the type), the serial cut to 82 characters', function () {
    const tags = parseHandshakeTags(
      { resultCode: { address: 'R' }, classId: { address: 'C', type: 'INT' }, ok: { address: 'O' }, nok: { address: 'N' }, counter: { address: 'K', type: 'SINT' }, serial: { address: 'S' } },
      'ethernet-ip',
      'x',
    );
    assert.deepEqual(handshakeValues(tags, result({ ok: false, resultCode: 2, classId: 1, seq: 5 })), { resultCode: 2, classId: 1, ok: false, nok: true, counter: 5, serial: 'WB-1' });
    assert.equal(handshakeValues(tags, result({ seq: 127 })).counter, 127);
    assert.equal(handshakeValues(tags, result({ seq: 128 })).counter, 0);
    assert.equal(handshakeValues(tags, result({ seq: 300 })).counter, 300 % 128);
    assert.equal(handshakeValues(tags, result({ serial: null })).serial, '');
    assert.equal(handshakeValues(tags, result({ serial: 'x'.repeat(100) })).serial.length, 82);
    const dint = parseHandshakeTags({ counter: { address: 'K' } }, 'ethernet-ip', 'x');
    assert.equal(handshakeValues(dint, result({ seq: 2 ** 31 + 4 })).counter, 4);
  });
});

describe('outbox: a target new to the outbox', function () {
  it('starts after the newest result by default, or with the oldest result still waiting when it asks for the backlog', function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-backlog-')), 'outbox.db');
    let o = new Outbox({ file, targets: ['a', 'b'] });
    for (let i = 1; i <= 5; i++) o.enqueue(`r${i}`, '{}');
    o.ack('a', 5, 5);
    o.ack('b', 2, 2); // r3..r5 still wait for b
    o.close();
    o = new Outbox({ file, targets: ['a', 'b', 'late', 'catchup'], backlog: ['catchup', 'b'] });
    assert.deepEqual(o.pending('late', 10), []);
    assert.deepEqual(o.pending('catchup', 10).map((r) => r.resultId), ['r3', 'r4', 'r5']);
    assert.deepEqual(o.pending('b', 10).map((r) => r.resultId), ['r3', 'r4', 'r5'], 'a known target keeps its cursor');
    o.enqueue('r6', '{}');
    assert.deepEqual(o.pending('late', 10).map((r) => r.resultId), ['r6']);
    o.close();
    // nothing waiting: the backlog is empty, the new target starts with the next result
    o = new Outbox({ file: path.join(path.dirname(file), 'empty.db'), targets: ['x'] });
    o.enqueue('e1', '{}');
    o.ack('x', 1, 1);
    o.close();
    o = new Outbox({ file: path.join(path.dirname(file), 'empty.db'), targets: ['x', 'y'], backlog: ['y'] });
    assert.deepEqual(o.pending('y', 10), []);
    assert.equal(o.enqueue('e2', '{}').seq, 2);
    assert.deepEqual(o.pending('y', 10).map((r) => r.resultId), ['e2']);
    o.close();
  });
});

describe('dispatcher: a result a target can never take', function () {
  it('is skipped for that target and reported; the next ones are delivered; other errors are retried', async function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-undeliverable-')), 'outbox.db');
    const outbox = new Outbox({ file, targets: ['t'] });
    const got = [];
    let flaky = 1;
    const t = {
      name: 't',
      label: 't',
      batchSize: 1,
      timeoutMs: 1000,
      deliver: async ([row]) => {
        if (row.resultId === 'bad') throw new SpotFusionError('UNDELIVERABLE', 'cannot hold it');
        if (row.resultId === 'flaky' && flaky-- > 0) throw new SpotFusionError('WRITE', 'try again');
        got.push(row.resultId);
      },
    };
    const d = new Dispatcher(outbox, [t], { backoff: { baseMs: 10, maxMs: 20, minMs: 1 } });
    const refused = [];
    const failed = [];
    d.on('undeliverable', (s, rows, err) => refused.push([s.undeliverable, rows.map((r) => r.resultId), err.message]));
    d.on('failed', (s) => failed.push(s.lastError));
    for (const id of ['ok1', 'bad', 'flaky', 'ok2']) outbox.enqueue(id, '{}');
    d.start();
    await until(() => got.length === 3, 3000, 'three delivered');
    await d.stop();
    assert.deepEqual(got, ['ok1', 'flaky', 'ok2']);
    assert.deepEqual(refused, [[1, ['bad'], 'cannot hold it']]);
    assert.equal(failed.length, 1);
    assert.match(failed[0], /try again/);
    assert.equal(outbox.rows, 0);
    assert.equal(d.states()[0].delivered, 3);
    outbox.close();
  });
});
