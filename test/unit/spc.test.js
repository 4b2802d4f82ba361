'use strict';
// SPC library against reference values computed independently: the control-chart constants integrated again
// from the normal distribution, Montgomery's piston-ring X̄-R example (published limits and capability), each run
// rule's hits on constructed sequences, alarm hysteresis, cap change, re-baseline and the SQLite round trip.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { constants, c4 } = require('../../dist/nodes/lib/spc/constants.js');
const { feedRules, newRuleState, ALL_RULES, parseRuleSwitches } = require('../../dist/nodes/lib/spc/rules.js');
const { Series } = require('../../dist/nodes/lib/spc/chart.js');
const { SpcEngine, parseConfig } = require('../../dist/nodes/lib/spc/engine.js');
const { SpcStore } = require('../../dist/nodes/lib/spc/store.js');

const near = (got, want, tol, what) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got} is not within ${tol} of ${want}`);

// ---------------------------------------------------------------- the normal distribution, for the constants
const phi = (x) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
// Φ by integrating φ on a fine grid once (no erf in JS): table on [-10, 10]
const STEP = 0.002;
const PHI = (() => {
  const n = Math.round(20 / STEP);
  const t = new Float64Array(n + 1);
  let acc = 0;
  for (let i = 1; i <= n; i++) {
    const a = -10 + (i - 1) * STEP;
    acc += (STEP / 6) * (phi(a) + 4 * phi(a + STEP / 2) + phi(a + STEP));
    t[i] = acc;
  }
  return t;
})();
const Phi = (i) => PHI[i]; // Φ at grid point -10 + i·STEP

/** E[R] and E[R²] of n standard normals: E[R] = ∫ 1 − Φⁿ − (1−Φ)ⁿ dx; E[R²] = 2∫∫_{x<y} 1 − Φ(y)ⁿ − (1−Φ(x))ⁿ + (Φ(y)−Φ(x))ⁿ dx dy */
function rangeMoments(n) {
  const H = 0.02;
  const k = Math.round(H / STEP);
  const lo = Math.round(4 / STEP); // from -6 to 6
  const hi = Math.round(16 / STEP);
  let m1 = 0;
  for (let i = lo; i <= hi; i += k) m1 += (1 - Phi(i) ** n - (1 - Phi(i)) ** n) * H;
  let m2 = 0;
  for (let j = lo; j <= hi; j += k) {
    const fy = Phi(j) ** n;
    for (let i = lo; i < j; i += k) m2 += (1 - fy - (1 - Phi(i)) ** n + (Phi(j) - Phi(i)) ** n) * H * H;
    // the diagonal cell counts half
    m2 += 0.5 * (1 - fy - (1 - Phi(j)) ** n) * H * H;
  }
  return { d2: m1, d3: Math.sqrt(2 * m2 - m1 * m1) };
}

describe('spc: control-chart constants', function () {
  this.timeout(60000);
  it('d2 and d3 match the range of n normals integrated numerically, n = 2…25', function () {
    for (let n = 2; n <= 25; n++) {
      const k = constants(n);
      const m = rangeMoments(n);
      near(k.d2, m.d2, 0.002, `d2(${n})`);
      near(k.d3, m.d3, 0.004, `d3(${n})`);
    }
  });

  it('c4 is exact: √(2/(n−1))·Γ(n/2)/Γ((n−1)/2) (closed forms for n = 2, 3, 4)', function () {
    near(c4(2), Math.sqrt(2 / Math.PI), 1e-12, 'c4(2)');
    near(c4(3), Math.sqrt(Math.PI) / 2, 1e-12, 'c4(3)');
    near(c4(4), 2 * Math.sqrt(2 / (3 * Math.PI)), 1e-12, 'c4(4)');
  });

  it('the chart factors agree with the printed tables (3 decimals)', function () {
    // n: [A2, D3, D4, A3, B3, B4, c4] as printed in control-chart tables (ASTM E2587, Montgomery App. VI)
    const printed = {
      2: [1.88, 0, 3.267, 2.659, 0, 3.267, 0.7979],
      5: [0.577, 0, 2.114, 1.427, 0, 2.089, 0.94],
      7: [0.419, 0.076, 1.924, 1.182, 0.118, 1.882, 0.9594],
      10: [0.308, 0.223, 1.777, 0.975, 0.284, 1.716, 0.9727],
      25: [0.153, 0.459, 1.541, 0.606, 0.565, 1.435, 0.9896],
    };
    for (const [n, [A2, D3, D4, A3, B3, B4, C4]] of Object.entries(printed)) {
      const k = constants(Number(n));
      near(k.A2, A2, 0.0015, `A2(${n})`);
      near(k.D3, D3, 0.0015, `D3(${n})`);
      near(k.D4, D4, 0.0015, `D4(${n})`);
      near(k.A3, A3, 0.0015, `A3(${n})`);
      near(k.B3, B3, 0.0015, `B3(${n})`);
      near(k.B4, B4, 0.0015, `B4(${n})`);
      near(k.c4, C4, 0.00006, `c4(${n})`);
    }
  });

  it('refuses a subgroup size outside 2…25', function () {
    for (const n of [1, 26, 2.5, NaN]) assert.throws(() => constants(n), /subgroup size must be an integer in 2…25/);
  });
});

// Montgomery, Introduction to Statistical Quality Control, piston-ring inside diameters (mm), 25 trial
// subgroups of 5 and 15 more from the running process (the qcc `pistonrings` data). Published: X̄̄ = 74.00118,
// R̄ = 0.02276, X̄ chart 73.98805…74.0143, R chart 0…0.04812; with LSL 73.95, USL 74.05: Cp 1.70, Cpk 1.66.
const PISTON = [
  [74.03, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001, 74.011, 74.004], [73.988, 74.024, 74.021, 74.005, 74.002],
  [74.002, 73.996, 73.993, 74.015, 74.009], [73.992, 74.007, 74.015, 73.989, 74.014], [74.009, 73.994, 73.997, 73.985, 73.993],
  [73.995, 74.006, 73.994, 74.0, 74.005], [73.985, 74.003, 73.993, 74.015, 73.988], [74.008, 73.995, 74.009, 74.005, 74.004],
  [73.998, 74.0, 73.99, 74.007, 73.995], [73.994, 73.998, 73.994, 73.995, 73.99], [74.004, 74.0, 74.007, 74.0, 73.996],
  [73.983, 74.002, 73.998, 73.997, 74.012], [74.006, 73.967, 73.994, 74.0, 73.984], [74.012, 74.014, 73.998, 73.999, 74.007],
  [74.0, 73.984, 74.005, 73.998, 73.996], [73.994, 74.012, 73.986, 74.005, 74.007], [74.006, 74.01, 74.018, 74.003, 74.0],
  [73.984, 74.002, 74.003, 74.005, 73.997], [74.0, 74.01, 74.013, 74.02, 74.003], [73.988, 74.001, 74.009, 74.005, 73.996],
  [74.004, 73.999, 73.99, 74.006, 74.009], [74.01, 73.989, 73.99, 74.009, 74.014], [74.015, 74.008, 73.993, 74.0, 74.01],
  [73.982, 73.984, 73.995, 74.017, 74.013],
  // phase II
  [74.012, 74.015, 74.03, 73.986, 74.0], [73.995, 74.01, 73.99, 74.015, 74.001], [73.987, 73.999, 73.985, 74.0, 73.99],
  [74.008, 74.01, 74.003, 73.991, 74.006], [74.003, 74.0, 74.001, 73.986, 73.997], [73.994, 74.003, 74.015, 74.02, 74.004],
  [74.008, 74.002, 74.018, 73.995, 74.005], [74.001, 74.004, 73.99, 73.996, 73.998], [74.015, 74.0, 74.016, 74.025, 74.0],
  [74.03, 74.005, 74.0, 74.016, 74.012], [74.001, 73.99, 73.995, 74.01, 74.024], [74.015, 74.02, 74.024, 74.005, 74.019],
  [74.035, 74.01, 74.012, 74.015, 74.026], [74.017, 74.013, 74.036, 74.025, 74.026], [74.01, 74.005, 74.029, 74.0, 74.02],
];

function seriesOpts(over = {}) {
  return { n: 5, chart: 'xbar-r', baselineSubgroups: 25, capabilityWindow: 25, rules: ALL_RULES, ruleParams: { sameSideRun: 9 }, ...over };
}

describe('spc: X̄-R and X̄-S charts (Montgomery piston rings)', function () {
  it('X̄-R: the 25 trial subgroups give the published limits, frozen after the baseline', function () {
    const s = new Series(seriesOpts());
    let frozen = null;
    PISTON.slice(0, 25).forEach((sg, i) => sg.forEach((x, j) => {
      const c = s.add(x, `2026-01-01T00:${String(i).padStart(2, '0')}:0${j}Z`);
      if (c && c.frozen) frozen = { at: i, limits: c.frozen };
    }));
    assert.equal(frozen.at, 24, 'frozen by the 25th subgroup');
    const L = frozen.limits;
    near(L.centre, 74.00118, 0.000005, 'X̄̄');
    near(L.dispCentre, 0.02276, 0.000005, 'R̄');
    near(L.ucl, 74.0143, 0.00005, 'UCL X̄');
    near(L.lcl, 73.98805, 0.00005, 'LCL X̄');
    near(L.dispUcl, 0.04812, 0.00005, 'UCL R');
    assert.equal(L.dispLcl, 0);
    assert.equal(L.from, '2026-01-01T00:00:00Z');
    // the limits stay frozen while the process runs on
    PISTON.slice(25).forEach((sg) => sg.forEach((x) => s.add(x, '2026-01-02T00:00:00Z')));
    assert.equal(s.state.limits.centre, L.centre);
  });

  it('Cp 1.70 and Cpk 1.66 against LSL 73.95 / USL 74.05, σ̂ = R̄/d2; one-sided: Cpk is Cpl, Cp empty', function () {
    const s = new Series(seriesOpts());
    PISTON.slice(0, 25).forEach((sg) => sg.forEach((x) => s.add(x, 't')));
    const cap = s.capability(73.95, 74.05);
    // σ̂ = 0.02276/2.326 = 0.009785; Cp = 0.1/(6σ̂) = 1.703; Cpu = (74.05 − 74.00118)/(3σ̂) = 1.663
    near(cap.sigma, 0.02276 / 2.326, 0.00001, 'σ̂');
    near(cap.cp, 1.70, 0.005, 'Cp');
    near(cap.cpk, 1.66, 0.005, 'Cpk');
    const low = s.capability(73.95, null);
    assert.equal(low.cp, null);
    near(low.cpk, (74.00118 - 73.95) / (3 * cap.sigma), 0.001, 'Cpl');
  });

  it('phase II: the shift of the last subgroups is one rule-1 point at subgroup 37 (X̄ 74.0166 > 74.0143)', function () {
    const s = new Series(seriesOpts({ rules: parseRuleSwitches([1], 'rules') }));
    const rule1 = [];
    PISTON.forEach((sg, i) => sg.forEach((x) => {
      const c = s.add(x, 't');
      if (c && c.hits.some((h) => h.rule === 1)) rule1.push(i + 1);
    }));
    // means of 37…40: 74.0166, 74.0196, 74.0234, 74.0128: three beyond the UCL
    assert.deepEqual(rule1, [37, 38, 39]);
  });

  it('X̄-S: S̄ and the limits X̄̄ ± A3·S̄, B3·S̄…B4·S̄ from the sample standard deviations', function () {
    const s = new Series(seriesOpts({ chart: 'xbar-s' }));
    PISTON.slice(0, 25).forEach((sg) => sg.forEach((x) => s.add(x, 't')));
    // computed here independently: s of each subgroup with n − 1
    const sd = PISTON.slice(0, 25).map((sg) => {
      const m = sg.reduce((a, b) => a + b) / 5;
      return Math.sqrt(sg.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
    });
    const sBar = sd.reduce((a, b) => a + b) / 25;
    near(sBar, 0.00924, 0.000005, 'S̄ of these data');
    const L = s.state.limits;
    near(L.dispCentre, sBar, 1e-12, 'S̄');
    near(L.ucl, 74.00118 + 1.427 * sBar, 0.00002, 'UCL X̄');
    near(L.lcl, 74.00118 - 1.427 * sBar, 0.00002, 'LCL X̄');
    near(L.dispUcl, 2.089 * sBar, 0.00002, 'UCL S');
    near(L.sigma, sBar / 0.94, 0.00001, 'σ̂ = S̄/c4');
  });
});

/** feed a sequence of standardised points (centre 0, σ 1); returns [point number, rule] of every hit */
function hitsOf(seq, on = ALL_RULES, sameSideRun = 9) {
  const st = newRuleState();
  const hits = [];
  const out = [];
  seq.forEach((x, i) => {
    feedRules(st, x, 0, 1, on, { sameSideRun }, hits);
    for (const h of hits) out.push([i + 1, h.rule]);
  });
  return out;
}

describe('spc: run rules on constructed sequences', function () {
  it('rule 1: one point beyond 3σ', function () {
    assert.deepEqual(hitsOf([0.5, 3.5, -0.2, -3.01]), [[2, 1], [4, 1]]);
  });
  it('rule 2: 9 in a row on one side (8 are not enough; Western Electric 8 when asked)', function () {
    const nine = [0.5, 0.3, 0.6, 0.2, 0.4, 0.7, 0.1, 0.5, 0.3];
    assert.deepEqual(hitsOf(nine), [[9, 2]]);
    assert.deepEqual(hitsOf(nine.slice(0, 8)), []);
    assert.deepEqual(hitsOf(nine.slice(0, 8), ALL_RULES, 8), [[8, 2]]);
    // a point on the centre line breaks the run
    assert.deepEqual(hitsOf([0.5, 0.3, 0.6, 0.2, 0, 0.4, 0.7, 0.1, 0.5, 0.3]), []);
  });
  it('rule 3: 6 in a row steadily rising or falling; a tie breaks it', function () {
    assert.deepEqual(hitsOf([-0.5, -0.3, -0.1, 0.1, 0.3, 0.5]), [[6, 3]]);
    assert.deepEqual(hitsOf([0.5, 0.3, 0.1, -0.1, -0.3, -0.5, -0.6]), [[6, 3], [7, 3]]);
    assert.deepEqual(hitsOf([-0.5, -0.3, -0.1, -0.1, 0.1, 0.3]), []);
  });
  it('rule 4: 14 in a row alternating up and down', function () {
    const alt = Array.from({ length: 14 }, (_, i) => (i % 2 ? -0.5 : 0.5));
    assert.deepEqual(hitsOf(alt), [[14, 4]]);
    assert.deepEqual(hitsOf(alt.slice(0, 13)), []);
  });
  it('rule 5: 2 of 3 beyond 2σ on the same side', function () {
    assert.deepEqual(hitsOf([2.5, 0, 2.5]), [[3, 5]]);
    assert.deepEqual(hitsOf([2.5, -2.5, 0.2]), []);
    assert.deepEqual(hitsOf([-2.2, -2.1]), [[2, 5]]);
  });
  it('rule 6: 4 of 5 beyond 1σ on the same side', function () {
    assert.deepEqual(hitsOf([1.5, 1.5, 0, 1.5, 1.5]), [[5, 6]]);
    assert.deepEqual(hitsOf([1.5, 1.5, 0, 1.5, -1.5]), []);
  });
  it('rule 7: 15 in a row within 1σ', function () {
    // sides ++−−++…, steps never alternate long, never 6 in one direction
    const seq = Array.from({ length: 15 }, (_, i) => [0.1, 0.2, -0.1, -0.2][i % 4]);
    assert.deepEqual(hitsOf(seq), [[15, 7]]);
    assert.deepEqual(hitsOf(seq.slice(0, 14)), []);
  });
  it('rule 8: 8 in a row beyond 1σ on either side', function () {
    const seq = Array.from({ length: 8 }, (_, i) => (i % 2 ? -1.5 : 1.5));
    assert.deepEqual(hitsOf(seq), [[8, 8]]);
    assert.deepEqual(hitsOf(seq.slice(0, 7)), []);
  });
  it('each rule can be switched off; the switches parse from a list or an object', function () {
    assert.deepEqual(hitsOf([0.5, 3.5], parseRuleSwitches([2, 3], 'rules')), []);
    assert.deepEqual(hitsOf([2.5, 0, 2.5], parseRuleSwitches({ 5: false }, 'rules')), []);
    assert.deepEqual(hitsOf([2.5, 0, 3.5], parseRuleSwitches({ 5: false }, 'rules')), [[3, 1]]);
    assert.throws(() => parseRuleSwitches([9], 'rules'), /rule 9 is not one of 1…8/);
    assert.throws(() => parseRuleSwitches({ 1: 'yes' }, 'rules'), /rules.1 must be true or false/);
  });
});

// ---------------------------------------------------------------- the engine on InspectionResults
let seq = 0;
function result(spots, station = 'ST1') {
  seq += 1;
  const t = new Date(Date.UTC(2026, 0, 1, 6, 0, seq)).toISOString();
  return {
    station: { line: 'L1', area: 'A', station, camera: 'c' },
    timestamps: { result: t },
    spots: Object.entries(spots).map(([spotId, d]) => ({ spotId, verdict: 'OK', label: 'ok', score: 0.9, values: { diameter: { value: d, unit: 'mm', min: 4 } } })),
  };
}

/** a small in-control pattern around 6 mm: subgroup means exactly 6, range 0.2 */
const IN_CONTROL = [5.9, 6.1, 6.0, 6.0];

function run(engine, values, spot = 's1') {
  const events = [];
  for (const v of values) {
    const o = engine.update(result({ [spot]: v }));
    events.push(...o.alarms);
  }
  return events;
}

describe('spc: engine (alarms, hysteresis, cap change, re-baseline)', function () {
  const cfg = (over = {}) => parseConfig({ subgroupSize: 4, baselineSubgroups: 5, clearAfter: 2, characteristics: ['diameter'], ...over });

  it('a drift raises one alarm per rule, not one per subgroup, and clears after clearAfter quiet subgroups', function () {
    const e = new SpcEngine(cfg({ rules: [1] }));
    assert.deepEqual(run(e, Array(5).fill(IN_CONTROL).flat()), []);
    const L = e.record('L1/ST1/s1/diameter').state.limits;
    // X̄̄ = 6, R̄ = 0.2, A2(4) = 0.729: UCL 6.1458, LCL 5.8542; D4 = 2.282: UCL R 0.4564
    near(L.ucl, 6 + 0.729 * 0.2, 0.0002, 'UCL');
    // three subgroups far low: one alarm
    const low = [5.5, 5.6, 5.5, 5.6];
    const raised = run(e, [...low, ...low, ...low]);
    assert.deepEqual(raised.map((a) => [a.event, a.rule, a.chart, a.spot]), [['raised', 1, 'xbar', 's1']]);
    near(raised[0].values[0], 5.55, 1e-9, 'the point');
    assert.equal(raised[0].limits.centre, 6);
    // since: the first part of the subgroup that breached
    assert.equal(raised[0].since, new Date(e.record('L1/ST1/s1/diameter').state.history[5][2]).toISOString());
    // back in control: one quiet subgroup does not clear it, the second does
    assert.deepEqual(run(e, IN_CONTROL), []);
    const cleared = run(e, IN_CONTROL);
    assert.deepEqual(cleared.map((a) => [a.event, a.id, a.reason]), [['cleared', raised[0].id, 'quiet']]);
    // a new breach is a new alarm
    const again = run(e, low);
    assert.equal(again.length, 1);
    assert.notEqual(again[0].id, raised[0].id);
  });

  it('rule 1 on the R chart: a subgroup with a wide range', function () {
    const e = new SpcEngine(cfg({ rules: [1] }));
    run(e, Array(5).fill(IN_CONTROL).flat());
    const a = run(e, [5.7, 6.3, 6.0, 6.0]);
    assert.deepEqual(a.map((x) => [x.chart, x.rule]), [['r', 1]]);
    near(a[0].values[0], 0.6, 1e-9, 'range');
  });

  it('a run-rule alarm stays one alarm while its pattern keeps forming, and clears only after more quiet subgroups than the pattern is long', function () {
    // limits from subgroups of mean 6 and range 2: σ of the means = A2(4)·2/3 = 0.486
    const e = new SpcEngine(cfg({ rules: [7] }));
    assert.deepEqual(run(e, Array(5).fill([5, 7, 6, 6]).flat()), []);
    const OUT_HIGH = [6.5, 6.7, 6.6, 6.6]; // mean 6.6: 1.23σ
    const OUT_LOW = [5.5, 5.3, 5.4, 5.4]; // mean 5.4
    // stratified: 15 means at the centre (rule 7 fires on the 15th), one beyond 1σ that breaks the run, four times
    const cycle = [...Array(15).fill(IN_CONTROL).flat(), ...OUT_HIGH];
    const events = run(e, [cycle, cycle, cycle, cycle].flat());
    // with clearAfter alone (2) it was raised and cleared again every cycle: 4 raised, 3 cleared
    assert.deepEqual(events.map((a) => [a.event, a.rule]), [['raised', 7]], 'one alarm for one lasting stratification');
    assert.equal(e.quietNeeded('xbar:7'), 16);
    assert.equal(e.quietNeeded('xbar:2'), 10, 'rule 2: sameSideRun 9, plus the point that broke the run');
    assert.equal(e.quietNeeded('xbar:1'), 2, 'rule 1 (one point): clearAfter');
    assert.equal(e.quietNeeded('r:1'), 2);
    // the pattern gone (means alternate beyond 1σ): the last OUT_HIGH was quiet subgroup 1; 14 more do not clear it
    const gone = Array.from({ length: 15 }, (_, i) => (i % 2 ? OUT_HIGH : OUT_LOW));
    assert.deepEqual(run(e, gone.slice(0, 14).flat()), []);
    const cleared = run(e, gone[14]);
    assert.deepEqual(cleared.map((a) => [a.event, a.id, a.reason]), [['cleared', events[0].id, 'quiet']]);
  });

  it('a cap change drops the subgroup in progress and the run history, clears alarms, keeps the limits (or re-baselines)', function () {
    const e = new SpcEngine(cfg({ rules: [2], guns: { G1: ['s1'] } }));
    run(e, Array(5).fill(IN_CONTROL).flat());
    const key = 'L1/ST1/s1/diameter';
    const limits = e.record(key).state.limits;
    // 8 subgroups slightly high: not yet 9 in a row
    run(e, Array(8).fill([6.05, 6.05, 6.05, 6.05]).flat());
    assert.equal(e.record(key).state.rules.side, 8);
    run(e, [6.05, 6.05]);
    assert.deepEqual(e.record(key).state.pending, [6.05, 6.05]);
    const cleared = e.capChange(e.spotsOf({ gun: 'G1' }), false);
    assert.deepEqual(cleared, []);
    assert.deepEqual(e.record(key).state.pending, []);
    assert.equal(e.record(key).state.rules.side, 0);
    assert.equal(e.record(key).state.limits, limits);
    // without the reset the 9th would have fired; now it takes 9 new ones
    assert.deepEqual(run(e, Array(8).fill([6.05, 6.05, 6.05, 6.05]).flat()), []);
    const raised = run(e, [6.05, 6.05, 6.05, 6.05]);
    assert.deepEqual(raised.map((a) => a.rule), [2]);
    assert.equal(raised[0].values.length, 9);
    // a cap change clears it, and with rebaseline the next 5 subgroups make new limits
    const c2 = e.capChange(['s1'], true);
    assert.deepEqual(c2.map((a) => [a.event, a.id, a.reason]), [['cleared', raised[0].id, 'cap-change']]);
    const frozen = [];
    for (let i = 0; i < 5; i++) frozen.push(...e.update(result({ s1: 6.5 + (i % 2) * 0.1 })).baselines);
    assert.deepEqual(frozen, []);
    for (let i = 5; i < 20; i++) frozen.push(...e.update(result({ s1: 6.5 + (i % 2) * 0.1 })).baselines);
    assert.equal(frozen.length, 1);
    assert.equal(frozen[0].limits.reason, 'cap-change');
    near(frozen[0].limits.centre, 6.55, 1e-9, 'new centre');
    assert.throws(() => e.spotsOf({ gun: 'G9' }), /gun "G9" is not in the node's guns/);
  });

  it('re-baseline on demand: the old limits stay until the new ones freeze, with the reason', function () {
    const e = new SpcEngine(cfg({ rules: [] }));
    run(e, Array(5).fill(IN_CONTROL).flat());
    assert.equal(e.rebaseline(['s1'], 'diameter', 'rebaseline: new tip dresser'), 1);
    const before = e.record('L1/ST1/s1/diameter').state.limits;
    const got = [];
    for (const v of Array(5).fill([6.9, 7.1, 7.0, 7.0]).flat()) {
      got.push(...e.update(result({ s1: v })).baselines);
      if (!got.length) assert.equal(e.record('L1/ST1/s1/diameter').state.limits, before);
    }
    assert.equal(got.length, 1);
    assert.equal(got[0].limits.reason, 'rebaseline: new tip dresser');
    near(got[0].limits.centre, 7, 1e-9, 'centre');
  });

  it('a restored state (JSON round trip) continues exactly like an uninterrupted run', function () {
    const vals = Array.from({ length: 200 }, (_, i) => 6 + 0.1 * Math.sin(i * 1.7) - (i > 120 ? (i - 120) * 0.004 : 0));
    seq = 0;
    const a = new SpcEngine(cfg());
    const evA = run(a, vals);
    seq = 0;
    const b1 = new SpcEngine(cfg());
    const evB = run(b1, vals.slice(0, 97));
    const stored = JSON.parse(JSON.stringify([...b1.records()]));
    const b2 = new SpcEngine(cfg(), stored);
    evB.push(...run(b2, vals.slice(97)));
    const strip = (ev) => ev.map((x) => ({ ...x, id: undefined }));
    assert.ok(evA.length > 0, 'the drift raised alarms');
    assert.deepEqual(strip(evB), strip(evA));
    const state = (e) => {
      const st = JSON.parse(JSON.stringify(e.record('L1/ST1/s1/diameter').state));
      delete st.limits.frozenAt; // wall-clock time of the freeze
      return st;
    };
    assert.deepEqual(state(b2), state(a));
  });

  it('capability from the results: LSL is the rules minimum unless spec limits are given; summary worst first', function () {
    const e = new SpcEngine(cfg({ spec: { spots: { s2: { diameter: { lsl: 5.5, usl: 6.5 } } } } }));
    for (const v of Array(5).fill(IN_CONTROL).flat()) e.update(result({ s1: v, s2: v }));
    const sigma = 0.2 / 2.0588;
    const s1 = e.capability('L1/ST1/s1/diameter');
    assert.equal(s1.cp, null);
    near(s1.cpk, (6 - 4) / (3 * sigma), 1e-3, 'Cpl of s1 against min 4');
    const s2 = e.capability('L1/ST1/s2/diameter');
    near(s2.cp, 1 / (6 * sigma), 1e-3, 'Cp s2');
    near(s2.cpk, 0.5 / (3 * sigma), 1e-3, 'Cpk s2');
    assert.deepEqual(e.summary().map((r) => r.spot), ['s2', 's1']);
  });

  it('bad configuration is refused naming the field', function () {
    assert.throws(() => parseConfig({ subgroupSize: 30 }), /subgroupSize must be an integer in 2…25/);
    assert.throws(() => parseConfig({ chart: 'p' }), /chart must be "xbar-r" or "xbar-s"/);
    assert.throws(() => parseConfig({ spec: { diameter: { lsl: 7, usl: 6 } } }), /spec.diameter: lsl must be below usl/);
    assert.throws(() => parseConfig({ guns: { G1: 's1' } }), /guns must be an object of gun id/);
    assert.throws(() => new SpcEngine(parseConfig({})).update({ spots: 'x' }), /no spots array/);
  });
});

describe('spc: false-alarm rate of an in-control normal process (simulated, fixed seed)', function () {
  this.timeout(60000);
  it('rule 1: one X̄ point in ~370 beyond 3σ, one R point in ~217 above D4·R̄ (n = 5, limits from 100 subgroups)', function () {
    let s = 7;
    const u = () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return (s + 0.5) / 4294967296;
    };
    const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    const e = new SpcEngine(parseConfig({ subgroupSize: 5, baselineSubgroups: 100, rules: [1], clearAfter: 1, characteristics: ['diameter'] }));
    const by = { xbar: 0, r: 0 };
    const parts = 40000;
    for (let i = 0; i < parts; i++) {
      const o = e.update({ station: { line: 'L', station: 'S' }, timestamps: { result: new Date(1e12 + i * 1000).toISOString() }, spots: Array.from({ length: 10 }, (_, k) => ({ spotId: `S${k}`, verdict: 'OK', values: { diameter: { value: 6 + 0.2 * gauss() } } })) });
      for (const a of o.alarms) if (a.event === 'raised') by[a.chart] += 1;
    }
    const points = 10 * (parts / 5 - 100);
    // P(|Z| > 3) = 0.0027 → 370; P(R/σ > D4·d2 = 4.918) for n = 5 ≈ 0.0046 → 217 (estimated limits widen the spread)
    const arlX = points / by.xbar;
    const arlR = points / by.r;
    assert.ok(arlX > 280 && arlX < 480, `X̄ ARL ${arlX.toFixed(0)}`);
    assert.ok(arlR > 150 && arlR < 300, `R ARL ${arlR.toFixed(0)}`);
  });
});

describe('spc: SQLite store', function () {
  let dir;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-spc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('series, alarms and baselines survive closing the file; acknowledging marks who and when; scopes are apart', function () {
    const file = path.join(dir, 'spc.db');
    const e = new SpcEngine(parseConfig({ subgroupSize: 4, baselineSubgroups: 5, rules: [1], characteristics: ['diameter'] }));
    const store = new SpcStore(file, 'node-a');
    const ev = [];
    const bl = [];
    for (const v of [...Array(5).fill(IN_CONTROL).flat(), 5.5, 5.6, 5.5, 5.6]) {
      const o = e.update(result({ s1: v }));
      ev.push(...o.alarms);
      bl.push(...o.baselines);
    }
    store.save(e.records(), ev, bl);
    store.close();
    const again = new SpcStore(file, 'node-a');
    const recs = again.load();
    assert.equal(recs.length, 1);
    assert.deepEqual(recs[0], JSON.parse(JSON.stringify(e.record('L1/ST1/s1/diameter'))));
    assert.equal(again.baselines().length, 1);
    assert.equal(again.baselines()[0].reason, 'initial');
    const open = again.alarms({ open: true });
    assert.equal(open.length, 1);
    assert.equal(open[0].rule, 1);
    const acked = again.ack([open[0].id], 'quality engineer');
    assert.equal(acked[0].ackedBy, 'quality engineer');
    assert.deepEqual(again.alarms({ open: true }), []);
    assert.deepEqual(again.ack([open[0].id], 'x'), [], 'acknowledged once');
    assert.deepEqual(new SpcStore(file, 'node-b').load(), [], 'another node sees none of it');
    again.close();
  });

  it('keeps the chart points as bytes, bit-exact, and reads a file written before that column (points in the JSON)', function () {
    const Database = require('better-sqlite3');
    const file = path.join(dir, 'spc.db');
    const e = new SpcEngine(parseConfig({ subgroupSize: 4, baselineSubgroups: 5, rules: [1], characteristics: ['diameter'] }));
    for (const v of [...Array(8).fill([0.1 + 0.2, 6.000000000000001, 5.9, 6.1]).flat()]) e.update(result({ s1: v }));
    const rec = e.record('L1/ST1/s1/diameter');
    assert.equal(rec.state.history.length, 8);
    // an older release: no history column, the points inside the record's JSON
    const old = new Database(file);
    old.exec('CREATE TABLE spc_series (scope TEXT NOT NULL, key TEXT NOT NULL, record TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (scope, key))');
    old.prepare('INSERT INTO spc_series VALUES (?, ?, ?, ?)').run('n1', rec.key, JSON.stringify(rec), Date.now());
    old.close();
    const store = new SpcStore(file, 'n1');
    const loaded = store.load();
    assert.deepEqual(loaded[0], JSON.parse(JSON.stringify(rec)), 'the old row, points from its JSON');
    // saved again: the JSON holds no points, the BLOB 32 bytes per point, and they come back with every bit
    store.save([rec]);
    const row = new Database(file, { readonly: true }).prepare('SELECT record, history FROM spc_series').get();
    assert.deepEqual(JSON.parse(row.record).state.history, []);
    assert.equal(row.history.length, 8 * 32);
    const back = store.load()[0].state.history;
    assert.deepStrictEqual(back, rec.state.history);
    store.close();
    assert.throws(() => require('../../dist/nodes/lib/spc/store').decodeHistory(Buffer.alloc(33)), /33 bytes is not whole points/);
  });

  it('a crash between the alarm rows and the series: loading puts them back in agreement, the alarm table wins', function () {
    const file = path.join(dir, 'spc.db');
    const cfg = parseConfig({ subgroupSize: 4, baselineSubgroups: 5, clearAfter: 2, rules: [1], characteristics: ['diameter'] });
    const low = [5.5, 5.6, 5.5, 5.6];
    // the series written after its baseline, then an alarm raised whose row was written (the events' flush) but
    // whose series was not (the crash came before the 1 s flush)
    const e = new SpcEngine(cfg);
    for (const v of Array(5).fill(IN_CONTROL).flat()) e.update(result({ s1: v }));
    const store = new SpcStore(file, 'node-a');
    store.save(e.records());
    const raised = [];
    for (const v of low) raised.push(...e.update(result({ s1: v })).alarms);
    assert.deepEqual(raised.map((a) => a.event), ['raised']);
    store.save([], raised);
    store.close();
    // after the restart the series holds the alarm again: more low subgroups raise nothing new, and two quiet
    // ones clear exactly that alarm
    let s2 = new SpcStore(file, 'node-a');
    const restored = s2.load();
    assert.deepEqual(Object.values(restored[0].active).map((a) => a.id), [raised[0].id]);
    const e2 = new SpcEngine(cfg, restored);
    assert.equal(e2.activeAlarms, 1);
    const after = [];
    for (const v of [...low, ...IN_CONTROL, ...IN_CONTROL]) after.push(...e2.update(result({ s1: v })).alarms);
    assert.deepEqual(after.map((a) => [a.event, a.id]), [['cleared', raised[0].id]]);
    // the other way: the clearing reached the table, the series (written before) still holds the alarm
    s2.save(e2.records().map((r) => JSON.parse(JSON.stringify(r))).map((r) => ({ ...r, active: { 'xbar:1': { id: raised[0].id, raisedAt: raised[0].at, quiet: 1 } } })));
    s2.save([], after);
    s2.close();
    s2 = new SpcStore(file, 'node-a');
    assert.deepEqual(s2.load()[0].active, {}, 'an alarm the table cleared is not active after the restart');
    assert.deepEqual(s2.alarms({ open: true }).filter((a) => !a.clearedAt), []);
    // two open rows for one slot (cannot happen in order; a file edited by hand): the series keeps its own, the
    // other is closed with the reason
    const stray = { ...raised[0], id: 'stray-alarm', at: new Date(Date.parse(raised[0].at) + 1000).toISOString() };
    const holder = { ...s2.load()[0], active: { 'xbar:1': { id: 'held-alarm', raisedAt: raised[0].at, quiet: 0 } } };
    s2.save([holder], [{ ...raised[0], id: 'held-alarm' }, stray]);
    assert.deepEqual(Object.values(s2.load()[0].active).map((a) => a.id), ['held-alarm']);
    const strayRow = s2.alarms().find((a) => a.id === 'stray-alarm');
    assert.equal(strayRow.clearedReason, 'superseded (found at restart)');
    s2.close();
  });
});
