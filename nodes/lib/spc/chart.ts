/**
 * One control chart series: the X̄-R or X̄-S chart of one characteristic (a spot's nugget diameter, a spot's
 * confidence) over subgroups of `n` consecutive parts. Pure and synchronous; the state is plain JSON (snapshot()
 * / restore) so it can be stored and continue after a restart.
 *
 * Life of a series: the first `baselineSubgroups` subgroups make the baseline; then the limits are computed and
 * frozen (X̄̄ ± A2·R̄, D3·R̄…D4·R̄, or X̄̄ ± A3·S̄, B3·S̄…B4·S̄) and every later subgroup is a chart point checked
 * against them by the run rules. rebaseline() starts a new baseline (the old limits stay until the new ones
 * freeze, the series keeps being checked against them meanwhile); resetRun() (an electrode-cap change) drops the
 * subgroup in progress and the run-rule history but keeps the limits.
 */
import { constants, ChartConstants } from './constants';
import { feedRules, Hit, newRuleState, RuleParams, RuleState, RuleSwitches } from './rules';

export type ChartKind = 'xbar-r' | 'xbar-s';

export interface Limits {
  /** X̄̄ */
  centre: number;
  ucl: number;
  lcl: number;
  /** R̄ or S̄ */
  dispCentre: number;
  dispUcl: number;
  dispLcl: number;
  /** within-subgroup σ̂ of the individual values: R̄/d2 or S̄/c4 */
  sigma: number;
  n: number;
  chart: ChartKind;
  subgroups: number;
  /** time of the first and last subgroup of the baseline */
  from: string;
  to: string;
  frozenAt: string;
  reason: string;
}

export interface SubgroupPoint {
  /** the subgroup's mean and its range (X̄-R) or standard deviation (X̄-S) */
  mean: number;
  disp: number;
  /** time of its first and last part */
  from: string;
  at: string;
}

/** a chart point as stored: [mean, disp, time of its first part, time of its last part (epoch ms)] */
export type StoredPoint = [number, number, number, number];

/** a stored point as the API shows it */
export function pointOf(p: StoredPoint): SubgroupPoint {
  return { mean: p[0], disp: p[1], from: isoOf(p[2]), at: isoOf(p[3]) };
}

function isoOf(ms: number | null): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

export interface SeriesState {
  v: 2;
  pending: number[];
  pendingFrom: string | null;
  /** the baseline being collected (null: none) */
  base: { sumMean: number; sumDisp: number; count: number; from: string; reason: string } | null;
  limits: Limits | null;
  rules: RuleState;
  /** the last HISTORY chart points, oldest first, compact: [mean, disp, from ms, at ms] (see pointOf) */
  history: StoredPoint[];
  /** subgroups closed since the series began */
  subgroups: number;
  /** last values seen (for the capability of a one-sided spec: the measurement's minimum) */
  lsl: number | null;
  unit: string | null;
}

export interface SeriesOptions {
  n: number;
  chart: ChartKind;
  baselineSubgroups: number;
  /** subgroups in the capability window (default: baselineSubgroups) */
  capabilityWindow: number;
  rules: RuleSwitches;
  ruleParams: RuleParams;
}

export interface Capability {
  /** subgroups in the window */
  subgroups: number;
  mean: number;
  sigma: number;
  lsl: number | null;
  usl: number | null;
  /** null unless both limits are known */
  cp: number | null;
  /** the worse side of those known; null when neither is */
  cpk: number | null;
}

export interface ClosedSubgroup {
  point: SubgroupPoint;
  /** limits now frozen by this subgroup (the end of a baseline) */
  frozen: Limits | null;
  /** rule hits of this point on the X̄ chart (empty in the first baseline) */
  hits: Hit[];
  /** rule 1 on the R / S chart */
  dispHit: boolean;
}

export const HISTORY = 60;

export function newSeriesState(): SeriesState {
  return { v: 2, pending: [], pendingFrom: null, base: { sumMean: 0, sumDisp: 0, count: 0, from: '', reason: 'initial' }, limits: null, rules: newRuleState(), history: [], subgroups: 0, lsl: null, unit: null };
}

export class Series {
  readonly k: ChartConstants;
  private readonly hits: Hit[] = [];
  /** the time of the subgroup in progress's first part in ms (not stored: state.pendingFrom is) */
  private pendingFromMs: number | undefined;
  constructor(
    readonly opts: SeriesOptions,
    public state: SeriesState = newSeriesState(),
  ) {
    this.k = constants(opts.n);
  }

  /**
   * Add one part's value; when it completes a subgroup, the subgroup (and what it did) is returned, else null.
   * `at` is the part's time (ISO string), `atMs` the same in epoch ms (a caller feeding many series with one part
   * parses it once).
   */
  add(x: number, at: string, atMs: number = Date.parse(at)): ClosedSubgroup | null {
    const s = this.state;
    if (s.pending.length === 0) {
      s.pendingFrom = at;
      this.pendingFromMs = atMs;
    }
    s.pending.push(x);
    if (s.pending.length < this.opts.n) return null;
    const vals = s.pending;
    const n = vals.length;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = vals[i];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = sum / n;
    let disp: number;
    if (this.opts.chart === 'xbar-r') disp = max - min;
    else {
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (vals[i] - mean) * (vals[i] - mean);
      disp = Math.sqrt(ss / (n - 1));
    }
    const point: SubgroupPoint = { mean, disp, from: s.pendingFrom ?? at, at };
    s.pending = [];
    s.pendingFrom = null;
    s.subgroups += 1;
    // the first part's time in ms: kept from its add(), parsed only for a subgroup restored half-way
    const fromMs = this.pendingFromMs ?? Date.parse(point.from);
    this.pendingFromMs = undefined;
    s.history.push([mean, disp, fromMs, atMs]);
    if (s.history.length > HISTORY) s.history.shift();
    const out: ClosedSubgroup = { point, frozen: null, hits: this.hits, dispHit: false };
    this.hits.length = 0;
    // the chart point against the limits in force
    const L = s.limits;
    if (L) {
      feedRules(s.rules, mean, L.centre, (L.ucl - L.centre) / 3, this.opts.rules, this.opts.ruleParams, this.hits);
      out.dispHit = this.opts.rules[1] && (disp > L.dispUcl || disp < L.dispLcl);
    }
    // the baseline being collected
    const b = s.base;
    if (b) {
      if (b.count === 0) b.from = point.from;
      b.sumMean += mean;
      b.sumDisp += disp;
      b.count += 1;
      if (b.count >= this.opts.baselineSubgroups) {
        s.limits = this.limitsOf(b.sumMean / b.count, b.sumDisp / b.count, b.count, b.from, at, b.reason);
        s.base = null;
        // the new limits start a fresh run-rule history
        s.rules = newRuleState();
        out.frozen = s.limits;
      }
    }
    return out;
  }

  /** Limits from a grand mean and a mean range / standard deviation, with this series' constants. */
  limitsOf(centre: number, dispBar: number, subgroups: number, from: string, to: string, reason: string): Limits {
    const k = this.k;
    const r = this.opts.chart === 'xbar-r';
    const a = r ? k.A2 : k.A3;
    return {
      centre,
      ucl: centre + a * dispBar,
      lcl: centre - a * dispBar,
      dispCentre: dispBar,
      dispUcl: (r ? k.D4 : k.B4) * dispBar,
      dispLcl: (r ? k.D3 : k.B3) * dispBar,
      sigma: dispBar / (r ? k.d2 : k.c4),
      n: this.opts.n,
      chart: this.opts.chart,
      subgroups,
      from,
      to,
      frozenAt: new Date().toISOString(),
      reason,
    };
  }

  /** Start collecting a new baseline (the limits in force stay until it is complete). */
  rebaseline(reason: string): void {
    this.state.base = { sumMean: 0, sumDisp: 0, count: 0, from: '', reason };
  }

  /** An electrode-cap change: the subgroup in progress and the run-rule history go, the limits stay. */
  resetRun(): void {
    const s = this.state;
    s.pending = [];
    s.pendingFrom = null;
    s.rules = newRuleState();
  }

  /**
   * Process capability over the last `capabilityWindow` subgroups: mean of their means, σ̂ = R̄/d2 (S̄/c4) of
   * those subgroups; Cp = (USL − LSL)/6σ̂, Cpk = min(USL − μ, μ − LSL)/3σ̂ over the limits known.
   */
  capability(lsl: number | null, usl: number | null): Capability | null {
    const h = this.state.history;
    const w = Math.min(h.length, this.opts.capabilityWindow);
    if (w < 1) return null;
    let sm = 0;
    let sd = 0;
    for (let i = h.length - w; i < h.length; i++) {
      sm += h[i][0];
      sd += h[i][1];
    }
    const mean = sm / w;
    const sigma = sd / w / (this.opts.chart === 'xbar-r' ? this.k.d2 : this.k.c4);
    const cp = lsl !== null && usl !== null && sigma > 0 ? (usl - lsl) / (6 * sigma) : null;
    let cpk: number | null = null;
    if (sigma > 0) {
      if (usl !== null) cpk = (usl - mean) / (3 * sigma);
      if (lsl !== null) {
        const cpl = (mean - lsl) / (3 * sigma);
        cpk = cpk === null ? cpl : Math.min(cpk, cpl);
      }
    }
    return { subgroups: w, mean, sigma, lsl, usl, cp, cpk };
  }
}
