/**
 * "Browse tags" for the editor: what a controller offers, as rows a tag map can take (address + type + count).
 * Logix: the controller's tag list (Get Instance Attribute List 0x55 on the symbol class 0x6B), each program's
 * own tag list ("Program:Main" + class 0x6B) and the members of every UDT from its template (class 0x6C).
 * OPC UA: see OpcuaPlc.browse. Bounded: at most MAX_BROWSE_ENTRIES rows, UDT members MAX_MEMBER_DEPTH deep.
 */
import { ATOMIC_NAME, MEMBER_ARRAY, MEMBER_STRUCT, Template, hiddenMember, stringTemplateLength } from './cip/types';
import type { SymbolEntry } from './cip/services';
import type { LogixClient } from './logix-client';
import { PLC_TYPES, PlcType } from './types';

export interface BrowseEntry {
  /** what goes into the tag map's address: Logix tag path or OPC UA node id */
  address: string;
  type: PlcType;
  /** array length; absent for a scalar */
  count?: number;
  /** the UDT's name for type UDT; the OPC UA data type when it has no PLC type */
  detail?: string;
  /** OPC UA: the node's browse name (a Logix address names itself) */
  name?: string;
  /** where it lives: "controller", "Program:Main", or the OPC UA browse path of its parent */
  scope: string;
}

export interface BrowseResult {
  entries: BrowseEntry[];
  /** true when the list was cut at MAX_BROWSE_ENTRIES */
  truncated: boolean;
}

export const MAX_BROWSE_ENTRIES = 5000;
export const MAX_MEMBER_DEPTH = 4;

const SYMBOL_STRUCT = 0x8000;
const SYMBOL_SYSTEM = 0x1000;
const SYMBOL_DIMS = 0x6000;

const DWORD = 0xd3;

/**
 * The tag-map row of an atomic type code and element count: a Logix BOOL array is a DWORD array on the wire
 * (32 BOOLs per DWORD), so DWORD[n] is BOOL[32n]; undefined for a code the tag map has no name for.
 */
function atomic(code: number, n: number | undefined): { type: PlcType; count?: number } | undefined {
  if ((code & 0xff) === DWORD) return { type: 'BOOL', count: (n ?? 1) * 32 };
  const name = ATOMIC_NAME[code & 0xff] as string | undefined;
  if (!name || !(PLC_TYPES as readonly string[]).includes(name)) return undefined;
  return n ? { type: name as PlcType, count: n } : { type: name as PlcType };
}

function count(dims: readonly number[], ndims: number): number | undefined {
  if (ndims === 0) return undefined;
  const n = dims.slice(0, ndims).reduce((a, b) => a * (b || 1), 1);
  return n > 1 ? n : undefined;
}

/** A user tag of the list: not a system entry (Map:, Task:, Cxn:, Routine:, Program:), not compiler-made. */
function userTag(s: SymbolEntry): boolean {
  return (s.type & SYMBOL_SYSTEM) === 0 && !s.name.startsWith('__') && !s.name.includes(':');
}

/** Programs named in the controller's tag list ("Program:Main"). */
function programs(list: readonly SymbolEntry[]): string[] {
  return list.filter((s) => /^program:[^.:]+$/i.test(s.name)).map((s) => s.name);
}

export async function browseLogix(client: LogixClient): Promise<BrowseResult> {
  const out: BrowseEntry[] = [];
  let truncated = false;
  const push = (e: BrowseEntry): boolean => {
    if (out.length >= MAX_BROWSE_ENTRIES) {
      truncated = true;
      return false;
    }
    out.push(e);
    return true;
  };

  const template = async (instance: number): Promise<Template> => client.readTemplate(instance);

  /** a structure's members under `prefix`, `depth` levels deep */
  const members = async (t: Template, prefix: string, scope: string, depth: number): Promise<void> => {
    if (depth > MAX_MEMBER_DEPTH) return;
    for (const m of t.members) {
      if (hiddenMember(m.name)) continue;
      const address = `${prefix}.${m.name}`;
      const n = m.type & MEMBER_ARRAY && m.info > 1 ? m.info : undefined;
      if (m.type & MEMBER_STRUCT) {
        const sub = await template(m.type & 0x0fff);
        if (stringTemplateLength(sub) !== undefined) {
          if (!push({ address, type: 'STRING', scope, ...(n ? { count: n } : {}) })) return;
          continue;
        }
        if (!push({ address, type: 'UDT', detail: sub.name, scope, ...(n ? { count: n } : {}) })) return;
        await members(sub, n ? `${address}[0]` : address, scope, depth + 1);
        continue;
      }
      const a = atomic(m.type, n);
      if (!a) continue;
      if (!push({ address, scope, ...a })) return;
    }
  };

  const symbols = async (list: readonly SymbolEntry[], prefix: string, scope: string): Promise<void> => {
    for (const s of [...list].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!userTag(s)) continue;
      const address = prefix ? `${prefix}.${s.name}` : s.name;
      const n = count(s.dims, (s.type & SYMBOL_DIMS) >> 13);
      if (s.type & SYMBOL_STRUCT) {
        const t = await template(s.type & 0x0fff);
        if (stringTemplateLength(t) !== undefined) {
          if (!push({ address, type: 'STRING', scope, ...(n ? { count: n } : {}) })) return;
          continue;
        }
        if (!push({ address, type: 'UDT', detail: t.name, scope, ...(n ? { count: n } : {}) })) return;
        await members(t, n ? `${address}[0]` : address, scope, 1);
        continue;
      }
      const a = atomic(s.type, n);
      if (!a) continue;
      if (!push({ address, scope, ...a })) return;
    }
  };

  const controller = await client.tagList();
  await symbols(controller, '', 'controller');
  for (const p of programs(controller)) {
    if (out.length >= MAX_BROWSE_ENTRIES) break;
    await symbols(await client.tagList(p), p, p);
  }
  return { entries: out, truncated };
}
