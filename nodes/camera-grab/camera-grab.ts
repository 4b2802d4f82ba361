import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SpotFusionError, describeError } from '../lib/errors';
import type { StateChange } from '../lib/connection';
import { handleInput, recordTiming } from '../shared/input';
import type { NodeMeter } from '../lib/metrics';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { Translate, translator } from '../shared/i18n';
import type { CameraConfigNode } from '../spotfusion-camera-config/types';
import { encodeFrame, Frame, FrameSource, GrabRequest } from '../lib/camera/sources';
import type { IncompleteInfo } from '../lib/camera/gige/gvsp';

interface CameraGrabDef extends NodeDef {
  camera: string;
  encode: string;
  timeout: string | number;
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

const ENCODINGS = ['none', 'png', 'jpeg'];
/** frames of a self-triggered camera waiting to be encoded before newer ones are skipped (and counted) */
const MAX_ENCODING = 4;
/** a self-triggered camera updates the status at most this often (a trailing update shows the last frame) */
const STATUS_EVERY_MS = 250;

function frameStatus(tr: Translate, frame: Frame, counters: Record<string, number>, skipped = 0): { fill: 'green'; shape: 'dot'; text: string } {
  const parts = [tr('camera-grab.status.frame', { frame: frame.frameId, width: frame.width, height: frame.height, format: frame.pixelFormat })];
  if (counters.incomplete) parts.push(tr('camera-grab.status.incomplete', { count: counters.incomplete }));
  if (skipped) parts.push(tr('camera-grab.status.skipped', { count: skipped }));
  return { fill: 'green', shape: 'dot', text: parts.join(', ') };
}

/**
 * The camera triggers itself (GigE on its own trigger, simulator with a period): one message per delivered frame,
 * msg = { topic: cameraId, frame (, image) }. Follows the connection: listens to each new source after a reconnect.
 * Returns the function that stops it (on close).
 */
function emitFrames(tr: Translate, node: Node, config: CameraConfigNode, encode: string, count: (failed: boolean) => void): () => void {
  let source: FrameSource | undefined;
  let closed = false;
  let encoding = 0;
  let chain: Promise<void> = Promise.resolve();
  let skipped = 0;
  let last: Frame | undefined;
  let lastStatusAt = 0;
  let statusTimer: NodeJS.Timeout | undefined;

  const showStatus = (): void => {
    statusTimer = undefined;
    lastStatusAt = Date.now();
    if (closed || !last || !source || !config.connection.connected) return;
    statusLine(node).update(frameStatus(tr, last, source.counters(), skipped));
  };
  const scheduleStatus = (): void => {
    if (statusTimer || closed) return;
    statusTimer = setTimeout(showStatus, Math.max(0, STATUS_EVERY_MS - (Date.now() - lastStatusAt)));
  };

  const onFrame = (frame: Frame): void => {
    if (closed) return;
    const msg: Record<string, unknown> = { topic: frame.cameraId, frame };
    if (encode === 'none') {
      last = frame;
      node.send(msg);
      count(false);
      scheduleStatus();
      return;
    }
    if (encoding >= MAX_ENCODING) {
      skipped += 1;
      scheduleStatus();
      return;
    }
    encoding += 1;
    chain = chain.then(async () => {
      try {
        msg.image = await encodeFrame(frame, encode as 'png' | 'jpeg');
        if (closed) return;
        last = frame;
        node.send(msg);
        count(false);
        scheduleStatus();
      } catch (e) {
        count(true);
        if (!closed) node.error(describeError(e), msg);
      } finally {
        encoding -= 1;
      }
    });
  };

  const onIncomplete = (info: IncompleteInfo): void => {
    if (closed) return;
    const total = source?.counters().incomplete ?? 0;
    node.error(tr('camera-grab.errors.dropped', { camera: config.cameraId, block: info.blockId, reason: info.reason, total }), { topic: config.cameraId, dropped: info });
    scheduleStatus();
  };

  const detach = (): void => {
    source?.removeListener('frame', onFrame);
    source?.removeListener('incomplete', onIncomplete);
    source = undefined;
  };
  const attach = (): void => {
    detach();
    if (closed || !config.connection.connected) return;
    source = config.connection.client();
    source.on('frame', onFrame);
    source.on('incomplete', onIncomplete);
  };
  const onState = (change: StateChange): void => {
    if (change.state === 'connected') attach();
    else detach();
  };
  config.connection.on('state', onState);
  attach();

  return () => {
    closed = true;
    config.connection.removeListener('state', onState);
    detach();
    if (statusTimer) clearTimeout(statusTimer);
    statusTimer = undefined;
  };
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function CameraGrab(this: Node, def: CameraGrabDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: CameraGrabDef): void {
    const config = RED.nodes.getNode(def.camera) as CameraConfigNode | null;
    const encodeDef = ENCODINGS.includes(def.encode) ? def.encode : 'none';
    const timeoutDef = Number(def.timeout) > 0 ? Number(def.timeout) : undefined;
    const selfTriggered = config?.selfTriggered === true;
    let stopEmitting: (() => void) | undefined;
    // set once handleInput has made the node's meter (emitting starts before, to catch the first 'connected')
    const metered: { meter?: NodeMeter } = {};
    let warnedInput = false;
    if (!config) node.status(errorStatus(tr('camera-grab.errors.noConfig')));
    else {
      // listen before registering, so the first 'connected' is not missed
      // frames the camera sends by itself count on the node's meter like answered messages
      if (selfTriggered) stopEmitting = emitFrames(tr, node, config, encodeDef, (failed) => metered.meter?.finish(metered.meter.start(), failed));
      config.register(node);
    }

    metered.meter = handleInput(
      node,
      async (msg, send) => {
        if (!config) throw new SpotFusionError('CONFIG', tr('camera-grab.errors.noConfigNode'));
        if (selfTriggered) {
          // the camera triggers itself: a message grabs nothing (said once, not per message)
          if (!warnedInput) {
            warnedInput = true;
            node.warn(tr('camera-grab.errors.selfTriggered', { camera: config.cameraId }));
          }
          return;
        }
        const m = msg as Msg;
        const source = config.connection.client();
        const req: GrabRequest = { timeoutMs: timeoutDef ?? config.timeoutMs };
        const sim = m.simulator as { seed?: unknown; classOverrides?: unknown; placement?: unknown } | undefined;
        if (sim !== undefined) {
          if (typeof sim !== 'object' || sim === null) throw new SpotFusionError('MSG', tr('camera-grab.errors.simulator'));
          if (sim.seed !== undefined) {
            if (typeof sim.seed !== 'string' && typeof sim.seed !== 'number') throw new SpotFusionError('MSG', tr('camera-grab.errors.seed'));
            req.seed = sim.seed;
          }
          if (sim.classOverrides !== undefined) req.classOverrides = sim.classOverrides as GrabRequest['classOverrides'];
          // checked field by field by the simulator (a SIMULATOR error naming the field)
          if (sim.placement !== undefined) req.placement = sim.placement as GrabRequest['placement'];
        }
        const started = process.hrtime.bigint();
        const frame = await source.grab(req);
        m.frame = frame;
        recordTiming(m, 'grab', started);
        const enc = typeof m.encode === 'string' ? m.encode : encodeDef;
        if (!ENCODINGS.includes(enc)) throw new SpotFusionError('MSG', tr('camera-grab.errors.encode', { encodings: ENCODINGS.join(', '), value: String(enc) }));
        if (enc !== 'none') m.image = await encodeFrame(frame, enc as 'png' | 'jpeg');
        statusLine(node).update(frameStatus(tr, frame, source.counters()));
        send(m);
      },
      config ? { okStatus: () => config.statusNow() } : {},
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      stopEmitting?.();
      if (config) config.deregister(node, done);
      else done();
    });
  }

  RED.nodes.registerType('camera-grab', CameraGrab);
};
