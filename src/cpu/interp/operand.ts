/**
 * Operand access for decoded instructions: registers by ModRM number (SDM Vol. 2A 2.1.5,
 * Table 2-1/2-2: 8-bit numbers 4..7 are AH CH DH BH) and r/m operands.
 */

import type { Cpu } from "../cpu.js";
import { ea, type Insn } from "./insn.js";
import {
  rd8,
  rd16,
  rd32,
  rmwRead8,
  rmwRead16,
  rmwRead32,
  rmwWrite8,
  rmwWrite16,
  rmwWrite32,
  wr8,
  wr16,
  wr32,
} from "./mem.js";

/** ModRM 8-bit register number -> byte index in cpu.reg8. */
export const R8 = new Int32Array([0, 4, 8, 12, 1, 5, 9, 13]);

export function getReg8(cpu: Cpu, r: number): number {
  return cpu.reg8[R8[r]!]!;
}
export function setReg8(cpu: Cpu, r: number, v: number): void {
  cpu.reg8[R8[r]!] = v;
}
export function getReg16(cpu: Cpu, r: number): number {
  return cpu.reg16[r << 1]!;
}
export function setReg16(cpu: Cpu, r: number, v: number): void {
  cpu.reg16[r << 1] = v;
}

export function getRm8(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.reg8[R8[i.rm]!]! : rd8(cpu, i.seg, ea(cpu, i));
}
export function getRm16(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.reg16[i.rm << 1]! : rd16(cpu, i.seg, ea(cpu, i));
}
export function getRm32(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
}
export function setRm8(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.reg8[R8[i.rm]!] = v;
  else wr8(cpu, i.seg, ea(cpu, i), v);
}
export function setRm16(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.reg16[i.rm << 1] = v;
  else wr16(cpu, i.seg, ea(cpu, i), v);
}
export function setRm32(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.regs[i.rm] = v;
  else wr32(cpu, i.seg, ea(cpu, i), v);
}

/** Read an r/m destination for read-modify-write (checks writability first). */
export function rmwGet8(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.reg8[R8[i.rm]!]! : rmwRead8(cpu, i.seg, ea(cpu, i));
}
export function rmwGet16(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.reg16[i.rm << 1]! : rmwRead16(cpu, i.seg, ea(cpu, i));
}
export function rmwGet32(cpu: Cpu, i: Insn): number {
  return i.mod === 3 ? cpu.regs[i.rm]! : rmwRead32(cpu, i.seg, ea(cpu, i));
}
/** Complete a read-modify-write started by rmwGet* on the same instruction. */
export function rmwPut8(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.reg8[R8[i.rm]!] = v;
  else rmwWrite8(cpu, v);
}
export function rmwPut16(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.reg16[i.rm << 1] = v;
  else rmwWrite16(cpu, v);
}
export function rmwPut32(cpu: Cpu, i: Insn, v: number): void {
  if (i.mod === 3) cpu.regs[i.rm] = v;
  else rmwWrite32(cpu, v);
}
