/**
 * Who may see the dashboard, the image archive and the HTTP node routes: one gate for the express routes
 * (Node-RED's httpNodeAuth) and for Dashboard 2.0's socket.io, which Engine.IO attaches to the HTTP server
 * itself, in front of express and so outside httpNodeAuth.
 *
 * - a client whose address is one of the kiosk addresses (SPOTFUSION_KIOSK_ADDRESSES) passes without a login;
 * - anyone else needs the viewer login (basic auth, bcrypt hash) when one is set, else is refused (403).
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import bcrypt from 'bcryptjs';

export type GateVerdict = 'allow' | 'login' | 'forbidden';

export interface ViewerGateOptions {
  user: string;
  /** bcrypt hash of the viewer password; undefined: no login (kiosk addresses only) */
  passwordHash: string | undefined;
  /** IP addresses or CIDR ranges served without a login */
  kioskAddresses: readonly string[];
}

/** An address or CIDR range of SPOTFUSION_KIOSK_ADDRESSES, or undefined when it is neither. */
export function parseAddressRange(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const kind = isIP(m[1]);
  if (kind === 0) return undefined;
  const max = kind === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) return undefined;
  return { address: m[1], prefix, family: kind === 4 ? 'ipv4' : 'ipv6' };
}

/** A client's address as the kiosk list spells it (IPv4-mapped IPv6 addresses as plain IPv4). */
function plainAddress(addr: string | undefined): string | undefined {
  if (!addr) return undefined;
  return addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
}

/** user and password of a basic Authorization header, or undefined. */
function basicCredentials(header: string | undefined): { name: string; pass: string } | undefined {
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { name: text.slice(0, i), pass: text.slice(i + 1) };
}

const CACHE_MAX = 32;

export class ViewerGate {
  private readonly kiosks = new BlockList();
  private readonly hasKiosks: boolean;
  /** digests of credentials that matched the hash: the password cannot change without a restart */
  private readonly verified = new Set<string>();

  constructor(private readonly o: ViewerGateOptions) {
    for (const text of o.kioskAddresses) {
      const r = parseAddressRange(text);
      if (!r) throw new Error(`not an IP address or CIDR range: ${JSON.stringify(text)}`);
      this.kiosks.addSubnet(r.address, r.prefix, r.family);
    }
    this.hasKiosks = o.kioskAddresses.length > 0;
  }

  isKiosk(remoteAddress: string | undefined): boolean {
    const addr = plainAddress(remoteAddress);
    if (!this.hasKiosks || !addr) return false;
    const kind = isIP(addr);
    return kind !== 0 && this.kiosks.check(addr, kind === 4 ? 'ipv4' : 'ipv6');
  }

  async check(req: IncomingMessage): Promise<GateVerdict> {
    if (this.isKiosk(req.socket.remoteAddress)) return 'allow';
    if (!this.o.passwordHash) return 'forbidden';
    const cred = basicCredentials(req.headers.authorization);
    if (!cred || cred.name !== this.o.user) return 'login';
    const digest = createHash('sha256').update(`${cred.name}\0${cred.pass}`).digest('hex');
    if (this.verified.has(digest)) return 'allow';
    if (!(await bcrypt.compare(cred.pass, this.o.passwordHash))) return 'login';
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.add(digest);
    return 'allow';
  }

  /** Express middleware for Node-RED's httpNodeAuth. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (req.method === 'OPTIONS') return next();
    this.check(req).then(
      (verdict) => (verdict === 'allow' ? next() : refuseResponse(res, verdict)),
      (err: unknown) => next(err),
    );
  };
}

const REFUSAL: Record<Exclude<GateVerdict, 'allow'>, { status: number; text: string }> = {
  login: { status: 401, text: 'Unauthorized' },
  forbidden: { status: 403, text: 'Forbidden' },
};

function refuseResponse(res: ServerResponse, verdict: Exclude<GateVerdict, 'allow'>): void {
  const r = REFUSAL[verdict];
  const headers: Record<string, string> = { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' };
  if (verdict === 'login') headers['WWW-Authenticate'] = 'Basic realm="SpotFusion Edge"';
  res.writeHead(r.status, headers);
  res.end(`${r.text}\n`);
}

function refuseUpgrade(socket: Duplex, verdict: Exclude<GateVerdict, 'allow'>): void {
  const r = REFUSAL[verdict];
  const auth = verdict === 'login' ? 'WWW-Authenticate: Basic realm="SpotFusion Edge"\r\n' : '';
  socket.end(`HTTP/1.1 ${r.status} ${r.text}\r\n${auth}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Dashboard 2.0's socket.io (Engine.IO) path: <httpNodeRoot><ui-base path>/socket.io/ */
const SOCKET_IO = /\/socket\.io\/?$/;

const guarded = new WeakSet<object>();

/**
 * Put the gate in front of every Engine.IO request and WebSocket upgrade of the server (the dashboard's
 * socket.io): Engine.IO takes those events before express sees them, so httpNodeAuth never would. Wraps the
 * server's emit once, so it holds whatever attaches later.
 */
export function guardSocketIo(server: Server, gate: ViewerGate, onError: (err: unknown) => void): void {
  if (guarded.has(server)) return;
  guarded.add(server);
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = function guardedEmit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request' && event !== 'upgrade') return emit(event, ...args);
    const req = args[0] as IncomingMessage;
    const pathname = (req.url ?? '/').split('?')[0];
    if (!SOCKET_IO.test(pathname)) return emit(event, ...args);
    const socket = event === 'upgrade' ? (args[1] as Duplex) : undefined;
    socket?.on('error', onError);
    gate.check(req).then(
      (verdict) => {
        socket?.off('error', onError);
        if (verdict === 'allow') emit(event, ...args);
        else if (socket) refuseUpgrade(socket, verdict);
        else refuseResponse(args[1] as ServerResponse, verdict);
      },
      (err: unknown) => {
        onError(err);
        if (socket) socket.destroy();
        else refuseResponse(args[1] as ServerResponse, 'forbidden');
      },
    );
    return true;
  } as typeof server.emit;
}
