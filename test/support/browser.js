'use strict';
// Headless Debian chromium for the browser tests (pages on 127.0.0.1 only), driven by playwright-core.
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
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
  // NETWORK RULE: a page reaches 127.0.0.1 (and localhost) only. Chromium sends loopback past any proxy, so every other
  // request goes to this dead proxy on loopback and fails there: no name lookup, no packet off the machine, and no
  // request routed through the test process (page.route pauses each request until the test's event loop answers)
  '--proxy-server=http://127.0.0.1:9',
];

/**
 * A fresh headless chromium profile (persistent context: Playwright owns --user-data-dir), or skip/fail.
 * locale: the browser's language (navigator.language and Accept-Language), e.g. 'de-DE'.
 */
async function launchChromium(ctx, userDataDir, { locale } = {}) {
  try {
    const { chromium } = require('playwright-core');
    return await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1500 },
      timeout: 30000,
      ...(locale ? { locale } : {}),
    });
  } catch (err) {
    const what = `chromium (${CHROMIUM}) does not start: ${err.message.split('\n')[0]}`;
    if (process.env.CI) throw new Error(`${what}; CI=true, so the browser tests may not be skipped (apt-get install chromium)`);
    process.stderr.write(`\n\n!!!!! SKIPPING ${ctx.test?.parent?.title ?? 'browser test'}: ${what} !!!!!\n\n`);
    ctx.skip();
  }
  return undefined;
}

const RESOURCES = path.join(__dirname, '..', '..', 'resources');
// resources/*.js and the modules in its folders (resources/teach/*.js)
const RESOURCE_URL = /^https?:\/\/[^/]+\/resources\/@spotfusion\/node-red-spotfusion-edge\/((?:[\w-]+\/)*[\w.-]+\.js)$/;
let coverageFiles = 0;

/**
 * Count what a page runs of resources/*.js (the editor code the browser loads) towards the coverage gate: when
 * the tests run under c8 (NODE_V8_COVERAGE set), start Chromium's precise JS coverage on the page; the function
 * returned stops it and writes the entries of our resources, with their file:// paths, where c8 collects the
 * V8 coverage of every Node process. A script the server changed on the way (not byte-equal to the file) is
 * left out, since its offsets would not match. Without c8 both are no-ops.
 */
async function coverResources(page) {
  const dir = process.env.NODE_V8_COVERAGE;
  if (!dir) return async () => undefined;
  await page.coverage.startJSCoverage({ resetOnNavigation: false });
  return async () => {
    const entries = await page.coverage.stopJSCoverage();
    const result = [];
    for (const e of entries) {
      const m = RESOURCE_URL.exec(e.url);
      if (!m) continue;
      const file = path.join(RESOURCES, m[1]);
      if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== e.source) continue;
      result.push({ scriptId: e.scriptId, url: pathToFileURL(file).href, functions: e.functions });
    }
    if (!result.length) return;
    fs.mkdirSync(dir, { recursive: true });
    coverageFiles += 1;
    fs.writeFileSync(path.join(dir, `coverage-chromium-${process.pid}-${Date.now()}-${coverageFiles}.json`), JSON.stringify({ result }));
  };
}

/**
 * Node-RED 5.0's editor shows its info tips from a timer that may fire before the Info sidebar made the tip box
 * (red.js `tips.setTip`: `tipBox.html(tip)` with tipBox undefined): a TypeError of Node-RED's own, in its own
 * bundle, seen in CI under node-red 5.0.7 whatever the dialog. Only that error is passed over by the browser
 * tests' zero-error checks; an error thrown from this package's code still fails them.
 */
function nodeRedTipsBug(err) {
  return /reading 'html'/.test(err.message) && /\/red\/red(\.min)?\.js/.test(String(err.stack).split('\n')[1] ?? '');
}

/**
 * A new page of `browser` for a zero-error check: its uncaught exceptions (but Node-RED's own tips bug above) and
 * console errors are pushed to `errors` (the test empties it, never replaces it), and under c8 the coverage of
 * our resources is started (`stopCoverage` writes it). The page is not opened anywhere yet.
 */
async function watchedPage(browser) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => nodeRedTipsBug(e) || errors.push(e.stack || e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const stopCoverage = await coverResources(page);
  return { page, errors, stopCoverage };
}

module.exports = { launchChromium, coverResources, watchedPage, nodeRedTipsBug, CHROMIUM, CHROMIUM_ARGS };
