/**
 * The Intel 82371SB PIIX3 PCI-to-ISA bridge, function 0 (82371FB/SB datasheet, order 290550,
 * 4.1 "PCI to ISA/EIO Bridge Configuration Registers"): vendor 8086h, device 7000h, class
 * 060100h, header type 80h (multi-function: the IDE and USB functions are not modelled).
 *
 * Its PIRQ Route Control registers PIRQRC[A:D] (0x60-0x63, 4.1.10) steer the four PCI
 * interrupt lines PIRQA#-PIRQD# onto ISA IRQs: bit 7 IRQROUTEN (1 = disabled, the default
 * 80h), bits 3:0 the IRQ; only IRQ 3-7, 9-12, 14 and 15 are valid (others are reserved and
 * route nothing). A function's INTx# reaches PIRQ[(pin - 1 + slot - 1) mod 4], the board
 * wiring QEMU and SeaBIOS use for the i440FX. Several PCI functions may share one PIRQ and
 * several PIRQs one IRQ: the IRQ is the OR of them (the lines are wired-OR, active low).
 *
 * The ELCR (0x4D0/0x4D1), also in the PIIX3, is modelled with the 8259 pair (pic8259.ts); the
 * Reset Control register (0xCF9) with the configuration ports (pci-bus.ts). Other
 * device-specific registers (0x40-0xFF) are plain storage.
 */

import type { AccessWidth } from "../../bus/device.js";
import type { PciBus } from "./pci-bus.js";
import { PciDevice } from "./pci-device.js";

export const PIIX3_PIRQRC = 0x60;
/** IRQs PIRQRC may select (82371SB 4.1.10). */
export const PIRQ_VALID_IRQS = 0b1101_1110_1111_1000;

export interface Piix3Options {
  /** Drives ISA IRQ `irq` from the PCI side (wire to pic.setIrq(irq, level, IRQ_SOURCE_PCI)). */
  readonly setIsaIrq: (irq: number, level: boolean) => void;
}

export class Piix3IsaBridge extends PciDevice {
  /** Asserting functions per PIRQ A-D. */
  private readonly pirqCount = new Int32Array(4);
  /** ISA IRQs currently driven high (bit per IRQ). */
  private irqOut = 0;
  /** PCI interrupts routed (rising INTx# edges that reached an IRQ), for reports. */
  routed = 0;

  constructor(
    pci: PciBus,
    private readonly options: Piix3Options,
  ) {
    super("piix3-isa-bridge", { vendorId: 0x8086, deviceId: 0x7000, classCode: 0x060100, headerType: 0x80 });
    this.set16(0x04, 0x0007); // command: I/O, memory, bus master (hard-wired on for the ISA bridge)
    this.set16(0x06, 0x0200); // status: medium DEVSEL timing
    this.config[0x4c] = 0x4d; // IORT
    this.set16(0x4e, 0x0003); // XBCS
    for (let i = 0; i < 4; i++) this.config[PIIX3_PIRQRC + i] = 0x80;
    this.config[0x69] = 0x02; // TOM
    this.config[0x70] = 0x80; // MBIRQ0
    this.config[0x71] = 0x80; // MBIRQ1
    this.set16(0x76, 0x0c0c); // MBDMA
    this.writable(0x40, 0x100);
    pci.setIntxRouter((device, pin, level) => this.intx(device, pin, level));
  }

  /** The PIRQ (0-3 for A-D) a function's INTx# pin (1-4) reaches. */
  static pirqOf(slot: number, pin: number): number {
    return (pin - 1 + slot - 1 + 8) & 3;
  }

  /** The ISA IRQ PIRQ `pirq` is routed to, or -1. */
  routeOf(pirq: number): number {
    const v = this.config[PIIX3_PIRQRC + (pirq & 3)]!;
    if ((v & 0x80) !== 0) return -1;
    const irq = v & 0x0f;
    return (PIRQ_VALID_IRQS & (1 << irq)) !== 0 ? irq : -1;
  }

  /** The ISA IRQ a function at `slot` with INTx `pin` reaches, or -1. */
  isaIrqFor(slot: number, pin: number): number {
    if (pin < 1 || pin > 4) return -1;
    return this.routeOf(Piix3IsaBridge.pirqOf(slot, pin));
  }

  /** Program PIRQA-D as a BIOS would (e.g. SeaBIOS's [10, 10, 11, 11]); -1 disables a PIRQ. */
  setRouting(irqs: readonly number[]): void {
    for (let i = 0; i < 4; i++) {
      const irq = irqs[i] ?? -1;
      this.config[PIIX3_PIRQRC + i] = irq >= 0 && (PIRQ_VALID_IRQS & (1 << irq)) !== 0 ? irq : 0x80;
    }
    this.updateOutputs();
  }

  private intx(device: PciDevice, pin: number, level: boolean): void {
    if (pin < 1 || pin > 4) return;
    const pirq = Piix3IsaBridge.pirqOf(device.slot, pin);
    // PciDevice reports transitions only, so the count stays within [0, functions].
    this.pirqCount[pirq] = Math.max(0, this.pirqCount[pirq]! + (level ? 1 : -1));
    if (level && this.routeOf(pirq) >= 0) this.routed++;
    this.updateOutputs();
  }

  protected override configWritten(offset: number, width: AccessWidth): void {
    if (offset < PIIX3_PIRQRC + 4 && offset + width > PIIX3_PIRQRC) this.updateOutputs();
  }

  private updateOutputs(): void {
    let want = 0;
    for (let p = 0; p < 4; p++) {
      const irq = this.routeOf(p);
      if (irq >= 0 && this.pirqCount[p]! > 0) want |= 1 << irq;
    }
    const changed = want ^ this.irqOut;
    this.irqOut = want;
    for (let irq = 0; irq < 16; irq++) {
      if ((changed & (1 << irq)) !== 0) this.options.setIsaIrq(irq, (want & (1 << irq)) !== 0);
    }
  }
}
