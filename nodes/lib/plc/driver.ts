/**
 * PLC config → a ConnectionDriver for SharedConnection. Bad configuration (unknown protocol, bad host, port,
 * route or endpoint) is a 'CONFIG' error: the connection goes to 'failed' at once, with no retries.
 */
import { isIP } from 'node:net';
import { isAbsolute, join, normalize, relative } from 'node:path';
import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError } from '../errors';
import { PathSegment, parseRoute } from './cip/epath';
import { LogixPlc } from './logix-plc';
import { PlcClient, PROTOCOLS, Protocol } from './types';
import type { OpcuaOptions } from './opcua-plc';
import type { LogixMemory } from './logix-client';
import { acquireSimulator, releaseSimulator } from './sim-host';

/** Reads resume within 2 s of the PLC coming back: retries at most 1 s apart, with jitter. */
export const PLC_BACKOFF = { baseMs: 200, maxMs: 1000, minMs: 100 };

export interface PlcSettings {
  protocol: Protocol;
  station: string;
  host: string;
  port: number;
  route: PathSegment[];
  connected: boolean;
  connectionSize: number;
  rpiMs: number;
  timeoutMs: number;
  opcua?: OpcuaOptions;
  simPeriodMs: number;
}

export interface PlcSettingsInput {
  protocol?: string;
  station?: string;
  host?: string;
  port?: string | number;
  route?: string;
  messaging?: string;
  connectionSize?: string | number;
  rpi?: string | number;
  timeout?: string | number;
  endpoint?: string;
  securityMode?: string;
  securityPolicy?: string;
  certFolder?: string;
  acceptUnknownCertificate?: boolean;
  simPeriod?: string | number;
}

const HOST = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function cfgError(message: string): SpotFusionError {
  return new SpotFusionError(PERMANENT_ERROR_CODE, message);
}

function int(v: unknown, def: number, min: number, max: number, what: string): number {
  if (v === undefined || v === null || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw cfgError(`${what} "${JSON.stringify(v)}" must be an integer ${min}..${max}`);
  return n;
}

/** Resolve a certificate folder inside the Node-RED user dir; anything that escapes it is refused. */
export function certFolderIn(userDir: string, folder: string | undefined): string {
  const f = (folder ?? '').trim() || 'opcua-pki';
  if (isAbsolute(f)) throw cfgError(`certificate folder "${f}" must be relative to the user directory`);
  const full = normalize(join(userDir, f));
  const rel = relative(userDir, full);
  if (rel.startsWith('..') || rel === '') throw cfgError(`certificate folder "${f}" must stay inside the user directory`);
  return full;
}

export function parsePlcSettings(def: PlcSettingsInput, creds: { username?: string; password?: string }, userDir: string): PlcSettings {
  const protocol = String(def.protocol ?? '');
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw cfgError(`unknown protocol "${protocol}": use one of ${PROTOCOLS.join(', ')}`);
  const s: PlcSettings = {
    protocol: protocol as Protocol,
    station: String(def.station ?? '').trim(),
    host: '127.0.0.1',
    port: 44818,
    route: [],
    connected: def.messaging !== 'unconnected',
    connectionSize: int(def.connectionSize, 4002, 64, 65_511, 'connection size'),
    rpiMs: int(def.rpi, 2000, 1, 60_000, 'RPI (ms)'),
    timeoutMs: int(def.timeout, 3000, 100, 60_000, 'timeout (ms)'),
    simPeriodMs: int(def.simPeriod, 2000, 50, 3_600_000, 'simulator period (ms)'),
  };
  if (s.protocol === 'ethernet-ip') {
    const host = String(def.host ?? '').trim();
    if (!host) throw cfgError('PLC address is empty');
    // all digits and dots is meant as an IPv4 address (10.0.0.300 is none), never a host name to look up
    if (!isIP(host) && (!HOST.test(host) || /^[\d.]+$/.test(host))) throw cfgError(`PLC address "${host}" is not an IP address or host name`);
    s.host = host;
    s.port = int(def.port, 44818, 1, 65_535, 'port');
    try {
      s.route = parseRoute(def.route ?? '1,0');
    } catch (err) {
      throw cfgError((err as Error).message);
    }
  } else if (s.protocol === 'opcua') {
    const endpoint = String(def.endpoint ?? '').trim();
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw cfgError(`OPC UA endpoint "${endpoint}" is not a URL such as opc.tcp://192.168.1.10:4840`);
    }
    if (url.protocol !== 'opc.tcp:' || !url.hostname) throw cfgError(`OPC UA endpoint "${endpoint}" must start with opc.tcp://host`);
    const mode = String(def.securityMode || 'None');
    const policy = String(def.securityPolicy || 'None');
    if (!['None', 'Sign', 'SignAndEncrypt'].includes(mode)) throw cfgError(`security mode "${mode}" is not None, Sign or SignAndEncrypt`);
    if (!['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'].includes(policy)) throw cfgError(`security policy "${policy}" is not supported`);
    if ((mode === 'None') !== (policy === 'None')) throw cfgError('security mode None goes with policy None, and only with it');
    s.opcua = {
      endpoint,
      securityMode: mode as OpcuaOptions['securityMode'],
      securityPolicy: policy as OpcuaOptions['securityPolicy'],
      certificateFolder: certFolderIn(userDir, def.certFolder),
      acceptUnknownCertificate: def.acceptUnknownCertificate === true,
      timeoutMs: Math.max(s.timeoutMs, 2000),
    };
    if (creds.username) {
      s.opcua.username = creds.username;
      s.opcua.password = creds.password ?? '';
    }
  }
  return s;
}

export function describeSettings(s: PlcSettings): string {
  if (s.protocol === 'opcua') return `opcua ${s.opcua?.endpoint ?? ''}`;
  if (s.protocol === 'simulator') return 'simulated Logix station';
  return `ethernet-ip ${s.host}:${s.port}`;
}

export function plcDriver(s: PlcSettings): ConnectionDriver<PlcClient> {
  let simHeld = 0;
  /** what this controller taught earlier sessions (templates unavailable), kept across reconnects */
  const memory: LogixMemory = {};
  return {
    describe: () => describeSettings(s),
    async open(): Promise<PlcClient> {
      if (s.protocol === 'opcua') {
        // node-opcua is big: load it only for OPC UA connections
        const { OpcuaPlc } = await import('./opcua-plc');
        return OpcuaPlc.connect(s.opcua as OpcuaOptions);
      }
      let port = s.port;
      if (s.protocol === 'simulator') {
        port = (await acquireSimulator(s.simPeriodMs)).port;
        simHeld += 1;
      }
      try {
        return await LogixPlc.connect({
          host: s.protocol === 'simulator' ? '127.0.0.1' : s.host,
          port,
          route: s.protocol === 'simulator' ? [{ kind: 'port', port: 1, link: 0 }] : s.route,
          connected: s.connected,
          connectionSize: s.connectionSize,
          rpiMs: s.rpiMs,
          timeoutMs: s.timeoutMs,
          memory,
        });
      } catch (err) {
        if (s.protocol === 'simulator') {
          simHeld -= 1;
          await releaseSimulator();
        }
        throw err;
      }
    },
    watch: (client, lost) => client.onLost(lost),
    async close(client): Promise<void> {
      await client.close();
      if (s.protocol === 'simulator' && simHeld > 0) {
        simHeld -= 1;
        await releaseSimulator();
      }
    },
  };
}
