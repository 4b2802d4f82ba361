'use strict';
// Electrode wear in the simulator, seen by SPC before it fails a part: the simulator shrinks one spot's nugget
// part by part (a worn cap), enrich judges every part with the real verdict rules (minimum diameter 0.8 d), and
// the SPC engine raises a drift alarm on that spot many parts before its first NOK.
const assert = require('node:assert/strict');
const { renderFrame } = require('../../dist/nodes/lib/camera/simulator.js');
const { enrich } = require('../../dist/nodes/lib/result/enrich.js');
const { parseRules } = require('../../dist/nodes/lib/result/verdict.js');
const { SpcEngine, parseConfig } = require('../../dist/nodes/lib/spc/engine.js');

const D = 32;
const SPOTS = [
  { id: 's1', x: 48, y: 64 },
  { id: 's2', x: 128, y: 64 },
  { id: 's3', x: 208, y: 64 },
];
const WEAR = { s2: { pxPerPart: 0.02, fromPart: 150 } };
const RULES = parseRules(JSON.stringify({ okLabels: ['ok'], minScore: 0.5, diameter: { unit: 'px' }, spots: { s1: { minDiameter: 0.8 * D }, s2: { minDiameter: 0.8 * D }, s3: { minDiameter: 0.8 * D } } }), 'rules');
const ID = { line: 'L1', area: 'A', station: 'ST1', camera: 'sim' };

/** one simulated part: the simulator's truth stands in for a perfect model (class and measured diameter) */
function inspect(part) {
  const f = renderFrame({ seed: `wear:${part}`, width: 256, height: 128, spots: SPOTS, expectedDiameterPx: D, classMix: { ok: 1 }, fiducials: false, wear: { part, spots: WEAR } });
  const predictions = f.truth.map((t) => ({ spotId: t.spotId, label: t.class, score: 0.97, value: t.diameterPx, unit: 'px' }));
  const t0 = Date.UTC(2026, 0, 1, 6, 0, 0) + part * 30000;
  return { frame: f, result: enrich({ part: { serial: `P${part}`, program: 1 }, predictions, model: { name: 'truth', version: '1' } }, RULES, ID, { now: () => new Date(t0) }) };
}

describe('spc: electrode wear in the simulator is an alarm before the first NOK', function () {
  this.timeout(60000);

  it('the simulator shrinks only the worn spot, from fromPart on, and calls it undersize below 0.72 d', function () {
    const a = renderFrame({ seed: 'x', width: 256, height: 128, spots: SPOTS, classMix: { ok: 1 }, fiducials: false });
    const b = renderFrame({ seed: 'x', width: 256, height: 128, spots: SPOTS, classMix: { ok: 1 }, fiducials: false, wear: { part: 400, spots: WEAR } });
    assert.equal(b.truth[0].diameterPx, a.truth[0].diameterPx);
    assert.equal(b.truth[2].diameterPx, a.truth[2].diameterPx);
    assert.ok(Math.abs(b.truth[1].diameterPx - (a.truth[1].diameterPx - 0.02 * 250)) < 1e-9);
    const before = renderFrame({ seed: 'x', width: 256, height: 128, spots: SPOTS, classMix: { ok: 1 }, fiducials: false, wear: { part: 100, spots: WEAR } });
    assert.equal(before.truth[1].diameterPx, a.truth[1].diameterPx, 'no wear before fromPart');
    const worn = renderFrame({ seed: 'x', width: 256, height: 128, spots: SPOTS, classMix: { ok: 1 }, fiducials: false, wear: { part: 1000, spots: WEAR } });
    assert.equal(worn.truth[1].class, 'undersize');
    assert.ok(!b.data.equals(a.data), 'the worn nugget is drawn smaller');
    assert.throws(() => renderFrame({ seed: 'x', width: 64, height: 64, spots: [], wear: { part: -1, spots: {} } }), /wear.part must be an integer/);
  });

  it('a drift alarm on the worn spot comes before its first NOK part', function () {
    const spc = new SpcEngine(parseConfig({ subgroupSize: 5, baselineSubgroups: 20, characteristics: ['diameter'] }));
    let firstAlarm;
    let firstNok;
    for (let part = 1; part <= 700 && firstNok === undefined; part++) {
      const { result } = inspect(part);
      const out = spc.update(result);
      const a = out.alarms.find((x) => x.event === 'raised' && x.spot === 's2');
      if (a && firstAlarm === undefined) firstAlarm = { part, alarm: a };
      if (result.spots.find((s) => s.spotId === 's2').verdict === 'NOK') firstNok = part;
    }
    assert.ok(firstNok, 'the worn spot failed in the end');
    assert.ok(firstAlarm, 'SPC raised an alarm on the worn spot');
    assert.ok(firstAlarm.part < firstNok, `alarm at part ${firstAlarm.part}, first NOK at part ${firstNok}`);
    // a low-side drift: the points of the pattern are below the centre line
    const a = firstAlarm.alarm;
    assert.equal(a.characteristic, 'diameter');
    assert.ok(a.values.every((v) => v < a.limits.centre), JSON.stringify(a));
    assert.ok(firstNok - firstAlarm.part >= 50, `lead of ${firstNok - firstAlarm.part} parts`);
  });
});
