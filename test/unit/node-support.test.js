'use strict';
// Which Node.js the package runs on (engines.node, scripts/node-check.cjs): `npm install` and `npm start` on an
// unsupported Node.js stop at once with one line; a native addon that does not load (built for another Node.js,
// or broken) is named at start-up with the command that rebuilds it (nodes/lib/native.ts).
// The unsupported Node.js is a real one: the machine's Node 20 (/usr/bin/node in CI, where the suite itself runs
// on a supported line), SPOTFUSION_UNSUPPORTED_NODE, or the Node.js running the tests when it is unsupported.
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper } = require('../support/red');
const { nodeProblem, isSupported, supportedLines, ENGINES } = require('../../scripts/node-check.cjs');
const { nativeModuleProblems, NATIVE_MODULES } = require('../../dist/nodes/lib/native');

const ROOT = path.join(__dirname, '..', '..');
const PKG = require('../../package.json');

function nodeVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** A real Node.js binary of an unsupported line, or undefined. */
function unsupportedNode() {
  const candidates = [process.env.SPOTFUSION_UNSUPPORTED_NODE, process.execPath, '/usr/bin/node', '/usr/local/bin/node'];
  for (const bin of candidates) {
    if (!bin || !fs.existsSync(bin)) continue;
    const v = nodeVersion(bin);
    if (v && !isSupported(v, ENGINES)) return { bin, version: v };
  }
  return undefined;
}

/** npm's CLI script (run under a chosen Node.js). */
function npmCli() {
  if (process.env.npm_execpath && process.env.npm_execpath.endsWith('npm-cli.js')) return process.env.npm_execpath;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const npm = path.join(dir, 'npm');
    if (fs.existsSync(npm)) return path.join(path.dirname(fs.realpathSync(npm)), 'npm-cli.js');
  }
  throw new Error('npm not found on PATH');
}

/** Run npm under the Node.js `bin`, with that Node.js first on PATH for the lifecycle scripts too. */
function npmUnder(bin, args, cwd) {
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-nodebin-'));
  fs.symlinkSync(bin, path.join(binDir, 'node'));
  try {
    return spawnSync(bin, [npmCli(), ...args], {
      cwd,
      encoding: 'utf8',
      env: { PATH: `${binDir}${path.delimiter}${process.env.PATH}`, HOME: process.env.HOME, npm_config_cache: path.join(os.tmpdir(), 'sf-npm-cache') },
    });
  } finally {
    fs.rmSync(binDir, { recursive: true, force: true });
  }
}

const tmpDirs = [];
function tmp(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

describe('supported Node.js', function () {
  this.timeout(60000);
  after(function () {
    for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  describe('the supported lines (engines.node)', function () {
    it('are Node.js 22, 24 and 26, and the README says exactly that', function () {
      assert.deepEqual(supportedLines(PKG.engines.node).map((l) => l[0]), [22, 24, 26]);
      const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      assert.match(readme, /Node\.js 22, 24 or 26\b/);
      assert.match(readme, /Node\.js 20 .*not supported/i);
    });

    it('refuses versions outside the lines, older releases of a line, odd and future lines', function () {
      for (const v of ['v22.12.0', 'v22.23.5', 'v24.0.0', 'v24.22.3', 'v26.12.1']) assert.equal(nodeProblem(v), null, v);
      for (const v of ['v18.20.8', 'v20.20.2', 'v22.11.0', 'v23.11.1', 'v25.9.0', 'v27.0.0', 'garbage']) {
        const problem = nodeProblem(v);
        assert.ok(problem, v);
        assert.equal(problem, `SpotFusion Edge does not run on Node.js ${v}: install Node.js 22 (22.12.0 or newer), 24 or 26 (the LTS lines that are not end of life; see docs/DEPLOYMENT.md)`);
      }
    });

    it('CI runs each supported line, and the container image is on the newest one', function () {
      const lines = supportedLines(PKG.engines.node).map((l) => l[0]);
      const ci = fs.readFileSync(path.join(ROOT, '.ci', 'node-cache.sh'), 'utf8');
      for (const line of lines) {
        const m = new RegExp(`^SF_NODE_${line}=(\\S+)`, 'm').exec(ci);
        assert.ok(m, `.ci/node-cache.sh has SF_NODE_${line}`);
        const version = m[1].startsWith('$') ? /^SF_NODE_PRIMARY=(\S+)/m.exec(ci)[1] : m[1];
        assert.ok(isSupported(`v${version}`, PKG.engines.node) && version.startsWith(`${line}.`), `SF_NODE_${line}=${version}`);
      }
      const docker = fs.readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
      assert.equal(/^ARG NODE_VERSION=(\d+)$/m.exec(docker)?.[1], String(Math.max(...lines)));
      const froms = docker.match(/^FROM .*/gm);
      assert.equal(froms.length, 2);
      for (const f of froms) assert.match(f, /^FROM node:\$\{NODE_VERSION\}-/);
    });

    it('needs one caret range per line in engines.node', function () {
      assert.throws(() => supportedLines('>=22'), /one "\^MAJOR\.MINOR\.PATCH" per supported line/);
    });
  });

  describe('on an unsupported Node.js', function () {
    let old;
    before(function () {
      old = unsupportedNode();
      if (!old) this.skip(); // no unsupported Node.js on this machine (CI has the machine's Node 20)
    });

    it('npm start stops at once with one line naming the running version and the supported ones', function () {
      const r = spawnSync(old.bin, [path.join(ROOT, 'scripts', 'start.mjs')], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 20000 });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${nodeProblem(old.version)}\n`);
    });

    it('npm install in the project stops before installing anything', function () {
      const dir = tmp('sf-install-');
      for (const f of ['package.json', 'package-lock.json', '.npmrc']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
      const r = npmUnder(old.bin, ['ci', '--no-audit', '--no-fund'], dir);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /EBADENGINE/);
      assert.ok(r.stderr.includes(`"node":"${PKG.engines.node}"`), r.stderr);
      assert.ok(r.stderr.includes(`"node":"${old.version}"`), r.stderr);
      assert.equal(fs.existsSync(path.join(dir, 'node_modules')), false, 'nothing installed');
    });

    // the package as a dependency (a Node-RED user dir's `npm install`): our .npmrc does not apply there, the
    // preinstall script does. A package with the real package.json's engines, files and preinstall (no
    // dependencies, so nothing comes from the registry), packed as npm packs it.
    function packed() {
      const src = tmp('sf-pkg-');
      const manifest = { name: PKG.name, version: PKG.version, engines: PKG.engines, files: PKG.files, scripts: { preinstall: PKG.scripts.preinstall } };
      fs.writeFileSync(path.join(src, 'package.json'), JSON.stringify(manifest));
      fs.cpSync(path.join(ROOT, 'scripts'), path.join(src, 'scripts'), { recursive: true }); // `files` picks what is packed
      const out = tmp('sf-tgz-');
      const r = spawnSync(process.execPath, [npmCli(), 'pack', '--pack-destination', out, '--ignore-scripts'], { cwd: src, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return path.join(out, fs.readdirSync(out)[0]);
    }
    function consumer() {
      const dir = tmp('sf-consumer-');
      fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"node-red-project","private":true}');
      return dir;
    }

    it('npm install of the package into a Node-RED user dir stops with the one line (preinstall)', function () {
      const r = npmUnder(old.bin, ['install', '--no-audit', '--no-fund', packed()], consumer());
      assert.notEqual(r.status, 0, r.stdout);
      // npm prints the script's output after its own prefix
      assert.ok(r.stderr.split('\n').some((l) => l.replace(/^npm error /, '') === nodeProblem(old.version)), r.stderr);
    });

    it('npm install of the package on the supported Node.js running the tests succeeds', function () {
      if (!isSupported(process.version, ENGINES)) this.skip(); // the tests run on an unsupported Node.js here
      const dir = consumer();
      const r = npmUnder(process.execPath, ['install', '--no-audit', '--no-fund', packed()], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(dir, 'node_modules', ...PKG.name.split('/'), 'scripts', 'node-check.cjs')));
    });
  });

  describe('native addons', function () {
    it('all load on this Node.js', function () {
      assert.deepEqual(nativeModuleProblems(), []);
      assert.deepEqual([...NATIVE_MODULES], ['better-sqlite3', 'sharp', 'onnxruntime-node']);
    });

    // A copy of the package's dist/ whose node_modules links to the real modules, except better-sqlite3: its
    // JavaScript with an addon file that is not an addon (what dlopen sees after a bad build or another ABI).
    function brokenApp() {
      const app = tmp('sf-broken-');
      fs.cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
      const nm = path.join(app, 'node_modules');
      fs.mkdirSync(nm);
      for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules'))) {
        if (entry !== 'better-sqlite3' && entry !== '.bin') fs.symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(nm, entry));
      }
      const sqlite = path.join(nm, 'better-sqlite3');
      fs.mkdirSync(path.join(sqlite, 'build', 'Release'), { recursive: true });
      fs.cpSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'lib'), path.join(sqlite, 'lib'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'node_modules', 'better-sqlite3', 'package.json'), path.join(sqlite, 'package.json'));
      fs.writeFileSync(path.join(sqlite, 'build', 'Release', 'better_sqlite3.node'), 'not an addon\n');
      return app;
    }

    it('a broken better-sqlite3 stops the start (settings.js) with one line: module, Node.js and `npm rebuild better-sqlite3`', function () {
      const app = brokenApp();
      const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(app, 'dist', 'settings.js'))})`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, SPOTFUSION_DEV_MODE: 'true', SPOTFUSION_USER_DIR: tmp('sf-user-') },
        timeout: 20000,
      });
      assert.equal(r.status, 78, r.stderr);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^better-sqlite3 does not load on Node\\.js ${process.version.replace(/\./g, '\\.')} \\(.*better_sqlite3\\.node.*\\): run \`npm rebuild better-sqlite3\` in ${app.replace(/[.]/g, '\\.')}$`));
    });

    it('a broken better-sqlite3 fails the registration of result-publish with the same line, not the first part', async function () {
      const app = brokenApp();
      const node = require(path.join(app, 'dist', 'nodes', 'result-publish', 'result-publish.js'));
      await assert.rejects(helper.load(node, []), (err) => {
        assert.equal(err.code, 'NATIVE_MODULE');
        assert.match(err.message, /^better-sqlite3 does not load on Node\.js .*: run `npm rebuild better-sqlite3` in /);
        return true;
      });
      await helper.unload();
    });
  });
});
