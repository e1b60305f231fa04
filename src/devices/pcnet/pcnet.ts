/**
 * AMD PCnet-PCI II, Am79C970A (PCI 1022:2000, class 0x020000), the Lance-family NIC that
 * Linux's `pcnet32` drives (Am79C970A datasheet, "Register Access", "Initialization Block",
 * "Descriptor Rings", "Control and Status Registers", "Bus Configuration Registers").
 *
 * Windows: BAR0 = 32 bytes of I/O, BAR1 = 32 bytes of memory, both decoding the same
 * registers (this object is the BusDevice behind both):
 *   0x00-0x0F  APROM: the station address in bytes 0-5, 0x57 0x57 in bytes 14-15 (reads in
 *              any width; writes only with BCR2.APROMWE)
 *   WIO  (16-bit, after reset): 0x10 RDP, 0x12 RAP, 0x14 RESET, 0x16 BDP
 *   DWIO (32-bit, entered by a dword write to RDP, left only by a hardware reset):
 *              0x10 RDP, 0x14 RAP, 0x18 RESET, 0x1C BDP (upper 16 bits read 0, ignored on write)
 * Accesses that do not fit the current mode are ignored (reads give all-ones), as on the chip.
 * RAP selects a CSR (through RDP) or a BCR (through BDP); reading RESET performs S_RESET.
 *
 * The chip masters the PCI bus: it reads the initialization block, walks descriptor rings and
 * moves frame data in guest RAM. All of that goes through GuestMemory with every range
 * checked first (`contains`); an access outside RAM sets CSR0.MERR (for the initialization
 * block the chip also stops) and is counted, never thrown. Descriptor chains are bounded
 * iterators: at most the ring length (1-512) links, each buffer at most 4 KiB, so no guest
 * value makes a loop run longer than 512 steps.
 *
 * Software styles (BCR20/CSR58 SWSTYLE): 0 = 16-bit Lance (24-byte init block, 8-byte
 * descriptors, 24-bit addresses extended by CSR2[15:8]), 2 = 32-bit PCnet-PCI (28-byte init
 * block, 16-byte descriptors; pcnet32 uses it), 3 = style 2 with the descriptor words
 * reordered (supported, same code with a different layout table). Style 1 (ILACC) is treated
 * as style 2 (SSIZE32 set), which is what its 32-bit layout is.
 *
 * Timing: transmission happens synchronously on TDMD, on STRT and on `poll()` (a machine may
 * call it from a timer to model the chip's 1.6 ms transmit poll); received frames are stored
 * when the backend delivers them. CSR0 TINT follows every transmitted frame (or only
 * descriptors with LTINT when CSR5.LTINTEN).
 *
 * Two optimisations from VMware's hosted Lance (paper 004) are meant to attach here later:
 * RAP is a pure latch with no side effects (`addressPortOffsets` names it, so a monitor may
 * treat it as memory without an exit), and transmits could be combined by deferring `poll`.
 *
 * Not modelled: MII/PHY registers (the 79C970A has none), the EEPROM interface (BCR19 reports
 * a valid EEPROM, the MAC comes from the constructor), collisions and retries, CRC errors,
 * the receive poll timer, BCR18 burst controls (stored only), magic packet and sleep modes,
 * the ring-counter registers' down-counting two's-complement encoding (CSR72/74 read the
 * current index).
 */

import type { AccessWidth, BusDevice } from "../../bus/device.js";
import { WIDTH_ANY } from "../../bus/device.js";
import type { GuestMemory } from "../../memory/guest-memory.js";
import type { NetBackend } from "../../net/backend.js";
import { DeviceStats } from "../device-stats.js";
import { crc32le, ethernetFcs } from "../ne2k/ether-crc.js";
import { PciDevice } from "../pci/pci-device.js";

// CSR0 (Controller Status Register).
export const CSR0_INIT = 0x0001;
export const CSR0_STRT = 0x0002;
export const CSR0_STOP = 0x0004;
export const CSR0_TDMD = 0x0008;
export const CSR0_TXON = 0x0010;
export const CSR0_RXON = 0x0020;
export const CSR0_INEA = 0x0040;
export const CSR0_INTR = 0x0080;
export const CSR0_IDON = 0x0100;
export const CSR0_TINT = 0x0200;
export const CSR0_RINT = 0x0400;
export const CSR0_MERR = 0x0800;
export const CSR0_MISS = 0x1000;
export const CSR0_CERR = 0x2000;
export const CSR0_BABL = 0x4000;
export const CSR0_ERR = 0x8000;
const CSR0_W1C = 0x7f00;

// CSR3 masks, CSR4 features and interrupts, CSR5, CSR15 mode.
const CSR3_DXSUFLO = 0x0040;
const CSR3_MASKABLE = CSR0_BABL | CSR0_MISS | CSR0_MERR | CSR0_RINT | CSR0_TINT | CSR0_IDON;
const CSR4_APAD_XMT = 0x0800;
const CSR4_UINTCMD = 0x0080;
const CSR4_UINT = 0x0040;
const CSR4_TXSTRT = 0x0008;
const CSR4_RW = 0xfd15;
const CSR4_W1C = 0x026a;
/** CSR4 interrupt bits and their masks: MFCO/MFCOM, RCVCCO/RCVCCOM, TXSTRT/TXSTRTM, JAB/JABM. */
const CSR4_SOURCES: readonly (readonly [number, number])[] = [
  [0x0200, 0x0100],
  [0x0020, 0x0010],
  [0x0008, 0x0004],
  [0x0002, 0x0001],
];
export const CSR5_SPND = 0x0001;
const CSR5_LTINTEN = 0x4000;
const CSR5_W1C = 0x0a90;
export const CSR15_PROM = 0x8000;
const CSR15_DRCVBC = 0x4000;
const CSR15_DRCVPA = 0x2000;
const CSR15_LOOP = 0x0004;
const CSR15_DTX = 0x0002;
const CSR15_DRX = 0x0001;

// Descriptor status bits, 16-bit form (the style-0 status byte is the upper half).
export const DESC_OWN = 0x8000;
export const DESC_ERR = 0x4000;
const RMD_OFLO = 0x1000;
const RMD_BUFF = 0x0400;
export const DESC_STP = 0x0200;
export const DESC_ENP = 0x0100;
const RMD_PAM = 0x0040;
const RMD_LAFM = 0x0020;
const RMD_BAM = 0x0010;
const TMD_LTINT = 0x1000;
/** TMD2 (style 2 misc dword) BUFF and UFLO. */
const TMD_MISC_BUFF = 0x80000000;
const TMD_MISC_UFLO = 0x40000000;

/** Largest ring (RLEN/TLEN >= 9 in style 2). */
export const MAX_RING = 512;
/** Largest frame gathered for transmission (a longer chain is an error). */
const MAX_TX_FRAME = 16384;
const MIN_FRAME = 60;
const FCS_LEN = 4;

/** CSRs writable only while STOP or SPND is set (Am79C970A CSR descriptions). */
const PROTECTED_CSRS = new Set([1, 2, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 30, 31, 72, 74, 76, 78]);

/** Descriptor layout: byte offsets of the fields inside one descriptor. */
interface Layout {
  readonly size: number;
  readonly addr: number;
  readonly bcnt: number;
  readonly status: number;
  readonly misc: number;
  /** Style 0: 24-bit addresses, an 8-bit status and 16-bit misc/mcnt words. */
  readonly lance: boolean;
}
const LAYOUT_0: Layout = { size: 8, addr: 0, bcnt: 4, status: 2, misc: 6, lance: true };
const LAYOUT_2: Layout = { size: 16, addr: 0, bcnt: 4, status: 6, misc: 8, lance: false };
const LAYOUT_3: Layout = { size: 16, addr: 8, bcnt: 4, status: 6, misc: 0, lance: false };

const CSR_READ = Array.from({ length: 128 }, (_, i) => `read:CSR${i}`);
const CSR_WRITE = Array.from({ length: 128 }, (_, i) => `write:CSR${i}`);
const BCR_READ = Array.from({ length: 128 }, (_, i) => `read:BCR${i}`);
const BCR_WRITE = Array.from({ length: 128 }, (_, i) => `write:BCR${i}`);

export interface PcnetOptions {
  /** Guest RAM, for the chip's bus-master DMA. */
  readonly memory: GuestMemory;
  readonly backend: NetBackend;
  /** Station address (6 bytes). */
  readonly mac: Uint8Array | readonly number[];
  /** Device name for reports (default "pcnet"). */
  readonly name?: string;
}

/** A descriptor as read from guest memory (one reused record: no allocation per frame). */
interface Desc {
  addr: number;
  /** Buffer length in bytes, 1-4096. */
  bcnt: number;
  /** Status in the 16-bit form (OWN = 0x8000). */
  status: number;
  misc: number;
}

export class Pcnet extends PciDevice implements BusDevice {
  readonly widths = WIDTH_ANY;
  readonly stats: DeviceStats;
  readonly mac: Uint8Array;
  /** Register offsets of RAP in WIO and DWIO mode: latches without side effects (paper 004). */
  static readonly addressPortOffsets = [0x12, 0x14] as const;
  private readonly memory: GuestMemory;
  private readonly backend: NetBackend;
  private readonly aprom = new Uint8Array(16);
  private readonly csr = new Uint16Array(128);
  private readonly bcr = new Uint16Array(128);
  private rap = 0;
  private dwio = false;

  // Ring state, loaded by INIT (CSR24/25, 30/31, 76, 78, 72, 74).
  private rdra = 0;
  private tdra = 0;
  private rxLen = 0;
  private txLen = 0;
  private rxIndex = 0;
  private txIndex = 0;

  private irqLevel = false;
  private readonly desc: Desc = { addr: 0, bcnt: 0, status: 0, misc: 0 };
  private readonly txFrame = new Uint8Array(MAX_TX_FRAME);
  private readonly rxFrame = new Uint8Array(MAX_TX_FRAME + FCS_LEN);

  constructor(options: PcnetOptions) {
    const name = options.name ?? "pcnet";
    super(name, {
      vendorId: 0x1022,
      deviceId: 0x2000,
      classCode: 0x020000,
      revision: 0x10,
      interruptPin: 1,
    });
    if (options.mac.length !== 6) throw new RangeError(`${name}: MAC must be 6 bytes`);
    this.mac = Uint8Array.from(options.mac);
    this.memory = options.memory;
    this.backend = options.backend;
    this.stats = new DeviceStats(name);
    this.config[0x3e] = 0x06; // MIN_GNT
    this.config[0x3f] = 0xff; // MAX_LAT
    this.defineBar(0, { kind: "io", size: 32, device: this });
    this.defineBar(1, { kind: "mem", size: 32, device: this });
    this.aprom.set(this.mac, 0);
    this.aprom[14] = 0x57;
    this.aprom[15] = 0x57;
    this.hardReset();
    this.backend.setReceiver((frame) => this.receive(frame));
  }

  // ---- BusDevice ----

  read(offset: number, width: AccessWidth): number {
    offset &= 0x1f;
    if (offset < 0x10) {
      this.stats.count("read:APROM");
      let v = 0;
      for (let i = 0; i < width; i++) v |= this.aprom[(offset + i) & 0x0f]! << (8 * i);
      return v >>> 0;
    }
    if (this.dwio) {
      if (width !== 4) return this.ignored(width);
      switch (offset) {
        case 0x10:
          return this.readCsr(this.rap);
        case 0x14:
          this.stats.count("read:RAP");
          return this.rap;
        case 0x18:
          this.stats.count("read:RESET");
          this.softReset();
          return 0;
        case 0x1c:
          return this.readBcr(this.rap);
        default:
          return this.ignored(width);
      }
    }
    if (width !== 2) return this.ignored(width);
    switch (offset) {
      case 0x10:
        return this.readCsr(this.rap);
      case 0x12:
        this.stats.count("read:RAP");
        return this.rap;
      case 0x14:
        this.stats.count("read:RESET");
        this.softReset();
        return 0;
      case 0x16:
        return this.readBcr(this.rap);
      default:
        return this.ignored(width);
    }
  }

  write(offset: number, width: AccessWidth, value: number): void {
    offset &= 0x1f;
    if (offset < 0x10) {
      this.stats.count("write:APROM");
      if ((this.bcr[2]! & 0x0100) !== 0) {
        for (let i = 0; i < width; i++) this.aprom[(offset + i) & 0x0f] = (value >>> (8 * i)) & 0xff;
      }
      return;
    }
    if (!this.dwio && width === 4 && offset === 0x10) {
      // A dword write to RDP switches to DWIO mode (datasheet "I/O Resources").
      this.dwio = true;
      this.stats.count("mode:dwio");
    }
    if (this.dwio) {
      if (width !== 4) {
        this.ignored(width);
        return;
      }
      switch (offset) {
        case 0x10:
          this.writeCsr(this.rap, value & 0xffff);
          return;
        case 0x14:
          this.writeRap(value);
          return;
        case 0x1c:
          this.writeBcr(this.rap, value & 0xffff);
          return;
        default:
          this.ignored(width);
          return;
      }
    }
    if (width !== 2) {
      this.ignored(width);
      return;
    }
    switch (offset) {
      case 0x10:
        this.writeCsr(this.rap, value & 0xffff);
        return;
      case 0x12:
        this.writeRap(value);
        return;
      case 0x16:
        this.writeBcr(this.rap, value & 0xffff);
        return;
      default:
        this.ignored(width);
    }
  }

  private ignored(width: AccessWidth): number {
    this.stats.count("io:ignored");
    return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
  }

  private writeRap(v: number): void {
    this.stats.count("write:RAP");
    this.rap = v & 0x7f;
  }

  // ---- host side ----

  /** The INTA# level the device requests. */
  get interruptLevel(): boolean {
    return this.irqLevel;
  }

  /** True in DWIO mode. */
  get dwordIo(): boolean {
    return this.dwio;
  }

  /** The chip's transmit poll (a timer may call it; TDMD and STRT call it too). */
  poll(): void {
    this.transmitPoll();
    this.updateIrq();
  }

  /** Machine reset: the same as H_RESET. */
  reset(): void {
    this.hardReset();
  }

  /** H_RESET (PCI RST#): everything, including the DWIO mode, to power-on values. */
  hardReset(): void {
    this.dwio = false;
    this.bcr.fill(0);
    this.bcr[0] = 0x0005; // MSRDA
    this.bcr[1] = 0x0005; // MSWRA
    this.bcr[2] = 0x0002; // MC: ASEL
    this.bcr[4] = 0x00c0; // LNKST
    this.bcr[5] = 0x0084; // LED1
    this.bcr[6] = 0x0088; // LED2
    this.bcr[7] = 0x0090; // LED3
    this.bcr[18] = 0x9001; // BSBC
    this.bcr[19] = 0x8000; // EECAS: PVALID, the EEPROM was read
    this.bcr[22] = 0xff06; // PCILAT
    this.softReset();
  }

  /** S_RESET (reading RESET): CSRs to defaults, DWIO kept, SWSTYLE back to 0. */
  softReset(): void {
    this.stats.count("reset");
    this.csr.fill(0);
    this.csr[0] = CSR0_STOP;
    this.csr[4] = 0x0115;
    // The PADR registers are loaded from the EEPROM (here: the APROM) after a reset.
    for (let i = 0; i < 3; i++) this.csr[12 + i] = this.aprom[2 * i]! | (this.aprom[2 * i + 1]! << 8);
    this.csr[88] = 0x1003; // chip ID low: part 0x2621 bits 3:0, AMD manufacturer 0x001, 1
    this.csr[89] = 0x0262; // chip ID high: part 0x2621 bits 15:4, version 0
    this.bcr[20] = 0x0200;
    this.rap = 0;
    this.rdra = 0;
    this.tdra = 0;
    this.rxLen = 0;
    this.txLen = 0;
    this.rxIndex = 0;
    this.txIndex = 0;
    this.updateIrq();
  }

  /** A frame from the backend. Returns false when it found no receive buffer. */
  receive(frame: Uint8Array): boolean {
    this.stats.count("rx:offered");
    const csr0 = this.csr[0]!;
    if ((csr0 & CSR0_RXON) === 0 || (this.csr[5]! & CSR5_SPND) !== 0) {
      this.stats.count("rx:dropped-stopped");
      return false;
    }
    if (frame.length < 6 || frame.length > MAX_TX_FRAME) {
      this.stats.count("error:rx-malformed");
      return false;
    }
    const match = this.accepts(frame);
    if (match < 0) {
      this.stats.count("rx:filtered");
      return true;
    }
    // The chip stores the frame as received from the wire: padded to 64 bytes and followed by
    // its FCS; MCNT counts the FCS (pcnet32_rx_entry subtracts 4).
    const len = Math.max(frame.length, MIN_FRAME);
    const data = this.rxFrame;
    data.fill(0, 0, len);
    data.set(frame, 0);
    const fcs = ethernetFcs(data, len);
    data[len] = fcs & 0xff;
    data[len + 1] = (fcs >>> 8) & 0xff;
    data[len + 2] = (fcs >>> 16) & 0xff;
    data[len + 3] = fcs >>> 24;
    const ok = this.store(data, len + FCS_LEN, match);
    this.updateIrq();
    return ok;
  }

  // ---- CSR / BCR access ----

  private readCsr(index: number): number {
    this.stats.count(CSR_READ[index]!);
    switch (index) {
      case 0:
        return this.csr[0]!;
      case 24:
        return this.rdra & 0xffff;
      case 25:
        return this.rdra >>> 16;
      case 28:
      case 29: {
        const a = this.descAddr(this.rdra, this.rxIndex);
        return index === 28 ? a & 0xffff : a >>> 16;
      }
      case 30:
        return this.tdra & 0xffff;
      case 31:
        return this.tdra >>> 16;
      case 34:
      case 35: {
        const a = this.descAddr(this.tdra, this.txIndex);
        return index === 34 ? a & 0xffff : a >>> 16;
      }
      case 58:
        return this.bcr[20]!;
      case 72:
        return this.rxIndex;
      case 74:
        return this.txIndex;
      case 76:
        return -this.rxLen & 0xffff;
      case 78:
        return -this.txLen & 0xffff;
      default:
        return this.csr[index]!;
    }
  }

  private writeCsr(index: number, v: number): void {
    this.stats.count(CSR_WRITE[index]!);
    if (index === 0) {
      this.writeCsr0(v);
      return;
    }
    if (PROTECTED_CSRS.has(index) && !this.stoppedOrSuspended()) {
      this.stats.count("csr:write-while-running");
      return;
    }
    switch (index) {
      case 3:
        this.csr[3] = v & 0x5f7c;
        break;
      case 4: {
        let c = (this.csr[4]! & ~CSR4_RW) | (v & CSR4_RW);
        c &= ~(v & CSR4_W1C);
        if ((v & CSR4_UINTCMD) !== 0) c |= CSR4_UINT;
        this.csr[4] = c & ~CSR4_UINTCMD;
        break;
      }
      case 5: {
        const c = (this.csr[5]! & CSR5_W1C & ~v) | (v & ~CSR5_W1C);
        this.csr[5] = c;
        // Leaving suspend resumes transmission of frames queued meanwhile.
        if ((c & CSR5_SPND) === 0) this.transmitPoll();
        break;
      }
      case 24:
        this.rdra = ((this.rdra & 0xffff0000) | v) >>> 0;
        break;
      case 25:
        this.rdra = ((this.rdra & 0xffff) | (v << 16)) >>> 0;
        break;
      case 30:
        this.tdra = ((this.tdra & 0xffff0000) | v) >>> 0;
        break;
      case 31:
        this.tdra = ((this.tdra & 0xffff) | (v << 16)) >>> 0;
        break;
      case 58:
        this.writeSwstyle(v);
        break;
      case 72:
        this.rxIndex = this.rxLen === 0 ? 0 : v % this.rxLen;
        break;
      case 74:
        this.txIndex = this.txLen === 0 ? 0 : v % this.txLen;
        break;
      case 76:
        this.rxLen = this.ringLength(-v & 0xffff);
        this.rxIndex = 0;
        break;
      case 78:
        this.txLen = this.ringLength(-v & 0xffff);
        this.txIndex = 0;
        break;
      case 88:
      case 89:
        break; // chip ID: read-only
      default:
        this.csr[index] = v;
    }
    this.updateIrq();
  }

  /** A ring length the guest wrote directly (CSR76/78): bounded to 512, 0 allowed (then unusable). */
  private ringLength(n: number): number {
    if (n > MAX_RING) {
      this.stats.count("error:ring-length");
      return MAX_RING;
    }
    if (n === 0) this.stats.count("error:ring-length");
    return n;
  }

  private stoppedOrSuspended(): boolean {
    return (this.csr[0]! & CSR0_STOP) !== 0 || (this.csr[5]! & CSR5_SPND) !== 0;
  }

  /** CSR0: write-1-to-clear status, INEA by value, STOP > INIT > STRT, TDMD. */
  private writeCsr0(v: number): void {
    let c = this.csr[0]!;
    c &= ~(v & CSR0_W1C);
    if ((v & CSR0_STOP) !== 0) {
      // STOP wins over everything written with it and clears the rest of CSR0.
      this.csr[0] = CSR0_STOP;
      this.csr[5] = this.csr[5]! & ~CSR5_SPND;
      this.stats.count("cmd:stop");
      this.updateIrq();
      return;
    }
    c = (c & ~CSR0_INEA) | (v & CSR0_INEA);
    this.csr[0] = c;
    let initFailed = false;
    if ((v & CSR0_INIT) !== 0) initFailed = !this.initialize();
    // STRT also restarts a stopped chip with the ring set-up it already has.
    if ((v & CSR0_STRT) !== 0 && !initFailed) this.start();
    if ((v & CSR0_TDMD) !== 0) {
      this.stats.count("kick:tx");
      this.transmitPoll();
    }
    this.updateIrq();
  }

  private readBcr(index: number): number {
    this.stats.count(BCR_READ[index]!);
    if (index === 4) {
      // LNKST: bit 15 (LEDOUT) shows the link; pcnet32_check_media treats 0x00C0 as "down".
      return this.bcr[4]! | 0x8000;
    }
    return this.bcr[index]!;
  }

  private writeBcr(index: number, v: number): void {
    this.stats.count(BCR_WRITE[index]!);
    switch (index) {
      case 0:
      case 1:
      case 16:
      case 17:
      case 19:
      case 22:
        return; // read-only here
      case 4:
        this.bcr[4] = v & 0x7fff;
        return;
      case 20:
        this.writeSwstyle(v);
        return;
      default:
        this.bcr[index] = v;
    }
  }

  /**
   * SWSTYLE (BCR20 bits 7:0, mirrored in CSR58): sets SSIZE32 (bit 8) and CSRPCNET (bit 9)
   * to match; writable only while stopped or suspended. An undefined style selects 0.
   */
  private writeSwstyle(v: number): void {
    if (!this.stoppedOrSuspended()) {
      this.stats.count("csr:write-while-running");
      return;
    }
    const style = v & 0xff;
    let bits: number;
    switch (style) {
      case 0:
        bits = 0x0200;
        break;
      case 1:
        bits = 0x0100;
        break;
      case 2:
      case 3:
        bits = 0x0300;
        break;
      default:
        this.stats.count("error:swstyle");
        this.bcr[20] = 0x0200;
        return;
    }
    this.bcr[20] = (v & 0xfcff & ~0xff) | style | bits;
  }

  private get ssize32(): boolean {
    return (this.bcr[20]! & 0x0100) !== 0;
  }

  private get layout(): Layout {
    const style = this.bcr[20]! & 0xff;
    return style === 0 ? LAYOUT_0 : style === 3 ? LAYOUT_3 : LAYOUT_2;
  }

  // ---- initialization and start ----

  /** INIT: read the initialization block at IADR (CSR1/CSR2) into the CSRs. */
  private initialize(): boolean {
    this.stats.count("cmd:init");
    const m = this.memory;
    const addr = (this.csr[1]! | (this.csr[2]! << 16)) >>> 0;
    const size = this.ssize32 ? 28 : 24;
    if (!m.contains(addr, size)) {
      this.stats.count("error:init-block-outside-ram");
      this.memoryError(true);
      return false;
    }
    this.stats.count("dma:read-bytes", size);
    let rlen: number;
    let tlen: number;
    let padr: number;
    let ladrf: number;
    if (this.ssize32) {
      // 32-bit layout: MODE, RLEN (bits 7:4 of byte 2), TLEN (bits 7:4 of byte 3), PADR at 4,
      // LADRF at 12, RDRA at 20, TDRA at 24.
      this.csr[15] = m.read16(addr);
      const lens = m.read16(addr + 2);
      rlen = (lens >> 4) & 0x0f;
      tlen = (lens >> 12) & 0x0f;
      padr = addr + 4;
      ladrf = addr + 12;
      this.rdra = m.read32(addr + 20) >>> 0;
      this.tdra = m.read32(addr + 24) >>> 0;
      this.rxLen = rlen >= 9 ? MAX_RING : 1 << rlen;
      this.txLen = tlen >= 9 ? MAX_RING : 1 << tlen;
    } else {
      // 16-bit Lance layout: MODE, PADR at 2, LADRF at 8, RDRA 24-bit at 16 with RLEN in bits
      // 7:5 of byte 19, TDRA at 20 with TLEN in byte 23; bits 31:24 come from CSR2[15:8].
      this.csr[15] = m.read16(addr);
      padr = addr + 2;
      ladrf = addr + 8;
      const hi = (this.csr[2]! & 0xff00) << 16;
      this.rdra = ((m.read16(addr + 16) | (m.read8(addr + 18) << 16) | hi) >>> 0) as number;
      rlen = m.read8(addr + 19) >> 5;
      this.tdra = ((m.read16(addr + 20) | (m.read8(addr + 22) << 16) | hi) >>> 0) as number;
      tlen = m.read8(addr + 23) >> 5;
      this.rxLen = 1 << rlen;
      this.txLen = 1 << tlen;
    }
    for (let i = 0; i < 3; i++) this.csr[12 + i] = m.read16(padr + 2 * i);
    for (let i = 0; i < 4; i++) this.csr[8 + i] = m.read16(ladrf + 2 * i);
    this.rxIndex = 0;
    this.txIndex = 0;
    this.csr[0] = (this.csr[0]! & ~CSR0_STOP) | CSR0_INIT | CSR0_IDON;
    return true;
  }

  /** STRT: enable the receiver and transmitter (unless CSR15 DRX/DTX) and poll the TX ring. */
  private start(): void {
    this.stats.count("cmd:start");
    let c = (this.csr[0]! & ~CSR0_STOP) | CSR0_STRT;
    const mode = this.csr[15]!;
    c = (mode & CSR15_DTX) === 0 ? c | CSR0_TXON : c & ~CSR0_TXON;
    c = (mode & CSR15_DRX) === 0 ? c | CSR0_RXON : c & ~CSR0_RXON;
    this.csr[0] = c;
    this.transmitPoll();
  }

  /** A bus-master access failed: MERR; for the initialization block the chip also stops. */
  private memoryError(stop: boolean): void {
    let c = this.csr[0]! | CSR0_MERR;
    if (stop) c = (c & ~(CSR0_TXON | CSR0_RXON | CSR0_STRT | CSR0_INIT)) | CSR0_STOP;
    this.csr[0] = c;
    this.updateIrq();
  }

  // ---- descriptors ----

  private descAddr(base: number, index: number): number {
    return (base + index * this.layout.size) >>> 0;
  }

  /** Read descriptor `index` of the ring at `base` into `this.desc`; false if it lies outside RAM. */
  private readDesc(base: number, index: number, lay: Layout): boolean {
    const a = base + index * lay.size;
    const m = this.memory;
    if (!m.contains(a, lay.size)) return false;
    const d = this.desc;
    const bcnt = m.read16(a + lay.bcnt);
    d.bcnt = (~bcnt & 0x0fff) + 1; // two's complement, 12 bits: 0 means 4096
    if (lay.lance) {
      d.addr = (m.read16(a) | (m.read8(a + 2) << 16) | ((this.csr[2]! & 0xff00) << 16)) >>> 0;
      d.status = m.read8(a + 3) << 8;
      d.misc = m.read16(a + lay.misc);
    } else {
      d.addr = m.read32(a + lay.addr) >>> 0;
      d.status = m.read16(a + lay.status);
      d.misc = m.read32(a + lay.misc) >>> 0;
    }
    this.stats.count("dma:read-bytes", lay.size);
    return true;
  }

  /** Write back status and the misc/mcnt field (the caller checked the range with readDesc). */
  private writeDesc(base: number, index: number, lay: Layout, status: number, misc: number): void {
    const a = base + index * lay.size;
    const m = this.memory;
    if (lay.lance) {
      // The 16-bit word holds MCNT (RMD3, low bits) or the TMD3 error bits, which the
      // 32-bit TMD2 form keeps in its upper half.
      m.write16(a + lay.misc, misc >>> 16 !== 0 ? misc >>> 16 : misc & 0xffff);
      m.write8(a + 3, status >> 8);
    } else {
      m.write32(a + lay.misc, misc);
      m.write16(a + lay.status, status);
    }
    this.stats.count("dma:write-bytes", lay.lance ? 3 : 6);
  }

  // ---- transmit ----

  /** Send every frame the driver handed over (OWN set), bounded by the ring length. */
  private transmitPoll(): void {
    const c0 = this.csr[0]!;
    if ((c0 & CSR0_TXON) === 0 || (this.csr[5]! & CSR5_SPND) !== 0) return;
    if (this.txLen === 0) {
      this.stats.count("error:tx-ring-empty");
      return;
    }
    const lay = this.layout;
    for (let frames = 0; frames < this.txLen; frames++) {
      if (!this.readDesc(this.tdra, this.txIndex, lay)) {
        this.stats.count("error:tx-descriptor-outside-ram");
        this.csr[0] = this.csr[0]! & ~CSR0_TXON;
        this.memoryError(false);
        return;
      }
      if ((this.desc.status & DESC_OWN) === 0) return;
      if (!this.transmitOne(lay)) return;
    }
  }

  /** Gather STP..ENP starting at the current index, send it, hand the descriptors back. */
  private transmitOne(lay: Layout): boolean {
    const d = this.desc;
    const first = this.txIndex;
    if ((d.status & DESC_STP) === 0) {
      // Not the start of a frame: hand it back with ERR so the driver can resynchronise.
      this.stats.count("error:tx-no-stp");
      this.writeDesc(this.tdra, first, lay, (d.status & ~DESC_OWN) | DESC_ERR, d.misc);
      this.txIndex = (first + 1) % this.txLen;
      this.csr[0] = this.csr[0]! | CSR0_TINT;
      return true;
    }
    let len = 0;
    let ltint = false;
    let bad = false;
    let n = 0;
    let enp = false;
    // At most txLen descriptors belong to one frame.
    for (; n < this.txLen; n++) {
      const idx = (first + n) % this.txLen;
      if (n > 0) {
        if (!this.readDesc(this.tdra, idx, lay)) {
          this.stats.count("error:tx-descriptor-outside-ram");
          this.memoryError(false);
          bad = true;
          break;
        }
        if ((d.status & DESC_OWN) === 0) break; // the chain stops before ENP: underflow
      }
      if ((d.status & TMD_LTINT) !== 0) ltint = true;
      if (len + d.bcnt > MAX_TX_FRAME) {
        this.stats.count("error:tx-frame-too-long");
        bad = true;
      } else if (!this.memory.contains(d.addr, d.bcnt)) {
        this.stats.count("error:tx-buffer-outside-ram");
        this.memoryError(false);
        bad = true;
      } else if (!bad) {
        this.memory.readInto(d.addr, this.txFrame.subarray(len, len + d.bcnt));
        this.stats.count("dma:read-bytes", d.bcnt);
        len += d.bcnt;
      }
      if ((d.status & DESC_ENP) !== 0) {
        enp = true;
        n++;
        break;
      }
    }
    if (!enp) {
      // No ENP within the descriptors we own (or the whole ring): the chip underflows,
      // reports BUFF/UFLO in the last descriptor and turns the transmitter off.
      this.stats.count("error:tx-chain-without-enp");
      const count = Math.max(n, 1);
      for (let k = 0; k < count; k++) {
        const idx = (first + k) % this.txLen;
        if (!this.readDesc(this.tdra, idx, lay)) break;
        const last = k === count - 1;
        this.writeDesc(
          this.tdra,
          idx,
          lay,
          (d.status & ~DESC_OWN) | DESC_ERR,
          last ? (TMD_MISC_BUFF | TMD_MISC_UFLO) >>> 0 : 0,
        );
      }
      this.txIndex = (first + count) % this.txLen;
      this.csr[0] = this.csr[0]! | CSR0_TINT;
      if ((this.csr[3]! & CSR3_DXSUFLO) === 0) this.csr[0] = this.csr[0]! & ~CSR0_TXON;
      this.stats.count("tx:errors");
      return false;
    }
    // Hand the descriptors back (OWN clear), the STP one last as the chip does.
    for (let k = n - 1; k >= 0; k--) {
      const idx = (first + k) % this.txLen;
      if (!this.readDesc(this.tdra, idx, lay)) continue;
      const status = (d.status & ~DESC_OWN) | (bad ? DESC_ERR : 0);
      this.writeDesc(this.tdra, idx, lay, status, bad ? TMD_MISC_BUFF >>> 0 : 0);
    }
    this.txIndex = (first + n) % this.txLen;
    if (!bad) {
      let frame = this.txFrame.slice(0, len);
      if (len < MIN_FRAME && (this.csr[4]! & CSR4_APAD_XMT) !== 0) {
        const padded = new Uint8Array(MIN_FRAME);
        padded.set(frame);
        frame = padded;
      }
      this.stats.count("tx:frames");
      this.stats.count("tx:bytes", frame.length);
      this.csr[4] = this.csr[4]! | CSR4_TXSTRT;
      if ((this.csr[15]! & CSR15_LOOP) !== 0) {
        this.stats.count("tx:loopback");
        this.receive(frame);
      } else if (!this.backend.send(frame)) {
        this.stats.count("tx:backend-dropped");
      }
    } else {
      this.stats.count("tx:errors");
    }
    if ((this.csr[5]! & CSR5_LTINTEN) === 0 || ltint) this.csr[0] = this.csr[0]! | CSR0_TINT;
    return true;
  }

  // ---- receive ----

  /** Address filter: -1 rejects; otherwise the RMD match bits (PAM, LAFM, BAM, or 0 for PROM). */
  private accepts(frame: Uint8Array): number {
    const mode = this.csr[15]!;
    if ((mode & CSR15_PROM) !== 0) return 0;
    if ((frame[0]! & 1) !== 0) {
      let broadcast = true;
      for (let i = 0; i < 6; i++) if (frame[i] !== 0xff) broadcast = false;
      if (broadcast) return (mode & CSR15_DRCVBC) === 0 ? RMD_BAM : -1;
      const idx = crc32le(frame, 0, 6) >>> 26;
      return (this.csr[8 + (idx >> 4)]! & (1 << (idx & 15))) !== 0 ? RMD_LAFM : -1;
    }
    if ((mode & CSR15_DRCVPA) !== 0) return -1;
    for (let i = 0; i < 3; i++) {
      const w = this.csr[12 + i]!;
      if (frame[2 * i] !== (w & 0xff) || frame[2 * i + 1] !== w >> 8) return -1;
    }
    return RMD_PAM;
  }

  /** Store `data[0, len)` into the receive ring, spreading it over owned descriptors. */
  private store(data: Uint8Array, len: number, match: number): boolean {
    if (this.rxLen === 0) {
      this.stats.count("error:rx-ring-empty");
      this.missed();
      return false;
    }
    const lay = this.layout;
    const d = this.desc;
    const first = this.rxIndex;
    if (!this.readDesc(this.rdra, first, lay)) {
      this.stats.count("error:rx-descriptor-outside-ram");
      this.memoryError(false);
      this.stats.count("rx:dropped");
      return false;
    }
    if ((d.status & DESC_OWN) === 0) {
      this.missed();
      return false;
    }
    let off = 0;
    // At most rxLen descriptors for one frame.
    for (let n = 0; n < this.rxLen; n++) {
      const idx = (first + n) % this.rxLen;
      if (n > 0) {
        const ok = this.readDesc(this.rdra, idx, lay);
        if (!ok || (d.status & DESC_OWN) === 0) {
          // Out of buffers mid-frame: BUFF/OFLO in the last descriptor written (no ENP).
          if (!ok) {
            this.stats.count("error:rx-descriptor-outside-ram");
            this.memoryError(false);
          }
          this.stats.count("error:rx-out-of-buffers");
          const prev = (first + n - 1) % this.rxLen;
          if (this.readDesc(this.rdra, prev, lay)) {
            const st = (n - 1 === 0 ? DESC_STP : 0) | DESC_ERR | RMD_BUFF | RMD_OFLO;
            this.writeDesc(this.rdra, prev, lay, st, 0);
          }
          this.rxIndex = (first + n) % this.rxLen;
          this.csr[0] = this.csr[0]! | CSR0_RINT;
          this.stats.count("rx:dropped");
          return false;
        }
      }
      const chunk = Math.min(d.bcnt, len - off);
      let status = n === 0 ? DESC_STP : 0;
      if (!this.memory.contains(d.addr, chunk)) {
        this.stats.count("error:rx-buffer-outside-ram");
        this.memoryError(false);
        status |= DESC_ERR | RMD_BUFF;
      } else {
        this.memory.writeBytes(d.addr, data.subarray(off, off + chunk));
        this.stats.count("dma:write-bytes", chunk);
      }
      off += chunk;
      if (off >= len || (status & DESC_ERR) !== 0) {
        // The last descriptor of the frame: ENP, MCNT and the address-match bits.
        const err = (status & DESC_ERR) !== 0;
        status |= err ? 0 : DESC_ENP | (lay.lance ? 0 : match);
        this.writeDesc(this.rdra, idx, lay, status, err ? 0 : len & 0x0fff);
        this.rxIndex = (first + n + 1) % this.rxLen;
        this.csr[0] = this.csr[0]! | CSR0_RINT;
        if (err) {
          this.stats.count("rx:dropped");
          return false;
        }
        this.stats.count("rx:frames");
        this.stats.count("rx:bytes", len - FCS_LEN);
        return true;
      }
      this.writeDesc(this.rdra, idx, lay, status, 0);
    }
    // Reached only when the ring is smaller than the frame: every descriptor was used.
    this.stats.count("error:rx-out-of-buffers");
    this.rxIndex = first;
    this.csr[0] = this.csr[0]! | CSR0_RINT;
    this.stats.count("rx:dropped");
    return false;
  }

  /** No receive descriptor: MISS, the missed-frame counter (CSR112), drop. */
  private missed(): void {
    this.csr[0] = this.csr[0]! | CSR0_MISS;
    this.csr[112] = (this.csr[112]! + 1) & 0xffff;
    this.stats.count("rx:missed");
    this.stats.count("rx:dropped");
  }

  // ---- interrupt ----

  private updateIrq(): void {
    let c = this.csr[0]!;
    const errs = c & (CSR0_BABL | CSR0_CERR | CSR0_MISS | CSR0_MERR);
    c = errs !== 0 ? c | CSR0_ERR : c & ~CSR0_ERR;
    let intr = (c & CSR3_MASKABLE & ~this.csr[3]!) !== 0;
    const c4 = this.csr[4]!;
    if ((c4 & CSR4_UINT) !== 0) intr = true;
    for (const [bit, mask] of CSR4_SOURCES) if ((c4 & bit) !== 0 && (c4 & mask) === 0) intr = true;
    c = intr ? c | CSR0_INTR : c & ~CSR0_INTR;
    this.csr[0] = c;
    const level = intr && (c & CSR0_INEA) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.stats.count(level ? "irq:raised" : "irq:lowered");
    this.setIntx(level);
  }
}
