'use strict';
// Preload (node --require) for a Node-RED process under test: on SIGWINCH (not SIGUSR2: red.js stops on it, for
// nodemon; SIGUSR1 starts Node's inspector) it writes to the file
// SF_LOADED_MODULES_FILE { all, ours }: the packages whose code is in require.cache, and those required directly
// by a module under SF_PACKAGE_DIST (this package's dist/; other node packages, e.g. Node-RED's core MQTT node,
// load their own libraries). Node-RED's node scan reads every package.json by require, which loads no code.
const fs = require('node:fs');

const packageOf = (file) => (file.endsWith('/package.json') ? undefined : /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]);

process.on('SIGWINCH', () => {
  const all = new Set();
  const ours = new Set();
  const dist = process.env.SF_PACKAGE_DIST;
  for (const [file, mod] of Object.entries(require.cache)) {
    const name = packageOf(file);
    if (name) all.add(name);
    if (dist && file.startsWith(dist)) {
      for (const child of mod.children) {
        const used = packageOf(child.filename);
        if (used) ours.add(used);
      }
    }
  }
  fs.writeFileSync(process.env.SF_LOADED_MODULES_FILE, JSON.stringify({ all: [...all].sort(), ours: [...ours].sort() }));
});
