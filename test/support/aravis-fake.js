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

module.exports = { assertLoopbackOnly, startFake, stopFake, checkPattern, sleep };
