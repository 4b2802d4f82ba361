/**
 * The `simulator` protocol: one Logix simulator with the station script per process, on a free loopback
 * port, started for the first PLC config that uses it and stopped after the last.
 */
import { LogixSimulator, STATION_TAGS, STATION_UDTS } from './logix-sim';
import { StationScript } from './station-sim';

interface Shared {
  sim: LogixSimulator;
  script: StationScript;
  users: number;
  starting?: Promise<LogixSimulator> | undefined;
}

let shared: Shared | undefined;

export async function acquireSimulator(periodMs: number): Promise<LogixSimulator> {
  if (shared) {
    shared.users += 1;
    return shared.starting ? shared.starting : shared.sim;
  }
  const sim = new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, udp: false });
  const script = new StationScript(sim.db, { periodMs });
  const entry: Shared = { sim, script, users: 1 };
  shared = entry;
  entry.starting = sim.start().then(() => {
    script.start();
    entry.starting = undefined;
    return sim;
  });
  return entry.starting;
}

export async function releaseSimulator(): Promise<void> {
  const s = shared;
  if (!s) return;
  s.users -= 1;
  if (s.users > 0) return;
  shared = undefined;
  s.script.stop();
  if (s.starting) await s.starting.catch(() => undefined);
  await s.sim.stop();
}

/** The running simulator, if any (tests count its sessions). */
export function currentSimulator(): LogixSimulator | undefined {
  return shared?.sim;
}
