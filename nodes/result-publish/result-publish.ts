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
import { ArchivePolicy, ImageArchive, ARCHIVE_POLICIES, liveArchives, serveArchive } from '../lib/result/archive';
import { handleInput } from '../shared/input';
import { assertNativeModules } from '../lib/native';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { Translate, translator } from '../shared/i18n';
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

/**
 * What follows the store (handshake, dashboard, debug) reads the result, not the pixels: the frame's buffer and
 * the model's input tensor stay behind, so that Node-RED, which deep-copies a message for every extra wire of an
 * output (the station flow has three), copies no 5-megapixel frame per part.
 */
function leavePixelsBehind(msg: Msg): void {
  const frame = msg.frame;
  if (frame !== null && typeof frame === 'object' && 'data' in frame) {
    const { data: _pixels, ...meta } = frame;
    msg.frame = meta;
  }
  delete msg.batch;
}

interface Closable {
  node: Node & { deregister(user: Node, done: () => void): void; connection: EventEmitter };
}

function int(tr: Translate, name: string, raw: unknown, def: number, min: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SpotFusionError('CONFIG', tr('result-publish.errors.wholeNumber', { name, min, max, value: JSON.stringify(raw) }));
  return n;
}

/** the target kinds result-publish has, by their name in the `targets` field */
const TARGET_KINDS = ['plc', 'amqp', 'mqtt', 'postgres', 'redis', 'sqlite'] as const;
type TargetKind = (typeof TARGET_KINDS)[number];

/**
 * The targets that are on: of the configured ones (`configured`), those `raw` names (a comma or space separated
 * list, e.g. "sqlite,postgres" or what `${RESULT_TARGETS}` gave); every configured one when `raw` is empty. An
 * unknown name, or one whose setting is not there, is a CONFIG error naming it.
 */
function activeTargets(tr: Translate, raw: unknown, configured: Record<TargetKind, boolean>): Set<TargetKind> {
  if (raw !== undefined && raw !== null && typeof raw !== 'string') throw new SpotFusionError('CONFIG', tr('result-publish.errors.targetsText', { kinds: TARGET_KINDS.join(', '), value: JSON.stringify(raw) }));
  const names = (raw ?? '').split(/[\s,]+/).filter((x) => x !== '');
  if (names.length === 0) return new Set(TARGET_KINDS.filter((k) => configured[k]));
  const on = new Set<TargetKind>();
  for (const name of names) {
    if (!(TARGET_KINDS as readonly string[]).includes(name)) throw new SpotFusionError('CONFIG', tr('result-publish.errors.notTarget', { name, kinds: TARGET_KINDS.join(', ') }));
    const kind = name as TargetKind;
    if (!configured[kind]) throw new SpotFusionError('CONFIG', tr('result-publish.errors.targetWithout', { name: kind, setting: tr(`result-publish.kind.${kind}`) }));
    on.add(kind);
  }
  return on;
}

function fmtAge(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 600_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** how long close waits for archive images still being written */
const ARCHIVE_CLOSE_MS = 5000;

/** the archives of the live result-publish nodes, by node id (the archive route, the teach view) */
const archives = liveArchives;

export = function register(RED: NodeAPI): void {
  // better-sqlite3 loads its addon only when the outbox opens: check it now, so that an addon built for another
  // Node.js fails the registration (Node-RED logs it at start-up) with the command that rebuilds it
  assertNativeModules(['better-sqlite3']);
  ensureAdminRoutes(RED);
  const tr = translator(RED);
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

    // The node's status comes from one place (statusNow: outbox, deliveries and every target's connection).
    // The config nodes push their connection status to each user: this user takes the push as a cue to
    // recompute, so a green "outbox 0" can never land after (or instead of) a red ECONNREFUSED.
    let refreshSoon = (): void => undefined;
    const user = { id: node.id, status: (): void => refreshSoon() } as unknown as Node;
    const useConfig = <T extends Node & { register(u: Node): void; deregister(u: Node, d: () => void): void; connection: EventEmitter }>(id: string | undefined, what: string): T | undefined => {
      if (!id) return undefined;
      const cfg = RED.nodes.getNode(id) as T | null;
      if (!cfg) throw new SpotFusionError('CONFIG', tr('result-publish.errors.noConfigNode', { what, id: String(id) }));
      cfg.register(user);
      users.push({ node: cfg });
      return cfg;
    };

    try {
      const batchSize = int(tr, 'batchSize', def.batchSize, 100, 1, 10_000);
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
      const on = activeTargets(tr, def.targets, configured);
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
            pollMs: int(tr, 'plcPollMs', def.plcPollMs, 20, 1, 10_000),
            readyTimeoutMs: int(tr, 'plcReadyTimeout', def.plcReadyTimeout, 5000, 10, 600_000),
            ackTimeoutMs: int(tr, 'plcAckTimeout', def.plcAckTimeout, 5000, 10, 600_000),
          },
          whenConnected(conn),
        );
        // the dispatcher's limit covers the handshake's own waits plus a few PLC requests
        targets.push({ ...plcTarget(plc.id, handshake, handshake.maxDurationMs + int(tr, 'deliveryTimeout', def.deliveryTimeout, 10_000, 100, 600_000)), connection: conn });
      }
      const amqp = on.has('amqp') ? useConfig<AmqpConfigNode>(def.amqp, 'AMQP') : undefined;
      if (amqp) {
        const type = def.amqpExchangeType || 'topic';
        if (!['topic', 'direct', 'fanout', 'headers'].includes(type)) throw new SpotFusionError('CONFIG', tr('result-publish.errors.exchangeType', { type }));
        const o: AmqpPublishOptions = {
          exchange: def.amqpExchange ?? 'spotfusion.results',
          exchangeType: type as AmqpPublishOptions['exchangeType'],
          routingKey: def.amqpRoutingKey || 'inspection.{line}.{station}.{verdict}',
          mandatory: def.amqpMandatory === true,
        };
        if (def.amqpQueue) o.queue = def.amqpQueue;
        if (def.amqpBindingKey) o.bindingKey = def.amqpBindingKey;
        targets.push({ ...amqpTarget(amqp.id, amqp.connection, o, batchSize), backlog: def.amqpBacklog === true, connection: amqp.connection });
      }
      const mqtt = on.has('mqtt') ? useConfig<MqttConfigNode>(def.mqtt, 'MQTT') : undefined;
      if (mqtt) {
        const topic = def.mqttTopic || 'spotfusion/{line}/{station}/result';
        if (/[+#]/.test(topic)) throw new SpotFusionError('CONFIG', tr('result-publish.errors.topicWildcard', { topic }));
        targets.push({ ...mqttTarget(mqtt.id, mqtt.connection, mqtt.settings?.protocolVersion ?? 5, { topic, retain: def.mqttRetain === true }, batchSize), backlog: def.mqttBacklog === true, connection: mqtt.connection });
      }
      const pg = on.has('postgres') ? useConfig<PgConfigNode>(def.postgres, 'PostgreSQL') : undefined;
      if (pg) targets.push({ ...pgTarget(pg.id, pg.connection, batchSize), backlog: def.pgBacklog === true, connection: pg.connection });
      const redis = on.has('redis') ? useConfig<RedisConfigNode>(def.redis, 'Redis') : undefined;
      if (redis) {
        const key = `${redis.keyPrefix}${def.redisStream || 'spotfusion:results'}`;
        targets.push({ ...redisTarget(redis.id, redis.connection, key, int(tr, 'redisMaxLen', def.redisMaxLen, 10_000, 1, 100_000_000), batchSize), backlog: def.redisBacklog === true, connection: redis.connection });
      }
      if (on.has('sqlite')) {
        const file = def.sqliteFile ? (isAbsolute(def.sqliteFile) ? def.sqliteFile : resolve(userDir(), def.sqliteFile)) : join(userDir(), 'spotfusion', 'results.db');
        store = new SqliteResultStore(file, int(tr, 'sqliteKeep', def.sqliteKeep, 0, 0, 1_000_000_000));
        targets.push({ ...sqliteTarget(store, batchSize), backlog: def.sqliteBacklog === true });
      }
      if (targets.length === 0) throw new SpotFusionError('CONFIG', tr('result-publish.errors.noTarget'));
      const policy = def.outboxFullPolicy || 'reject';
      if (!(FULL_POLICIES as readonly string[]).includes(policy)) throw new SpotFusionError('CONFIG', tr('result-publish.errors.fullPolicy', { policy, policies: FULL_POLICIES.join(', ') }));
      outbox = new Outbox({
        file: join(userDir(), 'spotfusion', `outbox-${node.id.replace(/[^\w.-]/g, '_')}.db`),
        targets: targets.map((t) => t.name),
        backlog: targets.filter((t) => t.backlog === true).map((t) => t.name),
        maxRows: int(tr, 'outboxMaxRows', def.outboxMaxRows, 100_000, 1, 100_000_000),
        fullPolicy: policy as FullPolicy,
        synchronous: def.outboxSync === 'NORMAL' ? 'NORMAL' : 'FULL',
      });
      const apolicy = def.archivePolicy || 'none';
      if (!(ARCHIVE_POLICIES as readonly string[]).includes(apolicy)) throw new SpotFusionError('CONFIG', tr('result-publish.errors.archivePolicy', { policy: apolicy, policies: ARCHIVE_POLICIES.join(', ') }));
      if (apolicy !== 'none') {
        archive = new ImageArchive({
          dir: def.archiveDir ? (isAbsolute(def.archiveDir) ? def.archiveDir : resolve(userDir(), def.archiveDir)) : join(userDir(), 'spotfusion', 'archive'),
          policy: apolicy as ArchivePolicy,
          sampleEvery: int(tr, 'archiveSample', def.archiveSample, 10, 1, 1_000_000),
          maxAgeDays: int(tr, 'archiveMaxAgeDays', def.archiveMaxAgeDays, 30, 0, 36_500),
          maxBytes: int(tr, 'archiveMaxMB', def.archiveMaxMB, 1024, 0, 10_000_000) * 1024 * 1024,
        });
        archives.set(node.id, archive);
      }
      const retryMax = int(tr, 'retryMaxMs', def.retryMaxMs, 5000, 100, 600_000);
      dispatcher = new Dispatcher(outbox, targets, {
        backoff: { baseMs: Math.min(250, retryMax), maxMs: retryMax },
        timeoutMs: int(tr, 'deliveryTimeout', def.deliveryTimeout, 10_000, 100, 600_000),
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
        if (w !== lastWarning) node.warn(tr('result-publish.errors.retry', { target: s.label, error: s.lastError ?? 'failed', ms: delayMs }));
        lastWarning = w;
      });
      d.on('undeliverable', (s: TargetState, rows: readonly OutboxRow[], err: unknown) => {
        outboxUndeliverable.inc({ ...labels, target: s.label }, rows.length);
        // to Catch, with the results named: skipped for this target only, never silently
        node.error(tr('result-publish.errors.skipped', { target: s.label, error: describeError(err) }), {
          payload: { target: s.label, resultIds: rows.map((r) => r.resultId) },
        });
      });
      d.on('error', (err: unknown) => node.warn(`outbox: ${describeError(err)}`));
      d.start();
    }

    const statusNow = (): NodeStatus => {
      if (!outbox || !dispatcher) return errorStatus(setupError ?? tr('result-publish.errors.notConfigured'));
      const states = dispatcher.states();
      let depth = 0;
      let age = 0;
      for (const t of targets) {
        const s = outbox.stats(t.name);
        depth = Math.max(depth, s.depth);
        age = Math.max(age, s.oldestAgeMs ?? 0);
      }
      // a target is down when its last delivery failed or its connection is not up (nothing to deliver yet)
      const down = targets.filter((t) => t.connection && t.connection.state !== 'connected');
      const failing = [...new Set([...states.filter((s) => s.lastError !== undefined).map((s) => s.label), ...down.map((t) => t.label)])];
      const why = down.map((t) => t.connection?.lastError).find((e) => e !== undefined) ?? states.find((s) => s.lastError !== undefined)?.lastError;
      if (archiveFailed > 0) return { fill: 'red', shape: 'ring', text: tr('result-publish.status.archiveFailed', { depth, failed: archiveFailed, error: lastArchiveError }).slice(0, 160) };
      if (failing.length) {
        const first = why === undefined && down.every((t) => t.connection?.state === 'connecting');
        const outboxText = depth === 0 ? tr('result-publish.status.outbox', { depth }) : tr('result-publish.status.outboxOldest', { depth, age: fmtAge(age) });
        const text = `${tr(first ? 'result-publish.status.connecting' : 'result-publish.status.waiting', { outbox: outboxText, targets: failing.join(', ') })}${why ? `: ${why}` : ''}`;
        return { fill: first ? 'yellow' : 'red', shape: 'ring', text: text.slice(0, 160) };
      }
      if (depth === 0) return { fill: 'green', shape: 'dot', text: tr('result-publish.status.delivered', { delivered: states.reduce((a, s) => a + s.delivered, 0) }) };
      return { fill: 'yellow', shape: 'dot', text: tr('result-publish.status.outboxOldest', { depth, age: fmtAge(age) }) };
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
    refreshSoon = (): void => {
      lastStatus = '';
      refresh();
    };
    refresh();

    handleInput(
      node,
      async (m, send) => {
        const msg = m as Msg;
        if (!outbox || !dispatcher) throw new SpotFusionError('CONFIG', tr('result-publish.errors.setup', { error: setupError ?? 'unknown' }));
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
          node.warn(tr('result-publish.errors.outboxFull', { rows: outbox.maxRows, dropped: r.dropped }));
        }
        dispatcher.notify();
        msg.outbox = { seq: r.seq, duplicate: r.duplicate, dropped: r.dropped, rows: outbox.rows };
        leavePixelsBehind(msg);
        send(msg);
      },
      { okStatus: statusNow },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(timer);
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
          u.node.deregister(user, () => {
            left -= 1;
            if (left === 0) done();
          });
        }
      };
      // a PLC handshake in flight stops at its next step (clearing done when it can)
      void handshake?.close();
      // images still being written get a few seconds to land
      const a = archive;
      const written = a ? a.idle(ARCHIVE_CLOSE_MS).then(async (left) => {
        if (left > 0) node.warn(`close: the images of ${left} part(s) were still being written after ${ARCHIVE_CLOSE_MS} ms`);
        await a.close();
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
