/**
 * Image archive of result-publish: for the parts the policy picks (none / NOK and low-confidence / all /
 * sampled), the frame and the spot crops are written as PNG under <dir>/<YYYY-MM-DD>/<resultId>/, and their
 * paths relative to <dir> go into result.images. Retention by age (whole days) and by total size (oldest
 * parts first). Files are served by URL (serveArchive), never carried in messages.
 */
import sharp from '../vision/sharp';
import { readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Request, Response } from 'express';
import { SpotFusionError, describeError } from '../errors';
import { decodeImage, rawImageOf, type RawImage } from '../vision/crop';
import type { PngBox } from '../vision/png';
import { WorkerClient } from '../worker-client';
import type { ArchiveWriteRequest } from './archive-worker';
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

/** ms without a part to write after which the writer thread ends (the next part starts another) */
const WRITER_IDLE_MS = 30_000;

type Box = { x: number; y: number; w: number; h: number };

/** The whole pixels of a crop box inside a width × height image, or undefined when none are. */
function clip(b: Box, width: number, height: number): PngBox | undefined {
  const left = Math.max(0, Math.floor(b.x));
  const top = Math.max(0, Math.floor(b.y));
  const w = Math.min(width - left, Math.ceil(b.w));
  const h = Math.min(height - top, Math.ceil(b.h));
  return w > 0 && h > 0 ? { left, top, width: w, height: h } : undefined;
}

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
  /** the frame being written, shared with the writer thread */
  private sharedBuf: SharedArrayBuffer | undefined;
  /** writes the PNG files, one part after the other, in a thread of lower priority (./archive-worker) */
  private readonly writer = new WorkerClient<ArchiveWriteRequest, unknown>({ file: join(__dirname, 'archive-worker.js'), code: 'ARCHIVE', label: 'archive: writer thread', idleMs: WRITER_IDLE_MS });
  /** settles when the last job handed to run has ended */
  private lane: Promise<unknown> = Promise.resolve();

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
    // raw pixels as they are; an encoded frame (JPEG, PNG, TIFF from a file or HTTP camera) is measured now and
    // decoded when its part is written, behind the message
    let pixels: () => Promise<RawImage>;
    let width: number;
    let height: number;
    try {
      const raw = rawImageOf(frame, 'msg.frame');
      if (raw) {
        pixels = () => Promise.resolve(raw);
        width = raw.width;
        height = raw.height;
      } else {
        const bytes = (frame as { data: Buffer; encoded?: Buffer }).encoded ?? (frame as { data: Buffer }).data;
        const meta = await sharp(bytes).metadata();
        // the stored size (decodeImage does not turn the image by its EXIF orientation either)
        width = meta.width ?? 0;
        height = meta.height ?? 0;
        pixels = () => decodeImage(bytes, 'msg.frame');
      }
    } catch (err) {
      throw new SpotFusionError('ARCHIVE', `archive: msg.frame could not be written as PNG: ${describeError(err)}`, { cause: err });
    }
    const images: NonNullable<InspectionResult['images']> = { frame: `${rel}/frame.png` };
    const files: Array<{ name: string; box?: Box; png?: Uint8Array }> = [{ name: 'frame.png' }];
    const out: Record<string, string> = {};
    const list = Array.isArray(crops) ? (crops as Array<{ spotId?: unknown; box?: Box; png?: unknown }>) : [];
    for (const c of list) {
      if (typeof c?.spotId !== 'string') continue;
      const name = `${safeName(c.spotId)}.png`;
      if (c.png instanceof Uint8Array) files.push({ name, png: Buffer.from(c.png) });
      else if (c.box && clip(c.box, width, height)) files.push({ name, box: c.box });
      else continue;
      out[c.spotId] = `${rel}/${name}`;
    }
    if (Object.keys(out).length) images.crops = out;
    const write = async (): Promise<void> => {
      const img = await pixels();
      // the pixels are copied into memory the writer thread shares (one part at a time: one buffer, reused), not
      // handed over (the frame may still be someone's) nor cloned into a new buffer for each part
      const data = this.shared(img.data.byteLength);
      data.set(img.data);
      const req: ArchiveWriteRequest = {
        dir: abs,
        frame: { data, width: img.width, height: img.height, channels: img.channels, bgr: img.order === 'BGR' },
        files: files.flatMap((f): ArchiveWriteRequest['files'] => {
          if (!f.box) return [{ name: f.name, png: f.png }];
          const box = clip(f.box, img.width, img.height);
          return box ? [{ name: f.name, box }] : [];
        }),
      };
      await this.writer.request(req);
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

  /**
   * Write one job in the archive's lane: jobs run one after another, never side by side, in the writer thread
   * (./archive-worker, at a lower CPU priority). Before, every file of several parts was encoded at once by sharp
   * on libuv's pool: the pool's four threads were all the archive's, the next part's inference queued behind them,
   * and the encoding's CPU and garbage lengthened the station's latency tail (the soak with `nok`). Now the archive
   * falls behind under load, up to `maxPending` parts, instead of holding up the parts behind it.
   */
  private run(job: ArchiveJob): Promise<void> {
    const mine = this.lane.then(async () => {
      try {
        await job.write();
      } catch (err) {
        throw new SpotFusionError('ARCHIVE', `archive: the images of ${job.resultId} could not be written: ${describeError(err)}`, { cause: err });
      }
    });
    // the next job waits for this one however it ends; its failure is the caller's (begin's onError, store's throw)
    this.lane = Promise.allSettled([mine]);
    return mine;
  }

  /** `bytes` of the buffer shared with the writer thread, grown when a frame is larger than any before */
  private shared(bytes: number): Uint8Array {
    if (!this.sharedBuf || this.sharedBuf.byteLength < bytes) this.sharedBuf = new SharedArrayBuffer(bytes);
    return new Uint8Array(this.sharedBuf, 0, bytes);
  }

  /** End the writer thread (after idle(): a part still being written fails with ARCHIVE). Never throws. */
  close(): Promise<void> {
    return this.writer.close();
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
