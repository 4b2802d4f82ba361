'use strict';
// Fuzz harness: every property runs in a worker thread, so a parser that hangs (a busy loop or an endless
// chain of promises, which starves every timer of its own thread) is stopped by the main thread and reported
// as a hang with the seed and the last input, instead of hanging the suite. fast-check prints the seed and the
// shrunk counterexample of a failing property; replay one with FUZZ_SEED=<seed> (FUZZ_RUNS scales the runs).
// Under CI=true the seed is fixed (20261126) unless FUZZ_SEED says otherwise; elsewhere it is random.
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');

const LAST_BYTES = 4096;

if (!isMainThread && workerData && workerData.fuzzHarness) {
  const { file, name, runs, seed, last } = workerData;
  const view = new Uint8Array(last);
  const enc = new TextEncoder();
  /** remember the input being tried, for a hang report */
  const progress = (input) => {
    let text;
    try {
      text = typeof input === 'string' ? input : JSON.stringify(input, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    } catch {
      text = String(input);
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

/**
 * Run property `name` of the module `file` in a worker; fails on a counterexample (message with seed) or when
 * the worker does not finish within limitMs (a hang: seed and last input are reported).
 */
function runProperty(file, name, runs, limitMs) {
  // CI runs a fixed seed so that a merge is never blocked by a case another run happened to draw; new seeds are
  // explored with FUZZ_SEED=random (or any number) and every failure found becomes a fix plus a table test.
  const seed =
    process.env.FUZZ_SEED === 'random' || (!process.env.FUZZ_SEED && !process.env.CI)
      ? Math.floor(Math.random() * 0x7fffffff)
      : Number(process.env.FUZZ_SEED || 20261126);
  const last = new SharedArrayBuffer(LAST_BYTES);
  const n = Math.max(1, Math.round(runs * RUNS_SCALE));
  return new Promise((resolve, reject) => {
    const w = new Worker(__filename, { workerData: { fuzzHarness: true, file: path.resolve(file), name, runs: n, seed, last } });
    let settled = false;
    const finish = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(v);
    };
    const timer = setTimeout(() => {
      const text = Buffer.from(new Uint8Array(last)).toString('utf8').replace(/\0+$/, '');
      void w.terminate();
      finish(reject, new assert.AssertionError({ message: `${name}: no answer within ${limitMs} ms (a hang?) — seed ${seed}, last input: ${text}` }));
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
