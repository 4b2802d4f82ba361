/**
 * The protocol-neutral PLC model used by the nodes: a typed tag map, per-tag read results with quality,
 * write checks against the map, and the PlcClient interface every protocol (ethernet-ip, opcua, simulator)
 * implements.
 */
import { SpotFusionError } from '../errors';
import { PlcValue, TypeCode, checkAtomic } from './cip/types';
import type { BrowseResult } from './browse';

export const PLC_TYPES = ['BOOL', 'SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT', 'REAL', 'LREAL', 'STRING', 'UDT'] as const;
export type PlcType = (typeof PLC_TYPES)[number];
export const PART_ROLES = ['serial', 'program', 'model', 'extra'] as const;
export type PartRole = (typeof PART_ROLES)[number];
export const PROTOCOLS = ['ethernet-ip', 'opcua', 'simulator'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface TagDef {
  /** key in msg.payload */
  name: string;
  /** Logix tag address (`Line.Part[2].Serial`, `Flags.3`) or OPC UA node id (`ns=1;s=Trigger`) */
  address: string;
  type: PlcType;
  /** array length; 0/1/undefined = scalar */
  count?: number;
  scale?: number;
  offset?: number;
  unit?: string;
  role?: PartRole | '';
}

export type Quality = 'good' | 'bad';

export interface TagResult {
  name: string;
  value: PlcValue | null;
  quality: Quality;
  error?: string;
}

export interface WriteItem {
  tag: TagDef;
  value: unknown;
}

/** One open connection to a PLC, whatever the protocol. */
export interface PlcClient {
  readonly protocol: Protocol;
  describe(): string;
  /** Read every tag in as few requests as the protocol allows; one bad tag gives one bad result. */
  read(tags: readonly TagDef[]): Promise<TagResult[]>;
  /** Write values already checked with checkWriteValue; returns an error text or undefined per item. */
  write(items: readonly WriteItem[]): Promise<Array<string | undefined>>;
  /** Push values on change where the protocol has subscriptions (OPC UA). */
  subscribe?(tags: readonly TagDef[], intervalMs: number, onData: (results: TagResult[]) => void): Promise<() => Promise<void>>;
  /** What the controller offers as tag-map rows (the editor's Browse tags); bounded in size. */
  browse?(): Promise<BrowseResult>;
  /** Call `lost` once when the connection dies; returns a function that removes the listener. */
  onLost(lost: (err: Error) => void): () => void;
  close(): Promise<void>;
}

export function isArrayTag(t: TagDef): boolean {
  return (t.count ?? 0) > 1;
}

const STRING_MAX = 82;

/** Check a value against the tag map before anything is sent; throws a TYPE error naming the tag. */
export function checkWriteValue(tag: TagDef, value: unknown): unknown {
  const what = `tag "${tag.name}" (${tag.type}${isArrayTag(tag) ? `[${tag.count}]` : ''})`;
  const one = (v: unknown, w: string): unknown => {
    if (tag.type === 'STRING') {
      if (typeof v !== 'string') throw new SpotFusionError('TYPE', `${w}: STRING needs a string, got ${JSON.stringify(v)}`);
      if (Buffer.byteLength(v, 'latin1') > STRING_MAX) throw new SpotFusionError('TYPE', `${w}: string longer than ${STRING_MAX} characters`);
      return v;
    }
    if (tag.type === 'UDT') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SpotFusionError('TYPE', `${w}: UDT needs an object`);
      return v;
    }
    const checked = checkAtomic(TypeCode[tag.type], v, w);
    return typeof checked === 'bigint' ? checked.toString() : checked;
  };
  if (isArrayTag(tag)) {
    if (!Array.isArray(value) || value.length !== tag.count) throw new SpotFusionError('TYPE', `${what}: needs an array of ${tag.count} values`);
    return value.map((v, k) => one(v, `${what}[${k}]`));
  }
  return one(value, what);
}

/** Apply scale and offset to numbers (and arrays of numbers). */
export function scaled(tag: TagDef, v: PlcValue | null): PlcValue | null {
  const s = tag.scale ?? 1;
  const o = tag.offset ?? 0;
  if (v === null || (s === 1 && o === 0)) return v;
  if (typeof v === 'number') return v * s + o;
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'number' ? x * s + o : x));
  return v;
}

/** Validate and normalise a tag map from a node's configuration; errors name the tag and the field. */
export function parseTagMap(raw: unknown, where: string): TagDef[] {
  if (raw === undefined || raw === null || raw === '') return [];
  const list = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (!Array.isArray(list)) throw new SpotFusionError('CONFIG', `${where}: the tag map must be a list`);
  const seen = new Set<string>();
  return list.map((item: unknown, k: number) => {
    const t = (item ?? {}) as Record<string, unknown>;
    const name = typeof t.name === 'string' ? t.name.trim() : '';
    const at = `${where}: tag ${k + 1}${name ? ` "${name}"` : ''}`;
    if (!name) throw new SpotFusionError('CONFIG', `${at}: name is empty`);
    if (seen.has(name)) throw new SpotFusionError('CONFIG', `${at}: name used twice`);
    seen.add(name);
    const address = typeof t.address === 'string' ? t.address.trim() : '';
    if (!address) throw new SpotFusionError('CONFIG', `${at}: address is empty`);
    const type = typeof t.type === 'string' ? t.type.toUpperCase() : '';
    if (!(PLC_TYPES as readonly string[]).includes(type)) throw new SpotFusionError('CONFIG', `${at}: type ${JSON.stringify(t.type)} is not one of ${PLC_TYPES.join(', ')}`);
    const num = (key: string, def: number | undefined): number | undefined => {
      const v = t[key];
      if (v === undefined || v === '' || v === null) return def;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new SpotFusionError('CONFIG', `${at}: ${key} ${JSON.stringify(v)} is not a number`);
      return n;
    };
    const count = num('count', 0) ?? 0;
    if (!Number.isInteger(count) || count < 0 || count > 65_535) throw new SpotFusionError('CONFIG', `${at}: count must be an integer 0..65535`);
    const role = typeof t.role === 'string' ? t.role : '';
    if (role !== '' && !(PART_ROLES as readonly string[]).includes(role)) throw new SpotFusionError('CONFIG', `${at}: role "${role}" is not one of ${PART_ROLES.join(', ')}`);
    const def: TagDef = { name, address, type: type as PlcType };
    if (count > 1) def.count = count;
    const scale = num('scale', undefined);
    const offset = num('offset', undefined);
    if (scale !== undefined && scale !== 1) def.scale = scale;
    if (offset !== undefined && offset !== 0) def.offset = offset;
    if (typeof t.unit === 'string' && t.unit) def.unit = t.unit;
    if (role) def.role = role as PartRole;
    return def;
  });
}
