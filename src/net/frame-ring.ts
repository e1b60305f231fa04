/**
 * A single-producer / single-consumer ring of variable-length Ethernet frames in a
 * SharedArrayBuffer: the wire between a VM worker thread and the virtual switch (the
 * shared-memory path of paper 004, where VMware's VMM and host exchange packets and IRQ
 * notifications through shared memory instead of a world switch per packet).
 *
 * Layout (all integers little-endian host order, which is what Int32Array uses):
 *
 *   byte 0   HEAD      free-running uint32 byte counter, written only by the producer
 *   byte 4   WAITING   1 while the consumer sleeps on HEAD (producer notifies only then)
 *   byte 8   MAGIC     RING_MAGIC, checked on attach
 *   byte 12  MAXFRAME  the largest frame length the creator allows
 *   byte 16  PDROPS    frames the producer dropped because the ring was full
 *   byte 20  CDROPS    frames the consumer dropped after popping (e.g. the NIC had no buffer)
 *   byte 64  TAIL      free-running uint32 byte counter, written only by the consumer
 *                      (own 64-byte line: no false sharing with HEAD)
 *   byte 128 DATA      `capacity` bytes, a power of two
 *
 * A record is a 4-byte length followed by the frame, padded to a multiple of 4 bytes; the
 * frame bytes may wrap around the end of DATA (copied in two pieces), the length word never
 * does (every record starts 4-aligned and the capacity is a multiple of 4). `HEAD - TAIL`
 * (mod 2^32) is the number of bytes in use, so full and empty are distinct without a spare
 * slot.
 *
 * The other side may be buggy or hostile (a guest-controlled worker, STYLE.md threat model):
 * every index and length read from shared memory is checked before use (`used <= capacity`,
 * 4-alignment, `length <= maxFrame`, `record <= used`) and a violation throws
 * `FrameRingError`, so a corrupted ring costs one exception, never a huge allocation or an
 * endless loop. `capacity` and `maxFrame` are cached at attach time, so later writes to the
 * header cannot change them.
 */

/** "VMRF": identifies a FrameRing buffer. */
export const RING_MAGIC = 0x464d_5256;
/** Bytes before the data area. */
export const RING_HEADER_BYTES = 128;
/** The default data capacity per direction (256 KiB: ~170 full-size frames). */
export const DEFAULT_RING_CAPACITY = 256 * 1024;
/**
 * The largest frame any ring or switch accepts: a 65535-byte IP datagram plus the 14-byte
 * Ethernet header (what a NIC with TSO/GSO could hand over). Switches default to a smaller
 * limit (DEFAULT_MAX_FRAME in switch.ts).
 */
export const ABSOLUTE_MAX_FRAME = 65535 + 14;

// Int32 indices into the header.
const HEAD = 0;
const WAITING = 1;
const MAGIC = 2;
const MAXFRAME = 3;
const PDROPS = 4;
const CDROPS = 5;
const TAIL = 16;

/** Atomics.waitAsync (ES2024; Node >= 16), typed here because the project's lib is ES2022. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      index: number,
      value: number,
      timeoutMs?: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

function noop(): void {}

export class FrameRingError extends Error {
  override readonly name = "FrameRingError";
}

/** Rounds a frame length up to the record size: 4-byte length word plus padding to 4 bytes. */
function recordBytes(len: number): number {
  return 4 + ((len + 3) & ~3);
}

export class FrameRing {
  readonly buffer: SharedArrayBuffer;
  /** Data area size in bytes (a power of two). */
  readonly capacity: number;
  /** The largest frame this ring carries. */
  readonly maxFrame: number;
  private readonly i32: Int32Array;
  private readonly data: Uint8Array;
  /** Data words, for the length prefix (records start 4-aligned). */
  private readonly words: Int32Array;
  private readonly mask: number;

  /** Allocates a new ring with `capacity` data bytes (a power of two, >= 4 KiB). */
  static create(capacity = DEFAULT_RING_CAPACITY, maxFrame = ABSOLUTE_MAX_FRAME): FrameRing {
    if (
      !Number.isInteger(capacity) ||
      capacity < 4096 ||
      capacity > 1 << 30 ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new RangeError(`ring capacity must be a power of two in [4 KiB, 1 GiB], got ${capacity}`);
    }
    if (!Number.isInteger(maxFrame) || maxFrame < 14 || maxFrame > ABSOLUTE_MAX_FRAME) {
      throw new RangeError(`maxFrame must be an integer in [14, ${ABSOLUTE_MAX_FRAME}], got ${maxFrame}`);
    }
    if (recordBytes(maxFrame) > capacity / 2) {
      throw new RangeError(`a ${capacity}-byte ring cannot hold two ${maxFrame}-byte frames`);
    }
    const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
    const i32 = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    i32[MAGIC] = RING_MAGIC;
    i32[MAXFRAME] = maxFrame;
    return new FrameRing(sab);
  }

  /**
   * Attaches to a ring created elsewhere (e.g. received from another thread). Checks the
   * magic and the limits once; they are cached, so later corruption of the header cannot
   * enlarge them.
   */
  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer))
      throw new FrameRingError("a FrameRing needs a SharedArrayBuffer");
    const capacity = buffer.byteLength - RING_HEADER_BYTES;
    if (capacity < 4096 || (capacity & (capacity - 1)) !== 0) {
      throw new FrameRingError(`ring buffer of ${buffer.byteLength} bytes has no power-of-two data area`);
    }
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer, 0, RING_HEADER_BYTES / 4);
    if (Atomics.load(this.i32, MAGIC) !== RING_MAGIC) throw new FrameRingError("not a FrameRing (bad magic)");
    const maxFrame = Atomics.load(this.i32, MAXFRAME);
    if (maxFrame < 14 || maxFrame > ABSOLUTE_MAX_FRAME || recordBytes(maxFrame) > capacity / 2) {
      throw new FrameRingError(`ring header announces an impossible maxFrame ${maxFrame}`);
    }
    this.capacity = capacity;
    this.maxFrame = maxFrame;
    this.mask = capacity - 1;
    this.data = new Uint8Array(buffer, RING_HEADER_BYTES, capacity);
    this.words = new Int32Array(buffer, RING_HEADER_BYTES, capacity / 4);
  }

  /** Bytes in use, validated: throws when the indices are inconsistent. */
  private usedBytes(head: number, tail: number): number {
    const used = (head - tail) >>> 0;
    if (used > this.capacity || (used & 3) !== 0 || (tail & 3) !== 0) {
      throw new FrameRingError(`corrupted ring indices (head ${head >>> 0}, tail ${tail >>> 0})`);
    }
    return used;
  }

  /**
   * Producer: appends one frame. Never blocks; returns false (and counts a producer drop)
   * when the ring has no room. Frames longer than maxFrame (or empty) are refused the same way.
   * Throws FrameRingError only when the consumer corrupted the indices.
   */
  push(frame: Uint8Array): boolean {
    const len = frame.length;
    const i32 = this.i32;
    if (len === 0 || len > this.maxFrame) {
      Atomics.add(i32, PDROPS, 1);
      return false;
    }
    const head = Atomics.load(i32, HEAD) >>> 0;
    const tail = Atomics.load(i32, TAIL) >>> 0;
    const used = this.usedBytes(head, tail);
    const rec = recordBytes(len);
    if (rec > this.capacity - used) {
      Atomics.add(i32, PDROPS, 1);
      return false;
    }
    const pos = head & this.mask;
    this.words[pos >>> 2] = len;
    const start = (pos + 4) & this.mask;
    const first = Math.min(len, this.capacity - start);
    if (first === len) {
      this.data.set(frame, start);
    } else {
      this.data.set(frame.subarray(0, first), start);
      this.data.set(frame.subarray(first), 0);
    }
    // The release store that publishes the record (Atomics are sequentially consistent).
    Atomics.store(i32, HEAD, (head + rec) | 0);
    if (Atomics.load(i32, WAITING) !== 0) Atomics.notify(i32, HEAD);
    return true;
  }

  /** Producer: free bytes (a frame of length n fits when 4 + align4(n) <= free). */
  freeBytes(): number {
    return this.capacity - this.usedBytes(Atomics.load(this.i32, HEAD), Atomics.load(this.i32, TAIL));
  }

  /** Producer: whether a frame of `len` bytes fits now. */
  canPush(len: number): boolean {
    return len > 0 && len <= this.maxFrame && recordBytes(len) <= this.freeBytes();
  }

  /**
   * Consumer: removes the oldest frame into `into` (at least maxFrame bytes long, or at least
   * the frame's length) and returns its length, or -1 when the ring is empty.
   * Throws FrameRingError when the ring is corrupted (the caller should detach the ring).
   */
  pop(into: Uint8Array): number {
    const i32 = this.i32;
    const tail = Atomics.load(i32, TAIL) >>> 0;
    const head = Atomics.load(i32, HEAD) >>> 0;
    const used = this.usedBytes(head, tail);
    if (used === 0) return -1;
    const pos = tail & this.mask;
    const len = this.words[pos >>> 2]!;
    // Signed read: a hostile length >= 2^31 is negative and fails the first test.
    if (len <= 0 || len > this.maxFrame)
      throw new FrameRingError(`corrupted frame length ${len >>> 0} in ring`);
    const rec = recordBytes(len);
    if (rec > used)
      throw new FrameRingError(`frame record of ${rec} bytes exceeds the ${used} bytes in the ring`);
    if (len > into.length)
      throw new RangeError(`pop buffer of ${into.length} bytes is smaller than a ${len}-byte frame`);
    const start = (pos + 4) & this.mask;
    const first = Math.min(len, this.capacity - start);
    if (first === len) {
      into.set(this.data.subarray(start, start + len));
    } else {
      into.set(this.data.subarray(start, start + first));
      into.set(this.data.subarray(0, len - first), first);
    }
    Atomics.store(i32, TAIL, (tail + rec) | 0);
    return len;
  }

  /** Consumer: whether a frame is waiting (no validation; pop validates). */
  isEmpty(): boolean {
    return Atomics.load(this.i32, HEAD) === Atomics.load(this.i32, TAIL);
  }

  /**
   * Consumer: a promise that resolves when the ring is (probably) non-empty or after
   * `timeoutMs`; undefined when frames are already there. Uses Atomics.waitAsync, so it works
   * on the main thread. A pending waitAsync alone does not keep a Node thread alive, so with
   * `keepAlive` (the default) a timer is held until the wait ends: a worker that only waits
   * for frames does not exit under it.
   */
  waitForData(timeoutMs = Number.POSITIVE_INFINITY, keepAlive = true): Promise<void> | undefined {
    const i32 = this.i32;
    Atomics.store(i32, WAITING, 1);
    const head = Atomics.load(i32, HEAD);
    if (head !== Atomics.load(i32, TAIL)) {
      Atomics.store(i32, WAITING, 0);
      return undefined;
    }
    // waitAsync re-compares HEAD atomically, so a push between the load and here is not missed.
    const r = waitAsync(i32, HEAD, head, timeoutMs);
    if (!r.async) {
      Atomics.store(i32, WAITING, 0);
      return undefined;
    }
    // The keep-alive timer must outlive the wait: a timer that fired together with the wait's
    // own timeout left a worker with nothing pending for an instant, and it exited.
    const timer = keepAlive ? setTimeout(noop, 0x7fff_ffff) : undefined;
    return r.value.then(() => {
      if (timer !== undefined) clearTimeout(timer);
      Atomics.store(i32, WAITING, 0);
    });
  }

  /**
   * Consumer, blocking: sleeps until the ring is non-empty or `timeoutMs` passes. For worker
   * threads (a halted vCPU waiting for a frame or its next timer); it blocks the whole thread.
   */
  waitForDataSync(timeoutMs = Number.POSITIVE_INFINITY): void {
    const i32 = this.i32;
    Atomics.store(i32, WAITING, 1);
    const head = Atomics.load(i32, HEAD);
    if (head === Atomics.load(i32, TAIL)) Atomics.wait(i32, HEAD, head, timeoutMs);
    Atomics.store(i32, WAITING, 0);
  }

  /** Wakes a consumer sleeping on this ring (e.g. to make it notice a shutdown). */
  wake(): void {
    Atomics.notify(this.i32, HEAD);
  }

  /** Frames the producer dropped because the ring was full (shared: both sides see it). */
  get producerDrops(): number {
    return Atomics.load(this.i32, PDROPS) >>> 0;
  }

  /** Frames the consumer popped and then dropped (e.g. NIC without receive buffers). */
  get consumerDrops(): number {
    return Atomics.load(this.i32, CDROPS) >>> 0;
  }

  /** Consumer: counts `n` frames dropped after popping. */
  countConsumerDrop(n = 1): void {
    Atomics.add(this.i32, CDROPS, n);
  }
}
