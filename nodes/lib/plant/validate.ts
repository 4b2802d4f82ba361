import { readFileSync } from 'node:fs';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { join } from 'node:path';
import { LineCounter, parseDocument, Document } from 'yaml';
import { describeError } from '../errors';
import { findLegacyPassword } from '../deploy/secret-rules';
import { formatPath, Path, Plant, Roi, stationsOf, Tag } from './model';

/**
 * `spotfusion plant validate`: the plant file against plant.schema.json, then the cross-references the schema
 * cannot express. Every problem carries its path in the file (and the line, when the file is YAML/JSON text).
 */
export interface PlantProblem {
  path: string;
  message: string;
  line?: number;
}

export interface LoadedPlant {
  file: string;
  /** the parsed value (valid only when `problems` is empty) */
  value: unknown;
  problems: PlantProblem[];
  lineOf: (path: Path) => number | undefined;
}

const SCHEMA_FILE = join(__dirname, '..', '..', 'schemas', 'plant.schema.json');
let schemaFn: ValidateFunction | undefined;
let schema: object | undefined;

/** plant.schema.json, read once (the validator's and the wizard's forms') */
export function plantSchema(): object {
  schema ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object;
  return schema;
}

function schemaValidator(): ValidateFunction {
  if (!schemaFn) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    schemaFn = ajv.compile(plantSchema());
  }
  return schemaFn;
}

/** Parse YAML or JSON text (JSON is YAML); syntax errors become problems with their line. */
export function parsePlant(text: string, file: string): LoadedPlant {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true });
  const problems: PlantProblem[] = doc.errors.map((e) => ({ path: '(file)', message: e.message.split('\n')[0], line: e.linePos?.[0]?.line }));
  const lineOf = (path: Path): number | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && Array.isArray(node.range)) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
  let value: unknown;
  try {
    value = problems.length ? undefined : doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push({ path: '(file)', message: describeError(err) });
  }
  return { file, value, problems, lineOf };
}

export function loadPlant(file: string): LoadedPlant {
  return parsePlant(readFileSync(file, 'utf8'), file);
}

function ajvPath(e: ErrorObject): Path {
  const parts: Path = e.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  if (e.keyword === 'required') parts.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') parts.push(String(e.params.additionalProperty));
  return parts;
}

function ajvMessage(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not allowed here';
    case 'enum':
      return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern':
      return `must match ${String(e.params.pattern)}`;
    default:
      return e.message ?? 'is invalid';
  }
}

/** Schema problems only (path + message), in a stable order. */
export function schemaProblems(value: unknown): Array<{ path: Path; message: string }> {
  const fn = schemaValidator();
  if (fn(value)) return [];
  const seen = new Set<string>();
  const out: Array<{ path: Path; message: string }> = [];
  for (const e of fn.errors ?? []) {
    if (e.keyword === 'if') continue;
    const p = { path: ajvPath(e), message: ajvMessage(e) };
    const key = `${formatPath(p.path)}\u0000${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(p);
    }
  }
  return out;
}

const BOOL_ROLES = ['trigger', 'busy', 'ack', 'done', 'resultOk', 'resultNok'] as const;
const HANDSHAKE = ['trigger', 'serial', 'program', 'busy', 'ack', 'done', 'resultOk', 'resultNok', 'resultCode'] as const;
const INT_TYPES = new Set(['SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT']);

/** The frame box an ROI covers, rotation about its centre included: [x0, y0, x1, y1]. */
export function roiBounds(r: Roi): [number, number, number, number] {
  const rot = ((r.rotation ?? 0) * Math.PI) / 180;
  if (rot === 0) return [r.x, r.y, r.x + r.w, r.y + r.h];
  const cx = r.x + r.w / 2;
  const cy = r.y + r.h / 2;
  const hw = (Math.abs(Math.cos(rot)) * r.w + Math.abs(Math.sin(rot)) * r.h) / 2;
  const hh = (Math.abs(Math.sin(rot)) * r.w + Math.abs(Math.cos(rot)) * r.h) / 2;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return [round(cx - hw), round(cy - hh), round(cx + hw), round(cy + hh)];
}

/** Cross-reference checks of a schema-valid plant. */
export function crossProblems(plant: Plant): Array<{ path: Path; message: string }> {
  const out: Array<{ path: Path; message: string }> = [];
  const add = (path: Path, message: string): void => {
    out.push({ path, message });
  };
  const unique = (kind: string, seen: Map<string, Path>, id: string, path: Path): void => {
    const before = seen.get(id);
    if (before) add(path, `${kind} id "${id}" is already used by ${formatPath(before)}`);
    else seen.set(id, path);
  };

  // ids
  const lineIds = new Map<string, Path>();
  const stationIds = new Map<string, Path>();
  const deviceIds = new Map<string, Path>();
  const addresses = new Map<string, Path>();
  const cameraStation = new Map<string, { station: string; sensor: { width: number; height: number } }>();
  const useAddress = (address: string | undefined, path: Path): void => {
    if (address === undefined) return;
    const key = address.toLowerCase();
    const before = addresses.get(key);
    if (before) add(path, `address ${address} is also used by ${formatPath(before)}`);
    else addresses.set(key, path);
  };
  plant.lines.forEach((line, li) => {
    unique('line', lineIds, line.id, ['lines', li, 'id']);
    const areaIds = new Map<string, Path>();
    line.areas.forEach((area, ai) => unique('area', areaIds, area.id, ['lines', li, 'areas', ai, 'id']));
  });
  for (const { station, path } of stationsOf(plant)) {
    unique('station', stationIds, station.id, [...path, 'id']);
    const dev = [...path, 'devices'];
    const { plc, cameras, edge } = station.devices;
    unique('device', deviceIds, plc.id, [...dev, 'plc', 'id']);
    cameras.forEach((c, ci) => {
      unique('device', deviceIds, c.id, [...dev, 'cameras', ci, 'id']);
      if (!cameraStation.has(c.id)) cameraStation.set(c.id, { station: station.id, sensor: c.sensor });
    });
    unique('device', deviceIds, edge.id, [...dev, 'edge', 'id']);

    // device completeness and addresses
    if (plc.protocol !== 'simulator' && plc.address === undefined) add([...dev, 'plc', 'address'], `PLC protocol ${plc.protocol} needs an address`);
    useAddress(plc.address, [...dev, 'plc', 'address']);
    cameras.forEach((c, ci) => {
      const cp = [...dev, 'cameras', ci];
      if (c.source === 'gige' && c.address === undefined) add([...cp, 'address'], 'a GigE Vision camera needs an address');
      if (c.source === 'http' && c.url === undefined) add([...cp, 'url'], 'an HTTP snapshot camera needs a url');
      if (c.source === 'folder' && c.folder === undefined) add([...cp, 'folder'], 'a watched-folder camera needs a folder');
      useAddress(c.address, [...cp, 'address']);
    });
    useAddress(edge.address, [...dev, 'edge', 'address']);

    // the PLC tag map must carry the whole handshake
    const tp = [...dev, 'plc', 'tags'];
    const tags = plc.tags as Record<string, Tag | undefined>;
    for (const role of HANDSHAKE) if (!tags[role]) add([...tp, role], `the handshake needs the ${role} tag`);
    for (const role of BOOL_ROLES) {
      const t = tags[role];
      if (t && t.type !== 'BOOL') add([...tp, role, 'type'], `${role} must be BOOL for the handshake, got ${t.type}`);
    }
    if (plc.tags.resultCode && !INT_TYPES.has(plc.tags.resultCode.type)) add([...tp, 'resultCode', 'type'], `resultCode must be an integer type, got ${plc.tags.resultCode.type}`);
    if (plc.tags.program && !INT_TYPES.has(plc.tags.program.type) && plc.tags.program.type !== 'STRING') add([...tp, 'program', 'type'], `program must be an integer type or STRING, got ${plc.tags.program.type}`);
    const tagAddr = new Map<string, Path>();
    const all: Array<[Path, string]> = [
      ...Object.entries(plc.tags)
        .filter(([k]) => k !== 'extra')
        .map(([k, t]) => [[...tp, k, 'address'], (t as Tag).address] as [Path, string]),
      ...(plc.tags.extra ?? []).map((t, i) => [[...tp, 'extra', i, 'address'], t.address] as [Path, string]),
    ];
    for (const [p, a] of all) {
      const before = tagAddr.get(a);
      if (before) add(p, `tag address ${a} is also used by ${formatPath(before)}`);
      else tagAddr.set(a, p);
    }
    const extraNames = new Map<string, Path>();
    (plc.tags.extra ?? []).forEach((t, i) => {
      if (['serial', 'program', 'model', 'extra', 'trigger'].includes(t.name)) add([...tp, 'extra', i, 'name'], `extra tag name ${t.name} is reserved`);
      unique('extra tag', extraNames, t.name, [...tp, 'extra', i, 'name']);
    });
  }

  // models, classes, rules
  const modelIds = new Map<string, Path>();
  plant.inspection.models.forEach((m, i) => unique('model', modelIds, m.id, ['inspection', 'models', i, 'id']));
  const classIds = new Map<string, Path>();
  plant.inspection.classes.forEach((c, i) => {
    unique('spot class', classIds, c.id, ['inspection', 'classes', i, 'id']);
    if (!modelIds.has(c.model)) add(['inspection', 'classes', i, 'model'], `model "${c.model}" is not in inspection.models`);
  });
  const ruleIds = new Map<string, Path>();
  plant.weldProcess.rules.forEach((r, i) => unique('rule', ruleIds, r.id, ['weldProcess', 'rules', i, 'id']));

  // products
  const productIds = new Map<string, Path>();
  const programs = new Map<string, Path>();
  const spotIds = new Map<string, Path>();
  plant.products.forEach((p, pi) => {
    const pp: Path = ['products', pi];
    unique('product', productIds, p.id, [...pp, 'id']);
    const prog = String(p.program);
    const before = programs.get(prog);
    if (before) add([...pp, 'program'], `program ${prog} is already used by ${formatPath(before)}`);
    else programs.set(prog, [...pp, 'program']);
    const panels = new Map<string, Path>();
    p.panels.forEach((x, i) => unique('panel', panels, x.id, [...pp, 'panels', i, 'id']));
    const stackups = new Map<string, Path>();
    p.stackups.forEach((x, i) => unique('stackup', stackups, x.id, [...pp, 'stackups', i, 'id']));
    p.spots.forEach((s, si) => {
      const sp: Path = [...pp, 'spots', si];
      unique('spot', spotIds, s.id, [...sp, 'id']);
      if (!panels.has(s.panel)) add([...sp, 'panel'], `panel "${s.panel}" is not a panel of product ${p.id}`);
      if (!stackups.has(s.stackup)) add([...sp, 'stackup'], `stackup "${s.stackup}" is not a stackup of product ${p.id}`);
      if (!classIds.has(s.class)) add([...sp, 'class'], `spot class "${s.class}" is not in inspection.classes`);
      if (!ruleIds.has(s.rule)) add([...sp, 'rule'], `rule "${s.rule}" is not in weldProcess.rules`);
      for (const [cam, roi] of Object.entries(s.roi).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const c = cameraStation.get(cam);
        if (!c) {
          add([...sp, 'roi', cam], `camera "${cam}" is not a camera of any station`);
          continue;
        }
        const [x0, y0, x1, y1] = roiBounds(roi);
        if (x0 < 0 || y0 < 0 || x1 > c.sensor.width || y1 > c.sensor.height) {
          add([...sp, 'roi', cam], `ROI x ${x0}..${x1}, y ${y0}..${y1} lies outside the ${c.sensor.width}×${c.sensor.height} sensor of camera ${cam}`);
        }
      }
    });
  });

  // process flow: references, then "every spot inspected by exactly the stations the process flow says"
  const stationCameras = new Map<string, Set<string>>();
  for (const { station } of stationsOf(plant)) if (!stationCameras.has(station.id)) stationCameras.set(station.id, new Set(station.devices.cameras.map((c) => c.id)));
  const byProduct = new Map(plant.products.map((p) => [p.id, p]));
  const steps = new Map<string, Path>();
  const inspectedBy = new Map<string, Set<string>>(); // spot id → stations
  plant.processFlow.forEach((step, i) => {
    const sp: Path = ['processFlow', i];
    const cams = stationCameras.get(step.station);
    if (!cams) add([...sp, 'station'], `station "${step.station}" is not a station of the plant`);
    const product = byProduct.get(step.product);
    if (!product) add([...sp, 'product'], `product "${step.product}" is not a product of the plant`);
    const key = `${step.station}\u0000${step.product}`;
    const before = steps.get(key);
    if (before) add(sp, `station ${step.station} and product ${step.product} already have an entry at ${formatPath(before)}`);
    else steps.set(key, sp);
    if (!product) return;
    const spots = new Map(product.spots.map((s) => [s.id, s]));
    const listed = new Set<string>();
    step.spots.forEach((id, j) => {
      const spotPath: Path = [...sp, 'spots', j];
      const spot = spots.get(id);
      if (!spot) return add(spotPath, `spot "${id}" is not a spot of product ${product.id}`);
      if (listed.has(id)) return add(spotPath, `spot "${id}" is listed twice for station ${step.station}`);
      listed.add(id);
      const set = inspectedBy.get(id) ?? new Set<string>();
      set.add(step.station);
      inspectedBy.set(id, set);
      if (cams && !Object.keys(spot.roi).some((c) => cams.has(c))) {
        add(spotPath, `station ${step.station} inspects spot ${id}, but the spot has no ROI for a camera of ${step.station}`);
      }
    });
  });
  plant.products.forEach((p, pi) =>
    p.spots.forEach((s, si) => {
      const stations = inspectedBy.get(s.id) ?? new Set<string>();
      if (stations.size === 0) add(['products', pi, 'spots', si], `spot ${s.id} of product ${p.id} is inspected by no station in processFlow`);
      for (const cam of Object.keys(s.roi).sort()) {
        const c = cameraStation.get(cam);
        if (c && !stations.has(c.station)) add(['products', pi, 'spots', si, 'roi', cam], `camera ${cam} of station ${c.station} has an ROI for spot ${s.id}, but processFlow does not have ${c.station} inspect it`);
      }
    }),
  );

  // secrets: names only
  const scan = (v: unknown, path: Path): void => {
    if (typeof v === 'string') {
      if (findLegacyPassword(v) !== undefined) add(path, 'contains a known legacy password: secrets are environment variables, named in network.secrets');
    } else if (Array.isArray(v)) v.forEach((x, i) => scan(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) scan(x, [...path, k]);
  };
  scan(plant, []);
  const secretNames = new Map<string, Path>();
  (plant.network?.secrets ?? []).forEach((s, i) => unique('secret', secretNames, s.env, ['network', 'secrets', i, 'env']));
  return out;
}

export interface ValidationResult {
  file: string;
  ok: boolean;
  plant?: Plant;
  problems: PlantProblem[];
}

/** Parse problems, else schema problems, else cross-reference problems: each with path (and line). */
export function validateLoaded(loaded: LoadedPlant): ValidationResult {
  const { file } = loaded;
  if (loaded.problems.length) return { file, ok: false, problems: loaded.problems };
  const withLine = (ps: Array<{ path: Path; message: string }>): PlantProblem[] => ps.map((p) => ({ path: formatPath(p.path), message: p.message, line: loaded.lineOf(p.path) }));
  const schema = schemaProblems(loaded.value);
  if (schema.length) return { file, ok: false, problems: withLine(schema) };
  const plant = loaded.value as Plant;
  const cross = withLine(crossProblems(plant));
  return { file, ok: cross.length === 0, plant, problems: cross };
}

export function validatePlantFile(file: string): ValidationResult {
  return validateLoaded(loadPlant(file));
}

export function formatProblem(file: string, p: PlantProblem): string {
  return `${file}${p.line ? `:${p.line}` : ''}: ${p.path}: ${p.message}`;
}
