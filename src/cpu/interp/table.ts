/**
 * The integer instruction table: one entry per opcode form the interpreter implements
 * (Intel SDM Vol. 2, Appendix A opcode maps; instruction pages for flags). The decoder is
 * built from this table (src/cpu/interp/decoder.ts), and the conformance generator
 * (src/conformance/) reads the same entries through `INSTRUCTION_FORMS` (STYLE.md
 * practice 7). x87 escapes D8-DF are described by src/cpu/x87/table.ts; the decoder hands
 * them to the x87 unit.
 *
 * Entries carry, besides the InstructionForm fields, the interpreter's handler(s):
 * `exec` is one handler, or a pair [16-bit operand size, 32-bit operand size];
 * `execReg` / `execMem` specialise a form for mod = 3 / mod != 3.
 *
 * Immediate conventions beyond InstructionForm.immediate:
 *  - `far`: a far pointer ptr16:16/32: offset (2 or 4 bytes by operand size) then selector
 *    (listed as [4, 2]);
 *  - `moffs`: A0-A3: an offset of the address size (listed as 4);
 *  - `sx`: the immediate is sign-extended (imm8 of 6A/6B/83, relative displacements).
 */

import type { InstructionForm } from "../isa.js";
import type { Handler } from "./insn.js";
import * as A from "./ops-alu.js";
import * as C from "./ops-control.js";
import * as D from "./ops-data.js";
import * as S from "./ops-string.js";
import * as Y from "./ops-system.js";

export type Sized = readonly [Handler, Handler];

export interface InterpForm extends InstructionForm {
  readonly exec: Handler | Sized;
  readonly execReg?: Handler | Sized;
  readonly execMem?: Handler | Sized;
  /** Copied into Insn.sub / Insn.sub2 (ALU op, condition, segment, element size, ...). */
  readonly sub?: number;
  readonly sub2?: number;
  /** Element / port size is the operand size (2 or 4): overrides `sub`. */
  readonly subBySize?: boolean;
  readonly sx?: boolean;
  /** The form ends a decoded block (control transfer, system state change, VM exit). */
  readonly end?: boolean;
  /** String instruction: ends the block when it has a REP prefix. */
  readonly string?: boolean;
  /** LOCK is allowed (with a memory destination), SDM Vol. 2A LOCK. */
  readonly lockable?: boolean;
  readonly far?: boolean;
  readonly moffs?: boolean;
  /** MOV to/from CR/DR: the mod field is ignored (always a register operand). */
  readonly modIgnored?: boolean;
}

// Flag masks for `undefinedFlags`.
const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;

const forms: InterpForm[] = [];
type Opts = Partial<Omit<InterpForm, "mnemonic" | "opcode" | "exec">>;

function f(mnemonic: string, opcode: readonly number[], exec: Handler | Sized, o: Opts = {}): void {
  const sized = Array.isArray(exec);
  const form: InterpForm = {
    mnemonic,
    opcode,
    modrm: o.modrm ?? "none",
    immediate: o.immediate ?? 0,
    operandSizes: o.operandSizes ?? (sized ? [16, 32] : [8]),
    undefinedFlags: o.undefinedFlags ?? 0,
    oracle: o.oracle ?? "user",
    exec,
    ...o,
  };
  forms.push(form);
}

const ANY: readonly (8 | 16 | 32)[] = [16, 32];
const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"] as const;
const CC_NAMES = [
  "o",
  "no",
  "b",
  "ae",
  "e",
  "ne",
  "be",
  "a",
  "s",
  "ns",
  "p",
  "np",
  "l",
  "ge",
  "le",
  "g",
] as const;
const SHIFT_NAMES = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"] as const;
const SEG_NAMES = ["es", "cs", "ss", "ds", "fs", "gs"] as const;

// ---- one-byte opcode map (SDM Vol. 2D Table A-2) ---------------------------------------------

for (let op = 0; op < 8; op++) {
  const m = ALU_NAMES[op]!;
  const b = op * 8;
  const cmp = op === 7;
  const logic = op === 1 || op === 4 || op === 6;
  const u = logic ? AF : 0;
  const lock = !cmp;
  f(m, [b], cmp ? A.cmpRmR8 : A.aluRmR8, { modrm: "rm", sub: op, undefinedFlags: u, lockable: lock });
  f(m, [b + 1], cmp ? [A.cmpRmR16, A.cmpRmR32] : [A.aluRmR16, A.aluRmR32], {
    modrm: "rm",
    sub: op,
    undefinedFlags: u,
    lockable: lock,
  });
  f(m, [b + 2], A.aluRRm8, { modrm: "rm", sub: op, undefinedFlags: u });
  f(m, [b + 3], [A.aluRRm16, A.aluRRm32], { modrm: "rm", sub: op, undefinedFlags: u });
  f(m, [b + 4], A.aluAccImm8, { immediate: 1, sub: op, undefinedFlags: u });
  f(m, [b + 5], [A.aluAccImm16, A.aluAccImm32], { immediate: "z", sub: op, undefinedFlags: u });
}
// Segment register pushes and pops.
for (const [op, seg] of [
  [0x06, 0],
  [0x0e, 1],
  [0x16, 2],
  [0x1e, 3],
] as const) {
  f("push", [op], [D.pushSeg, D.pushSeg], { sub: seg, operandSizes: ANY });
}
for (const [op, seg] of [
  [0x07, 0],
  [0x17, 2],
  [0x1f, 3],
] as const) {
  f("pop", [op], [D.popSeg, D.popSeg], { sub: seg, oracle: "system", end: true });
}
f("daa", [0x27], A.daa, { undefinedFlags: OF });
f("das", [0x2f], A.das, { undefinedFlags: OF });
f("aaa", [0x37], A.aaa, { undefinedFlags: OF | SF | ZF | PF });
f("aas", [0x3f], A.aas, { undefinedFlags: OF | SF | ZF | PF });
for (let r = 0; r < 8; r++) {
  f("inc", [0x40 + r], [A.incR16, A.incR32]);
  f("dec", [0x48 + r], [A.decR16, A.decR32]);
  f("push", [0x50 + r], [D.pushR16, D.pushR32]);
  f("pop", [0x58 + r], [D.popR16, D.popR32]);
}
f("pusha", [0x60], [D.pusha, D.pusha]);
f("popa", [0x61], [D.popa, D.popa]);
f("bound", [0x62], [D.bound, D.bound], { modrm: "mem" });
f("arpl", [0x63], Y.arplOp, { modrm: "rm", operandSizes: [16], oracle: "system" });
f("push", [0x68], [D.pushImm16, D.pushImm32], { immediate: "z" });
f("imul", [0x69], [A.imulRRm16, A.imulRRm32], {
  modrm: "rm",
  immediate: "z",
  sub: 1,
  undefinedFlags: SF | ZF | AF | PF,
});
f("push", [0x6a], [D.pushImm16, D.pushImm32], { immediate: 1, sx: true });
f("imul", [0x6b], [A.imulRRm16, A.imulRRm32], {
  modrm: "rm",
  immediate: 1,
  sx: true,
  sub: 1,
  undefinedFlags: SF | ZF | AF | PF,
});
f("insb", [0x6c], S.ins, { sub: 1, oracle: "system", string: true, end: true });
f("ins", [0x6d], [S.ins, S.ins], { subBySize: true, oracle: "system", string: true, end: true });
f("outsb", [0x6e], S.outs, { sub: 1, oracle: "system", string: true, end: true });
f("outs", [0x6f], [S.outs, S.outs], { subBySize: true, oracle: "system", string: true, end: true });
for (let cc = 0; cc < 16; cc++) {
  f(`j${CC_NAMES[cc]}`, [0x70 + cc], [C.jcc, C.jcc], {
    immediate: 1,
    sx: true,
    sub: cc,
    oracle: "control",
    end: true,
  });
}
for (let d = 0; d < 8; d++) {
  const m = ALU_NAMES[d]!;
  const u = d === 1 || d === 4 || d === 6 ? AF : 0;
  const lock = d !== 7;
  f(m, [0x80], A.aluRmImm8, {
    modrm: "rm",
    digit: d,
    immediate: 1,
    sub: d,
    undefinedFlags: u,
    lockable: lock,
  });
  f(m, [0x81], [A.aluRmImm16, A.aluRmImm32], {
    modrm: "rm",
    digit: d,
    immediate: "z",
    sub: d,
    undefinedFlags: u,
    lockable: lock,
  });
  // 82 is an alias of 80 in 16/32-bit mode (SDM Vol. 2D Table A-6 note).
  f(m, [0x82], A.aluRmImm8, {
    modrm: "rm",
    digit: d,
    immediate: 1,
    sub: d,
    undefinedFlags: u,
    lockable: lock,
  });
  f(m, [0x83], [A.aluRmImm16, A.aluRmImm32], {
    modrm: "rm",
    digit: d,
    immediate: 1,
    sx: true,
    sub: d,
    undefinedFlags: u,
    lockable: lock,
  });
}
f("test", [0x84], A.testRmR8, { modrm: "rm", undefinedFlags: AF });
f("test", [0x85], [A.testRmR16, A.testRmR32], { modrm: "rm", undefinedFlags: AF });
f("xchg", [0x86], D.xchg8, { modrm: "rm", lockable: true });
f("xchg", [0x87], [D.xchg16, D.xchg32], { modrm: "rm", lockable: true });
f("mov", [0x88], D.movRmR8, { modrm: "rm" });
f("mov", [0x89], [D.movRmR16, D.movRmR32], {
  modrm: "rm",
  execReg: [D.movRmR16, D.movRmR32],
  execMem: [D.movRmR16, D.movMR32],
});
f("mov", [0x8a], D.movRRm8, { modrm: "rm" });
f("mov", [0x8b], [D.movRRm16, D.movRRm32], {
  modrm: "rm",
  execReg: [D.movRRm16, D.movRR32],
  execMem: [D.movRRm16, D.movRM32],
});
f("mov", [0x8c], [D.movRmSeg, D.movRmSeg], { modrm: "rm" });
f("lea", [0x8d], [D.lea16, D.lea32], { modrm: "mem" });
f("mov", [0x8e], [D.movSegRm, D.movSegRm], { modrm: "rm", operandSizes: [16], oracle: "system", end: true });
f("pop", [0x8f], [D.popRm16, D.popRm32], { modrm: "rm", digit: 0 });
f("nop", [0x90], [D.nop, D.nop]);
for (let r = 1; r < 8; r++) f("xchg", [0x90 + r], [D.xchgAx16, D.xchgAx32]);
f("cbw", [0x98], [A.cbw, A.cbw]);
f("cwd", [0x99], [A.cwd, A.cwd]);
f("call", [0x9a], [C.callFarImm, C.callFarImm], {
  immediate: [4, 2],
  far: true,
  oracle: "system",
  end: true,
});
f("fwait", [0x9b], Y.fwait, { operandSizes: ANY });
f("pushf", [0x9c], [D.pushf, D.pushf]);
f("popf", [0x9d], [D.popf, D.popf], { end: true });
f("sahf", [0x9e], A.sahf, { operandSizes: ANY });
f("lahf", [0x9f], A.lahf, { operandSizes: ANY });
f("mov", [0xa0], D.movAlMoffs, { immediate: 4, moffs: true });
f("mov", [0xa1], [D.movAxMoffs16, D.movAxMoffs32], { immediate: 4, moffs: true });
f("mov", [0xa2], D.movMoffsAl, { immediate: 4, moffs: true });
f("mov", [0xa3], [D.movMoffsAx16, D.movMoffsAx32], { immediate: 4, moffs: true });
f("movsb", [0xa4], S.movs, { sub: 1, string: true });
f("movs", [0xa5], [S.movs, S.movs], { subBySize: true, string: true });
f("cmpsb", [0xa6], S.cmps, { sub: 1, string: true });
f("cmps", [0xa7], [S.cmps, S.cmps], { subBySize: true, string: true });
f("test", [0xa8], A.testAccImm8, { immediate: 1, undefinedFlags: AF });
f("test", [0xa9], [A.testAccImm16, A.testAccImm32], { immediate: "z", undefinedFlags: AF });
f("stosb", [0xaa], S.stos, { sub: 1, string: true });
f("stos", [0xab], [S.stos, S.stos], { subBySize: true, string: true });
f("lodsb", [0xac], S.lods, { sub: 1, string: true });
f("lods", [0xad], [S.lods, S.lods], { subBySize: true, string: true });
f("scasb", [0xae], S.scas, { sub: 1, string: true });
f("scas", [0xaf], [S.scas, S.scas], { subBySize: true, string: true });
for (let r = 0; r < 8; r++) {
  f("mov", [0xb0 + r], D.movRImm8, { immediate: 1 });
}
for (let r = 0; r < 8; r++) {
  f("mov", [0xb8 + r], [D.movRImm16, D.movRImm32], { immediate: "z" });
}
for (let d = 0; d < 8; d++) {
  const m = SHIFT_NAMES[d]!;
  const rot = d < 4;
  // Count from imm8 / CL: OF is defined only for a count of 1; AF undefined for shifts.
  const uCount = rot ? OF : OF | AF;
  const uOne = rot ? 0 : AF;
  f(m, [0xc0], A.shiftRm8, { modrm: "rm", digit: d, immediate: 1, sub: d, sub2: 0, undefinedFlags: uCount });
  f(m, [0xc1], [A.shiftRm16, A.shiftRm32], {
    modrm: "rm",
    digit: d,
    immediate: 1,
    sub: d,
    sub2: 0,
    undefinedFlags: uCount,
  });
  f(m, [0xd0], A.shiftRm8, { modrm: "rm", digit: d, sub: d, sub2: 1, undefinedFlags: uOne });
  f(m, [0xd1], [A.shiftRm16, A.shiftRm32], { modrm: "rm", digit: d, sub: d, sub2: 1, undefinedFlags: uOne });
  f(m, [0xd2], A.shiftRm8, { modrm: "rm", digit: d, sub: d, sub2: 2, undefinedFlags: uCount });
  f(m, [0xd3], [A.shiftRm16, A.shiftRm32], {
    modrm: "rm",
    digit: d,
    sub: d,
    sub2: 2,
    undefinedFlags: uCount,
  });
}
f("ret", [0xc2], [C.retNear16, C.retNear32], { immediate: 2, oracle: "control", end: true });
f("ret", [0xc3], [C.retNear16, C.retNear32], { oracle: "control", end: true });
f("les", [0xc4], [D.loadFarPointer, D.loadFarPointer], { modrm: "mem", sub: 0, oracle: "system" });
f("lds", [0xc5], [D.loadFarPointer, D.loadFarPointer], { modrm: "mem", sub: 3, oracle: "system" });
f("mov", [0xc6], D.movRmImm8, { modrm: "rm", digit: 0, immediate: 1 });
f("mov", [0xc7], [D.movRmImm16, D.movRmImm32], { modrm: "rm", digit: 0, immediate: "z" });
f("enter", [0xc8], [D.enter, D.enter], { immediate: [2, 1] });
f("leave", [0xc9], [D.leave, D.leave]);
f("retf", [0xca], [C.retFar, C.retFar], { immediate: 2, oracle: "system", end: true });
f("retf", [0xcb], [C.retFar, C.retFar], { oracle: "system", end: true });
f("int3", [0xcc], C.int3, { operandSizes: ANY, oracle: "system", end: true });
f("int", [0xcd], C.intN, { immediate: 1, operandSizes: ANY, oracle: "system", end: true });
f("into", [0xce], C.into, { operandSizes: ANY, oracle: "system", end: true });
f("iret", [0xcf], [C.iretOp, C.iretOp], { oracle: "system", end: true });
f("aam", [0xd4], A.aam, { immediate: 1, undefinedFlags: OF | AF | CF });
f("aad", [0xd5], A.aad, { immediate: 1, undefinedFlags: OF | AF | CF });
f("salc", [0xd6], A.salc);
f("xlat", [0xd7], D.xlat);
f("loopne", [0xe0], [C.loop, C.loop], { immediate: 1, sx: true, sub: 0, oracle: "control", end: true });
f("loope", [0xe1], [C.loop, C.loop], { immediate: 1, sx: true, sub: 1, oracle: "control", end: true });
f("loop", [0xe2], [C.loop, C.loop], { immediate: 1, sx: true, sub: 2, oracle: "control", end: true });
f("jcxz", [0xe3], [C.loop, C.loop], { immediate: 1, sx: true, sub: 3, oracle: "control", end: true });
f("in", [0xe4], Y.inOp, { immediate: 1, sub: 1, sub2: 0, oracle: "system", end: true });
f("in", [0xe5], [Y.inOp, Y.inOp], { immediate: 1, subBySize: true, sub2: 0, oracle: "system", end: true });
f("out", [0xe6], Y.outOp, { immediate: 1, sub: 1, sub2: 0, oracle: "system", end: true });
f("out", [0xe7], [Y.outOp, Y.outOp], { immediate: 1, subBySize: true, sub2: 0, oracle: "system", end: true });
f("call", [0xe8], [C.callRel16, C.callRel32], { immediate: "z", sx: true, oracle: "control", end: true });
f("jmp", [0xe9], [C.jmpRel, C.jmpRel], { immediate: "z", sx: true, oracle: "control", end: true });
f("jmp", [0xea], [C.jmpFarImm, C.jmpFarImm], { immediate: [4, 2], far: true, oracle: "system", end: true });
f("jmp", [0xeb], [C.jmpRel, C.jmpRel], { immediate: 1, sx: true, oracle: "control", end: true });
f("in", [0xec], Y.inOp, { sub: 1, sub2: 1, oracle: "system", end: true });
f("in", [0xed], [Y.inOp, Y.inOp], { subBySize: true, sub2: 1, oracle: "system", end: true });
f("out", [0xee], Y.outOp, { sub: 1, sub2: 1, oracle: "system", end: true });
f("out", [0xef], [Y.outOp, Y.outOp], { subBySize: true, sub2: 1, oracle: "system", end: true });
f("hlt", [0xf4], Y.hlt, { operandSizes: ANY, oracle: "system", end: true });
f("cmc", [0xf5], A.cmc, { operandSizes: ANY });
// Group 3 (F6 F7)
const G3_8: [string, Handler, number][] = [
  ["test", A.testRmImm8, AF],
  ["test", A.testRmImm8, AF],
  ["not", A.notRm8, 0],
  ["neg", A.negRm8, 0],
  ["mul", A.mulRm8, SF | ZF | AF | PF],
  ["imul", A.imulRm8, SF | ZF | AF | PF],
  ["div", A.divRm8, CF | OF | SF | ZF | AF | PF],
  ["idiv", A.idivRm8, CF | OF | SF | ZF | AF | PF],
];
const G3_V: [Sized, number][] = [
  [[A.testRmImm16, A.testRmImm32], AF],
  [[A.testRmImm16, A.testRmImm32], AF],
  [[A.notRm16, A.notRm32], 0],
  [[A.negRm16, A.negRm32], 0],
  [[A.mulRm16, A.mulRm32], SF | ZF | AF | PF],
  [[A.imulRm16, A.imulRm32], SF | ZF | AF | PF],
  [[A.divRm16, A.divRm32], CF | OF | SF | ZF | AF | PF],
  [[A.idivRm16, A.idivRm32], CF | OF | SF | ZF | AF | PF],
];
for (let d = 0; d < 8; d++) {
  const [m, h8, u] = G3_8[d]!;
  const lock = d === 2 || d === 3;
  f(m, [0xf6], h8, { modrm: "rm", digit: d, immediate: d < 2 ? 1 : 0, undefinedFlags: u, lockable: lock });
  f(m, [0xf7], G3_V[d]![0], {
    modrm: "rm",
    digit: d,
    immediate: d < 2 ? "z" : 0,
    undefinedFlags: G3_V[d]![1],
    lockable: lock,
  });
}
f("clc", [0xf8], A.clc, { operandSizes: ANY });
f("stc", [0xf9], A.stc, { operandSizes: ANY });
f("cli", [0xfa], Y.cli, { operandSizes: ANY, oracle: "system", end: true });
f("sti", [0xfb], Y.sti, { operandSizes: ANY, oracle: "system", end: true });
f("cld", [0xfc], A.cld, { operandSizes: ANY });
f("std", [0xfd], A.std, { operandSizes: ANY });
f("inc", [0xfe], A.incRm8, { modrm: "rm", digit: 0, lockable: true });
f("dec", [0xfe], A.decRm8, { modrm: "rm", digit: 1, lockable: true });
f("inc", [0xff], [A.incRm16, A.incRm32], { modrm: "rm", digit: 0, lockable: true });
f("dec", [0xff], [A.decRm16, A.decRm32], { modrm: "rm", digit: 1, lockable: true });
f("call", [0xff], [C.callRm16, C.callRm32], { modrm: "rm", digit: 2, oracle: "control", end: true });
f("call", [0xff], [C.callFarMem, C.callFarMem], { modrm: "mem", digit: 3, oracle: "system", end: true });
f("jmp", [0xff], [C.jmpRm16, C.jmpRm32], { modrm: "rm", digit: 4, oracle: "control", end: true });
f("jmp", [0xff], [C.jmpFarMem, C.jmpFarMem], { modrm: "mem", digit: 5, oracle: "system", end: true });
f("push", [0xff], [D.pushRm16, D.pushRm32], { modrm: "rm", digit: 6 });

// ---- two-byte opcode map 0F xx (SDM Vol. 2D Table A-3) ----------------------------------------

const G6 = ["sldt", "str", "lldt", "ltr", "verr", "verw"] as const;
for (let d = 0; d < 6; d++) {
  f(G6[d]!, [0x0f, 0x00], [Y.group6, Y.group6], { modrm: "rm", digit: d, oracle: "system", end: true });
}
const G7: [string, "rm" | "mem"][] = [
  ["sgdt", "mem"],
  ["sidt", "mem"],
  ["lgdt", "mem"],
  ["lidt", "mem"],
  ["smsw", "rm"],
  ["", "mem"],
  ["lmsw", "rm"],
  ["invlpg", "mem"],
];
for (let d = 0; d < 8; d++) {
  if (d === 5) continue;
  const [m, mod] = G7[d]!;
  f(m, [0x0f, 0x01], [Y.group7, Y.group7], { modrm: mod, digit: d, oracle: "system", end: true });
}
f("lar", [0x0f, 0x02], [Y.larLsl, Y.larLsl], { modrm: "rm", sub: 0, oracle: "system" });
f("lsl", [0x0f, 0x03], [Y.larLsl, Y.larLsl], { modrm: "rm", sub: 1, oracle: "system" });
f("clts", [0x0f, 0x06], Y.cltsOp, { operandSizes: ANY, oracle: "system", end: true });
f("invd", [0x0f, 0x08], Y.invdOp, { operandSizes: ANY, sub: 0, oracle: "system", end: true });
f("wbinvd", [0x0f, 0x09], Y.invdOp, { operandSizes: ANY, sub: 1, oracle: "system", end: true });
// Hint NOPs 0F 18..0F 1F /r (SDM Vol. 2B NOP; "reserved NOP" space on P6 and later).
for (let op = 0x18; op <= 0x1f; op++) f("nop", [0x0f, op], [D.nop, D.nop], { modrm: "rm" });
f("mov", [0x0f, 0x20], Y.movRCr, { modrm: "reg", modIgnored: true, operandSizes: [32], oracle: "system" });
f("mov", [0x0f, 0x21], Y.movRDr, { modrm: "reg", modIgnored: true, operandSizes: [32], oracle: "system" });
f("mov", [0x0f, 0x22], Y.movCrR, {
  modrm: "reg",
  modIgnored: true,
  operandSizes: [32],
  oracle: "system",
  end: true,
});
f("mov", [0x0f, 0x23], Y.movDrR, {
  modrm: "reg",
  modIgnored: true,
  operandSizes: [32],
  oracle: "system",
  end: true,
});
f("wrmsr", [0x0f, 0x30], Y.wrmsrOp, { operandSizes: ANY, oracle: "system", end: true });
f("rdtsc", [0x0f, 0x31], Y.rdtsc, { operandSizes: ANY, oracle: "system", end: true });
f("rdmsr", [0x0f, 0x32], Y.rdmsrOp, { operandSizes: ANY, oracle: "system", end: true });
f("rdpmc", [0x0f, 0x33], Y.rdpmc, { operandSizes: ANY, oracle: "system", end: true });
f("sysenter", [0x0f, 0x34], Y.sysenterOp, { operandSizes: ANY, oracle: "system", end: true });
f("sysexit", [0x0f, 0x35], Y.sysexitOp, { operandSizes: ANY, oracle: "system", end: true });
for (let cc = 0; cc < 16; cc++) {
  f(`cmov${CC_NAMES[cc]}`, [0x0f, 0x40 + cc], [A.cmov16, A.cmov32], { modrm: "rm", sub: cc });
}
for (let cc = 0; cc < 16; cc++) {
  f(`j${CC_NAMES[cc]}`, [0x0f, 0x80 + cc], [C.jcc, C.jcc], {
    immediate: "z",
    sx: true,
    sub: cc,
    oracle: "control",
    end: true,
  });
}
for (let cc = 0; cc < 16; cc++) {
  f(`set${CC_NAMES[cc]}`, [0x0f, 0x90 + cc], A.setcc, { modrm: "rm", sub: cc });
}
f("push", [0x0f, 0xa0], [D.pushSeg, D.pushSeg], { sub: 4 });
f("pop", [0x0f, 0xa1], [D.popSeg, D.popSeg], { sub: 4, oracle: "system" });
f("cpuid", [0x0f, 0xa2], Y.cpuidOp, { operandSizes: ANY, oracle: "system", end: true });
f("bt", [0x0f, 0xa3], [A.btRm16, A.btRm32], {
  modrm: "rm",
  sub: 0,
  sub2: 0,
  undefinedFlags: OF | SF | AF | PF,
});
f("shld", [0x0f, 0xa4], [A.shldRm16, A.shldRm32], {
  modrm: "rm",
  immediate: 1,
  sub: 0,
  sub2: 0,
  undefinedFlags: AF | OF,
});
f("shld", [0x0f, 0xa5], [A.shldRm16, A.shldRm32], { modrm: "rm", sub: 0, sub2: 2, undefinedFlags: AF | OF });
f("push", [0x0f, 0xa8], [D.pushSeg, D.pushSeg], { sub: 5 });
f("pop", [0x0f, 0xa9], [D.popSeg, D.popSeg], { sub: 5, oracle: "system" });
f("bts", [0x0f, 0xab], [A.btRm16, A.btRm32], {
  modrm: "rm",
  sub: 1,
  sub2: 0,
  undefinedFlags: OF | SF | AF | PF,
  lockable: true,
});
f("shrd", [0x0f, 0xac], [A.shldRm16, A.shldRm32], {
  modrm: "rm",
  immediate: 1,
  sub: 1,
  sub2: 0,
  undefinedFlags: AF | OF,
});
f("shrd", [0x0f, 0xad], [A.shldRm16, A.shldRm32], { modrm: "rm", sub: 1, sub2: 2, undefinedFlags: AF | OF });
f("imul", [0x0f, 0xaf], [A.imulRRm16, A.imulRRm32], {
  modrm: "rm",
  sub: 0,
  undefinedFlags: SF | ZF | AF | PF,
});
f("cmpxchg", [0x0f, 0xb0], A.cmpxchg8, { modrm: "rm", lockable: true });
f("cmpxchg", [0x0f, 0xb1], [A.cmpxchg16, A.cmpxchg32], { modrm: "rm", lockable: true });
f("lss", [0x0f, 0xb2], [D.loadFarPointer, D.loadFarPointer], {
  modrm: "mem",
  sub: 2,
  oracle: "system",
  end: true,
});
f("btr", [0x0f, 0xb3], [A.btRm16, A.btRm32], {
  modrm: "rm",
  sub: 2,
  sub2: 0,
  undefinedFlags: OF | SF | AF | PF,
  lockable: true,
});
f("lfs", [0x0f, 0xb4], [D.loadFarPointer, D.loadFarPointer], { modrm: "mem", sub: 4, oracle: "system" });
f("lgs", [0x0f, 0xb5], [D.loadFarPointer, D.loadFarPointer], { modrm: "mem", sub: 5, oracle: "system" });
f("movzx", [0x0f, 0xb6], [D.movzxB16, D.movzxB32], { modrm: "rm" });
f("movzx", [0x0f, 0xb7], [D.movzxW16, D.movzxW32], { modrm: "rm" });
const BT_NAMES = ["bt", "bts", "btr", "btc"] as const;
for (let d = 4; d < 8; d++) {
  f(BT_NAMES[d - 4]!, [0x0f, 0xba], [A.btRm16, A.btRm32], {
    modrm: "rm",
    digit: d,
    immediate: 1,
    sub: d - 4,
    sub2: 1,
    undefinedFlags: OF | SF | AF | PF,
    lockable: d !== 4,
  });
}
f("btc", [0x0f, 0xbb], [A.btRm16, A.btRm32], {
  modrm: "rm",
  sub: 3,
  sub2: 0,
  undefinedFlags: OF | SF | AF | PF,
  lockable: true,
});
f("bsf", [0x0f, 0xbc], [A.bsf16, A.bsf32], { modrm: "rm", undefinedFlags: CF | OF | SF | AF | PF });
f("bsr", [0x0f, 0xbd], [A.bsr16, A.bsr32], { modrm: "rm", undefinedFlags: CF | OF | SF | AF | PF });
f("movsx", [0x0f, 0xbe], [D.movsxB16, D.movsxB32], { modrm: "rm" });
f("movsx", [0x0f, 0xbf], [D.movsxW16, D.movsxW32], { modrm: "rm" });
f("xadd", [0x0f, 0xc0], A.xadd8, { modrm: "rm", lockable: true });
f("xadd", [0x0f, 0xc1], [A.xadd16, A.xadd32], { modrm: "rm", lockable: true });
f("cmpxchg8b", [0x0f, 0xc7], [A.cmpxchg8b, A.cmpxchg8b], { modrm: "mem", digit: 1, lockable: true });
for (let r = 0; r < 8; r++) f("bswap", [0x0f, 0xc8 + r], [A.bswap, A.bswap], { operandSizes: [32] });

// Segment names for reports (push/pop forms carry the segment in `sub`).
export const SEGMENT_NAMES = SEG_NAMES;

/** Every integer opcode form the interpreter implements (x87 forms: src/cpu/x87/table.ts). */
export const INTERP_FORMS: readonly InterpForm[] = forms;
export const INSTRUCTION_FORMS: readonly InstructionForm[] = forms;
