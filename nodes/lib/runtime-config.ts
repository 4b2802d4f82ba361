import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseAddressRange } from './viewer-gate';

/**
 * Every environment variable the runtime (settings.ts) reads, declared once: name, meaning, default and
 * how it is checked. Start-up validates all of them and stops with one message naming every bad variable.
 * The README's configuration table is this list.
 */
export interface EnvVar<T> {
  name: string;
  description: string;
  /** shown in docs; undefined = required or conditionally required */
  defaultText?: string;
  secret?: boolean;
  parse(raw: string | undefined): T;
}

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`SpotFusion Edge cannot start:\n  - ${problems.join('\n  - ')}`);
    this.name = 'EnvError';
  }
}

class Problem extends Error {}

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);

export function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_NAMES.has(host.toLowerCase())) return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) return host === '::1';
  return false;
}

function str(def?: string): (raw: string | undefined) => string {
  return (raw) => {
    if (raw === undefined || raw === '') {
      if (def === undefined) throw new Problem('is required');
      return def;
    }
    return raw;
  };
}

function int(def: number, min: number, max: number): (raw: string | undefined) => number {
  return (raw) => {
    if (raw === undefined || raw === '') return def;
    if (!/^\d+$/.test(raw.trim())) throw new Problem(`expects a whole number ${min}–${max}, got ${JSON.stringify(raw)}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Problem(`expects a whole number ${min}–${max}, got ${n}`);
    return n;
  };
}

function bool(def: boolean): (raw: string | undefined) => boolean {
  return (raw) => {
    if (raw === undefined || raw === '') return def;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Problem(`expects true or false, got ${JSON.stringify(raw)}`);
  };
}

function oneOf<T extends string>(def: T, values: readonly T[]): (raw: string | undefined) => T {
  return (raw) => {
    if (raw === undefined || raw === '') return def;
    if ((values as readonly string[]).includes(raw)) return raw as T;
    throw new Problem(`expects one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
  };
}

/** A file path that must name a readable file when it is given. */
function optionalFile(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const file = resolve(raw);
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new Problem(`names a file that cannot be read: ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return file;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ENV = {
  host: {
    name: 'SPOTFUSION_HOST',
    description: 'Address the editor, admin API and HTTP nodes listen on. A non-loopback address needs adminAuth.',
    defaultText: '127.0.0.1',
    parse: (raw: string | undefined) => {
      const v = str('127.0.0.1')(raw);
      if (!isIP(v) && !/^[A-Za-z0-9.-]+$/.test(v)) throw new Problem(`expects an IP address or host name, got ${JSON.stringify(v)}`);
      return v;
    },
  },
  port: {
    name: 'SPOTFUSION_PORT',
    description: 'TCP port of the editor and admin API.',
    defaultText: '1880',
    parse: int(1880, 1, 65535),
  },
  userDir: {
    name: 'SPOTFUSION_USER_DIR',
    description: 'Node-RED user directory (flows, credentials, outbox, archive).',
    defaultText: '<package>/.userdir',
    parse: (raw: string | undefined) => (raw ? resolve(raw) : ''),
  },
  flowFile: {
    name: 'SPOTFUSION_FLOW_FILE',
    description: 'Flow file name inside the user directory.',
    defaultText: 'flows.json',
    parse: (raw: string | undefined) => {
      const v = str('flows.json')(raw);
      if (!/^[\w.-]+\.json$/.test(v)) throw new Problem(`expects a file name ending in .json, got ${JSON.stringify(v)}`);
      return v;
    },
  },
  credentialSecret: {
    name: 'SPOTFUSION_CREDENTIAL_SECRET',
    description: 'Key that encrypts the flow credentials file. Required unless SPOTFUSION_DEV_MODE=true.',
    secret: true,
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return undefined;
      if (raw.length < 16) throw new Problem('must be at least 16 characters');
      return raw;
    },
  },
  adminUser: {
    name: 'SPOTFUSION_ADMIN_USER',
    description: 'User name for the editor and admin API.',
    defaultText: 'admin',
    parse: (raw: string | undefined) => {
      const v = str('admin')(raw);
      if (!/^[\w.@-]{1,64}$/.test(v)) throw new Problem(`expects 1–64 letters, digits or . _ @ -, got ${JSON.stringify(v)}`);
      return v;
    },
  },
  adminPasswordHash: {
    name: 'SPOTFUSION_ADMIN_PASSWORD_HASH',
    description:
      'bcrypt hash of the admin password (`npx node-red admin hash-pw`). Required unless SPOTFUSION_DEV_MODE=true.',
    secret: true,
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return undefined;
      if (!BCRYPT.test(raw)) throw new Problem('expects a bcrypt hash ($2a$/$2b$/$2y$ followed by cost and 53 characters)');
      return raw;
    },
  },
  httpUser: {
    name: 'SPOTFUSION_HTTP_USER',
    description: 'User name for the dashboard, the image archive and other HTTP node routes (basic auth).',
    defaultText: 'viewer',
    parse: (raw: string | undefined) => {
      const v = str('viewer')(raw);
      if (!/^[\w.@-]{1,64}$/.test(v)) throw new Problem(`expects 1–64 letters, digits or . _ @ -, got ${JSON.stringify(v)}`);
      return v;
    },
  },
  httpPasswordHash: {
    name: 'SPOTFUSION_HTTP_PASSWORD_HASH',
    description:
      'bcrypt hash of the password for the dashboard and HTTP node routes. Required on a non-loopback address unless SPOTFUSION_HTTP_PUBLIC=true.',
    secret: true,
    parse: (raw: string | undefined) => {
      if (raw === undefined || raw === '') return undefined;
      if (!BCRYPT.test(raw)) throw new Problem('expects a bcrypt hash ($2a$/$2b$/$2y$ followed by cost and 53 characters)');
      return raw;
    },
  },
  httpPublic: {
    name: 'SPOTFUSION_HTTP_PUBLIC',
    description:
      'Kiosk mode: serve the dashboard and HTTP node routes without a login to the SPOTFUSION_KIOSK_ADDRESSES (e.g. a shop-floor kiosk); everyone else needs the viewer login.',
    defaultText: 'false',
    parse: bool(false),
  },
  kioskAddresses: {
    name: 'SPOTFUSION_KIOSK_ADDRESSES',
    description:
      'Comma-separated IP addresses or CIDR ranges of the kiosks that see the dashboard (pages, live data, archive) without a login. Required with SPOTFUSION_HTTP_PUBLIC=true.',
    defaultText: '(none)',
    parse: (raw: string | undefined) => {
      const list = (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const bad = list.filter((s) => !parseAddressRange(s));
      if (bad.length) throw new Problem(`expects IP addresses or CIDR ranges (10.1.2.3, 10.1.2.0/24), got ${JSON.stringify(bad.join(','))}`);
      return list;
    },
  },
  tlsCert: {
    name: 'SPOTFUSION_TLS_CERT',
    description: 'PEM certificate file (with its chain): the editor, admin API, dashboard and archive are served over HTTPS. Needs SPOTFUSION_TLS_KEY.',
    defaultText: '(none: plain HTTP)',
    parse: optionalFile,
  },
  tlsKey: {
    name: 'SPOTFUSION_TLS_KEY',
    description: 'PEM private key file of SPOTFUSION_TLS_CERT.',
    defaultText: '(none)',
    parse: optionalFile,
  },
  tlsCa: {
    name: 'SPOTFUSION_TLS_CA',
    description: 'PEM CA file: with it, every client must present a certificate signed by this CA (mutual TLS).',
    defaultText: '(none: no client certificates)',
    parse: optionalFile,
  },
  allowPlainHttp: {
    name: 'SPOTFUSION_ALLOW_PLAIN_HTTP',
    description: 'Serve plain HTTP on a non-loopback SPOTFUSION_HOST, on purpose (passwords and tokens then cross the network in clear text; a warning at start-up).',
    defaultText: 'false',
    parse: bool(false),
  },
  devMode: {
    name: 'SPOTFUSION_DEV_MODE',
    description: 'Development mode: allows no adminAuth and no credential secret, on a loopback host only. `npm start` sets it.',
    defaultText: 'false',
    parse: bool(false),
  },
  logFormat: {
    name: 'SPOTFUSION_LOG_FORMAT',
    description: '`text` (Node-RED console) or `json` (one JSON object per line, for log shippers).',
    defaultText: 'text',
    parse: oneOf('text', ['text', 'json'] as const),
  },
  vipsCacheMb: {
    name: 'SPOTFUSION_VIPS_CACHE_MB',
    description:
      "Memory (MB) of libvips' operation cache (sharp). 0 turns it off: a station's frames are new every time, so the cache never hits and only holds memory. Raise it only for a flow that processes the same images again.",
    defaultText: '0',
    parse: int(0, 0, 4096),
  },
  vipsConcurrency: {
    name: 'SPOTFUSION_VIPS_CONCURRENCY',
    description:
      'Threads libvips (sharp) uses per image operation (PNG archive, JPEG decode). 1 keeps its per-thread buffers and malloc arenas few; parts are processed in parallel on libuv\'s pool anyway.',
    defaultText: '1',
    parse: int(1, 1, 64),
  },
  logLevel: {
    name: 'SPOTFUSION_LOG_LEVEL',
    description: 'Log level: fatal, error, warn, info, debug or trace.',
    defaultText: 'info',
    parse: oneOf<LogLevel>('info', LOG_LEVELS),
  },
} satisfies Record<string, EnvVar<unknown>>;

export interface RuntimeConfig {
  host: string;
  port: number;
  userDir: string;
  flowFile: string;
  credentialSecret: string | undefined;
  adminUser: string;
  adminPasswordHash: string | undefined;
  httpUser: string;
  httpPasswordHash: string | undefined;
  httpPublic: boolean;
  kioskAddresses: string[];
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  allowPlainHttp: boolean;
  devMode: boolean;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  vipsCacheMb: number;
  vipsConcurrency: number;
}

/** Read and check every variable; throws EnvError naming each problem. */
export function loadRuntimeConfig(env: NodeJS.ProcessEnv, defaultUserDir: string): RuntimeConfig {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(ENV)) {
    try {
      out[key] = v.parse(env[v.name]);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      problems.push(`${v.name} ${err.message}`);
    }
  }
  const cfg = out as unknown as RuntimeConfig;
  if (!cfg.userDir) cfg.userDir = defaultUserDir;
  if (problems.length === 0) {
    const loopback = isLoopbackHost(cfg.host);
    if (cfg.devMode && !loopback) {
      problems.push(
        `SPOTFUSION_DEV_MODE=true is only allowed on a loopback SPOTFUSION_HOST (got ${cfg.host}): it would open the admin API to the network`,
      );
    }
    if (!cfg.devMode && !cfg.adminPasswordHash) {
      problems.push(
        loopback
          ? 'SPOTFUSION_ADMIN_PASSWORD_HASH is required (adminAuth is enforced); set SPOTFUSION_DEV_MODE=true for a development run on loopback'
          : `SPOTFUSION_ADMIN_PASSWORD_HASH is required: refusing to listen on non-loopback address ${cfg.host} without adminAuth`,
      );
    }
    if (!loopback && !cfg.httpPasswordHash && !cfg.httpPublic) {
      problems.push(
        `SPOTFUSION_HTTP_PASSWORD_HASH is required on non-loopback address ${cfg.host} (the dashboard and image archive would be open); set SPOTFUSION_HTTP_PUBLIC=true to serve them without a login on purpose`,
      );
    }
    if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey)) {
      problems.push('SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY go together: set both (HTTPS) or neither');
    }
    if (cfg.tlsCa && !cfg.tlsCert) problems.push('SPOTFUSION_TLS_CA (client certificates) needs SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY');
    if (!loopback && !cfg.tlsCert && !cfg.allowPlainHttp) {
      problems.push(
        `refusing plain HTTP on non-loopback address ${cfg.host}: set SPOTFUSION_TLS_CERT and SPOTFUSION_TLS_KEY (HTTPS), or SPOTFUSION_ALLOW_PLAIN_HTTP=true to send passwords and tokens in clear text on purpose`,
      );
    }
    if (cfg.httpPublic && cfg.kioskAddresses.length === 0) {
      problems.push(
        'SPOTFUSION_HTTP_PUBLIC=true needs SPOTFUSION_KIOSK_ADDRESSES (the kiosks served without a login): without it anyone who reaches the port would get the live dashboard data',
      );
    }
    if (!cfg.devMode && !cfg.credentialSecret) {
      problems.push('SPOTFUSION_CREDENTIAL_SECRET is required: it encrypts the credentials of the flows');
    }
  }
  if (problems.length) throw new EnvError(problems);
  return cfg;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'fatal', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'trace', 98: 'audit', 99: 'metric' };

/** One log event of Node-RED's logger as one JSON line. */
export function formatJsonLog(msg: Record<string, unknown>): string {
  const level = typeof msg.level === 'number' ? (LEVEL_NAMES[msg.level] ?? String(msg.level)) : String(msg.level);
  const ts = typeof msg.timestamp === 'number' ? msg.timestamp : Date.now();
  const event: Record<string, unknown> = { time: new Date(ts).toISOString(), level };
  for (const k of ['type', 'id', 'name', 'z', 'path'] as const) {
    if (msg[k] !== undefined && msg[k] !== '') event[k === 'z' ? 'flow' : k] = msg[k];
  }
  const text = msg.msg;
  if (text === undefined && typeof msg.event === 'string') {
    // audit events carry their own fields instead of a message text
    event.msg = msg.event;
    for (const [k, v] of Object.entries(msg)) {
      if (!(k in event) && k !== 'level' && k !== 'timestamp' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) event[k] = v;
    }
  } else {
    event.msg = text instanceof Error ? text.message : typeof text === 'string' ? text : (JSON.stringify(text) ?? String(text));
  }
  return JSON.stringify(event);
}
