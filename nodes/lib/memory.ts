/**
 * The bounds that keep a station's resident memory flat over months (issue 23, docs/RELIABILITY.md "Memory").
 *
 * Most of a station's RSS is outside the JS heap, so it has to be bounded where it lives:
 *
 * - V8's young generation: on a machine with much RAM, Node 24 lets each semi-space grow to 64 MB (128 MB of new
 *   space, nearly all of it resident once a burst filled it); the station's messages live for one part, so a
 *   16 MB semi-space (the default of Node ≤ 22) holds them with room to spare. A command-line flag of the Node
 *   process (it cannot be changed once the heap exists): NODE_MEMORY_FLAGS.
 * - V8's old generation: when a process allocates slowly, V8 sets the next full collection only ~10-20 % above
 *   what the last one kept. A station's heap is 50-70 MB (and 40 MB more with the OPC UA server's address space),
 *   so a full mark-compact of the whole heap came every 1.5-2 s, each 60-140 ms of CPU: with the OPC UA
 *   Machine Vision server and one subscribed MES that was 7 of the 10 ms it added per part (bench/opcua-mv).
 *   --initial-old-space-size=128 lets the old generation reach 128 MB before V8 sizes it from what survives:
 *   OPC UA per part 12.6 -> 5.2 ms, and in the 1-minute soak 43-48 full collections instead of 79-110, 0-1 GC
 *   pauses over 10 ms instead of 7-18 (docs/RELIABILITY.md "Memory"). NODE_OPTIONS refuses this flag: it goes on
 *   the command line, as the service unit, the image, `npm start` and the soak pass it.
 * - glibc's malloc: every thread that allocates (libuv's pool running sharp and fs work, onnxruntime) gets its own
 *   arena of up to 64 MB, up to 8 per core, and freed memory stays in them; large blocks (a 5-megapixel frame)
 *   are mmapped only until the first free raises the threshold, after which they come from the arenas too and
 *   fragment them. MALLOC_ENV caps the arenas at 2 and keeps the mmap threshold fixed, so a frame's memory goes
 *   back to the system when it is freed. Read by glibc when the process starts: the environment of the process.
 * - libvips (sharp): its operation cache (50 MB, 100 operations by default) never hits for frames that are new
 *   every time; SPOTFUSION_VIPS_CACHE_MB (default 0: off) and SPOTFUSION_VIPS_CONCURRENCY (default 1) in
 *   nodes/lib/vision/sharp.ts.
 *
 * The same values are written in deploy/spotfusion-edge.service and deploy/Dockerfile (a test checks they agree)
 * and applied by `npm start` (scripts/start.mjs) and the soak (test/hardening/rig.js) through withMemoryBounds().
 */

/** V8 flags for the command line of the Node process that runs Node-RED (NODE_OPTIONS refuses the second). */
export const NODE_MEMORY_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--initial-old-space-size=128'];

/** glibc malloc tunables, read from the environment when the process starts. */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/**
 * The environment and Node flags of a Node-RED process with the memory bounds: what the caller's environment
 * already sets wins (a station may tune them), a flag already present in NODE_OPTIONS or execArgv is not repeated.
 */
export function withMemoryBounds(env: NodeJS.ProcessEnv, execArgv: readonly string[] = []): { env: NodeJS.ProcessEnv; flags: string[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(MALLOC_ENV)) if (out[k] === undefined || out[k] === '') out[k] = v;
  const given = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`;
  const flags = NODE_MEMORY_FLAGS.filter((f) => !given.includes(f.split('=')[0]));
  return { env: out, flags };
}

/** One line for the start-up log: the bounds this process runs with, and the ones missing. */
export function describeMemoryBounds(env: NodeJS.ProcessEnv, execArgv: readonly string[]): string {
  const given = `${env.NODE_OPTIONS ?? ''} ${execArgv.join(' ')}`;
  const parts: string[] = [];
  const missing: string[] = [];
  for (const f of NODE_MEMORY_FLAGS) {
    const name = f.split('=')[0];
    const m = new RegExp(`${name}=(\\S+)`).exec(given);
    if (m) parts.push(`${name}=${m[1]}`);
    else missing.push(f);
  }
  for (const [k, v] of Object.entries(MALLOC_ENV)) {
    if (env[k]) parts.push(`${k}=${env[k]}`);
    else missing.push(`${k}=${v}`);
  }
  return `memory bounds: ${parts.join(' ') || 'none'}${missing.length ? `; not set (RSS may grow, see docs/RELIABILITY.md "Memory"): ${missing.join(' ')}` : ''}`;
}
