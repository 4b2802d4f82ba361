/**
 * The simulator's frames rendered off the Node-RED event loop: a worker thread (./sim-render-worker) runs
 * renderFrame and hands the pixels back transferred, not copied. Rendering a 2448×2048 frame costs 150–400 ms of
 * CPU; on the main thread that stalled the PLC poll and the handshake of a station running on the simulator for
 * as long (and for seconds under coverage instrumentation). One worker per simulator source (../worker-client:
 * started at the first render, ended after IDLE_MS without one, as a frame pool renders only its first frames);
 * a worker that fails fails the renders it holds with SIMULATOR and the next render starts a new one.
 */
import { join } from 'node:path';
import { WorkerClient } from '../worker-client';
import type { RenderOptions, SimFrame } from './simulator';

/** what the worker answers: the frame with its pixels' ArrayBuffer (transferred) */
export type RenderedFrame = Omit<SimFrame, 'data'> & { data: ArrayBuffer };

/** ms without a render after which the worker ends */
export const IDLE_MS = 10_000;

export class SimRenderThread {
  private readonly client: WorkerClient<RenderOptions, RenderedFrame>;

  constructor(idleMs = IDLE_MS) {
    this.client = new WorkerClient({ file: join(__dirname, 'sim-render-worker.js'), code: 'SIMULATOR', label: 'simulator: render thread', idleMs });
  }

  async render(opts: RenderOptions): Promise<SimFrame> {
    const f = await this.client.request(opts);
    return { ...f, data: Buffer.from(f.data) };
  }

  /** whether a worker is running now (for tests) */
  get running(): boolean {
    return this.client.running;
  }

  /** End the worker; renders still waiting fail with SIMULATOR. Never throws. */
  close(): Promise<void> {
    return this.client.close();
  }
}
