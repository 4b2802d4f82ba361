'use strict';
// The plant targets of the station flow (flows/station.json: PostgreSQL, RabbitMQ and MQTT, targets of the
// station's one result-publish, on where RESULT_TARGETS names them) for the hardening tests: each reached through
// a TcpProxy (test/support/tcp-proxy.js) that a test can cut() and restore(), with names of its own per run
// (STATION_ID, PostgreSQL schema, AMQP exchange and queue, MQTT topic) so that reruns and other tests are not
// disturbed, and readers that see what each server got: PostgreSQL rows, every AMQP message (its messageId),
// every MQTT message (its v5 user property resultId). The station flow has no Redis target.
const crypto = require('node:crypto');
const amqplib = require('amqplib');
const mqtt = require('mqtt');
const { TcpProxy } = require('../support/tcp-proxy');
const { until } = require('../support/wait');
const { connectPostgres } = require('../support/services');

/** how many entries of `list` repeat an earlier one */
function repeats(list) {
  return list.length - new Set(list).size;
}

class PlantTargets {
  static async start() {
    const t = new PlantTargets();
    t.run = crypto.randomBytes(4).toString('hex');
    t.names = {
      station: `ST-${t.run}`,
      schema: `sftargets_${t.run}`,
      exchange: `sftargets.${t.run}`,
      queue: `sftargets.${t.run}.all`,
      topic: `sftargets/${t.run}/{line}/{station}/result`,
    };
    try {
      t.proxies = { amqp: await TcpProxy.start(5672), pg: await TcpProxy.start(5432), mqtt: await TcpProxy.start(1883) };
      t.pg = await connectPostgres();
      // what the flow declares (durable topic exchange, durable queue bound with '#'), declared first so that no
      // message can go to an exchange without its queue; the test consumes every message as it comes
      t.amqpConn = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
      t.amqpConn.on('error', () => undefined);
      t.amqpCh = await t.amqpConn.createChannel();
      t.amqpCh.on('error', () => undefined);
      await t.amqpCh.assertExchange(t.names.exchange, 'topic', { durable: true });
      await t.amqpCh.assertQueue(t.names.queue, { durable: true });
      await t.amqpCh.bindQueue(t.names.queue, t.names.exchange, '#');
      t.amqp = []; // { messageId, body }
      await t.amqpCh.consume(t.names.queue, (m) => {
        if (m) t.amqp.push({ messageId: m.properties.messageId, body: m.content.toString('utf8') });
      }, { noAck: true });
      t.mqtt = []; // { resultId (v5 user property), body }
      t.sub = await mqtt.connectAsync({ host: '127.0.0.1', port: 1883, protocolVersion: 5, clientId: `sftargets-${t.run}-sub`, reconnectPeriod: 0, clean: true });
      t.sub.on('error', () => undefined);
      t.sub.on('message', (_topic, payload, packet) => {
        if (payload.length === 0) return; // our own clearing of the retained message
        t.mqtt.push({ resultId: packet.properties?.userProperties?.resultId, body: payload.toString('utf8'), topic: _topic });
      });
      await t.sub.subscribeAsync(t.names.topic.replace('{line}', '+').replace('{station}', '+'), { qos: 1 });
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /**
   * Node-RED's environment: the station id, every plant target on (as `spotfusion plant generate` sets
   * RESULT_TARGETS for a plant with these services) and the tab variables pointing at the proxies. The flow
   * itself is deployed as it is: no patch, no tab to enable.
   */
  env() {
    return {
      STATION_ID: this.names.station,
      RESULT_TARGETS: 'sqlite,postgres,amqp,mqtt',
      DATABASE_HOST: '127.0.0.1',
      DATABASE_PORT: String(this.proxies.pg.port),
      DATABASE_NAME: 'test',
      DATABASE_SCHEMA: this.names.schema,
      AMQP_HOST: '127.0.0.1',
      AMQP_PORT: String(this.proxies.amqp.port),
      AMQP_EXCHANGE: this.names.exchange,
      AMQP_QUEUE: this.names.queue,
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(this.proxies.mqtt.port),
      MQTT_TOPIC: this.names.topic,
    };
  }

  /** result ids in PostgreSQL, in insert order ([] before the flow created the table) */
  async pgIds() {
    const r = await this.pg.query(`SELECT result_id::text AS id FROM "${this.names.schema}".inspection_result ORDER BY stored_at`).catch((err) => {
      if (err.code === '42P01' || err.code === '3F000') return { rows: [] }; // table or schema not there yet
      throw err;
    });
    return r.rows.map((row) => row.id);
  }

  amqpIds() {
    return this.amqp.map((m) => m.messageId);
  }

  mqttIds() {
    return this.mqtt.map((m) => m.resultId);
  }

  /** every message names its result: AMQP messageId and MQTT user property equal the body's resultId */
  checkIds() {
    const bad = [];
    for (const m of this.amqp) if (m.messageId !== JSON.parse(m.body).resultId) bad.push(`amqp messageId ${m.messageId}`);
    for (const m of this.mqtt) if (m.resultId !== JSON.parse(m.body).resultId) bad.push(`mqtt user property resultId ${m.resultId}`);
    return bad;
  }

  /** the ids `want` that a target does not have yet, by target: { postgres: [...], amqp: [...], mqtt: [...] } */
  async missing(want) {
    const have = { postgres: new Set(await this.pgIds()), amqp: new Set(this.amqpIds()), mqtt: new Set(this.mqttIds()) };
    const out = {};
    for (const [k, set] of Object.entries(have)) out[k] = want.filter((id) => !set.has(id));
    return out;
  }

  /** Wait until every id of `want` is in every target; throws naming what is missing where. */
  async waitAll(want, ms) {
    let last;
    try {
      await until(async () => {
        last = await this.missing(want);
        return Object.values(last).every((l) => l.length === 0);
      }, ms, 'every result in PostgreSQL, AMQP and MQTT');
    } catch (err) {
      const detail = Object.entries(last || {}).map(([k, l]) => `${k}: ${l.length} missing${l.length ? ` (${l.slice(0, 5).join(', ')})` : ''}`).join('; ');
      throw new Error(`${err.message}: ${detail}`);
    }
  }

  async close() {
    for (const p of Object.values(this.proxies || {})) await p.close();
    if (this.sub) {
      // the flow publishes retained: clear the retained message of the station's topic
      for (const topic of new Set(this.mqtt.map((m) => m.topic))) await this.sub.publishAsync(topic, '', { qos: 1, retain: true });
      await this.sub.endAsync().catch(() => undefined);
    }
    if (this.amqpCh) {
      await this.amqpCh.deleteQueue(this.names.queue).catch(() => undefined);
      await this.amqpCh.deleteExchange(this.names.exchange).catch(() => undefined);
    }
    if (this.amqpConn) await this.amqpConn.close().catch(() => undefined);
    if (this.pg) {
      await this.pg.query(`DROP SCHEMA IF EXISTS "${this.names.schema}" CASCADE`).catch(() => undefined);
      await this.pg.end().catch(() => undefined);
    }
  }
}

module.exports = { PlantTargets, repeats };
