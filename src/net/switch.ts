/**
 * The virtual Ethernet switch (VMware's VMNet in paper 004; an IEEE 802.1D transparent
 * bridge without spanning tree): any number of ports, a MAC learning table with aging, and
 * forwarding to the learned port or flooding to every other port for broadcast, multicast and
 * unknown unicast (802.1D-2004 7.7, 7.8).
 *
 * Ports are of two kinds:
 *  - ring ports (`addPort`): a pair of FrameRings in SharedArrayBuffers, for a VM on a
 *    worker thread (`SwitchPortBackend` in port-backend.ts is the VM side);
 *  - sink ports (`attach`): a callback that takes frames out, and `input(port, frame)` to put
 *    frames in; used for in-process NICs (`addLocalBackend`), the Unix-socket links between
 *    processes (named.ts), and tests.
 *
 * The switch never blocks: a destination whose ring (or socket) is full drops the frame and
 * counts it for that port. Frames shorter than 14 bytes or longer than `maxFrame` are dropped
 * and counted. The default maxFrame is 1522: 1514 (MTU 1500 + Ethernet header, no FCS) plus
 * an 802.1Q tag and 4 bytes of slack; vmlab's NIC models do not offer TSO/GSO, so nothing
 * larger is legitimate. A switch for jumbo frames can raise it up to ABSOLUTE_MAX_FRAME.
 *
 * Frames handed to a sink or a receiver are views into a reused buffer, valid only during
 * the call: copy what you keep.
 */
import { ABSOLUTE_MAX_FRAME, DEFAULT_RING_CAPACITY, FrameRing, FrameRingError } from "./frame-ring.js";

export const DEFAULT_MAX_FRAME = 1522;
/** IEEE 802.1D-2004 Table 7-5: the recommended ageing time, 300 s. */
export const DEFAULT_AGING_NS = 300e9;
export const DEFAULT_MAX_MAC_ENTRIES = 4096;
/** Frames taken from one ring port per poll pass, so that one busy VM cannot starve the others. */
const POLL_BUDGET = 64;
/** Frames the pump moves before yielding to the event loop (sockets, timers). */
const PUMP_YIELD_FRAMES = 4096;

/** Anything with a monotonic nanosecond clock (src/time/clock.ts Clock fits; net imports nothing). */
export interface NsClock {
  nowNs(): number;
}

const hostClock: NsClock = { nowNs: () => performance.now() * 1e6 };

/** What crosses a worker boundary to give a VM one port (structured-clone safe). */
export interface SwitchPortDescription {
  /** Frames the VM sends: the VM produces, the switch consumes. */
  readonly toSwitch: SharedArrayBuffer;
  /** Frames for the VM: the switch produces, the VM consumes. */
  readonly fromSwitch: SharedArrayBuffer;
}

/** Something that records frames (a PcapWriter). */
export interface FrameTap {
  write(frame: Uint8Array): void;
}

/**
 * Per-port counters, from the switch's side (as a hardware switch's ifInOctets etc.):
 * rx = frames the switch received from the port (the VM sent them), tx = frames the switch
 * sent to the port.
 */
export interface PortStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames for this port dropped because its ring (or socket) was full. */
  txDrops: number;
  /** Frames from this port dropped as runts (< 14 bytes) or giants (> maxFrame). */
  rxBadLength: number;
  /** Frames from this port addressed to a MAC learned on the same port (filtered, 802.1D 7.7.1). */
  rxFiltered: number;
  /** Set when the port's ring was found corrupted; the port is then disabled. */
  error: string | undefined;
}

export interface SwitchOptions {
  maxFrame?: number;
  agingNs?: number;
  maxMacEntries?: number;
  clock?: NsClock;
  /** Ring data capacity per direction for ring ports (bytes, power of two). */
  ringCapacity?: number;
}

class Port {
  readonly stats: PortStats = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    txDrops: 0,
    rxBadLength: 0,
    rxFiltered: 0,
    error: undefined,
  };
  taps: FrameTap[] = [];
  enabled = true;
  /** A pending Atomics.waitAsync on `inRing` (so the pump never stacks waiters). */
  waiting = false;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly sink: (frame: Uint8Array) => boolean,
    readonly inRing: FrameRing | undefined,
    readonly outRing: FrameRing | undefined,
  ) {}
}

interface MacEntry {
  port: number;
  seenNs: number;
}

export class VirtualSwitch {
  readonly maxFrame: number;
  readonly agingNs: number;
  readonly maxMacEntries: number;
  private readonly clock: NsClock;
  private readonly ringCapacity: number;
  private readonly ports: (Port | undefined)[] = [];
  /** Enabled ports, in id order (the flooding list). */
  private active: Port[] = [];
  private readonly macs = new Map<number, MacEntry>();
  private readonly scratch: Uint8Array;
  /** views[len] = scratch.subarray(0, len), made once per length (no allocation per frame). */
  private readonly views: (Uint8Array | undefined)[] = [];
  private readonly allTaps: FrameTap[] = [];
  private depth = 0;
  private running = false;
  private pumpScheduled = false;
  /** Frames dropped because local backends re-entered the switch too deeply. */
  reentryDrops = 0;
  /** New MACs not learned because the table was full (flooded instead). */
  learnRefused = 0;

  constructor(options: SwitchOptions = {}) {
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < 14 || maxFrame > ABSOLUTE_MAX_FRAME) {
      throw new RangeError(`maxFrame must be in [14, ${ABSOLUTE_MAX_FRAME}], got ${maxFrame}`);
    }
    this.maxFrame = maxFrame;
    this.agingNs = options.agingNs ?? DEFAULT_AGING_NS;
    this.maxMacEntries = options.maxMacEntries ?? DEFAULT_MAX_MAC_ENTRIES;
    this.clock = options.clock ?? hostClock;
    this.ringCapacity = options.ringCapacity ?? DEFAULT_RING_CAPACITY;
    this.scratch = new Uint8Array(maxFrame);
  }

  /**
   * Adds a ring port for a VM on another thread; returns the description to post to it
   * (`new SwitchPortBackend(desc)` there). `addRingPort` also returns the port id.
   */
  addPort(name?: string): SwitchPortDescription {
    return this.addRingPort(name).description;
  }

  /** Adds a ring port; returns its id and the description for the VM side. */
  addRingPort(name?: string): { id: number; description: SwitchPortDescription } {
    const toSwitch = FrameRing.create(this.ringCapacity, this.maxFrame);
    const fromSwitch = FrameRing.create(this.ringCapacity, this.maxFrame);
    const id = this.ports.length;
    const port = new Port(id, name ?? `port${id}`, (f) => fromSwitch.push(f), toSwitch, fromSwitch);
    this.addPortObject(port);
    return { id, description: { toSwitch: toSwitch.buffer, fromSwitch: fromSwitch.buffer } };
  }

  /**
   * Adds a port whose output is a callback (`sink` returns false when it dropped the frame);
   * frames come in through `input(id, frame)`. Returns the port id.
   */
  attach(sink: (frame: Uint8Array) => boolean, name?: string): number {
    const id = this.ports.length;
    this.addPortObject(new Port(id, name ?? `port${id}`, sink, undefined, undefined));
    return id;
  }

  /**
   * A NetBackend for a NIC on this thread, wired straight to a port (no rings). Delivery is
   * synchronous: the receiving NIC's receiver runs inside the sender's `send`.
   */
  addLocalBackend(name?: string): {
    id: number;
    send(frame: Uint8Array): boolean;
    setReceiver(r: (frame: Uint8Array) => boolean): void;
  } {
    let receiver: ((frame: Uint8Array) => boolean) | undefined;
    const id = this.attach((f) => (receiver === undefined ? false : receiver(f)), name);
    return {
      id,
      send: (frame) => this.input(id, frame),
      setReceiver: (r) => {
        receiver = r;
      },
    };
  }

  private addPortObject(port: Port): void {
    this.ports.push(port);
    this.active.push(port);
    if (this.running) this.schedulePump();
  }

  /** Removes a port: forgets its MACs; its rings are no longer serviced. */
  removePort(id: number): void {
    const port = this.ports[id];
    if (port === undefined) return;
    this.disable(port);
    this.ports[id] = undefined;
  }

  private disable(port: Port): void {
    port.enabled = false;
    port.inRing?.wake(); // ends a pending wait (and its keep-alive timer)
    this.active = this.active.filter((p) => p !== port);
    for (const [mac, e] of this.macs) if (e.port === port.id) this.macs.delete(mac);
  }

  /** The counters of one port (a live object). */
  portStats(id: number): PortStats {
    const port = this.ports[id];
    if (port === undefined) throw new RangeError(`no switch port ${id}`);
    return port.stats;
  }

  /** Name, counters and ring-side drop counts of every port. */
  allStats(): { id: number; name: string; stats: PortStats; vmTxDrops: number; vmRxDrops: number }[] {
    return this.active.map((p) => ({
      id: p.id,
      name: p.name,
      stats: p.stats,
      vmTxDrops: p.inRing?.producerDrops ?? 0,
      vmRxDrops: p.outRing?.consumerDrops ?? 0,
    }));
  }

  /** Records every frame crossing port `id`, both directions (or every frame entering the switch). */
  capture(id: number | "all", tap: FrameTap): void {
    if (id === "all") {
      this.allTaps.push(tap);
      return;
    }
    const port = this.ports[id];
    if (port === undefined) throw new RangeError(`no switch port ${id}`);
    port.taps.push(tap);
  }

  /** The number of learned (possibly expired) MAC entries. */
  get macTableSize(): number {
    return this.macs.size;
  }

  /** The port a MAC (6 bytes) was learned on, or undefined when unknown or aged out. */
  lookup(mac: Uint8Array): number | undefined {
    const e = this.macs.get(macKey(mac, 0));
    if (e === undefined || this.clock.nowNs() - e.seenNs > this.agingNs) return undefined;
    return e.port;
  }

  /**
   * Takes one frame from port `id` into the switch: learns its source, forwards or floods it.
   * Returns false when it was dropped at ingress (bad length, unknown port, re-entry).
   */
  input(id: number, frame: Uint8Array): boolean {
    const port = this.ports[id];
    if (port === undefined || !port.enabled) return false;
    const len = frame.length;
    const st = port.stats;
    if (len < 14 || len > this.maxFrame) {
      st.rxBadLength++;
      return false;
    }
    if (this.depth >= 4) {
      this.reentryDrops++;
      return false;
    }
    st.rxFrames++;
    st.rxBytes += len;
    for (let i = 0; i < this.allTaps.length; i++) this.allTaps[i]!.write(frame);
    for (let i = 0; i < port.taps.length; i++) port.taps[i]!.write(frame);
    this.depth++;
    try {
      this.forward(port, frame);
    } finally {
      this.depth--;
    }
    return true;
  }

  private forward(inPort: Port, frame: Uint8Array): void {
    const now = this.clock.nowNs();
    // Learn the source (802.1D 7.8): only individual (unicast) source addresses.
    if ((frame[6]! & 1) === 0) this.learn(macKey(frame, 6), inPort.id, now);
    if ((frame[0]! & 1) === 0) {
      const e = this.macs.get(macKey(frame, 0));
      if (e !== undefined) {
        if (now - e.seenNs > this.agingNs) {
          this.macs.delete(macKey(frame, 0));
        } else {
          if (e.port === inPort.id) {
            inPort.stats.rxFiltered++;
            return;
          }
          const out = this.ports[e.port];
          if (out?.enabled) {
            this.deliver(out, frame);
            return;
          }
        }
      }
    }
    const active = this.active;
    for (let i = 0; i < active.length; i++) {
      const p = active[i]!;
      if (p !== inPort) this.deliver(p, frame);
    }
  }

  private learn(key: number, portId: number, now: number): void {
    const e = this.macs.get(key);
    if (e !== undefined) {
      e.port = portId;
      e.seenNs = now;
      return;
    }
    if (this.macs.size >= this.maxMacEntries) {
      for (const [k, old] of this.macs) if (now - old.seenNs > this.agingNs) this.macs.delete(k);
      if (this.macs.size >= this.maxMacEntries) {
        this.learnRefused++;
        return;
      }
    }
    this.macs.set(key, { port: portId, seenNs: now });
  }

  private deliver(port: Port, frame: Uint8Array): void {
    let ok: boolean;
    try {
      ok = port.sink(frame);
    } catch (e) {
      if (!(e instanceof FrameRingError)) throw e;
      this.fail(port, e);
      return;
    }
    const st = port.stats;
    if (ok) {
      st.txFrames++;
      st.txBytes += frame.length;
      for (let i = 0; i < port.taps.length; i++) port.taps[i]!.write(frame);
    } else {
      st.txDrops++;
    }
  }

  private fail(port: Port, e: Error): void {
    port.stats.error = e.message;
    this.disable(port);
  }

  /**
   * Moves frames waiting in the ring ports (at most 64 per port per pass, round robin) through
   * the switch. Returns the number of frames taken. The VM side is the producer; a corrupted
   * ring disables its port (its stats say why).
   */
  poll(maxPasses = 1): number {
    let total = 0;
    for (let pass = 0; pass < maxPasses; pass++) {
      let moved = 0;
      const active = this.active;
      for (let i = 0; i < active.length; i++) {
        const port = active[i]!;
        const ring = port.inRing;
        if (ring === undefined || !port.enabled) continue;
        for (let n = 0; n < POLL_BUDGET; n++) {
          let len: number;
          try {
            len = ring.pop(this.scratch);
          } catch (e) {
            if (!(e instanceof FrameRingError)) throw e;
            this.fail(port, e);
            break;
          }
          if (len < 0) break;
          moved++;
          this.input(port.id, this.view(len));
        }
      }
      total += moved;
      if (moved === 0) break;
    }
    return total;
  }

  private view(len: number): Uint8Array {
    let v = this.views[len];
    if (v === undefined) v = this.views[len] = this.scratch.subarray(0, len);
    return v;
  }

  /**
   * Runs the switch on this thread's event loop: frames are moved as soon as a VM pushes them
   * (each ring's consumer sleeps with Atomics.waitAsync and is woken by the producer's
   * Atomics.notify). A running switch keeps its thread alive; `stop()` lets it exit.
   */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedulePump();
  }

  stop(): void {
    this.running = false;
    for (const p of this.active) p.inRing?.wake();
  }

  get isRunning(): boolean {
    return this.running;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.running) return;
    this.pumpScheduled = true;
    setImmediate(this.pump);
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (!this.running) return;
    let moved = 0;
    for (;;) {
      const n = this.poll(1);
      moved += n;
      if (n === 0) break;
      if (moved >= PUMP_YIELD_FRAMES) {
        this.schedulePump();
        return;
      }
    }
    // Idle: sleep on every ring port that is not already being waited on.
    for (const port of this.active) {
      const ring = port.inRing;
      if (ring === undefined || port.waiting) continue;
      const p = ring.waitForData();
      if (p === undefined) {
        this.schedulePump();
        continue;
      }
      port.waiting = true;
      p.then(() => {
        port.waiting = false;
        this.schedulePump();
      });
    }
  };
}

/** A 48-bit MAC at frame[off..off+6) as an exact double (no allocation). */
function macKey(frame: Uint8Array, off: number): number {
  const hi = (frame[off]! << 8) | frame[off + 1]!;
  const lo =
    ((frame[off + 2]! << 24) | (frame[off + 3]! << 16) | (frame[off + 4]! << 8) | frame[off + 5]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}
