'use strict';
const assert = require('node:assert/strict');
const { loadRuntimeConfig, isLoopbackHost, formatJsonLog, ENV } = require('../../dist/nodes/lib/runtime-config');

const HASH = '$2b$08$' + 'a'.repeat(53);
const SECRET = 'x'.repeat(32);

describe('runtime configuration from the environment', function () {
  it('has secure defaults on loopback with adminAuth and a credential secret', function () {
    const cfg = loadRuntimeConfig({ SPOTFUSION_ADMIN_PASSWORD_HASH: HASH, SPOTFUSION_CREDENTIAL_SECRET: SECRET }, '/tmp/u');
    assert.equal(cfg.host, '127.0.0.1');
    assert.equal(cfg.port, 1880);
    assert.equal(cfg.userDir, '/tmp/u');
    assert.equal(cfg.devMode, false);
    assert.equal(cfg.logFormat, 'text');
  });

  it('enforces adminAuth and a credential secret outside dev mode', function () {
    assert.throws(() => loadRuntimeConfig({}, '/tmp/u'), (e) => {
      assert.match(e.message, /SPOTFUSION_ADMIN_PASSWORD_HASH is required \(adminAuth is enforced\)/);
      assert.match(e.message, /SPOTFUSION_CREDENTIAL_SECRET is required/);
      return true;
    });
  });

  it('refuses a non-loopback address without adminAuth, naming the address', function () {
    assert.throws(
      () => loadRuntimeConfig({ SPOTFUSION_HOST: '0.0.0.0', SPOTFUSION_CREDENTIAL_SECRET: SECRET }, '/tmp/u'),
      /refusing to listen on non-loopback address 0\.0\.0\.0 without adminAuth/,
    );
  });

  it('protects the dashboard and HTTP routes on a non-loopback address unless they are public on purpose', function () {
    const base = { SPOTFUSION_HOST: '0.0.0.0', SPOTFUSION_ADMIN_PASSWORD_HASH: HASH, SPOTFUSION_CREDENTIAL_SECRET: SECRET, SPOTFUSION_ALLOW_PLAIN_HTTP: 'true' };
    assert.throws(() => loadRuntimeConfig(base, '/tmp/u'), /SPOTFUSION_HTTP_PASSWORD_HASH is required on non-loopback address 0\.0\.0\.0/);
    // kiosk mode: without a login only for the kiosks' addresses, which it names
    assert.throws(() => loadRuntimeConfig({ ...base, SPOTFUSION_HTTP_PUBLIC: 'true' }, '/tmp/u'), /SPOTFUSION_HTTP_PUBLIC=true needs SPOTFUSION_KIOSK_ADDRESSES/);
    const kiosk = loadRuntimeConfig({ ...base, SPOTFUSION_HTTP_PUBLIC: 'true', SPOTFUSION_KIOSK_ADDRESSES: '10.1.2.3, 10.1.3.0/24,fd00::7' }, '/tmp/u');
    assert.equal(kiosk.httpPublic, true);
    assert.deepEqual(kiosk.kioskAddresses, ['10.1.2.3', '10.1.3.0/24', 'fd00::7']);
    assert.throws(() => loadRuntimeConfig({ ...base, SPOTFUSION_HTTP_PUBLIC: 'true', SPOTFUSION_KIOSK_ADDRESSES: '10.1.2.3,kiosk1,10.0.0.0/33' }, '/tmp/u'), /SPOTFUSION_KIOSK_ADDRESSES expects IP addresses or CIDR ranges .*got "kiosk1,10\.0\.0\.0\/33"/);
    const cfg = loadRuntimeConfig({ ...base, SPOTFUSION_HTTP_PASSWORD_HASH: HASH, SPOTFUSION_HTTP_USER: 'line1' }, '/tmp/u');
    assert.equal(cfg.httpUser, 'line1');
    assert.equal(cfg.httpPasswordHash, HASH);
    assert.throws(() => loadRuntimeConfig({ ...base, SPOTFUSION_HTTP_PASSWORD_HASH: 'x' }, '/tmp/u'), /SPOTFUSION_HTTP_PASSWORD_HASH expects a bcrypt hash/);
  });

  it('allows dev mode only on loopback', function () {
    const cfg = loadRuntimeConfig({ SPOTFUSION_DEV_MODE: 'true' }, '/tmp/u');
    assert.equal(cfg.devMode, true);
    assert.equal(cfg.adminPasswordHash, undefined);
    assert.throws(() => loadRuntimeConfig({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_HOST: '10.1.2.3' }, '/tmp/u'), /only allowed on a loopback/);
  });

  it('names every wrong variable and what it expects', function () {
    assert.throws(
      () =>
        loadRuntimeConfig(
          {
            SPOTFUSION_PORT: '80a',
            SPOTFUSION_DEV_MODE: 'perhaps',
            SPOTFUSION_LOG_FORMAT: 'xml',
            SPOTFUSION_LOG_LEVEL: 'loud',
            SPOTFUSION_ADMIN_PASSWORD_HASH: 'plaintext',
            SPOTFUSION_CREDENTIAL_SECRET: 'short',
            SPOTFUSION_FLOW_FILE: '../etc/passwd',
            SPOTFUSION_ADMIN_USER: 'a b',
            SPOTFUSION_HOST: 'bad host!',
          },
          '/tmp/u',
        ),
      (e) => {
        for (const re of [
          /SPOTFUSION_PORT expects a whole number 1–65535, got "80a"/,
          /SPOTFUSION_DEV_MODE expects true or false/,
          /SPOTFUSION_LOG_FORMAT expects one of text, json/,
          /SPOTFUSION_LOG_LEVEL expects one of fatal/,
          /SPOTFUSION_ADMIN_PASSWORD_HASH expects a bcrypt hash/,
          /SPOTFUSION_CREDENTIAL_SECRET must be at least 16 characters/,
          /SPOTFUSION_FLOW_FILE expects a file name/,
          /SPOTFUSION_ADMIN_USER expects/,
          /SPOTFUSION_HOST expects an IP address or host name/,
        ]) {
          assert.match(e.message, re);
        }
        assert.equal(e.problems.length, 9);
        return true;
      },
    );
    assert.throws(() => loadRuntimeConfig({ SPOTFUSION_PORT: '70000', SPOTFUSION_DEV_MODE: '1' }, '/tmp/u'), /got 70000/);
  });

  it('knows loopback addresses', function () {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'plc.example']) assert.equal(isLoopbackHost(h), false, h);
  });

  it('declares every variable with a description', function () {
    for (const v of Object.values(ENV)) {
      assert.match(v.name, /^SPOTFUSION_[A-Z_]+$/);
      assert.ok(v.description.length > 10);
    }
  });

  it('formats one log event as one JSON line', function () {
    const line = formatJsonLog({ level: 30, msg: 'redis 127.0.0.1:6379 lost', type: 'spotfusion-redis-config', id: 'abc', z: 'f1', timestamp: 0 });
    assert.deepEqual(JSON.parse(line), { time: '1970-01-01T00:00:00.000Z', level: 'warn', type: 'spotfusion-redis-config', id: 'abc', flow: 'f1', msg: 'redis 127.0.0.1:6379 lost' });
    assert.equal(JSON.parse(formatJsonLog({ level: 20, msg: new Error('bad') })).msg, 'bad');
    assert.equal(JSON.parse(formatJsonLog({ level: 40, msg: { a: 1 } })).msg, '{"a":1}');
    assert.ok(!line.includes('\n'));
  });
});
