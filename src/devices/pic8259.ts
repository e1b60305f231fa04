/**
 * The cascaded pair of Intel 8259A programmable interrupt controllers of the PC/AT (Intel
 * 8259A datasheet, order 231468), with the edge/level control registers (ELCR) of the PIIX3
 * ISA bridge (Intel 82371SB datasheet, 4.2.2 "ELCR1/ELCR2").
 *
 *   master: ports 0x20 (command: ICW1, OCW2, OCW3; reads IRR/ISR or the poll byte) and
 *           0x21 (data: ICW2-ICW4, OCW1 = IMR), IRQ 0-7; its IR2 input is the slave's INT.
 *   slave:  ports 0xA0/0xA1, IRQ 8-15.
 *   ELCR:   0x4D0 (IRQ 0-7) / 0x4D1 (IRQ 8-15): 1 = level-triggered. IRQ 0, 1, 2, 8, 13 are
 *           hard-wired edge (82371SB 4.2.2: those ELCR bits are reserved, read 0).
 *
 * The machine drives inputs with `setIrq(n, level, source)` (or `connect(lines)` for ISA
 * InterruptLines), asks `hasInterrupt()` between instructions, and performs the INTA cycle
 * with `acknowledge()`, which returns the vector.
 *
 * Modelling choices (each cited or explained):
 * - Edge-triggered inputs latch IRR on the rising edge and keep it until INTA, as QEMU does;
 *   the datasheet's requirement that the input stay high until the first INTA is not modelled
 *   (a pulse() from a device therefore counts). Level-triggered inputs (ELCR) follow the
 *   line: IRR is cleared when the line drops (8259A "Edge and Level Triggered Modes").
 * - ICW1.LTIM is ignored: on the PIIX3 the ELCR decides the trigger mode per line.
 * - The master's IR2 is level-sensitive to the slave's INT output (the cascade).
 * - An INTA with nothing left to serve (the request vanished) returns the IR7 vector of that
 *   chip without setting ISR: the spurious IRQ 7 / 15 of the datasheet. For a spurious
 *   slave interrupt the master's ISR bit 2 is set, as on hardware, and needs an EOI.
 * - ICW3 is accepted and ignored (the PC wiring: slave on IR2, ID 2). ICW4.uPM = 0 (8080
 *   mode) is treated as 8086 mode; buffered mode bits have no effect.
 * - Every input level may have several sources (ISA device, PCI PIRQ router): the input is
 *   the OR of them (wired-OR of a shared line).
 */

import type { Bus } from "../bus/bus.js";
import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";
import type { InterruptLine } from "../bus/irq.js";

export const PIC_MASTER_PORT = 0x20;
export const PIC_SLAVE_PORT = 0xa0;
export const ELCR_PORT = 0x4d0;

/** ELCR bits that may be set: IRQ 0, 1, 2 (master) and 8, 13 (slave) stay edge-triggered. */
const ELCR_MASK_MASTER = 0xf8;
const ELCR_MASK_SLAVE = 0xde;

/** Input sources of one IRQ line (bit numbers of `PicInputSource`). */
export const IRQ_SOURCE_ISA = 0;
export const IRQ_SOURCE_PCI = 1;

/** One 8259A. */
class PicChip implements BusDevice {
  readonly widths = WIDTH_8;
  /** Interrupt Request Register. */
  irr = 0;
  /** Interrupt Mask Register (OCW1). */
  imr = 0;
  /** In-Service Register. */
  isr = 0;
  /** Current input levels, bit per IR line. */
  levels = 0;
  /** Edge/level control (1 = level), from the ELCR. */
  elcr = 0;
  /** IR lines that are always level-sensitive (the master's cascade input). */
  private readonly forcedLevel: number;
  /** Priority rotation: the IR line with the highest priority is `priorityAdd`. */
  priorityAdd = 0;
  /** Vector base from ICW2 (bits 7:3). */
  vectorBase = 0;
  /** OCW3 RR/RIS: read ISR (true) or IRR (false) at the command port. */
  private readIsr = false;
  /** OCW3 P: the next read is a poll. */
  private poll = false;
  /** OCW3 SMM: special mask mode. */
  specialMask = false;
  /** 0: operational; 1..3: expecting ICW2..ICW4. */
  private initState = 0;
  private icw4Needed = false;
  private single = false;
  /** ICW4 AEOI. */
  autoEoi = false;
  /** OCW2 "rotate in automatic EOI mode". */
  private rotateOnAutoEoi = false;
  /** ICW4 SFNM (special fully nested mode). */
  private sfnm = false;

  constructor(
    readonly name: string,
    private readonly isMaster: boolean,
    private readonly changed: () => void,
  ) {
    this.forcedLevel = isMaster ? 1 << 2 : 0;
  }

  private get levelMask(): number {
    return this.elcr | this.forcedLevel;
  }

  /** Set the level of input `n` (0-7). */
  setInput(n: number, level: boolean): void {
    const mask = 1 << n;
    const was = (this.levels & mask) !== 0;
    if (level) {
      this.levels |= mask;
      // Level mode: IRR follows the line. Edge mode: a low-to-high transition latches IRR.
      if ((this.levelMask & mask) !== 0 || !was) this.irr |= mask;
    } else {
      this.levels &= ~mask;
      if ((this.levelMask & mask) !== 0) this.irr &= ~mask;
    }
  }

  setElcr(value: number): void {
    this.elcr = value;
    // Lines switched to level mode present their current level in IRR.
    this.irr = (this.irr & ~this.elcr) | (this.levels & this.elcr);
  }

  /** Priority index (0 = highest) of the highest-priority bit of `mask`, 8 when none. */
  private priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IR line this chip would present on INT, or -1 (8259A "Priority Resolver"). */
  pending(): number {
    const req = this.irr & ~this.imr;
    const p = this.priorityOf(req);
    if (p === 8) return -1;
    let inService = this.isr;
    // Special mask mode: masked in-service levels do not inhibit lower priorities (OCW3 SMM).
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested mode: the master lets the cascade interrupt through again (ICW4 SFNM).
    if (this.sfnm && this.isMaster) inService &= ~(1 << 2);
    const cur = this.priorityOf(inService);
    return p < cur ? (p + this.priorityAdd) & 7 : -1;
  }

  /** The INTA effect on this chip for IR line `n` (8259A "Interrupt Sequence"). */
  intack(n: number): void {
    const mask = 1 << n;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (n + 1) & 7;
    } else {
      this.isr |= mask;
    }
    // A level-sensitive request stays in IRR while the line is high.
    if ((this.levelMask & mask) === 0) this.irr &= ~mask;
  }

  read(offset: number, _width: AccessWidth): number {
    if (this.poll) {
      // Poll command (OCW3 P=1): the next read returns 0x80 | level and acknowledges it.
      this.poll = false;
      const n = this.pending();
      if (n < 0) return 0;
      this.intack(n);
      this.changed();
      return 0x80 | n;
    }
    if ((offset & 1) === 0) return this.readIsr ? this.isr : this.irr;
    return this.imr;
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    value &= 0xff;
    if ((offset & 1) === 0) {
      if ((value & 0x10) !== 0) this.icw1(value);
      else if ((value & 0x08) !== 0) this.ocw3(value);
      else this.ocw2(value);
    } else {
      switch (this.initState) {
        case 0: // OCW1
          this.imr = value;
          break;
        case 1: // ICW2: vector bits T7-T3
          this.vectorBase = value & 0xf8;
          this.initState = this.single ? (this.icw4Needed ? 3 : 0) : 2;
          break;
        case 2: // ICW3: cascade wiring, fixed on the PC
          this.initState = this.icw4Needed ? 3 : 0;
          break;
        default: // ICW4
          this.autoEoi = (value & 0x02) !== 0;
          this.sfnm = (value & 0x10) !== 0;
          this.initState = 0;
          break;
      }
    }
    this.changed();
  }

  /** ICW1: starts the initialization sequence (8259A "Initialization Command Words"). */
  private icw1(value: number): void {
    this.icw4Needed = (value & 0x01) !== 0;
    this.single = (value & 0x02) !== 0;
    // "The edge sense circuit is reset ... the Interrupt Mask Register is cleared, IR7 input is
    // assigned priority 7, the slave mode address is set to 7, special mask mode is cleared and
    // status read is set to IRR. If IC4 = 0, then all functions selected in ICW4 are set to zero."
    this.irr = this.levels & this.levelMask;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.rotateOnAutoEoi = false;
    this.autoEoi = false;
    this.sfnm = false;
    this.initState = 1;
  }

  /** OCW2: EOI and rotation commands (R, SL, EOI bits 7:5; L2-L0 bits 2:0). */
  private ocw2(value: number): void {
    const level = value & 7;
    switch (value >> 5) {
      case 0: // rotate in automatic EOI mode (clear)
      case 4: // rotate in automatic EOI mode (set)
        this.rotateOnAutoEoi = value >> 7 === 1;
        return;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p === 8) return;
        const n = (p + this.priorityAdd) & 7;
        this.isr &= ~(1 << n);
        if (value >> 5 === 5) this.priorityAdd = (n + 1) & 7;
        return;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << level);
        return;
      case 6: // set priority: `level` becomes the lowest
        this.priorityAdd = (level + 1) & 7;
        return;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.priorityAdd = (level + 1) & 7;
        return;
      default: // 2: no operation
        return;
    }
  }

  /** OCW3: ESMM/SMM (bits 6:5), P (bit 2), RR/RIS (bits 1:0). */
  private ocw3(value: number): void {
    if ((value & 0x04) !== 0) this.poll = true;
    if ((value & 0x02) !== 0) this.readIsr = (value & 0x01) !== 0;
    if ((value & 0x40) !== 0) this.specialMask = (value & 0x20) !== 0;
  }
}

/** The ELCR pair at 0x4D0/0x4D1. */
class ElcrPorts implements BusDevice {
  readonly name = "elcr@0x4d0";
  readonly widths = WIDTH_8;

  constructor(private readonly pic: Pic8259) {}

  read(offset: number, _width: AccessWidth): number {
    return offset === 0 ? this.pic.master.elcr : this.pic.slave.elcr;
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    this.pic.setElcr(offset === 0 ? 0 : 1, value);
  }
}

export class Pic8259 {
  readonly master: PicChip;
  readonly slave: PicChip;
  readonly elcrPorts: BusDevice;
  /** Interrupts delivered (INTA cycles) per IRQ 0-15, for reports. */
  readonly acknowledged = new Float64Array(16);
  /** Spurious INTA cycles (IRQ 7 / IRQ 15 vectors without an in-service bit). */
  spuriousMaster = 0;
  spuriousSlave = 0;
  /** Bit per IRQ (0-15) and source: the wired-OR inputs. */
  private readonly sources = new Uint8Array(16);
  private intr = false;
  private intrListener: ((level: boolean) => void) | undefined;

  constructor() {
    const update = () => this.update();
    this.master = new PicChip("pic8259-master@0x20", true, update);
    this.slave = new PicChip("pic8259-slave@0xa0", false, update);
    this.elcrPorts = new ElcrPorts(this);
  }

  /** Register the master (0x20-0x21), the slave (0xA0-0xA1) and the ELCR (0x4D0-0x4D1). */
  attach(ports: Bus): void {
    ports.register(PIC_MASTER_PORT, 2, this.master);
    ports.register(PIC_SLAVE_PORT, 2, this.slave);
    ports.register(ELCR_PORT, 2, this.elcrPorts);
  }

  /** Wire ISA interrupt lines: `lines[n]` drives IRQ n (source IRQ_SOURCE_ISA). Undefined entries are skipped. */
  connect(lines: readonly (InterruptLine | undefined)[]): void {
    for (let n = 0; n < 16 && n < lines.length; n++) {
      const line = lines[n];
      if (line === undefined) continue;
      line.connect((level) => this.setIrq(n, level));
      if (line.asserted) this.setIrq(n, true);
    }
  }

  /** Called with the new INTR level whenever it changes (to wake a halted vCPU). */
  onIntrChange(listener: (level: boolean) => void): void {
    this.intrListener = listener;
  }

  /** Drive IRQ `n` (0-15) from `source` (0-7); the input is the OR of all sources. Other n are ignored. */
  setIrq(n: number, level: boolean, source = IRQ_SOURCE_ISA): void {
    if (!Number.isInteger(n) || n < 0 || n > 15 || n === 2) return; // IR2 of the master is the cascade.
    const bit = 1 << (source & 7);
    const s = this.sources[n]!;
    const next = level ? s | bit : s & ~bit;
    this.sources[n] = next;
    if (n < 8) this.master.setInput(n, next !== 0);
    else this.slave.setInput(n - 8, next !== 0);
    this.update();
  }

  /** The ELCR of chip 0 (master) or 1 (slave), reserved bits forced to edge. */
  setElcr(chip: 0 | 1, value: number): void {
    if (chip === 0) this.master.setElcr(value & ELCR_MASK_MASTER);
    else this.slave.setElcr(value & ELCR_MASK_SLAVE);
    this.update();
  }

  /** Make IRQ n (0-15) level- (true) or edge-triggered in the ELCR (IRQ 0, 1, 2, 8, 13 stay edge). */
  setTrigger(n: number, level: boolean): void {
    if (!Number.isInteger(n) || n < 0 || n > 15) return;
    const chip = n < 8 ? 0 : 1;
    const bit = 1 << (n & 7);
    const cur = chip === 0 ? this.master.elcr : this.slave.elcr;
    this.setElcr(chip, level ? cur | bit : cur & ~bit);
  }

  /** Whether IRQ n (0-15) is level-triggered. */
  isLevelTriggered(n: number): boolean {
    return n < 8 ? (this.master.elcr & (1 << n)) !== 0 : (this.slave.elcr & (1 << (n - 8))) !== 0;
  }

  /** The INTR output: an interrupt awaits an INTA cycle. */
  hasInterrupt(): boolean {
    return this.intr;
  }

  /** The INTA cycle: returns the vector and moves the request into service. */
  acknowledge(): number {
    const m = this.master.pending();
    let vector: number;
    if (m < 0) {
      // Spurious: the request went away before INTA (8259A: the IR7 vector, ISR untouched).
      this.spuriousMaster++;
      vector = this.master.vectorBase + 7;
    } else {
      this.master.intack(m);
      if (m === 2) {
        const s = this.slave.pending();
        if (s < 0) {
          this.spuriousSlave++;
          vector = this.slave.vectorBase + 7;
        } else {
          this.slave.intack(s);
          this.acknowledged[8 + s]!++;
          vector = this.slave.vectorBase + s;
        }
      } else {
        this.acknowledged[m]!++;
        vector = this.master.vectorBase + m;
      }
    }
    this.update();
    return vector;
  }

  /** Recompute the cascade input and INTR after any change. */
  private update(): void {
    this.master.setInput(2, this.slave.pending() >= 0);
    const intr = this.master.pending() >= 0;
    if (intr !== this.intr) {
      this.intr = intr;
      this.intrListener?.(intr);
    }
  }
}
