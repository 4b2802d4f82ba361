'use strict';
// A TCP proxy on 127.0.0.1 that a test controls: forwards to a real server, and on cut() drops every
// connection and refuses new ones (accept + reset) until restore(). Used to take a target away mid-run.
const net = require('node:net');

class TcpProxy {
  constructor(targetPort, targetHost = '127.0.0.1') {
    this.targetPort = targetPort;
    this.targetHost = targetHost;
    this.down = false;
    this.sockets = new Set();
    this.accepted = 0;
    this.server = net.createServer((client) => this.onClient(client));
    this.server.on('error', () => undefined);
  }

  static async start(targetPort) {
    const p = new TcpProxy(targetPort);
    await new Promise((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', resolve);
    });
    p.port = p.server.address().port;
    return p;
  }

  onClient(client) {
    client.on('error', () => undefined);
    if (this.down) {
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = net.connect(this.targetPort, this.targetHost);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.on('close', () => this.sockets.delete(client));
    upstream.on('close', () => this.sockets.delete(upstream));
  }

  /** Drop every open connection (RST) and refuse new ones. */
  cut() {
    this.down = true;
    for (const s of this.sockets) {
      try {
        s.resetAndDestroy();
      } catch (notConnected) {
        s.destroy(notConnected);
      }
    }
    this.sockets.clear();
  }

  restore() {
    this.down = false;
  }

  async close() {
    this.cut();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

module.exports = { TcpProxy };
