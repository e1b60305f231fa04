/**
 * Realtek RTL8029AS, the PCI NE2000 (PCI 10EC:8029, class 0x020000, one 32-byte I/O BAR,
 * INTA#), driven by Linux's `ne2k-pci` + `8390` modules. Its core is the National
 * DP8390 "Network Interface Controller" (DP8390D datasheet, "Register Descriptions",
 * "Buffer Memory Access"): a page-selected register file, a receive ring in on-card buffer
 * memory, and a remote DMA engine the host drives through the data port.
 *
 * I/O window (NE2000 convention; RTL8029AS datasheet ch. 5):
 *   0x00-0x0F  DP8390 registers, page chosen by CR.PS1:PS0 (pages 0-3; page 3 is Realtek's)
 *   0x10-0x17  data port (remote DMA; 8-, 16- or 32-bit; word mode when DCR.WTS)
 *   0x18-0x1F  reset port (a read resets the chip and sets ISR.RST; a write does nothing)
 *
 * Buffer memory (the card's local address space, 16 bits wide, held in one 32 KiB array):
 *   0x0000-0x001F  station address PROM, read-only: 16 bytes (MAC, zeros, 0x57 0x57 "W" =
 *                  word card), each byte doubled, so byte reads in byte mode give
 *                  m0 m0 m1 m1 ... and byte or word reads in word mode give m0 m1 ... (as
 *                  ne2k_pci_init_one reads it: 32 `inb`s with DCR = 0x49)
 *   0x4000-0x7FFF  16 KiB packet RAM (pages 0x40-0x7F; ne2k-pci uses 0x40-0x4B for two
 *                  transmit buffers and 0x4C-0x7F as the receive ring)
 *   elsewhere      unmapped: reads give 0xFF, writes are dropped ("error:remote-dma-unmapped")
 * Every index into the array is masked or range-checked, so no register value the guest can
 * write (PSTART/PSTOP/CURR/BNRY/TPSR/RSAR) reaches outside it.
 *
 * There is no bus-master DMA: every received or transmitted byte crosses the data port,
 * one I/O exit per 1, 2 or 4 bytes. That is why the NE2000 is the slowest emulated NIC.
 *
 * Timing: transmission and remote DMA complete instantly (ISR.PTX / ISR.RDC are set before
 * the command's OUT returns); a received frame is stored when the backend delivers it.
 *
 * Not modelled: the EEPROM (9346) bit-banging interface, boot ROM, CRC errors / frame
 * alignment errors (the backend delivers only good frames), the FIFO register's contents,
 * collision statistics (NCR reads 0), DCR byte-order swap, the "send packet" command's
 * auto-advance of BNRY on completion (it sets RSAR/RBCR from the ring header as the
 * datasheet says; Linux does not use it).
 */

import type { AccessWidth, BusDevice } from "../../bus/device.js";
import { WIDTH_ANY } from "../../bus/device.js";
import type { GuestMemory } from "../../memory/guest-memory.js";
import type { NetBackend } from "../../net/backend.js";
import { DeviceStats } from "../device-stats.js";
import { PciDevice } from "../pci/pci-device.js";
import { etherCrcBe } from "./ether-crc.js";

// CR, Command Register (DP8390D "Command Register").
export const CR_STP = 0x01;
export const CR_STA = 0x02;
export const CR_TXP = 0x04;
export const CR_RD_READ = 0x08;
export const CR_RD_WRITE = 0x10;
export const CR_RD_SEND = 0x18;
export const CR_RD_ABORT = 0x20;
export const CR_PAGE1 = 0x40;
export const CR_PAGE2 = 0x80;
export const CR_PAGE3 = 0xc0;

// ISR / IMR bits.
export const ISR_PRX = 0x01;
export const ISR_PTX = 0x02;
export const ISR_RXE = 0x04;
export const ISR_TXE = 0x08;
export const ISR_OVW = 0x10;
export const ISR_CNT = 0x20;
export const ISR_RDC = 0x40;
export const ISR_RST = 0x80;

// RCR (receive configuration), TCR (transmit configuration), DCR (data configuration).
export const RCR_SEP = 0x01;
export const RCR_AR = 0x02;
export const RCR_AB = 0x04;
export const RCR_AM = 0x08;
export const RCR_PRO = 0x10;
export const RCR_MON = 0x20;
export const TCR_LB_MASK = 0x06;
export const DCR_WTS = 0x01;

// RSR (receive status) and TSR (transmit status).
export const RSR_PRX = 0x01;
export const RSR_MPA = 0x10;
export const RSR_PHY = 0x20;
export const RSR_DIS = 0x40;
export const TSR_PTX = 0x01;
export const TSR_ABT = 0x08;

/** Ports inside the BAR. */
export const NE_DATAPORT = 0x10;
export const NE_RESET = 0x1f;
export const NE_IO_EXTENT = 0x20;

/** Buffer memory: the array covers card addresses 0x0000-0x7FFF. */
export const BUFFER_SIZE = 0x8000;
/** Packet RAM: pages 0x40-0x7F (16 KiB). */
export const RAM_START = 0x4000;
export const RAM_END = 0x8000;
const RAM_START_PAGE = RAM_START >> 8;
const RAM_END_PAGE = RAM_END >> 8;
const PROM_SIZE = 32;
/** Ethernet minimum frame length without the FCS: shorter received frames are padded. */
const MIN_FRAME = 60;
/** The 4-byte header in front of each frame in the receive ring (status, next page, count). */
const RX_HEADER = 4;
/** Room the chip leaves for the frame check sequence after each stored frame. */
const FCS_LEN = 4;

const PAGE0_READ = [
  "CR",
  "CLDA0",
  "CLDA1",
  "BNRY",
  "TSR",
  "NCR",
  "FIFO",
  "ISR",
  "CRDA0",
  "CRDA1",
  "8029ID0",
  "8029ID1",
  "RSR",
  "CNTR0",
  "CNTR1",
  "CNTR2",
] as const;
const PAGE0_WRITE = [
  "CR",
  "PSTART",
  "PSTOP",
  "BNRY",
  "TPSR",
  "TBCR0",
  "TBCR1",
  "ISR",
  "RSAR0",
  "RSAR1",
  "RBCR0",
  "RBCR1",
  "RCR",
  "TCR",
  "DCR",
  "IMR",
] as const;
const PAGE1 = [
  "CR",
  "PAR0",
  "PAR1",
  "PAR2",
  "PAR3",
  "PAR4",
  "PAR5",
  "CURR",
  "MAR0",
  "MAR1",
  "MAR2",
  "MAR3",
  "MAR4",
  "MAR5",
  "MAR6",
  "MAR7",
] as const;
const PAGE2 = [
  "CR",
  "PSTART",
  "PSTOP",
  "RNPP",
  "TPSR",
  "LNPP",
  "ADDRCNTH",
  "ADDRCNTL",
  "P2-8",
  "P2-9",
  "P2-A",
  "P2-B",
  "RCR",
  "TCR",
  "DCR",
  "IMR",
] as const;
const PAGE3 = [
  "CR",
  "9346CR",
  "BPAGE",
  "CONFIG0",
  "CONFIG1",
  "CONFIG2",
  "CONFIG3",
  "TEST",
  "CSNSAV",
  "HLTCLK",
  "P3-A",
  "INTR",
  "P3-C",
  "P3-D",
  "8029ASID0",
  "8029ASID1",
] as const;

/** Counter names, precomputed so that register accesses do not build strings. */
function names(prefix: string, regs: readonly string[]): string[] {
  return regs.map((r) => `${prefix}:${r}`);
}
const READ_NAMES = [
  names("read", PAGE0_READ),
  names("read", PAGE1),
  names("read", PAGE2),
  names("read", PAGE3),
];
const WRITE_NAMES = [
  names("write", PAGE0_WRITE),
  names("write", PAGE1),
  names("write", PAGE2),
  names("write", PAGE3),
];

export interface Ne2kOptions {
  /** Unused: the NE2000 does no bus-master DMA. Accepted so every NIC takes the same options. */
  readonly memory?: GuestMemory;
  readonly backend: NetBackend;
  /** Station address (6 bytes). */
  readonly mac: Uint8Array | readonly number[];
  /** Device name for reports (default "ne2k-pci"). */
  readonly name?: string;
}

export class Ne2kPci extends PciDevice implements BusDevice {
  readonly widths = WIDTH_ANY;
  readonly stats: DeviceStats;
  readonly mac: Uint8Array;
  /** Card buffer memory: PROM at 0x0000-0x001F, packet RAM at 0x4000-0x7FFF. */
  readonly buffer = new Uint8Array(BUFFER_SIZE);
  private readonly backend: NetBackend;

  // DP8390 registers.
  private cr = CR_STP | CR_RD_ABORT;
  /** Started (STA) rather than stopped (STP): CR writes with neither bit keep the state. */
  private running = false;
  private isr = ISR_RST;
  private imr = 0;
  private dcr = 0;
  private tcr = 0;
  private rcr = 0;
  private tsr = 0;
  private rsr = 0;
  private pstart = 0;
  private pstop = 0;
  private bnry = 0;
  private curr = 0;
  private tpsr = 0;
  private tbcr = 0;
  private rsar = 0;
  private rbcr = 0;
  private clda = 0;
  private rnpp = 0;
  private lnpp = 0;
  private readonly par = new Uint8Array(6);
  private readonly mar = new Uint8Array(8);
  /** Tally counters CNTR0 (frame alignment), CNTR1 (CRC), CNTR2 (missed packets). */
  private readonly cntr = new Uint8Array(3);
  // RTL8029AS page 3.
  private eecr = 0;
  private config2 = 0;
  private config3 = 0;
  private hltclk = 0;

  private readonly pad = new Uint8Array(MIN_FRAME);
  private irqLevel = false;

  constructor(options: Ne2kOptions) {
    const name = options.name ?? "ne2k-pci";
    super(name, { vendorId: 0x10ec, deviceId: 0x8029, classCode: 0x020000, interruptPin: 1 });
    if (options.mac.length !== 6) throw new RangeError(`${name}: MAC must be 6 bytes`);
    this.mac = Uint8Array.from(options.mac);
    this.stats = new DeviceStats(name);
    this.backend = options.backend;
    this.defineBar(0, { kind: "io", size: NE_IO_EXTENT, device: this });
    // PROM: 16 bytes (MAC, 8 zeros, "WW"), each doubled (see the header).
    const prom = new Uint8Array(16);
    prom.set(this.mac, 0);
    prom[14] = 0x57;
    prom[15] = 0x57;
    for (let i = 0; i < 16; i++) {
      this.buffer[2 * i] = prom[i]!;
      this.buffer[2 * i + 1] = prom[i]!;
    }
    this.par.set(this.mac);
    this.backend.setReceiver((frame) => this.receive(frame));
  }

  // ---- BusDevice ----

  read(offset: number, width: AccessWidth): number {
    offset &= NE_IO_EXTENT - 1;
    if (offset >= NE_DATAPORT) {
      if (offset >= 0x18) {
        this.stats.count("read:RESET");
        this.reset();
        return 0;
      }
      this.stats.count("read:DATA");
      return this.dataRead(width);
    }
    if (width !== 1) {
      // Registers are 8 bits wide: a wider access reads consecutive registers.
      let v = 0;
      for (let i = 0; i < width; i++) v |= this.readReg((offset + i) & 0x0f) << (8 * i);
      return v >>> 0;
    }
    return this.readReg(offset);
  }

  write(offset: number, width: AccessWidth, value: number): void {
    offset &= NE_IO_EXTENT - 1;
    if (offset >= NE_DATAPORT) {
      if (offset >= 0x18) {
        // Writing the reset port only ends the reset pulse on an NE2000; nothing to do.
        this.stats.count("write:RESET");
        return;
      }
      this.stats.count("write:DATA");
      this.dataWrite(width, value);
      return;
    }
    for (let i = 0; i < width; i++) this.writeReg((offset + i) & 0x0f, (value >>> (8 * i)) & 0xff);
  }

  // ---- Host side ----

  /**
   * A frame from the backend. Returns false when it could not be stored (stopped, ring
   * invalid or full), so the backend counts the drop.
   */
  receive(frame: Uint8Array): boolean {
    this.stats.count("rx:offered");
    if (!this.running) {
      this.stats.count("rx:dropped-stopped");
      return false;
    }
    if (frame.length < 6) {
      this.stats.count("error:rx-malformed");
      return false;
    }
    const multicast = (frame[0]! & 1) !== 0;
    if (!this.accepts(frame, multicast)) {
      this.stats.count("rx:filtered");
      return true;
    }
    if ((this.rcr & RCR_MON) !== 0) {
      // Monitor mode: checked and counted, not buffered (DP8390D "Receive Configuration").
      this.stats.count("rx:monitor");
      return true;
    }
    return this.store(frame, multicast);
  }

  /** The INTA# level the device currently requests. */
  get interruptLevel(): boolean {
    return this.irqLevel;
  }

  /** Hardware reset (the reset port, PCI RST#). */
  reset(): void {
    this.stats.count("reset");
    this.cr = CR_STP | CR_RD_ABORT;
    this.running = false;
    this.isr = ISR_RST;
    this.imr = 0;
    this.rbcr = 0;
    this.tcr = 0x02; // internal loopback until the driver configures TCR
    this.updateIrq();
  }

  // ---- registers ----

  private readReg(reg: number): number {
    const page = this.cr >> 6;
    this.stats.count(READ_NAMES[page]![reg]!);
    if (reg === 0) return this.cr;
    switch (page) {
      case 0:
        return this.readPage0(reg);
      case 1:
        return this.readPage1(reg);
      case 2:
        return this.readPage2(reg);
      default:
        return this.readPage3(reg);
    }
  }

  private readPage0(reg: number): number {
    switch (reg) {
      case 0x01:
        return this.clda & 0xff;
      case 0x02:
        return this.clda >> 8;
      case 0x03:
        return this.bnry;
      case 0x04:
        return this.tsr;
      case 0x05:
        return 0; // NCR: no collisions on a virtual wire
      case 0x06:
        return 0; // FIFO
      case 0x07:
        return this.isr;
      case 0x08:
        return this.rsar & 0xff;
      case 0x09:
        return this.rsar >> 8;
      case 0x0a:
        return 0x50; // RTL8029AS 8029ID0 'P'
      case 0x0b:
        return 0x43; // RTL8029AS 8029ID1 'C'
      case 0x0c:
        return this.rsr;
      default: {
        // CNTR0-2: cleared by reading (ne2k_pci_init_one relies on it to detect an 8390).
        const i = reg - 0x0d;
        const v = this.cntr[i]!;
        this.cntr[i] = 0;
        return v;
      }
    }
  }

  private readPage1(reg: number): number {
    if (reg <= 6) return this.par[reg - 1]!;
    if (reg === 7) return this.curr;
    return this.mar[reg - 8]!;
  }

  private readPage2(reg: number): number {
    switch (reg) {
      case 0x01:
        return this.pstart;
      case 0x02:
        return this.pstop;
      case 0x03:
        return this.rnpp;
      case 0x04:
        return this.tpsr;
      case 0x05:
        return this.lnpp;
      case 0x06:
        return this.clda >> 8;
      case 0x07:
        return this.clda & 0xff;
      case 0x0c:
        return this.rcr | 0xc0;
      case 0x0d:
        return this.tcr | 0xe0;
      case 0x0e:
        return this.dcr | 0x80;
      case 0x0f:
        return this.imr | 0x80;
      default:
        return 0xff;
    }
  }

  private readPage3(reg: number): number {
    switch (reg) {
      case 0x01:
        return this.eecr;
      case 0x03:
        return 0x00; // CONFIG0: twisted pair, no jumper mode
      case 0x04:
        return 0x80; // CONFIG1: IRQ enabled (PCI INTA#)
      case 0x05:
        return this.config2;
      case 0x06:
        return this.config3;
      case 0x09:
        return this.hltclk;
      case 0x0e:
        return 0x29; // 8029ASID0
      case 0x0f:
        return 0x80; // 8029ASID1
      default:
        return 0x00;
    }
  }

  private writeReg(reg: number, v: number): void {
    const page = this.cr >> 6;
    this.stats.count(WRITE_NAMES[page]![reg]!);
    if (reg === 0) {
      this.writeCr(v);
      return;
    }
    switch (page) {
      case 0:
        this.writePage0(reg, v);
        return;
      case 1:
        if (reg <= 6) this.par[reg - 1] = v;
        else if (reg === 7) this.curr = v;
        else this.mar[reg - 8] = v;
        return;
      case 2:
        // Diagnostic writes of the local DMA pointers (DP8390D page 2 is for testing).
        if (reg === 0x01) this.clda = (this.clda & 0xff00) | v;
        else if (reg === 0x02) this.clda = (this.clda & 0x00ff) | (v << 8);
        else if (reg === 0x03) this.rnpp = v;
        else if (reg === 0x05) this.lnpp = v;
        return;
      default:
        this.writePage3(reg, v);
    }
  }

  private writePage0(reg: number, v: number): void {
    switch (reg) {
      case 0x01:
        this.pstart = v;
        return;
      case 0x02:
        this.pstop = v;
        return;
      case 0x03:
        this.bnry = v;
        return;
      case 0x04:
        this.tpsr = v;
        return;
      case 0x05:
        this.tbcr = (this.tbcr & 0xff00) | v;
        return;
      case 0x06:
        this.tbcr = (this.tbcr & 0x00ff) | (v << 8);
        return;
      case 0x07:
        // Write 1 to clear; RST is status only (cleared by a START command).
        this.isr &= ~(v & 0x7f);
        this.updateIrq();
        return;
      case 0x08:
        this.rsar = (this.rsar & 0xff00) | v;
        return;
      case 0x09:
        this.rsar = (this.rsar & 0x00ff) | (v << 8);
        return;
      case 0x0a:
        this.rbcr = (this.rbcr & 0xff00) | v;
        return;
      case 0x0b:
        this.rbcr = (this.rbcr & 0x00ff) | (v << 8);
        return;
      case 0x0c:
        this.rcr = v & 0x3f;
        return;
      case 0x0d:
        this.tcr = v & 0x1f;
        return;
      case 0x0e:
        this.dcr = v & 0x7f;
        return;
      default:
        this.imr = v & 0x7f;
        this.updateIrq();
    }
  }

  private writePage3(reg: number, v: number): void {
    // CONFIG registers are writable only with 9346CR EEM1:EEM0 = 11 (set_realtek_fdx).
    const configWritable = (this.eecr & 0xc0) === 0xc0;
    switch (reg) {
      case 0x01:
        this.eecr = v & 0xcf;
        return;
      case 0x05:
        if (configWritable) this.config2 = v & 0xf0;
        return;
      case 0x06:
        if (configWritable) this.config3 = v & 0x76;
        return;
      case 0x09:
        this.hltclk = v;
        return;
      default:
        this.stats.count("write:ignored");
    }
  }

  /** CR: page select, start/stop, transmit, remote DMA command (DP8390D "Command Register"). */
  private writeCr(v: number): void {
    if ((v & CR_STP) !== 0) {
      this.running = false;
      this.isr |= ISR_RST;
    } else if ((v & CR_STA) !== 0) {
      this.running = true;
      this.isr &= ~ISR_RST;
    }
    // TXP reads 0 again at once: transmission completes before the OUT returns.
    this.cr = (v & ~(CR_STP | CR_STA | CR_TXP)) | (this.running ? CR_STA : CR_STP);
    const rd = v & 0x38;
    if (rd === CR_RD_SEND) {
      this.sendPacketCommand();
    } else if ((rd === CR_RD_READ || rd === CR_RD_WRITE) && this.rbcr === 0) {
      // A zero-length remote DMA completes at once.
      this.isr |= ISR_RDC;
    }
    if ((v & CR_TXP) !== 0) {
      if (this.running) this.transmit();
      else this.stats.count("error:tx-while-stopped");
    }
    this.updateIrq();
  }

  /** "Send Packet" (RD = 011): remote read of the frame at BNRY, length from its ring header. */
  private sendPacketCommand(): void {
    const base = this.bnry << 8;
    this.rsar = base & 0xffff;
    this.rbcr = this.memRead((base + 2) & 0xffff) | (this.memRead((base + 3) & 0xffff) << 8);
  }

  // ---- buffer memory ----

  private memRead(addr: number): number {
    if (addr >= RAM_START && addr < RAM_END) return this.buffer[addr]!;
    if (addr < PROM_SIZE) return this.buffer[addr]!;
    this.stats.count("error:remote-dma-unmapped");
    return 0xff;
  }

  private memWrite(addr: number, v: number): void {
    if (addr >= RAM_START && addr < RAM_END) this.buffer[addr] = v;
    else this.stats.count("error:remote-dma-unmapped");
  }

  /** Next remote DMA address: 16 bits, wrapping from PSTOP to PSTART like the chip. */
  private advance(addr: number): number {
    addr = (addr + 1) & 0xffff;
    if (addr === this.pstop << 8 && this.pstart < this.pstop) addr = this.pstart << 8;
    return addr;
  }

  /** Bytes one data-port access moves: 4 for a dword, 2 in word mode, else the access width. */
  private transferSize(width: AccessWidth): number {
    if (width === 4) return 4;
    return (this.dcr & DCR_WTS) !== 0 ? 2 : width;
  }

  private dataRead(width: AccessWidth): number {
    const n = this.transferSize(width);
    if (n !== 1) this.rsar &= 0xfffe; // word transfers are word-aligned
    let addr = this.rsar;
    let v = 0;
    for (let i = 0; i < n; i++) {
      v |= this.memRead(addr) << (8 * i);
      addr = this.advance(addr);
    }
    this.rsar = addr;
    this.remoteDmaDone(n);
    return width === 4 ? v >>> 0 : v & (width === 2 ? 0xffff : 0xff);
  }

  private dataWrite(width: AccessWidth, value: number): void {
    const n = this.transferSize(width);
    if (n !== 1) this.rsar &= 0xfffe;
    let addr = this.rsar;
    for (let i = 0; i < n; i++) {
      this.memWrite(addr, (value >>> (8 * i)) & 0xff);
      addr = this.advance(addr);
    }
    this.rsar = addr;
    this.remoteDmaDone(n);
  }

  private remoteDmaDone(n: number): void {
    this.stats.count("remote-dma:bytes", n);
    if (this.rbcr === 0) {
      // The host moves more data than it programmed: the chip would be idle.
      this.stats.count("remote-dma:past-count");
      return;
    }
    if (this.rbcr <= n) {
      this.rbcr = 0;
      this.isr |= ISR_RDC;
      this.updateIrq();
    } else {
      this.rbcr -= n;
    }
  }

  // ---- transmit ----

  private transmit(): void {
    const start = this.tpsr << 8;
    const len = this.tbcr;
    if (len === 0 || start < RAM_START || start + len > RAM_END) {
      // Outside the packet RAM (or empty): abort rather than send garbage.
      this.stats.count("error:tx-outside-buffer");
      this.tsr = TSR_ABT;
      this.isr |= ISR_TXE;
      return;
    }
    const frame = this.buffer.slice(start, start + len);
    this.tsr = TSR_PTX;
    this.isr |= ISR_PTX;
    this.stats.count("tx:frames");
    this.stats.count("tx:bytes", len);
    if ((this.tcr & TCR_LB_MASK) !== 0) {
      // Loopback (internal or external): the frame comes back to our own receiver.
      this.stats.count("tx:loopback");
      this.receive(frame);
      return;
    }
    if (!this.backend.send(frame)) this.stats.count("tx:backend-dropped");
  }

  // ---- receive ----

  private accepts(frame: Uint8Array, multicast: boolean): boolean {
    if ((this.rcr & RCR_PRO) !== 0) return true;
    if (multicast) {
      let broadcast = true;
      for (let i = 0; i < 6; i++) if (frame[i] !== 0xff) broadcast = false;
      if (broadcast) return (this.rcr & RCR_AB) !== 0;
      if ((this.rcr & RCR_AM) === 0) return false;
      const idx = etherCrcBe(frame, 0, 6) >>> 26;
      return (this.mar[idx >> 3]! & (1 << (idx & 7))) !== 0;
    }
    for (let i = 0; i < 6; i++) if (frame[i] !== this.par[i]) return false;
    return true;
  }

  /** Store a frame in the receive ring (DP8390D "Receive Buffer Ring"). */
  private store(frame: Uint8Array, multicast: boolean): boolean {
    const pstart = this.pstart;
    const pstop = this.pstop;
    // A hostile ring: outside the packet RAM, empty or inverted, CURR/BNRY outside it.
    if (
      pstart < RAM_START_PAGE ||
      pstop > RAM_END_PAGE ||
      pstart >= pstop ||
      this.curr < pstart ||
      this.curr >= pstop
    ) {
      this.stats.count("error:rx-ring-invalid");
      this.stats.count("rx:dropped");
      return false;
    }
    let data = frame;
    if (data.length < MIN_FRAME) {
      // Runt from the wire side: pad to the Ethernet minimum as a sender's MAC would have.
      this.pad.fill(0);
      this.pad.set(frame);
      data = this.pad;
      this.stats.count("rx:padded");
    }
    const ring = pstop - pstart;
    // The header's count is header + frame; the chip also stores the 4-byte FCS after the
    // frame without counting it, so the pages used are ceil((count + 4) / 256). Linux's
    // ei_receive checks `next` against this + 1 + (count >> 8) and accepts one more.
    const total = data.length + RX_HEADER;
    const pages = (total + FCS_LEN + 255) >> 8;
    // Free pages from CURR up to (not including) BNRY; CURR == BNRY is an empty ring. The
    // chip stops before writing into the BNRY page, so a frame needs strictly fewer pages.
    // Linux's ei_receive writes BNRY = next - 1, which is PSTART - 1 (outside the ring) when
    // the next frame is at PSTART; the page comparison then acts as PSTOP - 1. Reduce BNRY
    // into the ring modulo its size, which covers that case and keeps hostile values bounded.
    const bnry = pstart + ((((this.bnry - pstart) % ring) + ring) % ring);
    let avail = bnry - this.curr;
    if (avail <= 0) avail += ring;
    if (pages >= avail) {
      this.rsr = RSR_MPA;
      this.isr |= ISR_OVW;
      if (this.cntr[2]! < 0xff) this.cntr[2]!++;
      if (this.cntr[2]! >= 0x80) this.isr |= ISR_CNT;
      this.stats.count("rx:overflow");
      this.stats.count("rx:dropped");
      this.updateIrq();
      return false;
    }
    let next = this.curr + pages;
    if (next >= pstop) next -= ring;
    const status = RSR_PRX | (multicast ? RSR_PHY : 0);
    const hdr = this.curr << 8; // pstart >= 0x40 and curr < pstop <= 0x80: inside the RAM
    this.buffer[hdr] = status;
    this.buffer[hdr + 1] = next;
    this.buffer[hdr + 2] = total & 0xff;
    this.buffer[hdr + 3] = total >> 8;
    // Copy the frame after the header, wrapping from PSTOP to PSTART.
    const ringEnd = pstop << 8;
    let addr = hdr + RX_HEADER;
    let off = 0;
    while (off < data.length) {
      if (addr >= ringEnd) addr = pstart << 8;
      const n = Math.min(data.length - off, ringEnd - addr);
      this.buffer.set(data.subarray(off, off + n), addr);
      off += n;
      addr += n;
    }
    this.clda = addr & 0xffff;
    this.rsr = status;
    this.curr = next;
    this.isr |= ISR_PRX;
    this.stats.count("rx:frames");
    this.stats.count("rx:bytes", data.length);
    this.updateIrq();
    return true;
  }

  // ---- interrupt ----

  private updateIrq(): void {
    const level = (this.isr & this.imr & 0x7f) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.stats.count(level ? "irq:raised" : "irq:lowered");
    this.setIntx(level);
  }
}
