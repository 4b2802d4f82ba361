'use strict';
// What a process holds, counted from outside its own bookkeeping: its TCP connections by remote port (from
// /proc/<pid>/fd and /proc/<pid>/net/tcp), and what the servers see of it (Redis CLIENT LIST and PostgreSQL
// pg_stat_activity rows whose client port is one of its sockets). Used by the redeploy tests.
const fs = require('node:fs');

/** inode → true for every socket the process holds */
function socketInodes(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch (gone) {
      if (gone.code !== 'ENOENT') throw gone; // closed between readdir and readlink
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]);
  }
  return inodes;
}

/** The established TCP connections (IPv4 and IPv6) of a process: [{ localPort, remotePort }]. */
function tcpConnections(pid) {
  const mine = socketInodes(pid);
  const out = [];
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (none) {
      if (none.code !== 'ENOENT') throw none;
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01' || !mine.has(f[9])) continue; // 01: ESTABLISHED
      out.push({ localPort: parseInt(f[1].split(':')[1], 16), remotePort: parseInt(f[2].split(':')[1], 16) });
    }
  }
  return out;
}

/** Number of established connections of `pid` to each port in `ports`: { [port]: n }. */
function connectionsTo(pid, ports) {
  const conns = tcpConnections(pid);
  return Object.fromEntries(ports.map((p) => [p, conns.filter((c) => c.remotePort === p).length]));
}

/** Redis clients (as Redis lists them) that are sockets of `pid`. */
async function redisClientsOf(redis, pid) {
  const ports = new Set(tcpConnections(pid).filter((c) => c.remotePort === 6379).map((c) => c.localPort));
  const list = String(await redis.client('LIST'));
  return list.split('\n').filter((l) => {
    const m = / addr=[^ ]*:(\d+) /.exec(` ${l} `);
    return m && ports.has(Number(m[1]));
  }).length;
}

/** PostgreSQL backends (pg_stat_activity) whose client is a socket of `pid`. */
async function pgBackendsOf(pg, pid) {
  const ports = tcpConnections(pid).filter((c) => c.remotePort === 5432).map((c) => c.localPort);
  if (ports.length === 0) return 0;
  const r = await pg.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports]);
  return r.rows[0].n;
}

module.exports = { tcpConnections, connectionsTo, redisClientsOf, pgBackendsOf };
