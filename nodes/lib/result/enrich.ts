/**
 * enrich: joins the part's PLC data, the frame's metadata, the predictions, the model and the station's
 * identity into one InspectionResult v1 (nodes/schemas/inspection-result.schema.json) and judges it with the
 * verdict rules. Pure: no I/O, the clock and the id source are injectable. Missing or wrong inputs never stop
 * the result: each becomes a fault in result.faults (the node then also reports them to Catch).
 *
 * A part whose grab, crop or infer failed still gets its result: a Catch node hands enrich the part's message
 * with `msg.error` ({ message, code?, source: { id, type, name } }, as Node-RED's Catch writes it); that becomes
 * a stage fault (code CAMERA, CROP, MODEL or STAGE, naming the failing node and its error) and the part is
 * judged with the rules' `fault` outcome (verdict NOK, resultCode 4 and classId 3 by default) whatever
 * `part.nokOnFault` says: a part that was not inspected is never OK.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors';
import { assertValid } from '../schemas';
import { CropFacts, Fault, Prediction, SpotResult, VerdictRules, judgePart, judgeSpot } from './verdict';

export const RESULT_SCHEMA = 'spotfusion.inspection-result/1';

export interface StationIdentity {
  line: string;
  area: string;
  station: string;
  camera: string;
}

export interface InspectionResult {
  schema: typeof RESULT_SCHEMA;
  resultId: string;
  part: { serial: string | null; program: string | number | null; recipeVersion?: string | null; data?: Record<string, unknown> };
  station: StationIdentity;
  plc?: { station?: string; readTime?: string; cycle?: number; quality?: string };
  frame?: { cameraId?: string; frameId?: string | number; width?: number; height?: number; pixelFormat?: string };
  timestamps: { trigger?: string; grab?: string; result: string };
  durations: Record<string, number>;
  model: { name: string; version: string } | null;
  rulesVersion?: string;
  verdict: 'OK' | 'NOK';
  resultCode: number;
  classId: number;
  lowConfidence?: boolean;
  spots: SpotResult[];
  summary: { total: number; ok: number; nok: number; missing: number };
  faults: Fault[];
  /** part location (a recipe with a locate section): the placement found, its score and the minimum */
  locate?: LocatedPart;
  images?: { frame?: string; crops?: Record<string, string> };
}

export interface LocatedPart {
  dx: number;
  dy: number;
  angleDeg: number;
  score: number;
  minScore?: number;
  ok: boolean;
  features?: Array<{ id: string; score: number }>;
}

/** What enrich reads from the message. Everything is optional: what is missing becomes a fault. */
export interface EnrichInput {
  part?: unknown;
  plc?: unknown;
  predictions?: unknown;
  crops?: unknown;
  model?: unknown;
  frame?: unknown;
  timings?: unknown;
  recipeVersion?: unknown;
  /** msg.locate of the crop node: where the part was found */
  locate?: unknown;
  /** msg.error of a Catch node: the stage that failed for this part (see stageFault) */
  error?: unknown;
}

export interface EnrichOptions {
  now?: () => Date;
  newId?: () => string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** epoch ms, ISO text or Date → ISO text; undefined when absent, a fault when unreadable. */
function isoTime(v: unknown, what: string, faults: Fault[]): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const d = v instanceof Date ? v : typeof v === 'number' || typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    faults.push({ code: 'TIME', message: `${what} is not a time: ${JSON.stringify(v)}` });
    return undefined;
  }
  return d.toISOString();
}

function text(v: unknown, max = 256): string | undefined {
  if (typeof v === 'string') return v.slice(0, max);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function cropFacts(raw: unknown, faults: Fault[]): CropFacts[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    faults.push({ code: 'CROPS', message: 'msg.crops is not an array' });
    return undefined;
  }
  const out: CropFacts[] = [];
  for (const c of raw as unknown[]) {
    if (!isObj(c) || typeof c.spotId !== 'string' || c.spotId === '') continue;
    const f: CropFacts = { spotId: c.spotId };
    const b = c.box;
    if (isObj(b) && [b.x, b.y, b.w, b.h].every((n) => finite(n) !== undefined)) {
      f.box = { x: b.x as number, y: b.y as number, w: b.w as number, h: b.h as number };
      if (finite(b.rotation) !== undefined) f.box.rotation = b.rotation as number;
    }
    if (finite(c.stackupThickness) !== undefined && (c.stackupThickness as number) > 0) f.stackupThickness = c.stackupThickness as number;
    if (typeof c.error === 'string') f.error = c.error;
    const o = c.offset;
    if (isObj(o) && finite(o.dx) !== undefined && finite(o.dy) !== undefined) f.offset = { dx: o.dx as number, dy: o.dy as number };
    out.push(f);
  }
  return out;
}

function predictions(raw: unknown, faults: Fault[]): Prediction[] {
  if (raw === undefined || raw === null) {
    faults.push({ code: 'NO_PREDICTIONS', message: 'msg.predictions is missing (wire an infer node before enrich)' });
    return [];
  }
  try {
    return assertValid<Prediction[]>('vision-predictions', raw, 'msg.predictions');
  } catch (err) {
    faults.push({ code: 'PREDICTIONS', message: describeError(err) });
    return [];
  }
}

/** Fault code of a failed stage, by the failing node's type. */
export const STAGE_FAULT_CODES: Readonly<Record<string, string>> = {
  'camera-grab': 'CAMERA',
  crop: 'CROP',
  infer: 'MODEL',
};

/** The error code of a part that was not located (crop's recipe with a locate section): its own fault and outcome. */
export const LOCATE_CODE = 'LOCATE';

/** msg.locate → the result's locate (numbers only, bounded); undefined when absent or not readable. */
function locatedPart(raw: unknown): LocatedPart | undefined {
  if (!isObj(raw)) return undefined;
  const n = (v: unknown): number | undefined => finite(v);
  const [dx, dy, angleDeg, score] = [n(raw.dx), n(raw.dy), n(raw.angleDeg), n(raw.score)];
  if (dx === undefined || dy === undefined || angleDeg === undefined || score === undefined) return undefined;
  const out: LocatedPart = { dx, dy, angleDeg, score: Math.min(1, Math.max(0, score)), ok: raw.ok !== false };
  if (n(raw.minScore) !== undefined) out.minScore = raw.minScore as number;
  if (Array.isArray(raw.features)) {
    out.features = (raw.features as unknown[])
      .slice(0, 8)
      .filter((f): f is Obj => isObj(f) && typeof f.id === 'string' && finite(f.score) !== undefined)
      .map((f) => ({ id: (f.id as string).slice(0, 64), score: Math.min(1, Math.max(0, f.score as number)) }));
  }
  return out;
}

/** Faults that only say what a failed stage did not deliver: left out when the stage fault explains them. */
const CONSEQUENCES = new Set(['NO_PREDICTIONS', 'NO_MODEL']);

const MAX_FAULT_MESSAGE = 2000;

/**
 * msg.error of a Catch node → one fault naming the stage (node type and name) and its error:
 * { code: 'CAMERA', message: 'camera-grab "grab" failed: camera 127.0.0.1:3956 stopped answering … [CAMERA_LOST]' }.
 * Undefined when there is no error (undefined or null); any other value is a failure of an unknown stage.
 */
export function stageFault(raw: unknown): Fault | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) return { code: 'STAGE', message: `a stage failed: msg.error is ${text(raw, 500) ?? (Array.isArray(raw) ? 'an array' : `a ${typeof raw}`)}` };
  const src = isObj(raw.source) ? raw.source : {};
  const type = text(src.type, 64);
  const name = text(src.name, 128);
  const errCode = text(raw.code, 64);
  let code = type !== undefined && Object.prototype.hasOwnProperty.call(STAGE_FAULT_CODES, type) ? STAGE_FAULT_CODES[type] : 'STAGE';
  if (errCode === LOCATE_CODE) code = LOCATE_CODE;
  const node = type !== undefined ? `${type}${name ? ` "${name}"` : ''}` : name !== undefined && name !== '' ? `"${name}"` : 'a stage';
  // Catch writes err.toString(): "SpotFusionError: …"; the class name says nothing to the reader
  const message = (text(raw.message, MAX_FAULT_MESSAGE) ?? 'no message').replace(/^[A-Za-z]*Error: /, '');
  const suffix = errCode !== undefined && errCode !== '' && !message.includes(errCode) ? ` [${errCode}]` : '';
  return { code, message: `${node} failed: ${message}${suffix}`.slice(0, MAX_FAULT_MESSAGE) };
}

/** The identity fields must name a station; the rest may be empty. */
export function checkIdentity(id: Partial<StationIdentity>): StationIdentity {
  return {
    line: (id.line ?? '').trim().slice(0, 128),
    area: (id.area ?? '').trim().slice(0, 128),
    station: (id.station ?? '').trim().slice(0, 128),
    camera: (id.camera ?? '').trim().slice(0, 128),
  };
}

export function enrich(input: EnrichInput, rules: VerdictRules, identity: StationIdentity, opts: EnrichOptions = {}): InspectionResult {
  const now = (opts.now ?? (() => new Date()))();
  const faults: Fault[] = [];
  const stage = stageFault(input.error);
  if (stage) faults.push(stage);

  // part (PLC data)
  const part: InspectionResult['part'] = { serial: null, program: null };
  if (!isObj(input.part)) {
    faults.push({ code: 'NO_PART', message: 'msg.part is missing (wire plc-read before enrich)' });
  } else {
    const serial = text(input.part.serial);
    if (serial === undefined || serial.trim() === '') faults.push({ code: 'NO_SERIAL', message: 'msg.part.serial is missing or empty' });
    else part.serial = serial;
    const program = input.part.program;
    if (typeof program === 'number' && Number.isInteger(program)) part.program = program;
    else if (typeof program === 'string' && program !== '') part.program = program.slice(0, 128);
    else faults.push({ code: 'NO_PROGRAM', message: 'msg.part.program is missing' });
    const data: Obj = {};
    for (const [k, v] of Object.entries(input.part)) {
      if (k === 'serial' || k === 'program' || k === 'recipeVersion') continue;
      if (k === 'extra' && isObj(v)) Object.assign(data, v);
      else if (v !== undefined) data[k] = v;
    }
    if (Object.keys(data).length) part.data = data;
  }
  const recipeVersion = text(input.recipeVersion ?? (isObj(input.part) ? input.part.recipeVersion : undefined), 128);
  if (recipeVersion !== undefined) part.recipeVersion = recipeVersion;

  // PLC cycle and frame metadata
  let plc: InspectionResult['plc'];
  let trigger: string | undefined;
  if (isObj(input.plc)) {
    plc = {};
    const st = text(input.plc.station, 128);
    if (st !== undefined) plc.station = st;
    trigger = isoTime(input.plc.readTime ?? input.plc.readAt, 'msg.plc.readTime', faults);
    if (trigger) plc.readTime = trigger;
    if (Number.isInteger(input.plc.cycle)) plc.cycle = input.plc.cycle as number;
    const q = input.plc.quality;
    if (typeof q === 'string') plc.quality = q;
    else if (isObj(q)) plc.quality = Object.values(q).every((x) => x === 'good') ? 'good' : 'bad';
  }
  let frame: InspectionResult['frame'];
  let grab: string | undefined;
  if (isObj(input.frame)) {
    const f = input.frame;
    frame = {};
    const cam = text(f.cameraId, 128);
    if (cam !== undefined) frame.cameraId = cam;
    if (typeof f.frameId === 'string' || Number.isInteger(f.frameId)) frame.frameId = f.frameId as string | number;
    if (Number.isInteger(f.width) && (f.width as number) >= 0) frame.width = f.width as number;
    if (Number.isInteger(f.height) && (f.height as number) >= 0) frame.height = f.height as number;
    if (typeof f.pixelFormat === 'string') frame.pixelFormat = f.pixelFormat;
    grab = isoTime(f.timestamp, 'msg.frame.timestamp', faults);
  }

  let station = identity.station || plc?.station || '';
  if (station === '') {
    faults.push({ code: 'NO_STATION', message: 'no station name: set it in the enrich node (or ${STATION} in the environment)' });
    station = 'unknown';
  }

  // model
  let model: InspectionResult['model'] = null;
  if (isObj(input.model) && (typeof input.model.name === 'string' || typeof input.model.version === 'string')) {
    model = { name: text(input.model.name) ?? '', version: text(input.model.version, 128) ?? '' };
  } else {
    faults.push({ code: 'NO_MODEL', message: 'msg.model {name, version} is missing' });
  }

  // spots
  const crops = cropFacts(input.crops, faults);
  const preds = predictions(input.predictions, faults);
  const cropById = new Map((crops ?? []).map((c) => [c.spotId, c]));
  const predById = new Map<string, Prediction>();
  for (const p of preds) {
    if (predById.has(p.spotId)) faults.push({ code: 'DUPLICATE_SPOT', spotId: p.spotId, message: `spot ${p.spotId} has more than one prediction; the first is used` });
    else predById.set(p.spotId, p);
  }
  let expected: string[];
  if (rules.expectedSpots) expected = rules.expectedSpots;
  else if (crops) expected = crops.map((c) => c.spotId);
  else if (Object.keys(rules.spots).length) expected = Object.keys(rules.spots);
  else expected = [...predById.keys()];
  const expectedSet = new Set(expected);
  for (const id of predById.keys()) {
    if (!expectedSet.has(id)) faults.push({ code: 'UNKNOWN_SPOT', spotId: id, message: `prediction for unknown spot ${id} (not in the recipe/rules)` });
  }
  const spots: SpotResult[] = [];
  let lowConfidence = false;
  for (const id of [...new Set(expected)]) {
    const j = judgeSpot(rules, id, predById.get(id), cropById.get(id));
    spots.push(j.spot);
    faults.push(...j.faults);
    lowConfidence ||= j.lowConfidence;
  }
  if (stage) {
    // what the failed stage never delivered is not a fault of its own
    for (let i = faults.length - 1; i >= 0; i--) if (CONSEQUENCES.has(faults[i].code)) faults.splice(i, 1);
  }
  const part0 = judgePart(rules, spots, faults);
  if (stage) {
    // not inspected: the fault outcome, whatever the spots that did get judged say and whatever nokOnFault says
    part0.verdict = 'NOK';
    const code = rules.codes[stage.code === LOCATE_CODE ? 'locate' : 'fault'];
    part0.resultCode = code.resultCode;
    part0.classId = code.classId;
  }

  // times
  const result = now.toISOString();
  const durations: Record<string, number> = {};
  const ms = (a: string | undefined, b: string | undefined): number | undefined =>
    a !== undefined && b !== undefined ? Math.max(0, Date.parse(b) - Date.parse(a)) : undefined;
  const tg = ms(trigger, grab);
  const gr = ms(grab, result);
  const tr = ms(trigger, result);
  if (tg !== undefined) durations.triggerToGrab = tg;
  if (gr !== undefined) durations.grabToResult = gr;
  if (tr !== undefined) durations.total = tr;
  if (isObj(input.timings)) {
    for (const [k, v] of Object.entries(input.timings).slice(0, 32)) {
      if (finite(v) !== undefined && (v as number) >= 0) durations[k.slice(0, 64)] = v as number;
    }
  }

  const camera = identity.camera || frame?.cameraId || '';
  const out: InspectionResult = {
    schema: RESULT_SCHEMA,
    resultId: (opts.newId ?? randomUUID)(),
    part,
    station: { ...identity, station, camera },
    timestamps: { result },
    durations,
    model,
    verdict: part0.verdict,
    resultCode: part0.resultCode,
    classId: part0.classId,
    spots,
    summary: part0.summary,
    faults,
  };
  if (trigger) out.timestamps.trigger = trigger;
  if (grab) out.timestamps.grab = grab;
  if (plc) out.plc = plc;
  if (frame) out.frame = frame;
  if (rules.version !== undefined) out.rulesVersion = rules.version;
  if (lowConfidence) out.lowConfidence = true;
  const located = locatedPart(input.locate);
  if (located) out.locate = located;
  return out;
}
