'use strict';
// The legacy backlog's defects (../shared/legacy/backlog.md), made impossible here and checked on every run:
// SEC-01 hard-coded credentials, SEC-02 eval() on data, SEC-03 bare/empty except, QUAL-01 copy-pasted
// clients, TEST-01/OPT unpinned dependencies. Health checks (INFRA-01) are covered by test/nodes/admin.test.js
// and test/runtime/runtime.test.js.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ESLint } = require('eslint');

const ROOT = path.join(__dirname, '..', '..');
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git', '.userdir', '.ci', 'results']);

function files(dir, re) {
  const out = [];
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return out;
  for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) out.push(...files(rel, re));
    } else if (re.test(e.name)) out.push(rel);
  }
  return out;
}

/** Source text without comments, so "never eval" in a comment does not count as a use. */
function code(rel) {
  return fs
    .readFileSync(path.join(ROOT, rel), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1');
}

const { checkFlowFile, packageTypes } = require('../../dist/nodes/lib/deploy/flow-check');
const { LEGACY_PASSWORDS } = require('../support/legacy-passwords');

describe('legacy backlog defects stay impossible', function () {
  this.timeout(60000);
  const sources = [...files('nodes', /\.(ts|html)$/), 'settings.ts', ...files('scripts', /\.(c|m)?js$/), ...files('bench', /\.(c|m)?js$/)];
  const flowFiles = [...files('flows', /\.json$/), ...files('examples', /\.json$/)];

  it('SEC-01: no legacy password anywhere in code, flows, examples or docs', function () {
    const all = [...sources, ...flowFiles, ...files('docs', /\.md$/), 'README.md', ...files('test', /\.js$/)].filter((f) => fs.existsSync(path.join(ROOT, f)));
    assert.ok(all.length > 10);
    for (const f of all) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const pw of LEGACY_PASSWORDS) assert.ok(!text.includes(pw), `${f} contains a legacy password`);
    }
  });

  it('SEC-01: flows and examples hold no secret in node fields (credentials or ${ENV} only)', function () {
    assert.ok(flowFiles.length >= 2, 'flows and examples exist');
    const known = packageTypes(ROOT);
    for (const f of flowFiles) {
      const secrets = checkFlowFile(path.join(ROOT, f), known).problems.filter((p) => /secret|credential|password/.test(p.message));
      assert.deepEqual(secrets, [], f);
    }
  });

  it('SEC-02: no eval, new Function or vm in the package code', function () {
    const banned = [/\beval\s*\(/, /\bnew\s+Function\s*\(/, /\bFunction\s*\(\s*['"`]/, /require\(\s*['"](node:)?vm['"]\s*\)/, /from\s+['"](node:)?vm['"]/];
    for (const f of sources.filter((s) => /\.(ts|c?js|mjs)$/.test(s))) {
      const text = code(f);
      for (const re of banned) assert.ok(!re.test(text), `${f} matches ${re}`);
    }
  });

  it('SEC-02/SEC-03: the lint rules that forbid eval, new Function, vm and empty catch are active', async function () {
    const eslint = new ESLint({ cwd: ROOT });
    const probe = [
      'eval("1");',
      'const f = new Function("return 1");',
      'setTimeout("alert(1)", 1);',
      'const vm = require("node:vm");',
      'try { f(); } catch (e) {}',
      'module.exports = { f, vm };',
    ].join('\n');
    const [res] = await eslint.lintText(probe, { filePath: path.join(ROOT, 'scripts', 'lint-probe.cjs') });
    const rules = new Set(res.messages.map((m) => m.ruleId));
    for (const r of ['no-eval', 'no-new-func', 'no-implied-eval', 'no-restricted-syntax', 'no-empty']) assert.ok(rules.has(r), `${r} not reported: ${[...rules]}`);
  });

  it('QUAL-01: one client module per protocol library', function () {
    // node-opcua: the PLC client lives in plc/, the Machine Vision server (issue 20) in opcua/
    const owners = { ioredis: ['nodes/lib/redis/'], 'node-opcua': ['nodes/lib/plc/', 'nodes/lib/opcua/'], amqplib: ['nodes/lib/'], mqtt: ['nodes/lib/'], pg: ['nodes/lib/'], 'onnxruntime-node': ['nodes/lib/'] };
    for (const f of files('nodes', /\.ts$/)) {
      const text = code(f);
      for (const [lib, dirs] of Object.entries(owners)) {
        const re = new RegExp(`^import\\s+(?!type\\b)[^;]*from\\s+['"]${lib}['"]`, 'm');
        if (re.test(text)) assert.ok(dirs.some((d) => f.split(path.sep).join('/').startsWith(d)), `${f} imports ${lib}; only ${dirs.join(' or ')} may`);
      }
    }
  });

  it('OPT/TEST-01: dependencies are pinned by a committed lock file and installed with npm ci', function () {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
    assert.ok(lock.lockfileVersion >= 2);
    const ci = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
    assert.match(ci, /npm ci/);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const testCmd = /```sh\n(npm test)\n```/.exec(readme);
    assert.ok(testCmd, 'README gives the test command');
    assert.match(ci, /\nnpm test 2>&1/);
  });
});
