import { stringify as yamlStringify } from 'yaml';
import { assertValid, SchemaError } from '../schemas';
import { describeError } from '../errors';
import { checkFlow, FlowNode, PackageTypes } from '../deploy/flow-check';
import { Camera, formatPath, Path, Plant, Product, Spot, StationEntry, stationsOf, Tag, WeldRule } from './model';
import { PlantProblem } from './validate';

/**
 * `spotfusion plant generate`: a validated plant + the station flow template → per station its flow (station
 * values in the tab env, RESULT_TARGETS naming the plant services as targets of its result-publish), its recipe set, its model references and an env file, plus the `stations.yaml`
 * inventory that `spotfusion deploy --inventory` takes. Pure: returns file paths and contents; the same input
 * gives the same bytes (sorted keys, no timestamps).
 */
export interface GeneratedFile {
  /** relative to the output folder, with / separators */
  path: string;
  content: string;
}

export interface GenerateOptions {
  template: FlowNode[];
  /** names the template in messages and in the generated headers */
  templateName: string;
  known: PackageTypes;
  /** the plant file's name as written into the generated headers (no folder, so output does not depend on cwd) */
  plantName: string;
}

export interface GenerateResult {
  files: GeneratedFile[];
  problems: PlantProblem[];
  stations: string[];
}

/** Generated file names inside each stations/<id>/ folder. */
export const STATION_FILES = ['flow.json', 'recipes.json', 'models.json', 'station.env'] as const;

/** A copy with object keys sorted at every level. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys((v as Record<string, unknown>)[k]);
    return o;
  }
  return v;
}

/** JSON with object keys sorted at every level, 2-space indent, final newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

const HANDSHAKE_WRITE: Record<string, keyof Plant['lines'][0]['areas'][0]['stations'][0]['devices']['plc']['tags']> = {
  busy: 'busy',
  ack: 'ack',
  done: 'done',
  resultok: 'resultOk',
  resultnok: 'resultNok',
  resultcode: 'resultCode',
};

/** The template's default of a tab env entry: a plain string, or the `$env("X") ? $env("X") : "default"` form. */
export function templateDefault(entry: { name: string; value?: unknown; type?: string }): string | undefined {
  if (entry.type === 'str' || entry.type === undefined) return typeof entry.value === 'string' ? entry.value : undefined;
  if (entry.type === 'num' || entry.type === 'bool') return String(entry.value);
  if (entry.type === 'jsonata' && typeof entry.value === 'string') {
    const m = /^\$env\("([A-Za-z_][A-Za-z0-9_]*)"\)\s*\?\s*\$env\("\1"\)\s*:\s*("(?:[^"\\]|\\.)*")$/.exec(entry.value.trim());
    if (m) {
      try {
        return JSON.parse(m[2]) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

interface StationWork {
  entry: StationEntry;
  /** product → its spots inspected here, in processFlow order */
  items: Array<{ product: Product; spots: Spot[] }>;
  camera: Camera;
  model: Plant['inspection']['models'][0] | undefined;
}

function stationWork(plant: Plant, entry: StationEntry, problems: Array<{ path: Path; message: string }>): StationWork | undefined {
  const { station, path } = entry;
  const products = new Map(plant.products.map((p) => [p.id, p]));
  const items: StationWork['items'] = [];
  for (const step of plant.processFlow) {
    if (step.station !== station.id) continue;
    const product = products.get(step.product);
    if (!product) continue;
    const byId = new Map(product.spots.map((s) => [s.id, s]));
    items.push({ product, spots: step.spots.map((id) => byId.get(id)).filter((s): s is Spot => s !== undefined) });
  }
  if (!items.length) {
    problems.push({ path: [...path, 'id'], message: `station ${station.id} inspects nothing in processFlow: there is no recipe to generate` });
    return undefined;
  }
  const used = new Set<string>();
  for (const it of items) for (const s of it.spots) {
    const cam = station.devices.cameras.find((c) => s.roi[c.id] !== undefined);
    if (cam) used.add(cam.id);
  }
  if (used.size > 1) {
    problems.push({ path: [...path, 'devices', 'cameras'], message: `the station flow runs one camera, but the spots of ${station.id} are seen by ${[...used].sort().join(' and ')}` });
    return undefined;
  }
  const camera = station.devices.cameras.find((c) => used.has(c.id)) ?? station.devices.cameras[0];
  const classModel = new Map(plant.inspection.classes.map((c) => [c.id, c.model]));
  const models = new Set<string>();
  for (const it of items) for (const s of it.spots) {
    const m = classModel.get(s.class);
    if (m) models.add(m);
  }
  if (models.size > 1) {
    problems.push({ path: [...path, 'id'], message: `the station flow runs one model, but the spots of ${station.id} need ${[...models].sort().join(' and ')}` });
    return undefined;
  }
  const model = plant.inspection.models.find((m) => models.has(m.id));
  return { entry, items, camera, model };
}

function recipeSet(plant: Plant, w: StationWork): unknown {
  return {
    description: `plant ${plant.plant.id} ${plant.plant.version}, station ${w.entry.station.id}, camera ${w.camera.id}: generated by spotfusion plant generate`,
    recipes: w.items.map(({ product, spots }) => ({
      program: product.program,
      product: product.id,
      ...(product.name ? { description: product.name } : {}),
      spots: spots.map((s) => {
        const roi = s.roi[w.camera.id];
        const stackup = product.stackups.find((x) => x.id === s.stackup);
        const total = stackup ? Math.round(stackup.sheets.reduce((a, b) => a + b.thickness, 0) * 1000) / 1000 : undefined;
        return {
          id: s.id,
          x: roi.x,
          y: roi.y,
          w: roi.w,
          h: roi.h,
          ...(roi.rotation ? { rotation: roi.rotation } : {}),
          ...(s.expectedDiameterPx ? { expectedDiameter: s.expectedDiameterPx } : {}),
          ...(total ? { stackupThickness: total } : {}),
        };
      }),
    })),
  };
}

function verdictRules(plant: Plant, w: StationWork, base: Record<string, unknown>): Record<string, unknown> {
  const wp = plant.weldProcess;
  const rules = new Map<string, WeldRule>(wp.rules.map((r) => [r.id, r]));
  const stackups: Record<string, { t: number; k?: number }> = {};
  const spots: Record<string, Record<string, unknown>> = {};
  for (const { product, spots: list } of w.items) {
    for (const s of list) {
      const rule = rules.get(s.rule);
      const st = product.stackups.find((x) => x.id === s.stackup);
      const o: Record<string, unknown> = {};
      if (st) {
        const key = `${product.id}/${st.id}${rule?.k !== undefined ? `@${rule.id}` : ''}`;
        stackups[key] = { t: Math.min(...st.sheets.map((x) => x.thickness)), ...(rule?.k !== undefined ? { k: rule.k } : {}) };
        o.stackup = key;
      }
      if (rule?.minScore !== undefined) o.minScore = rule.minScore;
      if (rule?.okLabels) o.okLabels = rule.okLabels;
      if (rule?.minDiameter !== undefined) o.minDiameter = rule.minDiameter;
      if (rule?.ignore) o.ignore = true;
      spots[s.id] = o;
    }
  }
  const diameter = { ...((base.diameter as Record<string, unknown> | undefined) ?? {}), ...(wp.diameter ?? {}) };
  return {
    ...base,
    version: `${plant.plant.id} ${plant.plant.version}`,
    ...(wp.okLabels ? { okLabels: wp.okLabels } : {}),
    ...(wp.minScore !== undefined ? { minScore: wp.minScore } : {}),
    ...(wp.lowConfidence !== undefined ? { lowConfidence: wp.lowConfidence } : {}),
    ...(Object.keys(diameter).length ? { diameter } : {}),
    stackups,
    spots,
  };
}

/** The result-publish target (its name in RESULT_TARGETS) of each plant service. */
const SERVICE_TARGETS = [
  ['database', 'postgres'],
  ['broker', 'amqp'],
  ['mqtt', 'mqtt'],
] as const;

/**
 * RESULT_TARGETS of a station: the template's default (the targets every station has, "sqlite" in
 * flows/station.json) plus the target of each service the plant names. Every target is fed from the one outbox of
 * the station's result-publish, so the plant turns targets on without a tab or a second outbox. Not set when the
 * plant names no service (the template's default stands) or when the template's default is empty (every
 * configured target is on already).
 */
function resultTargets(plant: Plant, template: FlowNode[]): Record<string, string> {
  const s = plant.network?.services;
  const named = SERVICE_TARGETS.filter(([service]) => s?.[service] !== undefined).map(([, target]) => target);
  if (named.length === 0) return {};
  const declared = envDeclared(template).get('RESULT_TARGETS');
  // not declared: RESULT_TARGETS is set anyway, and the missing variable is reported by name
  const base = declared ? (declared.def ?? '').split(/[\s,]+/).filter((x) => x !== '') : ['sqlite'];
  if (declared && base.length === 0) return {};
  return { RESULT_TARGETS: [...new Set([...base, ...named])].join(',') };
}

/** Station values by variable name ('' = explicitly empty). */
function stationValues(plant: Plant, w: StationWork): Record<string, string> {
  const { station, line, area } = w.entry;
  const { plc } = station.devices;
  const cam = w.camera;
  const v: Record<string, string> = {
    STATION_ID: station.id,
    LINE_ID: line.id,
    AREA_ID: area.id,
    PLC_PROTOCOL: plc.protocol,
    CAMERA_SOURCE: cam.source,
    CAMERA_ID: cam.id,
    CAMERA_HOST: cam.source === 'gige' ? (cam.address ?? '') : '',
    CAMERA_URL: cam.source === 'http' ? (cam.url ?? '') : '',
    CAMERA_FOLDER: cam.source === 'folder' ? (cam.folder ?? '') : '',
  };
  if (plc.protocol !== 'simulator' && plc.address) v.PLC_ADDRESS = plc.address;
  if (plc.protocol !== 'simulator') v.PLC_PORT = String(plc.port ?? (plc.protocol === 'opcua' ? 4840 : 44818));
  if (plc.route) v.PLC_ROUTE = plc.route;
  if (plc.pollMs !== undefined) v.PLC_POLL_MS = String(plc.pollMs);
  if (w.model) v.MODEL_PATH = w.model.path;
  const s = plant.network?.services;
  const set = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) v[name] = String(value);
  };
  if (s?.database) {
    set('DATABASE_HOST', s.database.host);
    set('DATABASE_PORT', s.database.port);
    set('DATABASE_NAME', s.database.name);
    set('DATABASE_SCHEMA', s.database.schema);
  }
  if (s?.broker) {
    set('AMQP_HOST', s.broker.host);
    set('AMQP_PORT', s.broker.port);
    set('AMQP_VHOST', s.broker.vhost);
    set('AMQP_EXCHANGE', s.broker.exchange);
  }
  if (s?.mqtt) {
    set('MQTT_HOST', s.mqtt.host);
    set('MQTT_PORT', s.mqtt.port);
  }
  return v;
}

function envDeclared(template: FlowNode[]): Map<string, { tab: string; def: string | undefined }> {
  const out = new Map<string, { tab: string; def: string | undefined }>();
  for (const n of template) {
    if ((n.type !== 'tab' && n.type !== 'subflow') || !Array.isArray(n.env)) continue;
    for (const e of n.env as Array<{ name: string; value?: unknown; type?: string }>) if (!out.has(e.name)) out.set(e.name, { tab: n.id, def: templateDefault(e) });
  }
  return out;
}

function envQuote(v: string): string {
  return /^[A-Za-z0-9_./:@,+-]*$/.test(v) ? v : JSON.stringify(v);
}

function plcReadTags(tags: Record<string, Tag | undefined> & { extra?: Array<{ name: string; address: string; type: string }> }, triggerName: string): unknown[] {
  const out: unknown[] = [];
  if (tags.trigger) out.push({ name: triggerName, address: tags.trigger.address, type: tags.trigger.type });
  for (const role of ['serial', 'program', 'model'] as const) {
    const t = tags[role];
    if (t) out.push({ name: role, address: t.address, type: t.type, role });
  }
  for (const t of tags.extra ?? []) out.push({ name: t.name, address: t.address, type: t.type, role: 'extra' });
  return out;
}

function stationFlow(plant: Plant, w: StationWork, opts: GenerateOptions, values: Record<string, string>, recipes: unknown, problems: Array<{ path: Path; message: string }>): FlowNode[] | undefined {
  const { station } = w.entry;
  const at = (m: string): void => {
    problems.push({ path: [...w.entry.path, 'id'], message: `${opts.templateName}: ${m}` });
  };
  const flow = JSON.parse(JSON.stringify(opts.template)) as FlowNode[];
  const read = flow.filter((n) => n.type === 'plc-read');
  if (read.length !== 1) {
    at(`the station flow template needs exactly one plc-read node, it has ${read.length}`);
    return undefined;
  }
  const stationTab = read[0].z;
  const onTab = (type: string): FlowNode[] => flow.filter((n) => n.type === type && n.z === stationTab);
  const one = (type: string): FlowNode | undefined => {
    const list = onTab(type);
    if (list.length !== 1) at(`the station tab of the template needs exactly one ${type} node, it has ${list.length}`);
    return list.length === 1 ? list[0] : undefined;
  };
  const [plcCfg, camCfg, recipeCfg, enrich] = [one('plc-config'), one('spotfusion-camera-config'), one('spotfusion-recipe-config'), one('enrich')];
  if (!plcCfg || !camCfg || !recipeCfg || !enrich) return undefined;
  const { plc } = station.devices;

  // variables: every plant value needs a variable in the template, and goes into the tab env
  const declared = envDeclared(flow);
  const used = new Set(checkFlow(opts.template, opts.templateName, opts.known).envVars);
  const missing = Object.entries(values)
    .filter(([k, v]) => v !== '' && !declared.has(k) && !used.has(k))
    .map(([k]) => k);
  if (missing.length) at(`the template has no variable for ${missing.sort().join(', ')}`);
  for (const n of flow) {
    if (n.type !== 'tab' || !Array.isArray(n.env)) continue;
    const env = n.env as Array<{ name: string; value: unknown; type: string }>;
    n.env = env.map((e) => (e.name in values ? { name: e.name, type: 'str', value: values[e.name] } : e));
  }
  const tab = flow.find((n) => n.id === stationTab);
  if (tab) {
    const extra = Object.keys(values)
      .filter((k) => !declared.has(k) && used.has(k))
      .sort();
    tab.env = [...((tab.env as unknown[]) ?? []), ...extra.map((name) => ({ name, type: 'str', value: values[name] }))];
    tab.label = `${typeof tab.label === 'string' ? tab.label : 'Station'} — ${station.id}`;
    tab.info = `Generated by spotfusion plant generate from ${opts.plantName} (plant ${plant.plant.id} ${plant.plant.version}) and ${opts.templateName} for station ${station.id}: change the plant file and generate again instead of editing this flow.\n\n${typeof tab.info === 'string' ? tab.info : ''}`;
  }

  // PLC: endpoint for OPC UA, the tag maps of the handshake
  if (plc.protocol === 'opcua') plcCfg.endpoint = `opc.tcp://${plc.address ?? ''}:${plc.port ?? 4840}`;
  const tags = plc.tags as Record<string, Tag | undefined> & { extra?: Array<{ name: string; address: string; type: string }> };
  const r = read[0];
  r.tags = plcReadTags(tags, typeof r.trigger === 'string' && r.trigger !== '' ? r.trigger : 'Trigger');
  if (!(typeof r.trigger === 'string' && r.trigger !== '')) r.trigger = 'Trigger';
  for (const wn of onTab('plc-write')) {
    if (!Array.isArray(wn.tags)) continue;
    wn.tags = (wn.tags as Array<{ name: string; address: string; type: string }>).map((t) => {
      const role = HANDSHAKE_WRITE[t.name.toLowerCase().replace(/[^a-z]/g, '')];
      const p = role ? (tags[role] as Tag | undefined) : undefined;
      if (!p) {
        at(`plc-write tag ${t.name} of node ${wn.id} has no handshake tag in the plant`);
        return t;
      }
      return { ...t, address: p.address, type: p.type };
    });
  }

  // camera features, recipes, verdict rules
  const f = w.camera.features ?? {};
  if (f.pixelFormat !== undefined) camCfg.pixelFormat = f.pixelFormat;
  if (f.exposureUs !== undefined) camCfg.exposure = String(f.exposureUs);
  if (f.gain !== undefined) camCfg.gain = String(f.gain);
  if (f.frameRate !== undefined) camCfg.frameRate = String(f.frameRate);
  if (f.packetSize !== undefined) camCfg.packetSize = f.packetSize;
  if (f.trigger !== undefined) camCfg.trigger = f.trigger;
  if (f.timeoutMs !== undefined) camCfg.timeout = f.timeoutMs;
  camCfg.simWidth = w.camera.sensor.width;
  camCfg.simHeight = w.camera.sensor.height;
  recipeCfg.source = 'inline';
  recipeCfg.file = '';
  recipeCfg.recipes = JSON.stringify(sortKeys(recipes));
  let base: Record<string, unknown> = {};
  try {
    base = typeof enrich.rules === 'string' && enrich.rules.trim() !== '' ? (JSON.parse(enrich.rules) as Record<string, unknown>) : {};
  } catch (err) {
    at(`enrich node ${enrich.id} has rules that are not JSON (${describeError(err)})`);
    return undefined;
  }
  delete base.stackups;
  delete base.spots;
  delete base.expectedSpots;
  const rules = verdictRules(plant, w, base);
  try {
    assertValid('verdict-rules', rules, 'rules');
  } catch (err) {
    at(`the verdict rules for ${station.id} are invalid: ${err instanceof SchemaError ? err.problems.join('; ') : describeError(err)}`);
    return undefined;
  }
  enrich.rules = JSON.stringify(sortKeys(rules));
  return flow;
}

function envFile(plant: Plant, w: StationWork, opts: GenerateOptions, values: Record<string, string>): string {
  const declared = envDeclared(opts.template);
  const used = checkFlow(opts.template, opts.templateName, opts.known).envVars;
  const { station, line, area } = w.entry;
  const secrets = new Set((plant.network?.secrets ?? []).map((s) => s.env));
  const lines = [
    `# Station ${station.id} (line ${line.id}, area ${area.id}) of plant ${plant.plant.id} ${plant.plant.version}.`,
    `# Generated by spotfusion plant generate from ${opts.plantName} and ${opts.templateName}: do not edit, generate again.`,
    '# Every variable the station flow reads. Station values are also in the flow\'s tab env; secrets are only named:',
    '# set them in the station\'s environment (systemd credentials, docker secrets), never in this file or in git.',
    '',
    '# station values from the plant',
  ];
  const fromPlant = Object.keys(values).filter((k) => declared.has(k) || used.includes(k)).sort();
  for (const k of fromPlant) lines.push(`${k}=${envQuote(values[k])}`);
  const others = [...new Set([...declared.keys(), ...used])].filter((k) => !(k in values) && !secrets.has(k)).sort();
  if (others.length) {
    lines.push('', '# template defaults (the plant does not set these)');
    for (const k of others) {
      const d = declared.get(k)?.def;
      lines.push(d === undefined ? `# ${k}= (no default in the template)` : `${k}=${envQuote(d)}`);
    }
  }
  const secretList = [...secrets].sort();
  if (secretList.length) {
    lines.push('', '# secrets (network.secrets): set on the station, never written here');
    for (const k of secretList) lines.push(`# ${k}=`);
  }
  return `${lines.join('\n')}\n`;
}

function modelRefs(plant: Plant, w: StationWork): unknown {
  const classes = new Map<string, number>();
  for (const it of w.items) for (const s of it.spots) classes.set(s.class, (classes.get(s.class) ?? 0) + 1);
  return {
    plant: `${plant.plant.id} ${plant.plant.version}`,
    station: w.entry.station.id,
    models: w.model
      ? [{ id: w.model.id, path: w.model.path, version: w.model.version ?? null, classes: [...classes.keys()].sort(), spots: [...classes.values()].reduce((a, b) => a + b, 0), variable: 'MODEL_PATH' }]
      : [],
  };
}

export function generatePlant(plant: Plant, opts: GenerateOptions, lineOf: (p: Path) => number | undefined = () => undefined): GenerateResult {
  const raw: Array<{ path: Path; message: string }> = [];
  const files: GeneratedFile[] = [];
  const stations: string[] = [];
  const inventory: Array<Record<string, unknown>> = [];
  const adminPort = plant.network?.adminPort ?? 1880;
  for (const entry of stationsOf(plant)) {
    const w = stationWork(plant, entry, raw);
    if (!w) continue;
    const id = entry.station.id;
    const values = { ...stationValues(plant, w), ...resultTargets(plant, opts.template) };
    const recipes = recipeSet(plant, w);
    try {
      assertValid('recipe-set', recipes, 'recipes');
    } catch (err) {
      raw.push({ path: [...entry.path, 'id'], message: `the recipe set for ${id} is invalid: ${err instanceof SchemaError ? err.problems.join('; ') : describeError(err)}` });
      continue;
    }
    const before = raw.length;
    const flow = stationFlow(plant, w, opts, values, recipes, raw);
    if (!flow || raw.length > before) continue;
    const dir = `stations/${id}`;
    const report = checkFlow(flow, `${dir}/flow.json`, opts.known);
    for (const p of report.problems) raw.push({ path: [...entry.path, 'id'], message: `generated flow: ${p.where}: ${p.message}` });
    if (report.problems.length) continue;
    stations.push(id);
    files.push({ path: `${dir}/flow.json`, content: stableJson(flow) });
    files.push({ path: `${dir}/recipes.json`, content: stableJson(recipes) });
    files.push({ path: `${dir}/models.json`, content: stableJson(modelRefs(plant, w)) });
    files.push({ path: `${dir}/station.env`, content: envFile(plant, w, opts, values) });
    const edge = entry.station.devices.edge;
    inventory.push({ name: id, url: `${edge.https ? 'https' : 'http'}://${edge.address}:${edge.port ?? adminPort}`, flow: `${dir}/flow.json` });
  }
  const deploy = plant.network?.deploy ?? {};
  const defaults: Record<string, unknown> = { type: 'full' };
  if (deploy.user) defaults.user = deploy.user;
  if (deploy.passwordEnv) defaults.passwordEnv = deploy.passwordEnv;
  if (deploy.tokenEnv) defaults.tokenEnv = deploy.tokenEnv;
  if (deploy.healthTimeout !== undefined) defaults.healthTimeout = deploy.healthTimeout;
  const header = `# Stations of plant ${plant.plant.id} ${plant.plant.version}, generated by spotfusion plant generate from ${opts.plantName}: do not edit.\n# Deploy: spotfusion deploy --inventory stations.yaml [--only NAME,...] (the password comes from $${deploy.passwordEnv ?? 'SPOTFUSION_DEPLOY_PASSWORD'})\n`;
  files.push({ path: 'stations.yaml', content: header + yamlStringify({ defaults, stations: inventory }, { sortMapEntries: true, lineWidth: 0 }) });
  const problems = raw.map((p) => ({ path: formatPath(p.path), message: p.message, line: lineOf(p.path) }));
  return { files: problems.length ? [] : files, problems, stations };
}
