/**
 * Redis stream target: XADD of each result to a capped stream (MAXLEN ~ n), so dashboards can read the last
 * results. Uses the client of a spotfusion-redis-config node (one connection per config, shared).
 */
import type Redis from 'ioredis';
import { SpotFusionError, describeError } from '../errors';

export interface StreamItem {
  resultId: string;
  body: string;
  verdict: string;
  station: string;
}

/** XADD every item in one pipeline; throws when any command failed (the batch is then retried). */
export async function xaddBatch(client: Redis, key: string, maxLen: number, items: readonly StreamItem[]): Promise<string[]> {
  const p = client.pipeline();
  for (const it of items) {
    p.xadd(key, 'MAXLEN', '~', String(maxLen), '*', 'resultId', it.resultId, 'verdict', it.verdict, 'station', it.station, 'result', it.body);
  }
  const res = await p.exec();
  if (!res) throw new SpotFusionError('REDIS', 'XADD pipeline was discarded');
  const ids: string[] = [];
  for (const [err, id] of res) {
    if (err) throw new SpotFusionError('REDIS', `XADD ${key}: ${describeError(err)}`, { cause: err });
    ids.push(String(id));
  }
  return ids;
}
