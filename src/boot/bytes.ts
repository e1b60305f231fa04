/**
 * Bounds-checked little-endian reads from an untrusted file. Every read names the field it
 * reads so that a truncated or hostile image fails with a `BootImageError` that says which
 * field reached past the end, never with a RangeError from a DataView.
 */

import { BootImageError, hex } from "./errors.js";

export class ByteReader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    /** Names the file in messages ("bzImage", "vmlinux ELF", ...). */
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throws unless `[offset, offset + len)` lies inside the file. Offsets are non-negative
   * integers below 2^53, so the sum is exact. */
  need(offset: number, len: number, field: string): void {
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(len) && offset >= 0 && len >= 0)) {
      throw new BootImageError(
        "corrupt",
        `${this.what}: ${field}: impossible offset ${offset} / length ${len}`,
      );
    }
    if (offset + len > this.bytes.length) {
      throw new BootImageError(
        "truncated",
        `${this.what}: ${field} at offset ${hex(offset)} (+${len} bytes) lies past the end of the file (${this.bytes.length} bytes)`,
      );
    }
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.view.getUint8(offset);
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return this.view.getUint16(offset, true);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return this.view.getUint32(offset, true);
  }

  /** A 64-bit field as a number; values above 2^53 are reported as corrupt. */
  u64(offset: number, field: string): number {
    this.need(offset, 8, field);
    const lo = this.view.getUint32(offset, true);
    const hi = this.view.getUint32(offset + 4, true);
    if (hi >= 0x20_0000) throw new BootImageError("corrupt", `${this.what}: ${field} is above 2^53`);
    return hi * 0x1_0000_0000 + lo;
  }

  /** A view (no copy) of `[offset, offset + len)`. */
  slice(offset: number, len: number, field: string): Uint8Array {
    this.need(offset, len, field);
    return this.bytes.subarray(offset, offset + len);
  }
}
