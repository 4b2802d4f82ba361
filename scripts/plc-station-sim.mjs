#!/usr/bin/env node
// A simulated inspection station for demos and manual tests: a Logix EtherNet/IP tag server and (with --opcua)
// an OPC UA server with the same tags, on 127.0.0.1 only, driven by the station script (trigger rising every
// period, part serial incrementing, program number rotating). Needs `npm run build` first.
//   node scripts/plc-station-sim.mjs [--port 0] [--period 2000] [--opcua] [--opcua-port 0]
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require(join(root, 'dist/nodes/lib/plc/logix-sim'));
const { StationScript } = require(join(root, 'dist/nodes/lib/plc/station-sim'));

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PLC_SIM_PORT ?? '0' },
    period: { type: 'string', default: '2000' },
    opcua: { type: 'boolean', default: false },
    'opcua-port': { type: 'string', default: '0' },
  },
});

const sim = await new LogixSimulator({ port: Number(values.port), tags: STATION_TAGS, udts: STATION_UDTS }).start();
const stores = [sim.db];
let ua;
if (values.opcua) {
  const { OpcuaSimulator } = require(join(root, 'dist/nodes/lib/plc/opcua-sim'));
  const port = Number(values['opcua-port']);
  ua = await new OpcuaSimulator({ port: port || undefined, tags: STATION_TAGS }).start();
  stores.push(ua);
}
// one script drives every server, so both protocols show the same part
const both = { get: (n) => sim.db.get(n), set: (n, v) => stores.forEach((s) => s.set(n, v)) };
const script = new StationScript(both, { periodMs: Number(values.period) }).start();
process.stdout.write(`Logix station simulator: 127.0.0.1:${sim.port} (ListIdentity UDP 127.0.0.1:${sim.udpPort})\n`);
if (ua) process.stdout.write(`OPC UA station simulator: ${ua.endpointUrl} (tags ns=1;s=<Tag>)\n`);
process.stdout.write(`trigger every ${values.period} ms; Ctrl-C to stop\n`);
const stop = async () => {
  script.stop();
  await sim.stop();
  if (ua) await ua.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
