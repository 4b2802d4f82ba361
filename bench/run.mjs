#!/usr/bin/env node
// Entry of `npm run bench`: runs every bench file in bench/ (`*.bench.mjs` / `*.bench.cjs`), one after another,
// each in its own Node process, or only the ones named on the command line.
//
//   npm run bench                                   all benches
//   npm run bench -- redis-cache                    one bench (name, file name or path)
//   npm run bench -- redis-cache --messages 5000    every other argument is passed on to each bench
//
// Each bench runs with --expose-gc (so it can collect garbage between measurements) and the V8 flags a station runs
// with (NODE_MEMORY_FLAGS of nodes/lib/memory.ts, as the service unit passes them), and must stop by itself;
// one that runs past --bench-timeout seconds (default 1800) is killed. Exit status: 0 when every bench exited 0.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const { NODE_MEMORY_FLAGS } = createRequire(import.meta.url)('../dist/nodes/lib/memory.js');
const BENCH_FILE = /\.bench\.(mjs|cjs)$/;

function allBenches() {
  return readdirSync(BENCH_DIR)
    .filter((f) => BENCH_FILE.test(f))
    .sort()
    .map((f) => join(BENCH_DIR, f));
}

/** A command-line word that names a bench file: "redis-cache", "redis-cache.bench.cjs", "bench/redis-cache.bench.cjs". */
function benchNamed(word) {
  if (word.startsWith('-')) return undefined;
  const candidates = [resolve(word), join(BENCH_DIR, basename(word))];
  for (const ext of ['mjs', 'cjs']) candidates.push(join(BENCH_DIR, `${basename(word)}.bench.${ext}`));
  return candidates.find((p) => BENCH_FILE.test(p) && existsSync(p));
}

function parseArgs(argv) {
  const selected = [];
  const forward = [];
  let timeoutS = 1800;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--bench-timeout' || a.startsWith('--bench-timeout=')) {
      const raw = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[(i += 1)];
      timeoutS = Number(raw);
      if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`--bench-timeout must be a positive number of seconds, got ${JSON.stringify(raw)}`);
      continue;
    }
    // a word that names a bench file selects it; options and their values go to the benches
    const file = benchNamed(a);
    if (file) {
      selected.push(file);
      continue;
    }
    const followsOption = i > 0 && argv[i - 1].startsWith('--') && !argv[i - 1].includes('=');
    if (!a.startsWith('-') && !followsOption) {
      const known = allBenches().map((f) => basename(f).replace(BENCH_FILE, ''));
      throw new Error(`no bench named ${JSON.stringify(a)} in ${BENCH_DIR} (there are: ${known.join(', ') || 'none'})`);
    }
    forward.push(a);
  }
  return { selected, forward, timeoutS };
}

function runOne(file, args, timeoutS) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--expose-gc', ...NODE_MEMORY_FLAGS, file, ...args], { stdio: 'inherit', cwd: join(BENCH_DIR, '..') });
    const timer = setTimeout(() => {
      console.error(`bench: ${basename(file)} ran past ${timeoutS} s, killing it`);
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ file, code: 1, signal: null, error: err.message, seconds: (Date.now() - started) / 1000 });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ file, code, signal, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main() {
  const { selected, forward, timeoutS } = parseArgs(process.argv.slice(2));
  const files = selected.length ? selected : allBenches();
  if (files.length === 0) {
    console.error(`bench: no *.bench.mjs or *.bench.cjs files in ${BENCH_DIR}`);
    process.exitCode = 1;
    return;
  }
  const results = [];
  for (const file of files) {
    console.log(`\n=== bench ${basename(file)} ${forward.join(' ')}`.trimEnd());
    results.push(await runOne(file, forward, timeoutS));
  }
  console.log('\n=== bench summary');
  for (const r of results) {
    const how = r.error ? `failed to start: ${r.error}` : r.signal ? `killed by ${r.signal}` : r.code === 0 ? 'ok' : `exit ${r.code}`;
    console.log(`${basename(r.file)}: ${how} (${r.seconds.toFixed(1)} s)`);
  }
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exitCode = 1;
});
