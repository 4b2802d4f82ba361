'use strict';
// Bounded waits for tests: poll a condition, fail with a message naming what did not happen.

/** Wait until fn() (may be async) is truthy, polling every stepMs; resolves to its value. */
async function until(fn, timeoutMs = 5000, what = 'condition', stepMs = 25) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The next `name` event of an emitter (its value), or a failure naming it after timeoutMs. */
function nextEvent(emitter, name, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(name, (v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

module.exports = { until, nextEvent };
