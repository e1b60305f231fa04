/**
 * A driver-side mock of the virtio PCI interface (STYLE.md practice 8, after Firecracker's
 * and rust-vmm's virtqueue mocks): it does what a guest driver does, through PCI
 * configuration space and the memory BAR, never through the device object's internals:
 *   - places and enables the BARs like firmware would (PciBus config writes), sets bus master;
 *   - walks the capability list (status bit 4, pointer at 0x34) for the virtio structures;
 *   - resets, negotiates features and sets the status bits (3.1.1);
 *   - lays out split virtqueues in guest RAM and programs them through the common config;
 *   - adds buffers (direct or through an indirect table), kicks, and collects used elements.
 * It also writes raw descriptors and ring indices, for tests of malformed rings.
 *
 * Used by every virtio device test and by the fuzz target.
 */

import type { Bus } from "../../../bus/bus.js";
import type { AccessWidth } from "../../../bus/device.js";
import type { GuestMemory } from "../../../memory/guest-memory.js";
import type { PciBus } from "../../pci/pci-bus.js";
import {
  type FeatureWords,
  STATUS_ACKNOWLEDGE,
  STATUS_DRIVER,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "../constants.js";

/** A driver-side precondition failed (the mock's own error, never the device's). */
export class DriverMockError extends Error {
  override readonly name = "DriverMockError";
}

export interface DriverMockOptions {
  readonly memory: GuestMemory;
  readonly pci: PciBus;
  readonly mmio: Bus;
  readonly slot: number;
  /** Where firmware puts the device's memory BAR (default 0xE000_0000 + slot x 64 KiB). */
  readonly barBase?: number;
  /** Guest RAM the mock may use for rings [ringBase, dataBase) and buffers [dataBase, dataEnd). */
  readonly ringBase?: number;
  readonly dataBase?: number;
  readonly dataEnd?: number;
}

export interface VirtioCaps {
  common: number;
  notify: number;
  notifyMultiplier: number;
  isr: number;
  device: number;
  deviceLength: number;
  pciCfg: number;
}

/** A buffer to add: device-readable bytes, or a device-writable area of `writable` bytes. */
export type MockBuffer = { readonly data: Uint8Array } | { readonly writable: number };

export interface UsedElement {
  readonly id: number;
  readonly len: number;
}

export class DriverMock {
  readonly memory: GuestMemory;
  readonly pci: PciBus;
  readonly mmio: Bus;
  readonly slot: number;
  barBase = 0;
  caps: VirtioCaps | undefined;
  private ringNext: number;
  private readonly dataBase: number;
  private readonly dataEnd: number;
  private dataNext: number;
  deviceFeatures: FeatureWords = [0, 0];
  features: FeatureWords = [0, 0];
  readonly queues: MockQueue[] = [];

  constructor(o: DriverMockOptions) {
    this.memory = o.memory;
    this.pci = o.pci;
    this.mmio = o.mmio;
    this.slot = o.slot;
    this.ringNext = o.ringBase ?? 0x10000;
    this.dataBase = o.dataBase ?? 0x100000;
    this.dataEnd = o.dataEnd ?? o.memory.size;
    this.dataNext = this.dataBase;
    this.placeBars(o.barBase ?? 0xe000_0000 + o.slot * 0x10000);
  }

  cfgRead(off: number, width: AccessWidth): number {
    return this.pci.configRead(0, this.slot, 0, off, width);
  }

  cfgWrite(off: number, width: AccessWidth, value: number): void {
    this.pci.configWrite(0, this.slot, 0, off, width, value);
  }

  /** Firmware's job: size BARs, place the memory BAR, enable memory decoding and bus mastering. */
  private placeBars(base: number): void {
    for (let i = 0; i < 6; i++) {
      const off = 0x10 + 4 * i;
      this.cfgWrite(off, 4, 0xffffffff);
      const probe = this.cfgRead(off, 4);
      if (probe === 0 || (probe & 1) !== 0) continue;
      const size = (~(probe & ~0xf) + 1) >>> 0;
      this.barBase = Math.ceil(base / size) * size;
      this.cfgWrite(off, 4, this.barBase);
    }
    this.cfgWrite(0x04, 2, 0x0006); // memory space + bus master
  }

  /** Walk the capability list (PCI 3.0 6.7; virtio 4.1.4) with a bound, as virtio_pci_modern does. */
  findCaps(): VirtioCaps {
    if ((this.cfgRead(0x06, 2) & 0x10) === 0) throw new DriverMockError("no capability list");
    const caps: Partial<VirtioCaps> = {};
    let p = this.cfgRead(0x34, 1) & 0xfc;
    for (let n = 0; p !== 0 && n < 48; n++) {
      if (this.cfgRead(p, 1) === 0x09) {
        const type = this.cfgRead(p + 3, 1);
        const off = this.barBase + this.cfgRead(p + 8, 4);
        if (type === 1 && caps.common === undefined) caps.common = off;
        if (type === 2 && caps.notify === undefined) {
          caps.notify = off;
          caps.notifyMultiplier = this.cfgRead(p + 16, 4);
        }
        if (type === 3 && caps.isr === undefined) caps.isr = off;
        if (type === 4 && caps.device === undefined) {
          caps.device = off;
          caps.deviceLength = this.cfgRead(p + 12, 4);
        }
        if (type === 5 && caps.pciCfg === undefined) caps.pciCfg = p;
      }
      p = this.cfgRead(p + 1, 1) & 0xfc;
    }
    for (const k of ["common", "notify", "isr", "device", "pciCfg"] as const) {
      if (caps[k] === undefined) throw new DriverMockError(`capability ${k} missing`);
    }
    this.caps = caps as VirtioCaps;
    return this.caps;
  }

  private get c(): VirtioCaps {
    return this.caps ?? this.findCaps();
  }

  common(off: number, width: AccessWidth): number {
    return this.mmio.read(this.c.common + off, width);
  }

  setCommon(off: number, width: AccessWidth, value: number): void {
    this.mmio.write(this.c.common + off, width, value);
  }

  get status(): number {
    return this.common(0x14, 1);
  }

  set status(v: number) {
    this.setCommon(0x14, 1, v);
  }

  readIsr(): number {
    return this.mmio.read(this.c.isr, 1);
  }

  config(off: number, width: AccessWidth): number {
    return this.mmio.read(this.c.device + off, width);
  }

  /**
   * 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, read the device features, accept
   * `wanted` & offered, FEATURES_OK, and read it back. Returns whether FEATURES_OK stuck.
   * `force` writes `wanted` without masking (to test the device's refusal).
   */
  negotiate(wanted: FeatureWords, force = false): boolean {
    this.status = 0;
    if (this.status !== 0) throw new DriverMockError("reset did not complete");
    this.status = STATUS_ACKNOWLEDGE;
    this.status = STATUS_ACKNOWLEDGE | STATUS_DRIVER;
    for (const i of [0, 1] as const) {
      this.setCommon(0x00, 4, i);
      this.deviceFeatures[i] = this.common(0x04, 4);
    }
    this.features = force
      ? [wanted[0] >>> 0, wanted[1] >>> 0]
      : [(wanted[0] & this.deviceFeatures[0]) >>> 0, (wanted[1] & this.deviceFeatures[1]) >>> 0];
    for (const i of [0, 1] as const) {
      this.setCommon(0x08, 4, i);
      this.setCommon(0x0c, 4, this.features[i]);
    }
    this.status = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;
    return (this.status & STATUS_FEATURES_OK) !== 0;
  }

  /** The device feature word `i` read at the last negotiation. */
  deviceFeaturesWord(i: 0 | 1): number {
    return this.deviceFeatures[i];
  }

  driverOk(): void {
    this.status = this.status | STATUS_DRIVER_OK;
  }

  has(bit: number): boolean {
    const w = bit < 32 ? this.features[0] : this.features[1];
    return ((w >>> (bit & 31)) & 1) === 1;
  }

  /** Ring memory: a bump allocator, `align`-aligned. */
  allocRing(bytes: number, align: number): number {
    const a = Math.ceil(this.ringNext / align) * align;
    this.ringNext = a + bytes;
    if (this.ringNext > this.dataBase) throw new DriverMockError("mock ring area exhausted");
    return a;
  }

  /** Buffer memory: a wrapping bump allocator (tests keep few buffers in flight). */
  allocData(bytes: number): number {
    const len = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (this.dataNext + len > this.dataEnd) this.dataNext = this.dataBase;
    const a = this.dataNext;
    this.dataNext += len;
    return a;
  }

  /** 4.1.5.1.3: select, read the maximum, choose a size, place the rings, read notify_off, enable. */
  setupQueue(index: number, size?: number, enable = true): MockQueue {
    this.setCommon(0x16, 2, index);
    const max = this.common(0x18, 2);
    if (max === 0) throw new DriverMockError(`queue ${index} does not exist`);
    if (this.common(0x1c, 2) !== 0) throw new DriverMockError(`queue ${index} already enabled`);
    const n = size ?? max;
    this.setCommon(0x18, 2, n);
    const eventIdx = this.has(29) ? 2 : 0;
    const desc = this.allocRing(16 * n, 16);
    const avail = this.allocRing(4 + 2 * n + eventIdx, 2);
    const used = this.allocRing(4 + 8 * n + eventIdx, 4);
    this.memory.fill(desc, 16 * n, 0);
    this.memory.fill(avail, 4 + 2 * n + eventIdx, 0);
    this.memory.fill(used, 4 + 8 * n + eventIdx, 0);
    this.setCommon(0x20, 4, desc);
    this.setCommon(0x24, 4, 0);
    this.setCommon(0x28, 4, avail);
    this.setCommon(0x2c, 4, 0);
    this.setCommon(0x30, 4, used);
    this.setCommon(0x34, 4, 0);
    const notifyOff = this.common(0x1e, 2);
    const q = new MockQueue(
      this,
      index,
      n,
      desc,
      avail,
      used,
      this.c.notify + notifyOff * this.c.notifyMultiplier,
    );
    if (enable) this.setCommon(0x1c, 2, 1);
    this.queues[index] = q;
    return q;
  }
}

/** The driver's view of one split virtqueue (2.7.13 "Supplying Buffers to The Device"). */
export class MockQueue {
  private readonly free: number[] = [];
  /** Free-running avail idx the driver publishes. */
  availIdx = 0;
  /** Last used idx the driver consumed. */
  lastUsed = 0;
  /** head -> descriptor indices of the chain and the writable buffers' addresses. */
  private readonly inflight = new Map<
    number,
    { descs: number[]; writable: { addr: number; len: number }[] }
  >();

  constructor(
    readonly driver: DriverMock,
    readonly index: number,
    readonly size: number,
    readonly desc: number,
    readonly avail: number,
    readonly used: number,
    readonly notifyAddr: number,
  ) {
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
  }

  private get m(): GuestMemory {
    return this.driver.memory;
  }

  /** Write descriptor `i` raw (tests of malformed rings). */
  writeDesc(i: number, addr: number, len: number, flags: number, next: number, addrHi = 0): void {
    const d = this.desc + 16 * i;
    this.m.write32(d, addr);
    this.m.write32(d + 4, addrHi);
    this.m.write32(d + 8, len);
    this.m.write16(d + 12, flags);
    this.m.write16(d + 14, next);
  }

  /** Put `head` in the available ring and bump avail idx (2.7.13.2, 2.7.13.3). */
  publish(head: number): void {
    this.m.write16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.m.write16(this.avail + 2, this.availIdx);
  }

  /** Set avail idx to any value (tests). */
  setAvailIdx(v: number): void {
    this.availIdx = v & 0xffff;
    this.m.write16(this.avail + 2, this.availIdx);
  }

  set availFlags(v: number) {
    this.m.write16(this.avail, v);
  }

  /** used_event (2.7.7, with VIRTIO_F_EVENT_IDX). */
  set usedEvent(v: number) {
    this.m.write16(this.avail + 4 + 2 * this.size, v);
  }

  /** avail_event written by the device (2.7.10). */
  get availEvent(): number {
    return this.m.read16(this.used + 4 + 8 * this.size);
  }

  get usedIdx(): number {
    return this.m.read16(this.used + 2);
  }

  get freeCount(): number {
    return this.free.length;
  }

  /**
   * Add one buffer made of `bufs` (readable ones first, 2.7.4.2), directly or as one indirect
   * table (2.7.5.3). Returns the head index. Does not notify.
   */
  add(bufs: readonly MockBuffer[], options: { indirect?: boolean } = {}): number {
    const writable: { addr: number; len: number }[] = [];
    const parts = bufs.map((b) => {
      if ("data" in b) {
        const addr = this.driver.allocData(b.data.length);
        this.m.writeBytes(addr, b.data);
        return { addr, len: b.data.length, flags: 0 };
      }
      const addr = this.driver.allocData(b.writable);
      this.m.fill(addr, b.writable, 0xee);
      writable.push({ addr, len: b.writable });
      return { addr, len: b.writable, flags: VIRTQ_DESC_F_WRITE };
    });
    if (options.indirect === true) {
      const head = this.take(1)[0]!;
      const table = this.driver.allocData(16 * parts.length);
      parts.forEach((p, i) => {
        const d = table + 16 * i;
        const last = i === parts.length - 1;
        this.m.write32(d, p.addr);
        this.m.write32(d + 4, 0);
        this.m.write32(d + 8, p.len);
        this.m.write16(d + 12, p.flags | (last ? 0 : VIRTQ_DESC_F_NEXT));
        this.m.write16(d + 14, last ? 0 : i + 1);
      });
      this.writeDesc(head, table, 16 * parts.length, VIRTQ_DESC_F_INDIRECT, 0);
      this.inflight.set(head, { descs: [head], writable });
      this.publish(head);
      return head;
    }
    const descs = this.take(parts.length);
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      this.writeDesc(
        descs[i]!,
        p.addr,
        p.len,
        p.flags | (last ? 0 : VIRTQ_DESC_F_NEXT),
        last ? 0 : descs[i + 1]!,
      );
    });
    this.inflight.set(descs[0]!, { descs, writable });
    this.publish(descs[0]!);
    return descs[0]!;
  }

  private take(n: number): number[] {
    if (n > this.free.length)
      throw new DriverMockError(`queue ${this.index}: ${n} descriptors wanted, ${this.free.length} free`);
    return this.free.splice(this.free.length - n, n);
  }

  /** Notify the device (4.1.5.2): a 16-bit write of the queue index at the notify address. */
  kick(): void {
    this.driver.mmio.write(this.notifyAddr, 2, this.index);
  }

  /** Collect the used elements published since the last call (2.7.14) and free their descriptors. */
  collect(): UsedElement[] {
    const out: UsedElement[] = [];
    const idx = this.usedIdx;
    while (this.lastUsed !== idx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      const id = this.m.read32(e) >>> 0;
      const len = this.m.read32(e + 4) >>> 0;
      out.push({ id, len });
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
      const f = this.inflight.get(id);
      if (f !== undefined) {
        this.free.push(...f.descs);
      }
    }
    return out;
  }

  /** The bytes the device wrote into the writable buffers of chain `head` (concatenated). */
  written(head: number, len?: number): Uint8Array {
    const f = this.inflight.get(head);
    if (f === undefined) throw new DriverMockError(`no buffer ${head}`);
    const total = f.writable.reduce((s, w) => s + w.len, 0);
    const out = new Uint8Array(Math.min(total, len ?? total));
    let off = 0;
    for (const w of f.writable) {
      if (off >= out.length) break;
      const n = Math.min(w.len, out.length - off);
      out.set(this.m.readBytes(w.addr, n), off);
      off += n;
    }
    return out;
  }
}
