'use strict';
// The station flow (flows/station.json) in a real Node-RED process (test/support/runtime.js) on the simulators,
// with the PLC simulator owned by this process so that every trigger it fires is known: a Logix simulator on a
// loopback port runs the station script (new serial, program, trigger pulse every period), and the flow's PLC
// config points at it over EtherNet/IP (PLC_PROTOCOL=ethernet-ip, PLC_PORT). The camera simulator and the demo
// model run inside Node-RED as in `npm start`. Used by scripts/soak.mjs and the tests of test/hardening/.
const fs = require('node:fs');
const path = require('node:path');
const Database = require('better-sqlite3');
const { Runtime } = require('../support/runtime');
const { watchStatus } = require('../support/status-watch');
const { ROOT } = require('../../scripts/userdir.cjs');
const { LogixSimulator, STATION_TAGS, STATION_UDTS } = require('../../dist/nodes/lib/plc/logix-sim');
const { StationScript } = require('../../dist/nodes/lib/plc/station-sim');
const { withMemoryBounds } = require('../../dist/nodes/lib/memory');

const STATION_FLOW = path.join(ROOT, 'flows', 'station.json');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class StationRig {
  /**
   * periodMs: shortest time between two triggers; doneTimeoutMs: how long the PLC waits for Done before it moves
   * the part on anyway; pulseMs: how long the trigger bit stays high at most (default: until the PLC gives up; the
   * flow samples it every PLC_POLL_MS, 10 ms here): it falls earlier, as on a PLC, when the station answers Busy;
   * env: more environment for Node-RED (the
   * station tab's variables); patch: a function
   * that may change the station flow's nodes (array) before it is deployed.
   */
  static async start({ periodMs = 1000, doneTimeoutMs = Math.max(2000, 3 * periodMs), pulseMs = doneTimeoutMs, env = {}, patch } = {}) {
    const rig = new StationRig();
    rig.sim = new LogixSimulator({ tags: STATION_TAGS, udts: STATION_UDTS, udp: false });
    await rig.sim.start();
    rig.triggers = new Map(); // serial → Date.now() when the trigger bit rose
    rig.fired = new Set(); // every serial the simulator ever put up (a halt may take the last one out of triggers)
    rig.script = new StationScript(rig.sim.db, { periodMs, pulseMs });
    // As a line PLC does, the next part comes only when the station has answered the last one with Done (the
    // part moves on), or when the PLC gave up waiting for it (doneTimeoutMs): `period` is the shortest cycle.
    // Without this the simulator fired parts into a station still busy with earlier ones, and a late Busy write
    // for an earlier part was taken for the part then at the station (its trigger fell unseen).
    rig.current = undefined; // { serial, at, busy, done }
    rig.waits = 0; // period ticks skipped because the station had not answered Done yet
    rig.timeouts = 0; // parts the PLC gave up waiting for
    const step = rig.script.step.bind(rig.script);
    rig.script.step = () => {
      const cur = rig.current;
      if (cur && !cur.done) {
        if (Date.now() - cur.at < doneTimeoutMs) {
          rig.waits += 1;
          return;
        }
        rig.timeouts += 1;
      }
      step();
      const serial = rig.sim.db.get('PartSerial');
      rig.current = { serial, at: Date.now(), busy: false, done: false };
      rig.cycles.set(serial, rig.current);
      rig.triggers.set(serial, rig.current.at);
      rig.fired.add(serial);
    };
    // the parts the flow answered Busy for (the station saw their trigger): tells a missed trigger from a lost result
    rig.busy = new Set();
    // serial → { at: trigger rise, busyAt: Busy written, doneAt: Done written } (ms, this process's clock)
    rig.cycles = new Map();
    const db = rig.sim.db;
    const writeBytes = db.writeBytes.bind(db);
    db.writeBytes = (...args) => {
      const r = writeBytes(...args);
      const cur = rig.current;
      if (cur && db.get('Busy') === true && !cur.busy) {
        cur.busy = true;
        cur.busyAt = Date.now();
        rig.busy.add(cur.serial);
        db.set('Trigger', false); // as a PLC does: the trigger falls once the station answered Busy
      }
      // the Done write clears Busy and sets Done (the Busy write of a part clears Done)
      if (cur && cur.busy && !cur.done && db.get('Busy') === false && db.get('Done') === true) {
        cur.done = true;
        cur.doneAt = Date.now();
      }
      return r;
    };
    // the memory bounds of the service unit (nodes/lib/memory.ts), as a station runs; `env` may change them
    const bounded = bounds(env);
    rig.rt = await Runtime.create(
      {
        SPOTFUSION_DEV_MODE: 'true',
        SPOTFUSION_ADMIN_PASSWORD_HASH: undefined,
        SPOTFUSION_CREDENTIAL_SECRET: undefined,
        PLC_PROTOCOL: 'ethernet-ip',
        PLC_ADDRESS: '127.0.0.1',
        PLC_PORT: String(rig.sim.port),
        PLC_POLL_MS: '10',
        // 16 frames rendered once and handed out in turn: the load is the station's, not the simulator's rendering
        CAMERA_SIM_POOL: '16',
        ...bounded.env,
        ...env,
      },
      { nodeFlags: bounded.nodeFlags },
    );
    try {
      let flowSource = STATION_FLOW;
      if (patch) {
        const flow = JSON.parse(fs.readFileSync(STATION_FLOW, 'utf8'));
        patch(flow);
        flowSource = path.join(rig.rt.userDir, 'station-patched.json');
        fs.writeFileSync(flowSource, JSON.stringify(flow));
      }
      await rig.rt.start({ flowSource });
      await rig.waitLog(/\[info\] Started flows/, 20000, 'the flows did not start');
      // the line sends parts once the station is online: connected and reading (a trigger already high when the
      // station connects is no edge for plc-read)
      const end = Date.now() + 20000;
      const reads = () => rig.sim.stats.tagReads;
      while (rig.sim.openConnections === 0 || reads() < 2) {
        if (Date.now() > end) throw new Error(`the flow did not connect to the PLC simulator and read (${rig.sim.openConnections} connections, ${reads()} reads):\n${rig.rt.stdout.slice(-3000)}`);
        await sleep(50);
      }
    } catch (err) {
      await rig.stop();
      throw err;
    }
    return rig;
  }

  get pid() {
    return this.rt.proc.pid;
  }

  get log() {
    return this.rt.stdout + this.rt.stderr;
  }

  async waitLog(re, ms, what) {
    const end = Date.now() + ms;
    while (!re.test(this.log)) {
      if (Date.now() > end) throw new Error(`${what}:\n${this.rt.stdout.slice(-3000)}\n${this.rt.stderr.slice(-2000)}`);
      await sleep(100);
    }
  }

  /** Start firing parts (the station script's interval). */
  run() {
    this.script.start();
  }

  /**
   * Stop firing; a trigger still high ends at once. A part whose trigger is cut that way before the station
   * answered Busy was never really triggered: it is taken out of `triggers`.
   */
  halt() {
    this.script.stop();
    const last = this.sim.db.get('PartSerial');
    if (!this.busy.has(last)) this.triggers.delete(last);
  }

  get dbFile() {
    return path.join(this.rt.userDir, 'spotfusion', 'results.db');
  }

  /** The rows of the station's SQLite store: part_serial, trigger_at, result_at, stored_at (ms). */
  results() {
    if (!fs.existsSync(this.dbFile)) return [];
    const db = new Database(this.dbFile, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT result_id, part_serial, trigger_at, result_at, stored_at FROM inspection_result ORDER BY rowid').all();
    } finally {
      db.close();
    }
  }

  /** part serial → the result's durations (ms: triggerToGrab, grab, crop, infer, enrich, total, …) */
  durations() {
    if (!fs.existsSync(this.dbFile)) return new Map();
    const db = new Database(this.dbFile, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare("SELECT part_serial, json_extract(body, '$.durations') AS d FROM inspection_result").all();
      return new Map(rows.map((r) => [r.part_serial, JSON.parse(r.d || '{}')]));
    } finally {
      db.close();
    }
  }

  /** Wait until every part triggered so far has a row (or ms passed); resolves to the rows. */
  async drain(ms) {
    const end = Date.now() + ms;
    for (;;) {
      const rows = this.results();
      const have = new Set(rows.map((r) => r.part_serial));
      if ([...this.triggers.keys()].every((s) => have.has(s)) || Date.now() > end) return rows;
      await sleep(200);
    }
  }

  /**
   * Node statuses as the editor sees them: a websocket to /comms subscribed to status/#. Resolves to
   * { statuses: Map(nodeId → [{ text, fill, shape }...]), close() }.
   */
  async watchStatus() {
    return watchStatus(this.rt.port);
  }

  /** Sockets held by the Node-RED process (/proc/<pid>/fd entries that link to socket:[…]). */
  sockets() {
    return countSockets(this.pid);
  }

  /**
   * The socket count once sockets that are closing had their chance to (idle keep-alive connections, those of
   * an ended reconnect attempt): polls until it is at most `atMost`, for 8 s at most, and returns it.
   */
  async settledSockets(atMost = 0) {
    let n = this.sockets();
    for (let i = 0; i < 16 && n > atMost; i++) {
      await sleep(500);
      n = this.sockets();
    }
    return n;
  }

  /** /spotfusion/metrics parsed into { name{labels}: value }. */
  async metrics() {
    const r = await this.rt.request('GET', '/spotfusion/metrics');
    if (r.status !== 200) throw new Error(`/spotfusion/metrics: ${r.status} ${r.text.slice(0, 200)}`);
    const out = {};
    for (const line of r.text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
      if (m && !line.startsWith('#')) out[m[1]] = Number(m[2]);
    }
    return out;
  }

  async stop() {
    if (this.script) this.script.stop();
    if (this.rt) await this.rt.stop();
    if (this.sim) await this.sim.stop();
    if (this.rt && !process.env.SOAK_KEEP_USERDIR) fs.rmSync(this.rt.userDir, { recursive: true, force: true });
  }
}

/**
 * The memory bounds of a station process, as the service unit applies them (nodes/lib/memory.ts): the MALLOC_
 * variables for its environment and the V8 flags for its command line; what `env` sets already is kept.
 */
function bounds(env) {
  const b = withMemoryBounds({ ...process.env, ...env });
  const malloc = {};
  for (const k of Object.keys(b.env)) if (k.startsWith('MALLOC_')) malloc[k] = b.env[k];
  return { env: malloc, nodeFlags: b.flags };
}

function countSockets(pid) {
  let n = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n += 1;
    } catch (gone) {
      if (gone.code !== 'ENOENT') throw gone; // closed between readdir and readlink
    }
  }
  return n;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

module.exports = { StationRig, countSockets, percentile, STATION_FLOW, sleep };
