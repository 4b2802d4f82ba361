'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const { checkFlow, checkFlowFile, flowFilesIn, packageTypes } = require('../../dist/nodes/lib/deploy/flow-check');
const { LEGACY_PASSWORDS } = require('../support/legacy-passwords');
const { diffFlows, formatDiff } = require('../../dist/nodes/lib/deploy/flow-diff');
const { withStationEnv } = require('../../dist/nodes/lib/deploy/cli');

const ROOT = path.join(__dirname, '..', '..');
const known = packageTypes(ROOT);

function messages(flow) {
  return checkFlow(flow, 'f.json', known).problems.map((p) => `${p.where}: ${p.message}`);
}

const tab = { id: 't', type: 'tab', label: 'x', info: 'Environment: REDIS_HOST' };

describe('flow checks (spotfusion validate)', function () {
  it('knows our node types and their config references from the built editor files', function () {
    assert.ok(known.types.has('redis-cache'));
    assert.ok(known.types.has('spotfusion-redis-config'));
    assert.deepEqual(known.refs['redis-cache'], { redis: 'spotfusion-redis-config' });
  });

  it('passes every flow and example shipped in the package', function () {
    const files = [...flowFilesIn(path.join(ROOT, 'flows')), ...flowFilesIn(path.join(ROOT, 'examples'))];
    assert.ok(files.length >= 2);
    for (const f of files) {
      const r = checkFlowFile(f, known);
      assert.deepEqual(r.problems, [], f);
    }
  });

  it('accepts a good flow and lists its environment variables', function () {
    const r = checkFlow(
      [tab, { id: 'c', type: 'spotfusion-redis-config', host: '${REDIS_HOST}' }, { id: 'n', type: 'redis-cache', z: 't', redis: 'c', wires: [['d']] }, { id: 'd', type: 'debug', z: 't', wires: [] }],
      'f.json',
      known,
    );
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.envVars, ['REDIS_HOST']);
  });

  it('names each problem and where it is', function () {
    assert.deepEqual(messages({}), ['f.json: top level: a flow file must be a JSON array of nodes']);
    assert.deepEqual(messages([tab, 5, { type: 'x' }, { id: 'a' }]), ['f.json: [1]: is not an object', 'f.json: [2]: has no id', "f.json: [3] 'a': has no type"]);
    assert.deepEqual(messages([tab, { id: 'a', type: 'mystery', z: 't' }]), [
      "f.json: node 'a' (mystery): unknown node type 'mystery' (not a core node, not one of this package's, not a subflow in the file)",
    ]);
    assert.deepEqual(messages([tab, { id: 'a', type: 'debug', z: 'nowhere' }, { id: 'a', type: 'debug', z: 't' }]), [
      "f.json: node 'a' (debug): id is used twice",
      "f.json: node 'a' (debug): z 'nowhere' names no tab or subflow in the file",
    ]);
    assert.deepEqual(messages([tab, { id: 'a', type: 'inject', z: 't', wires: [['ghost']] }]), ["f.json: node 'a' (inject).wires[0]: wired to 'ghost', which is not in the file"]);
    assert.deepEqual(messages([tab, { id: 'n', type: 'redis-cache', z: 't', redis: 'missing' }]), [
      "f.json: node 'n' (redis-cache).redis: refers to config node \"missing\", which is not in the file",
    ]);
    assert.deepEqual(messages([tab, { id: 'b', type: 'tls-config' }, { id: 'n', type: 'redis-cache', z: 't', redis: 'b' }]), [
      "f.json: node 'n' (redis-cache).redis: refers to 'b' of type tls-config, expected spotfusion-redis-config",
    ]);
  });

  it('finds secrets in node fields and credentials, and allows ${ENV}', function () {
    assert.deepEqual(messages([tab, { id: 'c', type: 'spotfusion-redis-config', password: 'hunter2', nested: { token: 'abc' } }]), [
      "f.json: node 'c' (spotfusion-redis-config).password: looks like a secret in a node field: use credentials or ${ENV_VAR}",
      "f.json: node 'c' (spotfusion-redis-config).nested.token: looks like a secret in a node field: use credentials or ${ENV_VAR}",
    ]);
    assert.deepEqual(messages([tab, { id: 'c', type: 'spotfusion-redis-config', password: '${REDIS_HOST}', credentials: { password: 'x' } }]), [
      "f.json: node 'c' (spotfusion-redis-config).credentials: holds credential values: they belong in the credentials file or the environment, never in a flow",
    ]);
    assert.deepEqual(messages([tab, { id: 'c', type: 'comment', z: 't', info: `pw ${LEGACY_PASSWORDS[0]}` }]), ["f.json: node 'c' (comment).info: contains a known legacy password"]);
  });

  it('finds secrets by value in any field, with the rules of the repo scan (URLs, tokens, function code, private keys)', function () {
    const j = (...p) => p.join(''); // assembled so this file holds no secret-shaped literal
    const flow = [
      tab,
      { id: 'cam', type: 'spotfusion-camera-config', source: 'http', url: j('http://admin', ':pw1234@10.0.0.5/snap.jpg') },
      { id: 'fn', type: 'function', z: 't', name: 'login', func: j('const password', ' = "hunter2";\nmsg.headers = { a: "', 'ghp_', 'A'.repeat(36), '" };\nreturn msg;'), wires: [[]] },
      { id: 'tpl', type: 'template', z: 't', template: j('-----BEGIN ', 'PRIVATE KEY-----\nMIIE...'), wires: [[]] },
      { id: 'req', type: 'http request', z: 't', url: 'http://127.0.0.1/x', headers: [{ keyType: 'other', keyValue: 'X-Key', valueType: 'other', valueValue: j('AKIA', 'IOSFODNN7EXAMPLE') }], wires: [[]] },
      { id: 'jwt', type: 'change', z: 't', rules: [{ t: 'set', p: 'auth', to: j('eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U') }], wires: [[]] },
      { id: 'slack', type: 'inject', z: 't', payload: j('xoxb', '-1234567890-abcdef'), wires: [[]] },
    ];
    assert.deepEqual(messages(flow), [
      "f.json: node 'cam' (spotfusion-camera-config).url: holds a secret (credentials in a URL): use credentials or ${ENV_VAR}",
      "f.json: node 'fn' (function).func: holds a secret (password or secret literal): use credentials or ${ENV_VAR}",
      "f.json: node 'fn' (function).func: holds a secret (GitHub/GitLab/Slack token): use credentials or ${ENV_VAR}",
      "f.json: node 'tpl' (template).template: holds a secret (private key): use credentials or ${ENV_VAR}",
      "f.json: node 'req' (http request).headers[0].valueValue: holds a secret (AWS access key id): use credentials or ${ENV_VAR}",
      "f.json: node 'jwt' (change).rules[0].to: holds a secret (JSON Web Token): use credentials or ${ENV_VAR}",
      "f.json: node 'slack' (inject).payload: holds a secret (GitHub/GitLab/Slack token): use credentials or ${ENV_VAR}",
    ]);
    // placeholders and environment references pass, as in the repo scan
    assert.deepEqual(messages([{ id: 't', type: 'tab', info: 'CAM_USER CAM_PASSWORD' }, { id: 'cam', type: 'spotfusion-camera-config', url: 'http://${CAM_USER}:${CAM_PASSWORD}@10.0.0.5/snap.jpg' }, { id: 'fn', type: 'function', z: 't', func: 'const password = env.get("PLC_PASSWORD");', wires: [[]] }]), []);
  });

  it('ignores ${...} inside longer text (Node-RED substitutes whole values only)', function () {
    assert.deepEqual(messages([{ id: 't', type: 'tab' }, { id: 'f', type: 'function', z: 't', func: 'return `${msg.payload}`;', name: 'at ${HOST} now' }]), []);
  });

  it('requires every ${VAR} to be listed in the flow header', function () {
    assert.deepEqual(messages([{ id: 't', type: 'tab' }, { id: 'c', type: 'spotfusion-redis-config', host: '${PLC_HOST}', port: '${bad-name}' }]), [
      "f.json: node 'c' (spotfusion-redis-config).port: ${bad-name} is not a valid environment variable name",
      "f.json: environment: ${PLC_HOST} is used but not listed in the flow's header (tab info, a comment or tab env)",
    ]);
    const withEnv = withStationEnv([{ id: 't', type: 'tab' }, { id: 'c', type: 'spotfusion-redis-config', host: '${PLC_HOST}' }], { PLC_HOST: '10.0.0.5' });
    assert.deepEqual(messages(withEnv), []);
    assert.deepEqual(withEnv[0].env, [{ name: 'PLC_HOST', value: '10.0.0.5', type: 'str' }]);
    assert.throws(() => withStationEnv(withEnv, { DB_PASSWORD: 'x' }), /looks like a secret/);
    assert.throws(() => withStationEnv(withEnv, { 'bad name': 'x' }), /not a valid variable name/);
  });

  it('diffs flows node by node and field by field', function () {
    const a = [tab, { id: 'n', type: 'debug', z: 't', name: 'one', x: 1 }, { id: 'gone', type: 'debug', z: 't' }];
    const b = [tab, { id: 'n', type: 'debug', z: 't', name: 'two', x: 2 }, { id: 'new', type: 'inject', z: 't', name: 'go' }];
    const d = diffFlows(a, b);
    assert.equal(formatDiff(d), '+ new (inject) "go"\n- gone (debug)\n~ n (debug): name, x');
    assert.equal(formatDiff(diffFlows(a, a)), 'no changes');
  });
});
