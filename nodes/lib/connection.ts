import { EventEmitter } from 'node:events';
import { Backoff, BackoffOptions } from './backoff';
import { SpotFusionError, describeError } from './errors';

/**
 * idle: nobody uses the connection; connecting: first attempt; connected; reconnecting: lost or refused,
 * waiting for the next attempt; failed: the configuration can never connect (no retries); closed: the owner
 * is gone for good.
 */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** Error code a driver uses for a configuration that can never connect: no retries, state 'failed'. */
export const PERMANENT_ERROR_CODE = 'CONFIG';

/** What a protocol client must provide so that SharedConnection can own its life cycle. */
export interface ConnectionDriver<C> {
  /** Short label for logs and health, e.g. "redis 127.0.0.1:6379 db 0". */
  describe(): string;
  /** Open one connection. Must settle on its own (its own timeout), never hang. */
  open(): Promise<C>;
  /**
   * Listen for the loss of an open connection and for its errors. Return a function that removes every
   * listener it added, so none leak across reconnects.
   */
  watch(client: C, lost: (err: Error) => void): () => void;
  /** Close an open (or half-open) connection and free its sockets. */
  close(client: C): Promise<void>;
}

export interface SharedConnectionOptions extends BackoffOptions {
  /** how long close() of the driver may take before we give up waiting on it (default 3000 ms) */
  closeTimeoutMs?: number;
}

export interface StateChange {
  state: ConnectionState;
  lastError: string | undefined;
  /** for reconnecting: ms until the next attempt */
  retryInMs?: number;
}

/**
 * One connection shared by every user of a config node: reference counted (connects for the first user,
 * closes after the last), one attempt in flight at a time, capped backoff with jitter between attempts,
 * and every timer and listener gone after shutdown. Knows nothing of Node-RED.
 */
export class SharedConnection<C> extends EventEmitter {
  private _state: ConnectionState = 'idle';
  private _lastError: string | undefined;
  private _client: C | undefined;
  private readonly _users = new Set<object>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  /** the close of a lost client, still running */
  private closing: Promise<void> | undefined;
  private generation = 0;
  private readonly backoff: Backoff;
  private readonly closeTimeoutMs: number;
  /** number of successful connects, for tests and metrics */
  connects = 0;
  /** number of failed or lost connection attempts */
  failures = 0;

  constructor(readonly driver: ConnectionDriver<C>, opts: SharedConnectionOptions = {}) {
    super();
    this.backoff = new Backoff(opts);
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 3000;
    // A state listener that throws must not break the connection: errors are reported, not thrown.
    this.on('error', () => undefined);
  }

  get state(): ConnectionState {
    return this._state;
  }

  get lastError(): string | undefined {
    return this._lastError;
  }

  get users(): ReadonlySet<object> {
    return this._users;
  }

  /** true while a retry timer is waiting */
  get pendingRetry(): boolean {
    return this.timer !== undefined;
  }

  get connected(): boolean {
    return this._state === 'connected' && this._client !== undefined;
  }

  /** The open client, or a clear error saying why there is none. */
  client(): C {
    if (this._state === 'connected' && this._client !== undefined) return this._client;
    const why = this._lastError ? ` (last error: ${this._lastError})` : '';
    throw new SpotFusionError('NOT_CONNECTED', `${this.driver.describe()} is not connected: ${this._state}${why}`);
  }

  acquire(user: object): void {
    if (this._state === 'closed') throw new SpotFusionError('CLOSED', `${this.driver.describe()} is closed`);
    this._users.add(user);
    if (this._state === 'idle') this.attempt();
  }

  /** Drop a user; the connection closes after the last one. Resolves once sockets are freed. */
  async release(user: object): Promise<void> {
    this._users.delete(user);
    if (this._users.size === 0 && this._state !== 'closed' && this._state !== 'idle') {
      await this.shutdown('idle');
    }
  }

  /** Close for good (the config node itself is closing). */
  async destroy(): Promise<void> {
    this._users.clear();
    await this.shutdown('closed');
    this.removeAllListeners();
  }

  private setState(state: ConnectionState, retryInMs?: number): void {
    this._state = state;
    const change: StateChange = { state, lastError: this._lastError };
    if (retryInMs !== undefined) change.retryInMs = retryInMs;
    this.emit('state', change);
  }

  private attempt(): void {
    if (this.inFlight || this._state === 'closed' || this._users.size === 0) return;
    const gen = this.generation;
    this.setState(this.connects === 0 && this.backoff.attempts === 0 ? 'connecting' : 'reconnecting');
    const closing = this.closing ?? Promise.resolve();
    this.inFlight = closing
      .then(() => this.driver.open())
      .then(
        (client) => {
          if (gen !== this.generation) {
            // shut down while we were connecting: free what we just opened
            return this.closeQuietly(client);
          }
          this._client = client;
          this.connects += 1;
          this.backoff.reset();
          this._lastError = undefined;
          this.unwatch = this.driver.watch(client, (err) => this.onLost(client, err));
          this.setState('connected');
          return undefined;
        },
        (err: unknown) => {
          if (gen !== this.generation) return;
          this._lastError = describeError(err);
          if ((err as { code?: unknown } | null)?.code === PERMANENT_ERROR_CODE) {
            this.setState('failed');
            return;
          }
          this.schedule();
        },
      )
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  private onLost(client: C, err: Error): void {
    if (client !== this._client) return;
    this.unwatch?.();
    this.unwatch = undefined;
    this._client = undefined;
    this._lastError = describeError(err);
    // the next attempt waits for this close (a device may refuse a new session while the old one holds it)
    const closing = this.closeQuietly(client);
    this.closing = closing;
    void closing.finally(() => {
      if (this.closing === closing) this.closing = undefined;
    });
    // a driver that knows the loss was local and passing (e.g. failed sends) asks for the next attempt at once
    this.schedule((err as { reopenNow?: unknown }).reopenNow === true ? 0 : undefined);
  }

  private schedule(delayMs?: number): void {
    this.failures += 1;
    if (this._users.size === 0 || this._state === 'closed') return;
    if (this.timer) clearTimeout(this.timer);
    const delay = delayMs ?? this.backoff.next();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
    this.setState('reconnecting', delay);
  }

  private async closeQuietly(client: C): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      t = setTimeout(resolve, this.closeTimeoutMs);
    });
    try {
      await Promise.race([this.driver.close(client), timeout]);
    } catch (err) {
      this.emit('error', new SpotFusionError('CLOSE_FAILED', `closing ${this.driver.describe()}: ${describeError(err)}`));
    } finally {
      clearTimeout(t);
    }
  }

  private async shutdown(final: 'idle' | 'closed'): Promise<void> {
    this.generation += 1;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.unwatch?.();
    this.unwatch = undefined;
    const client = this._client;
    this._client = undefined;
    this.backoff.reset();
    this.setState(final);
    const pending = this.inFlight;
    if (client !== undefined) await this.closeQuietly(client);
    // an attempt still in flight closes its own client when it lands (generation changed)
    if (pending) await pending;
  }
}
