// Plant wizard, the actions on the saved file, each the CLI's own library code on the server: generate (what
// `spotfusion plant generate` writes), diff against the stations and deploy to them (what `spotfusion deploy
// --inventory` does, streamed per station with the health check). The stations' login stays on the server
// (SPOTFUSION_DEPLOY_PASSWORD or _TOKEN in its environment): the page never sends or sees one.
import { call, stream } from './api.js';
import { stationsOf } from './views.js';
import { ask, el, toast } from './ui.js';

function header(main, title, text) {
  main.textContent = '';
  main.append(el('h2', { class: 'pw-step-title', text: title }), el('p', { class: 'pw-help', text }));
}

/** the action runs on the saved file: offer to save first when the page holds changes */
function needsSaved(main, state, ctx, again) {
  if (!state.canWrite) {
    main.append(el('p', { class: 'pw-empty', id: 'pw-readonly-note', text: 'This login may only read: generate, diff and deploy need a login that may write.' }));
    return true;
  }
  if (state.sha && !state.dirty) return false;
  const b = el('button', { type: 'button', class: 'pw-btn pw-primary', id: 'pw-save-first', text: 'Save first' });
  b.addEventListener('click', () => {
    ctx
      .save()
      .then((saved) => saved && again())
      .catch(ctx.report);
  });
  main.append(el('p', { class: 'pw-empty', text: state.sha ? 'The page holds changes that are not saved: the action works on the saved file.' : 'The plant is not saved yet: the action works on the saved file.' }), b);
  return true;
}

async function generateAction(main, state, ctx) {
  header(main, 'Generate', 'Per station: flow, recipes, models and env file, and stations.yaml (the deploy inventory), into the plant folder\'s generated/ folder, exactly as spotfusion plant generate writes them.');
  if (needsSaved(main, state, ctx, () => generateAction(main, state, ctx))) return;
  const go = el('button', { type: 'button', class: 'pw-btn pw-primary', id: 'pw-generate', text: `Generate ${state.name}` });
  const out = el('div', { id: 'pw-generate-out' });
  main.append(go, out);
  go.addEventListener('click', () => {
    go.disabled = true;
    out.textContent = 'generating…';
    call('POST', `generate/${encodeURIComponent(state.name)}`)
      .then((r) => {
        out.textContent = '';
        out.append(el('p', { class: 'pw-good', text: `written into ${r.out}` }), el('pre', { class: 'pw-pre', text: [...r.messages, ...r.warnings.map((w) => `warning: ${w}`)].join('\n') }));
      })
      .catch((err) => {
        out.textContent = '';
        const problems = (err.reply && err.reply.problems) || [];
        out.append(el('p', { class: 'pw-bad', text: err.message }), problems.length ? el('pre', { class: 'pw-pre', text: problems.map((p) => `${p.path}: ${p.message}`).join('\n') }) : '');
      })
      .finally(() => (go.disabled = false));
  });
}

/** station checkboxes (all ticked) and a table that fills in as the server reports each station */
function stationRun(main, state, ctx, action) {
  const diff = action === 'diff';
  header(
    main,
    diff ? 'Diff against the stations' : 'Deploy to the stations',
    diff
      ? 'Generates the saved plant, then asks each station what a deploy would change (tabs, config nodes, nodes added, removed, changed).'
      : 'Generates the saved plant, then deploys each station\'s flow (only the nodes that changed) and waits for its health check.',
  );
  if (needsSaved(main, state, ctx, () => stationRun(main, state, ctx, action))) return;
  const names = stationsOf(state.value).map(({ station }) => station.id);
  const picks = el('fieldset', { class: 'pw-picks', id: 'pw-picks' }, el('legend', { text: 'Stations' }));
  for (const n of names) picks.append(el('label', { class: 'pw-pick' }, el('input', { type: 'checkbox', value: n, checked: true, 'data-station': n }), ` ${n}`));
  const go = el('button', { type: 'button', class: 'pw-btn pw-primary', id: `pw-${action}`, text: diff ? 'Diff' : 'Deploy…' });
  const table = el('table', { class: 'pw-table', id: `pw-${action}-out` });
  const done = el('p', { id: `pw-${action}-done`, class: 'pw-state', 'aria-live': 'polite' });
  main.append(picks, go, done, table);
  go.addEventListener('click', () => {
    run().catch((err) => {
      done.textContent = err.message;
      done.className = 'pw-state pw-bad';
      go.disabled = false;
    });
  });

  async function run() {
    const only = [...picks.querySelectorAll('input:checked')].map((i) => i.value);
    if (!only.length) {
      toast('tick at least one station', 'warn');
      return;
    }
    if (!diff) {
      const v = await ask('Deploy', [`Deploy ${state.name} to ${only.length} station(s): ${only.join(', ')}?`, 'Each station gets its generated flow (only the nodes that changed restart) and must report healthy.'], [{ value: 'cancel', text: 'Cancel' }, { value: 'go', text: 'Deploy', primary: true, id: 'pw-deploy-go' }]);
      if (v !== 'go') return;
    }
    go.disabled = true;
    done.textContent = diff ? 'diffing…' : 'deploying…';
    done.className = 'pw-state';
    table.textContent = '';
    table.append(el('thead', {}, el('tr', {}, ...['Station', 'Step', 'Result', 'Details'].map((h) => el('th', { text: h })))));
    const body = el('tbody');
    table.append(body);
    const rows = new Map();
    const row = (name) => {
      if (!rows.has(name)) {
        const r = el('tr', { 'data-station': name }, el('td', { text: name }), el('td', { class: 'pw-step' }), el('td', { class: 'pw-result' }), el('td', { class: 'pw-details' }));
        rows.set(name, r);
        body.append(r);
      }
      return rows.get(name);
    };
    await stream(`${action}/${encodeURIComponent(state.name)}`, { only }, (e) => {
      if (e.type === 'start') for (const n of e.stations) row(n).querySelector('.pw-step').textContent = 'waiting';
      else if (e.type === 'progress') row(e.station).querySelector('.pw-step').textContent = e.step;
      else if (e.type === 'station') {
        const r = row(e.station);
        r.querySelector('.pw-step').textContent = 'finished';
        const result = r.querySelector('.pw-result');
        result.textContent = diff ? e.status : `${e.status}${e.health ? ` · ${e.health}` : ''}`;
        result.className = `pw-result ${e.status === 'ok' || e.status === 'same' ? 'pw-good' : e.status === 'differs' ? 'pw-warn' : 'pw-bad'}`;
        const details = r.querySelector('.pw-details');
        details.textContent = '';
        const text = [diff && e.diff ? e.diff : '', ...(e.messages || [])].filter(Boolean).join('\n');
        if (text) details.append(el('pre', { class: 'pw-pre', text }));
      } else if (e.type === 'done') {
        done.textContent = e.ok ? (diff ? 'diff finished' : 'deploy finished: every station healthy') : diff ? 'diff finished with errors' : 'deploy finished with failures';
        done.className = `pw-state ${e.ok ? 'pw-good' : 'pw-bad'}`;
      }
    });
    go.disabled = false;
  }
}

export const ACTIONS = [
  { id: 'generate', title: 'Generate', render: async (main, state, ctx) => generateAction(main, state, ctx) },
  { id: 'diff', title: 'Diff', render: async (main, state, ctx) => stationRun(main, state, ctx, 'diff') },
  { id: 'deploy', title: 'Deploy', render: async (main, state, ctx) => stationRun(main, state, ctx, 'deploy') },
];
