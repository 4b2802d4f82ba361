'use strict';
// Integration tests use the real servers on loopback. When one is missing they fail under CI=true and are
// skipped with a loud notice elsewhere.
const net = require('node:net');

const SERVICES = {
  redis: 6379,
  rabbitmq: 5672,
  postgres: 5432,
  mosquitto: 1883,
  mariadb: 3306,
  nats: 4222,
};

function probe(port, host = '127.0.0.1', timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    const finish = (ok) => {
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => finish(false));
    sock.once('connect', () => finish(true));
    sock.once('error', () => finish(false));
  });
}

/** Use in a mocha before(): `before(async function () { await requireService(this, 'redis'); })`. */
async function requireService(ctx, name) {
  const port = SERVICES[name];
  if (!port) throw new Error(`unknown service ${name}`);
  if (await probe(port)) return;
  const what = `${name} on 127.0.0.1:${port} is not reachable`;
  if (process.env.CI) throw new Error(`${what}; CI=true, so integration tests may not be skipped`);
  process.stderr.write(`\n\n!!!!! SKIPPING ${ctx.test?.parent?.title ?? 'suite'}: ${what} !!!!!\n\n`);
  ctx.skip();
}

/** The test's own client of the loopback PostgreSQL (database test), connected, errors kept off the process. */
async function connectPostgres() {
  const { Client } = require('pg');
  const pg = new Client({ host: '127.0.0.1', port: SERVICES.postgres, user: 'postgres', database: 'test' });
  pg.on('error', () => undefined);
  await pg.connect();
  return pg;
}

/** The test's own client of the loopback Redis (database `db`), connected, errors kept off the process. */
async function connectRedis(db = 0) {
  const Redis = require('ioredis');
  const redis = new Redis({ host: '127.0.0.1', port: SERVICES.redis, db, lazyConnect: true });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

module.exports = { requireService, probe, SERVICES, connectPostgres, connectRedis };
