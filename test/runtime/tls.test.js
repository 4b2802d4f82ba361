'use strict';
// HTTPS in a real Node-RED process (red.js + dist/settings.js) with a CA, server and client certificates the
// test makes with openssl: editor, admin API, dashboard (page and socket.io) and archive over TLS; client
// certificates with SPOTFUSION_TLS_CA; `spotfusion deploy` verifying the certificate; the plain-HTTP refusals.
// Everything listens on 127.0.0.1 only.
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const bcrypt = require('bcryptjs');
const { Runtime, runSettingsOnly } = require('../support/runtime');
const { ROOT } = require('../../scripts/userdir.cjs');

const BIN = path.join(ROOT, 'bin', 'spotfusion.js');
const ADMIN_PASSWORD = crypto.randomBytes(12).toString('hex');
const VIEWER_PASSWORD = crypto.randomBytes(12).toString('hex');

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by the CA (P-256). */
function makeCertificates(dir) {
  // node-opcua-pki sets process.env.OPENSSL_CONF in-process (to "undefined" when unconfigured) once an OPC UA test
  // of the same mocha run has made certificates: openssl gets the machine's own configuration
  const env = { ...process.env };
  delete env.OPENSSL_CONF;
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=SpotFusion test CA');
  for (const [name, ext] of [
    ['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ]) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name === 'server' ? 'localhost' : 'deployer'}`);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
  // a second CA that signed nothing of ours: a client that trusts only it must refuse the server
  ssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=another CA');
  const f = (n) => path.join(dir, n);
  return { dir, ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key'), otherCa: f('other.pem') };
}

function cli(args, env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** GET over TLS with the given client options; resolves with the status or the TLS/socket error. */
function tlsGet(port, urlPath, opts) {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, timeout: 10000, ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err }));
  });
}

const FLOW = [
  { id: 'tls_tab', type: 'tab', label: 'tls deploy' },
  { id: 'tls_inject', type: 'inject', z: 'tls_tab', name: 'tick', props: [{ p: 'payload' }], repeat: '', once: false, payload: '', payloadType: 'date', x: 100, y: 100, wires: [['tls_debug']] },
  { id: 'tls_debug', type: 'debug', z: 'tls_tab', name: 'out', active: true, x: 300, y: 100, wires: [] },
];

describe('TLS (SPOTFUSION_TLS_CERT / _KEY / _CA) in a real Node-RED process', function () {
  this.timeout(60000);
  let certs;
  before(function () {
    certs = makeCertificates(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-tls-')));
  });
  after(function () {
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  describe('HTTPS with a certificate', function () {
    let rt;
    let ca;
    before(async function () {
      ca = fs.readFileSync(certs.ca);
      rt = await Runtime.create(
        {
          SPOTFUSION_DEV_MODE: undefined,
          SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(ADMIN_PASSWORD, 8),
          SPOTFUSION_HTTP_PASSWORD_HASH: bcrypt.hashSync(VIEWER_PASSWORD, 8),
          SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
          SPOTFUSION_TLS_CERT: certs.cert,
          SPOTFUSION_TLS_KEY: certs.key,
        },
        { tls: { ca } },
      );
      await rt.start({ flowSource: path.join(ROOT, 'flows', 'dashboard.json') });
    });
    after(async function () {
      if (rt) await rt.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('serves the editor, the admin API, the dashboard (page and socket.io) and the archive over HTTPS only', async function () {
      assert.match(rt.stdout, /Server now running at https:\/\//);
      assert.equal((await rt.request('GET', '/')).status, 200, 'editor');
      const token = await rt.token('admin', ADMIN_PASSWORD);
      assert.equal((await rt.request('GET', '/flows', { token })).status, 200, 'admin API');
      const viewer = { Authorization: `Basic ${Buffer.from(`viewer:${VIEWER_PASSWORD}`).toString('base64')}` };
      assert.equal((await rt.request('GET', '/dashboard/station', { headers: viewer })).status, 200, 'dashboard');
      const hs = await rt.request('GET', '/dashboard/socket.io/?EIO=4&transport=polling', { headers: viewer });
      assert.equal(hs.status, 200, 'dashboard socket.io');
      assert.match(hs.text, /^0\{"sid":/);
      assert.equal((await rt.request('GET', '/spotfusion/archive/nobody/2026-01-01/x/frame.png', { headers: viewer })).status, 404, 'archive route reached');
      // the same port answers no plain HTTP request
      const plain = await require('../support/runtime')
        .request(rt.port, 'GET', '/flows', { token })
        .then((r) => r.status, (err) => err.code ?? err.message);
      assert.ok(plain === 400 || typeof plain === 'string', `plain HTTP answered ${plain}`);
    });

    it('presents a certificate that verifies against the CA only: a client that trusts another CA refuses it', async function () {
      const good = await tlsGet(rt.port, '/auth/login', { ca });
      assert.equal(good.status, 200);
      const other = await tlsGet(rt.port, '/auth/login', { ca: fs.readFileSync(certs.otherCa) });
      assert.match(String(other.error?.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
    });

    it('spotfusion deploy speaks HTTPS and verifies the certificate (SPOTFUSION_DEPLOY_CA); without the CA it refuses', async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-tls-flow-'));
      try {
        const flow = path.join(dir, 'flow.json');
        fs.writeFileSync(flow, JSON.stringify(FLOW));
        const url = `https://localhost:${rt.port}`;
        const env = { SPOTFUSION_DEPLOY_PASSWORD: ADMIN_PASSWORD };
        const refused = await cli(['deploy', flow, '--url', url, '--user', 'admin', '--health-timeout', '5'], env);
        assert.notEqual(refused.code, 0);
        assert.match(refused.err, /unable to verify the first certificate|self-signed|UNABLE_TO_VERIFY/i);
        const ok = await cli(['deploy', flow, '--url', url, '--user', 'admin', '--health-timeout', '5'], { ...env, SPOTFUSION_DEPLOY_CA: certs.ca });
        assert.equal(ok.code, 0, ok.err + ok.out);
        const token = await rt.token('admin', ADMIN_PASSWORD);
        const flows = await rt.request('GET', '/flows', { token });
        assert.ok(flows.json.some((n) => n.id === 'tls_inject'), 'the flow was deployed');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('client certificates (SPOTFUSION_TLS_CA)', function () {
    let rt;
    before(async function () {
      const tls = { ca: fs.readFileSync(certs.ca), cert: fs.readFileSync(certs.clientCert), key: fs.readFileSync(certs.clientKey) };
      rt = await Runtime.create(
        {
          SPOTFUSION_DEV_MODE: undefined,
          SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(ADMIN_PASSWORD, 8),
          SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'),
          SPOTFUSION_TLS_CERT: certs.cert,
          SPOTFUSION_TLS_KEY: certs.key,
          SPOTFUSION_TLS_CA: certs.ca,
        },
        { tls },
      );
      await rt.start();
    });
    after(async function () {
      if (rt) await rt.stop();
      if (rt) fs.rmSync(rt.userDir, { recursive: true, force: true });
    });

    it('refuses a client without a certificate and serves one with a certificate of the CA, deploy included', async function () {
      const without = await tlsGet(rt.port, '/auth/login', { ca: fs.readFileSync(certs.ca) });
      assert.ok(without.error, `answered ${without.status} without a client certificate`);
      assert.equal((await rt.request('GET', '/auth/login')).status, 200);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-tls-flow-'));
      try {
        const flow = path.join(dir, 'flow.json');
        fs.writeFileSync(flow, JSON.stringify(FLOW));
        const args = ['deploy', flow, '--url', `https://localhost:${rt.port}`, '--user', 'admin', '--health-timeout', '5'];
        const env = { SPOTFUSION_DEPLOY_PASSWORD: ADMIN_PASSWORD, SPOTFUSION_DEPLOY_CA: certs.ca };
        assert.notEqual((await cli(args, env)).code, 0, 'deploy without a client certificate');
        const ok = await cli(args, { ...env, SPOTFUSION_DEPLOY_CERT: certs.clientCert, SPOTFUSION_DEPLOY_KEY: certs.clientKey });
        assert.equal(ok.code, 0, ok.err + ok.out);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('plain HTTP on a non-loopback address (settings only: nothing listens)', function () {
    const base = () => ({
      SPOTFUSION_HOST: '0.0.0.0',
      SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync('x', 4),
      SPOTFUSION_HTTP_PASSWORD_HASH: bcrypt.hashSync('y', 4),
      SPOTFUSION_CREDENTIAL_SECRET: 'x'.repeat(24),
    });

    it('is refused with one clear line unless SPOTFUSION_ALLOW_PLAIN_HTTP=true, which starts with a warning', async function () {
      const refused = await runSettingsOnly(base());
      assert.equal(refused.code, 78);
      assert.match(refused.stderr, /refusing plain HTTP on non-loopback address 0\.0\.0\.0: set SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY \(HTTPS\), or SPOTFUSION_ALLOW_PLAIN_HTTP=true/);
      const allowed = await runSettingsOnly({ ...base(), SPOTFUSION_ALLOW_PLAIN_HTTP: 'true' });
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.match(allowed.stderr, /WARNING: plain HTTP on non-loopback address 0\.0\.0\.0 \(SPOTFUSION_ALLOW_PLAIN_HTTP=true\)/);
      const withTls = await runSettingsOnly({ ...base(), SPOTFUSION_TLS_CERT: certs.cert, SPOTFUSION_TLS_KEY: certs.key });
      assert.equal(withTls.code, 0, withTls.stderr);
      assert.doesNotMatch(withTls.stderr, /WARNING/);
    });

    it('names a certificate without its key, and a file that cannot be read', async function () {
      const r = await runSettingsOnly({ ...base(), SPOTFUSION_TLS_CERT: certs.cert, SPOTFUSION_TLS_CA: path.join(certs.dir, 'missing.pem') });
      assert.equal(r.code, 78);
      assert.match(r.stderr, /SPOTFUSION_TLS_CA names a file that cannot be read: .*missing\.pem \(ENOENT\)/);
      const r2 = await runSettingsOnly({ ...base(), SPOTFUSION_TLS_CERT: certs.cert });
      assert.match(r2.stderr, /SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY go together/);
    });
  });
});
