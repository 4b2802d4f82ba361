'use strict';
// mocha's spec reporter, plus the one closing line CI reads: "N passed, N failed, N skipped", with every skipped
// test named above it ("skipped: <full title>"), so that a skip is never silent. With SPOTFUSION_RESULTS_FILE
// set, it also writes every test's outcome there as JSON ({ tests: [{ title, fullTitle, file, state, error }] }):
// .ci/run compares the skipped ones with .ci/expected-skips, and test/unit/camera-aravis.test.js turns the
// tests it runs in a network namespace into tests of its own.
const fs = require('node:fs');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const tests = [];
    const record = (state) => (test, err) => {
      tests.push({
        title: test.title,
        fullTitle: test.fullTitle(),
        file: test.file,
        state,
        ...(err ? { error: `${err.message || String(err)}${err.stack ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : ''}` } : {}),
      });
    };
    runner.on(EVENT_TEST_PASS, record('passed'));
    runner.on(EVENT_TEST_FAIL, record('failed'));
    runner.on(EVENT_TEST_PENDING, record('skipped'));
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const file = process.env.SPOTFUSION_RESULTS_FILE;
      if (file) fs.writeFileSync(file, `${JSON.stringify({ stats: { passes: s.passes || 0, failures: s.failures || 0, pending: s.pending || 0 }, tests }, null, 1)}\n`);
      // runs after the spec epilogue (registered later); synchronous, because mocha --exit ends the process
      const skipped = tests.filter((t) => t.state === 'skipped').map((t) => `skipped: ${t.fullTitle}\n`).join('');
      process.stdout.write(`\n${skipped}${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
    });
  }
}
module.exports = SummaryReporter;
