import type Redis from 'ioredis';
import { ioredis } from './client';
import { SpotFusionError, describeError } from '../errors';
import { batchWrites } from './client';
import { parsePythonLiteral, formatPythonLiteral, JsonValue } from '../python-literal';
import { assertValid } from '../schemas';

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
const NEEDS_FIELD: ReadonlySet<string> = new Set(['hget', 'hset', 'hdel']);
const OPERATIONS: ReadonlySet<string> = new Set(CACHE_OPERATIONS);
/** the bounds of nodes/schemas/redis-cache-input.schema.json */
const MAX_NAME = 1024;
const MAX_TTL = 315360000;

export function needsValue(op: CacheOperation): boolean {
  return NEEDS_VALUE.has(op);
}

function isName(v: unknown): v is string {
  // String length counts UTF-16 units, JSON Schema's minLength/maxLength count code points (never more): a
  // string of 1–1024 units is always within bounds; one outside them goes to ajv, which decides.
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;
}

/**
 * The usual request, checked by hand: the same rules as the redis-cache-input schema, without building a
 * candidate object and running ajv per message (bench/). Returns undefined for anything it is not sure of,
 * and cacheRequest() then lets ajv decide and name the wrong field. Never accepts what the schema refuses
 * (test/unit/redis-cache-input.test.js checks this against ajv).
 */
export function quickCacheRequest(operation: unknown, key: unknown, field: unknown, ttl: unknown): CacheRequest | undefined {
  if (typeof operation !== 'string' || !OPERATIONS.has(operation) || !isName(key)) return undefined;
  if (field === undefined) {
    if (NEEDS_FIELD.has(operation)) return undefined;
  } else if (!isName(field)) return undefined;
  if (ttl === undefined) {
    if (operation === 'expire') return undefined;
  } else if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) return undefined;
  // always the same shape (one hidden class for every request)
  return { operation: operation as CacheOperation, key, field, ttl, value: undefined };
}

/**
 * A request from the node's settings and the message (undefined = not given). Throws a SchemaError naming
 * every wrong field (msg.key, msg.ttl, …).
 */
export function cacheRequest(operation: unknown, key: unknown, field: unknown, ttl: unknown): CacheRequest {
  const quick = quickCacheRequest(operation, key, field, ttl);
  if (quick) return quick;
  const candidate: Record<string, unknown> = { operation, key };
  if (field !== undefined) candidate.field = field;
  if (ttl !== undefined) candidate.ttl = ttl;
  return assertValid<CacheRequest>('redis-cache-input', candidate);
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

/** How the legacy formats read a value: JSON and Python literals through the one parser. */
const LEGACY_READ = { json: true };

/**
 * `where` names the key (and field) for error messages; a function is only called when there is an error.
 * json: JSON.parse. The legacy formats: one parser for JSON and Python literals alike (parsePythonLiteral with
 * its JSON names), never JSON.parse first: JSON.parse rounds integers beyond 2^53, turns `1e400` and a
 * 4300-digit int into Infinity, keeps `-0` and has no depth guard, so the same number read differently
 * depending on whether it sat in a list or a tuple. Now every integer keeps its digits wherever it sits.
 */
export function decodeValue(raw: string, format: ValueFormat, where: string | (() => string)): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(raw) as unknown;
    } catch (jsonErr) {
      throw notJson(describeWhere(where), jsonErr);
    }
  }
  try {
    return parsePythonLiteral(raw, LEGACY_READ);
  } catch (litErr) {
    throw new SpotFusionError('DECODE', `${describeWhere(where)} holds neither JSON nor a Python literal: ${describeError(litErr)}`);
  }
}

function notJson(where: string, err: unknown): SpotFusionError {
  return new SpotFusionError(
    'DECODE',
    `${where} does not hold JSON (${describeError(err)}); if the legacy Python services wrote it, set the Redis config's values to "legacy-read"`,
  );
}

function describeKey(key: string, field: string | undefined): string {
  return field !== undefined ? `field ${JSON.stringify(field)} of ${JSON.stringify(key)}` : JSON.stringify(key);
}

/** A GET/HGET reply: null stays null; the text naming the key is only built for an error (it shows in bench/). */
function decodeReply(raw: string | null, format: ValueFormat, key: string, field: string | undefined): unknown {
  if (raw === null) return null;
  return decodeValue(raw, format, () => describeKey(key, field));
}

/** Decode a GET/HGET reply and hand it on: the value to onResult, a decode error to onError (never both). */
function deliverDecoded(raw: string | null, format: ValueFormat, key: string, field: string | undefined, onResult: OnResult, onError: OnError): void {
  let value: unknown;
  try {
    value = decodeReply(raw, format, key, field);
  } catch (err) {
    onError(err);
    return;
  }
  onResult(value);
}

function describeWhere(where: string | (() => string)): string {
  return typeof where === 'function' ? where() : where;
}

export type OnResult = (result: unknown) => void;
export type OnError = (err: unknown) => void;

const UTF8 = { replyEncoding: 'utf8' as const };

/**
 * One command, straight to ioredis' sendCommand: the generated client.get()/set()/… wrappers rebuild an
 * options object and check auto-pipelining on every call (≈1 µs a command, bench/redis-cache.bench.cjs).
 * Replies come back as strings (utf8), integers or null, as from the wrappers.
 */
function send(client: Redis, name: string, args: Array<string | number>): Promise<unknown> {
  return client.sendCommand(new (ioredis().Command)(name, args, UTF8)) as Promise<unknown>;
}

/**
 * Run one operation; keys get the config node's prefix. Exactly one of onResult / onError is called, later,
 * from the reply's promise reaction: one microtask hop per message, as with a callback of ioredis, instead of
 * one per promise chain link (each shows at tens of thousands of messages per second, bench/). A bad value
 * throws synchronously. onResult must not throw (it runs inside a promise reaction): catch in it.
 */
export function runCacheOp(client: Redis, req: CacheRequest, prefix: string, format: ValueFormat, onResult: OnResult, onError: OnError): void {
  batchWrites(client);
  const key = prefix + req.key;
  const field = req.field;
  switch (req.operation) {
    case 'get':
      send(client, 'get', [key]).then((raw) => deliverDecoded(raw as string | null, format, key, undefined, onResult, onError), onError);
      return;
    case 'set': {
      const v = encodeValue(req.value, format);
      send(client, 'set', req.ttl ? [key, v, 'EX', req.ttl] : [key, v]).then(onResult, onError);
      return;
    }
    case 'del':
      send(client, 'del', [key]).then(onResult, onError);
      return;
    case 'exists':
      send(client, 'exists', [key]).then((n) => onResult(n === 1), onError);
      return;
    case 'expire':
      send(client, 'expire', [key, req.ttl ?? 0]).then((n) => onResult(n === 1), onError);
      return;
    case 'incr':
      send(client, 'incr', [key]).then(onResult, onError);
      return;
    case 'hget':
      send(client, 'hget', [key, field ?? '']).then((raw) => deliverDecoded(raw as string | null, format, key, field, onResult, onError), onError);
      return;
    case 'hset': {
      const v = encodeValue(req.value, format);
      if (!req.ttl) {
        send(client, 'hset', [key, field ?? '', v]).then(onResult, onError);
        return;
      }
      client
        .multi()
        .hset(key, field ?? '', v)
        .expire(key, req.ttl)
        .exec()
        .then((res) => {
          const failed = res?.find(([err]) => err);
          if (failed?.[0]) onError(failed[0]);
          else onResult(res?.[0]?.[1]);
        }, onError);
      return;
    }
    case 'hgetall':
      client.hgetall(key).then((all) => {
        const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        try {
          for (const [f, raw] of Object.entries(all)) out[f] = decodeValue(raw, format, () => describeKey(key, f));
        } catch (err) {
          onError(err);
          return;
        }
        onResult({ ...out });
      }, onError);
      return;
    case 'hdel':
      send(client, 'hdel', [key, field ?? '']).then(onResult, onError);
      return;
    case 'publish':
      send(client, 'publish', [key, encodeValue(req.value, format)]).then(onResult, onError);
      return;
  }
}
