import type { NodeStatus } from 'node-red';
import type { StateChange } from '../lib/connection';

/** Status of a node that uses a connection, from the connection's state. One place, every node. */
export function connectionStatus(change: StateChange): NodeStatus {
  switch (change.state) {
    case 'connected':
      return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' };
    case 'reconnecting': {
      const retry = change.retryInMs !== undefined ? `, retry in ${(change.retryInMs / 1000).toFixed(1)} s` : '';
      return { fill: 'red', shape: 'ring', text: `${change.lastError ?? 'disconnected'}${retry}`.slice(0, 120) };
    }
    case 'failed':
      return { fill: 'red', shape: 'dot', text: (change.lastError ?? 'failed').slice(0, 120) };
    case 'idle':
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: 'node-red:common.status.disconnected' };
  }
}

export function errorStatus(message: string): NodeStatus {
  return { fill: 'red', shape: 'dot', text: message.slice(0, 120) };
}
