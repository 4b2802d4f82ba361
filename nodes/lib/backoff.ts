/**
 * Capped exponential backoff with "full jitter": the delay before attempt n (0-based) is a uniform random
 * value in [minMs, min(maxMs, baseMs * 2^n)]. Jitter spreads the reconnects of many stations that lost the
 * same server at the same moment, so the server does not meet a reconnect storm when it comes back.
 */
export interface BackoffOptions {
  /** first ceiling in ms (default 250) */
  baseMs?: number;
  /** cap in ms (default 5000) */
  maxMs?: number;
  /** smallest delay in ms (default 50) */
  minMs?: number;
  /** random source in [0,1), injectable for tests */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly minMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 250;
    this.maxMs = opts.maxMs ?? 5000;
    this.minMs = Math.min(opts.minMs ?? 50, this.maxMs);
    this.random = opts.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) {
      throw new RangeError(`backoff: need 0 < baseMs <= maxMs, got baseMs=${this.baseMs} maxMs=${this.maxMs}`);
    }
  }

  /** The ceiling for the current attempt. */
  ceiling(): number {
    // 2^31 overflows nothing here: the exponent is capped before the multiplication grows past maxMs.
    const exp = Math.min(this.attempt, 30);
    return Math.min(this.maxMs, this.baseMs * 2 ** exp);
  }

  /** Delay for the next attempt; advances the attempt counter. */
  next(): number {
    const ceil = this.ceiling();
    this.attempt += 1;
    return Math.round(this.minMs + this.random() * Math.max(0, ceil - this.minMs));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
