'use strict';
// batchWrites (nodes/lib/redis/client.ts): a lone command is written at once; commands sent while replies are
// outstanding are gathered (socket corked) until the next setImmediate, then written together. Real Redis on
// 127.0.0.1:6379, db 9.
const assert = require('node:assert/strict');
const { requireService } = require('../support/services');
const { redisDriver, parseRedisSettings, batchWrites } = require('../../dist/nodes/lib/redis/client');

const nextImmediate = () => new Promise((resolve) => setImmediate(resolve));

describe('redis batchWrites (real Redis on 127.0.0.1:6379)', function () {
  let driver;
  let client;
  const prefix = `sftest:batch:${process.pid}:`;

  before(async function () {
    await requireService(this, 'redis');
    driver = redisDriver(parseRedisSettings({ host: '127.0.0.1', port: 6379, db: 9 }, {}, 'spotfusion:test-batch'));
    client = await driver.open();
  });

  after(async function () {
    if (!client) return;
    await client.del(`${prefix}a`, `${prefix}b`, `${prefix}c`);
    await driver.close(client);
  });

  it('writes a lone command at once', async function () {
    assert.equal(client.commandQueue.length, 0);
    batchWrites(client);
    assert.equal(client.stream.writableCorked, 0, 'nothing outstanding: not corked');
    const reply = client.set(`${prefix}a`, '1');
    assert.equal(client.stream.writableLength, 0, 'the command went to the socket, nothing is held back');
    assert.equal(await reply, 'OK');
  });

  it('gathers the commands sent while replies are outstanding until the next setImmediate', async function () {
    const first = client.set(`${prefix}b`, '2'); // outstanding from here on
    assert.equal(client.stream.writableLength, 0);
    const later = [];
    for (let i = 0; i < 5; i += 1) {
      batchWrites(client);
      later.push(client.incr(`${prefix}c`));
    }
    assert.equal(client.stream.writableCorked, 1, 'corked once, however many commands');
    // five INCRs of a key this long: "*2\r\n$4\r\nincr\r\n$<n>\r\n<key>\r\n"
    const incrBytes = 5 * (`*2\r\n$4\r\nincr\r\n$${prefix.length + 1}\r\n${prefix}c\r\n`).length;
    assert.equal(client.stream.writableLength, incrBytes, 'all five held back while corked');
    await nextImmediate();
    assert.equal(client.stream.writableCorked, 0, 'uncorked on the next setImmediate');
    assert.equal(client.stream.writableLength, 0, 'and written');
    assert.equal(await first, 'OK');
    assert.deepEqual(await Promise.all(later), [1, 2, 3, 4, 5]);
  });
});
