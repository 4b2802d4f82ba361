import type { ConnectionState } from './connection';

export interface HealthEntry {
  id: string;
  type: string;
  name: string;
  target: string;
  state: ConnectionState;
  lastError: string | undefined;
  since: string;
  /** idle connections (no user) do not make the runtime unhealthy */
  inUse: boolean;
}

/** Every connection config node of this runtime with its state: the source of /spotfusion/health. */
class HealthRegistry {
  private readonly entries = new Map<string, HealthEntry>();

  upsert(entry: Omit<HealthEntry, 'since'>): void {
    const prev = this.entries.get(entry.id);
    const since = prev && prev.state === entry.state ? prev.since : new Date().toISOString();
    this.entries.set(entry.id, { ...entry, since });
  }

  remove(id: string): void {
    this.entries.delete(id);
  }

  list(): HealthEntry[] {
    return [...this.entries.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** healthy when every connection in use is connected */
  report(): { status: 'up' | 'down'; connections: HealthEntry[] } {
    const connections = this.list();
    const down = connections.some((c) => c.inUse && c.state !== 'connected');
    return { status: down ? 'down' : 'up', connections };
  }
}

export const health = new HealthRegistry();
