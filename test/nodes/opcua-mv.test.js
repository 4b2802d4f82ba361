'use strict';
// The station as an OPC UA Machine Vision server (OPC 40100-1), in a Node-RED runtime with a real node-opcua client
// over loopback: the instance against the nodeset's VisionSystemType, the state machine walked with the spec's
// methods, recipes prepared and used by the next part, one ResultReadyEvent per part (from a real enrich node) and
// the result fetched by id, faults to Error, security (unknown client certificate refused until trusted, anonymous
// refused, username/password over SignAndEncrypt accepted), and 100 redeploys that leave no server, socket, session or subscription behind.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const opcua = require('node-opcua');
const { helper, onTab, until, watchStatus } = require('../support/red');
const { freePort } = require('../support/redis-server');
const serverNode = require('../../dist/nodes/spotfusion-opcua-server/spotfusion-opcua-server.js');
const mvNode = require('../../dist/nodes/opcua-mv/opcua-mv.js');
const recipeNode = require('../../dist/nodes/spotfusion-recipe-config/spotfusion-recipe-config.js');
const enrichNode = require('../../dist/nodes/enrich/enrich.js');

const NODES = [serverNode, mvNode, recipeNode, enrichNode];
const MV = 'http://opcfoundation.org/UA/MachineVision';
const USER = { username: 'mes', password: 'a-long-test-password' };
const RECIPES = JSON.stringify({
  recipes: [
    { program: 1, product: 'door-left', spots: [{ id: 's1', x: 0, y: 0, w: 10, h: 10 }] },
    { program: 2, product: 'hood', spots: [{ id: 's1', x: 0, y: 0, w: 10, h: 10 }, { id: 's2', x: 20, y: 0, w: 10, h: 10 }] },
  ],
});

function flow(port, pki, opts = {}) {
  return onTab([
    { id: 'rc', type: 'spotfusion-recipe-config', name: 'recipes', source: 'inline', recipes: RECIPES },
    { id: 'srv', type: 'spotfusion-opcua-server', name: 'mv', host: '127.0.0.1', port, pkiFolder: pki, station: 'ST1', security: 'sign-encrypt', maxResults: 5, ...(opts.server ?? {}) },
    { id: 'mv', type: 'opcua-mv', name: 'vision system', server: 'srv', recipes: 'rc', continuous: opts.continuous ?? true, wires: [['pass'], ['refused'], ['events']] },
    { id: 'en', type: 'enrich', name: 'result', line: 'L1', area: 'A', station: 'ST1', camera: 'cam1', rules: '{"okLabels":["ok"],"minScore":0.5}', wires: [['mv']] },
    { id: 'pass', type: 'helper' },
    { id: 'refused', type: 'helper' },
    { id: 'events', type: 'helper' },
  ]);
}
const CREDS = { srv: USER };

function collect(node) {
  const got = [];
  node.on('input', (m) => got.push(m));
  return got;
}

/** a part as enrich gets it: spots s1 (and s2) judged by label */
function enrichInput(serial, program, labels) {
  const ids = labels.map((_, i) => `s${i + 1}`);
  return {
    part: { serial, program },
    plc: { station: 'ST1', readTime: new Date().toISOString(), cycle: 1 },
    crops: ids.map((spotId) => ({ spotId, box: { x: 0, y: 0, w: 10, h: 10 } })),
    predictions: ids.map((spotId, i) => ({ spotId, label: labels[i], score: 0.9 })),
    model: { name: 'demo', version: '2.0.0' },
    timings: { grab: 4, crop: 2, infer: 6 },
  };
}

const tmp = (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** a client (own PKI folder) and a session; opts.user false = anonymous */
async function connect(port, clientPki, { mode = opcua.MessageSecurityMode.SignAndEncrypt, policy = opcua.SecurityPolicy.Basic256Sha256, user = USER } = {}) {
  const client = opcua.OPCUAClient.create({
    applicationName: 'spotfusion-test-mes',
    endpointMustExist: false,
    securityMode: mode,
    securityPolicy: policy,
    clientCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: clientPki, automaticallyAcceptUnknownCertificate: true }),
    connectionStrategy: { maxRetry: 0, initialDelay: 50, maxDelay: 100 },
    requestedSessionTimeout: 10000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect(`opc.tcp://127.0.0.1:${port}`);
    const session = await client.createSession(user ? { type: opcua.UserTokenType.UserName, userName: user.username, password: user.password } : { type: opcua.UserTokenType.Anonymous });
    return { client, session };
  } catch (err) {
    await client.disconnect().catch(() => undefined);
    throw err;
  }
}

async function close(c) {
  if (!c) return;
  await c.session.close().catch(() => undefined);
  await c.client.disconnect();
}

/** paths and method calls on the VisionSystem_ST1 instance */
function station(session, ns) {
  const root = 'ns=1;s=VisionSystem_ST1';
  const node = async (rel) => {
    const r = await session.translateBrowsePath(opcua.makeBrowsePath(root, rel));
    assert.equal(r.statusCode.name, 'Good', `browse path ${rel}: ${r.statusCode.toString()}`);
    return r.targets[0].targetId;
  };
  const struct = (name, fields) => session.constructExtensionObject(opcua.coerceNodeId(`ns=${ns};i=${DT[name]}`), fields);
  return {
    node,
    struct,
    async call(objectPath, method, args) {
      const objectId = await node(objectPath);
      const methodId = await node(`${objectPath}.${ns}:${method}`);
      return session.call({ objectId, methodId, inputArguments: args });
    },
    async state() {
      const top = await session.read({ nodeId: await node(`/${ns}:VisionStateMachine.CurrentState`), attributeId: opcua.AttributeIds.Value });
      const auto = await session.read({ nodeId: await node(`/${ns}:VisionStateMachine/${ns}:AutomaticModeStateMachine.CurrentState`), attributeId: opcua.AttributeIds.Value });
      const t = top.value.value && top.value.value.text;
      return t === 'Operational' ? auto.value.value.text : t;
    },
  };
}

// the MachineVision nodeset's data type ids (ns=MV)
const DT = { RecipeIdExternalDataType: 3002, RecipeIdInternalDataType: 3003, ResultIdDataType: 3021, PartIdDataType: 3006, MeasIdDataType: 3005, ProductIdDataType: 3004 };
const int32 = (value) => ({ dataType: opcua.DataType.Int32, value });
const str = (value) => ({ dataType: opcua.DataType.String, value });
const ext = (value) => ({ dataType: opcua.DataType.ExtensionObject, value });
const causeArgs = (text) => [int32(0), str(text)];

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
const tcpHandles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;

describe('opcua-mv: the station as an OPC UA Machine Vision server', function () {
  this.timeout(60000);
  let port;
  let pki;
  let clientPki;

  before(async function () {
    pki = tmp('sf-opcua-pki-');
    clientPki = tmp('sf-opcua-client-');
  });

  after(function () {
    fs.rmSync(pki, { recursive: true, force: true });
    fs.rmSync(clientPki, { recursive: true, force: true });
  });

  afterEach(async function () {
    await helper.unload();
  });

  async function start(opts) {
    port = await freePort();
    await helper.load(NODES, flow(port, pki, opts), CREDS);
    const mv = helper.getNode('mv');
    await until(() => helper.getNode('srv').vision && helper.getNode('srv').vision.state !== 'Preoperational', 15000, 'the vision system to leave Preoperational');
    return mv;
  }

  /** the first connection of clientPki's certificate is refused; moved to trusted/ it is accepted */
  async function trustedSession() {
    const cert = path.join(pki, 'trusted', 'certs');
    if (!fs.existsSync(cert) || fs.readdirSync(cert).length === 0) {
      await assert.rejects(connect(port, clientPki), 'an unknown client certificate is refused');
      const rejected = path.join(pki, 'rejected');
      const files = await until(() => fs.existsSync(rejected) && fs.readdirSync(rejected).filter((f) => f.endsWith('.pem') || f.endsWith('.der')), 5000, 'the client certificate in rejected/');
      for (const f of files) fs.renameSync(path.join(rejected, f), path.join(cert, f));
    }
    let last;
    const c = await until(
      async () => {
        try {
          return await connect(port, clientPki);
        } catch (err) {
          last = err;
          return undefined;
        }
      },
      15000,
      `the trusted client to connect (${last && last.message})`,
      250,
    );
    const ns = (await c.session.readNamespaceArray()).indexOf(MV);
    assert.ok(ns > 0, 'the MachineVision namespace is in the server');
    return { ...c, ns, vs: station(c.session, ns) };
  }

  it('security: an unknown client certificate is refused (and lands in rejected/), anonymous is refused, username/password over SignAndEncrypt is accepted, SecurityMode None is not offered', async function () {
    await start();
    assert.ok(fs.existsSync(path.join(pki, 'own', 'certs')), 'the server certificate is made in the PKI folder');
    const c = await trustedSession();
    try {
      const user = await c.session.read({ nodeId: 'i=2259', attributeId: opcua.AttributeIds.Value });
      assert.equal(user.statusCode.name, 'Good');
    } finally {
      await close(c);
    }
    await assert.rejects(connect(port, clientPki, { user: false }), /BadIdentityTokenInvalid|BadIdentityTokenRejected|BadUserAccessDenied|anonymous/i, 'anonymous is refused by default');
    await assert.rejects(connect(port, clientPki, { user: { username: 'mes', password: 'wrong' } }), /BadUserAccessDenied|BadIdentityTokenRejected/i, 'a wrong password is refused');
    await assert.rejects(connect(port, clientPki, { mode: opcua.MessageSecurityMode.None, policy: opcua.SecurityPolicy.None }), 'SecurityMode None is not offered by default');
  });

  it('the instance has every mandatory component of VisionSystemType from the nodeset, and the methods this server serves', async function () {
    await start();
    const c = await trustedSession();
    try {
      const { session, ns } = c;
      // the type's mandatory children (from the type tree in the server, i.e. the shipped nodeset) …
      const typeId = opcua.coerceNodeId(`ns=${ns};i=1003`);
      const typeName = await session.read({ nodeId: typeId, attributeId: opcua.AttributeIds.BrowseName });
      assert.equal(typeName.value.value.name, 'VisionSystemType');
      const mandatory = async (parent) => {
        const br = await session.browse({ nodeId: parent, referenceTypeId: 'HasChild', includeSubtypes: true, browseDirection: opcua.BrowseDirection.Forward, resultMask: 63 });
        const out = [];
        for (const ref of br.references) {
          const rule = await session.browse({ nodeId: ref.nodeId, referenceTypeId: 'HasModellingRule', browseDirection: opcua.BrowseDirection.Forward, resultMask: 63 });
          if (rule.references.some((r) => r.browseName.name === 'Mandatory')) out.push(ref.browseName.toString());
        }
        return out;
      };
      const needed = await mandatory(typeId);
      assert.ok(needed.includes(`${ns}:VisionStateMachine`), `VisionStateMachine is mandatory: ${needed}`);
      // … are all on the instance, which has the type as its type definition
      const inst = opcua.coerceNodeId('ns=1;s=VisionSystem_ST1');
      const td = await session.browse({ nodeId: inst, referenceTypeId: 'HasTypeDefinition', browseDirection: opcua.BrowseDirection.Forward, resultMask: 63 });
      assert.equal(td.references[0].nodeId.toString(), typeId.toString());
      const have = (await session.browse({ nodeId: inst, referenceTypeId: 'HasChild', includeSubtypes: true, browseDirection: opcua.BrowseDirection.Forward, resultMask: 63 })).references.map((r) => r.browseName.toString());
      for (const n of needed) assert.ok(have.includes(n), `the instance has ${n}`);
      for (const n of ['RecipeManagement', 'ResultManagement', 'SystemState']) assert.ok(have.includes(`${ns}:${n}`), `the instance has ${n}`);
      // the mandatory methods of the parts we serve
      for (const p of [
        `/${ns}:VisionStateMachine.${ns}:Halt`,
        `/${ns}:VisionStateMachine.${ns}:Reset`,
        `/${ns}:VisionStateMachine/${ns}:AutomaticModeStateMachine.${ns}:StartSingleJob`,
        `/${ns}:VisionStateMachine/${ns}:AutomaticModeStateMachine.${ns}:StartContinuous`,
        `/${ns}:VisionStateMachine/${ns}:AutomaticModeStateMachine.${ns}:Stop`,
        `/${ns}:VisionStateMachine/${ns}:AutomaticModeStateMachine.${ns}:Abort`,
        `/${ns}:RecipeManagement.${ns}:PrepareRecipe`,
        `/${ns}:RecipeManagement.${ns}:UnprepareRecipe`,
        `/${ns}:RecipeManagement.${ns}:GetRecipeListFiltered`,
        `/${ns}:ResultManagement.${ns}:GetResultById`,
        `/${ns}:ResultManagement.${ns}:GetResultListFiltered`,
        `/${ns}:ResultManagement.${ns}:GetResultComponentsById`,
      ]) {
        const id = await c.vs.node(p);
        const cls = await session.read({ nodeId: id, attributeId: opcua.AttributeIds.NodeClass });
        assert.equal(cls.value.value, opcua.NodeClass.Method, p);
      }
    } finally {
      await close(c);
    }
  });

  it('walks the state machine with the methods; parts pass only while executing, refused parts carry msg.halted', async function () {
    const mv = await start();
    const pass = collect(helper.getNode('pass'));
    const refused = collect(helper.getNode('refused'));
    const events = collect(helper.getNode('events'));
    const c = await trustedSession();
    const AM = `/${c.ns}:VisionStateMachine/${c.ns}:AutomaticModeStateMachine`;
    const SM = `/${c.ns}:VisionStateMachine`;
    const part = (serial) => mv.receive({ part: { serial, program: 1 } });
    try {
      assert.equal(await c.vs.state(), 'ContinuousExecution', 'a PLC-triggered station executes continuously from deploy');
      part('P1');
      await until(() => pass.length === 1, 2000, 'P1 to pass');

      let r = await c.vs.call(AM, 'Stop', causeArgs('shift end'));
      assert.equal(r.statusCode.name, 'Good');
      assert.equal(await c.vs.state(), 'Ready');
      part('P2');
      await until(() => refused.length === 1, 2000, 'P2 to be refused');
      assert.equal(refused[0].halted, true);
      assert.match(refused[0].notReady, /Ready/);

      // a single job takes one part; its result ends the job
      r = await c.vs.call(AM, 'StartSingleJob', [ext(null), ext(null), ext(null), ext(null), { dataType: opcua.DataType.Variant, arrayType: opcua.VariantArrayType.Array, value: [] }]);
      assert.equal(r.statusCode.name, 'Good', r.statusCode.toString());
      assert.ok(r.outputArguments[0].value.id, 'StartSingleJob returns a JobId');
      assert.equal(await c.vs.state(), 'SingleExecution');
      part('P3');
      part('P4');
      await until(() => pass.length === 2 && refused.length === 2, 2000, 'P3 to pass and P4 to be refused');
      helper.getNode('en').receive(enrichInput('P3', 1, ['ok']));
      await until(async () => (await c.vs.state()) === 'Ready', 3000, 'the result to end the single job');

      r = await c.vs.call(AM, 'StartContinuous', [ext(null), ext(null), ext(null), ext(null), { dataType: opcua.DataType.Variant, arrayType: opcua.VariantArrayType.Array, value: [] }]);
      assert.equal(r.statusCode.name, 'Good');
      assert.equal(await c.vs.state(), 'ContinuousExecution');
      r = await c.vs.call(AM, 'Abort', causeArgs('jam'));
      assert.equal(await c.vs.state(), 'Ready');

      // Halt stops accepting parts; methods of other states are refused with BadInvalidState
      r = await c.vs.call(SM, 'Halt', causeArgs('maintenance'));
      assert.equal(r.statusCode.name, 'Good');
      assert.equal(await c.vs.state(), 'Halted');
      r = await c.vs.call(AM, 'StartContinuous', [ext(null), ext(null), ext(null), ext(null), { dataType: opcua.DataType.Variant, arrayType: opcua.VariantArrayType.Array, value: [] }]);
      assert.equal(r.statusCode.name, 'BadInvalidState');
      part('P5');
      await until(() => refused.length === 3, 2000, 'P5 to be refused while Halted');
      assert.match(refused[2].notReady, /Halted/);

      // Reset: Preoperational, then as at deploy (ContinuousExecution)
      r = await c.vs.call(SM, 'Reset', causeArgs('maintenance done'));
      assert.equal(r.statusCode.name, 'Good');
      assert.equal(await c.vs.state(), 'ContinuousExecution');
      part('P6');
      await until(() => pass.length === 3, 2000, 'P6 to pass after Reset');

      const states = events.filter((m) => m.topic === 'state').map((m) => m.payload.state);
      assert.deepEqual(states, ['Initialized', 'Ready', 'ContinuousExecution', 'Ready', 'SingleExecution', 'Ready', 'ContinuousExecution', 'Ready', 'Halted', 'Preoperational', 'Initialized', 'Ready', 'ContinuousExecution'].slice(-states.length));
      assert.ok(states.length >= 10, `state events on output 3: ${states}`);
    } finally {
      await close(c);
    }
  });

  it('recipes: GetRecipeListFiltered lists the recipe config\'s programs; a prepared recipe goes out on output 3 and is the program of the next part the PLC names none for', async function () {
    const mv = await start();
    const pass = collect(helper.getNode('pass'));
    const events = collect(helper.getNode('events'));
    const c = await trustedSession();
    const RM = `/${c.ns}:RecipeManagement`;
    try {
      const list = await c.vs.call(RM, 'GetRecipeListFiltered', [ext(null), ext(null), int32(2), { dataType: opcua.DataType.UInt32, value: 0 }, { dataType: opcua.DataType.UInt32, value: 0 }, int32(0)]);
      assert.equal(list.statusCode.name, 'Good', list.statusCode.toString());
      assert.deepEqual(
        list.outputArguments[3].value.map((r) => [r.id, r.description && r.description.text]),
        [
          ['1', 'door-left'],
          ['2', 'hood'],
        ],
      );
      assert.equal(list.outputArguments[0].value, true, 'IsComplete');

      const unknown = await c.vs.call(RM, 'PrepareRecipe', [ext(await c.vs.struct('RecipeIdExternalDataType', { id: '99' })), ext(null)]);
      assert.equal(unknown.statusCode.name, 'BadInvalidArgument', 'an unknown recipe is refused');

      const prep = await c.vs.call(RM, 'PrepareRecipe', [ext(await c.vs.struct('RecipeIdExternalDataType', { id: '2' })), ext(null)]);
      assert.equal(prep.statusCode.name, 'Good', prep.statusCode.toString());
      assert.equal(prep.outputArguments[0].value.id, '2');
      assert.equal(prep.outputArguments[1].value, true, 'IsCompleted');
      await until(() => events.some((m) => m.topic === 'recipe'), 2000, 'the recipe event');
      assert.deepEqual(events.find((m) => m.topic === 'recipe').payload, { program: '2', product: 'hood', previous: null });

      const prepared = await c.vs.call(RM, 'GetRecipeListFiltered', [ext(null), ext(null), int32(1), { dataType: opcua.DataType.UInt32, value: 0 }, { dataType: opcua.DataType.UInt32, value: 0 }, int32(0)]);
      assert.deepEqual(prepared.outputArguments[3].value.map((r) => r.id), ['2'], 'IsPrepared TRUE lists the prepared one');

      mv.receive({ part: { serial: 'P1', program: '' } });
      mv.receive({ part: { serial: 'P2', program: 1 } });
      await until(() => pass.length === 2, 2000, 'both parts to pass');
      assert.equal(pass[0].part.program, '2', 'a part without a program gets the prepared recipe');
      assert.equal(pass[0].recipeSource, 'opcua');
      assert.equal(pass[1].part.program, 1, 'the program the PLC names wins');

      const un = await c.vs.call(RM, 'UnprepareRecipe', [ext(await c.vs.struct('RecipeIdExternalDataType', { id: '2' })), ext(null)]);
      assert.equal(un.statusCode.name, 'Good');
      await until(() => events.filter((m) => m.topic === 'recipe').length === 2, 2000, 'the unprepare event');
      assert.equal(events.filter((m) => m.topic === 'recipe')[1].payload.program, null);
      mv.receive({ part: { serial: 'P3' } });
      await until(() => pass.length === 3, 2000, 'P3 to pass');
      assert.equal(pass[2].part.program, undefined, 'no prepared recipe: the part is left as the PLC sent it');
    } finally {
      await close(c);
    }
  });

  it('one ResultReadyEvent per part with its ids and state; GetResultById and GetResultListFiltered find the results of a bounded store', async function () {
    await start();
    const c = await trustedSession();
    const { session, ns } = c;
    const sub = await session.createSubscription2({ requestedPublishingInterval: 50, publishingEnabled: true, requestedMaxKeepAliveCount: 20, requestedLifetimeCount: 600 });
    try {
      const fields = ['EventType', `${ns}:ResultId`, `${ns}:PartId`, `${ns}:ResultState`, `${ns}:InternalRecipeId`, `${ns}:JobId`, `${ns}:ProcessingTimes`];
      const mi = await sub.monitor({ nodeId: 'ns=1;s=VisionSystem_ST1', attributeId: opcua.AttributeIds.EventNotifier }, { filter: opcua.constructEventFilter(fields), queueSize: 1000, discardOldest: false }, opcua.TimestampsToReturn.Neither);
      const got = [];
      mi.on('changed', (ev) => got.push(ev.map((v) => v.value)));
      const readyType = `ns=${ns};i=1024`;
      const en = helper.getNode('en');
      const parts = [
        ['P1', 1, ['ok']],
        ['P2', 2, ['ok', 'nok']],
        ['P3', 2, ['ok', 'ok']],
        ['P4', 1, ['ok']],
        ['P5', 1, ['nok']],
        ['P6', 2, ['ok', 'ok']],
        ['P7', 1, ['ok']],
      ];
      for (const [serial, program, labels] of parts) en.receive(enrichInput(serial, program, labels));
      await until(() => got.filter((e) => e[0].toString() === readyType).length >= parts.length, 10000, 'a ResultReadyEvent per part');
      await new Promise((r) => setTimeout(r, 300));
      const ready = got.filter((e) => e[0].toString() === readyType);
      assert.equal(ready.length, parts.length, 'exactly one event per part');
      assert.deepEqual(
        ready.map((e) => [e[2].id, e[3], e[4].id]),
        parts.map(([s, p, l]) => [s, l.includes('nok') ? 2 : 1, String(p)]),
      );
      assert.ok(ready.every((e) => e[5].id), 'every event names the job');
      assert.ok(ready[0][6].endTime instanceof Date && ready[0][6].processingDuration > 0, 'processing times');

      // fetch the last one by id: the result with the per-spot content
      const RES = `/${ns}:ResultManagement`;
      const lastId = ready[6][1].id;
      const r = await c.vs.call(RES, 'GetResultById', [ext(await c.vs.struct('ResultIdDataType', { id: lastId })), int32(0)]);
      assert.equal(r.statusCode.name, 'Good', r.statusCode.toString());
      const result = r.outputArguments[1].value;
      assert.equal(result.resultId.id, lastId);
      assert.equal(result.partId.id, 'P7');
      assert.equal(result.resultState, 1);
      assert.equal(result.internalRecipeId.id, '1');
      const content = JSON.parse(result.resultContent[0].value);
      assert.equal(content.schema, 'spotfusion/opcua-result-content/1');
      assert.equal(content.verdict, 'OK');
      assert.deepEqual(content.spots.map((s) => [s.id, s.verdict, s.label]), [['s1', 'OK', 'ok']]);

      // the store keeps the last 5 (maxResults): P1 and P2 are gone
      const first = await c.vs.call(RES, 'GetResultById', [ext(await c.vs.struct('ResultIdDataType', { id: ready[0][1].id })), int32(0)]);
      assert.equal(first.statusCode.name, 'BadNotFound');
      const nok = await c.vs.call(RES, 'GetResultListFiltered', [int32(2), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), { dataType: opcua.DataType.UInt32, value: 0 }, { dataType: opcua.DataType.UInt32, value: 0 }, int32(0)]);
      assert.equal(nok.statusCode.name, 'Good', nok.statusCode.toString());
      assert.deepEqual(nok.outputArguments[3].value.map((x) => x.partId.id), ['P5'], 'the NOK results still kept, newest first');
      const page = await c.vs.call(RES, 'GetResultListFiltered', [int32(0), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), ext(null), { dataType: opcua.DataType.UInt32, value: 2 }, { dataType: opcua.DataType.UInt32, value: 0 }, int32(0)]);
      assert.deepEqual(page.outputArguments[3].value.map((x) => x.partId.id), ['P7', 'P6']);
      assert.equal(page.outputArguments[0].value, false, 'IsComplete is false while more are left');
      const comp = await c.vs.call(RES, 'GetResultComponentsById', [ext(await c.vs.struct('ResultIdDataType', { id: lastId })), int32(0)]);
      assert.equal(comp.statusCode.name, 'Good', comp.statusCode.toString());
      assert.equal(comp.outputArguments[6].value.id, 'P7');
    } finally {
      await sub.terminate().catch(() => undefined);
      await close(c);
    }
  });

  it('a fault (msg.topic "fault", or a red status of a Status node) drives Error with an ErrorEventType event; parts are refused until Reset', async function () {
    const mv = await start();
    const refused = collect(helper.getNode('refused'));
    const c = await trustedSession();
    const { session, ns } = c;
    const sub = await session.createSubscription2({ requestedPublishingInterval: 50, publishingEnabled: true });
    try {
      const mi = await sub.monitor({ nodeId: 'ns=1;s=VisionSystem_ST1', attributeId: opcua.AttributeIds.EventNotifier }, { filter: opcua.constructEventFilter(['EventType', 'Message']), queueSize: 100 }, opcua.TimestampsToReturn.Neither);
      const got = [];
      mi.on('changed', (ev) => got.push(ev.map((v) => v.value)));
      mv.receive({ topic: 'fault', payload: 'camera cam1: connection lost' });
      await until(async () => (await c.vs.state()) === 'Error', 3000, 'Error');
      await until(() => got.some((e) => e[0].toString() === `ns=${ns};i=1019`), 3000, 'the ErrorEventType event');
      assert.match(got.find((e) => e[0].toString() === `ns=${ns};i=1019`)[1].text, /camera cam1: connection lost/);
      const sys = await session.read({ nodeId: await c.vs.node(`/${ns}:SystemState`), attributeId: opcua.AttributeIds.Value });
      assert.equal(sys.value.value.state, 5, 'SystemState UDT');
      assert.match(sys.value.value.stateDescription, /camera cam1/);
      mv.receive({ part: { serial: 'P1', program: 1 } });
      await until(() => refused.length === 1, 2000, 'the part to be refused');
      assert.match(refused[0].notReady, /Error/);

      const r = await c.vs.call(`/${ns}:VisionStateMachine`, 'Reset', causeArgs('camera back'));
      assert.equal(r.statusCode.name, 'Good');
      assert.equal(await c.vs.state(), 'ContinuousExecution');
      mv.receive({ status: { fill: 'red', shape: 'ring', text: 'ECONNREFUSED', source: { id: 'plc1', type: 'plc-read', name: 'plc' } } });
      await until(async () => (await c.vs.state()) === 'Error', 3000, 'Error from a red status');
      assert.match(helper.getNode('srv').vision.faultReason, /plc-read "plc": ECONNREFUSED/);
    } finally {
      await sub.terminate().catch(() => undefined);
      await close(c);
    }
  });

  it('bad input is an error through done(err), never a crash or a lost state', async function () {
    const mv = await start();
    const errors = [];
    const orig = mv.error;
    mv.error = (e, m) => {
      errors.push(String(e && e.message ? e.message : e));
      return orig.call(mv, e, m);
    };
    mv.receive({ payload: { schema: 'spotfusion.inspection-result/1', resultId: 'x' } });
    mv.receive({ payload: 42 });
    await until(() => errors.length === 2, 2000, 'two errors');
    assert.match(errors[0], /invalid inspection-result/);
    assert.match(errors[1], /neither an InspectionResult/);
    assert.equal(helper.getNode('srv').vision.state, 'ContinuousExecution');
  });

  it('no user and anonymous off: the server runs, refuses every session, and the node\'s status says nobody can log in', async function () {
    port = await freePort();
    const watch = watchStatus();
    // (this server trusts unknown client certificates, so only the user can be what is refused)
    await helper.load(NODES, flow(port, pki, { server: { trustUnknownClients: true } }), {});
    await helper.getNode('srv').ready;
    await assert.rejects(connect(port, clientPki), /BadUserAccessDenied|BadIdentityTokenRejected/i, 'the configured user of the other tests is unknown here');
    await assert.rejects(connect(port, clientPki, { user: false }), 'anonymous is refused');
    try {
      const st = await watch.statusOf('mv', (x) => /nobody can log in/.test(x.text || ''), 5000);
      assert.equal(st.fill, 'yellow');
    } finally {
      watch.stop();
    }
  });

  it('100 redeploys leave no server, socket, session or subscription behind; close frees the port within seconds', async function () {
    this.timeout(300000);
    port = await freePort();
    const before = tcpHandles();
    let sessions = 0;
    for (let i = 0; i < 100; i++) {
      // the client's certificate trusted by the server's settings: the test runs alone too
      await helper.load(NODES, flow(port, pki, { server: { trustUnknownClients: true } }), CREDS);
      const vision = await helper.getNode('srv').ready;
      if (i % 10 === 0) {
        // a live session with an event subscription at unload time must not keep anything open either
        const c = await connect(port, clientPki).catch((err) => {
          throw new Error(`connect on redeploy ${i}: ${err.message}`);
        });
        const sub = await c.session.createSubscription2({ requestedPublishingInterval: 100, publishingEnabled: true, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 100 });
        sub.on('error', () => undefined);
        await sub.monitor({ nodeId: 'ns=1;s=VisionSystem_ST1', attributeId: opcua.AttributeIds.EventNotifier }, { filter: opcua.constructEventFilter(['EventType']), queueSize: 10 }, opcua.TimestampsToReturn.Neither);
        assert.deepEqual(vision.clients, { sessions: 1, subscriptions: 1 }, `redeploy ${i}`);
        sessions += 1;
        // leave the session and its subscription open: the server's close must end them
        c.client.on('close', () => undefined);
        vision.on('state', () => undefined);
        const started = Date.now();
        await helper.unload();
        assert.ok(Date.now() - started < 5000, `close took ${Date.now() - started} ms`);
        await c.client.disconnect().catch(() => undefined);
      } else {
        await helper.unload();
      }
      assert.equal(await portFree(port), true, `the port is free after redeploy ${i}`);
    }
    assert.equal(sessions, 10);
    await until(() => tcpHandles() <= before, 5000, `TCP handles back to ${before} (now ${tcpHandles()})`);
  });
});
