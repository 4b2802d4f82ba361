import type { PgConnection } from '../lib/pg/client';
import type { ConnectionConfigNode } from '../shared/connection-config';

export type PgConfigNode = ConnectionConfigNode<PgConnection>;
