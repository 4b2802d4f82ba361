import type Redis from 'ioredis';
import type { RedisSettings } from '../lib/redis/client';
import type { ValueFormat } from '../lib/redis/cache';
import type { ConnectionConfigNode } from '../shared/connection-config';

/** What a redis-config node offers the nodes that use it. */
export interface RedisConfigNode extends ConnectionConfigNode<Redis> {
  settings: RedisSettings | undefined;
  keyPrefix: string;
  valueFormat: ValueFormat;
}
