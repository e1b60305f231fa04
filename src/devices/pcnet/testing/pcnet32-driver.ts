/**
 * A driver-side mock of the PCnet-PCI II (STYLE.md practice 8): programs a device the way
 * Linux's `pcnet32` does (drivers/net/ethernet/amd/pcnet32.c): probe through WIO with the
 * DWIO fallback, the chip-ID check on CSR88/89, the MAC from CSR12-14 and the APROM, the
 * initialization block and descriptor rings in guest memory (SWSTYLE 2, or the 16-bit Lance
 * style 0 for tests), INIT / IDON / STRT|INEA, transmit with TDMD, the interrupt handler with
 * its CSR3 masking and NAPI poll (pcnet32_rx / pcnet32_tx), and multicast / promiscuous
 * changes under CSR5 suspend.
 */

import type { GuestMemory } from "../../../memory/guest-memory.js";
import type { PortIo } from "../../ne2k/testing/ne2k-driver.js";

export class Pcnet32DriverError extends Error {
  override readonly name = "Pcnet32DriverError";
}

export interface Pcnet32DriverOptions {
  /** Software style the driver programs: 2 (pcnet32) or 0 (16-bit Lance, for tests). */
  readonly swstyle?: 0 | 2;
  /** log2 ring sizes (pcnet32 defaults: rx 5 = 32, tx 4 = 16). */
  readonly rxLenBits?: number;
  readonly txLenBits?: number;
  /** Where in guest RAM the driver puts its init block, rings and buffers. */
  readonly memBase?: number;
  /** Receive buffer size (PKT_BUF_SIZE 1544 in pcnet32). */
  readonly bufSize?: number;
}

export interface Pcnet32DriverStats {
  rxErrors: number;
  txErrors: number;
  missed: number;
  interrupts: number;
  runts: number;
}

const CSR0 = 0;
const CSR0_INIT = 0x0001;
const CSR0_TXPOLL = 0x0008;
const CSR0_INTEN = 0x0040;
const CSR0_IDON = 0x0100;
const CSR0_NORMAL = 0x0042; // STRT | INTEN
const CSR3 = 3;
const CSR5 = 5;
const CSR5_SUSPEND = 0x0001;
const CSR15 = 15;

export class Pcnet32Driver {
  readonly swstyle: 0 | 2;
  dwio = false;
  mac = new Uint8Array(6);
  chipVersion = 0;
  readonly rxSize: number;
  readonly txSize: number;
  readonly bufSize: number;
  readonly initBlock: number;
  readonly rxRing: number;
  readonly txRing: number;
  readonly rxBuffers: number;
  readonly txBuffers: number;
  curRx = 0;
  curTx = 0;
  dirtyTx = 0;
  readonly stats: Pcnet32DriverStats = { rxErrors: 0, txErrors: 0, missed: 0, interrupts: 0, runts: 0 };
  private readonly descSize: number;
  private readonly rxLenBits: number;
  private readonly txLenBits: number;

  constructor(
    private readonly io: PortIo,
    readonly base: number,
    private readonly memory: GuestMemory,
    options: Pcnet32DriverOptions = {},
  ) {
    this.swstyle = options.swstyle ?? 2;
    this.rxLenBits = options.rxLenBits ?? 5;
    this.txLenBits = options.txLenBits ?? 4;
    this.rxSize = 1 << this.rxLenBits;
    this.txSize = 1 << this.txLenBits;
    this.bufSize = options.bufSize ?? 1544;
    this.descSize = this.swstyle === 2 ? 16 : 8;
    const mb = options.memBase ?? 0x10_0000;
    this.initBlock = mb;
    this.rxRing = mb + 0x40;
    this.txRing = this.rxRing + this.rxSize * this.descSize;
    this.rxBuffers = (this.txRing + this.txSize * this.descSize + 0xf) & ~0xf;
    this.txBuffers = this.rxBuffers + this.rxSize * this.bufSize;
  }

  // ---- register access (pcnet32_wio_* / pcnet32_dwio_*) ----

  readCsr(index: number): number {
    if (this.dwio) {
      this.io.write(this.base + 0x14, 4, index);
      return this.io.read(this.base + 0x10, 4) & 0xffff;
    }
    this.io.write(this.base + 0x12, 2, index);
    return this.io.read(this.base + 0x10, 2);
  }

  writeCsr(index: number, value: number): void {
    if (this.dwio) {
      this.io.write(this.base + 0x14, 4, index);
      this.io.write(this.base + 0x10, 4, value & 0xffff);
      return;
    }
    this.io.write(this.base + 0x12, 2, index);
    this.io.write(this.base + 0x10, 2, value & 0xffff);
  }

  readBcr(index: number): number {
    if (this.dwio) {
      this.io.write(this.base + 0x14, 4, index);
      return this.io.read(this.base + 0x1c, 4) & 0xffff;
    }
    this.io.write(this.base + 0x12, 2, index);
    return this.io.read(this.base + 0x16, 2);
  }

  writeBcr(index: number, value: number): void {
    if (this.dwio) {
      this.io.write(this.base + 0x14, 4, index);
      this.io.write(this.base + 0x1c, 4, value & 0xffff);
      return;
    }
    this.io.write(this.base + 0x12, 2, index);
    this.io.write(this.base + 0x16, 2, value & 0xffff);
  }

  reset(): void {
    if (this.dwio) this.io.read(this.base + 0x18, 4);
    else this.io.read(this.base + 0x14, 2);
  }

  // ---- probe / open ----

  /** pcnet32_probe1: access mode, chip ID, MAC, init block address. */
  probe(): Uint8Array {
    this.dwio = false;
    this.reset();
    const wioOk = (() => {
      if (this.readCsr(0) !== 4) return false;
      this.io.write(this.base + 0x12, 2, 88);
      return this.io.read(this.base + 0x12, 2) === 88;
    })();
    if (!wioOk) {
      this.dwio = true;
      this.reset();
      const ok = (() => {
        if (this.readCsr(0) !== 4) return false;
        this.io.write(this.base + 0x14, 4, 88);
        return (this.io.read(this.base + 0x14, 4) & 0xffff) === 88;
      })();
      if (!ok) throw new Pcnet32DriverError("no PCnet (neither WIO nor DWIO answers)");
    }
    const id = (this.readCsr(88) | (this.readCsr(89) << 16)) >>> 0;
    if ((id & 0xfff) !== 0x003) throw new Pcnet32DriverError(`bad chip id 0x${id.toString(16)}`);
    this.chipVersion = (id >>> 12) & 0xffff;
    const fromCsr = new Uint8Array(6);
    for (let i = 0; i < 3; i++) {
      const v = this.readCsr(12 + i);
      fromCsr[2 * i] = v & 0xff;
      fromCsr[2 * i + 1] = v >> 8;
    }
    const prom = new Uint8Array(6);
    for (let i = 0; i < 6; i++) prom[i] = this.io.read(this.base + i, 1);
    this.mac = prom.every((b, i) => b === fromCsr[i]) ? fromCsr : prom;
    this.writeInitBlock(0x0003);
    this.writeBcr(20, this.swstyle === 2 ? 2 : 0);
    this.writeCsr(1, this.initBlock & 0xffff);
    this.writeCsr(2, this.initBlock >>> 16);
    this.writeBcr(2, this.readBcr(2) | 0x1000);
    return this.mac;
  }

  private writeInitBlock(mode: number): void {
    const m = this.memory;
    const ib = this.initBlock;
    if (this.swstyle === 2) {
      m.write16(ib, mode);
      m.write16(ib + 2, (this.txLenBits << 12) | (this.rxLenBits << 4));
      m.writeBytes(ib + 4, this.mac);
      m.write16(ib + 10, 0);
      m.write32(ib + 12, 0);
      m.write32(ib + 16, 0);
      m.write32(ib + 20, this.rxRing);
      m.write32(ib + 24, this.txRing);
    } else {
      m.write16(ib, mode);
      m.writeBytes(ib + 2, this.mac);
      m.fill(ib + 8, 8, 0);
      m.write16(ib + 16, this.rxRing & 0xffff);
      m.write8(ib + 18, (this.rxRing >>> 16) & 0xff);
      m.write8(ib + 19, this.rxLenBits << 5);
      m.write16(ib + 20, this.txRing & 0xffff);
      m.write8(ib + 22, (this.txRing >>> 16) & 0xff);
      m.write8(ib + 23, this.txLenBits << 5);
    }
  }

  /** pcnet32_init_ring: every RX descriptor owned by the chip, TX descriptors empty. */
  initRing(): void {
    this.curRx = 0;
    this.curTx = 0;
    this.dirtyTx = 0;
    for (let i = 0; i < this.rxSize; i++) this.giveRx(i);
    for (let i = 0; i < this.txSize; i++) this.writeTxDesc(i, 0, 0, 0);
  }

  /** pcnet32_open. */
  open(): void {
    this.reset();
    this.writeBcr(20, this.swstyle === 2 ? 2 : 0);
    this.writeBcr(2, this.readBcr(2) & ~2);
    this.writeCsr(124, this.readCsr(124) & ~0x10);
    this.writeInitBlock(0);
    this.initRing();
    this.writeCsr(1, this.initBlock & 0xffff);
    this.writeCsr(2, this.initBlock >>> 16);
    this.writeCsr(4, 0x0915);
    this.writeCsr(CSR0, CSR0_INIT);
    let i = 0;
    while (i++ < 100) if (this.readCsr(CSR0) & CSR0_IDON) break;
    if (i > 100) throw new Pcnet32DriverError("no IDON after INIT");
    if (this.readBcr(4) === 0xc0) throw new Pcnet32DriverError("link down (BCR4 = 0xc0)");
    this.writeCsr(CSR0, CSR0_NORMAL);
  }

  // ---- descriptors ----

  rxDescAddr(i: number): number {
    return this.rxRing + i * this.descSize;
  }

  txDescAddr(i: number): number {
    return this.txRing + i * this.descSize;
  }

  /** Hand RX descriptor `i` to the chip (buffer length, then OWN last). */
  giveRx(i: number): void {
    const m = this.memory;
    const a = this.rxDescAddr(i);
    const buf = this.rxBuffers + i * this.bufSize;
    if (this.swstyle === 2) {
      m.write32(a, buf);
      m.write16(a + 4, -this.bufSize & 0xffff);
      m.write32(a + 8, 0);
      m.write16(a + 6, 0x8000);
    } else {
      m.write16(a, buf & 0xffff);
      m.write8(a + 2, (buf >>> 16) & 0xff);
      m.write16(a + 4, -this.bufSize & 0xffff);
      m.write16(a + 6, 0);
      m.write8(a + 3, 0x80);
    }
  }

  /** Status of RX descriptor `i` in the 16-bit form. */
  rxStatus(i: number): number {
    const a = this.rxDescAddr(i);
    return this.swstyle === 2 ? this.memory.read16(a + 6) : this.memory.read8(a + 3) << 8;
  }

  rxMessageLength(i: number): number {
    const a = this.rxDescAddr(i);
    return (this.swstyle === 2 ? this.memory.read32(a + 8) : this.memory.read16(a + 6)) & 0xfff;
  }

  txStatus(i: number): number {
    const a = this.txDescAddr(i);
    return this.swstyle === 2 ? this.memory.read16(a + 6) : this.memory.read8(a + 3) << 8;
  }

  /** TMD2 (style 2) / TMD3 << 16 (style 0): the error bits. */
  txMisc(i: number): number {
    const a = this.txDescAddr(i);
    return this.swstyle === 2 ? this.memory.read32(a + 8) >>> 0 : (this.memory.read16(a + 6) << 16) >>> 0;
  }

  /** Write TX descriptor `i`: buffer, length, misc 0, then status (OWN) last. */
  writeTxDesc(i: number, buf: number, len: number, status: number): void {
    const m = this.memory;
    const a = this.txDescAddr(i);
    if (this.swstyle === 2) {
      m.write32(a, buf);
      m.write16(a + 4, -len & 0xffff);
      m.write32(a + 8, 0);
      m.write16(a + 6, status);
    } else {
      m.write16(a, buf & 0xffff);
      m.write8(a + 2, (buf >>> 16) & 0xff);
      m.write16(a + 4, -len & 0xffff);
      m.write16(a + 6, 0);
      m.write8(a + 3, status >> 8);
    }
  }

  // ---- data path ----

  /** pcnet32_start_xmit: one STP|ENP descriptor, OWN last, then TDMD with INEA. */
  transmit(frame: Uint8Array): void {
    const entry = this.curTx & (this.txSize - 1);
    const buf = this.txBuffers + entry * this.bufSize;
    this.memory.writeBytes(buf, frame);
    this.writeTxDesc(entry, buf, frame.length, 0x8300);
    this.curTx++;
    this.writeCsr(CSR0, CSR0_INTEN | CSR0_TXPOLL);
  }

  /** pcnet32_rx: take every descriptor the chip handed back. */
  rx(): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (let guard = 0; guard < this.rxSize; guard++) {
      const entry = this.curRx & (this.rxSize - 1);
      const status = this.rxStatus(entry);
      if (status & 0x8000) break;
      if (status >> 8 !== 0x03) {
        this.stats.rxErrors++;
      } else {
        const pktLen = this.rxMessageLength(entry) - 4;
        if (pktLen < 60) {
          this.stats.runts++;
          this.stats.rxErrors++;
        } else {
          frames.push(this.memory.readBytes(this.rxBuffers + entry * this.bufSize, pktLen));
        }
      }
      this.giveRx(entry);
      this.curRx++;
    }
    return frames;
  }

  /** pcnet32_tx: reclaim finished descriptors; true when the chip must be restarted. */
  tx(): boolean {
    let mustRestart = false;
    while (this.dirtyTx !== this.curTx) {
      const entry = this.dirtyTx & (this.txSize - 1);
      const status = this.txStatus(entry);
      if (status & 0x8000) break;
      if (status & 0x4000) {
        this.stats.txErrors++;
        if (this.txMisc(entry) & 0x40000000) mustRestart = true;
      }
      this.dirtyTx++;
    }
    return mustRestart;
  }

  /** pcnet32_interrupt + pcnet32_poll: ack, mask, poll, unmask. Returns received frames. */
  interrupt(): Uint8Array[] {
    this.stats.interrupts++;
    const frames: Uint8Array[] = [];
    let csr0 = this.readCsr(CSR0);
    let bogus = 8;
    while (csr0 & 0x8f00 && --bogus >= 0) {
      this.writeCsr(CSR0, csr0 & ~0x004f);
      if (csr0 & 0x1000) this.stats.missed++;
      this.writeCsr(CSR3, this.readCsr(CSR3) | 0x5f00);
      frames.push(...this.rx());
      if (this.tx()) {
        this.reset();
        this.open();
        return frames;
      }
      this.writeCsr(CSR3, this.readCsr(CSR3) & 0x00ff);
      this.writeCsr(CSR0, CSR0_INTEN);
      csr0 = this.readCsr(CSR0);
    }
    return frames;
  }

  /** pcnet32_set_multicast_list under suspend: promiscuous flag, then the LADRF. */
  setFilter(promisc: boolean, ladrf: readonly number[] = [0, 0, 0, 0]): void {
    const csr5 = this.readCsr(CSR5);
    this.writeCsr(CSR5, csr5 | CSR5_SUSPEND);
    let ticks = 0;
    while (!(this.readCsr(CSR5) & CSR5_SUSPEND)) {
      if (++ticks > 200) throw new Pcnet32DriverError("error getting into suspend");
    }
    const csr15 = this.readCsr(CSR15);
    if (promisc) this.writeCsr(CSR15, csr15 | 0x8000);
    else {
      this.writeCsr(CSR15, csr15 & 0x7fff);
      for (let i = 0; i < 4; i++) this.writeCsr(8 + i, ladrf[i] ?? 0);
    }
    this.writeCsr(CSR5, this.readCsr(CSR5) & ~CSR5_SUSPEND);
  }
}
