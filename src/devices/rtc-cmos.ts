/**
 * Motorola MC146818A real-time clock with 128 bytes of CMOS RAM, as on the PC/AT
 * (MC146818A datasheet; the PC register usage from the IBM PC/AT Technical Reference).
 *
 *   port 0x70: index (bits 6:0) and NMI mask (bit 7, 1 = NMI disabled); write-only (reads 0xFF).
 *   port 0x71: data of the indexed byte.
 *   0x00-0x09 seconds, seconds alarm, minutes, minutes alarm, hours, hours alarm,
 *             day of week (1 = Sunday), day of month, month, year; 0x32 century (PC usage).
 *   0x0A register A: UIP (bit 7, read-only), DV2-DV0 (bits 6:4), RS3-RS0 (bits 3:0).
 *   0x0B register B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12, DSE.
 *   0x0C register C: IRQF, PF, AF, UF (read-only; a read clears it and IRQ 8).
 *   0x0D register D: VRT (valid RAM and time) = 1.
 *   0x0E-0x7F: battery-backed RAM; 0x15-0x18, 0x30-0x31, 0x34-0x35 hold the memory size.
 *
 * The time is the host wall clock (UTC) at construction plus the virtual time elapsed since:
 * the device keeps a count of seconds and renders the registers from it on each read, in the
 * current BCD/binary and 12/24-hour formats. Updates happen at virtual one-second boundaries
 * of the divider chain; UIP reads 1 during the 244 us before each update (datasheet "Update
 * Cycle": tBUC), and the update itself is modelled as instantaneous.
 *
 * Modelling choices:
 * - Time fields written by the guest are converted to a date (UTC) and the count restarts from
 *   it, so impossible dates are normalized (February 31 becomes March 3) instead of being kept
 *   as garbage; the day of week is always derived from the date; DSE is ignored.
 * - DV = 000, 001, 010 run the divider (any time base; QEMU does the same); 11x holds it in
 *   reset and leaving reset puts the first update 500 ms later (datasheet "Divider Control");
 *   the test modes 011-101 stop it.
 * - Register C flags are computed lazily from the time, so a polling guest sees PF/UF/AF
 *   without interrupts; timer events are scheduled only for enabled interrupts and only while
 *   IRQ 8 is not already asserted (the line stays up until register C is read).
 * - The 128-byte extended bank (ports 0x72/0x73) is not implemented; SQWE has no pin.
 */

import type { Bus } from "../bus/bus.js";
import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";
import type { InterruptLine } from "../bus/irq.js";
import type { Clock } from "../time/clock.js";
import type { Scheduler, Timer } from "../time/scheduler.js";

export const RTC_PORT = 0x70;

export const REG_SECONDS = 0x00;
export const REG_SECONDS_ALARM = 0x01;
export const REG_MINUTES = 0x02;
export const REG_MINUTES_ALARM = 0x03;
export const REG_HOURS = 0x04;
export const REG_HOURS_ALARM = 0x05;
export const REG_DAY_OF_WEEK = 0x06;
export const REG_DAY_OF_MONTH = 0x07;
export const REG_MONTH = 0x08;
export const REG_YEAR = 0x09;
export const REG_A = 0x0a;
export const REG_B = 0x0b;
export const REG_C = 0x0c;
export const REG_D = 0x0d;
export const REG_CENTURY = 0x32;

export const A_UIP = 0x80;
export const B_SET = 0x80;
export const B_PIE = 0x40;
export const B_AIE = 0x20;
export const B_UIE = 0x10;
export const B_DM_BINARY = 0x04;
export const B_24H = 0x02;
export const C_IRQF = 0x80;
export const C_PF = 0x40;
export const C_AF = 0x20;
export const C_UF = 0x10;

/** tBUC: UIP is set this long before an update begins. */
export const UIP_WINDOW_NS = 244_000;
const NS_PER_S = 1e9;
/** Length of one 32.768 kHz divider tick in ns (exact in binary: 1e9 / 2^15). */
const NS_PER_32K_TICK = NS_PER_S / 32768;

/** Periodic interrupt period in ns for RS3-RS0 (32.768 kHz table), 0 when RS = 0. */
export function periodicPeriodNs(rs: number): number {
  rs &= 0x0f;
  if (rs === 0) return 0;
  // RS = 1 and 2 repeat the 3.90625 ms and 7.8125 ms rates of RS = 8 and 9 (datasheet Table 5).
  const ticks = rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
  return ticks * NS_PER_32K_TICK;
}

export interface RtcOptions {
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** IRQ 8; undefined leaves the RTC without interrupts. */
  readonly irq: InterruptLine | undefined;
  /** Guest RAM size in bytes, for the CMOS memory-size bytes. */
  readonly memoryBytes: number;
  /** Wall-clock time (ms since the Unix epoch, UTC) at virtual time `clock.nowNs()`; default Date.now(). */
  readonly startTimeMs?: number;
}

function toBcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}

/** BCD to binary without validation: invalid nibbles give values above 99, which the date normalizes. */
function fromBcd(v: number): number {
  return (v >> 4) * 10 + (v & 0x0f);
}

export class RtcCmos implements BusDevice {
  readonly name = "rtc-cmos@0x70";
  readonly widths = WIDTH_8;
  readonly cmos = new Uint8Array(128);
  private index = 0;
  /** Port 0x70 bit 7: NMI disabled. */
  nmiMasked = false;
  /** Register C flags (PF, AF, UF; IRQF is derived). */
  private flags = 0;
  private readonly clock: Clock;
  private readonly irq: InterruptLine | undefined;
  private readonly timer: Timer;

  /** The divider's phase: second boundaries (updates) fall at origin + k * 1e9. */
  private originNs: number;
  /** Epoch seconds shown at boundary index `baseIndex` (while running) or frozen (while stopped). */
  private baseSec: number;
  private baseIndex: number;
  /** Last update (second boundary) and periodic period whose flags were accounted. */
  private lastUpdateIndex: number;
  private lastPeriodIndex = 0;
  /** Seconds value last rendered into the time registers, and the format it used. */
  private renderedSec = Number.NaN;
  private renderedFormat = -1;
  /** Interrupts raised (IRQ 8 rising edges), for reports. */
  interrupts = 0;

  constructor(options: RtcOptions) {
    this.clock = options.clock;
    this.irq = options.irq;
    this.timer = options.scheduler.createTimer("rtc", (now) => this.onTimer(now));
    const startMs = options.startTimeMs ?? Date.now();
    if (!Number.isFinite(startMs)) throw new RangeError(`RTC start time must be finite, got ${startMs}`);
    const now = this.clock.nowNs();
    const sec = Math.floor(startMs / 1000);
    this.originNs = now - (startMs - sec * 1000) * 1e6;
    this.baseSec = sec;
    this.baseIndex = this.updateIndex(now);
    this.lastUpdateIndex = this.baseIndex;
    // Power-on defaults a BIOS leaves: 32.768 kHz divider, 1024 Hz rate; BCD, 24-hour; VRT.
    this.cmos[REG_A] = 0x26;
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = 0x80;
    this.lastPeriodIndex = this.periodIndex(now);
    this.fillMemorySize(options.memoryBytes);
    this.render(now);
  }

  attach(ports: Bus): void {
    ports.register(RTC_PORT, 2, this);
  }

  /** CMOS memory-size bytes (IBM AT layout, as QEMU fills them) and the equipment byte. */
  private fillMemorySize(bytes: number): void {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`invalid memory size ${bytes}`);
    const KiB = 1024;
    const MiB = 1024 * KiB;
    const set16 = (reg: number, v: number) => {
      this.cmos[reg] = v & 0xff;
      this.cmos[reg + 1] = (v >> 8) & 0xff;
    };
    const below4g = Math.min(bytes, 0xffffffff);
    set16(0x15, Math.min(Math.floor(below4g / KiB), 640)); // base memory, KiB
    const ext = Math.min(below4g > MiB ? Math.floor((below4g - MiB) / KiB) : 0, 0xffff); // above 1 MiB, KiB
    set16(0x17, ext);
    set16(0x30, ext);
    const high = Math.min(below4g > 16 * MiB ? Math.floor((below4g - 16 * MiB) / (64 * KiB)) : 0, 0xffff);
    set16(0x34, high); // above 16 MiB, 64 KiB units
    this.cmos[0x14] = 0x02; // equipment: math coprocessor present, no floppy
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += this.cmos[i]!;
    this.cmos[0x2e] = (sum >> 8) & 0xff; // checksum of 0x10-0x2D, big-endian
    this.cmos[0x2f] = sum & 0xff;
  }

  // --- time base -------------------------------------------------------------------------

  private updateIndex(now: number): number {
    return Math.floor((now - this.originNs) / NS_PER_S);
  }

  private periodIndex(now: number): number {
    const p = periodicPeriodNs(this.cmos[REG_A]!);
    return p === 0 ? 0 : Math.floor((now - this.originNs) / p);
  }

  /** The divider chain runs (DV = 000, 001 or 010). */
  private dividerRunning(): boolean {
    return (this.cmos[REG_A]! & 0x70) <= 0x20;
  }

  /** Updates happen: divider running and SET clear. */
  private running(): boolean {
    return this.dividerRunning() && (this.cmos[REG_B]! & B_SET) === 0;
  }

  private currentSec(now: number): number {
    return this.running() ? this.baseSec + (this.updateIndex(now) - this.baseIndex) : this.baseSec;
  }

  /** Write the time registers for the current second in the current format. */
  private render(now: number): void {
    this.renderSec(this.currentSec(now));
  }

  private renderSec(sec: number): void {
    const format = this.cmos[REG_B]! & (B_DM_BINARY | B_24H);
    if (sec === this.renderedSec && format === this.renderedFormat) return;
    this.renderedSec = sec;
    this.renderedFormat = format;
    const d = new Date(sec * 1000);
    const year = d.getUTCFullYear();
    this.cmos[REG_SECONDS] = this.encode(d.getUTCSeconds());
    this.cmos[REG_MINUTES] = this.encode(d.getUTCMinutes());
    this.cmos[REG_HOURS] = this.encodeHour(d.getUTCHours());
    this.cmos[REG_DAY_OF_WEEK] = this.encode(d.getUTCDay() + 1);
    this.cmos[REG_DAY_OF_MONTH] = this.encode(d.getUTCDate());
    this.cmos[REG_MONTH] = this.encode(d.getUTCMonth() + 1);
    this.cmos[REG_YEAR] = this.encode(((year % 100) + 100) % 100);
    this.cmos[REG_CENTURY] = this.encode(Math.floor(year / 100) & 0xff);
  }

  private encode(v: number): number {
    return (this.cmos[REG_B]! & B_DM_BINARY) !== 0 ? v & 0xff : toBcd(v % 100);
  }

  private decode(v: number): number {
    return (this.cmos[REG_B]! & B_DM_BINARY) !== 0 ? v : fromBcd(v);
  }

  private encodeHour(h: number): number {
    if ((this.cmos[REG_B]! & B_24H) !== 0) return this.encode(h);
    return this.encode(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  private decodeHour(v: number): number {
    if ((this.cmos[REG_B]! & B_24H) !== 0) return this.decode(v);
    return (this.decode(v & 0x7f) % 12) + ((v & 0x80) !== 0 ? 12 : 0);
  }

  /** Epoch seconds of the date in the time registers (normalized by the Date arithmetic). */
  private decodeTime(): number {
    const c = this.cmos;
    const d = new Date(0);
    const year = this.decode(c[REG_CENTURY]!) * 100 + this.decode(c[REG_YEAR]!);
    d.setUTCFullYear(year, this.decode(c[REG_MONTH]!) - 1, this.decode(c[REG_DAY_OF_MONTH]!));
    d.setUTCHours(this.decodeHour(c[REG_HOURS]!), this.decode(c[REG_MINUTES]!), this.decode(c[REG_SECONDS]!));
    const ms = d.getTime();
    // Out of Date's range (cannot happen with byte-sized fields, but never store NaN).
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : this.baseSec;
  }

  // --- flags and interrupts ----------------------------------------------------------------

  /** Account the updates and periodic periods that passed up to `now` into register C. */
  private syncFlags(now: number): void {
    if (this.dividerRunning()) {
      const p = periodicPeriodNs(this.cmos[REG_A]!);
      if (p !== 0) {
        const pi = Math.floor((now - this.originNs) / p);
        if (pi > this.lastPeriodIndex) this.flags |= C_PF;
        this.lastPeriodIndex = pi;
      }
    }
    if (this.running()) {
      const ui = this.updateIndex(now);
      if (ui > this.lastUpdateIndex) {
        this.flags |= C_UF;
        // Alarm: compare each completed second (at most one day's worth: the pattern repeats daily).
        const first = Math.max(this.lastUpdateIndex + 1, ui - 86_400 + 1);
        for (let i = first; i <= ui; i++) {
          if (this.alarmMatches(this.baseSec + (i - this.baseIndex))) {
            this.flags |= C_AF;
            break;
          }
        }
      }
      this.lastUpdateIndex = ui;
    }
  }

  /** Alarm bytes of 0xC0-0xFF are "don't care" (datasheet "Alarm"). */
  private alarmMatches(sec: number): boolean {
    const c = this.cmos;
    const s = ((sec % 86_400) + 86_400) % 86_400;
    const match = (alarm: number, value: number) => alarm >= 0xc0 || alarm === value;
    return (
      match(c[REG_SECONDS_ALARM]!, this.encode(s % 60)) &&
      match(c[REG_MINUTES_ALARM]!, this.encode(Math.floor(s / 60) % 60)) &&
      match(c[REG_HOURS_ALARM]!, this.encodeHour(Math.floor(s / 3600)))
    );
  }

  /** IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE); IRQ 8 follows IRQF. Then re-arm the timer. */
  private updateIrq(now: number): void {
    const irqf = (this.flags & this.cmos[REG_B]! & (C_PF | C_AF | C_UF)) !== 0;
    if (irqf && this.irq !== undefined && !this.irq.asserted) this.interrupts++;
    this.irq?.set(irqf);
    this.rearm(now, irqf);
  }

  private rearm(now: number, irqf: boolean): void {
    const b = this.cmos[REG_B]!;
    if (this.irq === undefined || irqf) {
      this.timer.cancel(); // Nothing to signal until register C is read.
      return;
    }
    let next = Number.POSITIVE_INFINITY;
    if ((b & B_PIE) !== 0 && this.dividerRunning()) {
      const p = periodicPeriodNs(this.cmos[REG_A]!);
      if (p !== 0) next = this.originNs + (Math.floor((now - this.originNs) / p) + 1) * p;
    }
    if ((b & (B_UIE | B_AIE)) !== 0 && this.running()) {
      next = Math.min(next, this.originNs + (this.updateIndex(now) + 1) * NS_PER_S);
    }
    // Rounding in the divisions above must not yield a deadline at or before now (which
    // would make the scheduler re-run this timer at once): the flags are then caught 1 ns later.
    if (next <= now) next = now + 1;
    this.timer.schedule(next);
  }

  private onTimer(now: number): void {
    this.syncFlags(now);
    this.updateIrq(now);
  }

  // --- ports -------------------------------------------------------------------------------

  read(offset: number, _width: AccessWidth): number {
    if (offset === 0) return 0xff;
    const now = this.clock.nowNs();
    const reg = this.index;
    switch (reg) {
      case REG_A: {
        const next = this.originNs + (this.updateIndex(now) + 1) * NS_PER_S;
        const uip = this.running() && next - now <= UIP_WINDOW_NS;
        return (this.cmos[REG_A]! & 0x7f) | (uip ? A_UIP : 0);
      }
      case REG_C: {
        this.syncFlags(now);
        const irqf = (this.flags & this.cmos[REG_B]! & (C_PF | C_AF | C_UF)) !== 0;
        const v = this.flags | (irqf ? C_IRQF : 0);
        this.flags = 0; // "all flag bits are cleared after register C is read"
        this.updateIrq(now);
        return v;
      }
      case REG_D:
        return 0x80;
      case REG_SECONDS:
      case REG_MINUTES:
      case REG_HOURS:
      case REG_DAY_OF_WEEK:
      case REG_DAY_OF_MONTH:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY:
        if (this.running()) this.render(now);
        return this.cmos[reg]!;
      default:
        return this.cmos[reg]!;
    }
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    value &= 0xff;
    if (offset === 0) {
      this.index = value & 0x7f;
      this.nmiMasked = (value & 0x80) !== 0;
      return;
    }
    const now = this.clock.nowNs();
    const reg = this.index;
    switch (reg) {
      case REG_A: {
        this.syncFlags(now);
        const wasDivider = this.dividerRunning();
        const wasRunning = this.running();
        if (wasRunning) this.freeze(now);
        this.cmos[REG_A] = value & 0x7f; // UIP is read-only
        if (!wasDivider && this.dividerRunning()) {
          // Leaving divider reset: "the first update cycle begins one-half second later".
          this.originNs = now - NS_PER_S / 2;
        }
        if (this.running()) this.thaw(now);
        this.lastPeriodIndex = this.periodIndex(now);
        this.updateIrq(now);
        return;
      }
      case REG_B: {
        this.syncFlags(now);
        const wasRunning = this.running();
        // SET going high stops updates and clears UIE (datasheet, register B).
        if ((value & B_SET) !== 0) value &= ~B_UIE;
        if (wasRunning && (value & B_SET) !== 0) this.freeze(now);
        const formatChanged = ((this.cmos[REG_B]! ^ value) & (B_DM_BINARY | B_24H)) !== 0;
        // A format change while stopped: the stored fields keep their meaning in the old format.
        if (formatChanged && !wasRunning) this.baseSec = this.decodeTime();
        this.cmos[REG_B] = value;
        if (formatChanged && !wasRunning) this.renderSec(this.baseSec);
        if (!wasRunning && this.running()) this.thaw(now);
        if (this.running()) this.render(now);
        this.updateIrq(now);
        return;
      }
      case REG_C:
      case REG_D:
        return; // read-only
      case REG_SECONDS:
      case REG_MINUTES:
      case REG_HOURS:
      case REG_DAY_OF_WEEK:
      case REG_DAY_OF_MONTH:
      case REG_MONTH:
      case REG_YEAR:
      case REG_CENTURY: {
        this.syncFlags(now);
        if (this.running()) this.render(now);
        this.cmos[reg] = value;
        if (reg === REG_DAY_OF_WEEK) return; // derived from the date (see the header)
        this.baseSec = this.decodeTime();
        this.baseIndex = this.updateIndex(now);
        this.lastUpdateIndex = this.baseIndex;
        this.renderedSec = Number.NaN;
        if (this.running()) this.render(now);
        return;
      }
      default:
        this.cmos[reg] = value; // alarms and battery-backed RAM
        if (reg === REG_SECONDS_ALARM || reg === REG_MINUTES_ALARM || reg === REG_HOURS_ALARM) {
          this.updateIrq(now);
        }
        return;
    }
  }

  /** Stop updates: keep the current second. */
  private freeze(now: number): void {
    this.render(now);
    this.baseSec = this.currentSec(now);
  }

  /** Restart updates from the stored fields on the divider's phase. */
  private thaw(now: number): void {
    this.baseSec = this.decodeTime();
    this.baseIndex = this.updateIndex(now);
    this.lastUpdateIndex = this.baseIndex;
    this.renderedSec = Number.NaN;
  }

  /** Seconds since the Unix epoch the RTC shows now (for tests and reports). */
  epochSeconds(): number {
    return this.currentSec(this.clock.nowNs());
  }
}
