/**
 * Segment descriptors: fetching them from the GDT/LDT (SDM Vol. 3A 3.4.2, 3.5.1), decoding
 * base/limit/access rights (Figure 3-8), setting the accessed bit (3.4.5.1), and the
 * descriptor-cache fills shared by every module of the system layer.
 *
 * Descriptor reads are implicit supervisor accesses (SDM Vol. 3A 5.6 / 4.6.1), so they go
 * through readLinear32(..., system = true). A descriptor fetch leaves its result in the
 * reused `desc` record (no allocation); callers copy the words to locals before the next
 * fetch.
 */

import { readLinear32, writeLinear8 } from "../access.js";
import { type Cpu, CS, SegAttr } from "../cpu.js";
import { raise } from "../fault.js";

/** The last descriptor fetched: its two dwords and its linear address. */
export class DescriptorRecord {
  lo = 0;
  hi = 0;
  addr = 0;
}
export const desc = new DescriptorRecord();

/** Selector fields (SDM Vol. 3A Figure 3-6). */
export const SEL_RPL = 3;
export const SEL_TI = 4;
/** Selector without RPL: the form used in error codes (SDM Vol. 3A 6.13). */
export const selError = (selector: number): number => selector & 0xfffc;
export const isNullSelector = (selector: number): boolean => (selector & 0xfffc) === 0;

/** System-descriptor types (S = 0), SDM Vol. 3A Table 3-2. */
export const SysType = {
  TSS16_AVAILABLE: 1,
  LDT: 2,
  TSS16_BUSY: 3,
  CALL_GATE16: 4,
  TASK_GATE: 5,
  INT_GATE16: 6,
  TRAP_GATE16: 7,
  TSS32_AVAILABLE: 9,
  TSS32_BUSY: 11,
  CALL_GATE32: 12,
  INT_GATE32: 14,
  TRAP_GATE32: 15,
} as const;

/** Base of a segment descriptor (Figure 3-8). */
export function descriptorBase(lo: number, hi: number): number {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000) | 0;
}

/** Byte limit, scaled by G: (limit << 12) | 0xFFF (SDM Vol. 3A 3.4.5). */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf_0000);
  return (hi & 0x0080_0000) !== 0 ? (raw << 12) | 0xfff : raw;
}

/** Access rights in the `segAccess` layout: high dword bits 8..23 without limit 19:16. */
export function descriptorAccess(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

// Predicates on the segAccess layout.
export const accDpl = (access: number): number => (access >>> SegAttr.DPL_SHIFT) & 3;
export const accPresent = (access: number): boolean => (access & SegAttr.P) !== 0;
/** S=1 and code. */
export const accIsCode = (access: number): boolean => (access & 0x18) === 0x18;
/** S=1 and data. */
export const accIsData = (access: number): boolean => (access & 0x18) === 0x10;
export const accIsSystem = (access: number): boolean => (access & SegAttr.S) === 0;
export const accConforming = (access: number): boolean => (access & 0x1c) === 0x1c;
export const accReadable = (access: number): boolean => (access & 0x18) === 0x10 || (access & 0x1a) === 0x1a;
export const accWritableData = (access: number): boolean => (access & 0x1a) === 0x12;
/** System type (valid when S = 0). */
export const accType = (access: number): number => access & 0xf;

/**
 * Read the descriptor `selector` names into `desc`. Returns false, without faulting, when
 * the selector lies outside its table (or names the LDT while LDTR is null). Paging faults
 * on the table itself are raised.
 */
export function readDescriptor(cpu: Cpu, selector: number): boolean {
  const index = selector & 0xfff8;
  let base: number;
  let limit: number;
  if ((selector & SEL_TI) !== 0) {
    if (isNullSelector(cpu.ldtrSel)) return false;
    base = cpu.ldtrBase;
    limit = cpu.ldtrLimit >>> 0;
  } else {
    base = cpu.gdtrBase;
    limit = cpu.gdtrLimit >>> 0;
  }
  if (index + 7 > limit) return false;
  const addr = (base + index) | 0;
  desc.addr = addr;
  desc.lo = readLinear32(cpu, addr, true);
  desc.hi = readLinear32(cpu, (addr + 4) | 0, true);
  return true;
}

/** readDescriptor that raises `vector`(selector & ~3 | ext) when the selector is outside its table. */
export function fetchDescriptor(cpu: Cpu, selector: number, vector: number, ext = 0): void {
  if (!readDescriptor(cpu, selector)) raise(cpu, vector, selError(selector) | ext);
}

/** Set the accessed bit of the descriptor last fetched, in memory (SDM Vol. 3A 3.4.5.1). */
export function setAccessedBit(cpu: Cpu): void {
  const hi = desc.hi;
  if ((hi & 0x100) === 0) {
    desc.hi = hi | 0x100;
    writeLinear8(cpu, (desc.addr + 5) | 0, ((hi >>> 8) | 1) & 0xff, true);
  }
}

/** Fill the cache of segment register `seg` from a descriptor (no checks). */
export function loadSegmentCache(cpu: Cpu, seg: number, selector: number, lo: number, hi: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = descriptorBase(lo, hi);
  cpu.segLimit[seg] = descriptorLimit(lo, hi);
  cpu.segAccess[seg] = descriptorAccess(hi);
}

/** Load CS from a code descriptor at privilege `cpl` (RPL of CS := CPL, SDM Vol. 3A 5.8.1). */
export function loadCodeSegment(cpu: Cpu, selector: number, lo: number, hi: number, cpl: number): void {
  loadSegmentCache(cpu, CS, (selector & 0xfffc) | cpl, lo, hi);
  cpu.cpl = cpl;
}

/** A null selector in a data segment register: the cache is marked not present. */
export function loadNullSegment(cpu: Cpu, seg: number, selector: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = 0;
  cpu.segAccess[seg] = 0;
}

/** Flat 4 GiB segment caches (SYSENTER/SYSEXIT, SDM Vol. 2B). */
export function loadFlatSegment(cpu: Cpu, seg: number, selector: number, access: number): void {
  cpu.segSel[seg] = selector;
  cpu.segBase[seg] = 0;
  cpu.segLimit[seg] = -1;
  cpu.segAccess[seg] = access;
}
