import type Redis from 'ioredis';
import { SpotFusionError, describeError } from '../errors';
import { batchWrites } from './client';
import { parsePythonLiteral, formatPythonLiteral, JsonValue } from '../python-literal';

export const CACHE_OPERATIONS = ['get', 'set', 'del', 'exists', 'expire', 'incr', 'hget', 'hset', 'hgetall', 'hdel', 'publish'] as const;
export type CacheOperation = (typeof CACHE_OPERATIONS)[number];

/**
 * How values are stored:
 * - json: JSON in, JSON out (the default for everything new);
 * - legacy-read: reads JSON or the Python literals the legacy services wrote with str(), writes JSON;
 * - legacy: reads both, writes Python literals, for keys that legacy services still read during migration.
 */
export const VALUE_FORMATS = ['json', 'legacy-read', 'legacy'] as const;
export type ValueFormat = (typeof VALUE_FORMATS)[number];

export interface CacheRequest {
  operation: CacheOperation;
  key: string;
  field?: string;
  ttl?: number;
  value?: unknown;
}

const NEEDS_VALUE: ReadonlySet<CacheOperation> = new Set(['set', 'hset', 'publish']);

export function needsValue(op: CacheOperation): boolean {
  return NEEDS_VALUE.has(op);
}

export function encodeValue(value: unknown, format: ValueFormat): string {
  if (value === undefined) throw new SpotFusionError('VALUE', 'value is undefined: nothing to store');
  if (format === 'legacy') return formatPythonLiteral(toJson(value));
  return JSON.stringify(value);
}

function toJson(value: unknown): JsonValue {
  // drop what JSON cannot hold (functions, undefined, Buffers become {type,data}) the way JSON.stringify does
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** `where` names the key (and field) for error messages; a function is only called when there is an error. */
export function decodeValue(raw: string, format: ValueFormat, where: string | (() => string)): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (jsonErr) {
    if (format === 'json') {
      throw new SpotFusionError(
        'DECODE',
        `${describeWhere(where)} does not hold JSON (${describeError(jsonErr)}); if the legacy Python services wrote it, set the Redis config's values to "legacy-read"`,
      );
    }
  }
  try {
    return parsePythonLiteral(raw);
  } catch (litErr) {
    throw new SpotFusionError('DECODE', `${describeWhere(where)} holds neither JSON nor a Python literal: ${describeError(litErr)}`);
  }
}

function describeWhere(where: string | (() => string)): string {
  return typeof where === 'function' ? where() : where;
}

/**
 * Run one operation; keys get the config node's prefix. Written with plain promise chains rather than async/await:
 * each await is a microtask hop per message, which shows at tens of thousands of messages per second (bench/).
 * A bad value throws synchronously.
 */
export function runCacheOp(client: Redis, req: CacheRequest, prefix: string, format: ValueFormat): Promise<unknown> {
  batchWrites(client);
  const key = prefix + req.key;
  // built only for an error message: JSON.stringify of the key on every message is measurable (bench/)
  const where = (): string => (req.field !== undefined ? `field ${JSON.stringify(req.field)} of ${JSON.stringify(key)}` : JSON.stringify(key));
  const decode = (raw: string | null): unknown => (raw === null ? null : decodeValue(raw, format, where));
  const field = req.field ?? '';
  switch (req.operation) {
    case 'get':
      return client.get(key).then(decode);
    case 'set': {
      const v = encodeValue(req.value, format);
      return req.ttl ? client.set(key, v, 'EX', req.ttl) : client.set(key, v);
    }
    case 'del':
      return client.del(key);
    case 'exists':
      return client.exists(key).then((n) => n === 1);
    case 'expire':
      return client.expire(key, req.ttl ?? 0).then((n) => n === 1);
    case 'incr':
      return client.incr(key);
    case 'hget':
      return client.hget(key, field).then(decode);
    case 'hset': {
      const v = encodeValue(req.value, format);
      if (!req.ttl) return client.hset(key, field, v);
      return client
        .multi()
        .hset(key, field, v)
        .expire(key, req.ttl)
        .exec()
        .then((res) => {
          const failed = res?.find(([err]) => err);
          if (failed?.[0]) throw failed[0];
          return res?.[0]?.[1];
        });
    }
    case 'hgetall':
      return client.hgetall(key).then((all) => {
        const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        for (const [f, raw] of Object.entries(all)) out[f] = decodeValue(raw, format, `field ${JSON.stringify(f)} of ${JSON.stringify(key)}`);
        return { ...out };
      });
    case 'hdel':
      return client.hdel(key, field);
    case 'publish':
      return client.publish(key, encodeValue(req.value, format));
  }
}
