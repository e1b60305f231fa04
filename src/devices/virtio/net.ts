/**
 * virtio-net (virtio 1.2, 5.1) over the modern PCI transport: PCI device 1AF4:1041, class
 * 020000h (Ethernet). One receive queue (0) and one transmit queue (1), no control queue.
 *
 * Features offered (5.1.3): VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (link state in the config),
 * VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX, and by default
 * VIRTIO_NET_F_MRG_RXBUF (5.1.6.3.2) and VIRTIO_NET_F_CSUM (the device completes partial
 * checksums on transmit, 5.1.6.2). No GSO/TSO and no GUEST_CSUM: received frames reach the
 * guest with flags = 0 (the guest verifies checksums itself).
 *
 * Every buffer starts with struct virtio_net_hdr (5.1.6), 12 bytes with VERSION_1:
 *   u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size; le16 csum_start; le16 csum_offset; le16 num_buffers
 *
 * Transmit (5.1.6.2): on a notification of the transmit queue, every available chain is
 * gathered, the header stripped, the checksum completed when NEEDS_CSUM, and the frame given to
 * the NetBackend. Receive (5.1.6.4): the backend's receiver callback writes the frame into the
 * next available receive buffer (or, with MRG_RXBUF, as many buffers as it needs) and returns
 * false when there is none (the frame is dropped and counted as "rx:dropped").
 */

import type { AccessWidth } from "../../bus/device.js";
import type { GuestMemory } from "../../memory/guest-memory.js";
import type { NetBackend } from "../../net/backend.js";
import { F_EVENT_IDX, F_INDIRECT_DESC, featureWords } from "./constants.js";
import { VirtioGuestFault } from "./errors.js";
import { VirtioPciDevice } from "./pci-transport.js";
import { type DescriptorChain, readFromSegments, type SplitQueue, writeToSegments } from "./queue.js";

/** Feature bits of virtio-net (5.1.3). */
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
/** Config status bit (5.1.4). */
export const VIRTIO_NET_S_LINK_UP = 1;
/** Header flags and GSO type (5.1.6). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
/** sizeof(struct virtio_net_hdr) with VIRTIO_F_VERSION_1 (5.1.6). */
export const VIRTIO_NET_HDR_SIZE = 12;
/** Largest frame accepted on transmit without GSO: an Ethernet frame of at most 64 KiB. */
export const MAX_TX_FRAME = 65535;

export const NET_RX_QUEUE = 0;
export const NET_TX_QUEUE = 1;

export interface VirtioNetOptions {
  readonly memory: GuestMemory;
  readonly backend: NetBackend;
  /** Six bytes; default 52:54:00:12:34:56. */
  readonly mac?: Uint8Array | readonly number[];
  /** Offer VIRTIO_NET_F_MRG_RXBUF (default true). */
  readonly mergeable?: boolean;
  /** Offer VIRTIO_NET_F_CSUM (default true). */
  readonly csum?: boolean;
  /** Offer VIRTIO_F_EVENT_IDX (default true). */
  readonly eventIdx?: boolean;
  /** Offer VIRTIO_F_INDIRECT_DESC (default true). */
  readonly indirect?: boolean;
  /** Queue size of both queues (power of 2, default 256). */
  readonly queueSize?: number;
  readonly name?: string;
}

export class VirtioNet extends VirtioPciDevice {
  readonly backend: NetBackend;
  readonly mac: Uint8Array;
  private linkUp = true;
  private readonly header = new Uint8Array(VIRTIO_NET_HDR_SIZE);
  private readonly rxChains: DescriptorChain[] = [];

  constructor(options: VirtioNetOptions) {
    const bits = [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS];
    if (options.mergeable ?? true) bits.push(VIRTIO_NET_F_MRG_RXBUF);
    if (options.csum ?? true) bits.push(VIRTIO_NET_F_CSUM);
    if (options.eventIdx ?? true) bits.push(F_EVENT_IDX);
    if (options.indirect ?? true) bits.push(F_INDIRECT_DESC);
    const size = options.queueSize ?? 256;
    super({
      name: options.name ?? "virtio-net",
      memory: options.memory,
      virtioId: 1,
      classCode: 0x020000,
      features: featureWords(bits),
      queues: [
        // A mergeable receive may span several chains; one chain still holds at most 1 MiB.
        { name: "rx", size, maxChainBytes: 1 << 20 },
        { name: "tx", size, maxChainBytes: VIRTIO_NET_HDR_SIZE + MAX_TX_FRAME },
      ],
      configLength: 12,
    });
    const mac = options.mac ?? [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
    if (mac.length !== 6) throw new RangeError("a MAC address has 6 bytes");
    this.mac = Uint8Array.from(mac);
    this.writeConfig();
    this.backend = options.backend;
    this.backend.setReceiver((frame) => this.receive(frame));
  }

  /** struct virtio_net_config (5.1.4): mac[6], le16 status, le16 max_virtqueue_pairs, le16 mtu. */
  private writeConfig(): void {
    const c = this.deviceConfig;
    c.set(this.mac, 0);
    c[6] = this.linkUp ? VIRTIO_NET_S_LINK_UP : 0;
    c[7] = 0;
    c[8] = 1; // max_virtqueue_pairs (meaningful only with VIRTIO_NET_F_MQ)
    c[9] = 0;
    c[10] = 1500 & 0xff; // mtu (meaningful only with VIRTIO_NET_F_MTU)
    c[11] = 1500 >> 8;
  }

  /** Change the link state (VIRTIO_NET_F_STATUS): a configuration change notification (5.1.4.2). */
  setLink(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    this.writeConfig();
    if (this.operational) this.configChanged();
  }

  protected override deviceConfigWrite(_off: number, _width: AccessWidth, _value: number): void {
    // 5.1.4: the MAC is read-only without VIRTIO_NET_F_CTRL_MAC_ADDR-style writes; ignored.
  }

  protected override queueNotify(index: number): void {
    if (index === NET_TX_QUEUE) this.transmit(this.queues[NET_TX_QUEUE]!);
    // A receive-queue notification only says buffers were added; frames come from the backend.
    else this.queues[NET_RX_QUEUE]!.pending(); // still checks the avail idx for sanity
  }

  // --- transmit (5.1.6.2) ---------------------------------------------------------------

  private transmit(q: SplitQueue): void {
    let used = 0;
    // At most `size` chains per pass: a driver refilling the ring while we work cannot keep us here.
    for (let n = 0; n < q.size; n++) {
      const chain = q.pop();
      if (chain === null) break;
      this.transmitChain(chain);
      q.pushUsed(chain.head, 0); // 5.1.6.2.2: the device writes nothing into transmit buffers
      used++;
    }
    // The loop may end on its bound (a full ring: `size` chains) without the empty pop() that
    // moves avail_event; without this the driver's next transmit would not notify (2.7.10).
    q.publishAvailEvent();
    if (used > 0) {
      q.publishUsed();
      this.usedBufferNotify(q);
    }
  }

  private transmitChain(chain: DescriptorChain): void {
    if (chain.writable.length > 0) throw new VirtioGuestFault("net-tx-writable");
    const total = chain.readableBytes;
    if (total < VIRTIO_NET_HDR_SIZE) {
      this.guestError("net-tx-short");
      this.stats.count("tx:dropped");
      return;
    }
    const h = this.header;
    readFromSegments(this.memory, chain.readable, 0, h);
    const frameLen = total - VIRTIO_NET_HDR_SIZE;
    if (frameLen > MAX_TX_FRAME) {
      this.guestError("net-tx-too-long");
      this.stats.count("tx:dropped");
      return;
    }
    if (h[1] !== VIRTIO_NET_HDR_GSO_NONE) {
      this.guestError("net-tx-gso");
      this.stats.count("tx:dropped");
      return;
    }
    const frame = new Uint8Array(frameLen); // handed to the backend, which may keep it
    readFromSegments(this.memory, chain.readable, VIRTIO_NET_HDR_SIZE, frame);
    this.stats.count("dma:read-bytes", total);
    if ((h[0]! & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0) {
      const start = h[6]! | (h[7]! << 8);
      const offset = h[8]! | (h[9]! << 8);
      // 5.1.6.2.1: only with VIRTIO_NET_F_CSUM; the field must lie inside the frame.
      if (!this.negotiated(VIRTIO_NET_F_CSUM) || start + offset + 2 > frameLen) {
        this.guestError("net-tx-bad-csum");
        this.stats.count("tx:dropped");
        return;
      }
      completeChecksum(frame, start, offset);
      this.stats.count("tx:csum-offload");
    }
    this.stats.count("tx:frames");
    this.stats.count("tx:bytes", frameLen);
    if (!this.backend.send(frame)) this.stats.count("tx:backend-dropped");
  }

  // --- receive (5.1.6.4) ----------------------------------------------------------------

  /** The backend's receiver: false when the frame could not be delivered (no buffer, not ready). */
  receive(frame: Uint8Array): boolean {
    const q = this.queues[NET_RX_QUEUE]!;
    if (!this.operational || !q.live || !this.linkUp) {
      this.stats.count("rx:dropped");
      return false;
    }
    let delivered = false;
    const ok = this.guarded(q, () => {
      delivered = this.negotiated(VIRTIO_NET_F_MRG_RXBUF)
        ? this.receiveMergeable(q, frame)
        : this.receiveOne(q, frame);
    });
    if (!ok || !delivered) {
      this.stats.count("rx:dropped");
      return false;
    }
    this.stats.count("rx:frames");
    this.stats.count("rx:bytes", frame.length);
    this.stats.count("dma:write-bytes", VIRTIO_NET_HDR_SIZE + frame.length);
    q.publishUsed();
    this.usedBufferNotify(q);
    return true;
  }

  private fillHeader(numBuffers: number): Uint8Array {
    const h = this.header;
    h.fill(0); // flags 0, GSO_NONE: a complete frame (5.1.6.4)
    h[10] = numBuffers & 0xff; // 5.1.6.4: num_buffers (1 without MRG_RXBUF, with VERSION_1)
    h[11] = numBuffers >> 8;
    return h;
  }

  /** Without MRG_RXBUF: the whole frame in one chain (5.1.6.3.1). */
  private receiveOne(q: SplitQueue, frame: Uint8Array): boolean {
    const chain = q.pop();
    if (chain === null) return false;
    if (chain.readable.length > 0) throw new VirtioGuestFault("net-rx-readable");
    if (chain.writableBytes < VIRTIO_NET_HDR_SIZE + frame.length) {
      // Too small for this frame: the buffer goes back empty (the driver counts a length error).
      this.guestError("net-rx-too-small");
      q.pushUsed(chain.head, 0);
      q.publishUsed();
      this.usedBufferNotify(q);
      return false;
    }
    writeToSegments(this.memory, chain.writable, 0, this.fillHeader(1));
    writeToSegments(this.memory, chain.writable, VIRTIO_NET_HDR_SIZE, frame);
    q.pushUsed(chain.head, VIRTIO_NET_HDR_SIZE + frame.length);
    return true;
  }

  /** With MRG_RXBUF: as many chains as the frame needs, num_buffers in the first header (5.1.6.4.2). */
  private receiveMergeable(q: SplitQueue, frame: Uint8Array): boolean {
    const need = VIRTIO_NET_HDR_SIZE + frame.length;
    const chains = this.rxChains;
    chains.length = 0;
    let have = 0;
    // Bounded: at most `size` chains can be available (pending() checks the avail idx).
    while (have < need) {
      const chain = q.pop();
      if (chain === null) {
        q.rewind(chains.length); // not enough buffers: leave them for a smaller frame
        return false;
      }
      if (chain.readable.length > 0) throw new VirtioGuestFault("net-rx-readable");
      if (chains.length === 0 && chain.writableBytes < VIRTIO_NET_HDR_SIZE) {
        throw new VirtioGuestFault("net-rx-too-small"); // 5.1.6.3.1: each buffer holds a header
      }
      chains.push(chain);
      have += chain.writableBytes;
    }
    writeToSegments(this.memory, chains[0]!.writable, 0, this.fillHeader(chains.length));
    let off = 0; // bytes of the frame written so far
    for (let i = 0; i < chains.length; i++) {
      const c = chains[i]!;
      const hdr = i === 0 ? VIRTIO_NET_HDR_SIZE : 0;
      const n = Math.min(c.writableBytes - hdr, frame.length - off);
      writeToSegments(this.memory, c.writable, hdr, frame.subarray(off, off + n));
      off += n;
      q.pushUsed(c.head, hdr + n);
    }
    chains.length = 0;
    return true;
  }
}

/**
 * Complete a partial checksum (5.1.6.2, as for Linux's CHECKSUM_PARTIAL): the 16-bit one's
 * complement sum over frame[start..end] (the checksum field holds the pseudo-header sum) is
 * complemented and stored at start + offset. The caller checked start + offset + 2 <= length.
 */
export function completeChecksum(frame: Uint8Array, start: number, offset: number): void {
  let sum = 0;
  let i = start;
  for (; i + 1 < frame.length; i += 2) sum += (frame[i]! << 8) | frame[i + 1]!;
  if (i < frame.length) sum += frame[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  frame[start + offset] = c >> 8;
  frame[start + offset + 1] = c & 0xff;
}
