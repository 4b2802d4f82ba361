'use strict';
// Properties for test/fuzz/harness.test.js: one that keeps trying inputs slowly, one that stops in a busy loop.
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** each input takes 60 ms: slower in total than the harness's stall limit, never stalled */
async function slowButSteady({ fc, params, progress }) {
  await fc.assert(
    fc.asyncProperty(fc.integer(), async (i) => {
      progress(i);
      await sleep(60);
    }),
    params,
  );
  return { ok: true };
}

/** the sixth input spins forever: starves the worker's own timers, as a looping parser would */
async function spinsOnTheSixth({ fc, params, progress }) {
  let n = 0;
  await fc.assert(
    fc.property(fc.integer(), (i) => {
      progress({ input: i, n });
      n += 1;
      if (n === 6) for (;;);
    }),
    params,
  );
  return { ok: true };
}

module.exports = { slowButSteady, spinsOnTheSixth };
