'use strict';
// Every flow of this package's flows/ (the station and the legacy services) passes `spotfusion validate` and
// carries the header conventions: a tab info naming what it replaces and its version, every ${VAR} it uses in
// the tab env (with a default, overridable from the process environment), the Redis keys / queues it keeps
// compatible, a comment node on the tab, and no secret.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { checkFlowFile, packageTypes } = require('../../dist/nodes/lib/deploy/flow-check');
const { main } = require('../../dist/nodes/lib/deploy/cli');
const { ROOT } = require('./support');

const FLOWS = fs.readdirSync(path.join(ROOT, 'flows')).filter((f) => f === 'station.json' || /^legacy-.*\.json$/.test(f)).sort();

describe('flows/: validation and header conventions', function () {
  const known = packageTypes(ROOT);

  it('has the station flow and one flow per legacy service', function () {
    assert.equal(FLOWS.length, 11, FLOWS.join(', '));
  });

  for (const file of FLOWS) {
    it(`${file}: valid, with its header`, function () {
      const report = checkFlowFile(path.join(ROOT, 'flows', file), known);
      assert.deepEqual(report.problems, []);
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', file), 'utf8'));
      const tabs = flow.filter((n) => n.type === 'tab');
      assert.ok(tabs.length >= 1);
      for (const tab of tabs) {
        assert.match(tab.info, /^Replaces: .+/m, `${tab.id}: names the legacy service it replaces`);
        assert.match(tab.info, /^Flow version: \S+ \d+\.\d+\.\d+$/m, `${tab.id}: version`);
        assert.match(tab.info, /^Redis keys kept compatible:\n- .+/m);
        assert.match(tab.info, /^Queues \/ topics \/ tables:\n- .+/m);
        const onTab = flow.filter((n) => n.z === tab.id);
        const used = new Set(JSON.stringify(onTab).match(/\$\{[A-Z0-9_]+\}/g)?.map((v) => v.slice(2, -1)) ?? []);
        for (const v of JSON.stringify(onTab).matchAll(/\$env\(\\?"([A-Z0-9_]+)\\?"\)/g)) used.add(v[1]);
        const declared = new Map((tab.env ?? []).map((e) => [e.name, e]));
        for (const v of used) {
          assert.ok(declared.has(v), `${tab.id}: \${${v}} has a default in the tab env`);
          assert.ok(tab.info.includes(`- ${v} (default`), `${tab.id}: ${v} is described in the tab info`);
        }
        for (const e of declared.values()) {
          assert.equal(e.type, 'jsonata');
          assert.match(e.value, new RegExp(`^\\$env\\("${e.name}"\\) \\? \\$env\\("${e.name}"\\) : ".*"$`), `${tab.id}: ${e.name} defers to the process environment`);
        }
        assert.ok(onTab.some((n) => n.type === 'comment' || tabs.length > 1), `${tab.id}: a comment on the tab`);
      }
    });
  }

  it('the deploy tool validates them all (exit 0)', async function () {
    const out = [];
    const code = await main(['validate', ...FLOWS.map((f) => path.join(ROOT, 'flows', f))], { out: (l) => out.push(l), err: (l) => out.push(l), env: {} }, ROOT);
    assert.equal(code, 0, out.join('\n'));
    assert.equal(out.filter((l) => l.startsWith('ok ')).length, FLOWS.length);
  });
});
