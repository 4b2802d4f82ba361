'use strict';
// The palette as a user of `npm start` sees it: only this package's nodes (and Node-RED's and the dashboard's),
// labels in one style, and an icon of its own for every node that is not about Redis.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Runtime } = require('../support/runtime');
const { ROOT } = require('../../scripts/userdir.cjs');
const { devNodeModules } = require('../../dist/nodes/lib/dev-modules');

const PKG = require('../../package.json');
const OUR_TYPES = Object.keys(PKG['node-red'].nodes);
const OWN_MODULES = new Set(['node-red', PKG.name, '@flowfuse/node-red-dashboard']);

/** The registerType definition of a node's .html, read as text: category, icon, paletteLabel, default label. */
function definition(type) {
  const html = fs.readFileSync(path.join(ROOT, path.dirname(PKG['node-red'].nodes[type]).replace(/^dist\//, ''), `${type}.html`), 'utf8');
  const field = (name) => new RegExp(`\\n    ${name}: '([^']*)'`).exec(html)?.[1];
  const fallback = /label: function \(\) \{\s*(?:if[^\n]*\n\s*)*return this\.name \|\| \(?'([^']*)'/.exec(html)?.[1];
  return { category: field('category'), icon: field('icon'), paletteLabel: field('paletteLabel'), fallback };
}

describe('palette', function () {
  const flowNodes = OUR_TYPES.filter((t) => definition(t).category !== 'config');

  it('every flow node of the package has a palette label in Node-RED\'s style: lower case words and spaces (like "http request")', function () {
    assert.equal(flowNodes.length, 11, flowNodes.join());
    for (const type of flowNodes) {
      const d = definition(type);
      assert.equal(d.category, 'SpotFusion', type);
      assert.equal(d.paletteLabel, type.replace(/-/g, ' '), `${type}: palette label`);
      assert.match(d.fallback ?? '', /^[a-z]+( [a-z]+)*( )?$/, `${type}: the label of an unnamed node ${JSON.stringify(d.fallback)}`);
    }
  });

  it('only redis-cache shows the Redis icon; the package\'s icons are SVGs drawn for a 40×60 node in white', function () {
    for (const type of flowNodes) {
      const { icon } = definition(type);
      assert.ok(icon, `${type} has an icon`);
      if (type !== 'redis-cache') assert.notEqual(icon, 'redis.svg', `${type} uses the Redis icon`);
      if (!icon.includes('/')) assert.ok(fs.existsSync(path.join(ROOT, 'icons', icon)) || ['bridge.svg'].includes(icon), `${type}: ${icon} is in icons/ or Node-RED's own`);
    }
    assert.equal(definition('enrich').icon, 'enrich.svg');
    assert.equal(definition('result-publish').icon, 'result-publish.svg');
    for (const f of fs.readdirSync(path.join(ROOT, 'icons'))) {
      const svg = fs.readFileSync(path.join(ROOT, 'icons', f), 'utf8');
      assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="40" height="60" viewBox="0 0 40 60">/, f);
      assert.match(svg, /stroke="#fff"/, f);
      assert.match(svg.trim(), /<\/svg>$/, f);
    }
  });

  describe('devNodeModules: the node modules among the devDependencies (benchmark baselines)', function () {
    let root;
    before(function () {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-devmods-'));
      const write = (file, json) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), JSON.stringify(json));
      };
      write('package.json', { name: 'p', devDependencies: { 'node-red-contrib-a': '1', '@x/node-red-b': '1', mocha: '1', 'node-red-contrib-absent': '1' } });
      write('node_modules/node-red-contrib-a/package.json', { name: 'node-red-contrib-a', 'node-red': { nodes: { a: 'a.js' } } });
      write('node_modules/@x/node-red-b/package.json', { name: '@x/node-red-b', 'node-red': { nodes: { b: 'b.js' } } });
      write('node_modules/mocha/package.json', { name: 'mocha' });
    });
    after(function () {
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('lists those installed in the package\'s own node_modules, nothing else', function () {
      assert.deepEqual(devNodeModules(root), ['node-red-contrib-a', '@x/node-red-b']);
    });

    it('lists none for an installed package (no devDependencies in its node_modules) and none without a package.json', function () {
      fs.rmSync(path.join(root, 'node_modules'), { recursive: true });
      assert.deepEqual(devNodeModules(root), []);
      assert.deepEqual(devNodeModules(path.join(root, 'nowhere')), []);
    });

    it('this working tree: the two benchmark baselines', function () {
      assert.deepEqual(devNodeModules(ROOT).sort(), ['node-red-contrib-cip-ethernet-ip', 'node-red-contrib-redis']);
    });
  });

  describe('in Node-RED started from the working tree with dist/settings.js (as npm start)', function () {
    this.timeout(60000);
    let rt;
    before(async function () {
      rt = await Runtime.create({ SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined });
      await rt.start();
    });
    after(async function () {
      if (rt) await rt.stop();
    });

    it('loads no foreign node module: no "plc" or "Redis" category from the devDependencies', async function () {
      const sets = await rt.request('GET', '/nodes', { headers: { Accept: 'application/json' } });
      assert.equal(sets.status, 200);
      const modules = [...new Set(sets.json.map((s) => s.module))];
      assert.deepEqual(modules.filter((m) => !OWN_MODULES.has(m)), [], `modules in the palette: ${modules}`);
      assert.ok(modules.includes(PKG.name));
      const html = await rt.request('GET', '/nodes', { headers: { Accept: 'text/html' } });
      const categories = new Set([...html.text.matchAll(/category:\s*['"]([^'"]+)['"]/g)].map((m) => m[1]));
      assert.ok(categories.has('SpotFusion'));
      for (const foreign of ['plc', 'Redis']) assert.ok(!categories.has(foreign), `category ${foreign} in the palette`);
    });

    it('serves the icons of enrich and result-publish from the package', async function () {
      for (const icon of ['enrich.svg', 'result-publish.svg']) {
        const r = await rt.request('GET', `/icons/${PKG.name}/${icon}`);
        assert.equal(r.status, 200);
        // Node-RED answers an unknown icon with a default one: compare with our file
        assert.equal(r.text, fs.readFileSync(path.join(ROOT, 'icons', icon), 'utf8'));
      }
    });
  });
});
