'use strict';
// The read-only monitoring token (nodes/lib/read-token.ts, adminAuth.tokens in settings.ts): what it accepts,
// what it grants, when it ends; settings.ts refuses a weak one.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { readTokenAuth, READ_TOKEN_PERMISSION } = require('../../dist/nodes/lib/read-token');
const { runSettingsOnly } = require('../support/runtime');

describe('read-only token (SPOTFUSION_READ_TOKEN)', function () {
  const A = crypto.randomBytes(32).toString('hex');
  const B = crypto.randomBytes(32).toString('hex');

  it('grants spotfusion.read only, to each token of the list (rotation), and nothing to anything else', async function () {
    const auth = readTokenAuth({ SPOTFUSION_READ_TOKEN: ` ${A} , ${B} ` });
    for (const t of [A, B]) assert.deepEqual(await auth(t), { username: 'spotfusion-monitor', permissions: [READ_TOKEN_PERMISSION] });
    for (const t of ['', A.slice(1), `${A}x`, `${A},${B}`, B.toUpperCase()]) assert.equal(await auth(t), null, t);
    assert.equal(readTokenAuth({}), undefined);
    assert.equal(readTokenAuth({ SPOTFUSION_READ_TOKEN: ' ' }), undefined);
  });

  it('does not expire unless SPOTFUSION_READ_TOKEN_EXPIRES says so', async function () {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const forever = readTokenAuth({ SPOTFUSION_READ_TOKEN: A }, () => now);
    assert.ok(await forever(A), 'years later still valid');
    const ends = readTokenAuth({ SPOTFUSION_READ_TOKEN: A, SPOTFUSION_READ_TOKEN_EXPIRES: '2030-06-30T00:00:00Z' }, () => now);
    assert.ok(await ends(A));
    now = Date.parse('2030-06-30T00:00:00Z');
    assert.equal(await ends(A), null);
  });

  it('refuses a short token or an expiry that is not a date, and settings.ts will not start with them', async function () {
    assert.throws(() => readTokenAuth({ SPOTFUSION_READ_TOKEN: `${A},short` }), /token 2 must be at least 32 characters/);
    assert.throws(() => readTokenAuth({ SPOTFUSION_READ_TOKEN: A, SPOTFUSION_READ_TOKEN_EXPIRES: 'next week' }), /is not a date/);
    const r = await runSettingsOnly({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_READ_TOKEN: 'guessable' });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /SPOTFUSION_READ_TOKEN: token 1 must be at least 32 characters/);
  });
});
