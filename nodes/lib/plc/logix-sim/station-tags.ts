/**
 * The tags of the simulated inspection station, shared by the Logix simulator, the OPC UA simulator, the
 * station script and the demo: handshake bits, part data, one of every atomic type, arrays, a STRING and a
 * UDT. `benchTags(n)` adds n mixed tags for throughput benches.
 */
import type { SimTagDef, SimUdtDef } from './tag-db';

export const STATION_UDTS: SimUdtDef[] = [
  {
    name: 'PartData',
    members: [
      { name: 'Serial', type: 'STRING' },
      { name: 'Program', type: 'DINT' },
      { name: 'Present', type: 'BOOL' },
      { name: 'Clamped', type: 'BOOL' },
      { name: 'Thickness', type: 'REAL', count: 3 },
      { name: 'Stamp', type: 'LINT' },
    ],
  },
];

export const STATION_TAGS: SimTagDef[] = [
  { name: 'Trigger', type: 'BOOL', value: false },
  { name: 'PartSerial', type: 'STRING', value: 'WB-000000' },
  { name: 'ProgramNo', type: 'DINT', value: 1 },
  { name: 'Model', type: 'STRING', value: 'SEDAN-A' },
  { name: 'Ready', type: 'BOOL', value: false },
  { name: 'Busy', type: 'BOOL', value: false },
  { name: 'Ack', type: 'BOOL', value: false },
  { name: 'Done', type: 'BOOL', value: false },
  { name: 'ResultOK', type: 'BOOL', value: false },
  { name: 'ResultNOK', type: 'BOOL', value: false },
  { name: 'ResultCode', type: 'DINT', value: 0 },
  { name: 'Counter', type: 'DINT', value: 0 },
  { name: 'Flags', type: 'DINT', value: 0 },
  { name: 'aSint', type: 'SINT', value: -5 },
  { name: 'aInt', type: 'INT', value: -1234 },
  { name: 'aDint', type: 'DINT', value: 123456 },
  { name: 'aLint', type: 'LINT', value: '9007199254740993' },
  { name: 'aUsint', type: 'USINT', value: 200 },
  { name: 'aUint', type: 'UINT', value: 60000 },
  { name: 'aUdint', type: 'UDINT', value: 4000000000 },
  { name: 'aUlint', type: 'ULINT', value: 42 },
  { name: 'aReal', type: 'REAL', value: 1.5 },
  { name: 'aLreal', type: 'LREAL', value: 2.25 },
  { name: 'Currents', type: 'REAL', dims: [10], value: Array.from({ length: 10 }, (_, k) => k * 0.5) },
  { name: 'Matrix', type: 'INT', dims: [2, 3], value: [1, 2, 3, 4, 5, 6] },
  { name: 'BigArray', type: 'DINT', dims: [2000], value: Array.from({ length: 2000 }, (_, k) => k) },
  { name: 'Bits', type: 'BOOL', dims: [64], value: Array.from({ length: 64 }, (_, k) => k % 3 === 0) },
  { name: 'Names', type: 'STRING', dims: [3], value: ['a', 'bb', 'ccc'] },
  {
    name: 'Part',
    type: 'PartData',
    value: { Serial: 'WB-000000', Program: 1, Present: true, Clamped: false, Thickness: [0.8, 1.2, 0], Stamp: 0 },
  },
  { name: 'Program:Main.Step', type: 'DINT', value: 7 },
];

const MIX = ['DINT', 'REAL', 'INT', 'BOOL', 'LREAL', 'SINT', 'LINT', 'STRING'] as const;

/** n tags for benches: DINTs when mixed is false, a rotation of MIX when true, or of the given types. */
export function benchTags(n: number, mixed: boolean | readonly string[], prefix = 'Bench'): SimTagDef[] {
  const types: readonly string[] = mixed === true ? MIX : mixed === false ? ['DINT'] : mixed;
  return Array.from({ length: n }, (_, k) => {
    const type = types[k % types.length];
    return { name: `${prefix}${k}`, type, value: type === 'BOOL' ? k % 2 === 0 : type === 'STRING' ? `S${k}` : type === 'SINT' ? k % 100 : k };
  });
}
