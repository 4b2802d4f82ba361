import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

/** mtime of a file in ms; 0 when it is not there (yet) */
export function mtimeOf(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
}

/**
 * Poll the mtimes of `files` every `intervalMs` and call onChange(changedFiles) when any differs from the
 * value seen before. The baseline is taken synchronously now, so a change made right after this call is not
 * missed (fs.watchFile takes its baseline later, asynchronously). A file that disappears is not a change; its
 * return is. The timer is unref'd; the returned function stops it.
 */
export function watchMtimes(files: readonly string[], intervalMs: number, onChange: (changed: string[]) => void): () => void {
  const seen = new Map(files.map((f) => [f, mtimeOf(f)]));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    Promise.all(files.map((f) => stat(f).then((s) => s.mtimeMs, () => 0)))
      .then((now) => {
        const changed = files.filter((f, i) => now[i] !== 0 && now[i] !== seen.get(f));
        files.forEach((f, i) => {
          if (now[i] !== 0) seen.set(f, now[i]);
        });
        if (changed.length) onChange(changed);
      })
      .finally(() => {
        busy = false;
      })
      .catch(() => undefined);
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
