import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SpotFusionError, describeError } from '../errors';
import { AdminClient, AdminTls, DeploymentType } from './admin-client';
import { checkFlow, FlowNode, FlowReport, packageTypes, PackageTypes } from './flow-check';
import { diffFlows, FlowDiff, formatDiff, mergeFlows } from './flow-diff';
import { PLANT_USAGE, plantMain } from '../plant/cli';

/**
 * spotfusion — validate flows, show what a deploy would change, deploy them to one station or to every station
 * of an inventory through the Node-RED admin API. A deploy merges the file's tabs, subflows and config nodes into
 * the station's flows and leaves the station's other tabs alone (removing one takes --remove-tab). Exit codes:
 * 0 ok, 1 invalid flow, 2 usage, 3 rev conflict, 4 unhealthy after deploy, 5 unreachable / refused / HTTP error;
 * `diff` exits like diff(1): 0 no changes, 1 changes, 2 error (invalid flow included).
 */
export const EXIT = { OK: 0, INVALID: 1, USAGE: 2, CONFLICT: 3, UNHEALTHY: 4, REMOTE: 5 } as const;

const USAGE = `usage:
  spotfusion validate FLOW... [--types TYPE,...]
  spotfusion diff FLOW --url URL [--user USER] [--env NAME=VALUE]... [--remove-tab ID|LABEL]...
  spotfusion deploy FLOW --url URL [--user USER] [--type nodes|full|flows (default nodes)] [--env NAME=VALUE]... [--remove-tab ID|LABEL]... [--health-timeout S]
deploy merges the file's tabs, subflows and config nodes into the station's flows; the station's other tabs
stay unless --remove-tab names them (diff with the same options shows what goes)
  spotfusion deploy --inventory stations.yaml [--only NAME,...]
${PLANT_USAGE}
secrets come from the environment only: SPOTFUSION_DEPLOY_PASSWORD (with --user) or SPOTFUSION_DEPLOY_TOKEN
https:// stations: the certificate is verified against SPOTFUSION_DEPLOY_CA (PEM file of the plant CA) or the
system CAs; SPOTFUSION_DEPLOY_CERT / SPOTFUSION_DEPLOY_KEY: a client certificate when the station asks for one`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

interface Args {
  positional: string[];
  flags: Map<string, string[]>;
}

const VALUE_FLAGS = new Set(['url', 'user', 'type', 'env', 'health-timeout', 'inventory', 'only', 'types', 'password-env', 'token-env', 'remove-tab']);

function parseArgs(argv: string[]): Args {
  const a: Args = { positional: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      a.positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    if (!VALUE_FLAGS.has(name)) throw new SpotFusionError('USAGE', `unknown option --${name}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new SpotFusionError('USAGE', `--${name} needs a value`);
    a.flags.set(name, [...(a.flags.get(name) ?? []), value]);
  }
  return a;
}

function one(a: Args, name: string): string | undefined {
  const v = a.flags.get(name);
  if (v && v.length > 1) throw new SpotFusionError('USAGE', `--${name} given twice`);
  return v?.[0];
}

const SECRET_NAME = /pass(word|wd)?|secret|token|key/i;

/** Put station values into every tab's env, so `${NAME}` in the flow resolves per station. */
export function withStationEnv(flows: FlowNode[], env: Record<string, string>): FlowNode[] {
  const names = Object.keys(env);
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new SpotFusionError('USAGE', `station env name ${JSON.stringify(n)} is not a valid variable name`);
    if (SECRET_NAME.test(n)) throw new SpotFusionError('USAGE', `station env ${n} looks like a secret: set secrets in the station's environment, never in flows`);
  }
  if (!names.length) return flows;
  return flows.map((node) => {
    if (node.type !== 'tab') return node;
    const current = Array.isArray(node.env) ? (node.env as Array<{ name: string; value: unknown; type: string }>) : [];
    const kept = current.filter((e) => !names.includes(e.name));
    return { ...node, env: [...kept, ...names.map((name) => ({ name, value: env[name], type: 'str' }))] };
  });
}

function readFlow(file: string): FlowNode[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SpotFusionError('INVALID', `${file}: ${describeError(err)}`);
  }
  if (!Array.isArray(parsed)) throw new SpotFusionError('INVALID', `${file}: a flow file must be a JSON array`);
  return parsed as FlowNode[];
}

function printReport(r: FlowReport, io: Io): void {
  if (r.problems.length === 0) {
    io.out(`ok ${r.file} (${r.nodeCount} nodes${r.envVars.length ? `; env: ${r.envVars.join(', ')}` : ''})`);
  } else {
    for (const p of r.problems) io.err(`error ${p.where}: ${p.message}`);
  }
}

/** One station to diff or deploy: from the command line or from an inventory (inventoryTargets). */
export interface Target {
  name: string;
  url: string;
  flow: string;
  user?: string;
  passwordEnv: string;
  tokenEnv: string;
  type: DeploymentType;
  env: Record<string, string>;
  healthTimeoutS: number;
  removeTabs?: string[];
}

function client(t: Target, io: Io): AdminClient {
  const token = io.env[t.tokenEnv];
  const password = io.env[t.passwordEnv];
  if (t.user && password === undefined && !token) {
    throw new SpotFusionError('USAGE', `--user ${t.user} needs the password in $${t.passwordEnv}`);
  }
  return new AdminClient(t.url, { user: t.user, password, token }, undefined, deployTls(io.env));
}

/** TLS files of the deploying machine (SPOTFUSION_DEPLOY_CA, _CERT, _KEY), read once per station. */
function deployTls(env: NodeJS.ProcessEnv): AdminTls {
  const file = (name: string): Buffer | undefined => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new SpotFusionError('USAGE', `$${name}: cannot read ${path} (${describeError(err)})`);
    }
  };
  const tls: AdminTls = { ca: file('SPOTFUSION_DEPLOY_CA'), cert: file('SPOTFUSION_DEPLOY_CERT'), key: file('SPOTFUSION_DEPLOY_KEY') };
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new SpotFusionError('USAGE', 'SPOTFUSION_DEPLOY_CERT and SPOTFUSION_DEPLOY_KEY go together');
  return Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined));
}

/** The target's flow with its station env, checked; undefined (problems printed) when invalid. */
function validFlow(t: Target, known: PackageTypes, io: Io): FlowNode[] | undefined {
  const flows = withStationEnv(readFlow(t.flow), t.env);
  const report = checkFlow(flows, t.flow, known);
  if (!report.problems.length) return flows;
  printReport(report, io);
  return undefined;
}

/** Log in, read the station's flows and merge the file into them. */
async function plan(t: Target, flows: FlowNode[], io: Io): Promise<{ api: AdminClient; rev: string; current: FlowNode[]; merged: FlowNode[] }> {
  const api = client(t, io);
  await api.login();
  const { rev, flows: current } = await api.getFlows();
  return { api, rev, current, merged: mergeFlows(current, flows, t.removeTabs) };
}

/** The steps of a deploy, as each starts (the plant wizard shows them): the deploy itself, then the health check. */
export type DeployStep = 'deploy' | 'health';

async function deployOne(t: Target, known: PackageTypes, io: Io, step?: (s: DeployStep) => void): Promise<number> {
  step?.('deploy');
  const flows = validFlow(t, known, io);
  if (!flows) {
    io.err(`${t.name}: not deployed, the flow is invalid`);
    return EXIT.INVALID;
  }
  const { api, rev, current, merged } = await plan(t, flows, io);
  const d = diffFlows(current, merged);
  const newRev = await api.deploy(merged, rev, t.type);
  const gone = d.removed.filter((n) => n.type === 'tab' || n.type === 'subflow').map((n) => `${n.id}${typeof n.label === 'string' ? ` "${n.label}"` : ''}`);
  io.out(`${t.name}: deployed ${t.flow} (${t.type}; +${d.added.length} -${d.removed.length} ~${d.changed.length}; rev ${newRev})${gone.length ? `; removed ${gone.join(', ')}` : ''}`);
  step?.('health');
  // A health report right after the deploy can predate the new nodes' first connection attempts: require it
  // to stay healthy for a settle window (up to 2 s) before calling the station healthy.
  const start = Date.now();
  const end = start + t.healthTimeoutS * 1000;
  const settleMs = Math.min(2000, t.healthTimeoutS * 1000);
  let last: { status: number; body: unknown } = { status: 0, body: undefined };
  for (;;) {
    last = await api.health();
    const elapsed = Date.now() - start;
    if (last.status === 200 && elapsed >= settleMs) {
      io.out(`${t.name}: healthy`);
      return EXIT.OK;
    }
    if (last.status !== 200 && Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const down = ((last.body as { connections?: Array<{ id: string; type: string; state: string; lastError?: string }> })?.connections ?? [])
    .filter((c) => c.state !== 'connected')
    .map((c) => `${c.type} ${c.id}: ${c.state}${c.lastError ? ` (${c.lastError})` : ''}`);
  io.err(`${t.name}: unhealthy after ${t.healthTimeoutS} s (HTTP ${last.status})${down.length ? `: ${down.join('; ')}` : ''}`);
  return EXIT.UNHEALTHY;
}

/**
 * Deploy one station of a run (the CLI's loop over its targets, the plant wizard's deploy): every error is the
 * station's (printed to io.err), so the next station still goes. The exit code: EXIT.OK healthy, EXIT.UNHEALTHY
 * deployed but unhealthy, other codes not deployed (or failed while deploying).
 */
export async function deployTarget(t: Target, known: PackageTypes, io: Io, step?: (s: DeployStep) => void): Promise<number> {
  try {
    return await deployOne(t, known, io, step);
  } catch (err) {
    io.err(`${t.name}: ${describeError(err)}`);
    return exitFor(err);
  }
}

/** A station's line in a deploy's summary: ok, or failed with its exit code. */
export const deployOutcome = (code: number): string => (code === EXIT.OK ? 'ok' : `failed (exit ${code})`);

function envFlags(values: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of values ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new SpotFusionError('USAGE', `--env ${JSON.stringify(kv)}: expected NAME=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/**
 * Default `nodes`: Node-RED stops and starts only the nodes that changed. A full deploy stops every node of a
 * running station, and the parts between two nodes at that moment are lost (test/hardening/redeploy.test.js).
 */
function deploymentType(v: string | undefined): DeploymentType {
  const t = v ?? 'nodes';
  if (t !== 'full' && t !== 'nodes' && t !== 'flows') throw new SpotFusionError('USAGE', `--type must be full, nodes or flows, got ${t}`);
  return t;
}

function seconds(v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 600) throw new SpotFusionError('USAGE', `--health-timeout must be 0–600 seconds, got ${v}`);
  return n;
}

interface Inventory {
  defaults?: Partial<{ flow: string; user: string; type: string; healthTimeout: number; passwordEnv: string; tokenEnv: string }>;
  stations?: Array<{ name?: string; url?: string; flow?: string; user?: string; type?: string; env?: Record<string, unknown>; passwordEnv?: string; tokenEnv?: string; healthTimeout?: number }>;
}

export function inventoryTargets(file: string, only: string[] | undefined): Target[] {
  let inv: Inventory;
  try {
    inv = parseYaml(readFileSync(file, 'utf8')) as Inventory;
  } catch (err) {
    throw new SpotFusionError('USAGE', `${file}: ${describeError(err)}`);
  }
  if (!inv || !Array.isArray(inv.stations) || inv.stations.length === 0) throw new SpotFusionError('USAGE', `${file}: needs a non-empty "stations:" list`);
  const base = dirname(resolve(file));
  const d = inv.defaults ?? {};
  const seen = new Set<string>();
  const targets = inv.stations.map((s, i) => {
    const where = `${file}: stations[${i}]`;
    if (!s.name || !s.url) throw new SpotFusionError('USAGE', `${where} needs name and url`);
    if (seen.has(s.name)) throw new SpotFusionError('USAGE', `${where}: station name ${s.name} is used twice`);
    seen.add(s.name);
    const flow = s.flow ?? d.flow;
    if (!flow) throw new SpotFusionError('USAGE', `${where} (${s.name}) has no flow and there is no defaults.flow`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.env ?? {})) env[k] = String(v);
    return {
      name: s.name,
      url: s.url,
      flow: resolve(base, flow),
      user: s.user ?? d.user,
      passwordEnv: s.passwordEnv ?? d.passwordEnv ?? 'SPOTFUSION_DEPLOY_PASSWORD',
      tokenEnv: s.tokenEnv ?? d.tokenEnv ?? 'SPOTFUSION_DEPLOY_TOKEN',
      type: deploymentType(s.type ?? d.type),
      env,
      healthTimeoutS: seconds(String(s.healthTimeout ?? d.healthTimeout ?? 20), 20),
    } satisfies Target;
  });
  if (!only) return targets;
  const unknown = only.filter((n) => !seen.has(n));
  if (unknown.length) throw new SpotFusionError('USAGE', `--only names unknown stations: ${unknown.join(', ')}`);
  return targets.filter((t) => only.includes(t.name));
}

function exitFor(err: unknown): number {
  const code = (err as { code?: string }).code;
  if (code === 'USAGE') return EXIT.USAGE;
  if (code === 'INVALID') return EXIT.INVALID;
  if (code === 'CONFLICT') return EXIT.CONFLICT;
  return EXIT.REMOTE;
}

/** The one station a command line names (FLOW and --url, with its login and --env/--remove-tab flags). */
function commandLineTarget(a: Args, usage: string, rest: Pick<Target, 'type' | 'healthTimeoutS'>): Target {
  const [flow] = a.positional;
  const url = one(a, 'url');
  if (!flow || !url || a.positional.length > 1) throw new SpotFusionError('USAGE', usage);
  return {
    name: url,
    url,
    flow,
    user: one(a, 'user'),
    passwordEnv: one(a, 'password-env') ?? 'SPOTFUSION_DEPLOY_PASSWORD',
    tokenEnv: one(a, 'token-env') ?? 'SPOTFUSION_DEPLOY_TOKEN',
    env: envFlags(a.flags.get('env')),
    removeTabs: a.flags.get('remove-tab'),
    ...rest,
  };
}

/** diff's exit codes, like diff(1) */
export const DIFF = { SAME: 0, DIFFERS: 1, ERROR: 2 } as const;
export type DiffCode = (typeof DIFF)[keyof typeof DIFF];

/**
 * What a deploy of the target's flow would change on the station (the diff printed to io.out): DIFF.SAME or
 * DIFF.DIFFERS with the diff, DIFF.ERROR when the flow is invalid (problems printed). Throws when the station
 * cannot be read (unreachable, refused, bad login).
 */
export async function diffOne(t: Target, known: PackageTypes, io: Io): Promise<{ code: DiffCode; diff?: FlowDiff }> {
  const flows = validFlow(t, known, io);
  if (!flows) {
    io.err(`${t.flow}: the flow is invalid, a deploy would refuse it`);
    return { code: DIFF.ERROR };
  }
  const { current, merged } = await plan(t, flows, io);
  const diff = diffFlows(current, merged);
  io.out(formatDiff(diff));
  return { code: diff.added.length + diff.removed.length + diff.changed.length ? DIFF.DIFFERS : DIFF.SAME, diff };
}

/** diff FLOW: exit 0 when a deploy would change nothing, 1 when it would, 2 on any error (an invalid flow too). */
async function diffCommand(a: Args, known: PackageTypes, io: Io): Promise<number> {
  try {
    const t = commandLineTarget(a, 'diff needs one FLOW and --url', { type: 'nodes', healthTimeoutS: 0 });
    return (await diffOne(t, known, io)).code;
  } catch (err) {
    io.err(`spotfusion diff: ${describeError(err)}`);
    if (exitFor(err) === EXIT.USAGE) io.err(USAGE);
    return DIFF.ERROR;
  }
}

export async function main(argv: string[], io: Io, packageRoot: string): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === 'plant') return plantMain(rest, io, packageRoot);
    const a = parseArgs(rest);
    const known = packageTypes(packageRoot);
    switch (command) {
      case 'validate': {
        if (!a.positional.length) throw new SpotFusionError('USAGE', 'validate needs at least one flow file');
        const extra = (one(a, 'types') ?? '').split(',').filter(Boolean);
        let bad = 0;
        for (const f of a.positional) {
          let r: FlowReport;
          try {
            r = checkFlow(readFlow(f), f, known, extra);
          } catch (err) {
            r = { file: f, envVars: [], nodeCount: 0, problems: [{ where: f, message: describeError(err).replace(`${f}: `, '') }] };
          }
          printReport(r, io);
          if (r.problems.length) bad += 1;
        }
        return bad ? EXIT.INVALID : EXIT.OK;
      }
      case 'diff':
        return await diffCommand(a, known, io);
      case 'deploy': {
        const inventory = one(a, 'inventory');
        const targets: Target[] = inventory
          ? inventoryTargets(inventory, one(a, 'only')?.split(',').filter(Boolean))
          : [
              commandLineTarget(a, 'deploy needs one FLOW and --url, or --inventory FILE', {
                type: deploymentType(one(a, 'type')),
                healthTimeoutS: seconds(one(a, 'health-timeout'), 20),
              }),
            ];
        let worst: number = EXIT.OK;
        const summary: string[] = [];
        for (const t of targets) {
          const code = await deployTarget(t, known, io);
          summary.push(`${t.name}: ${deployOutcome(code)}`);
          worst = Math.max(worst, code);
        }
        if (targets.length > 1) io.out(`summary: ${summary.join('; ')}`);
        return worst;
      }
      case undefined:
      case 'help':
      case '--help':
        io.out(USAGE);
        return command === undefined ? EXIT.USAGE : EXIT.OK;
      default:
        throw new SpotFusionError('USAGE', `unknown command ${command}`);
    }
  } catch (err) {
    const code = exitFor(err);
    io.err(`spotfusion: ${describeError(err)}`);
    if (code === EXIT.USAGE) io.err(USAGE);
    return code;
  }
}
