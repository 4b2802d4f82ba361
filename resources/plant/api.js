// Plant wizard, the server: the plant endpoints of nodes/shared/plant-admin.ts with the editor's login. The token
// is the one the Node-RED editor keeps (localStorage 'auth-tokens'); without one, and when adminAuth is on, the
// page asks for the editor's login (POST auth/token, as the editor does) and keeps the token the same way. No
// password is kept by the page: it goes to auth/token once, and what is kept is the session's token.
export const ROOT = document.documentElement.getAttribute('data-root') || '/';
const BASE = `${ROOT}spotfusion/plant/`;

export class LoginNeeded extends Error {}

export class ApiError extends Error {
  constructor(message, status, reply) {
    super(message);
    this.status = status;
    this.reply = reply || {};
  }
}

export function hasToken() {
  return Boolean(token());
}

function token() {
  const raw = window.localStorage.getItem('auth-tokens');
  if (!raw) return undefined;
  try {
    return JSON.parse(raw).access_token;
  } catch (err) {
    // not the editor's JSON: forget it and log in again
    window.localStorage.removeItem('auth-tokens');
    console.warn('plant wizard: unreadable auth-tokens dropped', err.message);
    return undefined;
  }
}

function headers(json) {
  const h = { 'Node-RED-API-Version': 'v2' };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

async function send(method, path, body) {
  const res = await fetch(BASE + path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 401) throw new LoginNeeded('log in to the Node-RED editor');
  return res;
}

/** JSON answer; a refusal becomes ApiError with the server's words and reply (problems for a 422) */
export async function call(method, path, body) {
  const res = await send(method, path, body);
  const type = res.headers.get('Content-Type') || '';
  const reply = type.startsWith('application/json') ? await res.json() : { error: (await res.text()).slice(0, 300) };
  if (!res.ok || reply.ok === false) throw new ApiError(reply.error || `${method} ${path}: HTTP ${res.status}`, res.status, reply);
  return reply;
}

/** an NDJSON answer (diff, deploy): `onEvent` for each line as it arrives */
export async function stream(path, body, onEvent) {
  const res = await send('POST', path, body);
  const type = res.headers.get('Content-Type') || '';
  if (!res.ok || !type.startsWith('application/x-ndjson')) {
    const reply = type.startsWith('application/json') ? await res.json() : { error: `HTTP ${res.status}` };
    throw new ApiError(reply.error || `POST ${path}: HTTP ${res.status}`, res.status, reply);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    rest += dec.decode(value || new Uint8Array(), { stream: !done });
    let nl;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (line) onEvent(JSON.parse(line));
    }
    if (done) break;
  }
}

/** the editor's login: what auth/login says it takes (nothing when adminAuth is off) */
export async function loginPrompts() {
  const res = await fetch(`${ROOT}auth/login`, { headers: { 'Node-RED-API-Version': 'v2' } });
  return res.ok ? res.json() : {};
}

export async function login(username, password) {
  const form = new URLSearchParams({ client_id: 'node-red-editor', grant_type: 'password', scope: '', username, password });
  const res = await fetch(`${ROOT}auth/token`, { method: 'POST', body: form });
  if (!res.ok) throw new ApiError(res.status === 401 || res.status === 403 ? 'user name or password wrong' : `login failed: HTTP ${res.status}`, res.status);
  const tokens = await res.json();
  window.localStorage.setItem('auth-tokens', JSON.stringify(tokens));
}

/** what this login may do here: its user (null without adminAuth) and whether it may save and run the actions */
export async function whoAmI() {
  return call('GET', 'me');
}
