/**
 * Interrupt and exception delivery (SDM Vol. 3A 6.10-6.15; Vol. 2A "INT n/INTO/INT3/INT1"
 * pseudo-code), real-mode IVT delivery (Vol. 3A 20.1.4), double-fault promotion
 * (Table 6-5) and triple fault (6.15 "Interrupt 8").
 *
 * Not supported, by design (Linux 686 does not need them):
 * - task gates in the IDT (vmlab has no hardware task switching): delivery through a task
 *   gate raises #GP(vector*8+2+EXT). Linux installs a task gate for #DF only, so a guest
 *   that double-faults triple-faults instead (it was dying anyway).
 * - virtual-8086 mode (delivery from vm86 raises #GP(0)).
 * - RF is not set in the EFLAGS image pushed for faults (only instruction breakpoints
 *   care, and vmlab implements no DR0-3 breakpoints).
 */

import { ExitReason } from "../../vmm/exit-reason.js";
import { readLinear16, readLinear32 } from "../access.js";
import { type Cpu, CS, ESP, Flag, SS } from "../cpu.js";
import { CPU_FAULT, raise, Vector } from "../fault.js";
import {
  accConforming,
  accDpl,
  accIsCode,
  accPresent,
  accWritableData,
  desc,
  descriptorAccess,
  descriptorLimit,
  fetchDescriptor,
  isNullSelector,
  loadCodeSegment,
  loadSegmentCache,
  SysType,
  selError,
  setAccessedBit,
} from "./descriptors.js";
import { beginFrame, beginFrameOnCurrentStack, frame, framePush } from "./stack.js";

/** Where an event comes from: decides the gate-DPL check and the EXT bit (SDM 6.13). */
export const EventSource = {
  /** INT n, INT3, INTO: gate DPL is checked, EXT = 0. */
  SOFTWARE: 0,
  /** A processor exception (EXT = 1 in the error codes of faults during its delivery). */
  EXCEPTION: 1,
  /** An external (hardware) interrupt: EXT = 1. */
  EXTERNAL: 2,
} as const;
export type EventSourceCode = (typeof EventSource)[keyof typeof EventSource];

const BENIGN = 0;
const CONTRIBUTORY = 1;
const PAGE_FAULT = 2;

/** SDM Vol. 3A Table 6-4: exception classes for double-fault detection. */
function exceptionClass(vector: number): number {
  if (vector === Vector.PF) return PAGE_FAULT;
  if (vector === Vector.DE || (vector >= Vector.TS && vector <= Vector.GP)) return CONTRIBUTORY;
  return BENIGN;
}

/** Bounds the serial handling of faults during delivery; never reached by real chains. */
const MAX_NESTING = 8;

// ---- entry points --------------------------------------------------------------------------

/** See index.ts. */
export function deliverException(cpu: Cpu): void {
  const err = cpu.faultHasErrorCode ? cpu.faultErrorCode : -1;
  deliverWithRecovery(cpu, cpu.faultVector, err, EventSource.EXCEPTION, cpu.eip);
}

/** See index.ts. */
export function deliverExternalInterrupt(cpu: Cpu, vector: number): void {
  deliverWithRecovery(cpu, vector & 0xff, -1, EventSource.EXTERNAL, cpu.eip);
}

/** See index.ts. Faults during delivery propagate to the interpreter (EIP = the INT). */
export function softwareInterrupt(cpu: Cpu, vector: number, nextEip: number, kind: number): void {
  if (kind === 2 && (cpu.getEflags() & Flag.OF) === 0) {
    // INTO with OF = 0 is a no-op.
    cpu.eip = nextEip >>> 0;
    return;
  }
  vector &= 0xff;
  // INT3 and INTO raise #BP / #OF: VT-x reports them through the exception bitmap, INT n not
  // (SDM Vol. 3C 25.2).
  if (kind !== 0 && ((cpu.exceptionBitmap >>> vector) & 1) !== 0 && reportException(cpu, vector, -1)) {
    cpu.eip = nextEip >>> 0;
    return;
  }
  deliverEvent(cpu, vector, -1, EventSource.SOFTWARE, nextEip);
}

// ---- recovery from faults during delivery ------------------------------------------------

/**
 * Deliver an event; when its delivery faults, apply Table 6-5: contributory after
 * contributory, or contributory/#PF after #PF, becomes #DF; anything else is handled
 * serially (the second exception is delivered; the first is lost, and re-occurs when the
 * handler returns). A fault while delivering #DF shuts the CPU down (triple fault).
 */
function deliverWithRecovery(
  cpu: Cpu,
  vector: number,
  error: number,
  source: EventSourceCode,
  eip: number,
): void {
  if (cpu.shutdown) return;
  cpu.halted = false;
  for (let round = 0; ; round++) {
    if (source === EventSource.EXCEPTION && ((cpu.exceptionBitmap >>> vector) & 1) !== 0 && vector < 32) {
      if (reportException(cpu, vector, error)) return;
    }
    try {
      deliverEvent(cpu, vector, error, source, eip);
      return;
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
    }
    const second = cpu.faultVector;
    const secondError = cpu.faultHasErrorCode ? cpu.faultErrorCode : -1;
    if ((source === EventSource.EXCEPTION && vector === Vector.DF) || round >= MAX_NESTING) {
      tripleFault(cpu);
      return;
    }
    const first = source === EventSource.EXCEPTION ? exceptionClass(vector) : BENIGN;
    const cls = exceptionClass(second);
    if ((first === CONTRIBUTORY && cls === CONTRIBUTORY) || (first === PAGE_FAULT && cls !== BENIGN)) {
      vector = Vector.DF;
      error = 0;
    } else {
      vector = second;
      error = secondError;
    }
    source = EventSource.EXCEPTION;
  }
}

/**
 * EXCEPTION_NMI exit (VT-x exception bitmap, SDM Vol. 3C 25.2 and 27.2.2): address =
 * vector, valueHigh = error code (0 when none), value = CR2 for #PF (the exit
 * qualification). Returns true when the handler set `cpu.suppressException` (the monitor
 * resolved the exception itself, e.g. a shadow-paging fault, and does not re-inject it).
 * Note: the paging unit writes CR2 when it raises #PF (the LinearTranslator contract), so a
 * suppressed #PF has still changed the guest's CR2; a monitor that hides faults restores it.
 */
function reportException(cpu: Cpu, vector: number, error: number): boolean {
  const x = cpu.exit;
  x.reason = ExitReason.EXCEPTION_NMI;
  x.address = vector;
  x.valueHigh = Math.max(0, error);
  x.value = vector === Vector.PF ? cpu.cr2 : 0;
  x.size = 0;
  x.write = false;
  x.string = false;
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.eip) | 0;
  cpu.suppressException = false;
  cpu.exitHandler.handleExit(x);
  if (cpu.suppressException) {
    cpu.suppressException = false;
    return true;
  }
  return false;
}

/** Shutdown after a triple fault: `shutdown` is set first, so a handler may reset the CPU. */
export function tripleFault(cpu: Cpu): void {
  cpu.shutdown = true;
  cpu.halted = false;
  const x = cpu.exit;
  x.reason = ExitReason.TRIPLE_FAULT;
  x.address = 0;
  x.size = 0;
  x.write = false;
  x.string = false;
  x.value = 0;
  x.valueHigh = 0;
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.eip) | 0;
  cpu.exitHandler.handleExit(x);
}

// ---- delivery ------------------------------------------------------------------------------

/**
 * Deliver one event, raising (without changing any register) if delivery faults.
 * `error` < 0: no error code. `eip`: the return address pushed.
 */
export function deliverEvent(
  cpu: Cpu,
  vector: number,
  error: number,
  source: EventSourceCode,
  eip: number,
): void {
  if (!cpu.protectedMode) deliverReal(cpu, vector, eip);
  else deliverProtected(cpu, vector, error, source, eip);
  cpu.halted = false;
  cpu.interruptShadow = 0;
}

/** Real mode: IVT entry = offset:segment at IDTR.base + vector*4 (SDM Vol. 3A 20.1.4). */
function deliverReal(cpu: Cpu, vector: number, eip: number): void {
  const entry = vector << 2;
  if (entry + 3 > cpu.idtrLimit >>> 0) raise(cpu, Vector.GP, 0);
  const ip = readLinear16(cpu, (cpu.idtrBase + entry) | 0, true);
  const cs = readLinear16(cpu, (cpu.idtrBase + entry + 2) | 0, true);
  const flags = cpu.getEflags();
  beginFrameOnCurrentStack(cpu, 0);
  framePush(cpu, flags, false);
  framePush(cpu, cpu.segSel[CS]!, false);
  framePush(cpu, eip, false);
  cpu.regs[ESP] = frame.esp;
  cpu.setEflags(flags & ~(Flag.IF | Flag.TF | Flag.AC | Flag.RF));
  cpu.segSel[CS] = cs;
  cpu.segBase[CS] = cs << 4;
  cpu.eip = ip >>> 0;
}

/** Protected mode through an interrupt or trap gate (SDM Vol. 3A 6.12.1, Vol. 2A INT n). */
function deliverProtected(
  cpu: Cpu,
  vector: number,
  error: number,
  source: EventSourceCode,
  eip: number,
): void {
  const ext = source === EventSource.SOFTWARE ? 0 : 1;
  const idtError = (vector << 3) | 2 | ext;
  if (cpu.v86Mode) raise(cpu, Vector.GP, 0);
  // IDT limit (6.10) and gate (6.11).
  if ((vector << 3) + 7 > cpu.idtrLimit >>> 0) raise(cpu, Vector.GP, idtError);
  const gateAddr = (cpu.idtrBase + (vector << 3)) | 0;
  const gateLo = readLinear32(cpu, gateAddr, true);
  const gateHi = readLinear32(cpu, (gateAddr + 4) | 0, true);
  const gateType = (gateHi >>> 8) & 0x1f; // includes S, which must be 0
  let gate32: boolean;
  switch (gateType) {
    case SysType.INT_GATE32:
    case SysType.TRAP_GATE32:
      gate32 = true;
      break;
    case SysType.INT_GATE16:
    case SysType.TRAP_GATE16:
      gate32 = false;
      break;
    default:
      // Task gates included: no hardware task switching (see the header).
      raise(cpu, Vector.GP, idtError);
  }
  const gateDpl = (gateHi >>> 13) & 3;
  if (source === EventSource.SOFTWARE && gateDpl < cpu.cpl) raise(cpu, Vector.GP, (vector << 3) | 2);
  if ((gateHi & 0x8000) === 0) raise(cpu, Vector.NP, idtError);
  const trapGate = (gateType & 1) !== 0;
  const selector = gateLo >>> 16;
  const offset = gate32 ? (gateHi & 0xffff_0000) | (gateLo & 0xffff) : gateLo & 0xffff;

  // Target code segment.
  if (isNullSelector(selector)) raise(cpu, Vector.GP, ext);
  fetchDescriptor(cpu, selector, Vector.GP, ext);
  const codeLo = desc.lo;
  const codeHi = desc.hi;
  const codeAccess = descriptorAccess(codeHi);
  const dpl = accDpl(codeAccess);
  if (!accIsCode(codeAccess) || dpl > cpu.cpl) raise(cpu, Vector.GP, selError(selector) | ext);
  if (!accPresent(codeAccess)) raise(cpu, Vector.NP, selError(selector) | ext);
  if (offset >>> 0 > descriptorLimit(codeLo, codeHi) >>> 0) raise(cpu, Vector.GP, ext);
  const codeAddr = desc.addr;

  const flags = cpu.getEflags();
  const size32 = gate32;
  if (!accConforming(codeAccess) && dpl < cpu.cpl) {
    // Inter-privilege: stack switch from the TSS (6.12.1, Figure 6-4).
    loadInnerStack(cpu, dpl, ext);
    const ssSel = innerStack.selector;
    const ssLo = innerStack.lo;
    const ssHi = innerStack.hi;
    beginFrame(innerStack.base, innerStack.limit, innerStack.access, innerStack.esp, true, ext);
    framePush(cpu, cpu.segSel[SS]!, size32);
    framePush(cpu, cpu.regs[ESP]!, size32);
    framePush(cpu, flags, size32);
    framePush(cpu, cpu.segSel[CS]!, size32);
    framePush(cpu, eip, size32);
    if (error >= 0) framePush(cpu, error, size32);
    // Commit.
    desc.addr = innerStack.addr;
    desc.hi = ssHi;
    setAccessedBit(cpu);
    desc.addr = codeAddr;
    desc.hi = codeHi;
    setAccessedBit(cpu);
    loadSegmentCache(cpu, SS, ssSel, ssLo, ssHi);
    cpu.regs[ESP] = frame.esp;
    loadCodeSegment(cpu, selector, codeLo, codeHi, dpl);
  } else {
    // Same privilege (conforming code, or DPL = CPL).
    beginFrameOnCurrentStack(cpu, ext);
    frame.system = cpu.cpl !== 3;
    framePush(cpu, flags, size32);
    framePush(cpu, cpu.segSel[CS]!, size32);
    framePush(cpu, eip, size32);
    if (error >= 0) framePush(cpu, error, size32);
    desc.addr = codeAddr;
    desc.hi = codeHi;
    setAccessedBit(cpu);
    cpu.regs[ESP] = frame.esp;
    loadCodeSegment(cpu, selector, codeLo, codeHi, cpu.cpl);
  }
  cpu.eip = offset >>> 0;
  // 6.12.1.3: TF, VM, RF, NT cleared; an interrupt gate also clears IF.
  let newFlags = flags & ~(Flag.TF | Flag.VM | Flag.RF | Flag.NT);
  if (!trapGate) newFlags &= ~Flag.IF;
  cpu.setEflags(newFlags);
}

// ---- the inner stack from the TSS ----------------------------------------------------------

class InnerStack {
  selector = 0;
  lo = 0;
  hi = 0;
  addr = 0;
  base = 0;
  limit = 0;
  access = 0;
  esp = 0;
}
/** The stack found by `loadInnerStack` (validated, not yet loaded). */
export const innerStack = new InnerStack();

/**
 * Read SS:ESP for privilege `dpl` from the current TSS and validate the stack segment
 * (SDM Vol. 3A 6.12.1 and 7.2.1; Vol. 2A INT n / CALL "inner privilege"). 32-bit TSS:
 * ESPn at 4 + 8n, SSn at 8 + 8n; 16-bit TSS: SPn at 2 + 4n, SSn at 4 + 4n.
 * Errors: #TS(TR) when the TSS is too small, #TS(SS) for a bad stack segment, #SS(SS)
 * when it is not present; `ext` is ORed into each.
 */
export function loadInnerStack(cpu: Cpu, dpl: number, ext: number): void {
  const trType = cpu.trAccess & 0x1f;
  const tss32 = trType === SysType.TSS32_AVAILABLE || trType === SysType.TSS32_BUSY;
  let esp: number;
  let ss: number;
  if (tss32) {
    const at = 4 + dpl * 8;
    if (at + 5 > cpu.trLimit >>> 0) raise(cpu, Vector.TS, selError(cpu.trSel) | ext);
    esp = readLinear32(cpu, (cpu.trBase + at) | 0, true);
    ss = readLinear16(cpu, (cpu.trBase + at + 4) | 0, true);
  } else {
    const at = 2 + dpl * 4;
    if (at + 3 > cpu.trLimit >>> 0) raise(cpu, Vector.TS, selError(cpu.trSel) | ext);
    esp = readLinear16(cpu, (cpu.trBase + at) | 0, true);
    ss = readLinear16(cpu, (cpu.trBase + at + 2) | 0, true);
  }
  if (isNullSelector(ss)) raise(cpu, Vector.TS, ext);
  fetchDescriptor(cpu, ss, Vector.TS, ext);
  const access = descriptorAccess(desc.hi);
  if ((ss & 3) !== dpl || accDpl(access) !== dpl || !accWritableData(access)) {
    raise(cpu, Vector.TS, selError(ss) | ext);
  }
  if (!accPresent(access)) raise(cpu, Vector.SS, selError(ss) | ext);
  const s = innerStack;
  s.selector = ss;
  s.lo = desc.lo;
  s.hi = desc.hi;
  s.addr = desc.addr;
  s.base = (desc.lo >>> 16) | ((desc.hi & 0xff) << 16) | (desc.hi & 0xff00_0000) | 0;
  s.limit = descriptorLimit(desc.lo, desc.hi);
  s.access = access;
  s.esp = esp;
}
