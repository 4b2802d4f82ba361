/**
 * Worker-thread entry of the GVSP stream (started by GvspThreadReceiver in ./gvsp-thread): the same assembler as
 * in-thread (GvspReceiver, ./gvsp) owns the stream socket here, off the Node-RED event loop. Complete frames go to
 * the main thread with their ArrayBuffer transferred (no copy); buffers the main thread does not keep come back the
 * same way into the pool, a few at a time (RELEASE_BATCH). Counters are written to a shared Float64Array (GVSP_STAT_KEYS order) before every message,
 * so the main thread reads them current when it handles one. PACKETRESEND ranges asked in one turn go to the main
 * thread (which owns the GVCP client) in one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../../errors';
import { GVSP_STAT_KEYS, GvspFrame, GvspReceiver, IncompleteInfo } from './gvsp';
import type { ToMain, ToWorker, WorkerInit } from './gvsp-thread';

/** ms an incomplete block waits for a frame to travel with (a software-triggered grab fails this much later at most) */
const INCOMPLETE_FLUSH_MS = 50;

function run(): void {
  const port = parentPort;
  if (!port) throw new Error('gvsp-worker must run in a worker thread');
  const init = workerData as WorkerInit;
  const shared = new Float64Array(init.stats);
  const post = (m: ToMain, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

  let ranges: number[] = [];
  const flushResends = (): void => {
    const r = ranges;
    ranges = [];
    post({ t: 'resend', ranges: r });
  };
  const rx = new GvspReceiver({
    ...init.opts,
    resend: init.resend
      ? (blockId, first, last) => {
          if (ranges.length === 0) queueMicrotask(flushResends);
          ranges.push(blockId, first, last);
        }
      : undefined,
  });
  const sync = (): void => {
    const s = rx.stats;
    for (let i = 0; i < GVSP_STAT_KEYS.length; i++) shared[i] = s[GVSP_STAT_KEYS[i]];
  };
  // the packet counter moves without frames (a stream of incomplete blocks, bad packets): keep it current anyway
  const ticker = setInterval(sync, 250);

  // incomplete blocks go to the main thread with the next frame, or INCOMPLETE_FLUSH_MS after the first if no frame
  // comes: under loss most blocks are incomplete, and a message for each would wake the main thread for each
  let incomplete: IncompleteInfo[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const takeIncomplete = (): IncompleteInfo[] | undefined => {
    if (incomplete.length === 0) return undefined;
    const out = incomplete;
    incomplete = [];
    clearTimeout(flushTimer);
    flushTimer = undefined;
    return out;
  };
  const flushIncomplete = (): void => {
    flushTimer = undefined;
    const infos = takeIncomplete();
    if (!infos) return;
    sync();
    post({ t: 'incomplete', infos });
  };
  rx.on('frame', (f: GvspFrame) => {
    sync();
    const ab = f.data.buffer as ArrayBuffer;
    const before = takeIncomplete();
    post({ t: 'frame', blockId: f.blockId, size: f.data.length, width: f.width, height: f.height, pixelFormat: f.pixelFormat, pixelFormatCode: f.pixelFormatCode, timestamp: f.timestamp, resent: f.resent, buf: ab, incomplete: before }, [ab]);
  });
  rx.on('incomplete', (info: IncompleteInfo) => {
    incomplete.push(info);
    flushTimer ??= setTimeout(flushIncomplete, INCOMPLETE_FLUSH_MS);
  });
  rx.on('unsupported', (name: string) => post({ t: 'unsupported', name }));
  rx.on('socket-error', (e: unknown) => post({ t: 'socket-error', message: describeError(e) }));

  port.on('message', (m: ToWorker) => {
    if (m.t === 'release') {
      for (const b of m.bufs) rx.release(Buffer.from(b));
    } else if (m.t === 'close') {
      clearInterval(ticker);
      flushIncomplete();
      void rx.close().then(() => {
        sync();
        post({ t: 'closed' });
        port.close();
      });
    }
  });

  rx.bind().then(
    (p) => post({ t: 'bound', port: p, recvBufferAsked: rx.recvBufferAsked, recvBufferBytes: rx.recvBufferBytes, recvBufferCapped: rx.recvBufferCapped, receivePath: rx.receivePath, receiveNote: rx.receiveNote, receiveMode: rx.receiveMode ?? 'dgram', ringError: rx.ringError }),
    (e: unknown) => {
      clearInterval(ticker);
      post({ t: 'bind-error', message: describeError(e) });
      void rx.close().then(() => port.close());
    },
  );
}

run();
