import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PlcReader, READ_MODES, ReadMode, ReadOutput } from '../lib/plc/reader';
import { parseTagMap, TagDef } from '../lib/plc/types';
import { checkAddresses } from '../lib/plc/check';
import { SpotFusionError, describeError } from '../lib/errors';
import type { StateChange } from '../lib/connection';
import { handleInput } from '../shared/input';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { translator } from '../shared/i18n';
import type { PlcConfigNode } from '../plc-config/types';

interface PlcReadDef extends NodeDef {
  plc: string;
  tags: unknown;
  mode: string;
  interval: string | number;
  deadband: string | number;
  trigger: string;
}

/** the status stays yellow this long after an overrun (or ten intervals, when longer) */
const OVERRUN_WINDOW_MS = 5000;

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function PlcRead(this: Node, def: PlcReadDef): void {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the node is used by the closures below
    const node = this;
    const config = RED.nodes.getNode(def.plc) as PlcConfigNode | null;
    const mode = (READ_MODES as readonly string[]).includes(def.mode) ? (def.mode as ReadMode) : undefined;
    let reader: PlcReader | undefined;
    let problem: string | undefined;
    let tags: TagDef[] = [];
    const interval = Number(def.interval ?? 1000);
    const deadband = Number(def.deadband || 0);
    try {
      if (!config) throw new SpotFusionError('CONFIG', tr('plc-read.errors.noConfig'));
      if (!mode) throw new SpotFusionError('CONFIG', tr('plc-read.errors.badMode', { mode: String(def.mode), modes: READ_MODES.join(', ') }));
      if (!Number.isFinite(interval) || interval < 0 || interval > 86_400_000) throw new SpotFusionError('CONFIG', tr('plc-read.errors.badInterval', { interval: String(def.interval) }));
      if (!Number.isFinite(deadband) || deadband < 0) throw new SpotFusionError('CONFIG', tr('plc-read.errors.badDeadband', { deadband: String(def.deadband) }));
      tags = parseTagMap(def.tags, 'plc-read');
      if (tags.length === 0) throw new SpotFusionError('CONFIG', tr('plc-read.errors.emptyTags'));
      if (mode === 'trigger') {
        const t = tags.find((x) => x.name === def.trigger);
        if (!t) throw new SpotFusionError('CONFIG', tr('plc-read.errors.noTrigger', { tag: def.trigger ?? '' }));
        if (t.type !== 'BOOL' || (t.count ?? 0) > 1) throw new SpotFusionError('CONFIG', tr('plc-read.errors.triggerBool', { tag: t.name }));
      }
      checkAddresses(tags, config.settings?.protocol, 'plc-read');
    } catch (err) {
      problem = err instanceof Error ? err.message : describeError(err);
    }

    let lastStatusAt = 0;
    const overrunWindowMs = Math.max(OVERRUN_WINDOW_MS, 10 * (Number.isFinite(interval) ? interval : 0));
    const showCycle = (r: PlcReader): void => {
      const now = Date.now();
      if (!config?.connection.connected || now - lastStatusAt < 1000) return;
      lastStatusAt = now;
      // yellow while overruns are recent, green again once cycles keep time (the count since deploy stays in
      // msg.plc.overruns and the text)
      const recent = r.lastOverrunAt !== undefined && now - r.lastOverrunAt < overrunWindowMs;
      const cycle = { mode: r.mode, cycles: r.cycles, sent: r.emitted, ms: r.lastDurationMs };
      const text = recent
        ? tr('plc-read.status.cycleOverrun', { ...cycle, overruns: r.overruns, ago: ((now - (r.lastOverrunAt ?? now)) / 1000).toFixed(1) })
        : tr('plc-read.status.cycle', cycle);
      statusLine(node).update({ fill: recent ? 'yellow' : 'green', shape: 'dot', text });
    };
    const toMsg = (out: ReadOutput): Record<string, unknown> => ({ payload: out.payload, part: out.part, plc: out.plc, topic: out.plc.station });

    (node as Node & { problem?: string }).problem = problem;
    if (problem || !config || !mode) {
      node.error(`plc-read: ${problem ?? tr('plc-read.errors.invalid')}`);
      node.status(errorStatus(problem ?? tr('plc-read.errors.invalid')));
    } else {
      config.register(node);
      reader = new PlcReader({
        tags,
        mode,
        intervalMs: interval,
        deadband,
        trigger: def.trigger,
        station: config.station,
        client: () => config.connection.client(),
        emit: (out) => node.send(toMsg(out)),
        onCycle: showCycle,
        onError: () => undefined, // connection errors are shown by the config node's status
      });
      reader.start();
    }

    const onState = (change: StateChange): void => {
      if (change.state === 'connected') lastStatusAt = 0;
    };
    config?.connection.on('state', onState);

    handleInput(node, async (msg, send) => {
      if (problem || !reader) throw new SpotFusionError('CONFIG', `plc-read: ${problem ?? tr('plc-read.errors.notConfigured')}`);
      if (mode !== 'input') {
        throw new SpotFusionError('MODE', tr('plc-read.errors.readsItself', { mode: String(mode) }));
      }
      const out = await reader.readOnce();
      Object.assign(msg, toMsg(out), { topic: (msg as { topic?: unknown }).topic ?? out.plc.station });
      send(msg);
      showCycle(reader);
    }, config ? { okStatus: () => config.statusNow() } : {});

    node.on('close', (_removed: boolean, done: () => void) => {
      config?.connection.off('state', onState);
      const r = reader;
      reader = undefined;
      const finish = (): void => {
        if (config) config.deregister(node, done);
        else done();
      };
      if (r) r.stop().catch((err: unknown) => node.warn(describeError(err))).finally(finish);
      else finish();
    });
  }

  RED.nodes.registerType('plc-read', PlcRead);
};
