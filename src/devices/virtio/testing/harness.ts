/**
 * A minimal PCI machine for virtio device tests and the fuzz target: guest RAM, port and
 * MMIO buses, PCI bus 0 with the device in slot 4, an INTx observer, and a DriverMock bound
 * to the device. No CPU: the test is the driver.
 */

import { Bus } from "../../../bus/bus.js";
import { GuestMemory } from "../../../memory/guest-memory.js";
import { PciBus } from "../../pci/pci-bus.js";
import type { VirtioPciDevice } from "../pci-transport.js";
import { DriverMock } from "./driver-mock.js";

export interface VirtioHarness<D extends VirtioPciDevice> {
  readonly memory: GuestMemory;
  readonly ports: Bus;
  readonly mmio: Bus;
  readonly pci: PciBus;
  readonly dev: D;
  readonly drv: DriverMock;
  /** The INTx# level the device drives now. */
  readonly irq: () => boolean;
  /** Rising INTx# edges seen. */
  readonly irqEdges: () => number;
}

export const HARNESS_SLOT = 4;

export function virtioHarness<D extends VirtioPciDevice>(
  make: (memory: GuestMemory) => D,
  options: { readonly ramSize?: number; readonly memory?: GuestMemory } = {},
): VirtioHarness<D> {
  const memory = options.memory ?? new GuestMemory(options.ramSize ?? 16 << 20);
  const ports = new Bus("ports", 0x10000);
  const mmio = new Bus("mmio", 0x1_0000_0000);
  const pci = new PciBus(ports, mmio, { ramTop: memory.size });
  pci.attach();
  let level = false;
  let edges = 0;
  pci.setIntxRouter((_d, _pin, l) => {
    if (l && !level) edges++;
    level = l;
  });
  const dev = make(memory);
  pci.addDevice(dev, HARNESS_SLOT);
  const drv = new DriverMock({ memory, pci, mmio, slot: HARNESS_SLOT });
  return { memory, ports, mmio, pci, dev, drv, irq: () => level, irqEdges: () => edges };
}
