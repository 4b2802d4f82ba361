'use strict';
// camera-grab GigE receive path vs aravis (arv-camera-test-0.8), same fake camera, same run:
// frames/s, packets lost, incomplete frames and CPU time per frame, at 25 and 200 fps requested.
// The aravis fake camera broadcasts discovery: everything runs inside a network namespace with only loopback
// (this script re-executes itself under `unshare -n`). Needs root or user namespaces, and aravis-tools.
// Env: BENCH_SECONDS (default 3). Prints one JSON line per case and a summary with the ratio to aravis.
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const RATES = [25, 200];
const PACKET = 1400; // what arv-camera-test negotiates with the fake

function reexecInNamespace() {
  const have = spawnSync('sh', ['-c', 'command -v arv-fake-gv-camera-0.8 && command -v arv-camera-test-0.8'], { encoding: 'utf8' });
  if (have.status !== 0) {
    console.log('camera-grab bench: SKIPPED (aravis-tools not installed: apt-get install -y aravis-tools)');
    process.exit(0);
  }
  for (const flags of [['-n'], ['-rn']]) {
    if (spawnSync('unshare', [...flags, 'true']).status !== 0) continue;
    const r = spawnSync('unshare', [...flags, '--', 'bash', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, __filename], {
      stdio: 'inherit',
      env: { ...process.env, SF_BENCH_NETNS: '1' },
    });
    process.exit(r.status ?? 1);
  }
  console.log('camera-grab bench: SKIPPED (cannot create a network namespace: unshare -n / -rn refused)');
  process.exit(0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startFake() {
  const { GvcpClient } = require(path.join(ROOT, 'dist/nodes/lib/camera/gige/gvcp'));
  const proc = spawn('arv-fake-gv-camera-0.8', ['-i', 'lo'], { stdio: 'ignore' });
  const probe = new GvcpClient({ host: '127.0.0.1', timeoutMs: 100, retries: 0 });
  try {
    for (let i = 0; i < 50; i++) {
      try {
        await probe.discover();
        return proc;
      } catch {
        await sleep(100);
      }
    }
    throw new Error('fake camera did not start');
  } finally {
    await probe.close();
  }
}

async function stopFake(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

function cpuTicksOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks
}

async function ours(fps) {
  const { GigeCamera } = require(path.join(ROOT, 'dist/nodes/lib/camera/gige/camera'));
  const cam = new GigeCamera({ host: '127.0.0.1', trigger: 'freerun', packetSize: PACKET, features: { AcquisitionFrameRate: fps } });
  await cam.open();
  let frames = 0;
  cam.on('frame', () => (frames += 1));
  await sleep(500); // settle
  const f0 = frames;
  const s0 = { ...cam.gvsp.stats };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const s1 = cam.gvsp.stats;
  const n = frames - f0;
  await cam.close();
  return {
    impl: 'camera-grab',
    fps: n / dt,
    frames: n,
    lostPackets: s1.lostPackets - s0.lostPackets,
    incomplete: s1.incomplete - s0.incomplete,
    cpuMsPerFrame: n ? (cpu.user + cpu.system) / 1000 / n : null,
    recvBufferBytes: cam.gvsp.recvBufferBytes,
  };
}

async function aravis(fps) {
  const child = spawn('arv-camera-test-0.8', ['-f', String(fps), '-i', String(PACKET)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const started = Date.now();
  while (!/frames\/s/.test(out) && Date.now() - started < 5000) await sleep(50);
  const lines0 = (out.match(/frames\/s/g) || []).length;
  const cpu0 = cpuTicksOf(child.pid);
  await sleep(SECONDS * 1000 + 100);
  const cpu1 = cpuTicksOf(child.pid);
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await done;
  // arv-camera-test prints "N frames/s" once a second; take the lines printed during our window
  const rates = [...out.matchAll(/(\d+) frames\/s/g)].map((m) => Number(m[1])).slice(lines0, lines0 + SECONDS);
  const f = rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
  const missing = Number((/n_missing_packets\s*=\s*(\d+)/.exec(out) || [])[1] ?? NaN);
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return {
    impl: 'aravis',
    fps: f,
    frames: Math.round(f * SECONDS),
    lostPackets: missing,
    incomplete: Number((/n_failures\s*=\s*(\d+)/.exec(out) || [])[1] ?? NaN),
    cpuMsPerFrame: f ? ((cpu1 - cpu0) * 1000) / tick / (f * SECONDS) : null,
  };
}

async function main() {
  const results = [];
  for (const fps of RATES) {
    for (const run of [aravis, ours]) {
      const fake = await startFake();
      try {
        const r = { requestedFps: fps, ...(await run(fps)) };
        results.push(r);
        console.log(JSON.stringify(r));
      } finally {
        await stopFake(fake);
      }
    }
  }
  console.log('\ncamera-grab vs aravis (same fake camera, same run, 512×512 Mono8, packet size 1400):');
  let ok = true;
  for (const fps of RATES) {
    const a = results.find((r) => r.requestedFps === fps && r.impl === 'aravis');
    const o = results.find((r) => r.requestedFps === fps && r.impl === 'camera-grab');
    const ratio = a.fps ? o.fps / a.fps : NaN;
    const pass = ratio >= 0.9 && o.lostPackets === 0;
    ok = ok && pass;
    console.log(`  ${String(fps).padStart(3)} fps requested: ours ${o.fps.toFixed(1)} fps, aravis ${a.fps.toFixed(1)} fps, ratio ${ratio.toFixed(2)} (goal ≥ 0.9); ` +
      `lost packets ours ${o.lostPackets} / aravis ${a.lostPackets}; CPU per frame ours ${o.cpuMsPerFrame?.toFixed(3)} ms / aravis ${a.cpuMsPerFrame?.toFixed(3)} ms ${pass ? 'OK' : 'BELOW GOAL'}`);
  }
  process.exitCode = ok ? 0 : 1;
}

if (!process.env.SF_BENCH_NETNS) reexecInNamespace();
else {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
  if (links.some((l) => !/: lo:/.test(l))) throw new Error('refusing to run: namespace has more than lo');
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
