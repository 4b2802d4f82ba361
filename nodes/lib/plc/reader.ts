/**
 * The read cycle of plc-read, free of Node-RED: poll (never overlapping, overruns counted), trigger (one
 * snapshot on each rising edge of a BOOL tag, all tags read in the same request), change (deadband; OPC UA
 * subscriptions where the client has them) and single reads for input mode. Output: payload, part, plc.
 */
import { PlcValue } from './cip/types';
import { PlcClient, TagDef, TagResult, scaled } from './types';

export type ReadMode = 'poll' | 'input' | 'change' | 'trigger';
export const READ_MODES: readonly ReadMode[] = ['poll', 'input', 'change', 'trigger'];

export interface PartInfo {
  serial?: PlcValue | null;
  program?: PlcValue | null;
  model?: PlcValue | null;
  extra: Record<string, PlcValue | null>;
}

export interface PlcInfo {
  station: string;
  protocol: string;
  readAt: string;
  cycle: number;
  durationMs: number;
  overruns: number;
  quality: Record<string, 'good' | 'bad'>;
  errors: Record<string, string>;
  units: Record<string, string>;
  changed?: string[];
  /** trigger mode: what fired this message ('edge': the trigger rose; 'serial': a new part serial under a trigger that stayed high) */
  fired?: 'edge' | 'serial';
}

export interface ReadOutput {
  payload: Record<string, PlcValue | null>;
  part: PartInfo;
  plc: PlcInfo;
}

export interface ReaderOptions {
  tags: TagDef[];
  mode: ReadMode;
  intervalMs: number;
  deadband?: number;
  /** name of the BOOL tag whose rising edge triggers a message (trigger mode) */
  trigger?: string;
  station: string;
  /** the open client, or throws when there is none */
  client: () => PlcClient;
  emit: (out: ReadOutput) => void;
  /** after every cycle (for status) */
  onCycle?: (r: PlcReader) => void;
  /** a cycle failed as a whole (connection trouble); per-tag errors never get here */
  onError?: (err: unknown) => void;
}

export function buildOutput(tags: readonly TagDef[], results: readonly TagResult[], info: Omit<PlcInfo, 'quality' | 'errors' | 'units'>): ReadOutput {
  const payload: Record<string, PlcValue | null> = {};
  const part: PartInfo = { extra: {} };
  const plc: PlcInfo = { ...info, quality: {}, errors: {}, units: {} };
  tags.forEach((t, k) => {
    const r = results[k];
    const v = r.quality === 'good' ? scaled(t, r.value) : null;
    payload[t.name] = v;
    plc.quality[t.name] = r.quality;
    if (r.error) plc.errors[t.name] = r.error;
    if (t.unit) plc.units[t.name] = t.unit;
    if (t.role === 'serial' || t.role === 'program' || t.role === 'model') part[t.role] = v;
    else if (t.role === 'extra') part.extra[t.name] = v;
  });
  return { payload, part, plc };
}

function differs(a: PlcValue | null | undefined, b: PlcValue | null, deadband: number): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) > deadband || (deadband === 0 && a !== b);
  return JSON.stringify(a) !== JSON.stringify(b);
}

export class PlcReader {
  cycles = 0;
  overruns = 0;
  /** when the last cycle that took longer than the interval ended (ms epoch), for a status that recovers */
  lastOverrunAt: number | undefined;
  emitted = 0;
  lastDurationMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private lastTrigger: boolean | undefined;
  /** the part serial read in the last good cycle (trigger mode) */
  private lastSerial: string | undefined;
  /** a serial fired by 'serial' whose own rising edge may still come: that edge is the same part */
  private anticipated: string | undefined;
  private last: ReadOutput | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private subscribedTo: PlcClient | undefined;

  /** the tag with role 'serial' (trigger mode tells parts apart by it), found once */
  private readonly serialTag: TagDef | undefined;

  constructor(readonly opts: ReaderOptions) {
    this.serialTag = opts.tags.find((t) => t.role === 'serial');
  }

  get mode(): ReadMode {
    return this.opts.mode;
  }

  start(): void {
    this.stopped = false;
    if (this.opts.mode === 'input') return;
    this.schedule(0);
  }

  /** Stop for good: no timer left and no message from a cycle still in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const u = this.unsubscribe;
    this.unsubscribe = undefined;
    this.subscribedTo = undefined;
    if (u) await u();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    if (ms <= 0 && this.cycles > 0) {
      // the cycle used up its interval: start the next one at once (a timer would add >= 1 ms)
      setImmediate(() => void this.tick()); // tick() returns at once after stop()
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
  }

  /** Read every tag once (input mode and each cycle). */
  async readOnce(): Promise<ReadOutput> {
    const client = this.opts.client();
    const t0 = Date.now();
    const results = await client.read(this.opts.tags);
    const durationMs = Date.now() - t0;
    this.lastDurationMs = durationMs;
    this.cycles += 1;
    return buildOutput(this.opts.tags, results, {
      station: this.opts.station,
      protocol: client.protocol,
      readAt: new Date(t0).toISOString(),
      cycle: this.cycles,
      durationMs,
      overruns: this.overruns,
    });
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    const started = Date.now();
    try {
      let client: PlcClient | undefined;
      try {
        client = this.opts.client();
      } catch {
        client = undefined; // not connected: the config node shows why; try again next interval
      }
      if (client) {
        if (this.opts.mode === 'change' && client.subscribe) {
          await this.ensureSubscription(client);
        } else {
          const out = await this.readOnce();
          if (!this.stopped) this.handle(out);
        }
      }
    } catch (err) {
      if (!this.stopped) this.opts.onError?.(err);
    } finally {
      this.running = false;
      const took = Date.now() - started;
      if (took > this.opts.intervalMs) {
        this.overruns += 1;
        this.lastOverrunAt = Date.now();
      }
      if (!this.stopped) {
        this.opts.onCycle?.(this);
        this.schedule(Math.max(0, this.opts.intervalMs - took));
      }
    }
  }

  private handle(out: ReadOutput): void {
    const { mode, trigger } = this.opts;
    if (mode === 'poll') {
      this.send(out);
    } else if (mode === 'trigger' && trigger) {
      const v = out.plc.quality[trigger] === 'good' ? out.payload[trigger] === true : undefined;
      // a value we could not read is no edge; a trigger already high at start is no edge either
      if (v !== undefined) this.onTrigger(v, out);
    } else if (mode === 'change') {
      this.sendChanges(out);
    }
  }

  /**
   * One part per rising edge. A low phase shorter than the interval, or one that fell while the connection was
   * down, hides the edge; the part serial then tells the new part: a serial that changed while the trigger
   * stayed high is a new part too. Its own edge, if one still comes with the same serial, is not counted twice.
   */
  private onTrigger(high: boolean, out: ReadOutput): void {
    const serialTag = this.serialTag;
    const serial = serialTag && out.plc.quality[serialTag.name] === 'good' ? JSON.stringify(out.payload[serialTag.name]) : undefined;
    let fired: 'edge' | 'serial' | undefined;
    if (high && this.lastTrigger === false) {
      if (serial === undefined || serial !== this.anticipated) fired = 'edge';
      this.anticipated = undefined;
    } else if (high && this.lastTrigger === true && serial !== undefined && this.lastSerial !== undefined && serial !== this.lastSerial) {
      fired = 'serial';
      this.anticipated = serial;
    }
    this.lastTrigger = high;
    if (serial !== undefined) this.lastSerial = serial;
    if (fired) {
      out.plc.fired = fired;
      this.send(out);
    }
  }

  private sendChanges(out: ReadOutput): void {
    const deadband = this.opts.deadband ?? 0;
    const prev = this.last;
    const changed = this.opts.tags
      .map((t) => t.name)
      .filter((n) => !prev || prev.plc.quality[n] !== out.plc.quality[n] || differs(prev.payload[n], out.payload[n], deadband));
    if (changed.length === 0) return;
    // values inside the deadband keep their last emitted value as the reference
    if (prev) for (const n of Object.keys(out.payload)) if (!changed.includes(n)) out.payload[n] = prev.payload[n];
    out.plc.changed = changed;
    this.last = out;
    this.send(out);
  }

  private send(out: ReadOutput): void {
    if (this.stopped) return;
    this.emitted += 1;
    this.opts.emit(out);
  }

  private async ensureSubscription(client: PlcClient): Promise<void> {
    if (this.subscribedTo === client || !client.subscribe) return;
    const old = this.unsubscribe;
    this.unsubscribe = undefined;
    if (old) await old().catch(() => undefined);
    this.subscribedTo = client;
    const t0 = Date.now();
    const unsub = await client.subscribe(this.opts.tags, Math.max(10, this.opts.intervalMs), (results) => {
      if (this.stopped || this.subscribedTo !== client) return;
      this.cycles += 1;
      this.sendChanges(
        buildOutput(this.opts.tags, results, {
          station: this.opts.station,
          protocol: client.protocol,
          readAt: new Date().toISOString(),
          cycle: this.cycles,
          durationMs: Date.now() - t0,
          overruns: this.overruns,
        }),
      );
    });
    if (this.stopped || this.subscribedTo !== client) await unsub();
    else this.unsubscribe = unsub;
  }
}
