import type { Node, NodeStatus } from 'node-red';
import type { ModelHost } from '../lib/vision/model';

/** What a model config node offers the crop and infer nodes that use it. */
export interface ModelConfigNode extends Node {
  /** the one model host (one InferenceSession at a time) shared by every user */
  host: ModelHost;
  /** users get the model's status pushed to them while registered */
  register(user: Node): void;
  deregister(user: Node): void;
  /** the status every user shows for the model's current state */
  statusNow(): NodeStatus;
}
