/**
 * Delivers the outbox to its targets: one loop per target, in sequence order, a batch at a time; a batch's
 * cursor advances only after the target confirmed the whole batch. A failed or timed-out batch is retried
 * (the same rows, from the cursor) after a capped, jittered backoff, or as soon as the target says it is
 * available again. At-least-once per target: a batch that failed half-way may reach a target twice, which is
 * why every target is keyed on resultId (PostgreSQL and SQLite ignore the second insert).
 */
import { EventEmitter } from 'node:events';
import { Backoff, BackoffOptions } from '../backoff';
import { SpotFusionError, describeError } from '../errors';
import type { Outbox, OutboxRow } from './outbox';

export interface DeliveryTarget {
  /** cursor name, stable across restarts, e.g. "amqp:<config id>" */
  readonly name: string;
  /** short label for status, e.g. "amqp" */
  readonly label: string;
  /** most rows per deliver() call */
  readonly batchSize: number;
  /** Deliver the rows in order; resolve only when the target confirmed every one. */
  deliver(rows: readonly OutboxRow[]): Promise<void>;
  /** Call `cb` whenever the target may be reachable again (a reconnect); returns the unsubscribe. */
  onAvailable?(cb: () => void): () => void;
  /** this target's limit for one deliver() (default: the dispatcher's timeoutMs) */
  readonly timeoutMs?: number;
  /** a target new to the outbox starts with the results still waiting there, not only with new ones */
  readonly backlog?: boolean;
  /** the connection the target delivers over, for status: down while it is not connected */
  readonly connection?: { readonly state: string; readonly lastError: string | undefined };
}

/**
 * The error code deliver() throws for rows the target can never take (e.g. a result code out of the range of
 * the PLC tag): the batch is skipped for that target (its cursor moves past it; use it with batchSize 1) and
 * reported with 'undeliverable', so one bad result cannot stop the target forever. Any other error is retried.
 */
export const UNDELIVERABLE = 'UNDELIVERABLE';

export interface DispatcherOptions {
  backoff?: BackoffOptions;
  /** a deliver() still pending after this is a failure (default 10 000 ms) */
  timeoutMs?: number;
}

export interface TargetState {
  name: string;
  label: string;
  delivered: number;
  failures: number;
  /** rows skipped because the target refused them for good (UNDELIVERABLE) */
  undeliverable: number;
  lastError: string | undefined;
  /** since when the target has been failing (ms epoch), undefined while it delivers */
  failingSince: number | undefined;
  lastDeliveredAt: number | undefined;
}

interface Loop {
  target: DeliveryTarget;
  state: TargetState;
  backoff: Backoff;
  wake: (() => void) | undefined;
  waitingIdle: boolean;
  done: Promise<void>;
  unsubscribe: (() => void) | undefined;
}

export class Dispatcher extends EventEmitter {
  private readonly loops: Loop[] = [];
  private stopped = false;
  private readonly timeoutMs: number;

  constructor(private readonly outbox: Outbox, targets: readonly DeliveryTarget[], opts: DispatcherOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    for (const target of targets) {
      const loop: Loop = {
        target,
        state: { name: target.name, label: target.label, delivered: 0, failures: 0, undeliverable: 0, lastError: undefined, failingSince: undefined, lastDeliveredAt: undefined },
        backoff: new Backoff(opts.backoff),
        wake: undefined,
        waitingIdle: false,
        done: Promise.resolve(),
        unsubscribe: undefined,
      };
      this.loops.push(loop);
    }
    this.on('error', () => undefined);
  }

  start(): void {
    for (const loop of this.loops) {
      loop.unsubscribe = loop.target.onAvailable?.(() => {
        loop.backoff.reset();
        loop.wake?.();
      });
      loop.done = this.run(loop);
    }
  }

  /** New rows were committed: wake the targets that are waiting for work (not those backing off). */
  notify(): void {
    for (const loop of this.loops) if (loop.waitingIdle) loop.wake?.();
  }

  states(): TargetState[] {
    return this.loops.map((l) => ({ ...l.state }));
  }

  /** Stop every loop; a delivery in flight may finish (and is then acknowledged) within graceMs. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopped = true;
    for (const loop of this.loops) {
      loop.unsubscribe?.();
      loop.wake?.();
    }
    let t: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.loops.map((l) => l.done)),
      new Promise<void>((resolve) => {
        t = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(t);
  }

  private sleep(loop: Loop, ms: number | undefined, idle: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (timer) clearTimeout(timer);
        loop.wake = undefined;
        loop.waitingIdle = false;
        resolve();
      };
      loop.wake = finish;
      loop.waitingIdle = idle;
      if (ms !== undefined) timer = setTimeout(finish, ms);
    });
  }

  private withTimeout(p: Promise<void>, label: string, ms: number): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      t = setTimeout(() => reject(new SpotFusionError('TIMEOUT', `${label}: no confirmation within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  }

  private async run(loop: Loop): Promise<void> {
    const { target, state } = loop;
    while (!this.stopped) {
      let rows: OutboxRow[];
      try {
        rows = this.outbox.pending(target.name, target.batchSize);
      } catch (err) {
        if (this.stopped) return;
        this.emit('error', err);
        await this.sleep(loop, loop.backoff.next(), false);
        continue;
      }
      if (rows.length === 0) {
        await this.sleep(loop, undefined, true);
        continue;
      }
      let refused: unknown;
      try {
        await this.withTimeout(target.deliver(rows), target.label, target.timeoutMs ?? this.timeoutMs);
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code !== UNDELIVERABLE) {
          state.failures += 1;
          state.lastError = describeError(err);
          state.failingSince ??= Date.now();
          const delay = loop.backoff.next();
          this.emit('failed', { ...state }, delay);
          if (this.stopped) return;
          await this.sleep(loop, delay, false);
          continue;
        }
        refused = err;
      }
      if (!this.outbox.open) return;
      try {
        this.outbox.ack(target.name, rows[rows.length - 1].seq, refused === undefined ? rows.length : 0);
      } catch (err) {
        this.emit('error', err);
        await this.sleep(loop, loop.backoff.next(), false);
        continue;
      }
      loop.backoff.reset();
      const recovered = state.failingSince !== undefined;
      state.lastError = undefined;
      state.failingSince = undefined;
      if (refused !== undefined) {
        state.undeliverable += rows.length;
        this.emit('undeliverable', { ...state }, rows, refused);
        continue;
      }
      state.delivered += rows.length;
      state.lastDeliveredAt = Date.now();
      this.emit('delivered', { ...state }, rows.length, recovered);
    }
  }
}
