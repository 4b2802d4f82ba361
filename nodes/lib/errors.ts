/** Errors with a stable code, so Catch nodes and tests can tell them apart without parsing text. */
export class SpotFusionError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpotFusionError';
    this.code = code;
  }
}

/** Turn anything thrown into a readable one-line reason. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    // system error codes (ECONNREFUSED…) help the reader; our own codes are categories for programs
    const code = err instanceof SpotFusionError ? undefined : (err as NodeJS.ErrnoException).code;
    const msg = err.message || err.name;
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch (jsonErr) {
    return `unprintable error (${(jsonErr as Error).message})`;
  }
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(describeError(err));
}
