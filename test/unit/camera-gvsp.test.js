'use strict';
const assert = require('node:assert/strict');
const { GvcpClient } = require('../../dist/nodes/lib/camera/gige/gvcp');
const { GvspReceiver } = require('../../dist/nodes/lib/camera/gige/gvsp');
const P = require('../../dist/nodes/lib/camera/gige/protocol');
const { gvcpPeer, gvspSender } = require('../support/gige-peer');
const { nextEvent } = require('../support/wait');

const W = 64;
const H = 48;
const PACKET = 36 + 256; // 256 payload bytes per packet: 12 payload packets per 64×48 frame

function image(seed) {
  const b = Buffer.alloc(W * H);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

describe('GVCP client against our own scripted peer (127.0.0.1)', function () {
  let peer;
  let client;
  afterEach(async function () {
    await client?.close();
    await peer?.close();
    client = peer = undefined;
  });

  it('reads and writes registers and memory with increasing request ids, ignoring stale acks', async function () {
    const regs = new Map([[0x0938, 3000]]);
    const mem = Buffer.from('Local:cam.xml;10000;20\0'.padEnd(600, '\0'));
    peer = await gvcpPeer((cmd, reply) => {
      // a stale ack with a wrong id first: the client must ignore it
      reply(0, Buffer.alloc(4), cmd.command + 1, (cmd.reqId + 100) & 0xffff);
      if (cmd.command === P.Cmd.READREG) {
        const out = Buffer.alloc(cmd.payload.length);
        for (let i = 0; i < cmd.payload.length; i += 4) out.writeUInt32BE(regs.get(cmd.payload.readUInt32BE(i)) ?? 0, i);
        reply(0, out);
      } else if (cmd.command === P.Cmd.WRITEREG) {
        for (let i = 0; i < cmd.payload.length; i += 8) regs.set(cmd.payload.readUInt32BE(i), cmd.payload.readUInt32BE(i + 4));
        reply(0, Buffer.from([0, 0, 0, cmd.payload.length / 8]));
      } else if (cmd.command === P.Cmd.READMEM) {
        const a = cmd.payload.readUInt32BE(0);
        const n = cmd.payload.readUInt16BE(6);
        assert.ok(n <= 512 && n % 4 === 0, `READMEM count ${n}`);
        const out = Buffer.alloc(4 + n);
        out.writeUInt32BE(a, 0);
        mem.copy(out, 4, a - 0x200, a - 0x200 + n);
        reply(0, out);
      } else if (cmd.command === P.Cmd.WRITEMEM) {
        reply(0, Buffer.alloc(4));
      }
    });
    client = new GvcpClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 200, retries: 1 });
    assert.equal(await client.readReg(0x0938), 3000);
    await client.writeRegs([[0x0a00, 2], [0x0d00, 5000]]);
    assert.deepEqual(await client.readRegs([0x0a00, 0x0d00]), [2, 5000]);
    const url = await client.readMem(0x200, 600);
    assert.equal(url.toString('latin1', 0, 22), 'Local:cam.xml;10000;20');
    await client.writeMem(0x1000, Buffer.alloc(700, 1));
    const ids = peer.seen.map((c) => c.reqId);
    assert.deepEqual(ids, ids.map((_v, i) => i + 1), 'one id per request, from 1');
    assert.ok(peer.seen.every((c) => c.flags & P.FLAG_ACK_REQUIRED));
    assert.ok(client.stats.stale >= ids.length, 'stale acks were ignored');
  });

  it('retries after a lost ack, then fails with a clear timeout', async function () {
    let n = 0;
    peer = await gvcpPeer((cmd, reply) => {
      n += 1;
      if (n === 1) return; // first try lost
      if (cmd.payload.readUInt32BE(0) === 0x0004) return; // never answered
      reply(0, Buffer.from([0, 0, 0, 7]));
    });
    client = new GvcpClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 80, retries: 2 });
    assert.equal(await client.readReg(0x0000), 7);
    assert.equal(client.stats.retries, 1);
    assert.equal(peer.seen[0].reqId, peer.seen[1].reqId, 'a retry keeps its request id');
    await assert.rejects(client.readReg(0x0004), (e) => e.code === 'TIMEOUT' && /READREG 0x0004: no answer from camera 127\.0\.0\.1:\d+ after 3 tries of 80 ms/.test(e.message));
  });

  it('waits longer on PENDING_ACK and turns error statuses into readable errors', async function () {
    peer = await gvcpPeer((cmd, reply) => {
      const addr = cmd.payload.readUInt32BE(0);
      if (addr === 0x10) {
        const pend = Buffer.alloc(4);
        pend.writeUInt16BE(250, 2);
        reply(0, pend, P.Cmd.PENDING);
        setTimeout(() => reply(0, Buffer.from([0, 0, 0, 42])), 200);
      } else if (addr === 0x0a00) {
        reply(0x8006);
      } else {
        reply(0x8003);
      }
    });
    client = new GvcpClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 100, retries: 0 });
    assert.equal(await client.readReg(0x10), 42, 'PENDING_ACK extended the 100 ms timeout');
    assert.equal(client.stats.pending, 1);
    await assert.rejects(client.writeReg(0x0a00, 2), (e) => e.code === 'ACCESS_DENIED' && /ACCESS_DENIED \(access denied: another host holds control/.test(e.message));
    await assert.rejects(client.readReg(0x9999), /camera answered INVALID_ADDRESS \(the address does not exist/);
    assert.equal(P.statusName(0x1234), '0x1234');
  });

  it('discovers by unicast and parses the DISCOVERY_ACK', async function () {
    peer = await gvcpPeer((cmd, reply) => {
      assert.equal(cmd.command, P.Cmd.DISCOVERY);
      const p = Buffer.alloc(248);
      p.writeUInt16BE(2, 0);
      p.writeUInt16BE(0x0011, 10);
      p.writeUInt32BE(0x22334455, 12);
      p.writeUInt32BE(P.ipToNumber('127.0.0.1'), 0x24);
      p.write('SpotFusion', 0x48);
      p.write('PeerCam', 0x68);
      p.write('SN42', 0xd8);
      reply(0, p);
    });
    client = new GvcpClient({ host: '127.0.0.1', port: peer.port });
    const info = await client.discover();
    assert.equal(info.mac, '00:11:22:33:44:55');
    assert.equal(info.model, 'PeerCam');
    assert.equal(info.serial, 'SN42');
    assert.equal(info.ip, '127.0.0.1');
    assert.throws(() => P.parseDiscoveryAck(Buffer.alloc(10)), /248/);
    assert.throws(() => P.ipToNumber('300.1.1.1'), /not an IPv4/);
  });

  it('fails queued requests when closed', async function () {
    peer = await gvcpPeer(() => undefined);
    client = new GvcpClient({ host: '127.0.0.1', port: peer.port, timeoutMs: 1000 });
    const a = client.readReg(0);
    const b = client.readReg(4);
    await new Promise((r) => setTimeout(r, 20));
    await client.close();
    await assert.rejects(a, (e) => e.code === 'CLOSED');
    await assert.rejects(b, (e) => e.code === 'CLOSED');
    await assert.rejects(client.readReg(0), /closed/);
  });
});

describe('GVSP receiver against our own sender (127.0.0.1)', function () {
  let sender;
  let rx;
  let gvcp;
  async function setup({ resend = true, resendEnabled = true, maxResendRounds = 3, poolSize } = {}) {
    sender = await gvspSender({ width: W, height: H, packetSize: PACKET, resendEnabled });
    gvcp = new GvcpClient({ host: '127.0.0.1', port: sender.controlPort });
    rx = new GvspReceiver({
      localAddress: '127.0.0.1',
      packetSize: PACKET,
      maxPayload: W * H,
      resend: resend ? (b, f, l) => gvcp.packetResend(0, b, f, l) : undefined,
      maxResendRounds,
      resendWaitMs: 20,
      poolSize,
    });
    sender.target = await rx.bind();
  }
  afterEach(async function () {
    await rx?.close();
    await gvcp?.close();
    await sender?.close();
    rx = gvcp = sender = undefined;
  });

  it('assembles a complete frame byte-exact and asks for a large receive buffer', async function () {
    await setup();
    const got = nextEvent(rx, 'frame');
    await sender.send(1, image(1));
    const f = await got;
    assert.equal(f.blockId, 1);
    assert.equal(f.width, W);
    assert.equal(f.height, H);
    assert.equal(f.pixelFormat, 'Mono8');
    assert.equal(f.timestamp, 123456789n);
    assert.ok(f.data.equals(image(1)));
    assert.ok(rx.recvBufferBytes >= 200 * 1024, `SO_RCVBUF ${rx.recvBufferBytes}`);
  });

  it('assembles packets that arrive out of order and ignores duplicates', async function () {
    await setup();
    const got = nextEvent(rx, 'frame');
    const order = [13, 5, 0, 12, 1, 2, 3, 4, 11, 10, 9, 8, 7, 6];
    await sender.send(7, image(7), { order, duplicate: [3, 9] });
    const f = await got;
    assert.ok(f.data.equals(image(7)));
    assert.equal(rx.stats.duplicates, 2);
    assert.equal(rx.stats.resendRequests, 0);
  });

  it('asks for lost packets with PACKETRESEND (one request per range) and completes the frame', async function () {
    await setup();
    const got = nextEvent(rx, 'frame');
    await sender.send(3, image(3), { drop: [2, 3, 4, 9] });
    const f = await got;
    assert.ok(f.data.equals(image(3)));
    assert.equal(f.resent, 4);
    assert.deepEqual(sender.resendRequests, [{ blockId: 3, first: 2, last: 4 }, { blockId: 3, first: 9, last: 9 }]);
    assert.equal(rx.stats.incomplete, 0);
  });

  it('recovers a lost leader and a lost trailer through resends', async function () {
    await setup();
    let got = nextEvent(rx, 'frame');
    await sender.send(4, image(4), { drop: [0] });
    assert.ok((await got).data.equals(image(4)));
    got = nextEvent(rx, 'frame');
    await sender.send(5, image(5), { drop: [13] });
    // nothing tells the receiver the block ended until the next block starts (or the block timeout)
    await sender.send(6, image(6));
    const a = await got;
    assert.equal(a.blockId, 6);
    const b = await nextEvent(rx, 'frame');
    assert.equal(b.blockId, 5);
    assert.ok(b.data.equals(image(5)));
  });

  it('drops and counts a frame that stays incomplete (camera without resend)', async function () {
    await setup({ resendEnabled: false, maxResendRounds: 2 });
    const inc = nextEvent(rx, 'incomplete');
    await sender.send(9, image(9), { drop: [5] });
    const info = await inc;
    assert.equal(info.blockId, 9);
    assert.equal(info.missing, 1);
    assert.match(info.reason, /1 packet\(s\) missing/);
    assert.equal(rx.stats.incomplete, 1);
    assert.equal(rx.stats.lostPackets, 1);
    assert.equal(sender.resendRequests.length, 2, 'two rounds asked');
    // the next complete frame still comes through, and a late packet of the dropped block is ignored
    const got = nextEvent(rx, 'frame');
    await sender.send(10, image(10));
    assert.ok((await got).data.equals(image(10)));
  });

  it('without a resend path, drops an incomplete frame at once', async function () {
    await setup({ resend: false });
    const inc = nextEvent(rx, 'incomplete');
    await sender.send(2, image(2), { drop: [1] });
    assert.equal((await inc).missing, 1);
    assert.equal(sender.resendRequests.length, 0);
  });

  it('never jams when every buffer holds an incomplete block: the oldest is reported once and recycled, the new block is kept', async function () {
    // resends are asked but never answered (a camera that cannot resend): each incomplete block would be held
    await setup({ resendEnabled: false, poolSize: 4 });
    const incomplete = [];
    const frames = [];
    rx.on('incomplete', (i) => incomplete.push(i));
    rx.on('frame', (f) => frames.push({ blockId: f.blockId, ok: f.data.equals(image(f.blockId)) }));
    for (let b = 1; b <= 10; b++) await sender.send(b, image(b), { drop: [5] });
    for (let b = 11; b <= 14; b++) await sender.send(b, image(b));
    const until = Date.now() + 3000;
    while ((frames.length < 4 || incomplete.length < 10) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(frames, [11, 12, 13, 14].map((blockId) => ({ blockId, ok: true })), 'the complete blocks after the lossy ones all arrive');
    assert.deepEqual(incomplete.map((i) => i.blockId).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'each lossy block reported once');
    assert.ok(incomplete.every((i) => i.missing === 1), JSON.stringify(incomplete));
  });

  it('holds an incomplete block for at most holdMs, whatever the resend rounds', async function () {
    sender = await gvspSender({ width: W, height: H, packetSize: PACKET, resendEnabled: false });
    gvcp = new GvcpClient({ host: '127.0.0.1', port: sender.controlPort });
    rx = new GvspReceiver({ localAddress: '127.0.0.1', packetSize: PACKET, maxPayload: W * H, resend: (b, f, l) => gvcp.packetResend(0, b, f, l), maxResendRounds: 1000, resendWaitMs: 10, holdMs: 60 });
    sender.target = await rx.bind();
    const inc = nextEvent(rx, 'incomplete', 2000);
    await sender.send(30, image(30), { drop: [7] });
    const info = await inc;
    assert.equal(info.blockId, 30);
    assert.ok(sender.resendRequests.length >= 2 && sender.resendRequests.length <= 8, `${sender.resendRequests.length} rounds in 60 ms of 10 ms each`);
  });

  it('follows the 16-bit block id across the wrap 65535 → 1', async function () {
    await setup();
    const ids = [];
    rx.on('frame', (f) => ids.push(f.blockId));
    for (const b of [65534, 65535, 1, 2]) await sender.send(b, image(b & 0xff));
    const until = Date.now() + 2000;
    while (ids.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(ids, [65534, 65535, 1, 2]);
  });

  it('reports an unsupported pixel format and rejects bad packets without crashing', async function () {
    await setup();
    const uns = nextEvent(rx, 'unsupported');
    const inc = nextEvent(rx, 'incomplete');
    await sender.send(11, image(11), { pixelFormat: 0x010c0004 });
    assert.match(await uns, /0x010c0004/);
    assert.match((await inc).reason, /unsupported pixel format/);
    const { bindUdp } = require('../support/gige-peer');
    const s = await bindUdp();
    for (const junk of [Buffer.alloc(3), Buffer.from([0, 0, 0, 0, 3, 0, 0, 1]), Buffer.from([0x80, 1, 0, 5, 3, 0, 0, 1])]) {
      await new Promise((r) => s.send(junk, sender ? rx.port : 0, '127.0.0.1', r));
    }
    await new Promise((r) => s.close(r));
    const got = nextEvent(rx, 'frame');
    await sender.send(12, image(12));
    assert.ok((await got).data.equals(image(12)));
    assert.ok(rx.stats.badPackets >= 3);
  });

  it('reuses pooled buffers given back with release()', async function () {
    await setup({ poolSize: 2 });
    let f = nextEvent(rx, 'frame');
    await sender.send(20, image(20));
    const first = await f;
    const ab = first.data.buffer;
    rx.release(first.data);
    f = nextEvent(rx, 'frame');
    await sender.send(21, image(21));
    const second = await f;
    assert.equal(second.data.buffer, ab, 'same pooled buffer');
    assert.ok(second.data.equals(image(21)));
    assert.throws(() => new GvspReceiver({ localAddress: '127.0.0.1', packetSize: 20, maxPayload: 10 }), /too small/);
    assert.throws(() => new GvspReceiver({ localAddress: '127.0.0.1', packetSize: 1500, maxPayload: 0 }), /payload size/);
  });
});
