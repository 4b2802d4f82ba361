/**
 * AMQP 0-9-1 (RabbitMQ) through amqplib: one connection with one confirm channel, owned by SharedConnection
 * (amqplib has no reconnect of its own, so ours is the only policy). Results are published persistent, with
 * messageId = resultId, and count as delivered only when the broker confirmed them.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError, describeError } from '../errors';

export interface AmqpSettings {
  host: string;
  port: number;
  vhost: string;
  username: string;
  password: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
  heartbeatS: number;
  connectTimeoutMs: number;
  clientName: string;
}

export interface AmqpSession {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** exchanges/queues already declared on this channel */
  declared: Set<string>;
}

function config(msg: string): SpotFusionError {
  return new SpotFusionError(PERMANENT_ERROR_CODE, msg);
}

export function intSetting(name: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return def;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw config(`${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function hostSetting(raw: unknown): string {
  const host = typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw config(`host must be a host name or IP address, got ${JSON.stringify(raw)}`);
  return host;
}

export function parseAmqpSettings(
  def: { host?: unknown; port?: unknown; vhost?: unknown; tls?: unknown; tlsRejectUnauthorized?: unknown; heartbeat?: unknown; connectTimeout?: unknown },
  creds: { username?: string; password?: string } = {},
  clientName = 'spotfusion-edge',
): AmqpSettings {
  const tls = def.tls === true || def.tls === 'true';
  return {
    host: hostSetting(def.host),
    port: intSetting('port', def.port, tls ? 5671 : 5672, 1, 65535),
    vhost: typeof def.vhost === 'string' && def.vhost !== '' ? def.vhost : '/',
    username: creds.username || 'guest',
    password: creds.password || 'guest',
    tls,
    tlsRejectUnauthorized: !(def.tlsRejectUnauthorized === false || def.tlsRejectUnauthorized === 'false'),
    heartbeatS: intSetting('heartbeat', def.heartbeat, 10, 0, 600),
    connectTimeoutMs: intSetting('connectTimeout', def.connectTimeout, 5000, 100, 120000),
    clientName,
  };
}

export function amqpDriver(s: AmqpSettings): ConnectionDriver<AmqpSession> {
  const label = `amqp ${s.host}:${s.port}${s.vhost === '/' ? '' : ` vhost ${s.vhost}`}`;
  return {
    describe: () => label,
    async open() {
      const opts: Options.Connect = {
        protocol: s.tls ? 'amqps' : 'amqp',
        hostname: s.host,
        port: s.port,
        vhost: s.vhost,
        username: s.username,
        password: s.password,
        heartbeat: s.heartbeatS,
      };
      // amqplib is loaded by the first AMQP connection: a flow without one never loads it (docs/RELIABILITY.md)
      const amqp = await import('amqplib');
      let connection: ChannelModel;
      try {
        connection = await amqp.connect(opts, {
          timeout: s.connectTimeoutMs,
          clientProperties: { connection_name: s.clientName },
          ...(s.tls ? { rejectUnauthorized: s.tlsRejectUnauthorized, servername: s.host } : {}),
        });
      } catch (err) {
        const text = describeError(err);
        // wrong credentials or vhost never get better by retrying quickly, but a broker may be starting: retry
        throw new SpotFusionError('CONNECT', `${label}: ${text}`, { cause: err });
      }
      // errors before watch() is attached must not be unhandled
      connection.on('error', () => undefined);
      try {
        const channel = await connection.createConfirmChannel();
        channel.on('error', () => undefined);
        return { connection, channel, declared: new Set<string>() };
      } catch (err) {
        await connection.close().catch(() => undefined);
        throw new SpotFusionError('CONNECT', `${label}: channel: ${describeError(err)}`, { cause: err });
      }
    },
    watch(session, lost) {
      let lastError: Error | undefined;
      const onError = (err: Error): void => {
        lastError = err;
      };
      const onClose = (): void => lost(lastError ?? new Error('connection closed'));
      const onChannelClose = (): void => lost(lastError ?? new Error('channel closed by the broker'));
      session.connection.on('error', onError);
      session.connection.once('close', onClose);
      session.channel.on('error', onError);
      session.channel.once('close', onChannelClose);
      return () => {
        session.connection.off('error', onError);
        session.connection.off('close', onClose);
        session.channel.off('error', onError);
        session.channel.off('close', onChannelClose);
      };
    },
    async close(session) {
      await session.connection.close().catch(() => undefined);
    },
  };
}

export interface AmqpPublishOptions {
  exchange: string;
  exchangeType: 'topic' | 'direct' | 'fanout' | 'headers';
  /** routing key template: {line} {area} {station} {camera} {verdict} */
  routingKey: string;
  /** optional durable queue declared and bound with bindingKey */
  queue?: string;
  bindingKey?: string;
  /** unroutable results fail the batch instead of being dropped by the broker */
  mandatory?: boolean;
}

/** Fill {field} placeholders from the result's station and verdict; characters other than [\w.-] become _. */
export function fillTemplate(template: string, fields: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    const v = fields[k];
    return (typeof v === 'string' || typeof v === 'number' ? String(v) : '').replace(/[^\w.-]/g, '_') || '_';
  });
}

export interface PublishItem {
  resultId: string;
  body: string;
  fields: Record<string, string>;
  createdAt: number;
}

/** Declare (once per channel) and publish a batch; resolves when the broker confirmed all of it. */
export async function publishBatch(session: AmqpSession, o: AmqpPublishOptions, items: readonly PublishItem[]): Promise<void> {
  const ch = session.channel;
  const key = `${o.exchange}|${o.exchangeType}|${o.queue ?? ''}|${o.bindingKey ?? ''}`;
  if (!session.declared.has(key)) {
    if (o.exchange !== '') await ch.assertExchange(o.exchange, o.exchangeType, { durable: true });
    if (o.queue) {
      await ch.assertQueue(o.queue, { durable: true });
      if (o.exchange !== '') await ch.bindQueue(o.queue, o.exchange, o.bindingKey ?? '#');
    }
    session.declared.add(key);
  }
  const returned: string[] = [];
  const onReturn = (m: { properties: { messageId?: unknown } }): void => {
    returned.push(String(m.properties.messageId));
  };
  if (o.mandatory) ch.on('return', onReturn);
  try {
    const confirms = items.map(
      (it) =>
        new Promise<void>((resolve, reject) => {
          ch.publish(
            o.exchange,
            fillTemplate(o.routingKey, it.fields),
            Buffer.from(it.body, 'utf8'),
            {
              persistent: true,
              messageId: it.resultId,
              contentType: 'application/json',
              type: 'spotfusion.inspection-result.v1',
              timestamp: Math.floor(it.createdAt / 1000),
              mandatory: o.mandatory === true,
              headers: { verdict: it.fields.verdict, station: it.fields.station },
            },
            (err: unknown) => (err ? reject(new SpotFusionError('NACK', `broker refused result ${it.resultId}: ${describeError(err)}`)) : resolve()),
          );
        }),
    );
    await Promise.all(confirms);
    if (returned.length) {
      throw new SpotFusionError('UNROUTABLE', `${returned.length} result(s) had no queue to go to on exchange "${o.exchange}" (first: ${returned[0]})`);
    }
  } finally {
    if (o.mandatory) ch.off('return', onReturn);
  }
}
