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

module.exports = { gvcpPeer, gvspSender, blockPackets, bindUdp };
