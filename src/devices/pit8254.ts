/**
 * Intel 82C54 programmable interval timer (Intel 82C54 datasheet, order 231244) as wired on
 * the PC: three counters at ports 0x40-0x42, the control word register at 0x43, all clocked at
 * 1.193182 MHz; OUT0 drives IRQ 0; GATE0/GATE1 are tied high; GATE2 and OUT2 are reached
 * through port 0x61 (the PIIX3 "NMI Status and Control Register", 82371SB 4.7.2), whose bit 4
 * toggles with the DRAM refresh (every 15.085 us).
 *
 * Counting is computed lazily from the injected Clock on one free-running tick grid (tick k
 * begins at nsAtTick(k)), so a count read at any instant is exact against virtual time - and
 * against the TSC, which is the same virtual time (time/clock.ts, TSC_HZ). Only OUT0's rising
 * edges are events: the Scheduler runs a timer at each one and the device pulses IRQ 0.
 *
 * Modes (datasheet "Modes of Operation"): 0 interrupt on terminal count, 1 hardware
 * retriggerable one-shot, 2 rate generator, 3 square wave, 4 software triggered strobe,
 * 5 hardware triggered strobe; counter latch and read-back commands; LSB, MSB and LSB-then-MSB
 * access; BCD counting (counts written in BCD, modulo 10000; invalid BCD digits count as 9).
 *
 * Modelling choices:
 * - A count written in modes 0, 2, 3, 4 (or a trigger in 1, 5) is loaded into the counting
 *   element on the next CLK pulse ("the Count will be loaded on the next CLK pulse"), so in
 *   mode 0 OUT rises N + 1 ticks after the tick in which the count was written, and a mode 2
 *   or 3 period is exactly N ticks.
 * - Mode 3 with an odd count follows the datasheet's N+1/2 high, N-1/2 low; a new count
 *   written during mode 2 or 3 takes effect at the end of the current period (for mode 3 the
 *   datasheet says the current half-cycle).
 * - OUT after power-up is undefined in the datasheet; here all counters start unprogrammed
 *   with OUT high (so programming mode 2/3 first raises no spurious IRQ 0 edge).
 * - IRQ 0 is pulsed (lowered then raised) at every OUT0 rising edge; the line's level between
 *   edges is not tracked (the 8259 input is edge-triggered; ELCR cannot make IRQ 0 level).
 *   Edges that fall between two scheduler runs are coalesced into one, as a busy CPU with a
 *   pending IRR bit would see them, and the timer runs at most every MIN_IRQ_INTERVAL_NS
 *   (a guest programming a count of 1 gets 200 kHz of edges, not 1.19 MHz of host callbacks).
 */

import type { Bus } from "../bus/bus.js";
import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";
import type { InterruptLine } from "../bus/irq.js";
import type { Clock } from "../time/clock.js";
import type { Scheduler, Timer } from "../time/scheduler.js";
import { nsAtTick, ticksAt } from "../time/ticks.js";

/** The PIT input clock: 14.31818 MHz / 12. */
export const PIT_HZ = 1_193_182;
export const PIT_PORT = 0x40;
export const PORT_61 = 0x61;
/** DRAM refresh period toggling port 0x61 bit 4 (82371SB 4.7.2: "toggles every 15.085 us"). */
export const REFRESH_PERIOD_NS = 15_085;
/** Host-callback bound for IRQ 0 edges: 5 us of virtual time (200 kHz). */
export const MIN_IRQ_INTERVAL_NS = 5_000;

const NEVER = Number.POSITIVE_INFINITY;

function bcdToBinary(v: number): number {
  let out = 0;
  for (let shift = 12, scale = 1000; shift >= 0; shift -= 4, scale /= 10) {
    out += Math.min((v >>> shift) & 0xf, 9) * scale;
  }
  return out;
}

function binaryToBcd(v: number): number {
  return (
    ((Math.floor(v / 1000) % 10) << 12) |
    ((Math.floor(v / 100) % 10) << 8) |
    ((Math.floor(v / 10) % 10) << 4) |
    (v % 10)
  );
}

function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

/** One counter of the 82C54. All times are PIT tick numbers. */
export class PitChannel {
  /** Effective mode 0-5 (control word M2-M0 values 6 and 7 mean 2 and 3). */
  mode = 0;
  /** M2-M0 as written, for the read-back status byte. */
  private modeBits = 0;
  /** RW1-RW0: 1 LSB only, 2 MSB only, 3 LSB then MSB. */
  rw = 3;
  bcd = false;
  /** The count register (CR) as last written, raw 16 bits. */
  cr = 0;
  private writeMsbNext = false;
  private writeLsb = 0;
  private readMsbNext = false;
  /** Output latch (OL): bytes still to read (0 = not latched). */
  private latchBytes = 0;
  private latchValue = 0;
  private latchMsbNext = false;
  private statusLatched = false;
  private statusValue = 0;
  gate: boolean;

  /** The counting element holds a loaded count. */
  private armed = false;
  /** OUT and CE shown while not armed. */
  private idleOut = true;
  private idleCe = 0;
  /** Tick at which the counting element holds `rem` (modes 0,1,4,5) or the period starts (2,3). */
  private start = 0;
  /** Modes 0,1,4,5: ticks from `start` to the terminal count. */
  private rem = 0;
  /** Modes 2,3: the period N. */
  private period = 1;
  /** Modes 0,4: the terminal count was reached before the current segment. */
  private fired = false;
  /** Modes 0,2,3,4: GATE low stops counting. */
  private paused = false;
  private pausedValue = 0;
  /** Modes 2,3: a count written during counting, applied at tick `pendingAt`. */
  private pendingPeriod = 0;
  private pendingAt = NEVER;
  /** NULL COUNT (status bit 6) is set until this tick. */
  private nullUntil = NEVER;

  constructor(
    readonly index: number,
    gate: boolean,
  ) {
    this.gate = gate;
  }

  /** The modulus of the counter: 65536 binary, 10000 BCD. */
  private get modulus(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** The count a CR value stands for: 0 means the maximum (datasheet: 2^16 binary, 10^4 BCD). */
  private decodedCount(): number {
    const n = this.bcd ? bcdToBinary(this.cr) : this.cr;
    return n === 0 ? this.modulus : n;
  }

  /** Apply a pending mode 2/3 reload whose time has come. */
  private catchUp(t: number): void {
    if (this.pendingPeriod !== 0 && t >= this.pendingAt) {
      this.start = this.pendingAt;
      this.period = this.pendingPeriod;
      this.pendingPeriod = 0;
      this.pendingAt = NEVER;
    }
  }

  /** The counting element at tick t, binary in [0, modulus). */
  private ceAt(t: number): number {
    if (!this.armed) return this.idleCe;
    const m = this.modulus;
    const dt = t - this.start;
    switch (this.mode) {
      case 2:
      case 3: {
        if (this.paused) return this.pausedValue;
        const n = this.period;
        if (dt < 0) return n % m;
        const p = dt % n;
        if (this.mode === 2) return (n - p) % m;
        // Mode 3: the count decrements by two; odd counts load N (then N-1) in the high half
        // and N (then N-3) in the low half (datasheet, Mode 3).
        const high = Math.ceil(n / 2);
        if (p < high) {
          if (p === 0) return n % m;
          return ((n & 1) === 0 ? n - 2 * p : n + 1 - 2 * p) % m;
        }
        const e = p - high;
        if (e === 0) return n % m;
        return ((n & 1) === 0 ? n - 2 * e : n - 1 - 2 * e) % m;
      }
      default:
        if (this.paused) return mod(this.pausedValue, m);
        return mod(this.rem - Math.max(0, dt), m);
    }
  }

  /** OUT at tick t. */
  outAt(t: number): boolean {
    this.catchUp(t);
    if (!this.armed) return this.idleOut;
    const dt = t - this.start;
    switch (this.mode) {
      case 0:
        if (this.paused || this.fired) return this.fired;
        return dt >= this.rem;
      case 1:
        return dt < 0 || dt >= this.rem;
      case 2:
        if (this.paused || dt < 0) return true;
        return dt % this.period !== this.period - 1;
      case 3:
        if (this.paused || dt < 0) return true;
        return dt % this.period < Math.ceil(this.period / 2);
      default: // 4, 5: low for the one CLK at the terminal count
        if (this.paused || this.fired) return true;
        return dt !== this.rem;
    }
  }

  /** The latest OUT rising edge at or before tick t, or -1. */
  lastRisingEdge(t: number): number {
    this.catchUp(t);
    if (!this.armed) return -1;
    switch (this.mode) {
      case 0:
      case 1: {
        if (this.paused || (this.fired && this.mode === 0)) return -1;
        const e = this.start + this.rem;
        return e <= t ? e : -1;
      }
      case 2:
      case 3: {
        if (this.paused) return -1;
        const n = this.period;
        if (t < this.start + n) return -1;
        return this.start + Math.floor((t - this.start) / n) * n;
      }
      default: {
        if (this.paused || this.fired) return -1;
        const e = this.start + this.rem + 1;
        return e <= t ? e : -1;
      }
    }
  }

  /** The first OUT rising edge after tick t, or Infinity. */
  nextRisingEdge(t: number): number {
    this.catchUp(t);
    if (!this.armed) return NEVER;
    switch (this.mode) {
      case 0:
      case 1: {
        if (this.paused || (this.fired && this.mode === 0)) return NEVER;
        const e = this.start + this.rem;
        return e > t ? e : NEVER;
      }
      case 2:
      case 3: {
        if (this.paused) return NEVER;
        const n = this.period;
        if (t < this.start + n) return this.start + n;
        return this.start + (Math.floor((t - this.start) / n) + 1) * n;
      }
      default: {
        if (this.paused || this.fired) return NEVER;
        const e = this.start + this.rem + 1;
        return e > t ? e : NEVER;
      }
    }
  }

  /** The read-back status byte (datasheet "Status Byte"). */
  private status(t: number): number {
    return (
      (this.outAt(t) ? 0x80 : 0) |
      (t < this.nullUntil ? 0x40 : 0) |
      (this.rw << 4) |
      (this.modeBits << 1) |
      (this.bcd ? 1 : 0)
    );
  }

  /** The CE as the guest sees it (BCD-encoded in BCD mode). */
  private visibleCount(t: number): number {
    const v = this.ceAt(t);
    return this.bcd ? binaryToBcd(v) : v;
  }

  /** Counter latch command, or the COUNT part of read-back. Ignored while a latch is unread. */
  latchCount(t: number): void {
    this.catchUp(t);
    if (this.latchBytes !== 0) return;
    this.latchValue = this.visibleCount(t);
    this.latchBytes = this.rw === 3 ? 2 : 1;
    this.latchMsbNext = this.rw === 2;
  }

  /** The STATUS part of read-back. Ignored while a latched status is unread. */
  latchStatus(t: number): void {
    this.catchUp(t);
    if (this.statusLatched) return;
    this.statusValue = this.status(t);
    this.statusLatched = true;
  }

  /** Control word with RW != 0: new mode; "all Control Logic is immediately reset". */
  setMode(t: number, modeBits: number, rw: number, bcd: boolean): void {
    this.catchUp(t);
    this.idleCe = this.ceAt(t);
    this.modeBits = modeBits;
    this.mode = modeBits > 5 ? modeBits - 4 : modeBits;
    this.rw = rw;
    this.bcd = bcd;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latchBytes = 0;
    this.statusLatched = false;
    this.armed = false;
    this.paused = false;
    this.fired = false;
    this.pendingPeriod = 0;
    this.pendingAt = NEVER;
    this.nullUntil = NEVER;
    // "OUT will be initially low" in mode 0; high in every other mode.
    this.idleOut = this.mode !== 0;
  }

  readByte(t: number): number {
    this.catchUp(t);
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.statusValue;
    }
    let v: number;
    let msb: boolean;
    if (this.latchBytes > 0) {
      v = this.latchValue;
      msb = this.latchMsbNext;
      this.latchMsbNext = !this.latchMsbNext;
      this.latchBytes--;
    } else {
      v = this.visibleCount(t);
      msb = this.rw === 2 || (this.rw === 3 && this.readMsbNext);
      if (this.rw === 3) this.readMsbNext = !this.readMsbNext;
    }
    return msb ? (v >>> 8) & 0xff : v & 0xff;
  }

  writeByte(t: number, value: number): void {
    this.catchUp(t);
    value &= 0xff;
    switch (this.rw) {
      case 1:
        this.cr = value;
        break;
      case 2:
        this.cr = value << 8;
        break;
      default:
        if (!this.writeMsbNext) {
          this.writeLsb = value;
          this.writeMsbNext = true;
          // Mode 0: "Writing the first byte disables counting. OUT is set low immediately."
          if (this.mode === 0) {
            this.idleCe = this.ceAt(t);
            this.armed = false;
            this.idleOut = false;
          }
          return;
        }
        this.writeMsbNext = false;
        this.cr = this.writeLsb | (value << 8);
        break;
    }
    this.countWritten(t);
  }

  /** A complete count reached the CR at tick t. */
  private countWritten(t: number): void {
    const n = this.decodedCount();
    switch (this.mode) {
      case 0:
      case 4:
        // Loaded on the next CLK pulse, counting (re)starts from the new count.
        this.armed = true;
        this.start = t + 1;
        this.rem = n;
        this.fired = false;
        this.nullUntil = t + 1;
        this.paused = !this.gate;
        this.pausedValue = n;
        return;
      case 1:
      case 5:
        // Loaded by the next trigger (a GATE rising edge).
        this.nullUntil = NEVER;
        return;
      default:
        if (!this.armed) {
          this.armed = true;
          this.start = t + 1;
          this.period = n;
          this.nullUntil = t + 1;
          this.paused = !this.gate;
          this.pausedValue = n % this.modulus;
        } else if (this.paused) {
          this.period = n; // loaded when GATE rises
          this.pausedValue = n % this.modulus;
        } else {
          this.pendingPeriod = n;
          this.pendingAt = this.nextRisingEdge(t);
          this.nullUntil = this.pendingAt;
        }
        return;
    }
  }

  /** GATE input change at tick t (datasheet "Gate Pin Operations Summary"). */
  setGate(t: number, level: boolean): void {
    this.catchUp(t);
    const rising = level && !this.gate;
    const falling = !level && this.gate;
    this.gate = level;
    if (!rising && !falling) return;
    switch (this.mode) {
      case 0:
      case 4:
        if (!this.armed) return;
        if (falling) {
          // Disables counting: freeze the CE.
          const raw = this.rem - Math.max(0, t - this.start);
          if (!this.paused) {
            this.fired = this.fired || (this.mode === 0 ? raw <= 0 : raw < 0);
            this.pausedValue = raw;
          }
          this.paused = true;
        } else {
          this.paused = false;
          this.start = t + 1;
          this.rem = this.pausedValue;
        }
        return;
      case 1:
      case 5:
        if (rising) {
          // Trigger: the CR is loaded on the next CLK; mode 1 drives OUT low until terminal count.
          this.armed = true;
          this.start = t + 1;
          this.rem = this.decodedCount();
          this.fired = false;
          this.nullUntil = t + 1;
        }
        return;
      default:
        if (!this.armed) return;
        if (falling) {
          // Modes 2, 3: GATE low stops counting and forces OUT high.
          this.pausedValue = this.ceAt(t);
          this.paused = true;
          if (this.pendingPeriod !== 0) {
            this.period = this.pendingPeriod;
            this.pendingPeriod = 0;
            this.pendingAt = NEVER;
          }
        } else {
          // A rising GATE reloads the count on the next CLK.
          this.paused = false;
          this.start = t + 1;
          this.nullUntil = Math.min(this.nullUntil, t + 1);
        }
        return;
    }
  }
}

/** The counter ports 0x40-0x43. */
class PitPorts implements BusDevice {
  readonly name = "pit8254@0x40";
  readonly widths = WIDTH_8;

  constructor(private readonly pit: Pit8254) {}

  read(offset: number, _width: AccessWidth): number {
    return this.pit.readPort(offset);
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    this.pit.writePort(offset, value);
  }
}

/** Port 0x61, NMI status and control: GATE2, speaker, refresh toggle, OUT2. */
class Port61 implements BusDevice {
  readonly name = "port61";
  readonly widths = WIDTH_8;

  constructor(private readonly pit: Pit8254) {}

  read(_offset: number, _width: AccessWidth): number {
    return this.pit.readPort61();
  }

  write(_offset: number, _width: AccessWidth, value: number): void {
    this.pit.writePort61(value);
  }
}

export class Pit8254 {
  readonly channels: readonly [PitChannel, PitChannel, PitChannel];
  readonly ports: BusDevice;
  readonly port61: BusDevice;
  /** IRQ 0 edges delivered, for reports. */
  irq0Edges = 0;
  /** Port 0x61 bits 0-3 (GATE2, speaker data enable, SERR# and IOCHK# NMI enables). */
  private port61Bits = 0;
  private lastEdge0 = -1;
  private readonly timer: Timer;

  constructor(
    private readonly clock: Clock,
    scheduler: Scheduler,
    /** IRQ 0; undefined leaves channel 0 unconnected (no timer events). */
    private readonly irq0: InterruptLine | undefined,
  ) {
    this.channels = [new PitChannel(0, true), new PitChannel(1, true), new PitChannel(2, false)];
    this.ports = new PitPorts(this);
    this.port61 = new Port61(this);
    this.timer = scheduler.createTimer("pit8254 OUT0", (now) => this.onTimer(now));
    irq0?.set(true); // OUT0 starts high (see the header).
  }

  /** Register ports 0x40-0x43 and 0x61. */
  attach(ports: Bus): void {
    ports.register(PIT_PORT, 4, this.ports);
    ports.register(PORT_61, 1, this.port61);
  }

  private tick(): number {
    return ticksAt(this.clock.nowNs(), PIT_HZ);
  }

  /** OUT2 as port 0x61 bit 5 shows it (for tests and the speaker). */
  out2(): boolean {
    return this.channels[2].outAt(this.tick());
  }

  readPort(offset: number): number {
    if (offset === 3) return 0xff; // The control word register is write-only.
    return this.channels[offset & 3]!.readByte(this.tick());
  }

  writePort(offset: number, value: number): void {
    const t = this.tick();
    value &= 0xff;
    if (offset !== 3) {
      const ch = this.channels[offset & 3]!;
      if (ch.index === 0) this.deliverEdge(t);
      ch.writeByte(t, value);
      if (ch.index === 0) this.reschedule(t, false);
      return;
    }
    const sc = value >> 6;
    if (sc === 3) {
      // Read-back command: bit 5 = !COUNT, bit 4 = !STATUS, bits 3-1 select counters 2-0.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const ch = this.channels[i]!;
        if ((value & 0x10) === 0) ch.latchStatus(t);
        if ((value & 0x20) === 0) ch.latchCount(t);
      }
      return;
    }
    const ch = this.channels[sc]!;
    const rw = (value >> 4) & 3;
    if (rw === 0) {
      ch.latchCount(t); // Counter latch command.
      return;
    }
    if (sc === 0) this.deliverEdge(t);
    ch.setMode(t, (value >> 1) & 7, rw, (value & 1) !== 0);
    if (sc === 0) {
      this.irq0?.set(ch.outAt(t));
      this.reschedule(t, false);
    }
  }

  readPort61(): number {
    const now = this.clock.nowNs();
    const refresh = Math.floor(now / REFRESH_PERIOD_NS) & 1;
    const out2 = this.channels[2].outAt(ticksAt(now, PIT_HZ));
    // Bits 6 and 7 (IOCHK#, SERR# NMI sources) never assert here.
    return this.port61Bits | (refresh << 4) | (out2 ? 0x20 : 0);
  }

  writePort61(value: number): void {
    this.port61Bits = value & 0x0f;
    this.channels[2].setGate(this.tick(), (value & 1) !== 0);
  }

  /** Pulse IRQ 0 if OUT0 rose since the last delivered edge. */
  private deliverEdge(t: number): void {
    const e = this.channels[0].lastRisingEdge(t);
    if (e > this.lastEdge0) {
      this.lastEdge0 = e;
      this.irq0Edges++;
      if (this.irq0 !== undefined) {
        this.irq0.set(false);
        this.irq0.set(true);
      }
    }
  }

  private reschedule(t: number, fromTimer: boolean): void {
    if (this.irq0 === undefined) return;
    const next = this.channels[0].nextRisingEdge(t);
    if (next === NEVER) {
      this.timer.cancel();
      return;
    }
    let at = nsAtTick(next, PIT_HZ);
    if (fromTimer) at = Math.max(at, this.clock.nowNs() + MIN_IRQ_INTERVAL_NS);
    this.timer.schedule(at);
  }

  private onTimer(nowNs: number): void {
    const t = ticksAt(nowNs, PIT_HZ);
    this.deliverEdge(t);
    this.reschedule(t, true);
  }
}
