import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';

/** Values put into a message's __name__ placeholders. */
export type MessageParams = Record<string, string | number>;
/** A message of a node's catalog (nodes/<type>/locales/<lang>/<type>.json) by its key "<type>.group.name". */
export type Translate = (key: string, params?: MessageParams) => string;

const english = new Map<string, unknown>();

/** The en-US catalog of a node type, read once from beside its compiled code (dist/nodes/<type>/locales). */
function englishCatalog(type: string): unknown {
  let cat = english.get(type);
  if (cat === undefined) {
    cat = JSON.parse(readFileSync(join(__dirname, '..', type, 'locales', 'en-US', `${type}.json`), 'utf8')) as unknown;
    english.set(type, cat);
  }
  return cat;
}

/** __name__ → params.name, as Node-RED's i18next is set up (prefix and suffix "__", no escaping). */
export function interpolate(text: string, params: MessageParams = {}): string {
  return text.replace(/__([A-Za-z0-9_]+?)__/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole));
}

/** The en-US text of a key, from the catalog file (throws for a key the catalog lacks: a bug, not a user error). */
export function englishText(key: string, params?: MessageParams): string {
  const [type] = key.split('.');
  const text = key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), englishCatalog(type));
  if (typeof text !== 'string') throw new Error(`message ${key} is missing from locales/en-US/${type}.json`);
  return interpolate(text, params);
}

/**
 * The runtime's translation of a node's messages: RED._ in the runtime's language (settings.lang, else the
 * LANG/LC_* of the process; en-US where a catalog lacks the language). A RED whose _ knows no catalogs (the
 * node test helper's returns the key itself) gets the en-US text from the catalog file, so a text is never a bare key.
 */
export function translator(RED: NodeAPI): Translate {
  return (key, params) => {
    const out = typeof RED._ === 'function' ? RED._(key, params) : key;
    return typeof out === 'string' && out !== key && out !== '' ? out : englishText(key, params);
  };
}
