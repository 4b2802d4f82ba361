import type { Node, NodeAPI, NodeDef } from 'node-red';
import { parseTagMap, TagDef } from '../lib/plc/types';
import { writeTags } from '../lib/plc/handshake';
import { assertValid } from '../lib/schemas';
import { SpotFusionError, describeError } from '../lib/errors';
import { handleInput } from '../shared/input';
import { errorStatus, statusLine } from '../shared/status';
import { ensureAdminRoutes } from '../shared/admin';
import { translator } from '../shared/i18n';
import type { PlcConfigNode } from '../plc-config/types';
import { checkAddresses } from '../lib/plc/check';

interface PlcWriteDef extends NodeDef {
  plc: string;
  tags: unknown;
  valueProperty: string;
}

export = function register(RED: NodeAPI): void {
  ensureAdminRoutes(RED);
  const tr = translator(RED);

  function PlcWrite(this: Node, def: PlcWriteDef): void {
    RED.nodes.createNode(this, def);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the node is used by the closures below
    const node = this;
    const config = RED.nodes.getNode(def.plc) as PlcConfigNode | null;
    const valueProperty = def.valueProperty || 'payload';
    let tags: TagDef[] = [];
    let problem: string | undefined;
    try {
      if (!config) throw new SpotFusionError('CONFIG', tr('plc-write.errors.noConfig'));
      tags = parseTagMap(def.tags, 'plc-write');
      if (tags.length === 0) throw new SpotFusionError('CONFIG', tr('plc-write.errors.emptyTags'));
      checkAddresses(tags, config.settings?.protocol, 'plc-write');
    } catch (err) {
      problem = err instanceof Error ? err.message : describeError(err);
    }
    if (problem || !config) {
      node.error(`plc-write: ${problem ?? tr('plc-write.errors.invalid')}`);
      node.status(errorStatus(problem ?? tr('plc-write.errors.invalid')));
    } else {
      config.register(node);
    }
    (node as Node & { problem?: string }).problem = problem;
    let writes = 0;

    handleInput(node, async (msg, send) => {
      if (problem || !config) throw new SpotFusionError('CONFIG', `plc-write: ${problem ?? tr('plc-write.errors.notConfigured')}`);
      const values = RED.util.getMessageProperty(msg, valueProperty) as unknown;
      const checked = assertValid<Record<string, unknown>>('plc-write-input', values, `msg.${valueProperty}`);
      const report = await writeTags(config.connection.client(), tags, checked);
      writes += 1;
      const m = msg as Record<string, unknown>;
      const prev = typeof m.plc === 'object' && m.plc !== null ? (m.plc as Record<string, unknown>) : {};
      m.plc = { ...prev, station: config.station, written: report.written, writeTime: new Date().toISOString() };
      statusLine(node).update({ fill: 'green', shape: 'dot', text: tr('plc-write.status.written', { writes, tags: report.written.join(', ') }).slice(0, 120) });
      send(msg);
    }, config ? { okStatus: () => config.statusNow() } : {});

    node.on('close', (_removed: boolean, done: () => void) => {
      if (config) config.deregister(node, done);
      else done();
    });
  }

  RED.nodes.registerType('plc-write', PlcWrite);
};
