/**
 * QEMU's isa-debug-exit device, for test programs: a write of value v stops the machine
 * with exit status (v << 1) | 1, exactly as `-device isa-debug-exit` does in QEMU, so the
 * same test image ends the same way under both.
 */

import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_ANY } from "../bus/device.js";

export class DebugExit implements BusDevice {
  readonly widths = WIDTH_ANY;
  readonly name: string;

  constructor(
    port: number,
    private readonly onExit: (status: number) => void,
  ) {
    this.name = `isa-debug-exit@0x${port.toString(16)}`;
  }

  read(_offset: number, _width: AccessWidth): number {
    return 0xffffffff;
  }

  write(_offset: number, width: AccessWidth, value: number): void {
    const v = width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff);
    this.onExit(((v << 1) | 1) & 0xff);
  }
}
