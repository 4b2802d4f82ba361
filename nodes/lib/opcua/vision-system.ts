/**
 * The station as an OPC UA Machine Vision server (OPC 40100-1, VDMA 40100): one VisionSystemType object, taken
 * generically from the shipped Opc.Ua.MachineVision nodeset (node-opcua's instantiate with the optional parts we
 * serve), its methods bound by hand to the station's state, recipes and results. Knows nothing of Node-RED.
 *
 * docs/OPCUA.md is the user's view: address space, methods, what of the spec is left out.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import {
  DataType,
  MessageSecurityMode,
  nodesets,
  OPCUACertificateManager,
  OPCUAServer,
  promoteToStateMachine,
  RegisterServerMethod,
  SecurityPolicy,
  StatusCodes,
  Variant,
} from 'node-opcua';
import type { AddressSpace, CallMethodResultOptions, UAState, UATransitionEx, INamespace as Namespace, StatusCode, UAObject, UAObjectType, UAStateMachineEx, UAVariable } from 'node-opcua';
import { SpotFusionError, describeError } from '../errors';
import type { InspectionResult } from '../result/enrich';

export const MV_NAMESPACE = 'http://opcfoundation.org/UA/MachineVision';
export const STATION_NAMESPACE = 'urn:spotfusion:edge:station';

/** the states of VisionStateMachineType and of its AutomaticModeStateMachine, as one name */
export type VisionState = 'Preoperational' | 'Halted' | 'Error' | 'Initialized' | 'Ready' | 'SingleExecution' | 'ContinuousExecution';

/** ResultStateDataType (§12.19): > 0 defined results; we use 1 = OK, 2 = NOK; 0 = not available */
export const RESULT_STATE = { NOT_AVAILABLE: 0, OK: 1, NOK: 2 } as const;

/** SystemStateDataType (§12.21, SEMI E10) */
const SYSTEM_STATE = { PRD: 1, SBY: 2, ENG: 3, SDT: 4, UDT: 5, NST: 6 } as const;

/** the JSON in ResultContent[0] (docs/OPCUA.md, "Result content") */
export const RESULT_CONTENT_SCHEMA = 'spotfusion/opcua-result-content/1';

export interface VisionServerOptions {
  port: number;
  /** the address the TCP server binds to (default 127.0.0.1) */
  host?: string;
  /** the host name put in the endpoint URL and certificate (default: host) */
  hostname?: string;
  /** PKI root: own/, trusted/, rejected/, issuers/ (created) */
  pkiFolder: string;
  /** also offer SecurityMode None (the user token is still encrypted); default only SignAndEncrypt */
  allowUnsecured?: boolean;
  allowAnonymous?: boolean;
  /** accept client certificates not in trusted/ (default false: they land in rejected/) */
  trustUnknownClients?: boolean;
  users?: Array<{ username: string; password: string }>;
  /** results kept for GetResultById / GetResultListFiltered (default 100, at most 10000) */
  maxResults?: number;
  /** names in the address space and the certificate */
  applicationName?: string;
  station?: string;
}

export interface RecipeEntry {
  /** the program the PLC names; the recipe's Id */
  id: string;
  product?: string;
  description?: string;
  version?: string;
}

export interface StoredResult {
  handle: number;
  resultId: string;
  partId: string;
  recipeId: string;
  jobId: string;
  state: number;
  created: Date;
  start: Date;
  end: Date;
  acquisitionMs?: number;
  processingMs?: number;
  content: string;
  resultVersion?: string;
}

type Events = {
  state: [state: VisionState, previous: VisionState, cause: string];
  prepared: [recipe: RecipeEntry | undefined, previous: RecipeEntry | undefined];
  error: [err: Error];
};

/** the code of a method call refused in the current state (the call's status, no output arguments) */
const INVALID_STATE = StatusCodes.BadInvalidState;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** the value of input argument i (undefined when the client sent fewer) */
function arg(args: Variant[], i: number): unknown {
  const v = args[i] as Variant | undefined;
  return v ? (v.value as unknown) : undefined;
}

/** a numeric input argument, `dflt` when absent or not a number */
function num(args: Variant[], i: number, dflt: number): number {
  const v = arg(args, i);
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

/** the Id of a RecipeIdExternal/Internal, PartId, … structure a client sent, '' when none */
function idOf(v: unknown): string {
  if (isObj(v) && typeof v.id === 'string') return v.id.trim();
  return '';
}

/** one spot of ResultContent: id, verdict, and what the result has of label, score, values, reason */
function spotContent(s: InspectionResult['spots'][number]): Record<string, unknown> {
  const o: Record<string, unknown> = { id: s.spotId, verdict: s.verdict };
  if (s.label !== undefined) o.label = s.label;
  if (s.score !== undefined) o.score = s.score;
  if (s.values) o.values = s.values;
  if (s.reason) o.reason = s.reason;
  return o;
}

/** The encoding of one InspectionResult as a spec Result (docs/OPCUA.md). Pure. */
export function toStoredResult(r: InspectionResult, handle: number, jobId: string): StoredResult {
  const end = new Date(r.timestamps.result);
  const triggerMs = r.timestamps.trigger ? Date.parse(r.timestamps.trigger) : NaN;
  const total = Object.values(r.durations).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const start = Number.isFinite(triggerMs) ? new Date(triggerMs) : new Date(end.getTime() - total);
  const d = r.durations;
  const acquisition = typeof d.grab === 'number' ? d.grab : undefined;
  const processing = ['crop', 'infer', 'enrich'].reduce((a, k) => a + (typeof d[k] === 'number' ? d[k] : 0), 0);
  const content = {
    schema: RESULT_CONTENT_SCHEMA,
    resultId: r.resultId,
    verdict: r.verdict,
    resultCode: r.resultCode,
    model: r.model,
    summary: r.summary,
    faults: r.faults.map((f) => ({ code: f.code, message: f.message })),
    spots: r.spots.map(spotContent),
  };
  return {
    handle,
    resultId: r.resultId,
    partId: r.part.serial ?? '',
    recipeId: r.part.program === null || r.part.program === undefined ? '' : String(r.part.program),
    resultVersion: r.part.recipeVersion ?? undefined,
    jobId,
    state: r.verdict === 'OK' ? RESULT_STATE.OK : RESULT_STATE.NOK,
    created: end,
    start,
    end,
    acquisitionMs: acquisition,
    processingMs: processing || undefined,
    content: JSON.stringify(content),
  };
}

/**
 * One OPC UA server with one VisionSystem object. start() brings it up (Preoperational); the station drives it
 * with goOperational(), fault(), accept(), addResult(); MES clients drive it with the spec's methods.
 */
export class VisionServer extends EventEmitter<Events> {
  private server: OPCUAServer | undefined;
  private cm: OPCUACertificateManager | undefined;
  private userCm: OPCUACertificateManager | undefined;
  private addressSpace: AddressSpace | undefined;
  private mv: Namespace | undefined;
  private system: UAObject | undefined;
  private top: UAStateMachineEx | undefined;
  private auto: UAStateMachineEx | undefined;
  private systemState: UAVariable | undefined;
  private readyEventType: UAObjectType | undefined;
  private errorEventType: UAObjectType | undefined;
  private current: VisionState = 'Preoperational';
  private recipes: RecipeEntry[] = [];
  private preparedRecipe: RecipeEntry | undefined;
  private readonly results: StoredResult[] = [];
  private readonly maxResults: number;
  private nextHandle = 1;
  private jobSeq = 0;
  private jobId = '';
  private stopping = false;
  private lastFault = '';
  /** parts let in during SingleExecution (one) */
  private singleTaken = false;
  /** goOperational was called: Reset goes back there */
  private configured = false;
  private continuousDefault = false;

  constructor(readonly options: VisionServerOptions) {
    super();
    const n = options.maxResults ?? 100;
    this.maxResults = Number.isInteger(n) && n >= 1 && n <= 10000 ? n : 100;
  }

  get state(): VisionState {
    return this.current;
  }

  get prepared(): RecipeEntry | undefined {
    return this.preparedRecipe;
  }

  get endpointUrl(): string {
    const o = this.options;
    return `opc.tcp://${o.hostname ?? o.host ?? '127.0.0.1'}:${o.port}`;
  }

  /** the stored results, oldest first (a copy) */
  storedResults(): StoredResult[] {
    return this.results.slice();
  }

  async start(): Promise<void> {
    const o = this.options;
    mkdirSync(o.pkiFolder, { recursive: true });
    const cm = new OPCUACertificateManager({ rootFolder: o.pkiFolder, automaticallyAcceptUnknownCertificate: o.trustUnknownClients === true });
    this.cm = cm;
    await cm.initialize();
    const userCm = new OPCUACertificateManager({ rootFolder: `${o.pkiFolder}/user`, automaticallyAcceptUnknownCertificate: false });
    this.userCm = userCm;
    await userCm.initialize();
    const users = o.users ?? [];
    const host = o.host ?? '127.0.0.1';
    const hostname = o.hostname ?? host;
    const modes = o.allowUnsecured ? [MessageSecurityMode.None, MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.SignAndEncrypt];
    const policies = o.allowUnsecured ? [SecurityPolicy.None, SecurityPolicy.Basic256Sha256] : [SecurityPolicy.Basic256Sha256];
    const appName = o.applicationName || 'SpotFusion Edge vision system';
    const server = new OPCUAServer({
      port: o.port,
      host,
      hostname,
      alternateHostname: [],
      nodeset_filename: [nodesets.standard, nodesets.di, nodesets.machineVision],
      serverCertificateManager: cm,
      userCertificateManager: userCm,
      securityModes: modes,
      securityPolicies: policies,
      allowAnonymous: o.allowAnonymous === true,
      userManager: {
        isValidUser: (username: string, password: string): boolean => users.some((u) => u.username === username && u.password === password),
      },
      registerServerMethod: RegisterServerMethod.HIDDEN,
      serverInfo: {
        applicationName: { text: appName, locale: 'en' },
        applicationUri: `urn:spotfusion:edge:${hostname}:${o.station || 'station'}`,
        productUri: 'urn:spotfusion:edge',
      },
      buildInfo: { productName: 'SpotFusion Edge', manufacturerName: 'SpotFusion Edge team' },
      maxConnectionsPerEndpoint: 20,
      serverCapabilities: { maxSessions: 20 },
    });
    this.server = server;
    await server.initialize();
    if (this.stopping) return;
    this.build();
    await server.start();
  }

  /** sessions and subscriptions open now (both 0 once stopped) */
  get clients(): { sessions: number; subscriptions: number } {
    const engine = this.server?.engine;
    return { sessions: engine?.currentSessionCount ?? 0, subscriptions: engine?.currentSubscriptionCount ?? 0 };
  }

  /** shut the server down: every session and socket closed (no grace period) */
  async stop(): Promise<void> {
    this.stopping = true;
    const s = this.server;
    this.server = undefined;
    if (s) {
      try {
        await s.shutdown(0);
      } catch (err) {
        this.emit('error', new SpotFusionError('OPCUA', `shutting down the OPC UA server: ${describeError(err)}`));
      }
    }
    for (const cm of [this.cm, this.userCm]) {
      if (!cm) continue;
      try {
        await cm.dispose();
      } catch (err) {
        this.emit('error', new SpotFusionError('OPCUA', `closing the certificate manager: ${describeError(err)}`));
      }
    }
    this.cm = undefined;
    this.userCm = undefined;
    this.addressSpace = undefined;
  }

  // ---- the address space -------------------------------------------------------------------------------

  private build(): void {
    const server = this.server as OPCUAServer;
    const as = server.engine.addressSpace as AddressSpace;
    this.addressSpace = as;
    const mv = as.getNamespace(MV_NAMESPACE);
    this.mv = mv;
    const own = as.getOwnNamespace();
    const type = mv.findObjectType('VisionSystemType');
    if (!type) throw new SpotFusionError('OPCUA', 'the MachineVision nodeset has no VisionSystemType');
    const name = this.options.station ? `VisionSystem_${this.options.station}` : 'VisionSystem';
    const system = type.instantiate({
      browseName: { name, namespaceIndex: own.index },
      organizedBy: as.rootFolder.objects,
      nodeId: `s=${name}`,
      optionals: [
        'RecipeManagement',
        'RecipeManagement.UnprepareRecipe',
        'ResultManagement',
        'VisionStateMachine.AutomaticModeStateMachine',
        'VisionStateMachine.SelectModeAutomatic',
        'SystemState',
      ],
    });
    this.system = system;
    system.setEventNotifier(1);
    as.rootFolder.objects.server.addReference({ referenceType: 'HasNotifier', nodeId: system.nodeId });

    const ns = mv.index;
    const sm = system.getComponentByName('VisionStateMachine', ns) as UAObject;
    const am = sm.getComponentByName('AutomaticModeStateMachine', ns) as UAObject;
    this.top = promoteToStateMachine(sm);
    this.auto = promoteToStateMachine(am);
    this.top.setState('Preoperational');
    this.auto.setState(null);
    this.systemState = system.getComponentByName('SystemState', ns) as UAVariable;
    this.readyEventType = mv.findObjectType('ResultReadyEventType') ?? undefined;
    this.errorEventType = mv.findObjectType('ErrorEventType') ?? undefined;
    this.writeSystemState();

    const bind = (owner: UAObject, method: string, fn: (args: Variant[]) => { status?: StatusCode; out?: Variant[] }): void => {
      const m = owner.getMethodByName(method, ns);
      if (!m) throw new SpotFusionError('OPCUA', `the instance has no method ${method}`);
      m.bindMethod((inputArguments: Variant[], _context: unknown, callback: (err: Error | null, r?: CallMethodResultOptions) => void) => {
        let r: { status?: StatusCode; out?: Variant[] };
        try {
          r = fn(inputArguments);
        } catch (err) {
          this.emit('error', new SpotFusionError('OPCUA', `method ${method}: ${describeError(err)}`));
          callback(null, { statusCode: StatusCodes.BadInternalError });
          return;
        }
        callback(null, r.status !== undefined ? { statusCode: r.status } : { statusCode: StatusCodes.Good, outputArguments: r.out ?? [] });
      });
    };
    const ok = (): Variant => new Variant({ dataType: DataType.Int32, value: 0 });
    const causeOf = (args: Variant[]): string => {
      const d = arg(args, 1);
      return typeof d === 'string' && d ? d : 'method call';
    };

    // VisionStateMachineType (§8.2)
    bind(sm, 'Halt', (args) => {
      if (this.current === 'Halted') return { status: INVALID_STATE };
      this.setState('Halted', `Halt: ${causeOf(args)}`, '');
      return { out: [ok()] };
    });
    bind(sm, 'Reset', (args) => {
      if (!this.reset(`Reset: ${causeOf(args)}`)) return { status: INVALID_STATE };
      return { out: [ok()] };
    });
    bind(sm, 'SelectModeAutomatic', () => {
      if (this.current !== 'Preoperational') return { status: INVALID_STATE };
      this.setState('Initialized', 'SelectModeAutomatic', '');
      this.setState('Ready', 'SelectModeAutomatic');
      return { out: [ok()] };
    });
    // VisionAutomaticModeStateMachineType (§8.3)
    const start = (mode: 'SingleExecution' | 'ContinuousExecution') => (args: Variant[]) => {
      if (this.current !== 'Ready') return { status: INVALID_STATE };
      const recipe = idOf(arg(args, 2));
      if (recipe) {
        const found = this.recipes.find((r) => r.id === recipe);
        if (!found) return { status: StatusCodes.BadInvalidArgument };
        this.setPrepared(found);
      }
      const job = this.newJob();
      this.setState(mode, `${mode === 'SingleExecution' ? 'StartSingleJob' : 'StartContinuous'} (job ${job})`, '');
      return { out: [this.ext('JobIdDataType', { id: job }), ok()] };
    };
    bind(am, 'StartSingleJob', start('SingleExecution'));
    bind(am, 'StartContinuous', start('ContinuousExecution'));
    const stop = (how: string) => (args: Variant[]) => {
      if (this.current !== 'SingleExecution' && this.current !== 'ContinuousExecution') return { status: INVALID_STATE };
      this.setState('Ready', `${how}: ${causeOf(args)}`, how);
      return { out: [ok()] };
    };
    bind(am, 'Stop', stop('Stop'));
    bind(am, 'Abort', stop('Abort'));

    // RecipeManagementType (§8.4)
    const rm = system.getComponentByName('RecipeManagement', ns) as UAObject;
    const recipeIn = (args: Variant[]): RecipeEntry | undefined | null => {
      const id = idOf(arg(args, 0)) || idOf(arg(args, 1));
      if (!id) return null;
      return this.recipes.find((r) => r.id === id);
    };
    bind(rm, 'PrepareRecipe', (args) => {
      if (this.current === 'Halted' || this.current === 'Error' || this.current === 'Preoperational') return { status: INVALID_STATE };
      const r = recipeIn(args);
      if (!r) return { status: StatusCodes.BadInvalidArgument };
      this.setPrepared(r);
      return { out: [this.recipeId('RecipeIdInternalDataType', r), new Variant({ dataType: DataType.Boolean, value: true }), ok()] };
    });
    bind(rm, 'UnprepareRecipe', (args) => {
      const r = recipeIn(args);
      if (!r) return { status: StatusCodes.BadInvalidArgument };
      if (this.preparedRecipe?.id !== r.id) return { status: INVALID_STATE };
      this.setPrepared(undefined);
      return { out: [this.recipeId('RecipeIdInternalDataType', r), ok()] };
    });
    bind(rm, 'GetRecipeListFiltered', (args) => {
      const ext = idOf(arg(args, 0));
      const product = idOf(arg(args, 1));
      const isPrepared = num(args, 2, 2);
      const max = num(args, 3, 0) || Infinity;
      const startAt = num(args, 4, 0);
      const list = this.recipes.filter(
        (r) =>
          (!ext || r.id === ext) &&
          (!product || r.product === product) &&
          (isPrepared === 2 || (isPrepared === 1) === (this.preparedRecipe?.id === r.id)),
      );
      const page = list.slice(startAt, startAt + max);
      return {
        out: [
          new Variant({ dataType: DataType.Boolean, value: startAt + page.length >= list.length }),
          new Variant({ dataType: DataType.UInt32, value: page.length }),
          new Variant({ dataType: DataType.UInt32, value: 0 }),
          new Variant({ dataType: DataType.ExtensionObject, arrayType: 1, value: page.map((r) => this.recipeId('RecipeIdInternalDataType', r).value as unknown) }),
          ok(),
        ],
      };
    });

    // ResultManagementType (§8.5)
    const res = system.getComponentByName('ResultManagement', ns) as UAObject;
    bind(res, 'GetResultById', (args) => {
      const id = idOf(arg(args, 0));
      const r = this.results.find((x) => x.resultId === id);
      if (!r) return { status: StatusCodes.BadNotFound };
      return { out: [new Variant({ dataType: DataType.UInt32, value: r.handle }), this.resultVariant(r), ok()] };
    });
    bind(res, 'GetResultComponentsById', (args) => {
      const id = idOf(arg(args, 0));
      const r = this.results.find((x) => x.resultId === id);
      if (!r) return { status: StatusCodes.BadNotFound };
      const f = this.resultFields(r);
      const v = (dataType: DataType, value: unknown): Variant => new Variant({ dataType, value });
      return {
        out: [
          v(DataType.Boolean, false),
          v(DataType.UInt32, r.handle),
          v(DataType.Boolean, false),
          v(DataType.Boolean, false),
          v(DataType.Int32, r.state),
          v(DataType.ExtensionObject, f.measId),
          v(DataType.ExtensionObject, f.partId),
          v(DataType.ExtensionObject, f.externalRecipeId),
          v(DataType.ExtensionObject, f.internalRecipeId),
          v(DataType.ExtensionObject, null),
          v(DataType.ExtensionObject, null),
          v(DataType.ExtensionObject, f.internalConfigurationId),
          v(DataType.ExtensionObject, f.jobId),
          v(DataType.DateTime, r.created),
          v(DataType.ExtensionObject, f.processingTimes),
          new Variant({ dataType: DataType.Variant, arrayType: 1, value: [new Variant({ dataType: DataType.String, value: r.content })] }),
          ok(),
        ],
      };
    });
    bind(res, 'GetResultListFiltered', (args) => {
      const state = num(args, 0, 0);
      const part = idOf(arg(args, 2));
      const recipe = idOf(arg(args, 3)) || idOf(arg(args, 4));
      const job = idOf(arg(args, 8));
      const max = num(args, 9, 0) || Infinity;
      const startAt = num(args, 10, 0);
      // newest first
      const list = this.results
        .slice()
        .reverse()
        .filter((r) => (!state || r.state === state) && (!part || r.partId === part) && (!recipe || r.recipeId === recipe) && (!job || r.jobId === job));
      const page = list.slice(startAt, startAt + max);
      return {
        out: [
          new Variant({ dataType: DataType.Boolean, value: startAt + page.length >= list.length }),
          new Variant({ dataType: DataType.UInt32, value: page.length }),
          new Variant({ dataType: DataType.UInt32, value: 0 }),
          new Variant({ dataType: DataType.ExtensionObject, arrayType: 1, value: page.map((r) => this.resultVariant(r).value as unknown) }),
          ok(),
        ],
      };
    });
  }

  /** the structure constructors of the MachineVision data types, by name (looked up once) */
  private readonly constructors = new Map<string, new (fields: Record<string, unknown>) => unknown>();

  private ext(typeName: string, fields: Record<string, unknown>): Variant {
    let make = this.constructors.get(typeName);
    if (!make) {
      const dt = (this.mv as Namespace).findDataType(typeName);
      if (!dt) throw new SpotFusionError('OPCUA', `no data type ${typeName}`);
      make = (this.addressSpace as AddressSpace).getExtensionObjectConstructor(dt);
      this.constructors.set(typeName, make);
    }
    return new Variant({ dataType: DataType.ExtensionObject, value: new make(fields) });
  }

  private recipeId(typeName: 'RecipeIdInternalDataType' | 'RecipeIdExternalDataType', r: RecipeEntry): Variant {
    const desc = r.product || r.description;
    return this.ext(typeName, { id: r.id, ...(r.version ? { version: r.version } : {}), ...(desc ? { description: { text: desc } } : {}) });
  }

  private resultFields(r: StoredResult): Record<string, unknown> {
    const e = (t: string, f: Record<string, unknown>): unknown => this.ext(t, f).value;
    const recipe = { id: r.recipeId, ...(r.resultVersion ? { version: r.resultVersion } : {}) };
    return {
      resultId: e('ResultIdDataType', { id: r.resultId }),
      measId: e('MeasIdDataType', { id: r.resultId }),
      partId: e('PartIdDataType', { id: r.partId }),
      externalRecipeId: e('RecipeIdExternalDataType', recipe),
      internalRecipeId: e('RecipeIdInternalDataType', recipe),
      internalConfigurationId: e('ConfigurationIdDataType', { id: this.options.station || 'station' }),
      jobId: e('JobIdDataType', { id: r.jobId }),
      processingTimes: e('ProcessingTimesDataType', {
        startTime: r.start,
        endTime: r.end,
        ...(r.acquisitionMs !== undefined ? { acquisitionDuration: r.acquisitionMs } : {}),
        ...(r.processingMs !== undefined ? { processingDuration: r.processingMs } : {}),
      }),
    };
  }

  private resultVariant(r: StoredResult): Variant {
    const f = this.resultFields(r);
    return this.ext('ResultDataType', {
      ...f,
      hasTransferableDataOnFile: false,
      isPartial: false,
      isSimulated: false,
      resultState: r.state,
      creationTime: r.created,
      resultContent: [new Variant({ dataType: DataType.String, value: r.content })],
    });
  }

  private newJob(): string {
    this.jobSeq += 1;
    this.jobId = `${this.options.station || 'station'}-${Date.now().toString(36)}-${this.jobSeq}`;
    return this.jobId;
  }

  private setPrepared(r: RecipeEntry | undefined): void {
    const prev = this.preparedRecipe;
    this.preparedRecipe = r;
    if (prev?.id !== r?.id) this.emit('prepared', r, prev);
  }

  private writeSystemState(): void {
    const v = this.systemState;
    if (!v) return;
    const s = this.current;
    const code =
      s === 'SingleExecution' || s === 'ContinuousExecution'
        ? SYSTEM_STATE.PRD
        : s === 'Ready' || s === 'Initialized'
          ? SYSTEM_STATE.SBY
          : s === 'Error'
            ? SYSTEM_STATE.UDT
            : s === 'Halted'
              ? SYSTEM_STATE.SDT
              : SYSTEM_STATE.NST;
    const desc = s === 'Error' && this.lastFault ? `Error: ${this.lastFault}` : s;
    v.setValueFromSource(this.ext('SystemStateDescriptionDataType', { state: code, stateDescription: desc.slice(0, 255) }));
  }

  // ---- the station's side --------------------------------------------------------------------------------

  /**
   * `via` names the spec's transition where several lead to the same state: '' the method-triggered one
   * (ReadyToSingleExecution), 'Auto' the automatic one, 'Stop' / 'Abort' those of the methods.
   */
  private setState(next: VisionState, cause: string, via = 'Auto'): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    if (this.top && this.auto) {
      const operational = (s: VisionState): boolean => s === 'Initialized' || s === 'Ready' || s === 'SingleExecution' || s === 'ContinuousExecution';
      const pick =
        (suffix: string) =>
        (transitions: UATransitionEx[], from: UAState, to: UAState): UATransitionEx | null => {
          const want = `${from.browseName.name}To${to.browseName.name}${suffix}`;
          return transitions.find((t) => t.browseName.name === want) ?? transitions[0] ?? null;
        };
      if (operational(next) !== operational(prev) || !operational(next)) this.top.setState(operational(next) ? 'Operational' : next, pick(via));
      if (!operational(next)) this.auto.setState(null);
      else if (!operational(prev)) this.auto.setState(next);
      else this.auto.setState(next, pick(via));
      this.writeSystemState();
    }
    if (next === 'SingleExecution') this.singleTaken = false;
    if (next !== 'SingleExecution' && next !== 'ContinuousExecution') this.jobId = '';
    this.emit('state', next, prev, cause);
  }

  /** the recipes the station has (programs of its recipe book); a prepared recipe no longer there is unprepared */
  setRecipes(list: RecipeEntry[]): void {
    this.recipes = list.slice();
    if (this.preparedRecipe && !list.some((r) => r.id === this.preparedRecipe?.id)) this.setPrepared(undefined);
  }

  get recipeList(): RecipeEntry[] {
    return this.recipes.slice();
  }

  /** the station is set up: Preoperational → Initialized → Ready, then ContinuousExecution when `continuous` */
  goOperational(continuous: boolean): void {
    this.configured = true;
    this.continuousDefault = continuous;
    if (this.current !== 'Preoperational') return;
    this.setState('Initialized', 'station configured');
    this.setState('Ready', 'station configured');
    if (continuous) {
      const job = this.newJob();
      this.setState('ContinuousExecution', `PLC-triggered (job ${job})`);
    }
  }

  /** a fault of the PLC, camera or model: Error with the reason (an ErrorEventType event carries it) */
  fault(reason: string): void {
    this.lastFault = reason;
    if (this.current === 'Halted') return;
    const prev = this.current;
    this.setState('Error', `fault: ${reason}`);
    if (prev === 'Error') this.writeSystemState();
    const t = this.errorEventType;
    if (t && this.system) {
      this.system.raiseEvent(t, {
        message: { dataType: DataType.LocalizedText, value: { text: reason.slice(0, 500) } },
        severity: { dataType: DataType.UInt16, value: 800 },
        sourceName: { dataType: DataType.String, value: this.system.browseName.name ?? 'VisionSystem' },
      });
    }
  }

  /** the reason of the last fault ('' after Reset) */
  get faultReason(): string {
    return this.lastFault;
  }

  /**
   * May the next part be inspected? Only in SingleExecution (one part per job) and ContinuousExecution. Returns
   * the reason when not.
   */
  accept(): string | undefined {
    if (this.current === 'ContinuousExecution') return undefined;
    if (this.current === 'SingleExecution') {
      if (this.singleTaken) return 'the single job has its part already';
      this.singleTaken = true;
      return undefined;
    }
    return `the vision system is ${this.current}`;
  }

  /** one InspectionResult: stored (the last maxResults) and announced with a ResultReadyEvent */
  addResult(result: InspectionResult): StoredResult {
    const stored = toStoredResult(result, this.nextHandle++, this.jobId);
    this.results.push(stored);
    if (this.results.length > this.maxResults) this.results.splice(0, this.results.length - this.maxResults);
    const t = this.readyEventType;
    if (t && this.system) {
      const f = this.resultFields(stored);
      const x = (v: unknown): Variant => new Variant({ dataType: DataType.ExtensionObject, value: v });
      this.system.raiseEvent(t, {
        message: { dataType: DataType.LocalizedText, value: { text: `result ${stored.resultId} ${stored.state === RESULT_STATE.OK ? 'OK' : 'NOK'}` } },
        severity: { dataType: DataType.UInt16, value: 100 },
        sourceName: { dataType: DataType.String, value: this.system.browseName.name ?? 'VisionSystem' },
        resultId: x(f.resultId),
        partId: x(f.partId),
        measId: x(f.measId),
        externalRecipeId: x(f.externalRecipeId),
        internalRecipeId: x(f.internalRecipeId),
        internalConfigurationId: x(f.internalConfigurationId),
        jobId: x(f.jobId),
        processingTimes: x(f.processingTimes),
        isPartial: { dataType: DataType.Boolean, value: false },
        isSimulated: { dataType: DataType.Boolean, value: false },
        resultState: { dataType: DataType.Int32, value: stored.state },
        creationTime: { dataType: DataType.DateTime, value: stored.created },
      });
    }
    if (this.current === 'SingleExecution') this.setState('Ready', `single job ${this.jobId} done`);
    return stored;
  }

  /** the station asks to halt (as the Halt method) */
  halt(cause: string): void {
    this.setState('Halted', cause, '');
  }

  /**
   * Halted/Error → Preoperational (as the Reset method); a station that went operational before goes on as it
   * did at deploy (Ready, or ContinuousExecution when PLC-triggered).
   */
  reset(cause: string): boolean {
    if (this.current !== 'Halted' && this.current !== 'Error') return false;
    this.lastFault = '';
    this.setState('Preoperational', cause, '');
    if (this.configured) this.goOperational(this.continuousDefault);
    return true;
  }
}
