import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { findLegacyPassword, secretsInLine } from './secret-rules';

/**
 * Static checks of a Node-RED flow file, for CI and for the deploy tool: shape, known node types, no secrets
 * in node fields, every ${VAR} declared, references (config nodes, wires, tabs) that exist.
 */
export type FlowNode = { id: string; type: string; z?: string; wires?: unknown; [k: string]: unknown };

export interface FlowProblem {
  /** where: "flows/station.json: node 'abc' (redis-cache).key" */
  where: string;
  message: string;
}

export interface FlowReport {
  file: string;
  problems: FlowProblem[];
  envVars: string[];
  nodeCount: number;
}

/** Node-RED 4.1/5 core node types, plus the editor's structural types. */
export const CORE_TYPES: ReadonlySet<string> = new Set([
  'tab', 'subflow', 'group', 'junction', 'global-config', 'unknown',
  'inject', 'debug', 'complete', 'catch', 'status', 'link in', 'link out', 'link call', 'comment',
  'function', 'switch', 'change', 'range', 'template', 'delay', 'trigger', 'exec', 'rbe', 'filter',
  'tls-config', 'http proxy', 'mqtt in', 'mqtt out', 'mqtt-broker', 'http in', 'http response', 'http request',
  'websocket in', 'websocket out', 'websocket-listener', 'websocket-client', 'tcp in', 'tcp out', 'tcp request',
  'udp in', 'udp out', 'csv', 'html', 'json', 'xml', 'yaml', 'split', 'join', 'sort', 'batch', 'file', 'file in',
  'watch',
]);

/** Config-node references of core nodes: type → property → config type. */
const CORE_REFS: Record<string, Record<string, string>> = {
  'mqtt in': { broker: 'mqtt-broker' },
  'mqtt out': { broker: 'mqtt-broker' },
  'mqtt-broker': { tls: 'tls-config' },
  'http request': { tls: 'tls-config', proxy: 'http proxy' },
  'websocket in': { server: 'websocket-listener', client: 'websocket-client' },
  'websocket out': { server: 'websocket-listener', client: 'websocket-client' },
};

const SECRET_FIELD = /^(pass(word|wd|phrase)?|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentialSecret|auth)$/i;
const ENV_ONLY = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
/** Node-RED substitutes an environment variable only where a field's whole value is ${NAME} (flows/util.js). */
const ENV_REF = /^\$\{(\S+)\}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface PackageTypes {
  types: Set<string>;
  /** our node type → property → config node type, read from each node's editor definition */
  refs: Record<string, Record<string, string>>;
}

/** Our node types and their config references, from package.json and the built .html of each node. */
export function packageTypes(packageRoot: string): PackageTypes {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { 'node-red'?: { nodes?: Record<string, string> } };
  const nodes = pkg['node-red']?.nodes ?? {};
  const types = new Set<string>();
  const refs: Record<string, Record<string, string>> = {};
  for (const file of Object.values(nodes)) {
    const html = join(packageRoot, file.replace(/\.js$/, '.html'));
    const src = existsSync(html) ? html : join(packageRoot, file.replace(/^dist\//, '').replace(/\.js$/, '.html'));
    if (!existsSync(src)) continue;
    const text = readFileSync(src, 'utf8');
    for (const m of text.matchAll(/RED\.nodes\.registerType\(\s*'([^']+)'/g)) types.add(m[1]);
    const type = /RED\.nodes\.registerType\(\s*'([^']+)'/.exec(text)?.[1];
    if (!type) continue;
    const defaults = /defaults:\s*\{([\s\S]*?)\n\s{4}\}/.exec(text)?.[1] ?? '';
    for (const m of defaults.matchAll(/(\w+):\s*\{[^{}]*\btype:\s*'([\w-]+)'/g)) (refs[type] ??= {})[m[1]] = m[2];
  }
  return { types, refs };
}

/** A field value for a message: strings as they are, anything else by its kind (never a recursive toString). */
function shown(v: unknown, quote: 'single' | 'json' = 'single'): string {
  if (typeof v === 'string') return quote === 'json' ? JSON.stringify(v) : `'${v}'`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : typeof v;
}

function label(n: FlowNode): string {
  return `node '${n.id}' (${n.type})`;
}

/** Node fields nested deeper than this are reported, not walked (a hostile file cannot overflow the stack). */
export const MAX_FIELD_DEPTH = 64;

function walkStrings(value: unknown, path: string, visit: (s: string, path: string, key: string) => void, tooDeep: (path: string) => void, key = '', depth = 0): void {
  if (typeof value === 'string') visit(value, path, key);
  else if (depth >= MAX_FIELD_DEPTH) {
    if (value && typeof value === 'object') tooDeep(path);
  } else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, `${path}[${i}]`, visit, tooDeep, key, depth + 1));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, `${path}.${k}`, visit, tooDeep, k, depth + 1);
  }
}

/** Check parsed flow JSON; `file` only labels the problems. */
export function checkFlow(flow: unknown, file: string, known: PackageTypes, extraTypes: Iterable<string> = []): FlowReport {
  const problems: FlowProblem[] = [];
  const add = (where: string, message: string): void => {
    problems.push({ where: `${file}: ${where}`, message });
  };
  const report: FlowReport = { file, problems, envVars: [], nodeCount: 0 };
  if (!Array.isArray(flow)) {
    add('top level', 'a flow file must be a JSON array of nodes');
    return report;
  }
  const extra = new Set(extraTypes);
  const byId = new Map<string, FlowNode>();
  flow.forEach((n: unknown, i) => {
    if (!n || typeof n !== 'object' || Array.isArray(n)) return add(`[${i}]`, 'is not an object');
    const node = n as Partial<FlowNode>;
    if (typeof node.id !== 'string' || node.id === '') return add(`[${i}]`, 'has no id');
    if (typeof node.type !== 'string' || node.type === '') return add(`[${i}] '${node.id}'`, 'has no type');
    if (byId.has(node.id)) return add(label(node as FlowNode), 'id is used twice');
    byId.set(node.id, node as FlowNode);
  });
  report.nodeCount = byId.size;
  const subflowTypes = new Set([...byId.values()].filter((n) => n.type === 'subflow').map((n) => `subflow:${n.id}`));
  const containers = new Set([...byId.values()].filter((n) => n.type === 'tab' || n.type === 'subflow').map((n) => n.id));

  const used = new Set<string>();
  const declared = new Set<string>();
  for (const n of byId.values()) {
    // declarations: tab/subflow env entries and names mentioned in tab info or comments
    if (Array.isArray(n.env)) for (const e of n.env as Array<{ name?: unknown }>) if (typeof e?.name === 'string') declared.add(e.name);
    for (const text of [n.info, n.type === 'comment' ? n.name : undefined]) {
      if (typeof text === 'string') for (const m of text.matchAll(/\b[A-Z][A-Z0-9_]{2,}\b/g)) declared.add(m[0]);
    }
  }

  for (const n of byId.values()) {
    const known1 = CORE_TYPES.has(n.type) || known.types.has(n.type) || subflowTypes.has(n.type) || extra.has(n.type) || n.type.startsWith('ui-');
    if (!known1) add(label(n), `unknown node type '${n.type}' (not a core node, not one of this package's, not a subflow in the file)`);
    if (n.z !== undefined && n.z !== '' && (typeof n.z !== 'string' || !containers.has(n.z))) add(label(n), `z ${shown(n.z)} names no tab or subflow in the file`);
    if (n.wires !== undefined) {
      if (!Array.isArray(n.wires)) add(`${label(n)}.wires`, 'must be an array of arrays');
      else
        (n.wires as unknown[]).forEach((port, p) => {
          if (!Array.isArray(port)) return add(`${label(n)}.wires[${p}]`, 'must be an array of node ids');
          for (const target of port) if (typeof target !== 'string' || !byId.has(target)) add(`${label(n)}.wires[${p}]`, `wired to ${shown(target)}, which is not in the file`);
        });
    }
    const refs = { ...(CORE_REFS[n.type] ?? {}), ...(known.refs[n.type] ?? {}) };
    for (const [prop, cfgType] of Object.entries(refs)) {
      const v = n[prop];
      if (v === undefined || v === '') continue;
      const target = typeof v === 'string' ? byId.get(v) : undefined;
      if (!target) add(`${label(n)}.${prop}`, `refers to config node ${shown(v, 'json')}, which is not in the file`);
      else if (target.type !== cfgType) add(`${label(n)}.${prop}`, `refers to '${target.id}' of type ${target.type}, expected ${cfgType}`);
    }
    if (n.credentials && typeof n.credentials === 'object' && Object.values(n.credentials).some((v) => v !== '' && v !== undefined && v !== null)) {
      add(`${label(n)}.credentials`, 'holds credential values: they belong in the credentials file or the environment, never in a flow');
    }
    const { credentials: _credentials, ...fields } = n; // reported above, not scanned field by field
    walkStrings(fields, label(n), (s, path, key) => {
      // by the field's name, then by value (the rules of the repo scan: URLs with credentials, token shapes,
      // password assignments in function code, private keys, the legacy passwords)
      if (SECRET_FIELD.test(key) && s !== '' && !ENV_ONLY.test(s)) {
        add(path, `looks like a secret in a node field: use credentials or \${ENV_VAR}`);
        if (findLegacyPassword(s) !== undefined) add(path, 'contains a known legacy password');
      } else {
        const rules = new Set(s.split(/\r?\n/).flatMap((line) => secretsInLine(line).map((h) => h.rule)));
        if (rules.delete('legacy password')) add(path, 'contains a known legacy password');
        for (const rule of rules) add(path, `holds a secret (${rule}): use credentials or \${ENV_VAR}`);
      }
      const m = ENV_REF.exec(s);
      if (m) {
        if (!ENV_NAME.test(m[1])) add(path, `\${${m[1]}} is not a valid environment variable name`);
        else used.add(m[1]);
      }
    }, (path) => add(path, `is nested deeper than ${MAX_FIELD_DEPTH} levels`));
  }
  report.envVars = [...used].sort();
  for (const v of report.envVars) if (!declared.has(v)) add('environment', `\${${v}} is used but not listed in the flow's header (tab info, a comment or tab env)`);
  return report;
}

export function checkFlowFile(file: string, known: PackageTypes, extraTypes: Iterable<string> = []): FlowReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { file, envVars: [], nodeCount: 0, problems: [{ where: file, message: `cannot read flow JSON: ${(err as Error).message}` }] };
  }
  return checkFlow(parsed, file, known, extraTypes);
}

/** Every .json below a folder (flows/, examples/). */
export function flowFilesIn(dir: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...flowFilesIn(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out.sort();
}
