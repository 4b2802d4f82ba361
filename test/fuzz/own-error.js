'use strict';
// Shared check of the fuzz properties: what a parser throws must be its module's own error, with a message.

/** Assert that `err` is one of the module's own errors (a SpotFusionError with one of `codes`) with a message. */
function expectOwnError(err, SpotFusionError, codes, where) {
  if (!(err instanceof SpotFusionError) || !codes.includes(err.code)) {
    const e = new Error(`${where}: expected a SpotFusionError (${codes.join('/')}), got ${err && err.constructor ? err.constructor.name : typeof err}: ${err && err.message}`);
    e.cause = err;
    throw e;
  }
  if (typeof err.message !== 'string' || err.message.length < 8) throw new Error(`${where}: error without a clear message: ${JSON.stringify(err.message)}`);
}

module.exports = { expectOwnError };
