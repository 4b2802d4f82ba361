'use strict';
// The package's install script: builds the GigE stream addon (native/gvsp_rx.c, binding.gyp) with the node-gyp
// that npm bundles. It is an acceleration, not a requirement: when it cannot be built (no C compiler, no Node.js
// headers offline, not Linux) the install goes on, this prints why and how to build it later, and GigE cameras
// use Node's dgram receive path (same frames, several times the CPU per frame; the camera logs which path it uses).
// SPOTFUSION_SKIP_NATIVE=1 skips the build. Old JavaScript without dependencies: it runs before anything else.
var childProcess = require('child_process');
var fs = require('fs');
var path = require('path');

var root = path.join(__dirname, '..');
var ADDON = path.join(root, 'build', 'Release', 'spotfusion_gvsp.node');

function warn(reason) {
  process.stderr.write(
    'spotfusion-edge: the GigE stream addon was not built (' + reason + '). GigE cameras will receive through ' +
      "Node's dgram (more CPU per frame). To build it: install python3, make and a C compiler, then run " +
      '`npm rebuild @spotfusion/node-red-spotfusion-edge` where the package is installed.\n'
  );
}

function nodeGyp() {
  var candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // npm's own folder: from the npm running this script (npm_execpath), else the first npm on PATH
  var npmCli = process.env.npm_execpath;
  if (!npmCli) {
    var dirs = String(process.env.PATH || '').split(path.delimiter);
    for (var d = 0; d < dirs.length && !npmCli; d++) if (dirs[d] && fs.existsSync(path.join(dirs[d], 'npm'))) npmCli = fs.realpathSync(path.join(dirs[d], 'npm'));
  }
  if (npmCli) candidates.push(path.join(path.dirname(path.dirname(npmCli)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  var prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
  }
  for (var i = 0; i < candidates.length; i++) if (fs.existsSync(candidates[i])) return candidates[i];
  return null;
}

function main() {
  if (process.env.SPOTFUSION_SKIP_NATIVE === '1') return warn('SPOTFUSION_SKIP_NATIVE=1');
  if (process.platform !== 'linux') return warn('batched receive (recvmmsg) is Linux-only');
  var gyp = nodeGyp();
  if (!gyp) return warn("npm's node-gyp was not found");
  var run = childProcess.spawnSync(process.execPath, [gyp, 'rebuild', '--release'], { cwd: root, encoding: 'utf8' });
  if (run.error) return warn('node-gyp did not start: ' + run.error.message);
  if (run.status !== 0) {
    var tail = String(run.stderr || run.stdout || '').trim().split('\n').slice(-6).join('\n');
    return warn('node-gyp exited with ' + run.status + (tail ? ':\n' + tail + '\n' : ''));
  }
  // the addon must load in this Node.js, or it is no use (it is built against Node-API 8: any supported Node.js)
  try {
    require(ADDON);
  } catch (err) {
    return warn('it was built but does not load: ' + err.message);
  }
  process.stdout.write('spotfusion-edge: GigE stream addon built (' + path.relative(root, ADDON) + ')\n');
}

main();
