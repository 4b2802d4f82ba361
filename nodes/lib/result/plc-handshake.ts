/**
 * The PLC handshake of result-publish: writes one result at a time to the PLC through the plc-config's open
 * client (plc-write's typed `writeTags`), honouring the ready/done/ack sequence:
 *
 *   1. read ready, ack, done; a done bit left set by an interrupted attempt is cleared first
 *   2. wait until ready = true (when mapped) and ack = false (when mapped: the PLC ended the last handshake)
 *   3. write resultCode, classId, ok, nok, counter, serial (those mapped) in one request
 *   4. set done = true, wait until the PLC sets ack = true
 *   5. clear done; only now the result counts as delivered (it leaves the outbox for this target)
 *
 * Without done/ack the PLC's write reply is the confirmation. Every wait has its own timeout; a failure on the
 * way clears done (best effort) and the dispatcher sends the same result again from step 1, with the same
 * counter, so the PLC can tell a repeat from a new part.
 */
import { SpotFusionError, describeError } from '../errors';
import { planWrites, writeTags } from '../plc/handshake';
import { checkAddresses } from '../plc/check';
import { PlcClient, PlcType, TagDef } from '../plc/types';
import type { PlcResultWriter } from './targets';

export const HANDSHAKE_ROLES = ['resultCode', 'classId', 'ok', 'nok', 'counter', 'serial', 'done', 'ack', 'ready'] as const;
export type HandshakeRole = (typeof HANDSHAKE_ROLES)[number];

const BOOL_ROLES: readonly HandshakeRole[] = ['ok', 'nok', 'done', 'ack', 'ready'];
const INT_TYPES: readonly PlcType[] = ['SINT', 'INT', 'DINT', 'LINT', 'USINT', 'UINT', 'UDINT', 'ULINT'];
/** largest value of each integer type the counter can take before it wraps to 0 */
const COUNTER_MAX: Partial<Record<PlcType, number>> = {
  SINT: 127,
  INT: 32_767,
  DINT: 2_147_483_647,
  USINT: 255,
  UINT: 65_535,
  UDINT: 4_294_967_295,
  LINT: Number.MAX_SAFE_INTEGER,
  ULINT: Number.MAX_SAFE_INTEGER,
};
/** a Logix STRING holds 82 characters */
const SERIAL_MAX = 82;

function allowedTypes(role: HandshakeRole): readonly PlcType[] {
  if (BOOL_ROLES.includes(role)) return ['BOOL'];
  if (role === 'serial') return ['STRING'];
  return INT_TYPES;
}

/**
 * The handshake tag map of a result-publish node: `{ role: { address, type } }` (or a list of
 * `{ name: role, address, type }`), checked against the protocol. Errors name the role and the field.
 */
export function parseHandshakeTags(raw: unknown, protocol: string | undefined, where: string): TagDef[] {
  let value = raw;
  if (typeof value === 'string') {
    if (value.trim() === '') value = {};
    else {
      try {
        value = JSON.parse(value) as unknown;
      } catch (err) {
        throw new SpotFusionError('CONFIG', `${where}: the handshake tags are not JSON (${describeError(err)})`);
      }
    }
  }
  let entries: Array<[string, unknown]>;
  if (Array.isArray(value)) {
    entries = value.map((t: unknown, k) => {
      const name = (t as { name?: unknown } | null)?.name;
      return [typeof name === 'string' ? name : `#${k + 1}`, t];
    });
  }
  else if (typeof value === 'object' && value !== null) entries = Object.entries(value);
  else throw new SpotFusionError('CONFIG', `${where}: the handshake tags must be an object of role → {address, type}`);
  const tags: TagDef[] = [];
  for (const [role, item] of entries) {
    const at = `${where}: handshake tag "${role}"`;
    if (!(HANDSHAKE_ROLES as readonly string[]).includes(role)) throw new SpotFusionError('CONFIG', `${at} is not one of ${HANDSHAKE_ROLES.join(', ')}`);
    if (item === null || item === undefined || item === '') continue;
    if (typeof item !== 'object') throw new SpotFusionError('CONFIG', `${at} must be {address, type}`);
    const t = item as Record<string, unknown>;
    const address = typeof t.address === 'string' ? t.address.trim() : '';
    if (!address) continue; // a role with no address is not used
    const types = allowedTypes(role as HandshakeRole);
    const type = (typeof t.type === 'string' && t.type ? t.type.toUpperCase() : types === INT_TYPES ? 'DINT' : types[0]) as PlcType;
    if (!types.includes(type)) throw new SpotFusionError('CONFIG', `${at}: type ${JSON.stringify(t.type)} must be ${types.join(' or ')}`);
    if (tags.some((x) => x.name === role)) throw new SpotFusionError('CONFIG', `${at} is mapped twice`);
    tags.push({ name: role, address, type });
  }
  const has = (r: HandshakeRole): boolean => tags.some((t) => t.name === r);
  if (!tags.some((t) => !['done', 'ack', 'ready'].includes(t.name))) {
    throw new SpotFusionError('CONFIG', `${where}: the PLC handshake writes nothing: map at least one of resultCode, classId, ok, nok, counter, serial`);
  }
  if (has('done') !== has('ack')) {
    throw new SpotFusionError('CONFIG', `${where}: handshake tags "done" and "ack" go together (done is set, the PLC answers with ack, done is cleared): map both or neither`);
  }
  checkAddresses(tags, protocol, where);
  return tags;
}

export interface HandshakeOptions {
  /** how often ready/ack are read while waiting (default 20 ms) */
  pollMs?: number;
  /** longest wait for ready = true and ack = false before the result is written (default 5000 ms) */
  readyTimeoutMs?: number;
  /** longest wait for the PLC's ack after done was set (default 5000 ms) */
  ackTimeoutMs?: number;
}

export interface HandshakeResult {
  resultId: string;
  serial: string | null;
  ok: boolean;
  resultCode: number;
  classId: number;
  /** the outbox sequence number: the PLC's counter (the same on a repeat) */
  seq: number;
}

/** The values step 3 writes, by role, for the mapped tags (checked against the tag types). */
export function handshakeValues(tags: readonly TagDef[], r: HandshakeResult): Record<string, unknown> {
  const v: Record<string, unknown> = {};
  for (const t of tags) {
    switch (t.name as HandshakeRole) {
      case 'resultCode':
        v.resultCode = r.resultCode;
        break;
      case 'classId':
        v.classId = r.classId;
        break;
      case 'ok':
        v.ok = r.ok;
        break;
      case 'nok':
        v.nok = !r.ok;
        break;
      case 'counter': {
        const max = COUNTER_MAX[t.type] ?? Number.MAX_SAFE_INTEGER;
        v.counter = r.seq % (max + 1);
        break;
      }
      case 'serial':
        v.serial = Buffer.from(r.serial ?? '', 'latin1').subarray(0, SERIAL_MAX).toString('latin1');
        break;
      default:
        break;
    }
  }
  return v;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class PlcHandshakeWriter implements PlcResultWriter {
  readonly tags: readonly TagDef[];
  private readonly data: TagDef[];
  private readonly byRole = new Map<string, TagDef>();
  private readonly pollMs: number;
  private readonly readyTimeoutMs: number;
  private readonly ackTimeoutMs: number;
  /** the handshake in progress: a new one starts only after it ended, even when the dispatcher gave up on it */
  private current: Promise<void> = Promise.resolve();
  private closed = false;
  readonly onAvailable?: (cb: () => void) => () => void;

  constructor(
    private readonly client: () => PlcClient,
    tags: readonly TagDef[],
    opts: HandshakeOptions = {},
    onAvailable?: (cb: () => void) => () => void,
  ) {
    this.tags = tags;
    for (const t of tags) this.byRole.set(t.name, t);
    this.data = tags.filter((t) => !['done', 'ack', 'ready'].includes(t.name));
    this.pollMs = opts.pollMs ?? 20;
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 5000;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5000;
    if (onAvailable) this.onAvailable = onAvailable;
  }

  /** The longest one handshake may take with its waits, for the dispatcher's timeout. */
  get maxDurationMs(): number {
    return this.readyTimeoutMs + (this.byRole.has('ack') ? this.ackTimeoutMs : 0);
  }

  writeResult(r: HandshakeResult): Promise<void> {
    const run = this.current.then(
      () => this.handshake(r),
      () => this.handshake(r),
    );
    this.current = run.catch(() => undefined);
    return run;
  }

  /** No new step starts after close; the handshake in flight ends at its next step (clearing done). */
  close(): Promise<void> {
    this.closed = true;
    return this.current;
  }

  private check(): void {
    if (this.closed) throw new SpotFusionError('CLOSED', 'PLC handshake: the node is closing');
  }

  private async readBools(roles: readonly string[]): Promise<Record<string, boolean>> {
    const tags = roles.map((r) => this.byRole.get(r)).filter((t): t is TagDef => t !== undefined);
    const out: Record<string, boolean> = {};
    if (tags.length === 0) return out;
    this.check();
    const results = await this.client().read(tags);
    const bad = results.filter((x) => x.quality !== 'good');
    if (bad.length) throw new SpotFusionError('READ', `PLC handshake: cannot read ${bad.map((b) => `"${b.name}" (${tags.find((t) => t.name === b.name)?.address}): ${b.error ?? 'bad quality'}`).join(', ')}`);
    for (const x of results) out[x.name] = x.value === true;
    return out;
  }

  private async write(values: Record<string, unknown>): Promise<void> {
    this.check();
    await writeTags(this.client(), this.tags, values);
  }

  /** Poll until `ok(state)`; throws a TIMEOUT error with `what` after `timeoutMs`. */
  private async waitFor(roles: readonly string[], ok: (s: Record<string, boolean>) => boolean, timeoutMs: number, what: (s: Record<string, boolean>) => string): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.readBools(roles);
      if (ok(s)) return;
      if (Date.now() >= end) throw new SpotFusionError('TIMEOUT', `PLC handshake: ${what(s)} after ${timeoutMs} ms`);
      await sleep(this.pollMs);
    }
  }

  private async handshake(r: HandshakeResult): Promise<void> {
    const values = handshakeValues(this.data, r);
    try {
      planWrites(this.tags, values);
    } catch (err) {
      // a value this tag map can never take (e.g. result code 300 into a SINT): retrying cannot help
      throw new SpotFusionError('UNDELIVERABLE', `PLC handshake: result ${r.resultId} cannot be written: ${describeError(err)}`, { cause: err });
    }
    const hasDone = this.byRole.has('done');
    const hasReady = this.byRole.has('ready');
    // 1. a done bit left set by an interrupted attempt is cleared first
    if (hasDone) {
      const s = await this.readBools(['done']);
      if (s.done) await this.write({ done: false });
    }
    // 2. the PLC is ready and has ended the last handshake
    if (hasReady || hasDone) {
      await this.waitFor(
        ['ready', 'ack'],
        (s) => (!hasReady || s.ready) && !s.ack,
        this.readyTimeoutMs,
        (s) => (hasReady && !s.ready ? 'the PLC did not set ready' : 'the PLC did not clear ack (last handshake not ended)'),
      );
    }
    // 3. the result, in one request
    await this.write(values);
    if (!hasDone) return;
    // 4. done, then the PLC's ack
    await this.write({ done: true });
    try {
      await this.waitFor(['ack'], (s) => s.ack, this.ackTimeoutMs, () => `no ack from the PLC for result ${r.resultId} (outbox seq ${r.seq})`);
    } catch (err) {
      // clear done even while closing: a done bit left set would show the PLC a result nobody watches
      await Promise.resolve()
        .then(() => writeTags(this.client(), this.tags, { done: false }))
        .catch(() => undefined);
      throw err;
    }
    // 5. done cleared: delivered
    await this.write({ done: false });
  }
}
