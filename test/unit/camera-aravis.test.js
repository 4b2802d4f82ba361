'use strict';
// Runs test/gige/aravis.spec.js (GigE Vision against Debian's aravis fake camera) and test/gige/camera-grab-node.spec.js
// (camera-grab in a Node-RED runtime against the same fake) inside a network namespace
// with only loopback, through test/support/netns-run.sh. Where no namespace can be made or aravis-tools is
// missing: fails under CI=true, and skips with a loud notice elsewhere.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..', '..');

describe('GigE Vision against the aravis fake camera (in a loopback-only network namespace)', function () {
  this.timeout(180000);
  it('passes every test of test/gige/aravis.spec.js and test/gige/camera-grab-node.spec.js', async function () {
    const child = spawn('bash', [join(ROOT, 'test/support/netns-run.sh'), 'test/gige/aravis.spec.js', 'test/gige/camera-grab-node.spec.js'], { cwd: ROOT, env: { ...process.env, NODE_BIN: process.execPath } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    if (code === 77) {
      const why = out.trim().split('\n').pop();
      if (process.env.CI === 'true') assert.fail(`GigE tests cannot run in CI: ${why}`);
      process.stdout.write(`\n  !!! SKIPPED the aravis GigE Vision tests: ${why}\n  !!! (needs root or user namespaces, and apt-get install -y aravis-tools)\n`);
      this.skip();
    }
    const m = /^(\d+) passed, (\d+) failed/m.exec(out);
    assert.ok(m, `no summary from the namespace run (exit ${code}):\n${out}`);
    assert.equal(Number(m[2]), 0, `GigE tests failed:\n${out}`);
    assert.ok(Number(m[1]) >= 12, `expected at least 12 GigE tests, ran ${m[1]}:\n${out}`);
    assert.equal(code, 0, out);
  });
});
