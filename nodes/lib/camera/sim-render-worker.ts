/**
 * Worker-thread entry of the simulator's renderer (started by SimRenderThread in ./sim-render): renders each
 * request with renderFrame and posts the frame back with its pixels' ArrayBuffer transferred.
 */
import { serveRequests } from '../worker-client';
import { renderFrame, type RenderOptions } from './simulator';
import type { RenderedFrame } from './sim-render';

serveRequests<RenderOptions, RenderedFrame>('SIMULATOR', (opts) => {
  const f = renderFrame(opts);
  // a buffer of its own to transfer (a small Buffer may sit in Node's shared allocation pool)
  const own = f.data.byteOffset === 0 && f.data.buffer.byteLength === f.data.length ? (f.data.buffer as ArrayBuffer) : new Uint8Array(f.data).buffer;
  return { value: { ...f, data: own }, transfer: [own] };
});
