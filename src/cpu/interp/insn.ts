/**
 * A decoded instruction. Records are allocated when a block is decoded and then reused for
 * every execution of that block, so the hot loop allocates nothing. All fields are numbers
 * (plus the handler), initialised in the constructor, so every record has one shape.
 */

import type { Cpu } from "../cpu.js";

export type Handler = (cpu: Cpu, i: Insn) => void;

export class Insn {
  // Fields are declared (so laid out by V8) with those the run loop reads for every
  // instruction first: cold kernel code misses the cache on each record's first touch.
  /** Length in bytes (prefixes included). */
  len = 0;
  /** Fast-path kind executed inline by the run loop (interpreter.ts), 0 = call `fn`. */
  kind = 0;
  /** ModRM fields; for +r opcodes `reg` is the register from the opcode. */
  reg = 0;
  rm = 0;
  mod = 0;
  /** Sub-operation (ALU op number, condition code, group /digit, ...). */
  sub = 0;
  /** Segment of the memory operand (override or default). */
  seg = 3;
  /** Effective address: base register or -1, index register or -1, scale shift, displacement. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** 32-bit operand size / address size. */
  a32 = 1;
  imm = 0;
  o32 = 1;
  /** The implementation, chosen at decode time by opcode form, operand size and mod. */
  fn: Handler;
  /** A second sub-operation (shift count source, immediate form of BT, ...). */
  sub2 = 0;
  /** Opcode: 0x00..0xFF, or 0x100 | second byte for 0F xx. */
  op = 0;
  modrm = 0;
  /** 1 when a segment override prefix was present. */
  segOverride = 0;
  imm2 = 0;
  /** REP prefix: 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  lock = 0;

  constructor(fn: Handler) {
    this.fn = fn;
  }
}

/** Effective address offset of the memory operand (SDM Vol. 2A 2.1.5), masked to the address size. */
export function ea(cpu: Cpu, i: Insn): number {
  let a = i.disp;
  if (i.base >= 0) a += cpu.regs[i.base]!;
  if (i.index >= 0) a += cpu.regs[i.index]! << i.scale;
  return i.a32 !== 0 ? a | 0 : a & 0xffff;
}
