/**
 * Guest RAM. The only object that indexes the RAM's typed arrays (STYLE.md practice 1).
 *
 * RAM lives in a SharedArrayBuffer so that a device model on another thread can DMA into
 * it later. Every access checks `[addr, addr + len)` against the RAM size without overflow
 * (all addresses are non-negative integers below 2^32, so `addr + len` stays exact in a
 * double) and fails with a typed `GuestMemoryError`.
 *
 * The buffer is the shared buffer of a `WebAssembly.Memory` (wasm-layout.ts), so that code
 * the binary translator compiles to WebAssembly reads and writes RAM directly. Past the RAM
 * it holds the CPU's register file, the soft TLB and the code-page flags (the `cpuArea`),
 * which translated code also reads; guest-physical addresses never reach it, because every
 * access is checked against `size`, the RAM alone.
 *
 * Code-page write tracking: the CPU's decoded-instruction cache registers the physical
 * pages it decoded from (`markCodePage`). A write to such a page bumps that page's
 * generation counter and clears the mark, so cached decodes can be validated cheaply.
 */

import {
  CODE_PAGES_OFF,
  CPU_AREA_BYTES,
  codeGenOff,
  cpuAreaStart,
  MAX_RAM,
  WASM_PAGE,
} from "./wasm-layout.js";

/** A guest-physical address: an unsigned 32-bit integer. Branded so that linear and
 * physical addresses cannot be confused at compile time. */
export type GuestPhysAddr = number & { readonly __brand: "GuestPhysAddr" };

export const gpa = (n: number): GuestPhysAddr => (n >>> 0) as GuestPhysAddr;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class GuestMemoryError extends Error {
  override readonly name = "GuestMemoryError";
  constructor(
    /** The first guest-physical address of the access. */
    readonly address: number,
    /** The access length in bytes. */
    readonly length: number,
    readonly size: number,
  ) {
    super(
      `guest-physical access [0x${address.toString(16)}, +${length}) lies outside RAM (size 0x${size.toString(16)})`,
    );
  }
}

export class GuestMemory {
  readonly buffer: SharedArrayBuffer;
  /** The WebAssembly memory whose buffer this is (imported by translated wasm code). */
  readonly wasmMemory: WebAssembly.Memory;
  /** Where the CPU state area starts in `buffer` (wasm-layout.ts): the RAM size rounded up to 64 KiB. */
  readonly cpuArea: number;
  readonly size: number;
  private readonly u8: Uint8Array;
  private readonly view: DataView;
  /**
   * One flag per 4 KiB page: 1 when the decoded-instruction cache holds code from it. Read
   * (never written) by translated code, whose inline stores write RAM directly only where
   * this is 0 and otherwise go through `write8/16/32` so the generation is bumped.
   */
  readonly codePages: Uint8Array;
  /** One counter per page, bumped on every write to a page that held decoded code. */
  readonly codeGeneration: Int32Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > MAX_RAM) {
      throw new RangeError(
        `guest RAM size must be a positive multiple of 4 KiB up to ${MAX_RAM / 2 ** 20} MiB, got ${size}`,
      );
    }
    this.cpuArea = cpuAreaStart(size);
    const pages = (this.cpuArea + CPU_AREA_BYTES(size)) / WASM_PAGE;
    this.wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.buffer = this.wasmMemory.buffer as unknown as SharedArrayBuffer;
    this.size = size;
    this.u8 = new Uint8Array(this.buffer, 0, size);
    this.view = new DataView(this.buffer, 0, size);
    this.codePages = new Uint8Array(this.buffer, this.cpuArea + CODE_PAGES_OFF, size >>> PAGE_SHIFT);
    this.codeGeneration = new Int32Array(this.buffer, this.cpuArea + codeGenOff(size), size >>> PAGE_SHIFT);
  }

  /** True when `[addr, addr + len)` lies inside RAM. */
  contains(addr: number, len: number): boolean {
    return addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  private check(addr: number, len: number): void {
    if (!(addr >= 0 && addr + len <= this.size)) throw new GuestMemoryError(addr, len, this.size);
  }

  read8(addr: number): number {
    this.check(addr, 1);
    return this.u8[addr]!;
  }

  read16(addr: number): number {
    this.check(addr, 2);
    return this.view.getUint16(addr, true);
  }

  /** Returns the 32-bit value as a signed int32 (callers use `>>> 0` when they need unsigned). */
  read32(addr: number): number {
    this.check(addr, 4);
    return this.view.getInt32(addr, true);
  }

  write8(addr: number, value: number): void {
    this.check(addr, 1);
    this.u8[addr] = value;
    this.noteWrite(addr, 1);
  }

  write16(addr: number, value: number): void {
    this.check(addr, 2);
    this.view.setUint16(addr, value & 0xffff, true);
    this.noteWrite(addr, 2);
  }

  write32(addr: number, value: number): void {
    this.check(addr, 4);
    this.view.setInt32(addr, value | 0, true);
    this.noteWrite(addr, 4);
  }

  /** Copies guest bytes out. */
  readBytes(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.u8.slice(addr, addr + len);
  }

  /** Copies guest bytes into `dst` without allocating. */
  readInto(addr: number, dst: Uint8Array): void {
    this.check(addr, dst.length);
    dst.set(this.u8.subarray(addr, addr + dst.length));
  }

  writeBytes(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    this.u8.set(data, addr);
    this.noteWrite(addr, data.length);
  }

  fill(addr: number, len: number, value: number): void {
    this.check(addr, len);
    this.u8.fill(value, addr, addr + len);
    this.noteWrite(addr, len);
  }

  /** Called by the decoded-instruction cache for each page it decodes from. */
  markCodePage(addr: number): void {
    this.check(addr, 1);
    this.codePages[addr >>> PAGE_SHIFT] = 1;
  }

  /** Write tracking for code pages: invalidates decoded instructions on self-modifying code. */
  private noteWrite(addr: number, len: number): void {
    const first = addr >>> PAGE_SHIFT;
    const last = (addr + len - 1) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      if (this.codePages[p] !== 0) {
        this.codePages[p] = 0;
        this.codeGeneration[p] = (this.codeGeneration[p]! + 1) | 0;
      }
    }
  }
}
