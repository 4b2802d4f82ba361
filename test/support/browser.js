'use strict';
// Headless Debian chromium for the browser tests (pages on 127.0.0.1 only), driven by playwright-core.
const CHROMIUM = process.env.SPOTFUSION_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh headless chromium profile (persistent context: Playwright owns --user-data-dir), or skip/fail. */
async function launchChromium(ctx, userDataDir) {
  try {
    const { chromium } = require('playwright-core');
    return await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1500 },
      timeout: 30000,
    });
  } catch (err) {
    const what = `chromium (${CHROMIUM}) does not start: ${err.message.split('\n')[0]}`;
    if (process.env.CI) throw new Error(`${what}; CI=true, so the browser tests may not be skipped (apt-get install chromium)`);
    process.stderr.write(`\n\n!!!!! SKIPPING ${ctx.test?.parent?.title ?? 'browser test'}: ${what} !!!!!\n\n`);
    ctx.skip();
  }
  return undefined;
}

module.exports = { launchChromium, CHROMIUM, CHROMIUM_ARGS };
