import type { FlowNode } from './flow-check';

export interface FlowDiff {
  added: FlowNode[];
  removed: FlowNode[];
  changed: Array<{ id: string; type: string; fields: string[] }>;
}

/** Position-only changes (x, y, w, h) do not count as changes of behaviour but are still reported. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

/** What deploying `next` over `current` would change, node by node and field by field. */
export function diffFlows(current: FlowNode[], next: FlowNode[]): FlowDiff {
  const cur = new Map(current.map((n) => [n.id, n]));
  const nxt = new Map(next.map((n) => [n.id, n]));
  const diff: FlowDiff = { added: [], removed: [], changed: [] };
  for (const n of next) if (!cur.has(n.id)) diff.added.push(n);
  for (const n of current) if (!nxt.has(n.id)) diff.removed.push(n);
  for (const n of next) {
    const c = cur.get(n.id);
    if (!c) continue;
    const keys = new Set([...Object.keys(c), ...Object.keys(n)]);
    // the server adds credentials placeholders and never returns secrets: compare without them
    keys.delete('credentials');
    const fields = [...keys].filter((k) => stable(c[k]) !== stable(n[k])).sort();
    if (fields.length) diff.changed.push({ id: n.id, type: n.type, fields });
  }
  return diff;
}

export function formatDiff(d: FlowDiff): string {
  const lines: string[] = [];
  for (const n of d.added) lines.push(`+ ${n.id} (${n.type})${typeof n.name === 'string' && n.name ? ` "${n.name}"` : ''}`);
  for (const n of d.removed) lines.push(`- ${n.id} (${n.type})${typeof n.name === 'string' && n.name ? ` "${n.name}"` : ''}`);
  for (const c of d.changed) lines.push(`~ ${c.id} (${c.type}): ${c.fields.join(', ')}`);
  if (!lines.length) lines.push('no changes');
  return lines.join('\n');
}
