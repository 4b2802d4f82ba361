import type { Node, NodeAPI, NodeDef } from 'node-red';
import { AmqpSession, amqpDriver, parseAmqpSettings } from '../lib/amqp/client';
import type { ConnectionDriver } from '../lib/connection';
import { invalidDriver, reconnectMax } from '../lib/result/driver-util';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';

interface AmqpConfigDef extends NodeDef {
  host?: string;
  port?: string | number;
  vhost?: string;
  tls?: boolean;
  tlsRejectUnauthorized?: boolean;
  heartbeat?: string | number;
  connectTimeout?: string | number;
  reconnectMaxMs?: string | number;
}

export = function register(RED: NodeAPI): void {
  const factory = registerDriverFactory(RED, 'spotfusion-amqp-config', ['username', 'password'], (def, creds, ctx) =>
    amqpDriver(parseAmqpSettings(def, creds, ctx.purpose === 'run' ? `spotfusion:${ctx.id}` : `spotfusion:${ctx.purpose}:${ctx.id}`)),
  );
  function AmqpConfig(this: Node, def: AmqpConfigDef): void {
    RED.nodes.createNode(this, def);
    const creds = (this.credentials ?? {}) as { username?: string; password?: string };
    let driver: ConnectionDriver<AmqpSession>;
    try {
      driver = factory(def as unknown as Record<string, unknown>, creds, { id: this.id, userDir: '', purpose: 'run' }) as ConnectionDriver<AmqpSession>;
    } catch (err) {
      this.error(`spotfusion-amqp-config "${def.name || this.id}": ${(err as Error).message}`);
      driver = invalidDriver('amqp', err as Error);
    }
    const max = reconnectMax(def.reconnectMaxMs);
    setupConnectionConfig<AmqpSession>(RED, this, driver, { maxMs: max, baseMs: Math.min(250, max) });
  }

  RED.nodes.registerType('spotfusion-amqp-config', AmqpConfig, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
