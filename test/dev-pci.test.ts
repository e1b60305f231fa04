import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import type { AccessWidth, BusDevice } from "../src/bus/device.js";
import { WIDTH_ANY } from "../src/bus/device.js";
import { I440fxHostBridge } from "../src/devices/pci/i440fx.js";
import { PciBus } from "../src/devices/pci/pci-bus.js";
import { PciDevice } from "../src/devices/pci/pci-device.js";
import { Piix3IsaBridge } from "../src/devices/pci/piix3.js";
import { assignPciResources } from "../src/devices/pci/resources.js";
import { Pic8259 } from "../src/devices/pic8259.js";

class Regs implements BusDevice {
  readonly widths = WIDTH_ANY;
  readonly mem = new Uint32Array(64);
  constructor(readonly name: string) {}
  read(offset: number, _width: AccessWidth): number {
    return this.mem[offset >> 2]!;
  }
  write(offset: number, _width: AccessWidth, value: number): void {
    this.mem[offset >> 2] = value;
  }
}

function setup() {
  const ports = new Bus("ports", 0x10000);
  const mmio = new Bus("mmio", 0x1_0000_0000);
  let resets = 0;
  const pci = new PciBus(ports, mmio, { ramTop: 64 * 1024 * 1024, onReset: () => resets++ });
  pci.attach();
  const pic = new Pic8259();
  pic.attach(ports);
  pci.addDevice(new I440fxHostBridge(), 0);
  const piix3 = new Piix3IsaBridge(pci, { setIsaIrq: (irq, level) => pic.setIrq(irq, level, 1) });
  pci.addDevice(piix3, 1);
  const regs = new Regs("nic");
  const nic = new PciDevice("nic", {
    vendorId: 0x10ec,
    deviceId: 0x8139,
    classCode: 0x020000,
    interruptPin: 1,
  });
  nic.defineBar(0, { kind: "io", size: 256, device: regs });
  nic.defineBar(1, { kind: "mem", size: 4096, device: regs });
  pci.addDevice(nic, 3);
  const cfg = (slot: number, fn: number, reg: number) => (0x80000000 | (slot << 11) | (fn << 8) | reg) >>> 0;
  const read32 = (slot: number, fn: number, reg: number) => {
    ports.write(0xcf8, 4, cfg(slot, fn, reg));
    return ports.read(0xcfc, 4);
  };
  const write32 = (slot: number, fn: number, reg: number, v: number) => {
    ports.write(0xcf8, 4, cfg(slot, fn, reg));
    ports.write(0xcfc, 4, v);
  };
  return { ports, mmio, pci, pic, piix3, nic, regs, read32, write32, cfg, resets: () => resets };
}

test("PCI mechanism 1: host bridge and ISA bridge IDs through 0xCF8/0xCFC; byte and word offsets", () => {
  const { ports, read32, cfg } = setup();
  assert.equal(read32(0, 0, 0x00), 0x12378086);
  assert.equal(read32(0, 0, 0x08) >>> 8, 0x060000, "host bridge class");
  assert.equal(read32(1, 0, 0x00), 0x70008086);
  assert.equal(read32(1, 0, 0x08) >>> 8, 0x060100, "ISA bridge class");
  assert.equal((read32(1, 0, 0x0c) >>> 16) & 0xff, 0x80, "PIIX3 is multi-function");
  ports.write(0xcf8, 4, cfg(0, 0, 0x00));
  assert.equal(ports.read(0xcfe, 2), 0x1237, "word at offset 2");
  assert.equal(ports.read(0xcfd, 1), 0x80, "byte at offset 1");
  assert.equal(ports.read(0xcf8, 4), cfg(0, 0, 0), "CONFIG_ADDRESS reads back");
});

test("PCI: unmapped slots, functions, other buses and a disabled address read all-ones", () => {
  const { ports, read32 } = setup();
  assert.equal(read32(5, 0, 0), 0xffffffff);
  assert.equal(read32(0, 1, 0), 0xffffffff);
  ports.write(0xcf8, 4, 0x80010000); // bus 1
  assert.equal(ports.read(0xcfc, 4), 0xffffffff);
  ports.write(0xcf8, 4, 0x00000000); // enable bit clear
  assert.equal(ports.read(0xcfc, 4), 0xffffffff);
});

test("PCI: Linux's pci_check_type1 probe sequence works (byte write to 0xCFB does not touch CONFIG_ADDRESS)", () => {
  const { ports } = setup();
  ports.write(0xcf8, 4, 0x12345678 | 0x80000000);
  ports.write(0xcfb, 1, 0x01);
  ports.write(0xcf8, 4, 0x80000000);
  assert.equal(ports.read(0xcf8, 4), 0x80000000);
  assert.equal(ports.read(0xcfa, 1), 0xff, "type 2 probe sees nothing");
});

test("PCI: BAR sizing by writing all-ones; decode follows the command register", () => {
  const { ports, mmio, nic, regs, read32, write32 } = setup();
  write32(3, 0, 0x10, 0xffffffff);
  assert.equal(read32(3, 0, 0x10), 0xffffff01, "256-byte I/O BAR");
  write32(3, 0, 0x14, 0xffffffff);
  assert.equal(read32(3, 0, 0x14), 0xfffff000, "4 KiB memory BAR");
  write32(3, 0, 0x18, 0xffffffff);
  assert.equal(read32(3, 0, 0x18), 0, "unimplemented BAR");
  write32(3, 0, 0x10, 0xc100);
  write32(3, 0, 0x14, 0xfebf0000);
  assert.equal(ports.read(0xc104, 4), 0xffffffff, "not decoded before the command register enables it");
  write32(3, 0, 0x04, 0x0003);
  regs.mem[1] = 0xdeadbeef;
  assert.equal(ports.read(0xc104, 4), 0xdeadbeef);
  assert.equal(mmio.read(0xfebf0004, 4), 0xdeadbeef);
  write32(3, 0, 0x10, 0xc200); // move while enabled
  assert.equal(ports.read(0xc104, 4), 0xffffffff);
  assert.equal(ports.read(0xc204, 4), 0xdeadbeef);
  write32(3, 0, 0x04, 0x0000);
  assert.equal(mmio.read(0xfebf0004, 4), 0xffffffff);
  // A BAR over the PIC or inside RAM is refused, not a crash.
  write32(3, 0, 0x10, 0x0000);
  write32(3, 0, 0x14, 0x00100000);
  write32(3, 0, 0x04, 0x0003);
  assert.equal(nic.mapConflicts, 1, "memory BAR below the top of RAM");
  const uart = new Regs("uart");
  ports.register(0x3f8, 8, uart);
  uart.mem[0] = 0x55;
  write32(3, 0, 0x10, 0x0300); // [0x300, 0x400) would cover the UART
  assert.equal(nic.mapConflicts, 2, "I/O BAR over another device");
  assert.equal(ports.read(0x3f8, 1), 0x55, "the UART still answers");
});

test("PCI: PIRQ routing maps INTA# of slot 3 to the programmed ISA IRQ, level-triggered", () => {
  const { pci, pic, piix3, nic, read32, write32 } = setup();
  assignPciResources(pci, piix3, { setLevelTriggered: (irq) => pic.setTrigger(irq, true) });
  assert.notEqual(read32(3, 0, 0x10) & ~0xff, 0, "BAR assigned");
  assert.equal(read32(3, 0, 0x04) & 3, 3, "decode enabled");
  // Slot 3 INTA# -> PIRQ (0 + 3 - 1) & 3 = C -> IRQ 11 with SeaBIOS's routing.
  assert.equal(read32(3, 0, 0x3c) & 0xffff, 0x010b, "interrupt pin A, line 11");
  assert.equal(pic.isLevelTriggered(11), true);
  nic.setIntx(true);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal((read32(3, 0, 0x04) >>> 16) & 0x08, 0x08, "status: interrupt");
  write32(3, 0, 0x04, 0x0403); // INTx disable
  assert.equal(pic.hasInterrupt(), false);
  write32(3, 0, 0x04, 0x0003);
  assert.equal(pic.hasInterrupt(), true);
  // The guest re-routes PIRQC to IRQ 5; a reserved value (IRQ 2) routes nothing.
  write32(1, 0, 0x60, 0x0a050a0a);
  assert.equal(piix3.routeOf(2), 5);
  pic.setTrigger(5, true);
  assert.equal(pic.hasInterrupt(), true);
  write32(1, 0, 0x60, 0x80028080);
  assert.equal(pic.hasInterrupt(), false);
  nic.setIntx(false);
});

test("PCI: reset control at 0xCF9 and hostile config writes", () => {
  const { ports, resets, write32, read32 } = setup();
  ports.write(0xcf9, 1, 0x02);
  assert.equal(resets(), 0);
  ports.write(0xcf9, 1, 0x06);
  assert.equal(resets(), 1);
  for (let reg = 0; reg < 256; reg += 4) {
    write32(0, 0, reg, 0xffffffff);
    write32(1, 0, reg, 0xffffffff);
    write32(3, 0, reg, 0xffffffff);
  }
  assert.equal(read32(0, 0, 0), 0x12378086, "IDs are read-only");
  assert.equal(ports.read(0xcfd, 4), 0xffffffff, "misaligned dword: unmapped");
});
