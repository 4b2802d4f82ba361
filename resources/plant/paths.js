// Plant wizard, paths: a place in the plant value as parts (keys and indexes) and as the text the server's
// validator writes (nodes/lib/plant/model.ts formatPath: `lines[0].areas[1].stations[2].devices.plc.address`),
// and reading, writing and deleting a value at a path.

/** `['lines', 0, 'id']` → `lines[0].id`; the top level is `(top level)` as in the server's problems */
export function pathText(parts) {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(top level)' : out;
}

/** the same path with every index as `*`: `lines.*.id`, what the steps and the schema walk match on */
export function pathPattern(parts) {
  return parts.map((p) => (typeof p === 'number' ? '*' : p)).join('.');
}

/** the parts of a path's text, the inverse of pathText (keys may hold `-`, never `.` or `[`) */
export function parsePath(text) {
  if (text === '(top level)' || text === '') return [];
  const parts = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let m;
  while ((m = re.exec(text))) parts.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return parts;
}

export function getAt(value, parts) {
  let v = value;
  for (const p of parts) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[p];
  }
  return v;
}

/** set `leaf` at `parts`, creating objects on the way; `undefined` deletes the key (or the array item) */
export function setAt(value, parts, leaf) {
  let v = value;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i];
    if (v[p] === null || typeof v[p] !== 'object') v[p] = typeof parts[i + 1] === 'number' ? [] : {};
    v = v[p];
  }
  const last = parts[parts.length - 1];
  if (leaf !== undefined) v[last] = leaf;
  else if (Array.isArray(v)) v.splice(last, 1);
  else delete v[last];
}
