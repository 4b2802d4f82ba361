import type { Node, NodeAPI, NodeDef } from 'node-red';
import { isAbsolute, resolve } from 'node:path';
import { HostEvent, ModelHost } from '../lib/vision/model';
import type { ModelConfigNode } from './types';
import { modelStatus } from './status';
import { showStatus } from '../shared/status';
import { translator } from '../shared/i18n';

interface ModelConfigDef extends NodeDef {
  path: string;
  metadataPath?: string;
  intraOpThreads?: string | number;
  executionProviders?: string;
  watch?: boolean;
  watchInterval?: string | number;
}

function userDirOf(RED: NodeAPI): string {
  const dir = (RED.settings as unknown as { userDir?: string }).userDir;
  return typeof dir === 'string' && dir ? dir : process.cwd();
}

export = function register(RED: NodeAPI): void {
  const tr = translator(RED);
  function ModelConfig(this: Node, def: ModelConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ModelConfigNode;
    const base = userDirOf(RED);
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
    const threads = Number(def.intraOpThreads);
    const interval = Number(def.watchInterval);
    const host = new ModelHost(abs((def.path ?? '').trim()), {
      intraOpThreads: Number.isInteger(threads) && threads > 0 ? threads : undefined,
      executionProviders: (def.executionProviders || 'cpu').split(',').map((s) => s.trim()).filter(Boolean),
      watch: def.watch === true,
      watchIntervalMs: Number.isFinite(interval) && interval >= 100 ? interval : 2000,
      metadataPath: def.metadataPath ? abs(def.metadataPath.trim()) : undefined,
    });
    node.host = host;
    const users = new Set<Node>();
    node.register = (user) => {
      users.add(user);
      showStatus(user, node.statusNow());
    };
    node.statusNow = () => modelStatus(host.status(), tr);
    node.deregister = (user) => {
      users.delete(user);
    };
    host.on('state', (e: HostEvent) => {
      const s = modelStatus(e, tr);
      for (const u of users) showStatus(u, s);
      if (e.state === 'ready' && !e.lastError && e.model) node.log(`model ${e.model.name} ${e.model.version} loaded from ${host.modelPath}`);
    });
    host.on('warning', (m: string) => node.warn(m));

    if (!def.path || !def.path.trim()) {
      node.error(tr('spotfusion-model-config.errors.noPath'));
    } else {
      if (def.watch === true) host.startWatch();
      host.load().catch((err: Error) => node.error(`model config "${def.name || node.id}": ${err.message}`));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      users.clear();
      host.close().then(done, (err: Error) => {
        node.warn(`closing model: ${err.message}`);
        done();
      });
    });
  }

  RED.nodes.registerType('spotfusion-model-config', ModelConfig);
};
