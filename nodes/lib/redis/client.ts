import type Redis from 'ioredis';
import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError, describeError } from '../errors';

export interface RedisSettings {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keyPrefix: string;
  /** CLIENT SETNAME, so operators can see our connections in CLIENT LIST */
  clientName: string;
}

export interface RedisSettingsInput {
  host?: unknown;
  port?: unknown;
  db?: unknown;
  tls?: unknown;
  tlsRejectUnauthorized?: unknown;
  connectTimeout?: unknown;
  commandTimeout?: unknown;
  keyPrefix?: unknown;
}

function intField(name: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return def;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SpotFusionError(PERMANENT_ERROR_CODE, `${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Check the config node's fields; a bad value is a permanent CONFIG error that names the field. */
export function parseRedisSettings(
  def: RedisSettingsInput,
  creds: { username?: string; password?: string } = {},
  clientName = 'spotfusion-edge',
): RedisSettings {
  const host = typeof def.host === 'string' && def.host.trim() !== '' ? def.host.trim() : '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) {
    throw new SpotFusionError(PERMANENT_ERROR_CODE, `host must be a host name or IP address, got ${JSON.stringify(def.host)}`);
  }
  const keyPrefix = typeof def.keyPrefix === 'string' ? def.keyPrefix : '';
  if (keyPrefix.length > 256) throw new SpotFusionError(PERMANENT_ERROR_CODE, 'keyPrefix is longer than 256 characters');
  const s: RedisSettings = {
    host,
    port: intField('port', def.port, 6379, 1, 65535),
    db: intField('db', def.db, 0, 0, 255),
    tls: def.tls === true || def.tls === 'true',
    tlsRejectUnauthorized: !(def.tlsRejectUnauthorized === false || def.tlsRejectUnauthorized === 'false'),
    connectTimeoutMs: intField('connectTimeout', def.connectTimeout, 5000, 100, 120000),
    commandTimeoutMs: intField('commandTimeout', def.commandTimeout, 5000, 50, 120000),
    keyPrefix,
    clientName: clientName.replace(/[^\w:.-]/g, '_'),
  };
  if (creds.username) s.username = creds.username;
  if (creds.password) s.password = creds.password;
  return s;
}

/**
 * ioredis behind our SharedConnection: ioredis' own reconnect and offline queue are off, so there is one
 * reconnect policy (capped backoff with jitter, one attempt in flight) and commands fail fast with a clear
 * error while Redis is away instead of piling up in memory.
 */
let ioredisModule: typeof import('ioredis') | undefined;

/** ioredis as loaded by the first Redis connection (a flow without Redis never loads it, docs/RELIABILITY.md). */
export function ioredis(): typeof import('ioredis') {
  if (!ioredisModule) throw new SpotFusionError('INPUT', 'no Redis connection was opened in this process yet');
  return ioredisModule;
}

export function redisDriver(s: RedisSettings): ConnectionDriver<Redis> {
  const label = `redis ${s.host}:${s.port} db ${s.db}`;
  return {
    describe: () => label,
    async open() {
      ioredisModule ??= await import('ioredis');
      const client = new ioredisModule.default({
        host: s.host,
        port: s.port,
        db: s.db,
        username: s.username,
        password: s.password,
        tls: s.tls ? { rejectUnauthorized: s.tlsRejectUnauthorized, servername: s.host } : undefined,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        reconnectOnError: () => false,
        maxRetriesPerRequest: 0,
        autoResubscribe: false,
        connectTimeout: s.connectTimeoutMs,
        // no per-command timer (one setTimeout per command halves the rate of lone commands, see bench/):
        // a stalled server is found by the PING watchdog in watch() instead
        connectionName: s.clientName,
        enableReadyCheck: true,
        // auto-pipelining would batch commands of one event-loop turn: more throughput with many messages in
        // flight, but some 70 µs more latency per lone command (bench/redis-cache.bench.cjs); a station cares
        // about the latency of each part, so it stays off
        enableAutoPipelining: false,
      });
      // ioredis emits 'error' for every socket error; this listener lives as long as the client.
      let lastError: Error | undefined;
      client.on('error', (err: Error) => {
        lastError = err;
      });
      try {
        await client.connect();
      } catch (err) {
        client.disconnect();
        throw new SpotFusionError('CONNECT', `${label}: ${describeError(lastError ?? err)}`, { cause: err });
      }
      return client;
    },
    watch(client, lost) {
      let lastError: Error | undefined;
      const onError = (err: Error): void => {
        lastError = err;
      };
      const onEnd = (): void => lost(lastError ?? new Error('connection closed by server'));
      client.on('error', onError);
      client.once('end', onEnd);
      // Replies seen since the watchdog's last look: a server that answers is alive, no PING needed. This 'data'
      // listener also keeps each reply on the socket's direct path: ioredis 5 attaches its parser with
      // prependListener(), which does not mark the stream as having a 'data' listener (Node 20's
      // kDataListening), so without an on('data') every reply is buffered and re-read one process.nextTick
      // later (two ticks per command instead of one; bench/redis-watch.bench.cjs).
      const stream = client.stream as NodeJS.ReadableStream | undefined;
      let answered = false;
      const onData = (): void => {
        answered = true;
      };
      stream?.on('data', onData);
      // Watchdog: a server that stops answering without closing the socket (stalled, network black hole) would
      // leave commands pending for ever. One PING at a time, only when nothing came back since the last look;
      // when one is older than the command timeout, the connection is dropped, every pending command fails with
      // that reason and SharedConnection reconnects.
      let pingSentAt = 0;
      let dropped = false;
      const watchdog = setInterval(() => {
        // dropped once is enough: each disconnect() adds a listener to a socket that may take a while to close
        if (dropped) return;
        const now = Date.now();
        const heardFrom = answered;
        answered = false;
        if (heardFrom && pingSentAt === 0) return;
        if (pingSentAt !== 0) {
          if (now - pingSentAt > s.commandTimeoutMs) {
            lastError = new SpotFusionError('TIMEOUT', `${label}: no answer to PING within ${s.commandTimeoutMs} ms`);
            dropped = true;
            client.disconnect();
          }
          return;
        }
        pingSentAt = now;
        client.ping().then(
          () => {
            pingSentAt = 0;
          },
          (err: unknown) => {
            pingSentAt = 0;
            lastError = err instanceof Error ? err : new Error(describeError(err));
          },
        );
      }, Math.max(100, Math.min(1000, Math.floor(s.commandTimeoutMs / 2))));
      watchdog.unref();
      return () => {
        clearInterval(watchdog);
        stream?.removeListener('data', onData);
        client.off('error', onError);
        client.off('end', onEnd);
      };
    },
    async close(client) {
      // QUIT lets Redis finish what it was doing; if the socket is already gone, disconnect hard
      const quitted = client.status === 'ready' ? await client.quit().then(() => true, () => false) : false;
      if (!quitted) client.disconnect();
    },
  };
}

type CorkableStream = NodeJS.WritableStream & { cork?: () => void; uncork?: () => void; writableCorked?: number };

/**
 * Gather the commands of several messages into one socket write (one writev instead of one write system call
 * per command, which is most of the CPU a command costs: bench/redis-cache.bench.cjs). Called before each
 * command:
 * - when no reply is outstanding, nothing is done: the command is written at once, so a lone command waits
 *   for nothing (what follows it in this turn of the event loop, Node-RED's own work included, overlaps with
 *   the round trip). ioredis' auto-pipelining always waits for setImmediate and costs lone commands ~20 µs.
 * - when replies are outstanding, the socket is corked until the next setImmediate. Node-RED delivers each
 *   message in its own setImmediate callback, so this gathers the commands of all the messages delivered in
 *   this turn of the event loop; they queue behind the ones in flight on the server anyway.
 */
export function batchWrites(client: Redis): void {
  if (client.commandQueue.length === 0) return;
  const stream = client.stream as CorkableStream | undefined;
  // writableCorked: already corked (by us in this turn, or by ioredis itself)
  if (!stream || typeof stream.cork !== 'function' || stream.writableCorked !== 0) return;
  stream.cork();
  setImmediate(uncork, stream);
}

function uncork(stream: CorkableStream): void {
  stream.uncork?.();
}
