import type { Node, NodeAPI, NodeDef } from 'node-red';
import type Redis from 'ioredis';
import { parseRedisSettings, redisDriver, RedisSettings, RedisSettingsInput } from '../lib/redis/client';
import { VALUE_FORMATS, ValueFormat } from '../lib/redis/cache';
import { SpotFusionError } from '../lib/errors';
import { PERMANENT_ERROR_CODE } from '../lib/connection';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';
import type { RedisConfigNode } from './types';

interface RedisConfigDef extends NodeDef, RedisSettingsInput {
  valueFormat?: string;
}


export = function register(RED: NodeAPI): void {
  registerDriverFactory(RED, 'spotfusion-redis-config', ['username', 'password'], (def, creds, ctx) => redisDriver(parseRedisSettings(def, creds, `spotfusion:${ctx.purpose}:${ctx.id}`)));

  function RedisConfig(this: Node, def: RedisConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as RedisConfigNode;
    const creds = (this.credentials ?? {}) as { username?: string; password?: string };
    node.valueFormat = (VALUE_FORMATS as readonly string[]).includes(def.valueFormat ?? '') ? (def.valueFormat as ValueFormat) : 'json';
    let settings: RedisSettings | undefined;
    let configError: SpotFusionError | undefined;
    try {
      settings = parseRedisSettings(def, creds, `spotfusion:${this.id}`);
    } catch (err) {
      configError = err as SpotFusionError;
      this.error(`redis-config "${def.name || this.id}": ${configError.message}`);
    }
    node.settings = settings;
    node.keyPrefix = settings?.keyPrefix ?? '';
    const driver = settings
      ? redisDriver(settings)
      : {
          describe: () => `redis (invalid configuration)`,
          open: () => Promise.reject(configError ?? new SpotFusionError(PERMANENT_ERROR_CODE, 'invalid configuration')),
          watch: () => () => undefined,
          close: () => Promise.resolve(),
        };
    setupConnectionConfig<Redis>(RED, this, driver);
  }

  RED.nodes.registerType('spotfusion-redis-config', RedisConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
