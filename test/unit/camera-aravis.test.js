'use strict';
// Runs the GigE Vision specs (test/gige/*.spec.js: our GigE client against Debian's aravis fake camera, and
// camera-grab in a Node-RED runtime against the same fake) inside a network namespace with only loopback,
// through test/support/netns-run.sh, and turns each spec test into a test of this run: it passes, fails (with
// the spec's error) or is skipped here as it did there, so every spec is counted in the totals.
// Where no namespace can be made or aravis-tools is missing: fails under CI, and elsewhere each spec file
// counts as one skipped test, named with the reason.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const { join, relative } = require('node:path');
const Mocha = require('mocha');

const ROOT = join(__dirname, '..', '..');
const SPECS = fs.readdirSync(join(ROOT, 'test', 'gige')).filter((f) => f.endsWith('.spec.js')).sort().map((f) => `test/gige/${f}`);

/** Run the specs in the namespace: { code, out, results } (results: the reporter's JSON, when it wrote one). */
async function runInNamespace() {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'sf-gige-'));
  const file = join(dir, 'results.json');
  try {
    const child = spawn('bash', [join(ROOT, 'test/support/netns-run.sh'), ...SPECS], {
      cwd: ROOT,
      env: { ...process.env, NODE_BIN: process.execPath, SPOTFUSION_RESULTS_FILE: file },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const results = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
    return { code, out, results };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('GigE Vision against the aravis fake camera (in a loopback-only network namespace)', function () {
  this.timeout(240000);
  let run;
  const specs = this;

  before(async function () {
    run = await runInNamespace();
    const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
    if (run.code === 77) {
      const why = run.out.trim().split('\n').pop();
      if (ci) throw new Error(`GigE specs cannot run in CI: ${why}`);
      process.stdout.write(`\n  !!! NOT RUN: the GigE Vision specs (${why}; needs root or user namespaces, and apt-get install -y aravis-tools)\n`);
      // one visible, counted skip per spec file
      for (const f of SPECS) {
        specs.addTest(
          new Mocha.Test(`${f}: not run (${why})`, function () {
            this.skip();
          }),
        );
      }
      return;
    }
    if (!run.results) return; // the test below fails with what the run printed
    for (const t of run.results.tests) {
      specs.addTest(
        new Mocha.Test(`${relative(ROOT, t.file || '')}: ${t.fullTitle}`, function () {
          if (t.state === 'skipped') this.skip();
          if (t.state === 'failed') assert.fail(`${t.error}\n--- output of the namespace run ---\n${run.out.slice(-6000)}`);
        }),
      );
    }
  });

  it('the namespace run finishes, with one outcome per spec test and the exit status of its failures', function () {
    if (run.code === 77) this.skip();
    assert.ok(run.results, `no results from the namespace run (exit ${run.code}):\n${run.out.slice(-6000)}`);
    const { stats, tests } = run.results;
    assert.equal(tests.length, stats.passes + stats.failures + stats.pending, 'every spec test reported');
    assert.ok(stats.passes + stats.failures > 0, `no spec test ran:\n${run.out.slice(-6000)}`);
    // mocha exits with the number of failures
    assert.equal(run.code, Math.min(stats.failures, 255), `exit status ${run.code} for ${stats.failures} failure(s)`);
    for (const f of SPECS) assert.ok(tests.some((t) => relative(ROOT, t.file || '') === f), `${f} ran`);
  });
});
