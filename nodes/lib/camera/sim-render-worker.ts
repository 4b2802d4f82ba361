/**
 * Worker-thread entry of the simulator's renderer (started by SimRenderThread in ./sim-render): renders each
 * request with renderFrame and posts the frame back with its pixels' ArrayBuffer transferred.
 */
import { parentPort } from 'node:worker_threads';
import { describeError, SpotFusionError } from '../errors';
import { renderFrame } from './simulator';
import type { RenderReply, RenderRequest } from './sim-render';

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('sim-render-worker must run in a worker thread');
  port.on('message', (m: RenderRequest) => {
    let reply: RenderReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const f = renderFrame(m.opts);
      // a buffer of its own to transfer (a small Buffer may sit in Node's shared allocation pool)
      const own = f.data.byteOffset === 0 && f.data.buffer.byteLength === f.data.length ? (f.data.buffer as ArrayBuffer) : new Uint8Array(f.data).buffer;
      reply = { id: m.id, frame: { ...f, data: own } };
      transfer = [own];
    } catch (e) {
      reply = { id: m.id, error: { code: e instanceof SpotFusionError ? e.code : 'SIMULATOR', message: e instanceof Error ? e.message : describeError(e) } };
    }
    port.postMessage(reply, transfer);
  });
}

run();
