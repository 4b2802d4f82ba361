/**
 * The bounds that keep a station's resident memory flat over months (issue 23, docs/RELIABILITY.md "Memory").
 *
 * Most of a station's RSS is outside the JS heap, so it has to be bounded where it lives:
 *
 * - V8's young generation: on a machine with much RAM, Node 24 lets each semi-space grow to 64 MB (128 MB of new
 *   space, nearly all of it resident once a burst filled it); the station's messages live for one part, so a
 *   16 MB semi-space (the default of Node ≤ 22) holds them with room to spare. A command-line flag of the Node
 *   process (it cannot be changed once the heap exists): NODE_MEMORY_FLAGS.
 * - V8's old generation is left to V8: --initial-old-space-size=128 cut the OPC UA server's CPU per part from
 *   12.6 to 5.2 ms and the soak's full collections by half, but the heap then fills towards 128 MB first, and the
 *   CI soak smoke's RSS slope check failed on it (docs/RELIABILITY.md "Full collections"): measured, not adopted.
 *   A station may add it on the command line (NODE_OPTIONS refuses it): the flags go on the command line.
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

/** V8 flags for the command line of the Node process that runs Node-RED. */
export const NODE_MEMORY_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

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
