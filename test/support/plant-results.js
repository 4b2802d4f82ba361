'use strict';
// Results of stations as the plant database holds them, for the spc-plant node and plant view tests: seeded values
// (every run stores the same), stored through the package's own insert path into a schema of the test's, and the
// capability computed from those values by the textbook X̄-R arithmetic (d2 = 2.326 for n = 5), not by the
// package's SPC code.
const crypto = require('node:crypto');
const { migrate, insertResults } = require('../../dist/nodes/lib/pg/client.js');

const N = 5;
const W = 4;
const D2 = 2.326;
const SPEC = { lsl: 4, usl: 8 };

/** a seeded generator, so every run stores the same values */
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Parts of one station: `count` parts, the newest `ageS` seconds old and one second apart; spot k measures around
 * centre[k] with spread[k]; verdict NOK where nok(i); spot `missing` is MISSING on part `missingAt`.
 */
function station({ line, name, count, centre, spread, nok = () => false, ageS = 60, missing, missingAt, seed }) {
  const rnd = lcg(seed);
  const now = Date.now();
  const parts = [];
  for (let i = 0; i < count; i++) {
    const spots = centre.map((c, k) => {
      const spotId = `s${k + 1}`;
      if (spotId === missing && i === missingAt) return { spotId, verdict: 'MISSING', label: null, score: null };
      const value = Math.round((c + (rnd() - 0.5) * 2 * spread[k]) * 1000) / 1000;
      return { spotId, verdict: 'OK', label: 'ok', score: 0.9, values: { diameter: { value, unit: 'mm', min: 4.5 } } };
    });
    const verdict = nok(i) ? 'NOK' : 'OK';
    parts.push({
      schema: 'spotfusion.inspection-result/1',
      resultId: crypto.randomUUID(),
      part: { serial: `${line}-${name}-${i}`, program: 1 },
      station: { line, area: 'body', station: name, camera: 'cam1' },
      timestamps: { result: new Date(now - (ageS + count - i) * 1000).toISOString() },
      model: { name: 'spotnet', version: '1' },
      verdict,
      resultCode: verdict === 'OK' ? 1 : 2,
      classId: 0,
      spots,
      summary: { total: spots.length, ok: spots.length, nok: 0, missing: 0 },
      faults: [],
    });
  }
  return parts;
}

/**
 * Cpk of each spot over the last w subgroups of N of the newest N·w parts, by the textbook (no package code); without
 * spec.usl the one-sided Cpl.
 */
function expectedCpk(parts, spec, w = W) {
  const last = parts.slice(-N * w);
  const out = {};
  for (const spotId of last[0].spots.map((s) => s.spotId)) {
    const xs = last.map((p) => p.spots.find((s) => s.spotId === spotId)).filter((s) => s.verdict !== 'MISSING').map((s) => s.values.diameter.value);
    const groups = [];
    for (let i = 0; i + N <= xs.length; i += N) groups.push(xs.slice(i, i + N));
    const g = groups.slice(-w);
    const mu = g.reduce((a, s) => a + s.reduce((x, y) => x + y, 0) / N, 0) / g.length;
    const rbar = g.reduce((a, s) => a + (Math.max(...s) - Math.min(...s)), 0) / g.length;
    const sigma = rbar / D2;
    const cpl = (mu - spec.lsl) / (3 * sigma);
    out[spotId] = spec.usl === undefined ? cpl : Math.min((spec.usl - mu) / (3 * sigma), cpl);
  }
  return out;
}

const worstOf = (cpks) => Object.entries(cpks).reduce((w, [spot, c]) => (w === null || c < w.cpk ? { spot, cpk: c } : w), null);

/** Three stations on two lines, plus five NOK parts of L1/ST20 ten hours ago (outside an 8-hour window). */
function plantData() {
  const l1st10 = station({ line: 'L1', name: 'ST10', count: 60, centre: [6, 6, 6.2, 6], spread: [0.2, 0.25, 0.6, 0.2], nok: (i) => i % 10 === 0, missing: 's4', missingAt: 52, seed: 1 });
  const l1st20 = station({ line: 'L1', name: 'ST20', count: 30, centre: [6.5, 6, 6], spread: [0.1, 0.1, 0.15], seed: 2 });
  const old = station({ line: 'L1', name: 'ST20', count: 5, centre: [6.5, 6, 6], spread: [0.1, 0.1, 0.15], nok: () => true, ageS: 36000, seed: 3 });
  const l2st10 = station({ line: 'L2', name: 'ST10', count: 40, centre: [4.7, 6], spread: [0.3, 0.2], nok: (i) => i % 10 === 3, seed: 4 });
  return { l1st10, l1st20, old, l2st10 };
}

/** Store results in `schema` of the test database as a station's result-publish does (tables created first). */
async function storeResults(schema, parts) {
  const { Pool } = require('pg');
  const pool = new Pool({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test', max: 1 });
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
    await insertResults({ pool, schema }, parts.map((p) => JSON.stringify(p)));
  } finally {
    await pool.end();
  }
}

module.exports = { N, W, D2, SPEC, station, expectedCpk, worstOf, plantData, storeResults };
