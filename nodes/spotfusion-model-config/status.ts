import type { NodeStatus } from 'node-red';
import type { HostEvent } from '../lib/vision/model';
import type { Translate } from '../shared/i18n';

/** Status every user of a model config shows for the host's state. */
export function modelStatus(e: HostEvent, tr: Translate): NodeStatus {
  const id = e.model ? `${e.model.name} ${e.model.version}` : '';
  switch (e.state) {
    case 'loading':
      return { fill: 'yellow', shape: 'ring', text: id ? tr('spotfusion-model-config.status.loadingNew', { model: id }) : tr('spotfusion-model-config.status.loading') };
    case 'ready':
      return e.lastError
        ? { fill: 'yellow', shape: 'dot', text: tr('spotfusion-model-config.status.newFailed', { model: id, error: e.lastError }).slice(0, 120) }
        : { fill: 'green', shape: 'dot', text: id };
    case 'failed':
      return { fill: 'red', shape: 'dot', text: tr('spotfusion-model-config.status.failed', { error: e.lastError ?? '' }).slice(0, 120) };
    case 'idle':
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: tr('spotfusion-model-config.status.none') };
  }
}

