/**
 * The durable outbox of result-publish: an SQLite database (better-sqlite3, WAL) in the Node-RED user dir.
 * A result is committed here before the node acknowledges its message; each target has a cursor (the last
 * sequence number it confirmed) and is fed in sequence order from it, so delivery is in order per target and
 * survives restarts. A row is removed once every target has confirmed it. The outbox is bounded: when it
 * holds maxRows undelivered results, the full policy acts (reject the new result, or drop the oldest), and
 * the caller is told so (never silent).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SpotFusionError } from '../errors';

export const FULL_POLICIES = ['reject', 'drop-oldest'] as const;
export type FullPolicy = (typeof FULL_POLICIES)[number];

export interface OutboxOptions {
  /** database file (created with its folder when missing) */
  file: string;
  /** cursor names of the targets fed from this outbox */
  targets: readonly string[];
  /**
   * targets that, when they are new to this outbox (no cursor yet), start with the oldest result still waiting
   * in it (for another target) instead of with the next new result; known targets keep their cursor
   */
  backlog?: readonly string[];
  /** most undelivered results kept (default 100 000) */
  maxRows?: number;
  fullPolicy?: FullPolicy;
  /** 'FULL' (default): a committed result survives a power cut; 'NORMAL': it survives a process crash */
  synchronous?: 'FULL' | 'NORMAL';
  now?: () => number;
}

export interface OutboxRow {
  seq: number;
  resultId: string;
  body: string;
  createdAt: number;
}

export interface EnqueueResult {
  seq: number;
  /** the same resultId was already waiting in the outbox: not stored again */
  duplicate: boolean;
  /** rows dropped to make room (drop-oldest policy) */
  dropped: number;
}

export interface TargetStats {
  target: string;
  cursor: number;
  depth: number;
  /** age of the oldest result this target has not confirmed yet, ms */
  oldestAgeMs: number | undefined;
  delivered: number;
  lastDeliveredAt: number | undefined;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  result_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
  target TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  last_delivered_at INTEGER
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export class OutboxFullError extends SpotFusionError {
  constructor(maxRows: number) {
    super('OUTBOX_FULL', `outbox full: ${maxRows} results wait for delivery; the full policy "reject" refused this result (nothing written)`);
    this.name = 'OutboxFullError';
  }
}

export class Outbox {
  readonly file: string;
  readonly maxRows: number;
  readonly fullPolicy: FullPolicy;
  readonly targets: readonly string[];
  private readonly db: Database.Database;
  private readonly now: () => number;
  private count: number;
  private readonly cursors = new Map<string, number>();
  private readonly st: {
    insert: Database.Statement<[string, string, number]>;
    bySeq: Database.Statement<[string], { seq: number }>;
    pending: Database.Statement<[number, number], { seq: number; result_id: string; body: string; created_at: number }>;
    ack: Database.Statement<[number, number, number, string]>;
    prune: Database.Statement<[number]>;
    depth: Database.Statement<[number], { n: number }>;
    oldest: Database.Statement<[number], { created_at: number }>;
    dropOldest: Database.Statement<[number]>;
    cursorRow: Database.Statement<[string], { seq: number; delivered: number; last_delivered_at: number | null }>;
  };
  private readonly enqueueTx: (resultId: string, body: string) => EnqueueResult;

  constructor(opts: OutboxOptions) {
    if (opts.targets.length === 0) throw new SpotFusionError('CONFIG', 'outbox: no delivery target');
    this.file = opts.file;
    this.maxRows = opts.maxRows ?? 100_000;
    if (!Number.isInteger(this.maxRows) || this.maxRows < 1) throw new SpotFusionError('CONFIG', `outbox: maxRows must be a whole number ≥ 1, got ${opts.maxRows}`);
    this.fullPolicy = opts.fullPolicy ?? 'reject';
    if (!(FULL_POLICIES as readonly string[]).includes(this.fullPolicy)) {
      throw new SpotFusionError('CONFIG', `outbox: full policy must be one of ${FULL_POLICIES.join(', ')}, got ${String(opts.fullPolicy)}`);
    }
    this.targets = [...new Set(opts.targets)];
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(this.file), { recursive: true });
    this.db = new Database(this.file, { timeout: 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      this.db.exec(SCHEMA);
      this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('format', '1')").run();
    } catch (err) {
      this.db.close();
      throw new SpotFusionError('OUTBOX', `outbox ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.st = {
      insert: this.db.prepare('INSERT OR IGNORE INTO outbox (result_id, body, created_at) VALUES (?, ?, ?)'),
      bySeq: this.db.prepare('SELECT seq FROM outbox WHERE result_id = ?'),
      pending: this.db.prepare('SELECT seq, result_id, body, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      ack: this.db.prepare('UPDATE cursors SET seq = ?, delivered = delivered + ?, last_delivered_at = ? WHERE target = ?'),
      prune: this.db.prepare('DELETE FROM outbox WHERE seq <= ?'),
      depth: this.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE seq > ?'),
      oldest: this.db.prepare('SELECT created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1'),
      dropOldest: this.db.prepare('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)'),
      cursorRow: this.db.prepare('SELECT seq, delivered, last_delivered_at FROM cursors WHERE target = ?'),
    };
    // targets: keep the cursors of known ones (restart resumes), start new ones after the newest result,
    // forget targets no longer configured (they would hold rows forever)
    this.db.transaction(() => {
      const { maxSeq, minSeq } = this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS maxSeq, MIN(seq) AS minSeq FROM outbox').get() as { maxSeq: number; minSeq: number | null };
      // AUTOINCREMENT keeps sequence numbers growing even when the outbox is empty
      const last = Math.max(maxSeq, (this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined)?.seq ?? 0);
      const backlog = new Set(opts.backlog ?? []);
      const known = this.db.prepare('SELECT target, seq FROM cursors').all() as Array<{ target: string; seq: number }>;
      for (const k of known) if (!this.targets.includes(k.target)) this.db.prepare('DELETE FROM cursors WHERE target = ?').run(k.target);
      for (const t of this.targets) {
        const row = known.find((k) => k.target === t);
        if (row) this.cursors.set(t, row.seq);
        else {
          const start = backlog.has(t) && minSeq !== null ? minSeq - 1 : last;
          this.db.prepare('INSERT INTO cursors (target, seq) VALUES (?, ?)').run(t, start);
          this.cursors.set(t, start);
        }
      }
      this.pruneDelivered();
    })();
    this.count = (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    this.enqueueTx = this.db.transaction((resultId: string, body: string): EnqueueResult => {
      let dropped = 0;
      if (this.count >= this.maxRows) {
        const existing = this.st.bySeq.get(resultId);
        if (existing) return { seq: existing.seq, duplicate: true, dropped: 0 };
        if (this.fullPolicy === 'reject') throw new OutboxFullError(this.maxRows);
        dropped = this.st.dropOldest.run(this.count - this.maxRows + 1).changes;
        this.count -= dropped;
      }
      const r = this.st.insert.run(resultId, body, this.now());
      if (r.changes === 0) {
        const existing = this.st.bySeq.get(resultId);
        return { seq: existing ? existing.seq : 0, duplicate: true, dropped };
      }
      this.count += 1;
      return { seq: Number(r.lastInsertRowid), duplicate: false, dropped };
    });
  }

  get open(): boolean {
    return this.db.open;
  }

  /** results waiting for at least one target */
  get rows(): number {
    return this.count;
  }

  /** Commit one result (durably, before this returns). Throws OutboxFullError under the reject policy. */
  enqueue(resultId: string, body: string): EnqueueResult {
    return this.enqueueTx(resultId, body);
  }

  /** The next results a target has not confirmed, in order. */
  pending(target: string, limit: number): OutboxRow[] {
    const cursor = this.cursorOf(target);
    return this.st.pending.all(cursor, limit).map((r) => ({ seq: r.seq, resultId: r.result_id, body: r.body, createdAt: r.created_at }));
  }

  /** The target confirmed every result up to `seq` (inclusive). */
  ack(target: string, seq: number, delivered: number): void {
    const cursor = this.cursorOf(target);
    if (seq <= cursor) return;
    this.db.transaction(() => {
      this.st.ack.run(seq, delivered, this.now(), target);
      this.cursors.set(target, seq);
      this.pruneDelivered();
    })();
  }

  stats(target: string): TargetStats {
    const cursor = this.cursorOf(target);
    const row = this.st.cursorRow.get(target);
    const oldest = this.st.oldest.get(cursor);
    return {
      target,
      cursor,
      depth: this.st.depth.get(cursor)?.n ?? 0,
      oldestAgeMs: oldest ? Math.max(0, this.now() - oldest.created_at) : undefined,
      delivered: row?.delivered ?? 0,
      lastDeliveredAt: row?.last_delivered_at ?? undefined,
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private cursorOf(target: string): number {
    const c = this.cursors.get(target);
    if (c === undefined) throw new SpotFusionError('OUTBOX', `outbox: unknown target ${target}`);
    return c;
  }

  private pruneDelivered(): void {
    let min = Infinity;
    for (const c of this.cursors.values()) min = Math.min(min, c);
    if (Number.isFinite(min)) this.count -= this.st.prune.run(min).changes;
    if (this.count < 0) this.count = 0;
  }
}
