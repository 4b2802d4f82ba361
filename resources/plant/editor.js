// Plant wizard, editing: one step drawn by form.js, every edit written into the plant value, the value checked
// by the server (POST validate, the checks of `spotfusion plant validate`) a moment after the last keystroke, and
// each problem shown at its field, or on its step's list when its field is on another step.
import { call } from './api.js';
import { getAt, parsePath, pathText, setAt } from './paths.js';
import * as S from './schema.js';
import { STEPS, stepOf } from './steps.js';
import { itemTitle, parseField, partsOf, renderStep } from './form.js';
import { el } from './ui.js';

const VALIDATE_AFTER_MS = 250;

export class Editor {
  /** state: { value, problems, dirty }; onChange() after every edit and every validation */
  constructor(state, onChange) {
    this.state = state;
    this.onChange = onChange;
    this.step = 0;
    this.seq = 0;
    this.timer = undefined;
    this.root = undefined;
  }

  /** draw step `i` into `main` */
  show(main, i) {
    this.step = i;
    const s = STEPS[i];
    main.textContent = '';
    const form = el('form', { class: 'pw-form', id: 'pw-form', autocomplete: 'off', novalidate: true });
    form.addEventListener('submit', (e) => e.preventDefault());
    main.append(
      el('h2', { class: 'pw-step-title', text: `Step ${i + 1} of ${STEPS.length}: ${s.title}` }),
      el('p', { class: 'pw-help', text: s.help }),
      el('ul', { class: 'pw-step-problems', id: 'pw-step-problems', 'aria-live': 'polite' }),
      form,
      el(
        'div',
        { class: 'pw-pager' },
        i > 0 ? el('button', { type: 'button', class: 'pw-btn', id: 'pw-back', text: `← ${STEPS[i - 1].title}` }) : el('span'),
        i < STEPS.length - 1 ? el('button', { type: 'button', class: 'pw-btn pw-primary', id: 'pw-next', text: `${STEPS[i + 1].title} →` }) : el('span'),
      ),
    );
    this.root = form;
    this.redraw();
    form.addEventListener('input', (e) => this.edited(e.target));
    form.addEventListener('change', (e) => e.target.matches('select') || this.edited(e.target));
    form.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-action]');
      if (b) this.structure(b);
    });
  }

  redraw() {
    renderStep(this.root, { value: this.state.value, mode: STEPS[this.step].mode });
    this.placeProblems();
  }

  /** a field's new text into the value */
  edited(input) {
    if (input.classList.contains('pw-keyinput')) {
      this.renameKey(input);
      return;
    }
    if (!input.hasAttribute('data-parts')) return;
    const parts = partsOf(input);
    const v = parseField(input.getAttribute('data-kind'), input.value, input.getAttribute('data-required') === 'true');
    const before = getAt(this.state.value, parts);
    if (JSON.stringify(before) === JSON.stringify(v)) return;
    this.put(parts, v, before === undefined);
    const key = parts[parts.length - 1];
    if (key === 'id' || key === 'name' || key === 'station' || key === 'env') this.retitle(parts.slice(0, -1));
    this.touched();
  }

  /**
   * write `v` at `parts`; a key that is new to its object takes its place in the schema's order, so that a plant
   * built in the page reads in the file as the sample does (plant, then lines…; id, then name…)
   */
  put(parts, v, isNew) {
    setAt(this.state.value, parts, v);
    const parentParts = parts.slice(0, -1);
    if (!isNew || v === undefined || typeof parts[parts.length - 1] !== 'string') return;
    const parent = getAt(this.state.value, parentParts);
    const ordered = S.inSchemaOrder(parent, S.at(parentParts));
    if (parentParts.length) setAt(this.state.value, parentParts, ordered);
    else {
      for (const k of Object.keys(parent)) delete parent[k];
      Object.assign(parent, ordered);
    }
  }

  /** the legend of the list item at `parts` after its id or name changed */
  retitle(itemParts) {
    const i = itemParts[itemParts.length - 1];
    if (typeof i !== 'number') return;
    const card = this.root.querySelector(`fieldset.pw-item[data-path="${CSS.escape(pathText(itemParts))}"] > legend`);
    if (card) card.textContent = itemTitle(itemParts[itemParts.length - 2], i, getAt(this.state.value, itemParts));
  }

  /** a map key (the camera of a spot's ROI) renamed in place, the entry's order kept */
  renameKey(input) {
    const mapParts = JSON.parse(input.getAttribute('data-key-of'));
    const old = input.getAttribute('data-key');
    const name = input.value.trim();
    const map = getAt(this.state.value, mapParts);
    const err = input.parentElement.querySelector('.pw-error');
    err.textContent = !name ? 'a camera id is needed' : name !== old && Object.prototype.hasOwnProperty.call(map, name) ? `${name} has an ROI already` : '';
    input.classList.toggle('pw-invalid', err.textContent !== '');
    if (err.textContent || name === old) return;
    const next = {};
    for (const [k, v] of Object.entries(map)) next[k === old ? name : k] = v;
    setAt(this.state.value, mapParts, next);
    input.setAttribute('data-key', name);
    const entry = input.closest('fieldset.pw-entry');
    const from = JSON.stringify([...mapParts, old]).slice(0, -1);
    const to = JSON.stringify([...mapParts, name]).slice(0, -1);
    for (const e of [entry, ...entry.querySelectorAll('[data-parts]')]) {
      const p = e.getAttribute('data-parts');
      if (!p || !p.startsWith(from)) continue;
      const parts = JSON.parse(to + p.slice(from.length));
      e.setAttribute('data-parts', JSON.stringify(parts));
      e.setAttribute('data-path', pathText(parts));
      if (e.hasAttribute('data-field')) e.setAttribute('data-field', pathText(parts));
    }
    entry.querySelectorAll('[data-field]').forEach((f) => {
      const input2 = f.querySelector('[data-parts]');
      if (input2) f.setAttribute('data-field', input2.getAttribute('data-path'));
    });
    this.touched();
  }

  /** add or remove a list item, a map entry or an optional part */
  structure(button) {
    const parts = partsOf(button);
    const action = button.getAttribute('data-action');
    let focus;
    if (action === 'remove') {
      setAt(this.state.value, parts, undefined);
      // the last item of an optional list gone: the list goes too (the file says nothing rather than `[]`)
      const listParts = parts.slice(0, -1);
      const list = getAt(this.state.value, listParts);
      const key = listParts[listParts.length - 1];
      if (typeof parts[parts.length - 1] === 'number' && Array.isArray(list) && !list.length && typeof key === 'string' && !S.required(S.at(listParts.slice(0, -1)), key)) setAt(this.state.value, listParts, undefined);
    } else {
      const kind = button.getAttribute('data-kind');
      const s = S.at(parts);
      if (kind === 'item') {
        const had = getAt(this.state.value, parts);
        const list = had || [];
        list.push(S.skeleton(S.child(s, 0)));
        this.put(parts, list, had === undefined);
        focus = [...parts, list.length - 1];
      } else if (kind === 'entry') {
        const map = getAt(this.state.value, parts) || {};
        const name = this.freeCamera(map);
        map[name] = S.skeleton(S.child(s, name));
        setAt(this.state.value, parts, map);
        focus = [...parts, name];
      } else {
        this.put(parts, S.skeleton(s), true);
        focus = parts;
      }
    }
    this.redraw();
    if (focus) {
      const box = this.root.querySelector(`[data-path="${CSS.escape(pathText(focus))}"]`);
      const first = box && box.querySelector('input, select');
      if (first) first.focus();
    }
    this.touched();
  }

  /** the first camera of the plant with no ROI in `map` yet, else camera1, camera2… */
  freeCamera(map) {
    const cams = [];
    for (const line of this.state.value.lines || []) for (const area of line.areas || []) for (const st of area.stations || []) for (const c of (st.devices && st.devices.cameras) || []) if (c && c.id) cams.push(c.id);
    const free = cams.find((c) => !(c in map));
    if (free) return free;
    let n = 1;
    while (`camera${n}` in map) n++;
    return `camera${n}`;
  }

  /** an edit: validate a moment after the last one; until the answer is in, the page says it is checking */
  touched() {
    this.state.dirty = true;
    this.pending(true);
    this.onChange();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.validate().catch((err) => {
        this.pending(false);
        this.onChange(err);
      });
    }, VALIDATE_AFTER_MS);
  }

  /** body[data-checking] while a check is due or under way (the state line says "checking…") */
  pending(on) {
    this.state.checking = on;
    if (on) document.body.setAttribute('data-checking', '');
    else document.body.removeAttribute('data-checking');
  }

  /** the server's problems for the value as it is now (an older answer that arrives late is dropped) */
  async validate() {
    const seq = ++this.seq;
    const r = await call('POST', 'validate', { value: this.state.value });
    if (seq !== this.seq) return;
    this.pending(false);
    this.state.problems = r.problems;
    this.state.summary = r.summary;
    this.placeProblems();
    this.onChange();
  }

  /** validation waits for nobody: the answer for the value as it is now, before a save */
  async settle() {
    clearTimeout(this.timer);
    await this.validate();
  }

  /** each problem of this step at its field (or the nearest part drawn); the rest listed above the form */
  placeProblems() {
    if (!this.root) return;
    for (const e of this.root.querySelectorAll('.pw-error')) e.textContent = '';
    for (const e of this.root.querySelectorAll('.pw-invalid')) e.classList.remove('pw-invalid');
    const list = document.getElementById('pw-step-problems');
    if (list) list.textContent = '';
    for (const p of this.state.problems || []) {
      if (stepOf(p.path) !== this.step) continue;
      const target = this.targetOf(p.path);
      if (!target) {
        if (list) list.append(el('li', { 'data-problem': p.path, text: `${p.path}: ${p.message}` }));
        continue;
      }
      const box = target;
      const err = box.querySelector(':scope > .pw-error') || box.querySelector('.pw-error');
      err.textContent = err.textContent ? `${err.textContent}; ${p.message}` : p.message;
      const input = box.querySelector(':scope > input, :scope > select');
      (input || box).classList.add('pw-invalid');
    }
  }

  targetOf(path) {
    const parts = parsePath(path);
    for (let n = parts.length; n > 0; n--) {
      const t = pathText(parts.slice(0, n));
      const f = this.root.querySelector(`[data-field="${CSS.escape(t)}"]`) || this.root.querySelector(`.pw-object[data-path="${CSS.escape(t)}"], .pw-list[data-path="${CSS.escape(t)}"], .pw-map[data-path="${CSS.escape(t)}"], .pw-item[data-path="${CSS.escape(t)}"], .pw-entry[data-path="${CSS.escape(t)}"], .pw-absent[data-path="${CSS.escape(t)}"]`);
      if (f) return f;
    }
    return undefined;
  }

  /** problems per step, for the step list */
  counts() {
    const n = STEPS.map(() => 0);
    for (const p of this.state.problems || []) n[stepOf(p.path)] += 1;
    return n;
  }
}
