'use strict';
// The OPC UA Machine Vision server's cost to the station (issue 20): ResultReadyEvent latency and CPU per part,
// at the station's pace (10 parts/s, 48 spots), in one run.
//
//   node --expose-gc bench/opcua-mv.bench.cjs [--seconds 15] [--rounds 2] [--rate 10] [--spots 48] [--clients 1] [--out FILE]
//   (--clients 0: the server with no MES subscribed, to tell the subscription's share from the rest)
//   (--marks: each phase's start and end in ms since the process started, on stderr, to line up with --trace-gc)
//
// A Node-RED test runtime runs enrich (the end of the station pipeline) fed with real 48-spot inputs at --rate
// parts/s, in alternating phases of --seconds:
//   without: enrich → sink                                                  (the baseline)
//   with:    enrich → opcua-mv → spotfusion-opcua-server (the part ends when the server stored it) (SignAndEncrypt), one MES client (a child process, so its
//            own CPU is not ours) subscribed to ResultReadyEvents with the fastest publishing interval node-opcua
//            grants (50 ms)
// Printed per phase: CPU µs per part (process.cpuUsage of this process ÷ parts), and for `with`:
//   server latency: from the InspectionResult entering opcua-mv to its ResultReadyEvent queued on the client's
//     monitored item (raiseEvent is synchronous: the event is in the subscription's queue when addResult returns)
//   client latency: from the InspectionResult entering opcua-mv to the event arriving in the client process
//     (wall clock of both processes; includes the wait for the next publish cycle, at most one interval)
// ratio = CPU per part with ÷ without (≤ 1.05 is the target; the baseline is enrich alone, which is a small part
// of a real station's CPU per part, so the ratio overstates the share of the whole pipeline).
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { fork } = require('node:child_process');
const { performance } = require('node:perf_hooks');

const ROOT = path.join(__dirname, '..');
const USER = { username: 'bench', password: 'bench-password-not-secret' };

// the MES client and its login are also what bench/opcua-station.bench.cjs uses (it forks this file with --client)
module.exports = { USER };
if (require.main === module && process.argv[2] === '--client') {
  runClient(process.argv[3], process.argv[4]).catch((err) => {
    process.send({ type: 'error', message: String(err && err.message) });
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

/** the MES: subscribes to ResultReadyEvents and reports (resultId, wall-clock ms) of each */
async function runClient(url, pki) {
  const opcua = require('node-opcua');
  const client = opcua.OPCUAClient.create({
    endpointMustExist: false,
    securityMode: opcua.MessageSecurityMode.SignAndEncrypt,
    securityPolicy: opcua.SecurityPolicy.Basic256Sha256,
    clientCertificateManager: new opcua.OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true }),
    connectionStrategy: { maxRetry: 3 },
  });
  client.on('error', () => undefined);
  await client.connect(url);
  const session = await client.createSession({ type: opcua.UserTokenType.UserName, userName: USER.username, password: USER.password });
  const ns = (await session.readNamespaceArray()).indexOf('http://opcfoundation.org/UA/MachineVision');
  // the client reads the server's data type definitions once per session (a browse of the type tree, seconds of
  // server CPU) before it can decode the events' structures: done here, before anything is measured
  await session.constructExtensionObject(opcua.coerceNodeId(`ns=${ns};i=3021`), { id: 'warm-up' });
  const sub = await session.createSubscription2({ requestedPublishingInterval: 10, publishingEnabled: true, requestedMaxKeepAliveCount: 20, requestedLifetimeCount: 600 });
  const mi = await sub.monitor({ nodeId: 'ns=1;s=VisionSystem_BENCH', attributeId: opcua.AttributeIds.EventNotifier }, { filter: opcua.constructEventFilter(['EventType', `${ns}:ResultId`]), queueSize: 1000 }, opcua.TimestampsToReturn.Neither);
  let batch = [];
  mi.on('changed', (ev) => {
    const id = ev[1].value && ev[1].value.id;
    if (id) batch.push([id, performance.timeOrigin + performance.now()]);
  });
  const flush = setInterval(() => {
    if (batch.length) process.send({ type: 'events', events: batch });
    batch = [];
  }, 200);
  process.send({ type: 'ready', publishingInterval: sub.publishingInterval });
  process.on('message', async (m) => {
    if (m !== 'stop') return;
    clearInterval(flush);
    if (batch.length) process.send({ type: 'events', events: batch });
    process.send({ type: 'stopped' });
    // the client may still be reading the server's data type definitions in the background: closing under it
    // throws inside node-opcua, so the process just ends (the server drops the session's socket)
    setTimeout(() => process.exit(0), 50);
  });
}

function options(argv) {
  const o = { seconds: 15, rounds: 2, rate: 10, spots: 48, clients: 1, out: path.join(__dirname, 'results', 'opcua-mv.json') };
  if (process.env.BENCH_QUICK === '1' || argv.includes('--quick')) Object.assign(o, { seconds: 3, rounds: 1 });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') continue;
    if (a === '--marks') {
      o.marks = true;
      continue;
    }
    const v = argv[++i];
    if (a === '--out') o.out = path.resolve(v);
    else if (['--seconds', '--rounds', '--rate', '--spots', '--clients'].includes(a)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < (a === '--clients' ? 0 : 1) || (a === '--clients' && n > 1)) throw new Error(`${a} must be a positive whole number, got ${JSON.stringify(v)}`);
      o[a.slice(2)] = n;
    } else console.warn(`opcua-mv bench: ignoring ${a} (known: --seconds, --rounds, --rate, --spots, --clients, --out, --quick, --marks)`);
  }
  return o;
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const o = options(process.argv.slice(2));
  const helper = require('node-red-node-test-helper');
  const { freePort } = require(path.join(ROOT, 'test', 'support', 'redis-server.js'));
  const nodes = ['spotfusion-opcua-server/spotfusion-opcua-server.js', 'opcua-mv/opcua-mv.js', 'enrich/enrich.js'].map((p) => require(path.join(ROOT, 'dist', 'nodes', p)));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-opcua-bench-'));
  helper.settings({ userDir: tmp, logging: { console: { level: 'off' } } });
  const spotIds = Array.from({ length: o.spots }, (_, i) => `s${i + 1}`);
  const input = (i) => ({
    part: { serial: `WB-${i}`, program: 7 },
    plc: { station: 'BENCH', readTime: new Date().toISOString(), cycle: i },
    crops: spotIds.map((spotId) => ({ spotId, box: { x: 0, y: 0, w: 64, h: 64 } })),
    predictions: spotIds.map((spotId, k) => ({ spotId, label: k % 17 === 0 ? 'nok' : 'ok', score: 0.93 })),
    model: { name: 'spotnet', version: '2.0.0' },
    timings: { grab: 12, crop: 4, infer: 30 },
  });
  const enrichDef = (wires) => ({ id: 'en', type: 'enrich', z: 't', x: 100, y: 100, line: 'L1', area: 'A', station: 'BENCH', camera: 'cam1', rules: '{"okLabels":["ok"],"minScore":0.5}', wires });

  let seq = 0;
  /** feed --rate parts/s for --seconds; resolves to CPU µs per part and the parts' entry times by result id */
  /** onEach(cb): calls cb once per part that reached the end (the sink, or the server's addResult) */
  async function phase(onEach, name) {
    const mark = (what) => o.marks && process.stderr.write(`[mark] ${performance.now().toFixed(0)} ms: ${name} ${what}\n`);
    const en = helper.getNode('en');
    const total = o.seconds * o.rate;
    let done = 0;
    const finished = new Promise((resolve) => {
      onEach(() => {
        done += 1;
        if (done === total) resolve();
      });
    });
    if (global.gc) global.gc();
    mark('start');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      en.receive(input(seq++));
    }
    await finished;
    const cpu = process.cpuUsage(cpu0);
    mark('end');
    return { parts: total, cpuUsPerPart: (cpu.user + cpu.system) / total };
  }

  const port = await freePort();
  const rows = [];
  for (let round = 0; round < o.rounds; round++) {
    // ---- without the server
    await helper.load(nodes, [{ id: 't', type: 'tab' }, enrichDef([['sink']]), { id: 'sink', type: 'helper', z: 't' }]);
    const atSink = (cb) => {
      const sink = helper.getNode('sink');
      sink.removeAllListeners('input');
      sink.on('input', cb);
    };
    await phase(atSink, 'without (warm-up)'); // warm-up and settle (same length) — not counted
    const without = await phase(atSink, 'without');
    await helper.unload();

    // ---- with the server, one subscribed MES client
    await helper.load(
      nodes,
      [
        { id: 't', type: 'tab' },
        { id: 'srv', type: 'spotfusion-opcua-server', host: '127.0.0.1', port, pkiFolder: path.join(tmp, 'pki'), station: 'BENCH', trustUnknownClients: true, maxResults: 100 },
        // one wire, as in the baseline (a second wire would make Node-RED clone every result)
        enrichDef([['mv']]),
        { id: 'mv', type: 'opcua-mv', z: 't', x: 300, y: 100, server: 'srv', continuous: true, wires: [[], [], []] },
      ],
      { srv: USER },
    );
    const vision = await helper.getNode('srv').ready;
    // server latency: addResult (store + raiseEvent into the subscription's queue), timed around the call
    const serverMs = [];
    const entered = new Map();
    const add = vision.addResult.bind(vision);
    let onAdded = () => undefined;
    vision.addResult = (r) => {
      const t = performance.now();
      entered.set(r.resultId, performance.timeOrigin + t);
      const out = add(r);
      serverMs.push(performance.now() - t);
      onAdded();
      return out;
    };
    const atServer = (cb) => {
      onAdded = cb;
    };
    const child = o.clients === 0 ? null : fork(__filename, ['--client', vision.endpointUrl, path.join(tmp, 'client-pki')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const received = [];
    let publishingInterval;
    await new Promise((resolve, reject) => {
      if (!child) {
        resolve();
        return;
      }
      child.on('message', (m) => {
        if (m.type === 'ready') {
          publishingInterval = m.publishingInterval;
          resolve();
        } else if (m.type === 'events') received.push(...m.events);
        else if (m.type === 'error') reject(new Error(`client: ${m.message}`));
      });
      child.on('exit', (code) => code && reject(new Error(`client exited ${code}`)));
    });
    // the server's own cost with a subscribed client and no parts (publish cycles, keep-alives), per second
    if (global.gc) global.gc();
    const idle0 = process.cpuUsage();
    await sleep(3000);
    const idle = process.cpuUsage(idle0);
    const idleMsPerS = (idle.user + idle.system) / 1000 / 3;
    await phase(atServer, 'with (warm-up)'); // warm-up
    serverMs.length = 0;
    received.length = 0;
    entered.clear();
    const withServer = await phase(atServer, 'with');
    await sleep(500);
    if (child) {
      await new Promise((resolve) => {
        child.on('message', (m) => m.type === 'stopped' && resolve());
        child.send('stop');
      });
    }
    await helper.unload();

    const clientMs = received.filter(([id]) => entered.has(id)).map(([id, at]) => at - entered.get(id));
    const s = serverMs.slice().sort((a, b) => a - b);
    const c = clientMs.slice().sort((a, b) => a - b);
    const row = {
      round: round + 1,
      parts: withServer.parts,
      cpuUsPerPart: { without: without.cpuUsPerPart, with: withServer.cpuUsPerPart },
      ratio: withServer.cpuUsPerPart / without.cpuUsPerPart,
      serverLatencyMs: { p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1] },
      clientLatencyMs: { p50: pct(c, 50), p99: pct(c, 99), max: c[c.length - 1] },
      events: received.length,
      serverIdleCpuMsPerS: idleMsPerS,
      publishingIntervalMs: publishingInterval,
    };
    rows.push(row);
    console.log(
      `round ${row.round}: ${o.rate} parts/s × ${o.spots} spots, ${row.parts} parts; CPU µs/part without ${row.cpuUsPerPart.without.toFixed(0)}, with ${row.cpuUsPerPart.with.toFixed(0)} → ratio ${row.ratio.toFixed(3)}; ` +
        `ResultReadyEvent server p50 ${row.serverLatencyMs.p50.toFixed(3)} / p99 ${row.serverLatencyMs.p99.toFixed(3)} ms; client p50 ${row.clientLatencyMs.p50.toFixed(1)} / p99 ${row.clientLatencyMs.p99.toFixed(1)} ms (publishing interval ${publishingInterval} ms, ${row.events} events); server idle with the client ${idleMsPerS.toFixed(1)} ms CPU/s`,
    );
  }
  const summary = {
    bench: 'opcua-mv',
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadavg: os.loadavg(),
    options: o,
    rounds: rows,
    targets: { serverLatencyP99Ms: 5, cpuRatio: 1.05 },
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`ratio (CPU per part with ÷ without the OPC UA server): ${rows.map((r) => r.ratio.toFixed(3)).join(', ')}`);
  fs.rmSync(tmp, { recursive: true, force: true });
}
