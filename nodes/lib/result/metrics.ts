/**
 * Outbox metrics on the package registry: depth and age of the oldest undelivered result per target (read
 * from the live outboxes when Prometheus scrapes), deliveries, failures, and what the full policy did.
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics';

export interface OutboxSample {
  target: string;
  depth: number;
  oldestAgeMs: number | undefined;
}

export interface LiveOutbox {
  labels: { node_id: string; node_name: string };
  sample(): OutboxSample[];
}

const live = new Set<LiveOutbox>();

export function trackOutbox(o: LiveOutbox): () => void {
  live.add(o);
  return () => {
    live.delete(o);
  };
}

function samples(): Array<{ labels: { node_id: string; node_name: string; target: string }; s: OutboxSample }> {
  const out: Array<{ labels: { node_id: string; node_name: string; target: string }; s: OutboxSample }> = [];
  for (const o of live) {
    let list: OutboxSample[];
    try {
      list = o.sample();
    } catch (err) {
      void err; // an outbox closing while scraped has no sample
      continue;
    }
    for (const s of list) out.push({ labels: { ...o.labels, target: s.target }, s });
  }
  return out;
}

export const outboxDepth = new Gauge({
  name: 'spotfusion_outbox_depth',
  help: 'Results in the outbox not yet confirmed by a target',
  labelNames: ['node_id', 'node_name', 'target'],
  registers: [registry],
  collect() {
    this.reset();
    for (const { labels, s } of samples()) this.set(labels, s.depth);
  },
});

export const outboxAge = new Gauge({
  name: 'spotfusion_outbox_oldest_age_seconds',
  help: 'Age of the oldest result a target has not confirmed yet (0 when none waits)',
  labelNames: ['node_id', 'node_name', 'target'],
  registers: [registry],
  collect() {
    this.reset();
    for (const { labels, s } of samples()) this.set(labels, (s.oldestAgeMs ?? 0) / 1000);
  },
});

export const outboxDelivered = new Counter({
  name: 'spotfusion_outbox_delivered_total',
  help: 'Results confirmed by a target',
  labelNames: ['node_id', 'target'],
  registers: [registry],
});

export const outboxFailures = new Counter({
  name: 'spotfusion_outbox_delivery_failures_total',
  help: 'Failed delivery attempts (batches) per target',
  labelNames: ['node_id', 'target'],
  registers: [registry],
});

export const outboxFull = new Counter({
  name: 'spotfusion_outbox_full_total',
  help: 'Results the full policy acted on: rejected (policy reject) or dropped undelivered (policy drop-oldest)',
  labelNames: ['node_id', 'action'],
  registers: [registry],
});

export const outboxUndeliverable = new Counter({
  name: 'spotfusion_outbox_undeliverable_total',
  help: 'Results a target refused for good (e.g. a result code out of the range of the PLC tag), skipped for that target',
  labelNames: ['node_id', 'target'],
  registers: [registry],
});

export const archiveFailures = new Counter({
  name: 'spotfusion_archive_failures_total',
  help: 'Parts whose archive images could not be written (the result names files that are missing)',
  labelNames: ['node_id'],
  registers: [registry],
});
