'use strict';
// Prepare a Node-RED user directory that loads this package from the working tree: a package.json and a
// link node_modules/@spotfusion/node-red-spotfusion-edge -> the package root (what `npm install <folder>`
// does in ~/.node-red), plus links to the Node-RED modules the flows use that Node-RED itself would not find
// (it loads nodes only from the user dir's node_modules): Dashboard 2.0 for flows/dashboard.json.
// Used by `npm start` and by the runtime tests.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const PKG = require(path.join(ROOT, 'package.json'));

/** Node-RED modules of the project's node_modules that the user dir links to (Dashboard 2.0). */
const LINKED_MODULES = ['@flowfuse/node-red-dashboard'];

/** Make userDir/node_modules/<name> a link to target (replacing anything else there). */
function linkModule(userDir, name, target) {
  const link = path.join(userDir, 'node_modules', name);
  fs.mkdirSync(path.dirname(link), { recursive: true });
  let current;
  try {
    current = fs.readlinkSync(link);
  } catch (err) {
    if (err.code !== 'ENOENT' && err.code !== 'EINVAL') throw err;
  }
  if (current !== target) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(target, link, 'dir');
  }
}

/** The folder of an installed module of this project, or undefined when it is not installed. */
function moduleDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [ROOT] }));
  } catch (err) {
    if (err.code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * flowSource: one flow file, or several whose nodes are put together into one flows.json (e.g. the station
 * flow and flows/dashboard.json). An existing flows.json is kept.
 */
function prepareUserDir(userDir, { flowSource } = {}) {
  fs.mkdirSync(path.join(userDir, 'node_modules', '@spotfusion'), { recursive: true });
  const pkgFile = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkgFile)) {
    fs.writeFileSync(pkgFile, JSON.stringify({ name: 'spotfusion-userdir', private: true, dependencies: { [PKG.name]: `file:${ROOT}` } }, null, 2) + '\n');
  }
  linkModule(userDir, PKG.name, ROOT);
  for (const name of LINKED_MODULES) {
    const dir = moduleDir(name);
    if (dir) linkModule(userDir, name, dir);
  }
  const flows = path.join(userDir, 'flows.json');
  if (flowSource && !fs.existsSync(flows)) {
    if (Array.isArray(flowSource)) {
      const nodes = flowSource.flatMap((file) => {
        const list = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (!Array.isArray(list)) throw new Error(`${file}: a flow file must be a JSON array of nodes`);
        return list;
      });
      fs.writeFileSync(flows, JSON.stringify(nodes, null, 2) + '\n');
    } else fs.copyFileSync(flowSource, flows);
  }
  return userDir;
}

module.exports = { prepareUserDir, ROOT, LINKED_MODULES };
