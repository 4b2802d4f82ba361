// Plant wizard, small DOM helpers shared by the modules: elements, the one dialog, the toast.

/** `el('button', { class: 'x', text: 'Go' }, child…)`: attributes (false/undefined left out), text, children */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/**
 * The page's dialog: a title, a body (text or elements) and buttons; resolves to the value of the button pressed
 * ('' when closed with Escape). `fields` are inputs inside the body whose values come back in `result.fields`.
 */
export function ask(title, body, buttons) {
  const dlg = document.getElementById('pw-dialog');
  const form = document.getElementById('pw-dialog-form');
  form.textContent = '';
  form.append(el('h2', { text: title }));
  for (const b of Array.isArray(body) ? body : [body]) form.append(typeof b === 'string' ? el('p', { text: b }) : b);
  const row = el('div', { class: 'pw-dialog-buttons' });
  for (const b of buttons) row.append(el('button', { value: b.value, class: `pw-btn${b.primary ? ' pw-primary' : ''}`, id: b.id, text: b.text }));
  form.append(row);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue), { once: true });
    dlg.returnValue = '';
    dlg.showModal();
  });
}

let toastTimer;
/** a short note at the bottom of the page; `kind` 'ok' | 'warn' | 'error' */
export function toast(text, kind = 'ok') {
  const t = document.getElementById('pw-toast');
  t.textContent = text;
  t.className = `pw-toast pw-show pw-${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = 'pw-toast'), kind === 'error' ? 12000 : 5000);
}
