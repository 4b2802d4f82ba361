'use strict';
// Our own GigE Vision peers for the protocol paths the aravis fake camera does not exercise: a GVCP responder
// whose answers a test scripts (retries, PENDING_ACK, error statuses, stale ids), and a GVSP sender that drops,
// reorders and duplicates packets and serves PACKETRESEND. Real UDP on 127.0.0.1 only.
const dgram = require('node:dgram');
const P = require('../../dist/nodes/lib/camera/gige/protocol');

function bindUdp() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.removeListener('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });
}

/** GVCP peer: handler(cmd, reply) decides; reply(status, payload) sends an ack for that command. */
async function gvcpPeer(handler) {
  const sock = await bindUdp();
  const seen = [];
  sock.on('message', (msg, rinfo) => {
    const cmd = P.decodeCommand(msg);
    if (!cmd) return;
    seen.push(cmd);
    const reply = (status, payload = Buffer.alloc(0), answer = cmd.command + 1, ackId = cmd.reqId) => {
      sock.send(P.encodeAck(status, answer, ackId, payload), rinfo.port, rinfo.address);
    };
    handler(cmd, reply, seen);
  });
  return { port: sock.address().port, seen, close: () => new Promise((r) => sock.close(r)) };
}

/** Packets of one Mono8 image block: leader (id 0), payload (1…n), trailer (n+1). */
function blockPackets(blockId, width, height, data, packetSize, pixelFormat = 0x01080001) {
  const per = packetSize - 36;
  const packets = [];
  const leader = P.encodeImageLeader({ timestamp: 123456789n, pixelFormat, width, height, offsetX: 0, offsetY: 0, paddingX: 0, paddingY: 0 });
  packets.push(P.encodeGvspHeader({ status: 0, blockId, format: P.PacketFormat.LEADER, packetId: 0 }, leader));
  const n = Math.ceil(data.length / per);
  for (let i = 0; i < n; i++) {
    packets.push(P.encodeGvspHeader({ status: 0, blockId, format: P.PacketFormat.PAYLOAD, packetId: i + 1 }, data.subarray(i * per, (i + 1) * per)));
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt16BE(P.PAYLOAD_IMAGE, 2);
  trailer.writeUInt32BE(height, 4);
  packets.push(P.encodeGvspHeader({ status: 0, blockId, format: P.PacketFormat.TRAILER, packetId: n + 1 }, trailer));
  return packets;
}

/**
 * GVSP sender with a GVCP socket that answers PACKETRESEND. send(blockId, data, { drop, order, duplicate })
 * sends to the receiver's port; resends come from the block's packets kept in memory.
 */
async function gvspSender({ width, height, packetSize, resendEnabled = true }) {
  const stream = await bindUdp();
  const control = await bindUdp();
  const blocks = new Map();
  const resendRequests = [];
  let target = 0;
  control.on('message', (msg) => {
    const cmd = P.decodeCommand(msg);
    if (!cmd || cmd.command !== P.Cmd.PACKETRESEND) return;
    const blockId = cmd.payload.readUInt16BE(2);
    const first = cmd.payload.readUInt32BE(4) & 0xffffff;
    const last = cmd.payload.readUInt32BE(8) & 0xffffff;
    resendRequests.push({ blockId, first, last });
    if (!resendEnabled) return;
    const pk = blocks.get(blockId);
    if (!pk) return;
    for (let p = first; p <= last; p++) {
      if (!pk[p]) continue;
      const copy = Buffer.from(pk[p]);
      copy.writeUInt16BE(0x0100, 0); // status PACKET_RESEND marks a resent packet
      stream.send(copy, target, '127.0.0.1');
    }
  });
  async function send(blockId, data, { drop = [], order, duplicate = [], pixelFormat } = {}) {
    const pk = blockPackets(blockId, width, height, data, packetSize, pixelFormat);
    blocks.set(blockId, pk);
    const ids = order ?? pk.map((_p, i) => i);
    for (const i of ids) {
      if (drop.includes(i)) continue;
      await new Promise((r) => stream.send(pk[i], target, '127.0.0.1', r));
      if (duplicate.includes(i)) await new Promise((r) => stream.send(pk[i], target, '127.0.0.1', r));
    }
    return pk.length;
  }
  return {
    controlPort: control.address().port,
    resendRequests,
    set target(p) {
      target = p;
    },
    send,
    close: async () => {
      await new Promise((r) => stream.close(r));
      await new Promise((r) => control.close(r));
    },
  };
}

// ------------------------------------------------------------------ a whole (small) GigE Vision camera

const DEV = 0x20000; // device registers of the peer camera (big-endian, 4 bytes each)
const R = { Width: DEV, Height: DEV + 4, PixelFormat: DEV + 8, PayloadSize: DEV + 12, AcquisitionMode: DEV + 16, AcquisitionStart: DEV + 20, AcquisitionStop: DEV + 24, TriggerSelector: DEV + 28, TriggerMode: DEV + 32, TriggerSource: DEV + 36, TriggerSoftware: DEV + 40 };
const XML_ADDRESS = 0x100000;

function peerXml(triggerSources) {
  const reg = (name, addr, access = 'RW', extra = '') =>
    `<IntReg Name="${name}Reg"><Address>0x${addr.toString(16)}</Address><Length>4</Length><AccessMode>${access}</AccessMode><pPort>Device</pPort>${extra}<Endianess>BigEndian</Endianess></IntReg>`;
  const int = (name, access, extra) => `<Integer Name="${name}"><pValue>${name}Reg</pValue></Integer>${reg(name, R[name], access, extra)}`;
  const enumeration = (name, entries) =>
    `<Enumeration Name="${name}">${entries.map(([n, v]) => `<EnumEntry Name="${n}"><Value>${v}</Value></EnumEntry>`).join('')}<pValue>${name}Reg</pValue></Enumeration>${reg(name, R[name])}`;
  const command = (name) => `<Command Name="${name}"><pValue>${name}Reg</pValue><CommandValue>1</CommandValue></Command>${reg(name, R[name], 'WO')}`;
  return `<?xml version="1.0"?>
<RegisterDescription ModelName="PeerCam" VendorName="SpotFusion" xmlns="http://www.genicam.org/GenApi/Version_1_0">
  <Category Name="Root"><pFeature>Width</pFeature><pFeature>Height</pFeature><pFeature>TriggerMode</pFeature></Category>
  ${int('Width', 'RW')}
  ${int('Height', 'RW')}
  ${int('PayloadSize', 'RO', '<Cachable>NoCache</Cachable>')}
  ${enumeration('PixelFormat', [['Mono8', 0x01080001]])}
  ${enumeration('AcquisitionMode', [['Continuous', 0]])}
  ${command('AcquisitionStart')}
  ${command('AcquisitionStop')}
  ${enumeration('TriggerSelector', [['FrameStart', 0]])}
  ${enumeration('TriggerMode', [['Off', 0], ['On', 1]])}
  ${enumeration('TriggerSource', triggerSources.map((n, i) => [n, i]))}
  ${command('TriggerSoftware')}
  <Port Name="Device"/>
</RegisterDescription>`;
}

/** The peer camera's test pattern: pixel (x, y) of block n is (x + 2y + n) mod 256. */
function peerPattern(width, height, n) {
  const b = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) b[y * width + x] = (x + 2 * y + n) & 0xff;
  return b;
}

/**
 * A small GigE Vision camera on 127.0.0.1 (ephemeral GVCP port): discovery, control, bootstrap and device registers,
 * the GenICam XML from the first-URL register, stream channel set-up, PACKETRESEND, and GVSP frames of
 * peerPattern(). Its trigger sources are `triggerSources` (default Line1, Software). pulse() is a rising edge on
 * the first line: with TriggerMode On and that line as TriggerSource while acquiring, the camera sends a frame on
 * its own, as a hardware-triggered camera does (`lose`: packet ids that never arrive, not even when resent; `drop`:
 * packet ids lost once, sent when asked again).
 * `image(blockId, width, height)`: the Mono8 pixels of each frame (default peerPattern). dieMidFrame() and powerOn():
 * a camera that loses power in the middle of sending a frame and, later, boots again. `canResend` (default true): what
 * its GVCP capability register says about PACKETRESEND; `resends` lists the PACKETRESEND requests it got.
 * `testPackets`: it answers SCPS writes with the fire-test-packet bit by sending one test packet of that size, when
 * the size is at most `linkMtu` (a link that drops larger packets); `testFires` lists the sizes asked.
 */
async function gigeCameraPeer({ width = 64, height = 48, triggerSources = ['Line1', 'Software'], image, canResend = true, testPackets = false, linkMtu = 65536 } = {}) {
  const gvcp = await bindUdp();
  const stream = await bindUdp();
  const xml = Buffer.from(peerXml(triggerSources));
  const mem = new Map(); // address → Buffer (first URL, XML)
  const url = Buffer.alloc(512);
  url.write(`Local:peer.xml;${XML_ADDRESS.toString(16)};${xml.length.toString(16)}`);
  mem.set(P.Reg.FIRST_URL, url);
  mem.set(XML_ADDRESS, xml);
  const regs = new Map([
    [P.Reg.HEARTBEAT_TIMEOUT, 3000],
    [P.Reg.STREAM_CHANNELS, 1],
    [P.Reg.GVCP_CAPABILITY, canResend ? P.CAP_PACKET_RESEND : 0],
    [P.Reg.CCP, 0],
    [P.Reg.SCPS0, 1500],
    [R.Width, width],
    [R.Height, height],
    [R.PixelFormat, 0x01080001],
  ]);
  const blocks = new Map();
  const lost = new Map();
  const state = { acquiring: false, blockId: 0, sent: 0, answering: true, dead: false, dying: undefined };
  const boot = new Map(regs);
  const writes = [];
  const resends = [];
  // SCPS writes with the fire-test-packet bit, and the sizes whose test packet was sent (not larger than linkMtu)
  const testFires = [];

  function readMem(address, count) {
    for (const [base, buf] of mem) {
      if (address >= base && address + count <= base + buf.length) {
        const out = Buffer.alloc(count);
        buf.copy(out, 0, address - base, Math.min(buf.length, address - base + count));
        return out;
      }
    }
    return undefined;
  }

  async function sendFrame({ lose = state.loseNext ?? [], drop = [] } = {}) {
    state.loseNext = undefined;
    const port = regs.get(P.Reg.SCP0) ?? 0;
    if (!port) return undefined;
    state.blockId = state.blockId >= 0xffff ? 1 : state.blockId + 1;
    const id = state.blockId;
    const w = regs.get(R.Width);
    const h = regs.get(R.Height);
    const pk = blockPackets(id, w, h, image ? image(id, w, h) : peerPattern(w, h, id), regs.get(P.Reg.SCPS0) & 0xffff);
    blocks.set(id, pk);
    lost.set(id, new Set(lose));
    for (const [i, packet] of pk.entries()) {
      if (state.dead) return undefined;
      if (state.dying && i === state.dying.afterPackets) {
        // power gone in the middle of the block: no more packets, no more answers
        const d = state.dying;
        state.dying = undefined;
        state.dead = true;
        state.answering = false;
        d.resolve({ blockId: id, sent: i, total: pk.length });
        return undefined;
      }
      if (lose.includes(i) || drop.includes(i)) continue;
      await new Promise((r) => stream.send(packet, port, P.ipToString(regs.get(P.Reg.SCDA0) ?? 0x7f000001), r));
    }
    state.sent += 1;
    return id;
  }

  const fire = () => sendFrame().catch(() => undefined);

  gvcp.on('message', (msg, rinfo) => {
    const cmd = P.decodeCommand(msg);
    if (!cmd || !state.answering) return;
    const reply = (status, payload = Buffer.alloc(0)) => gvcp.send(P.encodeAck(status, cmd.command + 1, cmd.reqId, payload), rinfo.port, rinfo.address);
    const p = cmd.payload;
    switch (cmd.command) {
      case P.Cmd.DISCOVERY: {
        const d = Buffer.alloc(248);
        d.writeUInt16BE(2, 0);
        d.writeUInt16BE(0x0011, 10);
        d.writeUInt32BE(0x22334455, 12);
        d.writeUInt32BE(0x7f000001, 0x24);
        d.write('SpotFusion', 0x48);
        d.write('PeerCam', 0x68);
        d.write('PEER1', 0xd8);
        return reply(0, d);
      }
      case P.Cmd.READREG: {
        const out = Buffer.alloc(p.length);
        for (let i = 0; i < p.length; i += 4) {
          const a = p.readUInt32BE(i);
          const v = a === R.PayloadSize ? regs.get(R.Width) * regs.get(R.Height) : regs.get(a) ?? 0;
          out.writeUInt32BE(v >>> 0, i);
        }
        return reply(0, out);
      }
      case P.Cmd.WRITEREG: {
        for (let i = 0; i < p.length; i += 8) {
          const a = p.readUInt32BE(i);
          const v = p.readUInt32BE(i + 4);
          writes.push([a, v]);
          if (a === R.AcquisitionStart) state.acquiring = true;
          else if (a === R.AcquisitionStop) state.acquiring = false;
          else if (a === P.Reg.SCPS0 && v & P.SCPS_FIRE_TEST) {
            // a test packet of the asked size (IP and UDP headers included), unless the "link" cannot carry it
            // (do-not-fragment: a larger one is dropped on the way)
            const size = v & 0xffff;
            testFires.push(size);
            regs.set(a, (v & ~P.SCPS_FIRE_TEST) >>> 0);
            if (testPackets && size <= linkMtu && regs.get(P.Reg.SCP0)) {
              stream.send(Buffer.alloc(size - 28), regs.get(P.Reg.SCP0), P.ipToString(regs.get(P.Reg.SCDA0) ?? 0x7f000001));
            }
          } else if (a === R.TriggerSoftware) {
            if (state.acquiring && regs.get(R.TriggerMode) === 1 && triggerSources[regs.get(R.TriggerSource) ?? 0] === 'Software') setImmediate(fire);
          } else regs.set(a, v);
        }
        return reply(0, Buffer.from([0, 0, 0, p.length / 8]));
      }
      case P.Cmd.READMEM: {
        const a = p.readUInt32BE(0);
        const n = p.readUInt16BE(6);
        const data = readMem(a, n);
        if (!data) return reply(0x8003);
        const out = Buffer.alloc(4 + n);
        out.writeUInt32BE(a, 0);
        data.copy(out, 4);
        return reply(0, out);
      }
      case P.Cmd.PACKETRESEND: {
        const blockId = p.readUInt16BE(2);
        const first = p.readUInt32BE(4) & 0xffffff;
        const last = p.readUInt32BE(8) & 0xffffff;
        resends.push({ blockId, first, last });
        const pk = blocks.get(blockId);
        if (!pk) return undefined;
        for (let i = first; i <= last; i++) {
          if (!pk[i] || lost.get(blockId)?.has(i)) continue;
          const copy = Buffer.from(pk[i]);
          copy.writeUInt16BE(0x0100, 0);
          stream.send(copy, regs.get(P.Reg.SCP0) ?? 0, '127.0.0.1');
        }
        return undefined;
      }
      default:
        return reply(0x8001);
    }
  });

  return {
    port: gvcp.address().port,
    regs,
    R,
    writes,
    resends,
    testFires,
    get acquiring() {
      return state.acquiring;
    },
    get sent() {
      return state.sent;
    },
    /** the next frame the camera sends (on any trigger) lacks these packet ids, even when asked again */
    loseNext(ids) {
      state.loseNext = ids;
    },
    /** stop answering GVCP (a camera that was unplugged) or start again */
    set answering(v) {
      state.answering = v;
    },
    /**
     * The camera dies in the middle of the next frame it sends: after `afterPackets` packets of that block it sends
     * nothing more and answers no GVCP command (not even PACKETRESEND). Resolves with { blockId, sent, total } then.
     */
    dieMidFrame({ afterPackets = 10 } = {}) {
      return new Promise((resolve) => {
        state.dying = { afterPackets, resolve };
      });
    },
    get dead() {
      return state.dead;
    },
    /** Power comes back: the camera boots with its registers as at the start (no controller, no stream, not acquiring). */
    powerOn() {
      regs.clear();
      for (const [a, v] of boot) regs.set(a, v);
      blocks.clear();
      lost.clear();
      state.acquiring = false;
      state.blockId = 0;
      state.dead = false;
      state.dying = undefined;
      state.answering = true;
    },
    /** the first line goes high: a frame when armed for it; resolves with the block id, or undefined when not armed */
    pulse(opts = {}) {
      const line = triggerSources.find((n) => n !== 'Software');
      const armed = state.acquiring && regs.get(R.TriggerMode) === 1 && triggerSources[regs.get(R.TriggerSource) ?? 0] === line;
      return armed ? sendFrame(opts) : Promise.resolve(undefined);
    },
    pattern: (n) => peerPattern(regs.get(R.Width), regs.get(R.Height), n),
    close: async () => {
      await new Promise((r) => gvcp.close(r));
      await new Promise((r) => stream.close(r));
    },
  };
}

module.exports = { gvcpPeer, gvspSender, blockPackets, bindUdp, gigeCameraPeer, peerPattern };
