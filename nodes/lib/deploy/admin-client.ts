import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SpotFusionError, describeError } from '../errors';
import type { FlowNode } from './flow-check';

/**
 * TLS of an https:// station: the server's certificate is always verified (chain and host name), against
 * `ca` (PEM: the plant's CA) when given, else Node's CA store; cert/key: a client certificate for a station
 * that asks for one (SPOTFUSION_TLS_CA on the station).
 */
export interface AdminTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** A small client of the Node-RED admin HTTP API (v2 flows), on Node's http/https. */
export interface AdminAuth {
  user?: string;
  password?: string;
  token?: string;
}

export type DeploymentType = 'full' | 'nodes' | 'flows' | 'reload';

export class AdminClient {
  private token: string | undefined;
  readonly base: string;

  constructor(
    url: string,
    private readonly auth: AdminAuth = {},
    private readonly timeoutMs = 15000,
    private readonly tls: AdminTls = {},
  ) {
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
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (data) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = String(data.length);
    }
    const url = new URL(`${this.base}${path}`);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const onResponse = (r: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('error', reject);
        r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, { method, headers: h, timeout: this.timeoutMs, ...this.tls }, onResponse)
          : httpRequest(url, { method, headers: h, timeout: this.timeoutMs }, onResponse);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(data);
    }).catch((err: unknown) => {
      throw new SpotFusionError('UNREACHABLE', `${method} ${this.base}${path}: ${describeError(err)}`);
    });
    let json: unknown;
    try {
      json = res.text ? JSON.parse(res.text) : undefined;
    } catch (parseErr) {
      json = { error: `not JSON: ${describeError(parseErr)}` };
    }
    return { status: res.status, json, text: res.text };
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
