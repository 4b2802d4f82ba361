import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { ConnectionDriver, SharedConnection, SharedConnectionOptions, StateChange } from '../lib/connection';
import { health } from '../lib/health';
import { connectionReconnects, connectionUp, forgetConnection } from '../lib/metrics';
import { describeError } from '../lib/errors';
import { connectionStatus, showStatus } from './status';
import { ensureAdminRoutes } from './admin';
import { translator } from './i18n';

/** A node that uses a connection config node. */
export type ConnectionUser = Node;

/** What every connection config node offers its users. */
export interface ConnectionConfigNode<C> extends Node {
  connection: SharedConnection<C>;
  register(user: ConnectionUser): void;
  deregister(user: ConnectionUser, done: () => void): void;
  /** the status every user shows for the current connection state */
  statusNow(): NodeStatus;
}

/**
 * Turns a config node into the owner of one SharedConnection: users register and deregister, status is
 * pushed to every user from here, health and metrics follow the state, and close frees everything.
 */
export function setupConnectionConfig<C>(
  RED: NodeAPI,
  node: Node,
  driver: ConnectionDriver<C>,
  opts: SharedConnectionOptions = {},
): ConnectionConfigNode<C> {
  ensureAdminRoutes(RED);
  const cfg = node as ConnectionConfigNode<C>;
  const tr = translator(RED);
  const statusOf = (change: StateChange): NodeStatus => connectionStatus(change, tr, node.type);
  const connection = new SharedConnection<C>(driver, opts);
  cfg.connection = connection;
  const labels = { config_id: node.id, config_type: node.type, config_name: node.name ?? '' };
  let last: StateChange = { state: 'idle', lastError: undefined };
  let closed = false;

  const publish = (): void => {
    if (closed) return; // users deregistering after the config node closed must not bring it back
    health.upsert({
      id: node.id,
      type: node.type,
      name: node.name ?? '',
      target: driver.describe(),
      state: last.state,
      lastError: last.lastError,
      inUse: connection.users.size > 0,
    });
  };
  publish();
  connectionUp.set(labels, 0);

  connection.on('state', (change: StateChange) => {
    const wasConnected = last.state === 'connected';
    last = change;
    connectionUp.set(labels, change.state === 'connected' ? 1 : 0);
    if (change.state === 'reconnecting') {
      connectionReconnects.inc(labels);
      // log each outage once when it starts, not once per retry
      if (wasConnected) node.warn(tr(`${node.type}.status.lostWarning`, { target: driver.describe(), error: change.lastError ?? 'unknown' }));
    } else if (change.state === 'connected') {
      node.log(`${driver.describe()}: connected`);
    }
    const status = statusOf(change);
    for (const user of connection.users) showStatus(user as Node, status);
    publish();
  });
  connection.on('error', (err: Error) => node.warn(describeError(err)));

  cfg.statusNow = (): NodeStatus => statusOf(last);

  cfg.register = (user: ConnectionUser): void => {
    connection.acquire(user);
    showStatus(user, statusOf(last));
    publish();
  };

  cfg.deregister = (user: ConnectionUser, done: () => void): void => {
    connection
      .release(user)
      .catch((err: unknown) => node.warn(`release: ${describeError(err)}`))
      .finally(() => {
        publish();
        done();
      });
  };

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    connection
      .destroy()
      .catch((err: unknown) => node.warn(`close: ${describeError(err)}`))
      .finally(() => {
        health.remove(node.id);
        forgetConnection(labels);
        done();
      });
  });
  return cfg;
}
