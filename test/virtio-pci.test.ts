// Virtio over PCI (virtio 1.2, 4.1): identity, capability list, common configuration, feature
// negotiation and the status machine, ISR/INTx, the PCI_CFG window, register accounting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { I440fxHostBridge } from "../src/devices/pci/i440fx.js";
import { PciBus } from "../src/devices/pci/pci-bus.js";
import { Piix3IsaBridge } from "../src/devices/pci/piix3.js";
import { assignPciResources } from "../src/devices/pci/resources.js";
import { Pic8259 } from "../src/devices/pic8259.js";
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  featureWords,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
} from "../src/devices/virtio/constants.js";
import { VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VirtioNet } from "../src/devices/virtio/net.js";
import { virtioHarness } from "../src/devices/virtio/testing/harness.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import { NullBackend } from "../src/net/backend.js";

const net = () => virtioHarness((memory) => new VirtioNet({ memory, backend: new NullBackend() }));
const ALL = featureWords([F_VERSION_1, F_EVENT_IDX, F_INDIRECT_DESC, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS]);

test("virtio-pci: PCI identity and the vendor capability list Linux's virtio_pci_modern looks for", () => {
  const { drv } = net();
  assert.equal(drv.cfgRead(0x00, 2), 0x1af4, "vendor");
  assert.equal(drv.cfgRead(0x02, 2), 0x1041, "modern virtio-net device ID 0x1040 + 1");
  assert.equal(drv.cfgRead(0x08, 1), 1, "revision 1 (non-transitional)");
  assert.equal(drv.cfgRead(0x2c, 2), 0x1af4, "subsystem vendor");
  assert.ok(drv.cfgRead(0x2e, 2) >= 0x40, "subsystem ID >= 0x40 (4.1.2.1)");
  assert.equal(drv.cfgRead(0x0a, 2), 0x0200, "Ethernet controller");
  assert.equal(drv.cfgRead(0x3d, 1), 1, "INTA#");
  assert.equal(drv.cfgRead(0x06, 2) & 0x10, 0x10, "status: capabilities list");
  const caps = drv.findCaps();
  assert.equal(caps.common, drv.barBase + 0x0000);
  assert.equal(caps.isr, drv.barBase + 0x1000);
  assert.equal(caps.device, drv.barBase + 0x2000);
  assert.equal(caps.notify, drv.barBase + 0x3000);
  assert.equal(caps.notifyMultiplier, 4);
  // Capabilities are read-only to the driver (4.1.4.1).
  drv.cfgWrite(0x40 + 8, 4, 0x1234);
  assert.equal(drv.cfgRead(0x40 + 8, 4), 0);
});

test("virtio-pci: common configuration reads; reset; queue fields per queue_select", () => {
  const { drv, dev } = net();
  assert.equal(drv.common(0x12, 2), 2, "num_queues: rx, tx");
  assert.equal(drv.common(0x10, 2), 0xffff, "msix_config = VIRTIO_MSI_NO_VECTOR");
  drv.setCommon(0x16, 2, 1);
  assert.equal(drv.common(0x18, 2), 256, "queue_size of tx");
  assert.equal(drv.common(0x1e, 2), 1, "queue_notify_off");
  assert.equal(drv.common(0x1a, 2), 0xffff, "queue_msix_vector");
  drv.setCommon(0x16, 2, 7);
  assert.equal(drv.common(0x18, 2), 0, "4.1.4.3.2: queue_size 0 for a missing queue");
  drv.setCommon(0x00, 4, 1);
  assert.equal(drv.common(0x04, 4) & 1, 1, "VIRTIO_F_VERSION_1 offered in word 1");
  drv.setCommon(0x00, 4, 5);
  assert.equal(drv.common(0x04, 4), 0, "feature words beyond 1 read 0");
  assert.equal(dev.stats.get("read:queue_size"), 2);
  assert.equal(dev.stats.get("write:queue_select"), 2);
  assert.equal(dev.stats.get("read:device_feature"), 2);
  // A write at a width the field does not have is refused and counted.
  drv.setCommon(0x16, 1, 0);
  assert.equal(dev.stats.get("error:bad-register-access"), 1);
  assert.equal(drv.common(0x16, 2), 7, "unchanged");
});

test("virtio-pci: feature negotiation accepts a subset with VERSION_1, refuses anything else", () => {
  const { drv, dev } = net();
  assert.equal(drv.negotiate(ALL), true);
  assert.equal(dev.negotiated(F_EVENT_IDX), true);
  assert.equal(drv.status & STATUS_FEATURES_OK, STATUS_FEATURES_OK);
  // Features are frozen after FEATURES_OK (3.1.1).
  drv.setCommon(0x08, 4, 0);
  drv.setCommon(0x0c, 4, 0);
  assert.equal(dev.stats.get("error:write-after-features-ok"), 1);
  assert.equal(dev.negotiated(VIRTIO_NET_F_MAC), true);
  // Without VERSION_1 a modern device refuses (FEATURES_OK does not stick).
  assert.equal(drv.negotiate(featureWords([VIRTIO_NET_F_MAC])), false);
  assert.equal(dev.stats.get("error:no-version-1"), 1);
  // A feature the device did not offer (bit 22, VIRTIO_NET_F_MQ) is refused.
  assert.equal(drv.negotiate(featureWords([F_VERSION_1, 22]), true), false);
  assert.equal(dev.stats.get("error:feature-not-offered"), 1);
  // Writing 0 resets: status, features, queues.
  assert.equal(drv.negotiate(ALL), true);
  drv.setupQueue(0);
  drv.driverOk();
  assert.equal(drv.status & STATUS_DRIVER_OK, STATUS_DRIVER_OK);
  drv.status = 0;
  assert.equal(drv.status, 0);
  drv.setCommon(0x16, 2, 0);
  assert.equal(drv.common(0x1c, 2), 0, "queue_enable reads 0 after reset (4.1.4.3.1)");
  assert.equal(drv.common(0x20, 4), 0);
  drv.setCommon(0x08, 4, 1);
  assert.equal(drv.common(0x0c, 4), 0, "driver features cleared");
});

test("virtio-pci: queue configuration is validated at enable; a bad ring is DEVICE_NEEDS_RESET", () => {
  const { drv, dev } = net();
  drv.negotiate(ALL);
  drv.setCommon(0x16, 2, 0);
  drv.setCommon(0x18, 2, 100); // not a power of 2
  drv.setCommon(0x20, 4, 0x10000);
  drv.setCommon(0x28, 4, 0x11000);
  drv.setCommon(0x30, 4, 0x12000);
  drv.setCommon(0x1c, 2, 1);
  assert.equal(drv.common(0x1c, 2), 0, "not enabled");
  assert.equal(dev.stats.get("error:queue-size"), 1);
  assert.equal(drv.status & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET);
  drv.negotiate(ALL);
  assert.equal(drv.status & STATUS_DEVICE_NEEDS_RESET, 0, "reset clears DEVICE_NEEDS_RESET");
  drv.setCommon(0x16, 2, 0);
  drv.setCommon(0x18, 2, 256);
  drv.setCommon(0x20, 4, 0xfff100); // desc table (4 KiB) runs past 16 MiB of RAM
  drv.setCommon(0x1c, 2, 1);
  assert.equal(dev.stats.get("error:ring-outside-ram"), 1);
  drv.negotiate(ALL);
  drv.setCommon(0x16, 2, 0);
  drv.setCommon(0x24, 4, 1); // queue_desc above 4 GiB
  drv.setCommon(0x1c, 2, 1);
  assert.equal(dev.stats.get("error:ring-outside-ram"), 2);
  // A queue that is enabled cannot be reconfigured.
  drv.negotiate(ALL);
  drv.setupQueue(0);
  drv.setCommon(0x20, 4, 0x20000);
  assert.equal(dev.stats.get("error:queue-config-while-enabled"), 1);
  drv.setCommon(0x1c, 2, 0);
  assert.equal(dev.stats.get("error:queue-disable"), 1);
});

test("virtio-pci: ISR is read-to-clear and drives INTx#; config change sets bit 1", () => {
  const h = net();
  const { drv, dev } = h;
  drv.negotiate(ALL);
  drv.setupQueue(0);
  drv.setupQueue(1);
  drv.driverOk();
  assert.equal(h.irq(), false);
  dev.setLink(false);
  assert.equal(h.irq(), true);
  assert.equal(drv.cfgRead(0x06, 2) & 0x08, 0x08, "PCI status: interrupt");
  assert.equal(drv.config(6, 2), 0, "link down in the config");
  assert.equal(drv.readIsr(), 2, "configuration change");
  assert.equal(h.irq(), false);
  assert.equal(drv.readIsr(), 0, "cleared by the read");
  assert.equal(dev.stats.get("irq:raised"), 1);
  assert.equal(dev.stats.get("irq:lowered"), 1);
  assert.equal(dev.stats.get("read:isr"), 2);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => drv.config(i, 1)),
    [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
  );
  assert.equal(drv.config(0, 4), 0x12005452, "32-bit reads of the config are little-endian");
});

test("virtio-pci: the PCI_CFG capability reaches the BAR through configuration space (4.1.4.9)", () => {
  const { drv } = net();
  const p = drv.findCaps().pciCfg;
  drv.cfgWrite(p + 4, 1, 4); // bar
  drv.cfgWrite(p + 8, 4, 0x12); // offset: num_queues
  drv.cfgWrite(p + 12, 4, 2); // length
  assert.equal(drv.cfgRead(p + 16, 4) & 0xffff, 2);
  drv.cfgWrite(p + 8, 4, 0x14); // device_status
  drv.cfgWrite(p + 12, 4, 1);
  drv.cfgWrite(p + 16, 1, 1); // ACKNOWLEDGE
  assert.equal(drv.status, 1);
  drv.cfgWrite(p + 8, 4, 0x13); // misaligned for length 2: ignored
  drv.cfgWrite(p + 12, 4, 2);
  assert.equal(drv.cfgRead(p + 16, 2), 0x0001, "keeps the last data");
});

test("virtio-pci: on the i440FX/PIIX3 platform, firmware-style assignment places BAR 4 and INTA# reaches the PIC", () => {
  const ports = new Bus("ports", 0x10000);
  const mmio = new Bus("mmio", 0x1_0000_0000);
  const memory = new GuestMemory(16 << 20);
  const pci = new PciBus(ports, mmio, { ramTop: memory.size });
  pci.attach();
  const pic = new Pic8259();
  pic.attach(ports);
  pci.addDevice(new I440fxHostBridge(), 0);
  const piix3 = new Piix3IsaBridge(pci, { setIsaIrq: (irq, level) => pic.setIrq(irq, level, 1) });
  pci.addDevice(piix3, 1);
  const dev = new VirtioNet({ memory, backend: new NullBackend() });
  pci.addDevice(dev, 5);
  assignPciResources(pci, piix3, { setLevelTriggered: (irq) => pic.setTrigger(irq, true) });
  const bar = dev.barAddress(4);
  assert.ok(bar >= 0xe000_0000 && bar % 0x4000 === 0, "BAR 4 placed above RAM, aligned");
  assert.equal(mmio.read(bar + 0x12, 2), 2, "num_queues through the MMIO bus");
  // What Linux does: pci_set_master, then the virtio status sequence.
  pci.configWrite(0, 5, 0, 0x04, 2, pci.configRead(0, 5, 0, 0x04, 2) | 0x04);
  mmio.write(bar + 0x14, 1, 1 | 2);
  mmio.write(bar + 0x08, 4, 1);
  mmio.write(bar + 0x0c, 4, 1); // VIRTIO_F_VERSION_1
  mmio.write(bar + 0x14, 1, 1 | 2 | 8);
  assert.equal(mmio.read(bar + 0x14, 1), 1 | 2 | 8);
  mmio.write(bar + 0x14, 1, 1 | 2 | 8 | 4);
  assert.equal(pic.hasInterrupt(), false);
  dev.setLink(false);
  // Slot 5 INTA# -> PIRQ (0 + 5 - 1) & 3 = A -> IRQ 10.
  assert.equal(pci.configRead(0, 5, 0, 0x3c, 1), 10);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(mmio.read(bar + 0x1000, 1), 2, "ISR: configuration change");
  assert.equal(pic.hasInterrupt(), false);
});
