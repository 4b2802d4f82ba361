import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PlcReader, READ_MODES, ReadMode, ReadOutput } from '../lib/plc/reader';
import { parseTagMap, TagDef } from '../lib/plc/types';
import { checkAddresses } from '../lib/plc/check';
import { SpotFusionError, describeError } from '../lib/errors';
import type { StateChange } from '../lib/connection';
import { handleInput } from '../shared/input';
import { errorStatus } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import type { PlcConfigNode } from '../plc-config/types';

interface PlcReadDef extends NodeDef {
  plc: string;
  tags: unknown;
  mode: string;
  interval: string | number;
  deadband: string | number;
  trigger: string;
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);

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
      if (!config) throw new SpotFusionError('CONFIG', 'no PLC config selected: open the node and select one');
      if (!mode) throw new SpotFusionError('CONFIG', `mode "${def.mode}" is not one of ${READ_MODES.join(', ')}`);
      if (!Number.isFinite(interval) || interval < 0 || interval > 86_400_000) throw new SpotFusionError('CONFIG', `interval "${String(def.interval)}" must be 0..86400000 ms (0: back to back)`);
      if (!Number.isFinite(deadband) || deadband < 0) throw new SpotFusionError('CONFIG', `deadband "${String(def.deadband)}" must be a number ≥ 0`);
      tags = parseTagMap(def.tags, 'plc-read');
      if (tags.length === 0) throw new SpotFusionError('CONFIG', 'the tag map is empty: add at least one tag');
      if (mode === 'trigger') {
        const t = tags.find((x) => x.name === def.trigger);
        if (!t) throw new SpotFusionError('CONFIG', `trigger tag "${def.trigger ?? ''}" is not in the tag map`);
        if (t.type !== 'BOOL' || (t.count ?? 0) > 1) throw new SpotFusionError('CONFIG', `trigger tag "${t.name}" must be a single BOOL`);
      }
      checkAddresses(tags, config.settings?.protocol, 'plc-read');
    } catch (err) {
      problem = err instanceof Error ? err.message : describeError(err);
    }

    let lastStatusAt = 0;
    const showCycle = (r: PlcReader): void => {
      const now = Date.now();
      if (!config?.connection.connected || now - lastStatusAt < 1000) return;
      lastStatusAt = now;
      const over = r.overruns ? `, ${r.overruns} overrun(s)` : '';
      node.status({ fill: r.overruns ? 'yellow' : 'green', shape: 'dot', text: `${r.mode}: cycle ${r.cycles}, ${r.emitted} sent, ${r.lastDurationMs} ms${over}` });
    };
    const toMsg = (out: ReadOutput): Record<string, unknown> => ({ payload: out.payload, part: out.part, plc: out.plc, topic: out.plc.station });

    (node as Node & { problem?: string }).problem = problem;
    if (problem || !config || !mode) {
      node.error(`plc-read: ${problem ?? 'invalid configuration'}`);
      node.status(errorStatus(problem ?? 'invalid configuration'));
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
      if (problem || !reader) throw new SpotFusionError('CONFIG', `plc-read: ${problem ?? 'not configured'}`);
      if (mode !== 'input') {
        throw new SpotFusionError('MODE', `plc-read is in ${mode} mode: it reads by itself; set the mode to "on input" to read on messages`);
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
