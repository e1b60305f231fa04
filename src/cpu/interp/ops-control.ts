/**
 * Control transfer: Jcc, JMP, CALL, RET (near, relative and indirect), LOOP/LOOPcc, JCXZ,
 * and the far and interrupt forms, which call the system layer. On entry `cpu.eip` already
 * holds the offset of the next instruction. Near targets are checked against the CS limit
 * (SDM Vol. 2A JMP/CALL: "#GP(0) if the target is outside the code segment limit").
 */

import { type Cpu, CS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { farCall, farJump, farReturn, iret, softwareInterrupt } from "../system/index.js";
import { condition, getOF, getZF } from "./flags.js";
import { ea, type Insn } from "./insn.js";
import { adjustSp, pop16, pop32, push16, push32, rd16, rd32, stackRead16, stackRead32 } from "./mem.js";
import { getRm16, getRm32 } from "./operand.js";

function jumpNear(cpu: Cpu, target: number, o32: number): void {
  const t = o32 !== 0 ? target >>> 0 : target & 0xffff;
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  cpu.eip = t;
}

/** Jcc rel8/rel16/rel32 (70-7F, 0F 80-8F): i.sub = condition, i.imm = displacement. */
export function jcc(cpu: Cpu, i: Insn): void {
  if (condition(cpu, i.sub)) jumpNear(cpu, cpu.eip + i.imm, i.o32);
}
/** JMP rel (E9 EB). */
export function jmpRel(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, cpu.eip + i.imm, i.o32);
}
/** JMP r/m (FF /4). */
export function jmpRm16(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, getRm16(cpu, i), 0);
}
export function jmpRm32(cpu: Cpu, i: Insn): void {
  jumpNear(cpu, getRm32(cpu, i), 1);
}
/** CALL rel (E8). The push happens before the limit check can fault; the run loop restores ESP. */
export function callRel16(cpu: Cpu, i: Insn): void {
  const next = cpu.eip;
  const t = (next + i.imm) & 0xffff;
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  push16(cpu, next);
  cpu.eip = t;
}
export function callRel32(cpu: Cpu, i: Insn): void {
  const next = cpu.eip;
  const t = (next + i.imm) >>> 0;
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  push32(cpu, next);
  cpu.eip = t;
}
/** CALL r/m (FF /2). */
export function callRm16(cpu: Cpu, i: Insn): void {
  const t = getRm16(cpu, i);
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  push16(cpu, cpu.eip);
  cpu.eip = t;
}
export function callRm32(cpu: Cpu, i: Insn): void {
  const t = getRm32(cpu, i) >>> 0;
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  push32(cpu, cpu.eip);
  cpu.eip = t;
}
/** RET / RET imm16 (C3 C2): i.imm = bytes to release after popping. */
export function retNear16(cpu: Cpu, i: Insn): void {
  const t = stackRead16(cpu, 0);
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  adjustSp(cpu, 2 + i.imm);
  cpu.eip = t;
}
export function retNear32(cpu: Cpu, i: Insn): void {
  const t = stackRead32(cpu, 0) >>> 0;
  if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
  adjustSp(cpu, 4 + i.imm);
  cpu.eip = t;
}

/** LOOP LOOPE LOOPNE JCXZ (E0-E3): the counter is CX or ECX by address size; i.sub = 0 LOOPNE, 1 LOOPE, 2 LOOP, 3 JCXZ. */
export function loop(cpu: Cpu, i: Insn): void {
  let count: number;
  if (i.sub === 3) {
    count = i.a32 !== 0 ? cpu.regs[1]! : cpu.reg16[2]!;
    if (count === 0) jumpNear(cpu, cpu.eip + i.imm, i.o32);
    return;
  }
  if (i.a32 !== 0) {
    count = (cpu.regs[1]! - 1) | 0;
    cpu.regs[1] = count;
  } else {
    count = (cpu.reg16[2]! - 1) & 0xffff;
    cpu.reg16[2] = count;
  }
  if (count === 0) return;
  if (i.sub === 2 || (i.sub === 1 ? getZF(cpu) !== 0 : getZF(cpu) === 0))
    jumpNear(cpu, cpu.eip + i.imm, i.o32);
}

// ---- far transfers (system layer) -----------------------------------------------------------------

function afterSystemTransfer(cpu: Cpu): void {
  cpu.iBreak = true;
}

/** JMP ptr16:16/32 (EA): i.imm = offset, i.imm2 = selector. */
export function jmpFarImm(cpu: Cpu, i: Insn): void {
  farJump(cpu, i.imm2 & 0xffff, i.o32 !== 0 ? i.imm >>> 0 : i.imm & 0xffff, i.o32 !== 0);
  afterSystemTransfer(cpu);
}
/** CALL ptr16:16/32 (9A). */
export function callFarImm(cpu: Cpu, i: Insn): void {
  farCall(cpu, i.imm2 & 0xffff, i.o32 !== 0 ? i.imm >>> 0 : i.imm & 0xffff, i.o32 !== 0, cpu.eip);
  afterSystemTransfer(cpu);
}
function readFarPointer(cpu: Cpu, i: Insn): number {
  const off = ea(cpu, i);
  const size = i.o32 !== 0 ? 4 : 2;
  const selOff = i.a32 !== 0 ? (off + size) | 0 : (off + size) & 0xffff;
  farOffset = i.o32 !== 0 ? rd32(cpu, i.seg, off) >>> 0 : rd16(cpu, i.seg, off);
  return rd16(cpu, i.seg, selOff);
}
let farOffset = 0;
/** JMP m16:16/32 (FF /5, memory only). */
export function jmpFarMem(cpu: Cpu, i: Insn): void {
  const sel = readFarPointer(cpu, i);
  farJump(cpu, sel, farOffset, i.o32 !== 0);
  afterSystemTransfer(cpu);
}
/** CALL m16:16/32 (FF /3, memory only). */
export function callFarMem(cpu: Cpu, i: Insn): void {
  const sel = readFarPointer(cpu, i);
  farCall(cpu, sel, farOffset, i.o32 !== 0, cpu.eip);
  afterSystemTransfer(cpu);
}
/** RETF / RETF imm16 (CB CA). */
export function retFar(cpu: Cpu, i: Insn): void {
  farReturn(cpu, i.o32 !== 0, i.imm & 0xffff);
  afterSystemTransfer(cpu);
}
/** IRET/IRETD (CF). */
export function iretOp(cpu: Cpu, i: Insn): void {
  iret(cpu, i.o32 !== 0);
  afterSystemTransfer(cpu);
}

// ---- software interrupts (CC CD CE) ---------------------------------------------------------------
// In virtual-8086 mode with IOPL < 3, INT n is #GP(0) (SDM Vol. 2A INT n, without VME).

function v86IoplCheck(cpu: Cpu): void {
  if (cpu.v86Mode && (cpu.eflags & 0x3000) !== 0x3000) raise(cpu, Vector.GP, 0);
}
export function intN(cpu: Cpu, i: Insn): void {
  v86IoplCheck(cpu);
  softwareInterrupt(cpu, i.imm & 0xff, cpu.eip, 0);
  afterSystemTransfer(cpu);
}
export function int3(cpu: Cpu, _i: Insn): void {
  softwareInterrupt(cpu, 3, cpu.eip, 1);
  afterSystemTransfer(cpu);
}
export function into(cpu: Cpu, _i: Insn): void {
  if (getOF(cpu) === 0) return;
  softwareInterrupt(cpu, 4, cpu.eip, 2);
  afterSystemTransfer(cpu);
}

export { pop16, pop32 };
