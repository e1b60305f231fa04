/**
 * Cold code: blocks not (yet) worth translating run here. A translation costs V8 parsing,
 * bytecode generation and, once hot, an optimising compile; until then the generated function
 * runs in V8's bytecode interpreter, slower than one shared, always-optimised loop. So cold
 * blocks run through this loop, which is the interpreter's own (interpreter.ts execBlocks):
 * the fast-path kinds of fast.ts inline, everything else through the handler. Each kind has
 * exactly the semantics of its handler (fast.ts); the translated code mirrors the same
 * handlers, and the differential tests hold the three together.
 *
 * It is a copy, not a shared function, on purpose: with the loop moved out of the
 * interpreter's execBlocks into one function both engines call, the interpreter ran 12-15%
 * slower (`node dist/bench/interp-mips.js`, 2 runs each alternating: 61.4/55.1 -> 51.3/48.9
 * MIPS), since a call per block replaces code V8 had compiled into the run loop. Change both
 * together.
 */

import { type Cpu, CS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { condition, lazyIncDec, lazyLogic, lazyResultWith, lazySub } from "../interp/flags.js";
import { ea, type Insn } from "../interp/insn.js";
import { adjustSp, pop32, push32, rd8, rd32, stackRead32, wr32 } from "../interp/mem.js";
import { R8 } from "../interp/operand.js";
import { alu8, alu32 } from "../interp/ops-alu.js";

/**
 * Run the first `n` instructions of a block starting at CS offset `eip`, stopping after an
 * instruction that sets cpu.iBreak; retires the instructions run and leaves cpu.eip after
 * them. A fault leaves cpu.insnEip at the faulting instruction (the caller counts).
 */
export function runCold(cpu: Cpu, insns: readonly Insn[], n: number, start: number): void {
  const regs = cpu.regs;
  let eip = start;
  let k = 0;
  while (k < n) {
    const i = insns[k++]!;
    cpu.insnEip = eip;
    eip = (eip + i.len) >>> 0;
    switch (i.kind) {
      case 1:
        regs[i.reg] = regs[i.rm]!;
        break;
      case 2:
        regs[i.rm] = regs[i.reg]!;
        break;
      case 3:
        regs[i.reg] = rd32(cpu, i.seg, ea(cpu, i));
        break;
      case 4:
        wr32(cpu, i.seg, ea(cpu, i), regs[i.reg]!);
        break;
      case 5:
        regs[i.reg] = i.imm;
        break;
      case 6:
        regs[i.rm] = alu32(cpu, i.sub, regs[i.rm]!, regs[i.reg]!);
        break;
      case 7: {
        const r = alu32(cpu, i.sub, regs[i.reg]!, regs[i.rm]!);
        if (i.sub !== 7) regs[i.reg] = r;
        break;
      }
      case 8: {
        const r = alu32(cpu, i.sub, regs[i.reg]!, rd32(cpu, i.seg, ea(cpu, i)));
        if (i.sub !== 7) regs[i.reg] = r;
        break;
      }
      case 9: {
        const r = alu32(cpu, i.sub, regs[i.rm]!, i.imm);
        if (i.sub !== 7) regs[i.rm] = r;
        break;
      }
      case 10: {
        const r = alu32(cpu, i.sub, regs[0]!, i.imm);
        if (i.sub !== 7) regs[0] = r;
        break;
      }
      case 11: {
        const a = i.mod === 3 ? regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
        const b = regs[i.reg]!;
        lazySub(cpu, a, b, (a - b) | 0, 32);
        break;
      }
      case 12:
        lazyLogic(cpu, regs[i.rm]! & regs[i.reg]!, 32);
        break;
      case 13: {
        const a = regs[i.reg]!;
        const r = (a + 1) | 0;
        regs[i.reg] = r;
        lazyIncDec(cpu, a, r, 32, false);
        break;
      }
      case 14: {
        const a = regs[i.reg]!;
        const r = (a - 1) | 0;
        regs[i.reg] = r;
        lazyIncDec(cpu, a, r, 32, true);
        break;
      }
      case 16:
        push32(cpu, regs[i.reg]!);
        break;
      case 17: {
        const v = pop32(cpu);
        regs[i.reg] = v;
        break;
      }
      case 18:
        regs[i.reg] = ea(cpu, i);
        break;
      case 19:
        regs[i.reg] = i.mod === 3 ? cpu.reg8[R8[i.rm]!]! : rd8(cpu, i.seg, ea(cpu, i));
        break;
      case 15:
        if (condition(cpu, i.sub)) {
          const t = i.o32 !== 0 ? (eip + i.imm) >>> 0 : (eip + i.imm) & 0xffff;
          if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
          eip = t;
        }
        break;
      case 20: {
        const t = (eip + i.imm) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        push32(cpu, eip);
        eip = t;
        break;
      }
      case 21: {
        const t = stackRead32(cpu, 0) >>> 0;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        adjustSp(cpu, 4 + i.imm);
        eip = t;
        break;
      }
      case 22: {
        const t = i.o32 !== 0 ? (eip + i.imm) >>> 0 : (eip + i.imm) & 0xffff;
        if (t > cpu.segLimit[CS]! >>> 0) raise(cpu, Vector.GP, 0);
        eip = t;
        break;
      }
      case 23: {
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
        const r8 = cpu.reg8;
        const d = R8[i.rm]!;
        r8[d] = alu8(cpu, i.sub, r8[d]!, r8[R8[i.reg]!]!);
        break;
      }
      case 25:
        lazyLogic(cpu, cpu.reg8[R8[i.rm]!]! & cpu.reg8[R8[i.reg]!]!, 8);
        break;
      default:
        cpu.insnEsp = regs[4]!;
        cpu.eip = eip;
        i.fn(cpu, i);
        eip = cpu.eip;
    }
    if (cpu.iBreak) break;
  }
  cpu.eip = eip;
  cpu.instructionsRetired += k;
}
