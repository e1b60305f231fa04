/**
 * Virtual time. Every device reads time from an injected `Clock` (STYLE.md practice 5), never
 * from the host directly, so that tests can drive it (`FakeClock`) and the machine can choose
 * between real time (`HostClock`) and deterministic time that advances with retired guest
 * instructions (`InstructionClock`).
 *
 * Time is a double count of nanoseconds since the clock's origin. Doubles hold integers
 * exactly up to 2^53 ns (104 days) and keep ~4 ns resolution after a year, which is below one
 * PIT tick (838 ns); device code floors the value before integer arithmetic (see ticks.ts).
 */

export interface Clock {
  /** Monotonic virtual time in nanoseconds (never decreases). */
  nowNs(): number;
}

/**
 * The TSC frequency the machine advertises: 1 GHz, so that the guest's time-stamp counter is
 * exactly `floor(clock.nowNs())`. A guest that calibrates its TSC against the PIT (Linux's
 * quick_pit_calibrate / pit_calibrate_tsc) therefore measures 1000 MHz, whatever the host's
 * speed, because both the TSC and the PIT count are computed from the same virtual clock.
 */
export const TSC_HZ = 1_000_000_000;

/** The TSC value at virtual time `nowNs` (TSC_HZ = 1 GHz: one count per nanosecond). */
export function tscAt(nowNs: number): number {
  return Math.floor(nowNs);
}

export class ClockError extends Error {
  override readonly name = "ClockError";
}

/** A clock the test sets by hand: time moves only through `advance` and `set`. */
export class FakeClock implements Clock {
  private now: number;

  constructor(startNs = 0) {
    if (!Number.isFinite(startNs) || startNs < 0) throw new ClockError(`invalid start time ${startNs}`);
    this.now = startNs;
  }

  nowNs(): number {
    return this.now;
  }

  advance(ns: number): void {
    if (!Number.isFinite(ns) || ns < 0)
      throw new ClockError(`a fake clock advances by a finite ns >= 0, got ${ns}`);
    this.now += ns;
  }

  /** Jump to an absolute time; never backwards (the clock is monotonic). */
  set(ns: number): void {
    if (!Number.isFinite(ns) || ns < this.now)
      throw new ClockError(`cannot move the clock from ${this.now} to ${ns}`);
    this.now = ns;
  }
}

/**
 * Real time: the host's monotonic clock (`performance.now()`, available in Node and browsers,
 * sub-microsecond resolution, no allocation per call), counted from construction.
 * `pause()`/`resume()` stop virtual time while the machine is stopped (e.g. in a debugger).
 */
export class HostClock implements Clock {
  private readonly originMs = performance.now();
  /** Host milliseconds during which the clock was paused. */
  private pausedMs = 0;
  private pausedAt: number | undefined;
  private last = 0;

  nowNs(): number {
    const hostMs = this.pausedAt ?? performance.now();
    const ns = (hostMs - this.originMs - this.pausedMs) * 1e6;
    // performance.now() is monotonic; the max() also absorbs rounding in the subtraction.
    if (ns > this.last) this.last = ns;
    return this.last;
  }

  pause(): void {
    if (this.pausedAt === undefined) this.pausedAt = performance.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.pausedMs += performance.now() - this.pausedAt;
    this.pausedAt = undefined;
  }
}

/**
 * Deterministic time: `instructions * nsPerInstruction + skipped`, where `instructions` is the
 * count of retired guest instructions (read through `getInstructions`, which must be current at
 * the time of every device access: the engine must count the instruction that exits) and
 * `skipped` is idle time the machine fast-forwards while the vCPU is halted (`skipTo`, with
 * the scheduler's next deadline). Two runs of the same guest see the same times.
 */
export class InstructionClock implements Clock {
  private skippedNs = 0;
  private last = 0;

  constructor(
    private readonly getInstructions: () => number,
    readonly nsPerInstruction: number,
  ) {
    if (!Number.isFinite(nsPerInstruction) || nsPerInstruction <= 0 || nsPerInstruction > 1e9) {
      throw new ClockError(`nsPerInstruction must be in (0, 1e9], got ${nsPerInstruction}`);
    }
  }

  nowNs(): number {
    const ns = this.getInstructions() * this.nsPerInstruction + this.skippedNs;
    // Monotonic even if the instruction counter is reset (a machine reset): time never goes back.
    if (ns > this.last) this.last = ns;
    return this.last;
  }

  /** Fast-forward idle time (HLT) so that `nowNs() >= ns`. Earlier or non-finite targets are ignored. */
  skipTo(ns: number): void {
    if (!Number.isFinite(ns)) return;
    const now = this.nowNs();
    if (ns > now) {
      this.skippedNs += ns - now;
      this.last = ns;
    }
  }

  /** Total idle time skipped, for reports. */
  get skippedTotalNs(): number {
    return this.skippedNs;
  }
}

/**
 * The "real" time base of a running machine: virtual time advances with retired instructions
 * at a rate (ns per instruction) that is steered, between CPU slices, toward the host's
 * monotonic clock — like QEMU's `-icount shift=auto`. Within a slice time is a pure function
 * of the instruction count, so guest timing loops (the kernel's PIT/TSC calibration reads
 * both in a tight loop) see consistent clocks, free of host jitter and of the cost of the
 * exits in the loop; over seconds it follows wall-clock time. While the CPU is halted,
 * virtual time jumps to host time (or to the next timer).
 *
 * Lost time is discarded beyond MAX_LAG_NS (the "discard" lost-tick policy of KVM and QEMU's
 * `-rtc driftfix=none`): a guest slower than its virtual CPU (a boot under the interpreter)
 * falls behind host time, and if all of that lag were caught up while it idles, every sleep
 * and timeout after the boot would run many times faster than host time until the lag was
 * gone: a `sleep 4` took under a second, and a ping to a second VM still booting timed out
 * before that VM could answer. With the bound, an idle guest waits in host time, and guest
 * wall-clock time runs behind the host's by the time it could not keep up.
 */
export class PacedClock implements Clock {
  private readonly originMs: number;
  /** Host time given up (ns): lag beyond MAX_LAG_NS that virtual time will never catch up. */
  private droppedNs = 0;
  private baseNs = 0;
  private baseInstructions: number;
  private rate: number;
  private last = 0;

  /** Host time over which a lag or lead is corrected (ns). */
  static readonly STEER_WINDOW_NS = 50e6;
  /** Largest rate change per resync (fraction): the rate drifts, it never jumps. */
  static readonly MAX_STEP = 0.02;
  /**
   * Bounds of the rate (ns per instruction): a virtual CPU of 25 to 200 MIPS. A lower bound
   * matters most: when exits make the interpreter slow, chasing host time would stretch a
   * timer tick over so few instructions that interrupt-off sections swallow ticks (the
   * kernel's clocksource watchdog then sees PIT and TSC disagree). Virtual time instead falls
   * behind and catches up while the guest idles.
   */
  static readonly MIN_RATE = 5;
  static readonly MAX_RATE = 40;
  /** The most virtual time may lag host time (ns); the rest is discarded (see above). */
  static readonly MAX_LAG_NS = 250e6;

  /** `hostMs` is the host's monotonic clock in ms (a test passes its own). */
  constructor(
    private readonly getInstructions: () => number,
    initialNsPerInstruction = 25,
    private readonly hostMs: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(initialNsPerInstruction) || initialNsPerInstruction <= 0) {
      throw new ClockError(`initialNsPerInstruction must be > 0, got ${initialNsPerInstruction}`);
    }
    this.originMs = hostMs();
    this.rate = initialNsPerInstruction;
    this.baseInstructions = getInstructions();
  }

  nowNs(): number {
    const ns = this.baseNs + (this.getInstructions() - this.baseInstructions) * this.rate;
    if (ns > this.last) this.last = ns;
    return this.last;
  }

  /** Nanoseconds of virtual time per instruction, as currently steered. */
  get nsPerInstruction(): number {
    return this.rate;
  }

  /**
   * The host time virtual time follows (ns): host monotonic time since this clock was made,
   * less the lag discarded so far, so that it is never more than MAX_LAG_NS ahead of virtual
   * time when read.
   */
  hostNs(): number {
    const host = (this.hostMs() - this.originMs) * 1e6 - this.droppedNs;
    const excess = host - this.nowNs() - PacedClock.MAX_LAG_NS;
    if (excess <= 0) return host;
    this.droppedNs += excess;
    return host - excess;
  }

  /** Host time discarded so far because virtual time lagged by more than MAX_LAG_NS (ns). */
  get droppedTotalNs(): number {
    return this.droppedNs;
  }

  /** Re-anchor at the current instruction count and steer the rate toward host time. */
  resync(): void {
    const v = this.nowNs();
    this.baseNs = v;
    this.baseInstructions = this.getInstructions();
    const factor = 1 + (this.hostNs() - v) / PacedClock.STEER_WINDOW_NS;
    const step = Math.min(Math.max(factor, 1 - PacedClock.MAX_STEP), 1 + PacedClock.MAX_STEP);
    this.rate = Math.min(Math.max(this.rate * step, PacedClock.MIN_RATE), PacedClock.MAX_RATE);
  }

  /** Idle time (HLT): move virtual time forward to `ns` (never backwards). */
  skipTo(ns: number): void {
    if (!Number.isFinite(ns)) return;
    if (ns > this.nowNs()) {
      this.baseNs = ns;
      this.baseInstructions = this.getInstructions();
      this.last = ns;
    }
  }
}
