'use strict';
// The Redis driver's watch() (nodes/lib/redis/client.ts): its on('data') listener tells the PING watchdog that
// the server answers, and goes when the watch ends. (That the listener also keeps each reply on the socket's
// direct path, one process.nextTick per command instead of two, is a performance detail measured by
// bench/redis-watch.bench.cjs.) Real Redis on 127.0.0.1:6379, db 9.
const assert = require('node:assert/strict');
const { requireService } = require('../support/services');
const { until } = require('../support/wait');
const { redisDriver, parseRedisSettings } = require('../../dist/nodes/lib/redis/client');

/** Count the calls of obj[name] (still calling it) until restore(). */
function countCalls(obj, name) {
  const original = obj[name];
  const counter = {
    calls: 0,
    restore: () => {
      obj[name] = original;
    },
  };
  obj[name] = function counted(...args) {
    counter.calls += 1;
    return original.apply(this, args);
  };
  return counter;
}

describe('redis driver watch() (real Redis on 127.0.0.1:6379)', function () {
  let driver;
  let client;
  let unwatch;
  let lost;

  before(async function () {
    await requireService(this, 'redis');
    // command timeout 1 s: the watchdog looks every 500 ms
    driver = redisDriver(parseRedisSettings({ host: '127.0.0.1', port: 6379, db: 9, commandTimeout: 1000 }, {}, 'spotfusion:test-watch'));
    client = await driver.open();
    unwatch = driver.watch(client, (err) => {
      lost = err;
    });
  });

  after(async function () {
    if (!client) return;
    unwatch?.();
    await driver.close(client);
  });

  it('sends no PING while replies arrive, and PINGs an idle server', async function () {
    const pings = countCalls(client, 'ping');
    try {
      // 1.2 s of steady traffic: two or three looks of the watchdog, each finding replies since the last
      const busyUntil = Date.now() + 1200;
      while (Date.now() < busyUntil) await client.get('sftest:watch:none');
      assert.equal(pings.calls, 0, 'a PING was sent although replies kept arriving');
      // then idle: the watchdog PINGs within a few looks
      await until(() => pings.calls > 0, 3000, 'a watchdog PING on the idle connection');
      assert.equal(lost, undefined, 'the connection was never reported lost');
    } finally {
      pings.restore();
    }
  });

  it('takes its data listener off when the watch ends', async function () {
    const stream = client.stream;
    const watched = stream.listenerCount('data');
    unwatch();
    unwatch = undefined;
    assert.equal(stream.listenerCount('data'), watched - 1);
    assert.equal(await client.ping(), 'PONG', 'the connection still works without it');
  });
});
