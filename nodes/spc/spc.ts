import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { AlarmEvent, BaselineEvent, Characteristic, CHARACTERISTICS, jsonOption as json, parseConfig, SeriesRecord, SpcConfig, SpcEngine } from '../lib/spc/engine';
import { SpcStore } from '../lib/spc/store';
import { RESULT_SCHEMA } from '../lib/result/enrich';
import { SpotFusionError, describeError } from '../lib/errors';
import { assertNativeModules } from '../lib/native';
import { handleInput, Send } from '../shared/input';
import { errorStatus, showStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';

interface SpcDef extends NodeDef {
  subgroupSize?: string | number;
  chart?: string;
  baselineSubgroups?: string | number;
  characteristics?: string;
  diameterHead?: string;
  rules?: string;
  sameSideRun?: string | number;
  clearAfter?: string | number;
  spec?: string;
  guns?: string;
  rebaselineOnCapChange?: boolean;
  file?: string;
  flushMs?: string | number;
}

/** series written to SQLite at most this often while parts come in (alarms and commands are written at once) */
const DEFAULT_FLUSH_MS = 1000;
/** alarm rows, and frozen limits with their series, are written within this many ms */
const EVENTS_MS = 100;
const COMMANDS = new Set(['cap-change', 'rebaseline', 'ack', 'alarms', 'summary', 'chart']);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** the config fields of the editor as an SpcConfig (RangeError naming the field) */
function configOf(def: SpcDef): SpcConfig {
  const chars = def.characteristics === undefined || def.characteristics === '' || def.characteristics === 'both' ? CHARACTERISTICS : [def.characteristics];
  return parseConfig({
    subgroupSize: def.subgroupSize,
    chart: def.chart,
    baselineSubgroups: def.baselineSubgroups,
    characteristics: chars,
    diameterHead: def.diameterHead,
    rules: json(def.rules, 'rules'),
    sameSideRun: def.sameSideRun,
    clearAfter: def.clearAfter,
    spec: json(def.spec, 'spec'),
    guns: json(def.guns, 'guns'),
    rebaselineOnCapChange: def.rebaselineOnCapChange === true,
  });
}

export = function register(RED: NodeAPI): void {
  assertNativeModules(['better-sqlite3']);
  ensureAdminRoutes(RED);
  const userDir = (): string => (RED.settings as unknown as { userDir?: string }).userDir || join(homedir(), '.node-red');

  function Spc(this: Node, def: SpcDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: SpcDef): void {
    let engine: SpcEngine | undefined;
    let store: SpcStore | undefined;
    let problem: string | undefined;
    const flushMs = def.flushMs === undefined || def.flushMs === '' ? DEFAULT_FLUSH_MS : Number(def.flushMs);
    try {
      if (!(Number.isInteger(flushMs) && flushMs >= 0 && flushMs <= 60000)) throw new RangeError(`flushMs must be an integer in 0…60000, got ${String(def.flushMs)}`);
      const config = configOf(def);
      const file = def.file ? (isAbsolute(def.file) ? def.file : resolve(userDir(), def.file)) : join(userDir(), 'spotfusion', 'spc.db');
      store = new SpcStore(file, node.id);
      engine = new SpcEngine(config, store.load());
    } catch (err) {
      problem = describeError(err);
      store?.close();
      store = undefined;
      node.error(`spc "${def.name || node.id}": ${problem}`);
      node.status(errorStatus(problem));
    }
    let parts = 0;
    let flushTimer: NodeJS.Timeout | undefined;

    const active = (): number => engine?.activeAlarms ?? 0;
    const ok = (): { fill: 'green' | 'yellow'; shape: 'dot'; text: string } => {
      const a = active();
      return { fill: a ? 'yellow' : 'green', shape: 'dot', text: `${parts} parts, ${a} active alarm${a === 1 ? '' : 's'}` };
    };
    if (engine) node.status({ fill: 'green', shape: 'ring', text: `${[...engine.records()].length} series restored` });

    // alarm events and frozen limits (with their series) wait at most EVENTS_MS, the other series
    // flushMs; a command, a close and flushMs 0 write everything at once
    let eventTimer: NodeJS.Timeout | undefined;
    let pendingAlarms: AlarmEvent[] = [];
    let pendingBaselines: BaselineEvent[] = [];

    /** write the series `keys` (taken off the dirty set) and the pending events, in one transaction */
    const write = (keys: Iterable<string>): void => {
      if (!engine || !store) return;
      const recs: SeriesRecord[] = [];
      for (const k of keys) {
        const r = engine.record(k);
        if (r) recs.push(r);
        engine.dirty.delete(k);
      }
      const alarms = pendingAlarms;
      const baselines = pendingBaselines;
      pendingAlarms = [];
      pendingBaselines = [];
      if (recs.length || alarms.length || baselines.length) store.save(recs, alarms, baselines);
    };
    /** write the dirty series and the pending events now */
    const flush = (): void => {
      if (flushTimer) clearTimeout(flushTimer);
      if (eventTimer) clearTimeout(eventTimer);
      flushTimer = undefined;
      eventTimer = undefined;
      if (engine) write([...engine.dirty]);
    };
    /**
     * write the pending alarm rows, and the frozen limits with their series. The series of an alarm waits for the
     * flush: rewriting up to every series ten times a second cost more than the rest of the node
     * (bench/spc.bench.cjs), and SpcStore.load() puts the alarm table and the series back in agreement.
     */
    const flushEvents = (): void => {
      if (eventTimer) clearTimeout(eventTimer);
      eventTimer = undefined;
      write(pendingBaselines.map((b) => b.key));
    };
    const guarded = (fn: () => void) => (): void => {
      try {
        fn();
      } catch (err) {
        node.error(`spc: storing the SPC state failed: ${describeError(err)}`);
        showStatus(node, errorStatus(describeError(err)));
      }
    };
    const later = (): void => {
      if (flushMs === 0) {
        flush();
        return;
      }
      if (!flushTimer) flushTimer = setTimeout(guarded(flush), flushMs);
      if ((pendingAlarms.length || pendingBaselines.length) && !eventTimer) eventTimer = setTimeout(guarded(flushEvents), Math.min(EVENTS_MS, flushMs));
    };

    const alarmMsgs = (events: readonly AlarmEvent[]): NodeMessage[] =>
      events.map((a) => ({ topic: `spc/alarm/${a.event}`, payload: a }));

    const command = (topic: string, msg: NodeMessageInFlow, send: Send): boolean => {
      if (!engine || !store) return false;
      const p = isObj(msg.payload) ? msg.payload : {};
      switch (topic) {
        case 'cap-change': {
          const spots = engine.spotsOf(p);
          const rebase = typeof p.rebaseline === 'boolean' ? p.rebaseline : engine.config.rebaselineOnCapChange;
          const cleared = engine.capChange(spots, rebase);
          pendingAlarms.push(...cleared);
          flush();
          node.log(`electrode-cap change: ${spots.length ? spots.join(', ') : 'all spots'} reset${rebase ? ', new baseline' : ''}`);
          if (cleared.length) send([null, alarmMsgs(cleared)]);
          return true;
        }
        case 'rebaseline': {
          const c = p.characteristic;
          if (c !== undefined && !CHARACTERISTICS.includes(c as Characteristic)) throw new SpotFusionError('INPUT', `spc rebaseline: characteristic must be one of ${CHARACTERISTICS.join(', ')}`);
          const spots = engine.spotsOf(p);
          const reason = typeof p.reason === 'string' && p.reason ? `rebaseline: ${p.reason.slice(0, 200)}` : 'rebaseline';
          const n = engine.rebaseline(spots, c as Characteristic | undefined, reason);
          flush();
          node.log(`re-baseline of ${n} series started (${reason})`);
          return true;
        }
        case 'ack': {
          const ids = typeof msg.payload === 'string' && msg.payload !== 'all' ? [msg.payload] : Array.isArray(p.ids) ? p.ids : typeof p.id === 'string' ? [p.id] : [];
          if (ids.some((i) => typeof i !== 'string')) throw new SpotFusionError('INPUT', 'spc ack: ids must be alarm ids (strings)');
          const all = msg.payload === 'all' || p.all === true;
          if (!ids.length && !all) throw new SpotFusionError('INPUT', 'spc ack: give msg.payload = an alarm id, {id}, {ids: [...]} or "all"');
          const by = typeof p.by === 'string' ? p.by.slice(0, 128) : typeof (msg as { user?: unknown }).user === 'string' ? String((msg as { user?: unknown }).user).slice(0, 128) : '';
          flushEvents(); // an alarm raised moments ago can be acknowledged
          const acked = store.ack(ids as string[], by);
          if (acked.length) send([null, acked.map((a) => ({ topic: 'spc/alarm/acked', payload: { event: 'acked', ...a } }))]);
          return true;
        }
        case 'alarms': {
          // the stored alarm list (newest first) on output 2, one message: for a dashboard table
          flushEvents();
          const open = p.open === true;
          send([null, { topic: 'spc/alarms', payload: store.alarms({ open, limit: typeof p.limit === 'number' ? p.limit : 200 }) }]);
          return true;
        }
        case 'summary': {
          send([null, { topic: 'spc/summary', payload: engine.summary() }]);
          return true;
        }
        case 'chart': {
          const key = typeof p.key === 'string' ? p.key : undefined;
          if (!key) throw new SpotFusionError('INPUT', 'spc chart: give msg.payload.key (a series key from the summary)');
          send([null, { topic: 'spc/chart', payload: { key, ...engine.chartOf(key) } }]);
          return true;
        }
        default:
          return false;
      }
    };

    handleInput(
      node,
      (msg, send) => {
        if (!engine || !store) throw new SpotFusionError('CONFIG', `spc: ${problem ?? 'not configured'}`);
        // an InspectionResult (its schema) is a result whatever topic the upstream nodes left on it; with a command
        // topic anything else is the command (a rebaseline's payload has spots too: the ids)
        const p = msg.payload;
        const isResult = isObj(p) && Array.isArray(p.spots) && (p.schema === RESULT_SCHEMA || typeof msg.topic !== 'string' || !COMMANDS.has(msg.topic));
        if (!isResult && typeof msg.topic === 'string' && command(msg.topic, msg, send)) {
          statusLine(node).update(ok());
          return;
        }
        const r = msg.payload;
        if (!isObj(r) || !Array.isArray(r.spots)) throw new SpotFusionError('INPUT', 'spc: msg.payload is not an InspectionResult (no spots array); commands are msg.topic cap-change, rebaseline, ack, alarms, summary, chart');
        const out = engine.update(r);
        parts += 1;
        (msg as Record<string, unknown>).spc = { subgroups: out.subgroups, alarms: out.alarms.length, activeAlarms: active() };
        if (out.alarms.length) pendingAlarms.push(...out.alarms);
        if (out.baselines.length) pendingBaselines.push(...out.baselines);
        later();
        send([msg, out.alarms.length ? alarmMsgs(out.alarms) : null]);
        statusLine(node).update(ok());
      },
      { okStatus: ok },
    );

    node.on('close', (_removed: boolean, done: () => void) => {
      try {
        flush();
      } catch (err) {
        node.error(`spc: storing the SPC state at close failed: ${describeError(err)}`);
      }
      store?.close();
      done();
    });
  }

  RED.nodes.registerType('spc', Spc);
};
