import type { ConnectionConfigNode } from '../shared/connection-config';
import type { FrameSource } from '../lib/camera/sources';

/** What a camera-config node offers the camera-grab nodes that use it. */
export interface CameraConfigNode extends ConnectionConfigNode<FrameSource> {
  cameraId: string;
  source: string;
  timeoutMs: number;
  /** the source delivers frames by itself (GigE on its own trigger, timed simulator): camera-grab is then a source */
  selfTriggered: boolean;
}
