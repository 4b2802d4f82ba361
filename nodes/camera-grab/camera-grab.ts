import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { SpotFusionError } from '../lib/errors';
import { handleInput } from '../shared/input';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import type { CameraConfigNode } from '../spotfusion-camera-config/types';
import { encodeFrame, GrabRequest } from '../lib/camera/sources';

interface CameraGrabDef extends NodeDef {
  camera: string;
  encode: string;
  timeout: string | number;
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

const ENCODINGS = ['none', 'png', 'jpeg'];

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);

  function CameraGrab(this: Node, def: CameraGrabDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: CameraGrabDef): void {
    const config = RED.nodes.getNode(def.camera) as CameraConfigNode | null;
    const encodeDef = ENCODINGS.includes(def.encode) ? def.encode : 'none';
    const timeoutDef = Number(def.timeout) > 0 ? Number(def.timeout) : undefined;
    if (!config) node.status(errorStatus('no camera config selected'));
    else config.register(node);

    handleInput(
      node,
      async (msg, send) => {
        if (!config) throw new SpotFusionError('CONFIG', 'camera-grab has no camera config node: open the node and select one');
        const m = msg as Msg;
        const source = config.connection.client();
        const req: GrabRequest = { timeoutMs: timeoutDef ?? config.timeoutMs };
        const sim = m.simulator as { seed?: unknown; classOverrides?: unknown } | undefined;
        if (sim !== undefined) {
          if (typeof sim !== 'object' || sim === null) throw new SpotFusionError('MSG', 'msg.simulator must be an object { seed?, classOverrides? }');
          if (sim.seed !== undefined) {
            if (typeof sim.seed !== 'string' && typeof sim.seed !== 'number') throw new SpotFusionError('MSG', 'msg.simulator.seed must be a string or number');
            req.seed = sim.seed;
          }
          if (sim.classOverrides !== undefined) req.classOverrides = sim.classOverrides as GrabRequest['classOverrides'];
        }
        const frame = await source.grab(req);
        m.frame = frame;
        const enc = typeof m.encode === 'string' ? m.encode : encodeDef;
        if (!ENCODINGS.includes(enc)) throw new SpotFusionError('MSG', `msg.encode must be one of ${ENCODINGS.join(', ')}, got "${enc}"`);
        if (enc !== 'none') m.image = await encodeFrame(frame, enc as 'png' | 'jpeg');
        const c = source.counters();
        const extra = c.incomplete ? `, ${c.incomplete} incomplete` : '';
        node.status({ fill: 'green', shape: 'dot', text: `#${frame.frameId} ${frame.width}×${frame.height} ${frame.pixelFormat}${extra}` });
        send(m);
      },
      config ? { okStatus: () => config.statusNow() } : {},
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      if (config) config.deregister(node, done);
      else done();
    });
  }

  RED.nodes.registerType('camera-grab', CameraGrab);
};
