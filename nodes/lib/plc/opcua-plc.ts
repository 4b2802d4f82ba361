/**
 * The PlcClient for OPC UA over node-opcua: one client and one session per connection, reads of many nodes in
 * one Read service call, typed writes, subscriptions for on-change. node-opcua's own reconnection is switched
 * off: a lost connection is reported once and SharedConnection reconnects with its capped backoff.
 */
import {
  OPCUAClient,
  ClientSession,
  ClientSubscription,
  ClientMonitoredItemGroup,
  AttributeIds,
  DataValue,
  MessageSecurityMode,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  OPCUACertificateManager,
  VariantArrayType,
  resolveNodeId,
  StatusCodes,
  UserIdentityInfo,
  DataType,
  BrowseDirection,
  NodeClass,
  NodeClassMask,
  ReferenceDescription,
} from 'node-opcua';
import { EventEmitter } from 'node:events';
import { PlcClient, TagDef, TagResult, WriteItem, isArrayTag } from './types';
import { OPCUA_TYPES, fromOpcuaValue, toOpcuaValue } from './opcua-values';
import { SpotFusionError, describeError } from '../errors';
import type { PlcValue } from './cip/types';
import { BrowseEntry, BrowseResult, MAX_BROWSE_ENTRIES } from './browse';
import type { PlcType } from './types';

export interface OpcuaOptions {
  endpoint: string;
  securityMode?: 'None' | 'Sign' | 'SignAndEncrypt';
  securityPolicy?: 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';
  username?: string;
  password?: string;
  /** folder of the client's PKI (own certificate, trusted/rejected server certificates) */
  certificateFolder?: string;
  /** trust a server certificate seen for the first time (default false) */
  acceptUnknownCertificate?: boolean;
  timeoutMs?: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new SpotFusionError('TIMEOUT', `${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** Nodes visited at most by browse(), and how deep below Objects. */
const MAX_BROWSE_NODES = 20_000;
const BROWSE_DEPTH = 8;

/** Built-in OPC UA data type id (ns=0;i=N) → the tag map's type. */
const PLC_TYPE_OF: Readonly<Record<number, PlcType>> = Object.fromEntries(Object.entries(OPCUA_TYPES).map(([k, v]) => [Number(v), k as PlcType]));

export class OpcuaPlc implements PlcClient {
  readonly protocol = 'opcua' as const;
  private readonly events = new EventEmitter();
  private lostErr: Error | undefined;
  private readonly subscriptions = new Set<ClientSubscription>();

  private constructor(
    readonly client: OPCUAClient,
    readonly session: ClientSession,
    readonly opts: OpcuaOptions,
  ) {
    this.events.on('error', () => undefined);
    const lost = (why: string): void => this.fail(new SpotFusionError('CONNECTION_LOST', `${this.describe()}: ${why}`));
    client.on('connection_lost', () => lost('connection lost'));
    client.on('close', () => lost('connection closed'));
    session.on('session_closed', () => lost('session closed by the server'));
    session.on('keepalive_failure', () => lost('keep-alive failed'));
  }

  static async connect(opts: OpcuaOptions): Promise<OpcuaPlc> {
    const timeoutMs = opts.timeoutMs ?? 5000;
    const certManager = opts.certificateFolder
      ? new OPCUACertificateManager({ rootFolder: opts.certificateFolder, automaticallyAcceptUnknownCertificate: opts.acceptUnknownCertificate === true })
      : undefined;
    const client = OPCUAClient.create({
      applicationName: 'SpotFusion Edge',
      endpointMustExist: false,
      securityMode: MessageSecurityMode[opts.securityMode ?? 'None'],
      securityPolicy: SecurityPolicy[opts.securityPolicy ?? 'None'],
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      keepAliveInterval: 2000,
      requestedSessionTimeout: 20_000,
      transportTimeout: timeoutMs,
      ...(certManager ? { clientCertificateManager: certManager } : {}),
    });
    client.on('backoff', () => undefined);
    try {
      await withTimeout(client.connect(opts.endpoint), timeoutMs, `opcua connect ${opts.endpoint}`);
      const identity: UserIdentityInfo = opts.username
        ? { type: UserTokenType.UserName, userName: opts.username, password: opts.password ?? '' }
        : { type: UserTokenType.Anonymous };
      const session = await withTimeout(client.createSession(identity), timeoutMs, `opcua session ${opts.endpoint}`);
      return new OpcuaPlc(client, session, opts);
    } catch (err) {
      await withTimeout(client.disconnect(), 2000, 'opcua disconnect').catch(() => undefined);
      throw new SpotFusionError(describeError(err).includes('BadUserAccessDenied') || describeError(err).includes('BadIdentityToken') ? 'AUTH' : 'CONNECT', `opcua ${opts.endpoint}: ${describeError(err)}`);
    }
  }

  describe(): string {
    return `opcua ${this.opts.endpoint}`;
  }

  private fail(err: Error): void {
    if (this.lostErr) return;
    this.lostErr = err;
    this.events.emit('lost', err);
  }

  private result(tag: TagDef, dv: DataValue): TagResult {
    if (!dv.statusCode.isGood()) return { name: tag.name, value: null, quality: 'bad', error: `${dv.statusCode.name}: ${dv.statusCode.description}` };
    const expected = OPCUA_TYPES[tag.type as keyof typeof OPCUA_TYPES];
    if (expected === undefined) return { name: tag.name, value: null, quality: 'bad', error: `type ${tag.type} is not supported over OPC UA` };
    const v = dv.value;
    const isArr = v.arrayType !== VariantArrayType.Scalar;
    if (v.dataType !== expected || isArr !== isArrayTag(tag)) {
      return { name: tag.name, value: null, quality: 'bad', error: `type mismatch: the server has ${DataType[v.dataType]}${isArr ? '[]' : ''}, the tag map says ${tag.type}${isArrayTag(tag) ? '[]' : ''}` };
    }
    return { name: tag.name, value: fromOpcuaValue(tag.type, v.value, isArr) as PlcValue, quality: 'good' };
  }

  async read(tags: readonly TagDef[]): Promise<TagResult[]> {
    if (this.lostErr) throw this.lostErr;
    const ok: number[] = [];
    const out: TagResult[] = tags.map((t, k) => {
      try {
        resolveNodeId(t.address);
        ok.push(k);
        return { name: t.name, value: null, quality: 'bad' as const };
      } catch (err) {
        return { name: t.name, value: null, quality: 'bad' as const, error: `bad node id "${t.address}": ${describeError(err)}` };
      }
    });
    if (ok.length === 0) return out;
    const dvs = await withTimeout(
      this.session.read(ok.map((k) => ({ nodeId: tags[k].address, attributeId: AttributeIds.Value }))),
      this.opts.timeoutMs ?? 5000,
      'opcua read',
    );
    ok.forEach((k, j) => (out[k] = this.result(tags[k], dvs[j])));
    return out;
  }

  async write(items: readonly WriteItem[]): Promise<Array<string | undefined>> {
    if (this.lostErr) throw this.lostErr;
    const out: Array<string | undefined> = new Array<string | undefined>(items.length);
    const send: number[] = [];
    items.forEach((it, k) => {
      if (OPCUA_TYPES[it.tag.type as keyof typeof OPCUA_TYPES] === undefined) out[k] = `type ${it.tag.type} is not supported over OPC UA`;
      else send.push(k);
    });
    if (send.length === 0) return out;
    const codes = await withTimeout(
      this.session.write(
        send.map((k) => {
          const { tag, value } = items[k];
          const arr = isArrayTag(tag);
          return {
            nodeId: tag.address,
            attributeId: AttributeIds.Value,
            value: {
              value: {
                dataType: OPCUA_TYPES[tag.type as keyof typeof OPCUA_TYPES],
                arrayType: arr ? VariantArrayType.Array : VariantArrayType.Scalar,
                value: toOpcuaValue(tag.type, value, arr),
              },
            },
          };
        }),
      ),
      this.opts.timeoutMs ?? 5000,
      'opcua write',
    );
    send.forEach((k, j) => (out[k] = codes[j] === StatusCodes.Good ? undefined : `${codes[j].name}: ${codes[j].description}`));
    return out;
  }

  async subscribe(tags: readonly TagDef[], intervalMs: number, onData: (results: TagResult[]) => void): Promise<() => Promise<void>> {
    const sub = await this.session.createSubscription2({
      requestedPublishingInterval: intervalMs,
      requestedMaxKeepAliveCount: 10,
      requestedLifetimeCount: 100,
      publishingEnabled: true,
      priority: 1,
    });
    this.subscriptions.add(sub);
    const latest: TagResult[] = tags.map((t) => ({ name: t.name, value: null, quality: 'bad', error: 'no value yet' }));
    const group = ClientMonitoredItemGroup.create(
      sub,
      tags.map((t) => ({ nodeId: t.address, attributeId: AttributeIds.Value })),
      { samplingInterval: intervalMs, queueSize: 1, discardOldest: true },
      TimestampsToReturn.Neither,
    );
    let pending = false;
    group.on('changed', (_item: unknown, dv: DataValue, index: number) => {
      latest[index] = this.result(tags[index], dv);
      if (pending) return;
      pending = true;
      // one notification message carries many items: deliver them as one snapshot
      setImmediate(() => {
        pending = false;
        onData(latest.map((r) => ({ ...r })));
      });
    });
    group.on('err', () => undefined);
    return async () => {
      this.subscriptions.delete(sub);
      await withTimeout(sub.terminate(), 2000, 'opcua terminate subscription').catch(() => undefined);
    };
  }

  /**
   * The server's address space under Objects (its own Server object left out), breadth first, at most
   * MAX_BROWSE_NODES nodes visited and BROWSE_DEPTH levels deep: every variable of a built-in type the tag map
   * knows, with its node id, type and array length.
   */
  async browse(): Promise<BrowseResult> {
    if (this.lostErr) throw this.lostErr;
    const ms = Math.max(this.opts.timeoutMs ?? 5000, 5000);
    const entries: BrowseEntry[] = [];
    const seen = new Set<string>();
    const variables: Array<{ nodeId: string; scope: string; name: string }> = [];
    let level: Array<{ nodeId: string; path: string }> = [{ nodeId: 'ns=0;i=85', path: 'Objects' }];
    let truncated = false;
    for (let depth = 0; depth < BROWSE_DEPTH && level.length > 0; depth++) {
      const next: Array<{ nodeId: string; path: string }> = [];
      for (let k = 0; k < level.length; k += 100) {
        const batch = level.slice(k, k + 100);
        const results = await withTimeout(
          this.session.browse(
            batch.map((b) => ({
              nodeId: b.nodeId,
              referenceTypeId: 'HierarchicalReferences',
              browseDirection: BrowseDirection.Forward,
              includeSubtypes: true,
              nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
              resultMask: 63,
            })),
          ),
          ms,
          'opcua browse',
        );
        for (const [j, r] of results.entries()) {
          const refs: ReferenceDescription[] = [...(r.references ?? [])];
          let cp = r.continuationPoint;
          for (let guard = 0; cp && cp.length > 0 && guard < 100; guard++) {
            const more = await withTimeout(this.session.browseNext(cp, false), ms, 'opcua browse next');
            refs.push(...(more.references ?? []));
            cp = more.continuationPoint;
          }
          for (const ref of refs) {
            const id = ref.nodeId.toString();
            if (ref.nodeId.namespace === 0 || seen.has(id)) continue; // ns 0: the server's own objects
            seen.add(id);
            if (seen.size > MAX_BROWSE_NODES) {
              truncated = true;
              break;
            }
            const name = ref.browseName.name ?? id;
            const path = `${batch[j].path}/${name}`;
            if (Number(ref.nodeClass) === Number(NodeClass.Variable)) variables.push({ nodeId: id, scope: batch[j].path, name });
            next.push({ nodeId: id, path });
          }
        }
      }
      level = truncated ? [] : next;
    }
    for (let k = 0; k < variables.length && entries.length < MAX_BROWSE_ENTRIES; k += 200) {
      const batch = variables.slice(k, k + 200);
      const attrs = await withTimeout(
        this.session.read(batch.flatMap((v) => [AttributeIds.DataType, AttributeIds.ValueRank, AttributeIds.ArrayDimensions, AttributeIds.Value].map((attributeId) => ({ nodeId: v.nodeId, attributeId })))),
        ms,
        'opcua read attributes',
      );
      batch.forEach((v, j) => {
        const [dt, rank, dims, value] = attrs.slice(j * 4, j * 4 + 4);
        const dataType = dt.value.value as { namespace: number; value: unknown } | null;
        const type = dataType && dataType.namespace === 0 ? PLC_TYPE_OF[Number(dataType.value)] : undefined;
        if (!type) return;
        const e: BrowseEntry = { address: v.nodeId, name: v.name, type, scope: v.scope };
        if (Number(rank.value.value) >= 0 || value.value.arrayType !== VariantArrayType.Scalar) {
          const fixed = Array.isArray(dims.value.value) || ArrayBuffer.isView(dims.value.value) ? Array.from(dims.value.value as ArrayLike<number>).reduce((a, b) => a * b, 1) : 0;
          const n = fixed > 0 ? fixed : ((value.value.value as ArrayLike<unknown> | null)?.length ?? 0);
          if (n > 1) e.count = n;
        }
        entries.push(e);
      });
    }
    return { entries, truncated: truncated || entries.length < variables.length };
  }

  onLost(lost: (err: Error) => void): () => void {
    if (this.lostErr) {
      const e = this.lostErr;
      const t = setImmediate(() => lost(e));
      return () => clearImmediate(t);
    }
    this.events.once('lost', lost);
    return () => this.events.off('lost', lost);
  }

  async close(): Promise<void> {
    this.lostErr ??= new SpotFusionError('CLOSED', `${this.describe()}: closed`);
    this.client.removeAllListeners('connection_lost');
    this.client.removeAllListeners('close');
    this.client.on('close', () => undefined);
    for (const s of this.subscriptions) await withTimeout(s.terminate(), 1000, 'terminate').catch(() => undefined);
    this.subscriptions.clear();
    await withTimeout(this.session.close(), 2000, 'opcua close session').catch(() => undefined);
    await withTimeout(this.client.disconnect(), 2000, 'opcua disconnect').catch(() => undefined);
  }
}
