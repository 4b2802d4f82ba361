import { performance } from 'node:perf_hooks';
import type { Node, NodeStatus } from 'node-red';
import type { StateChange } from '../lib/connection';
import type { Translate } from './i18n';

/**
 * Status of a node that uses a connection, from the connection's state. One place, every node. Texts of its own
 * come from the catalog of the connection's config node type `type` (status.retry, status.lost, status.failed).
 */
export function connectionStatus(change: StateChange, tr: Translate, type: string): NodeStatus {
  switch (change.state) {
    case 'connected':
      return { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' };
    case 'reconnecting': {
      const error = change.lastError ?? tr(`${type}.status.lost`);
      const text = change.retryInMs !== undefined ? tr(`${type}.status.retry`, { error, seconds: (change.retryInMs / 1000).toFixed(1) }) : error;
      return { fill: 'red', shape: 'ring', text: text.slice(0, 120) };
    }
    case 'failed':
      return { fill: 'red', shape: 'dot', text: (change.lastError ?? tr(`${type}.status.failed`)).slice(0, 120) };
    case 'idle':
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: 'node-red:common.status.disconnected' };
  }
}

export function errorStatus(message: string): NodeStatus {
  return { fill: 'red', shape: 'dot', text: message.slice(0, 120) };
}

/** a node's per-message status changes at most this often when only its text changes (bench/README.md) */
export const STATUS_MIN_INTERVAL_MS = 250;

/**
 * The status of one node, coalesced: a status whose colour or shape differs from the one shown is shown at once;
 * one that differs only in its text (counts, timings of the last part) is shown at most every
 * STATUS_MIN_INTERVAL_MS, the latest one at the end of the interval, so the editor always ends on the last part.
 * A status equal to the one shown costs nothing. Every status of a node goes through its line (errors with
 * now()), so a pending per-part status never covers a later error.
 */
export class StatusLine {
  private shown: NodeStatus | undefined;
  private shownAt = -Infinity;
  private pending: NodeStatus | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly node: Node,
    private readonly minIntervalMs = STATUS_MIN_INTERVAL_MS,
  ) {}

  /** a per-message status: coalesced as above */
  update(status: NodeStatus): void {
    if (this.closed) return;
    const last = this.shown;
    if (last && last.text === status.text && last.fill === status.fill && last.shape === status.shape) {
      this.pending = undefined;
      return;
    }
    const now = performance.now();
    if (!last || last.fill !== status.fill || last.shape !== status.shape || now - this.shownAt >= this.minIntervalMs) {
      this.show(status, now);
      return;
    }
    this.pending = status;
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const p = this.pending;
        if (p && !this.closed) this.show(p, performance.now());
      }, this.minIntervalMs - (now - this.shownAt));
      this.timer.unref();
    }
  }

  /** a status that must show at once (an error, a connection state): drops a pending per-message one */
  now(status: NodeStatus): void {
    if (this.closed) return;
    this.show(status, performance.now());
  }

  /** the node closes: no timer left, nothing shown any more */
  close(): void {
    this.closed = true;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private show(status: NodeStatus, at: number): void {
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.shown = status;
    this.shownAt = at;
    this.node.status(status);
  }
}

const lines = new WeakMap<Node, StatusLine>();

/** The node's status line (made on first use; closed with the node). */
export function statusLine(node: Node): StatusLine {
  let line = lines.get(node);
  if (!line) {
    const made = new StatusLine(node);
    line = made;
    lines.set(node, made);
    node.on('close', (_removed: boolean, done: () => void) => {
      made.close();
      lines.delete(node);
      done();
    });
  }
  return line;
}

/**
 * A status that must show at once (an error, a connection state): through the node's line when it has one (so a
 * pending per-message status does not cover it), else straight to the node (any object with status(), such as
 * result-publish's stand-in user of a connection).
 */
export function showStatus(node: Pick<Node, 'status'>, status: NodeStatus): void {
  const line = lines.get(node as Node);
  if (line) line.now(status);
  else node.status(status);
}
