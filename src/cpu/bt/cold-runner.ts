/**
 * The translator's cold loop over packed blocks. A Linux boot enters tens of millions of
 * blocks that never get hot enough to translate (lukewarm kernel code), and each entry used
 * to touch every decoded record of the block (interp/insn.ts: ~200 bytes and several cache
 * lines per instruction, ~150 K blocks in all), so the cold loop was bound by cache misses.
 * Here a block's fast-path instructions (interp/fast.ts kinds, and a few more forms frequent
 * in cold kernel code: PACKED_ONLY) are packed into 16 bytes each of one Int32Array, and
 * only instructions run through their handler read their record.
 *
 * The semantics are interp/block-runner.ts runBlock's, case for case (the interpreter runs
 * that one, and the differential tests compare the two engines instruction for instruction),
 * and so is the contract with the caller's fault accounting: cpu.insnEip is the faulting
 * instruction, nothing of the block retired, inline kinds change nothing before their last
 * possible fault, a handler call records ESP in cpu.insnEsp first.
 */

import { type Cpu, CS, SS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { condition, lazyIncDec, lazyLogic, lazyResultWith, lazySub } from "../interp/flags.js";
import type { Insn } from "../interp/insn.js";
import {
  adjustSp,
  pop32,
  push32,
  rd8,
  rd16,
  rd32,
  rmwRead8,
  rmwRead32,
  rmwWrite8,
  rmwWrite32,
  stackRead32,
  wr8,
  wr16,
  wr32,
} from "../interp/mem.js";
import { R8 } from "../interp/operand.js";
import * as A from "../interp/ops-alu.js";
import { alu8, alu32, shift } from "../interp/ops-alu.js";
import * as D from "../interp/ops-data.js";
import { deadFlagsDistance } from "./flag-liveness.js";

/**
 * Kinds only this loop runs inline (their records keep kind 0, so the fault accounting takes
 * them for handler calls and restores ESP from cpu.insnEsp, which each one that can fault
 * records first, as a handler call does). Each mirrors its handler exactly.
 */
const P_SHIFT_R32 = 26; // ops-alu.ts shiftRm32, register operand (any shift or rotate)
const P_MOV_RM_IMM32 = 27; // ops-data.ts movRmImm32
const P_MOVZX_W32 = 28; // ops-data.ts movzxW32
const P_MOV_EAX_MOFFS = 29; // ops-data.ts movAxMoffs32
const P_CMOV32 = 30; // ops-alu.ts cmov32
const P_ALU_RM_IMM32 = 31; // ops-alu.ts aluRmImm32
const P_TEST_RM_IMM8 = 32; // ops-alu.ts testRmImm8
const P_ALU_AL_IMM8 = 33; // ops-alu.ts aluAccImm8
const P_TEST_AL_IMM8 = 34; // ops-alu.ts testAccImm8
const P_MOV_RM_R8 = 35; // ops-data.ts movRmR8
const P_MOV_RM_R16 = 36; // ops-data.ts movRmR16
const P_MOV_RM_IMM8 = 37; // ops-data.ts movRmImm8
const P_PUSH_IMM32 = 38; // ops-data.ts pushImm32
const P_NOP = 39; // ops-data.ts nop
const P_LEAVE = 40; // ops-data.ts leave
const P_SETCC_R8 = 41; // ops-alu.ts setcc, register operand
const P_TEST_RM_IMM32 = 42; // ops-alu.ts testRmImm32
const P_TEST_EAX_IMM32 = 43; // ops-alu.ts testAccImm32
const P_NOT_R32 = 44; // ops-alu.ts notRm32, register operand
const P_NEG_R32 = 45; // ops-alu.ts negRm32, register operand
const P_CMP_R8_R8 = 46; // ops-alu.ts cmpRmR8, register operand
const P_ALU_RM8_IMM8 = 47; // ops-alu.ts aluRmImm8
const P_INC_M32 = 48; // ops-alu.ts incRm32, memory operand
const P_DEC_M32 = 49; // ops-alu.ts decRm32, memory operand
const P_PUSH_M32 = 50; // ops-data.ts pushRm32, memory operand
const P_ALU_M32_R32 = 51; // ops-alu.ts aluRmR32, memory operand

function packedOnlyKind(i: Insn): number {
  const fn = i.fn;
  if (fn === A.shiftRm32) return i.mod === 3 ? P_SHIFT_R32 : 0;
  if (fn === D.movRmImm32) return P_MOV_RM_IMM32;
  if (fn === D.movzxW32) return P_MOVZX_W32;
  if (fn === D.movAxMoffs32) return P_MOV_EAX_MOFFS;
  if (fn === A.cmov32) return P_CMOV32;
  if (fn === A.aluRmImm32) return P_ALU_RM_IMM32;
  if (fn === A.testRmImm8) return P_TEST_RM_IMM8;
  if (fn === A.aluAccImm8) return P_ALU_AL_IMM8;
  if (fn === A.testAccImm8) return P_TEST_AL_IMM8;
  if (fn === D.movRmR8) return P_MOV_RM_R8;
  if (fn === D.movRmR16) return P_MOV_RM_R16;
  if (fn === D.movRmImm8) return P_MOV_RM_IMM8;
  if (fn === D.pushImm32) return P_PUSH_IMM32;
  if (fn === D.nop) return P_NOP;
  if (fn === D.leave) return P_LEAVE;
  if (fn === A.setcc) return i.mod === 3 ? P_SETCC_R8 : 0;
  if (fn === A.testRmImm32) return P_TEST_RM_IMM32;
  if (fn === A.testAccImm32) return P_TEST_EAX_IMM32;
  if (fn === A.notRm32) return i.mod === 3 ? P_NOT_R32 : 0;
  if (fn === A.negRm32) return i.mod === 3 ? P_NEG_R32 : 0;
  if (fn === A.cmpRmR8) return i.mod === 3 ? P_CMP_R8_R8 : 0;
  if (fn === A.aluRmImm8) return P_ALU_RM8_IMM8;
  if (fn === A.incRm32) return i.mod === 3 ? 0 : P_INC_M32;
  if (fn === A.decRm32) return i.mod === 3 ? 0 : P_DEC_M32;
  if (fn === D.pushRm32) return i.mod === 3 ? 0 : P_PUSH_M32;
  if (fn === A.aluRmR32) return i.mod === 3 ? 0 : P_ALU_M32_R32;
  return 0;
}

/**
 * Int32 words per packed instruction (fields, displacement, immediate, address form), as the
 * shift runPacked uses: an exported constant is read from its module cell where it is used
 * (V8 folds a module's own constants, not its exports), and `n / 4` of a loaded value
 * compiled to a division.
 */
const PACKED_SHIFT = 2;
export const PACKED_WORDS = 1 << PACKED_SHIFT;

// Word 0: kind (6 bits), length (4), reg (3), rm (3), mod (2), sub (4), seg (3), o32, a32, sub2 (2),
// dead (3: P_SHIFT_R32's flags are dead if the block runs this many instructions further).
const KIND_MASK = 63;
const LEN = 6;
const REG = 10;
const RM = 13;
const MOD = 16;
const SUB = 18;
const SEG = 22;
const O32 = 25;
const A32 = 26;
const SUB2 = 27;
const DEAD = 29;
// Word 3: base + 1 (4 bits), index + 1 (4), scale (2).

/** Words per arena: blocks are packed one after another into a few large arrays (PackedArena). */
const ARENA_WORDS = 1 << 20;

/**
 * Where blocks are packed: one large Int32Array at a time, filled in order (a new one once
 * full; a block keeps the array it was packed into), so the cold loop reads one array
 * object that stays in cache and a block's instructions are adjacent.
 */
export class PackedArena {
  code = new Int32Array(ARENA_WORDS);
  private used = 0;

  /** Reserve room for `n` instructions; returns the offset in `this.code` (read it after). */
  reserve(n: number): number {
    const words = n * PACKED_WORDS;
    if (this.used + words > this.code.length) {
      this.code = new Int32Array(ARENA_WORDS);
      this.used = 0;
    }
    const off = this.used;
    this.used += words;
    return off;
  }
}

/**
 * Pack the first `n` records into `code` at `off`. A record whose fields do not fit keeps
 * kind 0, so it runs through its handler, which is the reference.
 */
export function packBlock(insns: readonly Insn[], n: number, code: Int32Array, off: number): void {
  for (let k = 0; k < n; k++) {
    const i = insns[k]!;
    let kind = i.kind === 0 ? packedOnlyKind(i) : i.kind;
    const sub2 = kind === 23 || kind === P_SHIFT_R32;
    if (kind > KIND_MASK || i.sub > 15 || (sub2 && i.sub2 > 3) || i.seg > 7 || i.len > 15) kind = 0;
    const o = off + k * PACKED_WORDS;
    // A shift or rotate (not RCL/RCR, which read CF) whose flags are dead (flag-liveness.ts).
    const dead = kind === P_SHIFT_R32 && i.sub !== 2 && i.sub !== 3 ? deadFlagsDistance(insns, k, n) : 0;
    code[o] =
      kind |
      (i.len << LEN) |
      (i.reg << REG) |
      (i.rm << RM) |
      (i.mod << MOD) |
      ((kind === 0 ? 0 : i.sub) << SUB) |
      ((kind === 0 ? 0 : i.seg) << SEG) |
      ((i.o32 & 1) << O32) |
      ((i.a32 & 1) << A32) |
      ((sub2 ? i.sub2 : 0) << SUB2) |
      (dead << DEAD);
    code[o + 1] = i.disp | 0;
    code[o + 2] = i.imm | 0;
    code[o + 3] = (i.base + 1) | ((i.index + 1) << 4) | (i.scale << 8);
  }
}

/** A 32-bit shift or rotate by 1..31 without its flags (ops-alu.ts shift: not RCL/RCR). */
function bareShift(op: number, v: number, c: number): number {
  switch (op) {
    case 0:
      return (v << c) | (v >>> (32 - c));
    case 1:
      return (v >>> c) | (v << (32 - c));
    case 5:
      return v >>> c;
    case 7:
      return v >> c;
    default:
      return v << c; // SHL and its alias SAL (4, 6)
  }
}

/** Effective address of packed instruction at `o` (insn.ts ea). */
function eaPacked(cpu: Cpu, code: Int32Array, o: number, w: number): number {
  let a = code[o + 1]!;
  const f = code[o + 3]!;
  const base = (f & 15) - 1;
  const index = ((f >> 4) & 15) - 1;
  if (base >= 0) a += cpu.regs[base]!;
  if (index >= 0) a += cpu.regs[index]! << ((f >> 8) & 3);
  return ((w >> A32) & 1) !== 0 ? a | 0 : a & 0xffff;
}

/**
 * Run the first `n` instructions of the block packed at `code[off]`, at CS offset `startEip`
 * (pass it signed, `eip | 0`, as runBlock's callers do), stopping after an instruction that
 * sets cpu.iBreak.
 */
export function runPacked(
  cpu: Cpu,
  code: Int32Array,
  off: number,
  insns: readonly Insn[],
  n: number,
  startEip: number,
): void {
  const regs = cpu.regs;
  // EIP in an int32 (a kernel's EIPs are above 2^31: as a uint32 every step would be a double
  // add), the next instruction's packed offset in `next`: int arithmetic without overflow checks.
  let eip = startEip | 0;
  const end = off + ((n | 0) << PACKED_SHIFT);
  let next = off;
  while (next < end) {
    const o = next;
    const w = code[o]!;
    next = o + (1 << PACKED_SHIFT);
    cpu.insnEip = eip >>> 0;
    eip = (eip + ((w >> LEN) & 15)) | 0;
    switch (w & KIND_MASK) {
      case 1: // K_MOV_R_RM_REG
        regs[(w >> REG) & 7] = regs[(w >> RM) & 7]!;
        break;
      case 2: // K_MOV_RM_R_REG
        regs[(w >> RM) & 7] = regs[(w >> REG) & 7]!;
        break;
      case 3: // K_LOAD32
        regs[(w >> REG) & 7] = rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        break;
      case 4: // K_STORE32
        wr32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w), regs[(w >> REG) & 7]!);
        break;
      case 5: // K_MOV_R_IMM32
        regs[(w >> REG) & 7] = code[o + 2]!;
        break;
      case 6: {
        // K_ALU_RM_R_REG
        const rm = (w >> RM) & 7;
        regs[rm] = alu32(cpu, (w >> SUB) & 15, regs[rm]!, regs[(w >> REG) & 7]!);
        break;
      }
      case 7: {
        // K_ALU_R_RM_REG (sub 7 is CMP: flags only)
        const reg = (w >> REG) & 7;
        const sub = (w >> SUB) & 15;
        const r = alu32(cpu, sub, regs[reg]!, regs[(w >> RM) & 7]!);
        if (sub !== 7) regs[reg] = r;
        break;
      }
      case 8: {
        // K_ALU_R_RM_MEM
        const reg = (w >> REG) & 7;
        const sub = (w >> SUB) & 15;
        const r = alu32(cpu, sub, regs[reg]!, rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w)));
        if (sub !== 7) regs[reg] = r;
        break;
      }
      case 9: {
        // K_ALU_RM_IMM_REG
        const rm = (w >> RM) & 7;
        const sub = (w >> SUB) & 15;
        const r = alu32(cpu, sub, regs[rm]!, code[o + 2]!);
        if (sub !== 7) regs[rm] = r;
        break;
      }
      case 10: {
        // K_ALU_ACC_IMM32
        const sub = (w >> SUB) & 15;
        const r = alu32(cpu, sub, regs[0]!, code[o + 2]!);
        if (sub !== 7) regs[0] = r;
        break;
      }
      case 11: {
        // K_CMP_RM_R
        const a =
          ((w >> MOD) & 3) === 3
            ? regs[(w >> RM) & 7]!
            : rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        const b = regs[(w >> REG) & 7]!;
        lazySub(cpu, a, b, (a - b) | 0, 32);
        break;
      }
      case 12: // K_TEST_RR32
        lazyLogic(cpu, regs[(w >> RM) & 7]! & regs[(w >> REG) & 7]!, 32);
        break;
      case 13: {
        // K_INC32
        const reg = (w >> REG) & 7;
        const a = regs[reg]!;
        const r = (a + 1) | 0;
        regs[reg] = r;
        lazyIncDec(cpu, a, r, 32, false);
        break;
      }
      case 14: {
        // K_DEC32
        const reg = (w >> REG) & 7;
        const a = regs[reg]!;
        const r = (a - 1) | 0;
        regs[reg] = r;
        lazyIncDec(cpu, a, r, 32, true);
        break;
      }
      case 16: // K_PUSH32
        push32(cpu, regs[(w >> REG) & 7]!);
        break;
      case 17: {
        // K_POP32
        const v = pop32(cpu);
        regs[(w >> REG) & 7] = v;
        break;
      }
      case 18: // K_LEA32
        regs[(w >> REG) & 7] = eaPacked(cpu, code, o, w);
        break;
      case 19: // K_MOVZX_B32
        regs[(w >> REG) & 7] =
          ((w >> MOD) & 3) === 3
            ? cpu.reg8[R8[(w >> RM) & 7]!]!
            : rd8(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        break;
      case 15: {
        // K_JCC: the limit check is the instruction's only fault (EIP restored by the caller).
        if (condition(cpu, (w >> SUB) & 15)) {
          const imm = code[o + 2]!;
          const t = ((w >> O32) & 1) !== 0 ? (eip + imm) >>> 0 : (eip + imm) & 0xffff;
          if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
          eip = t | 0;
        }
        break;
      }
      case 20: {
        // K_CALL_REL32: limit check, then the push (which changes ESP only once it succeeded).
        const t = (eip + code[o + 2]!) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        push32(cpu, eip);
        eip = t | 0;
        break;
      }
      case 21: {
        // K_RET32: read, check, then release the stack.
        const t = stackRead32(cpu, 0) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        adjustSp(cpu, 4 + code[o + 2]!);
        eip = t | 0;
        break;
      }
      case 22: {
        // K_JMP_REL
        const imm = code[o + 2]!;
        const t = ((w >> O32) & 1) !== 0 ? (eip + imm) >>> 0 : (eip + imm) & 0xffff;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        eip = t | 0;
        break;
      }
      case 23: {
        // K_SHIFT_R32_IMM: SHL/SHR/SAR by 1..31 (ops-alu.ts shift()).
        const rm = (w >> RM) & 7;
        const sub = (w >> SUB) & 15;
        const v = regs[rm]!;
        const c = ((w >> SUB2) & 3) === 0 ? code[o + 2]! & 31 : 1;
        let r: number;
        if (sub === 5) {
          r = v >>> c;
          lazyResultWith(cpu, r | 0, 32, (v >>> (c - 1)) & 1, v >>> 31);
        } else if (sub === 4) {
          r = v << c;
          const cf = (v >>> (32 - c)) & 1;
          lazyResultWith(cpu, r, 32, cf, ((r >>> 31) ^ cf) & 1);
        } else {
          r = v >> c;
          lazyResultWith(cpu, r, 32, (v >> (c - 1)) & 1, 0);
        }
        regs[rm] = r;
        break;
      }
      case 24: {
        // K_ALU8_RR
        const r8 = cpu.reg8;
        const d = R8[(w >> RM) & 7]!;
        r8[d] = alu8(cpu, (w >> SUB) & 15, r8[d]!, r8[R8[(w >> REG) & 7]!]!);
        break;
      }
      case 25: // K_TEST8_RR
        lazyLogic(cpu, cpu.reg8[R8[(w >> RM) & 7]!]! & cpu.reg8[R8[(w >> REG) & 7]!]!, 8);
        break;
      case P_SHIFT_R32: {
        const sub2 = (w >> SUB2) & 3;
        const c = (sub2 === 0 ? code[o + 2]! : sub2 === 1 ? 1 : regs[1]! & 255) & 31;
        if (c !== 0) {
          const rm = (w >> RM) & 7;
          const dead = w >>> DEAD;
          // Its flags are dead if the instruction `dead` after this one runs too.
          if (dead !== 0 && next + (dead << PACKED_SHIFT) <= end)
            regs[rm] = bareShift((w >> SUB) & 15, regs[rm]!, c);
          else regs[rm] = shift(cpu, (w >> SUB) & 15, regs[rm]!, c, 32) | 0;
        }
        break;
      }
      case P_MOV_RM_IMM32:
        if (((w >> MOD) & 3) === 3) regs[(w >> RM) & 7] = code[o + 2]!;
        else {
          cpu.insnEsp = regs[4]!;
          wr32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w), code[o + 2]!);
        }
        break;
      case P_MOVZX_W32:
        if (((w >> MOD) & 3) === 3) regs[(w >> REG) & 7] = cpu.reg16[((w >> RM) & 7) << 1]!;
        else {
          cpu.insnEsp = regs[4]!;
          regs[(w >> REG) & 7] = rd16(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        }
        break;
      case P_MOV_EAX_MOFFS:
        // The offset is the displacement, not masked to the address size (ops-data.ts).
        cpu.insnEsp = regs[4]!;
        regs[0] = rd32(cpu, (w >> SEG) & 7, code[o + 1]!);
        break;
      case P_CMOV32: {
        let v: number;
        if (((w >> MOD) & 3) === 3) v = regs[(w >> RM) & 7]!;
        else {
          cpu.insnEsp = regs[4]!;
          v = rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        }
        if (condition(cpu, (w >> SUB) & 15)) regs[(w >> REG) & 7] = v;
        break;
      }
      case P_ALU_RM_IMM32: {
        const sub = (w >> SUB) & 15;
        const imm = code[o + 2]!;
        if (((w >> MOD) & 3) === 3) {
          const rm = (w >> RM) & 7;
          const r = alu32(cpu, sub, regs[rm]!, imm);
          if (sub !== 7) regs[rm] = r;
        } else {
          cpu.insnEsp = regs[4]!;
          const seg = (w >> SEG) & 7;
          if (sub === 7) alu32(cpu, 7, rd32(cpu, seg, eaPacked(cpu, code, o, w)), imm);
          else rmwWrite32(cpu, alu32(cpu, sub, rmwRead32(cpu, seg, eaPacked(cpu, code, o, w)), imm));
        }
        break;
      }
      case P_TEST_RM_IMM8: {
        let v: number;
        if (((w >> MOD) & 3) === 3) v = cpu.reg8[R8[(w >> RM) & 7]!]!;
        else {
          cpu.insnEsp = regs[4]!;
          v = rd8(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        }
        lazyLogic(cpu, v & code[o + 2]!, 8);
        break;
      }
      case P_ALU_AL_IMM8: {
        const sub = (w >> SUB) & 15;
        const r = alu8(cpu, sub, cpu.reg8[0]!, code[o + 2]!);
        if (sub !== 7) cpu.reg8[0] = r;
        break;
      }
      case P_TEST_AL_IMM8:
        lazyLogic(cpu, cpu.reg8[0]! & code[o + 2]!, 8);
        break;
      case P_MOV_RM_R8: {
        const v = cpu.reg8[R8[(w >> REG) & 7]!]!;
        if (((w >> MOD) & 3) === 3) cpu.reg8[R8[(w >> RM) & 7]!] = v;
        else {
          cpu.insnEsp = regs[4]!;
          wr8(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w), v);
        }
        break;
      }
      case P_MOV_RM_R16: {
        const v = cpu.reg16[((w >> REG) & 7) << 1]!;
        if (((w >> MOD) & 3) === 3) cpu.reg16[((w >> RM) & 7) << 1] = v;
        else {
          cpu.insnEsp = regs[4]!;
          wr16(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w), v);
        }
        break;
      }
      case P_MOV_RM_IMM8:
        if (((w >> MOD) & 3) === 3) cpu.reg8[R8[(w >> RM) & 7]!] = code[o + 2]!;
        else {
          cpu.insnEsp = regs[4]!;
          wr8(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w), code[o + 2]!);
        }
        break;
      case P_PUSH_IMM32:
        cpu.insnEsp = regs[4]!;
        push32(cpu, code[o + 2]!);
        break;
      case P_NOP:
        break;
      case P_LEAVE: {
        cpu.insnEsp = regs[4]!;
        const big = (cpu.segAccess[SS]! & 0x4000) !== 0;
        const o32 = ((w >> O32) & 1) !== 0;
        const bp = big ? regs[5]! : regs[5]! & 0xffff;
        const v = o32 ? rd32(cpu, SS, bp) : rd16(cpu, SS, bp);
        if (big) regs[4] = (bp + (o32 ? 4 : 2)) | 0;
        else cpu.reg16[8] = bp + (o32 ? 4 : 2);
        if (o32) regs[5] = v;
        else cpu.reg16[10] = v;
        break;
      }
      case P_SETCC_R8:
        cpu.reg8[R8[(w >> RM) & 7]!] = condition(cpu, (w >> SUB) & 15) ? 1 : 0;
        break;
      case P_TEST_RM_IMM32: {
        let v: number;
        if (((w >> MOD) & 3) === 3) v = regs[(w >> RM) & 7]!;
        else {
          cpu.insnEsp = regs[4]!;
          v = rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        }
        lazyLogic(cpu, v & code[o + 2]!, 32);
        break;
      }
      case P_TEST_EAX_IMM32:
        lazyLogic(cpu, regs[0]! & code[o + 2]!, 32);
        break;
      case P_NOT_R32: {
        const rm = (w >> RM) & 7;
        regs[rm] = ~regs[rm]!;
        break;
      }
      case P_NEG_R32: {
        const rm = (w >> RM) & 7;
        const b = regs[rm]!;
        const r = -b | 0;
        lazySub(cpu, 0, b, r, 32);
        regs[rm] = r;
        break;
      }
      case P_CMP_R8_R8: {
        const r8 = cpu.reg8;
        alu8(cpu, 7, r8[R8[(w >> RM) & 7]!]!, r8[R8[(w >> REG) & 7]!]!);
        break;
      }
      case P_ALU_RM8_IMM8: {
        const sub = (w >> SUB) & 15;
        const imm = code[o + 2]!;
        if (((w >> MOD) & 3) === 3) {
          const r8 = cpu.reg8;
          const d = R8[(w >> RM) & 7]!;
          const r = alu8(cpu, sub, r8[d]!, imm);
          if (sub !== 7) r8[d] = r;
        } else {
          cpu.insnEsp = regs[4]!;
          const seg = (w >> SEG) & 7;
          if (sub === 7) alu8(cpu, 7, rd8(cpu, seg, eaPacked(cpu, code, o, w)), imm);
          else rmwWrite8(cpu, alu8(cpu, sub, rmwRead8(cpu, seg, eaPacked(cpu, code, o, w)), imm));
        }
        break;
      }
      case P_INC_M32:
      case P_DEC_M32: {
        cpu.insnEsp = regs[4]!;
        const a = rmwRead32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        const dec = (w & KIND_MASK) === P_DEC_M32;
        const r = (dec ? a - 1 : a + 1) | 0;
        lazyIncDec(cpu, a, r, 32, dec);
        rmwWrite32(cpu, r);
        break;
      }
      case P_PUSH_M32:
        cpu.insnEsp = regs[4]!;
        push32(cpu, rd32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w)));
        break;
      case P_ALU_M32_R32: {
        cpu.insnEsp = regs[4]!;
        const b = regs[(w >> REG) & 7]!;
        const v = rmwRead32(cpu, (w >> SEG) & 7, eaPacked(cpu, code, o, w));
        rmwWrite32(cpu, alu32(cpu, (w >> SUB) & 15, v, b));
        break;
      }
      default: {
        // K_CALL: handlers read cpu.eip (the next instruction's offset) and may change ESP
        // before a fault, so both are stored first.
        const i = insns[(o - off) >> PACKED_SHIFT]!;
        cpu.insnEsp = regs[4]!;
        cpu.eip = eip >>> 0;
        i.fn(cpu, i);
        eip = cpu.eip | 0;
      }
    }
    // Also set by a write into a page holding decoded code (mem.ts, access.ts).
    if (cpu.iBreak) break;
  }
  cpu.eip = eip >>> 0;
  cpu.instructionsRetired += (next - off) >> PACKED_SHIFT;
}
