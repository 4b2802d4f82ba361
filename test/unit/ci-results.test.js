'use strict';
// .ci/results.mjs, the step of CI that reads every leg's test results: a skip not on the allow-list fails CI, a
// line of the list that matches no skip fails it (a stale excuse), a missing results file fails it, and every
// failed test is named again with its error where the last lines of the CI log show it.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const SCRIPT = path.join(__dirname, '..', '..', '.ci', 'results.mjs');

describe('.ci/results.mjs: skips against the allow-list, failures named at the end of the CI log', function () {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-ci-results-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name, body) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    return file;
  };
  const run = (list, ...args) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, SPOTFUSION_EXPECTED_SKIPS: list } });
  const test = (fullTitle, state, error) => ({ title: fullTitle.split(' ').pop(), fullTitle, file: '/x/a.test.js', state, ...(error ? { error } : {}) });

  it('passes a run whose skips are all on the list, and names each failed test with its leg, file and error', function () {
    const list = write('skips', '# comment\nnode22 | suite needs a camera | no camera on this machine\n');
    const primary = write('p.json', { tests: [test('suite one', 'passed'), test('suite two', 'failed', 'expected 1 to equal 2\n    at Context.<anonymous> (a.test.js:9:3)')] });
    const node22 = write('n.json', { tests: [test('suite needs a camera', 'skipped')] });
    const r = run(list, `primary=${primary}`, `node22=${node22}`);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /expected skip "suite needs a camera" \(no camera on this machine\)/);
    assert.match(r.stdout, new RegExp(`FAILED \\(primary, ${primary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): suite two\\n  in /x/a\\.test\\.js\\n  expected 1 to equal 2\\n      at Context`));
    assert.doesNotMatch(r.stdout, /suite one/);
  });

  it('cuts a long error to its first lines (an assertion may quote a whole file)', function () {
    const list = write('skips', '');
    const long = ['the input did not match', ...Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat(i === 3 ? 500 : 10)}`)].join('\n');
    const r = run(list, `primary=${write('p.json', { tests: [test('suite long', 'failed', long)] })}`);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /the input did not match/);
    assert.match(r.stdout, /line 10 x{10}\n {2}… 29 more line\(s\) in the leg's log/);
    assert.doesNotMatch(r.stdout, /line 11 /);
    assert.match(r.stdout, /line 3 x{233}…\n/);
  });

  it('fails on a skip not on the list, on a line that matches no skip, and on a missing results file', function () {
    const list = write('skips', 'primary | suite gone | was needed once\n');
    const primary = write('p.json', { tests: [test('suite quiet', 'skipped')] });
    const r = run(list, `primary=${primary}`, `node22=${path.join(dir, 'none.json')}`);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /primary: UNEXPECTED skip "suite quiet" \(not in .*\/skips\)/);
    assert.match(r.stdout, /\/skips:1 matches no skipped test of primary: remove it \("suite gone"\)/);
    assert.match(r.stdout, /no test results for node22/);
  });

  it('refuses a list line without leg, title and reason', function () {
    const list = write('skips', 'primary | a title without a reason\n');
    const r = run(list, `primary=${write('p.json', { tests: [] })}`);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /expected "<leg> \| <title> \| <reason>"/);
  });
});
