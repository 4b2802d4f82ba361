/**
 * The embedded result store (SQLite, better-sqlite3): the default store for `npm start` and for stations with
 * no central database. Same tables as PostgreSQL (inspection_result, spot_result), inserts idempotent on
 * resultId, optional cap on the number of results kept.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotFusionError } from '../errors';
import type { InspectionResult } from './enrich';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inspection_result (
  result_id TEXT PRIMARY KEY,
  part_serial TEXT,
  program TEXT,
  line TEXT NOT NULL,
  area TEXT NOT NULL,
  station TEXT NOT NULL,
  camera TEXT NOT NULL,
  verdict TEXT NOT NULL,
  result_code INTEGER NOT NULL,
  class_id INTEGER NOT NULL,
  model_name TEXT,
  model_version TEXT,
  trigger_at TEXT,
  result_at TEXT NOT NULL,
  body TEXT NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inspection_result_station_time ON inspection_result (station, result_at);
CREATE INDEX IF NOT EXISTS inspection_result_serial ON inspection_result (part_serial);
CREATE TABLE IF NOT EXISTS spot_result (
  result_id TEXT NOT NULL REFERENCES inspection_result (result_id) ON DELETE CASCADE,
  spot_id TEXT NOT NULL,
  verdict TEXT NOT NULL,
  label TEXT,
  score REAL,
  reason TEXT,
  measurements TEXT,
  box TEXT,
  PRIMARY KEY (result_id, spot_id)
);
`;

export class SqliteResultStore {
  private readonly db: Database.Database;
  private readonly insertResult: Database.Statement;
  private readonly insertSpot: Database.Statement;
  private readonly trim: Database.Statement<[number]>;
  readonly insertMany: (bodies: readonly string[]) => number;

  /** keepRows: most results kept (oldest deleted first); 0 = keep all */
  constructor(readonly file: string, readonly keepRows = 0) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA);
    } catch (err) {
      this.db.close();
      throw new SpotFusionError('SQLITE', `result store ${file}: ${(err as Error).message}`, { cause: err });
    }
    this.insertResult = this.db.prepare(`INSERT OR IGNORE INTO inspection_result (result_id, part_serial, program, line, area, station, camera,
      verdict, result_code, class_id, model_name, model_version, trigger_at, result_at, body, stored_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertSpot = this.db.prepare(`INSERT OR IGNORE INTO spot_result (result_id, spot_id, verdict, label, score, reason, measurements, box)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    this.trim = this.db.prepare('DELETE FROM inspection_result WHERE rowid <= (SELECT MAX(rowid) FROM inspection_result) - ?');
    this.insertMany = this.db.transaction((bodies: readonly string[]): number => {
      let inserted = 0;
      const now = Date.now();
      for (const body of bodies) {
        const r = JSON.parse(body) as InspectionResult;
        const res = this.insertResult.run(
          r.resultId, r.part.serial, r.part.program === null ? null : String(r.part.program), r.station.line, r.station.area, r.station.station,
          r.station.camera, r.verdict, r.resultCode, r.classId, r.model?.name ?? null, r.model?.version ?? null, r.timestamps.trigger ?? null,
          r.timestamps.result, body, now,
        );
        if (res.changes === 0) continue;
        inserted += 1;
        for (const sp of r.spots) {
          this.insertSpot.run(r.resultId, sp.spotId, sp.verdict, sp.label ?? null, sp.score ?? null, sp.reason ?? null,
            sp.values ? JSON.stringify(sp.values) : null, sp.box ? JSON.stringify(sp.box) : null);
        }
      }
      if (this.keepRows > 0 && inserted > 0) this.trim.run(this.keepRows);
      return inserted;
    });
  }

  /** for tests and the dashboard: how many results are stored */
  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM inspection_result').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
