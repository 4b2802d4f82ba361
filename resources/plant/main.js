// Plant wizard, the page: log in (the editor's login), list the plant files of the station's plant folder, open
// one, upload one or start a new plant, walk the seven steps (editor.js), look at it in the viewer (views.js), save
// it, and run generate, diff and deploy (actions.js).
import { ApiError, LoginNeeded, call, hasToken, login, loginPrompts, whoAmI } from './api.js';
import * as S from './schema.js';
import { STEPS } from './steps.js';
import { Editor } from './editor.js';
import { VIEWS } from './views.js';
import { ACTIONS } from './actions.js';
import { ask, el, toast } from './ui.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(ya?ml|json)$/;
const $ = (id) => document.getElementById(id);

/** what is open: its name, the sha it was opened at (null: not saved yet), the value, the server's problems */
const state = { name: '', sha: null, value: null, problems: [], summary: null, dirty: false, canWrite: true };
let editor;
/** what the main pane shows: { kind: 'step' | 'view' | 'action', index } */
let showing = null;

function refreshChrome(err) {
  if (err) report(err);
  const open = state.value !== null;
  $('pw-save').disabled = !open || !state.dirty || !state.canWrite;
  for (const id of ['pw-new', 'pw-upload-file']) $(id).disabled = !state.canWrite;
  document.body.classList.toggle('pw-readonly', !state.canWrite);
  const n = state.problems.length;
  const verdict = state.checking ? 'checking…' : n ? `${n} problem${n === 1 ? '' : 's'}` : 'valid';
  $('pw-state').textContent = !open ? '' : `${state.name}${state.dirty ? ' (edited)' : ''} · ${verdict}`;
  $('pw-state').className = `pw-state ${n ? 'pw-bad' : 'pw-good'}`;
  const counts = editor ? editor.counts() : [];
  document.querySelectorAll('#pw-steps button').forEach((b, i) => {
    b.disabled = !open;
    b.querySelector('.pw-count').textContent = counts[i] ? String(counts[i]) : '';
    b.classList.toggle('pw-current', showing?.kind === 'step' && showing.index === i);
    b.classList.toggle('pw-has-problems', Boolean(counts[i]));
  });
  for (const [list, kind] of [
    ['pw-views', 'view'],
    ['pw-actions', 'action'],
  ]) {
    document.querySelectorAll(`#${list} button`).forEach((b, i) => {
      b.disabled = !open;
      b.classList.toggle('pw-current', showing?.kind === kind && showing.index === i);
    });
  }
}

function report(err) {
  if (err instanceof LoginNeeded && !state.canWrite) {
    toast('this login may only read: saving and the actions need a login that may write', 'error');
    return;
  }
  if (err instanceof LoginNeeded) {
    showLogin().catch(report);
    return;
  }
  toast(err.message || String(err), 'error');
}

function show(kind, index) {
  showing = { kind, index };
  const main = $('pw-main');
  if (kind === 'step') editor.show(main, index);
  else if (kind === 'view') VIEWS[index].render(main, state).catch(report);
  else ACTIONS[index].render(main, state, { save, report }).catch(report);
  if (kind === 'step') {
    const back = $('pw-back');
    const next = $('pw-next');
    if (back) back.addEventListener('click', () => show('step', index - 1));
    if (next) next.addEventListener('click', () => show('step', index + 1));
  }
  main.scrollTop = 0;
  window.scrollTo(0, 0);
  refreshChrome();
}

function useValue(name, sha, value, problems, summary) {
  Object.assign(state, { name, sha, value, problems: problems || [], summary: summary || null, dirty: false });
  editor = new Editor(state, refreshChrome);
  show('step', 0);
}

async function listFiles(select) {
  const r = await call('GET', 'files');
  const sel = $('pw-files');
  sel.textContent = '';
  if (!r.files.length) sel.append(el('option', { value: '', text: '(no plant files yet)' }));
  for (const f of r.files) sel.append(el('option', { value: f.name, text: `${f.name} (${f.bytes} bytes)` }));
  sel.title = `plant folder: ${r.dir}`;
  if (select) sel.value = select;
}

async function leaveEdited() {
  if (!state.dirty) return true;
  return (await ask('Unsaved changes', `${state.name} has changes that are not saved. Drop them?`, [{ value: 'drop', text: 'Drop changes' }, { value: 'keep', text: 'Keep editing', primary: true }])) === 'drop';
}

async function open(name) {
  if (!name) {
    toast('choose a plant file first', 'warn');
    return;
  }
  if (!(await leaveEdited())) return;
  const r = await call('GET', `files/${encodeURIComponent(name)}`);
  if (r.value === null) {
    // YAML that does not parse: nothing to edit in the form; say where
    const lines = r.problems.map((p) => `${p.line ? `line ${p.line}: ` : ''}${p.message}`);
    await ask(`${name} cannot be read`, [`${name} is not a readable plant file. Fix it in a text editor, or upload a corrected one:`, el('pre', { class: 'pw-pre', text: lines.join('\n') })], [{ value: 'ok', text: 'Close', primary: true }]);
    return;
  }
  useValue(r.name, r.sha, r.value, r.problems, r.summary);
  toast(`${name} opened: ${r.valid ? 'valid' : `${r.problems.length} problem(s)`}`, r.valid ? 'ok' : 'warn');
}

/** a file name from the user, or '' when cancelled */
async function askName(title, text, initial) {
  const input = el('input', { id: 'pw-name', type: 'text', value: initial, spellcheck: 'false', autocomplete: 'off' });
  const err = el('div', { class: 'pw-error', role: 'alert' });
  for (;;) {
    const v = await ask(title, [text, el('label', { for: 'pw-name', text: 'File name' }), input, err], [{ value: 'cancel', text: 'Cancel' }, { value: 'ok', text: 'OK', primary: true, id: 'pw-name-ok' }]);
    if (v !== 'ok') return '';
    const name = input.value.trim();
    if (NAME.test(name)) return name;
    err.textContent = 'letters, digits, . _ - and the extension .yaml, .yml or .json';
  }
}

async function startNew() {
  if (!(await leaveEdited())) return;
  const name = await askName('New plant', 'A new plant file in the plant folder. Nothing is written before you save.', 'plant.yaml');
  if (!name) return;
  useValue(name, null, S.skeleton(S.at([])), [], null);
  await editor.settle();
}

async function upload(file) {
  if (!(await leaveEdited())) return;
  const text = await file.text();
  const name = await askName('Upload a plant file', `${file.name} (${text.length} characters) is stored in the plant folder as:`, NAME.test(file.name) ? file.name : 'plant.yaml');
  if (!name) return;
  // the server's answer to "what if": the problems and whether the name is taken, so the page asks before storing
  const check = await call('POST', `check/${encodeURIComponent(name)}`, { text });
  const body = { text };
  if (!check.valid) {
    const problems = check.problems.map((p) => `${p.path}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`);
    const v = await ask('The file has problems', [`${file.name} has ${problems.length} problem(s): spotfusion plant validate would refuse it.`, el('pre', { class: 'pw-pre', text: problems.join('\n') })], [
      { value: 'cancel', text: 'Cancel', primary: true },
      { value: 'go', text: 'Store it anyway', id: 'pw-upload-invalid' },
    ]);
    if (v !== 'go') return;
    body.allowInvalid = true;
  }
  if (check.exists) {
    const v = await ask('The name is taken', `${name} is in the plant folder already. Overwrite it?`, [
      { value: 'cancel', text: 'Cancel', primary: true },
      { value: 'go', text: 'Overwrite', id: 'pw-upload-overwrite' },
    ]);
    if (v !== 'go') return;
    body.overwrite = true;
  }
  await call('POST', `upload/${encodeURIComponent(name)}`, body);
  await listFiles(name);
  state.dirty = false;
  await open(name);
}

/** save: refused with the problems when invalid, then saved only when the user says so */
async function save() {
  await editor.settle();
  const body = { value: state.value, base: state.sha };
  if (state.problems.length) {
    const v = await ask(
      'The plant is not valid',
      [`${state.problems.length} problem(s): spotfusion plant validate would refuse this plant, and generate would write nothing.`, el('pre', { class: 'pw-pre', text: state.problems.map((p) => `${p.path}: ${p.message}`).join('\n') })],
      [{ value: 'cancel', text: 'Keep editing', primary: true }, { value: 'save', text: 'Save anyway', id: 'pw-save-anyway' }],
    );
    if (v !== 'save') return false;
    body.allowInvalid = true;
  }
  let r;
  try {
    r = await call('PUT', `files/${encodeURIComponent(state.name)}`, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      await ask('The file changed', [err.message, 'Your changes are still here: save them under another name with New… after copying, or open the file again to see the other change.'], [{ value: 'ok', text: 'Close', primary: true }]);
      return false;
    }
    throw err;
  }
  state.sha = r.sha;
  state.dirty = false;
  state.problems = r.problems;
  const notes = [];
  if (r.report && r.report.reformatted) notes.push('the file was written anew from the value (comments at changed lists may be gone)');
  if (r.report && r.report.unaliased && r.report.unaliased.length) notes.push(`shared YAML anchors written out at ${r.report.unaliased.join(', ')}`);
  toast(`${state.name} saved${r.valid ? '' : ' (invalid)'}${notes.length ? `: ${notes.join('; ')}` : ''}`, r.valid && !notes.length ? 'ok' : 'warn');
  await listFiles(state.name);
  refreshChrome();
  return true;
}

async function showLogin(given) {
  const prompts = given || (await loginPrompts());
  if (!prompts.type) {
    toast('the server refused the request (no login is configured)', 'error');
    return;
  }
  const user = el('input', { id: 'pw-user', type: 'text', autocomplete: 'username' });
  const pass = el('input', { id: 'pw-pass', type: 'password', autocomplete: 'current-password' });
  for (;;) {
    const v = await ask('Log in', ['The plant wizard uses the Node-RED editor\'s login.', el('label', { for: 'pw-user', text: 'User name' }), user, el('label', { for: 'pw-pass', text: 'Password' }), pass], [{ value: 'ok', text: 'Log in', primary: true, id: 'pw-login' }]);
    if (v !== 'ok') continue;
    try {
      await login(user.value, pass.value);
      pass.value = '';
      break;
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  await start();
}

async function start() {
  const me = await whoAmI();
  state.canWrite = me.canWrite;
  $('pw-user-name').textContent = me.user ? `${me.user}${me.canWrite ? '' : ' (read only)'}` : '';
  // what the login may do shows with its name, before the schema and the file list arrive
  refreshChrome();
  const r = await call('GET', 'schema');
  S.useSchema(r.schema);
  await listFiles();
  refreshChrome();
}

function nav() {
  const button = (id, text) => el('button', { type: 'button', class: 'pw-nav-btn', id, disabled: true }, el('span', { text }), el('span', { class: 'pw-count' }));
  STEPS.forEach((s, i) => {
    const b = button(`pw-step-${s.id}`, `${i + 1}. ${s.title}`);
    b.addEventListener('click', () => show('step', i));
    $('pw-steps').append(el('li', {}, b));
  });
  VIEWS.forEach((v, i) => {
    const b = button(`pw-view-${v.id}`, v.title);
    b.addEventListener('click', () => show('view', i));
    $('pw-views').append(el('li', {}, b));
  });
  ACTIONS.forEach((a, i) => {
    const b = button(`pw-action-${a.id}`, a.title);
    b.addEventListener('click', () => show('action', i));
    $('pw-actions').append(el('li', {}, b));
  });
}

function wire() {
  const guard = (fn) => () => fn().catch(report);
  $('pw-open').addEventListener('click', guard(() => open($('pw-files').value)));
  $('pw-new').addEventListener('click', guard(startNew));
  $('pw-save').addEventListener('click', guard(save));
  $('pw-upload-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (f) upload(f).catch(report);
  });
  window.addEventListener('beforeunload', (e) => {
    if (state.dirty) e.preventDefault();
  });
}

/** log in first when the admin API asks for it and there is no token yet (no refused request on the way) */
async function boot() {
  const prompts = await loginPrompts();
  if (prompts.type && !hasToken()) await showLogin(prompts);
  else await start();
}

nav();
wire();
boot().catch(report);
