import type { AmqpSession } from '../lib/amqp/client';
import type { ConnectionConfigNode } from '../shared/connection-config';

export type AmqpConfigNode = ConnectionConfigNode<AmqpSession>;
