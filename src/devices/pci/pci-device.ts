/**
 * A PCI function: its 256-byte configuration space with a type 0 header (PCI Local Bus
 * Specification 3.0, 6.1 "Configuration Space Organization"), the writable-bit mask of every
 * byte, write-1-to-clear status bits, base address registers (6.2.5.1) with size probing by
 * writing all-ones, the command register's decode enables (6.2.2) and INTx (6.2.4, 6.8.1).
 *
 * When the guest enables I/O or memory decoding (command bits 0 and 1) and a BAR holds a
 * usable address, the BAR's window is registered on the port or MMIO Bus; disabling decoding
 * or moving the BAR unregisters it. A BAR the guest places over another device, outside the
 * address space or below the top of RAM (where the i440FX decodes DRAM) is left undecoded
 * and counted in `mapConflicts` (hardware would decode both and corrupt the bus).
 * 64-bit BARs and expansion ROMs are not implemented (the ROM BAR reads 0).
 */

import type { AccessWidth, BusDevice } from "../../bus/device.js";
import type { PciBus } from "./pci-bus.js";

export class PciConfigError extends Error {
  override readonly name = "PciConfigError";
}

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const CMD_IO = 0x0001;
export const CMD_MEMORY = 0x0002;
export const CMD_MASTER = 0x0004;
export const CMD_PARITY = 0x0040;
export const CMD_SERR = 0x0100;
export const CMD_INTX_DISABLE = 0x0400;
export const STATUS_INTERRUPT = 0x0008;

export type BarKind = "io" | "mem";

export interface PciIds {
  readonly vendorId: number;
  readonly deviceId: number;
  /** Class, subclass and programming interface: 0xCCSSPP. */
  readonly classCode: number;
  readonly revision?: number;
  /** Header type byte (bit 7 = multi-function); only type 0 layouts are modelled. */
  readonly headerType?: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
  /** 0 = no interrupt, 1-4 = INTA#-INTD#. */
  readonly interruptPin?: number;
}

export interface BarDefinition {
  readonly kind: BarKind;
  /** A power of two: at least 4 bytes for I/O (at most 256), 16 bytes for memory (at most 2 GiB). */
  readonly size: number;
  /** The device behind the window; it sees offsets from the BAR's base. */
  readonly device: BusDevice;
  readonly prefetchable?: boolean;
}

/** One BAR's window as registered on a bus: a distinct BusDevice so it can be unregistered alone. */
class BarWindow implements BusDevice {
  readonly name: string;
  readonly widths: number;
  /** Base address it is registered at, or -1. */
  mappedAt = -1;
  /** The last placement refused (counted once; retried on later config writes), or -1. */
  refusedAt = -1;

  constructor(
    readonly index: number,
    readonly kind: BarKind,
    readonly size: number,
    readonly target: BusDevice,
  ) {
    this.name = `${target.name} BAR${index}`;
    this.widths = target.widths;
  }

  read(offset: number, width: AccessWidth): number {
    return this.target.read(offset, width);
  }

  write(offset: number, width: AccessWidth, value: number): void {
    this.target.write(offset, width, value);
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export class PciDevice {
  readonly config = new Uint8Array(256);
  /** Bits the guest may write, per byte. */
  protected readonly wmask = new Uint8Array(256);
  /** Bits a guest write of 1 clears, per byte. */
  protected readonly w1cmask = new Uint8Array(256);
  readonly bars: (BarWindow | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  /** Set by PciBus.addDevice. */
  bus: PciBus | undefined;
  slot = -1;
  fn = -1;
  /** The device's internal interrupt request (before the command register's INTx disable). */
  private intxRequest = false;
  /** The INTx level last reported to the bus. */
  private intxReported = false;
  /** BAR placements refused (overlap, outside the space, below the top of RAM). */
  mapConflicts = 0;

  constructor(
    readonly name: string,
    ids: PciIds,
  ) {
    this.set16(PCI_VENDOR_ID, ids.vendorId);
    this.set16(PCI_DEVICE_ID, ids.deviceId);
    this.config[PCI_REVISION] = ids.revision ?? 0;
    this.config[PCI_CLASS_PROG] = ids.classCode & 0xff;
    this.config[PCI_CLASS_PROG + 1] = (ids.classCode >> 8) & 0xff;
    this.config[PCI_CLASS_PROG + 2] = (ids.classCode >> 16) & 0xff;
    this.config[PCI_HEADER_TYPE] = ids.headerType ?? 0;
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId ?? 0);
    this.set16(PCI_SUBSYSTEM_ID, ids.subsystemId ?? 0);
    const pin = ids.interruptPin ?? 0;
    if (!Number.isInteger(pin) || pin < 0 || pin > 4)
      throw new PciConfigError(`${name}: interrupt pin ${pin}`);
    this.config[PCI_INTERRUPT_PIN] = pin;
    // Command: I/O, memory, bus master, parity response, SERR#, interrupt disable (6.2.2).
    this.setMask16(PCI_COMMAND, CMD_IO | CMD_MEMORY | CMD_MASTER | CMD_PARITY | CMD_SERR | CMD_INTX_DISABLE);
    // Status: the error bits 15-11 and 8 are write-1-to-clear (6.2.3).
    this.w1cmask[PCI_STATUS] = 0x00;
    this.w1cmask[PCI_STATUS + 1] = 0xf9;
    this.wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.wmask[PCI_LATENCY_TIMER] = 0xff;
    this.wmask[PCI_INTERRUPT_LINE] = 0xff;
  }

  /** Declare BAR `index` (0-5). Call before the device is added to the bus. */
  defineBar(index: number, def: BarDefinition): void {
    if (!Number.isInteger(index) || index < 0 || index > 5)
      throw new PciConfigError(`${this.name}: BAR index ${index}`);
    const min = def.kind === "io" ? 4 : 16;
    const max = def.kind === "io" ? 256 : 0x8000_0000;
    if (!isPowerOfTwo(def.size) || def.size < min || def.size > max) {
      throw new PciConfigError(
        `${this.name}: BAR${index} size ${def.size} is not a power of two in [${min}, ${max}]`,
      );
    }
    this.bars[index] = new BarWindow(index, def.kind, def.size, def.device);
    const off = PCI_BAR0 + 4 * index;
    // Low bits are hard-wired: I/O bit 0 = 1; memory bits 2:1 = 00 (32-bit), bit 3 = prefetchable.
    const flags = def.kind === "io" ? 0x1 : def.prefetchable === true ? 0x8 : 0x0;
    this.set32(off, flags);
    this.setMask32(off, ~(def.size - 1) >>> 0);
  }

  /** Base address programmed in BAR `index` (flag bits removed). */
  barAddress(index: number): number {
    const bar = this.bars[index];
    if (bar === undefined) return 0;
    const v = this.get32(PCI_BAR0 + 4 * index);
    return (bar.kind === "io" ? v & ~0x3 : v & ~0xf) >>> 0;
  }

  get command(): number {
    return this.get16(PCI_COMMAND);
  }

  /** Config read of `width` bytes at `offset` (the caller keeps it within one dword). */
  configRead(offset: number, width: AccessWidth): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v << 8) | this.config[(offset + i) & 0xff]!;
    return v >>> 0;
  }

  /** Config write of the low `width` bytes of `value` at `offset`, through the write masks. */
  configWrite(offset: number, width: AccessWidth, value: number): void {
    for (let i = 0; i < width; i++) {
      const off = (offset + i) & 0xff;
      const b = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[off]!;
      let c = (this.config[off]! & ~wm) | (b & wm);
      c &= ~(b & this.w1cmask[off]!);
      this.config[off] = c;
    }
    const end = offset + width;
    if (offset < PCI_COMMAND + 2 && end > PCI_COMMAND) {
      this.updateMappings();
      this.updateIntx();
    } else if (offset < PCI_BAR0 + 24 && end > PCI_BAR0) {
      this.updateMappings();
    }
    this.configWritten(offset, width);
  }

  /** Subclass hook after a config write (device-specific registers). */
  protected configWritten(_offset: number, _width: AccessWidth): void {}

  /** The device raises (true) or lowers its INTx# request. */
  setIntx(level: boolean): void {
    this.intxRequest = level;
    this.updateIntx();
  }

  private updateIntx(): void {
    // Status bit 3 shows the request; command bit 10 keeps it off the pin (6.2.2, 6.2.3).
    if (this.intxRequest) this.config[PCI_STATUS] = this.config[PCI_STATUS]! | STATUS_INTERRUPT;
    else this.config[PCI_STATUS] = this.config[PCI_STATUS]! & ~STATUS_INTERRUPT;
    const level =
      this.intxRequest && (this.command & CMD_INTX_DISABLE) === 0 && this.config[PCI_INTERRUPT_PIN] !== 0;
    if (level === this.intxReported) return;
    this.intxReported = level;
    this.bus?.intxChanged(this, level);
  }

  /** Register or unregister each BAR window according to the command register and BAR values. */
  updateMappings(): void {
    const bus = this.bus;
    if (bus === undefined) return;
    const cmd = this.command;
    for (let i = 0; i < 6; i++) {
      const bar = this.bars[i];
      if (bar === undefined) continue;
      const target = bar.kind === "io" ? bus.ports : bus.mmio;
      const enabled = (cmd & (bar.kind === "io" ? CMD_IO : CMD_MEMORY)) !== 0;
      let want = enabled ? this.barAddress(i) : -1;
      if (want === 0) want = -1; // an unassigned BAR decodes nothing
      if (want === bar.mappedAt) continue;
      if (bar.mappedAt >= 0) {
        target.unregister(bar);
        bar.mappedAt = -1;
      }
      if (want < 0) continue;
      let ok = bus.barPlacementAllowed(bar.kind, want, bar.size);
      if (ok) {
        try {
          target.register(want, bar.size, bar);
          bar.mappedAt = want;
          bar.refusedAt = -1;
        } catch {
          ok = false; // overlaps another device: left undecoded (see the header)
        }
      }
      if (!ok && bar.refusedAt !== want) {
        bar.refusedAt = want;
        this.mapConflicts++;
      }
    }
  }

  protected get16(off: number): number {
    return this.config[off]! | (this.config[off + 1]! << 8);
  }

  protected get32(off: number): number {
    return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0;
  }

  protected set16(off: number, v: number): void {
    this.config[off] = v & 0xff;
    this.config[off + 1] = (v >> 8) & 0xff;
  }

  protected set32(off: number, v: number): void {
    this.set16(off, v & 0xffff);
    this.set16(off + 2, (v >>> 16) & 0xffff);
  }

  protected setMask16(off: number, m: number): void {
    this.wmask[off] = m & 0xff;
    this.wmask[off + 1] = (m >> 8) & 0xff;
  }

  protected setMask32(off: number, m: number): void {
    this.setMask16(off, m & 0xffff);
    this.setMask16(off + 2, (m >>> 16) & 0xffff);
  }

  /** Make config bytes [from, to) guest-writable (device-specific registers). */
  protected writable(from: number, to: number): void {
    for (let i = from; i < to && i < 256; i++) this.wmask[i] = 0xff;
  }
}
