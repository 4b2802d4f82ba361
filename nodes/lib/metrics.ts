import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry for the package (not prom-client's global one, so we never clash with another
 * package's metrics in the same runtime). Served at /spotfusion/metrics.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'spotfusion_' });

const nodeLabels = ['node_id', 'node_type', 'node_name'] as const;

export const messagesTotal = new Counter({
  name: 'spotfusion_node_messages_total',
  help: 'Messages handled by a SpotFusion node',
  labelNames: nodeLabels,
  registers: [registry],
});

export const errorsTotal = new Counter({
  name: 'spotfusion_node_errors_total',
  help: 'Messages that a SpotFusion node failed with an error (sent to Catch)',
  labelNames: nodeLabels,
  registers: [registry],
});

export const processingSeconds = new Histogram({
  name: 'spotfusion_node_processing_seconds',
  help: 'Time from input to done per message',
  labelNames: nodeLabels,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const connectionUp = new Gauge({
  name: 'spotfusion_connection_up',
  help: '1 when the connection of a config node is open, 0 otherwise',
  labelNames: ['config_id', 'config_type', 'config_name'],
  registers: [registry],
});

export const connectionReconnects = new Counter({
  name: 'spotfusion_connection_attempts_failed_total',
  help: 'Failed or lost connection attempts per config node',
  labelNames: ['config_id', 'config_type', 'config_name'],
  registers: [registry],
});

export function nodeLabelValues(node: { id: string; type: string; name?: string }): Record<(typeof nodeLabels)[number], string> {
  return { node_id: node.id, node_type: node.type, node_name: node.name ?? '' };
}

/** Drop the series of a node that was removed by a deploy, so removed nodes do not linger. */
export function forgetNode(node: { id: string; type: string; name?: string }): void {
  const labels = nodeLabelValues(node);
  messagesTotal.remove(labels);
  errorsTotal.remove(labels);
  processingSeconds.remove(labels);
}

export function forgetConnection(labels: { config_id: string; config_type: string; config_name: string }): void {
  connectionUp.remove(labels);
  connectionReconnects.remove(labels);
}
