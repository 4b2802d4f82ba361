'use strict';
/* global document -- the functions passed to page.waitForFunction() and locator.evaluate() run in the browser */
// Driving the plant wizard page (resources/plant/*.js) as a user does: log in through its dialog, open files,
// click the step list, click "Add …" buttons and type into the fields. Fields are found by their data-path, the
// path the server's problems name (`lines[0].areas[0].id`); nothing is written into the page's state but by
// clicks and typing.

/** the path text of parts, as the server and the page write it */
function pathText(parts) {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

const field = (path) => `#pw-form [data-field="${path}"] > input, #pw-form [data-field="${path}"] > select`;

/** open the page, log in through its dialog, wait for the file list */
async function openWizard(page, port, password) {
  await page.goto(`http://127.0.0.1:${port}/spotfusion/plant`);
  await page.waitForSelector('#pw-user', { state: 'visible' });
  await page.click('#pw-user');
  await page.keyboard.type('admin');
  await page.click('#pw-pass');
  await page.keyboard.type(password);
  await page.click('#pw-login');
  await page.waitForFunction(() => !document.querySelector('#pw-files option[value=""]') || document.querySelector('#pw-files').options.length > 0);
  await page.waitForFunction(() => document.querySelector('#pw-files').options[0].textContent !== '(loading…)');
}

/** the state line: `plant.yaml (edited) · 3 problems` */
const stateText = (page) => page.textContent('#pw-state');

/**
 * wait until the page has checked the value as it is now: it marks body[data-checking] from an edit until the
 * server's answer for it is shown (problems at their fields). A click that lands while problems appear above
 * a button would miss it, as a person's would, so the driver waits for this before it clicks "Add".
 */
async function settled(page) {
  await page.waitForSelector('body:not([data-checking])', { state: 'attached' });
}

async function openFile(page, name) {
  await page.selectOption('#pw-files', name);
  await page.click('#pw-open');
  await page.waitForFunction((n) => document.querySelector('#pw-state').textContent.startsWith(`${n} · `), name);
}

async function step(page, i) {
  await page.click(`#pw-steps li:nth-child(${i + 1}) button`);
  await page.waitForSelector(`.pw-step-title:has-text("Step ${i + 1} of 7")`);
}

async function typeInto(page, path, text) {
  const loc = page.locator(field(path));
  await loc.fill(text);
}

/** type a leaf value: a select gets the option, a text field the text (lists as "a, b") */
async function fillLeaf(page, path, v) {
  const loc = page.locator(field(path));
  if ((await loc.count()) !== 1) throw new Error(`no field ${path} on the page`);
  const tag = await loc.evaluate((e) => e.tagName);
  if (tag === 'SELECT') await loc.selectOption(String(v));
  else await loc.fill(Array.isArray(v) ? v.join(', ') : String(v));
}

/**
 * Put `v` at `parts` through the page: lists item by item with their Add button, a ROI map entry by entry (Add,
 * then the camera's id typed into the entry's key), an optional part with its Add button, leaves typed.
 */
async function fill(page, parts, v) {
  const path = pathText(parts);
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) return fillLeaf(page, path, v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      await settled(page);
      await page.click(`#pw-form button[data-action="add"][data-path="${path}"]`);
      await fill(page, [...parts, i], v[i]);
    }
    return undefined;
  }
  if (v && typeof v === 'object') {
    const absent = page.locator(`#pw-form .pw-absent[data-path="${path}"] > button`);
    if (await absent.count()) {
      await settled(page);
      await absent.click();
    }
    const isMap = (await page.locator(`#pw-form .pw-map[data-path="${path}"]`).count()) > 0;
    for (const [k, x] of Object.entries(v)) {
      if (isMap) {
        await settled(page);
        await page.click(`#pw-form .pw-map[data-path="${path}"] > button[data-action="add"]`);
        const key = page.locator(`#pw-form .pw-map[data-path="${path}"] > .pw-entry:last-of-type .pw-keyinput`);
        await key.fill(k);
      }
      await fill(page, [...parts, k], x);
    }
    return undefined;
  }
  return fillLeaf(page, path, v);
}

/** the error shown at the field (or part) of `path` */
async function errorAt(page, path) {
  const f = page.locator(`#pw-form [data-field="${path}"] > .pw-error, #pw-form [data-path="${path}"] > .pw-error`).first();
  return (await f.count()) ? f.textContent() : undefined;
}

/** the problem counts in the step list */
function stepCounts(page) {
  return page.$$eval('#pw-steps .pw-count', (es) => es.map((e) => Number(e.textContent || 0)));
}

module.exports = { pathText, openWizard, openFile, step, fill, fillLeaf, typeInto, errorAt, stepCounts, stateText, settled, field };
