import { SpotFusionError, describeError } from '../errors';
import type { FlowNode } from './flow-check';

/** A small client of the Node-RED admin HTTP API (v2 flows), on Node's own fetch. */
export interface AdminAuth {
  user?: string;
  password?: string;
  token?: string;
}

export type DeploymentType = 'full' | 'nodes' | 'flows' | 'reload';

export class AdminClient {
  private token: string | undefined;
  readonly base: string;

  constructor(url: string, private readonly auth: AdminAuth = {}, private readonly timeoutMs = 15000) {
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      throw new SpotFusionError('USAGE', `--url ${JSON.stringify(url)} is not a URL (${describeError(err)})`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SpotFusionError('USAGE', `--url must be http(s), got ${u.protocol}`);
    this.base = u.toString().replace(/\/$/, '');
    this.token = auth.token;
  }

  private async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; text: string }> {
    const h: Record<string, string> = { Accept: 'application/json', ...headers };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SpotFusionError('UNREACHABLE', `${method} ${this.base}${path}: ${describeError((err as { cause?: unknown }).cause ?? err)}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch (parseErr) {
      json = { error: `not JSON: ${describeError(parseErr)}` };
    }
    return { status: res.status, json, text };
  }

  /** Log in with user/password (client node-red-admin) unless a token was given. */
  async login(): Promise<void> {
    if (this.token || !this.auth.user) return;
    const r = await this.call('POST', '/auth/token', {
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope: '*',
      username: this.auth.user,
      password: this.auth.password ?? '',
    });
    if (r.status !== 200) throw new SpotFusionError('AUTH', `login as ${this.auth.user} at ${this.base} failed: HTTP ${r.status}`);
    this.token = (r.json as { access_token?: string }).access_token;
  }

  private check(r: { status: number; text: string }, what: string): void {
    if (r.status === 401 || r.status === 403) {
      throw new SpotFusionError('AUTH', `${what}: HTTP ${r.status} — give --user with SPOTFUSION_DEPLOY_PASSWORD, or SPOTFUSION_DEPLOY_TOKEN`);
    }
    if (r.status >= 400) throw new SpotFusionError('HTTP', `${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  }

  async getFlows(): Promise<{ rev: string; flows: FlowNode[] }> {
    const r = await this.call('GET', '/flows', undefined, { 'Node-RED-API-Version': 'v2' });
    this.check(r, 'reading the flows');
    const body = r.json as { rev?: string; flows?: FlowNode[] };
    return { rev: body.rev ?? '', flows: body.flows ?? [] };
  }

  /** POST /flows with the rev read before; a 409 means someone deployed in between. */
  async deploy(flows: FlowNode[], rev: string, type: DeploymentType): Promise<string> {
    const r = await this.call('POST', '/flows', { rev, flows }, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': type });
    if (r.status === 409) {
      throw new SpotFusionError(
        'CONFLICT',
        `the flows at ${this.base} changed since they were read (rev ${rev}): someone deployed in between; run diff, then deploy again`,
      );
    }
    this.check(r, 'deploying');
    return (r.json as { rev?: string }).rev ?? '';
  }

  async health(): Promise<{ status: number; body: unknown }> {
    const r = await this.call('GET', '/spotfusion/health');
    if (r.status === 401 || r.status === 403 || r.status === 404) this.check(r, 'reading /spotfusion/health');
    return { status: r.status, body: r.json };
  }
}
