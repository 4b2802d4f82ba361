'use strict';
// The CI secret scanner (nodes/lib/deploy/secret-scan.ts, run by .ci/run through scripts/scan-secrets.mjs):
// planted secrets of every rule are caught with file:line, placeholders are not, and the tree is clean.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { scanText, scanTree, SCAN_PATHS } = require('../../dist/nodes/lib/deploy/secret-scan');
const { LEGACY_PASSWORDS } = require('../support/legacy-passwords');
const { LEGACY_PASSWORD_FINGERPRINTS, fingerprint, findLegacyPassword } = require('../../dist/nodes/lib/deploy/secret-rules');

const ROOT = path.join(__dirname, '..', '..');
// assembled at run time so this file itself holds no secret-shaped literal
const j = (...p) => p.join('');
const PLANTED = {
  'legacy password': `const redisPass = "${LEGACY_PASSWORDS[0]}";`,
  'private key': j('-----BEGIN RSA ', 'PRIVATE KEY-----'),
  'AWS access key id': j('key = AKIA', 'IOSFODNN7EXAMPLE'),
  'AWS secret access key': j('aws_secret_access_key = ', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
  'GitHub/GitLab/Slack token': j('token ghp_', 'a'.repeat(36)),
  'JSON Web Token': j('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'),
  'bearer token': j('Authorization: Bearer ', 'c2VjcmV0LXRva2VuLXZhbHVlLTEyMzQ1Ng'),
  'password or secret literal': j('  password', ': "hunter2-plant"'),
  'credentials in a URL': j('amqp://spot', ':s3cr3t@broker:5672/'),
};

describe('legacy password block list (salted hashes only)', function () {
  it('holds no legacy password in any published file (dist, bin, resources, examples, flows, README…), and still matches them', function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const published = [];
    const walk = (p) => {
      const st = fs.statSync(p);
      if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
      else published.push(p);
    };
    for (const entry of pkg.files) if (fs.existsSync(path.join(ROOT, entry))) walk(path.join(ROOT, entry));
    assert.ok(published.some((f) => f.endsWith(path.join('dist', 'nodes', 'lib', 'deploy', 'secret-rules.js'))), 'the block list is published');
    for (const f of published) {
      const bytes = fs.readFileSync(f);
      for (const pw of LEGACY_PASSWORDS) assert.ok(!bytes.includes(pw), `${path.relative(ROOT, f)} contains a legacy password`);
    }
    for (const pw of LEGACY_PASSWORDS) {
      assert.ok(LEGACY_PASSWORD_FINGERPRINTS.some((f) => JSON.stringify(f) === JSON.stringify(fingerprint(pw))), 'its fingerprint is listed');
      assert.equal(findLegacyPassword(`redis_password="${pw}" # default`), pw);
      assert.equal(findLegacyPassword(pw), pw);
      assert.equal(findLegacyPassword(pw.slice(0, -1)), undefined);
      assert.equal(findLegacyPassword(`${'x'.repeat(5000)}${pw}`), pw);
    }
    assert.equal(findLegacyPassword('SparkEyes@@2023 skm@@2021'), undefined);
  });
});

describe('secret scanner (CI)', function () {
  it('catches a planted secret of every rule, naming file, line and rule, with the secret masked', function () {
    for (const [rule, line] of Object.entries(PLANTED)) {
      const found = scanText(`first line\n${line}\nlast line`, 'x.ts');
      assert.ok(found.some((f) => f.rule === rule && f.line === 2 && f.file === 'x.ts'), `${rule} not caught in ${line}: ${JSON.stringify(found)}`);
      for (const f of found) assert.ok(f.excerpt.includes('…') && f.excerpt.length <= 8, `excerpt ${f.excerpt} is masked`);
    }
  });

  it('lets placeholders, environment references and explicitly allowed lines pass', function () {
    const ok = [
      'password: "${REDIS_PASSWORD}"',
      "password: ''",
      'password: "<password>"',
      'pass = process.env.PG_PASSWORD',
      'amqp://${AMQP_USER}:${AMQP_PASSWORD}@broker:5672',
      'Authorization: Bearer <token>',
      'const re = /password/i;',
      `const list = ["${LEGACY_PASSWORDS[1]}"]; // secret-scan: allow (the blocklist)`,
    ];
    for (const line of ok) assert.deepEqual(scanText(line, 'x.ts'), [], line);
  });

  it('the scanned tree (flows, examples, nodes, settings, scripts, bin, deploy, docs) holds no secret', function () {
    const { files, findings } = scanTree(ROOT);
    assert.ok(files > 50, `scanned ${files} files`);
    assert.deepEqual(findings, []);
    assert.ok(SCAN_PATHS.includes('flows') && SCAN_PATHS.includes('docs') && SCAN_PATHS.includes('deploy'));
  });

  it('scripts/scan-secrets.mjs fails CI on a planted secret and passes a clean tree', function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-secrets-'));
    try {
      fs.mkdirSync(path.join(dir, 'flows'));
      fs.mkdirSync(path.join(dir, 'deploy'));
      fs.writeFileSync(path.join(dir, 'flows', 'f.json'), JSON.stringify([{ id: 'a', type: 'tab', info: 'uses ${X}' }]));
      fs.writeFileSync(path.join(dir, 'deploy', 'compose.yaml'), 'services:\n  pg:\n    environment:\n      POSTGRES_PASSWORD: ${PG_PASSWORD}\n');
      const clean = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'scan-secrets.mjs'), dir], { encoding: 'utf8' });
      assert.equal(clean.status, 0, clean.stdout + clean.stderr);
      assert.match(clean.stdout, /2 file\(s\).*0 finding\(s\)/);
      fs.appendFileSync(path.join(dir, 'deploy', 'compose.yaml'), `      REDIS_URL: redis://default:${LEGACY_PASSWORDS[0]}@redis:6379\n`);
      const dirty = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'scan-secrets.mjs'), dir], { encoding: 'utf8' });
      assert.equal(dirty.status, 1);
      assert.match(dirty.stdout, /deploy\/compose\.yaml:5: legacy password/);
      assert.match(dirty.stdout, /deploy\/compose\.yaml:5: credentials in a URL/);
      assert.ok(!dirty.stdout.includes(LEGACY_PASSWORDS[0]), 'the report masks the secret');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('.ci/run runs the scanner', function () {
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    assert.match(ci, /node scripts\/scan-secrets\.mjs \|\| bad\n/);
    assert.match(ci, /^bad\(\) \{ fail=1; /m, 'a failed step fails CI');
  });
});
