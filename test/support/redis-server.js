'use strict';
// A Redis server of the test's own (the machine's redis-server binary on a free loopback port), so a test
// can stop and restart a real Redis without touching the shared one on 6379.
const { spawn } = require('node:child_process');
const net = require('node:net');
const { probe } = require('./services');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

class OwnRedis {
  constructor(port) {
    this.port = port;
    this.proc = null;
  }

  static async create() {
    return new OwnRedis(await freePort());
  }

  async start() {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: 'ignore',
    });
    this.proc.on('error', (err) => {
      this.spawnError = err;
    });
    const end = Date.now() + 5000;
    while (!(await probe(this.port))) {
      if (this.spawnError) throw this.spawnError;
      if (Date.now() > end) throw new Error(`own redis-server on ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise((resolve) => {
      p.once('exit', resolve);
      p.kill('SIGKILL');
    });
    this.proc = null;
  }
}

module.exports = { OwnRedis, freePort };
