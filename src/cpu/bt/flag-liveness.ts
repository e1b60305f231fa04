/**
 * Dead flags: an instruction's flag results need not be computed when, before anything can
 * observe them, a later instruction of the same block defines all six arithmetic flags
 * (CF PF AF ZF SF OF, SDM Vol. 1 3.4.3.1) without reading them. Nothing can observe flags in
 * between if the instructions between only move registers (no flag access, no fault, no
 * exit), and interrupts are taken at block boundaries only. Translators call this "flag
 * liveness". Here it makes a shift or rotate of a register a bare shift or rotate (the cold
 * loop, cold-runner.ts; ROL/ROR in wasm, wasm-codegen.ts): ROL/ROR leave SF ZF AF PF and
 * define only CF and OF, so their flags cost a materialisation of the lazy ones, and in the
 * kernel's crypto at boot (blake2s, chacha20) every rotate is followed by an ADD or XOR.
 */

import type { Handler, Insn } from "../interp/insn.js";
import * as A from "../interp/ops-alu.js";
import * as D from "../interp/ops-data.js";

/** The forms whose i.sub picks the operation: ADC (2) and SBB (3) read CF. */
const CARRY_READERS: ReadonlySet<Handler> = new Set<Handler>([
  A.aluRmR8,
  A.aluRmR16,
  A.aluRmR32,
  A.aluRRm8,
  A.aluRRm16,
  A.aluRRm32,
  A.aluAccImm8,
  A.aluAccImm16,
  A.aluAccImm32,
  A.aluRmImm8,
  A.aluRmImm16,
  A.aluRmImm32,
]);

/** ALU forms that define all six flags from their operands alone (CARRY_READERS: not ADC, SBB). */
const DEFINES_ALL: ReadonlySet<Handler> = new Set<Handler>([
  ...CARRY_READERS,
  A.cmpRmR8,
  A.cmpRmR16,
  A.cmpRmR32,
  A.testRmR8,
  A.testRmR16,
  A.testRmR32,
  A.testAccImm8,
  A.testAccImm16,
  A.testAccImm32,
  A.testRmImm8,
  A.testRmImm16,
  A.testRmImm32,
]);

/** Forms with no modrm operand (the accumulator ones): never a memory access. */
const ACCUMULATOR: ReadonlySet<Handler> = new Set<Handler>([
  A.aluAccImm8,
  A.aluAccImm16,
  A.aluAccImm32,
  A.testAccImm8,
  A.testAccImm16,
  A.testAccImm32,
]);

/** Register moves that neither read nor write flags and cannot fault. */
const TRANSPARENT: ReadonlySet<Handler> = new Set<Handler>([D.movRR32, D.movRImm32, D.lea32]);

/** How far past the instruction the search looks. */
const LOOKAHEAD = 4;

/**
 * Whether the flags instruction k of a block (n instructions) writes are dead: overwritten
 * by a later instruction of the block before anything could observe them. Returns how many
 * instructions later that one is (1..LOOKAHEAD), or 0: a runner that may stop inside the
 * block (a budget tail) must run that far for the flags to be dead.
 */
export function deadFlagsDistance(insns: readonly Insn[], k: number, n: number): number {
  for (let j = k + 1; j < n && j <= k + LOOKAHEAD; j++) {
    const i = insns[j]!;
    const fn = i.fn;
    if (DEFINES_ALL.has(fn)) {
      const registerOnly = ACCUMULATOR.has(fn) || i.mod === 3;
      return registerOnly && !(CARRY_READERS.has(fn) && (i.sub === 2 || i.sub === 3)) ? j - k : 0;
    }
    if (!TRANSPARENT.has(fn) && !((fn === D.movRmR32 || fn === D.movRRm32) && i.mod === 3)) return 0;
  }
  return 0;
}
