/**
 * The GVSP stream off the Node-RED event loop: a worker thread (./gvsp-worker) owns the stream socket and runs the
 * assembler (GvspReceiver, ./gvsp — the one copy of the protocol code), so the main thread gets one message per
 * frame instead of one event per packet. Same surface as GvspReceiver for the camera: 'frame' (its data is the
 * worker's buffer, transferred, not copied), 'incomplete', 'unsupported', 'socket-error' (also for a worker that
 * failed or exited), stats, bind(), release(), close().
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { SpotFusionError } from '../../errors';
import { checkReceiverOptions, GVSP_STAT_KEYS, GvspFrame, GvspReceiverOptions, GvspStats, IncompleteInfo, recvBufferFor } from './gvsp';
import { chooseReceivePath, ReceivePath } from './stream-socket';

/** the receiver options that cross to the worker (everything but the resend callback) */
export type WorkerOptions = Omit<GvspReceiverOptions, 'resend'>;

export interface WorkerInit {
  opts: WorkerOptions;
  /** whether to ask lost packets again (the ranges come back in 'resend' messages) */
  resend: boolean;
  /** Float64Array of GVSP_STAT_KEYS.length counters, written by the worker */
  stats: SharedArrayBuffer;
}

export type ToMain =
  | { t: 'bound'; port: number; recvBufferAsked: number; recvBufferBytes: number; recvBufferCapped: boolean; receivePath: ReceivePath; receiveNote?: string; receiveMode: 'ring' | 'recvmmsg' | 'dgram'; ringError?: string }
  | { t: 'bind-error'; message: string }
  /** `incomplete`: blocks reported incomplete since the last message, in order, before this frame */
  | { t: 'frame'; blockId: number; size: number; width: number; height: number; pixelFormat: string; pixelFormatCode: number; timestamp: bigint; resent: number; buf: ArrayBuffer; incomplete?: IncompleteInfo[] }
  | { t: 'incomplete'; infos: IncompleteInfo[] }
  | { t: 'unsupported'; name: string }
  | { t: 'socket-error'; message: string }
  /** flat (blockId, first, last) triples */
  | { t: 'resend'; ranges: number[] }
  | { t: 'closed' };

export type ToWorker = { t: 'release'; bufs: ArrayBuffer[] } | { t: 'close' };

/**
 * Released buffers go back to the worker this many at a time: each message wakes the stream thread, which on a
 * virtual machine costs more than receiving a frame's packets. The worker's pool (default 8) has room for them.
 */
export const RELEASE_BATCH = 4;

/** ms close() waits for the worker to close its socket before it is terminated */
const CLOSE_WAIT_MS = 1000;

export class GvspThreadReceiver extends EventEmitter {
  /** the stream thread (tests end it to see a failure handled) */
  readonly worker: Worker;
  private readonly shared: Float64Array;
  private readonly maxPayload: number;
  private closing: Promise<void> | undefined;
  /** buffers released since the last batch went back to the worker */
  private released: ArrayBuffer[] = [];
  private exited = false;
  private boundPort = 0;
  private bound: Promise<number>;
  recvBufferAsked: number;
  recvBufferBytes = 0;
  recvBufferCapped = false;
  /** the worker's receive path ('native': batched recvmmsg addon; 'dgram'), known once bound */
  receivePath: ReceivePath | undefined;
  /** why 'auto' fell back to dgram, if it did */
  receiveNote: string | undefined;
  /** 'ring' (packet ring), 'recvmmsg' or 'dgram', known once bound; and why not the ring, when it was tried */
  receiveMode: 'ring' | 'recvmmsg' | 'dgram' | undefined;
  ringError: string | undefined;

  constructor(opts: GvspReceiverOptions) {
    super();
    // the assembler's checks, here so that a bad option fails the caller at once, not the worker later
    checkReceiverOptions(opts);
    chooseReceivePath(opts.receivePath === 'auto' ? undefined : opts.receivePath);
    this.maxPayload = opts.maxPayload;
    this.recvBufferAsked = opts.recvBufferBytes ?? recvBufferFor(opts.maxPayload);
    const sab = new SharedArrayBuffer(GVSP_STAT_KEYS.length * 8);
    this.shared = new Float64Array(sab);
    const { resend, ...rest } = opts;
    const given = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as WorkerOptions;
    const init: WorkerInit = { opts: given, resend: resend !== undefined, stats: sab };
    this.worker = new Worker(join(__dirname, 'gvsp-worker.js'), { workerData: init });
    let settle: { resolve: (p: number) => void; reject: (e: Error) => void } | undefined;
    this.bound = new Promise<number>((resolve, reject) => (settle = { resolve, reject }));
    // nobody may await bind() (a camera closed before it): never an unhandled rejection
    this.bound.catch(() => undefined);
    this.worker.on('message', (m: ToMain) => {
      switch (m.t) {
        case 'frame': {
          if (m.incomplete) for (const i of m.incomplete) this.emit('incomplete', i);
          const f: GvspFrame = {
            blockId: m.blockId,
            data: Buffer.from(m.buf, 0, m.size),
            width: m.width,
            height: m.height,
            pixelFormat: m.pixelFormat,
            pixelFormatCode: m.pixelFormatCode,
            timestamp: m.timestamp,
            resent: m.resent,
          };
          this.emit('frame', f);
          break;
        }
        case 'incomplete':
          for (const i of m.infos) this.emit('incomplete', i);
          break;
        case 'resend':
          for (let i = 0; i + 2 < m.ranges.length; i += 3) resend?.(m.ranges[i], m.ranges[i + 1], m.ranges[i + 2]);
          break;
        case 'unsupported':
          this.emit('unsupported', m.name);
          break;
        case 'socket-error':
          this.emit('socket-error', new SpotFusionError('NETWORK', m.message));
          break;
        case 'bound':
          this.boundPort = m.port;
          this.recvBufferAsked = m.recvBufferAsked;
          this.recvBufferBytes = m.recvBufferBytes;
          this.recvBufferCapped = m.recvBufferCapped;
          this.receivePath = m.receivePath;
          this.receiveNote = m.receiveNote;
          this.receiveMode = m.receiveMode;
          this.ringError = m.ringError;
          settle?.resolve(m.port);
          break;
        case 'bind-error':
          settle?.reject(new SpotFusionError('NETWORK', `stream socket: ${m.message}`));
          break;
        case 'closed':
          break;
      }
    });
    this.worker.on('error', (e: Error) => {
      // an exception in the worker: the stream is gone; the camera treats it as a lost socket
      const err = new SpotFusionError('NETWORK', `stream worker failed: ${e.message}`, { cause: e });
      settle?.reject(err);
      if (!this.closing) this.emit('socket-error', err);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      const err = new SpotFusionError('NETWORK', `stream worker exited (code ${code})`);
      settle?.reject(err);
      if (!this.closing) this.emit('socket-error', err);
    });
  }

  /** Resolves with the stream socket's port once the worker bound it. */
  bind(): Promise<number> {
    return this.bound;
  }

  get port(): number {
    return this.boundPort;
  }

  /** the worker's counters, as of its last frame, incomplete block or 250 ms tick */
  get stats(): GvspStats {
    const s = {} as GvspStats;
    for (let i = 0; i < GVSP_STAT_KEYS.length; i++) s[GVSP_STAT_KEYS[i]] = this.shared[i];
    return s;
  }

  /**
   * Hand a delivered frame's buffer back to the worker's pool. Its memory moves at once (ArrayBuffer.transfer: `buf`
   * is empty afterwards, so nothing can read a frame the worker will overwrite) and reaches the worker with the
   * next RELEASE_BATCH - 1 released after it.
   */
  release(buf: Buffer): void {
    if (this.closing || this.exited) return;
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || ab.byteLength !== this.maxPayload || buf.byteOffset !== 0) return;
    this.released.push(ab.transfer());
    if (this.released.length < RELEASE_BATCH) return;
    const bufs = this.released;
    this.released = [];
    const m: ToWorker = { t: 'release', bufs };
    this.worker.postMessage(m, bufs);
  }

  /** Close the worker's socket and end the worker: at most CLOSE_WAIT_MS, then it is terminated. Never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.exited) return;
      const gone = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      let timer: NodeJS.Timeout | undefined;
      try {
        const m: ToWorker = { t: 'close' };
        this.worker.postMessage(m);
      } catch (e) {
        this.emit('close-warning', e);
      }
      await Promise.race([gone, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
      // the worker ends by itself once its port is closed; terminate() makes sure (and ends a stuck one)
      await this.worker.terminate();
    })();
    return this.closing;
  }
}
