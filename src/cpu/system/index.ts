/**
 * The system layer of the CPU: protected-mode segmentation, far control transfers,
 * interrupt and exception delivery, paging-related and other system instructions.
 * The interpreter decodes and calls these with decoded operands; every function may
 * raise a guest exception through fault.ts `raise` (the interpreter restores EIP/ESP).
 *
 * This file is the contract. Its stubs are replaced by re-exports from the modules of
 * this folder as they are written.
 */
import type { Cpu } from "../cpu.js";

const todo = (what: string): never => {
  throw new Error(`system layer: ${what} is not implemented yet`);
};

// ---- reset (SDM Vol. 3A 9.1.1, Table 9-1) ----
/** Power-on state: CS=F000 base FFFF0000, EIP=FFF0, EDX=0x0600 | stepping, CR0=60000010, ... */
export function resetCpu(_cpu: Cpu): void {
  todo("resetCpu");
}

// ---- segmentation (SDM Vol. 3A 3.4, 5.x) ----
/** MOV Sreg / POP Sreg / LDS..LSS (never CS). Real mode: base = sel << 4. Protected: full checks. */
export function loadSegment(_cpu: Cpu, _seg: number, _selector: number): void {
  todo("loadSegment");
}

// ---- far control transfers (SDM Vol. 2A JMP/CALL/RET/IRET, Vol. 3A 5.8) ----
/** JMP ptr16:16/32 and JMP m16:16/32; `offset` is already truncated to the operand size. */
export function farJump(_cpu: Cpu, _selector: number, _offset: number, _opSize32: boolean): void {
  todo("farJump");
}
/** CALL far; `nextEip` is the return offset pushed with CS (call gates may switch stacks). */
export function farCall(_cpu: Cpu, _selector: number, _offset: number, _opSize32: boolean, _nextEip: number): void {
  todo("farCall");
}
/** RETF / RETF imm16 (`popBytes`); return to an outer ring reloads SS:ESP. */
export function farReturn(_cpu: Cpu, _opSize32: boolean, _popBytes: number): void {
  todo("farReturn");
}
/** IRET / IRETD (real mode, same ring, outer ring; NT=1 task return may raise #GP: no tasks). */
export function iret(_cpu: Cpu, _opSize32: boolean): void {
  todo("iret");
}

// ---- interrupts and exceptions (SDM Vol. 3A 6.x) ----
/**
 * INT n (`kind` 0), INT3 (`kind` 1), INTO (`kind` 2): `nextEip` is the offset after the
 * instruction. Software interrupts check gate DPL >= CPL (else #GP(vector*8+2)).
 */
export function softwareInterrupt(_cpu: Cpu, _vector: number, _nextEip: number, _kind: number): void {
  todo("softwareInterrupt");
}
/**
 * Deliver the exception in cpu.faultVector / faultErrorCode / faultHasErrorCode. EIP and ESP
 * are already those of the faulting instruction (or the next one for traps). Handles
 * contributory/#PF double-fault promotion and a fault during #DF as a TRIPLE_FAULT exit.
 * When the exception's bit is set in cpu.exceptionBitmap, reports an EXCEPTION_NMI exit first.
 */
export function deliverException(_cpu: Cpu): void {
  todo("deliverException");
}
/** Deliver an external (hardware) interrupt; EIP is the next instruction. Clears `halted`. */
export function deliverExternalInterrupt(_cpu: Cpu, _vector: number): void {
  todo("deliverExternalInterrupt");
}

// ---- system instructions ----
/** IN/OUT/INS/OUTS in protected mode when CPL > IOPL: TSS I/O bitmap check (SDM Vol. 1 19.5.2), else #GP(0). */
export function checkIoPermission(_cpu: Cpu, _port: number, _size: number): void {
  todo("checkIoPermission");
}
/**
 * 0F 00 /r: SLDT STR LLDT LTR VERR VERW. `modrm` as fetched; when mod != 3, `seg`:`offset`
 * is the memory operand. `opSize32` matters for SLDT/STR to a register.
 */
export function execGroup6(_cpu: Cpu, _modrm: number, _seg: number, _offset: number, _opSize32: boolean): void {
  todo("0F 00");
}
/** 0F 01 /r: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG (mod != 3 for all but SMSW/LMSW). */
export function execGroup7(_cpu: Cpu, _modrm: number, _seg: number, _offset: number, _opSize32: boolean): void {
  todo("0F 01");
}
/** LAR (0F 02) / LSL (0F 03): sets ZF; writes `destReg` only on success. */
export function execLarLsl(_cpu: Cpu, _isLsl: boolean, _selector: number, _destReg: number, _opSize32: boolean): void {
  todo("LAR/LSL");
}
/** ARPL r/m16, r16 (63): #UD outside protected mode. Returns the adjusted value and sets ZF. */
export function arpl(_cpu: Cpu, _dest: number, _src: number): number {
  return todo("ARPL");
}
/** MOV CRn, r32 (0F 22): #GP for CPL>0 and invalid bits, then the CR_ACCESS exit. */
export function movToCr(_cpu: Cpu, _cr: number, _value: number): void {
  todo("MOV to CR");
}
/** MOV r32, CRn (0F 20). */
export function movFromCr(_cpu: Cpu, _cr: number): number {
  return todo("MOV from CR");
}
/** MOV DRn, r32 / MOV r32, DRn (0F 23 / 0F 21): DR4/5 alias DR6/7 when CR4.DE=0. */
export function movToDr(_cpu: Cpu, _dr: number, _value: number): void {
  todo("MOV to DR");
}
export function movFromDr(_cpu: Cpu, _dr: number): number {
  return todo("MOV from DR");
}
/** CLTS (0F 06). */
export function clts(_cpu: Cpu): void {
  todo("CLTS");
}
/** RDMSR (0F 32) / WRMSR (0F 30): CPL 0 only; MSR_READ / MSR_WRITE exits; SYSENTER MSRs live on the Cpu. */
export function rdmsr(_cpu: Cpu): void {
  todo("RDMSR");
}
export function wrmsr(_cpu: Cpu): void {
  todo("WRMSR");
}
/** SYSENTER (0F 34) / SYSEXIT (0F 35), SDM Vol. 2B. */
export function sysenter(_cpu: Cpu): void {
  todo("SYSENTER");
}
export function sysexit(_cpu: Cpu): void {
  todo("SYSEXIT");
}
