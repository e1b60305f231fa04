/**
 * The shape of vmlab's instruction table. The interpreter's decoder is driven by a table of
 * these (src/cpu/interp/table.ts, plus src/cpu/x87/table.ts for the escape opcodes), and the
 * conformance generator (src/conformance/) builds its test cases from the same table, so
 * every opcode form the interpreter implements is tested (STYLE.md practice 7).
 */
export interface InstructionForm {
  /** Lower-case Intel mnemonic, e.g. "add", "shld", "fadd". */
  readonly mnemonic: string;
  /** Opcode bytes after prefixes, e.g. [0x01] or [0x0f, 0xa4]. */
  readonly opcode: readonly number[];
  /** "none": no ModRM. "rm": ModRM with any mod. "reg": only mod=3 valid. "mem": only mod!=3 valid. */
  readonly modrm: "none" | "rm" | "reg" | "mem";
  /** The /digit of a group opcode (ModRM.reg), when the form is one member of a group. */
  readonly digit?: number;
  /** For x87 register forms (D8..DF with mod=3), the exact ModRM byte or its base (low 3 bits = ST(i)). */
  readonly modrmBase?: number;
  /** Immediate bytes: a count, "z" (2 or 4 by operand size), or "v16" (e.g. ENTER imm16,imm8 -> use [2,1]). */
  readonly immediate: 0 | 1 | 2 | 4 | "z" | readonly number[];
  /** Operand sizes for which the form is meaningful (8 for byte forms). */
  readonly operandSizes: readonly (8 | 16 | 32)[];
  /** EFLAGS bits the SDM calls undefined after this instruction (masked in comparisons). */
  readonly undefinedFlags: number;
  /**
   * What kind of oracle can test it: "user" runs natively on the host CPU in ring 3;
   * "system" needs a whole machine (privileged, segmentation, I/O) and is tested against QEMU;
   * "control" changes control flow (tested with care: relative targets inside the snippet).
   */
  readonly oracle: "user" | "system" | "control";
}
