/**
 * National Semiconductor / TI 16550A UART (PC16550D datasheet, "Registers" section):
 * THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and the divisor latch (LCR.DLAB).
 * Transmission is instantaneous (every byte written to THR goes straight to the sink, so
 * THRE and TEMT always read 1); received bytes wait in a 16-byte FIFO (or a single holding
 * register when FCR.0 is clear). Interrupts follow the datasheet's priority table:
 * line status > received data > THR empty > modem status. Loopback (MCR.4) feeds THR back
 * into the receiver.
 */

import type { AccessWidth, BusDevice } from "../bus/device.js";
import { WIDTH_8 } from "../bus/device.js";
import type { InterruptLine } from "../bus/irq.js";

const RX_FIFO_SIZE = 16;

const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;

const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_THRE = 0x02;
const IIR_FIFO_ENABLED = 0xc0;

export class Uart16550 implements BusDevice {
  readonly widths = WIDTH_8;
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private lsrErrors = 0;
  private scr = 0;
  private divisor = 12;
  private fifoEnabled = false;
  private readonly rx = new Uint8Array(RX_FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  /** THR-empty interrupt pending: set by a THR write or enabling IER.THRE, cleared by reading IIR. */
  private thrInterrupt = false;
  /** Bytes the guest transmitted (for reports). */
  bytesTransmitted = 0;

  constructor(
    readonly name: string,
    private readonly irq: InterruptLine | undefined,
    private readonly sink: (byte: number) => void,
  ) {}

  /** Host side: deliver received bytes. Returns how many fit (the rest would overrun). */
  receive(bytes: Uint8Array): number {
    let accepted = 0;
    const capacity = this.fifoEnabled ? RX_FIFO_SIZE : 1;
    for (const b of bytes) {
      if (this.rxCount >= capacity) {
        this.lsrErrors |= LSR_OE;
        break;
      }
      this.rx[(this.rxHead + this.rxCount) % RX_FIFO_SIZE] = b;
      this.rxCount++;
      accepted++;
    }
    this.updateIrq();
    return accepted;
  }

  /** Free space in the receive FIFO, for a host-side feeder. */
  get receiveSpace(): number {
    return (this.fifoEnabled ? RX_FIFO_SIZE : 1) - this.rxCount;
  }

  read(offset: number, _width: AccessWidth): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0:
        if (dlab) return this.divisor & 0xff;
        return this.popRx();
      case 1:
        if (dlab) return this.divisor >>> 8;
        return this.ier;
      case 2: {
        const iir = this.currentIir();
        if (iir === IIR_THRE) this.thrInterrupt = false; // Reading IIR clears a THRE interrupt.
        this.updateIrq();
        return iir | (this.fifoEnabled ? IIR_FIFO_ENABLED : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const lsr = (this.rxCount > 0 ? LSR_DR : 0) | LSR_THRE | LSR_TEMT | this.lsrErrors;
        this.lsrErrors = 0; // Error bits clear on read.
        this.updateIrq();
        return lsr;
      }
      case 6:
        // Modem status: in loopback, MCR outputs appear on the inputs; otherwise CTS, DSR, DCD set.
        if ((this.mcr & 0x10) !== 0) {
          return (
            ((this.mcr & 0x02) << 3) |
            ((this.mcr & 0x01) << 5) |
            ((this.mcr & 0x08) << 4) |
            ((this.mcr & 0x04) << 4)
          );
        }
        return 0xb0;
      case 7:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write(offset: number, _width: AccessWidth, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0:
        if (dlab) {
          this.divisor = (this.divisor & 0xff00) | value;
          return;
        }
        this.bytesTransmitted++;
        // Writing THR clears a pending THRE interrupt (datasheet, IIR priority table); the byte
        // then leaves at once and THR is empty again, which raises a new THRE interrupt. The
        // line drops in between, so the edge-triggered 8259 sees a fresh edge for the new
        // interrupt: without it, a THRE that is re-armed while the line is still high is lost
        // and the 8250 driver's transmit stalls.
        this.thrInterrupt = false;
        this.updateIrq();
        if ((this.mcr & 0x10) !== 0) this.receive(Uint8Array.of(value));
        else this.sink(value);
        this.thrInterrupt = true;
        this.updateIrq();
        return;
      case 1:
        if (dlab) {
          this.divisor = (this.divisor & 0xff) | (value << 8);
          return;
        }
        // Enabling THRE interrupts while THR is empty raises one at once (datasheet, IER).
        if ((value & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0) this.thrInterrupt = true;
        this.ier = value & 0x0f;
        this.updateIrq();
        return;
      case 2:
        this.fifoEnabled = (value & 0x01) !== 0;
        if ((value & 0x02) !== 0 || !this.fifoEnabled) {
          this.rxHead = 0;
          this.rxCount = 0;
        }
        this.updateIrq();
        return;
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        this.updateIrq();
        return;
      case 7:
        this.scr = value;
        return;
      default:
        return; // LSR and MSR are read-only.
    }
  }

  private popRx(): number {
    if (this.rxCount === 0) return 0;
    const b = this.rx[this.rxHead]!;
    this.rxHead = (this.rxHead + 1) % RX_FIFO_SIZE;
    this.rxCount--;
    this.updateIrq();
    return b;
  }

  private currentIir(): number {
    if ((this.ier & IER_RLS) !== 0 && this.lsrErrors !== 0) return IIR_RLS;
    if ((this.ier & IER_RDA) !== 0 && this.rxCount > 0) return IIR_RDA;
    if ((this.ier & IER_THRE) !== 0 && this.thrInterrupt) return IIR_THRE;
    // Modem-status changes never happen (the modem lines are fixed), so IIR_MS is never reported.
    return IIR_NONE;
  }

  private updateIrq(): void {
    // MCR.OUT2 gates the interrupt onto the ISA bus on PCs.
    const pending = this.currentIir() !== IIR_NONE && (this.mcr & 0x08) !== 0;
    this.irq?.set(pending);
  }
}
