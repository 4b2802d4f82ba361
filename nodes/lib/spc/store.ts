/**
 * Where SPC state lives across restarts: SQLite (better-sqlite3), by default next to the embedded result store
 * (<userDir>/spotfusion/spc.db). Tables:
 *   spc_series   one row per series (station/spot/characteristic): its chart state and active alarms as JSON, its
 *                chart points (the history, most of the state) as a BLOB of little-endian float64, 4 per point
 *   spc_alarm    every alarm: raised, cleared, acknowledged (who, when)
 *   spc_baseline every set of control limits frozen (initial, re-baseline, cap change), with its reason
 * Series rows are written in batches (flush()); alarm rows and baselines sooner. load() reconciles the two.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotFusionError } from '../errors';
import type { StoredPoint } from './chart';
import type { AlarmEvent, BaselineEvent, SeriesRecord } from './engine';

const NO_POINTS: StoredPoint[] = [];

/**
 * The chart points as bytes: JSON of 60 × 4 doubles took 90 % of a flush's CPU (bench/spc.bench.cjs); the bytes
 * cost a tenth of it and keep every bit of each value.
 */
export function encodeHistory(h: readonly StoredPoint[]): Buffer {
  const b = Buffer.allocUnsafeSlow(h.length * 32);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < h.length; i++) {
    const p = h[i];
    v.setFloat64(i * 32, p[0], true);
    v.setFloat64(i * 32 + 8, p[1], true);
    v.setFloat64(i * 32 + 16, p[2], true);
    v.setFloat64(i * 32 + 24, p[3], true);
  }
  return b;
}

export function decodeHistory(b: Buffer): StoredPoint[] {
  if (b.length % 32 !== 0) throw new RangeError(`a stored SPC history of ${b.length} bytes is not whole points (32 bytes each)`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: StoredPoint[] = [];
  for (let o = 0; o < b.length; o += 32) out.push([v.getFloat64(o, true), v.getFloat64(o + 8, true), v.getFloat64(o + 16, true), v.getFloat64(o + 24, true)]);
  return out;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spc_series (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  record TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  history BLOB,
  PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS spc_alarm (
  id TEXT PRIMARY KEY,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  line TEXT NOT NULL,
  station TEXT NOT NULL,
  spot TEXT NOT NULL,
  characteristic TEXT NOT NULL,
  chart TEXT NOT NULL,
  rule INTEGER NOT NULL,
  text TEXT NOT NULL,
  detail TEXT NOT NULL,
  since TEXT NOT NULL,
  raised_at TEXT NOT NULL,
  cleared_at TEXT,
  cleared_reason TEXT,
  acked_at TEXT,
  acked_by TEXT
);
CREATE INDEX IF NOT EXISTS spc_alarm_open ON spc_alarm (scope, acked_at, raised_at);
CREATE TABLE IF NOT EXISTS spc_baseline (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  spot TEXT NOT NULL,
  characteristic TEXT NOT NULL,
  reason TEXT NOT NULL,
  limits TEXT NOT NULL,
  frozen_at TEXT NOT NULL
);
`;

export interface StoredAlarm {
  id: string;
  key: string;
  line: string;
  station: string;
  spot: string;
  characteristic: string;
  chart: string;
  rule: number;
  text: string;
  values: number[];
  limits: unknown;
  since: string;
  raisedAt: string;
  clearedAt: string | null;
  clearedReason: string | null;
  ackedAt: string | null;
  ackedBy: string | null;
}

interface AlarmRow {
  id: string;
  key: string;
  line: string;
  station: string;
  spot: string;
  characteristic: string;
  chart: string;
  rule: number;
  text: string;
  detail: string;
  since: string;
  raised_at: string;
  cleared_at: string | null;
  cleared_reason: string | null;
  acked_at: string | null;
  acked_by: string | null;
}

function toAlarm(r: AlarmRow): StoredAlarm {
  const d = JSON.parse(r.detail) as { values: number[]; limits: unknown };
  return {
    id: r.id, key: r.key, line: r.line, station: r.station, spot: r.spot, characteristic: r.characteristic, chart: r.chart, rule: r.rule, text: r.text,
    values: d.values, limits: d.limits, since: r.since, raisedAt: r.raised_at, clearedAt: r.cleared_at, clearedReason: r.cleared_reason, ackedAt: r.acked_at, ackedBy: r.acked_by,
  };
}

export class SpcStore {
  private readonly db: Database.Database;
  private readonly putSeries: Database.Statement;
  private readonly putAlarm: Database.Statement;
  private readonly clearAlarm: Database.Statement;
  private readonly putBaseline: Database.Statement;
  private readonly tx: (fn: () => void) => void;

  /** scope: whose state this is (the spc node's id), so two spc nodes can share one file */
  constructor(readonly file: string, readonly scope: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a power cut may lose the last flush (≤ 1 s of subgroup progress), never the file's consistency
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
      // a file written before the history column: add it (its rows keep their history in the JSON until rewritten)
      const cols = this.db.prepare<[], { name: string }>('PRAGMA table_info(spc_series)').all();
      if (!cols.some((c) => c.name === 'history')) this.db.exec('ALTER TABLE spc_series ADD COLUMN history BLOB');
    } catch (err) {
      this.db.close();
      throw new SpotFusionError('SQLITE', `SPC store ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.putSeries = this.db.prepare(
      'INSERT INTO spc_series (scope, key, record, updated_at, history) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at, history = excluded.history',
    );
    this.putAlarm = this.db.prepare(`INSERT OR IGNORE INTO spc_alarm (id, scope, key, line, station, spot, characteristic, chart, rule, text, detail, since, raised_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.clearAlarm = this.db.prepare('UPDATE spc_alarm SET cleared_at = ?, cleared_reason = ? WHERE id = ? AND scope = ? AND cleared_at IS NULL');
    this.putBaseline = this.db.prepare('INSERT INTO spc_baseline (scope, key, spot, characteristic, reason, limits, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const t = this.db.transaction((fn: () => void) => fn());
    this.tx = (fn) => t(fn);
  }

  /**
   * Every stored series of this scope, their active alarms made to agree with the alarm table. The table is
   * written first (alarm rows within a fraction of a second, series with the slower flush), so after a crash
   * between the two it is the newer: an open alarm the series does not hold is put back into it, an alarm the
   * series holds that the table has cleared (or never had) is dropped from it.
   */
  load(): SeriesRecord[] {
    const rows = this.db.prepare<[string], { record: string; history: Buffer | null }>('SELECT record, history FROM spc_series WHERE scope = ?').all(this.scope);
    const records = rows.map((r) => {
      const rec = JSON.parse(r.record) as SeriesRecord;
      if (r.history) rec.state.history = decodeHistory(r.history);
      return rec;
    });
    const open = this.db
      .prepare<[string], { id: string; key: string; chart: string; rule: number; raised_at: string }>('SELECT id, key, chart, rule, raised_at FROM spc_alarm WHERE scope = ? AND cleared_at IS NULL ORDER BY raised_at, rowid')
      .all(this.scope);
    const openIds = new Set(open.map((a) => a.id));
    const byKey = new Map(records.map((r) => [r.key, r]));
    for (const r of records) for (const [slot, a] of Object.entries(r.active)) if (!openIds.has(a.id)) delete r.active[slot];
    const superseded: string[] = [];
    for (const a of open) {
      const r = byKey.get(a.key);
      if (!r) continue;
      const slot = `${a.chart}:${a.rule}`;
      const held = r.active[slot];
      if (!held) r.active[slot] = { id: a.id, raisedAt: a.raised_at, quiet: 0 };
      else if (held.id !== a.id) superseded.push(a.id);
    }
    if (superseded.length) {
      const at = new Date().toISOString();
      this.tx(() => {
        for (const id of superseded) this.clearAlarm.run(at, 'superseded (found at restart)', id, this.scope);
      });
    }
    return records;
  }

  /** write these series, alarm events and frozen limits in one transaction */
  save(records: Iterable<SeriesRecord>, alarms: readonly AlarmEvent[] = [], baselines: readonly BaselineEvent[] = []): void {
    const now = Date.now();
    this.tx(() => {
      for (const r of records) {
        // the record as JSON without its chart points (they go as bytes), the state left as it was
        const h = r.state.history;
        let json: string;
        try {
          r.state.history = NO_POINTS;
          json = JSON.stringify(r);
        } finally {
          r.state.history = h;
        }
        this.putSeries.run(this.scope, r.key, json, now, encodeHistory(h));
      }
      for (const a of alarms) {
        if (a.event === 'raised') {
          this.putAlarm.run(a.id, this.scope, a.key, a.line, a.station, a.spot, a.characteristic, a.chart, a.rule, a.text, JSON.stringify({ values: a.values, limits: a.limits }), a.since, a.at);
        } else this.clearAlarm.run(a.at, a.reason ?? null, a.id, this.scope);
      }
      for (const b of baselines) this.putBaseline.run(this.scope, b.key, b.spot, b.characteristic, b.limits.reason, JSON.stringify(b.limits), b.limits.frozenAt);
    });
  }

  /** Acknowledge alarms (ids; all open ones when `ids` is empty); returns those acknowledged now. */
  ack(ids: readonly string[], by: string, at = new Date().toISOString()): StoredAlarm[] {
    const out: StoredAlarm[] = [];
    this.tx(() => {
      const rows = ids.length
        ? ids.map((id) => this.db.prepare<[string, string], AlarmRow>('SELECT * FROM spc_alarm WHERE id = ? AND scope = ? AND acked_at IS NULL').get(id, this.scope)).filter((r): r is AlarmRow => !!r)
        : this.db.prepare<[string], AlarmRow>('SELECT * FROM spc_alarm WHERE scope = ? AND acked_at IS NULL').all(this.scope);
      const upd = this.db.prepare('UPDATE spc_alarm SET acked_at = ?, acked_by = ? WHERE id = ? AND scope = ?');
      for (const r of rows) {
        upd.run(at, by, r.id, this.scope);
        out.push(toAlarm({ ...r, acked_at: at, acked_by: by }));
      }
    });
    return out;
  }

  /** Alarms newest first: all, or only those not yet acknowledged */
  alarms(opts: { open?: boolean; limit?: number } = {}): StoredAlarm[] {
    const sql = `SELECT * FROM spc_alarm WHERE scope = ?${opts.open ? ' AND acked_at IS NULL' : ''} ORDER BY raised_at DESC, rowid DESC LIMIT ?`;
    return this.db.prepare<[string, number], AlarmRow>(sql).all(this.scope, opts.limit ?? 1000).map(toAlarm);
  }

  /** The limits frozen so far, oldest first (the re-baseline record) */
  baselines(key?: string): Array<{ key: string; spot: string; characteristic: string; reason: string; limits: unknown; frozenAt: string }> {
    const rows = key
      ? this.db.prepare<[string, string], { key: string; spot: string; characteristic: string; reason: string; limits: string; frozen_at: string }>('SELECT * FROM spc_baseline WHERE scope = ? AND key = ? ORDER BY seq').all(this.scope, key)
      : this.db.prepare<[string], { key: string; spot: string; characteristic: string; reason: string; limits: string; frozen_at: string }>('SELECT * FROM spc_baseline WHERE scope = ? ORDER BY seq').all(this.scope);
    return rows.map((r) => ({ key: r.key, spot: r.spot, characteristic: r.characteristic, reason: r.reason, limits: JSON.parse(r.limits) as unknown, frozenAt: r.frozen_at }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
