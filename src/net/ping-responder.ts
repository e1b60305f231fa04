/**
 * A tiny host endpoint for tests and smoke runs: it owns one IPv4 address on the virtual
 * wire, answers ARP requests for it (RFC 826) and ICMP echo requests to it (RFC 792), and
 * ignores everything else. It lets a single VM prove that its NIC and the guest's driver
 * move frames both ways without a second VM.
 */

import type { NetBackend } from "./backend.js";

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const IP_PROTO_ICMP = 1;

/** The Internet checksum (RFC 1071) over `data[start, end)`. */
export function internetChecksum(data: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if ((end - start) % 2 === 1) sum += data[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export class PingResponder implements NetBackend {
  private receiver: ((frame: Uint8Array) => boolean) | undefined;
  arpReplies = 0;
  echoReplies = 0;
  framesSeen = 0;

  constructor(
    /** Our IPv4 address, 4 bytes. */
    readonly ip: Uint8Array,
    /** Our MAC address, 6 bytes. */
    readonly mac: Uint8Array = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02),
  ) {
    if (ip.length !== 4 || mac.length !== 6)
      throw new RangeError("PingResponder needs a 4-byte IP and a 6-byte MAC");
  }

  setReceiver(receiver: (frame: Uint8Array) => boolean): void {
    this.receiver = receiver;
  }

  send(frame: Uint8Array): boolean {
    this.framesSeen++;
    if (frame.length < 14) return true;
    const type = (frame[12]! << 8) | frame[13]!;
    const reply =
      type === ETHERTYPE_ARP ? this.arp(frame) : type === ETHERTYPE_IPV4 ? this.icmp(frame) : undefined;
    // Answer after the NIC finished this transmit, as a real peer would.
    if (reply !== undefined) queueMicrotask(() => this.receiver?.(reply));
    return true;
  }

  private isOurIp(frame: Uint8Array, at: number): boolean {
    return at + 4 <= frame.length && this.ip.every((b, i) => frame[at + i] === b);
  }

  private arp(f: Uint8Array): Uint8Array | undefined {
    // Ethernet/IPv4 ARP request (htype 1, ptype 0x0800, hlen 6, plen 4, op 1) for our address.
    if (f.length < 42 || f[14] !== 0 || f[15] !== 1 || f[20] !== 0 || f[21] !== 1) return undefined;
    if (!this.isOurIp(f, 38)) return undefined;
    const r = new Uint8Array(60);
    r.set(f.subarray(6, 12), 0); // to the asker
    r.set(this.mac, 6);
    r.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2], 12);
    r.set(this.mac, 22);
    r.set(this.ip, 28);
    r.set(f.subarray(22, 32), 32); // sender MAC + IP become target
    this.arpReplies++;
    return r;
  }

  private icmp(f: Uint8Array): Uint8Array | undefined {
    const ihl = (f[14]! & 0x0f) * 4;
    if (f.length < 14 + ihl + 8 || f[14 + 9] !== IP_PROTO_ICMP || !this.isOurIp(f, 30)) return undefined;
    const totalLength = (f[16]! << 8) | f[17]!;
    const end = 14 + totalLength;
    if (totalLength < ihl + 8 || end > f.length) return undefined;
    const icmpAt = 14 + ihl;
    if (f[icmpAt] !== 8) return undefined; // echo request
    // A fresh copy (a Node Buffer's slice() would be a view into `f`), padded to the
    // 60-byte Ethernet minimum.
    const r = new Uint8Array(Math.max(end, 60));
    r.set(f.subarray(0, end));
    r.set(f.subarray(6, 12), 0);
    r.set(this.mac, 6);
    r.set(f.subarray(30, 34), 26); // source IP <- our IP
    r.set(f.subarray(26, 30), 30); // destination IP <- the asker
    r[24] = 0;
    r[25] = 0;
    const ipSum = internetChecksum(r, 14, 14 + ihl);
    r[24] = ipSum >>> 8;
    r[25] = ipSum & 0xff;
    r[icmpAt] = 0; // echo reply
    r[icmpAt + 2] = 0;
    r[icmpAt + 3] = 0;
    const icmpSum = internetChecksum(r, icmpAt, end);
    r[icmpAt + 2] = icmpSum >>> 8;
    r[icmpAt + 3] = icmpSum & 0xff;
    this.echoReplies++;
    return r;
  }
}
