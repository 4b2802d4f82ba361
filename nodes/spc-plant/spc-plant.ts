import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { jsonOption as json, parseConfig, SpcConfig } from '../lib/spc/engine';
import { PlantView, readPlantView } from '../lib/spc/plant';
import { SpotFusionError, describeError } from '../lib/errors';
import { handleInput, Send } from '../shared/input';
import { errorStatus, showStatus, statusLine } from '../shared/status';
import type { PgConfigNode } from '../spotfusion-postgres-config/types';

interface SpcPlantDef extends NodeDef {
  postgres?: string;
  hours?: string | number;
  interval?: string | number;
  subgroupSize?: string | number;
  chart?: string;
  capabilityWindow?: string | number;
  characteristics?: string;
  diameterHead?: string;
  spec?: string;
}

function num(v: unknown, where: string, lo: number, hi: number, dflt: number, integer: boolean): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n))) {
    throw new RangeError(`${where} must be ${integer ? 'an integer' : 'a number'} in ${lo}…${hi}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** the editor's fields as the SPC configuration of the replay (RangeError naming the field) */
function configOf(def: SpcPlantDef): SpcConfig {
  const c = def.characteristics;
  const chars = c === undefined || c === '' || c === 'diameter' ? ['diameter'] : c === 'both' ? ['diameter', 'confidence'] : [c];
  const capabilityWindow = num(def.capabilityWindow, 'capabilityWindow', 1, 60, 25, true);
  return parseConfig({
    subgroupSize: def.subgroupSize,
    chart: def.chart,
    baselineSubgroups: Math.max(2, capabilityWindow),
    capabilityWindow,
    characteristics: chars,
    diameterHead: def.diameterHead,
    spec: json(def.spec, 'spec'),
  });
}

const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(2));

export = function register(RED: NodeAPI): void {
  function SpcPlant(this: Node, def: SpcPlantDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: SpcPlantDef): void {
    let config: SpcConfig | undefined;
    let hours = 8;
    let intervalS = 30;
    let pg: PgConfigNode | undefined;
    let problem: string | undefined;
    try {
      config = configOf(def);
      hours = num(def.hours, 'hours', 0.01, 24 * 366, 8, false);
      intervalS = num(def.interval, 'interval', 0, 86_400, 30, false);
      if (intervalS > 0 && intervalS < 1) throw new RangeError(`interval must be 0 (only on an input message) or at least 1 s, got ${String(def.interval)}`);
      if (!def.postgres) throw new RangeError('no PostgreSQL config node chosen (the plant database)');
      pg = RED.nodes.getNode(def.postgres) as PgConfigNode | null ?? undefined;
      if (!pg) throw new RangeError(`the PostgreSQL config node ${def.postgres} is not deployed`);
      pg.register(node);
    } catch (err) {
      problem = describeError(err);
      pg = undefined;
      node.error(`spc-plant "${def.name || node.id}": ${problem}`);
      node.status(errorStatus(problem));
    }

    let running: Promise<PlantView> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;

    const okStatus = (v: PlantView) => {
      const w = v.stations.find((s) => s.worstCpk !== null);
      const text = v.stations.length === 0
        ? `no results in the last ${hours} h`
        : `${v.lines.length} line${v.lines.length === 1 ? '' : 's'}, ${v.stations.length} station${v.stations.length === 1 ? '' : 's'}; worst Cpk ${w ? `${fmt(w.worstCpk)} (${w.line}/${w.station}/${w.worstSpot})` : '–'}`;
      return { fill: w && w.worstCpk !== null && w.worstCpk < 1 ? 'yellow' as const : 'green' as const, shape: 'dot' as const, text };
    };

    /** one query at a time: a request while one runs gets that one's answer */
    const read = (): Promise<PlantView> => {
      if (!pg || !config) return Promise.reject(new SpotFusionError('CONFIG', `spc-plant: ${problem ?? 'not configured'}`));
      if (running) return running;
      let conn;
      try {
        conn = pg.connection.client();
      } catch (err) {
        // not connected (the config node's status says why): a rejection, never a throw out of a timer
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      const cfg = config;
      running = readPlantView(conn, cfg, { hours }).finally(() => {
        running = undefined;
      });
      return running;
    };

    const emit = (v: PlantView, send: Send, base?: NodeMessage): void => {
      const window = { hours, partsPerStation: config ? config.subgroupSize * config.capabilityWindow : 0, at: new Date().toISOString() };
      send([
        { ...(base ?? {}), topic: 'spc-plant/lines', payload: v.lines, window },
        { topic: 'spc-plant/stations', payload: v.stations, window },
      ]);
      statusLine(node).update(okStatus(v));
    };

    handleInput(node, async (msg, send) => {
      let v: PlantView;
      try {
        v = await read();
      } catch (err) {
        throw new SpotFusionError((err as { code?: string }).code === 'NOT_CONNECTED' ? 'NOT_CONNECTED' : 'QUERY', `spc-plant: reading the plant database failed: ${describeError(err)}`, { cause: err });
      }
      emit(v, send, msg);
    });

    const tick = (): void => {
      timer = undefined;
      if (closed || !pg) return;
      if (pg.connection.state !== 'connected') {
        // the config node shows the connection state on this node; try again at the next tick
        timer = setTimeout(tick, intervalS * 1000);
        return;
      }
      read().then(
        (v) => {
          if (!closed) emit(v, (m) => node.send(m));
        },
        (err: unknown) => {
          if (closed) return;
          node.error(`spc-plant: reading the plant database failed: ${describeError(err)}`);
          showStatus(node, errorStatus(describeError(err)));
        },
      ).finally(() => {
        if (!closed && intervalS > 0) timer = setTimeout(tick, intervalS * 1000);
      });
    };
    // the first read as soon as the database is connected (and again at once after an outage), then every interval
    const onState = (c: { state: string }): void => {
      if (c.state !== 'connected' || closed || intervalS === 0 || running) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(tick, 0);
    };
    if (pg && intervalS > 0) {
      pg.connection.on('state', onState);
      timer = setTimeout(tick, 0);
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      pg?.connection.off('state', onState);
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pg) pg.deregister(node, done);
      else done();
    });
  }

  RED.nodes.registerType('spc-plant', SpcPlant);
};
