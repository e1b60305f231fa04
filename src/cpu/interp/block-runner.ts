/**
 * The block body loop: runs the instructions of one decoded block, the fast-path kinds of
 * fast.ts inline (a switch on `Insn.kind`, compiled to a jump table) and everything else
 * through its handler. Both engines run decoded blocks through it: the interpreter every
 * block (interpreter.ts execBlocks), the binary translator its cold blocks and budget tails
 * (bt/translator.ts), so the two execute untranslated code identically, which the
 * differential tests compare instruction for instruction. Each kind has exactly the
 * semantics of its handler (fast.ts); translated code mirrors the same handlers.
 *
 * The contract with the callers' fault accounting (interpreter.ts countRetiredBeforeFault,
 * and the translator's): the caller stores cpu.insnEip and cpu.insnEsp at block entry. A
 * fault propagates with cpu.insnEip at the faulting instruction and nothing of the block
 * retired; the caller counts the instructions before it from the block's lengths. Inline
 * kinds change no state before their last possible fault (precise exceptions, SDM Vol. 3A
 * 6.5) and do not record ESP; an instruction run through its handler has its ESP recorded in
 * cpu.insnEsp, which the caller restores when the faulting instruction's kind is 0.
 */

import { type Cpu, CS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { condition, lazyIncDec, lazyLogic, lazyResultWith, lazySub } from "./flags.js";
import { ea, type Insn } from "./insn.js";
import { adjustSp, pop32, push32, rd8, rd32, stackRead32, wr32 } from "./mem.js";
import { R8 } from "./operand.js";
import { alu8, alu32 } from "./ops-alu.js";

/**
 * Run the first `n` instructions of `insns`, a block starting at CS offset `startEip`,
 * stopping after an instruction that sets cpu.iBreak. Retires the instructions run and
 * leaves cpu.eip after them. A fault leaves cpu.insnEip at the faulting instruction (the
 * caller counts the instructions before it).
 *
 * `startEip` may be passed signed (`eip | 0`), and should be: V8 passes an int32 as a small
 * integer, but boxes an unsigned offset of 2^31 and above (a Linux kernel's code, at
 * 0xc0000000) into a new heap number on every call, which made a Debian boot under the
 * interpreter 18% slower.
 */
export function runBlock(cpu: Cpu, insns: readonly Insn[], n: number, startEip: number): void {
  const regs = cpu.regs;
  let eip = startEip >>> 0;
  let k = 0;
  while (k < n) {
    const i = insns[k++]!;
    cpu.insnEip = eip;
    // Inline kinds neither read cpu.eip nor change ESP before their last fault, so they
    // skip the EIP/ESP stores; cpu.eip is written back after the block.
    eip = (eip + i.len) >>> 0;
    switch (i.kind) {
      case 1: // K_MOV_R_RM_REG
        regs[i.reg] = regs[i.rm]!;
        break;
      case 2: // K_MOV_RM_R_REG
        regs[i.rm] = regs[i.reg]!;
        break;
      case 3: // K_LOAD32
        regs[i.reg] = rd32(cpu, i.seg, ea(cpu, i));
        break;
      case 4: // K_STORE32
        wr32(cpu, i.seg, ea(cpu, i), regs[i.reg]!);
        break;
      case 5: // K_MOV_R_IMM32
        regs[i.reg] = i.imm;
        break;
      case 6: // K_ALU_RM_R_REG
        regs[i.rm] = alu32(cpu, i.sub, regs[i.rm]!, regs[i.reg]!);
        break;
      case 7: {
        // K_ALU_R_RM_REG (sub 7 is CMP: flags only)
        const r = alu32(cpu, i.sub, regs[i.reg]!, regs[i.rm]!);
        if (i.sub !== 7) regs[i.reg] = r;
        break;
      }
      case 8: {
        // K_ALU_R_RM_MEM
        const r = alu32(cpu, i.sub, regs[i.reg]!, rd32(cpu, i.seg, ea(cpu, i)));
        if (i.sub !== 7) regs[i.reg] = r;
        break;
      }
      case 9: {
        // K_ALU_RM_IMM_REG
        const r = alu32(cpu, i.sub, regs[i.rm]!, i.imm);
        if (i.sub !== 7) regs[i.rm] = r;
        break;
      }
      case 10: {
        // K_ALU_ACC_IMM32
        const r = alu32(cpu, i.sub, regs[0]!, i.imm);
        if (i.sub !== 7) regs[0] = r;
        break;
      }
      case 11: {
        // K_CMP_RM_R
        const a = i.mod === 3 ? regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
        const b = regs[i.reg]!;
        lazySub(cpu, a, b, (a - b) | 0, 32);
        break;
      }
      case 12: // K_TEST_RR32
        lazyLogic(cpu, regs[i.rm]! & regs[i.reg]!, 32);
        break;
      case 13: {
        // K_INC32
        const a = regs[i.reg]!;
        const r = (a + 1) | 0;
        regs[i.reg] = r;
        lazyIncDec(cpu, a, r, 32, false);
        break;
      }
      case 14: {
        // K_DEC32
        const a = regs[i.reg]!;
        const r = (a - 1) | 0;
        regs[i.reg] = r;
        lazyIncDec(cpu, a, r, 32, true);
        break;
      }
      case 16: // K_PUSH32
        push32(cpu, regs[i.reg]!);
        break;
      case 17: {
        // K_POP32
        const v = pop32(cpu);
        regs[i.reg] = v;
        break;
      }
      case 18: // K_LEA32
        regs[i.reg] = ea(cpu, i);
        break;
      case 19: // K_MOVZX_B32
        regs[i.reg] = i.mod === 3 ? cpu.reg8[R8[i.rm]!]! : rd8(cpu, i.seg, ea(cpu, i));
        break;
      case 15: {
        // K_JCC: the limit check is the instruction's only fault (EIP restored by the caller).
        if (condition(cpu, i.sub)) {
          const t = i.o32 !== 0 ? (eip + i.imm) >>> 0 : (eip + i.imm) & 0xffff;
          if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
          eip = t;
        }
        break;
      }
      case 20: {
        // K_CALL_REL32: limit check, then the push (which changes ESP only once it succeeded).
        const t = (eip + i.imm) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        push32(cpu, eip);
        eip = t;
        break;
      }
      case 21: {
        // K_RET32: read, check, then release the stack.
        const t = stackRead32(cpu, 0) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        adjustSp(cpu, 4 + i.imm);
        eip = t;
        break;
      }
      case 22: {
        // K_JMP_REL
        const t = i.o32 !== 0 ? (eip + i.imm) >>> 0 : (eip + i.imm) & 0xffff;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        eip = t;
        break;
      }
      case 23: {
        // K_SHIFT_R32_IMM: SHL/SHR/SAR by 1..31 (ops-alu.ts shift()).
        const v = regs[i.rm]!;
        const c = i.sub2 === 0 ? i.imm & 31 : 1;
        let r: number;
        if (i.sub === 5) {
          r = v >>> c;
          lazyResultWith(cpu, r | 0, 32, (v >>> (c - 1)) & 1, v >>> 31);
        } else if (i.sub === 4) {
          r = v << c;
          const cf = (v >>> (32 - c)) & 1;
          lazyResultWith(cpu, r, 32, cf, ((r >>> 31) ^ cf) & 1);
        } else {
          r = v >> c;
          lazyResultWith(cpu, r, 32, (v >> (c - 1)) & 1, 0);
        }
        regs[i.rm] = r;
        break;
      }
      case 24: {
        // K_ALU8_RR
        const r8 = cpu.reg8;
        const d = R8[i.rm]!;
        r8[d] = alu8(cpu, i.sub, r8[d]!, r8[R8[i.reg]!]!);
        break;
      }
      case 25: // K_TEST8_RR
        lazyLogic(cpu, cpu.reg8[R8[i.rm]!]! & cpu.reg8[R8[i.reg]!]!, 8);
        break;
      default:
        // K_CALL: handlers read cpu.eip (the next instruction's offset) and may change ESP
        // before a fault, so both are stored first.
        cpu.insnEsp = regs[4]!;
        cpu.eip = eip;
        i.fn(cpu, i);
        eip = cpu.eip;
    }
    // Also set by a write into a page holding decoded code (mem.ts, access.ts).
    if (cpu.iBreak) break;
  }
  cpu.eip = eip;
  cpu.instructionsRetired += k;
}
