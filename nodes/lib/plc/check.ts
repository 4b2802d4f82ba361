import { TagDef } from './types';
import { logixAddress } from './logix-plc';
import { SpotFusionError, describeError } from '../errors';

/** OPC UA node id text: optional ns=<n>; or nsu=<uri>; then i=, s=, g= or b= (OPC UA Part 6, 5.3.1.10). */
const NODE_ID = /^(?:(?:ns=\d{1,5}|nsu=[^;]+);)?(?:i=\d{1,10}|s=.+|g=[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|b=[A-Za-z0-9+/=]+)$/s;

export function checkNodeIdText(address: string, where: string): void {
  if (!NODE_ID.test(address)) {
    throw new SpotFusionError('ADDRESS', `${where}: "${address}" is not an OPC UA node id such as ns=2;s=Station.Trigger or ns=3;i=1001`);
  }
}

/** Check the tag map against the protocol: Logix addresses parse, OPC UA node ids are well formed. */
export function checkAddresses(tags: readonly TagDef[], protocol: string | undefined, where: string): void {
  for (const t of tags) {
    if (protocol === 'ethernet-ip' || protocol === 'simulator') {
      try {
        logixAddress(t.address);
      } catch (err) {
        throw new SpotFusionError('CONFIG', `${where}: tag "${t.name}": ${err instanceof Error ? err.message : describeError(err)}`);
      }
    } else if (protocol === 'opcua') {
      checkNodeIdText(t.address, `${where}: tag "${t.name}"`);
      if (t.type === 'UDT') throw new SpotFusionError('CONFIG', `${where}: tag "${t.name}": UDT is a Logix type; over OPC UA map each member as its own tag`);
    }
  }
}
