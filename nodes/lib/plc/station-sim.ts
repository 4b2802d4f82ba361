/**
 * The station script: drives a simulated inspection station through a tag store (the Logix simulator's
 * database or the OPC UA simulator). Every period: a new part serial, the program number rotates, then the
 * trigger bit rises and falls again after `pulseMs`.
 */
export interface TagStore {
  get(name: string): unknown;
  set(name: string, value: unknown): void;
}

export interface StationOptions {
  periodMs?: number;
  pulseMs?: number;
  programs?: number;
  serialPrefix?: string;
  models?: string[];
}

export class StationScript {
  private timer: NodeJS.Timeout | undefined;
  private pulse: NodeJS.Timeout | undefined;
  parts = 0;

  constructor(
    readonly store: TagStore,
    readonly opts: StationOptions = {},
  ) {}

  /** One part cycle now: new serial, program and model, then the trigger edge. */
  step(): void {
    const { pulseMs = 200, programs = 4, serialPrefix = 'WB-', models = ['SEDAN-A', 'SEDAN-B', 'WAGON'] } = this.opts;
    this.parts += 1;
    this.store.set('PartSerial', `${serialPrefix}${String(this.parts).padStart(6, '0')}`);
    this.store.set('ProgramNo', ((this.parts - 1) % programs) + 1);
    this.store.set('Model', models[(this.parts - 1) % models.length]);
    this.store.set('Counter', this.parts);
    this.store.set('Trigger', true);
    if (this.pulse) clearTimeout(this.pulse);
    this.pulse = setTimeout(() => {
      this.pulse = undefined;
      this.store.set('Trigger', false);
    }, pulseMs);
  }

  start(): this {
    this.stop();
    this.timer = setInterval(() => this.step(), this.opts.periodMs ?? 2000);
    return this;
  }

  /** Stop the cycle; a trigger pulse in progress ends (the bit falls) at once. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.pulse) {
      clearTimeout(this.pulse);
      this.store.set('Trigger', false);
    }
    this.timer = undefined;
    this.pulse = undefined;
  }
}
