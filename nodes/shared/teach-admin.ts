/**
 * Admin endpoints of the teach view (the recipe config dialog's "Teach on a frame", resources/teach/*.js), behind
 * adminAuth when it is on, each with its own permission:
 * - POST /spotfusion/teach/grab/:id            a frame grabbed now from the deployed camera config node `id`   (read)
 * - POST /spotfusion/teach/archived/:id        the last frame archived by the deployed result-publish node `id` (read)
 * - POST /spotfusion/teach/upload?format=…     an uploaded file (PNG/JPEG/TIFF, or raw Mono8 &width=&height=) (write)
 * - GET  /spotfusion/teach/frame/:frame        a kept frame as PNG                                               (read)
 * - POST /spotfusion/teach/try                 the dialog's recipe on a kept frame: locate, crop, model, verdicts (read)
 * - POST /spotfusion/teach/reference           the part reference cut from a kept (golden) frame                 (read)
 * Frames live in memory under random ids (nodes/lib/vision/teach.ts); no endpoint takes a file path. The one
 * file read, an archived frame, is the newest frame.png of the node's own archive, read only when its real path
 * (every link resolved) lies inside the archive folder and inside the Node-RED user dir.
 */
import type { Node, NodeAPI } from 'node-red';
import type { Request } from 'express';
import { adminRoutes, wrap } from './admin-route';
import { SpotFusionError, describeError } from '../lib/errors';
import { frameToImage } from '../lib/vision/crop';
import { FrameStore, MAX_UPLOAD_BYTES, decodeUpload, framePng, teachReference, tryRecipe } from '../lib/vision/teach';
import { RecipeBook } from '../lib/vision/recipe';
import { parseRules } from '../lib/result/verdict';
import type { CameraConfigNode } from '../spotfusion-camera-config/types';
import type { ModelConfigNode } from '../spotfusion-model-config/types';
import type { Frame } from '../lib/camera/sources';
import { liveArchives } from '../lib/result/archive';
import { readFile, realpath } from 'node:fs/promises';
import { sep } from 'node:path';

export const TEACH_READ_PERMISSION = 'spotfusion.teach.read';
export const TEACH_WRITE_PERMISSION = 'spotfusion.teach.write';
/** longest wait for a camera to connect and deliver one frame */
export const GRAB_MAX_MS = 15000;

const registered = new WeakSet<object>();
export const teachFrames = new FrameStore();

/** The deployed config node `id` of `type`, or a NOT_FOUND error naming what was asked. */
function configNode<T>(RED: NodeAPI, id: unknown, type: string, what: string): T {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new SpotFusionError('NOT_FOUND', `${what}: no valid node id given`);
  const node = RED.nodes.getNode(id) as Node | null;
  if (!node) throw new SpotFusionError('NOT_FOUND', `${what} ${id} is not deployed (deploy it first)`);
  if (node.type !== type) throw new SpotFusionError('NOT_FOUND', `node ${id} is a ${node.type}, not a ${type}`);
  return node as unknown as T;
}

/** Connect the camera (as a user of its shared connection for as long as it takes) and take one frame. */
async function grabOnce(cam: CameraConfigNode): Promise<Frame> {
  // a user of the shared connection for the time of one grab: the status the connection pushes goes nowhere
  const user = { id: 'spotfusion-teach', status: (): void => undefined };
  const conn = cam.connection;
  const limit = Math.min(GRAB_MAX_MS, (cam.timeoutMs || 5000) + 5000);
  let timer: NodeJS.Timeout | undefined;
  let onState: ((c: { state: string; lastError?: string }) => void) | undefined;
  let onFrame: ((f: Frame) => void) | undefined;
  let source: ReturnType<typeof conn.client> | undefined;
  conn.acquire(user);
  try {
    return await Promise.race([
      (async (): Promise<Frame> => {
        if (!conn.connected) {
          await new Promise<void>((resolve, reject) => {
            onState = (c) => {
              if (c.state === 'connected') resolve();
              else if (c.state === 'failed' || c.state === 'closed') reject(new SpotFusionError('NOT_CONNECTED', `${conn.driver.describe()}: ${c.lastError ?? c.state}`));
            };
            conn.on('state', onState);
            if (conn.connected) resolve();
          });
        }
        source = conn.client();
        if (source.selfTriggered) {
          // the camera triggers itself: the next frame it delivers
          const src = source;
          return new Promise<Frame>((resolve) => {
            onFrame = resolve;
            src.once('frame', onFrame);
          });
        }
        return source.grab({ timeoutMs: Math.min(cam.timeoutMs || 5000, GRAB_MAX_MS) });
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new SpotFusionError('TIMEOUT', `${conn.driver.describe()}: no frame within ${limit} ms (${conn.state}${conn.lastError ? `: ${conn.lastError}` : ''})`)), limit);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onState) conn.removeListener('state', onState);
    if (onFrame && source) source.removeListener('frame', onFrame);
    await conn.release(user);
  }
}

/** The request body as bytes, refused (413) past `max` bytes, from the header or while it arrives. */
function readBody(req: Request, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new SpotFusionError('TOO_LARGE', `the upload has ${declared} bytes; at most ${max}`));
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      n += c.length;
      if (n > max) {
        done = true;
        req.pause();
        reject(new SpotFusionError('TOO_LARGE', `the upload has more than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err: Error) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

function frameOf(id: unknown) {
  const f = teachFrames.get(id);
  if (!f) throw new SpotFusionError('NOT_FOUND', `frame ${typeof id === 'string' ? id.slice(0, 40) : '(none)'} is not kept (grab or upload it again)`);
  return f;
}

function describeFrame(f: ReturnType<typeof frameOf>): Record<string, unknown> {
  return { ok: true, frame: f.id, width: f.image.width, height: f.image.height, channels: f.image.channels, source: f.source };
}

export function ensureTeachRoutes(RED: NodeAPI): void {
  const routes = adminRoutes(RED, registered, TEACH_READ_PERMISSION, TEACH_WRITE_PERMISSION);
  if (!routes) return;
  const { app, read, write } = routes;

  app.post(
    '/spotfusion/teach/grab/:id',
    read,
    wrap(async (req, res) => {
      const cam = configNode<CameraConfigNode>(RED, req.params.id, 'spotfusion-camera-config', 'camera config');
      const frame = await grabOnce(cam);
      const img = await frameToImage({ ...frame, data: Buffer.from(frame.data) }, `camera ${cam.cameraId || cam.id}`);
      res.json(describeFrame(teachFrames.put(img, `camera ${cam.id}`)));
    }),
  );

  app.post(
    '/spotfusion/teach/archived/:id',
    read,
    wrap(async (req, res) => {
      const node = configNode<Node>(RED, req.params.id, 'result-publish', 'result-publish node');
      const archive = liveArchives.get(node.id);
      if (!archive) throw new SpotFusionError('NOT_FOUND', `result-publish ${node.id} archives no images (archive policy none)`);
      const rel = await archive.lastFrame();
      if (!rel) throw new SpotFusionError('NOT_FOUND', `result-publish ${node.id} has archived no frame yet`);
      const file = await archive.realFile(rel);
      const userDir = await realpath((RED.settings as unknown as { userDir?: string }).userDir || process.cwd());
      if (!file || !file.startsWith(userDir + sep)) throw new SpotFusionError('NOT_FOUND', `the last archived frame of result-publish ${node.id} (${rel}) is not a file inside the archive and the user dir`);
      const bytes = await readFile(file);
      const img = await decodeUpload(bytes, 'image');
      res.json({ ...describeFrame(teachFrames.put(img, `archive ${rel}`)), archived: rel });
    }),
  );

  app.post(
    '/spotfusion/teach/upload',
    write,
    wrap(async (req, res) => {
      const format = typeof req.query.format === 'string' ? req.query.format : 'image';
      const bytes = await readBody(req, MAX_UPLOAD_BYTES);
      const img = await decodeUpload(bytes, format, req.query.width, req.query.height);
      res.json(describeFrame(teachFrames.put(img, 'upload')));
    }),
  );

  app.get(
    '/spotfusion/teach/frame/:frame',
    read,
    wrap(async (req, res) => {
      const f = frameOf(req.params.frame);
      const png = await framePng(f.image);
      res.set('Cache-Control', 'no-store').type('image/png').send(png);
    }),
  );

  app.post(
    '/spotfusion/teach/try',
    read,
    wrap(async (req, res) => {
      const body = (req.body ?? {}) as { frame?: unknown; recipes?: unknown; program?: unknown; model?: unknown; rules?: unknown };
      const f = frameOf(body.frame);
      let json = body.recipes;
      if (typeof json === 'string') {
        try {
          json = JSON.parse(json) as unknown;
        } catch (err) {
          throw new SpotFusionError('RECIPE', `recipes: not valid JSON: ${describeError(err)}`);
        }
      }
      const recipe = RecipeBook.parse(json, 'recipes').get(body.program);
      // the verdict rules of the station's enrich node when the view sends them, else the defaults
      const rules = parseRules(body.rules, 'rules');
      const modelNode = configNode<ModelConfigNode>(RED, body.model, 'spotfusion-model-config', 'model config');
      const lease = await modelNode.host.acquire();
      try {
        res.json({ ok: true, ...(await tryRecipe(f.image, recipe, lease.model, rules)) });
      } finally {
        lease.release();
      }
    }),
  );

  app.post(
    '/spotfusion/teach/reference',
    read,
    wrap((req, res) => {
      const body = (req.body ?? {}) as { frame?: unknown; regions?: unknown; searchRange?: unknown; minScore?: unknown; rotationRange?: unknown };
      const f = frameOf(body.frame);
      res.json({ ok: true, locate: teachReference(f.image, body.regions, body) });
      return Promise.resolve();
    }),
  );
}
