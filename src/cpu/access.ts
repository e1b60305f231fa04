/**
 * Memory access paths shared by every part of the CPU: segmented (logical) accesses with
 * the limit and type checks of SDM Vol. 3A 5.3 and 5.4, linear accesses through the MMU,
 * and physical accesses that reach RAM through GuestMemory or leave the engine as an
 * EPT_VIOLATION exit (MMIO).
 *
 * Multi-byte accesses that cross a page boundary are split into bytes, each translated
 * separately, after both pages were checked (so a fault on the second page leaves no
 * partial write: SDM Vol. 3A 6.5).
 *
 * Values are returned as unsigned for 8/16-bit reads and as int32 for 32-bit reads.
 */

import { ExitReason } from "../vmm/exit-reason.js";
import { Access, type AccessKind, type Cpu, SegAttr, SS } from "./cpu.js";
import { raise, Vector } from "./fault.js";

// ---- physical ----------------------------------------------------------------------------

function mmioRead(cpu: Cpu, phys: number, size: number): number {
  const x = cpu.exit;
  x.reason = ExitReason.EPT_VIOLATION;
  x.address = phys >>> 0;
  x.size = size;
  x.write = false;
  x.string = false;
  x.value = 0;
  // insnEip: the start of the executing instruction (cpu.eip already points past it).
  x.instructionPointer = (cpu.segBase[1]! + cpu.insnEip) >>> 0;
  cpu.exitHandler.handleExit(x);
  // The monitor may have changed anything (e.g. DMA into code): end the interpreter's block.
  cpu.iBreak = true;
  return size === 4 ? x.value | 0 : x.value & (size === 1 ? 0xff : 0xffff);
}

function mmioWrite(cpu: Cpu, phys: number, size: number, value: number): void {
  const x = cpu.exit;
  x.reason = ExitReason.EPT_VIOLATION;
  x.address = phys >>> 0;
  x.size = size;
  x.write = true;
  x.string = false;
  x.value = size === 4 ? value | 0 : value & (size === 1 ? 0xff : 0xffff);
  // insnEip: the start of the executing instruction (cpu.eip already points past it).
  x.instructionPointer = (cpu.segBase[1]! + cpu.insnEip) >>> 0;
  cpu.exitHandler.handleExit(x);
  cpu.iBreak = true;
}

export function readPhys8(cpu: Cpu, phys: number): number {
  const m = cpu.memory;
  return phys < m.size ? m.read8(phys) : mmioRead(cpu, phys, 1);
}
export function readPhys16(cpu: Cpu, phys: number): number {
  const m = cpu.memory;
  return phys + 2 <= m.size ? m.read16(phys) : mmioRead(cpu, phys, 2);
}
export function readPhys32(cpu: Cpu, phys: number): number {
  const m = cpu.memory;
  return phys + 4 <= m.size ? m.read32(phys) : mmioRead(cpu, phys, 4);
}
// A write that changes a page holding decoded code (its generation moves) makes the
// interpreter leave its current block after this instruction (`iBreak`, see
// src/cpu/interp/mem.ts): callers need not know about the decoded-instruction cache.
export function writePhys8(cpu: Cpu, phys: number, v: number): void {
  const m = cpu.memory;
  if (phys < m.size) {
    const g = m.codeGeneration[phys >>> 12];
    m.write8(phys, v);
    if (m.codeGeneration[phys >>> 12] !== g) cpu.iBreak = true;
  } else mmioWrite(cpu, phys, 1, v);
}
export function writePhys16(cpu: Cpu, phys: number, v: number): void {
  const m = cpu.memory;
  if (phys + 2 <= m.size) {
    const g = m.codeGeneration[phys >>> 12];
    m.write16(phys, v);
    if (m.codeGeneration[phys >>> 12] !== g) cpu.iBreak = true;
  } else mmioWrite(cpu, phys, 2, v);
}
export function writePhys32(cpu: Cpu, phys: number, v: number): void {
  const m = cpu.memory;
  if (phys + 4 <= m.size) {
    const g = m.codeGeneration[phys >>> 12];
    m.write32(phys, v);
    if (m.codeGeneration[phys >>> 12] !== g) cpu.iBreak = true;
  } else mmioWrite(cpu, phys, 4, v);
}

// ---- linear ------------------------------------------------------------------------------

/** Translate with the current privilege (CPL 3 accesses are user accesses). */
export function translate(cpu: Cpu, linear: number, access: AccessKind): number {
  if (!cpu.pagingEnabled) return linear >>> 0;
  return cpu.mmu.translate(linear >>> 0, access, cpu.cpl === 3);
}

/** Translate as a supervisor access (descriptor tables, TSS, IDT: SDM Vol. 3A 5.6 "implicit"). */
export function translateSystem(cpu: Cpu, linear: number, access: AccessKind): number {
  if (!cpu.pagingEnabled) return linear >>> 0;
  return cpu.mmu.translate(linear >>> 0, access, false);
}

function crossesPage(linear: number, size: number): boolean {
  return (linear & 0xfff) + size > 0x1000;
}

export function readLinear8(cpu: Cpu, linear: number, system = false): number {
  const p = system ? translateSystem(cpu, linear, Access.READ) : translate(cpu, linear, Access.READ);
  return readPhys8(cpu, p);
}

export function readLinear16(cpu: Cpu, linear: number, system = false): number {
  if (crossesPage(linear, 2)) {
    return readLinear8(cpu, linear, system) | (readLinear8(cpu, linear + 1, system) << 8);
  }
  const p = system ? translateSystem(cpu, linear, Access.READ) : translate(cpu, linear, Access.READ);
  return readPhys16(cpu, p);
}

export function readLinear32(cpu: Cpu, linear: number, system = false): number {
  if (crossesPage(linear, 4)) {
    const lo = readLinear16(cpu, linear, system);
    return lo | (readLinear16(cpu, linear + 2, system) << 16);
  }
  const p = system ? translateSystem(cpu, linear, Access.READ) : translate(cpu, linear, Access.READ);
  return readPhys32(cpu, p);
}

/** Check that `[linear, linear+size)` is writable (both pages) before a split write. */
function probeWrite(cpu: Cpu, linear: number, size: number, system: boolean): void {
  // The second probe is at the first byte of the second page: a #PF there reports that
  // address in CR2, as hardware does (found by the QEMU oracle: cr2=0x200000, not 0x200001).
  const secondPage = (linear + size - 1) & ~0xfff;
  if (system) {
    translateSystem(cpu, linear, Access.WRITE);
    translateSystem(cpu, secondPage, Access.WRITE);
  } else {
    translate(cpu, linear, Access.WRITE);
    translate(cpu, secondPage, Access.WRITE);
  }
}

export function writeLinear8(cpu: Cpu, linear: number, v: number, system = false): void {
  const p = system ? translateSystem(cpu, linear, Access.WRITE) : translate(cpu, linear, Access.WRITE);
  writePhys8(cpu, p, v);
}

export function writeLinear16(cpu: Cpu, linear: number, v: number, system = false): void {
  if (crossesPage(linear, 2)) {
    probeWrite(cpu, linear, 2, system);
    writeLinear8(cpu, linear, v, system);
    writeLinear8(cpu, linear + 1, v >>> 8, system);
    return;
  }
  const p = system ? translateSystem(cpu, linear, Access.WRITE) : translate(cpu, linear, Access.WRITE);
  writePhys16(cpu, p, v);
}

export function writeLinear32(cpu: Cpu, linear: number, v: number, system = false): void {
  if (crossesPage(linear, 4)) {
    probeWrite(cpu, linear, 4, system);
    for (let i = 0; i < 4; i++) writeLinear8(cpu, linear + i, v >>> (8 * i), system);
    return;
  }
  const p = system ? translateSystem(cpu, linear, Access.WRITE) : translate(cpu, linear, Access.WRITE);
  writePhys32(cpu, p, v);
}

// ---- segmented (logical) -----------------------------------------------------------------

/**
 * Limit and type check for an access of `size` bytes at `offset` in segment `seg`
 * (SDM Vol. 3A 5.3 "Limit checking", 5.4.1 type checking). Returns the linear address.
 * Raises #SS(0) for SS, #GP(0) otherwise. In real mode the cached limit (normally 0xFFFF)
 * still applies, as on real hardware.
 */
export function segmentAddress(cpu: Cpu, seg: number, offset: number, size: number, write: boolean): number {
  const access = cpu.segAccess[seg]!;
  const limit = cpu.segLimit[seg]! >>> 0;
  offset >>>= 0;
  const last = offset + size - 1;
  if (cpu.protectedMode && !cpu.v86Mode) {
    // A null selector in a data segment register: the cache is marked not present.
    if ((access & SegAttr.P) === 0) raise(cpu, seg === SS ? Vector.SS : Vector.GP, 0);
    const isCode = (access & SegAttr.CODE) !== 0;
    if (write && (isCode || (access & SegAttr.RW) === 0)) raise(cpu, seg === SS ? Vector.SS : Vector.GP, 0);
    if (!write && isCode && (access & SegAttr.RW) === 0) raise(cpu, Vector.GP, 0);
    if (!isCode && (access & SegAttr.CONFORMING_OR_EXPAND_DOWN) !== 0) {
      // Expand-down: valid offsets are (limit, upper], upper = 0xFFFF or 0xFFFFFFFF (B bit).
      const upper = (access & SegAttr.DB) !== 0 ? 0xffffffff : 0xffff;
      if (offset <= limit || last > upper) raise(cpu, seg === SS ? Vector.SS : Vector.GP, 0);
      return (cpu.segBase[seg]! + offset) | 0;
    }
  }
  if (last > limit) raise(cpu, seg === SS ? Vector.SS : Vector.GP, 0);
  return (cpu.segBase[seg]! + offset) | 0;
}

export function readMem8(cpu: Cpu, seg: number, offset: number): number {
  return readLinear8(cpu, segmentAddress(cpu, seg, offset, 1, false));
}
export function readMem16(cpu: Cpu, seg: number, offset: number): number {
  return readLinear16(cpu, segmentAddress(cpu, seg, offset, 2, false));
}
export function readMem32(cpu: Cpu, seg: number, offset: number): number {
  return readLinear32(cpu, segmentAddress(cpu, seg, offset, 4, false));
}
export function writeMem8(cpu: Cpu, seg: number, offset: number, v: number): void {
  writeLinear8(cpu, segmentAddress(cpu, seg, offset, 1, true), v);
}
export function writeMem16(cpu: Cpu, seg: number, offset: number, v: number): void {
  writeLinear16(cpu, segmentAddress(cpu, seg, offset, 2, true), v);
}
export function writeMem32(cpu: Cpu, seg: number, offset: number, v: number): void {
  writeLinear32(cpu, segmentAddress(cpu, seg, offset, 4, true), v);
}

/**
 * Check that a `size`-byte region at seg:offset is fully writable (limits and pages) before
 * an instruction writes it piecewise (FNSAVE, multi-push sequences), so that a fault
 * happens before any byte changes.
 */
export function probeWriteMem(cpu: Cpu, seg: number, offset: number, size: number): void {
  const linear = segmentAddress(cpu, seg, offset, size, true);
  for (let page = linear & ~0xfff; ; page = (page + 0x1000) | 0) {
    translate(cpu, Math.max(page, linear) | 0, Access.WRITE);
    if ((page + 0x1000) >>> 0 > (linear + size - 1) >>> 0 || page + 0x1000 > 0xffffffff) break;
  }
}

// ---- stack -------------------------------------------------------------------------------

/** Push onto SS:(E)SP honoring SS.B (SDM Vol. 3A 6.2 stack size). */
export function push16(cpu: Cpu, v: number): void {
  if (cpu.stackSize32) {
    const sp = (cpu.regs[4]! - 2) | 0;
    writeMem16(cpu, SS, sp, v);
    cpu.regs[4] = sp;
  } else {
    const sp = (cpu.reg16[8]! - 2) & 0xffff;
    writeMem16(cpu, SS, sp, v);
    cpu.reg16[8] = sp;
  }
}

export function push32(cpu: Cpu, v: number): void {
  if (cpu.stackSize32) {
    const sp = (cpu.regs[4]! - 4) | 0;
    writeMem32(cpu, SS, sp, v);
    cpu.regs[4] = sp;
  } else {
    const sp = (cpu.reg16[8]! - 4) & 0xffff;
    writeMem32(cpu, SS, sp, v);
    cpu.reg16[8] = sp;
  }
}

export function pop16(cpu: Cpu): number {
  if (cpu.stackSize32) {
    const v = readMem16(cpu, SS, cpu.regs[4]!);
    cpu.regs[4] = (cpu.regs[4]! + 2) | 0;
    return v;
  }
  const v = readMem16(cpu, SS, cpu.reg16[8]!);
  cpu.reg16[8] = (cpu.reg16[8]! + 2) & 0xffff;
  return v;
}

export function pop32(cpu: Cpu): number {
  if (cpu.stackSize32) {
    const v = readMem32(cpu, SS, cpu.regs[4]!);
    cpu.regs[4] = (cpu.regs[4]! + 4) | 0;
    return v;
  }
  const v = readMem32(cpu, SS, cpu.reg16[8]!);
  cpu.reg16[8] = (cpu.reg16[8]! + 4) & 0xffff;
  return v;
}
