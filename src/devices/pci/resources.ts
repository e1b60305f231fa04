/**
 * Firmware-style PCI resource assignment, for a machine booted without a BIOS (Linux with
 * acpi=off and no $PIR table uses the BARs and the Interrupt Line register as it finds them,
 * arch/x86/pci/irq.c pirq_enable_irq): a bump allocator for the I/O and memory windows, and
 * `assignPciResources`, which does what SeaBIOS's pciinit does for an i440FX: place every BAR
 * (naturally aligned), enable decoding, route PIRQA-D and write each function's Interrupt Line.
 *
 * Default windows follow QEMU/SeaBIOS on the i440FX: I/O 0xC000-0xFFFF, memory from
 * 0xE000_0000 (or the top of RAM if higher) to 0xFEC0_0000 (the I/O APIC).
 */

import type { PciBus } from "./pci-bus.js";
import type { BarKind } from "./pci-device.js";
import { PCI_BAR0, PCI_COMMAND, PCI_INTERRUPT_LINE, PciConfigError } from "./pci-device.js";
import type { Piix3IsaBridge } from "./piix3.js";

export interface PciWindows {
  readonly ioBase?: number;
  readonly ioLimit?: number;
  readonly memBase?: number;
  readonly memLimit?: number;
}

export class PciResourceAllocator {
  private ioNext: number;
  private readonly ioLimit: number;
  private memNext: number;
  private readonly memLimit: number;

  constructor(windows: PciWindows = {}) {
    this.ioNext = windows.ioBase ?? 0xc000;
    this.ioLimit = windows.ioLimit ?? 0x1_0000;
    this.memNext = windows.memBase ?? 0xe000_0000;
    this.memLimit = windows.memLimit ?? 0xfec0_0000;
  }

  /** A naturally aligned base for `size` bytes of `kind` space. */
  allocate(kind: BarKind, size: number): number {
    const next = kind === "io" ? this.ioNext : this.memNext;
    const limit = kind === "io" ? this.ioLimit : this.memLimit;
    const base = Math.ceil(next / size) * size;
    if (base + size > limit) {
      throw new PciConfigError(
        `PCI ${kind} window exhausted: ${size} bytes do not fit below 0x${limit.toString(16)}`,
      );
    }
    if (kind === "io") this.ioNext = base + size;
    else this.memNext = base + size;
    return base;
  }
}

export interface AssignOptions extends PciWindows {
  /** ISA IRQs for PIRQA-D (default SeaBIOS's [10, 10, 11, 11]). */
  readonly pirqIrqs?: readonly number[];
  /** Called for each IRQ that PCI interrupts use, so the machine can mark it level-triggered in the ELCR. */
  readonly setLevelTriggered?: (irq: number) => void;
}

/** Assign BARs, enable decoding, route PIRQs and fill Interrupt Line for every function on `pci`. */
export function assignPciResources(pci: PciBus, piix3: Piix3IsaBridge, options: AssignOptions = {}): void {
  const alloc = new PciResourceAllocator({
    ...options,
    memBase: Math.max(options.memBase ?? 0xe000_0000, Math.ceil(pci.ramTop / 0x10_0000) * 0x10_0000),
  });
  const pirqIrqs = options.pirqIrqs ?? [10, 10, 11, 11];
  piix3.setRouting(pirqIrqs);
  for (const irq of new Set(pirqIrqs)) if (irq >= 0) options.setLevelTriggered?.(irq);
  for (const d of pci.devices()) {
    // Largest BARs first keeps the windows dense.
    const order = d.bars
      .map((b, i) => ({ b, i }))
      .filter((x) => x.b !== undefined)
      .sort((x, y) => y.b!.size - x.b!.size);
    let cmd = d.command;
    for (const { b, i } of order) {
      const base = alloc.allocate(b!.kind, b!.size);
      d.configWrite(PCI_BAR0 + 4 * i, 4, base);
      cmd |= b!.kind === "io" ? 0x1 : 0x2;
    }
    if (order.length > 0) d.configWrite(PCI_COMMAND, 2, cmd);
    const pin = d.config[0x3d]!;
    if (pin !== 0) {
      const irq = piix3.isaIrqFor(d.slot, pin);
      d.configWrite(PCI_INTERRUPT_LINE, 1, irq >= 0 ? irq : 0xff);
    }
  }
}
