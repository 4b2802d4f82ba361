'use strict';
// Needs better-sqlite3 (native).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Outbox, OutboxFullError } = require('../../dist/nodes/lib/result/outbox.js');
const { Dispatcher } = require('../../dist/nodes/lib/result/dispatcher.js');
const { SqliteResultStore } = require('../../dist/nodes/lib/result/sqlite-store.js');
const { registry } = require('../../dist/nodes/lib/metrics.js');
const { trackOutbox } = require('../../dist/nodes/lib/result/metrics.js');
const { until } = require('../support/red');

function tmpFile(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-outbox-'));
  return path.join(dir, 'sub', name);
}

function body(i) {
  return JSON.stringify({ i });
}

/** An in-process target: records what it got; fails while `down`. */
function target(name, { batchSize = 10, down = false } = {}) {
  const t = {
    name,
    label: name,
    batchSize,
    down,
    got: [],
    calls: 0,
    listeners: new Set(),
    async deliver(rows) {
      t.calls += 1;
      if (t.down) throw new Error(`${name} is down`);
      if (t.hang) return new Promise(() => undefined);
      for (const r of rows) t.got.push(r.resultId);
    },
    onAvailable(cb) {
      t.listeners.add(cb);
      return () => t.listeners.delete(cb);
    },
    up() {
      t.down = false;
      for (const cb of t.listeners) cb();
    },
  };
  return t;
}

describe('outbox (SQLite WAL)', function () {
  it('keeps results in order per target, removes them once every target confirmed, survives reopening', function () {
    const file = tmpFile('o.db');
    // the outbox's own clock: r1…r5 enter at 1000, 1010, … 1040 ms
    let clock = 1000;
    const now = () => clock;
    let ob = new Outbox({ file, targets: ['a', 'b'], now });
    assert.equal(ob.rows, 0);
    for (let i = 1; i <= 5; i++, clock += 10) assert.deepEqual(ob.enqueue(`r${i}`, body(i)), { seq: i, duplicate: false, dropped: 0 });
    clock = 2000;
    assert.deepEqual(ob.enqueue('r2', body(2)), { seq: 2, duplicate: true, dropped: 0 });
    assert.deepEqual(ob.pending('a', 3).map((r) => r.resultId), ['r1', 'r2', 'r3']);
    ob.ack('a', 3, 3);
    ob.ack('a', 2, 2); // going back is ignored
    assert.deepEqual(ob.pending('a', 10).map((r) => r.resultId), ['r4', 'r5']);
    assert.equal(ob.rows, 5); // b has confirmed nothing
    ob.ack('b', 2, 2);
    assert.equal(ob.rows, 3);
    assert.equal(ob.stats('a').depth, 2);
    assert.equal(ob.stats('b').depth, 3);
    assert.equal(ob.stats('a').delivered, 3);
    assert.equal(ob.stats('a').oldestAgeMs, 2000 - 1030, "a's oldest waiting result is r4");
    assert.equal(ob.stats('b').oldestAgeMs, 2000 - 1020, "b's oldest waiting result is r3");
    assert.throws(() => ob.pending('zz', 1), /unknown target zz/);
    assert.equal(fs.readFileSync(file).subarray(0, 15).toString(), 'SQLite format 3');
    ob.close();
    // restart: cursors resume; a new target starts after the newest result; a removed one is forgotten
    ob = new Outbox({ file, targets: ['a', 'c'], now });
    assert.deepEqual(ob.pending('a', 10).map((r) => r.resultId), ['r4', 'r5']);
    assert.deepEqual(ob.pending('c', 10), []);
    assert.equal(ob.rows, 2); // b's cursor is gone, so r3 (confirmed by a) left
    assert.equal(ob.stats('c').oldestAgeMs, undefined, 'nothing waits for c');
    ob.enqueue('r6', body(6));
    assert.deepEqual(ob.pending('c', 10).map((r) => r.resultId), ['r6']);
    clock = 2500;
    assert.equal(ob.stats('c').oldestAgeMs, 500);
    ob.close();
    assert.equal(ob.open, false);
  });

  it('reject policy: a full outbox refuses the new result, says so, and writes nothing', function () {
    const ob = new Outbox({ file: tmpFile('full.db'), targets: ['a'], maxRows: 3 });
    for (let i = 1; i <= 3; i++) ob.enqueue(`r${i}`, body(i));
    assert.throws(() => ob.enqueue('r4', body(4)), (err) => err instanceof OutboxFullError && err.code === 'OUTBOX_FULL' && /3 results wait/.test(err.message));
    assert.equal(ob.rows, 3);
    assert.deepEqual(ob.enqueue('r2', body(2)), { seq: 2, duplicate: true, dropped: 0 }); // a duplicate is no new row
    ob.ack('a', 1, 1);
    assert.equal(ob.enqueue('r4', body(4)).seq, 4);
    ob.close();
  });

  it('drop-oldest policy: makes room by dropping the oldest undelivered result and reports how many', function () {
    const ob = new Outbox({ file: tmpFile('drop.db'), targets: ['a'], maxRows: 3, fullPolicy: 'drop-oldest', synchronous: 'NORMAL' });
    for (let i = 1; i <= 3; i++) ob.enqueue(`r${i}`, body(i));
    assert.deepEqual(ob.enqueue('r4', body(4)), { seq: 4, duplicate: false, dropped: 1 });
    assert.deepEqual(ob.pending('a', 10).map((r) => r.resultId), ['r2', 'r3', 'r4']);
    assert.equal(ob.rows, 3);
    ob.close();
  });

  it('refuses bad options with a CONFIG error', function () {
    assert.throws(() => new Outbox({ file: tmpFile('x.db'), targets: [] }), /no delivery target/);
    assert.throws(() => new Outbox({ file: tmpFile('x.db'), targets: ['a'], maxRows: 0 }), /maxRows/);
    assert.throws(() => new Outbox({ file: tmpFile('x.db'), targets: ['a'], fullPolicy: 'yolo' }), /full policy/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-outbox-'));
    fs.writeFileSync(path.join(dir, 'bad.db'), 'this is not a database, it is a text file of some length '.repeat(40));
    assert.throws(() => new Outbox({ file: path.join(dir, 'bad.db'), targets: ['a'] }), (e) => e.code === 'OUTBOX' && /bad\.db/.test(e.message));
  });
});

describe('dispatcher', function () {
  it('delivers every result to every target in order, retries a failing target with backoff, resumes on availability', async function () {
    const ob = new Outbox({ file: tmpFile('d.db'), targets: ['a', 'b'] });
    const a = target('a', { batchSize: 7 });
    const b = target('b', { batchSize: 5, down: true });
    const d = new Dispatcher(ob, [a, b], { backoff: { baseMs: 20, maxMs: 60_000 } });
    const failed = [];
    d.on('failed', (s, delay) => failed.push([s.name, delay]));
    d.start();
    for (let i = 1; i <= 50; i++) {
      ob.enqueue(`r${i}`, body(i));
      d.notify();
    }
    await until(() => a.got.length === 50, 5000, 'a got all');
    assert.deepEqual(a.got, Array.from({ length: 50 }, (_, k) => `r${k + 1}`));
    await until(() => failed.length >= 3, 5000, 'b failing');
    assert.equal(d.states().find((s) => s.name === 'b').lastError, 'b is down');
    assert.ok(d.states().find((s) => s.name === 'b').failingSince > 0);
    assert.equal(ob.rows, 50);
    // the backoff grows towards minutes; availability must wake it at once
    b.up();
    await until(() => b.got.length === 50, 3000, 'b got all after up');
    assert.deepEqual(b.got, a.got);
    await until(() => ob.rows === 0, 2000, 'outbox empty');
    assert.equal(d.states().find((s) => s.name === 'b').lastError, undefined);
    await d.stop();
    ob.close();
  });

  it('treats a target that never confirms as failed (timeout) and stops within its grace time', async function () {
    const ob = new Outbox({ file: tmpFile('t.db'), targets: ['h'] });
    const h = target('h');
    h.hang = true;
    const d = new Dispatcher(ob, [h], { backoff: { baseMs: 10, maxMs: 20 }, timeoutMs: 100 });
    const errs = [];
    d.on('failed', (s) => errs.push(s.lastError));
    d.start();
    ob.enqueue('r1', body(1));
    d.notify();
    await until(() => errs.length >= 2, 3000, 'timeouts');
    assert.match(errs[0], /no confirmation within 100 ms/);
    // the delivery never settles: stop() ends by its grace time, or never (and the test times out)
    await d.stop(200);
    assert.equal(ob.rows, 1, 'the hanging delivery was not acknowledged');
    ob.close();
  });

  it('publishes outbox depth and age as Prometheus metrics', async function () {
    const ob = new Outbox({ file: tmpFile('m.db'), targets: ['x'] });
    ob.enqueue('r1', body(1));
    const untrack = trackOutbox({ labels: { node_id: 'n1', node_name: 'pub' }, sample: () => [{ target: 'x', ...ob.stats('x') }] });
    const broken = trackOutbox({ labels: { node_id: 'n2', node_name: '' }, sample: () => { throw new Error('closed'); } });
    try {
      const text = await registry.metrics();
      assert.match(text, /spotfusion_outbox_depth\{node_id="n1",node_name="pub",target="x"\} 1/);
      assert.match(text, /spotfusion_outbox_oldest_age_seconds\{node_id="n1",node_name="pub",target="x"\} [\d.]+/);
    } finally {
      untrack();
      broken();
      ob.close();
    }
    assert.doesNotMatch(await registry.metrics(), /node_id="n1"/);
  });
});

describe('SQLite result store', function () {
  it('stores results and spots once per resultId and keeps at most keepRows', function () {
    const file = tmpFile('results.db');
    const store = new SqliteResultStore(file, 3);
    const res = (i) =>
      JSON.stringify({
        resultId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        part: { serial: `S${i}`, program: 1 },
        station: { line: 'L', area: 'A', station: 'ST', camera: 'c' },
        verdict: 'OK',
        resultCode: 1,
        classId: 0,
        model: null,
        timestamps: { result: new Date().toISOString() },
        spots: [{ spotId: 'a', verdict: 'OK', score: 0.9, values: { value: { value: 5 } }, box: { x: 1, y: 1, w: 2, h: 2 } }, { spotId: 'b', verdict: 'MISSING' }],
      });
    assert.equal(store.insertMany([res(1), res(2)]), 2);
    assert.equal(store.insertMany([res(2), res(3)]), 1);
    assert.equal(store.count(), 3);
    store.insertMany([res(4), res(5)]);
    assert.equal(store.count(), 3);
    store.close();
    store.close();
  });
});
