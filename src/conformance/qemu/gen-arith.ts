/**
 * Generates a real-mode firmware program with many small arithmetic cases on random
 * operands (seeded): each case loads EAX EBX ECX EDX and EFLAGS, runs one instruction and
 * prints the registers and the flags the SDM defines for it (16-bit, 32-bit via the 66
 * prefix, and 8-bit operands, all in real mode).
 */

import { deriveSeed, Prng } from "../layout.js";

interface ArithOp {
  readonly name: string;
  /** AT&T instruction text. */
  readonly insn: string;
  /** Defined flags after it (of CF PF AF ZF SF OF). */
  readonly mask: number;
  /** Adjust operands before the case (e.g. avoid #DE, keep counts in range). */
  readonly shape?: (r: number[], rng: Prng) => void;
}

const ALL = 0x8d5;
const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;

const ops: ArithOp[] = [];
for (const [sfx, a, b] of [
  ["b", "%bl", "%al"],
  ["w", "%bx", "%ax"],
  ["l", "%ebx", "%eax"],
] as const) {
  for (const m of ["add", "adc", "sub", "sbb", "cmp"])
    ops.push({ name: `${m}${sfx}`, insn: `${m}${sfx} ${a}, ${b}`, mask: ALL });
  for (const m of ["and", "or", "xor", "test"])
    ops.push({ name: `${m}${sfx}`, insn: `${m}${sfx} ${a}, ${b}`, mask: ALL & ~AF });
  for (const m of ["inc", "dec", "neg", "not"])
    ops.push({ name: `${m}${sfx}`, insn: `${m}${sfx} ${b}`, mask: ALL });
  ops.push({ name: `xadd${sfx}`, insn: `xadd${sfx} ${a}, ${b}`, mask: ALL });
  ops.push({
    name: `cmpxchg${sfx}`,
    insn: `cmpxchg${sfx} ${a}, %dl`.replace("%dl", sfx === "b" ? "%dl" : sfx === "w" ? "%dx" : "%edx"),
    mask: ALL,
  });
  const bits = sfx === "b" ? 8 : sfx === "w" ? 16 : 32;
  for (const m of ["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]) {
    const rot = m.startsWith("r");
    ops.push({
      name: `${m}${sfx}_cl`,
      insn: `${m}${sfx} %cl, ${b}`,
      mask: ALL,
      shape: (r, rng) => {
        const count = rng.pick([0, 1, 1, 2, 3, bits - 1, bits, bits + 1, 31]) & 31;
        r[1] = (r[1]! & ~0xff) | count;
        // Masks depend on the count: SDM Vol. 2B SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR.
        r[4] = count === 0 ? ALL : count === 1 ? (rot ? CF | OF : ALL & ~AF) : rot ? CF : ALL & ~(AF | OF);
        if (count > bits && !rot) r[4] = r[4]! & ~CF; // CF undefined when count >= size (shifts)
        if (count >= bits && !rot) r[4] = r[4]! & ~CF;
        if (rot && count > 0 && (m === "rol" || m === "ror") && (count & (bits - 1)) === 0)
          r[4] = CF | (count === 1 ? OF : 0);
      },
    });
  }
  ops.push({ name: `mul${sfx}`, insn: `mul${sfx} ${a}`, mask: CF | OF });
  ops.push({ name: `imul${sfx}`, insn: `imul${sfx} ${a}`, mask: CF | OF });
  ops.push({
    name: `div${sfx}`,
    insn: `div${sfx} ${a}`,
    mask: 0,
    shape: (r, rng) => {
      const d = (rng.u32() % 0xfd) + 2;
      r[3] = (r[3]! & ~0xff) | d;
      if (sfx === "b") r[0] = (r[0]! & ~0xff00) | (rng.below(d) << 8);
      else if (sfx === "w") r[2] = (r[2]! & ~0xffff) | 0;
      else r[2] = 0;
    },
  });
  ops.push({
    name: `idiv${sfx}`,
    insn: `idiv${sfx} ${a}`,
    mask: 0,
    shape: (r) => {
      r[3] = (r[3]! & ~0xff) | 0x7d;
      if (sfx === "b") r[0] = (r[0]! & ~0xffff) | ((r[0]! & 0x7fff) >> 4);
      else if (sfx === "w") {
        r[0] = (r[0]! & ~0xffff) | ((r[0]! & 0x7fff) >> 1);
        r[2] = r[2]! & ~0xffff;
      } else {
        r[0] = (r[0]! >>> 1) & 0x7fffffff;
        r[2] = 0;
      }
    },
  });
}
for (const [sfx, a, b] of [
  ["w", "%bx", "%ax"],
  ["l", "%ebx", "%eax"],
] as const) {
  ops.push({ name: `imul2${sfx}`, insn: `imul${sfx} ${a}, ${b}`, mask: CF | OF });
  ops.push({
    name: `bsf${sfx}`,
    insn: `bsf${sfx} ${a}, ${b}`,
    mask: ZF,
    shape: (r) => {
      r[3] = r[3]! | 0x10000 | 0x100;
    },
  });
  ops.push({
    name: `bsr${sfx}`,
    insn: `bsr${sfx} ${a}, ${b}`,
    mask: ZF,
    shape: (r) => {
      r[3] = r[3]! | 0x10000 | 0x100;
    },
  });
  for (const m of ["bt", "bts", "btr", "btc"])
    ops.push({ name: `${m}${sfx}`, insn: `${m}${sfx} ${a}, ${b}`, mask: CF });
  ops.push({
    name: `shld${sfx}`,
    insn: `shld${sfx} %cl, ${a}, ${b}`,
    mask: CF | SF | ZF | PF,
    shape: (r, rng) => {
      r[1] = (r[1]! & ~0xff) | (1 + rng.below(sfx === "w" ? 15 : 31));
    },
  });
  ops.push({
    name: `shrd${sfx}`,
    insn: `shrd${sfx} %cl, ${a}, ${b}`,
    mask: CF | SF | ZF | PF,
    shape: (r, rng) => {
      r[1] = (r[1]! & ~0xff) | (1 + rng.below(sfx === "w" ? 15 : 31));
    },
  });
  ops.push({ name: `movsx${sfx}`, insn: `movsb${sfx} %bl, ${b}`, mask: ALL });
  ops.push({ name: `movzx${sfx}`, insn: `movzb${sfx} %bl, ${b}`, mask: ALL });
}
ops.push({ name: "bswap", insn: "bswap %eax", mask: ALL });
ops.push({ name: "cbw", insn: "cbtw", mask: ALL });
ops.push({ name: "cwde", insn: "cwtl", mask: ALL });
ops.push({ name: "cwd", insn: "cwtd", mask: ALL });
ops.push({ name: "cdq", insn: "cltd", mask: ALL });
ops.push({ name: "daa", insn: "daa", mask: ALL & ~OF });
ops.push({ name: "das", insn: "das", mask: ALL & ~OF });
ops.push({ name: "aaa", insn: "aaa", mask: AF | CF });
ops.push({ name: "aas", insn: "aas", mask: AF | CF });
ops.push({ name: "aam", insn: "aam", mask: SF | ZF | PF });
ops.push({ name: "aad", insn: "aad", mask: SF | ZF | PF });
ops.push({ name: "setbe", insn: "setbe %al", mask: ALL });
ops.push({ name: "setl", insn: "setl %al", mask: ALL });
ops.push({ name: "cmovg", insn: "cmovgl %ebx, %eax", mask: ALL });
ops.push({ name: "sahf", insn: "sahf", mask: ALL });
ops.push({ name: "lahf", insn: "lahf", mask: ALL });
ops.push({ name: "salc", insn: ".byte 0xd6", mask: ALL });

const EDGE = [
  0, 1, 0xffffffff, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0x0f0f0f0f, 0x99, 0x09,
];

/** Assembly source of the generated program: `count` cases. */
export function generateArithProgram(seed: number, count: number): string {
  const rng = new Prng(deriveSeed(seed, "qemu-arith"));
  const lines: string[] = [
    "/* Generated by src/conformance/qemu/gen-arith.ts: real-mode arithmetic on random operands. */",
    '        .include "lib.inc"',
    "        .text",
    "        .code16",
    "        .globl _start",
    "_start:",
    "        cli",
    "        cld",
    "        xor %ax, %ax",
    "        mov %ax, %ss",
    "        mov $0x7000, %sp",
    "        mov %ax, %ds",
    `        PUTS16 "arith: seed ${seed}"`,
    "        NL16",
  ];
  for (let i = 0; i < count; i++) {
    const op = ops[i % ops.length]!;
    const r = [0, 0, 0, 0].map(() => (rng.chance(0.4) ? rng.pick(EDGE) : rng.u32()) >>> 0);
    r.push(op.mask);
    op.shape?.(r, rng);
    const mask = r[4]!;
    const flagsIn = (rng.u32() & 0x8d5) | 0x2;
    lines.push(
      `        movl $0x${(r[0]! >>> 0).toString(16)}, %eax`,
      `        movl $0x${(r[1]! >>> 0).toString(16)}, %ecx`,
      `        movl $0x${(r[2]! >>> 0).toString(16)}, %edx`,
      `        movl $0x${(r[3]! >>> 0).toString(16)}, %ebx`,
      `        pushl $0x${flagsIn.toString(16)}`,
      "        popfl",
      `        ${op.insn}`,
      "        pushfl",
      "        popl %esi",
      `        andl $0x${mask.toString(16)}, %esi`,
      `        PUTS16 "g${i} ${op.name}:"`,
      "        HEX16 a, %eax",
      "        HEX16 c, %ecx",
      "        HEX16 d, %edx",
      "        HEX16 b, %ebx",
      "        HEX16 fl, %esi",
      "        NL16",
    );
  }
  lines.push(
    '        PUTS16 "arith: done"',
    "        NL16",
    "        EXIT16",
    "        LIB_CODE16",
    "        RESET_VECTOR",
    "",
  );
  return lines.join("\n");
}

export const ARITH_OP_COUNT = ops.length;
