/**
 * The GVSP stream socket, receive side only, in two forms with one surface for the assembler (GvspReceiver, ./gvsp):
 * - 'native': the package's addon (native/gvsp_rx.c, built at install by scripts/build-native.cjs), watched from
 *   this thread's event loop. Where the process has CAP_NET_RAW it reads the stream from an AF_PACKET receive ring
 *   (mode 'ring', as aravis does: no system call per packet); otherwise it moves up to BATCH datagrams per
 *   recvmmsg(2) (mode 'recvmmsg'). Either way packets land in one buffer of BATCH slots and the assembler reads
 *   each there: one callback per batch, no allocation per packet.
 * - 'dgram': Node's dgram, one 'message' event and one Buffer per datagram. Always available; used when the addon
 *   is not built (not Linux, no compiler at install) or when SPOTFUSION_GVSP_RECEIVE=dgram asks for it.
 * Packets reach the handler as (buffer, offset, length): the bytes are valid only during the call.
 */
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SpotFusionError, describeError } from '../../errors';

export type ReceivePath = 'native' | 'dgram';
export type PacketHandler = (buf: Buffer, offset: number, length: number) => void;

export interface StreamSocket {
  readonly path: ReceivePath;
  /** native only, once bound: 'ring' (packet ring) or 'recvmmsg', and why not the ring when it was asked */
  readonly mode?: 'ring' | 'recvmmsg';
  readonly ringError?: string;
  /** Bind to an ephemeral port on `address`; resolves with the port and SO_RCVBUF as the OS reports it. */
  bind(address: string): Promise<{ port: number; recvBufferBytes: number }>;
  close(): Promise<void>;
}

interface Addon {
  open(
    address: string,
    recvBufferBytes: number,
    buffer: Uint8Array,
    slotSize: number,
    lengths: Int32Array,
    onBatch: (n: number, message?: string) => void,
    coalesceMs?: number,
    ringBytes?: number,
  ): { handle: object; port: number; recvBufferBytes: number; mode: 'ring' | 'recvmmsg'; ringError?: string };
  close(handle: object): void;
}

/** datagrams per recvmmsg(2) */
export const BATCH = 64;
/**
 * ms between two looks at the stream: recvmmsg leaves an emptied socket alone this long, the packet ring hands over
 * a block of packets after this long at most. Waking the stream thread costs more than receiving a packet (on this
 * project's virtual machines ~80 µs a wake, ~1 µs a packet): one wake per 2 ms takes a burst of packets instead of
 * two or three (512×512 frames at 200 fps: 2.4 wakes a frame instead of 4.5 with 1 ms, ~40 per frame without).
 * A frame completes at most this much later; the receive buffer or ring (sized from the frame) holds what arrives
 * meanwhile (2.5 MB at 10 Gbit/s).
 */
export const COALESCE_MS = 2;
/** IP (20) + UDP (8) header bytes: a GVSP packet of `packetSize` bytes is a datagram of packetSize - 28 */
const IP_UDP = 28;
const ADDON_FILE = join('build', 'Release', 'spotfusion_gvsp.node');

let addon: { mod?: Addon; error?: string } | undefined;

/** The addon, or why it is not there (looked up once, under the package root: the first folder up with a package.json). */
export function gvspAddon(): { mod?: Addon; error?: string } {
  if (addon) return addon;
  let dir = __dirname;
  for (let i = 0; i < 8 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  const file = join(dir, ADDON_FILE);
  if (process.platform !== 'linux') addon = { error: 'batched receive (recvmmsg) is Linux-only' };
  else if (!existsSync(file)) addon = { error: `${file} is not built (npm rebuild builds it; see docs/CAMERA.md)` };
  else {
    try {
      const m = { exports: {} as Addon };
      process.dlopen(m, file);
      addon = { mod: m.exports };
    } catch (e) {
      addon = { error: `${file} does not load: ${describeError(e)}` };
    }
  }
  return addon;
}

/**
 * Which path a receiver takes: `asked` (or SPOTFUSION_GVSP_RECEIVE: auto | native | dgram) — 'auto' is the addon
 * when it loads, else dgram; 'native' without the addon is a CONFIG error (a test or a bench that means it).
 */
export function chooseReceivePath(asked: string | undefined = process.env.SPOTFUSION_GVSP_RECEIVE): { path: ReceivePath; note?: string } {
  const want = asked === undefined || asked === '' ? 'auto' : asked;
  if (want !== 'auto' && want !== 'native' && want !== 'dgram') throw new SpotFusionError('CONFIG', `GVSP receive path "${want}" is not one of auto, native, dgram`);
  if (want === 'dgram') return { path: 'dgram' };
  const a = gvspAddon();
  if (a.mod) return { path: 'native' };
  if (want === 'native') throw new SpotFusionError('CONFIG', `GVSP receive path native asked, but the addon is not available: ${a.error}`);
  return { path: 'dgram', note: `GigE stream on Node's dgram (more CPU per frame): ${a.error}` };
}

class DgramStreamSocket implements StreamSocket {
  readonly path = 'dgram' as const;
  private readonly socket: dgram.Socket;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly recvBufferBytes: number,
    onPacket: PacketHandler,
    private readonly onError: (e: unknown) => void,
  ) {
    this.socket = dgram.createSocket({ type: 'udp4', recvBufferSize: recvBufferBytes });
    this.socket.on('message', (m) => onPacket(m, 0, m.length));
    this.socket.on('error', (e) => onError(e));
  }

  bind(address: string): Promise<{ port: number; recvBufferBytes: number }> {
    return new Promise((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      this.socket.once('error', onErr);
      this.socket.bind({ port: 0, address, exclusive: true }, () => {
        this.socket.removeListener('error', onErr);
        try {
          this.socket.setRecvBufferSize(this.recvBufferBytes);
        } catch (e) {
          this.onError(e);
        }
        resolve({ port: this.socket.address().port, recvBufferBytes: this.socket.getRecvBufferSize() });
      });
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch (e) {
        this.onError(e);
        resolve();
      }
    });
    return this.closed;
  }
}

class NativeStreamSocket implements StreamSocket {
  readonly path = 'native' as const;
  mode: 'ring' | 'recvmmsg' | undefined;
  ringError: string | undefined;
  private handle: object | undefined;
  private closed = false;
  private readonly buffer: Buffer;
  private readonly lengths = new Int32Array(BATCH);
  /** bytes per slot: the negotiated packet's datagram, so a longer one (not this stream's) is cut and counted bad */
  private readonly slot: number;

  constructor(
    private readonly mod: Addon,
    packetSize: number,
    private readonly recvBufferBytes: number,
    private readonly onPacket: PacketHandler,
    private readonly onError: (e: unknown) => void,
    /** try the packet ring (of recvBufferBytes) first */
    private readonly ring: boolean,
  ) {
    this.slot = Math.max(64, packetSize - IP_UDP);
    this.buffer = Buffer.alloc(BATCH * this.slot);
  }

  private onBatch(n: number, message?: string): void {
    if (this.closed) return;
    if (n < 0) {
      this.onError(new SpotFusionError('NETWORK', message ?? 'stream socket failed'));
      return;
    }
    const { buffer, lengths, slot } = this;
    // a datagram longer than a slot comes as length -1: the assembler sees it too short and counts it bad
    for (let i = 0; i < n && !this.closed; i++) this.onPacket(buffer, i * slot, lengths[i] < 0 ? 0 : lengths[i]);
  }

  bind(address: string): Promise<{ port: number; recvBufferBytes: number }> {
    try {
      const r = this.mod.open(address, this.recvBufferBytes, this.buffer, this.slot, this.lengths, (n, m) => this.onBatch(n, m), COALESCE_MS, this.ring ? this.recvBufferBytes : 0);
      this.handle = r.handle;
      this.mode = r.mode;
      this.ringError = r.ringError;
      if (this.closed) this.mod.close(r.handle);
      return Promise.resolve({ port: r.port, recvBufferBytes: r.recvBufferBytes });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(describeError(e)));
    }
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const h = this.handle;
      this.handle = undefined;
      if (h) this.mod.close(h);
    }
    // the fd closes with the poll handle, on this loop's next turn
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A stream socket on `path` (from chooseReceivePath) for GVSP packets of `packetSize` bytes (IP and UDP included).
 * `ring` (default: unless SPOTFUSION_GVSP_RING=0): on the native path, try the packet ring before recvmmsg.
 */
export function createStreamSocket(
  path: ReceivePath,
  packetSize: number,
  recvBufferBytes: number,
  onPacket: PacketHandler,
  onError: (e: unknown) => void,
  ring: boolean | undefined = undefined,
): StreamSocket {
  ring ??= process.env.SPOTFUSION_GVSP_RING !== '0';
  if (path === 'native') {
    const mod = gvspAddon().mod;
    if (!mod) throw new SpotFusionError('CONFIG', `GVSP receive path native: ${gvspAddon().error}`);
    return new NativeStreamSocket(mod, packetSize, recvBufferBytes, onPacket, onError, ring);
  }
  return new DgramStreamSocket(recvBufferBytes, onPacket, onError);
}
