/**
 * The Intel 8042 keyboard controller of the PC/AT (IBM PC/AT Technical Reference, "Keyboard
 * Controller"; the command set as documented for the 8042/VT82C42 and implemented by QEMU's
 * pckbd), with a minimal PS/2 keyboard behind it, enough for Linux's i8042 and atkbd probes.
 *
 *   port 0x60: data (output buffer / input buffer for data and command parameters).
 *   port 0x64: status register (read) / command register (write).
 *   Status: OBF (0), IBF (1, always 0: commands complete at once), SYS (2), A2 (3: last write
 *   was a command), INH (4: 1 = keyboard not inhibited), AUXB (5), timeout (6), parity (7).
 *   Command byte (RAM 0): INT (0), INT2 (1), SYS (2), EN inhibit override (3), kbd disable (4),
 *   aux disable (5), XLAT (6).
 *
 * Controller commands: 0x20-0x3F read RAM, 0x60-0x7F write RAM, 0xA7/0xA8 aux disable/enable,
 * 0xA9 aux interface test, 0xAA self-test (0x55), 0xAB keyboard interface test (0x00),
 * 0xAD/0xAE keyboard disable/enable, 0xC0 read input port, 0xD0/0xD1 read/write output port
 * (bit 0 = system reset, active low; bit 1 = A20 gate), 0xD2/0xD3 write keyboard/aux output
 * buffer, 0xD4 write to aux device, 0xE0 read test inputs, 0xF0-0xFF pulse output port bits
 * (0xFE pulses the reset line: `onReset` is called).
 *
 * No AUX (mouse) device is attached: 0xD3 (aux loopback) answers on the keyboard channel
 * without the AUXB status bit and 0xA9 reports 0x02 ("clock line stuck high"), which Linux's
 * i8042_check_aux reads as "no AUX port" at once, without its 500 ms timeouts; bytes sent to
 * the aux device (0xD4) are dropped.
 *
 * The keyboard answers the PS/2 commands atkbd sends: reset (0xFF -> FA AA), get ID (0xF2 ->
 * FA AB 83, or AB 41 with translation), set LEDs/typematic/scan set (FA per byte), enable,
 * disable, defaults (FA), echo (EE), resend/unknown (FE). Host key presses can be injected as
 * scancode bytes with `injectKeyboard`.
 *
 * Port 0x92 (System Control Port A: bit 0 fast reset, bit 1 fast A20) is provided as
 * `port92`, for the machine to register if it wants it.
 */

import type { Bus } from "../bus/bus.js";
import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";
import type { InterruptLine } from "../bus/irq.js";

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;
export const PORT_92 = 0x92;

const STATUS_OBF = 0x01;
const STATUS_SYS = 0x04;
const STATUS_A2 = 0x08;
const STATUS_INH = 0x10;
const STATUS_AUXB = 0x20;

const CB_INT = 0x01;
const CB_INT2 = 0x02;
const CB_SYS = 0x04;
const CB_KBD_DISABLE = 0x10;
const CB_AUX_DISABLE = 0x20;
const CB_XLAT = 0x40;

/** Output-buffer queue size; further bytes are dropped (a guest cannot grow host memory). */
const QUEUE_SIZE = 64;

export interface I8042Options {
  readonly irq1?: InterruptLine;
  readonly irq12?: InterruptLine;
  /** The guest pulsed the reset line (command 0xFE, output port bit 0 low, port 0x92 bit 0). */
  readonly onReset: () => void;
  /** The A20 gate changed (output port bit 1, port 0x92 bit 1). */
  readonly onA20?: (enabled: boolean) => void;
}

/** What the next data-port write means. */
type Pending = "none" | "ram" | "output-port" | "kbd-out" | "aux-out" | "aux-dev";

export class I8042 implements BusDevice {
  readonly name = "i8042@0x60";
  readonly widths = WIDTH_8;
  /** 32 bytes of controller RAM; byte 0 is the command byte. */
  readonly ram = new Uint8Array(32);
  private status = STATUS_INH;
  private outputPort = 0x03; // reset line inactive (high), A20 enabled
  /** Output queue: bytes and whether each came from the aux channel. */
  private readonly queue = new Uint8Array(QUEUE_SIZE);
  private readonly queueAux = new Uint8Array(QUEUE_SIZE);
  private qHead = 0;
  private qCount = 0;
  private pending: Pending = "none";
  private ramIndex = 0;
  /** The keyboard expects a parameter byte for this command (0 = none). */
  private kbdCommand = 0;
  private scanSet = 2;
  /** Resets signalled, for reports. */
  resets = 0;
  readonly port92: BusDevice;

  constructor(private readonly options: I8042Options) {
    this.ram[0] = CB_INT | CB_SYS | CB_XLAT; // what a BIOS leaves
    this.port92 = new Port92(this);
  }

  /** Register 0x60 and 0x64 (port 0x92 is separate: `ports.register(PORT_92, 1, i8042.port92)`). */
  attach(ports: Bus): void {
    ports.register(I8042_DATA_PORT, 1, this);
    ports.register(I8042_COMMAND_PORT, 1, new CommandPort(this));
  }

  get a20Enabled(): boolean {
    return (this.outputPort & 0x02) !== 0;
  }

  /** Host side: scancode bytes from the keyboard (dropped while the keyboard is disabled). */
  injectKeyboard(bytes: Uint8Array): void {
    if ((this.ram[0]! & CB_KBD_DISABLE) !== 0) return;
    for (const b of bytes) this.push(b, false);
  }

  // The data port (offset 0 of this device).
  read(_offset: number, _width: AccessWidth): number {
    if (this.qCount === 0) return this.queue[(this.qHead + QUEUE_SIZE - 1) % QUEUE_SIZE]!; // last byte again
    const b = this.queue[this.qHead]!;
    this.qHead = (this.qHead + 1) % QUEUE_SIZE;
    this.qCount--;
    // The next queued byte enters the output buffer: a new interrupt edge.
    this.options.irq1?.set(false);
    this.options.irq12?.set(false);
    this.updateIrq();
    return b;
  }

  write(_offset: number, _width: AccessWidth, value: number): void {
    value &= 0xff;
    this.status &= ~STATUS_A2;
    const pending = this.pending;
    this.pending = "none";
    switch (pending) {
      case "ram":
        this.ram[this.ramIndex] = value;
        if (this.ramIndex === 0) this.commandByteChanged();
        return;
      case "output-port":
        this.writeOutputPort(value);
        return;
      case "kbd-out":
        this.push(value, false);
        return;
      case "aux-out":
        this.push(value, false); // no AUX device: see the header
        return;
      case "aux-dev":
        return; // no AUX device
      default:
        this.keyboardWrite(value);
        return;
    }
  }

  readStatus(): number {
    let s = this.status & ~(STATUS_OBF | STATUS_AUXB | STATUS_SYS);
    if (this.qCount > 0) {
      s |= STATUS_OBF;
      if (this.queueAux[this.qHead] !== 0) s |= STATUS_AUXB;
    }
    if ((this.ram[0]! & CB_SYS) !== 0) s |= STATUS_SYS;
    return s;
  }

  command(value: number): void {
    value &= 0xff;
    this.status |= STATUS_A2;
    this.pending = "none";
    if (value >= 0x20 && value <= 0x3f) {
      this.push(this.ram[value & 0x1f]!, false);
      return;
    }
    if (value >= 0x60 && value <= 0x7f) {
      this.ramIndex = value & 0x1f;
      this.pending = "ram";
      return;
    }
    if (value >= 0xf0) {
      // Pulse output port bits 0-3 whose mask bit is 0; bit 0 is the CPU reset line.
      if ((value & 0x01) === 0) this.reset();
      return;
    }
    switch (value) {
      case 0xa7: // disable aux
        this.ram[0] = this.ram[0]! | CB_AUX_DISABLE;
        return;
      case 0xa8: // enable aux
        this.ram[0] = this.ram[0]! & ~CB_AUX_DISABLE;
        return;
      case 0xa9: // aux interface test: "clock line stuck high" (no AUX port)
        this.push(0x02, false);
        return;
      case 0xaa: // controller self-test
        this.ram[0] = this.ram[0]! | CB_SYS;
        this.push(0x55, false);
        return;
      case 0xab: // keyboard interface test: no error
        this.push(0x00, false);
        return;
      case 0xad: // disable keyboard
        this.ram[0] = this.ram[0]! | CB_KBD_DISABLE;
        return;
      case 0xae: // enable keyboard
        this.ram[0] = this.ram[0]! & ~CB_KBD_DISABLE;
        return;
      case 0xc0: // read input port: keyboard not inhibited, colour display
        this.push(0x80, false);
        return;
      case 0xd0: // read output port
        this.push(this.outputPort | (this.qCount > 0 ? 0x10 : 0), false);
        return;
      case 0xd1:
        this.pending = "output-port";
        return;
      case 0xd2:
        this.pending = "kbd-out";
        return;
      case 0xd3:
        this.pending = "aux-out";
        return;
      case 0xd4:
        this.pending = "aux-dev";
        return;
      case 0xe0: // read test inputs
        this.push(0x00, false);
        return;
      default:
        return; // unknown commands are ignored
    }
  }

  /** Output port write (0xD1): bit 0 low resets the CPU, bit 1 is the A20 gate. */
  private writeOutputPort(value: number): void {
    const a20Was = this.a20Enabled;
    this.outputPort = value | 0x01;
    if (a20Was !== this.a20Enabled) this.options.onA20?.(this.a20Enabled);
    if ((value & 0x01) === 0) this.reset();
  }

  setA20(enabled: boolean): void {
    if (enabled === this.a20Enabled) return;
    this.outputPort = enabled ? this.outputPort | 0x02 : this.outputPort & ~0x02;
    this.options.onA20?.(enabled);
  }

  reset(): void {
    this.resets++;
    this.options.onReset();
  }

  private commandByteChanged(): void {
    this.updateIrq();
  }

  /** A byte sent to the keyboard (PS/2 keyboard command set). */
  private keyboardWrite(value: number): void {
    // Writing to the keyboard enables it (the controller clears the disable bit on a send).
    this.ram[0] = this.ram[0]! & ~CB_KBD_DISABLE;
    if (this.kbdCommand !== 0) {
      const cmd = this.kbdCommand;
      this.kbdCommand = 0;
      if (cmd === 0xf0) {
        this.push(0xfa, false);
        if (value === 0) this.push(this.scanSet, false);
        else if (value >= 1 && value <= 3) this.scanSet = value;
        return;
      }
      this.push(0xfa, false); // LEDs (0xED), typematic (0xF3): parameter accepted
      return;
    }
    switch (value) {
      case 0xed: // set LEDs
      case 0xf3: // set typematic rate
      case 0xf0: // get/set scan code set
        this.kbdCommand = value;
        this.push(0xfa, false);
        return;
      case 0xee: // echo
        this.push(0xee, false);
        return;
      case 0xf2: // identify: MF2 keyboard
        this.push(0xfa, false);
        this.push(0xab, false);
        this.push((this.ram[0]! & CB_XLAT) !== 0 ? 0x41 : 0x83, false);
        return;
      case 0xf4: // enable scanning
      case 0xf5: // disable scanning
      case 0xf6: // set defaults
        this.push(0xfa, false);
        return;
      case 0xff: // reset and self-test (BAT passed)
        this.scanSet = 2;
        this.push(0xfa, false);
        this.push(0xaa, false);
        return;
      default:
        this.push(0xfe, false); // resend: not understood
        return;
    }
  }

  private push(byte: number, aux: boolean): void {
    if (this.qCount >= QUEUE_SIZE) return;
    const i = (this.qHead + this.qCount) % QUEUE_SIZE;
    this.queue[i] = byte & 0xff;
    this.queueAux[i] = aux ? 1 : 0;
    this.qCount++;
    this.updateIrq();
  }

  /**
   * IRQ 1 (keyboard byte) / IRQ 12 (aux byte) follow OBF for the byte at the head when the
   * command byte enables them; each new byte reaching the output buffer is a new edge.
   */
  private updateIrq(): void {
    const has = this.qCount > 0;
    const aux = has && this.queueAux[this.qHead] !== 0;
    const cb = this.ram[0]!;
    const kbdLevel = has && !aux && (cb & CB_INT) !== 0;
    const auxLevel = has && aux && (cb & CB_INT2) !== 0;
    this.options.irq1?.set(kbdLevel);
    this.options.irq12?.set(auxLevel);
  }
}

/** The status/command register at 0x64. */
class CommandPort implements BusDevice {
  readonly name = "i8042@0x64";
  readonly widths = WIDTH_8;

  constructor(private readonly kbc: I8042) {}

  read(_offset: number, _width: AccessWidth): number {
    return this.kbc.readStatus();
  }

  write(_offset: number, _width: AccessWidth, value: number): void {
    this.kbc.command(value);
  }
}

/** System Control Port A (0x92): bit 0 fast reset (a 0-to-1 write resets), bit 1 fast A20. */
class Port92 implements BusDevice {
  readonly name = "port92";
  readonly widths = WIDTH_8;
  private value = 0x02;

  constructor(private readonly kbc: I8042) {}

  read(_offset: number, _width: AccessWidth): number {
    return (this.value & ~0x02) | (this.kbc.a20Enabled ? 0x02 : 0);
  }

  write(_offset: number, _width: AccessWidth, value: number): void {
    const old = this.value;
    this.value = value & 0x03;
    this.kbc.setA20((value & 0x02) !== 0);
    if ((old & 0x01) === 0 && (value & 0x01) !== 0) this.kbc.reset();
  }
}
