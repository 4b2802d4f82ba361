import { assertValid } from '../schemas';
import { SpotFusionError } from '../errors';

/**
 * The model contract: the metadata JSON beside every .onnx file (nodes/schemas/model-metadata.schema.json,
 * docs/VISION.md). This module validates it and derives what the crop node needs to preprocess for it.
 */
export type Layout = 'NCHW' | 'NHWC';
export type Task = 'classification' | 'regression' | 'multi-head';

export interface OutputSpec {
  name: string;
  head?: string;
  kind: 'classification' | 'regression';
  labels?: string[];
  activation?: 'softmax' | 'none';
  thresholds?: Record<string, number>;
  unit?: string;
  scale?: number;
  offset?: number;
  range?: { min?: number; max?: number };
}

export interface ModelMetadata {
  schemaVersion?: 1;
  name: string;
  version: string;
  description?: string;
  task: Task;
  input: { name: string; shape: Array<number | string>; layout: Layout; dtype: 'float32' };
  normalization: { scale?: number; mean: number[]; std: number[]; channelOrder?: 'RGB' | 'BGR' };
  outputs: OutputSpec[];
  metrics?: Record<string, unknown>;
  training?: Record<string, unknown>;
}

/** What the crop node needs to turn ROIs into the model's input. */
export interface Preprocess {
  width: number;
  height: number;
  channels: 1 | 3;
  layout: Layout;
  /** pixel (0..255) → (pixel * scale - mean[c]) / std[c] */
  scale: number;
  mean: number[];
  std: number[];
  channelOrder: 'RGB' | 'BGR';
  /** fixed batch size of the model, undefined when the batch dimension is dynamic */
  fixedBatch: number | undefined;
}

function positiveInt(v: number | string): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/** Schema check plus the rules a schema cannot express; errors name the field and `where`. */
export function validateMetadata(value: unknown, where = 'metadata'): ModelMetadata {
  const meta = assertValid<ModelMetadata>('model-metadata', value, where);
  const fail = (msg: string): never => {
    throw new SpotFusionError('MODEL', `${where}: ${msg}`);
  };
  const [, d1, d2, d3] = meta.input.shape;
  const [c, h, w] = meta.input.layout === 'NCHW' ? [d1, d2, d3] : [d3, d1, d2];
  if (positiveInt(c) !== 1 && positiveInt(c) !== 3) {
    fail(`input.shape channel dimension (${meta.input.layout}) must be 1 or 3, got ${JSON.stringify(c)}`);
  }
  if (!positiveInt(h) || !positiveInt(w)) fail(`input.shape height and width must be positive integers, got ${JSON.stringify(h)}×${JSON.stringify(w)}`);
  const channels = c as number;
  const n = meta.normalization;
  if (n.mean.length !== channels) fail(`normalization.mean has ${n.mean.length} values for ${channels} channel(s)`);
  if (n.std.length !== channels) fail(`normalization.std has ${n.std.length} values for ${channels} channel(s)`);
  const names = new Set<string>();
  const heads = new Set<string>();
  meta.outputs.forEach((o, i) => {
    const at = `outputs[${i}]`;
    if (names.has(o.name)) fail(`${at}.name "${o.name}" appears twice`);
    names.add(o.name);
    const head = o.head ?? o.name;
    if (heads.has(head)) fail(`${at}.head "${head}" appears twice`);
    heads.add(head);
    if (o.kind === 'classification') {
      const labels = o.labels as string[];
      if (new Set(labels).size !== labels.length) fail(`${at}.labels has duplicates`);
      for (const k of Object.keys(o.thresholds ?? {})) {
        if (k !== 'default' && !labels.includes(k)) fail(`${at}.thresholds.${k} is not one of the labels`);
      }
    } else {
      if (o.labels || o.thresholds || o.activation) fail(`${at} is a regression output: labels, thresholds and activation do not apply`);
      if (o.range && o.range.min !== undefined && o.range.max !== undefined && o.range.min > o.range.max) {
        fail(`${at}.range.min is above range.max`);
      }
    }
    if (o.kind === 'classification' && (o.unit !== undefined || o.scale !== undefined || o.offset !== undefined || o.range)) {
      fail(`${at} is a classification output: unit, scale, offset and range do not apply`);
    }
  });
  if (meta.task === 'classification' && meta.outputs.some((o) => o.kind !== 'classification')) {
    fail('task "classification" allows classification outputs only (use "multi-head")');
  }
  if (meta.task === 'regression' && meta.outputs.some((o) => o.kind !== 'regression')) {
    fail('task "regression" allows regression outputs only (use "multi-head")');
  }
  return meta;
}

export function preprocessOf(meta: ModelMetadata): Preprocess {
  const [b, d1, d2, d3] = meta.input.shape;
  const nchw = meta.input.layout === 'NCHW';
  return {
    channels: (nchw ? d1 : d3) as 1 | 3,
    height: (nchw ? d2 : d1) as number,
    width: (nchw ? d3 : d2) as number,
    layout: meta.input.layout,
    scale: meta.normalization.scale ?? 1 / 255,
    mean: meta.normalization.mean,
    std: meta.normalization.std,
    channelOrder: meta.normalization.channelOrder ?? 'RGB',
    fixedBatch: positiveInt(b),
  };
}

/** dims of a batch of n crops for this preprocessing */
export function batchDims(pre: Preprocess, n: number): [number, number, number, number] {
  return pre.layout === 'NCHW' ? [n, pre.channels, pre.height, pre.width] : [n, pre.height, pre.width, pre.channels];
}
