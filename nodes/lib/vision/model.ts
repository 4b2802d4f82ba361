import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { SpotFusionError, describeError } from '../errors';
import { batchDims, ModelMetadata, OutputSpec, Preprocess, preprocessOf, validateMetadata } from './metadata';
import type { Batch } from './crop';
import { watchMtimes } from './watch';
import { Gauge } from 'prom-client';
import { registry } from '../metrics';

/**
 * An ONNX model plus its metadata (the model contract), run with onnxruntime-node.
 *
 * loadModel() reads the .onnx and the metadata JSON beside it, validates the metadata, opens one
 * InferenceSession and checks the metadata against what the session really has (input/output names, input
 * shape, output shapes where the runtime knows them), then runs zeros of the metadata's input shape once (a
 * symbolic H/W must take the metadata's size, every output must give one row per input row) — a mismatch fails
 * the load with a clear message.
 * ModelHost keeps the current model of a config node and swaps in new versions between parts.
 */

export interface SessionConfig {
  /** intra-op threads for onnxruntime (0 or undefined: onnxruntime's default) */
  intraOpThreads?: number;
  /** execution providers in order of preference, e.g. ['cuda', 'cpu']; 'cpu' is always the last resort */
  executionProviders?: string[];
}

export interface ClassHead {
  label: string;
  score: number;
  probabilities: Record<string, number>;
  uncertain?: boolean;
}
export interface RegressionHead {
  value: number;
  unit: string;
  outOfRange?: boolean;
}
export type HeadResult = ClassHead | RegressionHead;

export interface Prediction {
  spotId: string;
  label?: string;
  score?: number;
  probabilities?: Record<string, number>;
  uncertain?: boolean;
  value?: number;
  unit?: string;
  outOfRange?: boolean;
  error?: string;
  heads?: Record<string, HeadResult>;
}

/** Input and output facts an InferenceSession exposes (a subset, so checks can be tested without a session). */
export interface SessionFacts {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata?: readonly ort.InferenceSession.ValueMetadata[];
}

let sessionsCreated = 0;
let sessionsOpen = 0;
/** How many InferenceSessions this process has created (tests use it to prove sharing). */
export function sessionCount(): number {
  return sessionsCreated;
}
/** How many InferenceSessions are open now (created and not released): redeploys must not leave any behind. */
export function openSessionCount(): number {
  return sessionsOpen;
}
new Gauge({
  name: 'spotfusion_onnx_sessions_open',
  help: 'ONNX Runtime inference sessions open in this process (one per loaded model version)',
  registers: [registry],
  collect() {
    this.set(sessionsOpen);
  },
});
async function releaseSession(session: ort.InferenceSession): Promise<void> {
  sessionsOpen -= 1;
  await session.release();
}

/** The metadata JSON of a model: same folder, same base name, .json. */
export function metadataPathFor(onnxPath: string): string {
  const ext = extname(onnxPath);
  return join(dirname(onnxPath), `${basename(onnxPath, ext)}.json`);
}

/**
 * One input dimension of the metadata against the graph's: a symbolic or unknown graph dimension takes any size
 * the metadata gives (an export with dynamic N, H, W is the usual case; the probe run at load checks the size),
 * a fixed one must be exactly the metadata's.
 */
function dimMatches(meta: number | string, real: number | string): boolean {
  if (typeof real === 'string' || real === -1) return true;
  return meta === real;
}

function showShape(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'string' ? JSON.stringify(d) : String(d))).join(', ')}]`;
}

/** Throws a MODEL error naming every difference between the metadata and the session. */
export function checkAgainstSession(meta: ModelMetadata, facts: SessionFacts, where = 'model'): void {
  const problems: string[] = [];
  if (!facts.inputNames.includes(meta.input.name)) {
    problems.push(`input "${meta.input.name}" is not in the ONNX graph (its inputs: ${facts.inputNames.map((n) => `"${n}"`).join(', ')})`);
  } else if (facts.inputNames.length !== 1) {
    problems.push(`the ONNX graph has ${facts.inputNames.length} inputs (${facts.inputNames.join(', ')}); the contract allows one`);
  }
  for (const o of meta.outputs) {
    if (!facts.outputNames.includes(o.name)) {
      problems.push(`output "${o.name}" is not in the ONNX graph (its outputs: ${facts.outputNames.map((n) => `"${n}"`).join(', ')})`);
    }
  }
  const inMeta = facts.inputMetadata?.find((m) => m.name === meta.input.name);
  if (inMeta && inMeta.isTensor) {
    if (inMeta.type !== meta.input.dtype) problems.push(`input "${meta.input.name}" is ${inMeta.type} in the ONNX graph, metadata says ${meta.input.dtype}`);
    const real = inMeta.shape;
    if (real.length > 0) {
      const ok = real.length === meta.input.shape.length && meta.input.shape.every((d, i) => dimMatches(d, real[i]));
      if (!ok) problems.push(`input "${meta.input.name}" has shape ${showShape(real)} in the ONNX graph, metadata says ${showShape(meta.input.shape)} (${meta.input.layout})`);
    }
  }
  for (const o of meta.outputs) {
    const om = facts.outputMetadata?.find((m) => m.name === o.name);
    if (!om || !om.isTensor || om.shape.length === 0) continue;
    if (om.type !== 'float32') problems.push(`output "${o.name}" is ${om.type}; the contract needs float32`);
    const tail = om.shape.slice(1).reduce<number | undefined>((acc, d) => (typeof d === 'number' && d > 0 && acc !== undefined ? acc * d : undefined), 1);
    if (tail === undefined) continue;
    const want = headWidth(o);
    if (tail !== want) {
      problems.push(
        o.kind === 'classification'
          ? `output "${o.name}" gives ${tail} values per spot, metadata has ${want} labels`
          : `output "${o.name}" gives ${tail} values per spot, a regression head gives 1`,
      );
    }
  }
  if (problems.length) throw new SpotFusionError('MODEL', `${where}: metadata does not match the ONNX graph: ${problems.join('; ')}`);
}

/** The values a head gives per spot: one per label, or 1 for a regression head. */
function headWidth(o: OutputSpec): number {
  return o.kind === 'classification' ? (o.labels as string[]).length : 1;
}

/**
 * Run zeros of the metadata's input shape once (2 rows when the batch is dynamic, else the fixed batch), so a
 * graph whose symbolic H/W cannot take the metadata's size fails at load, not on the first part, and check
 * that every output gives one row per input row with the values the metadata expects.
 */
export async function probeRun(meta: ModelMetadata, session: Pick<ort.InferenceSession, 'run'>, where = 'model'): Promise<void> {
  const pre = preprocessOf(meta);
  const rows = pre.fixedBatch ?? 2;
  const dims = batchDims(pre, rows);
  const names = meta.outputs.map((o) => o.name);
  let results: ort.InferenceSession.OnnxValueMapType;
  try {
    results = await session.run({ [meta.input.name]: new (runtime().Tensor)('float32', new Float32Array(dims[0] * dims[1] * dims[2] * dims[3]), dims) }, names);
  } catch (err) {
    throw new SpotFusionError('MODEL', `${where}: the ONNX graph cannot run the metadata's input shape ${showShape(dims)} (a probe run with zeros failed): ${describeError(err)}`, { cause: err });
  }
  const problems: string[] = [];
  for (const o of meta.outputs) {
    const t = results[o.name];
    const width = headWidth(o);
    if (t.dims[0] !== rows || t.size !== rows * width) {
      problems.push(`output "${o.name}" gives dims ${showShape(t.dims)} for an input of ${rows} rows; the contract needs ${rows} rows of ${width} value(s) (one row per input row)`);
    }
  }
  if (problems.length) throw new SpotFusionError('MODEL', `${where}: the ONNX graph's outputs do not follow its input rows: ${problems.join('; ')}`);
}

function softmax(src: ArrayLike<number>, off: number, k: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < k; i++) if (src[off + i] > max) max = src[off + i];
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const e = Math.exp(src[off + i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < k; i++) out[i] /= sum;
}

function classHead(o: OutputSpec, raw: ArrayLike<number>, row: number): ClassHead {
  const labels = o.labels as string[];
  const k = labels.length;
  const p = new Float64Array(k);
  if (o.activation === 'none') for (let i = 0; i < k; i++) p[i] = raw[row * k + i];
  else softmax(raw, row * k, k, p);
  let best = 0;
  for (let i = 1; i < k; i++) if (p[i] > p[best]) best = i;
  const probabilities: Record<string, number> = {};
  labels.forEach((l, i) => (probabilities[l] = p[i]));
  const r: ClassHead = { label: labels[best], score: p[best], probabilities };
  const t = o.thresholds?.[labels[best]] ?? o.thresholds?.default;
  if (t !== undefined) r.uncertain = p[best] < t;
  return r;
}

function regressionHead(o: OutputSpec, raw: ArrayLike<number>, row: number): RegressionHead {
  const value = raw[row] * (o.scale ?? 1) + (o.offset ?? 0);
  const r: RegressionHead = { value, unit: o.unit as string };
  if (o.range) r.outOfRange = (o.range.min !== undefined && value < o.range.min) || (o.range.max !== undefined && value > o.range.max);
  return r;
}

export class Model {
  readonly preprocess: Preprocess;
  private released = false;

  constructor(
    readonly metadata: ModelMetadata,
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly sha256: string,
  ) {
    this.preprocess = preprocessOf(metadata);
  }

  get id(): { name: string; version: string } {
    return { name: this.metadata.name, version: this.metadata.version };
  }

  /** Throws a clear error for anything run() cannot take: wrong type, dims, size, NaN, empty batch. */
  checkBatch(batch: Batch, where = 'msg.batch'): void {
    if (!batch || typeof batch !== 'object') throw new SpotFusionError('INPUT', `${where} is missing (wire a crop node before infer)`);
    if (!(batch.data instanceof Float32Array)) throw new SpotFusionError('INPUT', `${where}.data must be a Float32Array`);
    const dims = batch.dims;
    if (!Array.isArray(dims) || dims.length !== 4 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SpotFusionError('INPUT', `${where}.dims must be 4 non-negative integers, got ${JSON.stringify(dims)}`);
    }
    if (dims[0] === 0) throw new SpotFusionError('INPUT', `${where} is empty: no spot could be cut from the frame`);
    const want = batchDims(this.preprocess, dims[0]);
    if (batch.layout !== this.preprocess.layout || dims.some((d, i) => d !== want[i])) {
      const from = batch.model ? ` (made for ${batch.model.name} ${batch.model.version})` : '';
      throw new SpotFusionError(
        'INPUT',
        `${where} has dims [${dims.join(', ')}] ${String(batch.layout)}${from}; model ${this.metadata.name} ${this.metadata.version} needs [${want.join(', ')}] ${this.preprocess.layout}`,
      );
    }
    const size = dims[0] * dims[1] * dims[2] * dims[3];
    if (batch.data.length !== size) throw new SpotFusionError('INPUT', `${where}.data has ${batch.data.length} values; dims [${dims.join(', ')}] need ${size}`);
    if (!Array.isArray(batch.spotIds) || batch.spotIds.length !== dims[0]) {
      throw new SpotFusionError('INPUT', `${where}.spotIds must name each of the ${dims[0]} batch rows`);
    }
    const d = batch.data;
    for (let i = 0; i < d.length; i++) {
      // NaN and ±Infinity: v - v is NaN for both
      if (d[i] - d[i] !== 0) {
        const per = size / dims[0];
        throw new SpotFusionError('INPUT', `${where}.data has a non-finite value (${d[i]}) in row ${Math.floor(i / per)} (spot "${batch.spotIds[Math.floor(i / per)]}")`);
      }
    }
  }

  /** Run the batch; returns raw output arrays per output name (rows = batch rows). */
  async runRaw(batch: Batch): Promise<Map<string, Float32Array>> {
    if (this.released) throw new SpotFusionError('MODEL', `model ${this.metadata.name} ${this.metadata.version} was released`);
    this.checkBatch(batch);
    const n = batch.dims[0];
    const per = batch.data.length / n;
    const fixed = this.preprocess.fixedBatch;
    const names = this.metadata.outputs.map((o) => o.name);
    const widths = this.metadata.outputs.map(headWidth);
    const out = new Map<string, Float32Array>(names.map((name, i) => [name, new Float32Array(n * widths[i])]));
    const chunk = fixed ?? n;
    for (let start = 0; start < n; start += chunk) {
      const rows = Math.min(chunk, n - start);
      let data = batch.data.subarray(start * per, (start + rows) * per);
      if (rows < chunk) {
        const padded = new Float32Array(chunk * per);
        padded.set(data);
        data = padded;
      }
      const dims = [chunk, batch.dims[1], batch.dims[2], batch.dims[3]];
      const feeds = { [this.metadata.input.name]: new (runtime().Tensor)('float32', data, dims) };
      const results = await this.session.run(feeds, names);
      names.forEach((name, i) => {
        const t = results[name];
        const vals = t.data as Float32Array;
        if (!(vals instanceof Float32Array) || vals.length !== chunk * widths[i]) {
          throw new SpotFusionError('MODEL', `output "${name}" gave ${vals.length} values for ${chunk} rows; expected ${chunk * widths[i]} (dims [${t.dims.join(', ')}])`);
        }
        (out.get(name) as Float32Array).set(vals.subarray(0, rows * widths[i]), start * widths[i]);
      });
    }
    return out;
  }

  /** Run the batch and map outputs to one prediction per batch row. */
  async run(batch: Batch, heads?: ReadonlyMap<string, readonly string[]>): Promise<Prediction[]> {
    const raw = await this.runRaw(batch);
    return mapPredictions(this.metadata, raw, batch.spotIds, heads);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await releaseSession(this.session);
  }
}

/**
 * Raw outputs → predictions. A spot gets every head of the model unless `heads` names the ones that apply to
 * it (the recipe's spot.head). The first classification head fills label/score/probabilities, the first
 * regression head value/unit; with more than one head, each head's result is also under heads[name].
 */
export function mapPredictions(
  meta: ModelMetadata,
  raw: ReadonlyMap<string, Float32Array>,
  spotIds: readonly string[],
  heads?: ReadonlyMap<string, readonly string[]>,
): Prediction[] {
  const multi = meta.outputs.length > 1;
  return spotIds.map((spotId, row) => {
    const p: Prediction = { spotId };
    const wanted = heads?.get(spotId);
    const all: Record<string, HeadResult> = {};
    for (const o of meta.outputs) {
      const head = o.head ?? o.name;
      if (wanted && !wanted.includes(head)) continue;
      const values = raw.get(o.name) as Float32Array;
      if (o.kind === 'classification') {
        const r = classHead(o, values, row);
        all[head] = r;
        if (p.label === undefined) Object.assign(p, r);
      } else {
        const r = regressionHead(o, values, row);
        all[head] = r;
        if (p.value === undefined) Object.assign(p, r);
      }
    }
    if (multi) p.heads = all;
    return p;
  });
}

function unknownHeads(meta: ModelMetadata, heads: ReadonlyMap<string, readonly string[]> | undefined): string[] {
  if (!heads) return [];
  const known = new Set(meta.outputs.map((o) => o.head ?? o.name));
  const bad = new Set<string>();
  for (const list of heads.values()) for (const h of list) if (!known.has(h)) bad.add(h);
  return [...bad];
}

/** Throws when a recipe names heads the model does not have. */
export function checkHeads(meta: ModelMetadata, heads: ReadonlyMap<string, readonly string[]> | undefined): void {
  const bad = unknownHeads(meta, heads);
  if (bad.length) {
    const known = meta.outputs.map((o) => `"${o.head ?? o.name}"`).join(', ');
    throw new SpotFusionError('INPUT', `recipe names head(s) ${bad.map((h) => `"${h}"`).join(', ')} that model ${meta.name} ${meta.version} does not have (its heads: ${known})`);
  }
}

let onnxruntime: typeof ort | undefined;

/**
 * onnxruntime-node as loaded by the first model (a flow without a model never loads it, docs/RELIABILITY.md).
 * Every Tensor is made after a session exists, so it is loaded by then.
 */
function runtime(): typeof ort {
  if (!onnxruntime) throw new SpotFusionError('MODEL', 'onnxruntime-node is not loaded: no model was loaded in this process yet');
  return onnxruntime;
}

async function createSession(bytes: Uint8Array, cfg: SessionConfig, warn: (m: string) => void): Promise<ort.InferenceSession> {
  onnxruntime ??= await import('onnxruntime-node');
  const known = onnxruntime.listSupportedBackends().map((b) => b.name);
  const eps: string[] = [];
  for (const e of (cfg.executionProviders ?? ['cpu']).map((x) => x.trim().toLowerCase()).filter((x) => x !== '')) {
    if (known.includes(e)) eps.push(e);
    else warn(`execution provider "${e}" is not known to onnxruntime-node (it knows ${known.join(', ')}); ignored`);
  }
  if (!eps.includes('cpu')) eps.push('cpu');
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
  };
  if (cfg.intraOpThreads && cfg.intraOpThreads > 0) base.intraOpNumThreads = cfg.intraOpThreads;
  try {
    const s = await runtime().InferenceSession.create(bytes, { ...base, executionProviders: eps });
    sessionsCreated++;
    sessionsOpen++;
    return s;
  } catch (err) {
    if (eps.length === 1) throw err;
    // e.g. 'cuda' named on a machine without it: fall back to the CPU and say so
    warn(`execution providers [${eps.join(', ')}] failed (${describeError(err)}); using cpu`);
    const s = await runtime().InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
    sessionsCreated++;
    sessionsOpen++;
    return s;
  }
}

export interface LoadOptions extends SessionConfig {
  /** metadata JSON path; default: beside the .onnx with the same base name */
  metadataPath?: string;
  /** receives non-fatal notes (e.g. an execution provider fallback) */
  warn?: (message: string) => void;
}

/** Load, validate and check a model. Every failure is a SpotFusionError('MODEL') naming the file and the reason. */
export async function loadModel(onnxPath: string, opts: LoadOptions = {}): Promise<Model> {
  const metaPath = opts.metadataPath || metadataPathFor(onnxPath);
  let metaText: string;
  let bytes: Buffer;
  try {
    bytes = await readFile(onnxPath);
  } catch (err) {
    throw new SpotFusionError('MODEL', `cannot read model ${onnxPath}: ${describeError(err)}`, { cause: err });
  }
  try {
    metaText = await readFile(metaPath, 'utf8');
  } catch (err) {
    throw new SpotFusionError('MODEL', `cannot read the metadata of ${basename(onnxPath)} at ${metaPath}: ${describeError(err)}`, { cause: err });
  }
  let metaJson: unknown;
  try {
    metaJson = JSON.parse(metaText);
  } catch (err) {
    throw new SpotFusionError('MODEL', `${metaPath} is not valid JSON: ${describeError(err)}`, { cause: err });
  }
  let meta: ModelMetadata;
  try {
    meta = validateMetadata(metaJson, basename(metaPath));
  } catch (err) {
    throw new SpotFusionError('MODEL', describeError(err), { cause: err });
  }
  let session: ort.InferenceSession;
  try {
    session = await createSession(bytes, opts, opts.warn ?? (() => undefined));
  } catch (err) {
    throw new SpotFusionError('MODEL', `onnxruntime cannot load ${onnxPath}: ${describeError(err)}`, { cause: err });
  }
  try {
    checkAgainstSession(meta, session, basename(onnxPath));
    await probeRun(meta, session, basename(onnxPath));
  } catch (err) {
    await releaseSession(session);
    throw err;
  }
  return new Model(meta, session, onnxPath, createHash('sha256').update(bytes).digest('hex'));
}

export type HostState = 'idle' | 'loading' | 'ready' | 'failed' | 'closed';

export interface HostEvent {
  state: HostState;
  model?: { name: string; version: string };
  /** why the last load failed (the previous model, if any, is still in use) */
  lastError?: string;
}

export interface ModelHostOptions extends SessionConfig {
  /** reload when the .onnx or its metadata changes on disk */
  watch?: boolean;
  /** poll interval of the file watch, ms */
  watchIntervalMs?: number;
  /** wait this long after a change before reloading, so a copy of both files completes */
  settleMs?: number;
  metadataPath?: string;
}

interface Lease {
  model: Model;
  release(): void;
}

/**
 * The current model of one model config node: one session, shared by every infer node that uses it.
 *
 * load() loads a new version beside the current one; when it is ready it becomes current, and the old one
 * is released once the parts already running on it are done — so a swap happens between parts. A load that
 * fails leaves the current model in place and reports why (event 'state' with lastError).
 * Events: 'state' (HostEvent), 'warning' (string).
 */
export class ModelHost extends EventEmitter {
  private model: Model | undefined;
  private readonly inFlight = new Map<Model, number>();
  private readonly retiring = new Set<Model>();
  private chain: Promise<unknown> = Promise.resolve();
  private pending: Promise<Model> | undefined;
  private lastError: string | undefined;
  private state: HostState = 'idle';
  private settle: NodeJS.Timeout | undefined;
  private closed = false;
  loads = 0;

  constructor(
    private path: string,
    private readonly opts: ModelHostOptions = {},
  ) {
    super();
  }

  get modelPath(): string {
    return this.path;
  }

  /** The current model, or undefined before the first successful load. */
  current(): Model | undefined {
    return this.model;
  }

  status(): HostEvent {
    const e: HostEvent = { state: this.state };
    if (this.model) e.model = this.model.id;
    if (this.lastError) e.lastError = this.lastError;
    return e;
  }

  private setState(state: HostState): void {
    this.state = state;
    this.emit('state', this.status());
  }

  /** Load `path` (default: the configured one) and make it current; rejects, keeping the old model, on failure. */
  load(path: string = this.path, metadataPath?: string): Promise<Model> {
    const run = async (): Promise<Model> => {
      if (this.closed) throw new SpotFusionError('MODEL', 'model host is closed');
      this.setState('loading');
      this.loads++;
      let next: Model;
      try {
        next = await loadModel(path, {
          ...this.opts,
          metadataPath: metadataPath ?? (path === this.path ? this.opts.metadataPath : undefined),
          warn: (m) => this.emit('warning', m),
        });
      } catch (err) {
        this.lastError = err instanceof Error ? err.message : describeError(err);
        this.setState(this.model ? 'ready' : 'failed');
        throw err;
      }
      if (this.closed) {
        await next.release();
        throw new SpotFusionError('MODEL', 'model host closed while loading');
      }
      const old = this.model;
      this.model = next;
      this.lastError = undefined;
      if (path !== this.path) {
        this.path = path;
        if (this.opts.watch) this.startWatch();
      }
      if (old) this.retire(old);
      this.setState('ready');
      return next;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    this.pending = p;
    return p;
  }

  /** The current model, waiting for a load in progress; throws when there is none. */
  async ready(): Promise<Model> {
    if (!this.model && this.pending) await this.pending.catch(() => undefined);
    if (!this.model) {
      throw new SpotFusionError('MODEL', `no model loaded from ${this.path}${this.lastError ? `: ${this.lastError}` : ''}`);
    }
    return this.model;
  }

  /** Use the current model for one part; release() when done so a swapped-out model can be freed. */
  async acquire(): Promise<Lease> {
    const model = await this.ready();
    this.inFlight.set(model, (this.inFlight.get(model) ?? 0) + 1);
    let done = false;
    return {
      model,
      release: () => {
        if (done) return;
        done = true;
        const left = (this.inFlight.get(model) ?? 1) - 1;
        if (left > 0) this.inFlight.set(model, left);
        else {
          this.inFlight.delete(model);
          if (this.retiring.has(model)) this.free(model);
        }
      },
    };
  }

  private retire(model: Model): void {
    if (this.inFlight.has(model)) this.retiring.add(model);
    else this.free(model);
  }

  private free(model: Model): void {
    this.retiring.delete(model);
    model.release().catch((err: unknown) => this.emit('warning', `releasing ${model.metadata.name} ${model.metadata.version}: ${describeError(err)}`));
  }

  /** Watch the model and metadata files; a change reloads after settleMs. */
  startWatch(): void {
    this.stopWatch();
    const files = [this.path, this.opts.metadataPath || metadataPathFor(this.path)];
    this.unwatch = watchMtimes(files, this.opts.watchIntervalMs ?? 2000, () => {
      if (this.settle) clearTimeout(this.settle);
      this.settle = setTimeout(() => {
        this.settle = undefined;
        this.load().catch(() => undefined); // failure is reported through the 'state' event
      }, this.opts.settleMs ?? 500);
    });
  }

  private unwatch: (() => void) | undefined;

  private stopWatch(): void {
    if (this.unwatch) this.unwatch();
    this.unwatch = undefined;
    if (this.settle) clearTimeout(this.settle);
    this.settle = undefined;
  }

  /** Stop watching and release every session (waits for a load in progress). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopWatch();
    await this.chain;
    const all = new Set<Model>([...this.retiring]);
    if (this.model) all.add(this.model);
    this.model = undefined;
    this.retiring.clear();
    this.inFlight.clear();
    await Promise.all([...all].map((m) => m.release().catch(() => undefined)));
    this.setState('closed');
    this.removeAllListeners();
  }
}
