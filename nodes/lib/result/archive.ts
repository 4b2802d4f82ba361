/**
 * Image archive of result-publish: for the parts the policy picks (none / NOK and low-confidence / all /
 * sampled), the frame and the spot crops are written as PNG under <dir>/<YYYY-MM-DD>/<resultId>/, and their
 * paths relative to <dir> go into result.images. Retention by age (whole days) and by total size (oldest
 * parts first). Files are served by URL (serveArchive), never carried in messages.
 */
import sharp from 'sharp';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Request, Response } from 'express';
import { SpotFusionError, describeError } from '../errors';
import { rawImageOf } from '../vision/crop';
import type { InspectionResult } from './enrich';

export const ARCHIVE_POLICIES = ['none', 'nok', 'all', 'sampled'] as const;
export type ArchivePolicy = (typeof ARCHIVE_POLICIES)[number];

export interface ArchiveOptions {
  dir: string;
  policy: ArchivePolicy;
  /** sampled: besides NOK/low-confidence parts, every n-th OK part */
  sampleEvery?: number;
  /** delete days older than this (0 = keep) */
  maxAgeDays?: number;
  /** keep the archive under this many bytes, oldest parts first (0 = no limit) */
  maxBytes?: number;
  /** least time between two retention sweeps (default 60 s) */
  sweepEveryMs?: number;
  now?: () => number;
}

type Box = { x: number; y: number; w: number; h: number };

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 100) || 'spot';
}

export class ImageArchive {
  readonly dir: string;
  private okSeen = 0;
  private lastSweep = 0;
  private sweeping: Promise<unknown> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: ArchiveOptions) {
    this.dir = resolve(o.dir);
    this.now = o.now ?? Date.now;
  }

  /** Does the policy archive this result? */
  wants(r: InspectionResult): boolean {
    const bad = r.verdict === 'NOK' || r.lowConfidence === true;
    switch (this.o.policy) {
      case 'none':
        return false;
      case 'all':
        return true;
      case 'nok':
        return bad;
      case 'sampled':
        if (bad) return true;
        this.okSeen += 1;
        return this.okSeen % (this.o.sampleEvery ?? 10) === 0;
    }
  }

  /** Write frame and crops as PNG when the policy wants them; the relative paths, or undefined. */
  async store(r: InspectionResult, frame: unknown, crops: unknown): Promise<InspectionResult['images'] | undefined> {
    if (!this.wants(r) || frame === undefined) return undefined;
    const day = new Date(Date.parse(r.timestamps.result) || this.now()).toISOString().slice(0, 10);
    const rel = `${day}/${r.resultId}`;
    const abs = join(this.dir, day, r.resultId);
    await mkdir(abs, { recursive: true });
    const images: NonNullable<InspectionResult['images']> = {};
    let source: sharp.Sharp | undefined;
    try {
      const raw = rawImageOf(frame, 'msg.frame');
      if (raw) source = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
      else source = sharp((frame as { data: Buffer; encoded?: Buffer }).encoded ?? (frame as { data: Buffer }).data);
      if (raw?.order === 'BGR') source = source.recomb([[0, 0, 1], [0, 1, 0], [1, 0, 0]]);
      await writeFile(join(abs, 'frame.png'), await source.clone().png({ compressionLevel: 3 }).toBuffer());
      images.frame = `${rel}/frame.png`;
    } catch (err) {
      throw new SpotFusionError('ARCHIVE', `archive: msg.frame could not be written as PNG: ${describeError(err)}`, { cause: err });
    }
    const meta = await source.metadata();
    const list = Array.isArray(crops) ? (crops as Array<{ spotId?: unknown; box?: Box; png?: unknown }>) : [];
    const out: Record<string, string> = {};
    for (const c of list) {
      if (typeof c?.spotId !== 'string') continue;
      const name = `${safeName(c.spotId)}.png`;
      let png: Buffer | undefined;
      if (c.png instanceof Uint8Array) png = Buffer.from(c.png);
      else if (c.box && meta.width && meta.height) {
        const left = Math.max(0, Math.floor(c.box.x));
        const top = Math.max(0, Math.floor(c.box.y));
        const width = Math.min(meta.width - left, Math.ceil(c.box.w));
        const height = Math.min(meta.height - top, Math.ceil(c.box.h));
        if (width > 0 && height > 0) png = await source.clone().extract({ left, top, width, height }).png({ compressionLevel: 3 }).toBuffer();
      }
      if (!png) continue;
      await writeFile(join(abs, name), png);
      out[c.spotId] = `${rel}/${name}`;
    }
    if (Object.keys(out).length) images.crops = out;
    if (this.now() - this.lastSweep >= (this.o.sweepEveryMs ?? 60_000) && !this.sweeping) {
      this.lastSweep = this.now();
      this.sweeping = this.sweep().finally(() => {
        this.sweeping = undefined;
      });
    }
    return images;
  }

  /** Retention: drop days older than maxAgeDays, then the oldest parts until the archive fits maxBytes. */
  async sweep(): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let days: string[];
    try {
      days = (await readdir(this.dir)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: 0, bytes: 0 };
      throw err;
    }
    const maxAge = this.o.maxAgeDays ?? 0;
    if (maxAge > 0) {
      const oldest = new Date(this.now() - maxAge * 86_400_000).toISOString().slice(0, 10);
      for (const d of days.filter((x) => x < oldest)) {
        await rm(join(this.dir, d), { recursive: true, force: true });
        removed += 1;
      }
      days = days.filter((x) => x >= oldest);
    }
    // parts, oldest first (by day, then modification time)
    const parts: Array<{ path: string; mtime: number; bytes: number }> = [];
    for (const d of days) {
      for (const p of await readdir(join(this.dir, d))) {
        const path = join(this.dir, d, p);
        let bytes = 0;
        let mtime = 0;
        for (const f of await readdir(path).catch(() => [] as string[])) {
          const st = await stat(join(path, f)).catch(() => undefined);
          if (st) {
            bytes += st.size;
            mtime = Math.max(mtime, st.mtimeMs);
          }
        }
        parts.push({ path, mtime: Date.parse(d) + (mtime % 86_400_000), bytes });
      }
    }
    let total = parts.reduce((a, p) => a + p.bytes, 0);
    const maxBytes = this.o.maxBytes ?? 0;
    if (maxBytes > 0 && total > maxBytes) {
      parts.sort((a, b) => a.mtime - b.mtime);
      for (const p of parts) {
        if (total <= maxBytes) break;
        await rm(p.path, { recursive: true, force: true });
        total -= p.bytes;
        removed += 1;
      }
    }
    return { removed, bytes: total };
  }

  /** The absolute file for a relative archive path, or undefined when it leaves the archive. */
  resolvePath(rel: string): string | undefined {
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(rel) || rel.split('/').some((s) => s === '..' || s === '.')) return undefined;
    const abs = resolve(this.dir, rel);
    return abs.startsWith(this.dir + sep) ? abs : undefined;
  }
}

interface HttpApp {
  get(path: string, handler: (req: Request, res: Response) => void): void;
}

const served = new WeakSet<object>();

/** GET /spotfusion/archive/<node id>/<relative path> on Node-RED's httpNode (its own auth applies). */
export function serveArchive(app: HttpApp | undefined, lookup: (nodeId: string) => ImageArchive | undefined): void {
  if (!app || served.has(app)) return;
  served.add(app);
  app.get('/spotfusion/archive/:node/*', (req: Request, res: Response) => {
    const archive = lookup(String(req.params.node));
    const rel = String((req.params as Record<string, string>)[0] ?? '');
    const file = archive?.resolvePath(rel);
    if (!archive || !file) {
      res.status(404).type('text/plain').send('not found');
      return;
    }
    res.sendFile(file, { dotfiles: 'deny', maxAge: 3600_000 }, (err?: Error) => {
      if (err && !res.headersSent) res.status(404).type('text/plain').send('not found');
    });
  });
}
