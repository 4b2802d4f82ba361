/**
 * Worker-thread entry of the image archive's writer (started by ImageArchive in ./archive through
 * ../worker-client): writes one part's PNG files per request, one file after the other, with png.ts in this
 * thread.
 *
 * The thread runs at a lower CPU priority (nice ARCHIVE_NICE; on Linux the nice value belongs to the thread, not to
 * the process). On a 2-core panel PC the archive of a NOK part (a 5-megapixel frame and its crops, ≈ 50 ms of CPU)
 * then takes the time the station's own work leaves: the PLC poll, grab, crop, inference and the handshake of the
 * next part go first, and the archive falls behind under load (up to the archive's maxPending parts) instead of
 * lengthening their latency. Its allocations and garbage collections are its own isolate's, not the event loop's.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writevSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { serveRequests } from '../worker-client';
import { RowScratch, pngParts, type PngBox, type PngSource } from '../vision/png';

/** nice value of the writer thread (0 normal … 19 lowest) */
export const ARCHIVE_NICE = 10;

export interface ArchiveWriteRequest {
  /** the part's folder (absolute), made when missing */
  dir: string;
  /** the raw frame the files are cut from */
  frame: PngSource;
  /** each file: the whole frame (no box, no png), a box of it, or PNG bytes made elsewhere */
  files: Array<{ name: string; box?: PngBox; png?: Uint8Array }>;
}

try {
  setPriority(ARCHIVE_NICE);
} catch (e) {
  // the archive still works at normal priority; the log says so once
  process.emitWarning(`archive: the writer thread's priority could not be lowered to nice ${ARCHIVE_NICE}: ${e instanceof Error ? e.message : String(e)}`);
}

const scratch = new RowScratch();

function writeParts(path: string, parts: Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    const total = parts.reduce((n, b) => n + b.length, 0);
    const written = writevSync(fd, parts);
    // a short write (rare on a file): the rest from where it stopped; writeFileSync goes on until all is written
    if (written < total) writeFileSync(fd, Buffer.concat(parts).subarray(written));
  } finally {
    closeSync(fd);
  }
}

serveRequests<ArchiveWriteRequest, { files: number }>('ARCHIVE', (req) => {
  mkdirSync(req.dir, { recursive: true });
  for (const f of req.files) writeParts(join(req.dir, f.name), f.png ? [f.png] : pngParts(req.frame, f.box, scratch));
  return { value: { files: req.files.length } };
});
