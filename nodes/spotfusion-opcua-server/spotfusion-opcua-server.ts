import type { Node, NodeAPI, NodeDef } from 'node-red';
// node-opcua is big: the server module (and with it node-opcua) loads only when a server is deployed
import type { VisionServerOptions } from '../lib/opcua/vision-system';
import { OpcuaServerDef, parseServerSettings } from '../lib/opcua/settings';
import { SpotFusionError, describeError } from '../lib/errors';
import type { OpcuaServerConfigNode } from './types';

/**
 * An OPC UA server with one OPC 40100-1 VisionSystem object (nodes/lib/opcua/vision-system.ts). Starts at
 * deploy, stops on close (every session and socket); the opcua-mv node feeds it.
 */
export = function register(RED: NodeAPI): void {
  function OpcuaServerConfig(this: Node, def: NodeDef & OpcuaServerDef): void {
    RED.nodes.createNode(this, def);
    const node = this as OpcuaServerConfigNode;
    const creds = (this.credentials ?? {}) as { username?: string; password?: string };
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir || process.cwd();
    const label = `opcua-server "${def.name || node.id}"`;
    let owner: string | undefined;
    node.claim = (id) => {
      if (owner && owner !== id) return false;
      owner = id;
      return true;
    };
    node.release = (id) => {
      if (owner === id) owner = undefined;
    };
    let options: VisionServerOptions | undefined;
    try {
      options = parseServerSettings(def, creds, userDir);
    } catch (err) {
      const e = new SpotFusionError('CONFIG', `${label}: ${describeError(err)}`);
      node.error(e.message);
      node.vision = undefined;
      node.ready = Promise.reject(e);
    }
    node.noUser = !!options && !options.users?.length && !options.allowAnonymous;
    if (options) {
      const opts = options;
      node.ready = import('../lib/opcua/vision-system').then(({ VisionServer: Server }) => {
        const started = new Server(opts);
        node.vision = started;
        started.on('error', (err) => node.warn(`${label}: ${err.message}`));
        return started.start().then(
          () => {
            node.log(`${label}: listening on ${started.endpointUrl} (PKI ${opts.pkiFolder})`);
            return started;
          },
          (err: unknown) => {
            const e = new SpotFusionError('OPCUA', `${label}: the server did not start on ${started.endpointUrl}: ${describeError(err)}`);
            node.error(e.message);
            return started.stop().then(() => Promise.reject(e));
          },
        );
      });
    }
    // a rejection is handled by each user that awaits it; this one keeps it from being "unhandled"
    node.ready.catch(() => undefined);

    node.on('close', (_removed: boolean, done: () => void) => {
      if (!options) {
        done();
        return;
      }
      // a server still loading or starting is stopped once its start settles (node-opcua cannot stop
      // half-initialised); one that failed to start was stopped then
      node.ready
        .then(
          (v) => v.stop(),
          () => undefined,
        )
        .then(done, (err: unknown) => {
          node.warn(`${label}: ${describeError(err)}`);
          done();
        });
    });
  }

  RED.nodes.registerType('spotfusion-opcua-server', OpcuaServerConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
