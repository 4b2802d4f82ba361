'use strict';
const assert = require('node:assert/strict');
const { Backoff } = require('../../dist/nodes/lib/backoff');
const { SharedConnection } = require('../../dist/nodes/lib/connection');
const { SpotFusionError } = require('../../dist/nodes/lib/errors');
const { until } = require('../support/wait');

/**
 * A scripted driver: each open() takes the next outcome from a list. It stands in for no server: it exercises
 * the connection state machine itself. Real servers are exercised in test/nodes.
 */
function scriptedDriver(outcomes) {
  const d = {
    opened: 0,
    closed: [],
    lostHandlers: new Map(),
    inFlight: 0,
    maxInFlight: 0,
    describe: () => 'scripted',
    async open() {
      d.opened += 1;
      d.inFlight += 1;
      d.maxInFlight = Math.max(d.maxInFlight, d.inFlight);
      const next = outcomes.length ? outcomes.shift() : { ok: true };
      await new Promise((r) => setTimeout(r, next.delay ?? 1));
      d.inFlight -= 1;
      if (next.ok) return { id: d.opened };
      throw next.error ?? new Error(`refused #${d.opened}`);
    },
    watch(client, lost) {
      d.lostHandlers.set(client.id, lost);
      return () => d.lostHandlers.delete(client.id);
    },
    async close(client) {
      d.closed.push(client.id);
    },
  };
  return d;
}

function waitState(conn, state, timeoutMs = 3000) {
  if (conn.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`state ${state} not reached (now ${conn.state})`)), timeoutMs);
    conn.on('state', function on(ch) {
      if (ch.state === state) {
        clearTimeout(t);
        conn.removeListener('state', on);
        resolve();
      }
    });
  });
}

describe('Backoff', function () {
  it('grows exponentially up to the cap, with jitter inside [min, ceiling]', function () {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, minMs: 10, random: () => 1 });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next()), [100, 200, 400, 800, 1000, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
    const low = new Backoff({ baseMs: 100, maxMs: 1000, minMs: 10, random: () => 0 });
    assert.equal(low.next(), 10);
    const rnd = new Backoff({ baseMs: 100, maxMs: 400 });
    for (let i = 0; i < 200; i++) {
      const d = rnd.next();
      assert.ok(d >= 50 && d <= 400, String(d));
    }
  });

  it('never overflows after many attempts', function () {
    const b = new Backoff({ baseMs: 1, maxMs: 5000, random: () => 1 });
    for (let i = 0; i < 2000; i++) assert.ok(b.next() <= 5000);
  });

  it('rejects a nonsensical configuration', function () {
    assert.throws(() => new Backoff({ baseMs: 0 }), /baseMs/);
    assert.throws(() => new Backoff({ baseMs: 10, maxMs: 5 }), /baseMs/);
  });
});

describe('SharedConnection', function () {
  it('connects for the first user and closes after the last', async function () {
    const d = scriptedDriver([]);
    const c = new SharedConnection(d);
    const a = {};
    const b = {};
    c.acquire(a);
    c.acquire(b);
    await waitState(c, 'connected');
    assert.equal(d.opened, 1);
    assert.deepEqual(c.client(), { id: 1 });
    await c.release(a);
    assert.equal(c.state, 'connected');
    await c.release(b);
    assert.equal(c.state, 'idle');
    assert.deepEqual(d.closed, [1]);
    assert.throws(() => c.client(), /not connected: idle/);
  });

  it('retries with backoff, one attempt in flight, and resets after success', async function () {
    const d = scriptedDriver([{ ok: false, delay: 20 }, { ok: false, delay: 20 }, { ok: true, delay: 20 }]);
    const c = new SharedConnection(d, { baseMs: 10, maxMs: 40, minMs: 5 });
    const states = [];
    c.on('state', (s) => states.push(s.state));
    c.acquire({});
    c.acquire({});
    await waitState(c, 'connected');
    assert.equal(d.opened, 3);
    assert.equal(d.maxInFlight, 1);
    assert.deepEqual(states, ['connecting', 'reconnecting', 'reconnecting', 'reconnecting', 'reconnecting', 'connected']);
    assert.equal(c.lastError, undefined);
    await c.destroy();
  });

  it('reconnects after the connection is lost and closes the lost client', async function () {
    const d = scriptedDriver([]);
    const c = new SharedConnection(d, { baseMs: 5, maxMs: 10, minMs: 1 });
    c.acquire({});
    await waitState(c, 'connected');
    const lost = waitState(c, 'reconnecting');
    d.lostHandlers.get(1)(new Error('ECONNRESET'));
    await lost;
    assert.match(c.lastError, /ECONNRESET/);
    assert.throws(() => c.client(), /ECONNRESET/);
    await waitState(c, 'connected');
    assert.deepEqual(c.client(), { id: 2 });
    assert.deepEqual(d.closed, [1]);
    assert.equal(d.lostHandlers.size, 1, 'listeners of the lost client removed');
    await c.destroy();
  });

  it('stops retrying on a permanent configuration error', async function () {
    const d = scriptedDriver([{ ok: false, error: new SpotFusionError('CONFIG', 'port must be a number') }]);
    const c = new SharedConnection(d, { baseMs: 5, maxMs: 10 });
    c.acquire({});
    await waitState(c, 'failed');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(d.opened, 1);
    assert.match(c.lastError, /port must be a number/);
    await c.destroy();
  });

  it('leaves no timer and closes a connection that lands after shutdown', async function () {
    const d = scriptedDriver([{ ok: false, delay: 1 }, { ok: true, delay: 80 }]);
    const c = new SharedConnection(d, { baseMs: 10, maxMs: 20, minMs: 5 });
    c.acquire({});
    await until(() => d.opened === 2, 5000, 'the second attempt in flight', 1);
    await c.destroy();
    assert.equal(c.state, 'closed');
    assert.deepEqual(d.closed, [2], 'client opened during shutdown was closed');
    assert.equal(c.pendingRetry, false, 'no retry timer left');
    assert.throws(() => c.acquire({}), /closed/);
  });

  it('does not hang when a driver close never settles', async function () {
    const d = scriptedDriver([]);
    d.close = () => new Promise(() => undefined);
    const c = new SharedConnection(d, { closeTimeoutMs: 50 });
    c.acquire({});
    await waitState(c, 'connected');
    // the close never settles: destroy() ends by closeTimeoutMs, or never (and the test times out)
    await c.destroy();
    assert.equal(c.state, 'closed');
    assert.equal(c.pendingRetry, false);
  });

  it('reports a failing driver close as an error event, not a crash', async function () {
    const d = scriptedDriver([]);
    d.close = async () => {
      throw new Error('boom');
    };
    const c = new SharedConnection(d);
    const errors = [];
    c.on('error', (e) => errors.push(e.message));
    const u = {};
    c.acquire(u);
    await waitState(c, 'connected');
    await c.release(u);
    assert.match(errors[0], /closing scripted: boom/);
  });
});
