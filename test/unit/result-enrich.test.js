'use strict';
const assert = require('node:assert/strict');
const fc = require('fast-check');
const { parseRules, judgeSpot, judgePart, minDiameter, DEFAULT_CODES } = require('../../dist/nodes/lib/result/verdict.js');
const { enrich, checkIdentity, stageFault } = require('../../dist/nodes/lib/result/enrich.js');
const { assertValid } = require('../../dist/nodes/lib/schemas.js');

const ID = checkIdentity({ line: 'L1', area: 'body', station: 'ST10', camera: '' });
const NOW = () => new Date('2026-01-02T03:04:05.678Z');
const UUID = '123e4567-e89b-42d3-a456-426614174000';

function input(over = {}) {
  return {
    part: { serial: 'WB-1', program: 7, extra: { color: 'red' } },
    plc: { station: 'ST10', readAt: '2026-01-02T03:04:05.000Z', cycle: 42, quality: { Serial: 'good', Trigger: 'good' } },
    frame: { cameraId: 'cam1', frameId: 9, width: 64, height: 48, pixelFormat: 'Mono8', timestamp: Date.parse('2026-01-02T03:04:05.200Z') },
    crops: [
      { spotId: 's1', box: { x: 1, y: 2, w: 10, h: 10, rotation: 0 }, index: 0, stackupThickness: 1.44 },
      { spotId: 's2', box: { x: 20, y: 2, w: 10, h: 10, rotation: 0 }, index: 1 },
    ],
    predictions: [
      { spotId: 's1', label: 'ok', score: 0.97, probabilities: { ok: 0.97, nok: 0.03 } },
      { spotId: 's2', label: 'ok', score: 0.91 },
    ],
    model: { name: 'spotnet', version: '1.2.0' },
    timings: { infer: 12.5, crop: 3 },
    ...over,
  };
}

describe('verdict rules', function () {
  it('fills defaults and validates rules as data, naming the wrong field', function () {
    const r = parseRules(undefined);
    assert.deepEqual(r.okLabels, ['ok']);
    assert.equal(r.minScore, 0.5);
    assert.deepEqual(r.codes, DEFAULT_CODES);
    assert.throws(() => parseRules({ minScore: 2 }), /rules\.minScore must be <= 1/);
    assert.throws(() => parseRules({ spots: { s1: { frobnicate: true } } }), /rules\.spots\.s1\.frobnicate is not allowed/);
    assert.throws(() => parseRules('{not json'), /rules is not valid JSON/);
    assert.throws(() => parseRules({ spots: { s1: { stackup: 'nope' } } }), /rules\.spots\.s1\.stackup "nope" is not in rules\.stackups/);
    assert.equal(parseRules('{"version":"r3","codes":{"ok":{"resultCode":10,"classId":5}}}').codes.ok.resultCode, 10);
  });

  it('judges classification by label and score', function () {
    const r = parseRules({ minScore: 0.6, lowConfidence: 0.9, spots: { s9: { okLabels: ['good'], minScore: 0.2 } } });
    assert.equal(judgeSpot(r, 's1', { spotId: 's1', label: 'ok', score: 0.95 }).spot.verdict, 'OK');
    const low = judgeSpot(r, 's1', { spotId: 's1', label: 'ok', score: 0.7 });
    assert.equal(low.spot.verdict, 'OK');
    assert.equal(low.lowConfidence, true);
    const weak = judgeSpot(r, 's1', { spotId: 's1', label: 'ok', score: 0.55 });
    assert.equal(weak.spot.verdict, 'NOK');
    assert.match(weak.spot.reason, /score 0\.55 < 0\.6/);
    assert.match(judgeSpot(r, 's1', { spotId: 's1', label: 'crack', score: 0.99 }).spot.reason, /label "crack"/);
    assert.equal(judgeSpot(r, 's9', { spotId: 's9', label: 'good', score: 0.3 }).spot.verdict, 'OK');
    const missing = judgeSpot(r, 's1', undefined);
    assert.equal(missing.spot.verdict, 'MISSING');
    assert.equal(judgeSpot(r, 's1', { spotId: 's1', error: 'ROI outside frame' }).spot.reason, 'ROI outside frame');
  });

  it('checks the nugget diameter against k·√t of the stackup', function () {
    const r = parseRules({
      diameter: { k: 4, head: 'diameter', pxPerMm: 10 },
      stackups: { thin: { t: 1 }, thick: { t: 2.25, k: 5 } },
      spots: { a: { stackup: 'thin' }, b: { stackup: 'thick' }, c: { minDiameter: 3 }, d: { t: 4 } },
    });
    assert.deepEqual(minDiameter(r, 'a'), { min: 4, how: '4·√1 stackup thin' });
    assert.equal(minDiameter(r, 'b').min, 7.5);
    assert.equal(minDiameter(r, 'c').min, 3);
    assert.equal(minDiameter(r, 'd').min, 8);
    assert.equal(minDiameter(r, 'x', { spotId: 'x', stackupThickness: 0.25 }).min, 2);
    assert.equal(minDiameter(r, 'x'), undefined);
    const ok = judgeSpot(r, 'a', { spotId: 'a', heads: { cls: { label: 'ok', score: 0.9 }, diameter: { value: 4.2, unit: 'mm' } } });
    assert.equal(ok.spot.verdict, 'OK');
    assert.deepEqual(ok.spot.values.diameter, { value: 4.2, unit: 'mm', min: 4 });
    const small = judgeSpot(r, 'b', { spotId: 'b', heads: { diameter: { value: 7, unit: 'mm' } } });
    assert.equal(small.spot.verdict, 'NOK');
    assert.match(small.spot.reason, /diameter 7 mm < 7\.5 \(5·√2\.25 stackup thick\)/);
    // px with a scale
    assert.equal(judgeSpot(r, 'a', { spotId: 'a', heads: { diameter: { value: 45, unit: 'px' } } }).spot.verdict, 'OK');
    const badUnit = judgeSpot(r, 'a', { spotId: 'a', heads: { diameter: { value: 5, unit: 'in' } } });
    assert.equal(badUnit.spot.verdict, 'NOK');
    assert.equal(badUnit.faults[0].code, 'UNIT');
    const noT = judgeSpot(r, 'x', { spotId: 'x', heads: { diameter: { value: 5, unit: 'mm' } } });
    assert.equal(noT.faults[0].code, 'NO_STACKUP');
    const noHead = judgeSpot(r, 'a', { spotId: 'a', heads: { cls: { label: 'ok', score: 1 } } });
    assert.equal(noHead.faults[0].code, 'NO_DIAMETER');
    const ignored = judgeSpot(parseRules({ spots: { z: { ignore: true } } }), 'z', { spotId: 'z', label: 'nok', score: 1 });
    assert.equal(ignored.spot.verdict, 'OK');
    assert.equal(judgeSpot(r, 'q', { spotId: 'q' }).faults[0].code, 'EMPTY_PREDICTION');
  });

  it('judges the part: any NOK, N missing, faults, with the configured codes', function () {
    const r = parseRules({ part: { nokWhenMissing: 2 }, codes: { nok: { resultCode: 20, classId: 2 } } });
    const spots = (vs) => vs.map((v, k) => ({ spotId: `s${k}`, verdict: v }));
    assert.deepEqual(judgePart(r, spots(['OK', 'OK']), []), { verdict: 'OK', resultCode: 1, classId: 0, summary: { total: 2, ok: 2, nok: 0, missing: 0 } });
    assert.equal(judgePart(r, spots(['OK', 'NOK']), []).resultCode, 20);
    assert.equal(judgePart(r, spots(['OK', 'MISSING']), []).verdict, 'OK');
    assert.equal(judgePart(r, spots(['MISSING', 'MISSING']), []).resultCode, 3);
    assert.equal(judgePart(r, spots(['OK']), [{ code: 'NO_SERIAL', message: 'x' }]).resultCode, 4);
    const lenient = parseRules({ part: { nokWhenAnySpotNok: false, nokOnFault: false } });
    assert.equal(judgePart(lenient, spots(['NOK']), [{ code: 'X', message: 'x' }]).verdict, 'OK');
  });
});

describe('enrich (pure)', function () {
  it('joins part, PLC, frame, predictions, model and station into a valid InspectionResult v1', function () {
    const r = enrich(input(), parseRules({ version: 'rules-7' }), ID, { now: NOW, newId: () => UUID });
    assertValid('inspection-result', r, 'result');
    assert.equal(r.resultId, UUID);
    assert.deepEqual(r.part, { serial: 'WB-1', program: 7, data: { color: 'red' } });
    assert.deepEqual(r.station, { line: 'L1', area: 'body', station: 'ST10', camera: 'cam1' });
    assert.deepEqual(r.timestamps, { trigger: '2026-01-02T03:04:05.000Z', grab: '2026-01-02T03:04:05.200Z', result: '2026-01-02T03:04:05.678Z' });
    assert.deepEqual(r.durations, { triggerToGrab: 200, grabToResult: 478, total: 678, infer: 12.5, crop: 3 });
    assert.deepEqual(r.model, { name: 'spotnet', version: '1.2.0' });
    assert.equal(r.rulesVersion, 'rules-7');
    assert.equal(r.plc.quality, 'good');
    assert.equal(r.plc.cycle, 42);
    assert.equal(r.verdict, 'OK');
    assert.equal(r.resultCode, 1);
    assert.deepEqual(r.spots[0], { spotId: 's1', box: { x: 1, y: 2, w: 10, h: 10, rotation: 0 }, label: 'ok', score: 0.97, verdict: 'OK' });
    assert.deepEqual(r.summary, { total: 2, ok: 2, nok: 0, missing: 0 });
    assert.deepEqual(r.faults, []);
    assert.match(enrich(input(), parseRules(), ID).resultId, /^[0-9a-f-]{36}$/);
  });

  it('still produces the result when inputs are missing, with each fault recorded', function () {
    const r = enrich(
      input({ part: { program: 'P1' }, model: undefined, predictions: [{ spotId: 's1', label: 'ok', score: 0.9 }, { spotId: 'ghost', label: 'ok', score: 1 }, { spotId: 's1', label: 'nok', score: 1 }] }),
      parseRules(),
      ID,
      { now: NOW },
    );
    assertValid('inspection-result', r, 'result');
    const codes = r.faults.map((f) => f.code).sort();
    assert.deepEqual(codes, ['DUPLICATE_SPOT', 'NO_MODEL', 'NO_SERIAL', 'UNKNOWN_SPOT']);
    assert.equal(r.part.serial, null);
    assert.equal(r.spots.find((s) => s.spotId === 's2').verdict, 'MISSING');
    assert.equal(r.verdict, 'NOK');
    assert.equal(r.resultCode, 3); // missing spot s2
    const bare = enrich({}, parseRules(), checkIdentity({}), { now: NOW });
    assertValid('inspection-result', bare, 'result');
    assert.deepEqual(bare.faults.map((f) => f.code).sort(), ['NO_MODEL', 'NO_PART', 'NO_PREDICTIONS', 'NO_STATION']);
    assert.equal(bare.station.station, 'unknown');
    const badPred = enrich(input({ predictions: [{ spotId: 's1', score: 7 }], crops: 'x', frame: { timestamp: 'yesterday' } }), parseRules(), ID, { now: NOW });
    assert.ok(badPred.faults.some((f) => f.code === 'PREDICTIONS' && /msg\.predictions\[0\]\.score/.test(f.message)));
    assert.ok(badPred.faults.some((f) => f.code === 'CROPS'));
    assert.ok(badPred.faults.some((f) => f.code === 'TIME'));
  });

  it('uses expectedSpots and rule spots when there are no crops', function () {
    const rules = parseRules({ expectedSpots: ['a', 'b'] });
    const r = enrich(input({ crops: undefined, predictions: [{ spotId: 'a', label: 'ok', score: 1 }] }), rules, ID, { now: NOW });
    assert.deepEqual(r.spots.map((s) => [s.spotId, s.verdict]), [['a', 'OK'], ['b', 'MISSING']]);
    const r2 = enrich(input({ crops: undefined }), parseRules({ spots: { s2: {} } }), ID, { now: NOW });
    assert.deepEqual(r2.spots.map((s) => s.spotId), ['s2']);
    const r3 = enrich(input({ crops: undefined }), parseRules(), ID, { now: NOW });
    assert.deepEqual(r3.spots.map((s) => s.spotId), ['s1', 's2']);
  });

  it('turns a failed stage (msg.error of a Catch node) into one fault naming it and the fault outcome', function () {
    const caught = (type, name, message, code) => ({ message, ...(code ? { code } : {}), source: { id: 'n1', type, name, count: 1 }, stack: 'x' });
    // grab failed: no frame, crops, predictions or model; only the part and its PLC cycle came through
    const grab = enrich(
      input({ frame: undefined, crops: undefined, predictions: undefined, model: undefined, timings: undefined, error: caught('camera-grab', 'grab', 'SpotFusionError: camera 127.0.0.1:3956 stopped answering: READREG 0xa00: no answer', 'CAMERA_LOST') }),
      parseRules(),
      ID,
      { now: NOW, newId: () => UUID },
    );
    assertValid('inspection-result', grab, 'result');
    assert.deepEqual(grab.faults, [{ code: 'CAMERA', message: 'camera-grab "grab" failed: camera 127.0.0.1:3956 stopped answering: READREG 0xa00: no answer [CAMERA_LOST]' }]);
    assert.deepEqual([grab.verdict, grab.resultCode, grab.classId], ['NOK', 4, 3]);
    assert.equal(grab.part.serial, 'WB-1');
    assert.equal(grab.timestamps.trigger, '2026-01-02T03:04:05.000Z');
    assert.deepEqual(grab.spots, []);
    // infer failed after crop: the recipe's spots are there, unjudged (MISSING), and still the fault outcome, not "missing"
    const infer = enrich(input({ predictions: undefined, model: undefined, error: caught('infer', 'judge the spots', 'Error: session failed') }), parseRules(), ID, { now: NOW });
    assertValid('inspection-result', infer, 'result');
    assert.deepEqual(infer.faults, [{ code: 'MODEL', message: 'infer "judge the spots" failed: session failed' }]);
    assert.deepEqual(infer.spots.map((s) => s.verdict), ['MISSING', 'MISSING']);
    assert.deepEqual([infer.verdict, infer.resultCode, infer.classId], ['NOK', 4, 3]);
    // whatever nokOnFault says, and with the rules' own fault codes; predictions that all say OK change nothing
    const rules = parseRules({ part: { nokOnFault: false }, codes: { fault: { resultCode: 9, classId: 7 } } });
    const crop = enrich(input({ error: caught('crop', '', 'no recipe for program 7') }), rules, ID, { now: NOW });
    assert.deepEqual([crop.verdict, crop.resultCode, crop.classId], ['NOK', 9, 7]);
    assert.deepEqual(crop.faults, [{ code: 'CROP', message: 'crop failed: no recipe for program 7' }]);
    // other faults of the part stay; another node is a STAGE fault
    const other = enrich(input({ part: { program: 1 }, error: caught('function', 'my step', 'boom') }), parseRules(), ID, { now: NOW });
    assert.deepEqual(other.faults.map((f) => f.code), ['STAGE', 'NO_SERIAL']);
    assert.equal(other.faults[0].message, 'function "my step" failed: boom');
    // without an error nothing changes
    assert.deepEqual(enrich(input({ error: null }), parseRules(), ID, { now: NOW }).faults, []);
  });

  it('stageFault: any shape of msg.error gives a bounded fault, never a throw', function () {
    assert.equal(stageFault(undefined), undefined);
    assert.deepEqual(stageFault('disk on fire'), { code: 'STAGE', message: 'a stage failed: msg.error is disk on fire' });
    assert.deepEqual(stageFault([1]), { code: 'STAGE', message: 'a stage failed: msg.error is an array' });
    assert.deepEqual(stageFault({}), { code: 'STAGE', message: 'a stage failed: no message' });
    assert.deepEqual(stageFault({ message: 'TIMEOUT: x', code: 'TIMEOUT', source: { type: 'camera-grab' } }), { code: 'CAMERA', message: 'camera-grab failed: TIMEOUT: x' });
    assert.ok(stageFault({ message: 'y'.repeat(5000), source: { type: 'infer', name: 'z'.repeat(500) } }).message.length <= 2000);
    for (const type of ['__proto__', 'constructor', 'toString']) assert.equal(stageFault({ message: 'm', source: { type } }).code, 'STAGE', type);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (message, source) => {
        const r = enrich(input({ error: { message, source } }), parseRules(), ID, { now: NOW });
        assertValid('inspection-result', r, 'result');
        assert.equal(r.resultCode, 4);
      }),
      { numRuns: 300 },
    );
  });

  it('always gives a schema-valid result, whatever the message holds (fuzzed)', function () {
    const rules = parseRules({ diameter: { k: 4 }, stackups: { a: { t: 1 } }, spots: { s1: { stackup: 'a' } } });
    fc.assert(
      fc.property(
        fc.record({
          part: fc.oneof(fc.constant(undefined), fc.anything(), fc.record({ serial: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), program: fc.oneof(fc.string(), fc.integer()) })),
          predictions: fc.oneof(fc.anything(), fc.array(fc.record({ spotId: fc.constantFrom('s1', 's2', 'x'), label: fc.constantFrom('ok', 'nok'), score: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.double({ min: 0, max: 20, noNaN: true }) }), { maxLength: 5 })),
          crops: fc.oneof(fc.constant(undefined), fc.anything()),
          model: fc.anything(),
          frame: fc.anything(),
          plc: fc.anything(),
          timings: fc.anything(),
        }),
        (m) => {
          const r = enrich(m, rules, ID, { now: NOW });
          assertValid('inspection-result', r, 'result');
        },
      ),
      { numRuns: 300 },
    );
  });
});
