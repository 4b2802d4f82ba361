#!/usr/bin/env node
'use strict';
// Throughput and latency of plc-read against the Logix simulator, with node-red-contrib-cip-ethernet-ip (its
// ethernet-ip 1.2.5 client) as the baseline on the same simulator, in the same run, both as Node-RED nodes in
// one runtime (node-red-node-test-helper). Tags/s are counted by the simulator (Read Tag services answered),
// so both sides are measured the same way. Run: `node bench/plc-read.bench.cjs` (after `npm run build`).
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const ROOT = path.join(__dirname, '..');
const dist = (p) => require(path.join(ROOT, 'dist', p));
const { LogixSimulator, benchTags } = dist('nodes/lib/plc/logix-sim');
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS || 3000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** ethernet-ip 1.2.5 connects to port 44818 only: load it with the simulator's port instead. */
function loadEthernetIp(port) {
  const root = path.dirname(require.resolve('ethernet-ip/package.json', { paths: [ROOT] }));
  for (const k of Object.keys(require.cache)) if (k.startsWith(root + path.sep)) delete require.cache[k];
  require(path.join(root, 'src', 'config.js')).EIP_PORT = port;
  require(root);
}

function tab(nodes) {
  return [{ id: 't', type: 'tab', label: 'bench' }, ...nodes.map((n) => (n.type.includes('config') || n.type === 'eth-ip endpoint' ? n : { z: 't', x: 1, y: 1, ...n }))];
}

/**
 * The simulator runs in a child process, as a controller is another box: the clients under test do not share
 * a core with it. `sim.stats()` asks it for its counters over IPC; `sim.set()` writes a tag.
 */
async function startSimChild(tags) {
  const { fork } = require('node:child_process');
  const child = fork(__filename, ['--sim-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (w) {
      waiting.delete(m.id);
      w(m);
    }
  });
  const call = (msg) =>
    new Promise((resolve) => {
      const id = ++seq;
      waiting.set(id, resolve);
      child.send({ ...msg, id });
    });
  const started = await call({ op: 'start', tags });
  return {
    port: started.port,
    stats: async () => (await call({ op: 'stats' })).stats,
    set: (name, value) => call({ op: 'set', name, value }),
    stop: async () => {
      await call({ op: 'stop' });
      child.disconnect();
    },
  };
}

function simChild() {
  let sim;
  process.on('message', async (m) => {
    if (m.op === 'start') {
      sim = await new LogixSimulator({ tags: m.tags, udp: false }).start();
      process.send({ id: m.id, port: sim.port });
    } else if (m.op === 'stats') {
      process.send({ id: m.id, stats: sim.stats });
    } else if (m.op === 'set') {
      sim.db.set(m.name, m.value);
      process.send({ id: m.id });
    } else if (m.op === 'stop') {
      await sim.stop();
      process.send({ id: m.id });
    }
  });
}

async function measure(helper, sim, nodes, flow, ready) {
  await helper.load(nodes, flow);
  const t0 = Date.now();
  while (!(await ready())) {
    if (Date.now() - t0 > 10000) throw new Error(`not connected within 10 s (${JSON.stringify(flow.map((n) => [n.id, helper.getNode(n.id) && helper.getNode(n.id).connection && helper.getNode(n.id).connection.lastError]))})`);
    await sleep(20);
  }
  await sleep(300); // warm up
  const before = (await sim.stats()).tagReads;
  const t1 = performance.now();
  await sleep(WINDOW_MS);
  const reads = (await sim.stats()).tagReads - before;
  const secs = (performance.now() - t1) / 1000;
  await helper.unload();
  await sleep(200);
  return reads / secs;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const helper = require('node-red-node-test-helper');
  // the contrib endpoint calls RED.settings.get('verbose'), which the test helper's runtime leaves uninitialised
  const runtimeSettings = require(require.resolve('@node-red/runtime/lib/settings', { paths: [path.dirname(require.resolve('node-red/package.json', { paths: [ROOT] }))] }));
  const origGet = runtimeSettings.get;
  runtimeSettings.get = (prop) => (prop === 'verbose' ? false : origGet.call(runtimeSettings, prop));
  const t20 = benchTags(20, false, 'D');
  // the baseline reads only SINT, INT, DINT, REAL and BOOL (no STRING, LINT, LREAL, arrays): the shared mix
  const t200 = benchTags(200, ['DINT', 'REAL', 'INT', 'BOOL', 'SINT'], 'M');
  const tAll = benchTags(200, true, 'A');
  const sim = await startSimChild([...t20, ...t200, ...tAll, { name: 'Trigger', type: 'BOOL', value: false }]);
  loadEthernetIp(sim.port);
  const contrib = require(path.join(path.dirname(require.resolve('node-red-contrib-cip-ethernet-ip/package.json', { paths: [ROOT] })), 'red', 'ethernet-ip.js'));
  const ours = [dist('nodes/plc-config/plc-config.js'), dist('nodes/plc-read/plc-read.js')];
  const results = [];
  const report = (line) => process.stdout.write(`${line}\n`);
  report(`plc-read bench: Logix simulator in a child process on 127.0.0.1:${sim.port}, ${WINDOW_MS} ms windows, node ${process.version}`);

  for (const [label, tags] of [['20 DINT', t20], ['200 mixed', t200]]) { // mixed: DINT/REAL/INT/BOOL/SINT
    const map = tags.map((t) => ({ name: t.name, address: t.name, type: t.type }));
    const oursRate = await measure(
      helper,
      sim,
      ours,
      tab([
        { id: 'plc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0' },
        { id: 'r', type: 'plc-read', plc: 'plc', tags: map, mode: 'poll', interval: 0, wires: [[]] },
      ]),
      () => helper.getNode('plc').connection.connected,
    );
    const ours1Rate = await measure(
      helper,
      sim,
      ours,
      tab([
        { id: 'plc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0' },
        { id: 'r', type: 'plc-read', plc: 'plc', tags: map, mode: 'poll', interval: 1, wires: [[]] },
      ]),
      () => helper.getNode('plc').connection.connected,
    );
    const vartable = { '': Object.fromEntries(tags.map((t) => [t.name, { type: t.type }])) };
    const theirsRate = await measure(
      helper,
      sim,
      [contrib],
      tab([
        { id: 'ep', type: 'eth-ip endpoint', address: '127.0.0.1', slot: 0, cycletime: 1, vartable },
        { id: 'in', type: 'eth-ip in', endpoint: 'ep', mode: 'all', wires: [[]] },
      ]),
      () => helper.getNode('ep') && helper.getNode('ep').getStatus() === 'online',
    );
    const ratio = oursRate / theirsRate;
    const ratio1 = ours1Rate / theirsRate;
    results.push({ label, oursRate, ours1Rate, theirsRate, ratio, ratio1 });
    report(`${label.padEnd(10)} plc-read (interval 0: back to back) ${oursRate.toFixed(0).padStart(8)} tags/s | node-red-contrib-cip-ethernet-ip (cycletime 1 ms, its fastest) ${theirsRate.toFixed(0).padStart(7)} tags/s | ratio ${ratio.toFixed(2)}x`);
    report(`${' '.repeat(10)} plc-read at the same 1 ms interval ${ours1Rate.toFixed(0).padStart(8)} tags/s | ratio ${ratio1.toFixed(2)}x`);
  }

  const allRate = await measure(
    helper,
    sim,
    ours,
    tab([
      { id: 'plc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0' },
      { id: 'r', type: 'plc-read', plc: 'plc', tags: tAll.map((t) => ({ name: t.name, address: t.name, type: t.type })), mode: 'poll', interval: 0, wires: [[]] },
    ]),
    () => helper.getNode('plc').connection.connected,
  );
  report(`200 of all types (STRING, LINT, LREAL too; no baseline: it cannot read them) plc-read ${allRate.toFixed(0)} tags/s`);

  // trigger edge → message latency, trigger mode with a 10 ms interval, 20 DINT + trigger
  const map = [{ name: 'Trigger', address: 'Trigger', type: 'BOOL' }, ...t20.map((t) => ({ name: t.name, address: t.name, type: t.type }))];
  await helper.load(ours, tab([
    { id: 'plc', type: 'plc-config', protocol: 'ethernet-ip', host: '127.0.0.1', port: sim.port, route: '1,0' },
    { id: 'r', type: 'plc-read', plc: 'plc', tags: map, mode: 'trigger', trigger: 'Trigger', interval: 10, wires: [['out']] },
    { id: 'out', type: 'helper' },
  ]));
  while (!helper.getNode('plc').connection.connected) await sleep(20);
  await sleep(100);
  const out = helper.getNode('out');
  const lat = [];
  const edges = Number(process.env.BENCH_EDGES || 100);
  for (let k = 0; k < edges; k++) {
    const got = new Promise((resolve) => out.once('input', resolve));
    await sleep(Math.random() * 10);
    const t0 = performance.now();
    await sim.set('Trigger', true);
    await got;
    lat.push(performance.now() - t0);
    await sim.set('Trigger', false);
    await sleep(25);
  }
  await helper.unload();
  lat.sort((a, b) => a - b);
  const p50 = pct(lat, 50);
  const p99 = pct(lat, 99);
  report(`trigger edge → message (interval 10 ms, 21 tags, ${edges} edges): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
  await sim.stop();
  const goals = results.map((r) => `${r.label}: ${r.ratio.toFixed(2)}x at fastest settings, ${r.ratio1.toFixed(2)}x at the same 1 ms interval (goal ${r.label === '20 DINT' ? '≥ 1' : '≥ 3'}x)`).join('; ');
  report(`ratios: ${goals}`);
  return { results, latency: { p50, p99 } };
}

module.exports = main;
if (process.argv[2] === '--sim-child') {
  simChild();
} else if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`bench failed: ${err && err.stack ? err.stack : err}\n`);
      process.exit(1);
    },
  );
}
