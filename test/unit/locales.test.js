'use strict';
// The message catalogs and help of every node in both languages (Node-RED's layout: nodes/<node>/locales/<lang>/
// <node>.json and <node>.html): the same keys in en-US and de, the same help structure, and every key the editor
// templates (data-i18n) or code (RED._, this._, node._) use present in the node's en-US catalog.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { ROOT } = require('../../scripts/userdir.cjs');

const NODES = Object.keys(require('../../package.json')['node-red'].nodes);
const LANGS = ['en-US', 'de'];
const CORE_MESSAGES = JSON.parse(fs.readFileSync(require.resolve('@node-red/nodes/locales/en-US/messages.json', { paths: [require.resolve('node-red')] }), 'utf8'));

const dir = (node) => path.join(ROOT, 'nodes', node);
const catalog = (node, lang) => JSON.parse(fs.readFileSync(path.join(dir(node), 'locales', lang, `${node}.json`), 'utf8'));
const help = (node, lang) => fs.readFileSync(path.join(dir(node), 'locales', lang, `${node}.html`), 'utf8');

/** Dotted paths of every string leaf (a leaf that is not a non-empty string is reported as such). */
function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => {
    if (v !== null && typeof v === 'object') return keys(v, `${prefix}${k}.`);
    assert.ok(typeof v === 'string' && v.trim() !== '', `${prefix}${k}: not a non-empty string`);
    return [`${prefix}${k}`];
  });
}

function has(obj, key) {
  return key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj) !== undefined;
}

/**
 * The i18n keys a file uses: data-i18n="[attr]key;key2" and RED._('key'), this._("key"), node._(`key`), and the
 * runtime's tr('key', …) (nodes/shared/i18n.ts).
 */
function usedKeys(text) {
  const found = [];
  for (const m of text.matchAll(/data-i18n="([^"]+)"/g)) for (const part of m[1].split(';')) found.push(part.replace(/^\[[^\]]+\]/, ''));
  for (const m of text.matchAll(/\b(?:(?:RED|this|node)\._|tr)\(\s*(['"`])([^'"`$]+)\1/g)) found.push(m[2]);
  return found;
}

function filesUnder(d, re) {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name), re) : re.test(e.name) ? [path.join(d, e.name)] : []));
}

/** The node whose catalog a file's keys resolve in (nodes/<node>/…), or undefined for shared code. */
function nodeOf(file) {
  const rel = path.relative(path.join(ROOT, 'nodes'), file).split(path.sep);
  return NODES.includes(rel[0]) ? rel[0] : undefined;
}

describe('locales: en-US and de for every node', function () {
  it('finds the keys a file uses', function () {
    assert.deepEqual(usedKeys('<span data-i18n="a.b"></span><input data-i18n="[placeholder]a.c;[title]a.d"> RED._("a.e") this._(\'a.f\') node._(`a.g`) RED._(`a.${x}`) tr(\'a.h\', { n }) str(\'x.y\')'), ['a.b', 'a.c', 'a.d', 'a.e', 'a.f', 'a.g', 'a.h']);
  });

  for (const node of NODES) {
    describe(node, function () {
      it('has a catalog and help in en-US and de, with exactly the same keys', function () {
        for (const lang of LANGS) {
          assert.ok(fs.existsSync(path.join(dir(node), 'locales', lang, `${node}.json`)), `${lang}/${node}.json`);
          assert.ok(fs.existsSync(path.join(dir(node), 'locales', lang, `${node}.html`)), `${lang}/${node}.html`);
        }
        const en = keys(catalog(node, 'en-US')).sort();
        const de = keys(catalog(node, 'de')).sort();
        assert.ok(en.length > 0);
        assert.deepEqual(de, en);
        assert.deepEqual(Object.keys(catalog(node, 'de')), [node], 'the catalog is keyed by the node type');
      });

      it('every message has the same __placeholders__ in en-US and de (a runtime text fills the same values)', function () {
        const en = catalog(node, 'en-US');
        const de = catalog(node, 'de');
        const at = (obj, key) => key.split('.').reduce((o, k) => o[k], obj);
        const slots = (text) => [...text.matchAll(/__([A-Za-z0-9_]+?)__/g)].map((m) => m[1]).sort();
        for (const key of keys(en)) assert.deepEqual(slots(at(de, key)), slots(at(en, key)), `${node}: ${key}`);
      });

      it('help: one data-help-name block per language with the same sections and entries; none left in the template file', function () {
        const shape = (html) => ({
          blocks: [...html.matchAll(/<script type="text\/html" data-help-name="([^"]+)">/g)].map((m) => m[1]),
          h3: (html.match(/<h3>/g) || []).length,
          dt: (html.match(/<dt[ >]/g) || []).length,
          li: (html.match(/<li>/g) || []).length,
          pre: (html.match(/<pre>/g) || []).length,
        });
        const en = shape(help(node, 'en-US'));
        assert.deepEqual(en.blocks, [node]);
        assert.ok(en.h3 >= 1 && en.dt >= 1, 'the help has sections and entries');
        assert.deepEqual(shape(help(node, 'de')), en);
        assert.doesNotMatch(help(node, 'de'), /\b(the|when|which|with|every)\b/, 'no English sentence left in the German help');
        assert.doesNotMatch(fs.readFileSync(path.join(dir(node), `${node}.html`), 'utf8'), /data-help-name/, 'help lives in locales/<lang>/, not in the template');
      });
    });
  }

  it('every key used by a template (data-i18n) or code (RED._, this._, node._) exists in its en-US catalog', function () {
    const files = [...filesUnder(path.join(ROOT, 'nodes'), /\.(ts|html)$/).filter((f) => !f.includes(`${path.sep}locales${path.sep}`)), ...filesUnder(path.join(ROOT, 'resources'), /\.js$/)];
    let checked = 0;
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      for (const key of usedKeys(text)) {
        checked += 1;
        const rel = path.relative(ROOT, file);
        if (key.startsWith('node-red:')) {
          assert.ok(has(CORE_MESSAGES, key.slice('node-red:'.length)), `${rel}: ${key} is not in Node-RED's catalog`);
          continue;
        }
        const node = nodeOf(file);
        assert.ok(node, `${rel}: ${key} used outside a node's folder (no catalog to resolve it in)`);
        // 'a.b.' + variable: the prefix must name a group of messages
        const en = catalog(node, 'en-US');
        if (key.endsWith('.')) assert.equal(typeof key.slice(0, -1).split('.').reduce((o, k) => o?.[k], en), 'object', `${rel}: ${key}… names no group in locales/en-US/${node}.json`);
        else assert.ok(has(en, key), `${rel}: ${key} is missing from locales/en-US/${node}.json`);
      }
    }
    assert.ok(checked > 200, `${checked} keys checked`);
  });

  it('every config node that owns a connection has the texts of its users\' connection status (status.retry, .lost, .failed, .lostWarning)', function () {
    // nodes/shared/status.ts connectionStatus() and connection-config.ts build these keys from the config node's type
    const owners = NODES.filter((node) => /setupConnectionConfig/.test(fs.readFileSync(path.join(dir(node), `${node}.ts`), 'utf8')));
    assert.ok(owners.length >= 6, owners.join(', '));
    for (const node of owners) {
      for (const lang of LANGS) for (const key of ['retry', 'lost', 'failed', 'lostWarning']) assert.ok(has(catalog(node, lang), `${node}.status.${key}`), `${lang}/${node}.json: status.${key}`);
      assert.match(catalog(node, 'de')[node].status.retry, /__error__.*__seconds__/);
    }
  });
});
