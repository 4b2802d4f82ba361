'use strict';
const assert = require('node:assert/strict');
const Redis = require('ioredis');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { requireService, connectRedis } = require('../support/services');
const fc = require('fast-check');
const { OwnRedis } = require('../support/redis-server');
const { parsePythonLiteral } = require('../../dist/nodes/lib/python-literal');
const { pyContainer } = require('../support/python-str');
const redisConfigNode = require('../../dist/nodes/spotfusion-redis-config/spotfusion-redis-config.js');
const redisCacheNode = require('../../dist/nodes/redis-cache/redis-cache.js');

const NODES = [redisConfigNode, redisCacheNode];
const DB = 9;

function cacheFlow({ port = 6379, prefix, valueFormat = 'json', cache = {} } = {}) {
  return onTab([
    { id: 'rc', type: 'spotfusion-redis-config', host: '127.0.0.1', port, db: DB, keyPrefix: prefix, valueFormat },
    { id: 'cache', type: 'redis-cache', redis: 'rc', operation: 'msg', wires: [['out']], ...cache },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'status', type: 'status', scope: null, wires: [['statuses']] },
    { id: 'statuses', type: 'helper' },
  ]);
}

async function clientsNamed(admin, name) {
  const list = await admin.client('LIST');
  return list.split('\n').filter((l) => l.includes(` name=${name} `)).length;
}

describe('redis-cache node (real Redis on 127.0.0.1:6379)', function () {
  let direct;
  let prefix;

  before(async function () {
    await requireService(this, 'redis');
    direct = await connectRedis(DB);
  });

  beforeEach(function () {
    prefix = `sftest:${process.pid}:${Math.random().toString(36).slice(2)}:`;
  });

  afterEach(async function () {
    await helper.unload();
    if (direct && direct.status === 'ready') {
      const keys = await direct.keys(`${prefix}*`);
      if (keys.length) await direct.del(...keys);
    }
  });

  after(async function () {
    if (direct) await direct.quit();
  });

  async function run(msg) {
    const out = helper.getNode('out');
    const got = nextMessage(out);
    helper.getNode('cache').receive(msg);
    return got;
  }

  async function connected() {
    const cfg = helper.getNode('rc');
    await until(() => cfg.connection.connected, 5000, 'redis connected');
  }

  it('sets and gets JSON values, keeping other message properties', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    const value = { serial: 'WB-1', spots: [1, 2.5, null], ok: true };
    const setMsg = await run({ operation: 'set', key: 'part', payload: value, part: { serial: 'WB-1' } });
    assert.equal(setMsg.payload, 'OK');
    assert.deepEqual(setMsg.part, { serial: 'WB-1' });
    assert.equal(await direct.get(`${prefix}part`), JSON.stringify(value));
    const getMsg = await run({ operation: 'get', key: 'part' });
    assert.deepEqual(getMsg.payload, value);
    const missing = await run({ operation: 'get', topic: 'nothing-here' });
    assert.equal(missing.payload, null);
  });

  it('keeps every answer with its message when many are in flight (commands gathered into one write)', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    const cache = helper.getNode('cache');
    const out = helper.getNode('out');
    const N = 400;
    const value = (i) => ({ serial: `WB-${i}`, spots: [i, i / 2, { ok: i % 3 === 0 }] });
    // like a busy flow: 50 messages at once, then the next one as each answer comes out (so most commands are
    // sent while replies are outstanding, from Node-RED's setImmediate deliveries)
    async function burst(make) {
      const results = new Map();
      let sent = 0;
      await new Promise((resolve, reject) => {
        const caught = helper.getNode('caught');
        const onError = (msg) => reject(new Error(`message ${msg.i} failed: ${msg.error.message}`));
        const onOut = (msg) => {
          results.set(msg.i, msg);
          if (results.size === N) {
            out.removeListener('input', onOut);
            caught.removeListener('input', onError);
            resolve();
          } else if (sent < N) cache.receive(make(sent++));
        };
        out.on('input', onOut);
        caught.on('input', onError);
        while (sent < 50) cache.receive(make(sent++));
      });
      return results;
    }
    const sets = await burst((i) => ({ i, operation: 'set', key: `many:${i}`, payload: value(i) }));
    const stored = await direct.mget(...Array.from({ length: N }, (_, i) => `${prefix}many:${i}`));
    for (let i = 0; i < N; i += 1) {
      assert.equal(sets.get(i).payload, 'OK', `set ${i}`);
      assert.equal(stored[i], JSON.stringify(value(i)), `stored ${i}`);
    }
    const gets = await burst((i) => ({ i, operation: 'get', key: `many:${i}` }));
    for (let i = 0; i < N; i += 1) assert.deepEqual(gets.get(i).payload, value(i), `get ${i}`);
  });

  it('runs del, exists, expire, incr and TTL on set', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    await run({ operation: 'set', key: 'ttl', payload: 1, ttl: 100 });
    const ttl = await direct.ttl(`${prefix}ttl`);
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    assert.equal((await run({ operation: 'exists', key: 'ttl' })).payload, true);
    assert.equal((await run({ operation: 'expire', key: 'ttl', ttl: 5 })).payload, true);
    assert.ok((await direct.ttl(`${prefix}ttl`)) <= 5);
    assert.equal((await run({ operation: 'del', key: 'ttl' })).payload, 1);
    assert.equal((await run({ operation: 'exists', key: 'ttl' })).payload, false);
    assert.equal((await run({ operation: 'expire', key: 'ttl', ttl: 5 })).payload, false);
    assert.equal((await run({ operation: 'incr', key: 'count' })).payload, 1);
    assert.equal((await run({ operation: 'incr', key: 'count' })).payload, 2);
  });

  it('runs hset, hget, hgetall and hdel', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    assert.equal((await run({ operation: 'hset', key: 'h', field: 'a', payload: { x: 1 } })).payload, 1);
    assert.equal((await run({ operation: 'hset', key: 'h', field: 'b', payload: 'two', ttl: 50 })).payload, 1);
    assert.ok((await direct.ttl(`${prefix}h`)) > 40);
    assert.deepEqual((await run({ operation: 'hget', key: 'h', field: 'a' })).payload, { x: 1 });
    assert.equal((await run({ operation: 'hget', key: 'h', field: 'zz' })).payload, null);
    assert.deepEqual((await run({ operation: 'hgetall', key: 'h' })).payload, { a: { x: 1 }, b: 'two' });
    assert.equal((await run({ operation: 'hdel', key: 'h', field: 'a' })).payload, 1);
    assert.deepEqual((await run({ operation: 'hgetall', key: 'h' })).payload, { b: 'two' });
  });

  it('publishes JSON to a prefixed channel', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    const sub = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    sub.on('error', () => undefined);
    await sub.connect();
    try {
      await sub.subscribe(`${prefix}events`);
      const received = new Promise((resolve) => sub.once('message', (ch, m) => resolve([ch, m])));
      const res = await run({ operation: 'publish', key: 'events', payload: { part: 'A1' } });
      assert.equal(res.payload, 1);
      assert.deepEqual(await received, [`${prefix}events`, '{"part":"A1"}']);
    } finally {
      sub.disconnect();
    }
  });

  it('uses fixed node settings and custom value/result properties', async function () {
    await helper.load(
      NODES,
      cacheFlow({ prefix, cache: { operation: 'hset', key: 'fixed', field: 'f1', valueProperty: 'data.value', outputProperty: 'result' } }),
    );
    await connected();
    const res = await run({ data: { value: [1, 2] }, payload: 'untouched' });
    assert.equal(res.result, 1);
    assert.equal(res.payload, 'untouched');
    assert.equal(await direct.hget(`${prefix}fixed`, 'f1'), '[1,2]');
  });

  it('reads legacy Python literals safely in legacy-read mode and refuses them in json mode', async function () {
    await direct.set(`${prefix}legacy`, "{'serial': 'ABC123', 'ok': True, 'spots': [1, 2.5, None], 'pos': (3, 4)}");
    await direct.hset(`${prefix}lh`, 'level', "'DEBUG'", 'cmd', "__import__('os').system('touch /tmp/pwned')");
    await helper.load(NODES, cacheFlow({ prefix, valueFormat: 'legacy-read' }));
    await connected();
    const res = await run({ operation: 'get', key: 'legacy' });
    assert.deepEqual(res.payload, { serial: 'ABC123', ok: true, spots: [1, 2.5, null], pos: [3, 4] });
    assert.equal((await run({ operation: 'hget', key: 'lh', field: 'level' })).payload, 'DEBUG');
    // code in a cache value is an error, never executed
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'hget', key: 'lh', field: 'cmd' });
    const err = await caught;
    assert.match(err.error.message, /neither JSON nor a Python literal/);
    await helper.unload();

    await helper.load(NODES, cacheFlow({ prefix, valueFormat: 'json' }));
    await connected();
    const caught2 = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'get', key: 'legacy' });
    assert.match((await caught2).error.message, /does not hold JSON.*legacy-read/);
  });

  it('reads CPython str() values exactly as the parser does, big ints and all (one decoding path)', async function () {
    const samples = fc.sample(pyContainer, { numRuns: 60, seed: 16 });
    const fields = [];
    samples.forEach((s, i) => fields.push(`f${i}`, s.src));
    await direct.hset(`${prefix}py`, ...fields);
    await direct.set(`${prefix}ns`, '[1733318400123456789, 2]');
    await direct.set(`${prefix}deep`, '['.repeat(201) + ']'.repeat(201));
    await helper.load(NODES, cacheFlow({ prefix, valueFormat: 'legacy-read' }));
    await connected();
    assert.deepEqual((await run({ operation: 'get', key: 'ns' })).payload, ['1733318400123456789', 2]);
    const all = (await run({ operation: 'hgetall', key: 'py' })).payload;
    samples.forEach((s, i) => assert.deepStrictEqual(all[`f${i}`], parsePythonLiteral(s.src), s.src));
    assert.deepStrictEqual((await run({ operation: 'hget', key: 'py', field: 'f0' })).payload, samples[0].val);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'get', key: 'deep' });
    assert.match((await caught).error.message, /neither JSON nor a Python literal.*nesting deeper than 200/);
  });

  it('writes Python literals in legacy mode for keys legacy services still read', async function () {
    await helper.load(NODES, cacheFlow({ prefix, valueFormat: 'legacy' }));
    await connected();
    await run({ operation: 'set', key: 'lw', payload: { ok: true, n: null, s: "it's" } });
    assert.equal(await direct.get(`${prefix}lw`), `{'ok': True, 'n': None, 's': "it's"}`);
    assert.deepEqual((await run({ operation: 'get', key: 'lw' })).payload, { ok: true, n: null, s: "it's" });
  });

  it('sends a schema error naming the field to Catch and shows it in the status', async function () {
    await helper.load(NODES, cacheFlow({ prefix }));
    await connected();
    const caught = nextMessage(helper.getNode('caught'));
    const status = nextMessage(helper.getNode('statuses'), (m) => m.status.fill === 'red');
    helper.getNode('cache').receive({ operation: 'hget', key: 'h' });
    const err = await caught;
    assert.match(err.error.message, /msg\.field is required/);
    assert.equal(err.error.source.id, 'cache');
    assert.match((await status).status.text, /msg\.field is required/);
    const caught2 = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'explode', key: 'h' });
    assert.match((await caught2).error.message, /msg\.operation must be one of/);
    const caught3 = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'set', key: 'k' });
    assert.match((await caught3).error.message, /msg\.payload is undefined/);
    // status returns to the connection's after a good message
    const green = nextMessage(helper.getNode('statuses'), (m) => m.status.fill === 'green');
    await run({ operation: 'get', key: 'k' });
    await green;
  });

  it('reports a bad config node field clearly and never connects', async function () {
    await helper.load(NODES, cacheFlow({ prefix, port: 'not-a-port' }));
    const cfg = helper.getNode('rc');
    await until(() => cfg.connection.state === 'failed', 2000, 'failed state');
    assert.match(cfg.connection.lastError, /port must be a whole number/);
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'get', key: 'x' });
    assert.match((await caught).error.message, /not connected: failed.*port must be/);
  });

  it('fails each message with a clear error when Redis is down, and nothing crashes', async function () {
    const own = await OwnRedis.create(); // a port with nothing listening
    await helper.load(NODES, cacheFlow({ prefix, port: own.port }));
    const cfg = helper.getNode('rc');
    const delays = []; // [failures so far, the delay announced before the next attempt]
    cfg.connection.on('state', (c) => c.retryInMs !== undefined && delays.push([cfg.connection.failures, c.retryInMs]));
    await until(() => cfg.connection.state === 'reconnecting', 3000, 'reconnecting');
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'get', key: 'x' });
    const err = await caught;
    assert.match(err.error.message, /not connected.*ECONNREFUSED/);
    // backoff, not a storm: after the k-th failure the next attempt waits a jittered delay in
    // [50 ms, min(5 s, 250 ms · 2^(k-1))], announced before it is made
    const before = cfg.connection.failures;
    await until(() => cfg.connection.failures >= before + 3, 20000, 'three more refused attempts');
    assert.ok(delays.length >= 3, `delays announced: ${JSON.stringify(delays)}`);
    for (const [k, d] of delays) assert.ok(d >= 50 && d <= Math.min(5000, 250 * 2 ** (k - 1)), `delay ${d} ms after failure ${k}: ${JSON.stringify(delays)}`);
  });

  it('shares one connection per config node and leaks none over partial and full redeploys', async function () {
    const flow = cacheFlow({ prefix });
    flow.push({ id: 'cache2', z: 'tab1', type: 'redis-cache', redis: 'rc', operation: 'get', key: 'a', wires: [[]] });
    await helper.load(NODES, flow);
    await connected();
    const name = 'spotfusion:rc';
    assert.equal(await clientsNamed(direct, name), 1);
    for (let i = 0; i < 5; i++) {
      const changed = flow.map((n) => (n.id === 'cache2' ? { ...n, key: `a${i}` } : n));
      await helper.setFlows(changed, 'nodes');
      await run({ operation: 'set', key: 'p', payload: i });
    }
    assert.equal(await clientsNamed(direct, name), 1);
    // a partial deploy that changes the config node replaces the connection
    await helper.setFlows(flow.map((n) => (n.id === 'rc' ? { ...n, keyPrefix: `${prefix}v2:` } : n)), 'nodes');
    await until(async () => (await clientsNamed(direct, name)) === 1 && helper.getNode('rc').connection.connected, 5000, 'one client after config change');
    // removing every user closes the connection
    await helper.setFlows(onTab([{ id: 'x', type: 'helper' }]), 'full');
    await until(async () => (await clientsNamed(direct, name)) === 0, 5000, 'no client left');
  });
});

describe('redis-cache and the connection base across a Redis restart', function () {
  let own;

  before(async function () {
    own = await OwnRedis.create();
    await own.start();
  });

  afterEach(async function () {
    await helper.unload();
  });

  after(async function () {
    if (own) await own.stop();
  });

  it('goes red when Redis dies, green when it is back, and works again', async function () {
    this.timeout(30000);
    await helper.load(NODES, cacheFlow({ port: own.port, prefix: 'r:' }));
    const cfg = helper.getNode('rc');
    await until(() => cfg.connection.connected, 5000, 'connected');
    const statuses = helper.getNode('statuses');
    const red = nextMessage(statuses, (m) => m.status.fill === 'red', 10000);
    await own.stop();
    await red;
    assert.ok(['reconnecting'].includes(cfg.connection.state));
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({ operation: 'get', key: 'x' });
    assert.match((await caught).error.message, /not connected/);

    // the retry delay is capped at 5 s: once Redis is back the next attempt connects (a generous bound)
    const delays = [];
    cfg.connection.on('state', (c) => c.retryInMs !== undefined && delays.push(c.retryInMs));
    const green = nextMessage(statuses, (m) => m.status.fill === 'green', 25000);
    await own.start();
    await green;
    for (const d of delays) assert.ok(d <= 5000, `retry delay ${d} ms beyond the 5 s cap`);
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('cache').receive({ operation: 'set', key: 'x', payload: 'after' });
    assert.equal((await out).payload, 'OK');
  });

  it('drops a connection to a stalled Redis (PING watchdog), fails the pending command, and recovers', async function () {
    this.timeout(30000);
    const flow = cacheFlow({ port: own.port, prefix: 's:' });
    flow.find((n) => n.id === 'rc').commandTimeout = 300;
    await helper.load(NODES, flow);
    const cfg = helper.getNode('rc');
    await until(() => cfg.connection.connected, 5000, 'connected');
    own.proc.kill('SIGSTOP'); // the server stops answering but keeps its socket open
    try {
      const caught = nextMessage(helper.getNode('caught'), () => true, 10000);
      helper.getNode('cache').receive({ operation: 'get', key: 'x' });
      const err = await caught;
      assert.match(err.error.message, /Connection is closed|no answer to PING within 300 ms/);
      await until(() => cfg.connection.state === 'reconnecting', 5000, 'reconnecting');
      assert.match(cfg.connection.lastError, /no answer to PING within 300 ms|ETIMEDOUT|ECONNREFUSED|closed/);
    } finally {
      own.proc.kill('SIGCONT');
    }
    await until(() => cfg.connection.connected, 15000, 'reconnected after SIGCONT');
    const out = nextMessage(helper.getNode('out'));
    helper.getNode('cache').receive({ operation: 'set', key: 'x', payload: 'back' });
    assert.equal((await out).payload, 'OK');
  });
});
