/**
 * Sensitive and system instructions. The interpreter decodes them; privileged work is
 * done by the system layer (src/cpu/system/index.ts) and the monitor (VM exits). After a
 * call into the system layer the interpreter leaves the current block (`iBreak`), since
 * CPL, CS, IF or paging may have changed; the system layer itself moves `tlbEpoch` when a
 * translation changed (MOV CR0/CR3/CR4, INVLPG), which drops the software TLB.
 */

import { ExitReason, type ExitReasonCode } from "../../vmm/exit-reason.js";
import { type Cpu, CR4, CS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  arpl,
  checkIoPermission,
  clts,
  execGroup6,
  execGroup7,
  execLarLsl,
  movFromCr,
  movFromDr,
  movToCr,
  movToDr,
  rdmsr,
  sysenter,
  sysexit,
  wrmsr,
} from "../system/index.js";
import { readEflags } from "./flags.js";
import { ea, type Insn } from "./insn.js";
import { getRm16, rmwGet16, rmwPut16 } from "./operand.js";

const IF = 1 << 9;

export function afterSystem(cpu: Cpu): void {
  cpu.iBreak = true;
}

/** Fill the shared exit record with the common fields and hand it to the monitor. */
export function simpleExit(cpu: Cpu, reason: ExitReasonCode): void {
  const x = cpu.exit;
  x.reason = reason;
  x.address = 0;
  x.size = 0;
  x.write = false;
  x.string = false;
  x.value = 0;
  x.valueHigh = 0;
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.insnEip) >>> 0;
  cpu.exitHandler.handleExit(x);
  if (x.fault) raise(cpu, Vector.GP, 0);
}

// ---- port I/O (E4-E7 EC-EF 6C-6F), SDM Vol. 1 19.5 ---------------------------------------------

/**
 * Protected-mode I/O permission: allowed when CPL <= IOPL; otherwise (and always in
 * virtual-8086 mode) the TSS I/O bitmap decides (system layer). SDM Vol. 1 19.5.1/19.5.2.
 */
export function checkIo(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode) return;
  const iopl = (cpu.eflags >> 12) & 3;
  if (cpu.v86Mode || cpu.cpl > iopl) checkIoPermission(cpu, port, size);
}

export function ioIn(cpu: Cpu, port: number, size: number, string: boolean): number {
  const x = cpu.exit;
  x.reason = ExitReason.IO_INSTRUCTION;
  x.address = port;
  x.size = size;
  x.write = false;
  x.string = string;
  x.value = 0;
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.insnEip) >>> 0;
  cpu.exitHandler.handleExit(x);
  cpu.iBreak = true;
  return size === 4 ? x.value | 0 : x.value & (size === 1 ? 0xff : 0xffff);
}

export function ioOut(cpu: Cpu, port: number, size: number, value: number, string: boolean): void {
  const x = cpu.exit;
  x.reason = ExitReason.IO_INSTRUCTION;
  x.address = port;
  x.size = size;
  x.write = true;
  x.string = string;
  x.value = size === 4 ? value | 0 : value & (size === 1 ? 0xff : 0xffff);
  x.fault = false;
  x.instructionPointer = (cpu.segBase[CS]! + cpu.insnEip) >>> 0;
  cpu.exitHandler.handleExit(x);
  cpu.iBreak = true;
}

/** IN AL/AX/EAX, imm8 | DX: i.sub = size, i.sub2 = 1 for the DX form. */
export function inOp(cpu: Cpu, i: Insn): void {
  const port = i.sub2 !== 0 ? cpu.reg16[4]! : i.imm & 0xff;
  const size = i.sub;
  checkIo(cpu, port, size);
  const v = ioIn(cpu, port, size, false);
  if (size === 1) cpu.reg8[0] = v;
  else if (size === 2) cpu.reg16[0] = v;
  else cpu.regs[0] = v;
}
export function outOp(cpu: Cpu, i: Insn): void {
  const port = i.sub2 !== 0 ? cpu.reg16[4]! : i.imm & 0xff;
  const size = i.sub;
  checkIo(cpu, port, size);
  const v = size === 1 ? cpu.reg8[0]! : size === 2 ? cpu.reg16[0]! : cpu.regs[0]!;
  ioOut(cpu, port, size, v, false);
}

// ---- CLI STI HLT --------------------------------------------------------------------------------

/** SDM Vol. 2A CLI/STI (without VME/PVI): real mode always; protected mode CPL <= IOPL; vm86 IOPL = 3. */
function ifPermitted(cpu: Cpu): void {
  if (!cpu.protectedMode) return;
  const iopl = (cpu.eflags >> 12) & 3;
  if (cpu.v86Mode ? iopl !== 3 : cpu.cpl > iopl) raise(cpu, Vector.GP, 0);
}
export function cli(cpu: Cpu, _i: Insn): void {
  ifPermitted(cpu);
  cpu.eflags &= ~IF;
}
/** STI: when it sets IF, interrupts stay inhibited until after the next instruction (SDM Vol. 3A 6.8.3). */
export function sti(cpu: Cpu, _i: Insn): void {
  ifPermitted(cpu);
  if ((cpu.eflags & IF) === 0) {
    cpu.eflags |= IF;
    cpu.interruptShadow = 1;
  }
  cpu.iBreak = true;
}
/** HLT (F4): CPL 0 only; EIP is already past the HLT; then the HLT exit. */
export function hlt(cpu: Cpu, _i: Insn): void {
  if (cpu.cpl !== 0) raise(cpu, Vector.GP, 0);
  cpu.halted = true;
  simpleExit(cpu, ExitReason.HLT);
  cpu.iBreak = true;
}

// ---- CPUID RDTSC RDPMC RDMSR WRMSR ---------------------------------------------------------------

/** CPUID (0F A2): EAX/ECX are the inputs; the monitor writes EAX..EDX. */
export function cpuidOp(cpu: Cpu, _i: Insn): void {
  simpleExit(cpu, ExitReason.CPUID);
  cpu.iBreak = true;
}
/** RDTSC (0F 31): #GP(0) if CR4.TSD and CPL > 0 (SDM Vol. 2B RDTSC). */
export function rdtsc(cpu: Cpu, _i: Insn): void {
  if ((cpu.cr4 & CR4.TSD) !== 0 && cpu.cpl !== 0 && cpu.protectedMode) raise(cpu, Vector.GP, 0);
  if (cpu.rdtscExiting) {
    simpleExit(cpu, ExitReason.RDTSC);
    cpu.iBreak = true;
    return;
  }
  const t = BigInt.asUintN(64, cpu.readTimeBase() + cpu.tscOffset);
  cpu.regs[0] = Number(t & 0xffffffffn) | 0;
  cpu.regs[2] = Number(t >> 32n) | 0;
}
/** RDPMC (0F 33): no performance counters are exposed: #GP(0). */
export function rdpmc(cpu: Cpu, _i: Insn): void {
  raise(cpu, Vector.GP, 0);
}
export function rdmsrOp(cpu: Cpu, _i: Insn): void {
  rdmsr(cpu);
  afterSystem(cpu);
}
export function wrmsrOp(cpu: Cpu, _i: Insn): void {
  wrmsr(cpu);
  afterSystem(cpu);
}
export function sysenterOp(cpu: Cpu, _i: Insn): void {
  sysenter(cpu);
  afterSystem(cpu);
}
export function sysexitOp(cpu: Cpu, _i: Insn): void {
  sysexit(cpu);
  afterSystem(cpu);
}

/** INVD / WBINVD (0F 08 / 0F 09): CPL 0; both leave as exits (i.sub = 1 for WBINVD). */
export function invdOp(cpu: Cpu, i: Insn): void {
  if (cpu.protectedMode && cpu.cpl !== 0) raise(cpu, Vector.GP, 0);
  simpleExit(cpu, i.sub !== 0 ? ExitReason.WBINVD : ExitReason.INVD);
  cpu.iBreak = true;
}

// ---- descriptor-table and control-register instructions -------------------------------------------

function protectedOnly(cpu: Cpu): void {
  if (!cpu.protectedMode || cpu.v86Mode) raise(cpu, Vector.UD);
}

/** 0F 00: SLDT STR LLDT LTR VERR VERW (#UD in real and virtual-8086 mode; /6 /7 #UD). */
export function group6(cpu: Cpu, i: Insn): void {
  protectedOnly(cpu);
  if (i.reg >= 6) raise(cpu, Vector.UD);
  execGroup6(cpu, i.modrm, i.seg, i.mod === 3 ? 0 : ea(cpu, i), i.o32 !== 0);
  afterSystem(cpu);
}
/** 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG (/5 #UD; register forms only for SMSW LMSW). */
export function group7(cpu: Cpu, i: Insn): void {
  if (i.reg === 5 || (i.mod === 3 && i.reg !== 4 && i.reg !== 6)) raise(cpu, Vector.UD);
  execGroup7(cpu, i.modrm, i.seg, i.mod === 3 ? 0 : ea(cpu, i), i.o32 !== 0);
  afterSystem(cpu);
}
/** LAR (0F 02) / LSL (0F 03): i.sub = 1 for LSL. */
export function larLsl(cpu: Cpu, i: Insn): void {
  protectedOnly(cpu);
  const sel = getRm16(cpu, i);
  execLarLsl(cpu, i.sub !== 0, sel, i.reg, i.o32 !== 0);
}
/** ARPL r/m16, r16 (63). */
export function arplOp(cpu: Cpu, i: Insn): void {
  protectedOnly(cpu);
  const d = rmwGet16(cpu, i);
  const r = arpl(cpu, d, cpu.reg16[i.reg << 1]!);
  rmwPut16(cpu, i, r & 0xffff);
}
/** CLTS (0F 06). */
export function cltsOp(cpu: Cpu, _i: Insn): void {
  clts(cpu);
  afterSystem(cpu);
}

function privileged(cpu: Cpu): void {
  if (cpu.cpl !== 0 && (cpu.protectedMode || cpu.v86Mode)) raise(cpu, Vector.GP, 0);
}
/** MOV r32, CRn (0F 20): mod is ignored (always a register). CR1, CR5-7 are #UD. */
export function movRCr(cpu: Cpu, i: Insn): void {
  if (i.reg === 1 || i.reg > 4) raise(cpu, Vector.UD);
  privileged(cpu);
  cpu.regs[i.rm] = movFromCr(cpu, i.reg);
}
export function movCrR(cpu: Cpu, i: Insn): void {
  if (i.reg === 1 || i.reg > 4) raise(cpu, Vector.UD);
  privileged(cpu);
  movToCr(cpu, i.reg, cpu.regs[i.rm]!);
  afterSystem(cpu);
}
export function movRDr(cpu: Cpu, i: Insn): void {
  privileged(cpu);
  cpu.regs[i.rm] = movFromDr(cpu, i.reg);
}
export function movDrR(cpu: Cpu, i: Insn): void {
  privileged(cpu);
  movToDr(cpu, i.reg, cpu.regs[i.rm]!);
  afterSystem(cpu);
}

// ---- x87 escape and WAIT ------------------------------------------------------------------------

/** D8-DF: handed to the x87 unit with the decoded memory operand. */
export function x87(cpu: Cpu, i: Insn): void {
  cpu.fpu.execute(i.op, i.modrm, i.seg, i.mod === 3 ? 0 : ea(cpu, i) >>> 0, i.o32 !== 0);
}
export function fwait(cpu: Cpu, _i: Insn): void {
  cpu.fpu.fwait();
}

// ---- undefined ----------------------------------------------------------------------------------

export function ud(cpu: Cpu, _i: Insn): void {
  raise(cpu, Vector.UD);
}

export { readEflags };
