/**
 * Image archive of result-publish: for the parts the policy picks (none / NOK and low-confidence / all /
 * sampled), the frame and the spot crops are written as PNG under <dir>/<YYYY-MM-DD>/<resultId>/, and their
 * paths relative to <dir> go into result.images. Retention by age (whole days) and by total size (oldest
 * parts first). Files are served by URL (serveArchive), never carried in messages.
 */
import sharp from '../vision/sharp';
import { mkdir, readdir, realpath, rm, stat, writeFile } from 'node:fs/promises';
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
  /** parts written behind the messages at most at once (begin); more wait (default 8) */
  maxPending?: number;
  now?: () => number;
}

/** A planned write: the paths for result.images, and the write itself. */
export interface ArchiveJob {
  resultId: string;
  images: NonNullable<InspectionResult['images']>;
  write: () => Promise<void>;
}

/**
 * zlib level of the PNGs. A simulated 2448×2048 frame: level 1 takes 50 ms and 6.4 MB, level 3 128 ms and 3.8 MB,
 * level 6 3.7 MB. Disk space decides how many days of NOK parts a station keeps; the CPU time is spent behind the
 * message, so 3.
 */
const FRAME_PNG_LEVEL = 3;
const CROP_PNG_LEVEL = 3;

/** The rows of a box of a raw image, as one packed buffer. */
function cutRows(img: { data: Uint8Array; width: number; channels: number }, left: number, top: number, w: number, h: number): Buffer {
  const c = img.channels;
  const out = Buffer.allocUnsafe(w * h * c);
  const src = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  for (let y = 0; y < h; y++) {
    const from = ((top + y) * img.width + left) * c;
    src.copy(out, y * w * c, from, from + w * c);
  }
  return out;
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
  private readonly pending = new Map<string, Promise<void>>();

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

  /**
   * Decide what to write for a result and where: the relative paths (for result.images) and the job that
   * writes the PNG files. Nothing is written here; undefined when the policy does not want the part.
   */
  async plan(r: InspectionResult, frame: unknown, crops: unknown): Promise<ArchiveJob | undefined> {
    if (!this.wants(r) || frame === undefined) return undefined;
    const day = new Date(Date.parse(r.timestamps.result) || this.now()).toISOString().slice(0, 10);
    const rel = `${day}/${r.resultId}`;
    const abs = join(this.dir, day, r.resultId);
    let raw: ReturnType<typeof rawImageOf>;
    let source: sharp.Sharp;
    let width: number;
    let height: number;
    try {
      raw = rawImageOf(frame, 'msg.frame');
      if (raw) {
        source = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
        width = raw.width;
        height = raw.height;
      } else {
        source = sharp((frame as { data: Buffer; encoded?: Buffer }).encoded ?? (frame as { data: Buffer }).data);
        const meta = await source.metadata();
        width = meta.width ?? 0;
        height = meta.height ?? 0;
      }
      if (raw?.order === 'BGR') source = source.recomb([[0, 0, 1], [0, 1, 0], [1, 0, 0]]);
    } catch (err) {
      throw new SpotFusionError('ARCHIVE', `archive: msg.frame could not be written as PNG: ${describeError(err)}`, { cause: err });
    }
    const files: Array<{ name: string; png: () => Promise<Buffer> }> = [{ name: 'frame.png', png: () => source.clone().png({ compressionLevel: FRAME_PNG_LEVEL }).toBuffer() }];
    const images: NonNullable<InspectionResult['images']> = { frame: `${rel}/frame.png` };
    const out: Record<string, string> = {};
    const list = Array.isArray(crops) ? (crops as Array<{ spotId?: unknown; box?: Box; png?: unknown }>) : [];
    for (const c of list) {
      if (typeof c?.spotId !== 'string') continue;
      const name = `${safeName(c.spotId)}.png`;
      if (c.png instanceof Uint8Array) {
        const png = Buffer.from(c.png);
        files.push({ name, png: () => Promise.resolve(png) });
      } else if (c.box && width && height) {
        const left = Math.max(0, Math.floor(c.box.x));
        const top = Math.max(0, Math.floor(c.box.y));
        const w = Math.min(width - left, Math.ceil(c.box.w));
        const h = Math.min(height - top, Math.ceil(c.box.h));
        if (!(w > 0 && h > 0)) continue;
        // a raw frame: copy the rows of the box here (one small buffer) instead of a sharp pipeline over the frame
        const r0 = raw && raw.order !== 'BGR' ? raw : undefined;
        files.push({
          name,
          png: r0
            ? () => sharp(cutRows(r0, left, top, w, h), { raw: { width: w, height: h, channels: r0.channels } }).png({ compressionLevel: CROP_PNG_LEVEL }).toBuffer()
            : () => source.clone().extract({ left, top, width: w, height: h }).png({ compressionLevel: CROP_PNG_LEVEL }).toBuffer(),
        });
      } else continue;
      out[c.spotId] = `${rel}/${name}`;
    }
    if (Object.keys(out).length) images.crops = out;
    const write = async (): Promise<void> => {
      await mkdir(abs, { recursive: true });
      // every file at once: sharp encodes on libuv's thread pool
      await Promise.all(files.map(async (f) => writeFile(join(abs, f.name), await f.png())));
      if (this.now() - this.lastSweep >= (this.o.sweepEveryMs ?? 60_000) && !this.sweeping) {
        this.lastSweep = this.now();
        this.sweeping = this.sweep().finally(() => {
          this.sweeping = undefined;
        });
      }
    };
    return { resultId: r.resultId, images, write };
  }

  /** Write frame and crops as PNG when the policy wants them, now; the relative paths, or undefined. */
  async store(r: InspectionResult, frame: unknown, crops: unknown): Promise<InspectionResult['images'] | undefined> {
    const job = await this.plan(r, frame, crops);
    if (!job) return undefined;
    await this.run(job);
    return job.images;
  }

  /**
   * Write a planned job behind the message: resolves as soon as the job is admitted, which is at once unless
   * `maxPending` parts are still being written (then it waits for one of them: back-pressure, never a dropped
   * image). A write that fails goes to `onError`; its files are then missing.
   */
  async begin(job: ArchiveJob, onError: (err: SpotFusionError, job: ArchiveJob) => void): Promise<void> {
    const max = this.o.maxPending ?? 8;
    while (this.pending.size >= max) await Promise.race(this.pending.values());
    const p = this.run(job).catch((err: unknown) => onError(err instanceof SpotFusionError ? err : new SpotFusionError('ARCHIVE', `archive: ${job.resultId}: ${describeError(err)}`, { cause: err }), job));
    this.pending.set(job.resultId, p);
    void p.finally(() => this.pending.delete(job.resultId));
  }

  private async run(job: ArchiveJob): Promise<void> {
    try {
      await job.write();
    } catch (err) {
      throw new SpotFusionError('ARCHIVE', `archive: the images of ${job.resultId} could not be written: ${describeError(err)}`, { cause: err });
    }
  }

  /** Parts whose images are still being written. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Resolves when the images of this result are written (at once when none are pending). */
  written(resultId: string): Promise<void> {
    return this.pending.get(resultId) ?? Promise.resolve();
  }

  /** Resolves when every pending write has ended, or after `ms`; the number still pending then. */
  async idle(ms: number): Promise<number> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      t = setTimeout(resolve, ms);
    });
    await Promise.race([Promise.allSettled(this.pending.values()), timeout]);
    clearTimeout(t);
    return this.pending.size;
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

  /**
   * The real file (every symlink resolved) for a relative archive path, when it is a regular file whose real
   * path stays under the real path of the archive folder; undefined otherwise (a link in the archive that
   * points out of it, to /etc/passwd or anywhere else, is refused, not followed).
   */
  async realFile(rel: string): Promise<string | undefined> {
    const abs = this.resolvePath(rel);
    if (!abs) return undefined;
    try {
      const [root, real] = await Promise.all([realpath(this.dir), realpath(abs)]);
      if (!real.startsWith(root + sep)) return undefined;
      return (await stat(real)).isFile() ? real : undefined;
    } catch (err) {
      // ENOENT (not written, or removed by retention), ELOOP, EACCES: not served
      if ((err as NodeJS.ErrnoException).code) return undefined;
      throw err;
    }
  }

  /**
   * The relative path of the newest archived frame ("<day>/<result id>/frame.png": the newest day folder, in it
   * the newest frame by modification time), or undefined when the archive holds none.
   */
  async lastFrame(): Promise<string | undefined> {
    let days: string[];
    try {
      days = (await readdir(this.dir)).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort().reverse();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    for (const day of days) {
      let best: { rel: string; t: number } | undefined;
      for (const id of await readdir(join(this.dir, day))) {
        const rel = `${day}/${id}/frame.png`;
        if (!this.resolvePath(rel)) continue;
        try {
          const t = (await stat(join(this.dir, rel))).mtimeMs;
          if (!best || t > best.t) best = { rel, t };
        } catch (err) {
          if (!(err as NodeJS.ErrnoException).code) throw err; // no frame in this part's folder: the next one
        }
      }
      if (best) return best.rel;
    }
    return undefined;
  }
}

/** the archives of the live result-publish nodes, by node id (the archive route, the teach view's last frame) */
export const liveArchives = new Map<string, ImageArchive>();

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
    const notFound = (): void => {
      if (!res.headersSent) res.status(404).type('text/plain').send('not found');
    };
    if (!archive || !archive.resolvePath(rel)) {
      notFound();
      return;
    }
    // a part whose images are still being written (behind its message) is served once they are there; the
    // file sent is the real one, checked to lie inside the archive (sendFile itself would follow links)
    void archive
      .written(rel.split('/')[1] ?? '')
      .then(() => archive.realFile(rel))
      .then((file) => {
        if (!file) return notFound();
        res.sendFile(file, { dotfiles: 'deny', maxAge: 3600_000 }, (err?: Error) => {
          if (err) notFound();
        });
      })
      .catch(() => {
        if (!res.headersSent) res.status(500).type('text/plain').send('archive error');
      });
  });
}
