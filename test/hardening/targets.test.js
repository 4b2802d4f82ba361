'use strict';
// The plant targets of the station flow under faults: flows/station.json in a real Node-RED process
// (test/hardening/rig.js) with RESULT_TARGETS=sqlite,postgres,amqp,mqtt, so that the station's one result-publish
// feeds SQLite, PostgreSQL, RabbitMQ and MQTT from its one outbox (a cursor each), each network target reaching
// its server on loopback through a proxy the test cuts (test/hardening/targets-support.js). About 1.4 parts/s.
// - each target away for 3 s and back, in turn, while parts flow: every part triggered has its result once in
//   SQLite and PostgreSQL and in every AMQP and MQTT stream (message id = resultId), repeats counted;
// - Node-RED SIGKILLed at a random moment after a result landed in SQLite (results waiting in the outbox for
//   every target, maybe a part in flight) and started again on the same user dir: every result in SQLite
//   reaches every target, PostgreSQL and SQLite hold each once, only parts in flight at the kill may be missing.
// The station flow has no Redis target, so Redis is not part of these tests.
const assert = require('node:assert/strict');
const { StationRig, sleep } = require('./rig');
const { PlantTargets, repeats } = require('./targets-support');
const { until } = require('../support/wait');
const { requireService } = require('../support/services');

const PERIOD_MS = 700;
const OUTAGE_MS = 3000;

/** the resultIds of `rows` */
const idsOf = (rows) => rows.map((r) => r.result_id);

describe('hardening: plant targets of flows/station.json (PostgreSQL, RabbitMQ, MQTT through cut-able proxies)', function () {
  this.timeout(80000);
  let rig;
  let targets;

  before(async function () {
    for (const s of ['postgres', 'rabbitmq', 'mosquitto']) await requireService(this, s);
  });

  beforeEach(async function () {
    targets = await PlantTargets.start();
  });

  afterEach(async function () {
    if (rig) await rig.stop();
    rig = undefined;
    if (targets) await targets.close();
    targets = undefined;
  });

  async function startRig() {
    rig = await StationRig.start({ periodMs: PERIOD_MS, env: targets.env() });
  }

  /** every result of every part, exactly once where it must be, with its id where it travels as a message */
  async function checkEveryTarget(rows, { allowMissing = [] } = {}) {
    const ids = idsOf(rows);
    const serials = rows.map((r) => r.part_serial);
    assert.equal(new Set(serials).size, serials.length, `SQLite: a part with two results (${serials.filter((s, k) => serials.indexOf(s) !== k)})`);
    assert.deepEqual(rows.filter((r) => !rig.fired.has(r.part_serial)).map((r) => r.part_serial), [], 'results of parts never triggered');
    const stored = new Set(serials);
    const lost = [...rig.triggers.keys()].filter((s) => !stored.has(s));
    // A part whose trigger the station never answered with Busy, and that the PLC gave up on and replaced with the
    // next one, was never taken in: on a loaded machine (a stalled event loop) it happens, and it is not a result
    // lost by the outbox. Such parts are counted, and must stay rare; every part the station took is checked.
    const unseen = lost.filter((s) => !allowMissing.includes(s) && !rig.busy.has(s) && rig.cycles.get(s)?.done === false && rig.cycles.get(s) !== rig.current);
    assert.deepEqual(lost.filter((s) => !allowMissing.includes(s) && !unseen.includes(s)), [], `parts triggered without a result (PLC gave up waiting ${rig.timeouts} times)`);
    assert.ok(unseen.length <= Math.max(1, rig.triggers.size / 10), `${unseen.length} of ${rig.triggers.size} parts never seen by the station (${unseen.join(', ')})`);
    await targets.waitAll(ids, 30000);
    const pg = await targets.pgIds();
    assert.equal(repeats(pg), 0, 'PostgreSQL: a result stored twice');
    assert.deepEqual(new Set(pg), new Set(ids), 'PostgreSQL holds exactly the results of SQLite');
    assert.deepEqual(new Set(targets.amqpIds()), new Set(ids), 'AMQP: the results of SQLite, no other');
    assert.deepEqual(new Set(targets.mqttIds()), new Set(ids), 'MQTT: the results of SQLite, no other');
    assert.deepEqual(targets.checkIds(), [], 'a message whose id is not its resultId');
    return { lost, unseen, amqpRepeats: repeats(targets.amqpIds()), mqttRepeats: repeats(targets.mqttIds()) };
  }

  /** Start the station, let parts flow, and wait for two results in SQLite and in every target. */
  async function runUntilTwoEverywhere() {
    await startRig();
    rig.run();
    const first = await until(() => {
      const rows = rig.results();
      return rows.length >= 2 && rows;
    }, 30000, 'two results in SQLite');
    await targets.waitAll(idsOf(first), 20000);
  }

  it('RabbitMQ, PostgreSQL and MQTT each away for 3 s in turn while parts flow: every part in SQLite and PostgreSQL once, in AMQP and MQTT by its resultId', async function () {
    await runUntilTwoEverywhere();
    const figures = [];
    const recoveries = [];
    for (const [key, name] of [['amqp', 'RabbitMQ'], ['pg', 'PostgreSQL'], ['mqtt', 'MQTT']]) {
      const target = key === 'pg' ? 'postgres' : key;
      const cutAt = Date.now();
      targets.proxies[key].cut();
      await sleep(500);
      const before = new Set(idsOf(rig.results()));
      // away for OUTAGE_MS, longer on a slow machine: until two results were stored meanwhile
      const during = await until(() => {
        const ids = idsOf(rig.results()).filter((id) => !before.has(id));
        return Date.now() - cutAt >= OUTAGE_MS && ids.length >= 2 && ids;
      }, 20000, `two results stored while ${name} is away`);
      // the results stored while the target was away, and not in it: the cut really held them back
      const heldBack = (await targets.missing(during))[target];
      targets.proxies[key].restore();
      const restoredAt = Date.now();
      assert.ok(heldBack.length >= 1, `${name} away for ${restoredAt - cutAt} ms held back no result (${during.length} stored meanwhile)`);
      figures.push(`${name} away ${((restoredAt - cutAt) / 1000).toFixed(1)} s, ${heldBack.length} held back`);
      // in the background (never rejected, checked below): how long after the restore the target had every
      // result it missed
      recoveries.push(
        until(async () => (await targets.missing(heldBack))[target].length === 0, 30000, `${name}: the ${heldBack.length} results held back by the outage`).then(
          () => ({ text: `${name} ${((Date.now() - restoredAt) / 1000).toFixed(1)} s` }),
          (err) => ({ err }),
        ),
      );
    }
    const outcomes = await Promise.all(recoveries);
    for (const o of outcomes) if (o.err) throw o.err;
    const recovered = outcomes.map((o) => o.text);
    await sleep(2 * PERIOD_MS);
    rig.halt();
    const rows = await rig.drain(20000);
    const { unseen, amqpRepeats, mqttRepeats } = await checkEveryTarget(rows);
    assert.doesNotMatch(rig.log, /close timed out|uncaught|unhandled/i);
    this.test.title += ` [${rows.length} parts; ${figures.join(', ')}; caught up after the restore: ${recovered.join(', ')}; never seen by the station (PLC gave up) ${unseen.length}; repeats AMQP ${amqpRepeats}, MQTT ${mqttRepeats}]`;
  });

  it('Node-RED SIGKILLed at any moment after a result is stored in SQLite, results waiting for every target: after the restart every result in SQLite reaches PostgreSQL, AMQP and MQTT; PostgreSQL and SQLite hold each once; only parts in flight may be missing', async function () {
    await runUntilTwoEverywhere();
    // every target away: the next results wait in the outbox for each of them
    for (const p of Object.values(targets.proxies)) p.cut();
    const cutRows = rig.results().length;
    await until(() => rig.results().length >= cutRows + 2, 15000, 'two results stored while the targets are away');
    // the kill: at a moment drawn at random in [0, PERIOD_MS) after the next result lands in SQLite (KILL_DELAY_MS
    // replays one), wherever the station then is: committing, answering the PLC, grabbing or judging the next part
    const delay = process.env.KILL_DELAY_MS !== undefined ? Number(process.env.KILL_DELAY_MS) : Math.floor(Math.random() * PERIOD_MS);
    const seen = rig.results().length;
    const end = Date.now() + 15000;
    while (rig.results().length <= seen) {
      if (Date.now() > end) throw new Error(`timed out after 15000 ms waiting for a new result in SQLite to kill after (${seen} stored)`);
      await sleep(5);
    }
    if (delay > 0) await sleep(delay);
    rig.script.stop(); // a dead station sees no parts: the PLC waits while it is down
    rig.rt.proc.kill('SIGKILL');
    const { signal } = await rig.rt.exited;
    assert.equal(signal, 'SIGKILL');
    const acked = rig.results(); // in SQLite before the kill
    const ackedSerials = new Set(acked.map((r) => r.part_serial));
    const inFlight = [...rig.triggers.keys()].filter((s) => !ackedSerials.has(s));
    const waiting = await targets.missing(idsOf(acked));
    for (const [t, l] of Object.entries(waiting)) assert.ok(l.length >= 1, `no result waited for ${t} at the kill`);
    // the same user dir again, the targets back, more parts
    for (const p of Object.values(targets.proxies)) p.restore();
    const starts = () => (rig.rt.stdout.match(/\[info\] Started flows/g) || []).length;
    await rig.rt.start();
    await until(() => starts() >= 2, 20000, 'the flows started again after the kill');
    // the line sends parts once the station is back online: reading the PLC again (a trigger already high when
    // the station connects is no edge for plc-read)
    const readsAtStart = rig.sim.stats.tagReads;
    await until(() => rig.sim.stats.tagReads >= readsAtStart + 2, 20000, 'the restarted flow reading the PLC');
    const restartedAt = Date.now();
    rig.run();
    await until(() => rig.results().filter((r) => rig.triggers.get(r.part_serial) > restartedAt).length >= 3, 20000, 'three results of parts after the restart');
    rig.halt();
    await until(() => {
      const have = new Set(rig.results().map((r) => r.part_serial));
      return [...rig.triggers.keys()].every((s) => have.has(s) || inFlight.includes(s));
    }, 20000, 'a result for every part but those in flight at the kill');
    const rows = rig.results();
    const { lost, amqpRepeats, mqttRepeats } = await checkEveryTarget(rows, { allowMissing: inFlight });
    const final = new Set(idsOf(rows));
    assert.deepEqual(idsOf(acked).filter((id) => !final.has(id)), [], 'SQLite lost results stored before the kill');
    // parts in flight whose result was committed to the outbox before the kill (not yet in SQLite then): they
    // reached SQLite after the restart, and checkEveryTarget proved every target has them too
    const committed = inFlight.filter((s) => rows.some((r) => r.part_serial === s));
    const w = Object.entries(waiting).map(([t, l]) => `${t} ${l.length}`).join(', ');
    this.test.title += ` [killed ${delay} ms after a result landed in SQLite; ${rows.length} parts; in SQLite before the kill ${acked.length}, waiting in the outbox at the kill: ${w}; in flight ${inFlight.length} (${inFlight.join(', ')}), of them committed before the kill and delivered everywhere after it ${committed.length}, lost ${lost.length}; repeats AMQP ${amqpRepeats}, MQTT ${mqttRepeats}]`;
  });
});
