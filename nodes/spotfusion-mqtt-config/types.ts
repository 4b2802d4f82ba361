import type { MqttClient } from 'mqtt';
import type { MqttSettings } from '../lib/mqtt/client';
import type { ConnectionConfigNode } from '../shared/connection-config';

export interface MqttConfigNode extends ConnectionConfigNode<MqttClient> {
  settings: MqttSettings | undefined;
}
