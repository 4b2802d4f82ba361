/**
 * The plant wizard's endpoints on the admin server (behind adminAuth when it is on), over the plant files of one
 * folder: `settings.spotfusion.plantDir`, default `<userDir>/plant`. Names only, never paths: a name is
 * `[A-Za-z0-9._-]+.yaml|.yml|.json`, so nothing outside that folder is read or written.
 * - GET  /spotfusion/plant/files          the plant files there: name, bytes, modified                    (read)
 * - GET  /spotfusion/plant/files/:name    its text, its value and the problems `spotfusion plant validate` finds,
 *                                         with path and line; `sha`, the text's SHA-256, for the save      (read)
 * - POST /spotfusion/plant/validate       { value }: the problems of an edited plant, each at its path      (read)
 * - PUT  /spotfusion/plant/files/:name    { value, base?, allowInvalid? }: the value carried into the file's
 *                                         text (nodes/lib/plant/edit.ts: comments, order and style kept),
 *                                         written atomically. Refused with 422 and the problems when the plant
 *                                         is invalid, unless allowInvalid (then saved, and the answer says
 *                                         invalid); 409 when the file changed since `base` (its sha) (write)
 * - POST /spotfusion/plant/upload/:name  { text, overwrite?, allowInvalid? }: a plant file from the browser (YAML
 *                                         or JSON text), stored as it is; 422 with the problems when it is
 *                                         invalid unless allowInvalid; 409 when the name is taken unless
 *                                         overwrite                                                        (write)
 * - POST /spotfusion/plant/check/:name   { text }: what an upload of that text would meet, without storing it: its
 *                                         problems and whether the name is taken (the page asks first)      (read)
 * - GET  /spotfusion/plant/graph/:name   `spotfusion plant graph` of the saved file: the Mermaid flowchart of
 *                                         lines, stations, devices and the process flow (the viewer's first tab) (read)
 * - POST /spotfusion/plant/generate/:name `spotfusion plant generate` of the saved file (the package's station
 *                                         template) into <plant folder>/generated/<name>/: the files written,
 *                                         or the problems                                                  (write)
 * - GET  /spotfusion/plant               the wizard's page (resources/plant/index.html): no data in it, so it needs no
 *                                         login; its modules ask for one (the editor's) before they call the above
 * - GET  /spotfusion/plant/schema         the plant schema the page draws its forms from                    (read)
 * - GET  /spotfusion/plant/me             the login's user and whether it may write here (a token's scope, which
 *                                         Node-RED's /settings does not tell), so the page offers only what works (read)
 * The same checks as the CLI: nodes/lib/plant/validate.ts, one copy.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { SpotFusionError } from '../lib/errors';
import { generateInto } from '../lib/plant/cli';
import { mergePlantText } from '../lib/plant/edit';
import { plantGraph } from '../lib/plant/graph';
import { Plant, stationsOf } from '../lib/plant/model';
import { LoadedPlant, parsePlant, plantSchema, validateLoaded, ValidationResult } from '../lib/plant/validate';
import { adminRoutes, Refusal, wrap } from './admin-route';
import { registerPlantActions } from './plant-actions';

export const PLANT_READ_PERMISSION = 'spotfusion.plant.read';
export const PLANT_WRITE_PERMISSION = 'spotfusion.plant.write';

/** the package's root (dist/nodes/shared → ../../..): the station template and the node types */
export const PACKAGE_ROOT = join(__dirname, '..', '..', '..');
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(ya?ml|json)$/;
const registered = new WeakSet<object>();

/** the page with the admin root its modules load from (httpAdminRoot, '/' by default) */
function wizardPage(RED: NodeAPI): string {
  const set = (RED.settings as unknown as { httpAdminRoot?: unknown }).httpAdminRoot;
  const root = (typeof set === 'string' && set ? set : '/').replace(/\/?$/, '/');
  const safe = root.replace(/[^A-Za-z0-9/_.~-]/g, (c) => encodeURIComponent(c));
  return readFileSync(join(PACKAGE_ROOT, 'resources', 'plant', 'index.html'), 'utf8').replaceAll('%ADMIN_ROOT%', safe);
}

/** Node-RED's rule (editor-api auth/permissions.js) for the write permission against a token's scope */
function mayWrite(scope: unknown): boolean {
  const scopes = Array.isArray(scope) ? scope : [scope];
  return scopes.some((x) => x === '*' || x === PLANT_WRITE_PERMISSION || x === 'write' || x === '*.write');
}

export function plantDir(RED: NodeAPI): string {
  const s = RED.settings as unknown as { userDir?: string; spotfusion?: { plantDir?: string } };
  return s.spotfusion?.plantDir || join(s.userDir || process.cwd(), 'plant');
}

function fileName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw : '';
  if (!NAME.test(name)) throw new SpotFusionError('CONFIG', `"${name.slice(0, 60)}" is not a plant file name (letters, digits, . _ - and .yaml, .yml or .json)`);
  return name;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function summary(r: ValidationResult): Record<string, unknown> | undefined {
  const p = r.plant;
  if (!p) return undefined;
  return { id: p.plant.id, version: p.plant.version, lines: p.lines.length, stations: stationsOf(p).length, products: p.products.length, spots: p.products.reduce((a, x) => a + x.spots.length, 0) };
}

/** validate a value as the CLI validates a file (no lines: the value has no text yet) */
function validateValue(value: unknown): ValidationResult {
  return validateLoaded({ file: '(editor)', value, problems: [], lineOf: () => undefined });
}

function bodyValue(req: Request): unknown {
  const body = req.body as { value?: unknown } | undefined;
  if (!body || typeof body !== 'object' || !('value' in body)) throw new SpotFusionError('CONFIG', 'the request body must be JSON { "value": <the plant> }');
  return body.value;
}

/** 422 for a plant that `plant validate` refuses: its problems in the answer; `what` says what did not happen */
export function plantInvalid(r: ValidationResult, what: string): Refusal {
  return new Refusal('INVALID', `the plant has ${r.problems.length} problem(s): ${what}`, { valid: false, problems: r.problems });
}

/** the plant of a validation, or the 422 refusal */
export function validPlant(r: ValidationResult, what: string): Plant {
  if (!r.ok || !r.plant) throw plantInvalid(r, what);
  return r.plant;
}

function bodyText(req: Request): string {
  const body = req.body as { text?: unknown } | undefined;
  if (typeof body?.text !== 'string') throw new SpotFusionError('CONFIG', 'the request body must be JSON { "text": <the plant file\'s text> }');
  return body.text;
}

/** write `text` to `file` in `dir` so that a reader (or a crash) sees the old file or the new one, never half */
async function writeAtomically(dir: string, file: string, text: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o640 });
  await rename(tmp, file);
}

/** the saved plant file `raw` (a name), parsed and validated as the CLI does */
export async function openValid(RED: NodeAPI, raw: unknown): Promise<{ name: string; text: string; loaded: LoadedPlant; r: ValidationResult }> {
  const name = fileName(raw);
  const text = await readIfThere(join(plantDir(RED), name));
  if (text === undefined) throw new SpotFusionError('NOT_FOUND', `plant file ${name} is not in ${plantDir(RED)}`);
  const loaded = parsePlant(text, name);
  return { name, text, loaded, r: validateLoaded(loaded) };
}

/**
 * `spotfusion plant generate` of a saved, valid plant (openValid) with the package's station template into
 * <plant folder>/generated/<name>/: the generate endpoint and the wizard's diff and deploy (plant-actions.ts).
 */
export function generateSaved(RED: NodeAPI, name: string, loaded: LoadedPlant, r: ValidationResult): { out: string; lines: string[]; errors: string[] } {
  const out = join(plantDir(RED), 'generated', name.replace(/\.(ya?ml|json)$/, ''));
  const lines: string[] = [];
  const errors: string[] = [];
  const done = generateInto({ ...r, lineOf: loaded.lineOf }, name, out, undefined, PACKAGE_ROOT, { out: (l) => lines.push(l), err: (l) => errors.push(l) });
  if (!done) throw new Refusal('INVALID', errors[0] ?? 'generation failed', { messages: errors });
  return { out, lines, errors };
}

export function ensurePlantRoutes(RED: NodeAPI): void {
  const routes = adminRoutes(RED, registered, PLANT_READ_PERMISSION, PLANT_WRITE_PERMISSION);
  if (!routes) return;
  const { app, read, write } = routes;
  const page = wizardPage(RED);

  app.get('/spotfusion/plant', (_req: Request, res: Response) => {
    res.set('Cache-Control', 'no-store').type('html').send(page);
  });

  app.get('/spotfusion/plant/me', read, (req: Request, res: Response) => {
    const r = req as Request & { user?: { username?: string }; authInfo?: { scope?: unknown } };
    res.json({ ok: true, user: r.user?.username ?? null, canWrite: !r.user || mayWrite(r.authInfo?.scope) });
  });

  app.get('/spotfusion/plant/schema', read, (_req: Request, res: Response) => {
    res.json({ ok: true, schema: plantSchema() });
  });

  app.get(
    '/spotfusion/plant/files',
    read,
    wrap(async (_req: Request, res: Response) => {
      const dir = plantDir(RED);
      let names: string[] = [];
      try {
        names = (await readdir(dir)).filter((n) => NAME.test(n)).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const files = await Promise.all(
        names.map(async (name) => {
          const st = await stat(join(dir, name));
          return { name, bytes: st.size, modified: st.mtime.toISOString() };
        }),
      );
      res.json({ ok: true, dir, files });
    }),
  );

  app.get(
    '/spotfusion/plant/files/:name',
    read,
    wrap(async (req: Request, res: Response) => {
      const { name, text, loaded, r } = await openValid(RED, req.params.name);
      res.json({ ok: true, name, sha: sha(text), text, value: loaded.problems.length ? null : loaded.value, valid: r.ok, problems: r.problems, summary: summary(r) });
    }),
  );

  app.post(
    '/spotfusion/plant/validate',
    read,
    wrap((req: Request, res: Response) => {
      const r = validateValue(bodyValue(req));
      res.json({ ok: true, valid: r.ok, problems: r.problems, summary: summary(r) });
      return Promise.resolve();
    }),
  );

  app.put(
    '/spotfusion/plant/files/:name',
    write,
    wrap(async (req: Request, res: Response) => {
      const name = fileName(req.params.name);
      const value = bodyValue(req);
      const body = req.body as { base?: unknown; allowInvalid?: unknown };
      const r = validateValue(value);
      if (!r.ok && body.allowInvalid !== true) throw plantInvalid(r, 'not saved (save anyway with allowInvalid)');
      const dir = plantDir(RED);
      const file = join(dir, name);
      const current = await readIfThere(file);
      if (body.base !== undefined && (current === undefined ? body.base !== null : sha(current) !== body.base)) {
        throw new SpotFusionError('CONFLICT', `plant file ${name} changed since it was opened: open it again (or save under another name)`);
      }
      const merged = name.endsWith('.json') ? { text: `${JSON.stringify(value, null, 2)}\n`, report: { changed: 1, unaliased: [], reformatted: true } } : mergePlantText(current ?? '', value as Record<string, unknown>);
      await writeAtomically(dir, file, merged.text);
      res.json({ ok: true, name, sha: sha(merged.text), valid: r.ok, problems: r.problems, summary: summary(r), report: merged.report, text: merged.text });
    }),
  );

  app.post(
    '/spotfusion/plant/upload/:name',
    write,
    wrap(async (req: Request, res: Response) => {
      const name = fileName(req.params.name);
      const body = req.body as { overwrite?: unknown; allowInvalid?: unknown };
      const text = bodyText(req);
      const r = validateLoaded(parsePlant(text, name));
      if (!r.ok && body.allowInvalid !== true) throw plantInvalid(r, `${name} not stored (store anyway with allowInvalid)`);
      const file = join(plantDir(RED), name);
      if (body.overwrite !== true && (await readIfThere(file)) !== undefined) throw new SpotFusionError('CONFLICT', `plant file ${name} exists: upload under another name, or overwrite it`);
      await writeAtomically(plantDir(RED), file, text);
      res.json({ ok: true, name, sha: sha(text), valid: r.ok, problems: r.problems, summary: summary(r) });
    }),
  );

  app.post(
    '/spotfusion/plant/check/:name',
    read,
    wrap(async (req: Request, res: Response) => {
      const name = fileName(req.params.name);
      const r = validateLoaded(parsePlant(bodyText(req), name));
      const exists = (await readIfThere(join(plantDir(RED), name))) !== undefined;
      res.json({ ok: true, name, exists, valid: r.ok, problems: r.problems, summary: summary(r) });
    }),
  );

  app.get(
    '/spotfusion/plant/graph/:name',
    read,
    wrap(async (req: Request, res: Response) => {
      const { name, r } = await openValid(RED, req.params.name);
      res.json({ ok: true, name, mermaid: plantGraph(validPlant(r, 'no graph')) });
    }),
  );

  app.post(
    '/spotfusion/plant/generate/:name',
    write,
    wrap(async (req: Request, res: Response) => {
      const { name, loaded, r } = await openValid(RED, req.params.name);
      validPlant(r, 'nothing generated');
      const { out, lines, errors } = generateSaved(RED, name, loaded, r);
      res.json({ ok: true, name, out, messages: lines, warnings: errors });
    }),
  );

  registerPlantActions(RED, app, read, write);
}
