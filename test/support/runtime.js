'use strict';
// Start a real Node-RED process (red.js, not the test helper) with our settings, on a free loopback port:
// the same path as `npm start` and a production start. SPOTFUSION_RED_JS picks another Node-RED (5.x);
// the Node binary is the one running the tests (Node 22 under .ci/node22.sh).
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const bcrypt = require('bcryptjs');
const { freePort } = require('./redis-server');
const { prepareUserDir, ROOT } = require('../../scripts/userdir.cjs');

const RED_JS = process.env.SPOTFUSION_RED_JS ? path.resolve(process.env.SPOTFUSION_RED_JS) : require.resolve('node-red/red.js');

/**
 * tls: { ca, cert, key } makes it an HTTPS request that verifies the server's certificate against ca. timeoutMs:
 * how long the socket may stay silent (10 s; a deploy waits for every stopped node's close, up to Node-RED's
 * 15 s close timeout, so deploy tests on a loaded machine give it more and check the log for "close timed out").
 */
function request(port, method, urlPath, { token, body, headers = {}, localAddress, tls, timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = (tls ? https : http).request(
      {
        ...(tls ?? {}),
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        headers: {
          ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        timeout: timeoutMs,
        ...(localAddress ? { localAddress } : {}),
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch (parseErr) {
            json = { unparsed: parseErr.message };
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

class Runtime {
  /**
   * script: run this file instead of red.js; settingsFile: another settings file for red.js (default
   * dist/settings.js); installed: the user dir already holds the package (an npm install), leave it as it is;
   * nodeFlags: flags of the Node process before red.js, as the service unit passes them (the memory bounds of
   * nodes/lib/memory.ts: NODE_OPTIONS refuses some of them).
   */
  constructor(env, { script, settingsFile, installed, tls, nodeFlags = [] } = {}) {
    this.env = env;
    this.nodeFlags = nodeFlags;
    this.tls = tls;
    this.script = script;
    this.settingsFile = settingsFile ?? path.join(ROOT, 'dist', 'settings.js');
    this.installed = installed;
    this.stdout = '';
    this.stderr = '';
  }

  /**
   * A runtime with adminAuth on, as a station runs: user `admin` with `password`, a fresh credential secret, no
   * dev mode; `env` on top (a value of undefined removes a variable).
   */
  static withAdminAuth(password, env = {}, opts = {}) {
    return Runtime.create({ SPOTFUSION_ADMIN_PASSWORD_HASH: bcrypt.hashSync(password, 8), SPOTFUSION_CREDENTIAL_SECRET: crypto.randomBytes(24).toString('hex'), SPOTFUSION_DEV_MODE: undefined, ...env }, opts);
  }

  static async create(env = {}, opts = {}) {
    const port = env.SPOTFUSION_PORT ? Number(env.SPOTFUSION_PORT) : await freePort();
    const userDir = env.SPOTFUSION_USER_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'sf-userdir-'));
    const rt = new Runtime({ SPOTFUSION_PORT: String(port), SPOTFUSION_USER_DIR: userDir, ...env }, opts);
    rt.port = port;
    rt.userDir = userDir;
    return rt;
  }

  /**
   * Spawn and resolve when the admin API answers and the log says the server runs (`ready`: its line, English
   * unless the runtime was started in another language), or reject with what the process printed.
   */
  async start({ flowSource, ready = /Server now running/ } = {}) {
    if (!this.script && !this.installed) prepareUserDir(this.userDir, { flowSource });
    // SOAK_NODE_FLAGS: flags for the Node-RED process that NODE_OPTIONS refuses (--trace-gc for the soak's GC
    // diagnosis, docs/RELIABILITY.md "The tail")
    const flags = [...this.nodeFlags, ...(process.env.SOAK_NODE_FLAGS || '').split(' ').filter(Boolean)];
    const args = [...flags, ...(this.script ? [this.script] : [RED_JS, '--settings', this.settingsFile])];
    const env = { ...process.env, ...this.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    this.proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => (this.stdout += d));
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    const end = Date.now() + 30000;
    for (;;) {
      if (this.proc.exitCode !== null) {
        throw new Error(`Node-RED exited with ${this.proc.exitCode}\n${this.stderr}\n${this.stdout.slice(-3000)}`);
      }
      try {
        const r = await request(this.port, 'GET', '/auth/login', { tls: this.tls });
        if (r.status === 200 && ready.test(this.stdout)) return this;
      } catch (notYet) {
        if (Date.now() > end) throw new Error(`Node-RED did not start: ${notYet.message}\n${this.stderr}\n${this.stdout.slice(-3000)}`);
      }
      if (Date.now() > end) throw new Error(`Node-RED did not start\n${this.stderr}\n${this.stdout.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  request(method, urlPath, opts = {}) {
    return request(this.port, method, urlPath, { tls: this.tls, ...opts });
  }

  /** an admin API token of the user; scope 'read' is a read-only login */
  async token(username, password, scope = '*') {
    const r = await this.request('POST', '/auth/token', { body: { client_id: 'node-red-admin', grant_type: 'password', scope, username, password } });
    if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
    return r.json.access_token;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGINT');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    await this.exited;
    clearTimeout(t);
  }
}

/**
 * A bare environment for a child process: PATH only, plus NODE_V8_COVERAGE when the tests run under c8, so
 * that what the child runs (settings.ts, bin/spotfusion.js) counts towards the coverage gate.
 */
function bareEnv(env = {}) {
  return { PATH: process.env.PATH, ...(process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {}), ...env };
}

/** Run settings.ts under the given env and collect how it ends (for refusals). */
function runSettingsOnly(env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', `require(${JSON.stringify(path.join(ROOT, 'dist', 'settings.js'))})`], {
      env: bareEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}

module.exports = { Runtime, request, runSettingsOnly, bareEnv, RED_JS };
