// Plant wizard, the form: one step of the plant drawn from the schema (resources/plant/schema.js). Every field
// carries its place twice: data-path, the text the server's problems name (so a problem lands at its field), and
// data-parts, the parts as JSON (what an edit writes to). A field never changes the value by being drawn; an
// emptied field removes its key, so that the validator says "is required" where a required one is missing.
import { pathText, pathPattern, getAt } from './paths.js';
import * as S from './schema.js';
import { el } from './ui.js';
import { suggestions } from './refs.js';

const WORDS = {
  plc: 'PLC',
  url: 'URL',
  id: 'Id',
  pollMs: 'Poll (ms)',
  exposureUs: 'Exposure (µs)',
  timeoutMs: 'Timeout (ms)',
  expectedDiameterPx: 'Expected diameter (px)',
  pxPerMm: 'px per mm',
  resultOk: 'Result OK',
  resultNok: 'Result NOK',
  okLabels: 'OK labels',
  roi: 'ROI per camera',
  https: 'HTTPS',
  adminPort: 'Admin port',
  passwordEnv: 'Password env',
  tokenEnv: 'Token env',
  env: 'Env name',
  mqtt: 'MQTT',
  k: 'k',
};
const SINGULAR = { lines: 'line', areas: 'area', stations: 'station', cameras: 'camera', products: 'product', panels: 'panel', stackups: 'stackup', sheets: 'sheet', spots: 'spot', rules: 'rule', processFlow: 'step', models: 'model', classes: 'class', secrets: 'secret', extra: 'extra tag' };

/** `exposureUs` → `Exposure (µs)`, `weldProcess` → `Weld process` */
export function label(key) {
  if (typeof key === 'number') return `#${key + 1}`;
  if (WORDS[key]) return WORDS[key];
  const words = key.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function singular(key) {
  return SINGULAR[key] || label(key).toLowerCase();
}

function placeAttrs(parts) {
  return { 'data-path': pathText(parts), 'data-parts': JSON.stringify(parts) };
}

let uid = 0;

/** a field's text as the value the schema asks for; text that is not one stays text, for the validator to name */
export function parseField(k, text, req) {
  const t = text.trim();
  if (k === 'strings') {
    const list = t.split(',').map((x) => x.trim()).filter(Boolean);
    return list.length || req ? list : undefined;
  }
  if (t === '') return undefined;
  if (k === 'boolean') return t === 'true' ? true : t === 'false' ? false : t;
  if (k === 'integer' || k === 'number') return /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : t;
  if (k === 'intOrString') return /^\d+$/.test(t) ? Number(t) : t;
  return text;
}

function fieldText(k, v) {
  if (v === undefined || v === null) return '';
  if (k === 'strings') return Array.isArray(v) ? v.join(', ') : String(v);
  return String(v);
}

/** one input (text, select) for a leaf of kind `k` at `parts` */
function leaf(ctx, parts, s, req) {
  const k = S.kind(s);
  const r = S.resolve(s);
  const v = getAt(ctx.value, parts);
  const id = `pw-f${++uid}`;
  const key = parts[parts.length - 1];
  let input;
  if (k === 'enum' || k === 'boolean') {
    input = el('select', { id, ...placeAttrs(parts), 'data-kind': k });
    const options = k === 'enum' ? r.enum : [true, false];
    input.append(el('option', { value: '', text: req ? '(choose)' : '(not set)' }));
    for (const o of options) input.append(el('option', { value: String(o), text: String(o) }));
    input.value = fieldText(k, v);
    if (v !== undefined && input.value !== String(v)) {
      // a value the schema does not know: shown as it is, for the validator to name
      input.append(el('option', { value: String(v), text: String(v) }));
      input.value = String(v);
    }
  } else {
    const numeric = k === 'integer' || k === 'number';
    input = el('input', { id, type: 'text', ...placeAttrs(parts), 'data-kind': k, inputmode: numeric ? 'decimal' : undefined, spellcheck: 'false', autocomplete: 'off', placeholder: k === 'strings' ? 'a, b, c' : undefined });
    input.value = fieldText(k, v);
  }
  const known = k === 'string' ? suggestions(ctx.value, parts) : [];
  let datalist = null;
  if (known.length) {
    datalist = el('datalist', { id: `${id}-ids` }, ...known.map((x) => el('option', { value: x })));
    input.setAttribute('list', datalist.id);
  }
  input.setAttribute('data-required', req ? 'true' : 'false');
  // the schema's words as the field's tooltip: a hint that appears under a focused field moves what is below it
  const hint = r.description || s.description || '';
  if (hint) input.setAttribute('title', hint);
  return el(
    'div',
    { class: `pw-field pw-${k}`, 'data-field': pathText(parts) },
    el('label', { for: id, text: label(key), title: hint || undefined }, req ? el('span', { class: 'pw-req', text: ' *', title: 'required' }) : null),
    input,
    el('div', { class: 'pw-error', role: 'alert' }),
    datalist,
  );
}

/** the title of a list item: its kind and number, and its id and name when it has them */
export function itemTitle(listKey, i, v) {
  const id = v && typeof v === 'object' ? v.id || v.station || v.env || '' : '';
  const name = v && typeof v === 'object' && typeof v.name === 'string' ? v.name : '';
  const kindWord = singular(listKey);
  return `${kindWord.charAt(0).toUpperCase()}${kindWord.slice(1)} ${i + 1}${id ? `: ${id}` : ''}${name ? ` · ${name}` : ''}`;
}

function button(action, parts, text, extra) {
  return el('button', { type: 'button', class: `pw-btn pw-${action}`, 'data-action': action, ...placeAttrs(parts), ...(extra || {}), text });
}

/** the keys of an object at `parts` that this step shows (or frames) */
function visibleKeys(ctx, parts, r) {
  return Object.keys(r.properties || {}).filter((key) => ctx.mode(pathPattern([...parts, key])) !== 'hide');
}

/** the object's own fields first, then its objects, lists and maps */
function objectBody(ctx, parts, s, box) {
  const r = S.resolve(s);
  const leaves = el('div', { class: 'pw-leaves' });
  const nested = [];
  for (const key of visibleKeys(ctx, parts, r)) {
    const cp = [...parts, key];
    const cs = S.child(r, key);
    const k = S.kind(cs);
    const req = S.required(r, key);
    if (k === 'object' || k === 'map' || k === 'list') nested.push(node(ctx, cp, cs, req));
    else leaves.append(leaf(ctx, cp, cs, req));
  }
  if (leaves.childNodes.length) box.append(leaves);
  for (const n of nested) box.append(n);
}

/** an object, list or map at `parts` (or the button that adds an optional one) */
function node(ctx, parts, s, req) {
  const k = S.kind(s);
  const key = parts[parts.length - 1];
  const v = getAt(ctx.value, parts);
  const framed = ctx.mode(pathPattern(parts)) === 'frame';
  // an optional list that is not there is drawn as an empty one: its "Add …" adds the first item
  if (v === undefined && !req && !framed && k !== 'list') {
    return el('div', { class: 'pw-absent', ...placeAttrs(parts) }, button('add', parts, `Add ${label(key).toLowerCase()}`, { 'data-kind': k }), el('div', { class: 'pw-error', role: 'alert' }));
  }
  if (k === 'list') return list(ctx, parts, s, framed);
  if (k === 'map') return map(ctx, parts, s);
  const box = el('fieldset', { class: 'pw-object', ...placeAttrs(parts) }, el('legend', { text: label(key) }));
  if (!req && !framed) box.append(button('remove', parts, `Remove ${label(key).toLowerCase()}`));
  box.append(el('div', { class: 'pw-error', role: 'alert' }));
  objectBody(ctx, parts, s, box);
  return box;
}

function list(ctx, parts, s, framed) {
  const key = parts[parts.length - 1];
  const items = getAt(ctx.value, parts);
  const box = el('section', { class: `pw-list${framed ? ' pw-framed' : ''}`, ...placeAttrs(parts) });
  if (!framed) box.append(el('h3', { text: label(key) }));
  box.append(el('div', { class: 'pw-error', role: 'alert' }));
  const itemSchema = S.child(s, 0);
  (Array.isArray(items) ? items : []).forEach((item, i) => {
    const ip = [...parts, i];
    const card = el('fieldset', { class: `pw-item${framed ? ' pw-frame' : ''}`, ...placeAttrs(ip) }, el('legend', { text: itemTitle(key, i, item) }));
    if (!framed) card.append(button('remove', ip, `Remove ${singular(key)}`, { 'aria-label': `Remove ${itemTitle(key, i, item)}` }));
    card.append(el('div', { class: 'pw-error', role: 'alert' }));
    objectBody(ctx, ip, itemSchema, card);
    box.append(card);
  });
  if (!framed) box.append(button('add', parts, `Add ${singular(key)}`, { 'data-kind': 'item' }));
  else if (!items || !items.length) box.append(el('p', { class: 'pw-empty', text: `No ${label(key).toLowerCase()} yet: add them in the step before.` }));
  return box;
}

/** free keys (a spot's ROI per camera): each entry a key field and its object */
function map(ctx, parts, s) {
  const key = parts[parts.length - 1];
  const v = getAt(ctx.value, parts) || {};
  const box = el('section', { class: 'pw-map', ...placeAttrs(parts) }, el('h4', { text: label(key) }), el('div', { class: 'pw-error', role: 'alert' }));
  const valueSchema = S.child(s, '\u0000');
  for (const name of Object.keys(v)) {
    const ep = [...parts, name];
    const id = `pw-f${++uid}`;
    const entry = el(
      'fieldset',
      { class: 'pw-entry', ...placeAttrs(ep) },
      el('div', { class: 'pw-field pw-key' }, el('label', { for: id, text: 'Camera' }), el('input', { id, type: 'text', class: 'pw-keyinput', 'data-key-of': JSON.stringify(parts), 'data-key': name, value: name, spellcheck: 'false', autocomplete: 'off' }), el('div', { class: 'pw-error', role: 'alert' })),
      button('remove', ep, 'Remove'),
    );
    objectBody(ctx, ep, valueSchema, entry);
    box.append(entry);
  }
  box.append(button('add', parts, 'Add camera ROI', { 'data-kind': 'entry' }));
  return box;
}

/**
 * Draw the step into `root`: ctx = { value, mode(pattern) → 'show' | 'frame' | 'hide' } (resources/plant/steps.js).
 * The top-level keys the step shows, in schema order.
 */
export function renderStep(root, ctx) {
  root.textContent = '';
  const top = S.resolve(S.at([]));
  const leaves = el('div', { class: 'pw-leaves' });
  for (const key of visibleKeys(ctx, [], top)) {
    const cs = S.child(top, key);
    const k = S.kind(cs);
    if (k === 'object' || k === 'map' || k === 'list') root.append(node(ctx, [key], cs, S.required(top, key)));
    else leaves.append(leaf(ctx, [key], cs, S.required(top, key)));
  }
  if (leaves.childNodes.length) root.prepend(leaves);
}

/** the parts an element stands for */
export function partsOf(e) {
  return JSON.parse(e.getAttribute('data-parts'));
}
