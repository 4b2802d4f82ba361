'use strict';
// Redeploys and what they leave behind, counted per kind of resource: a flow with a PLC on OPC UA (node-opcua
// server on 127.0.0.1, sessions counted by the server), Redis (redis-cache), an ONNX model (infer), and
// result-publish to RabbitMQ, MQTT, PostgreSQL and SQLite — all real servers on loopback — is deployed in full
// and in part (user nodes changed, then config nodes changed, so their connections close and open again) many
// times. Afterwards every connection is open again exactly once: OPC UA sessions (server side), Redis clients
// and PostgreSQL backends of this process (as the servers list them), TCP connections to RabbitMQ and Mosquitto,
// open ONNX sessions, and no more timers than at the start.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { helper, onTab, until } = require('../support/red');
const { requireService, connectPostgres, connectRedis } = require('../support/services');
const { connectionsTo, redisClientsOf, pgBackendsOf } = require('./resources');
const { OpcuaSimulator } = require('../../dist/nodes/lib/plc/opcua-sim');
const { STATION_TAGS } = require('../../dist/nodes/lib/plc/logix-sim');
const { openSessionCount } = require('../../dist/nodes/lib/vision/model');

const NODES = [
  'plc-config',
  'plc-read',
  'plc-write',
  'spotfusion-redis-config',
  'redis-cache',
  'spotfusion-model-config',
  'infer',
  'spotfusion-amqp-config',
  'spotfusion-mqtt-config',
  'spotfusion-postgres-config',
  'result-publish',
].map((t) => require(`../../dist/nodes/${t}/${t}.js`));
const MODEL = path.join(__dirname, '..', '..', 'models', 'demo', 'spotfusion-demo.onnx');
const N = Number(process.env.SOAK_REDEPLOYS) > 0 ? Math.min(100, Number(process.env.SOAK_REDEPLOYS)) : 25;
const ua = (name) => `ns=1;s=${name}`;

const timers = () => process.getActiveResourcesInfo().filter((t) => t === 'Timeout').length;

describe('hardening: redeploys leave no connection, session or timer behind (OPC UA, Redis, ONNX, RabbitMQ, MQTT, PostgreSQL)', function () {
  this.timeout(180000);
  const run = crypto.randomBytes(4).toString('hex');
  let sim;
  let redis;
  let pg;
  let userDir;

  before(async function () {
    for (const s of ['rabbitmq', 'postgres', 'mosquitto', 'redis']) await requireService(this, s);
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-redeploy-'));
    helper.settings({ userDir });
    sim = await new OpcuaSimulator({ tags: STATION_TAGS }).start();
    redis = await connectRedis(9);
    pg = await connectPostgres();
  });

  after(async function () {
    await helper.unload();
    helper.settings({});
    if (sim) await sim.stop();
    if (redis) {
      await redis.del(`sftest:redeploy:${run}`);
      await redis.quit();
    }
    if (pg) {
      await pg.query(`DROP SCHEMA IF EXISTS "sftest_redeploy_${run}" CASCADE`);
      await pg.end();
    }
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  function flow(suffix = '', configSuffix = '') {
    return onTab([
      { id: 'plc', type: 'plc-config', name: `station PLC${configSuffix}`, protocol: 'opcua', endpoint: sim.endpointUrl, securityMode: 'None', securityPolicy: 'None', certFolder: 'pki', station: 'ST-R', timeout: 3000 },
      { id: 'read', type: 'plc-read', name: `read${suffix}`, plc: 'plc', tags: [{ name: 'Counter', address: ua('Counter'), type: 'DINT' }, { name: 'serial', address: ua('PartSerial'), type: 'STRING', role: 'serial' }], mode: 'poll', interval: 50, wires: [['cache']] },
      { id: 'write', type: 'plc-write', name: `write${suffix}`, plc: 'plc', tags: [{ name: 'Busy', address: ua('Busy'), type: 'BOOL' }], wires: [[]] },
      { id: 'rc', type: 'spotfusion-redis-config', name: `redis${configSuffix}`, host: '127.0.0.1', port: 6379, db: 9 },
      { id: 'cache', type: 'redis-cache', name: `cache${suffix}`, redis: 'rc', operation: 'set', key: `sftest:redeploy:${run}`, wires: [[]] },
      { id: 'mc', type: 'spotfusion-model-config', name: `model${configSuffix}`, path: MODEL, intraOpThreads: 1, executionProviders: 'cpu' },
      { id: 'infer', type: 'infer', name: `infer${suffix}`, model: 'mc', wires: [[]] },
      { id: 'amqpc', type: 'spotfusion-amqp-config', name: `amqp${configSuffix}`, host: '127.0.0.1', port: 5672, heartbeat: 5, reconnectMaxMs: 300 },
      { id: 'mqttc', type: 'spotfusion-mqtt-config', name: `mqtt${configSuffix}`, host: '127.0.0.1', port: 1883, clientId: `sftest-redeploy-${run}`, reconnectMaxMs: 300 },
      { id: 'pgc', type: 'spotfusion-postgres-config', name: `pg${configSuffix}`, host: '127.0.0.1', port: 5432, database: 'test', schema: `sftest_redeploy_${run}`, reconnectMaxMs: 300 },
      {
        id: 'pub',
        type: 'result-publish',
        name: `publish${suffix}`,
        amqp: 'amqpc',
        amqpExchange: `sftest.redeploy.${run}`,
        mqtt: 'mqttc',
        mqttTopic: `sftest/redeploy/${run}/{station}`,
        postgres: 'pgc',
        sqlite: true,
        retryMaxMs: 300,
        wires: [[]],
      },
    ]);
  }

  async function counts() {
    const pid = process.pid;
    const tcp = connectionsTo(pid, [5672, 1883]);
    return {
      opcuaSessions: sim.openSessions,
      redisClients: await redisClientsOf(redis, pid),
      pgBackends: await pgBackendsOf(pg, pid),
      amqpConnections: tcp[5672],
      mqttConnections: tcp[1883],
      onnxSessions: openSessionCount(),
    };
  }

  async function connected() {
    const configs = ['plc', 'rc', 'amqpc', 'mqttc', 'pgc'];
    const down = () => configs.filter((id) => !helper.getNode(id)?.connection?.connected);
    try {
      await until(() => down().length === 0, 15000, 'every connection up');
    } catch (err) {
      const why = down().map((id) => [id, helper.getNode(id) ? Object.keys(helper.getNode(id)).join(',') : 'no node']).concat(down().map((id) => `${id}: ${helper.getNode(id)?.connection?.state} (${helper.getNode(id)?.connection?.lastError})`));
      const logged = helper.log().args.map((a) => a[0]).filter((m) => m && m.level <= 30).map((m) => `${m.type || ''} ${m.id || ''}: ${m.msg ?? JSON.stringify(m).slice(0, 600)}`);
      throw new Error(`${err.message}; down: ${why.join('; ')}; errors and warnings logged: ${logged.join(' | ').slice(0, 2000)}`);
    }
  }

  it(`${N} full and ${N} partial deploys (user nodes, then config nodes): each connection and session open once, no extra timer`, async function () {
    const ourBefore = openSessionCount();
    await helper.load(NODES, flow());
    await connected();
    // the flow's own connections: the test's Redis and PostgreSQL clients are sockets of this process too
    const base = await until(async () => {
      const c = await counts();
      return c.opcuaSessions === 1 && c.amqpConnections >= 1 && c.mqttConnections >= 1 && c.onnxSessions === ourBefore + 1 && c;
    }, 15000, 'the first deploy connected to every server');
    const timersBefore = timers();
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
      await helper.setFlows(flow(` ${i}`, ''), 'full');
      // partial: the user nodes change (their config nodes and connections stay), then the config nodes change
      // (Node-RED stops them and every node that uses them: connections close and open again)
      await helper.setFlows(flow(` ${i}b`, ''), 'nodes');
      await helper.setFlows(flow(` ${i}b`, ` ${i}`), 'nodes');
    }
    const deployS = ((Date.now() - t0) / 1000).toFixed(1);
    await connected();
    let last;
    try {
      await until(async () => {
        last = await counts();
        return JSON.stringify(last) === JSON.stringify(base) && timers() <= timersBefore;
      }, 20000, 'the counts of the first deploy again');
    } catch (err) {
      assert.deepEqual({ ...last, timers: timers() }, { ...base, timers: timersBefore }, `after ${3 * N} deploys (${err.message})`);
    }
    // and the flow still works: the PLC is read and Redis written after the last deploy
    await redis.del(`sftest:redeploy:${run}`);
    await until(async () => (await redis.exists(`sftest:redeploy:${run}`)) === 1, 5000, 'redis-cache writes after the last deploy');
    this.test.title += ` [${3 * N} deploys in ${deployS} s; at the start and the end: ${Object.entries(base).map(([k, v]) => `${k} ${v}`).join(', ')}, timers ${timersBefore} → ${timers()}]`;
  });
});
