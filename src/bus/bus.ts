/**
 * An address-range bus: devices register for `[base, base + length)`; overlaps are
 * refused; unmapped reads return all-ones and unmapped writes are dropped (as an ISA/PCI
 * bus with no responder does); accesses are split to the widths a device declares; and
 * re-entrant I/O (a device that, while handling an access, touches the same bus) is
 * refused, which keeps a buggy or hostile interaction from recursing (STYLE.md practice 3).
 *
 * The port-I/O bus (64 KiB space) and the MMIO bus (4 GiB space) are both instances.
 */

import type { AccessWidth, BusDevice } from "./device.js";

export class BusError extends Error {
  override readonly name = "BusError";
}

interface Mapping {
  readonly base: number;
  readonly length: number;
  readonly device: BusDevice;
}

const ONES: Record<AccessWidth, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class Bus {
  /** Sorted by base; lookups are a binary search (few devices, no allocation). */
  private mappings: Mapping[] = [];
  private busy = false;
  /** Unmapped accesses, for the statistics report. */
  unmappedReads = 0;
  unmappedWrites = 0;

  constructor(
    readonly name: string,
    /** Size of the address space, e.g. 0x10000 for ports. */
    readonly spaceSize: number,
  ) {}

  register(base: number, length: number, device: BusDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(length) || length <= 0 || base < 0) {
      throw new BusError(`${this.name}: invalid range for ${device.name}: base ${base}, length ${length}`);
    }
    if (base + length > this.spaceSize) {
      throw new BusError(
        `${this.name}: ${device.name} at 0x${base.toString(16)}+${length} lies outside the ${this.name} space`,
      );
    }
    for (const m of this.mappings) {
      if (base < m.base + m.length && m.base < base + length) {
        throw new BusError(
          `${this.name}: ${device.name} at [0x${base.toString(16)}, 0x${(base + length).toString(16)}) overlaps ${m.device.name} at [0x${m.base.toString(16)}, 0x${(m.base + m.length).toString(16)})`,
        );
      }
    }
    this.mappings.push({ base, length, device });
    this.mappings.sort((a, b) => a.base - b.base);
  }

  unregister(device: BusDevice): void {
    this.mappings = this.mappings.filter((m) => m.device !== device);
  }

  /** The mapping containing `address`, or undefined. */
  find(address: number): Mapping | undefined {
    const ms = this.mappings;
    let lo = 0;
    let hi = ms.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = ms[mid]!;
      if (address < m.base) hi = mid - 1;
      else if (address >= m.base + m.length) lo = mid + 1;
      else return m;
    }
    return undefined;
  }

  read(address: number, width: AccessWidth): number {
    const m = this.find(address);
    if (m === undefined || address + width > m.base + m.length) {
      // A partially mapped access is treated as unmapped as a whole (all-ones).
      this.unmappedReads++;
      return ONES[width];
    }
    if (this.busy) throw new BusError(`${this.name}: re-entrant read at 0x${address.toString(16)} refused`);
    this.busy = true;
    try {
      return readSplit(m.device, address - m.base, width) >>> 0;
    } finally {
      this.busy = false;
    }
  }

  write(address: number, width: AccessWidth, value: number): void {
    const m = this.find(address);
    if (m === undefined || address + width > m.base + m.length) {
      this.unmappedWrites++;
      return;
    }
    if (this.busy) throw new BusError(`${this.name}: re-entrant write at 0x${address.toString(16)} refused`);
    this.busy = true;
    try {
      writeSplit(m.device, address - m.base, width, value);
    } finally {
      this.busy = false;
    }
  }
}

/** Largest declared width not above `width`, or 0 when the device declares only wider ones. */
function splitWidth(device: BusDevice, width: AccessWidth): 0 | AccessWidth {
  for (let w = width; w >= 1; w >>= 1) {
    if ((device.widths & w) !== 0) return w as AccessWidth;
  }
  return 0;
}

function readSplit(device: BusDevice, offset: number, width: AccessWidth): number {
  if ((device.widths & width) !== 0) return device.read(offset, width);
  const w = splitWidth(device, width);
  if (w === 0) {
    // Narrower than anything the device decodes: read the smallest declared width and extract.
    const wide = (device.widths & 2) !== 0 ? 2 : 4;
    const aligned = offset & ~(wide - 1);
    const shift = (offset - aligned) * 8;
    return (device.read(aligned, wide) >>> shift) & ONES[width];
  }
  let v = 0;
  for (let i = 0; i < width; i += w) v |= (device.read(offset + i, w) & ONES[w]) << (i * 8);
  return v;
}

function writeSplit(device: BusDevice, offset: number, width: AccessWidth, value: number): void {
  if ((device.widths & width) !== 0) {
    device.write(offset, width, value & ONES[width]);
    return;
  }
  const w = splitWidth(device, width);
  if (w === 0) return; // The device does not decode writes this narrow: dropped, as on hardware.
  for (let i = 0; i < width; i += w) device.write(offset + i, w, (value >>> (i * 8)) & ONES[w]);
}
