'use strict';
// Debian's aravis fake GigE Vision camera for the specs under test/gige/. ONLY for use inside a network namespace
// with nothing but loopback (test/support/netns-run.sh): the fake broadcasts discovery on every interface.
const { spawn, execFileSync } = require('node:child_process');
const { GvcpClient } = require('../../dist/nodes/lib/camera/gige/gvcp');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Throws unless this process runs in a network namespace that has only lo. */
function assertLoopbackOnly() {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n');
  if (links.some((l) => !/: lo:/.test(l))) throw new Error(`refusing to run: this network namespace has more than lo:\n${links.join('\n')}`);
}

/** Start the fake camera on lo and wait until it answers discovery (unicast to 127.0.0.1). */
async function startFake(args = []) {
  assertLoopbackOnly();
  const proc = spawn('arv-fake-gv-camera-0.8', ['-i', 'lo', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const probe = new GvcpClient({ host: '127.0.0.1', timeoutMs: 100, retries: 0 });
  try {
    for (let i = 0; i < 50; i++) {
      if (proc.exitCode !== null) throw new Error(`fake camera exited: ${stderr}`);
      try {
        await probe.discover();
        return proc;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`fake camera did not answer within 5 s: ${stderr}`);
  } finally {
    await probe.close();
  }
}

async function stopFake(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

/**
 * The fake's test pattern, as observed on the wire: pixel (x, y) of the camera's n-th frame is (x + y + n) mod 255
 * (n = its own frame counter, which equals the GVSP block id until the stream is set up again). Returns the number
 * of pixels that differ; `exactId` checks against the block id, otherwise against the frame's first pixel.
 */
function checkPattern(frame, exactId = false) {
  const { data, width, height } = frame;
  const n = exactId ? (frame.blockId ?? frame.frameId) : data[0];
  let bad = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (data[y * width + x] !== (x + y + n) % 255) bad++;
  return bad;
}

/**
 * Stream packet loss (and duplication) made by nftables, ONLY inside the loopback-only namespace (the kernel has no
 * netem): every UDP packet that is neither to nor from the GVCP port 3956 (i.e. GVSP stream packets) is dropped
 * with probability lossPerMille/1000, and, when dupPerMille is given, sent twice with that probability. The table
 * lives in this namespace and dies with it; clearStreamFaults() removes it earlier.
 */
function streamFaults({ lossPerMille = 0, dupPerMille = 0 } = {}) {
  assertLoopbackOnly();
  clearStreamFaults();
  const stream = 'meta l4proto udp udp sport != 3956 udp dport != 3956';
  const rules = ['add table ip sf_faults', 'add chain ip sf_faults out { type filter hook output priority 0 ; policy accept ; }'];
  if (dupPerMille > 0) rules.push(`add rule ip sf_faults out ${stream} numgen random mod 1000 < ${dupPerMille} dup to 127.0.0.1`);
  if (lossPerMille > 0) rules.push(`add rule ip sf_faults out ${stream} numgen random mod 1000 < ${lossPerMille} drop`);
  execFileSync('nft', ['-f', '-'], { input: rules.join('\n') + '\n' });
}

/** Extra nftables rules (output hook, same table as streamFaults), e.g. 'udp dport 3956 numgen inc mod 4 == 0 drop'. */
function netFaults(...rules) {
  assertLoopbackOnly();
  clearStreamFaults();
  const lines = ['add table ip sf_faults', 'add chain ip sf_faults out { type filter hook output priority 0 ; policy accept ; }', ...rules.map((r) => `add rule ip sf_faults out ${r}`)];
  execFileSync('nft', ['-f', '-'], { input: lines.join('\n') + '\n' });
}

function clearStreamFaults() {
  assertLoopbackOnly();
  execFileSync('nft', ['-f', '-'], { input: 'table ip sf_faults\ndelete table ip sf_faults\n' });
}

/** Resolves once `emitter` emitted `name` `count` times; rejects after timeoutMs with what it saw. */
function events(emitter, name, count, timeoutMs) {
  return new Promise((resolve, reject) => {
    let n = 0;
    const t = setTimeout(() => {
      emitter.removeListener(name, on);
      reject(new Error(`${n} of ${count} '${name}' events within ${timeoutMs} ms`));
    }, timeoutMs);
    function on() {
      if (++n < count) return;
      clearTimeout(t);
      emitter.removeListener(name, on);
      resolve();
    }
    emitter.on(name, on);
  });
}

module.exports = { assertLoopbackOnly, startFake, stopFake, checkPattern, sleep, streamFaults, netFaults, clearStreamFaults, events };
