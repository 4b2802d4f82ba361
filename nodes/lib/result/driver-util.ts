import type { ConnectionDriver } from '../connection';
import { PERMANENT_ERROR_CODE } from '../connection';
import { SpotFusionError } from '../errors';

/** A driver that refuses to connect with the configuration error (state 'failed', no retries). */
export function invalidDriver<C>(what: string, err: Error): ConnectionDriver<C> {
  return {
    describe: () => `${what} (invalid configuration)`,
    open: () => Promise.reject(new SpotFusionError(PERMANENT_ERROR_CODE, err.message)),
    watch: () => () => undefined,
    close: () => Promise.resolve(),
  };
}

/** The reconnect cap of a config node (ms, 100–600000, default 5000). */
export function reconnectMax(raw: unknown): number {
  const n = Number(raw);
  return raw !== '' && raw !== undefined && Number.isInteger(n) && n >= 100 && n <= 600000 ? n : 5000;
}
