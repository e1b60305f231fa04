/**
 * Intel 82540EM Gigabit Ethernet controller ("e1000"), as driven by the stock Linux `e1000`
 * driver (PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual, "8254x
 * SDM"; register map in registers.ts, EEPROM in eeprom.ts, PHY in phy.ts).
 *
 * PCI function: 8086:100E, class 020000h, subsystem 8086:001E, INTA#. BAR0 is the 128 KiB
 * register window; BAR1 is the 8-byte I/O window (IOADDR at 0, IODATA at 4; SDM 13.2), which
 * Linux needs: e1000_reset_hw issues CTRL.RST through it on the 82540.
 *
 * Transmit (SDM 3.3): legacy descriptors (with the legacy IC/CSS/CSO checksum), extended context
 * descriptors (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE, TUCMD, PAYLEN, HDRLEN, MSS) and extended
 * data descriptors (POPTS IXSM/TXSM, TSE). Linux enables NETIF_F_HW_CSUM, NETIF_F_SG and
 * NETIF_F_TSO on every MAC >= 82544 except the 82547, so the 82540 gets TSO: it is implemented
 * (IPv4 and IPv6 headers, TCP; the driver seeds the TCP checksum field with the pseudo-header
 * sum without the length, the device adds each segment's length, SDM 3.5.4). Descriptors are
 * gathered until EOP; VLAN insertion (VLE with CTRL.VME); short frames padded to 60 bytes when
 * TCTL.PSP is set (frames handed to the backend carry no FCS, src/net/backend.ts). DD is written
 * back to every descriptor with RS (Linux sets RS on the last descriptor of each packet and polls
 * DD there); TXDW is delayed by TIDV/TADV when the descriptor has IDE; TXQE when the ring drains.
 *
 * Receive (SDM 3.2): legacy descriptors; buffer size from RCTL.BSIZE/BSEX; a frame longer than
 * one buffer spans descriptors with EOP on the last. Address filtering: the 16 exact filters
 * (RAL/RAH with AV; Linux puts multicast addresses there too), the 4096-bit multicast hash (MTA,
 * RCTL.MO), RCTL.UPE/MPE/BAM; VLAN filtering (RCTL.VFE, VFTA) and stripping (CTRL.VME).
 * Frames shorter than 60 bytes are padded as on the wire. The FCS: real hardware stores the
 * 4 CRC bytes and counts them in the descriptor length unless RCTL.SECRC is set, and the Linux
 * driver never sets SECRC and subtracts 4 from every length (e1000_clean_rx_irq), so with SECRC
 * clear the model appends the real CRC-32 and reports length + 4. Status: DD, EOP, IXSM (the
 * model does not verify receive checksums; IXSM tells the driver to leave them to the stack).
 * No free descriptor: the frame is dropped (RXO cause, MPC and RNBC counters, "rx:dropped").
 *
 * Interrupts (SDM 13.4.17-13.4.21): ICR is read-to-clear; ICS sets causes; IMS/IMC mask; INTx#
 * is the level of (ICR & IMS) != 0. Mitigation (SDM 3.2.7, 3.3.8, 13.4.18): RDTR (packet timer,
 * restarted by each frame) and RADV (absolute timer) delay RXT0; TIDV/TADV likewise delay TXDW for
 * IDE descriptors; ITR spaces interrupt assertions by at least ITR x 256 ns. Timers are Scheduler
 * timers on virtual time. With `mitigation: false` all of these are ignored and every cause
 * interrupts at once (paper 000's comparison).
 *
 * The guest is hostile: every ring base/length is checked to lie inside RAM before use (else the
 * ring stops: "error:ring-out-of-ram"), RDLEN/TDLEN are 128-byte multiples, head/tail writes beyond
 * the ring are ignored and counted, buffer addresses and lengths are checked, a TX frame over
 * 16 KiB (TSO: 64 KiB + headers) or over the ring's descriptor count is dropped and counted, and
 * each doorbell walks at most the ring's length. DMA happens only with PCI bus mastering enabled.
 * Guest memory is touched only through GuestMemory's checked API; no guest value throws.
 *
 * Not modelled: the on-chip packet buffer FIFOs (frames move instantly), flow control frames,
 * loopback modes, wake-up filters, receive checksum verification, 64-bit (PCI-X) addressing
 * beyond 4 GiB (addresses above RAM are rejected), the flash BAR, EEPROM writes.
 */

import type { AccessWidth, BusDevice } from "../../bus/device.js";
import { WIDTH_32 } from "../../bus/device.js";
import { type GuestMemory, GuestMemoryError } from "../../memory/guest-memory.js";
import type { NetBackend } from "../../net/backend.js";
import type { Clock } from "../../time/clock.js";
import type { Scheduler, Timer } from "../../time/scheduler.js";
import { DeviceStats } from "../device-stats.js";
import { CMD_MASTER, PciDevice } from "../pci/pci-device.js";
import { buildEepromImage, MicrowireEeprom } from "./eeprom.js";
import { crc32, fold16, get16be, get32be, onesSum, put16be, put32be } from "./frame-util.js";
import { M88Phy, PHY_ADDRESS } from "./phy.js";
import * as R from "./registers.js";

export const E1000_VENDOR_ID = 0x8086;
export const E1000_DEVICE_ID = 0x100e;
export const E1000_SUBSYSTEM_VENDOR_ID = 0x8086;
export const E1000_SUBSYSTEM_ID = 0x001e;

/** Largest non-TSO frame accepted for transmit (no FCS). Jumbo frames beyond this are not supported. */
export const TX_FRAME_MAX = 16 * 1024;
/** Largest TSO payload + headers gathered before segmentation (Linux's GSO limit is 64 KiB). */
export const TSO_FRAME_MAX = 64 * 1024 + 256;
/** Most segments one TSO packet may produce (bounds the work of one doorbell). */
export const TSO_MAX_SEGMENTS = 4096;
/** Largest receive frame with LPE set (no FCS). */
const RX_FRAME_MAX = 16 * 1024;
const MIN_FRAME = 60;
const FCS_LEN = 4;
const UNIT_1024NS = 1024;
const UNIT_256NS = 256;

/** Power-on CTRL: full duplex, auto-speed detection, link up (as loaded from the EEPROM's ICW1). */
const CTRL_DEFAULT = R.CTRL_FD | R.CTRL_ASDE | R.CTRL_SLU;
/** 48 KiB receive / 16 KiB transmit packet buffer (SDM 13.4.23). */
const PBA_DEFAULT = 0x0010_0030;
const LEDCTL_DEFAULT = 0x0706_8302;

export interface E1000Options {
  readonly memory: GuestMemory;
  readonly backend: NetBackend;
  /** Station address: "52:54:00:12:34:56" or six bytes. */
  readonly mac: string | Uint8Array | readonly number[];
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Interrupt mitigation (ITR, RDTR/RADV, TIDV/TADV). false: every cause interrupts at once. Default true. */
  readonly mitigation?: boolean;
  /** Device name for reports (default "e1000"). */
  readonly name?: string;
}

export class E1000ConfigError extends Error {
  override readonly name = "E1000ConfigError";
}

/** Parse a MAC address given as "aa:bb:cc:dd:ee:ff" (or '-' separated) or six bytes. */
export function parseMac(mac: string | Uint8Array | readonly number[]): Uint8Array {
  let bytes: number[];
  if (typeof mac === "string") {
    const parts = mac.split(/[:-]/);
    bytes = parts.map((p) => (/^[0-9a-fA-F]{1,2}$/.test(p) ? Number.parseInt(p, 16) : Number.NaN));
  } else {
    bytes = Array.from(mac);
  }
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) {
    throw new E1000ConfigError(`invalid MAC address ${String(mac)}`);
  }
  if ((bytes[0]! & 1) !== 0) throw new E1000ConfigError(`MAC address ${String(mac)} is a multicast address`);
  return Uint8Array.from(bytes);
}

/** BAR0: the register window. */
class RegisterWindow implements BusDevice {
  readonly widths = WIDTH_32;
  constructor(
    readonly name: string,
    private readonly nic: E1000,
  ) {}
  read(offset: number, _width: AccessWidth): number {
    return this.nic.mmioRead(offset);
  }
  write(offset: number, _width: AccessWidth, value: number): void {
    this.nic.mmioWrite(offset, value);
  }
}

/** BAR1: IOADDR/IODATA. */
class IoWindow implements BusDevice {
  readonly widths = WIDTH_32;
  constructor(
    readonly name: string,
    private readonly nic: E1000,
  ) {}
  read(offset: number, _width: AccessWidth): number {
    return this.nic.ioRead(offset);
  }
  write(offset: number, _width: AccessWidth, value: number): void {
    this.nic.ioWrite(offset, value);
  }
}

export class E1000 extends PciDevice {
  readonly stats: DeviceStats;
  readonly mac: Uint8Array;
  readonly mitigation: boolean;
  readonly eeprom: MicrowireEeprom;
  readonly phy = new M88Phy();

  private readonly memory: GuestMemory;
  private readonly backend: NetBackend;
  private readonly clock: Clock;
  /** Register storage, one dword per 4-byte offset of BAR0. */
  private readonly regs = new Uint32Array(R.MMIO_SIZE >>> 2);
  private icr = 0;
  private ims = 0;
  private ioaddr = 0;
  /** INTx# as this device drives it. */
  private line = false;
  /** Earliest virtual time the next assertion may happen under ITR. */
  private nextAssertNs = 0;
  /** MAC-level link (PHY link and CTRL.SLU) last reported, to raise LSC on changes. */
  private linkReported = false;
  private txHalted = false;
  private rxHalted = false;

  private readonly itrTimer: Timer;
  private readonly rxPacketTimer: Timer;
  private readonly rxAbsTimer: Timer;
  private readonly txPacketTimer: Timer;
  private readonly txAbsTimer: Timer;

  // Transmit context (last context descriptor, SDM 3.3.6).
  private ctxIpcss = 0;
  private ctxIpcso = 0;
  private ctxIpcse = 0;
  private ctxTucss = 0;
  private ctxTucso = 0;
  private ctxTucse = 0;
  private ctxTucmd = 0;
  private ctxHdrLen = 0;
  private ctxMss = 0;

  // The packet being gathered (descriptors up to EOP).
  private readonly txBuf = new Uint8Array(TSO_FRAME_MAX);
  private txLen = 0;
  private txDescs = 0;
  private txBad = false;
  private txExtended = false;
  private txTse = false;
  private txPopts = 0;

  /** Receive staging: the frame as written to guest buffers (VLAN stripped, padded, FCS). */
  private readonly rxBuf = new Uint8Array(RX_FRAME_MAX + 64);

  constructor(options: E1000Options) {
    const name = options.name ?? "e1000";
    super(name, {
      vendorId: E1000_VENDOR_ID,
      deviceId: E1000_DEVICE_ID,
      classCode: 0x020000,
      revision: 0x02,
      subsystemVendorId: E1000_SUBSYSTEM_VENDOR_ID,
      subsystemId: E1000_SUBSYSTEM_ID,
      interruptPin: 1,
    });
    this.memory = options.memory;
    this.backend = options.backend;
    this.clock = options.clock;
    this.mac = parseMac(options.mac);
    this.mitigation = options.mitigation ?? true;
    this.stats = new DeviceStats(name);
    this.eeprom = new MicrowireEeprom(
      buildEepromImage(this.mac, {
        vendorId: E1000_VENDOR_ID,
        deviceId: E1000_DEVICE_ID,
        subsystemVendorId: E1000_SUBSYSTEM_VENDOR_ID,
        subsystemId: E1000_SUBSYSTEM_ID,
      }),
    );
    const s = options.scheduler;
    this.itrTimer = s.createTimer(`${name}:itr`, (now) => this.updateIrq(now));
    this.rxPacketTimer = s.createTimer(`${name}:rdtr`, () => this.rxTimerFired());
    this.rxAbsTimer = s.createTimer(`${name}:radv`, () => this.rxTimerFired());
    this.txPacketTimer = s.createTimer(`${name}:tidv`, () => this.txTimerFired());
    this.txAbsTimer = s.createTimer(`${name}:tadv`, () => this.txTimerFired());
    this.defineBar(0, { kind: "mem", size: R.MMIO_SIZE, device: new RegisterWindow(`${name}-mmio`, this) });
    this.defineBar(1, { kind: "io", size: R.IO_SIZE, device: new IoWindow(`${name}-io`, this) });
    this.resetMac();
    this.backend.setReceiver((frame) => this.receive(frame));
  }

  /** Host side: plug or unplug the cable (raises LSC when the MAC-level link changes). */
  setLinkUp(up: boolean): void {
    this.phy.setCable(up);
    this.checkLink();
  }

  /** The MAC-level link as STATUS.LU reports it. */
  get linkUp(): boolean {
    return this.phy.linkUp && (this.regs[R.CTRL >>> 2]! & R.CTRL_SLU) !== 0;
  }

  /** INTx# level this device drives (before the PCI command register's interrupt disable). */
  get interruptLine(): boolean {
    return this.line;
  }

  // ---------------------------------------------------------------- register access

  /** A 32-bit read of BAR0 at `offset`. */
  mmioRead(offset: number): number {
    if ((offset & 3) !== 0) this.stats.count("error:unaligned-access");
    return this.readReg(offset & (R.MMIO_SIZE - 4));
  }

  /** A 32-bit write of BAR0 at `offset`. */
  mmioWrite(offset: number, value: number): void {
    if ((offset & 3) !== 0) this.stats.count("error:unaligned-access");
    this.writeReg(offset & (R.MMIO_SIZE - 4), value >>> 0);
  }

  /** A 32-bit read of BAR1: IOADDR (0) or IODATA (4). */
  ioRead(offset: number): number {
    if (offset === R.IOADDR) {
      this.stats.count("read:IOADDR");
      return this.ioaddr;
    }
    if (offset === R.IODATA) {
      this.stats.count("read:IODATA");
      return this.readReg(this.ioaddr);
    }
    this.stats.count("error:io-window-offset");
    return 0xffffffff;
  }

  ioWrite(offset: number, value: number): void {
    if (offset === R.IOADDR) {
      this.stats.count("write:IOADDR");
      // Bits 16:2 address a register; others are reserved (SDM 13.2.1).
      this.ioaddr = value & (R.MMIO_SIZE - 4);
      return;
    }
    if (offset === R.IODATA) {
      this.stats.count("write:IODATA");
      this.writeReg(this.ioaddr, value >>> 0);
      return;
    }
    this.stats.count("error:io-window-offset");
  }

  private reg(off: number): number {
    return this.regs[off >>> 2]!;
  }

  private setReg(off: number, v: number): void {
    this.regs[off >>> 2] = v;
  }

  private readReg(off: number): number {
    const key = R.READ_KEYS[off >>> 2];
    if (key === undefined) {
      this.stats.count(`read:unknown@0x${off.toString(16).padStart(4, "0")}`);
      return 0;
    }
    this.stats.count(key);
    switch (off) {
      case R.STATUS:
        return this.status();
      case R.EECD:
        return this.eeprom.readEecd();
      case R.EERD:
        return this.eeprom.readEerd();
      case R.ICR: {
        const v = this.icr;
        this.icr = 0;
        this.updateIrq(this.clock.nowNs());
        return v >>> 0;
      }
      case R.IMS:
        return this.ims >>> 0;
      case R.ICS:
      case R.IMC:
        return 0; // write-only
      default:
        break;
    }
    if (off >= R.STATS_BASE && off < R.STATS_END) return this.readStat(off);
    return this.reg(off) >>> 0;
  }

  private writeReg(off: number, value: number): void {
    const key = R.WRITE_KEYS[off >>> 2];
    if (key === undefined) {
      this.stats.count(`write:unknown@0x${off.toString(16).padStart(4, "0")}`);
      return;
    }
    this.stats.count(key);
    switch (off) {
      case R.CTRL:
        this.writeCtrl(value);
        return;
      case R.STATUS:
        return; // read-only
      case R.EECD:
        this.eeprom.writeEecd(value);
        return;
      case R.EERD:
        this.eeprom.writeEerd(value);
        return;
      case R.MDIC:
        this.writeMdic(value);
        return;
      case R.ICR:
        this.icr &= ~value; // write 1 to clear
        this.updateIrq(this.clock.nowNs());
        return;
      case R.ICS:
        this.raise(value & R.INT_VALID_MASK);
        return;
      case R.IMS:
        this.ims |= value & R.INT_VALID_MASK;
        this.updateIrq(this.clock.nowNs());
        return;
      case R.IMC:
        this.ims &= ~value;
        this.updateIrq(this.clock.nowNs());
        return;
      case R.ITR:
      case R.RADV:
      case R.TADV:
      case R.VET:
        this.setReg(off, value & 0xffff);
        return;
      case R.RDTR:
      case R.TIDV:
        this.setReg(off, value & 0xffff);
        if ((value & R.DELAY_FPD) !== 0) {
          if (off === R.RDTR) this.flushTimer(this.rxPacketTimer, this.rxAbsTimer, R.INT_RXT0);
          else this.flushTimer(this.txPacketTimer, this.txAbsTimer, R.INT_TXDW);
        }
        return;
      case R.RCTL:
        if ((value & R.RCTL_EN) !== 0 && (this.reg(R.RCTL) & R.RCTL_EN) === 0) this.rxHalted = false;
        this.setReg(off, value);
        return;
      case R.TCTL:
        this.setReg(off, value);
        if ((value & R.TCTL_EN) !== 0) this.processTx();
        return;
      case R.RDBAL:
      case R.TDBAL:
        this.setReg(off, value & ~0xf); // 16-byte aligned (SDM 13.4.25)
        this.unhalt(off);
        return;
      case R.RDBAH:
      case R.TDBAH:
        this.setReg(off, value);
        this.unhalt(off);
        return;
      case R.RDLEN:
      case R.TDLEN:
        if ((value & ~R.RING_LEN_MASK) !== 0) this.stats.count("error:ring-length-not-128-multiple");
        this.setReg(off, value & R.RING_LEN_MASK);
        this.unhalt(off);
        return;
      case R.RDH:
      case R.TDH:
        if (this.writeIndex(off, value, off === R.RDH ? R.RDLEN : R.TDLEN, "error:head-beyond-ring"))
          this.unhalt(off);
        return;
      case R.RDT:
        this.stats.count("kick:rx");
        this.writeIndex(off, value, R.RDLEN, "error:tail-beyond-ring");
        return;
      case R.TDT:
        this.stats.count("kick:tx");
        if (this.writeIndex(off, value, R.TDLEN, "error:tail-beyond-ring")) this.processTx();
        return;
      default:
        break;
    }
    if (off >= R.STATS_BASE && off < R.STATS_END) return; // counters are read-only
    this.setReg(off, value);
  }

  private unhalt(off: number): void {
    if (off >= R.TDBAL) this.txHalted = false;
    else this.rxHalted = false;
  }

  /** Head/tail write: a value outside the ring is ignored and counted. Returns true when stored. */
  private writeIndex(off: number, value: number, lenReg: number, error: string): boolean {
    const count = this.reg(lenReg) >>> 4;
    const v = value & 0xffff;
    if (value >>> 16 !== 0 || (v !== 0 && v >= count)) {
      this.stats.count(error);
      return false;
    }
    this.setReg(off, v);
    return true;
  }

  private status(): number {
    let s = R.STATUS_FD | R.STATUS_SPEED_1000 | R.STATUS_ASDV_1000;
    if (this.linkUp) s |= R.STATUS_LU;
    return s >>> 0;
  }

  private writeCtrl(value: number): void {
    if ((value & R.CTRL_RST) !== 0) {
      // Global reset: self-clearing, the rest of this write is lost (SDM 13.4.1).
      this.stats.count("reset");
      this.resetMac();
      return;
    }
    const old = this.reg(R.CTRL);
    if ((value & R.CTRL_PHY_RST) !== 0 && (old & R.CTRL_PHY_RST) === 0) this.phy.reset();
    this.setReg(R.CTRL, value);
    this.checkLink();
  }

  private writeMdic(value: number): void {
    const reg = (value >>> R.MDIC_REG_SHIFT) & 31;
    const phyAddr = (value >>> R.MDIC_PHY_SHIFT) & 31;
    const op = value & (3 << 26);
    let result = value & ~(R.MDIC_READY | R.MDIC_ERROR);
    if (phyAddr !== PHY_ADDRESS) {
      result |= R.MDIC_ERROR; // no PHY answers at that address
    } else if (op === R.MDIC_OP_READ) {
      this.stats.count("mdio:read");
      result = (result & ~R.MDIC_DATA_MASK) | this.phy.read(reg);
    } else if (op === R.MDIC_OP_WRITE) {
      this.stats.count("mdio:write");
      this.phy.write(reg, value & R.MDIC_DATA_MASK);
    } else {
      result |= R.MDIC_ERROR;
    }
    this.setReg(R.MDIC, (result | R.MDIC_READY) >>> 0);
    if ((value & R.MDIC_INT_EN) !== 0) this.raise(R.INT_MDAC);
    this.checkLink();
  }

  private checkLink(): void {
    const up = this.linkUp;
    if (up === this.linkReported) return;
    this.linkReported = up;
    this.stats.count(up ? "link:up" : "link:down");
    this.raise(R.INT_LSC);
  }

  /** Power-on and CTRL.RST state (SDM 13.3 initial values). The PHY and PCI configuration are kept. */
  private resetMac(): void {
    this.regs.fill(0);
    this.setReg(R.CTRL, CTRL_DEFAULT);
    this.setReg(R.PBA, PBA_DEFAULT);
    this.setReg(R.LEDCTL, LEDCTL_DEFAULT);
    this.setReg(R.VET, 0x8100);
    this.setReg(R.TCTL, R.TCTL_PSP);
    // The EEPROM's station address is loaded into RAR0 with Address Valid (SDM 5.6.1).
    const m = this.mac;
    this.setReg(R.RA_BASE, (m[0]! | (m[1]! << 8) | (m[2]! << 16) | (m[3]! << 24)) >>> 0);
    this.setReg(R.RA_BASE + 4, (m[4]! | (m[5]! << 8) | R.RAH_AV) >>> 0);
    this.icr = 0;
    this.ims = 0;
    this.itrTimer.cancel();
    this.rxPacketTimer.cancel();
    this.rxAbsTimer.cancel();
    this.txPacketTimer.cancel();
    this.txAbsTimer.cancel();
    this.nextAssertNs = 0;
    this.txHalted = false;
    this.rxHalted = false;
    this.ctxIpcss = this.ctxIpcso = this.ctxIpcse = 0;
    this.ctxTucss = this.ctxTucso = this.ctxTucse = 0;
    this.ctxTucmd = this.ctxHdrLen = this.ctxMss = 0;
    this.resetTxFrame();
    this.eeprom.reset();
    this.linkReported = this.linkUp;
    this.setLine(false);
  }

  // ---------------------------------------------------------------- statistics registers

  private readStat(off: number): number {
    const i = off >>> 2;
    const v = this.regs[i]! >>> 0;
    if (R.STAT_LOW_HALVES.has(off)) return v;
    this.regs[i] = 0;
    if (R.STAT_LOW_HALVES.has(off - 4)) this.regs[i - 1] = 0; // high half read clears the pair
    return v;
  }

  private addStat(off: number, n: number): void {
    const i = off >>> 2;
    this.regs[i] = (this.regs[i]! + n) >>> 0;
  }

  private addStat64(lowOff: number, n: number): void {
    const i = lowOff >>> 2;
    const sum = this.regs[i]! + n;
    this.regs[i] = sum >>> 0;
    if (sum > 0xffffffff) this.regs[i + 1] = (this.regs[i + 1]! + 1) >>> 0;
  }

  /** PRC64..PRC1522 / PTC64..PTC1522 bins by length including the FCS. */
  private sizeBin(base: number, len: number): void {
    const bin =
      len <= 64
        ? 0
        : len <= 127
          ? 1
          : len <= 255
            ? 2
            : len <= 511
              ? 3
              : len <= 1023
                ? 4
                : len <= 1522
                  ? 5
                  : -1;
    if (bin >= 0) this.addStat(base + 4 * bin, 1);
  }

  // ---------------------------------------------------------------- interrupts

  private setLine(level: boolean): void {
    if (level === this.line) return;
    this.line = level;
    this.stats.count(level ? "irq:raised" : "irq:lowered");
    this.setIntx(level);
  }

  /** Set interrupt causes in ICR and re-evaluate the line. */
  private raise(causes: number): void {
    if (causes === 0) return;
    this.icr |= causes;
    this.updateIrq(this.clock.nowNs());
  }

  /** INTx# = (ICR & IMS) != 0, with assertions spaced by ITR when mitigation is on. */
  private updateIrq(now: number): void {
    if ((this.icr & this.ims) === 0) {
      this.itrTimer.cancel();
      this.setLine(false);
      return;
    }
    if (this.line) return;
    const itr = this.reg(R.ITR);
    if (this.mitigation && itr !== 0 && now < this.nextAssertNs) {
      if (!this.itrTimer.pending) {
        this.stats.count("irq:throttled");
        this.itrTimer.schedule(this.nextAssertNs);
      }
      return;
    }
    this.itrTimer.cancel();
    this.nextAssertNs = now + itr * UNIT_256NS;
    this.setLine(true);
  }

  /** A receive or transmit delay timer expired: post its cause, cancel its partner. */
  private rxTimerFired(): void {
    this.rxPacketTimer.cancel();
    this.rxAbsTimer.cancel();
    this.raise(R.INT_RXT0);
  }

  private txTimerFired(): void {
    this.txPacketTimer.cancel();
    this.txAbsTimer.cancel();
    this.raise(R.INT_TXDW);
  }

  private flushTimer(packet: Timer, abs: Timer, cause: number): void {
    if (!packet.pending && !abs.pending) return;
    packet.cancel();
    abs.cancel();
    this.raise(cause);
  }

  /**
   * Delayed-interrupt timers (SDM 3.2.7.1, 3.3.8.1): the packet timer restarts on every event;
   * the absolute timer starts with the first event and is not restarted. 0 disables a timer;
   * with both 0 (or mitigation off) the cause is posted at once. Units of 1.024 us.
   */
  private delayCause(packetReg: number, absReg: number, packet: Timer, abs: Timer, cause: number): void {
    const pd = this.reg(packetReg);
    const ad = this.reg(absReg);
    if (!this.mitigation || pd === 0) {
      packet.cancel();
      abs.cancel();
      this.raise(cause);
      return;
    }
    const now = this.clock.nowNs();
    packet.schedule(now + pd * UNIT_1024NS);
    if (ad !== 0 && !abs.pending) abs.schedule(now + ad * UNIT_1024NS);
  }

  private busMaster(): boolean {
    return (this.command & CMD_MASTER) !== 0;
  }

  private ringBase(lo: number, hi: number): number {
    // 64-bit base: any high dword puts the ring above 4 GiB, outside RAM.
    return this.reg(hi) !== 0 ? Number.POSITIVE_INFINITY : this.reg(lo);
  }

  // ---------------------------------------------------------------- transmit

  private resetTxFrame(): void {
    this.txLen = 0;
    this.txDescs = 0;
    this.txBad = false;
    this.txExtended = false;
    this.txTse = false;
    this.txPopts = 0;
  }

  /** Walk the transmit ring from TDH to TDT (at most the ring's length per doorbell). */
  private processTx(): void {
    if ((this.reg(R.TCTL) & R.TCTL_EN) === 0 || this.txHalted) return;
    const count = this.reg(R.TDLEN) >>> 4;
    let head = this.reg(R.TDH);
    const tail = this.reg(R.TDT);
    if (count === 0 || head === tail) return;
    if (!this.busMaster()) {
      this.stats.count("error:dma-without-bus-master");
      return;
    }
    if (head >= count || tail >= count) {
      this.stats.count("error:index-beyond-ring");
      this.txHalted = true;
      return;
    }
    const base = this.ringBase(R.TDBAL, R.TDBAH);
    if (!this.memory.contains(base, count * R.DESC_SIZE)) {
      this.stats.count("error:ring-out-of-ram");
      this.txHalted = true;
      return;
    }
    let immediate = false;
    let delayed = false;
    let budget = count;
    try {
      while (head !== tail && budget-- > 0) {
        const d = base + head * R.DESC_SIZE;
        const lo = this.memory.read32(d) >>> 0;
        const hi = this.memory.read32(d + 4) >>> 0;
        const lower = this.memory.read32(d + 8) >>> 0;
        const upper = this.memory.read32(d + 12) >>> 0;
        this.stats.count("dma:read-bytes", R.DESC_SIZE);
        const cmd = lower >>> 24;
        this.txDescriptor(lo, hi, lower, upper, count);
        if ((cmd & R.TXD_CMD_RS) !== 0) {
          this.memory.write8(d + 12, (upper & 0xf0) | R.TXD_STAT_DD);
          this.stats.count("dma:write-bytes", 1);
          if ((cmd & R.TXD_CMD_IDE) !== 0) delayed = true;
          else immediate = true;
        }
        head = head + 1 === count ? 0 : head + 1;
        this.setReg(R.TDH, head);
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.stats.count("error:dma");
      this.txHalted = true;
    }
    let causes = 0;
    if (immediate) {
      this.txPacketTimer.cancel();
      this.txAbsTimer.cancel();
      causes |= R.INT_TXDW;
    } else if (delayed) {
      this.delayCause(R.TIDV, R.TADV, this.txPacketTimer, this.txAbsTimer, R.INT_TXDW);
    }
    if (head === tail) causes |= R.INT_TXQE;
    this.raise(causes);
  }

  private txDescriptor(lo: number, hi: number, lower: number, upper: number, ringCount: number): void {
    const cmd = lower >>> 24;
    if ((cmd & R.TXD_CMD_DEXT) !== 0) {
      const dtyp = (lower >>> 20) & 0xf;
      if (dtyp === R.TXD_DTYP_CONTEXT) {
        this.ctxIpcss = lo & 0xff;
        this.ctxIpcso = (lo >>> 8) & 0xff;
        this.ctxIpcse = lo >>> 16;
        this.ctxTucss = hi & 0xff;
        this.ctxTucso = (hi >>> 8) & 0xff;
        this.ctxTucse = hi >>> 16;
        this.ctxTucmd = cmd;
        this.ctxHdrLen = (upper >>> 8) & 0xff;
        this.ctxMss = upper >>> 16;
        this.stats.count("tx:context");
        return;
      }
      if (dtyp !== R.TXD_DTYP_DATA) {
        this.stats.count("error:tx-descriptor-type");
        return;
      }
      if (this.txDescs === 0) {
        // POPTS and TSE are taken from the first data descriptor of a packet (SDM 3.3.7.1).
        this.txExtended = true;
        this.txTse = (cmd & R.TXD_CMD_IC_TSE) !== 0;
        this.txPopts = (upper >>> 8) & 0xff;
      }
      this.txGather(lo, hi, lower & 0xfffff, ringCount);
    } else {
      if (this.txDescs === 0) this.txExtended = false;
      this.txGather(lo, hi, lower & 0xffff, ringCount);
    }
    if ((cmd & R.TXD_CMD_EOP) !== 0) this.txFinish(cmd, lower, upper);
  }

  private txGather(lo: number, hi: number, len: number, ringCount: number): void {
    this.txDescs++;
    if (this.txDescs > ringCount && !this.txBad) {
      this.stats.count("error:tx-too-many-descriptors");
      this.txBad = true;
    }
    if (len === 0) {
      this.stats.count("error:tx-zero-length");
      return;
    }
    if (this.txBad) return;
    const limit = this.txTse ? TSO_FRAME_MAX : TX_FRAME_MAX;
    if (this.txLen + len > limit) {
      this.stats.count("error:tx-frame-too-long");
      this.txBad = true;
      return;
    }
    if (hi !== 0 || !this.memory.contains(lo, len)) {
      this.stats.count("error:tx-buffer-out-of-ram");
      this.txBad = true;
      return;
    }
    this.memory.readInto(lo, this.txBuf.subarray(this.txLen, this.txLen + len));
    this.txLen += len;
    this.stats.count("dma:read-bytes", len);
  }

  private txFinish(cmd: number, lower: number, upper: number): void {
    const vle = (cmd & R.TXD_CMD_VLE) !== 0;
    const special = upper >>> 16;
    try {
      if (this.txBad) {
        this.stats.count("tx:dropped");
      } else if (this.txLen === 0) {
        this.stats.count("error:tx-empty-frame");
        this.stats.count("tx:dropped");
      } else if (this.txExtended && this.txTse) {
        this.txSegment(vle, special);
      } else {
        const len = this.txLen;
        const frame = this.txBuf.slice(0, len);
        if (this.txExtended) {
          if ((this.txPopts & R.TXD_POPTS_IXSM) !== 0)
            this.insertIpChecksum(frame, len, this.ctxIpcss, this.ctxIpcso, this.ctxIpcse);
          if ((this.txPopts & R.TXD_POPTS_TXSM) !== 0)
            this.insertL4Checksum(frame, len, this.ctxTucss, this.ctxTucso, this.ctxTucse, this.ctxTucmd);
        } else if ((cmd & R.TXD_CMD_IC_TSE) !== 0) {
          // Legacy checksum insertion: CSS..end, stored at CSO (SDM 3.3.3.1).
          this.insertL4Checksum(frame, len, (upper >>> 8) & 0xff, (lower >>> 16) & 0xff, 0, R.TUCMD_TCP);
        }
        this.emit(frame, vle, special);
      }
    } finally {
      this.resetTxFrame();
    }
  }

  /** IPv4 header checksum over [css, cse] (cse 0: to the end), stored at cso. */
  private insertIpChecksum(f: Uint8Array, len: number, css: number, cso: number, cse: number): void {
    const end = cse === 0 ? len : cse + 1;
    if (css >= end || end > len || cso + 2 > len || cso < css) {
      this.stats.count("error:tx-checksum-offsets");
      return;
    }
    put16be(f, cso, 0);
    put16be(f, cso, ~fold16(onesSum(f, css, end)) & 0xffff);
  }

  /** TCP/UDP checksum over [css, cse] including the pseudo-header sum the driver left at cso. */
  private insertL4Checksum(
    f: Uint8Array,
    len: number,
    css: number,
    cso: number,
    cse: number,
    tucmd: number,
  ): void {
    const end = cse === 0 ? len : cse + 1;
    if (css >= end || end > len || cso + 2 > len || cso < css) {
      this.stats.count("error:tx-checksum-offsets");
      return;
    }
    let c = ~fold16(onesSum(f, css, end)) & 0xffff;
    if (c === 0 && (tucmd & R.TUCMD_TCP) === 0) c = 0xffff; // UDP: 0 means "no checksum"
    put16be(f, cso, c);
  }

  /** TCP segmentation (SDM 3.5): replicate the header, fix lengths, IDs, sequence numbers, flags, checksums. */
  private txSegment(vle: boolean, special: number): void {
    const buf = this.txBuf;
    const total = this.txLen;
    const hdr = this.ctxHdrLen;
    const mss = this.ctxMss;
    const ipcss = this.ctxIpcss;
    const tucss = this.ctxTucss;
    const tucso = this.ctxTucso;
    const ipv4 = (this.ctxTucmd & R.TUCMD_IP) !== 0;
    const tcp = (this.ctxTucmd & R.TUCMD_TCP) !== 0;
    const payload = total - hdr;
    const valid =
      hdr >= 14 + 20 &&
      hdr <= total &&
      mss > 0 &&
      hdr + mss <= TX_FRAME_MAX &&
      ipcss + (ipv4 ? 20 : 40) <= tucss &&
      tucss + (tcp ? 20 : 8) <= hdr &&
      tucso >= tucss &&
      tucso + 2 <= hdr &&
      this.ctxIpcso + 2 <= hdr;
    const segments = payload === 0 ? 1 : Math.ceil(payload / mss);
    if (!valid || segments > TSO_MAX_SEGMENTS) {
      this.stats.count("error:tx-tso-context");
      this.stats.count("tx:dropped");
      this.addStat(R.STAT.TSCTFC, 1);
      return;
    }
    const ipId = ipv4 ? get16be(buf, ipcss + 4) : 0;
    const seq = tcp ? get32be(buf, tucss + 4) : 0;
    const seed = get16be(buf, tucso); // pseudo-header sum without the length (Linux e1000_tso)
    let off = 0;
    for (let i = 0; i < segments; i++) {
      const pl = Math.min(mss, payload - off);
      const segLen = hdr + pl;
      const seg = new Uint8Array(segLen);
      seg.set(buf.subarray(0, hdr));
      seg.set(buf.subarray(hdr + off, hdr + off + pl), hdr);
      const last = i === segments - 1;
      if (ipv4) {
        put16be(seg, ipcss + 2, segLen - ipcss);
        put16be(seg, ipcss + 4, (ipId + i) & 0xffff);
      } else {
        put16be(seg, ipcss + 4, segLen - ipcss - 40);
      }
      if (tcp) {
        put32be(seg, tucss + 4, (seq + off) >>> 0);
        if (!last) seg[tucss + 13] = seg[tucss + 13]! & ~0x09; // FIN and PSH only on the last segment
      } else {
        put16be(seg, tucss + 4, segLen - tucss);
      }
      if (ipv4 && (this.txPopts & R.TXD_POPTS_IXSM) !== 0)
        this.insertIpChecksum(seg, segLen, ipcss, this.ctxIpcso, this.ctxIpcse);
      if ((this.txPopts & R.TXD_POPTS_TXSM) !== 0) {
        put16be(seg, tucso, 0);
        const sum = onesSum(seg, tucss, segLen) + seed + (segLen - tucss);
        put16be(seg, tucso, ~fold16(sum) & 0xffff);
      }
      this.emit(seg, vle, special);
      off += pl;
    }
    this.stats.count("tx:tso-packets");
    this.addStat(R.STAT.TSCTC, 1);
  }

  /** Hand one frame (owned by the caller, not reused) to the backend: VLAN insertion, padding, counters. */
  private emit(frame: Uint8Array, vle: boolean, special: number): void {
    let out = frame;
    if (vle && (this.reg(R.CTRL) & R.CTRL_VME) !== 0 && out.length >= 12) {
      const tagged = new Uint8Array(out.length + 4);
      tagged.set(out.subarray(0, 12));
      put16be(tagged, 12, this.reg(R.VET));
      put16be(tagged, 14, special);
      tagged.set(out.subarray(12), 16);
      out = tagged;
    }
    if ((this.reg(R.TCTL) & R.TCTL_PSP) !== 0 && out.length < MIN_FRAME) {
      const padded = new Uint8Array(MIN_FRAME);
      padded.set(out);
      out = padded;
    }
    const wire = out.length + FCS_LEN;
    this.addStat(R.STAT.GPTC, 1);
    this.addStat(R.STAT.TPT, 1);
    this.addStat64(R.STAT.GOTCL, wire);
    this.addStat64(R.STAT.TOTL, wire);
    this.sizeBin(R.STAT.PTC64, wire);
    if ((out[0]! & 1) !== 0) {
      if (
        out[0] === 0xff &&
        out[1] === 0xff &&
        out[2] === 0xff &&
        out[3] === 0xff &&
        out[4] === 0xff &&
        out[5] === 0xff
      )
        this.addStat(R.STAT.BPTC, 1);
      else this.addStat(R.STAT.MPTC, 1);
    }
    this.stats.count("tx:frames");
    this.stats.count("tx:bytes", out.length);
    if (!this.backend.send(out)) this.stats.count("tx:backend-dropped");
  }

  // ---------------------------------------------------------------- receive

  /** Backend side: a frame (no FCS) arrives. Returns false when it was dropped for lack of buffers. */
  receive(frame: Uint8Array): boolean {
    const rctl = this.reg(R.RCTL);
    if ((rctl & R.RCTL_EN) === 0 || !this.linkUp) {
      this.stats.count("rx:dropped-disabled");
      return false;
    }
    const len = frame.length;
    const wireLen = Math.max(len, MIN_FRAME) + FCS_LEN;
    this.addStat(R.STAT.TPR, 1);
    this.addStat64(R.STAT.TORL, wireLen);
    if (len < 14) {
      this.addStat(R.STAT.RUC, 1);
      this.stats.count("rx:runt");
      return true;
    }
    const vet = this.reg(R.VET);
    const tagged = len >= 18 && get16be(frame, 12) === vet;
    if (!this.acceptAddress(frame, rctl)) {
      this.stats.count("rx:filtered");
      return true;
    }
    if (tagged && (rctl & R.RCTL_VFE) !== 0) {
      const vid = get16be(frame, 14) & 0xfff;
      if (((this.reg(R.VFTA_BASE + 4 * (vid >>> 5)) >>> (vid & 31)) & 1) === 0) {
        this.stats.count("rx:filtered");
        return true;
      }
    }
    // Long packets: without LPE, 1518 bytes (1522 tagged) including the FCS (SDM 13.4.22).
    const maxWire = (rctl & R.RCTL_LPE) !== 0 ? RX_FRAME_MAX + FCS_LEN : tagged ? 1522 : 1518;
    if (wireLen > maxWire) {
      this.addStat(R.STAT.ROC, 1);
      this.stats.count("rx:oversize");
      return true;
    }
    if (!this.busMaster()) {
      this.stats.count("error:dma-without-bus-master");
      return false;
    }
    // Stage the frame as the MAC stores it: padded as on the wire, tag stripped (CTRL.VME), FCS.
    const buf = this.rxBuf;
    const padded = Math.max(len, MIN_FRAME);
    buf.set(frame);
    if (padded > len) buf.fill(0, len, padded);
    const fcs = crc32(buf, 0, padded);
    let n = padded;
    let status = R.RXD_STAT_IXSM;
    let special = 0;
    if (tagged && (this.reg(R.CTRL) & R.CTRL_VME) !== 0) {
      special = get16be(buf, 14);
      buf.copyWithin(12, 16, padded);
      n -= 4;
      status |= R.RXD_STAT_VP;
    }
    if ((rctl & R.RCTL_SECRC) === 0) {
      buf[n] = fcs & 0xff;
      buf[n + 1] = (fcs >>> 8) & 0xff;
      buf[n + 2] = (fcs >>> 16) & 0xff;
      buf[n + 3] = fcs >>> 24;
      n += FCS_LEN;
    }
    if (!this.rxStore(n, status, special)) return false;
    this.addStat(R.STAT.GPRC, 1);
    this.addStat64(R.STAT.GORCL, wireLen);
    this.sizeBin(R.STAT.PRC64, wireLen);
    if ((frame[0]! & 1) !== 0) {
      if (isBroadcast(frame)) this.addStat(R.STAT.BPRC, 1);
      else this.addStat(R.STAT.MPRC, 1);
    }
    this.stats.count("rx:frames");
    this.stats.count("rx:bytes", len);
    return true;
  }

  /** Receive buffer size from RCTL.BSIZE/BSEX (SDM 13.4.22). */
  private rxBufferSize(rctl: number): number {
    const bsize = (rctl >>> R.RCTL_BSIZE_SHIFT) & 3;
    if ((rctl & R.RCTL_BSEX) === 0) return 2048 >>> bsize;
    return bsize === 0 ? 2048 : 32768 >>> bsize; // BSEX with 00b is reserved: treated as 2048
  }

  /** DMA the staged `n` bytes into descriptors from RDH. False: dropped (no descriptors, bad ring). */
  private rxStore(n: number, status: number, special: number): boolean {
    const rctl = this.reg(R.RCTL);
    const count = this.reg(R.RDLEN) >>> 4;
    let head = this.reg(R.RDH);
    const tail = this.reg(R.RDT);
    if (this.rxHalted) return this.rxOverrun();
    if (count !== 0 && (head >= count || tail >= count)) {
      this.stats.count("error:index-beyond-ring");
      this.rxHalted = true;
      return this.rxOverrun();
    }
    const bufSize = this.rxBufferSize(rctl);
    const needed = Math.ceil(n / bufSize);
    const avail = count === 0 ? 0 : (tail - head + count) % count;
    if (avail < needed) return this.rxOverrun();
    const base = this.ringBase(R.RDBAL, R.RDBAH);
    if (!this.memory.contains(base, count * R.DESC_SIZE)) {
      this.stats.count("error:ring-out-of-ram");
      this.rxHalted = true;
      return this.rxOverrun();
    }
    const threshold = count >>> (((rctl >>> R.RCTL_RDMTS_SHIFT) & 3) + 1);
    let off = 0;
    let badBuffer = false;
    try {
      while (off < n) {
        const d = base + head * R.DESC_SIZE;
        const lo = this.memory.read32(d) >>> 0;
        const hi = this.memory.read32(d + 4) >>> 0;
        this.stats.count("dma:read-bytes", 8);
        const chunk = Math.min(bufSize, n - off);
        if (hi !== 0 || !this.memory.contains(lo, chunk)) {
          if (!badBuffer) this.stats.count("error:rx-buffer-out-of-ram");
          badBuffer = true;
        } else {
          this.memory.writeBytes(lo, this.rxBuf.subarray(off, off + chunk));
          this.stats.count("dma:write-bytes", chunk);
        }
        off += chunk;
        const eop = off >= n;
        const st = status | R.RXD_STAT_DD | (eop ? R.RXD_STAT_EOP : 0);
        const errors = eop && badBuffer ? R.RXD_ERR_RXE : 0;
        this.memory.write32(d + 8, chunk & 0xffff); // length; packet checksum 0
        this.memory.write32(d + 12, (st | (errors << 8) | (special << 16)) >>> 0);
        this.stats.count("dma:write-bytes", 8);
        head = head + 1 === count ? 0 : head + 1;
        this.setReg(R.RDH, head);
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.stats.count("error:dma");
      this.rxHalted = true;
      return false;
    }
    const free = (tail - head + count) % count;
    const freeBefore = free + needed;
    let causes = 0;
    if (freeBefore > threshold && free <= threshold) causes |= R.INT_RXDMT0;
    if (causes !== 0) this.raise(causes);
    this.delayCause(R.RDTR, R.RADV, this.rxPacketTimer, this.rxAbsTimer, R.INT_RXT0);
    return true;
  }

  private rxOverrun(): boolean {
    this.addStat(R.STAT.MPC, 1);
    this.addStat(R.STAT.RNBC, 1);
    this.stats.count("rx:dropped");
    this.raise(R.INT_RXO);
    return false;
  }

  /** Destination address filter (SDM 3.2.1, 13.4.22, 13.5). */
  private acceptAddress(frame: Uint8Array, rctl: number): boolean {
    const group = (frame[0]! & 1) !== 0;
    if (group) {
      if ((rctl & R.RCTL_MPE) !== 0) return true;
      if (isBroadcast(frame)) return (rctl & R.RCTL_BAM) !== 0 || this.matchExact(frame);
      if (this.matchExact(frame)) return true;
      return this.matchHash(frame, rctl);
    }
    if ((rctl & R.RCTL_UPE) !== 0) return true;
    return this.matchExact(frame);
  }

  private matchExact(frame: Uint8Array): boolean {
    const lo = (frame[0]! | (frame[1]! << 8) | (frame[2]! << 16) | (frame[3]! << 24)) >>> 0;
    const hi = frame[4]! | (frame[5]! << 8);
    for (let i = 0; i < 16; i++) {
      const rah = this.reg(R.RA_BASE + 8 * i + 4);
      // AV set and AS = 00b (match the destination address).
      if ((rah & R.RAH_AV) === 0 || ((rah >>> 16) & 3) !== 0) continue;
      if ((rah & 0xffff) === hi && this.reg(R.RA_BASE + 8 * i) >>> 0 === lo) return true;
    }
    return false;
  }

  /** The 4096-bit multicast table, indexed by 12 bits of the address chosen by RCTL.MO (SDM 13.5.1). */
  private matchHash(frame: Uint8Array, rctl: number): boolean {
    const b4 = frame[4]!;
    const b5 = frame[5]!;
    let h: number;
    switch ((rctl >>> R.RCTL_MO_SHIFT) & 3) {
      case 0:
        h = (b4 >>> 4) | (b5 << 4);
        break;
      case 1:
        h = (b4 >>> 3) | (b5 << 5);
        break;
      case 2:
        h = (b4 >>> 2) | (b5 << 6);
        break;
      default:
        h = b4 | (b5 << 8);
        break;
    }
    h &= 0xfff;
    return ((this.reg(R.MTA_BASE + 4 * (h >>> 5)) >>> (h & 31)) & 1) !== 0;
  }
}

function isBroadcast(f: Uint8Array): boolean {
  return f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff;
}
