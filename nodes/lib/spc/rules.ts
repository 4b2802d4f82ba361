/**
 * The Western Electric / Nelson run rules, evaluated incrementally: each new chart point costs a handful of
 * comparisons and the state is a few integers (serialisable as JSON), so a series never keeps its history for
 * the rules. Points are standardised first: z = (x − centre) / σ_x̄, σ_x̄ = (UCL − centre) / 3.
 *
 *   1  one point beyond 3σ
 *   2  9 points in a row on the same side of the centre line (Western Electric: 8; `sameSideRun`)
 *   3  6 points in a row steadily increasing or decreasing
 *   4  14 points in a row alternating up and down
 *   5  2 of 3 points in a row beyond 2σ on the same side
 *   6  4 of 5 points in a row beyond 1σ on the same side
 *   7  15 points in a row within 1σ (either side): stratification, limits too wide
 *   8  8 points in a row beyond 1σ, either side (none within 1σ): mixture
 *
 * A point exactly on the centre line belongs to neither side (it ends a run of rule 2); equal consecutive points
 * end a trend (rule 3) and an alternation (rule 4).
 */

export const RULES = [1, 2, 3, 4, 5, 6, 7, 8] as const;
export type RuleNo = (typeof RULES)[number];

export const RULE_TEXT: Readonly<Record<RuleNo, string>> = Object.freeze({
  1: 'one point beyond 3σ',
  2: 'points in a row on one side of the centre line',
  3: '6 points in a row steadily increasing or decreasing',
  4: '14 points in a row alternating up and down',
  5: '2 of 3 points beyond 2σ on one side',
  6: '4 of 5 points beyond 1σ on one side',
  7: '15 points in a row within 1σ',
  8: '8 points in a row beyond 1σ, either side',
});

export interface RuleState {
  /** points in the current run on one side: > 0 above the centre, < 0 below */
  side: number;
  /** points in the current monotone run: > 0 rising, < 0 falling (a single point: 1) */
  trend: number;
  /** points in the current up/down alternation */
  alt: number;
  /** the last step: 1 up, −1 down, 0 none/equal */
  lastStep: number;
  within1: number;
  outside1: number;
  /** zone codes of the last 5 points, newest last: 2·sign beyond 2σ, 1·sign beyond 1σ, 0 within */
  zones: number[];
  last: number | null;
  /** points seen since the last reset */
  points: number;
}

export interface Hit {
  rule: RuleNo;
  /** points that make up the pattern, the newest included (their values are the last `points` chart points) */
  points: number;
}

export function newRuleState(): RuleState {
  return { side: 0, trend: 0, alt: 0, lastStep: 0, within1: 0, outside1: 0, zones: [], last: null, points: 0 };
}

/** Which rules are on; index 1…8. */
export type RuleSwitches = Readonly<Record<RuleNo, boolean>>;

export const ALL_RULES: RuleSwitches = Object.freeze({ 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true });

export interface RuleParams {
  /** rule 2's run length (Nelson 9, Western Electric 8) */
  sameSideRun: number;
}

/**
 * Feed one chart point (x, with the frozen centre and σ of the chart) and push the rules it completes into
 * `hits` (cleared first). Returns hits.length.
 */
export function feedRules(s: RuleState, x: number, centre: number, sigma: number, on: RuleSwitches, params: RuleParams, hits: Hit[]): number {
  hits.length = 0;
  const z = sigma > 0 ? (x - centre) / sigma : x > centre ? Infinity : x < centre ? -Infinity : 0;
  const sign = z > 0 ? 1 : z < 0 ? -1 : 0;
  const az = Math.abs(z);
  // rule 2 state: the run on one side
  if (sign === 0) s.side = 0;
  else if (Math.sign(s.side) === sign) s.side += sign;
  else s.side = sign;
  // rules 3 and 4: steps
  const step = s.last === null ? 0 : x > s.last ? 1 : x < s.last ? -1 : 0;
  if (step === 0) {
    s.trend = 1;
    s.alt = 1;
  } else {
    s.trend = Math.sign(s.trend) === step && s.lastStep === step ? s.trend + step : 2 * step;
    s.alt = s.lastStep === -step ? s.alt + 1 : 2;
  }
  s.lastStep = step;
  s.last = x;
  // rules 7 and 8
  if (az < 1) {
    s.within1 += 1;
    s.outside1 = 0;
  } else {
    s.outside1 += 1;
    s.within1 = 0;
  }
  // rules 5 and 6: the last 5 zones
  const zone = az > 2 ? 2 * sign : az > 1 ? sign : 0;
  s.zones.push(zone);
  if (s.zones.length > 5) s.zones.shift();
  s.points += 1;

  if (on[1] && az > 3) hits.push({ rule: 1, points: 1 });
  if (on[2] && Math.abs(s.side) >= params.sameSideRun) hits.push({ rule: 2, points: Math.abs(s.side) });
  if (on[3] && Math.abs(s.trend) >= 6) hits.push({ rule: 3, points: Math.abs(s.trend) });
  if (on[4] && s.alt >= 14) hits.push({ rule: 4, points: s.alt });
  if (on[5] && sign !== 0 && s.zones.length >= 2) {
    // 2 of the last 3 beyond 2σ on this point's side
    const n = s.zones.length;
    let c = 0;
    let first = 0;
    for (let i = Math.max(0, n - 3); i < n; i++) {
      if (s.zones[i] === 2 * sign) {
        if (c === 0) first = i;
        c += 1;
      }
    }
    if (c >= 2) hits.push({ rule: 5, points: n - first });
  }
  if (on[6] && sign !== 0 && s.zones.length >= 4) {
    const n = s.zones.length;
    let c = 0;
    let first = 0;
    for (let i = Math.max(0, n - 5); i < n; i++) {
      const zz = s.zones[i];
      if (zz === sign || zz === 2 * sign) {
        if (c === 0) first = i;
        c += 1;
      }
    }
    if (c >= 4) hits.push({ rule: 6, points: n - first });
  }
  if (on[7] && s.within1 >= 15) hits.push({ rule: 7, points: s.within1 });
  if (on[8] && s.outside1 >= 8) hits.push({ rule: 8, points: s.outside1 });
  return hits.length;
}

/** Parse switches given as an array of rule numbers that are on, or an object {"1": true, …} (missing: on). */
export function parseRuleSwitches(v: unknown, where: string): RuleSwitches {
  if (v === undefined || v === null || v === '') return ALL_RULES;
  const out: Record<number, boolean> = {};
  if (Array.isArray(v)) {
    for (const r of RULES) out[r] = false;
    for (const x of v as unknown[]) {
      const n = typeof x === 'string' ? Number(x) : x;
      if (!RULES.includes(n as RuleNo)) throw new RangeError(`${where}: rule ${JSON.stringify(x)} is not one of 1…8`);
      out[n as number] = true;
    }
    return out as RuleSwitches;
  }
  if (typeof v === 'object') {
    for (const r of RULES) out[r] = true;
    for (const [k, b] of Object.entries(v as Record<string, unknown>)) {
      const n = Number(k);
      if (!RULES.includes(n as RuleNo)) throw new RangeError(`${where}: rule "${k}" is not one of 1…8`);
      if (typeof b !== 'boolean') throw new RangeError(`${where}.${k} must be true or false`);
      out[n] = b;
    }
    return out as RuleSwitches;
  }
  throw new RangeError(`${where} must be a list of rule numbers or an object {"1": true, …}`);
}
