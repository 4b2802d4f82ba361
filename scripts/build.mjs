#!/usr/bin/env node
// Build: compile the TypeScript (tsc, strict) into dist/, then copy what Node-RED reads beside each node's
// .js: its .html (editor template, help, inline registerType script), locales/, and the JSON Schemas.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);

// dist/ is not wiped first (`npm run clean` does that): tests of other files may be reading it meanwhile.
const tsc = require.resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('build: TypeScript compilation failed\n');
  process.exit(r.status ?? 1);
}

const COPY = /\.(html|json)$/;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const src = join(dir, name);
    if (statSync(src).isDirectory()) {
      copyAssets(src);
    } else if (COPY.test(name)) {
      const dst = join(dist, relative(root, src));
      mkdirSync(dirname(dst), { recursive: true });
      cpSync(src, dst);
    }
  }
}
copyAssets(join(root, 'nodes'));

// Node-RED looks for icons in an icons/ folder beside each node's .js: give every node the package icons.
const icons = join(root, 'icons');
for (const name of readdirSync(join(dist, 'nodes'))) {
  const dir = join(dist, 'nodes', name);
  if (existsSync(join(dir, `${name}.js`)) && existsSync(icons)) cpSync(icons, join(dir, 'icons'), { recursive: true });
}
if (!existsSync(join(dist, 'settings.js'))) {
  process.stderr.write('build: dist/settings.js missing\n');
  process.exit(1);
}
process.stdout.write('build: ok\n');
