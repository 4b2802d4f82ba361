import type { NodeStatus } from 'node-red';
import type { HostEvent } from '../lib/vision/model';

/** Status every user of a model config shows for the host's state. */
export function modelStatus(e: HostEvent): NodeStatus {
  const id = e.model ? `${e.model.name} ${e.model.version}` : '';
  switch (e.state) {
    case 'loading':
      return { fill: 'yellow', shape: 'ring', text: id ? `${id}; loading new version` : 'loading model' };
    case 'ready':
      return e.lastError
        ? { fill: 'yellow', shape: 'dot', text: `${id}; new version failed: ${e.lastError}`.slice(0, 120) }
        : { fill: 'green', shape: 'dot', text: id };
    case 'failed':
      return { fill: 'red', shape: 'dot', text: `model not loaded: ${e.lastError ?? ''}`.slice(0, 120) };
    case 'idle':
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: 'no model' };
  }
}

