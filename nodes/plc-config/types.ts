import type { PlcClient } from '../lib/plc/types';
import type { PlcSettings } from '../lib/plc/driver';
import type { ConnectionConfigNode } from '../shared/connection-config';

/** What a plc-config node offers the nodes that use it. */
export interface PlcConfigNode extends ConnectionConfigNode<PlcClient> {
  settings: PlcSettings | undefined;
  /** station name for msg.plc.station */
  station: string;
  /** the configuration error, when the configuration is unusable */
  configError: string | undefined;
}
