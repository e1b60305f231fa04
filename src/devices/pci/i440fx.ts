/**
 * The Intel 82441FX PCI and Memory Controller (PMC), the host bridge of the i440FX chipset
 * (Intel 440FX PCIset datasheet, order 290549, 3.2 "PCI Configuration Registers"), at
 * 00.0: vendor 8086h, device 1237h, revision 02h, class 060000h (host bridge).
 *
 * Its device-specific registers (0x50-0xFF: PMCCFG, DRAM row boundaries, PAM0-PAM6 at
 * 0x59-0x5F, SMRAM at 0x72, ...) are kept as read/write storage: memory is not remapped by
 * them (no shadowing of the BIOS area is modelled, since the machine boots without a BIOS).
 */

import { PciDevice } from "./pci-device.js";

export class I440fxHostBridge extends PciDevice {
  constructor() {
    super("i440fx-host-bridge", { vendorId: 0x8086, deviceId: 0x1237, classCode: 0x060000, revision: 0x02 });
    this.set16(0x06, 0x0280); // status: medium DEVSEL timing, fast back-to-back capable
    this.config[0x50] = 0x80; // PMCCFG
    this.config[0x72] = 0x02; // SMRAM: C_BASE_SEG = 010b
    this.writable(0x50, 0x100);
  }
}
