/** PLC types ↔ OPC UA built-in data types and values (Int64/UInt64 as [high, low] pairs in node-opcua). */
import { DataType } from 'node-opcua';
import { int64Value } from './cip/types';
import { SpotFusionError } from '../errors';

export const OPCUA_TYPES = {
  BOOL: DataType.Boolean,
  SINT: DataType.SByte,
  INT: DataType.Int16,
  DINT: DataType.Int32,
  LINT: DataType.Int64,
  USINT: DataType.Byte,
  UINT: DataType.UInt16,
  UDINT: DataType.UInt32,
  ULINT: DataType.UInt64,
  REAL: DataType.Float,
  LREAL: DataType.Double,
  STRING: DataType.String,
} as const;

function pair(v: unknown, signed: boolean): [number, number] {
  let n = typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? Math.trunc(v) : typeof v === 'string' ? v : 0);
  if (signed && n < 0n) n += 1n << 64n;
  return [Number((n >> 32n) & 0xffffffffn), Number(n & 0xffffffffn)];
}

function unpair(v: unknown, signed: boolean): number | string {
  if (typeof v === 'number') return v;
  if (!Array.isArray(v) || v.length !== 2) throw new SpotFusionError('TYPE', `expected a 64-bit [high, low] pair, got ${JSON.stringify(v)}`);
  let n = (BigInt(v[0] as number) << 32n) | BigInt((v[1] as number) >>> 0);
  if (signed && n >= 1n << 63n) n -= 1n << 64n;
  return int64Value(n);
}

const TYPED: Readonly<Record<string, { from(a: ArrayLike<number>): unknown }>> = {
  SINT: Int8Array,
  INT: Int16Array,
  DINT: Int32Array,
  USINT: Uint8Array,
  UINT: Uint16Array,
  UDINT: Uint32Array,
  REAL: Float32Array,
  LREAL: Float64Array,
};

export function toOpcuaValue(type: string, v: unknown, array: boolean): unknown {
  const one = (x: unknown): unknown => (type === 'LINT' ? pair(x, true) : type === 'ULINT' ? pair(x, false) : x);
  if (array) {
    const list = Array.isArray(v) ? v : [];
    const typed = TYPED[type];
    return typed ? typed.from(list as number[]) : list.map(one);
  }
  return one(v);
}

export function fromOpcuaValue(type: string, v: unknown, array: boolean): unknown {
  const one = (x: unknown): unknown => {
    if (type === 'LINT') return unpair(x, true);
    if (type === 'ULINT') return unpair(x, false);
    if (type === 'REAL' || type === 'LREAL') return typeof x === 'number' ? x : Number(x);
    return x;
  };
  if (array) {
    if (v === null || v === undefined) return [];
    return Array.from(v as ArrayLike<unknown>, one);
  }
  return one(v);
}
