'use strict';
// Carrying an edited plant value back into its YAML text (nodes/lib/plant/edit.ts): an unchanged value gives the
// same bytes; value edits change only their own characters; added or removed keys and items keep comments, order
// and what anchors can keep, and say so; every result reads back as the value given (a property test on the
// sample plant).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const fc = require('fast-check');
const { mergePlantText } = require('../../dist/nodes/lib/plant/edit');
const { parsePlant } = require('../../dist/nodes/lib/plant/validate');

const SAMPLE = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'plant.yaml'), 'utf8');
const valueOf = (text) => {
  const loaded = parsePlant(text, 'test.yaml');
  assert.deepEqual(loaded.problems, []);
  return loaded.value;
};
const comments = (text) => text.split('\n').filter((l) => /^\s*#/.test(l) || / #/.test(l));
const differing = (a, b) => {
  const x = a.split('\n');
  const y = b.split('\n');
  const out = [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) out.push(i + 1);
  return out;
};

describe('plant edit: the wizard value back into the YAML text', function () {
  it('an unchanged value gives the file back byte for byte (round trip YAML → value → YAML)', function () {
    const r = mergePlantText(SAMPLE, valueOf(SAMPLE));
    assert.equal(r.text, SAMPLE);
    assert.deepEqual(r.report, { changed: 0, unaliased: [], reformatted: false });
  });

  it('value edits change only their own characters: comments, order, anchors and flow style stay', function () {
    const v = valueOf(SAMPLE);
    v.plant.name = 'Body shop: hall 2'; // needs quotes
    v.plant.version = '2026.1'; // was quoted: stays quoted
    v.lines[0].name = 'true'; // a string that reads as a boolean: quoted
    v.lines[0].areas[0].stations[0].devices.plc.pollMs = 40;
    const r = mergePlantText(SAMPLE, v);
    assert.deepEqual(r.report, { changed: 4, unaliased: [], reformatted: false });
    assert.equal(differing(SAMPLE, r.text).length, 4, 'four lines, one per value');
    assert.match(r.text, /\n {2}name: "Body shop: hall 2"\n/);
    assert.match(r.text, /\n {2}version: "2026\.1"\n/);
    assert.match(r.text, /\n {4}name: "true"\n/);
    assert.match(r.text, /\n {16}pollMs: 40\n/);
    assert.deepEqual(comments(r.text), comments(SAMPLE));
    assert.deepEqual(valueOf(r.text), v);
  });

  it('an edit under an anchor used elsewhere: the anchor keeps the new value, its other uses become copies of the old, and the report names them', function () {
    // as the wizard sends it: JSON, so each use of the anchor is a value of its own
    const v = JSON.parse(JSON.stringify(valueOf(SAMPLE)));
    const first = v.lines[0].areas[0].stations[0].devices.plc.tags;
    const before = JSON.stringify(first);
    first.trigger = { address: 'Trigger2', type: 'BOOL' };
    const r = mergePlantText(SAMPLE, v);
    assert.equal(r.report.reformatted, true);
    assert.ok(r.report.unaliased.length >= 1, JSON.stringify(r.report));
    for (const p of r.report.unaliased) assert.match(p, /devices\.plc\.tags$/);
    const back = valueOf(r.text);
    assert.deepEqual(back, v);
    assert.notEqual(JSON.stringify(back.lines[0].areas[0].stations[0].devices.plc.tags), before);
    assert.deepEqual(comments(r.text), comments(SAMPLE));
  });

  it('added and removed keys and items: comments and the order of what was there kept, new keys after, reported as reformatted', function () {
    const v = valueOf(SAMPLE);
    const area = v.lines[0].areas[0];
    const copy = JSON.parse(JSON.stringify(area.stations[0]));
    copy.id = 'L1-UB-099';
    copy.name = 'Added in the wizard';
    area.stations.push(copy);
    delete v.plant.site;
    v.plant.note = 'new key';
    const r = mergePlantText(SAMPLE, v);
    assert.equal(r.report.reformatted, true);
    assert.ok(r.report.changed >= 3);
    assert.deepEqual(valueOf(r.text), v);
    assert.deepEqual(comments(r.text), comments(SAMPLE));
    // the plant block: id, name, version as they were, then the new key
    assert.match(r.text, /^plant:\n {2}id: SF-DEMO\n {2}name: Demo body shop\n {2}version: "2025\.11\.1"\n {2}note: new key\n/m);
  });

  it('a new file from an empty text, and a text that does not parse is a CONFIG error', function () {
    const v = valueOf(SAMPLE);
    const r = mergePlantText('', v);
    assert.deepEqual(valueOf(r.text), v);
    assert.throws(() => mergePlantText('plant: [\n', v), (e) => e.code === 'CONFIG' && /does not parse/.test(e.message));
  });

  it('property: any set of value edits on the sample reads back as the value given, and changes no comment', function () {
    this.timeout(60000);
    const base = valueOf(SAMPLE);
    // the scalar paths of the sample
    const paths = [];
    const walk = (o, p) => {
      if (o !== null && typeof o === 'object') for (const [k, x] of Object.entries(o)) walk(x, [...p, Array.isArray(o) ? Number(k) : k]);
      else paths.push(p);
    };
    walk(base, []);
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('true', 'null', '12', 'a: b', '# x', '[x]', "it's", 'two words', 'Ünïcode', ''),
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 }),
      fc.boolean(),
      fc.constant(null),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(paths.length - 1), scalar), { minLength: 1, maxLength: 6 }), (edits) => {
        const v = JSON.parse(JSON.stringify(base));
        for (const [i, x] of edits) {
          const p = paths[i];
          let o = v;
          for (const k of p.slice(0, -1)) o = o[k];
          o[p[p.length - 1]] = x;
        }
        const r = mergePlantText(SAMPLE, v);
        assert.deepEqual(valueOf(r.text), v);
        assert.deepEqual(comments(r.text), comments(SAMPLE));
        if (!r.report.reformatted) assert.ok(differing(SAMPLE, r.text).length <= edits.length);
      }),
      { numRuns: 150, seed: Number(process.env.FUZZ_SEED) || 20261207 },
    );
  });
});
