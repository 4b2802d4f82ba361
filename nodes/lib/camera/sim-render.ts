/**
 * The simulator's frames rendered off the Node-RED event loop: a worker thread (./sim-render-worker) runs
 * renderFrame and hands the pixels back transferred, not copied. Rendering a 2448×2048 frame costs 150–400 ms of
 * CPU; on the main thread that stalled the PLC poll and the handshake of a station running on the simulator for
 * as long (and for seconds under coverage instrumentation). One worker per simulator source, started at the first
 * render and ended after IDLE_MS without one (a frame pool renders only its first frames: the worker's heap is not
 * kept for nothing); a worker that fails fails the renders it holds with SIMULATOR and the next render starts a
 * new one.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SpotFusionError } from '../errors';
import type { RenderOptions, SimFrame } from './simulator';

export type RenderRequest = { id: number; opts: RenderOptions };
export type RenderReply = { id: number; frame: Omit<SimFrame, 'data'> & { data: ArrayBuffer } } | { id: number; error: { code: string; message: string } };

/** ms without a render after which the worker ends */
export const IDLE_MS = 10_000;

export class SimRenderThread {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (f: SimFrame) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly idleMs = IDLE_MS) {}

  render(opts: RenderOptions): Promise<SimFrame> {
    if (this.closed) return Promise.reject(new SpotFusionError('SIMULATOR', 'simulator: the source is closed'));
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const w = this.worker ?? this.start();
    const id = this.next++;
    return new Promise<SimFrame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      const m: RenderRequest = { id, opts };
      w.postMessage(m);
    });
  }

  private start(): Worker {
    const w = new Worker(join(__dirname, 'sim-render-worker.js'));
    this.worker = w;
    w.on('message', (m: RenderReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) {
        w.unref();
        this.idle = setTimeout(() => this.retire(w), this.idleMs);
        this.idle.unref();
      }
      if ('error' in m) p.reject(new SpotFusionError(m.error.code, m.error.message));
      else p.resolve({ ...m.frame, data: Buffer.from(m.frame.data) });
    });
    const lost = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const err = new SpotFusionError('SIMULATOR', `simulator: render thread ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (e: Error) => lost(`failed: ${e.message}`));
    w.on('exit', (code) => lost(`exited (code ${code})`));
    w.unref();
    return w;
  }

  /** an idle worker ends; the next render starts another */
  private retire(w: Worker): void {
    this.idle = undefined;
    if (this.worker !== w || this.pending.size) return;
    this.worker = undefined;
    w.terminate().catch(() => undefined);
  }

  /** whether a worker is running now (for tests) */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** End the worker; renders still waiting fail with SIMULATOR. Never throws. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const w = this.worker;
    if (!w) return;
    w.removeAllListeners('message');
    // the exit listener fails what is pending; an error during terminate has its listener still
    await w.terminate().catch(() => undefined);
  }
}
