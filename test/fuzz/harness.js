'use strict';
// Fuzz harness: every property runs in a worker thread, so a parser that hangs (a busy loop or an endless
// chain of promises, which starves every timer of its own thread) is stopped by the main thread and reported
// as a hang with the seed and the last input, instead of hanging the suite. fast-check prints the seed and the
// shrunk counterexample of a failing property; replay one with FUZZ_SEED=<seed> (FUZZ_RUNS_SCALE scales the runs).
// Under CI every property runs twice: with the fixed seed (20261126), so that a merge is judged on the inputs
// every earlier run passed, and with one fresh random seed per CI run (FUZZ_FRESH_SEED, which .ci/run draws and
// prints; drawn and printed here when unset), so that CI explores new inputs. FUZZ_SEED=<n> (or random) runs
// that one seed only; outside CI the seed is random.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const LAST_BYTES = 4096;

if (!isMainThread && workerData && workerData.fuzzHarness) {
  const { file, name, runs, seed, last, tried } = workerData;
  const view = new Uint8Array(last);
  const count = new Int32Array(tried);
  const enc = new TextEncoder();
  /** count the input and remember it, for a hang report */
  const progress = (input) => {
    Atomics.add(count, 0, 1);
    // never throws: an input nested thousands deep overflows the stack in JSON.stringify and in String() alike,
    // and a throw here would fail the property for the harness's sake (fast-check then shrinks it for minutes)
    let text;
    try {
      text = typeof input === 'string' ? input : JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    } catch (jsonErr) {
      try {
        text = String(input);
      } catch (stringErr) {
        text = `(an input that neither JSON.stringify nor String() can show: ${jsonErr.message}; ${stringErr.message})`;
      }
    }
    const bytes = enc.encode(String(text).slice(0, LAST_BYTES / 2));
    view.fill(0);
    view.set(bytes.subarray(0, LAST_BYTES));
  };
  const props = require(file);
  Promise.resolve()
    .then(() => props[name]({ fc: require('fast-check'), params: { numRuns: runs, seed }, progress }))
    .then(
      (stats) => parentPort.postMessage({ ok: true, stats }),
      (err) => parentPort.postMessage({ ok: false, message: `${err && err.message ? err.message : String(err)}${err && err.cause ? `\ncause: ${err.cause.stack || err.cause}` : ''}` }),
    );
}

const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE || 1);

const FIXED_SEED = 20261126;
let freshSeed;

/** The seeds to run: FUZZ_SEED alone when set; under CI the fixed seed and this run's fresh one; else a random one. */
function seeds() {
  const random = () => Math.floor(Math.random() * 0x7fffffff);
  if (process.env.FUZZ_SEED) return [process.env.FUZZ_SEED === 'random' ? random() : Number(process.env.FUZZ_SEED)];
  if (!process.env.CI || process.env.CI === 'false') return [random()];
  if (freshSeed === undefined) {
    freshSeed = process.env.FUZZ_FRESH_SEED ? Number(process.env.FUZZ_FRESH_SEED) : random();
    if (!Number.isSafeInteger(freshSeed)) throw new Error(`FUZZ_FRESH_SEED must be a whole number, got ${process.env.FUZZ_FRESH_SEED}`);
    process.stdout.write(`\n  fuzz: fixed seed ${FIXED_SEED} and this run's fresh seed ${freshSeed} (replay a failure: FUZZ_SEED=<its seed>)\n`);
  }
  return [FIXED_SEED, freshSeed];
}

/**
 * Run property `name` of the module `file` in a worker, once per seed (see seeds()); fails on a counterexample
 * (message with seed) or when the worker tries no new input for limitMs (a hang: seed and last input are
 * reported). A slow machine or coverage makes a property take longer, never look hung: the whole run is bounded
 * by the test's own timeout. Resolves to the stats of the last seed.
 */
async function runProperty(file, name, runs, limitMs) {
  let stats;
  for (const seed of seeds()) stats = await runSeed(file, name, runs, limitMs, seed);
  return stats;
}

function runSeed(file, name, runs, limitMs, seed) {
  const last = new SharedArrayBuffer(LAST_BYTES);
  const tried = new SharedArrayBuffer(4);
  const count = new Int32Array(tried);
  const n = Math.max(1, Math.round(runs * RUNS_SCALE));
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { fuzzHarness: true, file: path.resolve(file), name, runs: n, seed, last, tried } });
    let settled = false;
    const finish = (fn, v) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      fn(v);
    };
    // a hang: no new input tried within limitMs (the first one included, after the worker loaded its modules)
    let seen = -1;
    const timer = setInterval(() => {
      const now = Atomics.load(count, 0);
      if (now !== seen) {
        seen = now;
        return;
      }
      const text = Buffer.from(new Uint8Array(last)).toString('utf8').replace(/\0+$/, '');
      void w.terminate();
      finish(reject, new assert.AssertionError({ message: `${name}: no new input tried for ${limitMs} ms after ${now} of ${n} (a hang?) — seed ${seed}, last input: ${text}` }));
    }, limitMs);
    w.once('message', (m) => {
      void w.terminate();
      if (m.ok) finish(resolve, m.stats);
      else finish(reject, new assert.AssertionError({ message: `${name} (seed ${seed}, ${n} runs): ${m.message}` }));
    });
    w.once('error', (err) => finish(reject, err));
    w.once('exit', (code) => finish(reject, new Error(`${name}: fuzz worker exited with code ${code}`)));
  });
}

module.exports = { runProperty };
