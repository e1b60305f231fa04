/**
 * PCI bus 0 and configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2
 * "Software Generation of Configuration Transactions"):
 *
 *   0xCF8 CONFIG_ADDRESS (dword accesses only): bit 31 enable, bits 23:16 bus, 15:11 device,
 *         10:8 function, 7:2 register; reserved bits 30:24 and 1:0 read 0. Byte and word
 *         accesses are not CONFIG_ADDRESS: reads give all-ones and writes are dropped, except
 *         a byte write at 0xCF9, the PIIX3 Reset Control register (82371SB 4.1.13, RC: bit 2
 *         "reset CPU" on a 0-to-1 transition), which calls `onReset`.
 *   0xCFC-0xCFF CONFIG_DATA: byte, word or dword at (register + port offset); with the enable
 *         bit clear, or a bus/device/function with nothing behind it, reads give all-ones
 *         (the master abort of a configuration read) and writes are dropped.
 *
 * Only bus 0 exists (no PCI-to-PCI bridges). The bus owns references to the port and MMIO
 * buses on which devices' BARs are registered (pci-device.ts), and forwards INTx levels to an
 * interrupt router (the PIIX3, piix3.ts).
 */

import type { Bus } from "../../bus/bus.js";
import type { AccessWidth, BusDevice } from "../../bus/device.js";
import { WIDTH_ANY } from "../../bus/device.js";
import { type BarKind, PciConfigError, type PciDevice } from "./pci-device.js";

export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
export const PCI_CONFIG_DATA_PORT = 0xcfc;

export interface PciBusOptions {
  /** Guest RAM below 4 GiB in bytes: memory BARs below it are refused (the host bridge decodes DRAM there). */
  readonly ramTop: number;
  /** The Reset Control register at 0xCF9 asked for a reset. */
  readonly onReset?: () => void;
}

/** Receives INTx# changes of the functions on the bus (pin 1-4 = INTA#-INTD#). */
export type IntxRouter = (device: PciDevice, pin: number, level: boolean) => void;

class ConfigAddressPort implements BusDevice {
  readonly name = "pci-config-address@0xcf8";
  readonly widths = WIDTH_ANY;
  private resetControl = 0;

  constructor(private readonly pci: PciBus) {}

  read(offset: number, width: AccessWidth): number {
    if (offset === 0 && width === 4) return this.pci.configAddress;
    if (offset === 1 && width === 1) return this.resetControl;
    return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (offset === 0 && width === 4) {
      this.pci.configAddress = (value & 0x80fffffc) >>> 0;
      return;
    }
    if (offset === 1 && width === 1) {
      const old = this.resetControl;
      this.resetControl = value & 0x06;
      if ((old & 0x04) === 0 && (value & 0x04) !== 0) {
        this.resetControl &= ~0x04;
        this.pci.onReset?.();
      }
    }
  }
}

class ConfigDataPort implements BusDevice {
  readonly name = "pci-config-data@0xcfc";
  readonly widths = WIDTH_ANY;

  constructor(private readonly pci: PciBus) {}

  read(offset: number, width: AccessWidth): number {
    return this.pci.dataRead(offset, width);
  }

  write(offset: number, width: AccessWidth, value: number): void {
    this.pci.dataWrite(offset, width, value);
  }
}

export class PciBus {
  /** Functions by devfn (device << 3 | function). */
  private readonly functions: (PciDevice | undefined)[] = new Array(256).fill(undefined);
  configAddress = 0;
  readonly ramTop: number;
  readonly onReset: (() => void) | undefined;
  private router: IntxRouter | undefined;
  /** Configuration accesses (reads + writes through 0xCFC), for reports. */
  configAccesses = 0;

  constructor(
    /** The port-I/O bus: I/O BARs are registered here. */
    readonly ports: Bus,
    /** The MMIO bus: memory BARs are registered here. */
    readonly mmio: Bus,
    options: PciBusOptions,
  ) {
    if (!Number.isFinite(options.ramTop) || options.ramTop < 0)
      throw new PciConfigError(`ramTop ${options.ramTop}`);
    this.ramTop = options.ramTop;
    this.onReset = options.onReset;
  }

  /** Register CONFIG_ADDRESS (0xCF8-0xCFB) and CONFIG_DATA (0xCFC-0xCFF) on the port bus. */
  attach(): void {
    this.ports.register(PCI_CONFIG_ADDRESS_PORT, 4, new ConfigAddressPort(this));
    this.ports.register(PCI_CONFIG_DATA_PORT, 4, new ConfigDataPort(this));
  }

  addDevice(device: PciDevice, slot: number, fn = 0): void {
    if (!Number.isInteger(slot) || slot < 0 || slot > 31 || !Number.isInteger(fn) || fn < 0 || fn > 7) {
      throw new PciConfigError(`${device.name}: invalid slot ${slot}.${fn}`);
    }
    const devfn = (slot << 3) | fn;
    const other = this.functions[devfn];
    if (other !== undefined)
      throw new PciConfigError(`${device.name}: ${slot}.${fn} is taken by ${other.name}`);
    if (device.bus !== undefined) throw new PciConfigError(`${device.name} is already on a bus`);
    this.functions[devfn] = device;
    device.bus = this;
    device.slot = slot;
    device.fn = fn;
    device.updateMappings();
  }

  device(slot: number, fn = 0): PciDevice | undefined {
    return this.functions[((slot & 31) << 3) | (fn & 7)];
  }

  /** Every function on the bus, in devfn order. */
  devices(): PciDevice[] {
    return this.functions.filter((d): d is PciDevice => d !== undefined);
  }

  setIntxRouter(router: IntxRouter): void {
    this.router = router;
  }

  intxChanged(device: PciDevice, level: boolean): void {
    this.router?.(device, device.config[0x3d]!, level);
  }

  /** Whether a BAR may decode [base, base + size): inside the space, and memory BARs above RAM. */
  barPlacementAllowed(kind: BarKind, base: number, size: number): boolean {
    if (kind === "io") return base + size <= this.ports.spaceSize;
    return base >= this.ramTop && base + size <= this.mmio.spaceSize;
  }

  /** A configuration read on bus 0 (all-ones when nothing answers). */
  configRead(bus: number, slot: number, fn: number, offset: number, width: AccessWidth): number {
    const d = bus === 0 ? this.device(slot, fn) : undefined;
    if (d === undefined) return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    return d.configRead(offset & 0xff, width);
  }

  configWrite(
    bus: number,
    slot: number,
    fn: number,
    offset: number,
    width: AccessWidth,
    value: number,
  ): void {
    const d = bus === 0 ? this.device(slot, fn) : undefined;
    d?.configWrite(offset & 0xff, width, value);
  }

  dataRead(offset: number, width: AccessWidth): number {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0) return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
    this.configAccesses++;
    return this.configRead((a >>> 16) & 0xff, (a >>> 11) & 31, (a >>> 8) & 7, (a & 0xfc) + offset, width);
  }

  dataWrite(offset: number, width: AccessWidth, value: number): void {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0) return;
    this.configAccesses++;
    this.configWrite((a >>> 16) & 0xff, (a >>> 11) & 31, (a >>> 8) & 7, (a & 0xfc) + offset, width, value);
  }
}
