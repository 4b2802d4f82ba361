import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SpotFusionError, describeError } from '../errors';
import { FlowNode, packageTypes } from '../deploy/flow-check';
import { generatePlant, STATION_FILES } from './generate';
import { plantGraph, plantGraphMarkdown } from './graph';
import { stationsOf } from './model';
import { formatProblem, LoadedPlant, loadPlant, validateLoaded, ValidationResult } from './validate';

/** `spotfusion plant validate|generate|graph`. Exit codes: 0 ok, 1 invalid plant (or template), 2 usage. */
export const PLANT_USAGE = `  spotfusion plant validate PLANT.yaml...
  spotfusion plant generate PLANT.yaml --out DIR [--template FLOW.json]
  spotfusion plant graph PLANT.yaml [--out FILE.md|FILE.mmd]`;

export interface PlantIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

function args(argv: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    if (name !== 'out' && name !== 'template') throw new SpotFusionError('USAGE', `unknown option --${name}`);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new SpotFusionError('USAGE', `--${name} needs a value`);
    if (flags.has(name)) throw new SpotFusionError('USAGE', `--${name} given twice`);
    flags.set(name, value);
  }
  return { positional, flags };
}

function validated(file: string, io: PlantIo): ValidationResult & { lineOf: LoadedPlant['lineOf'] } {
  if (!existsSync(file)) throw new SpotFusionError('USAGE', `${file}: no such file`);
  const loaded = loadPlant(file);
  const r = validateLoaded(loaded);
  for (const p of r.problems) io.err(`error ${formatProblem(file, p)}`);
  return { ...r, lineOf: loaded.lineOf };
}

function summary(r: ValidationResult): string {
  const p = r.plant;
  if (!p) return '';
  const spots = p.products.reduce((a, x) => a + x.spots.length, 0);
  return `plant ${p.plant.id} ${p.plant.version}: ${p.lines.length} lines, ${stationsOf(p).length} stations, ${p.products.length} products, ${spots} spots`;
}

function readTemplate(file: string): FlowNode[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SpotFusionError('USAGE', `template ${file}: ${describeError(err)}`);
  }
  if (!Array.isArray(parsed)) throw new SpotFusionError('USAGE', `template ${file}: a flow file must be a JSON array`);
  return parsed as FlowNode[];
}

/** Write the generated files; remove station folders of stations no longer in the plant (only generated files in them). */
export function writeOut(dir: string, files: Array<{ path: string; content: string }>, stations: string[], io: PlantIo): void {
  for (const f of files) {
    const p = join(dir, ...f.path.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, f.content);
  }
  const sdir = join(dir, 'stations');
  for (const e of readdirSync(sdir, { withFileTypes: true })) {
    if (!e.isDirectory() || stations.includes(e.name)) continue;
    const inside = readdirSync(join(sdir, e.name));
    if (inside.every((n) => (STATION_FILES as readonly string[]).includes(n))) {
      rmSync(join(sdir, e.name), { recursive: true, force: true });
      io.out(`removed stations/${e.name} (no longer in the plant)`);
    } else io.err(`warning: stations/${e.name} is not in the plant but holds other files: left alone`);
  }
}

/**
 * `plant generate` of a validated plant into `out` (the CLI and the wizard's endpoint): the template (default: the
 * package's flows/station.json), the files written, stations gone from the plant removed. false: problems (sent to io).
 */
export function generateInto(r: ValidationResult & { lineOf: LoadedPlant['lineOf'] }, plantFile: string, out: string, templateFile: string | undefined, packageRoot: string, io: PlantIo): boolean {
  if (!r.plant) return false;
  const tpl = templateFile ?? join(packageRoot, 'flows', 'station.json');
  if (!existsSync(tpl)) throw new SpotFusionError('USAGE', `template ${tpl}: no such file (give --template FLOW.json)`);
  const g = generatePlant(r.plant, { template: readTemplate(tpl), templateName: basename(tpl), known: packageTypes(packageRoot), plantName: basename(plantFile) }, r.lineOf);
  for (const p of g.problems) io.err(`error ${formatProblem(plantFile, p)}`);
  if (g.problems.length) return false;
  mkdirSync(join(out, 'stations'), { recursive: true });
  writeOut(out, g.files, g.stations, io);
  io.out(`wrote ${g.files.length} files for ${g.stations.length} stations to ${out} (${summary(r)})`);
  return true;
}

export function plantMain(argv: string[], io: PlantIo, packageRoot: string): number {
  const [sub, ...rest] = argv;
  const a = args(rest);
  switch (sub) {
    case 'validate': {
      if (!a.positional.length || a.flags.size) throw new SpotFusionError('USAGE', 'plant validate needs at least one plant file (and no options)');
      let bad = 0;
      for (const f of a.positional) {
        const r = validated(f, io);
        if (r.ok) io.out(`ok ${f} (${summary(r)})`);
        else bad += 1;
      }
      return bad ? 1 : 0;
    }
    case 'generate': {
      const out = a.flags.get('out');
      if (a.positional.length !== 1 || !out) throw new SpotFusionError('USAGE', 'plant generate needs one plant file and --out DIR');
      const r = validated(a.positional[0], io);
      if (!r.ok || !r.plant) return 1;
      return generateInto(r, a.positional[0], resolve(out), a.flags.get('template'), packageRoot, io) ? 0 : 1;
    }
    case 'graph': {
      if (a.positional.length !== 1 || a.flags.has('template')) throw new SpotFusionError('USAGE', 'plant graph needs one plant file (and optionally --out FILE)');
      const r = validated(a.positional[0], io);
      if (!r.ok || !r.plant) return 1;
      const out = a.flags.get('out');
      if (!out) {
        io.out(plantGraph(r.plant).trimEnd());
        return 0;
      }
      writeFileSync(out, out.endsWith('.md') ? plantGraphMarkdown(r.plant, a.positional[0]) : plantGraph(r.plant));
      io.out(`wrote ${out}`);
      return 0;
    }
    default:
      throw new SpotFusionError('USAGE', sub === undefined ? 'plant needs a command: validate, generate or graph' : `unknown plant command ${sub}`);
  }
}
