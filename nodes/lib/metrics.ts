import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Metric, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One Prometheus registry for the package (not prom-client's global one, so we never clash with another
 * package's metrics in the same runtime). Served at /spotfusion/metrics.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'spotfusion_' });

const nodeLabels = ['node_id', 'node_type', 'node_name'] as const;
export type NodeLabels = Record<(typeof nodeLabels)[number], string>;

const PROCESSING_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Message accounting of one node on the hot path: plain numbers, read by the Prometheus metrics below only when
 * they are scraped. (prom-client's own inc()/startTimer()/observe() check and hash the label set on every call,
 * some 2–3 µs per message; this costs two clock reads.)
 */
export class NodeMeter {
  messages = 0;
  errors = 0;
  /** finished messages (ok or failed) and the sum of their processing seconds */
  count = 0;
  sum = 0;
  /** finished messages per bucket of PROCESSING_BUCKETS, not cumulative; the last one is above the largest bound */
  readonly buckets: number[] = new Array<number>(PROCESSING_BUCKETS.length + 1).fill(0);

  constructor(readonly labels: NodeLabels) {}

  /** A message came in: count it; returns its start time for finish(). */
  start(): number {
    this.messages += 1;
    return performance.now();
  }

  /** The message is done (failed or not): time it. */
  finish(startedMs: number, failed: boolean): void {
    const seconds = (performance.now() - startedMs) / 1000;
    if (failed) this.errors += 1;
    this.count += 1;
    this.sum += seconds;
    let i = 0;
    while (i < PROCESSING_BUCKETS.length && seconds > PROCESSING_BUCKETS[i]) i += 1;
    this.buckets[i] += 1;
  }
}

/** The meters of the nodes that are running, by node id. */
const meters = new Map<string, NodeMeter>();

export function nodeMeter(node: { id: string; type: string; name?: string }): NodeMeter {
  const meter = new NodeMeter(nodeLabelValues(node));
  meters.set(node.id, meter);
  return meter;
}

function countersFromMeters(counter: Counter<(typeof nodeLabels)[number]>, pick: (m: NodeMeter) => number): void {
  counter.reset();
  for (const m of meters.values()) {
    const n = pick(m);
    if (n > 0) counter.inc(m.labels, n);
  }
}

export const messagesTotal = new Counter({
  name: 'spotfusion_node_messages_total',
  help: 'Messages handled by a SpotFusion node',
  labelNames: nodeLabels,
  registers: [registry],
  collect() {
    countersFromMeters(this, (m) => m.messages);
  },
});

export const errorsTotal = new Counter({
  name: 'spotfusion_node_errors_total',
  help: 'Messages that a SpotFusion node failed with an error (sent to Catch)',
  labelNames: nodeLabels,
  registers: [registry],
  collect() {
    countersFromMeters(this, (m) => m.errors);
  },
});

interface HistogramValue {
  metricName: string;
  labels: { le?: number | string };
  sharedLabels: NodeLabels;
  value: number;
}

/**
 * spotfusion_node_processing_seconds, a Prometheus histogram read from the meters (same exposition as a
 * prom-client Histogram: _bucket with le, _sum, _count per node).
 */
class ProcessingHistogram {
  readonly name = 'spotfusion_node_processing_seconds';
  readonly help = 'Time from input to done per message';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = nodeLabels;

  get(): { name: string; help: string; type: string; aggregator: string; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    for (const m of meters.values()) {
      if (m.count === 0) continue;
      let cumulative = 0;
      PROCESSING_BUCKETS.forEach((le, i) => {
        cumulative += m.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le }, sharedLabels: m.labels, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, sharedLabels: m.labels, value: m.count });
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: m.labels, value: m.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: m.labels, value: m.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const m of meters.values()) {
      m.count = 0;
      m.sum = 0;
      m.buckets.fill(0);
    }
  }
}

export const processingSeconds = new ProcessingHistogram();
// the registry only calls get() (and reset()) of a metric; prom-client's types list its own classes only
registry.registerMetric(processingSeconds as unknown as Metric);

/**
 * Memory outside the JS heap held by ArrayBuffers (frames, crops, tensors): part of
 * spotfusion_nodejs_external_memory_bytes, the first place to look when the RSS grows but the heap does not.
 */
new Gauge({
  name: 'spotfusion_nodejs_array_buffers_bytes',
  help: 'Memory held by ArrayBuffers and Buffers (process.memoryUsage().arrayBuffers), in bytes',
  registers: [registry],
  collect() {
    this.set(process.memoryUsage().arrayBuffers);
  },
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

export function nodeLabelValues(node: { id: string; type: string; name?: string }): NodeLabels {
  return { node_id: node.id, node_type: node.type, node_name: node.name ?? '' };
}

/** Drop the series of a node that was removed by a deploy, so removed nodes do not linger. */
export function forgetNode(node: { id: string; type: string; name?: string }, meter?: NodeMeter): void {
  // a node that is redeployed gets a new meter under the same id: only drop the one given, if any
  if (!meter || meters.get(node.id) === meter) meters.delete(node.id);
}

export function forgetConnection(labels: { config_id: string; config_type: string; config_name: string }): void {
  connectionUp.remove(labels);
  connectionReconnects.remove(labels);
}
