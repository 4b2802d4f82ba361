/**
 * PostgreSQL (pg) behind SharedConnection: a connection pool, opened with a probe query and the migrations
 * of our tables, watched for the loss of its connections. Results go in with one statement per batch,
 * idempotent on resultId (a result delivered twice is stored once).
 */
import type { Pool, PoolConfig } from 'pg';
import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError, describeError } from '../errors';
import { hostSetting, intSetting } from '../amqp/client';

export interface PgSettings {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  schema: string;
  tls: boolean;
  tlsRejectUnauthorized: boolean;
  poolMax: number;
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  applicationName: string;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function parsePgSettings(
  def: { host?: unknown; port?: unknown; database?: unknown; schema?: unknown; tls?: unknown; tlsRejectUnauthorized?: unknown; poolMax?: unknown; connectTimeout?: unknown; queryTimeout?: unknown },
  creds: { user?: string; password?: string } = {},
  applicationName = 'spotfusion-edge',
): PgSettings {
  const schema = typeof def.schema === 'string' && def.schema.trim() !== '' ? def.schema.trim() : 'public';
  if (!IDENT.test(schema)) throw new SpotFusionError(PERMANENT_ERROR_CODE, `schema must be a lower-case SQL name (a-z, 0-9, _), got ${JSON.stringify(def.schema)}`);
  const database = typeof def.database === 'string' && def.database.trim() !== '' ? def.database.trim() : 'postgres';
  const s: PgSettings = {
    host: hostSetting(def.host),
    port: intSetting('port', def.port, 5432, 1, 65535),
    database,
    user: creds.user || 'postgres',
    schema,
    tls: def.tls === true || def.tls === 'true',
    tlsRejectUnauthorized: !(def.tlsRejectUnauthorized === false || def.tlsRejectUnauthorized === 'false'),
    poolMax: intSetting('poolMax', def.poolMax, 4, 1, 100),
    connectTimeoutMs: intSetting('connectTimeout', def.connectTimeout, 5000, 100, 120000),
    queryTimeoutMs: intSetting('queryTimeout', def.queryTimeout, 10000, 100, 600000),
    applicationName: applicationName.slice(0, 63),
  };
  if (creds.password) s.password = creds.password;
  return s;
}

/** The migrations of our tables, in order; each runs once per schema, recorded in spotfusion_migrations. */
export function migrations(schema: string): Array<{ id: number; name: string; sql: string }> {
  const s = `"${schema}"`;
  return [
    {
      id: 1,
      name: 'inspection_result and spot_result',
      sql: `
CREATE TABLE ${s}.inspection_result (
  result_id uuid PRIMARY KEY,
  part_serial text,
  program text,
  line text NOT NULL,
  area text NOT NULL,
  station text NOT NULL,
  camera text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('OK', 'NOK')),
  result_code integer NOT NULL,
  class_id integer NOT NULL,
  model_name text,
  model_version text,
  trigger_at timestamptz,
  result_at timestamptz NOT NULL,
  body jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inspection_result_station_time ON ${s}.inspection_result (station, result_at);
CREATE INDEX inspection_result_serial ON ${s}.inspection_result (part_serial);
CREATE TABLE ${s}.spot_result (
  result_id uuid NOT NULL REFERENCES ${s}.inspection_result (result_id) ON DELETE CASCADE,
  spot_id text NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('OK', 'NOK', 'MISSING')),
  label text,
  score double precision,
  reason text,
  measurements jsonb,
  box jsonb,
  PRIMARY KEY (result_id, spot_id)
);`,
    },
  ];
}

/** Apply missing migrations under an advisory lock (several stations may start at once). */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`spotfusion:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${schema}".spotfusion_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ id: number }>(`SELECT id FROM "${schema}".spotfusion_migrations`)).rows.map((r) => r.id));
    for (const m of migrations(schema)) {
      if (done.has(m.id)) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO "${schema}".spotfusion_migrations (id, name) VALUES ($1, $2)`, [m.id, m.name]);
      applied.push(m.id);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release(true);
    throw err;
  }
  client.release();
  return applied;
}

export interface PgConnection {
  pool: Pool;
  schema: string;
  /** set by watch(): report that the connection is gone (a query failed for want of a server) */
  lost?: (err: Error) => void;
}

/** Did this error come from the connection (not from SQL)? SQLSTATE class 08, admin shutdown, or no SQLSTATE. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code === '57P01' || code === '57P03';
}

/** migrate false: open checks the server with SELECT 1 and creates nothing (the editor's Test connection). */
export function pgDriver(s: PgSettings, opts: { migrate?: boolean } = {}): ConnectionDriver<PgConnection> {
  const label = `postgres ${s.host}:${s.port}/${s.database}`;
  return {
    describe: () => label,
    async open() {
      const cfg: PoolConfig = {
        host: s.host,
        port: s.port,
        database: s.database,
        user: s.user,
        max: s.poolMax,
        idleTimeoutMillis: 30000,
        connectionTimeoutMillis: s.connectTimeoutMs,
        query_timeout: s.queryTimeoutMs,
        application_name: s.applicationName,
        keepAlive: true,
      };
      if (s.password) cfg.password = s.password;
      if (s.tls) cfg.ssl = { rejectUnauthorized: s.tlsRejectUnauthorized, servername: s.host };
      // pg is loaded by the first PostgreSQL connection: a flow without one never loads it (docs/RELIABILITY.md)
      const { Pool } = await import('pg');
      const pool = new Pool(cfg);
      // an idle client's error is emitted on the pool: never unhandled
      pool.on('error', () => undefined);
      try {
        if (opts.migrate === false) await pool.query('SELECT 1');
        else await migrate(pool, s.schema);
      } catch (err) {
        await pool.end().catch(() => undefined);
        const code = (err as { code?: string }).code;
        // 28xxx: authentication; 3D000: no such database: a configuration the server will keep refusing
        const permanent = typeof code === 'string' && (code.startsWith('28') || code === '3D000');
        throw new SpotFusionError(permanent ? PERMANENT_ERROR_CODE : 'CONNECT', `${label}: ${describeError(err)}`, { cause: err });
      }
      return { pool, schema: s.schema };
    },
    watch(conn, lost) {
      const onError = (err: Error): void => lost(err);
      conn.pool.on('error', onError);
      conn.lost = onError;
      return () => {
        conn.pool.off('error', onError);
        conn.lost = undefined;
      };
    },
    async close(conn) {
      await conn.pool.end();
    },
  };
}

/** Insert a batch of results (JSON texts) with their spots, in one statement; existing resultIds are skipped. */
export async function insertResults(conn: PgConnection, bodies: readonly string[]): Promise<number> {
  const s = `"${conn.schema}"`;
  const sql = `
WITH input AS (SELECT value AS r FROM jsonb_array_elements($1::jsonb)),
ins AS (
  INSERT INTO ${s}.inspection_result (result_id, part_serial, program, line, area, station, camera, verdict, result_code,
    class_id, model_name, model_version, trigger_at, result_at, body)
  SELECT (r->>'resultId')::uuid, r->'part'->>'serial', r->'part'->>'program', r->'station'->>'line', r->'station'->>'area',
    r->'station'->>'station', r->'station'->>'camera', r->>'verdict', (r->>'resultCode')::integer, (r->>'classId')::integer,
    r->'model'->>'name', r->'model'->>'version', (r->'timestamps'->>'trigger')::timestamptz, (r->'timestamps'->>'result')::timestamptz, r
  FROM input
  ON CONFLICT (result_id) DO NOTHING
  RETURNING result_id, body
),
spots AS (
  INSERT INTO ${s}.spot_result (result_id, spot_id, verdict, label, score, reason, measurements, box)
  SELECT ins.result_id, sp->>'spotId', sp->>'verdict', sp->>'label', (sp->>'score')::double precision, sp->>'reason', sp->'values', sp->'box'
  FROM ins, jsonb_array_elements(ins.body->'spots') AS sp
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::integer AS inserted, (SELECT count(*) FROM spots)::integer AS spots`;
  try {
    const r = await conn.pool.query<{ inserted: number }>(sql, [`[${bodies.join(',')}]`]);
    return r.rows[0]?.inserted ?? 0;
  } catch (err) {
    if (isConnectionError(err)) conn.lost?.(err as Error);
    throw err;
  }
}
