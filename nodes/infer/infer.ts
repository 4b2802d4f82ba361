import { isAbsolute, resolve } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { checkHeads, Prediction } from '../lib/vision/model';
import { isOwnBatch } from '../lib/vision/crop';
import type { Batch, CropInfo } from '../lib/vision/crop';
import { assertValid } from '../lib/schemas';
import { SpotFusionError } from '../lib/errors';
import { handleInput, recordTiming } from '../shared/input';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { Translate, translator } from '../shared/i18n';
import type { ModelConfigNode } from '../spotfusion-model-config/types';

interface InferDef extends NodeDef {
  model: string;
}

type Msg = NodeMessageInFlow & {
  batch?: Batch;
  crops?: CropInfo[];
  predictions?: Prediction[];
  model?: { name: string; version: string };
  topic?: string;
  payload?: unknown;
};

/** msg.topic "model:load" → the path to load (msg.payload string, or msg.payload.path) */
function loadCommand(msg: Msg, tr: Translate): { path: string; metadataPath?: string } | undefined {
  if (msg.topic !== 'model:load') return undefined;
  const p = msg.payload;
  if (typeof p === 'string' && p.trim()) return { path: p.trim() };
  if (p && typeof p === 'object' && typeof (p as { path?: unknown }).path === 'string') {
    const { path, metadataPath } = p as { path: string; metadataPath?: unknown };
    return typeof metadataPath === 'string' ? { path, metadataPath } : { path };
  }
  throw new SpotFusionError('INPUT', tr('infer.errors.loadCommand'));
}

/** spotId → heads that apply, from the recipe (msg.crops[].head) */
function headsOf(crops: CropInfo[] | undefined): Map<string, string[]> | undefined {
  if (!Array.isArray(crops)) return undefined;
  let map: Map<string, string[]> | undefined;
  for (const c of crops) {
    if (c && c.head !== undefined) {
      map ??= new Map();
      map.set(c.spotId, Array.isArray(c.head) ? c.head : [c.head]);
    }
  }
  return map;
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function Infer(this: Node, def: InferDef): void {
    RED.nodes.createNode(this, def);
    setupInfer(this, def);
  }

  function setupInfer(node: Node, def: InferDef): void {
    const config = RED.nodes.getNode(def.model) as ModelConfigNode | null;
    if (!config) node.status(errorStatus(tr('infer.errors.noModel')));
    else config.register(node);

    handleInput(
      node,
      async (m, send) => {
        const msg = m as Msg;
        if (!config) throw new SpotFusionError('CONFIG', tr('infer.errors.noModelConfig'));
        const cmd = loadCommand(msg, tr);
        if (cmd) {
          const userDir = (RED.settings as unknown as { userDir?: string }).userDir || process.cwd();
          const abs = (p: string): string => (isAbsolute(p) ? p : resolve(userDir, p));
          await config.host.load(abs(cmd.path), cmd.metadataPath ? abs(cmd.metadataPath) : undefined);
          return;
        }
        if (msg.batch === undefined) throw new SpotFusionError('INPUT', tr('infer.errors.noBatch'));
        // a batch our crop node made (frozen, same object) is valid by construction; anything else is checked
        if (!isOwnBatch(msg.batch)) assertValid('vision-batch', msg.batch, 'msg.batch');
        const lease = await config.host.acquire();
        try {
          const model = lease.model;
          const heads = headsOf(msg.crops);
          checkHeads(model.metadata, heads);
          const started = process.hrtime.bigint();
          const predictions = await model.run(msg.batch, heads);
          const ms = recordTiming(msg, 'infer', started);
          msg.predictions = withCropErrors(predictions, msg.crops);
          msg.model = model.id;
          statusLine(node).update({ fill: 'green', shape: 'dot', text: tr('infer.status.done', { model: model.metadata.name, version: model.metadata.version, spots: predictions.length, ms: ms.toFixed(1) }) });
        } finally {
          lease.release();
        }
        send(msg);
      },
      config ? { okStatus: () => config.statusNow() } : {},
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      if (config) config.deregister(node);
      done();
    });
  }

  /** predictions in recipe order, spots the crop node could not cut carried over with their error */
  function withCropErrors(predictions: Prediction[], crops: CropInfo[] | undefined): Prediction[] {
    if (!Array.isArray(crops) || !crops.some((c) => c && c.error)) return predictions;
    const byId = new Map(predictions.map((p) => [p.spotId, p]));
    return crops.map((c) => byId.get(c.spotId) ?? { spotId: c.spotId, error: c.error ?? 'not inferred' });
  }

  RED.nodes.registerType('infer', Infer);
};
