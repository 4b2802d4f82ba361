'use strict';
// Shared by the benches that run nodes in node-red-node-test-helper.

/**
 * helper.load() wraps Node.prototype.send/status/log/... in sinon spies for assertions: every call is kept
 * and captures a stack trace (new Error + throw), which costs more than a Redis round trip here and is not
 * part of a Node-RED runtime. Both sides would pay it once per message; we take the spies off after load
 * (helper.unload() would do the same) so the figures are those of the runtime and the nodes.
 */
function removeHelperSpies(helper, nodeIds) {
  if (typeof helper._sandbox?.restore !== 'function') throw new Error('node-red-node-test-helper internals changed (_sandbox.restore): run with --keep-helper-spies');
  helper._sandbox.restore();
  for (const id of nodeIds) {
    // a Node copies Node.prototype.send (then the spy) into its own `send` when its wires are set: set them again
    const node = helper.getNode(id);
    node.updateWires(node.wires);
    if (typeof node.send?.resetHistory === 'function') throw new Error(`could not take the test helper spy off ${id}.send: run with --keep-helper-spies`);
  }
  if (typeof helper._NodePrototype?.send?.resetHistory === 'function') throw new Error('could not take the test helper spies off Node.prototype.send: run with --keep-helper-spies');
}

module.exports = { removeHelperSpies };
