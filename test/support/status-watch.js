'use strict';
// Node statuses as the editor sees them: a websocket to a running Node-RED's /comms, subscribed to status/#.

/** Resolves to { statuses: Map(nodeId → [{ text, fill, shape }...]), close() }. */
async function watchStatus(port) {
  const WebSocket = require(require.resolve('ws', { paths: [require.resolve('node-red')] }));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  const statuses = new Map();
  ws.on('error', () => undefined);
  ws.on('message', (data) => {
    let list;
    try {
      list = JSON.parse(String(data));
    } catch (notJson) {
      list = [{ topic: 'unparsed', data: notJson.message }];
    }
    for (const m of Array.isArray(list) ? list : [list]) {
      if (typeof m.topic !== 'string' || !m.topic.startsWith('status/')) continue;
      const id = m.topic.slice('status/'.length);
      if (!statuses.has(id)) statuses.set(id, []);
      statuses.get(id).push(m.data || {});
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  return { statuses, close: () => ws.terminate() };
}

module.exports = { watchStatus };
