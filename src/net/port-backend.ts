/**
 * The VM side of a switch port: a NetBackend over the port's two FrameRings, usable on any
 * thread that received the port's `SwitchPortDescription` (postMessage shares the
 * SharedArrayBuffers; nothing is copied).
 *
 * Transmit (`send`) pushes into the to-switch ring and never blocks; a full ring drops the
 * frame (counted here and in the ring header, which the switch's thread can read too).
 * Receive is pulled: the VM's run loop calls `poll()` between CPU slices (and may sleep in
 * `waitSync(ms)` while the vCPU is halted), or `startAutoPoll()` delivers from the event loop
 * whenever the switch pushes (Atomics.waitAsync). A frame the NIC refuses (its receiver
 * returns false: no receive buffer) is dropped and counted.
 *
 * The frame given to the receiver is a view into a reused buffer, valid only during the call.
 */
import type { NetBackend } from "./backend.js";
import { FrameRing, FrameRingError } from "./frame-ring.js";
import type { SwitchPortDescription } from "./switch.js";

export interface PortBackendStats {
  txFrames: number;
  txBytes: number;
  /** Frames dropped on send: to-switch ring full or frame too long. */
  txDrops: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames the NIC refused (no receive buffer). */
  rxDrops: number;
  /** Set when a ring was found corrupted; the backend then drops everything. */
  error: string | undefined;
}

export class SwitchPortBackend implements NetBackend {
  readonly stats: PortBackendStats = {
    txFrames: 0,
    txBytes: 0,
    txDrops: 0,
    rxFrames: 0,
    rxBytes: 0,
    rxDrops: 0,
    error: undefined,
  };
  private readonly tx: FrameRing;
  private readonly rx: FrameRing;
  private readonly scratch: Uint8Array;
  private readonly views: (Uint8Array | undefined)[] = [];
  private receiver: ((frame: Uint8Array) => boolean) | undefined;
  private autoPoll = false;
  private autoWaiting = false;

  constructor(description: SwitchPortDescription) {
    this.tx = new FrameRing(description.toSwitch);
    this.rx = new FrameRing(description.fromSwitch);
    this.scratch = new Uint8Array(this.rx.maxFrame);
  }

  /**
   * The counters under DeviceStats-style names ("tx:frames", "rx:dropped", ...), so that
   * `--stats` can print them next to the NIC's own counters.
   */
  counters(): [string, number][] {
    const st = this.stats;
    return [
      ["rx:bytes", st.rxBytes],
      ["rx:dropped", st.rxDrops],
      ["rx:frames", st.rxFrames],
      ["tx:bytes", st.txBytes],
      ["tx:dropped", st.txDrops],
      ["tx:frames", st.txFrames],
    ];
  }

  /** The largest frame the switch accepts. */
  get maxFrame(): number {
    return this.tx.maxFrame;
  }

  send(frame: Uint8Array): boolean {
    const st = this.stats;
    if (st.error !== undefined) {
      st.txDrops++;
      return false;
    }
    let ok: boolean;
    try {
      ok = this.tx.push(frame);
    } catch (e) {
      if (!(e instanceof FrameRingError)) throw e;
      st.error = e.message;
      ok = false;
    }
    if (ok) {
      st.txFrames++;
      st.txBytes += frame.length;
    } else {
      st.txDrops++;
    }
    return ok;
  }

  /** Whether a frame of `len` bytes would be accepted by `send` now (for flow-controlled callers). */
  canSend(len: number): boolean {
    try {
      return this.stats.error === undefined && this.tx.canPush(len);
    } catch {
      return false;
    }
  }

  setReceiver(receiver: (frame: Uint8Array) => boolean): void {
    this.receiver = receiver;
  }

  /**
   * Delivers up to `max` waiting frames to the receiver; returns how many were taken from the
   * ring (delivered or refused). Frames arriving with no receiver set are dropped and counted.
   */
  poll(max = 256): number {
    const st = this.stats;
    if (st.error !== undefined) return 0;
    let n = 0;
    while (n < max) {
      let len: number;
      try {
        len = this.rx.pop(this.scratch);
      } catch (e) {
        if (!(e instanceof FrameRingError)) throw e;
        st.error = e.message;
        break;
      }
      if (len < 0) break;
      n++;
      let v = this.views[len];
      if (v === undefined) v = this.views[len] = this.scratch.subarray(0, len);
      const r = this.receiver;
      if (r?.(v)) {
        st.rxFrames++;
        st.rxBytes += len;
      } else {
        st.rxDrops++;
        this.rx.countConsumerDrop();
      }
    }
    return n;
  }

  /** Whether frames are waiting. */
  get hasFrames(): boolean {
    return !this.rx.isEmpty();
  }

  /** Resolves when frames are (probably) waiting, or after timeoutMs; undefined when they already are. */
  waitForFrames(timeoutMs?: number): Promise<void> | undefined {
    return this.rx.waitForData(timeoutMs);
  }

  /** Blocks this thread until frames arrive or timeoutMs passes (a halted vCPU in a worker). */
  waitSync(timeoutMs: number): void {
    this.rx.waitForDataSync(timeoutMs);
  }

  /** Wakes a thread blocked in `waitSync` (from another thread holding the same description). */
  static wake(description: SwitchPortDescription): void {
    new FrameRing(description.fromSwitch).wake();
  }

  /**
   * Delivers frames from the event loop as they arrive (for a NIC whose thread returns to the
   * event loop; a VM run loop that never yields should call `poll()` instead).
   */
  startAutoPoll(): void {
    if (this.autoPoll) return;
    this.autoPoll = true;
    this.autoStep();
  }

  stopAutoPoll(): void {
    this.autoPoll = false;
    this.rx.wake(); // ends the pending wait and its keep-alive timer
  }

  private readonly autoStep = (): void => {
    if (!this.autoPoll || this.stats.error !== undefined) return;
    // Bounded: a switch that never stops pushing must not starve this thread's event loop.
    if (this.poll(4096) === 4096) {
      setImmediate(this.autoStep);
      return;
    }
    if (this.autoWaiting) return;
    const p = this.rx.waitForData();
    if (p === undefined) {
      setImmediate(this.autoStep);
      return;
    }
    this.autoWaiting = true;
    p.then(() => {
      this.autoWaiting = false;
      this.autoStep();
    });
  };
}
