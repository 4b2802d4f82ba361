#!/usr/bin/env node
// CI: every skipped test must be on the allow-list .ci/expected-skips (leg | full title | reason), and every
// line of the list must still match a skipped test. Every failed test of every leg is named again with its error,
// here at the end of the log, where a reader of CI's last lines finds it. Reads the results files the test
// reporter wrote (SPOTFUSION_RESULTS_FILE): node .ci/results.mjs primary=FILE node22=FILE legs=FILE....
// Exit 1 on an unexpected skip, a stale line or a missing results file (failed tests are counted by .ci/run).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// SPOTFUSION_EXPECTED_SKIPS: another list (test/unit/ci-results.test.js)
const LIST = process.env.SPOTFUSION_EXPECTED_SKIPS || join(dirname(fileURLToPath(import.meta.url)), 'expected-skips');
const LIST_NAME = process.env.SPOTFUSION_EXPECTED_SKIPS || '.ci/expected-skips';
const expected = readFileSync(LIST, 'utf8')
  .split('\n')
  .map((l, i) => ({ l: l.trim(), line: i + 1 }))
  .filter(({ l }) => l && !l.startsWith('#'))
  .map(({ l, line }) => {
    const [leg, title, reason] = l.split('|').map((x) => x.trim());
    if (!leg || !title || !reason) throw new Error(`${LIST}:${line}: expected "<leg> | <title> | <reason>"`);
    return { leg, title, reason, line, used: false };
  });

let bad = 0;
const legs = new Set();
const failed = [];
for (const arg of process.argv.slice(2)) {
  const [leg, file] = arg.split('=');
  legs.add(leg);
  if (!existsSync(file)) {
    console.log(`skips: no test results for ${leg} (${file})`);
    bad += 1;
    continue;
  }
  const { tests } = JSON.parse(readFileSync(file, 'utf8'));
  for (const t of tests.filter((x) => x.state === 'failed')) failed.push({ leg, file, t });
  for (const t of tests.filter((x) => x.state === 'skipped')) {
    const ok = expected.find((e) => (e.leg === leg || e.leg === 'any') && e.title === t.fullTitle);
    if (ok) {
      ok.used = true;
      console.log(`skips: ${leg}: expected skip "${t.fullTitle}" (${ok.reason})`);
    } else {
      console.log(`skips: ${leg}: UNEXPECTED skip "${t.fullTitle}" (not in ${LIST_NAME})`);
      bad += 1;
    }
  }
}
for (const e of expected.filter((x) => !x.used && (x.leg === 'any' || legs.has(x.leg)))) {
  console.log(`skips: ${LIST_NAME}:${e.line} matches no skipped test of ${e.leg}: remove it ("${e.title}")`);
  bad += 1;
}
// an assertion's message may quote a whole file: its first lines say what failed, the leg's log has the rest
const MAX_LINES = 12;
const MAX_CHARS = 240;
for (const { leg, file, t } of failed) {
  const lines = String(t.error || 'no error recorded').split('\n');
  const shown = lines.slice(0, MAX_LINES).map((l) => (l.length > MAX_CHARS ? `${l.slice(0, MAX_CHARS)}…` : l));
  if (lines.length > MAX_LINES) shown.push(`… ${lines.length - MAX_LINES} more line(s) in the leg's log`);
  console.log(`\nFAILED (${leg}, ${file}): ${t.fullTitle}\n  in ${t.file || 'a hook'}\n  ${shown.join('\n  ')}`);
}
process.exit(bad ? 1 : 0);
