/**
 * Far control transfers: JMP/CALL far (direct and through call gates), RETF and IRET
 * (SDM Vol. 2A "JMP", "CALL", Vol. 2B "RET", "IRET/IRETD"; Vol. 3A 5.8).
 *
 * Every function validates everything and builds the whole stack frame before it commits a
 * register, so a fault leaves the CPU as it was at the start of the instruction (the
 * interpreter restores EIP and ESP; SS, CS, CPL and EFLAGS are never changed early).
 *
 * Not supported, by design (no hardware task switching in vmlab; Linux 686 does not use it):
 * - JMP/CALL to a TSS descriptor or through a task gate: #GP(selector).
 * - IRET with EFLAGS.NT = 1 (return from a nested task): #GP(0).
 * - IRET to virtual-8086 mode (EFLAGS.VM = 1 in the popped image at CPL 0): #GP(0).
 */

import { push16, push32 } from "../access.js";
import { type Cpu, CS, ES, ESP, Flag, GS, SS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  accConforming,
  accDpl,
  accIsCode,
  accIsSystem,
  accPresent,
  accType,
  accWritableData,
  desc,
  descriptorAccess,
  descriptorLimit,
  fetchDescriptor,
  isNullSelector,
  loadCodeSegment,
  loadNullSegment,
  loadSegmentCache,
  SysType,
  selError,
  setAccessedBit,
} from "./descriptors.js";
import { innerStack, loadInnerStack } from "./interrupts.js";
import {
  adjustStackPointer,
  beginFrame,
  beginFrameOnCurrentStack,
  frame,
  framePush,
  setStackPointer,
  stackPeek,
} from "./stack.js";

// ---- real mode ---------------------------------------------------------------------------

/** Real mode: CS = selector, base = selector << 4; limit and access rights are kept. */
function loadCsReal(cpu: Cpu, selector: number): void {
  cpu.segSel[CS] = selector & 0xffff;
  cpu.segBase[CS] = (selector & 0xffff) << 4;
}

function checkEipReal(cpu: Cpu, eip: number): void {
  if (eip >>> 0 > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
}

// ---- code-segment checks ------------------------------------------------------------------

/**
 * Direct transfer to a code segment (JMP/CALL, SDM Vol. 3A 5.8.1 / Vol. 2A JMP):
 * conforming: DPL <= CPL; non-conforming: RPL <= CPL and DPL = CPL. Else #GP(selector);
 * not present: #NP(selector).
 */
function checkDirectCode(cpu: Cpu, selector: number, access: number): void {
  const dpl = accDpl(access);
  if (accConforming(access)) {
    if (dpl > cpu.cpl) raise(cpu, Vector.GP, selError(selector));
  } else if ((selector & 3) > cpu.cpl || dpl !== cpu.cpl) {
    raise(cpu, Vector.GP, selError(selector));
  }
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
}

// Call-gate fields decoded by `readCallGate`.
let gateSelector = 0;
let gateOffset = 0;
let gate32 = false;
let gateParams = 0;

/** Gate checks common to JMP and CALL (Vol. 2A CALL "CALL-GATE"). */
function readCallGate(cpu: Cpu, selector: number, gateHi: number, gateLo: number): void {
  const access = descriptorAccess(gateHi);
  const dpl = accDpl(access);
  if (dpl < cpu.cpl || dpl < (selector & 3)) raise(cpu, Vector.GP, selError(selector));
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
  gate32 = accType(access) === SysType.CALL_GATE32;
  gateSelector = gateLo >>> 16;
  gateOffset = gate32 ? (gateHi & 0xffff_0000) | (gateLo & 0xffff) : gateLo & 0xffff;
  gateParams = gateHi & 0x1f;
  if (isNullSelector(gateSelector)) raise(cpu, Vector.GP, 0);
}

function isCallGate(access: number): boolean {
  const t = accType(access);
  return t === SysType.CALL_GATE32 || t === SysType.CALL_GATE16;
}

// ---- JMP far ------------------------------------------------------------------------------

export function farJump(cpu: Cpu, selector: number, offset: number, opSize32: boolean): void {
  selector &= 0xffff;
  if (!cpu.protectedMode || cpu.v86Mode) {
    checkEipReal(cpu, offset);
    loadCsReal(cpu, selector);
    cpu.eip = offset >>> 0;
    return;
  }
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  fetchDescriptor(cpu, selector, Vector.GP);
  let access = descriptorAccess(desc.hi);
  if (accIsCode(access)) {
    checkDirectCode(cpu, selector, access);
    if (offset >>> 0 > descriptorLimit(desc.lo, desc.hi) >>> 0) raise(cpu, Vector.GP, 0);
    setAccessedBit(cpu);
    loadCodeSegment(cpu, selector, desc.lo, desc.hi, cpu.cpl);
    cpu.eip = opSize32 ? offset >>> 0 : offset & 0xffff;
    return;
  }
  if (!accIsSystem(access) || !isCallGate(access)) {
    // Data segments, TSS descriptors and task gates (no task switching).
    raise(cpu, Vector.GP, selError(selector));
  }
  readCallGate(cpu, selector, desc.hi, desc.lo);
  const codeSel = gateSelector;
  fetchDescriptor(cpu, codeSel, Vector.GP);
  access = descriptorAccess(desc.hi);
  if (!accIsCode(access)) raise(cpu, Vector.GP, selError(codeSel));
  // JMP through a gate never changes privilege (Vol. 2A JMP).
  const dpl = accDpl(access);
  if (accConforming(access) ? dpl > cpu.cpl : dpl !== cpu.cpl) raise(cpu, Vector.GP, selError(codeSel));
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(codeSel));
  if (gateOffset >>> 0 > descriptorLimit(desc.lo, desc.hi) >>> 0) raise(cpu, Vector.GP, 0);
  setAccessedBit(cpu);
  loadCodeSegment(cpu, codeSel, desc.lo, desc.hi, cpu.cpl);
  cpu.eip = gateOffset >>> 0;
}

// ---- CALL far -----------------------------------------------------------------------------

/** Parameters copied by a call gate (at most 31). */
const params = new Int32Array(32);

export function farCall(
  cpu: Cpu,
  selector: number,
  offset: number,
  opSize32: boolean,
  nextEip: number,
): void {
  selector &= 0xffff;
  if (!cpu.protectedMode || cpu.v86Mode) {
    checkEipReal(cpu, offset);
    const cs = cpu.segSel[CS]!;
    if (opSize32) {
      push32(cpu, cs);
      push32(cpu, nextEip);
    } else {
      push16(cpu, cs);
      push16(cpu, nextEip);
    }
    loadCsReal(cpu, selector);
    cpu.eip = offset >>> 0;
    return;
  }
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  fetchDescriptor(cpu, selector, Vector.GP);
  let access = descriptorAccess(desc.hi);
  if (accIsCode(access)) {
    checkDirectCode(cpu, selector, access);
    if (offset >>> 0 > descriptorLimit(desc.lo, desc.hi) >>> 0) raise(cpu, Vector.GP, 0);
    const lo = desc.lo;
    const hi = desc.hi;
    const addr = desc.addr;
    beginFrameOnCurrentStack(cpu, 0);
    framePush(cpu, cpu.segSel[CS]!, opSize32);
    framePush(cpu, nextEip, opSize32);
    desc.addr = addr;
    desc.hi = hi;
    setAccessedBit(cpu);
    cpu.regs[ESP] = frame.esp;
    loadCodeSegment(cpu, selector, lo, hi, cpu.cpl);
    cpu.eip = opSize32 ? offset >>> 0 : offset & 0xffff;
    return;
  }
  if (!accIsSystem(access) || !isCallGate(access)) raise(cpu, Vector.GP, selError(selector));

  // Through a call gate (SDM Vol. 3A 5.8.4-5.8.5, Vol. 2A CALL).
  readCallGate(cpu, selector, desc.hi, desc.lo);
  const codeSel = gateSelector;
  const size32 = gate32;
  const target = gateOffset;
  const count = gateParams;
  fetchDescriptor(cpu, codeSel, Vector.GP);
  access = descriptorAccess(desc.hi);
  const dpl = accDpl(access);
  if (!accIsCode(access) || dpl > cpu.cpl) raise(cpu, Vector.GP, selError(codeSel));
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(codeSel));
  const codeLo = desc.lo;
  const codeHi = desc.hi;
  const codeAddr = desc.addr;
  if (target >>> 0 > descriptorLimit(codeLo, codeHi) >>> 0) raise(cpu, Vector.GP, 0);

  if (!accConforming(access) && dpl < cpu.cpl) {
    // More privilege: new stack from the TSS, copy `count` parameters (Figure 5-13).
    loadInnerStack(cpu, dpl, 0);
    const ssSel = innerStack.selector;
    const ssLo = innerStack.lo;
    const ssHi = innerStack.hi;
    const ssAddr = innerStack.addr;
    const psize = size32 ? 4 : 2;
    for (let i = 0; i < count; i++) params[i] = stackPeek(cpu, i * psize, size32);
    beginFrame(innerStack.base, innerStack.limit, innerStack.access, innerStack.esp, true, selError(ssSel));
    framePush(cpu, cpu.segSel[SS]!, size32);
    framePush(cpu, cpu.regs[ESP]!, size32);
    for (let i = count - 1; i >= 0; i--) framePush(cpu, params[i]!, size32);
    framePush(cpu, cpu.segSel[CS]!, size32);
    framePush(cpu, nextEip, size32);
    desc.addr = ssAddr;
    desc.hi = ssHi;
    setAccessedBit(cpu);
    desc.addr = codeAddr;
    desc.hi = codeHi;
    setAccessedBit(cpu);
    loadSegmentCache(cpu, SS, ssSel, ssLo, ssHi);
    cpu.regs[ESP] = frame.esp;
    loadCodeSegment(cpu, codeSel, codeLo, codeHi, dpl);
  } else {
    // Same privilege through the gate: the gate size decides the pushed width.
    beginFrameOnCurrentStack(cpu, 0);
    framePush(cpu, cpu.segSel[CS]!, size32);
    framePush(cpu, nextEip, size32);
    desc.addr = codeAddr;
    desc.hi = codeHi;
    setAccessedBit(cpu);
    cpu.regs[ESP] = frame.esp;
    loadCodeSegment(cpu, codeSel, codeLo, codeHi, cpu.cpl);
  }
  cpu.eip = target >>> 0;
}

// ---- returns ------------------------------------------------------------------------------

/**
 * Validate the return CS (RETF/IRET, Vol. 2B RET "RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL"):
 * leaves the descriptor in `desc`.
 */
function checkReturnCode(cpu: Cpu, selector: number): void {
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  const rpl = selector & 3;
  if (!accIsCode(access) || rpl < cpu.cpl) raise(cpu, Vector.GP, selError(selector));
  const dpl = accDpl(access);
  if (accConforming(access) ? dpl > rpl : dpl !== rpl) raise(cpu, Vector.GP, selError(selector));
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
}

/** Validate the outer stack segment for a return to privilege `rpl`; leaves it in `desc`. */
function checkReturnStack(cpu: Cpu, selector: number, rpl: number): void {
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  if ((selector & 3) !== rpl || !accWritableData(access) || accDpl(access) !== rpl) {
    raise(cpu, Vector.GP, selError(selector));
  }
  if (!accPresent(access)) raise(cpu, Vector.SS, selError(selector));
}

/**
 * After a return to an outer ring: ES, DS, FS, GS that the new CPL may not use (data or
 * non-conforming code with DPL < CPL) are loaded with the null selector (Vol. 2B RET).
 */
function nullInaccessibleSegments(cpu: Cpu): void {
  const cpl = cpu.cpl;
  for (let seg = ES; seg <= GS; seg++) {
    if (seg === CS || seg === SS) continue;
    const access = cpu.segAccess[seg]!;
    if (!accPresent(access)) continue;
    if ((!accIsCode(access) || !accConforming(access)) && accDpl(access) < cpl) loadNullSegment(cpu, seg, 0);
  }
}

export function farReturn(cpu: Cpu, opSize32: boolean, popBytes: number): void {
  const size = opSize32 ? 4 : 2;
  const eip = stackPeek(cpu, 0, opSize32);
  const selector = stackPeek(cpu, size, opSize32) & 0xffff;
  if (!cpu.protectedMode || cpu.v86Mode) {
    checkEipReal(cpu, eip);
    adjustStackPointer(cpu, 2 * size + popBytes);
    loadCsReal(cpu, selector);
    cpu.eip = eip >>> 0;
    return;
  }
  checkReturnCode(cpu, selector);
  const codeLo = desc.lo;
  const codeHi = desc.hi;
  const codeAddr = desc.addr;
  const rpl = selector & 3;
  if (eip >>> 0 > descriptorLimit(codeLo, codeHi) >>> 0) raise(cpu, Vector.GP, 0);
  if (rpl === cpu.cpl) {
    setAccessedBit(cpu);
    loadCodeSegment(cpu, selector, codeLo, codeHi, rpl);
    adjustStackPointer(cpu, 2 * size + popBytes);
    cpu.eip = eip >>> 0;
    return;
  }
  // Outer privilege level: SS:ESP follow the return address (and the popped parameters).
  const newEsp = stackPeek(cpu, 2 * size + popBytes, opSize32);
  const ssSel = stackPeek(cpu, 3 * size + popBytes, opSize32) & 0xffff;
  checkReturnStack(cpu, ssSel, rpl);
  setAccessedBit(cpu);
  loadSegmentCache(cpu, SS, ssSel, desc.lo, desc.hi);
  desc.addr = codeAddr;
  desc.hi = codeHi;
  setAccessedBit(cpu);
  loadCodeSegment(cpu, selector, codeLo, codeHi, rpl);
  setStackPointer(cpu, (opSize32 ? newEsp : newEsp & 0xffff) + popBytes);
  cpu.eip = eip >>> 0;
  nullInaccessibleSegments(cpu);
}

// ---- IRET ---------------------------------------------------------------------------------

/** Flags IRET loads at any privilege (Vol. 2B IRET): the status flags, TF, DF, NT. */
const IRET_BASE_MASK =
  Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT;

/**
 * EFLAGS after IRET in protected mode: IOPL only at CPL 0, IF only when CPL <= IOPL, VIF/VIP
 * only at CPL 0 with a 32-bit operand; RF, AC, ID with a 32-bit operand. `cpl` is the
 * privilege before the return.
 */
function iretFlags(cpu: Cpu, popped: number, opSize32: boolean, cpl: number): number {
  const cur = cpu.getEflags();
  let mask = IRET_BASE_MASK;
  if (opSize32) mask |= Flag.RF | Flag.AC | Flag.ID;
  if (cpl === 0) mask |= Flag.IOPL | (opSize32 ? Flag.VIF | Flag.VIP : 0);
  if (cpl <= (cur & Flag.IOPL) >>> 12) mask |= Flag.IF;
  return (cur & ~mask) | (popped & mask);
}

export function iret(cpu: Cpu, opSize32: boolean): void {
  const size = opSize32 ? 4 : 2;
  if (!cpu.protectedMode) {
    // Real mode (Vol. 2B IRET "REAL-ADDRESS-MODE").
    const eip = stackPeek(cpu, 0, opSize32);
    const selector = stackPeek(cpu, size, opSize32) & 0xffff;
    const popped = stackPeek(cpu, 2 * size, opSize32);
    checkEipReal(cpu, eip);
    const cur = cpu.getEflags();
    const flags = opSize32 ? (popped & 0x257fd5) | (cur & 0x1a0000) : (cur & ~0xffff) | (popped & 0xffff);
    adjustStackPointer(cpu, 3 * size);
    loadCsReal(cpu, selector);
    cpu.eip = eip >>> 0;
    cpu.setEflags(flags);
    return;
  }
  if (cpu.v86Mode) raise(cpu, Vector.GP, 0); // vm86 is not supported (see header)
  if ((cpu.getEflags() & Flag.NT) !== 0) raise(cpu, Vector.GP, 0); // task return: not supported
  const eip = stackPeek(cpu, 0, opSize32);
  const selector = stackPeek(cpu, size, opSize32) & 0xffff;
  const popped = stackPeek(cpu, 2 * size, opSize32);
  if (opSize32 && (popped & Flag.VM) !== 0 && cpu.cpl === 0) raise(cpu, Vector.GP, 0); // to vm86
  checkReturnCode(cpu, selector);
  const codeLo = desc.lo;
  const codeHi = desc.hi;
  const codeAddr = desc.addr;
  const rpl = selector & 3;
  const oldCpl = cpu.cpl;
  if (eip >>> 0 > descriptorLimit(codeLo, codeHi) >>> 0) raise(cpu, Vector.GP, 0);
  const popped16or32 = opSize32 ? popped : (cpu.getEflags() & ~0xffff) | (popped & 0xffff);
  if (rpl === oldCpl) {
    setAccessedBit(cpu);
    loadCodeSegment(cpu, selector, codeLo, codeHi, rpl);
    adjustStackPointer(cpu, 3 * size);
    cpu.eip = eip >>> 0;
    cpu.setEflags(iretFlags(cpu, popped16or32, opSize32, oldCpl));
    return;
  }
  // Return to an outer privilege level: pop SS:ESP too.
  const newEsp = stackPeek(cpu, 3 * size, opSize32);
  const ssSel = stackPeek(cpu, 4 * size, opSize32) & 0xffff;
  checkReturnStack(cpu, ssSel, rpl);
  setAccessedBit(cpu);
  const flags = iretFlags(cpu, popped16or32, opSize32, oldCpl);
  loadSegmentCache(cpu, SS, ssSel, desc.lo, desc.hi);
  desc.addr = codeAddr;
  desc.hi = codeHi;
  setAccessedBit(cpu);
  loadCodeSegment(cpu, selector, codeLo, codeHi, rpl);
  setStackPointer(cpu, opSize32 ? newEsp : newEsp & 0xffff);
  cpu.eip = eip >>> 0;
  cpu.setEflags(flags);
  nullInaccessibleSegments(cpu);
}
