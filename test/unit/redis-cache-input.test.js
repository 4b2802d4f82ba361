'use strict';
// The redis-cache node checks the usual request by hand (quickCacheRequest) instead of running ajv on every
// message; the schema (nodes/schemas/redis-cache-input.schema.json) stays the rule. These tests hold the hand
// check to it: it must never accept what ajv refuses, must accept the usual shapes (or the fast path is gone),
// and whatever it leaves out must still get ajv's error naming the field.
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { quickCacheRequest, cacheRequest, CACHE_OPERATIONS } = require('../../dist/nodes/lib/redis/cache');
const { assertValid, SchemaError } = require('../../dist/nodes/lib/schemas');

const RUNS = 20000;

/** What the schema says about a candidate built the way the node builds it (undefined = not given). */
function schemaAccepts(operation, key, field, ttl) {
  const candidate = { operation, key };
  if (field !== undefined) candidate.field = field;
  if (ttl !== undefined) candidate.ttl = ttl;
  try {
    assertValid('redis-cache-input', candidate);
    return true;
  } catch (err) {
    if (err instanceof SchemaError) return false;
    throw err;
  }
}

const astral = '\u{1F600}'; // two UTF-16 units, one code point

const names = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.integer({ min: 1015, max: 1030 }).map((n) => 'k'.repeat(n)),
  fc.integer({ min: 500, max: 1030 }).map((n) => astral.repeat(n)),
  fc.constantFrom('', ' ', 'part', 'WB-1'),
  fc.anything({ maxDepth: 1 }),
);
const maybe = (arb) => fc.oneof(fc.constant(undefined), arb);
const ttls = fc.oneof(
  fc.integer({ min: -3, max: 5 }),
  fc.integer({ min: 315359998, max: 315360003 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, 1.5, 2.0, -0, '10', null, true, 1e300),
);
const operations = fc.oneof(fc.constantFrom(...CACHE_OPERATIONS), fc.constantFrom('GET', 'msg', '', 'explode', null, 1), fc.string({ maxLength: 8 }));

describe('redis-cache request check (hand check held to the schema)', function () {
  it('never accepts what the schema refuses, and returns what it was given', function () {
    fc.assert(
      fc.property(operations, names, maybe(names), maybe(ttls), (operation, key, field, ttl) => {
        const quick = quickCacheRequest(operation, key, field, ttl);
        if (quick === undefined) return;
        assert.ok(schemaAccepts(operation, key, field, ttl), `hand check accepted what the schema refuses: ${JSON.stringify({ operation, key, field, ttl })}`);
        assert.deepEqual({ ...quick }, { operation, key, field, ttl, value: undefined });
      }),
      { numRuns: RUNS },
    );
  });

  it('decides like the schema for every candidate (by hand or through ajv)', function () {
    fc.assert(
      fc.property(operations, names, maybe(names), maybe(ttls), (operation, key, field, ttl) => {
        const accepted = schemaAccepts(operation, key, field, ttl);
        if (accepted) {
          const req = cacheRequest(operation, key, field, ttl);
          assert.equal(req.operation, operation);
          assert.equal(req.key, key);
          assert.equal(req.field, field);
          assert.equal(req.ttl, ttl);
        } else {
          assert.throws(() => cacheRequest(operation, key, field, ttl), SchemaError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('takes the usual requests by hand (the fast path is in use)', function () {
    fc.assert(
      fc.property(
        fc.constantFrom(...CACHE_OPERATIONS),
        fc.string({ minLength: 1, maxLength: 1024 }),
        fc.string({ minLength: 1, maxLength: 1024 }),
        fc.integer({ min: 1, max: 315360000 }),
        (operation, key, field, ttl) => {
          assert.ok(quickCacheRequest(operation, key, field, ttl), `${operation} with key, field and ttl`);
          const needsField = ['hget', 'hset', 'hdel'].includes(operation);
          const needsTtl = operation === 'expire';
          assert.equal(quickCacheRequest(operation, key, undefined, needsTtl ? ttl : undefined) !== undefined, !needsField);
          assert.equal(quickCacheRequest(operation, key, needsField ? field : undefined, undefined) !== undefined, !needsTtl);
        },
      ),
      { numRuns: 2000 },
    );
    assert.ok(quickCacheRequest('get', 'k'.repeat(1024), undefined, undefined));
    assert.ok(quickCacheRequest('set', 'part:1', undefined, 315360000));
  });

  it('leaves the edge cases to ajv, which decides by code points', function () {
    // 1024 code points in 2048 UTF-16 units: too long for the hand check, within the schema's maxLength
    const longAstral = astral.repeat(1024);
    assert.equal(quickCacheRequest('get', longAstral, undefined, undefined), undefined);
    assert.equal(cacheRequest('get', longAstral, undefined, undefined).key, longAstral);
    assert.throws(() => cacheRequest('get', astral.repeat(1025), undefined, undefined), /msg\.key must NOT have more than 1024 characters/);
  });

  it('names the wrong field', function () {
    const cases = [
      [['explode', 'k', undefined, undefined], /msg\.operation must be one of "get", "set"/],
      [['get', '', undefined, undefined], /msg\.key must NOT have fewer than 1 characters/],
      [['get', 42, undefined, undefined], /msg\.key must be string/],
      [['get', undefined, undefined, undefined], /msg\.key is required/],
      [['hget', 'h', undefined, undefined], /msg\.field is required/],
      [['hset', 'h', 7, undefined], /msg\.field must be string/],
      [['expire', 'k', undefined, undefined], /msg\.ttl is required/],
      [['set', 'k', undefined, 1.5], /msg\.ttl must be integer/],
      [['set', 'k', undefined, NaN], /msg\.ttl must be integer/],
      [['set', 'k', undefined, '10'], /msg\.ttl must be integer/],
      [['set', 'k', undefined, 0], /msg\.ttl must be >= 1/],
      [['set', 'k', undefined, 315360001], /msg\.ttl must be <= 315360000/],
    ];
    for (const [args, re] of cases) {
      assert.equal(quickCacheRequest(...args), undefined, JSON.stringify(args));
      assert.throws(() => cacheRequest(...args), (err) => err instanceof SchemaError && re.test(err.message), `${JSON.stringify(args)} → ${re}`);
    }
  });
});
