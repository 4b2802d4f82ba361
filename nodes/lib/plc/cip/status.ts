/**
 * CIP general and extended status codes (CIP Vol. 1 Appendix B, Logix extended codes from Rockwell's
 * "Logix 5000 Controllers Data Access" manual) turned into readable text.
 */
import { SpotFusionError } from '../../errors';

export const GENERAL_STATUS: Readonly<Record<number, string>> = {
  0x00: 'success',
  0x01: 'connection failure',
  0x02: 'resource unavailable',
  0x03: 'invalid parameter value',
  0x04: 'path segment error (unknown tag or malformed path)',
  0x05: 'path destination unknown (no such tag, class or instance)',
  0x06: 'partial transfer',
  0x07: 'connection lost',
  0x08: 'service not supported',
  0x09: 'invalid attribute value',
  0x0a: 'attribute list error',
  0x0b: 'already in requested mode/state',
  0x0c: 'object state conflict',
  0x0d: 'object already exists',
  0x0e: 'attribute not settable',
  0x0f: 'privilege violation',
  0x10: 'device state conflict',
  0x11: 'reply data too large',
  0x12: 'fragmentation of a primitive value',
  0x13: 'not enough data',
  0x14: 'attribute not supported',
  0x15: 'too much data',
  0x16: 'object does not exist',
  0x1a: 'routing failure, request packet too large',
  0x1b: 'routing failure, response packet too large',
  0x1c: 'missing attribute list entry data',
  0x1e: 'embedded service error',
  0x20: 'invalid parameter',
  0x26: 'path size invalid',
  0xff: 'general error',
};

export const EXTENDED_STATUS: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  0x01: {
    0x0100: 'connection in use or duplicate Forward Open',
    0x0103: 'transport class and trigger combination not supported',
    0x0106: 'ownership conflict',
    0x0107: 'target connection not found',
    0x0108: 'invalid network connection parameter',
    0x0109: 'invalid connection size',
    0x0110: 'target for connection not configured',
    0x0111: 'RPI not supported',
    0x0113: 'out of connections',
    0x0114: 'vendor id or product code mismatch',
    0x0115: 'product type mismatch',
    0x0116: 'revision mismatch',
    0x0117: 'invalid produced or consumed application path',
    0x0118: 'invalid or inconsistent configuration application path',
    0x011a: 'connection manager out of connections',
    0x0203: 'connection timed out',
    0x0204: 'unconnected request timed out',
    0x0205: 'parameter error in unconnected request',
    0x0206: 'message too large for unconnected send',
    0x0301: 'no buffer memory available',
    0x0302: 'network bandwidth not available',
    0x0311: 'invalid port in path',
    0x0312: 'invalid link address in path',
    0x0315: 'invalid segment in connection path',
    0x0316: 'error in Forward Close service connection path',
  },
  0xff: {
    0x2101: 'keyswitch position does not allow the request',
    0x2104: 'offset is beyond the end of the tag',
    0x2105: 'number of elements reaches beyond the end of the tag',
    0x2107: 'data type does not match the tag',
  },
};

export function describeStatus(general: number, extended: readonly number[] = []): string {
  const base = GENERAL_STATUS[general] ?? 'unknown status';
  const hex = `0x${general.toString(16).padStart(2, '0')}`;
  if (extended.length === 0) return `CIP status ${hex}: ${base}`;
  const ext = extended[0];
  const extText = EXTENDED_STATUS[general]?.[ext];
  const extHex = `0x${ext.toString(16).padStart(4, '0')}`;
  return `CIP status ${hex}/${extHex}: ${base}${extText ? ` (${extText})` : ''}`;
}

/** A CIP error reply from the target: stable code 'CIP', general and extended status kept for callers. */
export class CipError extends SpotFusionError {
  readonly general: number;
  readonly extended: readonly number[];
  constructor(general: number, extended: readonly number[] = [], context = '') {
    super('CIP', `${context ? `${context}: ` : ''}${describeStatus(general, extended)}`);
    this.name = 'CipError';
    this.general = general;
    this.extended = extended;
  }
}

/** Encapsulation-layer status (EtherNet/IP spec, encapsulation header). */
export const ENCAP_STATUS: Readonly<Record<number, string>> = {
  0x0000: 'success',
  0x0001: 'invalid or unsupported encapsulation command',
  0x0002: 'insufficient memory in the target',
  0x0003: 'poorly formed or incorrect data',
  0x0064: 'invalid session handle',
  0x0065: 'invalid length',
  0x0069: 'unsupported encapsulation protocol revision',
};

export function describeEncapStatus(status: number): string {
  return `encapsulation status 0x${status.toString(16).padStart(4, '0')}: ${ENCAP_STATUS[status] ?? 'unknown'}`;
}
