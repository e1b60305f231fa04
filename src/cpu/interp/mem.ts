/**
 * The interpreter's memory fast paths. Each access first tries the common case:
 * a present, expand-up data segment within its limit (SDM Vol. 3A 5.3, 5.4.1), an access
 * that stays inside one page, a translation found in the software TLB (or paging off),
 * and a physical address inside RAM. Anything else falls back to src/cpu/access.ts, which
 * implements the full checks (expand-down segments, real-mode caches with odd rights,
 * page-crossing accesses, MMIO exits), so the behaviour is the same, only slower.
 *
 * Software TLB: `cpu.tlbRead` / `cpu.tlbWrite` map a linear page number to
 * `physPage | 1 (supervisor ok) | 2 (user ok) | 4 (global)`. Entries are filled only by
 * `cpu.mmu.translate`, so accessed/dirty bits are set by the MMU exactly once per fill,
 * as a hardware TLB does (SDM Vol. 3A 4.10.2). Both engines flush it when `cpu.tlbEpoch`
 * changes, which the system layer does on MOV CR0/CR3/CR4 and INVLPG (the only guest
 * instructions that change a translation) and reset does; translated code (src/cpu/bt)
 * reads the same arrays inline.
 */

import { TLB_READ_OFF, TLB_WRITE_OFF } from "../../memory/wasm-layout.js";
import {
  probeWriteMem,
  readMem8,
  readMem16,
  readMem32,
  readPhys8,
  readPhys16,
  readPhys32,
  writeMem8,
  writeMem16,
  writeMem32,
  writePhys8,
  writePhys16,
  writePhys32,
} from "../access.js";
import { Access, type Cpu, SS, TLB_DROP_NON_GLOBAL } from "../cpu.js";

const TLB_PAGES = 1 << 20;
/** Soft-TLB entry bit: a global translation, which MOV CR3 keeps (dropTlbPages). */
const GLOBAL = 4;
/** Pages filled since the last flush, so that a flush touches only those. */
const TLB_LIST_MAX = 4096;

export class SoftTlb {
  readonly list = new Int32Array(TLB_LIST_MAX);
  count = 0;
  overflow = false;
  epoch = -1;
}

const tlbs = new WeakMap<Cpu, SoftTlb>();

export function initTlb(cpu: Cpu): SoftTlb {
  let t = tlbs.get(cpu);
  if (t === undefined) {
    t = new SoftTlb();
    tlbs.set(cpu, t);
    // In the memory's CPU area (memory/wasm-layout.ts), where translated wasm code reads them.
    const m = cpu.memory;
    cpu.tlbRead = new Int32Array(m.buffer, m.cpuArea + TLB_READ_OFF, TLB_PAGES);
    cpu.tlbWrite = new Int32Array(m.buffer, m.cpuArea + TLB_WRITE_OFF, TLB_PAGES);
    cpu.tlbRead.fill(0);
    cpu.tlbWrite.fill(0);
  }
  return t;
}

export function flushTlb(cpu: Cpu, t: SoftTlb): void {
  const r = cpu.tlbRead;
  const w = cpu.tlbWrite;
  if (t.overflow) {
    r.fill(0);
    w.fill(0);
  } else {
    const l = t.list;
    for (let i = 0; i < t.count; i++) {
      const p = l[i]!;
      r[p] = 0;
      w[p] = 0;
    }
  }
  t.count = 0;
  t.overflow = false;
  t.epoch = cpu.tlbEpoch;
  cpu.tlbDropCount = 0;
}

/**
 * True when every translation change since `t` was last in line with cpu.tlbEpoch was an
 * INVLPG or a MOV CR3 recorded in cpu.tlbDropPages, so that dropping what they dropped
 * (dropTlbPages) is all a flush must do (INVLPG invalidates one page, MOV CR3 the non-global
 * translations: SDM Vol. 3A 4.10.4.1).
 */
export function tlbDropsOnly(cpu: Cpu, t: SoftTlb): boolean {
  const n = cpu.tlbDropCount;
  return (
    n > 0 &&
    n <= cpu.tlbDropPages.length &&
    t.epoch === cpu.tlbDropBase &&
    cpu.tlbEpoch === ((cpu.tlbDropBase + n) | 0)
  );
}

/** Drop the soft-TLB entries cpu.tlbDropPages records (after tlbDropsOnly). */
export function dropTlbPages(cpu: Cpu, t: SoftTlb): void {
  const r = cpu.tlbRead;
  const w = cpu.tlbWrite;
  const pages = cpu.tlbDropPages;
  for (let k = 0; k < cpu.tlbDropCount; k++) {
    const p = pages[k]!;
    if (p === TLB_DROP_NON_GLOBAL) dropNonGlobal(cpu, t);
    else if (p >= 0) {
      r[p] = 0;
      w[p] = 0;
    } else {
      const region = -1 - p;
      r.fill(0, region << 10, (region + 1) << 10);
      w.fill(0, region << 10, (region + 1) << 10);
    }
  }
  cpu.tlbDropCount = 0;
  t.epoch = cpu.tlbEpoch;
}

/** MOV CR3: every entry but the global ones goes (SDM Vol. 3A 4.10.4.1). */
function dropNonGlobal(cpu: Cpu, t: SoftTlb): void {
  const r = cpu.tlbRead;
  const w = cpu.tlbWrite;
  if (t.overflow) {
    r.fill(0);
    w.fill(0);
    t.count = 0;
    t.overflow = false;
    return;
  }
  const l = t.list;
  let kept = 0;
  for (let i = 0; i < t.count; i++) {
    const p = l[i]!;
    if ((r[p]! & GLOBAL) === 0) r[p] = 0;
    if ((w[p]! & GLOBAL) === 0) w[p] = 0;
    if (r[p] !== 0 || w[p] !== 0) l[kept++] = p;
  }
  t.count = kept;
}

/** The soft-TLB entry for `phys`, just translated by cpu.mmu at the current privilege. */
function tlbEntry(cpu: Cpu, phys: number): number {
  return (phys & ~0xfff) | (cpu.cpl === 3 ? 3 : 1) | (cpu.mmu.lastGlobal ? GLOBAL : 0);
}

let currentTlb: SoftTlb = new SoftTlb();

/** Select the TLB bookkeeping of the CPU being run (one interpreter runs at a time per thread). */
export function useTlb(t: SoftTlb): void {
  currentTlb = t;
}

function remember(page: number): void {
  const t = currentTlb;
  if (t.count < TLB_LIST_MAX) t.list[t.count++] = page;
  else t.overflow = true;
}

/** Translate `lin` for a read through the TLB; returns the physical address (uint32). */
export function tlbTranslateRead(cpu: Cpu, lin: number): number {
  const page = lin >>> 12;
  const e = cpu.tlbRead[page]!;
  if ((e & (cpu.cpl === 3 ? 2 : 1)) !== 0) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
  const phys = cpu.mmu.translate(lin >>> 0, Access.READ, cpu.cpl === 3);
  if (cpu.tlbNoCache) {
    cpu.tlbNoCache = false;
    return phys >>> 0;
  }
  if (cpu.tlbRead[page] === 0 && cpu.tlbWrite[page] === 0) remember(page);
  cpu.tlbRead[page] = tlbEntry(cpu, phys);
  return phys >>> 0;
}

/**
 * Enter a code fetch's translation into the read TLB (the binary translator's wasm dispatcher
 * looks code pages up there). Without NX (32-bit paging), a page that may be fetched from
 * at a privilege may be read at it, so the entry is the one a read would have made.
 */
export function tlbNoteFetch(cpu: Cpu, lin: number, phys: number): void {
  const page = lin >>> 12;
  if (cpu.tlbRead[page] === 0 && cpu.tlbWrite[page] === 0) remember(page);
  cpu.tlbRead[page] = tlbEntry(cpu, phys);
}

export function tlbTranslateWrite(cpu: Cpu, lin: number): number {
  const page = lin >>> 12;
  const e = cpu.tlbWrite[page]!;
  if ((e & (cpu.cpl === 3 ? 2 : 1)) !== 0) return ((e & ~0xfff) | (lin & 0xfff)) >>> 0;
  const phys = cpu.mmu.translate(lin >>> 0, Access.WRITE, cpu.cpl === 3);
  if (cpu.tlbNoCache) {
    cpu.tlbNoCache = false;
    return phys >>> 0;
  }
  if (cpu.tlbRead[page] === 0 && cpu.tlbWrite[page] === 0) remember(page);
  cpu.tlbWrite[page] = tlbEntry(cpu, phys);
  return phys >>> 0;
}

// ---- RAM writes with code-page tracking ---------------------------------------------------
// A write to a page that holds decoded code bumps that page's generation (GuestMemory); the
// interpreter then ends the current block after this instruction (`iBreak`), so that the
// next lookup re-validates, and re-decodes, the code (self-modifying code).

export function ramWrite8(cpu: Cpu, phys: number, v: number): void {
  const gens = cpu.memory.codeGeneration;
  const p = phys >>> 12;
  const g = gens[p];
  cpu.memory.write8(phys, v);
  if (gens[p] !== g) cpu.iBreak = true;
}
export function ramWrite16(cpu: Cpu, phys: number, v: number): void {
  const gens = cpu.memory.codeGeneration;
  const p = phys >>> 12;
  const g = gens[p];
  cpu.memory.write16(phys, v);
  if (gens[p] !== g) cpu.iBreak = true;
}
export function ramWrite32(cpu: Cpu, phys: number, v: number): void {
  const gens = cpu.memory.codeGeneration;
  const p = phys >>> 12;
  const g = gens[p];
  cpu.memory.write32(phys, v);
  if (gens[p] !== g) cpu.iBreak = true;
}

// ---- reads ---------------------------------------------------------------------------------
// Fast path condition on segAccess (descriptor bits 8..15): P=1, S=1, code=0, expand-down=0
// -> (a & 0x9c) === 0x90 (any present expand-up data segment is readable).

export function rd8(cpu: Cpu, seg: number, off: number): number {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9c) === 0x90 && off <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateRead(cpu, lin);
    return phys < cpu.memory.size ? cpu.memory.read8(phys) : readPhys8(cpu, phys);
  }
  return readMem8(cpu, seg, off);
}

export function rd16(cpu: Cpu, seg: number, off: number): number {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9c) === 0x90 && off + 1 <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    if ((lin & 0xfff) <= 0xffe) {
      const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateRead(cpu, lin);
      return phys + 2 <= cpu.memory.size ? cpu.memory.read16(phys) : readPhys16(cpu, phys);
    }
  }
  return readMem16(cpu, seg, off);
}

export function rd32(cpu: Cpu, seg: number, off: number): number {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9c) === 0x90 && off + 3 <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    if ((lin & 0xfff) <= 0xffc) {
      const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateRead(cpu, lin);
      return phys + 4 <= cpu.memory.size ? cpu.memory.read32(phys) : readPhys32(cpu, phys);
    }
  }
  return readMem32(cpu, seg, off);
}

// ---- writes: P=1, S=1, code=0, expand-down=0, W=1 -> (a & 0x9e) === 0x92 --------------------

export function wr8(cpu: Cpu, seg: number, off: number, v: number): void {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9e) === 0x92 && off <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateWrite(cpu, lin);
    if (phys < cpu.memory.size) ramWrite8(cpu, phys, v);
    else writePhys8(cpu, phys, v);
    return;
  }
  writeMem8(cpu, seg, off, v);
}

export function wr16(cpu: Cpu, seg: number, off: number, v: number): void {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9e) === 0x92 && off + 1 <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    if ((lin & 0xfff) <= 0xffe) {
      const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateWrite(cpu, lin);
      if (phys + 2 <= cpu.memory.size) ramWrite16(cpu, phys, v);
      else writePhys16(cpu, phys, v);
      return;
    }
  }
  writeMem16(cpu, seg, off, v);
}

export function wr32(cpu: Cpu, seg: number, off: number, v: number): void {
  off >>>= 0;
  if ((cpu.segAccess[seg]! & 0x9e) === 0x92 && off + 3 <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    if ((lin & 0xfff) <= 0xffc) {
      const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateWrite(cpu, lin);
      if (phys + 4 <= cpu.memory.size) ramWrite32(cpu, phys, v);
      else writePhys32(cpu, phys, v);
      return;
    }
  }
  writeMem32(cpu, seg, off, v);
}

// ---- read-modify-write --------------------------------------------------------------------
// The destination is checked for writing before it is read, so that the instruction faults
// before it changes anything (flags included): SDM Vol. 3A 6.5 "Faults".

function rmwPrepare(cpu: Cpu, seg: number, off: number, size: number): void {
  off >>>= 0;
  cpu.rmwSeg = seg;
  cpu.rmwOff = off;
  if ((cpu.segAccess[seg]! & 0x9e) === 0x92 && off + size - 1 <= cpu.segLimit[seg]! >>> 0) {
    const lin = (cpu.segBase[seg]! + off) | 0;
    if ((lin & 0xfff) <= 0x1000 - size) {
      const phys = cpu.cr0 >= 0 ? lin >>> 0 : tlbTranslateWrite(cpu, lin);
      if (phys + size <= cpu.memory.size) {
        cpu.rmwPhys = phys;
        return;
      }
    }
  }
  probeWriteMem(cpu, seg, off, size);
  cpu.rmwPhys = -1;
}

export function rmwRead8(cpu: Cpu, seg: number, off: number): number {
  rmwPrepare(cpu, seg, off, 1);
  return cpu.rmwPhys >= 0 ? cpu.memory.read8(cpu.rmwPhys) : readMem8(cpu, seg, off);
}
export function rmwRead16(cpu: Cpu, seg: number, off: number): number {
  rmwPrepare(cpu, seg, off, 2);
  return cpu.rmwPhys >= 0 ? cpu.memory.read16(cpu.rmwPhys) : readMem16(cpu, seg, off);
}
export function rmwRead32(cpu: Cpu, seg: number, off: number): number {
  rmwPrepare(cpu, seg, off, 4);
  return cpu.rmwPhys >= 0 ? cpu.memory.read32(cpu.rmwPhys) : readMem32(cpu, seg, off);
}
export function rmwWrite8(cpu: Cpu, v: number): void {
  if (cpu.rmwPhys >= 0) ramWrite8(cpu, cpu.rmwPhys, v);
  else writeMem8(cpu, cpu.rmwSeg, cpu.rmwOff, v);
}
export function rmwWrite16(cpu: Cpu, v: number): void {
  if (cpu.rmwPhys >= 0) ramWrite16(cpu, cpu.rmwPhys, v);
  else writeMem16(cpu, cpu.rmwSeg, cpu.rmwOff, v);
}
export function rmwWrite32(cpu: Cpu, v: number): void {
  if (cpu.rmwPhys >= 0) ramWrite32(cpu, cpu.rmwPhys, v);
  else writeMem32(cpu, cpu.rmwSeg, cpu.rmwOff, v);
}

/** Check a multi-part write region before the first part is written (PUSHA, ENTER, ...). */
export function probeWrite(cpu: Cpu, seg: number, off: number, size: number): void {
  probeWriteMem(cpu, seg, off, size);
}

// ---- stack (SDM Vol. 3A 6.2: SS.B selects ESP or SP) --------------------------------------

export function push32(cpu: Cpu, v: number): void {
  if (cpu.segAccess[SS]! & 0x4000) {
    const sp = (cpu.regs[4]! - 4) | 0;
    wr32(cpu, SS, sp, v);
    cpu.regs[4] = sp;
  } else {
    const sp = (cpu.regs[4]! - 4) & 0xffff;
    wr32(cpu, SS, sp, v);
    cpu.reg16[8] = sp;
  }
}

export function push16(cpu: Cpu, v: number): void {
  if (cpu.segAccess[SS]! & 0x4000) {
    const sp = (cpu.regs[4]! - 2) | 0;
    wr16(cpu, SS, sp, v);
    cpu.regs[4] = sp;
  } else {
    const sp = (cpu.regs[4]! - 2) & 0xffff;
    wr16(cpu, SS, sp, v);
    cpu.reg16[8] = sp;
  }
}

export function pop32(cpu: Cpu): number {
  if (cpu.segAccess[SS]! & 0x4000) {
    const sp = cpu.regs[4]!;
    const v = rd32(cpu, SS, sp);
    cpu.regs[4] = (sp + 4) | 0;
    return v;
  }
  const sp = cpu.regs[4]! & 0xffff;
  const v = rd32(cpu, SS, sp);
  cpu.reg16[8] = sp + 4;
  return v;
}

export function pop16(cpu: Cpu): number {
  if (cpu.segAccess[SS]! & 0x4000) {
    const sp = cpu.regs[4]!;
    const v = rd16(cpu, SS, sp);
    cpu.regs[4] = (sp + 2) | 0;
    return v;
  }
  const sp = cpu.regs[4]! & 0xffff;
  const v = rd16(cpu, SS, sp);
  cpu.reg16[8] = sp + 2;
  return v;
}

/** Read the stack at (E)SP + `delta` without popping. */
export function stackRead32(cpu: Cpu, delta: number): number {
  const sp = cpu.segAccess[SS]! & 0x4000 ? (cpu.regs[4]! + delta) | 0 : (cpu.regs[4]! + delta) & 0xffff;
  return rd32(cpu, SS, sp);
}
export function stackRead16(cpu: Cpu, delta: number): number {
  const sp = cpu.segAccess[SS]! & 0x4000 ? (cpu.regs[4]! + delta) | 0 : (cpu.regs[4]! + delta) & 0xffff;
  return rd16(cpu, SS, sp);
}

/** Add to (E)SP honoring SS.B. */
export function adjustSp(cpu: Cpu, delta: number): void {
  if (cpu.segAccess[SS]! & 0x4000) cpu.regs[4] = (cpu.regs[4]! + delta) | 0;
  else cpu.reg16[8] = (cpu.regs[4]! + delta) & 0xffff;
}
