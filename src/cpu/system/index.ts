/**
 * The system layer of the CPU: protected-mode segmentation, far control transfers,
 * interrupt and exception delivery, paging-related and other system instructions.
 * The interpreter decodes and calls these with decoded operands; every function may
 * raise a guest exception through fault.ts `raise` (the interpreter restores EIP/ESP).
 *
 * This file is the contract; the implementations live in the modules beside it:
 *   reset.ts               power-on state (SDM Vol. 3A 9.1.1, Table 9-1)
 *   descriptors.ts         descriptor fetch/decode, accessed bit, cache fills
 *   segments.ts            MOV/POP Sreg, LDS..LSS
 *   stack.ts               stack frames built before any register is committed
 *   far-transfer.ts        JMP/CALL far, call gates, RETF, IRET
 *   interrupts.ts          INT n, exceptions, external interrupts, #DF, triple fault
 *   system-instructions.ts LGDT..LTR, LAR/LSL, MOV CR/DR, INVLPG, MSRs, SYSENTER, I/O bitmap
 *
 * Functions that transfer control (far jumps/calls/returns, IRET, interrupt delivery,
 * SYSENTER/SYSEXIT) set `cpu.eip` themselves; the caller must not overwrite it.
 *
 * Not supported, by design (documented in the modules): hardware task switching (task
 * gates, TSS descriptors in JMP/CALL, IRET with NT=1: #GP), virtual-8086 mode (IRET to
 * VM=1: #GP(0)), PAE (MOV CR4 with PAE: #GP(0)).
 */

// ---- far control transfers (SDM Vol. 2A JMP/CALL/RET/IRET, Vol. 3A 5.8) ----
/**
 * farJump(cpu, selector, offset, opSize32): JMP ptr16:16/32 and JMP m16:16/32; `offset` is
 *   already truncated to the operand size.
 * farCall(cpu, selector, offset, opSize32, nextEip): CALL far; `nextEip` is the return offset
 *   pushed with CS (call gates may switch stacks).
 * farReturn(cpu, opSize32, popBytes): RETF / RETF imm16; return to an outer ring reloads SS:ESP.
 * iret(cpu, opSize32): IRET / IRETD (real mode, same ring, outer ring; NT=1: #GP(0), no tasks).
 */
export { farCall, farJump, farReturn, iret } from "./far-transfer.js";
// ---- interrupts and exceptions (SDM Vol. 3A 6.x) ----
/**
 * softwareInterrupt(cpu, vector, nextEip, kind): INT n (`kind` 0), INT3 (`kind` 1), INTO
 *   (`kind` 2; a no-op that sets EIP = nextEip when OF = 0): `nextEip` is the offset after the
 *   instruction. Software interrupts check gate DPL >= CPL (else #GP(vector*8+2)). Faults
 *   during delivery are raised to the caller (EIP = the INT instruction).
 * deliverException(cpu): deliver the exception in cpu.faultVector / faultErrorCode /
 *   faultHasErrorCode. EIP and ESP are already those of the faulting instruction (or the next
 *   one for traps). Handles contributory/#PF double-fault promotion and a fault during #DF as
 *   a TRIPLE_FAULT exit (cpu.shutdown set). When the exception's bit is set in
 *   cpu.exceptionBitmap, reports an EXCEPTION_NMI exit first (the handler may set
 *   cpu.suppressException to drop it). Never throws CPU_FAULT.
 * deliverExternalInterrupt(cpu, vector): deliver an external (hardware) interrupt; EIP is the
 *   next instruction. Clears `halted`. Never throws CPU_FAULT.
 */
export {
  deliverEvent,
  deliverException,
  deliverExternalInterrupt,
  EventSource,
  softwareInterrupt,
  tripleFault,
} from "./interrupts.js";
// ---- reset (SDM Vol. 3A 9.1.1, Table 9-1) ----
/** Power-on state: CS=F000 base FFFF0000, EIP=FFF0, EDX=CPU_SIGNATURE, CR0=60000010, ... */
export { CPU_SIGNATURE, RESET_CR0, resetCpu } from "./reset.js";
// ---- segmentation (SDM Vol. 3A 3.4, 5.x) ----
/** MOV Sreg / POP Sreg / LDS..LSS (never CS). Real mode: base = sel << 4. Protected: full checks.
 * loadSegment(cpu, seg, selector). The caller sets the interrupt shadow for MOV SS / POP SS. */
export { loadSegment } from "./segments.js";

// ---- system instructions ----
/**
 * checkIoPermission(cpu, port, size): IN/OUT/INS/OUTS; returns at once in real mode or when
 *   CPL <= IOPL, else the TSS I/O bitmap check (SDM Vol. 1 19.5.2), #GP(0) when denied.
 * execGroup6(cpu, modrm, seg, offset, opSize32): 0F 00 /r: SLDT STR LLDT LTR VERR VERW.
 *   `modrm` as fetched; when mod != 3, `seg`:`offset` is the memory operand. `opSize32`
 *   matters for SLDT/STR to a register.
 * execGroup7(cpu, modrm, seg, offset, opSize32): 0F 01 /r: SGDT SIDT LGDT LIDT SMSW LMSW
 *   INVLPG (mod != 3 for all but SMSW/LMSW); 0F 01 C1 (VMCALL) reports a VMCALL exit.
 * execLarLsl(cpu, isLsl, selector, destReg, opSize32): LAR (0F 02) / LSL (0F 03): sets ZF;
 *   writes `destReg` only on success.
 * arpl(cpu, dest, src): ARPL r/m16, r16 (63): #UD outside protected mode. Returns the adjusted
 *   value and sets ZF.
 * movToCr(cpu, cr, value) / movFromCr(cpu, cr): 0F 22 / 0F 20: #GP(0) for CPL>0 and invalid
 *   bits, #UD for CR1/CR5-7, then the CR_ACCESS exit.
 * movToDr(cpu, dr, value) / movFromDr(cpu, dr): 0F 23 / 0F 21: DR4/5 alias DR6/7 when
 *   CR4.DE=0; DR_ACCESS exit.
 * clts(cpu): 0F 06.
 * rdmsr(cpu) / wrmsr(cpu): 0F 32 / 0F 30: CPL 0 only; MSR_READ / MSR_WRITE exits; SYSENTER
 *   MSRs and the TSC live on the Cpu; exit.fault from the handler raises #GP(0).
 * sysenter(cpu) / sysexit(cpu): 0F 34 / 0F 35, SDM Vol. 2B.
 */
export {
  arpl,
  CpuMsr,
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
  readTsc,
  sysenter,
  sysexit,
  wrmsr,
} from "./system-instructions.js";
