/**
 * SPC of every spot of every InspectionResult: one chart series per station, spot and characteristic (the nugget
 * diameter, the model's confidence), the run rules with alarm hysteresis, electrode-cap changes and re-baselines.
 * Pure and synchronous: what must be stored comes out as events and dirty series (nodes/lib/spc/store.ts stores
 * them), what must be said comes out as alarm events (the spc node sends them).
 *
 * Hysteresis: a rule that fires on a series raises one alarm; while the same rule keeps firing on later
 * subgroups, nothing more is raised; the alarm clears after `clearAfter` consecutive subgroups in which that rule
 * did not fire, and for a run rule more than its pattern is long (quietNeeded): a run rule cannot fire again
 * until its run has formed again, so fewer quiet subgroups say nothing about whether the pattern went away (rule 7
 * on a stratified series raised and cleared again every 16 subgroups). Then a new breach is a new alarm.
 */
import { randomUUID } from 'node:crypto';
import { MAX_SUBGROUP, MIN_SUBGROUP } from './constants';
import { Capability, ChartKind, Limits, newSeriesState, pointOf, Series, SeriesOptions, SeriesState, SubgroupPoint } from './chart';
import { ALL_RULES, parseRuleSwitches, RULE_TEXT, RuleNo, RuleSwitches } from './rules';

/** the points each rule's pattern takes (rule 2: sameSideRun, set per node) */
const RULE_WINDOW: Readonly<Record<RuleNo, number>> = Object.freeze({ 1: 1, 2: 9, 3: 6, 4: 14, 5: 3, 6: 5, 7: 15, 8: 8 });

export type Characteristic = 'diameter' | 'confidence';
export const CHARACTERISTICS: readonly Characteristic[] = ['diameter', 'confidence'];

export interface SpecLimits {
  lsl?: number;
  usl?: number;
}

export interface SpcConfig {
  subgroupSize: number;
  chart: ChartKind;
  baselineSubgroups: number;
  capabilityWindow: number;
  rules: RuleSwitches;
  sameSideRun: number;
  clearAfter: number;
  characteristics: readonly Characteristic[];
  /** the spot value that is the nugget diameter: this head; default 'diameter', else 'value' */
  diameterHead?: string;
  /** spec limits: per characteristic, and per spot id overriding them */
  spec: { diameter?: SpecLimits; confidence?: SpecLimits; spots?: Record<string, { diameter?: SpecLimits; confidence?: SpecLimits }> };
  /** gun id → the spot ids it welds (for a cap change named by gun) */
  guns: Record<string, string[]>;
  /** a cap change also starts a new baseline of the spots it touches */
  rebaselineOnCapChange: boolean;
}

export const DEFAULT_CONFIG: Readonly<SpcConfig> = Object.freeze({
  subgroupSize: 5,
  chart: 'xbar-r',
  baselineSubgroups: 25,
  capabilityWindow: 25,
  rules: ALL_RULES,
  sameSideRun: 9,
  clearAfter: 3,
  characteristics: CHARACTERISTICS,
  spec: {},
  guns: {},
  rebaselineOnCapChange: false,
});

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasAny(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

function intIn(v: unknown, where: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) throw new RangeError(`${where} must be an integer in ${lo}…${hi}, got ${JSON.stringify(v)}`);
  return n;
}

function specOf(v: unknown, where: string): SpecLimits | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new RangeError(`${where} must be an object {lsl?, usl?}`);
  const out: SpecLimits = {};
  for (const k of Object.keys(v)) {
    if (k !== 'lsl' && k !== 'usl') throw new RangeError(`${where}.${k} is not a spec field (lsl, usl)`);
    const x = v[k];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new RangeError(`${where}.${k} must be a number`);
    out[k] = x;
  }
  if (out.lsl !== undefined && out.usl !== undefined && !(out.lsl < out.usl)) throw new RangeError(`${where}: lsl must be below usl`);
  return out;
}

/** An option the editor holds as JSON text: undefined when empty, else the value (RangeError naming the field). */
export function jsonOption(v: string | undefined, where: string): unknown {
  if (v === undefined || v.trim() === '') return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch (err) {
    throw new RangeError(`${where} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Check a configuration given as data (the node's fields, a JSON object); RangeError naming the field. */
export function parseConfig(raw: Record<string, unknown>): SpcConfig {
  const chart = raw.chart === undefined || raw.chart === '' ? 'xbar-r' : raw.chart;
  if (chart !== 'xbar-r' && chart !== 'xbar-s') throw new RangeError(`chart must be "xbar-r" or "xbar-s", got ${JSON.stringify(raw.chart)}`);
  const baselineSubgroups = intIn(raw.baselineSubgroups, 'baselineSubgroups', 2, 1000, 25);
  const chars = raw.characteristics === undefined ? CHARACTERISTICS : raw.characteristics;
  if (!Array.isArray(chars) || chars.length === 0 || chars.some((c) => !CHARACTERISTICS.includes(c as Characteristic))) {
    throw new RangeError(`characteristics must be a non-empty list of ${CHARACTERISTICS.join(', ')}`);
  }
  const spec = raw.spec === undefined ? {} : raw.spec;
  if (!isObj(spec)) throw new RangeError('spec must be an object');
  const outSpec: SpcConfig['spec'] = { diameter: specOf(spec.diameter, 'spec.diameter'), confidence: specOf(spec.confidence, 'spec.confidence') };
  for (const k of Object.keys(spec)) if (!['diameter', 'confidence', 'spots'].includes(k)) throw new RangeError(`spec.${k} is not known (diameter, confidence, spots)`);
  if (spec.spots !== undefined) {
    if (!isObj(spec.spots)) throw new RangeError('spec.spots must be an object of spot id → {diameter?, confidence?}');
    outSpec.spots = {};
    for (const [id, s] of Object.entries(spec.spots)) {
      if (!isObj(s)) throw new RangeError(`spec.spots.${id} must be an object`);
      outSpec.spots[id] = { diameter: specOf(s.diameter, `spec.spots.${id}.diameter`), confidence: specOf(s.confidence, `spec.spots.${id}.confidence`) };
    }
  }
  const guns = raw.guns === undefined || raw.guns === '' ? {} : raw.guns;
  if (!isObj(guns) || Object.values(guns).some((l) => !Array.isArray(l) || l.some((s) => typeof s !== 'string'))) throw new RangeError('guns must be an object of gun id → [spot ids]');
  const head = raw.diameterHead;
  if (head !== undefined && head !== '' && typeof head !== 'string') throw new RangeError('diameterHead must be a string');
  return {
    subgroupSize: intIn(raw.subgroupSize, 'subgroupSize', MIN_SUBGROUP, MAX_SUBGROUP, 5),
    chart,
    baselineSubgroups,
    capabilityWindow: intIn(raw.capabilityWindow, 'capabilityWindow', 1, 60, Math.min(baselineSubgroups, 60)),
    rules: parseRuleSwitches(raw.rules, 'rules'),
    sameSideRun: intIn(raw.sameSideRun, 'sameSideRun', 7, 15, 9),
    clearAfter: intIn(raw.clearAfter, 'clearAfter', 1, 1000, 3),
    characteristics: chars as Characteristic[],
    diameterHead: head === '' ? undefined : (head),
    spec: outSpec,
    guns: guns as Record<string, string[]>,
    rebaselineOnCapChange: raw.rebaselineOnCapChange === true,
  };
}

/** What a stored series carries besides its chart state: who it is and its active alarms. */
export interface SeriesRecord {
  key: string;
  line: string;
  station: string;
  spot: string;
  characteristic: Characteristic;
  state: SeriesState;
  /** active alarms by "<chart>:<rule>": id, when raised, subgroups without the rule since its last hit */
  active: Record<string, { id: string; raisedAt: string; quiet: number }>;
}

export interface AlarmEvent {
  event: 'raised' | 'cleared';
  id: string;
  key: string;
  line: string;
  station: string;
  spot: string;
  characteristic: Characteristic;
  /** 'xbar', or 'r' / 's' for the dispersion chart (rule 1 only) */
  chart: 'xbar' | 'r' | 's';
  rule: RuleNo;
  text: string;
  /** raised: the chart points of the pattern, oldest first (means, or ranges / standard deviations) */
  values: number[];
  limits: { centre: number; ucl: number; lcl: number } | null;
  /** raised: the time of the first part of the pattern's first subgroup; cleared: when it was raised */
  since: string;
  at: string;
  /** cleared: why (e.g. 'quiet', 'cap-change', 'rebaseline') */
  reason?: string;
}

export interface BaselineEvent {
  key: string;
  spot: string;
  characteristic: Characteristic;
  limits: Limits;
}

export interface UpdateOutcome {
  alarms: AlarmEvent[];
  baselines: BaselineEvent[];
  /** subgroups closed by this result */
  subgroups: number;
}

interface Live {
  rec: SeriesRecord;
  series: Series;
}

interface ResultLike {
  station?: { line?: unknown; station?: unknown };
  timestamps?: { result?: unknown };
  spots?: unknown;
}

export class SpcEngine {
  private readonly live = new Map<string, Live>();
  /** line/station → spot → its two series: the per-part lookup without building key strings */
  private readonly bySpot = new Map<string, Map<string, { diameter?: Live; confidence?: Live }>>();
  readonly dirty = new Set<string>();
  /** alarms active now, over all series */
  activeAlarms = 0;
  private readonly seriesOpts: SeriesOptions;

  constructor(
    readonly config: SpcConfig,
    restored: Iterable<SeriesRecord> = [],
  ) {
    this.seriesOpts = {
      n: config.subgroupSize,
      chart: config.chart,
      baselineSubgroups: config.baselineSubgroups,
      capabilityWindow: config.capabilityWindow,
      rules: config.rules,
      ruleParams: { sameSideRun: config.sameSideRun },
    };
    for (const r of restored) {
      // a stored series of another subgroup size or chart cannot continue: it starts again (and says so)
      const L = r.state.limits;
      if (L && (L.n !== config.subgroupSize || L.chart !== config.chart)) continue;
      if (r.state.pending.length >= config.subgroupSize || r.state.v !== 2) continue;
      this.live.set(r.key, { rec: r, series: new Series(this.seriesOpts, r.state) });
      this.activeAlarms += Object.keys(r.active).length;
    }
  }

  static keyOf(line: string, station: string, spot: string, c: Characteristic): string {
    return `${line}/${station}/${spot}/${c}`;
  }

  private get(spots: Map<string, { diameter?: Live; confidence?: Live }>, line: string, station: string, spot: string, c: Characteristic): Live {
    let pair = spots.get(spot);
    if (!pair) spots.set(spot, (pair = {}));
    let l = pair[c];
    if (l) return l;
    const key = SpcEngine.keyOf(line, station, spot, c);
    l = this.live.get(key);
    if (!l) {
      const rec: SeriesRecord = { key, line, station, spot, characteristic: c, state: newSeriesState(), active: {} };
      l = { rec, series: new Series(this.seriesOpts, rec.state) };
      this.live.set(key, l);
    }
    pair[c] = l;
    return l;
  }

  /** Feed one InspectionResult. Spots without the value (missing, no measurement, a fault) add nothing. */
  update(result: ResultLike): UpdateOutcome {
    const out: UpdateOutcome = { alarms: [], baselines: [], subgroups: 0 };
    const st = result.station ?? {};
    const line = typeof st.line === 'string' ? st.line : '';
    const station = typeof st.station === 'string' ? st.station : '';
    const at = typeof result.timestamps?.result === 'string' ? result.timestamps.result : new Date().toISOString();
    const atMs = Date.parse(at);
    const spots = result.spots;
    if (!Array.isArray(spots)) throw new TypeError('the result has no spots array (is msg.payload an InspectionResult?)');
    const wantD = this.config.characteristics.includes('diameter');
    const wantC = this.config.characteristics.includes('confidence');
    const head = this.config.diameterHead;
    const where = `${line}/${station}`;
    let bySpot = this.bySpot.get(where);
    if (!bySpot) this.bySpot.set(where, (bySpot = new Map<string, { diameter?: Live; confidence?: Live }>()));
    for (const sp of spots as Array<{ spotId?: unknown; score?: unknown; values?: Record<string, { value?: unknown; unit?: unknown; min?: unknown }>; verdict?: unknown }>) {
      if (typeof sp !== 'object' || sp === null || typeof sp.spotId !== 'string' || sp.verdict === 'MISSING') continue;
      if (wantD && sp.values) {
        const m = head !== undefined ? sp.values[head] : (sp.values.diameter ?? sp.values.value);
        if (m && typeof m.value === 'number' && Number.isFinite(m.value)) {
          const l = this.get(bySpot, line, station, sp.spotId, 'diameter');
          // the rules' minimum is the lower spec limit when the value is not in px (its min is in the rules' unit)
          l.rec.state.lsl = typeof m.min === 'number' && m.unit !== 'px' ? m.min : null;
          l.rec.state.unit = typeof m.unit === 'string' ? m.unit : null;
          this.feed(l, m.value, at, atMs, out);
        }
      }
      if (wantC && typeof sp.score === 'number' && Number.isFinite(sp.score)) this.feed(this.get(bySpot, line, station, sp.spotId, 'confidence'), sp.score, at, atMs, out);
    }
    return out;
  }

  private feed(l: Live, x: number, at: string, atMs: number, out: UpdateOutcome): void {
    this.dirty.add(l.rec.key);
    const c = l.series.add(x, at, atMs);
    if (!c) return;
    out.subgroups += 1;
    const rec = l.rec;
    if (c.frozen) out.baselines.push({ key: rec.key, spot: rec.spot, characteristic: rec.characteristic, limits: c.frozen });
    // the common case: nothing fired and no alarm is active
    if (c.hits.length === 0 && !c.dispHit && !hasAny(rec.active)) return;
    const L = rec.state.limits;
    const kind = this.config.chart === 'xbar-r' ? 'r' : 's';
    // which rules fire now (before the limits may change below: the hits were judged against the old ones)
    const firing = new Map<string, { chart: 'xbar' | 'r' | 's'; rule: RuleNo; points: number }>();
    for (const h of c.hits) firing.set(`xbar:${h.rule}`, { chart: 'xbar', rule: h.rule, points: h.points });
    if (c.dispHit) firing.set(`${kind}:1`, { chart: kind, rule: 1, points: 1 });
    for (const [ak, a] of Object.entries(rec.active)) {
      if (firing.has(ak)) {
        a.quiet = 0;
        firing.delete(ak);
      } else if (++a.quiet >= this.quietNeeded(ak)) {
        delete rec.active[ak];
        this.activeAlarms -= 1;
        out.alarms.push(this.alarm(rec, 'cleared', a.id, ak, [], L, a.raisedAt, c.point.at, 'quiet'));
      }
    }
    for (const [ak, f] of firing) {
      const hist = rec.state.history;
      const pts = hist.slice(Math.max(0, hist.length - f.points));
      const values = pts.map((p) => (f.chart === 'xbar' ? p[0] : p[1]));
      const id = randomUUID();
      rec.active[ak] = { id, raisedAt: c.point.at, quiet: 0 };
      this.activeAlarms += 1;
      out.alarms.push(this.alarm(rec, 'raised', id, ak, values, L, pts.length ? pointOf(pts[0]).from : c.point.from, c.point.at));
    }
  }

  /**
   * Quiet subgroups that clear the alarm of slot "<chart>:<rule>": clearAfter, and for a run rule more than the
   * points its pattern takes (2: sameSideRun; 3: 6; 4: 14; 5: 3; 6: 5; 7: 15; 8: 8), so the point that broke the
   * run and a whole new pattern's worth of points have passed without it.
   */
  quietNeeded(slot: string): number {
    const rule = slot.startsWith('xbar:') ? Number(slot.slice(5)) : 1;
    if (rule === 1) return this.config.clearAfter;
    const window = rule === 2 ? this.config.sameSideRun : (RULE_WINDOW[rule as RuleNo] ?? 1);
    return Math.max(this.config.clearAfter, window + 1);
  }

  private alarm(rec: SeriesRecord, event: 'raised' | 'cleared', id: string, ak: string, values: number[], L: Limits | null, since: string, at: string, reason?: string): AlarmEvent {
    const [chart, r] = ak.split(':') as ['xbar' | 'r' | 's', string];
    const rule = Number(r) as RuleNo;
    const text = rule === 2 ? `${this.config.sameSideRun} ${RULE_TEXT[2]}` : chart === 'xbar' ? RULE_TEXT[rule] : `${chart === 'r' ? 'range' : 'standard deviation'} beyond its control limits`;
    const limits = L ? (chart === 'xbar' ? { centre: L.centre, ucl: L.ucl, lcl: L.lcl } : { centre: L.dispCentre, ucl: L.dispUcl, lcl: L.dispLcl }) : null;
    const e: AlarmEvent = { event, id, key: rec.key, line: rec.line, station: rec.station, spot: rec.spot, characteristic: rec.characteristic, chart, rule, text, values, limits, since, at };
    if (reason) e.reason = reason;
    return e;
  }

  private select(spots: readonly string[] | undefined, characteristic?: Characteristic): Live[] {
    const want = spots && spots.length ? new Set(spots) : undefined;
    return [...this.live.values()].filter((l) => (!want || want.has(l.rec.spot)) && (!characteristic || l.rec.characteristic === characteristic));
  }

  /** The spot ids of a cap-change command: its spots, plus those of its guns. */
  spotsOf(cmd: { spots?: unknown; spot?: unknown; gun?: unknown; guns?: unknown }): string[] {
    const out = new Set<string>();
    const add = (v: unknown, where: string): void => {
      if (v === undefined) return;
      const list = Array.isArray(v) ? v : [v];
      for (const s of list) {
        if (typeof s !== 'string' && typeof s !== 'number') throw new RangeError(`${where} must be a spot/gun id or a list of them`);
        if (where.startsWith('gun')) {
          const g = this.config.guns[String(s)];
          if (!g) throw new RangeError(`gun "${String(s)}" is not in the node's guns (known: ${Object.keys(this.config.guns).join(', ') || 'none'})`);
          for (const x of g) out.add(x);
        } else out.add(String(s));
      }
    };
    add(cmd.spots, 'spots');
    add(cmd.spot, 'spot');
    add(cmd.gun, 'gun');
    add(cmd.guns, 'guns');
    return [...out];
  }

  /**
   * An electrode-cap change on these spots (all when empty): the subgroup in progress and the run-rule history
   * go, active alarms clear (reason 'cap-change'), the limits stay unless `rebaseline`. Returns the clear events.
   */
  capChange(spots: readonly string[], rebaseline: boolean, at = new Date().toISOString()): AlarmEvent[] {
    const out: AlarmEvent[] = [];
    for (const l of this.select(spots)) {
      l.series.resetRun();
      this.clearAll(l, at, 'cap-change', out);
      if (rebaseline) l.series.rebaseline('cap-change');
      this.dirty.add(l.rec.key);
    }
    return out;
  }

  /** Start a new baseline on these spots (all when empty); the limits in force stay until it is complete. */
  rebaseline(spots: readonly string[], characteristic: Characteristic | undefined, reason: string): number {
    const ls = this.select(spots, characteristic);
    for (const l of ls) {
      l.series.rebaseline(reason);
      this.dirty.add(l.rec.key);
    }
    return ls.length;
  }

  private clearAll(l: Live, at: string, reason: string, out: AlarmEvent[]): void {
    for (const [ak, a] of Object.entries(l.rec.active)) {
      out.push(this.alarm(l.rec, 'cleared', a.id, ak, [], l.rec.state.limits, a.raisedAt, at, reason));
    }
    this.activeAlarms -= Object.keys(l.rec.active).length;
    l.rec.active = {};
  }

  record(key: string): SeriesRecord | undefined {
    return this.live.get(key)?.rec;
  }

  records(): IterableIterator<SeriesRecord> {
    const it = this.live.values();
    return (function* () {
      for (const l of it) yield l.rec;
    })();
  }

  /** Capability of one series against its spec (config per spot, per characteristic, else the measured min). */
  capability(key: string): Capability | null {
    const l = this.live.get(key);
    if (!l) return null;
    const r = l.rec;
    const s = this.config.spec.spots?.[r.spot]?.[r.characteristic] ?? this.config.spec[r.characteristic];
    const lsl = s?.lsl ?? (r.characteristic === 'diameter' && !s ? r.state.lsl : null);
    const usl = s?.usl ?? null;
    return l.series.capability(lsl ?? null, usl);
  }

  /** One row per series: the table of the dashboard and msg.spc, worst Cpk first (unknown last). */
  summary(): SpotSummary[] {
    const rows: SpotSummary[] = [];
    for (const l of this.live.values()) {
      const r = l.rec;
      const cap = this.capability(r.key);
      const s = r.state;
      rows.push({
        key: r.key,
        line: r.line,
        station: r.station,
        spot: r.spot,
        characteristic: r.characteristic,
        unit: r.characteristic === 'diameter' ? s.unit : null,
        phase: s.limits ? (s.base ? 'rebaseline' : 'monitor') : 'baseline',
        subgroups: s.subgroups,
        baseline: s.base ? `${s.base.count}/${this.config.baselineSubgroups}` : null,
        limits: s.limits,
        last: s.history.length ? pointOf(s.history[s.history.length - 1]) : null,
        cp: cap?.cp ?? null,
        cpk: cap?.cpk ?? null,
        alarms: Object.keys(r.active).length,
      });
    }
    rows.sort((a, b) => (a.cpk === null ? (b.cpk === null ? a.key.localeCompare(b.key) : 1) : b.cpk === null ? -1 : a.cpk - b.cpk));
    return rows;
  }

  /** The chart of one series: its limits and last points. */
  chartOf(key: string): { limits: Limits | null; points: SubgroupPoint[] } | null {
    const l = this.live.get(key);
    return l ? { limits: l.rec.state.limits, points: l.rec.state.history.map(pointOf) } : null;
  }
}

export interface SpotSummary {
  key: string;
  line: string;
  station: string;
  spot: string;
  characteristic: Characteristic;
  unit: string | null;
  phase: 'baseline' | 'monitor' | 'rebaseline';
  subgroups: number;
  baseline: string | null;
  limits: Limits | null;
  last: SubgroupPoint | null;
  cp: number | null;
  cpk: number | null;
  alarms: number;
}
