'use strict';
// The Dockerfile, compose file and systemd unit cannot be built or started here (no Docker engine): check them
// statically — they parse, run as a non-root user, nothing is privileged, health checks exist, no secrets.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const ROOT = path.join(__dirname, '..', '..');
const read = (f) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const SECRETISH = /(pass(word)?|secret|token|key)/i;

/** Dockerfile instructions with continuation lines joined, comments dropped. */
function dockerInstructions(text) {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return lines.map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });
}

describe('deployment files (static checks)', function () {
  it('Dockerfile: final stage runs as a non-root user, has a HEALTHCHECK, copies only what exists, bakes in no secret', function () {
    const ins = dockerInstructions(read('deploy/Dockerfile'));
    assert.ok(ins.every((i) => /^(FROM|WORKDIR|RUN|COPY|ENV|USER|VOLUME|EXPOSE|HEALTHCHECK|CMD|ARG|LABEL)$/.test(i.op)), 'only known instructions');
    const lastFrom = ins.map((i) => i.op).lastIndexOf('FROM');
    const final = ins.slice(lastFrom);
    const user = final.filter((i) => i.op === 'USER').pop();
    assert.ok(user, 'final stage sets USER');
    assert.ok(!/^(root|0)(:|$)/.test(user.args), `USER ${user.args} is root`);
    assert.ok(final.some((i) => i.op === 'HEALTHCHECK' && /CMD/.test(i.args)), 'HEALTHCHECK in the final stage');
    assert.ok(final.some((i) => i.op === 'CMD' && /dist\/settings\.js/.test(i.args)), 'starts with our settings');
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const parts = i.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) assert.ok(fs.existsSync(path.join(ROOT, src)), `COPY source ${src} exists`);
    }
    for (const i of ins.filter((x) => x.op === 'ENV' || x.op === 'ARG')) {
      for (const kv of i.args.split(/\s+/)) assert.ok(!SECRETISH.test(kv.split('=')[0]), `no secret in ${i.op} ${kv}`);
    }
    assert.doesNotMatch(read('deploy/Dockerfile'), /--privileged/);
  });

  it('compose: parses, nothing privileged, every service has a health check, secrets only from the environment', function () {
    const doc = YAML.parse(read('deploy/compose.yaml'));
    const services = Object.entries(doc.services);
    assert.ok(services.length >= 4);
    for (const [name, svc] of services) {
      assert.notEqual(svc.privileged, true, `${name} is privileged`);
      assert.ok(!(svc.cap_add || []).some((c) => /SYS_ADMIN|ALL|NET_ADMIN/.test(c)), `${name} adds broad capabilities`);
      assert.ok(svc.healthcheck && svc.healthcheck.test, `${name} has a healthcheck`);
      assert.notEqual(svc.network_mode, 'host', `${name}: host network only where a camera needs it (documented), not by default`);
      for (const [k, v] of Object.entries(svc.environment || {})) {
        if (SECRETISH.test(k)) assert.match(String(v), /^\$\{[A-Z_]+(:\?[^}]*)?\}$/, `${name}.${k} must come from the environment`);
      }
      const cmd = [].concat(svc.command || []).join(' ');
      for (const m of cmd.matchAll(/--requirepass\s+(\S+)/g)) assert.match(m[1], /^\$\{/, `${name} password from the environment`);
    }
    const edge = doc.services.edge;
    assert.deepEqual(edge.cap_drop, ['ALL']);
    assert.ok((edge.security_opt || []).includes('no-new-privileges:true'));
    assert.equal(edge.read_only, true);
    assert.equal(edge.build.dockerfile, 'deploy/Dockerfile');
  });

  it('systemd unit: unprivileged user, no new privileges, secrets in an EnvironmentFile', function () {
    const unit = read('deploy/spotfusion-edge.service');
    assert.match(unit, /^User=spotfusion$/m);
    assert.match(unit, /^NoNewPrivileges=true$/m);
    assert.match(unit, /^EnvironmentFile=\/etc\/spotfusion\/edge\.env$/m);
    assert.match(unit, /^ExecStart=.*dist\/settings\.js$/m);
    assert.doesNotMatch(unit, /PASSWORD=|SECRET=/);
  });
});
