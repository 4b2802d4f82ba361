import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { MqttClient } from 'mqtt';
import { mqttDriver, parseMqttSettings } from '../lib/mqtt/client';
import type { ConnectionDriver } from '../lib/connection';
import { invalidDriver, reconnectMax } from '../lib/result/driver-util';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';
import { randomBytes } from 'node:crypto';
import type { MqttConfigNode } from './types';
import { hostname } from 'node:os';

interface MqttConfigDef extends NodeDef {
  host?: string;
  port?: string | number;
  tls?: boolean;
  tlsRejectUnauthorized?: boolean;
  protocolVersion?: string | number;
  clientId?: string;
  keepalive?: string | number;
  connectTimeout?: string | number;
  reconnectMaxMs?: string | number;
}

export = function register(RED: NodeAPI): void {
  // a test connection gets a client id of its own: the deployed one's would take the broker session from it
  registerDriverFactory(RED, 'spotfusion-mqtt-config', ['username', 'password'], (def, creds, ctx) =>
    mqttDriver(parseMqttSettings({ ...def, clientId: '' }, creds, `spotfusion-${ctx.purpose}-${randomBytes(6).toString('hex')}`)),
  );

  function MqttConfig(this: Node, def: MqttConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as MqttConfigNode;
    const creds = (this.credentials ?? {}) as { username?: string; password?: string };
    let driver: ConnectionDriver<MqttClient>;
    try {
      // the default is unique per machine: every station deploys the same flow (same config node id), and two
      // clients with one id take the broker session from each other
      const host = hostname().replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48);
      node.settings = parseMqttSettings(def, creds, `spotfusion-${host}-${this.id}`);
      driver = mqttDriver(node.settings);
    } catch (err) {
      this.error(`spotfusion-mqtt-config "${def.name || this.id}": ${(err as Error).message}`);
      driver = invalidDriver('mqtt', err as Error);
    }
    const max = reconnectMax(def.reconnectMaxMs);
    setupConnectionConfig<MqttClient>(RED, this, driver, { maxMs: max, baseMs: Math.min(250, max) });
  }

  RED.nodes.registerType('spotfusion-mqtt-config', MqttConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
