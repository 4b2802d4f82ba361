'use strict';
// GVCP/GVSP packet parsers (nodes/lib/camera/gige/): the stateless decoders, the GVSP receiver's block
// assembly (leader/payload/trailer, resends, timeouts, pool) fed with hostile packet sequences, and the GVCP
// client's acknowledge handling while a request waits.
const dgram = require('node:dgram');
const P = require('../../../dist/nodes/lib/camera/gige/protocol');
const { GvspReceiver } = require('../../../dist/nodes/lib/camera/gige/gvsp');
const { GvcpClient } = require('../../../dist/nodes/lib/camera/gige/gvcp');
const { SpotFusionError } = require('../../../dist/nodes/lib/errors');
const { expectOwnError } = require('../own-error');

/** The stateless decoders: undefined, a value, or a GVCP error for anything. */
async function decoders({ fc, params, progress }) {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      progress(bytes);
      const b = Buffer.from(bytes);
      P.decodeAck(b);
      P.decodeCommand(b);
      const h = P.decodeGvspHeader(b);
      if (h && (h.packetId < 0 || h.packetId > 0xffffff)) throw new Error(`packet id ${h.packetId}`);
      P.decodeImageLeader(b);
      try {
        const d = P.parseDiscoveryAck(b);
        if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(d.mac)) throw new Error(`mac ${d.mac}`);
      } catch (err) {
        expectOwnError(err, SpotFusionError, ['GVCP'], 'parseDiscoveryAck');
      }
    }),
    params,
  );
}

const W = 16;
const H = 8;
const PER = 32; // payload bytes per packet → 4 payload packets per Mono8 frame

function packetArb(fc) {
  const header = fc.record({
    status: fc.constantFrom(0, 0, 0, 0x100, 0x8001),
    blockId: fc.constantFrom(0, 1, 1, 2, 3, 65535),
    format: fc.constantFrom(1, 2, 3, 3, 3, 0, 7),
    packetId: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(7, 100, 0xffffff)),
  });
  const leader = fc.record({
    pixelFormat: fc.constantFrom(0x01080001, 0x01100005, 0x02180014, 0x12345678),
    width: fc.constantFrom(W, 0, 1, 17, 100000, 0xffffffff),
    height: fc.constantFrom(H, 0, 3, 0xffffffff),
    payloadType: fc.constantFrom(1, 1, 1, 2),
  });
  return fc.tuple(header, leader, fc.uint8Array({ maxLength: 48 }), fc.boolean(), fc.nat(8)).map(([h, l, raw, structured, cut]) => {
    let body;
    if (h.format === 1 && structured) {
      body = P.encodeImageLeader({ timestamp: 5n, pixelFormat: l.pixelFormat, width: l.width >>> 0, height: l.height >>> 0, offsetX: 0, offsetY: 0, paddingX: 0, paddingY: 0 });
      body.writeUInt16BE(l.payloadType, 2);
    } else body = Buffer.from(raw);
    const pkt = P.encodeGvspHeader(h, body);
    if (h.format === 0) pkt[4] = 0x81; // extended ids
    return cut ? pkt.subarray(0, Math.max(0, pkt.length - cut * 5)) : pkt;
  });
}

/** Block assembly: any packet sequence ends in frames of the announced size or 'incomplete' events; close frees every timer. */
async function receiver({ fc, params, progress }) {
  await fc.assert(
    fc.asyncProperty(fc.array(packetArb(fc), { maxLength: 24 }), fc.boolean(), async (packets, withResend) => {
      progress(packets.map((p) => p.toString('hex')));
      const r = new GvspReceiver({
        localAddress: '127.0.0.1',
        packetSize: 36 + PER,
        maxPayload: W * H * 3,
        poolSize: 2,
        resend: withResend ? () => undefined : undefined,
        maxResendRounds: 1,
        resendWaitMs: 0,
        blockTimeoutMs: 3,
      });
      const problems = [];
      r.on('frame', (f) => {
        const info = P.PIXEL_FORMATS[f.pixelFormatCode];
        if (!info || f.data.length !== (f.width * f.height * info.bitsPerPixel) / 8) problems.push(`frame of ${f.data.length} bytes for ${f.width}×${f.height} ${f.pixelFormat}`);
        r.release(f.data);
      });
      r.on('incomplete', (i) => {
        if (typeof i.reason !== 'string' || i.reason === '') problems.push('incomplete without a reason');
      });
      try {
        for (const p of packets) r.onPacket(p);
        await new Promise((res) => setTimeout(res, 6));
      } finally {
        await r.close();
      }
      if (r.inAssembly !== 0) problems.push(`${r.inAssembly} block(s) left after close`);
      if (problems.length) throw new Error(problems.join('; '));
    }),
    params,
  );
}

/** GVCP client: random acknowledges to a waiting READREG (right and wrong ids, PENDING, statuses, short payloads). */
async function client({ fc, params, progress }) {
  const sink = dgram.createSocket('udp4');
  sink.on('error', () => undefined);
  await new Promise((res) => sink.bind(0, '127.0.0.1', res));
  const c = new GvcpClient({ host: '127.0.0.1', port: sink.address().port, timeoutMs: 4, retries: 0 });
  c.on('socket-error', () => undefined);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            status: fc.constantFrom(0, 0, 0x8001, 0x8006, 0xffff),
            answer: fc.constantFrom(P.Cmd.READREG + 1, P.Cmd.READREG + 1, P.Cmd.PENDING, P.Cmd.READMEM + 1, 0),
            rightId: fc.boolean(),
            payload: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constant(Uint8Array.from([0, 0, 0, 2]))),
            cut: fc.nat(10),
          }),
          { maxLength: 4 },
        ),
        async (acks) => {
          progress(acks);
          const p = c.readRegs([0x100, 0x104]).then(
            (v) => ({ v }),
            (e) => ({ e }),
          );
          for (let i = 0; i < 20 && !c.current; i++) await new Promise((res) => setImmediate(res));
          for (const a of acks) {
            const cur = c.current;
            if (!cur) break;
            const payload = a.answer === P.Cmd.PENDING ? Buffer.from([0, 0, 0, 2]) : Buffer.from(a.payload);
            const pkt = P.encodeAck(a.status, a.answer, a.rightId ? cur.id : (cur.id + 7) & 0xffff, payload.subarray(0, payload.length - (payload.length % 4)));
            c.onMessage(pkt.subarray(0, Math.max(0, pkt.length - a.cut)));
          }
          const out = await p;
          if (out.e) expectOwnError(out.e, SpotFusionError, ['GVCP', 'GVCP_STATUS', 'ACCESS_DENIED', 'TIMEOUT'], 'readRegs');
          else if (!Array.isArray(out.v) || out.v.length !== 2) throw new Error(`readRegs gave ${JSON.stringify(out.v)}`);
        },
      ),
      params,
    );
  } finally {
    await c.close();
    sink.close();
  }
}

module.exports = { decoders, receiver, client };
