import { isAbsolute, resolve } from 'node:path';
import { SpotFusionError } from '../errors';
import type { VisionServerOptions } from './vision-system';

/** The fields of a spotfusion-opcua-server node. */
export interface OpcuaServerDef {
  name?: string;
  host?: string;
  port?: string | number;
  hostname?: string;
  pkiFolder?: string;
  security?: string;
  allowAnonymous?: boolean;
  trustUnknownClients?: boolean;
  maxResults?: string | number;
  station?: string;
}

export const DEFAULT_PKI_FOLDER = 'spotfusion-opcua/pki';

/** The settings of the node as VisionServer options; throws a CONFIG error naming the wrong field. */
export function parseServerSettings(def: OpcuaServerDef, creds: { username?: string; password?: string }, userDir: string): VisionServerOptions {
  const port = Number(def.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SpotFusionError('CONFIG', `port must be 1…65535, got ${JSON.stringify(def.port)}`);
  const maxResults = def.maxResults === undefined || def.maxResults === '' ? 100 : Number(def.maxResults);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10000) throw new SpotFusionError('CONFIG', `results kept must be 1…10000, got ${JSON.stringify(def.maxResults)}`);
  const host = (def.host ?? '').trim() || '127.0.0.1';
  const pki = (def.pkiFolder ?? '').trim() || DEFAULT_PKI_FOLDER;
  const username = (creds.username ?? '').trim();
  const users = username && creds.password ? [{ username, password: creds.password }] : [];
  if (username && !creds.password) throw new SpotFusionError('CONFIG', `user "${username}" has no password`);
  // no user and anonymous off: the server runs and refuses every session (the opcua-mv node's status says so)
  if (def.security !== undefined && def.security !== '' && def.security !== 'sign-encrypt' && def.security !== 'sign-encrypt+none') {
    throw new SpotFusionError('CONFIG', `security must be "sign-encrypt" or "sign-encrypt+none", got ${JSON.stringify(def.security)}`);
  }
  return {
    port,
    host,
    hostname: (def.hostname ?? '').trim() || host,
    pkiFolder: isAbsolute(pki) ? pki : resolve(userDir, pki),
    allowUnsecured: def.security === 'sign-encrypt+none',
    allowAnonymous: def.allowAnonymous === true,
    trustUnknownClients: def.trustUnknownClients === true,
    users,
    maxResults,
    station: (def.station ?? '').trim() || undefined,
  };
}

