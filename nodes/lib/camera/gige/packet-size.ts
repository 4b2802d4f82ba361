/**
 * GVSP packet size negotiation (GigE Vision's SCPS test packets): the host writes SCPS with the "fire test packet"
 * and "do not fragment" bits and a size; the camera sends one test packet of that size (IP and UDP headers
 * included) to the stream channel's destination. The largest size whose test packet arrives is taken, searched
 * between the 1500-byte class and the upper bound (the local interface's MTU, the camera's GevSCPSPacketSize
 * maximum, and `max`, 9000 by default). A camera that fires no test packet at all (the aravis fake camera
 * does not implement them) gets the upper bound the local link allows; one whose test packets stop above 1500
 * bytes gets the largest that arrived, at least the 1500-byte class.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { GvcpClient } from './gvcp';
import { ipToNumber, Reg, SCPS_DO_NOT_FRAGMENT, SCPS_FIRE_TEST } from './protocol';

/** IP (20) + UDP (8) header bytes: a test packet of packet size S carries S − 28 bytes of UDP payload */
const IP_UDP = 28;
/** the smallest packet size the GigE Vision spec lets a camera be asked for */
export const MIN_PACKET_SIZE = 576;
/** the 1500-byte Ethernet class: what a plain link carries, the fallback */
export const STANDARD_PACKET_SIZE = 1500;
/** the largest size negotiated unless the setting allows more (the usual jumbo frame) */
export const JUMBO_PACKET_SIZE = 9000;

export interface PacketSizeChoice {
  size: number;
  /** how it was chosen: test packets answered, the link's MTU (the camera fires none), or the setting */
  how: 'test-packets' | 'link-mtu' | 'fixed';
  /** a line for the log: the size, how, and the bounds */
  note: string;
}

/** The MTU of the local interface that holds `address` (Linux /sys/class/net), or undefined. */
export function linkMtu(address: string): { name: string; mtu: number } | undefined {
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (!list?.some((a) => a.address === address)) continue;
    try {
      const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
      return Number.isInteger(mtu) && mtu > 0 ? { name, mtu } : undefined;
    } catch (e) {
      // not Linux, or sysfs not mounted: the caller keeps the other bounds
      void e;
      return undefined;
    }
  }
  return undefined;
}

export interface NegotiateOptions {
  gvcp: GvcpClient;
  /** local address the camera streams to (where the probe socket is bound) */
  localAddress: string;
  /** largest size to try (already bounded by the link MTU and the camera's maximum) */
  upper: number;
  /** the camera's GevSCPSPacketSize increment, default 4 */
  inc?: number;
  /** fires per size before it counts as not arriving (default 3) and ms to wait after each (default 50) */
  tries?: number;
  waitMs?: number;
}

/**
 * Probe with test packets; resolves with the largest size that arrived, or undefined when the camera answered no
 * test packet at all (not even at the 1500-byte class or the minimum). Leaves SCPS at the chosen size with the
 * do-not-fragment bit, or as it found it when it resolves undefined. SCDA/SCP point at the probe socket meanwhile.
 */
export async function probePacketSize(o: NegotiateOptions): Promise<number | undefined> {
  const inc = Math.max(1, o.inc ?? 4);
  const tries = o.tries ?? 3;
  const waitMs = o.waitMs ?? 50;
  const sock = dgram.createSocket('udp4');
  // the latest test packet's UDP payload length, and who waits for it
  let waiting: { want: number; resolve: (ok: boolean) => void } | undefined;
  sock.on('message', (m) => {
    if (waiting && m.length === waiting.want) waiting.resolve(true);
  });
  let sockError: Error | undefined;
  sock.on('error', (e) => (sockError = e));
  await new Promise<void>((resolve, reject) => {
    sock.bind({ port: 0, address: o.localAddress, exclusive: true }, () => resolve());
    sock.once('error', reject);
  });
  const before = await o.gvcp.readReg(Reg.SCPS0);
  const arrives = async (size: number): Promise<boolean> => {
    for (let t = 0; t < tries; t++) {
      let timer: NodeJS.Timeout | undefined;
      const got = new Promise<boolean>((resolve) => {
        waiting = { want: size - IP_UDP, resolve };
        timer = setTimeout(() => resolve(false), waitMs);
      });
      await o.gvcp.writeReg(Reg.SCPS0, (SCPS_FIRE_TEST | SCPS_DO_NOT_FRAGMENT | size) >>> 0);
      const ok = await got;
      clearTimeout(timer);
      waiting = undefined;
      if (sockError) throw sockError;
      if (ok) return true;
    }
    return false;
  };
  let best: number | undefined;
  try {
    await o.gvcp.writeReg(Reg.SCDA0, ipToNumber(o.localAddress));
    await o.gvcp.writeReg(Reg.SCP0, sock.address().port);
    const align = (n: number): number => Math.max(MIN_PACKET_SIZE, n - (n % inc));
    const upper = align(o.upper);
    if (await arrives(upper)) {
      best = upper;
    } else {
      // the largest size that arrives, between a size known to arrive and one known not to
      let lo = Math.min(upper, align(STANDARD_PACKET_SIZE));
      if (!(await arrives(lo))) {
        lo = MIN_PACKET_SIZE;
        if (!(await arrives(lo))) return undefined;
      }
      let hi = upper;
      while (hi - lo > inc) {
        const mid = align(lo + Math.floor((hi - lo) / 2));
        if (mid <= lo || mid >= hi) break;
        if (await arrives(mid)) lo = mid;
        else hi = mid;
      }
      best = lo;
    }
    return best;
  } finally {
    waiting = undefined;
    await new Promise<void>((resolve) => sock.close(() => resolve()));
    // the stream channel is set up for real afterwards; SCPS keeps the size found, or what it was
    await o.gvcp.writeReg(Reg.SCP0, 0);
    await o.gvcp.writeReg(Reg.SCPS0, best !== undefined ? (SCPS_DO_NOT_FRAGMENT | best) >>> 0 : before);
  }
}
