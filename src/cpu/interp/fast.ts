/**
 * Fast-path kinds: the most frequent instruction forms are executed inline by the run loop
 * (a switch on `Insn.kind`, compiled to a jump table) instead of through an indirect call
 * of `Insn.fn`. Each kind has exactly the semantics of the handler it replaces; the
 * handlers stay the reference (tests run both ways: see `setFastPaths`).
 */

import type { Insn } from "./insn.js";
import * as A from "./ops-alu.js";
import * as C from "./ops-control.js";
import * as D from "./ops-data.js";

export const K_CALL = 0;
export const K_MOV_R_RM_REG = 1;
export const K_MOV_RM_R_REG = 2;
export const K_LOAD32 = 3;
export const K_STORE32 = 4;
export const K_MOV_R_IMM32 = 5;
export const K_ALU_RM_R_REG = 6;
export const K_ALU_R_RM_REG = 7;
export const K_ALU_R_RM_MEM = 8;
export const K_ALU_RM_IMM_REG = 9;
export const K_ALU_ACC_IMM32 = 10;
export const K_CMP_RM_R = 11;
export const K_TEST_RR32 = 12;
export const K_INC32 = 13;
export const K_DEC32 = 14;
export const K_JCC = 15;
export const K_PUSH32 = 16;
export const K_POP32 = 17;
export const K_LEA32 = 18;
export const K_MOVZX_B32 = 19;
export const K_CALL_REL32 = 20;
export const K_RET32 = 21;
export const K_JMP_REL = 22;
/** SHL/SHR/SAR r32 by a nonzero immediate or 1 (C1 /4 /5 /7, D1). */
export const K_SHIFT_R32_IMM = 23;
/** ALU r/m8, r8 (00 08 10 18 20 28 30) with two registers. */
export const K_ALU8_RR = 24;
/** TEST r/m8, r8 (84) with two registers. */
export const K_TEST8_RR = 25;

let enabled = true;
/** Bulk REP MOVS/STOS (ops-string.ts); follows setFastPaths. */
export let bulkStrings = true;

/**
 * Turn the inline fast paths on or off (for differential tests); affects blocks decoded
 * afterwards, and the bulk string paths at once.
 */
export function setFastPaths(on: boolean): void {
  enabled = on;
  bulkStrings = on;
}

/** The fast-path kind for a decoded instruction, from its handler, mod and sub-operations. */
export function fastKind(i: Insn): number {
  if (!enabled) return K_CALL;
  const fn = i.fn;
  const reg = i.mod === 3;
  if (fn === D.movRR32) return K_MOV_R_RM_REG;
  if (fn === D.movRmR32 && reg) return K_MOV_RM_R_REG;
  if (fn === D.movRM32) return K_LOAD32;
  if (fn === D.movMR32) return K_STORE32;
  if (fn === D.movRImm32) return K_MOV_R_IMM32;
  if (fn === A.aluRmR32 && reg) return K_ALU_RM_R_REG;
  if (fn === A.aluRRm32) return reg ? K_ALU_R_RM_REG : K_ALU_R_RM_MEM;
  if (fn === A.aluRmImm32 && reg) return K_ALU_RM_IMM_REG;
  if (fn === A.aluAccImm32) return K_ALU_ACC_IMM32;
  if (fn === A.cmpRmR32) return K_CMP_RM_R;
  if (fn === A.testRmR32 && reg) return K_TEST_RR32;
  if (fn === A.incR32) return K_INC32;
  if (fn === A.decR32) return K_DEC32;
  if (fn === C.jcc) return K_JCC;
  if (fn === D.pushR32) return K_PUSH32;
  if (fn === D.popR32) return K_POP32;
  if (fn === D.lea32) return K_LEA32;
  if (fn === D.movzxB32) return K_MOVZX_B32;
  if (fn === C.callRel32) return K_CALL_REL32;
  if (fn === C.retNear32) return K_RET32;
  if (fn === C.jmpRel) return K_JMP_REL;
  if (fn === A.shiftRm32 && reg && (i.sub === 4 || i.sub === 5 || i.sub === 7)) {
    if (i.sub2 === 1 || (i.sub2 === 0 && (i.imm & 31) !== 0)) return K_SHIFT_R32_IMM;
  }
  if (fn === A.aluRmR8 && reg) return K_ALU8_RR;
  if (fn === A.testRmR8 && reg) return K_TEST8_RR;
  return K_CALL;
}
