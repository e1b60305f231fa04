/**
 * A PCI NIC on a bare platform for the NIC model tests: port and MMIO buses, the i440FX host
 * bridge and PIIX3 with an 8259A (level-triggered PCI IRQs), firmware-style BAR and IRQ
 * assignment (src/devices/pci/resources.ts), and the NIC's backend wired back-to-back to a
 * `wire` whose transmitted frames collect in `sent`.
 */
import { Bus } from "../src/bus/bus.js";
import { I440fxHostBridge } from "../src/devices/pci/i440fx.js";
import { PciBus } from "../src/devices/pci/pci-bus.js";
import type { PciDevice } from "../src/devices/pci/pci-device.js";
import { Piix3IsaBridge } from "../src/devices/pci/piix3.js";
import { assignPciResources } from "../src/devices/pci/resources.js";
import { Pic8259 } from "../src/devices/pic8259.js";
import { backToBack, type NetBackend } from "../src/net/backend.js";

export function pciNicPlatform<T extends PciDevice>(
  makeNic: (backend: NetBackend) => T,
  options: { slot: number; ramTop: number },
) {
  const ports = new Bus("ports", 0x10000);
  const mmio = new Bus("mmio", 0x1_0000_0000);
  const pci = new PciBus(ports, mmio, { ramTop: options.ramTop });
  pci.attach();
  const pic = new Pic8259();
  pic.attach(ports);
  pci.addDevice(new I440fxHostBridge(), 0);
  const piix3 = new Piix3IsaBridge(pci, { setIsaIrq: (irq, level) => pic.setIrq(irq, level, 1) });
  pci.addDevice(piix3, 1);
  const [nicSide, wire] = backToBack();
  const nic = makeNic(nicSide);
  pci.addDevice(nic, options.slot);
  assignPciResources(pci, piix3, { setLevelTriggered: (irq) => pic.setTrigger(irq, true) });
  const sent: Uint8Array[] = [];
  wire.setReceiver((f) => {
    sent.push(f);
    return true;
  });
  return { ports, mmio, pci, pic, nic, wire, sent };
}

/** An IPv4-typed Ethernet frame of `len` bytes with a payload pattern (i * mult + seed). */
export function testFrame(
  dst: Uint8Array,
  src: Uint8Array,
  len: number,
  seed: number,
  mult: number,
): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  for (let i = 14; i < len; i++) f[i] = (i * mult + seed) & 0xff;
  return f;
}
