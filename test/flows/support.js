'use strict';
// Loading the flows of flows/ into a Node-RED runtime (node-red-node-test-helper) with every node module they
// use: ours from dist/, Node-RED's core nodes from the runtime's own @node-red/nodes.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { ROOT } = require('../../scripts/userdir.cjs');

const OUR_TYPES = require('../../package.json')['node-red'].nodes;
const CORE_FILES = {
  inject: 'common/20-inject.js',
  debug: 'common/21-debug.js',
  comment: 'common/90-comment.js',
  'link in': 'common/60-link.js',
  'link out': 'common/60-link.js',
  'link call': 'common/60-link.js',
  change: 'function/15-change.js',
  switch: 'function/10-switch.js',
  function: 'function/10-function.js',
  delay: 'function/89-delay.js',
  trigger: 'function/89-trigger.js',
  'http in': 'network/21-httpin.js',
  'http response': 'network/21-httpin.js',
  file: 'storage/10-file.js',
  split: 'sequence/17-split.js',
  'file in': 'storage/10-file.js',
};
const HELPER_OWN = new Set(['tab', 'catch', 'status', 'complete']);

function readFlow(name) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', name), 'utf8'));
}

/** The node modules a flow needs: ours (from package.json) and the core files of the core types it uses. */
function modulesFor(flow) {
  const mods = new Set();
  for (const n of flow) {
    if (HELPER_OWN.has(n.type)) continue;
    if (OUR_TYPES[n.type]) mods.add(path.join(ROOT, OUR_TYPES[n.type]));
    else if (CORE_FILES[n.type]) mods.add(require.resolve(`@node-red/nodes/core/${CORE_FILES[n.type]}`, { paths: [require.resolve('node-red')] }));
    else throw new Error(`test support: no module known for node type ${n.type}`);
  }
  return [...mods].map((m) => require(m));
}

/**
 * helper.load(flow) with every module the flow needs. The test helper registers its own catch/status/complete
 * once per such node in the flow, which fails from the second one ("catch already registered"): wrap those
 * registrations so that each runs once per load. Resolves to { httpNode }: the express app of the flows' HTTP
 * endpoints (helper.request() serves the admin app only).
 */
async function loadFlow(helper, flow) {
  const own = helper._nodeModules;
  const saved = { ...own };
  const done = new Set();
  for (const [type, fn] of Object.entries(saved)) {
    own[type] = (red) => {
      if (done.has(type)) return undefined;
      done.add(type);
      return fn(red);
    };
  }
  let httpNode;
  const capture = (RED) => {
    httpNode = RED.httpNode;
  };
  try {
    await helper.load([capture, ...modulesFor(flow)], flow);
  } finally {
    Object.assign(own, saved);
  }
  return { httpNode };
}

/** GET a path of an express app (the flows' httpNode) on a loopback port: { status, headers, body (Buffer) }. */
async function httpGet(app, urlPath) {
  const server = http.createServer(app);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.address().port, path: urlPath, timeout: 10000 }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
      req.on('error', reject);
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** Set process env vars for a test, returning a function that restores them. */
function withEnv(vars) {
  const old = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = process.env[k];
    process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

module.exports = { readFlow, modulesFor, loadFlow, httpGet, withEnv, ROOT };
