/**
 * Verdict rules: data (validated against nodes/schemas/verdict-rules.schema.json), never code. Judges each
 * spot from its prediction (class label + score, measured nugget diameter against k·√t of its stackup) and
 * the part from its spots. Pure functions, no I/O.
 */
import { SpotFusionError } from '../errors';
import { assertValid } from '../schemas';

export interface OutcomeCode {
  resultCode: number;
  classId: number;
}

export interface SpotRule {
  minScore?: number;
  okLabels?: string[];
  stackup?: string;
  t?: number;
  minDiameter?: number;
  maxOffset?: number;
  ignore?: boolean;
}

/** The rules as written by the user (the schema's shape). */
export interface VerdictRulesInput {
  version?: string;
  okLabels?: string[];
  minScore?: number;
  lowConfidence?: number;
  maxOffset?: number;
  diameter?: { head?: string; k?: number; unit?: string; pxPerMm?: number };
  stackups?: Record<string, { t: number; k?: number }>;
  spots?: Record<string, SpotRule>;
  expectedSpots?: string[];
  part?: { nokWhenAnySpotNok?: boolean; nokWhenMissing?: number; nokOnFault?: boolean };
  codes?: Partial<Record<Outcome, OutcomeCode>>;
}

/** The rules with every default filled in. */
export interface VerdictRules {
  version: string | undefined;
  okLabels: string[];
  minScore: number;
  lowConfidence: number;
  maxOffset: number | undefined;
  diameter: { head: string | undefined; k: number; unit: string; pxPerMm: number | undefined };
  stackups: Record<string, { t: number; k?: number }>;
  spots: Record<string, SpotRule>;
  expectedSpots: string[] | undefined;
  part: { nokWhenAnySpotNok: boolean; nokWhenMissing: number; nokOnFault: boolean };
  codes: Record<Outcome, OutcomeCode>;
}

/** ok/nok/missing: judged; fault: not inspected (a stage failed); locate: not inspected, the part was not found. */
export type Outcome = 'ok' | 'nok' | 'missing' | 'fault' | 'locate';

export const DEFAULT_CODES: VerdictRules['codes'] = {
  ok: { resultCode: 1, classId: 0 },
  nok: { resultCode: 2, classId: 1 },
  missing: { resultCode: 3, classId: 2 },
  fault: { resultCode: 4, classId: 3 },
  locate: { resultCode: 5, classId: 4 },
};

/** Parse (JSON text or object), validate and fill defaults; errors name the field. */
export function parseRules(raw: unknown, where = 'rules'): VerdictRules {
  let value: unknown = raw;
  if (raw === undefined || raw === null || raw === '') value = {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch (err) {
      throw new SpotFusionError('CONFIG', `${where} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const r = assertValid<VerdictRulesInput>('verdict-rules', value, where);
  const stackups = r.stackups ?? {};
  const spots = r.spots ?? {};
  for (const [id, s] of Object.entries(spots)) {
    if (s.stackup !== undefined && !Object.prototype.hasOwnProperty.call(stackups, s.stackup)) {
      throw new SpotFusionError('CONFIG', `${where}.spots.${id}.stackup "${s.stackup}" is not in ${where}.stackups (known: ${Object.keys(stackups).join(', ') || 'none'})`);
    }
  }
  return {
    version: r.version,
    okLabels: r.okLabels ?? ['ok'],
    minScore: r.minScore ?? 0.5,
    lowConfidence: r.lowConfidence ?? 0.8,
    maxOffset: r.maxOffset,
    diameter: { head: r.diameter?.head, k: r.diameter?.k ?? 4, unit: r.diameter?.unit ?? 'mm', pxPerMm: r.diameter?.pxPerMm },
    stackups,
    spots,
    expectedSpots: r.expectedSpots,
    part: {
      nokWhenAnySpotNok: r.part?.nokWhenAnySpotNok ?? true,
      nokWhenMissing: r.part?.nokWhenMissing ?? 1,
      nokOnFault: r.part?.nokOnFault ?? true,
    },
    codes: { ...DEFAULT_CODES, ...(r.codes ?? {}) },
  };
}

export interface Fault {
  code: string;
  message: string;
  spotId?: string;
}

export interface Measurement {
  value: number;
  unit?: string;
  min?: number;
}

export type SpotVerdict = 'OK' | 'NOK' | 'MISSING';

export interface SpotResult {
  spotId: string;
  box?: { x: number; y: number; w: number; h: number; rotation?: number };
  label?: string;
  score?: number;
  values?: Record<string, Measurement>;
  verdict: SpotVerdict;
  reason?: string;
  /** re-centring: the nugget's offset from the spot's nominal place on the part, px (distance = its length) */
  offset?: { dx: number; dy: number; distance: number };
}

/** One head's output, or the prediction's own top-level result. */
export interface HeadOutput {
  label?: string;
  score?: number;
  value?: number;
  unit?: string;
}

export interface Prediction extends HeadOutput {
  spotId: string;
  error?: string;
  heads?: Record<string, HeadOutput>;
}

/** What the crop node knows of a spot (msg.crops[]). */
export interface CropFacts {
  spotId: string;
  box?: { x: number; y: number; w: number; h: number; rotation?: number };
  stackupThickness?: number;
  error?: string;
  /** re-centring: where the nugget was found relative to the spot's nominal place on the part, px */
  offset?: { dx: number; dy: number };
}

const VALUE_KEY = 'value';

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, '');
}

/** The minimum diameter for a spot, with how it was found, or undefined when no thickness is known. */
export function minDiameter(rules: VerdictRules, spotId: string, crop?: CropFacts): { min: number; how: string } | undefined {
  const s = rules.spots[spotId] ?? {};
  if (s.minDiameter !== undefined) return { min: s.minDiameter, how: 'fixed minimum' };
  let t = s.t;
  let k = rules.diameter.k;
  let name = '';
  if (t === undefined && s.stackup !== undefined) {
    const st = rules.stackups[s.stackup];
    t = st.t;
    k = st.k ?? k;
    name = ` stackup ${s.stackup}`;
  }
  if (t === undefined && crop?.stackupThickness !== undefined) t = crop.stackupThickness;
  if (t === undefined) return undefined;
  return { min: k * Math.sqrt(t), how: `${fmt(k)}·√${fmt(t)}${name}` };
}

/** Judge one spot. `pred` undefined = no prediction for it. */
export function judgeSpot(
  rules: VerdictRules,
  spotId: string,
  pred: Prediction | undefined,
  crop: CropFacts | undefined,
): { spot: SpotResult; faults: Fault[]; lowConfidence: boolean } {
  const spot: SpotResult = { spotId, verdict: 'OK' };
  if (crop?.box) spot.box = { ...crop.box };
  if (crop?.offset) spot.offset = { ...crop.offset, distance: Number(Math.hypot(crop.offset.dx, crop.offset.dy).toFixed(3)) };
  const faults: Fault[] = [];
  const rule = rules.spots[spotId] ?? {};
  if (!pred || pred.error !== undefined) {
    spot.verdict = 'MISSING';
    spot.reason = pred?.error ?? crop?.error ?? 'no prediction for this spot';
    return { spot, faults, lowConfidence: false };
  }
  // the classification: the prediction's own label, else the first head that has one
  const heads = Object.entries(pred.heads ?? {});
  const cls: HeadOutput | undefined = pred.label !== undefined ? pred : heads.find(([, h]) => h.label !== undefined)?.[1];
  if (cls?.label !== undefined) spot.label = cls.label;
  if (cls?.score !== undefined) spot.score = Math.min(1, Math.max(0, cls.score));
  const values: Record<string, Measurement> = {};
  if (pred.value !== undefined) values[VALUE_KEY] = pred.unit !== undefined ? { value: pred.value, unit: pred.unit } : { value: pred.value };
  for (const [name, h] of heads) {
    if (h.value !== undefined) values[name] = h.unit !== undefined ? { value: h.value, unit: h.unit } : { value: h.value };
  }
  if (rule.ignore) {
    if (Object.keys(values).length) spot.values = values;
    spot.reason = 'ignored by the rules';
    return { spot, faults, lowConfidence: false };
  }
  const reasons: string[] = [];
  let lowConfidence = false;
  if (cls?.label !== undefined) {
    const okLabels = rule.okLabels ?? rules.okLabels;
    const minScore = rule.minScore ?? rules.minScore;
    if (!okLabels.includes(cls.label)) reasons.push(`label "${cls.label}"`);
    else if (cls.score !== undefined && cls.score < minScore) reasons.push(`score ${fmt(cls.score)} < ${fmt(minScore)}`);
    if (cls.score !== undefined && cls.score < rules.lowConfidence) lowConfidence = true;
  }
  // position: the nugget found by re-centring, against the nominal place on the part (the model saw it centred)
  const maxOffset = rule.maxOffset ?? rules.maxOffset;
  if (spot.offset && maxOffset !== undefined && spot.offset.distance > maxOffset) reasons.push(`off position ${fmt(spot.offset.distance)} px > ${fmt(maxOffset)} px`);
  // the measurement: the configured head, else the prediction's own value
  const dKey = rules.diameter.head ?? VALUE_KEY;
  const d = values[dKey];
  if (d) {
    const need = minDiameter(rules, spotId, crop);
    let mm: number | undefined = d.value;
    if (d.unit !== undefined && d.unit !== rules.diameter.unit) {
      if (d.unit === 'px' && rules.diameter.pxPerMm !== undefined && rules.diameter.unit === 'mm') mm = d.value / rules.diameter.pxPerMm;
      else {
        mm = undefined;
        faults.push({ code: 'UNIT', spotId, message: `spot ${spotId}: diameter in "${d.unit}" cannot be compared with a minimum in "${rules.diameter.unit}" (set diameter.pxPerMm for px)` });
        reasons.push(`diameter unit "${d.unit}" unknown`);
      }
    }
    if (need === undefined) {
      faults.push({ code: 'NO_STACKUP', spotId, message: `spot ${spotId}: no sheet thickness for the diameter rule (give spots.${spotId}.stackup, .t or .minDiameter, or stackupThickness in the recipe)` });
      reasons.push('no minimum diameter known');
    } else if (mm !== undefined) {
      d.min = Number(need.min.toFixed(4));
      if (mm < need.min) reasons.push(`diameter ${fmt(mm)} ${rules.diameter.unit} < ${fmt(need.min)} (${need.how})`);
    }
  } else if (rules.diameter.head !== undefined && heads.length > 0) {
    faults.push({ code: 'NO_DIAMETER', spotId, message: `spot ${spotId}: the prediction has no "${rules.diameter.head}" head value` });
    reasons.push(`no ${rules.diameter.head} value`);
  }
  if (cls?.label === undefined && !d) {
    faults.push({ code: 'EMPTY_PREDICTION', spotId, message: `spot ${spotId}: the prediction has neither a label nor a value` });
    reasons.push('empty prediction');
  }
  if (Object.keys(values).length) spot.values = values;
  if (reasons.length) {
    spot.verdict = 'NOK';
    spot.reason = reasons.join('; ');
  }
  return { spot, faults, lowConfidence };
}

export interface PartVerdict {
  verdict: 'OK' | 'NOK';
  resultCode: number;
  classId: number;
  summary: { total: number; ok: number; nok: number; missing: number };
}

/** The part from its spots and faults. */
export function judgePart(rules: VerdictRules, spots: readonly SpotResult[], faults: readonly Fault[]): PartVerdict {
  const summary = { total: spots.length, ok: 0, nok: 0, missing: 0 };
  for (const s of spots) {
    if (s.verdict === 'OK') summary.ok += 1;
    else if (s.verdict === 'NOK') summary.nok += 1;
    else summary.missing += 1;
  }
  let outcome: Outcome = 'ok';
  if (rules.part.nokWhenAnySpotNok && summary.nok > 0) outcome = 'nok';
  else if (summary.missing >= rules.part.nokWhenMissing) outcome = 'missing';
  else if (rules.part.nokOnFault && faults.length > 0) outcome = 'fault';
  const code = rules.codes[outcome];
  return { verdict: outcome === 'ok' ? 'OK' : 'NOK', resultCode: code.resultCode, classId: code.classId, summary };
}
