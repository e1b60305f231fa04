/**
 * System instructions (SDM Vol. 2A/2B per instruction; Vol. 3A 2.7-2.8, 5.10):
 * LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR, LMSW/SMSW, CLTS, LAR/LSL, VERR/VERW, ARPL,
 * MOV CR/DR, INVLPG, RDMSR/WRMSR, SYSENTER/SYSEXIT and the TSS I/O permission bitmap.
 *
 * Sensitive instructions report a VM exit after their architectural effect is done (the
 * monitor sees the new state: CR_ACCESS with address = CR number, value = the value
 * written or read; DR_ACCESS likewise; INVLPG with address = linear; MSR_READ/MSR_WRITE
 * with address = ECX). A handler may replace `exit.value` of a MOV from CR/DR (the value
 * returned), and answers RDMSR of the MSRs the CPU does not own (value / valueHigh), or
 * sets `exit.fault` to make RDMSR/WRMSR raise #GP(0).
 */

import { ExitReason, type ExitReasonCode } from "../../vmm/exit-reason.js";
import {
  probeWriteMem,
  readLinear16,
  readMem16,
  readMem32,
  writeLinear8,
  writeMem16,
  writeMem32,
} from "../access.js";
import { type Cpu, CR0, CR4, CS, ECX, EDX, ESP, Flag, SS, TLB_DROP_NON_GLOBAL } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  accConforming,
  accDpl,
  accIsCode,
  accIsSystem,
  accPresent,
  accReadable,
  accType,
  accWritableData,
  desc,
  descriptorAccess,
  descriptorBase,
  descriptorLimit,
  fetchDescriptor,
  isNullSelector,
  loadFlatSegment,
  readDescriptor,
  SEL_TI,
  SysType,
  selError,
} from "./descriptors.js";

// ---- helpers ------------------------------------------------------------------------------

/** Privileged instructions: #GP(0) unless CPL 0 (real mode is CPL 0; vm86 is CPL 3). */
function requireCpl0(cpu: Cpu): void {
  if (cpu.protectedMode && cpu.cpl !== 0) raise(cpu, Vector.GP, 0);
}

/** Instructions that do not exist in real-address and virtual-8086 mode. */
function requireProtectedMode(cpu: Cpu): void {
  if (!cpu.protectedMode || cpu.v86Mode) raise(cpu, Vector.UD);
}

function setZf(cpu: Cpu, on: boolean): void {
  const f = cpu.getEflags();
  cpu.setEflags(on ? f | Flag.ZF : f & ~Flag.ZF);
}

/** Fill and send a simple exit; returns the record so the caller can read the handler's answer. */
function report(cpu: Cpu, reason: ExitReasonCode, address: number, write: boolean, value: number, high = 0) {
  const x = cpu.exit;
  x.reason = reason;
  x.address = address;
  x.size = 0;
  x.write = write;
  x.string = false;
  x.value = value | 0;
  x.valueHigh = high | 0;
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.eip) | 0;
  cpu.exitHandler.handleExit(x);
  return x;
}

/** The 16-bit r/m operand of a ModRM (register when mod = 3). */
function readRm16(cpu: Cpu, modrm: number, seg: number, offset: number): number {
  return modrm >= 0xc0 ? cpu.reg16[(modrm & 7) << 1]! : readMem16(cpu, seg, offset);
}

/** SLDT/STR/SMSW store: a register gets the operand size (zero-extended), memory 16 bits. */
function storeRm16(
  cpu: Cpu,
  modrm: number,
  seg: number,
  offset: number,
  value: number,
  opSize32: boolean,
): void {
  if (modrm >= 0xc0) {
    if (opSize32) cpu.regs[modrm & 7] = value;
    else cpu.reg16[(modrm & 7) << 1] = value;
  } else {
    writeMem16(cpu, seg, offset, value);
  }
}

// ---- 0F 00: SLDT STR LLDT LTR VERR VERW ----------------------------------------------------

export function execGroup6(cpu: Cpu, modrm: number, seg: number, offset: number, opSize32: boolean): void {
  requireProtectedMode(cpu);
  switch ((modrm >>> 3) & 7) {
    case 0:
      storeRm16(cpu, modrm, seg, offset, cpu.ldtrSel, opSize32);
      return;
    case 1:
      storeRm16(cpu, modrm, seg, offset, cpu.trSel, opSize32);
      return;
    case 2:
      requireCpl0(cpu);
      lldt(cpu, readRm16(cpu, modrm, seg, offset));
      return;
    case 3:
      requireCpl0(cpu);
      ltr(cpu, readRm16(cpu, modrm, seg, offset));
      return;
    case 4:
      setZf(cpu, verify(cpu, readRm16(cpu, modrm, seg, offset), false));
      return;
    case 5:
      setZf(cpu, verify(cpu, readRm16(cpu, modrm, seg, offset), true));
      return;
    default:
      raise(cpu, Vector.UD);
  }
}

/** LLDT (Vol. 2A): a null selector makes LDTR invalid; the descriptor must be an LDT in the GDT. */
function lldt(cpu: Cpu, selector: number): void {
  if (isNullSelector(selector)) {
    cpu.ldtrSel = selector;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    return;
  }
  if ((selector & SEL_TI) !== 0) raise(cpu, Vector.GP, selError(selector));
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  if (!accIsSystem(access) || accType(access) !== SysType.LDT) raise(cpu, Vector.GP, selError(selector));
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
  cpu.ldtrSel = selector;
  cpu.ldtrBase = descriptorBase(desc.lo, desc.hi);
  cpu.ldtrLimit = descriptorLimit(desc.lo, desc.hi);
}

/** LTR (Vol. 2A): an available TSS in the GDT; marks it busy in memory. */
function ltr(cpu: Cpu, selector: number): void {
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  if ((selector & SEL_TI) !== 0) raise(cpu, Vector.GP, selError(selector));
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  const type = accType(access);
  if (!accIsSystem(access) || (type !== SysType.TSS32_AVAILABLE && type !== SysType.TSS16_AVAILABLE)) {
    raise(cpu, Vector.GP, selError(selector));
  }
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
  writeLinear8(cpu, (desc.addr + 5) | 0, ((desc.hi >>> 8) | 2) & 0xff, true);
  cpu.trSel = selector;
  cpu.trBase = descriptorBase(desc.lo, desc.hi);
  cpu.trLimit = descriptorLimit(desc.lo, desc.hi);
  cpu.trAccess = access | 2;
}

/** VERR / VERW (Vol. 2B): readable / writable from CPL and RPL, without faulting. */
function verify(cpu: Cpu, selector: number, write: boolean): boolean {
  if (isNullSelector(selector) || !readDescriptor(cpu, selector)) return false;
  const access = descriptorAccess(desc.hi);
  if (accIsSystem(access)) return false;
  if (write ? !accWritableData(access) : !accReadable(access)) return false;
  if (accIsCode(access) && accConforming(access)) return true;
  const dpl = accDpl(access);
  return dpl >= cpu.cpl && dpl >= (selector & 3);
}

// ---- 0F 02 / 0F 03: LAR, LSL ---------------------------------------------------------------

/** System types LAR accepts (Vol. 2A LAR, Table 3-..): TSSs, LDT, call and task gates. */
const LAR_SYSTEM_TYPES =
  (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 11) | (1 << 12);
/** System types LSL accepts (Vol. 2A LSL): TSSs and LDT (gates have no limit). */
const LSL_SYSTEM_TYPES = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 11);

export function execLarLsl(
  cpu: Cpu,
  isLsl: boolean,
  selector: number,
  destReg: number,
  opSize32: boolean,
): void {
  requireProtectedMode(cpu);
  selector &= 0xffff;
  let ok = false;
  if (!isNullSelector(selector) && readDescriptor(cpu, selector)) {
    const access = descriptorAccess(desc.hi);
    ok = accIsSystem(access)
      ? (((isLsl ? LSL_SYSTEM_TYPES : LAR_SYSTEM_TYPES) >>> accType(access)) & 1) !== 0
      : true;
    if (ok && !(accIsCode(access) && accConforming(access))) {
      const dpl = accDpl(access);
      ok = dpl >= cpu.cpl && dpl >= (selector & 3);
    }
  }
  setZf(cpu, ok);
  if (!ok) return;
  const value = isLsl ? descriptorLimit(desc.lo, desc.hi) : desc.hi & (opSize32 ? 0x00f0_ff00 : 0xff00);
  if (opSize32) cpu.regs[destReg & 7] = value;
  else cpu.reg16[(destReg & 7) << 1] = value;
}

/** ARPL (Vol. 2A): raise the RPL of `dest` to that of `src`; ZF says whether it changed. */
export function arpl(cpu: Cpu, dest: number, src: number): number {
  requireProtectedMode(cpu);
  if ((dest & 3) < (src & 3)) {
    setZf(cpu, true);
    return ((dest & ~3) | (src & 3)) & 0xffff;
  }
  setZf(cpu, false);
  return dest & 0xffff;
}

// ---- 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG -------------------------------------------

export function execGroup7(cpu: Cpu, modrm: number, seg: number, offset: number, opSize32: boolean): void {
  const reg = (modrm >>> 3) & 7;
  const isReg = modrm >= 0xc0;
  switch (reg) {
    case 0:
    case 1: {
      if (isReg) {
        // 0F 01 C1 = VMCALL: a hypercall, reported as the VMCALL exit (SDM Vol. 3C 25.1.3).
        if (modrm === 0xc1) {
          report(cpu, ExitReason.VMCALL, 0, false, 0);
          return;
        }
        raise(cpu, Vector.UD);
      }
      // SGDT / SIDT: a 16-bit operand stores 24 bits of base and a zero byte (Vol. 2B SGDT).
      const base = reg === 0 ? cpu.gdtrBase : cpu.idtrBase;
      const limit = reg === 0 ? cpu.gdtrLimit : cpu.idtrLimit;
      probeWriteMem(cpu, seg, offset, 6);
      writeMem16(cpu, seg, offset, limit);
      writeMem32(cpu, seg, (offset + 2) | 0, opSize32 ? base : base & 0xff_ffff);
      return;
    }
    case 2:
    case 3: {
      if (isReg) raise(cpu, Vector.UD);
      requireCpl0(cpu);
      // LGDT / LIDT: with a 16-bit operand only 24 bits of base are loaded (Vol. 2A LGDT).
      const limit = readMem16(cpu, seg, offset);
      let base = readMem32(cpu, seg, (offset + 2) | 0);
      if (!opSize32) base &= 0xff_ffff;
      if (reg === 2) {
        cpu.gdtrBase = base;
        cpu.gdtrLimit = limit;
      } else {
        cpu.idtrBase = base;
        cpu.idtrLimit = limit;
      }
      return;
    }
    case 4:
      // SMSW: allowed at any CPL; a 32-bit register gets all of CR0 (Vol. 2B SMSW).
      storeRm16(cpu, modrm, seg, offset, isReg && opSize32 ? cpu.cr0 : cpu.cr0 & 0xffff, opSize32);
      return;
    case 6: {
      // LMSW: loads PE, MP, EM, TS; cannot clear PE (Vol. 2A LMSW).
      requireCpl0(cpu);
      const src = readRm16(cpu, modrm, seg, offset);
      writeCr0(cpu, (cpu.cr0 & ~0xe) | (src & 0xf) | (cpu.cr0 & CR0.PE));
      return;
    }
    case 7: {
      if (isReg) raise(cpu, Vector.UD);
      requireCpl0(cpu);
      invlpg(cpu, (cpu.segBase[seg]! + offset) | 0);
      return;
    }
    default:
      raise(cpu, Vector.UD);
  }
}

/**
 * The paging unit dropped translations: the engines' caches built on them (their soft TLBs,
 * chained blocks, fetch pages) go too (cpu.ts, tlbEpoch). This is the only place, with
 * reset, where a guest instruction changes the linear-to-physical mapping.
 */
function translationsChanged(cpu: Cpu): void {
  cpu.tlbEpoch = (cpu.tlbEpoch + 1) | 0;
}

/** Record a partial drop of translations (cpu.tlbDropPages), made before its epoch bump. */
function recordDrop(cpu: Cpu, record: number): void {
  if (cpu.tlbDropCount === 0) cpu.tlbDropBase = cpu.tlbEpoch;
  if (cpu.tlbDropCount < cpu.tlbDropPages.length) cpu.tlbDropPages[cpu.tlbDropCount] = record;
  cpu.tlbDropCount++;
}

/**
 * INVLPG: drop the TLB entry, then the INVLPG exit (address = linear). The page is recorded
 * (cpu.tlbDropPages) so the engines can drop only what depended on it.
 */
function invlpg(cpu: Cpu, linear: number): void {
  const large = cpu.mmu.invalidatePage(linear);
  recordDrop(cpu, large ? -1 - (linear >>> 22) : linear >>> 12);
  translationsChanged(cpu);
  report(cpu, ExitReason.INVLPG, linear >>> 0, false, 0);
}

// ---- control registers ---------------------------------------------------------------------

/** CR0 bits that exist on a P6 (the rest read as 0 and writes to them are ignored). */
const CR0_BITS =
  CR0.PE | CR0.MP | CR0.EM | CR0.TS | CR0.ET | CR0.NE | CR0.WP | CR0.AM | CR0.NW | CR0.CD | CR0.PG;
/** CR4 bits vmlab accepts; PAE and everything else raise #GP(0) (no PAE, SSE, VMX...). */
const CR4_ALLOWED =
  CR4.VME | CR4.PVI | CR4.TSD | CR4.DE | CR4.PSE | CR4.MCE | CR4.PGE | CR4.PCE | CR4.OSFXSR | (1 << 10);
/** CR3 bits kept without PAE: page-directory base, PCD, PWT (SDM Vol. 3A 4.3, Table 4-3). */
const CR3_BITS = 0xffff_f018 | 0;

/** Checks and side effects of a CR0 write (MOV, LMSW, CLTS), then the CR_ACCESS exit. */
function writeCr0(cpu: Cpu, value: number): void {
  value = (value & CR0_BITS) | CR0.ET; // ET is hard-wired to 1 since the 486
  if ((value & CR0.PG) !== 0 && (value & CR0.PE) === 0) raise(cpu, Vector.GP, 0);
  if ((value & CR0.NW) !== 0 && (value & CR0.CD) === 0) raise(cpu, Vector.GP, 0);
  const old = cpu.cr0;
  cpu.cr0 = value;
  // PG or WP changes flush everything (SDM 4.10.4.1; the TLB caches WP-dependent rights),
  // so does PE (the guest may have rebuilt its tables in between).
  if (((old ^ value) & (CR0.PG | CR0.WP | CR0.PE)) !== 0) {
    cpu.mmu.flush(true);
    translationsChanged(cpu);
  }
  if ((value & CR0.PE) === 0) cpu.cpl = 0;
  report(cpu, ExitReason.CR_ACCESS, 0, true, value);
}

export function movToCr(cpu: Cpu, cr: number, value: number): void {
  if (cr === 1 || cr > 4) raise(cpu, Vector.UD);
  requireCpl0(cpu);
  value |= 0;
  switch (cr) {
    case 0:
      writeCr0(cpu, value);
      return;
    case 2:
      cpu.cr2 = value;
      break;
    case 3:
      cpu.cr3 = value & CR3_BITS;
      cpu.mmu.flush(false);
      recordDrop(cpu, TLB_DROP_NON_GLOBAL);
      translationsChanged(cpu);
      break;
    default: {
      if ((value & ~CR4_ALLOWED) !== 0) raise(cpu, Vector.GP, 0);
      const old = cpu.cr4;
      cpu.cr4 = value;
      if (((old ^ value) & (CR4.PGE | CR4.PSE | CR4.PAE)) !== 0) {
        cpu.mmu.flush(true);
        translationsChanged(cpu);
      }
      break;
    }
  }
  // The exit carries the value the register now holds (CR3 without its ignored bits).
  report(cpu, ExitReason.CR_ACCESS, cr, true, cr === 2 ? cpu.cr2 : cr === 3 ? cpu.cr3 : cpu.cr4);
}

export function movFromCr(cpu: Cpu, cr: number): number {
  if (cr === 1 || cr > 4) raise(cpu, Vector.UD);
  requireCpl0(cpu);
  const value = cr === 0 ? cpu.cr0 : cr === 2 ? cpu.cr2 : cr === 3 ? cpu.cr3 : cpu.cr4;
  return report(cpu, ExitReason.CR_ACCESS, cr, false, value).value | 0;
}

export function clts(cpu: Cpu): void {
  requireCpl0(cpu);
  writeCr0(cpu, cpu.cr0 & ~CR0.TS);
}

// ---- debug registers (SDM Vol. 3A 17.2) ----------------------------------------------------

const DR6_FIXED1 = 0xffff_0ff0 | 0;
const DR6_WRITABLE = 0xe00f;
const DR7_FIXED1 = 0x400;
const DR7_WRITABLE = 0xffff_23ff | 0;
const DR7_GD = 1 << 13;
const DR6_BD = 1 << 13;

/** DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); DR7.GD makes any access #DB (17.2.4). */
function debugRegisterIndex(cpu: Cpu, dr: number): number {
  dr &= 7;
  if (dr === 4 || dr === 5) {
    if ((cpu.cr4 & CR4.DE) !== 0) raise(cpu, Vector.UD);
    dr += 2;
  }
  requireCpl0(cpu);
  if ((cpu.dr[7]! & DR7_GD) !== 0) {
    cpu.dr[6] = cpu.dr[6]! | DR6_BD;
    cpu.dr[7] = cpu.dr[7]! & ~DR7_GD;
    raise(cpu, Vector.DB);
  }
  return dr;
}

export function movToDr(cpu: Cpu, dr: number, value: number): void {
  const n = debugRegisterIndex(cpu, dr);
  if (n === 6) value = (value & DR6_WRITABLE) | DR6_FIXED1;
  else if (n === 7) value = (value & DR7_WRITABLE) | DR7_FIXED1;
  cpu.dr[n] = value;
  report(cpu, ExitReason.DR_ACCESS, n, true, value);
}

export function movFromDr(cpu: Cpu, dr: number): number {
  const n = debugRegisterIndex(cpu, dr);
  return report(cpu, ExitReason.DR_ACCESS, n, false, cpu.dr[n]!).value | 0;
}

// ---- MSRs ----------------------------------------------------------------------------------

/** The MSRs the CPU core keeps itself (SDM Vol. 4 Table 2-2). */
export const CpuMsr = {
  IA32_TIME_STAMP_COUNTER: 0x10,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
} as const;

/** The TSC: the virtual time base plus the offset IA32_TIME_STAMP_COUNTER writes set. */
export function readTsc(cpu: Cpu): bigint {
  return BigInt.asUintN(64, cpu.readTimeBase() + cpu.tscOffset);
}

export function rdmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const index = cpu.regs[ECX]! >>> 0;
  let lo = 0;
  let hi = 0;
  let own = true;
  switch (index) {
    case CpuMsr.IA32_TIME_STAMP_COUNTER: {
      const tsc = readTsc(cpu);
      lo = Number(tsc & 0xffff_ffffn) | 0;
      hi = Number(tsc >> 32n) | 0;
      break;
    }
    case CpuMsr.IA32_SYSENTER_CS:
      lo = cpu.sysenterCs;
      break;
    case CpuMsr.IA32_SYSENTER_ESP:
      lo = cpu.sysenterEsp;
      break;
    case CpuMsr.IA32_SYSENTER_EIP:
      lo = cpu.sysenterEip;
      break;
    default:
      own = false;
  }
  const x = report(cpu, ExitReason.MSR_READ, index, false, lo, hi);
  if (!own) {
    if (x.fault) raise(cpu, Vector.GP, 0);
    lo = x.value;
    hi = x.valueHigh;
  }
  cpu.regs[0] = lo;
  cpu.regs[EDX] = hi;
}

export function wrmsr(cpu: Cpu): void {
  requireCpl0(cpu);
  const index = cpu.regs[ECX]! >>> 0;
  const lo = cpu.regs[0]!;
  const hi = cpu.regs[EDX]!;
  let own = true;
  switch (index) {
    case CpuMsr.IA32_TIME_STAMP_COUNTER:
      cpu.tscOffset = ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) - cpu.readTimeBase();
      break;
    case CpuMsr.IA32_SYSENTER_CS:
      cpu.sysenterCs = lo;
      break;
    case CpuMsr.IA32_SYSENTER_ESP:
      cpu.sysenterEsp = lo;
      break;
    case CpuMsr.IA32_SYSENTER_EIP:
      cpu.sysenterEip = lo;
      break;
    default:
      own = false;
  }
  const x = report(cpu, ExitReason.MSR_WRITE, index, true, lo, hi);
  if (!own && x.fault) raise(cpu, Vector.GP, 0);
}

// ---- SYSENTER / SYSEXIT (SDM Vol. 2B) ------------------------------------------------------

/** Flat code: type 11 (execute/read, accessed), S, P, D, G; DPL added by the caller. */
const FLAT_CODE = 0xc09b;
/** Flat data: type 3 (read/write, accessed), S, P, B, G. */
const FLAT_DATA = 0xc093;

export function sysenter(cpu: Cpu): void {
  const cs = cpu.sysenterCs & 0xfffc;
  if (!cpu.protectedMode || cs === 0) raise(cpu, Vector.GP, 0);
  cpu.setEflags(cpu.getEflags() & ~(Flag.VM | Flag.IF | Flag.RF));
  loadFlatSegment(cpu, CS, cs, FLAT_CODE);
  loadFlatSegment(cpu, SS, (cs + 8) & 0xfffc, FLAT_DATA);
  cpu.cpl = 0;
  cpu.regs[ESP] = cpu.sysenterEsp;
  cpu.eip = cpu.sysenterEip >>> 0;
}

export function sysexit(cpu: Cpu): void {
  const cs = cpu.sysenterCs & 0xfffc;
  if (!cpu.protectedMode || cpu.v86Mode || cpu.cpl !== 0 || cs === 0) raise(cpu, Vector.GP, 0);
  loadFlatSegment(cpu, CS, ((cs + 16) & 0xfffc) | 3, FLAT_CODE | (3 << 5));
  loadFlatSegment(cpu, SS, ((cs + 24) & 0xfffc) | 3, FLAT_DATA | (3 << 5));
  cpu.cpl = 3;
  cpu.regs[ESP] = cpu.regs[ECX]!;
  cpu.eip = cpu.regs[EDX]! >>> 0;
}

// ---- I/O permission (SDM Vol. 1 19.5) ------------------------------------------------------

export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode) return;
  if (!cpu.v86Mode && cpu.cpl <= (cpu.getEflags() & Flag.IOPL) >>> 12) return;
  // The bitmap lives in a 32-bit TSS: offset at TSS+0x66; every bit of the access must be 0.
  const type = cpu.trAccess & 0x1d; // busy bit masked
  const limit = cpu.trLimit >>> 0;
  if (type !== SysType.TSS32_AVAILABLE || limit < 0x67) raise(cpu, Vector.GP, 0);
  const bitmap = readLinear16(cpu, (cpu.trBase + 0x66) | 0, true);
  const at = bitmap + ((port & 0xffff) >>> 3);
  // Two bytes are read so that an access spanning a byte boundary is covered (19.5.2).
  if (at + 1 > limit) raise(cpu, Vector.GP, 0);
  const bits = readLinear16(cpu, (cpu.trBase + at) | 0, true);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) raise(cpu, Vector.GP, 0);
}
