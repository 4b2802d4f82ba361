'use strict';
// Prepare a Node-RED user directory that loads this package from the working tree: a package.json and a
// link node_modules/@spotfusion/node-red-spotfusion-edge -> the package root (what `npm install <folder>`
// does in ~/.node-red). Used by `npm start` and by the runtime tests.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const PKG = require(path.join(ROOT, 'package.json'));

function prepareUserDir(userDir, { flowSource } = {}) {
  fs.mkdirSync(path.join(userDir, 'node_modules', '@spotfusion'), { recursive: true });
  const pkgFile = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkgFile)) {
    fs.writeFileSync(pkgFile, JSON.stringify({ name: 'spotfusion-userdir', private: true, dependencies: { [PKG.name]: `file:${ROOT}` } }, null, 2) + '\n');
  }
  const link = path.join(userDir, 'node_modules', PKG.name);
  let current;
  try {
    current = fs.readlinkSync(link);
  } catch (err) {
    if (err.code !== 'ENOENT' && err.code !== 'EINVAL') throw err;
  }
  if (current !== ROOT) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync(ROOT, link, 'dir');
  }
  const flows = path.join(userDir, 'flows.json');
  if (flowSource && !fs.existsSync(flows)) fs.copyFileSync(flowSource, flows);
  return userDir;
}

module.exports = { prepareUserDir, ROOT };
