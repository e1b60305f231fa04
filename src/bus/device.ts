/**
 * The device contract (STYLE.md practice 3, after Firecracker's and crosvm's BusDevice):
 * a device implements reads and writes at an offset inside the range it was registered
 * for, at the widths it declares. Devices never import the CPU: they meet the rest of
 * the machine only through a bus, guest memory (DMA) and interrupt lines.
 */

/** Access widths in bytes. */
export type AccessWidth = 1 | 2 | 4;

export interface BusDevice {
  /** A short name for reports and errors, e.g. "uart16550@0x3f8". */
  readonly name: string;
  /**
   * Bit set of the widths the device handles natively (1 | 2 | 4 as bits 0, 1, 2:
   * `WIDTH_8 | WIDTH_16`). Wider accesses are split by the bus into the largest declared
   * width, little-endian; narrower accesses than any declared width are widened (read)
   * or refused (write) by the bus.
   */
  readonly widths: number;
  /** Read `width` bytes at `offset` from the start of the device's range. */
  read(offset: number, width: AccessWidth): number;
  /** Write the low `width` bytes of `value` at `offset`. */
  write(offset: number, width: AccessWidth, value: number): void;
}

export const WIDTH_8 = 1;
export const WIDTH_16 = 2;
export const WIDTH_32 = 4;
export const WIDTH_ANY = WIDTH_8 | WIDTH_16 | WIDTH_32;
