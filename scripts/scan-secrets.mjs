#!/usr/bin/env node
// CI secret scan: `node scripts/scan-secrets.mjs [root]` (needs the build in dist/). Exit 1 when a secret is
// found; the report names file:line and the rule, with the secret masked.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { scanTree, SCAN_PATHS } = require(join(here, '..', 'dist', 'nodes', 'lib', 'deploy', 'secret-scan.js'));

const root = resolve(process.argv[2] ?? join(here, '..'));
const { files, findings } = scanTree(root, SCAN_PATHS);
for (const f of findings) process.stdout.write(`${f.file}:${f.line}: ${f.rule} (${f.excerpt})\n`);
process.stdout.write(`secret scan: ${files} file(s) in ${SCAN_PATHS.join(', ')}: ${findings.length} finding(s)\n`);
process.exit(findings.length ? 1 : 0);
