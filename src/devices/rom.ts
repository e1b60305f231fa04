/**
 * A read-only memory on the MMIO bus (the firmware's copy below 4 GiB). Writes are
 * ignored, as flash in read mode ignores them.
 */

import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_ANY } from "../bus/device.js";

export class Rom implements BusDevice {
  readonly widths = WIDTH_ANY;
  private readonly view: DataView;

  constructor(
    readonly name: string,
    private readonly image: Uint8Array,
  ) {
    this.view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  }

  read(offset: number, width: AccessWidth): number {
    // The bus guarantees offset + width <= image length.
    if (width === 1) return this.image[offset]!;
    if (width === 2) return this.view.getUint16(offset, true);
    return this.view.getUint32(offset, true);
  }

  write(_offset: number, _width: AccessWidth, _value: number): void {}
}
