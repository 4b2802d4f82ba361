import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import type { EventEmitter } from 'node:events';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AmqpPublishOptions } from '../lib/amqp/client';
import { SpotFusionError, describeError } from '../lib/errors';
import { assertValid } from '../lib/schemas';
import { Dispatcher, DeliveryTarget, TargetState } from '../lib/result/dispatcher';
import type { InspectionResult } from '../lib/result/enrich';
import { FULL_POLICIES, FullPolicy, Outbox, OutboxFullError } from '../lib/result/outbox';
import { archiveFailures, outboxDelivered, outboxFailures, outboxFull, outboxUndeliverable, trackOutbox } from '../lib/result/metrics';
import { PlcHandshakeWriter, parseHandshakeTags } from '../lib/result/plc-handshake';
import { SqliteResultStore } from '../lib/result/sqlite-store';
import { amqpTarget, mqttTarget, pgTarget, plcTarget, redisTarget, sqliteTarget, whenConnected } from '../lib/result/targets';
import { ArchivePolicy, ImageArchive, ARCHIVE_POLICIES, serveArchive } from '../lib/result/archive';
import { handleInput } from '../shared/input';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import type { AmqpConfigNode } from '../spotfusion-amqp-config/types';
import type { MqttConfigNode } from '../spotfusion-mqtt-config/types';
import type { PgConfigNode } from '../spotfusion-postgres-config/types';
import type { RedisConfigNode } from '../spotfusion-redis-config/types';
import type { PlcConfigNode } from '../plc-config/types';
import type { OutboxRow } from '../lib/result/outbox';

interface PublishDef extends NodeDef {
  /** which of the configured targets are on: a comma list of TARGET_KINDS (env-substitutable); empty = all */
  targets?: string;
  plc?: string;
  plcTags?: unknown;
  plcPollMs?: string | number;
  plcReadyTimeout?: string | number;
  plcAckTimeout?: string | number;
  amqp?: string;
  amqpBacklog?: boolean;
  amqpExchange?: string;
  amqpExchangeType?: string;
  amqpRoutingKey?: string;
  amqpQueue?: string;
  amqpBindingKey?: string;
  amqpMandatory?: boolean;
  mqtt?: string;
  mqttTopic?: string;
  mqttRetain?: boolean;
  mqttBacklog?: boolean;
  postgres?: string;
  pgBacklog?: boolean;
  redis?: string;
  redisBacklog?: boolean;
  redisStream?: string;
  redisMaxLen?: string | number;
  sqlite?: boolean;
  sqliteFile?: string;
  sqliteKeep?: string | number;
  sqliteBacklog?: boolean;
  outboxMaxRows?: string | number;
  outboxFullPolicy?: string;
  outboxSync?: string;
  batchSize?: string | number;
  retryMaxMs?: string | number;
  deliveryTimeout?: string | number;
  archivePolicy?: string;
  archiveSample?: string | number;
  archiveDir?: string;
  archiveMaxAgeDays?: string | number;
  archiveMaxMB?: string | number;
}

type Msg = NodeMessageInFlow & Record<string, unknown>;

interface Closable {
  node: Node & { deregister(user: Node, done: () => void): void; connection: EventEmitter };
}

function int(name: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SpotFusionError('CONFIG', `${name} must be a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** the target kinds result-publish has, by their name in the `targets` field */
const TARGET_KINDS = ['plc', 'amqp', 'mqtt', 'postgres', 'redis', 'sqlite'] as const;
type TargetKind = (typeof TARGET_KINDS)[number];
const KIND_SETTING: Record<TargetKind, string> = {
  plc: 'PLC config',
  amqp: 'AMQP config',
  mqtt: 'MQTT config',
  postgres: 'PostgreSQL config',
  redis: 'Redis config',
  sqlite: 'SQLite store (tick SQLite)',
};

/**
 * The targets that are on: of the configured ones (`configured`), those `raw` names (a comma or space separated
 * list, e.g. "sqlite,postgres" or what `${RESULT_TARGETS}` gave); every configured one when `raw` is empty. An
 * unknown name, or one whose setting is not there, is a CONFIG error naming it.
 */
function activeTargets(raw: unknown, configured: Record<TargetKind, boolean>): Set<TargetKind> {
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw new SpotFusionError('CONFIG', `targets must be a text (a list of ${TARGET_KINDS.join(', ')}), got ${JSON.stringify(raw)}`);
  const names = (raw ?? '').split(/[\s,]+/).filter((x) => x !== '');
  if (names.length === 0) return new Set(TARGET_KINDS.filter((k) => configured[k]));
  const on = new Set<TargetKind>();
  for (const name of names) {
    if (!(TARGET_KINDS as readonly string[]).includes(name)) throw new SpotFusionError('CONFIG', `targets: "${name}" is not a target (one of ${TARGET_KINDS.join(', ')})`);
    const kind = name as TargetKind;
    if (!configured[kind]) throw new SpotFusionError('CONFIG', `targets: "${kind}" is on, but this node has no ${KIND_SETTING[kind]}`);
    on.add(kind);
  }
  return on;
}

function fmtAge(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 600_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** how long close waits for archive images still being written */
const ARCHIVE_CLOSE_MS = 5000;

/** the archives of the live result-publish nodes, by node id, for the archive route */
const archives = new Map<string, ImageArchive>();

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const userDir = (): string => (RED.settings as unknown as { userDir?: string }).userDir || join(homedir(), '.node-red');
  serveArchive(RED.httpNode, (nodeId) => archives.get(nodeId));

  function ResultPublish(this: Node, def: PublishDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: PublishDef): void {
    const users: Closable[] = [];
    const targets: DeliveryTarget[] = [];
    let outbox: Outbox | undefined;
    let store: SqliteResultStore | undefined;
    let dispatcher: Dispatcher | undefined;
    let archive: ImageArchive | undefined;
    let setupError: string | undefined;
    let untrack: (() => void) | undefined;
    let lastWarning = '';
    let handshake: PlcHandshakeWriter | undefined;

    const useConfig = <T extends Node & { register(u: Node): void; deregister(u: Node, d: () => void): void; connection: EventEmitter }>(id: string | undefined, what: string): T | undefined => {
      if (!id) return undefined;
      const cfg = RED.nodes.getNode(id) as T | null;
      if (!cfg) throw new SpotFusionError('CONFIG', `the ${what} config node ${id} does not exist`);
      cfg.register(node);
      users.push({ node: cfg });
      return cfg;
    };

    try {
      const batchSize = int('batchSize', def.batchSize, 100, 1, 10_000);
      // a target that is off is not set up at all: it does not register with its config node (no connection),
      // and it has no cursor in the outbox (switched on later, it is a new target: see "backlog")
      const configured: Record<TargetKind, boolean> = {
        plc: !!def.plc,
        amqp: !!def.amqp,
        mqtt: !!def.mqtt,
        postgres: !!def.postgres,
        redis: !!def.redis,
        sqlite: !!def.sqlite,
      };
      const on = activeTargets(def.targets, configured);
      const off = TARGET_KINDS.filter((k) => configured[k] && !on.has(k));
      if (off.length) node.log(`targets on: ${TARGET_KINDS.filter((k) => on.has(k)).join(', ')}; off: ${off.join(', ')}`);
      const plc = on.has('plc') ? useConfig<PlcConfigNode>(def.plc, 'PLC') : undefined;
      if (plc) {
        const tags = parseHandshakeTags(def.plcTags, plc.settings?.protocol, 'PLC handshake');
        const conn = plc.connection;
        handshake = new PlcHandshakeWriter(
          () => conn.client(),
          tags,
          {
            pollMs: int('plcPollMs', def.plcPollMs, 20, 1, 10_000),
            readyTimeoutMs: int('plcReadyTimeout', def.plcReadyTimeout, 5000, 10, 600_000),
            ackTimeoutMs: int('plcAckTimeout', def.plcAckTimeout, 5000, 10, 600_000),
          },
          whenConnected(conn),
        );
        // the dispatcher's limit covers the handshake's own waits plus a few PLC requests
        targets.push(plcTarget(plc.id, handshake, handshake.maxDurationMs + int('deliveryTimeout', def.deliveryTimeout, 10_000, 100, 600_000)));
      }
      const amqp = on.has('amqp') ? useConfig<AmqpConfigNode>(def.amqp, 'AMQP') : undefined;
      if (amqp) {
        const type = def.amqpExchangeType || 'topic';
        if (!['topic', 'direct', 'fanout', 'headers'].includes(type)) throw new SpotFusionError('CONFIG', `AMQP exchange type "${type}" is not topic, direct, fanout or headers`);
        const o: AmqpPublishOptions = {
          exchange: def.amqpExchange ?? 'spotfusion.results',
          exchangeType: type as AmqpPublishOptions['exchangeType'],
          routingKey: def.amqpRoutingKey || 'inspection.{line}.{station}.{verdict}',
          mandatory: def.amqpMandatory === true,
        };
        if (def.amqpQueue) o.queue = def.amqpQueue;
        if (def.amqpBindingKey) o.bindingKey = def.amqpBindingKey;
        targets.push({ ...amqpTarget(amqp.id, amqp.connection, o, batchSize), backlog: def.amqpBacklog === true });
      }
      const mqtt = on.has('mqtt') ? useConfig<MqttConfigNode>(def.mqtt, 'MQTT') : undefined;
      if (mqtt) {
        const topic = def.mqttTopic || 'spotfusion/{line}/{station}/result';
        if (/[+#]/.test(topic)) throw new SpotFusionError('CONFIG', `MQTT topic "${topic}" must not contain wildcards`);
        targets.push({ ...mqttTarget(mqtt.id, mqtt.connection, mqtt.settings?.protocolVersion ?? 5, { topic, retain: def.mqttRetain === true }, batchSize), backlog: def.mqttBacklog === true });
      }
      const pg = on.has('postgres') ? useConfig<PgConfigNode>(def.postgres, 'PostgreSQL') : undefined;
      if (pg) targets.push({ ...pgTarget(pg.id, pg.connection, batchSize), backlog: def.pgBacklog === true });
      const redis = on.has('redis') ? useConfig<RedisConfigNode>(def.redis, 'Redis') : undefined;
      if (redis) {
        const key = `${redis.keyPrefix}${def.redisStream || 'spotfusion:results'}`;
        targets.push({ ...redisTarget(redis.id, redis.connection, key, int('redisMaxLen', def.redisMaxLen, 10_000, 1, 100_000_000), batchSize), backlog: def.redisBacklog === true });
      }
      if (on.has('sqlite')) {
        const file = def.sqliteFile ? (isAbsolute(def.sqliteFile) ? def.sqliteFile : resolve(userDir(), def.sqliteFile)) : join(userDir(), 'spotfusion', 'results.db');
        store = new SqliteResultStore(file, int('sqliteKeep', def.sqliteKeep, 0, 0, 1_000_000_000));
        targets.push({ ...sqliteTarget(store, batchSize), backlog: def.sqliteBacklog === true });
      }
      if (targets.length === 0) throw new SpotFusionError('CONFIG', 'no target: select at least one of PLC, AMQP, MQTT, PostgreSQL, Redis or SQLite');
      const policy = def.outboxFullPolicy || 'reject';
      if (!(FULL_POLICIES as readonly string[]).includes(policy)) throw new SpotFusionError('CONFIG', `outbox full policy "${policy}" is not one of ${FULL_POLICIES.join(', ')}`);
      outbox = new Outbox({
        file: join(userDir(), 'spotfusion', `outbox-${node.id.replace(/[^\w.-]/g, '_')}.db`),
        targets: targets.map((t) => t.name),
        backlog: targets.filter((t) => t.backlog === true).map((t) => t.name),
        maxRows: int('outboxMaxRows', def.outboxMaxRows, 100_000, 1, 100_000_000),
        fullPolicy: policy as FullPolicy,
        synchronous: def.outboxSync === 'NORMAL' ? 'NORMAL' : 'FULL',
      });
      const apolicy = def.archivePolicy || 'none';
      if (!(ARCHIVE_POLICIES as readonly string[]).includes(apolicy)) throw new SpotFusionError('CONFIG', `archive policy "${apolicy}" is not one of ${ARCHIVE_POLICIES.join(', ')}`);
      if (apolicy !== 'none') {
        archive = new ImageArchive({
          dir: def.archiveDir ? (isAbsolute(def.archiveDir) ? def.archiveDir : resolve(userDir(), def.archiveDir)) : join(userDir(), 'spotfusion', 'archive'),
          policy: apolicy as ArchivePolicy,
          sampleEvery: int('archiveSample', def.archiveSample, 10, 1, 1_000_000),
          maxAgeDays: int('archiveMaxAgeDays', def.archiveMaxAgeDays, 30, 0, 36_500),
          maxBytes: int('archiveMaxMB', def.archiveMaxMB, 1024, 0, 10_000_000) * 1024 * 1024,
        });
        archives.set(node.id, archive);
      }
      const retryMax = int('retryMaxMs', def.retryMaxMs, 5000, 100, 600_000);
      dispatcher = new Dispatcher(outbox, targets, {
        backoff: { baseMs: Math.min(250, retryMax), maxMs: retryMax },
        timeoutMs: int('deliveryTimeout', def.deliveryTimeout, 10_000, 100, 600_000),
      });
    } catch (err) {
      setupError = describeError(err);
      node.error(`result-publish "${def.name || node.id}": ${setupError}`);
      outbox?.close();
      outbox = undefined;
      store?.close();
      store = undefined;
    }

    const labels = { node_id: node.id };
    let archiveFailed = 0;
    let lastArchiveError = '';
    // images written behind the message: a failure cannot fail that message any more (the PLC has its verdict,
    // the result is in the outbox); it is a warning in the log, a counter, and a red status (count since deploy)
    const onArchiveError = (err: Error): void => {
      archiveFailed += 1;
      lastArchiveError = err.message;
      archiveFailures.inc(labels);
      node.warn(err.message);
      lastStatus = '';
      refresh();
    };
    if (outbox && dispatcher) {
      const ob = outbox;
      const d = dispatcher;
      untrack = trackOutbox({
        labels: { node_id: node.id, node_name: node.name ?? '' },
        sample: () => targets.map((t) => { const s = ob.stats(t.name); return { target: t.label, depth: s.depth, oldestAgeMs: s.oldestAgeMs }; }),
      });
      d.on('delivered', (s: TargetState, n: number, recovered: boolean) => {
        outboxDelivered.inc({ ...labels, target: s.label }, n);
        if (recovered) node.log(`${s.label}: delivering again`);
      });
      d.on('failed', (s: TargetState, delayMs: number) => {
        outboxFailures.inc({ ...labels, target: s.label });
        const w = `${s.label}: ${s.lastError ?? 'failed'}`;
        if (w !== lastWarning) node.warn(`${w} (retry in ${delayMs} ms; results wait in the outbox)`);
        lastWarning = w;
      });
      d.on('undeliverable', (s: TargetState, rows: readonly OutboxRow[], err: unknown) => {
        outboxUndeliverable.inc({ ...labels, target: s.label }, rows.length);
        // to Catch, with the results named: skipped for this target only, never silently
        node.error(`${s.label}: ${describeError(err)} (skipped for ${s.label}; the other targets still get it)`, {
          payload: { target: s.label, resultIds: rows.map((r) => r.resultId) },
        });
      });
      d.on('error', (err: unknown) => node.warn(`outbox: ${describeError(err)}`));
      d.start();
    }

    const statusNow = (): NodeStatus => {
      if (!outbox || !dispatcher) return errorStatus(setupError ?? 'not configured');
      const states = dispatcher.states();
      let depth = 0;
      let age = 0;
      for (const t of targets) {
        const s = outbox.stats(t.name);
        depth = Math.max(depth, s.depth);
        age = Math.max(age, s.oldestAgeMs ?? 0);
      }
      const failing = states.filter((s) => s.lastError !== undefined).map((s) => s.label);
      if (archiveFailed > 0) return { fill: 'red', shape: 'ring', text: `outbox ${depth} · archive: ${archiveFailed} part(s) not written: ${lastArchiveError}`.slice(0, 160) };
      if (depth === 0) return { fill: 'green', shape: 'dot', text: `outbox 0 · ${states.reduce((a, s) => a + s.delivered, 0)} delivered` };
      const text = `outbox ${depth} · oldest ${fmtAge(age)}${failing.length ? ` · waiting for ${failing.join(', ')}` : ''}`;
      return { fill: failing.length ? 'red' : 'yellow', shape: failing.length ? 'ring' : 'dot', text };
    };
    let lastStatus = '';
    const refresh = (): void => {
      try {
        const s = statusNow();
        const key = JSON.stringify(s);
        if (key !== lastStatus) node.status(s);
        lastStatus = key;
      } catch (err) {
        node.status(errorStatus(describeError(err)));
      }
    };
    const timer = setInterval(refresh, 1000);
    refresh();
    // the config nodes push their connection state to every user: show the outbox again right after
    const unwatch = users.map((u) => {
      const conn = u.node.connection;
      const h = (): void => {
        lastStatus = '';
        refresh();
      };
      conn.on('state', h);
      return () => conn.off('state', h);
    });

    handleInput(
      node,
      async (m, send) => {
        const msg = m as Msg;
        if (!outbox || !dispatcher) throw new SpotFusionError('CONFIG', `result-publish is not configured: ${setupError ?? 'unknown'}`);
        const result = assertValid<InspectionResult>('inspection-result', msg.payload, 'msg.payload');
        if (archive) {
          // the paths go into the result now; the PNG files are written behind the message (the PLC gets its
          // verdict without waiting for them), at most a few parts at a time
          const job = await archive.plan(result, msg.frame, msg.crops);
          if (job) {
            result.images = job.images;
            await archive.begin(job, onArchiveError);
          }
        }
        let r;
        try {
          r = outbox.enqueue(result.resultId, JSON.stringify(result));
        } catch (err) {
          if (err instanceof OutboxFullError) outboxFull.inc({ ...labels, action: 'rejected' });
          throw err;
        }
        if (r.dropped > 0) {
          outboxFull.inc({ ...labels, action: 'dropped' }, r.dropped);
          node.warn(`outbox full (${outbox.maxRows}): dropped the ${r.dropped} oldest undelivered result(s) (policy drop-oldest)`);
        }
        dispatcher.notify();
        msg.outbox = { seq: r.seq, duplicate: r.duplicate, dropped: r.dropped, rows: outbox.rows };
        send(msg);
      },
      { okStatus: statusNow },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
      for (const off of unwatch) off();
      untrack?.();
      archives.delete(node.id);
      const finish = (): void => {
        outbox?.close();
        store?.close();
        let left = users.length;
        if (left === 0) {
          done();
          return;
        }
        for (const u of users) {
          u.node.deregister(node, () => {
            left -= 1;
            if (left === 0) done();
          });
        }
      };
      // a PLC handshake in flight stops at its next step (clearing done when it can)
      void handshake?.close();
      // images still being written get a few seconds to land
      const written = archive ? archive.idle(ARCHIVE_CLOSE_MS).then((left) => {
        if (left > 0) node.warn(`close: the images of ${left} part(s) were still being written after ${ARCHIVE_CLOSE_MS} ms`);
      }) : Promise.resolve();
      void written.then(() => {
        if (dispatcher) {
          dispatcher
            .stop()
            .catch((err: unknown) => node.warn(`close: ${describeError(err)}`))
            .finally(finish);
        } else finish();
      });
    });
  }

  RED.nodes.registerType('result-publish', ResultPublish);
};
