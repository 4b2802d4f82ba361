// Plant wizard, the schema: nodes/schemas/plant.schema.json as the server gives it, walked to a path, each place
// told as a kind of field, and the skeleton of a new item (what the schema requires, empty).

let root = null;

export function useSchema(schema) {
  root = schema;
}

/** follow `$ref: #/$defs/x` */
export function resolve(s) {
  let out = s || {};
  while (out.$ref) out = root.$defs[out.$ref.replace('#/$defs/', '')] || {};
  return out;
}

/** the schema of the child `key` (a property, an array item, a map entry) of the schema `s` */
export function child(s, key) {
  const r = resolve(s);
  if (typeof key === 'number') return resolve(r.items);
  if (r.properties && r.properties[key]) return resolve(r.properties[key]);
  if (r.additionalProperties && typeof r.additionalProperties === 'object') return resolve(r.additionalProperties);
  return {};
}

export function at(parts) {
  let s = resolve(root);
  for (const p of parts) s = child(s, p);
  return s;
}

/**
 * What to draw for a schema: 'object' (fixed keys), 'map' (free keys, e.g. a spot's ROI per camera), 'list'
 * (array of objects), 'strings' (array of strings, edited as one comma-separated field), 'enum', 'boolean',
 * 'integer', 'number', 'intOrString' (a product's program), 'string'.
 */
export function kind(s) {
  const r = resolve(s);
  if (r.enum) return 'enum';
  const t = r.type;
  if (Array.isArray(t)) return 'intOrString';
  if (t === 'object') return r.properties ? 'object' : 'map';
  if (t === 'array') return resolve(r.items).type === 'object' ? 'list' : 'strings';
  if (t === 'boolean' || t === 'integer' || t === 'number') return t;
  return 'string';
}

export function required(s, key) {
  const r = resolve(s);
  return Array.isArray(r.required) && r.required.includes(key);
}

/**
 * a new value for `s`: an object with its required objects and lists (skeletons of their own); a required
 * field is left out, so that the validator names it at its field ("is required") until it is filled
 */
export function skeleton(s) {
  const r = resolve(s);
  const k = kind(r);
  if (k === 'object') {
    const out = {};
    for (const key of r.required || []) {
      const v = skeleton(r.properties[key]);
      if (v !== undefined) out[key] = v;
    }
    return inSchemaOrder(out, r);
  }
  if (k === 'map') return {};
  if (k === 'list' || k === 'strings') return [];
  return undefined;
}

/** `obj` with its keys in the schema's order (keys the schema does not name last, as they were) */
export function inSchemaOrder(obj, s) {
  const r = resolve(s);
  if (!r.properties || !obj || typeof obj !== 'object' || Array.isArray(obj)) return obj;
  const out = {};
  for (const k of Object.keys(r.properties)) if (k in obj) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out)) out[k] = obj[k];
  return out;
}
