import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PgConnection, pgDriver, parsePgSettings } from '../lib/pg/client';
import type { ConnectionDriver } from '../lib/connection';
import { invalidDriver, reconnectMax } from '../lib/result/driver-util';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';

interface PgConfigDef extends NodeDef {
  host?: string;
  port?: string | number;
  database?: string;
  schema?: string;
  tls?: boolean;
  tlsRejectUnauthorized?: boolean;
  poolMax?: string | number;
  connectTimeout?: string | number;
  queryTimeout?: string | number;
  reconnectMaxMs?: string | number;
}

export = function register(RED: NodeAPI): void {
  const factory = registerDriverFactory(RED, 'spotfusion-postgres-config', ['user', 'password'], (def, creds, ctx) =>
    // a test creates no schema or table: it only asks the server for SELECT 1
    pgDriver(parsePgSettings(def, creds, ctx.purpose === 'run' ? `spotfusion:${ctx.id}` : `spotfusion:${ctx.purpose}:${ctx.id}`), { migrate: ctx.purpose === 'run' }),
  );
  function PgConfig(this: Node, def: PgConfigDef): void {
    RED.nodes.createNode(this, def);
    const creds = (this.credentials ?? {}) as { user?: string; password?: string };
    let driver: ConnectionDriver<PgConnection>;
    try {
      driver = factory(def as unknown as Record<string, unknown>, creds, { id: this.id, userDir: '', purpose: 'run' }) as ConnectionDriver<PgConnection>;
    } catch (err) {
      this.error(`spotfusion-postgres-config "${def.name || this.id}": ${(err as Error).message}`);
      driver = invalidDriver('postgres', err as Error);
    }
    const max = reconnectMax(def.reconnectMaxMs);
    setupConnectionConfig<PgConnection>(RED, this, driver, { maxMs: max, baseMs: Math.min(250, max) });
  }

  RED.nodes.registerType('spotfusion-postgres-config', PgConfig, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
};
