/**
 * The plant view of SPC: yield and the worst Cpk per line and per station, from the results the stations stored
 * in the plant's PostgreSQL (nodes/lib/pg/client.ts: inspection_result, spot_result).
 *
 * Yield is counted by SQL over the window. The capability is the station's own SPC arithmetic: the last
 * subgroupSize × capabilityWindow parts of each station (in the window) are replayed in result order through an
 * SpcEngine (the same subgroups, R̄/d2 or S̄/c4, spec limits and the lower limit taken from the verdict rules'
 * minimum), so the plant view and the station's SPC page give the same Cpk for the same parts.
 */
import type { PgConnection } from '../pg/client';
import { isConnectionError } from '../pg/client';
import { SpcConfig, SpcEngine } from './engine';

export interface PlantWindow {
  /** results with result_at in the last `hours` hours */
  hours: number;
}

export interface StationRow {
  line: string;
  station: string;
  parts: number;
  ok: number;
  nok: number;
  /** OK parts in %, one decimal; null without parts */
  yield: number | null;
  /** the lowest Cpk of the station's series (null: no series with a spec limit yet) */
  worstCpk: number | null;
  /** the spot (and characteristic, when not the diameter) of worstCpk */
  worstSpot: string | null;
  /** series with a Cpk, of series charted */
  withCpk: number;
  series: number;
  /** the newest result in the window (ISO) */
  last: string | null;
}

export interface LineRow {
  line: string;
  stations: number;
  parts: number;
  ok: number;
  nok: number;
  yield: number | null;
  worstCpk: number | null;
  /** station/spot of worstCpk */
  worstAt: string | null;
}

export interface PlantView {
  lines: LineRow[];
  stations: StationRow[];
}

/** What the queries return, one row per station and one row per spot of the parts replayed. */
export interface YieldRow {
  line: string;
  station: string;
  parts: number;
  ok: number;
  last: Date | string | null;
}

export interface SpotRow {
  line: string;
  station: string;
  result_id: string;
  result_at: Date | string;
  spot_id: string;
  verdict: string;
  score: number | null;
  measurements: Record<string, { value?: unknown; unit?: unknown; min?: unknown }> | null;
}

export const iso = (v: Date | string | null): string | null => (v === null ? null : v instanceof Date ? v.toISOString() : new Date(v).toISOString());
export const pct = (ok: number, parts: number): number | null => (parts > 0 ? Math.round((1000 * ok) / parts) / 10 : null);
const worse = (a: number | null, b: number | null): boolean => a !== null && (b === null || a < b);

/** The view from the query rows (pure: the correctness tests feed it rows of their own). */
export function plantView(config: SpcConfig, yields: readonly YieldRow[], spots: readonly SpotRow[]): PlantView {
  // one engine, no run rules: only the subgroups and the capability are wanted
  const engine = new SpcEngine({ ...config, rules: { 1: false, 2: false, 3: false, 4: false, 5: false, 6: false, 7: false, 8: false } });
  let i = 0;
  while (i < spots.length) {
    const first = spots[i];
    const part: Array<{ spotId: string; verdict: string; score?: number; values?: SpotRow['measurements'] }> = [];
    while (i < spots.length && spots[i].result_id === first.result_id) {
      const s = spots[i++];
      part.push({ spotId: s.spot_id, verdict: s.verdict, ...(s.score === null ? {} : { score: s.score }), ...(s.measurements ? { values: s.measurements } : {}) });
    }
    engine.update({ station: { line: first.line, station: first.station }, timestamps: { result: iso(first.result_at) ?? undefined }, spots: part });
  }
  const worst = new Map<string, { cpk: number | null; spot: string | null; withCpk: number; series: number }>();
  for (const r of engine.summary()) {
    const k = `${r.line}\u0000${r.station}`;
    const w = worst.get(k) ?? { cpk: null, spot: null, withCpk: 0, series: 0 };
    w.series += 1;
    if (r.cpk !== null) {
      w.withCpk += 1;
      if (worse(r.cpk, w.cpk)) {
        w.cpk = r.cpk;
        w.spot = r.characteristic === 'diameter' ? r.spot : `${r.spot} (${r.characteristic})`;
      }
    }
    worst.set(k, w);
  }
  const stations: StationRow[] = yields.map((y) => {
    const w = worst.get(`${y.line}\u0000${y.station}`);
    return {
      line: y.line,
      station: y.station,
      parts: y.parts,
      ok: y.ok,
      nok: y.parts - y.ok,
      yield: pct(y.ok, y.parts),
      worstCpk: w?.cpk ?? null,
      worstSpot: w?.spot ?? null,
      withCpk: w?.withCpk ?? 0,
      series: w?.series ?? 0,
      last: iso(y.last),
    };
  });
  const byLine = new Map<string, LineRow>();
  for (const s of stations) {
    const l = byLine.get(s.line) ?? { line: s.line, stations: 0, parts: 0, ok: 0, nok: 0, yield: null, worstCpk: null, worstAt: null };
    l.stations += 1;
    l.parts += s.parts;
    l.ok += s.ok;
    l.nok += s.nok;
    if (worse(s.worstCpk, l.worstCpk)) {
      l.worstCpk = s.worstCpk;
      l.worstAt = `${s.station}/${s.worstSpot ?? ''}`;
    }
    byLine.set(s.line, l);
  }
  const lines = [...byLine.values()].map((l) => ({ ...l, yield: pct(l.ok, l.parts) }));
  // worst first: the lowest Cpk, then the lowest yield; unknown Cpk last
  const order = <T extends { worstCpk: number | null; yield: number | null }>(a: T, b: T): number =>
    a.worstCpk === null ? (b.worstCpk === null ? (a.yield ?? 101) - (b.yield ?? 101) : 1) : b.worstCpk === null ? -1 : a.worstCpk - b.worstCpk;
  stations.sort(order);
  lines.sort(order);
  return { lines, stations };
}

/** Read the window from the plant database and compute the view. */
export async function readPlantView(conn: PgConnection, config: SpcConfig, win: PlantWindow): Promise<PlantView> {
  const s = `"${conn.schema}"`;
  const since = `now() - ($1::double precision * interval '1 hour')`;
  const perStation = config.subgroupSize * config.capabilityWindow;
  try {
    const yields = await conn.pool.query<YieldRow>(
      `SELECT line, station, count(*)::integer AS parts, (count(*) FILTER (WHERE verdict = 'OK'))::integer AS ok, max(result_at) AS last
       FROM ${s}.inspection_result WHERE result_at >= ${since} GROUP BY line, station ORDER BY line, station`,
      [win.hours],
    );
    const spots = await conn.pool.query<SpotRow>(
      `WITH recent AS (
         SELECT result_id, line, station, result_at,
           row_number() OVER (PARTITION BY line, station ORDER BY result_at DESC, result_id DESC) AS rn
         FROM ${s}.inspection_result WHERE result_at >= ${since})
       SELECT r.line, r.station, r.result_id::text AS result_id, r.result_at, p.spot_id, p.verdict, p.score, p.measurements
       FROM recent r JOIN ${s}.spot_result p ON p.result_id = r.result_id
       WHERE r.rn <= $2
       ORDER BY r.line, r.station, r.result_at, r.result_id, p.spot_id`,
      [win.hours, perStation],
    );
    return plantView(config, yields.rows, spots.rows);
  } catch (err) {
    if (isConnectionError(err)) conn.lost?.(err as Error);
    throw err;
  }
}
