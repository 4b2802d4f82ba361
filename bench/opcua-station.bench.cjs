'use strict';
// The OPC UA Machine Vision server's share of the whole station pipeline (issue 20, point 4: "adds ≤ 5 % CPU per
// part to the station pipeline, ratio in one run"). bench/opcua-mv.bench.cjs measures the server against enrich
// alone; this one against what a station really does per part.
//
//   node --expose-gc bench/opcua-station.bench.cjs [--seconds 40] [--warmup 20] [--rounds 2] [--rate 10] [--out FILE]
//
// flows/station.json runs on its simulators in one real Node-RED process (test/hardening/rig.js, as the soak runs
// it: Logix PLC simulator over EtherNet/IP waiting for Done each part, camera simulator, demo model, SQLite outbox,
// archive of NOK parts), at --rate parts/s asked. Phases alternate in that same process, each a full deploy through
// the admin API, --warmup seconds to settle, then --seconds measured:
//   without: the station flow as it ships
//   with:    the same flow + spotfusion-opcua-server (SignAndEncrypt, username/password from the credentials) and
//            opcua-mv fed by result-publish (a ResultReadyEvent per stored part), one MES client (a child process,
//            bench/opcua-mv.bench.cjs --client, so its CPU is not the station's) subscribed to the events at the
//            fastest publishing interval node-opcua grants
// CPU per part = the Node-RED process's user + system CPU (/proc/PID/stat) over the measured window ÷ the results
// stored in it. ratio = with ÷ without (target ≤ 1.05). Also printed: parts/s, and events the MES received per part;
// with SOAK_NODE_FLAGS="--trace-gc" (flags for the Node-RED process, test/support/runtime.js) V8's full collections
// and scavenges in each window, which is where the station's CPU per part moves with the size of the heap.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, fork } = require('node:child_process');
const { StationRig, sleep } = require('../test/hardening/rig.js');
const { freePort } = require('../test/support/redis-server.js');
const { USER } = require('./opcua-mv.bench.cjs');

const CLIENT = path.join(__dirname, 'opcua-mv.bench.cjs');
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function options(argv) {
  const o = { seconds: 40, warmup: 20, rounds: 2, rate: 10, out: path.join(__dirname, 'results', 'opcua-station.json') };
  if (process.env.BENCH_QUICK === '1' || argv.includes('--quick')) Object.assign(o, { seconds: 10, warmup: 8, rounds: 1 });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') continue;
    const v = argv[++i];
    if (a === '--out') o.out = path.resolve(v);
    else if (['--seconds', '--warmup', '--rounds', '--rate'].includes(a)) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} must be a positive whole number, got ${JSON.stringify(v)}`);
      o[a.slice(2)] = n;
    } else console.warn(`opcua-station bench: ignoring ${a} (known: --seconds, --warmup, --rounds, --rate, --out, --quick)`);
  }
  return o;
}

/** user + system CPU of a process so far, in ms (fields 14 and 15 of /proc/PID/stat, after the command's ")") */
function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK;
}

/** the station flow with the OPC UA server and opcua-mv after result-publish */
function withServer(flows, port, pki) {
  const publish = flows.find((n) => n.id === 'sf_st_publish');
  if (!publish) throw new Error('flows/station.json has no result-publish node sf_st_publish');
  const z = publish.z;
  return [
    ...flows.map((n) => (n.id === publish.id ? { ...n, wires: [[...publish.wires[0], 'bench_ua_mv'], ...publish.wires.slice(1)] } : n)),
    { id: 'bench_ua_srv', type: 'spotfusion-opcua-server', z, name: 'bench OPC UA', host: '127.0.0.1', port, pkiFolder: pki, security: 'sign-encrypt', allowAnonymous: false, trustUnknownClients: true, maxResults: 100, station: 'BENCH', credentials: { ...USER } },
    { id: 'bench_ua_mv', type: 'opcua-mv', z, name: 'vision system', server: 'bench_ua_srv', continuous: true, x: 900, y: 400, wires: [[], [], []] },
  ];
}

async function deploy(rig, body) {
  const r = await rig.rt.request('POST', '/flows', { body, headers: { 'Node-RED-Deployment-Type': 'full' }, timeoutMs: 30000 });
  if (r.status !== 200 && r.status !== 204) throw new Error(`deploy: ${r.status} ${r.text}`);
}

async function main() {
  const o = options(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-opcua-station-'));
  const rig = await StationRig.start({ periodMs: Math.round(1000 / o.rate) });
  const rows = [];
  try {
    const got = await rig.rt.request('GET', '/flows');
    if (got.status !== 200) throw new Error(`GET /flows: ${got.status} ${got.text}`);
    const station = got.json;
    const port = await freePort();
    const pki = path.join(tmp, 'server-pki');
    rig.run();
    const traceGc = /--trace-gc\b/.test(process.env.SOAK_NODE_FLAGS || '');

    /** measure one window: CPU per stored part, parts/s */
    async function measure() {
      const pid = rig.pid;
      const c0 = cpuMs(pid);
      const t0 = Date.now();
      const log0 = rig.rt.stdout.length;
      await sleep(o.seconds * 1000);
      const c1 = cpuMs(pid);
      const t1 = Date.now();
      const parts = rig.results().filter((r) => r.stored_at >= t0 && r.stored_at < t1).length;
      // with SOAK_NODE_FLAGS=--trace-gc: V8's collections in the window (Node-RED's stdout)
      const gcLog = rig.rt.stdout.slice(log0);
      const gc = traceGc ? { markCompacts: (gcLog.match(/Mark-Compact/g) || []).length, scavenges: (gcLog.match(/Scavenge/g) || []).length } : undefined;
      return { t0, t1, parts, partsPerS: (parts * 1000) / (t1 - t0), cpuMsPerPart: (c1 - c0) / parts, cpuShare: (c1 - c0) / (t1 - t0), gc };
    }

    for (let round = 1; round <= o.rounds; round++) {
      await deploy(rig, station);
      await sleep(o.warmup * 1000);
      const without = await measure();

      const listening = () => rig.log.split(`:${port} (PKI`).length - 1;
      const before = listening();
      await deploy(rig, withServer(station, port, pki));
      for (const end = Date.now() + 30000; listening() === before; await sleep(100)) {
        if (Date.now() > end) throw new Error(`the OPC UA server did not start:\n${rig.log.slice(-3000)}`);
      }
      const child = fork(CLIENT, ['--client', `opc.tcp://127.0.0.1:${port}`, path.join(tmp, 'client-pki')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const events = [];
      let publishingInterval;
      await new Promise((resolve, reject) => {
        child.on('message', (m) => {
          if (m.type === 'ready') {
            publishingInterval = m.publishingInterval;
            resolve();
          } else if (m.type === 'events') events.push(...m.events);
          else if (m.type === 'error') reject(new Error(`MES client: ${m.message}`));
        });
        child.on('exit', (code) => code && reject(new Error(`MES client exited ${code}`)));
      });
      await sleep(o.warmup * 1000);
      const withS = await measure();
      await sleep(500);
      await new Promise((resolve) => {
        child.on('message', (m) => m.type === 'stopped' && resolve());
        child.send('stop');
      });
      const row = { round, without, with: withS, ratio: withS.cpuMsPerPart / without.cpuMsPerPart, eventsPerPart: events.filter(([, at]) => at >= withS.t0 && at < withS.t1).length / withS.parts, publishingIntervalMs: publishingInterval };
      rows.push(row);
      console.log(
        `round ${round}: CPU ms/part without ${without.cpuMsPerPart.toFixed(2)} (${without.partsPerS.toFixed(2)} parts/s, ${without.parts} parts), ` +
          `with ${withS.cpuMsPerPart.toFixed(2)} (${withS.partsPerS.toFixed(2)} parts/s, ${withS.parts} parts) → ratio ${row.ratio.toFixed(3)}; ` +
          `ResultReadyEvents at the MES per part ${row.eventsPerPart.toFixed(2)} (publishing interval ${publishingInterval} ms); load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}` +
          (traceGc ? `; mark-compacts without ${without.gc.markCompacts}, with ${withS.gc.markCompacts}; scavenges without ${without.gc.scavenges}, with ${withS.gc.scavenges}` : ''),
      );
    }
    await deploy(rig, station);
  } finally {
    rig.halt();
    await rig.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const summary = { bench: 'opcua-station', when: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), options: o, rounds: rows, targets: { cpuRatio: 1.05 } };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`ratio (station CPU per part with ÷ without the OPC UA server and one MES): ${rows.map((r) => r.ratio.toFixed(3)).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
