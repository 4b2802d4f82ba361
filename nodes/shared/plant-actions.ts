/**
 * The plant wizard's actions on a saved plant file (by name, as plant-admin.ts opens it), on the admin server:
 * - GET  /spotfusion/plant/metrics/:name?hours=24  per station of the plant, from the plant's PostgreSQL
 *        (network.services.database; user and password from this server's DATABASE_USER / DATABASE_PASSWORD,
 *        the names the stations use): parts, OK, NOK, yield, the newest result and NOK/MISSING per spot over the
 *        last `hours` (1–720). No database in the plant: { configured: false } (read)
 * - POST /spotfusion/plant/diff/:name    { only?: [station, ...] }  generate the plant (as the generate endpoint),
 *        then `spotfusion diff` of each station of the generated stations.yaml                              (write)
 * - POST /spotfusion/plant/deploy/:name  { only?: [station, ...] }  generate, then `spotfusion deploy --inventory`
 *        station by station, with its health check                                                         (write)
 * diff and deploy answer NDJSON, one event a line as it happens: start, per station progress (diff | deploy |
 * health) and its result, then done. The stations' login comes from this server's environment only (the
 * inventory's passwordEnv / tokenEnv, default SPOTFUSION_DEPLOY_PASSWORD / SPOTFUSION_DEPLOY_TOKEN): the browser
 * never sends or sees it, and its value is masked in every message. One diff or deploy at a time per plant file
 * (409 while one runs). A client that goes away ends the stream: the station under way finishes, no further one
 * starts. The work is nodes/lib/deploy/cli.ts's (diffOne, deployTarget), one copy.
 */
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import type { Request, RequestHandler, Response } from 'express';
import { SpotFusionError, describeError } from '../lib/errors';
import { DIFF, deployOutcome, deployTarget, diffOne, EXIT, inventoryTargets, Io, Target } from '../lib/deploy/cli';
import { packageTypes } from '../lib/deploy/flow-check';
import { formatDiff } from '../lib/deploy/flow-diff';
import { parsePgSettings, pgDriver, PgConnection } from '../lib/pg/client';
import { iso, pct } from '../lib/spc/plant';
import { Plant, stationsOf } from '../lib/plant/model';
import { AdminRoutes, wrap } from './admin-route';
import { generateSaved, openValid, PACKAGE_ROOT, validPlant } from './plant-admin';

/**
 * The database login, from this server's environment: DATABASE_PASSWORD as the stations have it (the sample plant's
 * network.secrets), DATABASE_USER beside it (default postgres, as the stations' PostgreSQL config).
 */
export const DATABASE_USER_ENV = 'DATABASE_USER';
export const DATABASE_PASSWORD_ENV = 'DATABASE_PASSWORD';
/** what the station template (flows/station.json) uses when the plant leaves them out */
const DATABASE_DEFAULTS = { port: 5432, name: 'spotfusion', schema: 'public' } as const;

/** plants with a diff or deploy running (one at a time per plant file: both generate into its folder) */
const running = new Set<string>();

function hoursOf(raw: unknown): number {
  if (raw === undefined || raw === '') return 24;
  const h = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(h >= 1 && h <= 720)) throw new SpotFusionError('USAGE', `hours must be a number from 1 to 720, got ${JSON.stringify(raw).slice(0, 40)}`);
  return h;
}

export interface SpotMetrics {
  spot: string;
  total: number;
  nok: number;
  missing: number;
}

export interface StationMetrics {
  line: string;
  area: string;
  station: string;
  parts: number;
  ok: number;
  nok: number;
  yield: number | null;
  last: string | null;
  spots: SpotMetrics[];
}

interface PartRow {
  line: string;
  station: string;
  parts: number;
  ok: number;
  last: Date | string | null;
}
interface SpotRow {
  line: string;
  station: string;
  spot: string;
  total: number;
  nok: number;
  missing: number;
}

/** Per station of the plant (file order) from the query rows: stations without results have 0 parts (pure). */
export function metricsOf(plant: Plant, parts: readonly PartRow[], spots: readonly SpotRow[]): StationMetrics[] {
  const key = (line: string, station: string): string => `${line}\u0000${station}`;
  const byStation = new Map(parts.map((r) => [key(r.line, r.station), r]));
  const spotsOf = new Map<string, SpotMetrics[]>();
  for (const r of spots) {
    const k = key(r.line, r.station);
    spotsOf.set(k, [...(spotsOf.get(k) ?? []), { spot: r.spot, total: r.total, nok: r.nok, missing: r.missing }]);
  }
  // the spots with NOK or MISSING first, most first; then by name
  const order = (a: SpotMetrics, b: SpotMetrics): number => b.nok + b.missing - (a.nok + a.missing) || (a.spot < b.spot ? -1 : a.spot > b.spot ? 1 : 0);
  return stationsOf(plant).map(({ line, area, station }) => {
    const k = key(line.id, station.id);
    const r = byStation.get(k);
    const n = r?.parts ?? 0;
    const ok = r?.ok ?? 0;
    return { line: line.id, area: area.id, station: station.id, parts: n, ok, nok: n - ok, yield: pct(ok, n), last: iso(r?.last ?? null), spots: (spotsOf.get(k) ?? []).sort(order) };
  });
}

/** The results of the plant's stations in the last `hours` hours, read from the plant database. */
export async function stationMetrics(conn: PgConnection, plant: Plant, hours: number): Promise<StationMetrics[]> {
  const s = `"${conn.schema}"`;
  const since = `now() - ($1::double precision * interval '1 hour')`;
  const ids = stationsOf(plant).map((e) => e.station.id);
  const parts = await conn.pool.query<PartRow>(
    `SELECT line, station, count(*)::integer AS parts, (count(*) FILTER (WHERE verdict = 'OK'))::integer AS ok, max(result_at) AS last
     FROM ${s}.inspection_result WHERE result_at >= ${since} AND station = ANY($2::text[]) GROUP BY line, station`,
    [hours, ids],
  );
  const spots = await conn.pool.query<SpotRow>(
    `SELECT r.line, r.station, p.spot_id AS spot, count(*)::integer AS total,
       (count(*) FILTER (WHERE p.verdict = 'NOK'))::integer AS nok, (count(*) FILTER (WHERE p.verdict = 'MISSING'))::integer AS missing
     FROM ${s}.inspection_result r JOIN ${s}.spot_result p ON p.result_id = r.result_id
     WHERE r.result_at >= ${since} AND r.station = ANY($2::text[]) GROUP BY r.line, r.station, p.spot_id`,
    [hours, ids],
  );
  return metricsOf(plant, parts.rows, spots.rows);
}

/** SQLSTATE 42P01 / 3F000: the tables or the schema are not there (no station has stored a result yet) */
const notCreatedYet = (err: unknown): boolean => ['42P01', '3F000'].includes(String((err as { code?: unknown }).code));

async function plantMetrics(plant: Plant, hours: number, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const db = plant.network?.services?.database;
  if (!db) return { ok: true, configured: false, reason: 'the plant names no database (network.services.database): its stations keep their results on the station only' };
  const settings = parsePgSettings(
    { host: db.host, port: db.port ?? DATABASE_DEFAULTS.port, database: db.name ?? DATABASE_DEFAULTS.name, schema: db.schema ?? DATABASE_DEFAULTS.schema, poolMax: 1, connectTimeout: 3000, queryTimeout: 15000 },
    { user: env[DATABASE_USER_ENV], password: env[DATABASE_PASSWORD_ENV] },
    'spotfusion-plant-metrics',
  );
  const driver = pgDriver(settings, { migrate: false });
  let conn: PgConnection;
  try {
    conn = await driver.open();
  } catch (err) {
    // describeError names the server: postgres host:port/database
    throw new SpotFusionError('NOT_CONNECTED', `the plant database cannot be reached: ${describeError(err)}`, { cause: err });
  }
  try {
    return { ok: true, configured: true, hours, stations: await stationMetrics(conn, plant, hours) };
  } catch (err) {
    if (notCreatedYet(err)) return { ok: true, configured: true, hours, note: `schema ${settings.schema} holds no results yet`, stations: metricsOf(plant, [], []) };
    throw new SpotFusionError('NOT_CONNECTED', `the plant database ${settings.host}:${settings.port}/${settings.database}: reading the results failed: ${describeError(err)}`, { cause: err });
  } finally {
    await driver.close(conn).catch(() => undefined);
  }
}

/** The `only` of the body: station names of the plant, or undefined for every station. */
function onlyOf(body: unknown, plant: Plant): string[] | undefined {
  const only: unknown = body && typeof body === 'object' ? (body as { only?: unknown }).only : undefined;
  if (only === undefined || only === null) return undefined;
  if (!Array.isArray(only) || only.length === 0 || !only.every((n): n is string => typeof n === 'string')) throw new SpotFusionError('USAGE', 'only must be a non-empty list of station names');
  const known = new Set(stationsOf(plant).map((e) => e.station.id));
  const unknown = only.filter((n) => !known.has(n));
  if (unknown.length) throw new SpotFusionError('USAGE', `only names stations that are not in the plant: ${unknown.map((n) => JSON.stringify(n.slice(0, 60))).join(', ')}`);
  return only;
}

/** The NDJSON answer: one object a line, written as it happens; a client that went away ends the writing, nothing else. */
function ndjson(res: Response): { send: (event: Record<string, unknown>) => void; gone: () => boolean; end: () => void } {
  let gone = false;
  res.on('error', () => {
    gone = true;
  });
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  res.status(200);
  res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  return {
    send: (event) => {
      if (!gone) res.write(`${JSON.stringify(event)}\n`);
    },
    gone: () => gone,
    end: () => {
      if (!gone) res.end();
    },
  };
}

/** Every value of the stations' secrets in this server's environment, to mask in what goes to the browser. */
function masker(targets: Target[], env: NodeJS.ProcessEnv): (line: string) => string {
  const secrets = [...new Set(targets.flatMap((t) => [env[t.passwordEnv], env[t.tokenEnv]]))].filter((v): v is string => typeof v === 'string' && v.length >= 3);
  return (line) => secrets.reduce((l, v) => l.split(v).join('***'), line);
}

type Action = 'diff' | 'deploy';

export function registerPlantActions(RED: NodeAPI, app: AdminRoutes['app'], read: RequestHandler, write: RequestHandler): void {
  app.get(
    '/spotfusion/plant/metrics/:name',
    read,
    wrap(async (req: Request, res: Response) => {
      const hours = hoursOf(req.query.hours);
      const { r } = await openValid(RED, req.params.name);
      res.json(await plantMetrics(validPlant(r, 'no metrics'), hours, process.env));
    }),
  );

  const action = (kind: Action) =>
    wrap(async (req: Request, res: Response) => {
      const { name, loaded, r } = await openValid(RED, req.params.name);
      const plant = validPlant(r, kind === 'diff' ? 'nothing to diff' : 'nothing deployed');
      const only = onlyOf(req.body, plant);
      if (running.has(name)) throw new SpotFusionError('CONFLICT', `a diff or deploy of ${name} is running: wait for it to end`);
      running.add(name);
      try {
        const g = generateSaved(RED, name, loaded, r);
        const targets = inventoryTargets(join(g.out, 'stations.yaml'), only);
        await run(kind, targets, res);
      } finally {
        running.delete(name);
      }
    });

  async function run(kind: Action, targets: Target[], res: Response): Promise<void> {
    const env = process.env;
    const mask = masker(targets, env);
    const known = packageTypes(PACKAGE_ROOT);
    const stream = ndjson(res);
    stream.send({ type: 'start', action: kind, stations: targets.map((t) => t.name) });
    const summary: Record<string, string> = {};
    let ok = true;
    try {
      await eachStation();
      stream.send({ type: 'done', ok: ok && !stream.gone(), summary });
    } finally {
      // whatever happens once the stream runs, it ends (a throw after the headers would leave it open)
      stream.end();
    }

    async function eachStation(): Promise<void> {
      for (const t of targets) {
        if (stream.gone()) {
          // nobody is watching: the stations not started yet are left as they are
          RED.log.warn(`spotfusion plant ${kind}: the client went away, ${t.name} and the stations after it were not started`);
          break;
        }
        const messages: string[] = [];
        const io: Io = { out: (l) => messages.push(mask(l)), err: (l) => messages.push(mask(l)), env };
        const base = { type: 'station', station: t.name, url: t.url };
        if (kind === 'diff') {
          stream.send({ type: 'progress', station: t.name, step: 'diff' });
          let event: Record<string, unknown>;
          try {
            const d = await diffOne(t, known, io);
            const status = d.code === DIFF.SAME ? 'same' : d.code === DIFF.DIFFERS ? 'differs' : 'error';
            event = { ...base, status, messages, ...(d.diff ? { diff: formatDiff(d.diff), added: d.diff.added.length, removed: d.diff.removed.length, changed: d.diff.changed.length } : {}) };
          } catch (err) {
            io.err(`${t.name}: ${describeError(err)}`);
            event = { ...base, status: 'error', messages };
          }
          summary[t.name] = event.status as string;
          if (event.status === 'error') ok = false;
          stream.send(event);
        } else {
          const code = await deployTarget(t, known, io, (step) => stream.send({ type: 'progress', station: t.name, step }));
          const status = code === EXIT.OK ? 'ok' : 'failed';
          const health = code === EXIT.OK ? 'healthy' : code === EXIT.UNHEALTHY ? 'unhealthy' : 'not checked';
          summary[t.name] = deployOutcome(code);
          if (code !== EXIT.OK) ok = false;
          stream.send({ ...base, status, exit: code, health, messages });
        }
      }
    }
  }

  app.post('/spotfusion/plant/diff/:name', write, action('diff'));
  app.post('/spotfusion/plant/deploy/:name', write, action('deploy'));
}
