import type { Node, NodeAPI, NodeDef } from 'node-red';
import { PLC_BACKOFF, parsePlcSettings, plcDriver, PlcSettings, PlcSettingsInput } from '../lib/plc/driver';
import type { PlcClient } from '../lib/plc/types';
import { SpotFusionError, describeError } from '../lib/errors';
import { PERMANENT_ERROR_CODE } from '../lib/connection';
import { setupConnectionConfig } from '../shared/connection-config';
import { registerDriverFactory } from '../shared/editor-admin';
import type { PlcConfigNode } from './types';

interface PlcConfigDef extends NodeDef, PlcSettingsInput {}


export = function register(RED: NodeAPI): void {
  // Test connection and Browse tags in the editor: the same settings parser and client as a deployed node
  registerDriverFactory(RED, 'plc-config', ['username', 'password'], (def, creds, ctx) => plcDriver(parsePlcSettings(def, creds, ctx.userDir)));

  function PlcConfig(this: Node, def: PlcConfigDef): void {
    RED.nodes.createNode(this, def);
    const node = this as PlcConfigNode;
    const creds = (this.credentials ?? {}) as { username?: string; password?: string };
    const userDir = (RED.settings as unknown as { userDir?: string }).userDir ?? process.cwd();
    let settings: PlcSettings | undefined;
    let configError: SpotFusionError | undefined;
    try {
      settings = parsePlcSettings(def, creds, userDir);
    } catch (err) {
      configError = err instanceof SpotFusionError ? err : new SpotFusionError(PERMANENT_ERROR_CODE, describeError(err));
      this.error(`plc-config "${def.name || this.id}": ${configError.message}`);
    }
    node.settings = settings;
    node.station = settings?.station || def.name || '';
    node.configError = configError?.message;
    const driver = settings
      ? plcDriver(settings)
      : {
          describe: () => `plc (invalid configuration)`,
          open: (): Promise<PlcClient> => Promise.reject(configError ?? new SpotFusionError(PERMANENT_ERROR_CODE, 'invalid configuration')),
          watch: () => () => undefined,
          close: () => Promise.resolve(),
        };
    setupConnectionConfig<PlcClient>(RED, this, driver, PLC_BACKOFF);
  }

  RED.nodes.registerType('plc-config', PlcConfig, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
