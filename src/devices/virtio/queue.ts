/**
 * Split virtqueues (virtio 1.2, 2.7) as seen from the device, over GuestMemory.
 *
 * Layout at the three guest-physical addresses the driver programs (2.7, alignment 2.7.1):
 *   descriptor table (align 16): size x { le64 addr; le32 len; le16 flags; le16 next }
 *   available ring   (align 2):  le16 flags; le16 idx; le16 ring[size]; le16 used_event
 *   used ring        (align 4):  le16 flags; le16 idx; { le32 id; le32 len } ring[size]; le16 avail_event
 *
 * Everything a guest wrote here is hostile (CONTEXT.md "Threat model", STYLE.md practice 2):
 *  - the ring areas are checked against RAM once, when the queue is enabled; their size only
 *    depends on the queue size, which cannot change while the queue is enabled;
 *  - a descriptor chain is walked by a bounded iterator (DescriptorWalker): at most `size`
 *    links in the descriptor table and at most `size` entries in one indirect table, so a NEXT
 *    loop ends as "chain-too-long" instead of spinning; every index is checked against the
 *    table size; indirect tables do not nest; every buffer [addr, addr + len) is checked
 *    against RAM; the chain's byte total is bounded;
 *  - an available idx more than `size` ahead of the last one consumed is impossible for a
 *    correct driver (2.7.13.3) and is reported instead of being processed.
 * Violations throw VirtioGuestFault, which the device catches at its entry point and turns
 * into DEVICE_NEEDS_RESET (pci-transport.ts); nothing here loops on guest data unboundedly.
 *
 * Arithmetic note: addresses are below 2^32 and lengths below 2^32, so sums such as
 * addr + len stay below 2^33 and are exact in a double: a guest cannot wrap them around
 * 2^32 to pass a bounds check (the "addr + len overflows" case simply fails `contains`).
 */

import type { GuestMemory } from "../../memory/guest-memory.js";
import {
  MAX_QUEUE_SIZE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "./constants.js";
import { type VirtioGuestErrorKind, VirtioGuestFault } from "./errors.js";

/** One guest buffer, already checked to lie inside RAM. */
export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/** A descriptor chain popped from the available ring, split into its two directions (2.7.4). */
export interface DescriptorChain {
  /** The head index: what goes back in the used ring's `id`. */
  readonly head: number;
  readonly readable: Segment[];
  readonly writable: Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

const DESC_SIZE = 16;

/**
 * A bounded iterator over one descriptor chain (2.7.5, 2.7.5.3). `next()` returns false at
 * the end of the chain; the current descriptor is in `addr`, `len`, `writable`. It never
 * yields more than `size` descriptors from the table plus `size` from one indirect table.
 */
export class DescriptorWalker {
  addr = 0;
  len = 0;
  writable = false;
  /** Bytes yielded so far. */
  total = 0;
  private table = 0;
  private tableSize = 0;
  private index = 0;
  private links = 0;
  private inIndirect = false;
  private done = false;

  constructor(
    private readonly memory: GuestMemory,
    private readonly queue: SplitQueue,
  ) {}

  start(head: number): void {
    this.table = this.queue.descAddr;
    this.tableSize = this.queue.size;
    this.index = head;
    this.links = 0;
    this.inIndirect = false;
    this.done = false;
    this.total = 0;
  }

  next(): boolean {
    const m = this.memory;
    for (;;) {
      if (this.done) return false;
      // 2.7.5: indices name entries of the current table (the queue's or the indirect one).
      if (this.index >= this.tableSize) throw new VirtioGuestFault("desc-index", `index ${this.index}`);
      // 2.7.5.2 / 2.7.5.3.1: no chain is longer than the queue size. This bound is also what
      // ends a NEXT loop.
      if (++this.links > this.tableSize) throw new VirtioGuestFault("chain-too-long");
      const d = this.table + this.index * DESC_SIZE; // inside a table validated against RAM
      const addr = m.read32(d) >>> 0;
      const addrHi = m.read32(d + 4) >>> 0;
      const len = m.read32(d + 8) >>> 0;
      const flags = m.read16(d + 12);
      const next = m.read16(d + 14);
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        // 2.7.5.3.1: only with the feature, never nested, never together with NEXT.
        if (!this.queue.indirect) throw new VirtioGuestFault("indirect-not-negotiated");
        if (this.inIndirect) throw new VirtioGuestFault("indirect-nested");
        if ((flags & VIRTQ_DESC_F_NEXT) !== 0) throw new VirtioGuestFault("indirect-with-next");
        const entries = len / DESC_SIZE;
        if (len === 0 || len % DESC_SIZE !== 0 || entries > this.queue.size) {
          throw new VirtioGuestFault("indirect-bad-length", `len ${len}`);
        }
        if (addrHi !== 0 || addr % DESC_SIZE !== 0 || !m.contains(addr, len)) {
          throw new VirtioGuestFault("buffer-outside-ram", `indirect table 0x${addr.toString(16)}+${len}`);
        }
        // 2.7.5.3.2: the WRITE flag of the descriptor naming the table is ignored.
        this.table = addr;
        this.tableSize = entries;
        this.index = 0;
        this.links = 0; // a fresh bound for the table (the direct part used its own)
        this.inIndirect = true;
        continue;
      }
      if (addrHi !== 0 || !m.contains(addr, len)) {
        throw new VirtioGuestFault(
          "buffer-outside-ram",
          `0x${addrHi.toString(16)}_${addr.toString(16).padStart(8, "0")}+0x${len.toString(16)}`,
        );
      }
      this.total += len; // each len < 2^32 and at most 2 x 32768 of them: exact
      if (this.total > this.queue.maxChainBytes) throw new VirtioGuestFault("chain-too-many-bytes");
      this.addr = addr;
      this.len = len;
      this.writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) this.done = true;
      else this.index = next;
      return true;
    }
  }
}

/** The device side of one split virtqueue. */
export class SplitQueue {
  /** Queue size the driver chose (4.1.4.3: defaults to the maximum). */
  size: number;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  /** High 32 bits of the 64-bit ring addresses: must be 0 on this 32-bit machine. */
  descHi = 0;
  availHi = 0;
  usedHi = 0;
  enabled = false;
  /** Set after a structural error: the queue is not processed again until reset (2.1.2). */
  broken = false;
  /** VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC as negotiated. */
  eventIdx = false;
  indirect = false;
  /** Free-running 16-bit indices (2.7.6, 2.7.8). */
  lastAvail = 0;
  nextUsed = 0;
  /** The used idx at the last notification decision (2.7.7, as in QEMU's signalled_used). */
  private signalledUsed = 0;
  private signalledValid = false;
  private readonly walker: DescriptorWalker;

  constructor(
    private readonly memory: GuestMemory,
    /** A short name for statistics, e.g. "rx", "tx", "request". */
    readonly name: string,
    readonly maxSize: number,
    /** Upper bound of the bytes in one chain (2.7.5.2 allows up to 2^32; devices need less). */
    readonly maxChainBytes: number,
  ) {
    if (!isPowerOfTwo(maxSize) || maxSize > MAX_QUEUE_SIZE) throw new RangeError(`queue size ${maxSize}`);
    this.size = maxSize;
    this.walker = new DescriptorWalker(memory, this);
  }

  reset(): void {
    this.size = this.maxSize;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.descHi = this.availHi = this.usedHi = 0;
    this.enabled = false;
    this.broken = false;
    this.eventIdx = false;
    this.indirect = false;
    this.lastAvail = 0;
    this.nextUsed = 0;
    this.signalledUsed = 0;
    this.signalledValid = false;
  }

  /** Bytes of each ring area for the current size (2.7, with the event-idx words). */
  private availBytes(): number {
    return 4 + 2 * this.size + (this.eventIdx ? 2 : 0);
  }

  private usedBytes(): number {
    return 4 + 8 * this.size + (this.eventIdx ? 2 : 0);
  }

  /** Check the configuration before the queue goes live; returns the problem or undefined. */
  validate(): VirtioGuestErrorKind | undefined {
    // 4.1.4.3.2: non-zero, a power of 2 for split rings, at most the device maximum.
    if (!isPowerOfTwo(this.size) || this.size > this.maxSize) return "queue-size";
    const m = this.memory;
    // 2.7.1: alignment 16 / 2 / 4; every area inside RAM (the sums are exact, see header).
    if (this.descHi !== 0 || this.availHi !== 0 || this.usedHi !== 0) return "ring-outside-ram";
    if (this.descAddr % 16 !== 0 || this.availAddr % 2 !== 0 || this.usedAddr % 4 !== 0)
      return "ring-outside-ram";
    if (!m.contains(this.descAddr, DESC_SIZE * this.size)) return "ring-outside-ram";
    if (!m.contains(this.availAddr, this.availBytes())) return "ring-outside-ram";
    if (!m.contains(this.usedAddr, this.usedBytes())) return "ring-outside-ram";
    return undefined;
  }

  /** Whether the device may process the queue. */
  get live(): boolean {
    return this.enabled && !this.broken;
  }

  /** The driver's available idx (2.7.6). */
  availIdx(): number {
    return this.memory.read16(this.availAddr + 2);
  }

  /** Chains the driver has made available and the device has not consumed (bounded, 2.7.6). */
  pending(): number {
    const n = (this.availIdx() - this.lastAvail) & 0xffff;
    if (n > this.size) throw new VirtioGuestFault("avail-idx-jump", `avail idx moved by ${n}`);
    return n;
  }

  /**
   * Take the next available chain, or null when there is none. With EVENT_IDX, an empty
   * queue publishes avail_event = the next index we will look at (2.7.10), so the driver
   * notifies again as soon as it adds a buffer.
   */
  pop(): DescriptorChain | null {
    if (this.pending() === 0) {
      this.publishAvailEvent();
      return null;
    }
    const head = this.memory.read16(this.availAddr + 4 + 2 * (this.lastAvail & (this.size - 1)));
    const chain = this.walk(head);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    return chain;
  }

  /**
   * With EVENT_IDX, set avail_event to the next index we will look at (2.7.10): the driver
   * notifies when it makes that buffer available. A device that stops consuming without an
   * empty pop() (a bounded loop that took exactly `size` chains) must call this, or
   * avail_event stays behind the driver's avail idx and vring_need_event() never asks for
   * another notification: the queue stalls.
   */
  publishAvailEvent(): void {
    if (this.eventIdx) this.memory.write16(this.usedAddr + 4 + 8 * this.size, this.lastAvail);
  }

  /** Give back the last `n` popped chains (a receive that found too few buffers). */
  rewind(n: number): void {
    this.lastAvail = (this.lastAvail - n) & 0xffff;
  }

  /** Walk one chain from `head` into readable and writable segments (2.7.4.2 ordering). */
  walk(head: number): DescriptorChain {
    const w = this.walker;
    w.start(head);
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let rb = 0;
    let wb = 0;
    while (w.next()) {
      if (w.writable) {
        writable.push({ addr: w.addr, len: w.len });
        wb += w.len;
      } else {
        // 2.7.4.2: device-readable elements come before device-writable ones.
        if (writable.length > 0) throw new VirtioGuestFault("readable-after-writable");
        readable.push({ addr: w.addr, len: w.len });
        rb += w.len;
      }
    }
    return { head, readable, writable, readableBytes: rb, writableBytes: wb };
  }

  /** Put one element in the used ring without publishing it (2.7.8: len before idx). */
  pushUsed(head: number, len: number): void {
    const e = this.usedAddr + 4 + 8 * (this.nextUsed & (this.size - 1));
    this.memory.write32(e, head);
    this.memory.write32(e + 4, len);
    this.nextUsed = (this.nextUsed + 1) & 0xffff;
  }

  /** Make every pushed element visible to the driver: the used idx (2.7.8). */
  publishUsed(): void {
    this.memory.write16(this.usedAddr + 2, this.nextUsed);
  }

  /**
   * Whether the driver wants a used-buffer notification now (2.7.7): without EVENT_IDX
   * unless avail.flags has NO_INTERRUPT; with it, when used idx passed used_event since the
   * last decision (vring_need_event).
   */
  needsNotification(): boolean {
    if (!this.eventIdx) {
      return (this.memory.read16(this.availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    const usedEvent = this.memory.read16(this.availAddr + 4 + 2 * this.size);
    const old = this.signalledUsed;
    const now = this.nextUsed;
    const valid = this.signalledValid;
    this.signalledUsed = now;
    this.signalledValid = true;
    if (!valid) return true;
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }
}

/**
 * Copy `dst.length` bytes from the byte stream formed by `segs`, starting `offset` bytes into
 * it. Returns the bytes copied (less than asked when the stream is shorter).
 */
export function readFromSegments(
  memory: GuestMemory,
  segs: readonly Segment[],
  offset: number,
  dst: Uint8Array,
): number {
  let skip = offset;
  let done = 0;
  for (const s of segs) {
    if (done === dst.length) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, dst.length - done);
    memory.readInto(s.addr + skip, dst.subarray(done, done + n));
    done += n;
    skip = 0;
  }
  return done;
}

/** Copy `src` into the byte stream formed by `segs` at `offset`; returns the bytes written. */
export function writeToSegments(
  memory: GuestMemory,
  segs: readonly Segment[],
  offset: number,
  src: Uint8Array,
): number {
  let skip = offset;
  let done = 0;
  for (const s of segs) {
    if (done === src.length) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, src.length - done);
    memory.writeBytes(s.addr + skip, src.subarray(done, done + n));
    done += n;
    skip = 0;
  }
  return done;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
