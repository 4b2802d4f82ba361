#!/usr/bin/env node
'use strict';
// The spotfusion command: validate, diff and deploy flows (see `spotfusion help`).
const path = require('node:path');
const { main } = require('../dist/nodes/lib/deploy/cli.js');

main(process.argv.slice(2), { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), env: process.env }, path.join(__dirname, '..')).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`spotfusion: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 5;
  },
);
