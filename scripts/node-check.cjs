'use strict';
// Which Node.js SpotFusion Edge runs on: the LTS lines of engines.node in package.json (one caret range per line,
// e.g. "^22.12.0 || ^24.0.0 || ^26.0.0"). Run as the package's preinstall script (so `npm install` of the package
// into a Node-RED user dir stops on another Node.js) and by `npm start`; on an unsupported Node.js it prints one
// line naming the running version and the supported lines and exits 1. SPOTFUSION_ALLOW_UNSUPPORTED_NODE=1 turns
// the refusal into a warning (development only: nothing is tested there).
// Written in old JavaScript on purpose, without dependencies: it must parse and refuse on any Node.js, before
// anything is installed (it is packed with the package: see "files" in package.json).
var path = require('path');

var ENGINES = require(path.join(__dirname, '..', 'package.json')).engines.node;

function parseVersion(v) {
  var m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(v));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** The supported lines of an engines range "^A.B.C || ^D.E.F": the lowest version of each, as [major, minor, patch]. */
function supportedLines(range) {
  return String(range)
    .split('||')
    .map(function (part) {
      var m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
      if (!m) throw new Error('engines.node must list one "^MAJOR.MINOR.PATCH" per supported line, got ' + JSON.stringify(range));
      return [Number(m[1]), Number(m[2]), Number(m[3])];
    });
}

function isSupported(version, range) {
  var v = parseVersion(version);
  if (!v) return false;
  return supportedLines(range).some(function (low) {
    if (v[0] !== low[0]) return false;
    return v[1] > low[1] || (v[1] === low[1] && v[2] >= low[2]);
  });
}

/** "22 (22.12.0 or newer), 24 or 26" */
function describeLines(range) {
  var names = supportedLines(range).map(function (l) {
    return l[1] === 0 && l[2] === 0 ? String(l[0]) : l[0] + ' (' + l.join('.') + ' or newer)';
  });
  return names.length > 1 ? names.slice(0, -1).join(', ') + ' or ' + names[names.length - 1] : names[0];
}

/** The one-line refusal for version, or null when it is supported. */
function nodeProblem(version, range) {
  if (range === undefined) range = ENGINES;
  if (isSupported(version, range)) return null;
  return (
    'SpotFusion Edge does not run on Node.js ' + version + ': install Node.js ' + describeLines(range) +
    ' (the LTS lines that are not end of life; see docs/DEPLOYMENT.md)'
  );
}

/** Exit 1 with the one-line refusal on an unsupported Node.js (a warning with SPOTFUSION_ALLOW_UNSUPPORTED_NODE=1). */
function refuseUnsupportedNode() {
  var problem = nodeProblem(process.version);
  if (!problem) return;
  if (process.env.SPOTFUSION_ALLOW_UNSUPPORTED_NODE === '1') {
    process.stderr.write('warning (SPOTFUSION_ALLOW_UNSUPPORTED_NODE=1): ' + problem + '\n');
    return;
  }
  process.stderr.write(problem + '\n');
  process.exit(1);
}

module.exports = { ENGINES: ENGINES, supportedLines: supportedLines, isSupported: isSupported, nodeProblem: nodeProblem, refuseUnsupportedNode: refuseUnsupportedNode };

if (require.main === module) refuseUnsupportedNode();
