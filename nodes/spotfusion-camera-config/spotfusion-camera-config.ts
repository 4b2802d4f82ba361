import type { Node, NodeAPI, NodeDef } from 'node-red';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';
import { cameraDriver, CameraSettings, isSelfTriggered } from '../lib/camera/settings';
import type { FrameSource, GigeSource } from '../lib/camera/sources';
import type { StateChange } from '../lib/connection';
import type { CameraConfigNode } from './types';

type CameraConfigDef = NodeDef & CameraSettings;

export = function register(RED: NodeAPI): void {
  // Test connection grabs one frame from a camera that answers on request (HTTP, GigE software trigger,
  // simulator): opening an HTTP camera sends nothing; a self-triggered one proves itself by opening
  registerDriverFactory(
    RED,
    'spotfusion-camera-config',
    ['username', 'password', 'token'],
    (def, creds, ctx) => cameraDriver(def as unknown as CameraSettings, creds, [def.cameraId, def.name].find((v): v is string => typeof v === 'string' && v !== '') ?? ctx.id),
    async (client, timeoutMs) => {
      const source = client as FrameSource;
      if (source.selfTriggered) return `${source.kind}: open, frames come on the camera's own trigger`;
      const f = await source.grab({ timeoutMs });
      return `${source.kind}: one frame ${f.width}×${f.height} ${f.pixelFormat}`;
    },
  );

  function CameraConfig(this: Node, def: CameraConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as unknown as CameraConfigNode;
    const creds = (this.credentials ?? {}) as { username?: string; password?: string; token?: string };
    node.source = def.source || 'simulator';
    node.cameraId = def.cameraId || def.name || (def.source === 'gige' ? def.host : '') || this.id;
    node.timeoutMs = Number(def.timeout) > 0 ? Number(def.timeout) : 5000;
    node.selfTriggered = isSelfTriggered(def);
    const driver = cameraDriver(def, creds, node.cameraId);
    setupConnectionConfig<FrameSource>(RED, this, driver);
    // once per config node: the OS gave the stream socket less buffer than the frame size needs (with the figures)
    let warned = false;
    let sizeNote: string | undefined;
    let pathNote: string | undefined;
    node.connection.on('state', (change: StateChange) => {
      if (change.state !== 'connected') return;
      const src = node.connection.client() as Partial<GigeSource>;
      // the GVSP packet size chosen (negotiated jumbo, the link's, or the configured one): logged when it changes
      const size = src.packetSizeNote?.();
      if (size && size !== sizeNote) this.log(size);
      sizeNote = size;
      // the stream's receive path (batched addon, or dgram with the reason: a warning), logged when it changes
      const path = src.receivePathNote?.();
      if (path && path.text !== pathNote) {
        if (path.warn) this.warn(path.text);
        else this.log(path.text);
      }
      pathNote = path?.text;
      if (warned) return;
      const note = src.receiveWarning?.();
      if (!note) return;
      warned = true;
      this.warn(note);
    });
  }

  RED.nodes.registerType('spotfusion-camera-config', CameraConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      token: { type: 'password' },
    },
  });
};
