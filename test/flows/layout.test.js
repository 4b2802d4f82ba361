'use strict';
// The flow files and examples laid out cleanly as the editor opens them: every node's box, computed as the editor computes it
// (width from the label, height from the outputs; test/flows/layout.js), lies at non-negative coordinates and
// overlaps no other box of its tab, so no label is hidden under a neighbour.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { nodeBox, overlaps, textWidth } = require('./layout');
const { ROOT } = require('../../scripts/userdir.cjs');

/** Every flow file and every example (what `npm start` opens and what Import › Examples offers). */
const FILES = [
  ...fs.readdirSync(path.join(ROOT, 'flows')).filter((f) => f.endsWith('.json')).map((f) => path.join('flows', f)),
  ...fs.readdirSync(path.join(ROOT, 'examples')).flatMap((d) => fs.readdirSync(path.join(ROOT, 'examples', d)).filter((f) => f.endsWith('.json')).map((f) => path.join('examples', d, f))),
];

function boxesByTab(flow) {
  const tabs = new Map();
  for (const n of flow) {
    if (n.x === undefined || n.type === 'group') continue;
    if (!tabs.has(n.z)) tabs.set(n.z, []);
    tabs.get(n.z).push(nodeBox(n));
  }
  return tabs;
}

const show = (b) => `${b.type} "${b.label}" [${b.x0}, ${b.y0}]–[${b.x1}, ${b.y1}]`;

describe('flow layout: node boxes as the editor draws them', function () {
  it('computes the editor\'s box: 100×30 at least, width in steps of 20 from the label, taller with more outputs', function () {
    assert.deepEqual(nodeBox({ id: 'a', type: 'debug', name: 'x', x: 100, y: 50, wires: [] }), { id: 'a', type: 'debug', label: 'x', x0: 50, y0: 35, x1: 150, y1: 65 });
    // "InspectionResult": 14 px Helvetica, 103.5 px + 50 + 7 (input port) → 180
    assert.ok(Math.abs(textWidth('InspectionResult') - 103.5) < 0.5);
    const enrich = nodeBox({ id: 'e', type: 'enrich', name: 'InspectionResult', x: 490, y: 200, wires: [[]] });
    assert.equal(enrich.x1 - enrich.x0, 180);
    const split = nodeBox({ id: 's', type: 'switch', name: 'a', x: 100, y: 100, outputs: 4, wires: [[], [], [], []] });
    assert.equal(split.y1 - split.y0, 60);
    const link = nodeBox({ id: 'l', type: 'link out', name: 'a long name that is not shown', x: 100, y: 100, wires: [] });
    assert.equal(link.x1 - link.x0, 30);
  });

  it('finds an overlap and lets boxes that only touch pass', function () {
    const a = nodeBox({ id: 'a', type: 'debug', name: 'x', x: 100, y: 50, wires: [] });
    assert.equal(overlaps([a, nodeBox({ id: 'b', type: 'debug', name: 'x', x: 190, y: 60, wires: [] })]).length, 1);
    assert.equal(overlaps([a, nodeBox({ id: 'b', type: 'debug', name: 'x', x: 200, y: 50, wires: [] })]).length, 0);
  });

  it('checks every flow file and every example', function () {
    assert.ok(FILES.filter((f) => f.startsWith('flows')).length >= 13 && FILES.filter((f) => f.startsWith('examples')).length >= 13, FILES.join(', '));
  });

  for (const file of FILES) {
    it(`${file}: no node at negative coordinates, no two node boxes overlap`, function () {
      const flow = JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));
      const tabs = boxesByTab(flow);
      assert.ok(tabs.size >= 1);
      for (const boxes of tabs.values()) {
        for (const b of boxes) assert.ok(b.x0 >= 0 && b.y0 >= 0, `${file}: ${show(b)} lies off the canvas`);
        assert.deepEqual(overlaps(boxes).map(([a, b]) => `${show(a)} overlaps ${show(b)}`), [], file);
      }
    });
  }
});
