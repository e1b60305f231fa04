/**
 * Port 0x80, the POST diagnostic port: BIOSes write progress codes here and Linux uses
 * it as an I/O delay (outb to 0x80). It latches the last value written.
 */

import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";

export class PostPort implements BusDevice {
  readonly name = "post@0x80";
  readonly widths = WIDTH_8;
  lastCode = 0;
  writes = 0;

  read(_offset: number, _width: AccessWidth): number {
    return this.lastCode;
  }

  write(_offset: number, _width: AccessWidth, value: number): void {
    this.lastCode = value & 0xff;
    this.writes++;
  }
}
