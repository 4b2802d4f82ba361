/**
 * A worker thread that does one kind of heavy work off the Node-RED event loop and answers requests in the order
 * they came (the simulator's renderer, the image archive's PNG writer). Started at the first request, ended after
 * `idleMs` without one (its heap is not kept for nothing); a worker that fails or exits fails the requests it
 * holds with `code` and the next request starts a new one. Buffers go to the worker and come back transferred
 * where the caller lists them, otherwise copied.
 *
 * The worker's entry module calls serveRequests with its handler.
 */
import { Worker, parentPort } from 'node:worker_threads';
import { SpotFusionError, describeError } from './errors';

type Request<Q> = { id: number; req: Q };
type Reply<R> = { id: number; value: R } | { id: number; error: { code: string; message: string } };

export interface WorkerClientOptions {
  /** the worker's entry module (a .js file of dist/) */
  file: string;
  /** the error code of a failed or closed worker, and of a handler error without its own code */
  code: string;
  /** names the worker in its errors: "<label> failed: …", "<label> exited (code 1)", "<label> is closed" */
  label: string;
  /** ms without a request after which the worker ends */
  idleMs: number;
}

export class WorkerClient<Q, R> {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly o: WorkerClientOptions) {}

  /** Hand one request to the worker; `transfer` lists buffers that move to it instead of being copied. */
  request(req: Q, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.closed) return Promise.reject(new SpotFusionError(this.o.code, `${this.o.label} is closed`));
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const w = this.worker ?? this.start();
    const id = this.next++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // a worker with work keeps the process alive; an idle one does not
      w.ref();
      const m: Request<Q> = { id, req };
      w.postMessage(m, transfer);
    });
  }

  private start(): Worker {
    const w = new Worker(this.o.file);
    this.worker = w;
    w.on('message', (m: Reply<R>) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) {
        w.unref();
        this.idle = setTimeout(() => this.retire(w), this.o.idleMs);
        this.idle.unref();
      }
      if ('error' in m) p.reject(new SpotFusionError(m.error.code, m.error.message));
      else p.resolve(m.value);
    });
    const lost = (why: string): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const err = new SpotFusionError(this.o.code, `${this.o.label} ${why}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', (e: Error) => lost(`failed: ${e.message}`));
    w.on('exit', (code) => lost(`exited (code ${code})`));
    w.unref();
    return w;
  }

  /** an idle worker ends; the next request starts another */
  private retire(w: Worker): void {
    this.idle = undefined;
    if (this.worker !== w || this.pending.size) return;
    this.worker = undefined;
    // its exit listener sees it is no longer the worker and fails nothing (nothing is pending)
    w.terminate().catch(() => undefined);
  }

  /** whether a worker is running now */
  get running(): boolean {
    return this.worker !== undefined;
  }

  /** requests handed over and not answered yet */
  get waiting(): number {
    return this.pending.size;
  }

  /** End the worker; requests still waiting fail with `code`. Never throws. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    const w = this.worker;
    if (!w) return;
    w.removeAllListeners('message');
    // the exit listener fails what is pending; an error during terminate still has its listener
    await w.terminate().catch(() => undefined);
  }
}

/**
 * In a worker's entry module: answer every request with the handler's value (and the buffers of it to transfer),
 * or with its error (the error's own code when it is a SpotFusionError, else `code`).
 */
export function serveRequests<Q, R>(code: string, handler: (req: Q) => { value: R; transfer?: ArrayBuffer[] }): void {
  const port = parentPort;
  if (!port) throw new Error('serveRequests must run in a worker thread');
  port.on('message', (m: Request<Q>) => {
    let reply: Reply<R>;
    let transfer: ArrayBuffer[] = [];
    try {
      const out = handler(m.req);
      reply = { id: m.id, value: out.value };
      transfer = out.transfer ?? [];
    } catch (e) {
      reply = { id: m.id, error: { code: e instanceof SpotFusionError ? e.code : code, message: e instanceof Error ? e.message : describeError(e) } };
    }
    port.postMessage(reply, transfer);
  });
}
