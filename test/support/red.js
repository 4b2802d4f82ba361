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

module.exports = { helper, onTab, nextMessage, until };
