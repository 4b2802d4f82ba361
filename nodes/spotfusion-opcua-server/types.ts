import type { Node } from 'node-red';
import type { VisionServer } from '../lib/opcua/vision-system';

/** What an OPC UA server config node offers the opcua-mv node that uses it. */
export interface OpcuaServerConfigNode extends Node {
  /** the vision server of this config node (made at deploy, started in the background) */
  vision: VisionServer | undefined;
  /** resolves when the server listens; rejects with the reason it could not start */
  ready: Promise<VisionServer>;
  /** no user set and anonymous off: every session is refused */
  noUser: boolean;
  /** the opcua-mv node that feeds it (one per server); claim returns false when another one has it */
  claim(id: string): boolean;
  release(id: string): void;
}
