'use strict';
// The legacy Redis formats read JSON and Python literals through one parser: no integer is ever rounded,
// what the parser refuses is refused, the same depth guard applies, and `-0` is the int 0.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { decodeValue } = require('../../dist/nodes/lib/redis/cache');
const { parsePythonLiteral } = require('../../dist/nodes/lib/python-literal');
const { pyValue } = require('../support/python-str');

const FORMATS = ['legacy-read', 'legacy'];

function read(raw, format = 'legacy-read') {
  return decodeValue(raw, format, 'key "k"');
}

function refused(raw, re) {
  for (const format of FORMATS) {
    assert.throws(() => read(raw, format), (err) => err.code === 'DECODE' && /key "k" holds neither JSON nor a Python literal/.test(err.message) && re.test(err.message), raw.slice(0, 40));
  }
}

describe('redis-cache legacy formats: one decoding path', function () {
  it('keeps every digit of an int beyond 2^53 at the top level and inside a list, tuple, dict or set', function () {
    const ns = '1733318400123456789';
    for (const format of FORMATS) {
      assert.equal(read(ns, format), ns);
      assert.deepEqual(read(`[${ns}, 2]`, format), [ns, 2]); // str([time.time_ns(), 2])
      assert.deepEqual(read(`(${ns}, 2)`, format), [ns, 2]);
      assert.deepEqual(read(`{'t': ${ns}}`, format), { t: ns });
      assert.deepEqual(read(`{${ns}}`, format), [ns]);
      // the same number written as JSON by another writer
      assert.deepEqual(read(`{"t": [${ns}, -${ns}], "ok": true, "n": null, "f": false}`, format), { t: [ns, '-' + ns], ok: true, n: null, f: false });
    }
    assert.equal(read(String(2 ** 53 - 1)), 2 ** 53 - 1);
    assert.equal(read(String(2 ** 53)), '9007199254740992');
  });

  it('reads str(10**4299) exactly and refuses 1e400 and an int beyond 4300 digits, as the parser does', function () {
    const big = '1' + '0'.repeat(4299);
    assert.equal(read(big), big);
    assert.deepEqual(read(`[${big}]`), [big]);
    refused('1e400', /float literal out of range/);
    refused('[1e400]', /float literal out of range/);
    refused('{"x": 1e400}', /float literal out of range/);
    refused(big + '0', /integer literal too large/);
    refused(`{"x": ${big}0}`, /integer literal too large/);
  });

  it('applies the parser depth guard to JSON and Python text alike', function () {
    const deep = (n, open, close) => open.repeat(n) + close.repeat(n);
    assert.equal(read(deep(200, '[', ']')).length, 1);
    refused(deep(201, '[', ']'), /nest|deep/i);
    refused(deep(201, '(', ')'), /nest|deep/i);
    refused('{"a":'.repeat(201) + '1' + '}'.repeat(201), /nest|deep/i);
  });

  it('normalises -0 (an int) to 0 and keeps -0.0 (a float) as Python does', function () {
    assert.ok(Object.is(read('-0'), 0));
    assert.ok(Object.is(read('[-0]')[0], 0));
    assert.ok(Object.is(read('{"a": -0}').a, 0));
    assert.ok(Object.is(read('-0.0'), -0));
  });

  it('reads JSON string escapes, including the escaped slash', function () {
    assert.equal(read('"a\\/b\\u00e9\\n"'), 'a/b\u00e9\n');
    assert.equal(read("'a\\/b'"), 'a/b');
  });

  it('property: CPython str() values read back as the parser reads them, with every int exact', function () {
    fc.assert(
      fc.property(pyValue, ({ src, val }) => {
        const parsed = parsePythonLiteral(src);
        assert.deepStrictEqual(parsed, val);
        for (const format of FORMATS) assert.deepStrictEqual(read(src, format), parsed);
      }),
      { numRuns: 3000 },
    );
  });
});
