/** The PlcClient for Logix controllers over our EtherNet/IP client: tag map → packed reads and writes. */
import {
  ATOMIC_NAME,
  ATOMIC_SIZE,
  PathSegment,
  PlcValue,
  STRING_HANDLE,
  STRING_SIZE,
  STRUCT_TYPE,
  TagAddress,
  Template,
  TypeCode,
  TypedData,
  decodeAtomic,
  decodeStruct,
  encodeAtomic,
  encodeLogixString,
  encodeStruct,
  parseTagAddress,
  stringTemplateLength,
  decodeLogixString,
  need,
} from './cip';
import { LogixClient, LogixOptions, ReadSpec, WriteSpec } from './logix-client';
import { readTagRequest } from './cip/services';
import { PlcClient, TagDef, TagResult, WriteItem, isArrayTag } from './types';
import { BrowseResult, browseLogix } from './browse';
import { SpotFusionError, describeError } from '../errors';

const addressCache = new Map<string, TagAddress>();
const NEEDS_TEMPLATE = Symbol('needs template');

export function logixAddress(text: string): TagAddress {
  let a = addressCache.get(text);
  if (!a) {
    a = parseTagAddress(text);
    if (addressCache.size > 10_000) addressCache.clear();
    addressCache.set(text, a);
  }
  return a;
}

function elementSize(tag: TagDef): number {
  if (tag.type === 'STRING') return STRING_SIZE;
  if (tag.type === 'UDT') return 64;
  return ATOMIC_SIZE[TypeCode[tag.type]];
}

export class LogixPlc implements PlcClient {
  readonly protocol = 'ethernet-ip' as const;
  /** learned value sizes and structure handles, by address */
  private readonly learned = new Map<string, { bytes: number; handle?: number }>();

  constructor(readonly client: LogixClient) {}

  static async connect(opts: LogixOptions): Promise<LogixPlc> {
    return new LogixPlc(await LogixClient.connect(opts));
  }

  describe(): string {
    return this.client.describe();
  }

  /** The controller's tags, program tags and UDT members (nodes/lib/plc/browse.ts). */
  browse(): Promise<BrowseResult> {
    return browseLogix(this.client);
  }

  /** read plans per tag map entry, kept between cycles (the request bytes are built once) */
  private readonly plans = new WeakMap<TagDef, { spec: ReadSpec; addr: TagAddress }>();

  private spec(tag: TagDef): { spec: ReadSpec; addr: TagAddress } {
    const known = this.plans.get(tag);
    if (known) {
      const learned = this.learned.get(tag.address);
      if (learned && tag.type !== 'BOOL') known.spec.estimate = learned.bytes;
      return known;
    }
    const plan = this.makeSpec(tag);
    plan.spec.request = readTagRequest(plan.spec.path, plan.spec.elements);
    this.plans.set(tag, plan);
    return plan;
  }

  private makeSpec(tag: TagDef): { spec: ReadSpec; addr: TagAddress } {
    const addr = logixAddress(tag.address);
    const n = tag.count ?? 1;
    let elements = n;
    let estimate: number;
    if (tag.type === 'BOOL' && addr.bit !== undefined) {
      elements = 1;
      estimate = addr.bit < 32 ? 4 : 8;
    } else if (tag.type === 'BOOL' && n > 1) {
      elements = Math.ceil(n / 32);
      estimate = elements * 4;
    } else {
      estimate = this.learned.get(tag.address)?.bytes ?? elementSize(tag) * n;
    }
    return { spec: { path: addr.segments, elements, estimate }, addr };
  }

  async read(tags: readonly TagDef[]): Promise<TagResult[]> {
    const prepared: Array<{ spec: ReadSpec; addr: TagAddress } | Error> = tags.map((t) => {
      try {
        return this.spec(t);
      } catch (err) {
        return err as Error;
      }
    });
    const specs = prepared.filter((p): p is { spec: ReadSpec; addr: TagAddress } => !(p instanceof Error)).map((p) => p.spec);
    const outcomes = await this.client.readMany(specs);
    const results: TagResult[] = [];
    let j = 0;
    for (let k = 0; k < tags.length; k++) {
      const tag = tags[k];
      const p = prepared[k];
      if (p instanceof Error) {
        results.push({ name: tag.name, value: null, quality: 'bad', error: p.message });
        continue;
      }
      const o = outcomes[j++];
      if (!o.ok) {
        results.push({ name: tag.name, value: null, quality: 'bad', error: o.error });
        continue;
      }
      try {
        const sync = this.decodeSync(tag, p.addr, o.typed);
        results.push({ name: tag.name, value: sync !== NEEDS_TEMPLATE ? sync : await this.decode(tag, p.addr, o.typed), quality: 'good' });
      } catch (err) {
        if (this.client.closed) throw err;
        results.push({ name: tag.name, value: null, quality: 'bad', error: describeError(err) });
      }
    }
    return results;
  }

  private async template(handle: number | undefined): Promise<Template> {
    const t = handle === undefined ? undefined : await this.client.templateByHandle(handle);
    if (!t) throw new SpotFusionError('TEMPLATE', `no template for structure handle 0x${(handle ?? 0).toString(16)}`);
    return t;
  }

  /** Atomic values and built-in STRINGs decode without a template: no promise per tag on the hot path. */
  private decodeSync(tag: TagDef, addr: TagAddress, typed: TypedData): PlcValue | typeof NEEDS_TEMPLATE {
    if (typed.code === STRUCT_TYPE && (tag.type === 'UDT' || (tag.type === 'STRING' && typed.handle !== STRING_HANDLE))) return NEEDS_TEMPLATE;
    return this.decodeWith(tag, addr, typed, undefined);
  }

  private async decode(tag: TagDef, addr: TagAddress, typed: TypedData): Promise<PlcValue> {
    return this.decodeWith(tag, addr, typed, await this.template(typed.handle));
  }

  private decodeWith(tag: TagDef, addr: TagAddress, typed: TypedData, template: Template | undefined): PlcValue {
    const n = tag.count ?? 1;
    const learned: { bytes: number; handle?: number } = { bytes: typed.data.length };
    if (typed.handle !== undefined) learned.handle = typed.handle;
    this.learned.set(tag.address, learned);
    const plcType = typed.code === STRUCT_TYPE ? `structure 0x${(typed.handle ?? 0).toString(16)}` : ATOMIC_NAME[typed.code] ?? `0x${typed.code.toString(16)}`;
    const mismatch = (): never => {
      throw new SpotFusionError('TYPE', `type mismatch: the PLC has ${plcType}, the tag map says ${tag.type}`);
    };
    if (tag.type === 'BOOL') {
      if (addr.bit !== undefined) {
        if (typed.code === STRUCT_TYPE || typed.code === TypeCode.REAL || typed.code === TypeCode.LREAL) mismatch();
        const size = ATOMIC_SIZE[typed.code] ?? 0;
        if (addr.bit >= size * 8) throw new SpotFusionError('ADDRESS', `bit ${addr.bit} is beyond a ${plcType}`);
        need(typed.data, 0, size, `${tag.name}: ${plcType} reply`);
        return ((typed.data.readUInt8(Math.floor(addr.bit / 8)) >> addr.bit % 8) & 1) === 1;
      }
      if (n > 1) {
        if (typed.code === TypeCode.BOOL) {
          throw new SpotFusionError(
            'TYPE',
            `type mismatch: the tag map reads BOOL[${n}], a Logix BOOL array, which a controller sends packed in 32-bit DWORDs; ` +
              `the PLC sent single BOOLs (${typed.data.length} byte(s)), so ${tag.address} is a single BOOL or not a Logix BOOL array on this PLC: ` +
              `map each element as its own BOOL (${tag.address}[0], ${tag.address}[1], …) or drop the count`,
          );
        }
        if (typed.code !== TypeCode.DWORD) mismatch();
        need(typed.data, 0, Math.ceil(n / 32) * 4, `${tag.name}: BOOL[${n}] reply`);
        return Array.from({ length: n }, (_, k) => ((typed.data.readUInt32LE(Math.floor(k / 32) * 4) >>> k % 32) & 1) === 1);
      }
      if (typed.code !== TypeCode.BOOL) mismatch();
      need(typed.data, 0, 1, `${tag.name}: BOOL reply`);
      return typed.data.readUInt8(0) !== 0;
    }
    if (tag.type === 'STRING' || tag.type === 'UDT') {
      if (typed.code !== STRUCT_TYPE) mismatch();
      let size = STRING_SIZE;
      let decodeOne: (o: number) => PlcValue;
      if (tag.type === 'STRING' && typed.handle === STRING_HANDLE) {
        decodeOne = (o) => decodeLogixString(typed.data, o);
      } else {
        const t = template;
        if (!t) throw new SpotFusionError('TEMPLATE', `no template for structure handle 0x${(typed.handle ?? 0).toString(16)}`);
        const strLen = stringTemplateLength(t);
        if (tag.type === 'STRING' && strLen === undefined) mismatch();
        if (tag.type === 'UDT' && strLen !== undefined) mismatch();
        size = t.size;
        decodeOne = (o) => decodeStruct(t, typed.data, o, this.client.templates);
      }
      if (n > 1) return Array.from({ length: n }, (_, k) => decodeOne(k * size));
      return decodeOne(0);
    }
    const code = TypeCode[tag.type];
    if (typed.code !== code) mismatch();
    if (n > 1) return Array.from({ length: n }, (_, k) => decodeAtomic(code, typed.data, k * ATOMIC_SIZE[code]));
    return decodeAtomic(code, typed.data, 0);
  }

  async write(items: readonly WriteItem[]): Promise<Array<string | undefined>> {
    const specs: Array<WriteSpec | string> = [];
    for (const it of items) {
      try {
        specs.push(await this.writeSpec(it));
      } catch (err) {
        if (this.client.closed) throw err;
        specs.push(describeError(err));
      }
    }
    const ok = specs.filter((s): s is WriteSpec => typeof s !== 'string');
    const res = await this.client.writeMany(ok);
    let j = 0;
    return specs.map((s) => (typeof s === 'string' ? s : res[j++]));
  }

  private async structInfo(tag: TagDef, path: PathSegment[]): Promise<{ handle: number; template?: Template }> {
    let handle = this.learned.get(tag.address)?.handle;
    if (handle === undefined) {
      const [o] = await this.client.readMany([{ path, elements: 1, estimate: elementSize(tag) }]);
      if (!o.ok) throw new SpotFusionError('CIP', o.error);
      if (o.typed.code !== STRUCT_TYPE || o.typed.handle === undefined) throw new SpotFusionError('TYPE', `tag "${tag.name}" is not a structure in the PLC`);
      handle = o.typed.handle;
      this.learned.set(tag.address, { bytes: o.typed.data.length, handle });
    }
    if (tag.type === 'STRING' && handle === STRING_HANDLE) return { handle };
    return { handle, template: await this.template(handle) };
  }

  private async writeSpec(it: WriteItem): Promise<WriteSpec> {
    const { tag, value } = it;
    const addr = logixAddress(tag.address);
    const n = tag.count ?? 1;
    const values = isArrayTag(tag) ? (value as unknown[]) : [value];
    const what = `tag "${tag.name}"`;
    if (tag.type === 'BOOL') {
      if (addr.bit !== undefined) return { path: addr.segments, bit: addr.bit, code: TypeCode.DINT, elements: 1, data: Buffer.from([value ? 1 : 0]) };
      if (n > 1) {
        const words = Buffer.alloc(Math.ceil(n / 32) * 4);
        values.forEach((v, k) => {
          if (v) words.writeUInt32LE((words.readUInt32LE(Math.floor(k / 32) * 4) | (1 << k % 32)) >>> 0, Math.floor(k / 32) * 4);
        });
        return { path: addr.segments, code: TypeCode.DWORD, elements: words.length / 4, data: words };
      }
      return { path: addr.segments, code: TypeCode.BOOL, elements: 1, data: Buffer.from([value ? 0xff : 0]) };
    }
    if (tag.type === 'STRING' || tag.type === 'UDT') {
      const info = await this.structInfo(tag, addr.segments);
      const parts = values.map((v, k) => {
        const w = n > 1 ? `${what}[${k}]` : what;
        if (!info.template) return encodeLogixString(v, w);
        return encodeStruct(info.template, v, this.client.templates, w);
      });
      return { path: addr.segments, code: STRUCT_TYPE, handle: info.handle, elements: n, data: Buffer.concat(parts) };
    }
    const code = TypeCode[tag.type];
    const size = ATOMIC_SIZE[code];
    const data = Buffer.alloc(size * n);
    values.forEach((v, k) => encodeAtomic(code, v, data, k * size, n > 1 ? `${what}[${k}]` : what));
    return { path: addr.segments, code, elements: n, data };
  }

  onLost(lost: (err: Error) => void): () => void {
    if (this.client.closed) {
      const t = setImmediate(() => lost(new SpotFusionError('CONNECTION_LOST', `${this.describe()}: closed`)));
      return () => clearImmediate(t);
    }
    this.client.once('lost', lost);
    return () => this.client.off('lost', lost);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
