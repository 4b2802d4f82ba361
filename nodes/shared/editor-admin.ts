/**
 * Admin endpoints the config dialogs call (behind adminAuth when it is on):
 * - POST /spotfusion/editor/test/:type    "Test connection": one connection with the package's own client for the
 *   dialog's current (undeployed) settings, bounded in time, closed again; answers ok or the reason.
 * - POST /spotfusion/editor/browse/:type  "Browse tags": the same for a PLC, then the controller's tag list.
 * - GET  /spotfusion/editor/env?names=A,B the value of environment variables that fields of this package's
 *   deployed nodes reference (never any other name; names that look secret only say whether they are set).
 * Only the address in the settings is contacted; nothing is discovered or broadcast.
 */
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import type { Request, Response, RequestHandler } from 'express';
import type { ConnectionDriver } from '../lib/connection';
import { SpotFusionError, describeError } from '../lib/errors';
import type { BrowseResult } from '../lib/plc/browse';

/** Permission of the test and browse endpoints: they connect with the settings (and stored secrets) given. */
export const EDITOR_WRITE_PERMISSION = 'flows.write';
/** Permission of the env endpoint: what a user who may read the flows sees. */
export const EDITOR_READ_PERMISSION = 'flows.read';
/** How long a connection test may take unless the request asks for less (it may not ask for more than MAX). */
export const TEST_TIMEOUT_MS = 5000;
export const MAX_TEST_TIMEOUT_MS = 15000;
/** Browsing reads the whole tag list and every template: more time than a connect. */
export const BROWSE_TIMEOUT_MS = 20000;
/** Node-RED's stand-in for a stored password the dialog did not change. */
export const PASSWORD_PLACEHOLDER = '__PWRD__';

export interface DriverContext {
  /** the config node's id (client names, stored credentials) */
  id: string;
  /** Node-RED's user directory */
  userDir: string;
  /** 'test' or 'browse': a one-off connection beside the deployed one (e.g. an MQTT client id of its own) */
  purpose: 'test' | 'browse' | 'run';
}

/** Builds a config node's driver from its properties and credentials; throws for a configuration that cannot work. */
export type DriverFactory = (def: Record<string, unknown>, creds: Record<string, string | undefined>, ctx: DriverContext) => ConnectionDriver<unknown>;

/**
 * What a test does once the connection is open, for clients whose open proves little (an HTTP camera opens
 * without a request): answers a line for the dialog ("2448×2048 Mono8") or throws the reason.
 */
export type Probe = (client: unknown, timeoutMs: number) => Promise<string | undefined>;

interface Registration {
  factory: DriverFactory;
  credentials: readonly string[];
  probe?: Probe;
}

const factories = new Map<string, Registration>();
const registered = new WeakSet<object>();

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const SECRET_NAME = /(PASS|PWD|SECRET|TOKEN|KEY|CRED|AUTH|PRIVATE|SALT|HASH|CERT)/i;

/** Replace ${NAME} in every string property with its value (unset: empty), as Node-RED does when a flow starts. */
export function resolveEnvRefs(def: Record<string, unknown>, lookup: (name: string) => string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def)) out[k] = typeof v === 'string' ? v.replace(ENV_REF, (_m, name: string) => lookup(name) ?? '') : v;
  return out;
}

/** The ${NAME}s a value (and the values inside it) names. */
export function envNames(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') for (const m of value.matchAll(ENV_REF)) into.add(m[1]);
  else if (Array.isArray(value)) for (const v of value) envNames(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) envNames(v, into);
  return into;
}

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * What a failed test says: the client's own message, and a code the dialog can act on: ECONNREFUSED,
 * AUTH, TIMEOUT, CONFIG, or the error's own code.
 */
export function classify(err: unknown): { code: string; error: string } {
  const error = describeError(err);
  const own = (err as { code?: unknown } | undefined)?.code;
  if (/ECONNREFUSED/.test(error) || own === 'ECONNREFUSED') return { code: 'ECONNREFUSED', error };
  if (/auth|password|NOAUTH|WRONGPASS|ACCESS_REFUSED|not authori[sz]ed|BadUserAccessDenied|BadIdentityToken|Bad username/i.test(error) || own === 'AUTH') {
    return { code: 'AUTH', error };
  }
  if (own === 'CONFIG') return { code: 'CONFIG', error };
  if (/timed? ?out|ETIMEDOUT/i.test(error) || own === 'TIMEOUT') return { code: 'TIMEOUT', error };
  return { code: typeof own === 'string' && own ? own : 'ERROR', error };
}

/** Open one connection, bounded by timeoutMs; a connection that opens too late is closed when it does. */
async function openBounded<C>(driver: ConnectionDriver<C>, timeoutMs: number): Promise<C> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const opening = driver.open();
  try {
    return await Promise.race([
      opening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          reject(new SpotFusionError('TIMEOUT', `${driver.describe()}: no connection within ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (late) {
      opening.then(
        (c) => driver.close(c).catch((closeErr: unknown) => void closeErr),
        (openErr: unknown) => void openErr,
      );
    }
  }
}

/** Close, bounded: a client that does not close within 3 s is left to its own timers. */
async function closeBounded<C>(driver: ConnectionDriver<C>, client: C): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([driver.close(client), new Promise<void>((r) => (timer = setTimeout(r, 3000)))]).finally(() => clearTimeout(timer));
}

/** Each config node module registers how its driver is made (once per type); the endpoints use it. */
export function registerDriverFactory(RED: NodeAPI, type: string, credentials: readonly string[], factory: DriverFactory, probe?: Probe): DriverFactory {
  factories.set(type, { factory, credentials, probe });
  ensureEditorRoutes(RED);
  return factory;
}

function userDirOf(RED: NodeAPI): string {
  return (RED.settings as unknown as { userDir?: string }).userDir ?? process.cwd();
}

/** The driver for a request's settings: ${VAR}s resolved, unchanged passwords taken from the deployed node. */
function driverFor(RED: NodeAPI, req: Request, purpose: 'test' | 'browse'): { driver: ConnectionDriver<unknown>; probe?: Probe } | { status: number; error: string } {
  const type = String(req.params.type ?? '');
  const reg = factories.get(type);
  if (!reg) return { status: 404, error: `no connection test for "${type}"` };
  const body = (req.body ?? {}) as { id?: unknown; config?: unknown; credentials?: unknown };
  const id = typeof body.id === 'string' ? body.id : '';
  const config = body.config && typeof body.config === 'object' && !Array.isArray(body.config) ? (body.config as Record<string, unknown>) : {};
  const given = body.credentials && typeof body.credentials === 'object' ? (body.credentials as Record<string, unknown>) : {};
  const deployedNode = id ? (RED.nodes.getNode(id) as Node | null) : null;
  const stored = id ? ((RED.nodes.getCredentials(id) ?? {}) as Record<string, string | undefined>) : {};
  const creds: Record<string, string | undefined> = {};
  for (const key of reg.credentials) {
    const v = given[key];
    // the dialog left a stored secret alone (placeholder, or not sent): the deployed node's own value
    if (v === PASSWORD_PLACEHOLDER || v === undefined) creds[key] = stored[key];
    else creds[key] = typeof v === 'string' ? v : undefined;
  }
  const lookup = (name: string): string | undefined => envValue(RED, deployedNode, name);
  const resolved = resolveEnvRefs(config, lookup);
  const many = manyDeviceAddress(resolved);
  if (many) return { status: 200, error: many };
  try {
    return { driver: reg.factory(resolved, creds, { id: id || `editor-${purpose}`, userDir: userDirOf(RED), purpose }), probe: reg.probe };
  } catch (err) {
    return { status: 200, error: describeError(err) };
  }
}

/** The host of an address field: a bare host, or the host of a URL (opc.tcp://, http://, amqp://…). */
function hostOf(value: string): string {
  const v = value.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v.replace(/^\[(.*)\]$/, '$1');
  // a URL that does not parse is left to the driver factory, which names the mistake
  return URL.canParse(v) ? new URL(v).hostname.replace(/^\[(.*)\]$/, '$1') : v;
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

/** The directed broadcast address of each IPv4 network this machine is on (e.g. 192.168.1.255 for a /24). */
function localBroadcasts(): Set<string> {
  const found = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || !isIPv4(a.netmask)) continue;
      const b = (ipv4Number(a.address) | (~ipv4Number(a.netmask) >>> 0)) >>> 0;
      found.add([b >>> 24, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join('.'));
    }
  }
  return found;
}

/**
 * A Test connection / Browse tags contacts the one device the dialog names: an address that reaches many
 * (limited or directed broadcast, multicast) or none (unspecified) is refused before anything is sent.
 */
export function manyDeviceAddress(config: Record<string, unknown>): string | undefined {
  for (const field of ['host', 'endpoint', 'url']) {
    const value = config[field];
    if (typeof value !== 'string' || value.trim() === '') continue;
    const host = hostOf(value);
    let why: string | undefined;
    if (isIPv4(host)) {
      const first = Number(host.split('.')[0]);
      if (host === '0.0.0.0') why = 'the unspecified address';
      else if (host === '255.255.255.255' || localBroadcasts().has(host)) why = 'a broadcast address';
      else if (first >= 224 && first <= 239) why = 'a multicast address';
    } else if (isIPv6(host)) {
      if (host === '::') why = 'the unspecified address';
      else if (/^ff/i.test(host)) why = 'a multicast address';
    }
    if (why) return `${field} "${host}" is ${why}: a connection test contacts only the one device configured (never a broadcast)`;
  }
  return undefined;
}

function envValue(RED: NodeAPI, node: Node | null, name: string): string | undefined {
  if (node) {
    const v = (RED.util as unknown as { getSetting?: (n: Node, k: string) => unknown }).getSetting?.(node, name);
    if (typeof v === 'string') return v;
    if (v !== undefined && v !== null) return JSON.stringify(v);
  }
  return process.env[name];
}

function timeoutOf(req: Request, def: number, max: number): number {
  const asked = Number((req.body as { timeoutMs?: unknown } | undefined)?.timeoutMs);
  return Number.isFinite(asked) && asked >= 100 ? Math.min(asked, max) : def;
}

let types: Set<string> | undefined;

/** The package's node types (package.json "node-red".nodes), whose fields the env endpoint looks at. */
function packageTypes(): Set<string> {
  // dist/nodes/shared/editor-admin.js → the package root
  types ??= new Set(
    Object.keys((JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { 'node-red'?: { nodes?: Record<string, string> } })['node-red']?.nodes ?? {}),
  );
  return types;
}

function ensureEditorRoutes(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as
    | { get: (path: string, ...h: RequestHandler[]) => void; post: (path: string, ...h: RequestHandler[]) => void }
    | undefined;
  if (!app || registered.has(app)) return;
  registered.add(app);
  const write = RED.auth.needsPermission(EDITOR_WRITE_PERMISSION) as unknown as RequestHandler;
  const read = RED.auth.needsPermission(EDITOR_READ_PERMISSION) as unknown as RequestHandler;

  app.post('/spotfusion/editor/test/:type', write, (req: Request, res: Response) => {
    const made = driverFor(RED, req, 'test');
    if (!('driver' in made)) {
      res.status(made.status).json({ ok: false, code: made.status === 404 ? 'UNKNOWN_TYPE' : 'CONFIG', error: made.error });
      return;
    }
    const { driver, probe } = made;
    const started = Date.now();
    const timeoutMs = timeoutOf(req, TEST_TIMEOUT_MS, MAX_TEST_TIMEOUT_MS);
    openBounded(driver, timeoutMs)
      .then(async (client) => {
        try {
          const detail = probe ? await probe(client, Math.max(500, timeoutMs - (Date.now() - started))) : undefined;
          res.json({ ok: true, target: driver.describe(), ms: Date.now() - started, ...(detail ? { detail } : {}) });
        } finally {
          await closeBounded(driver, client);
        }
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.json({ ok: false, target: driver.describe(), ms: Date.now() - started, ...classify(err) });
      });
  });

  app.post('/spotfusion/editor/browse/:type', write, (req: Request, res: Response) => {
    const made = driverFor(RED, req, 'browse');
    if (!('driver' in made)) {
      res.status(made.status).json({ ok: false, code: made.status === 404 ? 'UNKNOWN_TYPE' : 'CONFIG', error: made.error });
      return;
    }
    const { driver } = made;
    const timeoutMs = timeoutOf(req, BROWSE_TIMEOUT_MS, BROWSE_TIMEOUT_MS);
    const started = Date.now();
    openBounded(driver, Math.min(timeoutMs, MAX_TEST_TIMEOUT_MS))
      .then(async (client) => {
        const browse = (client as { browse?: () => Promise<BrowseResult> }).browse;
        let timer: NodeJS.Timeout | undefined;
        try {
          if (typeof browse !== 'function') throw new SpotFusionError('UNSUPPORTED', `${driver.describe()}: browsing is not supported`);
          const left = Math.max(1000, timeoutMs - (Date.now() - started));
          const result = await Promise.race([
            browse.call(client),
            new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new SpotFusionError('TIMEOUT', `${driver.describe()}: browse took longer than ${timeoutMs} ms`)), left))),
          ]);
          res.json({ ok: true, target: driver.describe(), ...result });
        } finally {
          clearTimeout(timer);
          await closeBounded(driver, client);
        }
      })
      .catch((err: unknown) => {
        if (!res.headersSent) res.json({ ok: false, target: driver.describe(), ...classify(err) });
      });
  });

  app.get('/spotfusion/editor/env', read, (req: Request, res: Response) => {
    const asked = (typeof req.query.names === 'string' ? req.query.names : '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s))
      .slice(0, 100);
    // which deployed node of this package names each variable
    const ours = packageTypes();
    const users = new Map<string, string>();
    RED.nodes.eachNode((n) => {
      if (!ours.has(n.type)) return;
      for (const name of envNames(n)) if (!users.has(name)) users.set(name, n.id);
    });
    const values: Record<string, { referenced: boolean; set?: boolean; value?: string; masked?: boolean }> = {};
    for (const name of asked) {
      const user = users.get(name);
      if (user === undefined) {
        values[name] = { referenced: false };
        continue;
      }
      const v = envValue(RED, RED.nodes.getNode(user), name);
      if (v === undefined) values[name] = { referenced: true, set: false };
      else if (looksSecret(name)) values[name] = { referenced: true, set: true, masked: true };
      else values[name] = { referenced: true, set: true, value: v };
    }
    res.json({ values });
  });
}
