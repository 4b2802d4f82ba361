/**
 * The delivery targets of result-publish, each a DeliveryTarget over a shared connection (or the embedded
 * store): AMQP, MQTT, PostgreSQL, Redis stream, SQLite, and the PLC handshake behind an interface.
 */
import type Redis from 'ioredis';
import type { MqttClient } from 'mqtt';
import type { SharedConnection, StateChange } from '../connection';
import { AmqpPublishOptions, AmqpSession, publishBatch as amqpPublish } from '../amqp/client';
import { MqttPublishOptions, publishBatch as mqttPublish } from '../mqtt/client';
import { PgConnection, insertResults } from '../pg/client';
import type { DeliveryTarget } from './dispatcher';
import type { OutboxRow } from './outbox';
import type { InspectionResult } from './enrich';
import { xaddBatch } from './redis-stream';
import type { SqliteResultStore } from './sqlite-store';

/** Wake the dispatcher when a shared connection (re)connects. */
export function whenConnected<C>(conn: SharedConnection<C>): (cb: () => void) => () => void {
  return (cb) => {
    const h = (c: StateChange): void => {
      if (c.state === 'connected') cb();
    };
    conn.on('state', h);
    return () => {
      conn.off('state', h);
    };
  };
}

export interface RoutedRow {
  resultId: string;
  body: string;
  createdAt: number;
  fields: Record<string, string>;
}

/** Station and verdict of each row, for routing keys, topics and stream fields. */
export function routed(rows: readonly OutboxRow[]): RoutedRow[] {
  return rows.map((r) => {
    const res = JSON.parse(r.body) as InspectionResult;
    return {
      resultId: r.resultId,
      body: r.body,
      createdAt: r.createdAt,
      fields: { ...res.station, verdict: res.verdict, serial: res.part.serial ?? '' },
    };
  });
}

export function amqpTarget(configId: string, conn: SharedConnection<AmqpSession>, o: AmqpPublishOptions, batchSize: number): DeliveryTarget {
  return {
    name: `amqp:${configId}:${o.exchange}`,
    label: 'amqp',
    batchSize,
    deliver: (rows) => amqpPublish(conn.client(), o, routed(rows)),
    onAvailable: whenConnected(conn),
  };
}

export function mqttTarget(configId: string, conn: SharedConnection<MqttClient>, protocolVersion: 4 | 5, o: MqttPublishOptions, batchSize: number): DeliveryTarget {
  return {
    name: `mqtt:${configId}:${o.topic}`,
    label: 'mqtt',
    batchSize,
    deliver: (rows) => mqttPublish(conn.client(), protocolVersion, o, routed(rows)),
    onAvailable: whenConnected(conn),
  };
}

export function pgTarget(configId: string, conn: SharedConnection<PgConnection>, batchSize: number): DeliveryTarget {
  return {
    name: `postgres:${configId}`,
    label: 'postgres',
    batchSize,
    deliver: async (rows) => {
      await insertResults(
        conn.client(),
        rows.map((r) => r.body),
      );
    },
    onAvailable: whenConnected(conn),
  };
}

export function redisTarget(configId: string, conn: SharedConnection<Redis>, key: string, maxLen: number, batchSize: number): DeliveryTarget {
  return {
    name: `redis:${configId}:${key}`,
    label: 'redis',
    batchSize,
    deliver: async (rows) => {
      await xaddBatch(
        conn.client(),
        key,
        maxLen,
        routed(rows).map((r) => ({ resultId: r.resultId, body: r.body, verdict: r.fields.verdict, station: r.fields.station })),
      );
    },
    onAvailable: whenConnected(conn),
  };
}

export function sqliteTarget(store: SqliteResultStore, batchSize: number): DeliveryTarget {
  return {
    name: `sqlite:${store.file}`,
    label: 'sqlite',
    batchSize,
    deliver: (rows) => {
      store.insertMany(rows.map((r) => r.body));
      return Promise.resolve();
    },
  };
}

/** What the PLC handshake target needs from the PLC side (implemented by PlcHandshakeWriter over plc-config). */
export interface PlcResultWriter {
  /** Write code, OK/NOK and counter, set done, and wait for the PLC's ack (the ready/ack sequence). */
  writeResult(r: { resultId: string; serial: string | null; ok: boolean; resultCode: number; classId: number; seq: number }): Promise<void>;
  onAvailable?(cb: () => void): () => void;
}

/**
 * The PLC handshake as a target: one result at a time, in order. `timeoutMs` is the dispatcher's limit for
 * one handshake (its waits for ready and ack included). Never fed the backlog: a PLC that receives old parts'
 * results as if they were the current part's would act on the wrong part.
 */
export function plcTarget(name: string, writer: PlcResultWriter, timeoutMs?: number): DeliveryTarget {
  const t: DeliveryTarget = {
    name: `plc:${name}`,
    label: 'plc',
    batchSize: 1,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    deliver: async (rows) => {
      for (const row of rows) {
        const r = JSON.parse(row.body) as InspectionResult;
        await writer.writeResult({ resultId: r.resultId, serial: r.part.serial, ok: r.verdict === 'OK', resultCode: r.resultCode, classId: r.classId, seq: row.seq });
      }
    },
  };
  if (writer.onAvailable) {
    const on = writer.onAvailable.bind(writer);
    return { ...t, onAvailable: on };
  }
  return t;
}
