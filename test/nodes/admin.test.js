'use strict';
const assert = require('node:assert/strict');
const { helper, onTab, nextMessage, until } = require('../support/red');
const { requireService } = require('../support/services');
const { freePort } = require('../support/redis-server');
const NODES = [require('../../dist/nodes/spotfusion-redis-config/spotfusion-redis-config.js'), require('../../dist/nodes/redis-cache/redis-cache.js')];

function flow(port) {
  return onTab([
    { id: 'rc', type: 'spotfusion-redis-config', name: 'station redis', host: '127.0.0.1', port, db: 9, keyPrefix: `sfadmin:${process.pid}:` },
    { id: 'cache', type: 'redis-cache', name: 'reader', redis: 'rc', operation: 'get', key: 'k', wires: [['out']] },
    { id: 'out', type: 'helper' },
    { id: 'catch', type: 'catch', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ]);
}

describe('health and metrics endpoints on the admin server', function () {
  before(async function () {
    await requireService(this, 'redis');
    await helper.startServer();
  });
  after(async function () {
    await helper.stopServer();
  });
  afterEach(async function () {
    await helper.unload();
  });

  it('is 200 with every connection in use up, and counts messages, errors and timings per node', async function () {
    await helper.load(NODES, flow(6379));
    await until(() => helper.getNode('rc').connection.connected, 5000, 'connected');
    const h = await helper.request().get('/spotfusion/health').expect(200);
    assert.equal(h.body.status, 'up');
    assert.deepEqual(
      h.body.connections.map((c) => [c.id, c.type, c.name, c.state, c.inUse]),
      [['rc', 'spotfusion-redis-config', 'station redis', 'connected', true]],
    );
    assert.match(h.body.connections[0].target, /redis 127\.0\.0\.1:6379 db 9/);

    for (let i = 0; i < 3; i++) {
      const out = nextMessage(helper.getNode('out'));
      helper.getNode('cache').receive({});
      await out;
    }
    const m = await helper.request().get('/spotfusion/metrics').expect(200);
    assert.match(m.text, /spotfusion_node_messages_total\{node_id="cache",node_type="redis-cache",node_name="reader"\} 3/);
    assert.match(m.text, /spotfusion_node_processing_seconds_count\{node_id="cache",node_type="redis-cache",node_name="reader"\} 3/);
    assert.match(m.text, /spotfusion_connection_up\{config_id="rc",config_type="spotfusion-redis-config",config_name="station redis"\} 1/);
  });

  it('counts errors and is 503 while a connection in use is down', async function () {
    await helper.load(NODES, flow(await freePort()));
    await until(() => helper.getNode('rc').connection.state === 'reconnecting', 5000, 'reconnecting');
    const h = await helper.request().get('/spotfusion/health').expect(503);
    assert.equal(h.body.status, 'down');
    assert.equal(h.body.connections[0].state, 'reconnecting');
    const caught = nextMessage(helper.getNode('caught'));
    helper.getNode('cache').receive({});
    await caught;
    const m = await helper.request().get('/spotfusion/metrics').expect(200);
    assert.match(m.text, /spotfusion_node_errors_total\{node_id="cache",node_type="redis-cache",node_name="reader"\} 1/);
    assert.match(m.text, /spotfusion_connection_up\{config_id="rc",config_type="spotfusion-redis-config",config_name="station redis"\} 0/);
    assert.match(m.text, /spotfusion_connection_attempts_failed_total\{config_id="rc"/);
  });

  it('drops a removed config node from health and its series from metrics', async function () {
    await helper.load(NODES, flow(6379));
    await until(() => helper.getNode('rc').connection.connected, 5000, 'connected');
    await helper.setFlows(onTab([{ id: 'x', type: 'helper' }]), 'full');
    const h = await helper.request().get('/spotfusion/health').expect(200);
    assert.deepEqual(h.body.connections, []);
    const m = await helper.request().get('/spotfusion/metrics').expect(200);
    assert.doesNotMatch(m.text, /config_id="rc"/);
    assert.doesNotMatch(m.text, /node_id="cache"/);
  });
});
