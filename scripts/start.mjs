#!/usr/bin/env node
// npm start: Node-RED (4.1, or the one SPOTFUSION_RED_JS names) on 127.0.0.1:1880 with our settings, a git-ignored user dir inside the project,
// our nodes loaded from the working tree and the station flow (flows/station.json) on its embedded defaults:
// PLC simulator, camera simulator, demo model, SQLite store — no external server. Development mode (no adminAuth) is switched on
// only when nothing else is configured and the host is loopback; settings.ts refuses anything else.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
// first of all: an unsupported Node.js stops here with one line (scripts/node-check.cjs)
require('./node-check.cjs').refuseUnsupportedNode();
const { prepareUserDir, ROOT } = require('./userdir.cjs');

if (!existsSync(join(ROOT, 'dist', 'settings.js'))) {
  process.stderr.write('dist/ is missing: run `npm install` (it builds) or `npm run build` first\n');
  process.exit(1);
}
// the memory bounds of the service unit (nodes/lib/memory.ts): glibc arenas, V8's young generation
const { withMemoryBounds } = require('../dist/nodes/lib/memory.js');
const bounded = withMemoryBounds(process.env);
const env = bounded.env;
if (env.SPOTFUSION_DEV_MODE === undefined && !env.SPOTFUSION_ADMIN_PASSWORD_HASH) env.SPOTFUSION_DEV_MODE = 'true';
const userDir = env.SPOTFUSION_USER_DIR || join(ROOT, '.userdir');
env.SPOTFUSION_USER_DIR = userDir;
// a user dir still holding the earlier demo flow, unchanged, gets the station flow; an edited flow is kept
const flowsFile = join(userDir, 'flows.json');
if (existsSync(flowsFile) && readFileSync(flowsFile, 'utf8') === readFileSync(join(ROOT, 'flows', 'demo.json'), 'utf8')) rmSync(flowsFile);
prepareUserDir(userDir, { flowSource: [join(ROOT, 'flows', 'station.json'), join(ROOT, 'flows', 'dashboard.json')] });

// SPOTFUSION_RED_JS names another Node-RED's red.js (.ci/node22.sh: node-red 5 under Node 22); default: ours
const redJs = env.SPOTFUSION_RED_JS ? resolve(env.SPOTFUSION_RED_JS) : require.resolve('node-red/red.js');
const child = spawn(process.execPath, [...bounded.flags, redJs, '--settings', join(ROOT, 'dist', 'settings.js'), ...process.argv.slice(2)], {
  env,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
