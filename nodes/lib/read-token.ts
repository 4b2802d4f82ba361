import { createHash, timingSafeEqual } from 'node:crypto';
import { EnvError } from './runtime-config';

/**
 * The read-only monitoring token: `SPOTFUSION_READ_TOKEN` (one token, or several separated by commas while one
 * is being rotated out) lets a dashboard, Prometheus or a load balancer read /spotfusion/health and
 * /spotfusion/metrics under adminAuth with the permission `spotfusion.read` and nothing else (no flows, no
 * deploy, no editor). It does not expire after 7 days as a login does; `SPOTFUSION_READ_TOKEN_EXPIRES`
 * (an ISO date) sets an end when wanted. Rotate by changing the environment and restarting.
 */
export const READ_TOKEN_USER = 'spotfusion-monitor';
export const READ_TOKEN_PERMISSION = 'spotfusion.read';
/** shortest token accepted: a guessable token would open the station's health to anyone who can reach it */
export const READ_TOKEN_MIN_LENGTH = 32;

export interface ReadTokenUser {
  username: string;
  permissions: string[];
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * adminAuth.tokens for Node-RED (a function of the Bearer token), or undefined when no read token is set.
 * Throws EnvError for a token that is too short or an expiry that is not a date.
 */
export function readTokenAuth(env: NodeJS.ProcessEnv, now: () => number = Date.now): ((token: string) => Promise<ReadTokenUser | null>) | undefined {
  const raw = env.SPOTFUSION_READ_TOKEN;
  if (raw === undefined || raw.trim() === '') return undefined;
  const tokens = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  for (const [i, t] of tokens.entries()) {
    if (t.length < READ_TOKEN_MIN_LENGTH || /\s/.test(t)) {
      throw new EnvError([`SPOTFUSION_READ_TOKEN: token ${i + 1} must be at least ${READ_TOKEN_MIN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`]);
    }
  }
  const expiresRaw = env.SPOTFUSION_READ_TOKEN_EXPIRES;
  let expires: number | undefined;
  if (expiresRaw !== undefined && expiresRaw.trim() !== '') {
    expires = Date.parse(expiresRaw);
    if (!Number.isFinite(expires)) throw new EnvError([`SPOTFUSION_READ_TOKEN_EXPIRES: ${JSON.stringify(expiresRaw)} is not a date (use ISO 8601, e.g. 2027-06-30T00:00:00Z)`]);
  }
  const wanted = tokens.map(digest);
  return (token: string): Promise<ReadTokenUser | null> => {
    if (typeof token !== 'string' || token === '' || (expires !== undefined && now() >= expires)) return Promise.resolve(null);
    const got = digest(token);
    // compare against every token, always, in constant time per token
    let ok = false;
    for (const w of wanted) ok = timingSafeEqual(w, got) || ok;
    return Promise.resolve(ok ? { username: READ_TOKEN_USER, permissions: [READ_TOKEN_PERMISSION] } : null);
  };
}
