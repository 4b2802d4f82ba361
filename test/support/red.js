'use strict';
// The Node-RED test helper, pointed at the runtime under test: node-red (4.1) by default, or the one named
// by SPOTFUSION_NODE_RED (e.g. node-red-5, run under Node 22 by .ci/node22.sh).
const helper = require('node-red-node-test-helper');
const { until } = require('./wait');

if (process.env.SPOTFUSION_NODE_RED) {
  helper.init(require.resolve(process.env.SPOTFUSION_NODE_RED));
}

/** A tab plus nodes that all live on it (z set), so Catch and Status nodes see them. */
function onTab(nodes, tabId = 'tab1') {
  // x/y mark a node as a flow node; without them Node-RED treats it as a config node of the tab
  return [{ id: tabId, type: 'tab', label: 'test' }, ...nodes.map((n) => (n.type.endsWith('-config') ? n : { z: tabId, x: 100, y: 100, ...n }))];
}

/** Resolve when `node` emits an input message that satisfies `pred` (default: any). */
function nextMessage(node, pred = () => true, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      node.removeListener('input', onInput);
      reject(new Error(`no matching message on ${node.id} within ${timeoutMs} ms`));
    }, timeoutMs);
    function onInput(msg) {
      if (!pred(msg)) return;
      clearTimeout(t);
      node.removeListener('input', onInput);
      resolve(msg);
    }
    node.on('input', onInput);
  });
}

/**
 * Record every status the runtime reports, as the editor receives it ('node-status' on the runtime's event bus),
 * from now until stop(): unlike a Status node, it also sees a status set while the flow was starting.
 * statusOf(id, pred, timeoutMs) resolves to the first status of node `id` satisfying pred, seen or to come.
 */
function watchStatus() {
  const events = helper._events;
  const seen = [];
  const waiters = new Set();
  const onStatus = (e) => {
    seen.push(e);
    for (const w of waiters) w(e);
  };
  events.on('node-status', onStatus);
  return {
    seen,
    statusOf(id, pred = () => true, timeoutMs = 10000) {
      const hit = seen.find((e) => e.id === id && pred(e.status));
      if (hit) return Promise.resolve(hit.status);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching status of ${id} within ${timeoutMs} ms; seen: ${JSON.stringify(seen.filter((e) => e.id === id).map((e) => e.status))}`));
        }, timeoutMs);
        const w = (e) => {
          if (e.id !== id || !pred(e.status)) return;
          clearTimeout(t);
          waiters.delete(w);
          resolve(e.status);
        };
        waiters.add(w);
      });
    },
    stop() {
      events.removeListener('node-status', onStatus);
    },
  };
}

/** The messages logged at error level (or worse) since the last helper.load: [] when nothing went wrong. */
function loggedErrors() {
  const log = helper.log();
  return log.args.filter((a) => a[0] && a[0].level <= log.ERROR).map((a) => `${a[0].type || ''} ${a[0].id || ''}: ${a[0].msg}`);
}

module.exports = { helper, onTab, nextMessage, until, watchStatus, loggedErrors };
