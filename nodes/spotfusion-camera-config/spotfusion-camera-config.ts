import type { Node, NodeAPI, NodeDef } from 'node-red';
import { setupConnectionConfig } from '../shared/connection-config';
import { cameraDriver, CameraSettings, isSelfTriggered } from '../lib/camera/settings';
import type { FrameSource } from '../lib/camera/sources';
import type { CameraConfigNode } from './types';

type CameraConfigDef = NodeDef & CameraSettings;

export = function register(RED: NodeAPI): void {
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
  }

  RED.nodes.registerType('spotfusion-camera-config', CameraConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
      token: { type: 'password' },
    },
  });
};
