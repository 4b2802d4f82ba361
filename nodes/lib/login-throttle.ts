/**
 * Login throttling by client address, in front of Node-RED's token route (POST <httpAdminRoot>/auth/token).
 *
 * Node-RED itself counts attempts per user name (more than 5 in 10 minutes and even the right password gets
 * "Too many login attempts"), so anyone who reaches the port can lock the owner out. This middleware
 * (settings.httpAdminMiddleware, which runs before Node-RED's body parsers and token route) checks the
 * password of a password grant itself: a wrong one is answered here (403 invalid_grant, as Node-RED does), logged without the password and
 * counted in spotfusion_login_failures_total, and never reaches Node-RED's per-user count; the right one
 * goes on to Node-RED, which issues the token. An address that keeps failing waits, with a delay that
 * doubles after each failure past the first few (429 + Retry-After); other addresses are not affected.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import bcrypt from 'bcryptjs';
import { Counter } from 'prom-client';
import { registry } from './metrics';

export const loginFailures = new Counter({
  name: 'spotfusion_login_failures_total',
  help: 'Refused admin logins (POST /auth/token) by reason: password (wrong user or password) or throttled (address waiting)',
  labelNames: ['reason'],
  registers: [registry],
});

export interface LoginThrottleOptions {
  user: string;
  passwordHash: string;
  /** failures of one address before it has to wait (default 5) */
  freeAttempts?: number;
  /** the first wait in ms, doubled after each further failure (default 1000) */
  baseMs?: number;
  /** the longest wait in ms (default 15 minutes) */
  maxMs?: number;
  now?: () => number;
}

export interface LoginEvent {
  reason: 'password' | 'throttled';
  address: string;
  username: string;
  failures: number;
  retryAfterMs: number;
}

interface AddressState {
  failures: number;
  until: number;
  last: number;
}

type Req = IncomingMessage & { body?: unknown; _body?: boolean };

const MAX_BODY = 64 * 1024;
const MAX_ADDRESSES = 10_000;

function clientAddress(req: IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** The form or JSON body of the token request (what Node-RED's body parsers would make of it), or undefined. */
function readForm(req: Req): Promise<Record<string, unknown> | undefined> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/x-www-form-urlencoded') return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('login request body too large'));
      else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (type === 'application/x-www-form-urlencoded') {
        resolve(Object.fromEntries(new URLSearchParams(text)));
        return;
      }
      try {
        const v: unknown = text === '' ? {} : JSON.parse(text);
        resolve(v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

export class LoginThrottle {
  private readonly byAddress = new Map<string, AddressState>();
  private readonly free: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;
  /** where refusals are logged: Node-RED's log once the package's nodes load (attachLog), stderr before */
  private log: (e: LoginEvent) => void = (e) => process.stderr.write(`${describeLoginEvent(e)}\n`);

  constructor(private readonly o: LoginThrottleOptions) {
    this.free = o.freeAttempts ?? 5;
    this.baseMs = o.baseMs ?? 1000;
    this.maxMs = o.maxMs ?? 15 * 60_000;
    this.now = o.now ?? Date.now;
  }

  attachLog(log: (e: LoginEvent) => void): void {
    this.log = log;
  }

  /** ms the address still has to wait before its next attempt (0: none). */
  waitMs(address: string): number {
    const s = this.byAddress.get(address);
    return s ? Math.max(0, s.until - this.now()) : 0;
  }

  private failed(address: string): AddressState {
    const now = this.now();
    if (this.byAddress.size >= MAX_ADDRESSES) {
      // forget the addresses that are not waiting, then the oldest ones
      for (const [a, s] of this.byAddress) if (s.until <= now) this.byAddress.delete(a);
      for (const a of this.byAddress.keys()) {
        if (this.byAddress.size < MAX_ADDRESSES) break;
        this.byAddress.delete(a);
      }
    }
    const s = this.byAddress.get(address) ?? { failures: 0, until: 0, last: now };
    // a quiet address (no failure for the longest wait) starts again
    if (now - s.last > this.maxMs) s.failures = 0;
    s.failures += 1;
    s.last = now;
    const over = s.failures - this.free;
    s.until = over > 0 ? now + Math.min(this.maxMs, this.baseMs * 2 ** Math.min(over - 1, 30)) : 0;
    this.byAddress.delete(address); // re-insert: the map stays in order of last failure
    this.byAddress.set(address, s);
    return s;
  }

  private refuse(res: ServerResponse, e: LoginEvent): void {
    loginFailures.inc({ reason: e.reason });
    this.log(e);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
    if (e.retryAfterMs > 0) headers['Retry-After'] = String(Math.ceil(e.retryAfterMs / 1000));
    const body =
      e.reason === 'throttled'
        ? { error: 'too_many_attempts', error_description: `too many failed logins from this address; try again in ${Math.ceil(e.retryAfterMs / 1000)} s` }
        : { error: 'invalid_grant', error_description: 'Invalid resource owner credentials' };
    res.writeHead(e.reason === 'throttled' ? 429 : 403, headers);
    res.end(JSON.stringify(body));
  }

  /** settings.httpAdminMiddleware */
  readonly middleware = (req: Req, res: ServerResponse, next: (err?: unknown) => void): void => {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/auth/token' || req._body) return next();
    readForm(req)
      .then(async (form) => {
        if (form === undefined) return next();
        req.body = form;
        req._body = true; // Node-RED's body parsers leave a parsed body alone
        if (form.grant_type !== 'password') return next();
        const address = clientAddress(req);
        const username = typeof form.username === 'string' ? form.username.slice(0, 64) : '';
        const wait = this.waitMs(address);
        const failures = this.byAddress.get(address)?.failures ?? 0;
        if (wait > 0) return this.refuse(res, { reason: 'throttled', address, username, failures, retryAfterMs: wait });
        const password = typeof form.password === 'string' ? form.password : '';
        const ok = username === this.o.user && (await bcrypt.compare(password, this.o.passwordHash));
        if (ok) {
          this.byAddress.delete(address);
          return next();
        }
        const s = this.failed(address);
        return this.refuse(res, { reason: 'password', address, username, failures: s.failures, retryAfterMs: Math.max(0, s.until - this.now()) });
      })
      .catch((err: unknown) => next(err));
  };
}

/** One log line for a refused login: address, user name, count; never the password. */
export function describeLoginEvent(e: LoginEvent): string {
  const wait = e.retryAfterMs > 0 ? `; this address waits ${Math.ceil(e.retryAfterMs / 1000)} s` : '';
  const what = e.reason === 'throttled' ? 'login refused (address throttled)' : 'login failed (wrong user name or password)';
  return `${what}: user ${JSON.stringify(e.username)} from ${e.address}, ${e.failures} failure(s)${wait}`;
}
