/**
 * Typed PLC writes for the inspection handshake (ready, busy, ack, done, OK, NOK, result code, counter), used
 * by plc-write and by result-publish: every value is checked against the tag map before anything is sent,
 * then all are written in as few requests as the protocol allows.
 */
import { SpotFusionError } from '../errors';
import { PlcClient, TagDef, WriteItem, checkWriteValue } from './types';

export interface WriteReport {
  written: string[];
  failed: Record<string, string>;
}

/** Check `values` (tag name → value) against the map; throws one TYPE/TAG error naming every bad entry. */
export function planWrites(tags: readonly TagDef[], values: Record<string, unknown>): WriteItem[] {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new SpotFusionError('TYPE', 'write values must be an object of tag name → value');
  }
  const byName = new Map(tags.map((t) => [t.name, t]));
  const problems: string[] = [];
  const items: WriteItem[] = [];
  for (const [name, value] of Object.entries(values)) {
    const tag = byName.get(name);
    if (!tag) {
      problems.push(`tag "${name}" is not in the tag map (known: ${[...byName.keys()].join(', ') || 'none'})`);
      continue;
    }
    try {
      items.push({ tag, value: checkWriteValue(tag, value) });
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new SpotFusionError('TYPE', `nothing written: ${problems.join('; ')}`);
  if (items.length === 0) throw new SpotFusionError('TYPE', 'nothing to write: no values given');
  return items;
}

/** Write checked values through an open client; throws a WRITE error naming each tag that failed. */
export async function writeTags(client: PlcClient, tags: readonly TagDef[], values: Record<string, unknown>): Promise<WriteReport> {
  const items = planWrites(tags, values);
  const errors = await client.write(items);
  const report: WriteReport = { written: [], failed: {} };
  items.forEach((it, k) => {
    const e = errors[k];
    if (e) report.failed[it.tag.name] = e;
    else report.written.push(it.tag.name);
  });
  const failed = Object.entries(report.failed);
  if (failed.length) {
    const err = new SpotFusionError('WRITE', `write failed for ${failed.map(([n, e]) => `"${n}" (${e})`).join(', ')}${report.written.length ? `; written: ${report.written.join(', ')}` : ''}`);
    (err as SpotFusionError & { report?: WriteReport }).report = report;
    throw err;
  }
  return report;
}
