/**
 * An OPC UA server (node-opcua) with the station's tags as variables `ns=1;s=<Tag>`, for tests and the demo.
 * Listens on 127.0.0.1 only, never registers with a discovery server and never announces itself (no mDNS).
 * UDTs are left out (OPC UA structures are outside this simulator); everything else mirrors the Logix sim.
 */
import { createServer, AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  OPCUAServer,
  OPCUACertificateManager,
  Variant,
  DataType,
  StatusCodes,
  VariantArrayType,
  RegisterServerMethod,
  MessageSecurityMode,
  SecurityPolicy,
} from 'node-opcua';
import type { SimTagDef } from './logix-sim/tag-db';
import { OPCUA_TYPES, toOpcuaValue, fromOpcuaValue } from './opcua-values';
import type { PlcType } from './types';
import { SpotFusionError } from '../errors';

export interface OpcuaSimOptions {
  port?: number;
  tags: SimTagDef[];
  /** user name → password; anonymous is allowed too unless allowAnonymous is false */
  users?: Record<string, string>;
  allowAnonymous?: boolean;
  /** PKI folder (server certificate); default a shared folder in the OS temp dir */
  pkiFolder?: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class OpcuaSimulator {
  private server: OPCUAServer | undefined;
  private readonly values = new Map<string, unknown>();
  private readonly types = new Map<string, { type: PlcType; count: number }>();
  port = 0;
  writes = 0;

  constructor(readonly opts: OpcuaSimOptions) {
    for (const t of opts.tags) {
      const type = t.type.toUpperCase();
      if (!(type in OPCUA_TYPES)) continue;
      const count = (t.dims ?? []).reduce((a, b) => a * b, t.dims?.length ? 1 : 0);
      this.types.set(t.name, { type: type as PlcType, count });
      this.values.set(t.name, count > 1 && Array.isArray(t.value) ? (t.value as unknown[]).flat(2) : t.value);
    }
  }

  get endpointUrl(): string {
    return `opc.tcp://127.0.0.1:${this.port}/spotfusion`;
  }

  get(name: string): unknown {
    if (!this.values.has(name)) throw new SpotFusionError('ADDRESS', `opcua simulator: no tag ${name}`);
    return this.values.get(name);
  }

  set(name: string, value: unknown): void {
    if (!this.values.has(name)) throw new SpotFusionError('ADDRESS', `opcua simulator: no tag ${name}`);
    this.values.set(name, value);
  }

  /** sessions open on the server, for leak checks */
  get openSessions(): number {
    return this.server?.engine?.currentSessionCount ?? 0;
  }

  get openChannels(): number {
    return this.server?.currentChannelCount ?? 0;
  }

  async start(): Promise<this> {
    this.port = this.opts.port ?? (this.port || (await freePort()));
    const users = this.opts.users ?? {};
    const pki = this.opts.pkiFolder ?? join(tmpdir(), 'spotfusion-opcua-sim-pki');
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true });
    const server = new OPCUAServer({
      port: this.port,
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      resourcePath: '/spotfusion',
      registerServerMethod: RegisterServerMethod.HIDDEN,
      serverCertificateManager,
      securityModes: [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt],
      securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
      allowAnonymous: this.opts.allowAnonymous ?? true,
      userManager: { isValidUser: (u: string, p: string) => users[u] !== undefined && users[u] === p },
      buildInfo: { productName: 'SpotFusion OPC UA station simulator' },
    });
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (!addressSpace) throw new SpotFusionError('SIM', 'opcua simulator: no address space');
    const ns = addressSpace.getOwnNamespace();
    const folder = ns.addFolder(addressSpace.rootFolder.objects, { browseName: 'Station' });
    for (const [name, { type, count }] of this.types) {
      const dataType = OPCUA_TYPES[type as keyof typeof OPCUA_TYPES];
      ns.addVariable({
        componentOf: folder,
        browseName: name,
        nodeId: `s=${name}`,
        dataType: DataType[dataType],
        valueRank: count > 1 ? 1 : -1,
        ...(count > 1 ? { arrayDimensions: [count] } : {}),
        accessLevel: 'CurrentRead | CurrentWrite',
        userAccessLevel: 'CurrentRead | CurrentWrite',
        minimumSamplingInterval: 10,
        value: {
          get: () => new Variant({ dataType, arrayType: count > 1 ? VariantArrayType.Array : VariantArrayType.Scalar, value: toOpcuaValue(type, this.values.get(name), count > 1) }),
          set: (v: Variant) => {
            try {
              this.values.set(name, fromOpcuaValue(type, v.value, count > 1));
              this.writes += 1;
              return StatusCodes.Good;
            } catch {
              return StatusCodes.BadTypeMismatch;
            }
          },
        },
      });
    }
    await server.start();
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await s.shutdown(0);
  }

  /** Cut every client connection at once (server restart from the clients' point of view). */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }
}
