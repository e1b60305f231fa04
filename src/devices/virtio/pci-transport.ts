/**
 * Virtio over PCI, the modern (non-transitional) interface (virtio 1.2, 4.1): the common
 * part of virtio-net and virtio-blk. A device model extends VirtioPciDevice, which is a
 * PciDevice ready for `pci.addDevice(dev, slot)`.
 *
 * PCI identity (4.1.2): vendor 0x1AF4, device 0x1040 + virtio device ID, revision 1 (a
 * non-transitional device), subsystem vendor 0x1AF4 and subsystem ID 0x1100 (>= 0x40,
 * 4.1.2.1, QEMU's value), INTA#.
 *
 * Capabilities (4.1.4), a vendor-specific (ID 09h) list from 0x40, announced by status bit 4
 * "capabilities list" and the pointer at 0x34 (PCI 3.0, 6.7). The PciDevice base has no
 * capability helper, so this file lays the bytes out itself through the protected config
 * helpers; the capability bytes are read-only (wmask 0) except the PCI_CFG access window.
 *   0x40 COMMON_CFG  bar 4 offset 0x0000 length 0x3C
 *   0x50 NOTIFY_CFG  bar 4 offset 0x3000 length 4 x queues, notify_off_multiplier 4
 *   0x64 ISR_CFG     bar 4 offset 0x1000 length 4
 *   0x74 DEVICE_CFG  bar 4 offset 0x2000 length of the device configuration
 *   0x84 PCI_CFG     (4.1.4.9) bar/offset/length/pci_cfg_data: a BAR access through config space
 * BAR 4 is a 16 KiB 32-bit memory BAR (QEMU uses BAR 4 too).
 *
 * No MSI-X capability: interrupts are INTx# with the ISR status register (4.1.4.5,
 * 4.1.5.3/4.1.5.4), msix_config and queue_msix_vector read VIRTIO_MSI_NO_VECTOR. No legacy
 * I/O BAR (Linux 6.1's virtio_pci binds a modern device through virtio_pci_modern_probe).
 *
 * Accounting (device-stats.ts): "read:<field>"/"write:<field>" with the field names of
 * struct virtio_pci_common_cfg, "read:isr", "read:config"/"write:config",
 * "write:queue_notify" and "kick:<queue>", "irq:raised"/"irq:lowered" (INTx# transitions),
 * "irq:notified" (used-buffer notifications sent), "irq:suppressed" (not sent, 2.7.7),
 * "irq:config" (configuration change notifications),
 * "error:<kind>" (errors.ts), "device:needs-reset".
 */

import type { AccessWidth, BusDevice } from "../../bus/device.js";
import { WIDTH_ANY } from "../../bus/device.js";
import { type GuestMemory, GuestMemoryError } from "../../memory/guest-memory.js";
import { DeviceStats } from "../device-stats.js";
import { CMD_MASTER, PCI_STATUS, PciDevice } from "../pci/pci-device.js";
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  type FeatureWords,
  hasFeature,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FAILED,
  STATUS_FEATURES_OK,
  VIRTIO_MSI_NO_VECTOR,
} from "./constants.js";
import { type VirtioGuestErrorKind, VirtioGuestFault } from "./errors.js";
import { SplitQueue } from "./queue.js";

export const VIRTIO_PCI_VENDOR = 0x1af4;
/** 4.1.2: modern device ID = 0x1040 + virtio device ID. */
export const VIRTIO_PCI_MODERN_DEVICE_BASE = 0x1040;
export const VIRTIO_PCI_SUBSYSTEM_ID = 0x1100;

/** cfg_type values of struct virtio_pci_cap (4.1.4). */
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;
export const PCI_CAP_ID_VNDR = 0x09;
/** Status register bit 4 "capabilities list" (PCI 3.0, 6.2.3) and the pointer (6.7). */
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CAPABILITY_LIST = 0x34;

export const VIRTIO_BAR = 4;
export const VIRTIO_BAR_SIZE = 0x4000;
export const COMMON_OFFSET = 0x0000;
/** struct virtio_pci_common_cfg with the 1.2 queue_notify_data and queue_reset words (Linux 6.x maps up to 0x3C). */
export const COMMON_LENGTH = 0x3c;
export const ISR_OFFSET = 0x1000;
export const DEVICE_CFG_OFFSET = 0x2000;
export const NOTIFY_OFFSET = 0x3000;
export const NOTIFY_OFF_MULTIPLIER = 4;
const CAP_PCI_CFG = 0x84;

/** ISR status bits (4.1.4.5). */
export const ISR_QUEUE = 1;
export const ISR_CONFIG = 2;

/** Fields of struct virtio_pci_common_cfg (4.1.4.3): offset -> [size, name]. 64-bit fields are two 32-bit halves. */
const COMMON_FIELDS: ReadonlyMap<number, readonly [AccessWidth, string]> = new Map([
  [0x00, [4, "device_feature_select"]],
  [0x04, [4, "device_feature"]],
  [0x08, [4, "driver_feature_select"]],
  [0x0c, [4, "driver_feature"]],
  [0x10, [2, "msix_config"]],
  [0x12, [2, "num_queues"]],
  [0x14, [1, "device_status"]],
  [0x15, [1, "config_generation"]],
  [0x16, [2, "queue_select"]],
  [0x18, [2, "queue_size"]],
  [0x1a, [2, "queue_msix_vector"]],
  [0x1c, [2, "queue_enable"]],
  [0x1e, [2, "queue_notify_off"]],
  [0x20, [4, "queue_desc"]],
  [0x24, [4, "queue_desc_hi"]],
  [0x28, [4, "queue_driver"]],
  [0x2c, [4, "queue_driver_hi"]],
  [0x30, [4, "queue_device"]],
  [0x34, [4, "queue_device_hi"]],
  [0x38, [2, "queue_notify_data"]],
  [0x3a, [2, "queue_reset"]],
] as const);

/** The start offset of the common-config field containing `off`, or -1. */
function fieldStart(off: number): number {
  for (let s = off; s >= 0 && s > off - 4; s--) {
    const f = COMMON_FIELDS.get(s);
    if (f !== undefined) return off < s + f[0] ? s : -1;
  }
  return -1;
}

/** Interned stat names for the register path (no string building per access). */
const READ_NAMES = new Map<number, string>();
const WRITE_NAMES = new Map<number, string>();
for (const [off, [, name]] of COMMON_FIELDS) {
  const base = name.replace(/_hi$/, "");
  READ_NAMES.set(off, `read:${base}`);
  WRITE_NAMES.set(off, `write:${base}`);
}

export interface VirtioPciOptions {
  readonly name: string;
  readonly memory: GuestMemory;
  /** Virtio device ID (5 "Device Types"): 1 net, 2 block. */
  readonly virtioId: number;
  /** PCI class code 0xCCSSPP. */
  readonly classCode: number;
  /** Feature bits the device offers (besides the transport's). */
  readonly features: FeatureWords;
  /** One entry per virtqueue. */
  readonly queues: readonly {
    readonly name: string;
    readonly size: number;
    readonly maxChainBytes: number;
  }[];
  /** Length of the device-specific configuration structure in bytes. */
  readonly configLength: number;
}

/** The memory BAR: common cfg, ISR, device cfg and notify regions, one 4 KiB page each. */
class VirtioBar implements BusDevice {
  readonly name: string;
  readonly widths = WIDTH_ANY;
  constructor(private readonly dev: VirtioPciDevice) {
    this.name = `${dev.name}-regs`;
  }
  read(offset: number, width: AccessWidth): number {
    return this.dev.barRead(offset, width);
  }
  write(offset: number, width: AccessWidth, value: number): void {
    this.dev.barWrite(offset, width, value);
  }
}

export abstract class VirtioPciDevice extends PciDevice {
  readonly stats: DeviceStats;
  readonly memory: GuestMemory;
  readonly queues: SplitQueue[];
  readonly deviceFeatures: FeatureWords;
  readonly driverFeatures: FeatureWords = [0, 0];
  /** Device-specific configuration bytes (little-endian); subclasses fill them. */
  protected readonly deviceConfig: Uint8Array;
  status = 0;
  isr = 0;
  configGeneration = 0;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private queueSelect = 0;
  private intxLevel = false;
  private readonly bar: VirtioBar;
  private readonly kickNames: string[];

  constructor(options: VirtioPciOptions) {
    super(options.name, {
      vendorId: VIRTIO_PCI_VENDOR,
      deviceId: VIRTIO_PCI_MODERN_DEVICE_BASE + options.virtioId,
      classCode: options.classCode,
      revision: 1,
      subsystemVendorId: VIRTIO_PCI_VENDOR,
      subsystemId: VIRTIO_PCI_SUBSYSTEM_ID,
      interruptPin: 1,
    });
    this.memory = options.memory;
    this.stats = new DeviceStats(options.name);
    // The transport's own features (6): VERSION_1 always; rings with indirect tables and event idx.
    const f = options.features;
    this.deviceFeatures = [f[0] >>> 0, (f[1] | (1 << (F_VERSION_1 - 32))) >>> 0];
    this.queues = options.queues.map((q) => new SplitQueue(options.memory, q.name, q.size, q.maxChainBytes));
    this.kickNames = this.queues.map((q) => `kick:${q.name}`);
    this.deviceConfig = new Uint8Array(options.configLength);
    this.bar = new VirtioBar(this);
    this.defineBar(VIRTIO_BAR, { kind: "mem", size: VIRTIO_BAR_SIZE, device: this.bar });
    this.buildCapabilities(options.configLength);
  }

  // --- configuration space -------------------------------------------------------------

  private buildCapabilities(configLength: number): void {
    const c = this.config;
    c[PCI_STATUS] = c[PCI_STATUS]! | PCI_STATUS_CAP_LIST;
    c[PCI_CAPABILITY_LIST] = 0x40;
    const cap = (at: number, next: number, len: number, type: number, offset: number, length: number) => {
      c[at] = PCI_CAP_ID_VNDR;
      c[at + 1] = next;
      c[at + 2] = len;
      c[at + 3] = type;
      c[at + 4] = VIRTIO_BAR;
      c[at + 5] = 0; // id (1.2: distinguishes several capabilities of one type)
      this.set32(at + 8, offset);
      this.set32(at + 12, length);
    };
    cap(0x40, 0x50, 16, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFFSET, COMMON_LENGTH);
    cap(0x50, 0x64, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFFSET, NOTIFY_OFF_MULTIPLIER * this.queues.length);
    this.set32(0x50 + 16, NOTIFY_OFF_MULTIPLIER);
    cap(0x64, 0x74, 16, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFFSET, 4);
    cap(0x74, CAP_PCI_CFG, 16, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_CFG_OFFSET, Math.max(4, configLength));
    cap(CAP_PCI_CFG, 0x00, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
    // 4.1.4.9: the driver writes bar, offset, length and pci_cfg_data.
    this.wmask[CAP_PCI_CFG + 4] = 0xff;
    this.setMask32(CAP_PCI_CFG + 8, 0xffffffff);
    this.setMask32(CAP_PCI_CFG + 12, 0xffffffff);
    this.setMask32(CAP_PCI_CFG + 16, 0xffffffff);
  }

  /** A BAR access through the PCI_CFG window (4.1.4.9.1), or undefined when it is not valid. */
  private pciCfgWindow(): { offset: number; width: AccessWidth } | undefined {
    const c = this.config;
    const bar = c[CAP_PCI_CFG + 4]!;
    const offset = this.get32(CAP_PCI_CFG + 8);
    const length = this.get32(CAP_PCI_CFG + 12);
    if (bar !== VIRTIO_BAR || (length !== 1 && length !== 2 && length !== 4)) return undefined;
    if (offset % length !== 0 || offset + length > VIRTIO_BAR_SIZE) return undefined;
    return { offset, width: length };
  }

  override configRead(offset: number, width: AccessWidth): number {
    const data = CAP_PCI_CFG + 16;
    if (offset < data + 4 && offset + width > data) {
      const w = this.pciCfgWindow();
      if (w !== undefined) this.set32(data, this.barRead(w.offset, w.width));
    }
    return super.configRead(offset, width);
  }

  protected override configWritten(offset: number, width: AccessWidth): void {
    const data = CAP_PCI_CFG + 16;
    if (offset < data + 4 && offset + width > data) {
      const w = this.pciCfgWindow();
      if (w !== undefined) this.barWrite(w.offset, w.width, this.get32(data));
    }
  }

  // --- the memory BAR ------------------------------------------------------------------

  barRead(offset: number, width: AccessWidth): number {
    const region = offset & ~0xfff;
    const off = offset & 0xfff;
    switch (region) {
      case COMMON_OFFSET:
        return this.commonRead(off, width);
      case ISR_OFFSET: {
        // 4.1.4.5: reading clears the ISR and de-asserts INTx#.
        this.stats.count("read:isr");
        if (off !== 0) return 0;
        const v = this.isr;
        this.isr = 0;
        this.updateInterrupt();
        return v;
      }
      case DEVICE_CFG_OFFSET:
        this.stats.count("read:config");
        return this.configBytesRead(off, width);
      default:
        return 0;
    }
  }

  barWrite(offset: number, width: AccessWidth, value: number): void {
    const region = offset & ~0xfff;
    const off = offset & 0xfff;
    switch (region) {
      case COMMON_OFFSET:
        this.commonWrite(off, width, value);
        return;
      case DEVICE_CFG_OFFSET:
        this.stats.count("write:config");
        this.deviceConfigWrite(off, width, value);
        return;
      case NOTIFY_OFFSET:
        this.notify(off);
        return;
      default:
        // ISR is read-only; the rest of the BAR is reserved.
        return;
    }
  }

  private configBytesRead(off: number, width: AccessWidth): number {
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = (v << 8) | (this.deviceConfig[off + i] ?? 0);
    return v >>> 0;
  }

  /** Subclass hook for writable device-configuration fields; the default ignores writes. */
  protected deviceConfigWrite(_off: number, _width: AccessWidth, _value: number): void {}

  private get selectedQueue(): SplitQueue | undefined {
    return this.queues[this.queueSelect];
  }

  private commonField(off: number): number {
    const q = this.selectedQueue;
    switch (off) {
      case 0x00:
        return this.deviceFeatureSelect;
      case 0x04:
        // 4.1.4.3.1: feature bits starting at device_feature_select x 32.
        return this.deviceFeatureSelect < 2 ? this.deviceFeatures[this.deviceFeatureSelect as 0 | 1] : 0;
      case 0x08:
        return this.driverFeatureSelect;
      case 0x0c:
        return this.driverFeatureSelect < 2 ? this.driverFeatures[this.driverFeatureSelect as 0 | 1] : 0;
      case 0x10:
        return VIRTIO_MSI_NO_VECTOR;
      case 0x12:
        return this.queues.length;
      case 0x14:
        return this.status;
      case 0x15:
        return this.configGeneration & 0xff;
      case 0x16:
        return this.queueSelect;
      case 0x18:
        return q?.size ?? 0; // 4.1.4.3.2: 0 for a queue that does not exist
      case 0x1a:
        return VIRTIO_MSI_NO_VECTOR;
      case 0x1c:
        return q?.enabled === true ? 1 : 0;
      case 0x1e:
        return q === undefined ? 0 : this.queueSelect; // notify offset = queue index
      case 0x20:
        return q?.descAddr ?? 0;
      case 0x24:
        return q?.descHi ?? 0;
      case 0x28:
        return q?.availAddr ?? 0;
      case 0x2c:
        return q?.availHi ?? 0;
      case 0x30:
        return q?.usedAddr ?? 0;
      case 0x34:
        return q?.usedHi ?? 0;
      default:
        // queue_notify_data (meaningful with VIRTIO_F_NOTIF_CONFIG_DATA) and queue_reset
        // (VIRTIO_F_RING_RESET): neither is offered, both read 0.
        return 0;
    }
  }

  private commonRead(off: number, width: AccessWidth): number {
    const start = fieldStart(off);
    if (start < 0) return 0;
    const size = COMMON_FIELDS.get(start)![0];
    this.stats.count(READ_NAMES.get(start)!);
    const v = this.commonField(start);
    if (start === off && width === size) return v >>> 0;
    // A narrower or misaligned read (4.1.3.1 asks for natural widths): give the bytes.
    if (off + width > start + size) this.guestError("bad-register-access");
    const shift = (off - start) * 8;
    const mask = width === 4 ? 0xffffffff : (1 << (width * 8)) - 1;
    return ((v >>> shift) & mask) >>> 0;
  }

  private commonWrite(off: number, width: AccessWidth, value: number): void {
    const field = COMMON_FIELDS.get(off);
    if (field === undefined || field[0] !== width) {
      // 4.1.3.1: each field is written at its natural width; anything else is ignored.
      this.guestError("bad-register-access");
      return;
    }
    this.stats.count(WRITE_NAMES.get(off)!);
    const v = value >>> 0;
    const q = this.selectedQueue;
    switch (off) {
      case 0x00:
        this.deviceFeatureSelect = v;
        return;
      case 0x08:
        this.driverFeatureSelect = v;
        return;
      case 0x0c:
        if ((this.status & STATUS_FEATURES_OK) !== 0) {
          this.guestError("write-after-features-ok"); // 3.1.1: features are fixed after FEATURES_OK
          return;
        }
        if (this.driverFeatureSelect < 2) this.driverFeatures[this.driverFeatureSelect as 0 | 1] = v;
        return;
      case 0x10:
      case 0x1a:
        return; // no MSI-X: vectors stay VIRTIO_MSI_NO_VECTOR
      case 0x3a:
        return; // queue_reset without VIRTIO_F_RING_RESET: ignored
      case 0x14:
        this.writeStatus(v & 0xff);
        return;
      case 0x16:
        this.queueSelect = v;
        return;
      case 0x1c:
        if (q === undefined) this.guestError("bad-queue-select");
        else if (v === 0)
          this.guestError("queue-disable"); // 4.1.4.3.2: the driver MUST NOT write 0
        else if (!q.enabled) this.enableQueue(q);
        return;
      case 0x18:
      case 0x20:
      case 0x24:
      case 0x28:
      case 0x2c:
      case 0x30:
      case 0x34:
        if (q === undefined) {
          this.guestError("bad-queue-select");
          return;
        }
        if (q.enabled) {
          this.guestError("queue-config-while-enabled");
          return;
        }
        if (off === 0x18) q.size = v;
        else if (off === 0x20) q.descAddr = v;
        else if (off === 0x24) q.descHi = v;
        else if (off === 0x28) q.availAddr = v;
        else if (off === 0x2c) q.availHi = v;
        else if (off === 0x30) q.usedAddr = v;
        else q.usedHi = v;
        return;
      default:
        // device_feature, num_queues, config_generation, queue_notify_off are read-only (4.1.4.3.2).
        this.guestError("bad-register-access");
        return;
    }
  }

  // --- status machine (2.1, 3.1.1) ---------------------------------------------------------

  private writeStatus(v: number): void {
    if (v === 0) {
      this.reset(); // 4.1.4.3.1: writing 0 resets the device; reading status then gives 0
      return;
    }
    const old = this.status;
    // DEVICE_NEEDS_RESET belongs to the device: the driver neither sets nor clears it.
    let s = (v & ~STATUS_DEVICE_NEEDS_RESET) | (old & STATUS_DEVICE_NEEDS_RESET);
    if ((s & STATUS_FEATURES_OK) !== 0 && (old & STATUS_FEATURES_OK) === 0) {
      // 3.1.1 step 5-6: the device leaves FEATURES_OK clear when it cannot use the subset.
      const problem = this.featureProblem();
      if (problem !== undefined) {
        this.guestError(problem);
        s &= ~STATUS_FEATURES_OK;
      } else {
        const eventIdx = hasFeature(this.driverFeatures, F_EVENT_IDX);
        const indirect = hasFeature(this.driverFeatures, F_INDIRECT_DESC);
        for (const q of this.queues) {
          q.eventIdx = eventIdx;
          q.indirect = indirect;
        }
      }
    }
    this.status = s;
    if ((s & STATUS_DRIVER_OK) !== 0 && (old & STATUS_DRIVER_OK) === 0 && this.operational) {
      this.stats.count("device:driver-ok");
      this.driverOk();
    }
  }

  private featureProblem(): VirtioGuestErrorKind | undefined {
    const d = this.driverFeatures;
    if ((d[0] & ~this.deviceFeatures[0]) !== 0 || (d[1] & ~this.deviceFeatures[1]) !== 0)
      return "feature-not-offered";
    if (!hasFeature(d, F_VERSION_1)) return "no-version-1";
    return undefined;
  }

  /** Whether a driver-acknowledged feature was negotiated. */
  negotiated(bit: number): boolean {
    return (this.status & STATUS_FEATURES_OK) !== 0 && hasFeature(this.driverFeatures, bit);
  }

  /** DRIVER_OK after FEATURES_OK, not FAILED, not waiting for a reset, bus master enabled. */
  get operational(): boolean {
    const s = this.status;
    return (
      (s & (STATUS_DRIVER_OK | STATUS_FEATURES_OK)) === (STATUS_DRIVER_OK | STATUS_FEATURES_OK) &&
      (s & (STATUS_FAILED | STATUS_DEVICE_NEEDS_RESET)) === 0 &&
      (this.command & CMD_MASTER) !== 0 // no DMA without bus mastering (PCI 3.0, 6.2.2)
    );
  }

  /** 2.4 "Device Reset": back to the initial state, interrupt de-asserted. */
  reset(): void {
    this.stats.count("device:reset");
    this.status = 0;
    this.driverFeatures[0] = 0;
    this.driverFeatures[1] = 0;
    this.deviceFeatureSelect = 0;
    this.driverFeatureSelect = 0;
    this.queueSelect = 0;
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.updateInterrupt();
    this.deviceReset();
  }

  /** Subclass hooks. */
  protected deviceReset(): void {}
  /** DRIVER_OK was set: process what the driver queued before it (3.1.1 step 8). */
  protected driverOk(): void {
    for (let i = 0; i < this.queues.length; i++) this.processQueue(i);
  }
  /** Handle a notification of queue `index` (a live queue, operational device). */
  protected abstract queueNotify(index: number): void;

  private enableQueue(q: SplitQueue): void {
    const problem = q.validate();
    if (problem !== undefined) {
      this.deviceError(problem, q);
      return;
    }
    q.enabled = true;
  }

  // --- notifications and errors ----------------------------------------------------------------

  private notify(off: number): void {
    this.stats.count("write:queue_notify");
    // 4.1.4.4: queue_notify_off x notify_off_multiplier; our notify_off is the queue index.
    const index = off / NOTIFY_OFF_MULTIPLIER;
    const q = Number.isInteger(index) ? this.queues[index] : undefined;
    if (q === undefined) {
      this.guestError("notify-bad-queue");
      return;
    }
    this.stats.count(this.kickNames[index]!);
    if (!q.enabled) {
      this.guestError("notify-bad-queue");
      return;
    }
    this.processQueue(index);
  }

  /** Run the device's queue handler if it may run, turning guest faults into device errors. */
  processQueue(index: number): void {
    const q = this.queues[index];
    if (q === undefined || !q.live || !this.operational) return;
    this.guarded(q, () => this.queueNotify(index));
  }

  /**
   * Run `fn`; a VirtioGuestFault (or a refused guest-memory access, which the checks should
   * have made impossible) becomes a device error on `q`. Nothing a guest does escapes as an
   * exception. Returns false when `fn` faulted.
   */
  protected guarded(q: SplitQueue, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (e instanceof VirtioGuestFault) this.deviceError(e.kind, q);
      else if (e instanceof GuestMemoryError) this.deviceError("dma-outside-ram", q);
      else throw e;
      return false;
    }
  }

  /** Count a guest error that the device can survive (the request is refused, the queue goes on). */
  guestError(kind: VirtioGuestErrorKind): void {
    this.stats.count(`error:${kind}`);
  }

  /**
   * A structural guest error (2.1.2): stop the queue, set DEVICE_NEEDS_RESET and, when the
   * driver is running, send a configuration change notification.
   */
  deviceError(kind: VirtioGuestErrorKind, q?: SplitQueue): void {
    this.stats.count(`error:${kind}`);
    if (q !== undefined) q.broken = true;
    if ((this.status & STATUS_DEVICE_NEEDS_RESET) === 0) this.stats.count("device:needs-reset");
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.configChanged();
  }

  /** Device configuration change notification (4.1.5.3). */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    this.stats.count("irq:config");
    this.isr |= ISR_CONFIG;
    this.updateInterrupt();
  }

  /** After used elements were published on `q`: notify the driver unless it suppressed it (2.7.7). */
  protected usedBufferNotify(q: SplitQueue): void {
    if (q.needsNotification()) {
      this.stats.count("irq:notified");
      this.isr |= ISR_QUEUE;
      this.updateInterrupt();
    } else {
      this.stats.count("irq:suppressed");
    }
  }

  private updateInterrupt(): void {
    const level = this.isr !== 0;
    if (level === this.intxLevel) return;
    this.intxLevel = level;
    this.stats.count(level ? "irq:raised" : "irq:lowered");
    this.setIntx(level);
  }
}
