/**
 * The PC platform devices every vmlab machine has, wired to the buses, the virtual clock and
 * the scheduler: the 8259A pair with ELCR, the 8254 PIT with port 0x61, the MC146818 CMOS RTC,
 * the i8042 (keyboard controller reset), port 0x92, and PCI configuration mechanism 1 with an
 * i440FX host bridge and a PIIX3 ISA bridge. The 16550A UART and port 0x80 are added by the
 * machine itself.
 */

import type { Bus } from "../bus/bus.js";
import { InterruptLine } from "../bus/irq.js";
import { I8042 } from "../devices/i8042.js";
import { I440fxHostBridge } from "../devices/pci/i440fx.js";
import { PciBus } from "../devices/pci/pci-bus.js";
import { Piix3IsaBridge } from "../devices/pci/piix3.js";
import { assignPciResources } from "../devices/pci/resources.js";
import { IRQ_SOURCE_PCI, Pic8259 } from "../devices/pic8259.js";
import { Pit8254 } from "../devices/pit8254.js";
import { RtcCmos } from "../devices/rtc-cmos.js";
import type { Clock } from "../time/clock.js";
import type { Scheduler } from "../time/scheduler.js";

export interface PcPlatformOptions {
  readonly ports: Bus;
  readonly mmio: Bus;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly memoryBytes: number;
  /** Wall-clock start for the RTC (ms since the epoch); fixed in deterministic mode. */
  readonly rtcStartMs?: number;
  /** The guest asked for a reset (i8042 0xFE, port 0x92, 0xCF9). */
  readonly onReset: () => void;
}

export class PcPlatform {
  /** ISA IRQ lines 0-15; devices drive them, the PIC listens. */
  readonly irqs: InterruptLine[] = Array.from({ length: 16 }, (_, i) => new InterruptLine(`IRQ${i}`));
  readonly pic = new Pic8259();
  readonly pit: Pit8254;
  readonly rtc: RtcCmos;
  readonly kbc: I8042;
  readonly pci: PciBus;
  readonly piix3: Piix3IsaBridge;

  constructor(o: PcPlatformOptions) {
    this.pic.attach(o.ports);
    this.pic.connect(this.irqs);
    this.pit = new Pit8254(o.clock, o.scheduler, this.irqs[0]!);
    this.pit.attach(o.ports);
    this.rtc = new RtcCmos({
      clock: o.clock,
      scheduler: o.scheduler,
      irq: this.irqs[8],
      memoryBytes: o.memoryBytes,
      ...(o.rtcStartMs !== undefined ? { startTimeMs: o.rtcStartMs } : {}),
    });
    this.rtc.attach(o.ports);
    this.kbc = new I8042({ irq1: this.irqs[1]!, irq12: this.irqs[12]!, onReset: o.onReset });
    this.kbc.attach(o.ports);
    o.ports.register(0x92, 1, this.kbc.port92);
    this.pci = new PciBus(o.ports, o.mmio, {
      ramTop: Math.min(o.memoryBytes, 0xe000_0000),
      onReset: o.onReset,
    });
    this.pci.attach();
    this.pci.addDevice(new I440fxHostBridge(), 0);
    this.piix3 = new Piix3IsaBridge(this.pci, {
      setIsaIrq: (irq, level) => this.pic.setIrq(irq, level, IRQ_SOURCE_PCI),
    });
    this.pci.addDevice(this.piix3, 1);
  }

  /** Place BARs and route PCI interrupts as a BIOS would; call after all PCI devices are added. */
  assignPciResources(): void {
    assignPciResources(this.pci, this.piix3, { setLevelTriggered: (irq) => this.pic.setTrigger(irq, true) });
  }
}
