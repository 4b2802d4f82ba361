/**
 * MQTT (mqtt.js 5) behind SharedConnection: mqtt.js' own reconnect is off (reconnectPeriod 0), so ours is the
 * only policy. Results are published with QoS 1 and count as delivered when the broker's PUBACK came back;
 * resultId travels in MQTT 5 user properties (and in the JSON body for MQTT 3.1.1 brokers).
 */
import type { MqttClient, IClientOptions } from 'mqtt';
import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError, describeError } from '../errors';
import { hostSetting, intSetting } from '../amqp/client';

export interface MqttSettings {
  host: string;
  port: number;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
  protocolVersion: 4 | 5;
  clientId: string;
  username?: string;
  password?: string;
  keepaliveS: number;
  connectTimeoutMs: number;
}

export function parseMqttSettings(
  def: { host?: unknown; port?: unknown; tls?: unknown; tlsRejectUnauthorized?: unknown; protocolVersion?: unknown; clientId?: unknown; keepalive?: unknown; connectTimeout?: unknown },
  creds: { username?: string; password?: string } = {},
  defaultClientId = 'spotfusion-edge',
): MqttSettings {
  const tls = def.tls === true || def.tls === 'true';
  const pv = intSetting('protocolVersion', def.protocolVersion, 5, 4, 5);
  const clientId = typeof def.clientId === 'string' && def.clientId.trim() !== '' ? def.clientId.trim() : defaultClientId;
  if (clientId.length > 128) throw new SpotFusionError(PERMANENT_ERROR_CODE, 'clientId is longer than 128 characters');
  const s: MqttSettings = {
    host: hostSetting(def.host),
    port: intSetting('port', def.port, tls ? 8883 : 1883, 1, 65535),
    tls,
    tlsRejectUnauthorized: !(def.tlsRejectUnauthorized === false || def.tlsRejectUnauthorized === 'false'),
    protocolVersion: pv as 4 | 5,
    clientId,
    keepaliveS: intSetting('keepalive', def.keepalive, 30, 0, 3600),
    connectTimeoutMs: intSetting('connectTimeout', def.connectTimeout, 5000, 100, 120000),
  };
  if (creds.username) s.username = creds.username;
  if (creds.password) s.password = creds.password;
  return s;
}

export function mqttDriver(s: MqttSettings): ConnectionDriver<MqttClient> {
  const label = `mqtt ${s.host}:${s.port}`;
  return {
    describe: () => label,
    async open() {
      const opts: IClientOptions = {
        host: s.host,
        port: s.port,
        protocol: s.tls ? 'mqtts' : 'mqtt',
        protocolVersion: s.protocolVersion,
        clientId: s.clientId,
        keepalive: s.keepaliveS,
        connectTimeout: s.connectTimeoutMs,
        reconnectPeriod: 0,
        clean: true,
        resubscribe: false,
        rejectUnauthorized: s.tlsRejectUnauthorized,
      };
      if (s.username) opts.username = s.username;
      if (s.password) opts.password = s.password;
      // mqtt.js is loaded by the first MQTT connection: a flow without one never loads it (docs/RELIABILITY.md)
      const mqtt = await import('mqtt');
      return new Promise<MqttClient>((resolve, reject) => {
        const client = mqtt.connect(opts);
        let lastError: Error | undefined;
        const cleanup = (): void => {
          client.off('connect', onConnect);
          client.off('close', onClose);
        };
        const onError = (err: Error): void => {
          lastError = err;
        };
        const onConnect = (): void => {
          cleanup();
          resolve(client);
        };
        const onClose = (): void => {
          cleanup();
          client.end(true);
          reject(new SpotFusionError('CONNECT', `${label}: ${lastError ? describeError(lastError) : 'connection closed before CONNACK'}`));
        };
        // lives as long as the client: mqtt.js emits 'error' for socket and protocol errors
        client.on('error', onError);
        client.once('connect', onConnect);
        client.on('close', onClose);
      });
    },
    watch(client, lost) {
      let lastError: Error | undefined;
      const onError = (err: Error): void => {
        lastError = err;
      };
      const onClose = (): void => lost(lastError ?? new Error('connection closed'));
      client.on('error', onError);
      client.once('close', onClose);
      return () => {
        client.off('error', onError);
        client.off('close', onClose);
      };
    },
    async close(client) {
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

export interface MqttPublishOptions {
  /** topic template: {line} {area} {station} {camera} {verdict} */
  topic: string;
  retain: boolean;
}

/** Fill {field} placeholders; MQTT wildcards and control characters are replaced with _. */
export function fillTopic(template: string, fields: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    const v = fields[k];
    // eslint-disable-next-line no-control-regex
    return (typeof v === 'string' || typeof v === 'number' ? String(v) : '').replace(/[+#/\u0000-\u001f]/g, '_') || '_';
  });
}

export interface MqttItem {
  resultId: string;
  body: string;
  fields: Record<string, string>;
}

/** Publish a batch with QoS 1 in order; resolves when every PUBACK came back. */
export async function publishBatch(client: MqttClient, protocolVersion: 4 | 5, o: MqttPublishOptions, items: readonly MqttItem[]): Promise<void> {
  await Promise.all(
    items.map((it) =>
      client.publishAsync(fillTopic(o.topic, it.fields), it.body, {
        qos: 1,
        retain: o.retain,
        ...(protocolVersion === 5
          ? { properties: { contentType: 'application/json', userProperties: { resultId: it.resultId, verdict: it.fields.verdict ?? '' } } }
          : {}),
      }),
    ),
  );
}
