/**
 * The plant model (nodes/schemas/plant.schema.json) as TypeScript types, and the index that the validator, the
 * generator and the graph share: every station with its line, area and path in the file.
 */
export type Program = number | string;

export interface Tag {
  address: string;
  type: string;
}

export interface TagMap {
  trigger?: Tag;
  serial?: Tag;
  program?: Tag;
  model?: Tag;
  busy?: Tag;
  ack?: Tag;
  done?: Tag;
  resultOk?: Tag;
  resultNok?: Tag;
  resultCode?: Tag;
  extra?: Array<{ name: string; address: string; type: string }>;
}

export interface Plc {
  id: string;
  protocol: 'ethernet-ip' | 'opcua' | 'simulator';
  address?: string;
  port?: number;
  route?: string;
  pollMs?: number;
  tags: TagMap;
}

export interface Camera {
  id: string;
  source: 'gige' | 'http' | 'folder' | 'simulator';
  address?: string;
  url?: string;
  folder?: string;
  sensor: { width: number; height: number };
  features?: { pixelFormat?: string; exposureUs?: number; gain?: number; frameRate?: number; packetSize?: number; trigger?: 'software' | 'freerun'; timeoutMs?: number };
}

export interface Edge {
  id: string;
  address: string;
  port?: number;
  https?: boolean;
}

export interface Station {
  id: string;
  name?: string;
  devices: { plc: Plc; cameras: Camera[]; edge: Edge };
}

export interface Area {
  id: string;
  name?: string;
  stations: Station[];
}

export interface Line {
  id: string;
  name?: string;
  areas: Area[];
}

export interface Roi {
  x: number;
  y: number;
  w: number;
  h: number;
  rotation?: number;
}

export interface Spot {
  id: string;
  panel: string;
  stackup: string;
  class: string;
  rule: string;
  position: { x: number; y: number; z?: number };
  roi: Record<string, Roi>;
  expectedDiameterPx?: number;
}

export interface Stackup {
  id: string;
  sheets: Array<{ thickness: number; material: string; coating?: string }>;
}

export interface Product {
  id: string;
  name?: string;
  program: Program;
  panels: Array<{ id: string; name?: string; material?: string }>;
  stackups: Stackup[];
  spots: Spot[];
}

export interface WeldRule {
  id: string;
  description?: string;
  minScore?: number;
  okLabels?: string[];
  k?: number;
  minDiameter?: number;
  ignore?: boolean;
}

export interface WeldProcess {
  name?: string;
  okLabels?: string[];
  minScore?: number;
  lowConfidence?: number;
  diameter?: { k?: number; unit?: string; pxPerMm?: number };
  rules: WeldRule[];
}

export interface Step {
  station: string;
  product: string;
  spots: string[];
}

export interface Model {
  id: string;
  path: string;
  version?: string;
  description?: string;
}

export interface Network {
  adminPort?: number;
  deploy?: { user?: string; passwordEnv?: string; tokenEnv?: string; healthTimeout?: number };
  services?: {
    database?: { host: string; port?: number; name?: string; schema?: string };
    broker?: { host: string; port?: number; vhost?: string; exchange?: string };
    mqtt?: { host: string; port?: number };
  };
  secrets?: Array<{ env: string; description?: string }>;
}

export interface Plant {
  plant: { id: string; name?: string; site?: string; version: string };
  lines: Line[];
  products: Product[];
  weldProcess: WeldProcess;
  processFlow: Step[];
  inspection: { models: Model[]; classes: Array<{ id: string; model: string; description?: string }> };
  network?: Network;
}

/** A path into the plant file: keys and array indexes. */
export type PathPart = string | number;
export type Path = PathPart[];

/** `lines[0].areas[1].stations[2].devices.plc.address` */
export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(top level)' : out;
}

export interface StationEntry {
  station: Station;
  line: Line;
  area: Area;
  path: Path;
}

/** Every station of the plant in file order, with its line, area and path. */
export function stationsOf(plant: Plant): StationEntry[] {
  const out: StationEntry[] = [];
  plant.lines.forEach((line, li) =>
    line.areas.forEach((area, ai) => area.stations.forEach((station, si) => out.push({ station, line, area, path: ['lines', li, 'areas', ai, 'stations', si] }))),
  );
  return out;
}
