'use strict';
// Run by .ci/install-check.sh inside a network namespace with only lo, after it installed the packed tarball
// into a fresh Node-RED user dir the way a Node-RED user does (npm install <tarball> in that dir, offline):
// Node-RED (red.js) starts from that dir with the installed package's settings, every node type of the
// package loads, and the installed flows/station.json runs on its simulators and stores results.
// Not a *.test.js: `npm test` does not run it (it needs that install). SPOTFUSION_INSTALLED_USERDIR names the dir.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Runtime, RED_JS } = require('../support/runtime');

const USER_DIR = process.env.SPOTFUSION_INSTALLED_USERDIR;
const NAME = '@spotfusion/node-red-spotfusion-edge';

describe('the package installed from its tarball into a fresh Node-RED user dir, offline', function () {
  this.timeout(90000);
  const pkgDir = () => path.join(USER_DIR, 'node_modules', NAME);
  let rt;

  before(function () {
    assert.ok(USER_DIR && fs.existsSync(USER_DIR), 'SPOTFUSION_INSTALLED_USERDIR: the user dir .ci/install-check.sh installed into');
    assert.ok(RED_JS.startsWith(path.join(USER_DIR, 'node_modules', 'node-red')), `Node-RED of the user dir (SPOTFUSION_RED_JS), not ${RED_JS}`);
  });

  after(async function () {
    if (rt) await rt.stop();
  });

  it('is a real copy of the tarball with dist/, the systemd unit and no source maps; no CUDA binaries were fetched; better-sqlite3 and the GigE stream addon are built', function () {
    const dir = pkgDir();
    assert.equal(fs.lstatSync(dir).isSymbolicLink(), false, 'installed, not linked');
    for (const f of ['dist/settings.js', 'deploy/spotfusion-edge.service', 'flows/station.json', 'docs/DEPLOYMENT.md']) {
      assert.ok(fs.existsSync(path.join(dir, f)), `${f} missing from the package`);
    }
    const maps = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (e.name.endsWith('.map')) maps.push(path.join(d, e.name));
      }
    };
    walk(path.join(dir, 'dist'));
    assert.deepEqual(maps, []);
    const ortBin = path.join(USER_DIR, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
    assert.deepEqual(fs.readdirSync(ortBin).filter((f) => /cuda|tensorrt/i.test(f)), [], 'onnxruntime-node downloaded GPU binaries');
    assert.ok(fs.existsSync(path.join(USER_DIR, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')), 'better-sqlite3 was not built');
    // the package's own install script (approved in the user dir's allowScripts) built the batched GVSP receiver
    const gvsp = path.join(dir, 'build', 'Release', 'spotfusion_gvsp.node');
    assert.ok(fs.existsSync(gvsp), 'the GigE stream addon was not built at install');
    const mod = { exports: {} };
    process.dlopen(mod, gvsp);
    assert.deepEqual([typeof mod.exports.open, typeof mod.exports.close], ['function', 'function']);
  });

  it('starts Node-RED from that dir: all 20 node types load, the station flow runs on its simulators and stores parts', async function () {
    const flows = path.join(USER_DIR, 'flows.json');
    if (!fs.existsSync(flows)) fs.copyFileSync(path.join(pkgDir(), 'flows', 'station.json'), flows);
    rt = await Runtime.create(
      { SPOTFUSION_USER_DIR: USER_DIR, SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_ADMIN_PASSWORD_HASH: undefined, PLC_SIM_PERIOD_MS: '500' },
      { settingsFile: path.join(pkgDir(), 'dist', 'settings.js'), installed: true },
    );
    await rt.start();
    const nodes = await rt.request('GET', '/nodes', { headers: { Accept: 'application/json' } });
    assert.equal(nodes.status, 200);
    const ours = nodes.json.filter((s) => s.module === NAME);
    const types = ours.flatMap((s) => s.types);
    const expected = Object.keys(require(path.join(pkgDir(), 'package.json'))['node-red'].nodes);
    assert.equal(expected.length, 20);
    for (const t of expected) assert.ok(types.includes(t), `${t} missing: ${types}`);
    for (const s of ours) assert.equal(s.err, undefined, `${s.name}: ${s.err}`);
    const Database = require(path.join(USER_DIR, 'node_modules', 'better-sqlite3'));
    const file = path.join(USER_DIR, 'spotfusion', 'results.db');
    let rows = [];
    for (let i = 0; i < 300 && rows.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (!fs.existsSync(file)) continue;
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        rows = db.prepare('SELECT part_serial, verdict FROM inspection_result').all();
      } catch (err) {
        if (!/no such table/.test(err.message)) throw err;
      } finally {
        db.close();
      }
    }
    assert.ok(rows.length >= 3, `parts stored: ${JSON.stringify(rows)}\n${rt.stdout.slice(-3000)}`);
    for (const r of rows) assert.ok(['OK', 'NOK'].includes(r.verdict));
    assert.doesNotMatch(rt.stdout, /\[error\]/, 'no error logged');
  });
});
