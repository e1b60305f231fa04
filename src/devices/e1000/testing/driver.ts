/**
 * A driver-side mock of the 82540EM (STYLE.md practice 8): it programs the device through its
 * BARs the way the Linux `e1000` driver does (drivers/net/ethernet/intel/e1000, e1000_hw.c and
 * e1000_main.c), so device tests exercise the same register sequences a guest produces:
 *
 *   probe   e1000_reset_hw (IMC, RCTL=0, TCTL=PSP, CTRL.RST through the I/O window, IMC, ICR),
 *           EEPROM checksum and MAC address by Microwire bit-banging of EECD, PHY ID via MDIC
 *   open    RAR0 and the MTA, link setup (CTRL.SLU, PHY autoneg restart, BMSR poll), the TX ring
 *           (TDBAL/TDBAH/TDLEN/TDH/TDT, TIPG, TIDV, TADV, TCTL), the RX ring (RDTR, RADV, ITR,
 *           RDLEN/RDBAL/RDH/RDT, RCTL with BAM and 2 KiB buffers), buffers handed over leaving
 *           one descriptor unused, IMS = RXT0|TXDW|RXDMT0|RXSEQ|LSC, ICS = LSC
 *   xmit    optional context descriptor (checksum offload or TSO), data descriptors up to
 *           `maxPerDescriptor` bytes each, EOP|IFCS|RS(|IDE) on the last, TDT doorbell
 *   intr    ICR read, IMC = ~0, clean TX (DD on each packet's last descriptor) and RX, IMS again
 *
 * It is test code that lives in the library so every e1000 test (and fuzzers, benchmarks) can
 * reuse it; it touches guest RAM only through GuestMemory, as a guest's driver would.
 */

import type { Bus } from "../../../bus/bus.js";
import type { GuestMemory } from "../../../memory/guest-memory.js";
import * as R from "../registers.js";

/** 32-bit accesses to the two BARs. */
export interface E1000Bars {
  read32(offset: number): number;
  write32(offset: number, value: number): void;
  ioRead32(offset: number): number;
  ioWrite32(offset: number, value: number): void;
}

/** BAR accesses through the machine's MMIO and port buses at the programmed BAR addresses. */
export function barsOnBuses(mmio: Bus, ports: Bus, mmioBase: number, ioBase: number): E1000Bars {
  return {
    read32: (off) => mmio.read(mmioBase + off, 4) >>> 0,
    write32: (off, v) => mmio.write(mmioBase + off, 4, v >>> 0),
    ioRead32: (off) => ports.read(ioBase + off, 4) >>> 0,
    ioWrite32: (off, v) => ports.write(ioBase + off, 4, v >>> 0),
  };
}

export interface DriverLayout {
  /** Guest-physical addresses of the rings and buffer areas (2 KiB per descriptor). */
  readonly txRing: number;
  readonly txCount: number;
  readonly rxRing: number;
  readonly rxCount: number;
  readonly txBuffers: number;
  readonly rxBuffers: number;
}

export const DEFAULT_LAYOUT: DriverLayout = {
  txRing: 0x10_0000,
  txCount: 64,
  rxRing: 0x10_1000,
  rxCount: 64,
  txBuffers: 0x11_0000,
  rxBuffers: 0x13_0000,
};

/** The driver's module defaults (e1000_param.c): TxIntDelay 8, TxAbsIntDelay 32, RxIntDelay 0, RxAbsIntDelay 8, ITR 20000/s. */
export interface DriverTuning {
  readonly tidv: number;
  readonly tadv: number;
  readonly rdtr: number;
  readonly radv: number;
  /** Interrupts per second for ITR (0 = ITR off). */
  readonly itrRate: number;
}

export const LINUX_DEFAULT_TUNING: DriverTuning = { tidv: 8, tadv: 32, rdtr: 0, radv: 8, itrRate: 20000 };

/** IMS_ENABLE_MASK of the Linux driver. */
export const IMS_ENABLE_MASK = R.INT_RXT0 | R.INT_TXDW | R.INT_RXDMT0 | R.INT_RXSEQ | R.INT_LSC;

export interface TxChecksum {
  /** Checksum start (TUCSS) and where to store it (TUCSO); the driver pre-seeds the pseudo-header sum. */
  readonly css: number;
  readonly cso: number;
  readonly tcp: boolean;
}

export interface TxTso {
  readonly mss: number;
  readonly hdrLen: number;
  readonly ipcss: number;
  readonly ipcso: number;
  readonly ipcse: number;
  readonly tucss: number;
  readonly tucso: number;
  readonly ipv4: boolean;
}

export interface TxOptions {
  readonly maxPerDescriptor?: number;
  readonly csum?: TxChecksum;
  readonly tso?: TxTso;
  /** VLAN tag to insert (VLE). */
  readonly vlan?: number;
  /** Write TDT (default true). */
  readonly doorbell?: boolean;
}

export interface RxFrame {
  /** Frame data without the FCS (when the device stored one). */
  readonly data: Uint8Array;
  /** Descriptor lengths summed (including the FCS when RCTL.SECRC is clear). */
  readonly length: number;
  readonly descriptors: number;
  readonly status: number;
  readonly errors: number;
  readonly special: number;
}

export class E1000DriverError extends Error {
  override readonly name = "E1000DriverError";
}

export class E1000DriverMock {
  readonly mac = new Uint8Array(6);
  tuning: DriverTuning = LINUX_DEFAULT_TUNING;
  /** Strip 4 FCS bytes from received lengths (the driver's default; false if RCTL.SECRC is set). */
  fcsInLength = true;
  private txNextToUse = 0;
  private txNextToClean = 0;
  /** Last descriptor of each in-flight packet, in order. */
  private readonly txPending: number[] = [];
  private rxNextToUse = 0;
  private rxNextToClean = 0;
  /** Interrupt causes seen by `interrupt()`, accumulated. */
  causesSeen = 0;

  constructor(
    readonly bars: E1000Bars,
    readonly memory: GuestMemory,
    readonly layout: DriverLayout = DEFAULT_LAYOUT,
  ) {}

  r(off: number): number {
    return this.bars.read32(off);
  }

  w(off: number, v: number): void {
    this.bars.write32(off, v);
  }

  // ---------------------------------------------------------------- probe

  /** e1000_reset_hw for the 82540: the reset goes through IOADDR/IODATA. */
  resetHw(): void {
    this.w(R.IMC, 0xffffffff);
    this.w(R.RCTL, 0);
    this.w(R.TCTL, R.TCTL_PSP);
    const ctrl = this.r(R.CTRL);
    this.bars.ioWrite32(R.IOADDR, R.CTRL);
    this.bars.ioWrite32(R.IODATA, (ctrl | R.CTRL_RST) >>> 0);
    const manc = this.r(R.MANC);
    this.w(R.MANC, manc & ~(1 << 13)); // ARP_EN off
    this.w(R.IMC, 0xffffffff);
    this.r(R.ICR);
  }

  private eecd(v: number): void {
    this.w(R.EECD, v);
  }

  private raiseClk(eecd: number): number {
    eecd |= R.EECD_SK;
    this.eecd(eecd);
    return eecd;
  }

  private lowerClk(eecd: number): number {
    eecd &= ~R.EECD_SK;
    this.eecd(eecd);
    return eecd;
  }

  private shiftOut(data: number, count: number): void {
    let eecd = this.r(R.EECD) & ~R.EECD_DO;
    let mask = 1 << (count - 1);
    while (mask !== 0) {
      eecd &= ~R.EECD_DI;
      if ((data & mask) !== 0) eecd |= R.EECD_DI;
      this.eecd(eecd);
      eecd = this.raiseClk(eecd);
      eecd = this.lowerClk(eecd);
      mask >>>= 1;
    }
    this.eecd(eecd & ~R.EECD_DI);
  }

  private shiftIn(count: number): number {
    let eecd = this.r(R.EECD) & ~(R.EECD_DO | R.EECD_DI);
    let data = 0;
    for (let i = 0; i < count; i++) {
      data <<= 1;
      this.raiseClk(eecd);
      eecd = this.r(R.EECD) & ~R.EECD_DI;
      if ((eecd & R.EECD_DO) !== 0) data |= 1;
      eecd = this.lowerClk(eecd);
    }
    return data;
  }

  /** e1000_read_eeprom, Microwire path: acquire (REQ/GNT, CS), READ opcode + address, 16 bits, standby, release. */
  eepromRead(offset: number, words: number): Uint16Array {
    const out = new Uint16Array(words);
    let eecd = this.r(R.EECD) | R.EECD_REQ;
    this.eecd(eecd);
    let tries = 0;
    while ((this.r(R.EECD) & R.EECD_GNT) === 0) {
      if (++tries > 1000) throw new E1000DriverError("EEPROM access not granted");
    }
    eecd = this.r(R.EECD) & ~(R.EECD_DI | R.EECD_SK);
    this.eecd(eecd);
    this.eecd(eecd | R.EECD_CS);
    for (let i = 0; i < words; i++) {
      this.shiftOut(0b110, 3);
      this.shiftOut(offset + i, 6);
      out[i] = this.shiftIn(16);
      // e1000_standby_eeprom: CS low, clock, CS high.
      eecd = this.r(R.EECD) & ~(R.EECD_CS | R.EECD_SK);
      this.eecd(eecd);
      eecd = this.raiseClk(eecd);
      eecd |= R.EECD_CS;
      this.eecd(eecd);
      this.lowerClk(eecd);
    }
    // e1000_release_eeprom.
    eecd = this.r(R.EECD) & ~(R.EECD_CS | R.EECD_DI);
    this.eecd(eecd);
    eecd = this.raiseClk(eecd);
    eecd = this.lowerClk(eecd);
    this.eecd(eecd & ~R.EECD_REQ);
    return out;
  }

  /** EEPROM word through EERD (not what Linux uses on the 82540, but the register exists). */
  eepromReadEerd(offset: number): number {
    this.w(R.EERD, (offset << R.EERD_ADDR_SHIFT) | R.EERD_START);
    const v = this.r(R.EERD);
    if ((v & R.EERD_DONE) === 0) throw new E1000DriverError("EERD did not complete");
    return v >>> R.EERD_DATA_SHIFT;
  }

  /** e1000_validate_eeprom_checksum: words 0x00-0x3F sum to 0xBABA. */
  validateEepromChecksum(): boolean {
    const words = this.eepromRead(0, 0x40);
    let sum = 0;
    for (const w of words) sum = (sum + w) & 0xffff;
    return sum === 0xbaba;
  }

  /** e1000_read_mac_addr: words 0-2, low byte first. */
  readMacAddress(): Uint8Array {
    const words = this.eepromRead(0, 3);
    for (let i = 0; i < 3; i++) {
      this.mac[2 * i] = words[i]! & 0xff;
      this.mac[2 * i + 1] = words[i]! >>> 8;
    }
    return this.mac;
  }

  /** e1000_read_phy_reg_ex: MDIC read at PHY address `phy`, poll READY, check ERROR. Undefined on error. */
  phyRead(reg: number, phy = 1): number | undefined {
    this.w(R.MDIC, (reg << R.MDIC_REG_SHIFT) | (phy << R.MDIC_PHY_SHIFT) | R.MDIC_OP_READ);
    for (let i = 0; i < 64; i++) {
      const mdic = this.r(R.MDIC);
      if ((mdic & R.MDIC_READY) !== 0) return (mdic & R.MDIC_ERROR) !== 0 ? undefined : mdic & 0xffff;
    }
    throw new E1000DriverError("MDI read did not complete");
  }

  phyWrite(reg: number, value: number, phy = 1): boolean {
    this.w(
      R.MDIC,
      (value & 0xffff) | (reg << R.MDIC_REG_SHIFT) | (phy << R.MDIC_PHY_SHIFT) | R.MDIC_OP_WRITE,
    );
    for (let i = 0; i < 64; i++) {
      const mdic = this.r(R.MDIC);
      if ((mdic & R.MDIC_READY) !== 0) return (mdic & R.MDIC_ERROR) === 0;
    }
    throw new E1000DriverError("MDI write did not complete");
  }

  /** The probe path: reset, checksum, MAC, PHY ID. Throws like the driver would refuse the device. */
  probe(): void {
    this.resetHw();
    if (!this.validateEepromChecksum()) throw new E1000DriverError("The EEPROM Checksum Is Not Valid");
    this.readMacAddress();
    const id = ((this.phyRead(2) ?? 0) << 16) | ((this.phyRead(3) ?? 0) & 0xfff0);
    if (id >>> 0 !== 0x01410c20) throw new E1000DriverError(`unexpected PHY id 0x${(id >>> 0).toString(16)}`);
  }

  // ---------------------------------------------------------------- open

  /** e1000_copper_link_preconfig + autoneg restart + the link poll of e1000_setup_copper_link. */
  setupLink(): boolean {
    const ctrl = this.r(R.CTRL);
    this.w(R.CTRL, (ctrl | R.CTRL_SLU) & ~(R.CTRL_FRCSPD | R.CTRL_FRCDPLX));
    const bmcr = this.phyRead(0) ?? 0;
    this.phyWrite(0, bmcr | 0x1000 | 0x0200); // autoneg enable + restart
    for (let i = 0; i < 10; i++) {
      this.phyRead(1);
      const bmsr = this.phyRead(1) ?? 0;
      if ((bmsr & 0x0004) !== 0) return (this.r(R.STATUS) & R.STATUS_LU) !== 0;
    }
    return false;
  }

  /** e1000_init_rx_addrs + MTA clear. */
  initRxAddrs(): void {
    const m = this.mac;
    this.w(R.RA_BASE, (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0);
    this.w(R.RA_BASE + 4, (m[4]! | (m[5]! << 8) | R.RAH_AV) >>> 0);
    for (let i = 1; i < 16; i++) {
      this.w(R.RA_BASE + 8 * i, 0);
      this.w(R.RA_BASE + 8 * i + 4, 0);
    }
    for (let i = 0; i < 128; i++) this.w(R.MTA_BASE + 4 * i, 0);
  }

  configureTx(): void {
    const l = this.layout;
    this.memory.fill(l.txRing, l.txCount * 16, 0);
    this.w(R.TDLEN, l.txCount * 16);
    this.w(R.TDBAH, 0);
    this.w(R.TDBAL, l.txRing);
    this.w(R.TDT, 0);
    this.w(R.TDH, 0);
    this.w(R.TIPG, 8 | (8 << 10) | (6 << 20));
    this.w(R.TIDV, this.tuning.tidv);
    this.w(R.TADV, this.tuning.tadv);
    const tctl = this.r(R.TCTL);
    // PSP, RTLC (bit 24), collision threshold 0Fh, collision distance 3Fh (e1000_configure_tx).
    this.w(R.TCTL, (tctl & ~(0xff << 4)) | R.TCTL_PSP | (1 << 24) | (0x0f << 4) | (0x3f << 12));
    this.txNextToUse = 0;
    this.txNextToClean = 0;
    this.txPending.length = 0;
  }

  configureRx(): void {
    const l = this.layout;
    const rctl = R.RCTL_BAM | (0 << R.RCTL_RDMTS_SHIFT); // 2048-byte buffers, RDMTS 1/2
    this.w(R.RCTL, rctl);
    this.w(R.RDTR, this.tuning.rdtr);
    this.w(R.RADV, this.tuning.radv);
    this.w(R.ITR, this.tuning.itrRate === 0 ? 0 : Math.floor(1e9 / (this.tuning.itrRate * 256)));
    this.memory.fill(l.rxRing, l.rxCount * 16, 0);
    this.w(R.RDLEN, l.rxCount * 16);
    this.w(R.RDBAH, 0);
    this.w(R.RDBAL, l.rxRing);
    this.w(R.RDT, 0);
    this.w(R.RDH, 0);
    this.w(R.RCTL, rctl | R.RCTL_EN);
    this.rxNextToUse = 0;
    this.rxNextToClean = 0;
    this.allocRx(this.rxUnused());
  }

  /** e1000_irq_enable. */
  irqEnable(): void {
    this.w(R.IMS, IMS_ENABLE_MASK);
  }

  /** Probe + open + the watchdog's TCTL.EN: the device is ready to pass traffic. */
  up(): void {
    this.probe();
    this.initRxAddrs();
    if (!this.setupLink()) throw new E1000DriverError("link did not come up");
    this.configureTx();
    this.configureRx();
    this.irqEnable();
    this.w(R.ICS, R.INT_LSC);
    this.interrupt(); // the LSC interrupt, as the watchdog would see it
    this.w(R.TCTL, this.r(R.TCTL) | R.TCTL_EN);
  }

  // ---------------------------------------------------------------- receive

  private rxUnused(): number {
    const c = this.layout.rxCount;
    return (this.rxNextToClean > this.rxNextToUse ? 0 : c) + this.rxNextToClean - this.rxNextToUse - 1;
  }

  /** e1000_alloc_rx_buffers: fill `n` descriptors from next_to_use; RDT = last filled. */
  allocRx(n: number): void {
    const l = this.layout;
    let i = this.rxNextToUse;
    for (let k = 0; k < n; k++) {
      const d = l.rxRing + i * 16;
      this.memory.write32(d, l.rxBuffers + i * 2048);
      this.memory.write32(d + 4, 0);
      this.memory.write32(d + 8, 0);
      this.memory.write32(d + 12, 0);
      i = (i + 1) % l.rxCount;
    }
    if (i !== this.rxNextToUse) {
      this.rxNextToUse = i;
      this.w(R.RDT, i === 0 ? l.rxCount - 1 : i - 1);
    }
  }

  /** e1000_clean_rx_irq, gathering multi-descriptor frames instead of discarding them. */
  cleanRx(): RxFrame[] {
    const l = this.layout;
    const frames: RxFrame[] = [];
    let i = this.rxNextToClean;
    let parts: Uint8Array[] = [];
    let length = 0;
    let cleaned = 0;
    for (;;) {
      const d = l.rxRing + i * 16;
      const status = this.memory.read8(d + 12);
      if ((status & R.RXD_STAT_DD) === 0) break;
      const len = this.memory.read16(d + 8);
      const errors = this.memory.read8(d + 13);
      const special = this.memory.read16(d + 14);
      // Like buffer_info->dma: the driver's own buffer, not the (guest-writable) descriptor field.
      const addr = l.rxBuffers + i * 2048;
      parts.push(this.memory.readBytes(addr, Math.min(len, 2048)));
      length += len;
      this.memory.write8(d + 12, 0);
      cleaned++;
      i = (i + 1) % l.rxCount;
      if ((status & R.RXD_STAT_EOP) !== 0) {
        const all = new Uint8Array(length);
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        const dataLen = this.fcsInLength ? Math.max(0, length - 4) : length;
        frames.push({
          data: all.slice(0, dataLen),
          length,
          descriptors: parts.length,
          status,
          errors,
          special,
        });
        parts = [];
        length = 0;
      }
      if (cleaned >= l.rxCount) break;
    }
    this.rxNextToClean = i;
    this.allocRx(this.rxUnused());
    return frames;
  }

  // ---------------------------------------------------------------- transmit

  private txUnused(): number {
    const c = this.layout.txCount;
    return (this.txNextToClean > this.txNextToUse ? 0 : c) + this.txNextToClean - this.txNextToUse - 1;
  }

  private writeTxDesc(lo: number, hi: number, lower: number, upper: number): number {
    const i = this.txNextToUse;
    const d = this.layout.txRing + i * 16;
    this.memory.write32(d, lo);
    this.memory.write32(d + 4, hi);
    this.memory.write32(d + 8, lower >>> 0);
    this.memory.write32(d + 12, upper >>> 0);
    this.txNextToUse = (i + 1) % this.layout.txCount;
    return i;
  }

  /** e1000_xmit_frame. Returns the number of descriptors used, or 0 when the ring is full. */
  transmit(frame: Uint8Array, opts: TxOptions = {}): number {
    const max = opts.maxPerDescriptor ?? 2048;
    const chunks = Math.max(1, Math.ceil(frame.length / max));
    const ctx = opts.csum !== undefined || opts.tso !== undefined ? 1 : 0;
    if (this.txUnused() < chunks + ctx + 2) return 0;
    const l = this.layout;
    let lower = R.TXD_CMD_IFCS << 24;
    let upper = 0;
    if (opts.tso !== undefined) {
      const t = opts.tso;
      const tucmd = R.TXD_CMD_DEXT | R.TUCMD_TSE | R.TUCMD_TCP | (t.ipv4 ? R.TUCMD_IP : 0);
      this.writeTxDesc(
        t.ipcss | (t.ipcso << 8) | (t.ipcse << 16),
        t.tucss | (t.tucso << 8),
        ((frame.length - t.hdrLen) & 0xfffff) | (R.TXD_DTYP_CONTEXT << 20) | (tucmd << 24),
        (t.hdrLen << 8) | (t.mss << 16),
      );
      lower |= ((R.TXD_CMD_DEXT | R.TXD_CMD_IC_TSE) << 24) | (R.TXD_DTYP_DATA << 20);
      upper |= (R.TXD_POPTS_TXSM | (t.ipv4 ? R.TXD_POPTS_IXSM : 0)) << 8;
    } else if (opts.csum !== undefined) {
      const c = opts.csum;
      const tucmd = R.TXD_CMD_DEXT | (c.tcp ? R.TUCMD_TCP : 0);
      this.writeTxDesc(0, c.css | (c.cso << 8), (R.TXD_DTYP_CONTEXT << 20) | (tucmd << 24), 0);
      lower |= (R.TXD_CMD_DEXT << 24) | (R.TXD_DTYP_DATA << 20);
      upper |= R.TXD_POPTS_TXSM << 8;
    }
    if (opts.vlan !== undefined) {
      lower |= R.TXD_CMD_VLE << 24;
      upper |= (opts.vlan & 0xffff) << 16;
    }
    let last = 0;
    for (let k = 0; k < chunks; k++) {
      const part = frame.subarray(k * max, Math.min(frame.length, (k + 1) * max));
      const buf = l.txBuffers + this.txNextToUse * 2048;
      if (part.length > 2048) throw new E1000DriverError("maxPerDescriptor above the 2 KiB buffer");
      this.memory.writeBytes(buf, part);
      let lw = lower | part.length;
      if (k === chunks - 1) {
        lw |= (R.TXD_CMD_EOP | R.TXD_CMD_RS | (this.tuning.tidv !== 0 ? R.TXD_CMD_IDE : 0)) << 24;
      }
      last = this.writeTxDesc(buf, 0, lw, upper);
    }
    this.txPending.push(last);
    if (opts.doorbell ?? true) this.w(R.TDT, this.txNextToUse);
    return chunks + ctx;
  }

  /** e1000_clean_tx_irq: packets whose last descriptor has DD. */
  cleanTx(): number {
    let done = 0;
    while (this.txPending.length > 0) {
      const last = this.txPending[0]!;
      const d = this.layout.txRing + last * 16;
      if ((this.memory.read8(d + 12) & R.TXD_STAT_DD) === 0) break;
      this.txPending.shift();
      this.memory.write32(d + 12, 0);
      this.txNextToClean = (last + 1) % this.layout.txCount;
      done++;
    }
    return done;
  }

  get txInFlight(): number {
    return this.txPending.length;
  }

  // ---------------------------------------------------------------- interrupt

  /** e1000_intr + one NAPI poll: ICR, IMC = ~0, clean TX and RX, IMS again. Returns ICR and the frames. */
  interrupt(): { icr: number; frames: RxFrame[]; txDone: number } {
    const icr = this.r(R.ICR);
    this.causesSeen |= icr;
    if (icr === 0) return { icr, frames: [], txDone: 0 };
    this.w(R.IMC, 0xffffffff);
    const txDone = this.cleanTx();
    const frames = this.cleanRx();
    this.irqEnable();
    return { icr, frames, txDone };
  }
}
