/**
 * The x87 escape opcodes D8..DF that vmlab implements (src/cpu/x87/fpu.ts), in the shape of
 * src/cpu/isa.ts, after the opcode map of Intel SDM Vol. 2 Appendix A.5 (Tables A-7..A-22).
 *
 * Memory forms carry the /digit; register forms carry `modrmBase`: the ModRM byte with
 * ST(i) = 0 (a form covers modrmBase..modrmBase+7), or the exact byte for fixed forms (the
 * comment says which). Forms absent here raise #UD, among them FISTTP (DB /1, DD /1, DF /1:
 * SSE3, not on the P6 we model).
 *
 * Every form runs in ring 3, so the oracle is "user". None of them has undefined EFLAGS:
 * FCOMI/FUCOMI(P) set ZF PF CF and clear OF SF AF; the rest leave EFLAGS alone. Results of
 * the arithmetic are double precision (see fpu.ts), so a comparison with the host must
 * round the host's results to double (store them as m64fp) or compare with a tolerance,
 * and the transcendental forms need a tolerance of a few ulps.
 */

import type { InstructionForm } from "../isa.js";

const mem = (
  mnemonic: string,
  opcode: number,
  digit: number,
  operandSizes: readonly (16 | 32)[] = [16, 32],
): InstructionForm => ({
  mnemonic,
  opcode: [opcode],
  modrm: "mem",
  digit,
  immediate: 0,
  operandSizes,
  undefinedFlags: 0,
  oracle: "user",
});

const reg = (mnemonic: string, opcode: number, modrmBase: number): InstructionForm => ({
  mnemonic,
  opcode: [opcode],
  modrm: "reg",
  modrmBase,
  immediate: 0,
  operandSizes: [16, 32],
  undefinedFlags: 0,
  oracle: "user",
});

export const X87_FORMS: readonly InstructionForm[] = [
  // ---- memory forms (ModRM mod != 3) ----
  mem("fadd", 0xd8, 0), // D8 /0 FADD m32fp
  mem("fmul", 0xd8, 1), // D8 /1 FMUL m32fp
  mem("fcom", 0xd8, 2), // D8 /2 FCOM m32fp
  mem("fcomp", 0xd8, 3), // D8 /3 FCOMP m32fp
  mem("fsub", 0xd8, 4), // D8 /4 FSUB m32fp
  mem("fsubr", 0xd8, 5), // D8 /5 FSUBR m32fp
  mem("fdiv", 0xd8, 6), // D8 /6 FDIV m32fp
  mem("fdivr", 0xd8, 7), // D8 /7 FDIVR m32fp
  mem("fld", 0xd9, 0), // D9 /0 FLD m32fp
  mem("fst", 0xd9, 2), // D9 /2 FST m32fp
  mem("fstp", 0xd9, 3), // D9 /3 FSTP m32fp
  mem("fldenv", 0xd9, 4), // D9 /4 FLDENV m14/28byte
  mem("fldcw", 0xd9, 5), // D9 /5 FLDCW m2byte
  mem("fnstenv", 0xd9, 6), // D9 /6 FNSTENV m14/28byte
  mem("fnstcw", 0xd9, 7), // D9 /7 FNSTCW m2byte
  mem("fiadd", 0xda, 0), // DA /0 FIADD m32int
  mem("fimul", 0xda, 1), // DA /1 FIMUL m32int
  mem("ficom", 0xda, 2), // DA /2 FICOM m32int
  mem("ficomp", 0xda, 3), // DA /3 FICOMP m32int
  mem("fisub", 0xda, 4), // DA /4 FISUB m32int
  mem("fisubr", 0xda, 5), // DA /5 FISUBR m32int
  mem("fidiv", 0xda, 6), // DA /6 FIDIV m32int
  mem("fidivr", 0xda, 7), // DA /7 FIDIVR m32int
  mem("fild", 0xdb, 0), // DB /0 FILD m32int
  mem("fist", 0xdb, 2), // DB /2 FIST m32int
  mem("fistp", 0xdb, 3), // DB /3 FISTP m32int
  mem("fld", 0xdb, 5), // DB /5 FLD m80fp
  mem("fstp", 0xdb, 7), // DB /7 FSTP m80fp
  mem("fadd", 0xdc, 0), // DC /0 FADD m64fp
  mem("fmul", 0xdc, 1), // DC /1 FMUL m64fp
  mem("fcom", 0xdc, 2), // DC /2 FCOM m64fp
  mem("fcomp", 0xdc, 3), // DC /3 FCOMP m64fp
  mem("fsub", 0xdc, 4), // DC /4 FSUB m64fp
  mem("fsubr", 0xdc, 5), // DC /5 FSUBR m64fp
  mem("fdiv", 0xdc, 6), // DC /6 FDIV m64fp
  mem("fdivr", 0xdc, 7), // DC /7 FDIVR m64fp
  mem("fld", 0xdd, 0), // DD /0 FLD m64fp
  mem("fst", 0xdd, 2), // DD /2 FST m64fp
  mem("fstp", 0xdd, 3), // DD /3 FSTP m64fp
  mem("frstor", 0xdd, 4), // DD /4 FRSTOR m94/108byte
  mem("fnsave", 0xdd, 6), // DD /6 FNSAVE m94/108byte
  mem("fnstsw", 0xdd, 7), // DD /7 FNSTSW m2byte
  mem("fiadd", 0xde, 0), // DE /0 FIADD m16int
  mem("fimul", 0xde, 1), // DE /1 FIMUL m16int
  mem("ficom", 0xde, 2), // DE /2 FICOM m16int
  mem("ficomp", 0xde, 3), // DE /3 FICOMP m16int
  mem("fisub", 0xde, 4), // DE /4 FISUB m16int
  mem("fisubr", 0xde, 5), // DE /5 FISUBR m16int
  mem("fidiv", 0xde, 6), // DE /6 FIDIV m16int
  mem("fidivr", 0xde, 7), // DE /7 FIDIVR m16int
  mem("fild", 0xdf, 0), // DF /0 FILD m16int
  mem("fist", 0xdf, 2), // DF /2 FIST m16int
  mem("fistp", 0xdf, 3), // DF /3 FISTP m16int
  mem("fbld", 0xdf, 4), // DF /4 FBLD m80bcd
  mem("fild", 0xdf, 5), // DF /5 FILD m64int
  mem("fbstp", 0xdf, 6), // DF /6 FBSTP m80bcd
  mem("fistp", 0xdf, 7), // DF /7 FISTP m64int
  // ---- register forms (ModRM mod = 3) ----
  reg("fadd", 0xd8, 0xc0), // D8 C0+i FADD ST(0), ST(i)
  reg("fmul", 0xd8, 0xc8), // D8 C8+i FMUL ST(0), ST(i)
  reg("fcom", 0xd8, 0xd0), // D8 D0+i FCOM ST(i)
  reg("fcomp", 0xd8, 0xd8), // D8 D8+i FCOMP ST(i)
  reg("fsub", 0xd8, 0xe0), // D8 E0+i FSUB ST(0), ST(i)
  reg("fsubr", 0xd8, 0xe8), // D8 E8+i FSUBR ST(0), ST(i)
  reg("fdiv", 0xd8, 0xf0), // D8 F0+i FDIV ST(0), ST(i)
  reg("fdivr", 0xd8, 0xf8), // D8 F8+i FDIVR ST(0), ST(i)
  reg("fld", 0xd9, 0xc0), // D9 C0+i FLD ST(i)
  reg("fxch", 0xd9, 0xc8), // D9 C8+i FXCH ST(i)
  reg("fnop", 0xd9, 0xd0), // D9 D0 FNOP (fixed form: exactly this ModRM byte)
  reg("fstp", 0xd9, 0xd8), // D9 D8+i FSTP1 ST(i): reserved alias of DD D8+i
  reg("fchs", 0xd9, 0xe0), // D9 E0 FCHS (fixed form: exactly this ModRM byte)
  reg("fabs", 0xd9, 0xe1), // D9 E1 FABS (fixed form: exactly this ModRM byte)
  reg("ftst", 0xd9, 0xe4), // D9 E4 FTST (fixed form: exactly this ModRM byte)
  reg("fxam", 0xd9, 0xe5), // D9 E5 FXAM (fixed form: exactly this ModRM byte)
  reg("fld1", 0xd9, 0xe8), // D9 E8 FLD1 (fixed form: exactly this ModRM byte)
  reg("fldl2t", 0xd9, 0xe9), // D9 E9 FLDL2T (fixed form: exactly this ModRM byte)
  reg("fldl2e", 0xd9, 0xea), // D9 EA FLDL2E (fixed form: exactly this ModRM byte)
  reg("fldpi", 0xd9, 0xeb), // D9 EB FLDPI (fixed form: exactly this ModRM byte)
  reg("fldlg2", 0xd9, 0xec), // D9 EC FLDLG2 (fixed form: exactly this ModRM byte)
  reg("fldln2", 0xd9, 0xed), // D9 ED FLDLN2 (fixed form: exactly this ModRM byte)
  reg("fldz", 0xd9, 0xee), // D9 EE FLDZ (fixed form: exactly this ModRM byte)
  reg("f2xm1", 0xd9, 0xf0), // D9 F0 F2XM1 (transcendental: double precision, compare with a tolerance) (fixed form: exactly this ModRM byte)
  reg("fyl2x", 0xd9, 0xf1), // D9 F1 FYL2X (transcendental) (fixed form: exactly this ModRM byte)
  reg("fptan", 0xd9, 0xf2), // D9 F2 FPTAN (transcendental) (fixed form: exactly this ModRM byte)
  reg("fpatan", 0xd9, 0xf3), // D9 F3 FPATAN (transcendental) (fixed form: exactly this ModRM byte)
  reg("fxtract", 0xd9, 0xf4), // D9 F4 FXTRACT (fixed form: exactly this ModRM byte)
  reg("fprem1", 0xd9, 0xf5), // D9 F5 FPREM1 (fixed form: exactly this ModRM byte)
  reg("fdecstp", 0xd9, 0xf6), // D9 F6 FDECSTP (fixed form: exactly this ModRM byte)
  reg("fincstp", 0xd9, 0xf7), // D9 F7 FINCSTP (fixed form: exactly this ModRM byte)
  reg("fprem", 0xd9, 0xf8), // D9 F8 FPREM (fixed form: exactly this ModRM byte)
  reg("fyl2xp1", 0xd9, 0xf9), // D9 F9 FYL2XP1 (transcendental) (fixed form: exactly this ModRM byte)
  reg("fsqrt", 0xd9, 0xfa), // D9 FA FSQRT (fixed form: exactly this ModRM byte)
  reg("fsincos", 0xd9, 0xfb), // D9 FB FSINCOS (transcendental) (fixed form: exactly this ModRM byte)
  reg("frndint", 0xd9, 0xfc), // D9 FC FRNDINT (fixed form: exactly this ModRM byte)
  reg("fscale", 0xd9, 0xfd), // D9 FD FSCALE (fixed form: exactly this ModRM byte)
  reg("fsin", 0xd9, 0xfe), // D9 FE FSIN (transcendental) (fixed form: exactly this ModRM byte)
  reg("fcos", 0xd9, 0xff), // D9 FF FCOS (transcendental) (fixed form: exactly this ModRM byte)
  reg("fcmovb", 0xda, 0xc0), // DA C0+i FCMOVB ST(0), ST(i)
  reg("fcmove", 0xda, 0xc8), // DA C8+i FCMOVE ST(0), ST(i)
  reg("fcmovbe", 0xda, 0xd0), // DA D0+i FCMOVBE ST(0), ST(i)
  reg("fcmovu", 0xda, 0xd8), // DA D8+i FCMOVU ST(0), ST(i)
  reg("fucompp", 0xda, 0xe9), // DA E9 FUCOMPP (fixed form: exactly this ModRM byte)
  reg("fcmovnb", 0xdb, 0xc0), // DB C0+i FCMOVNB ST(0), ST(i)
  reg("fcmovne", 0xdb, 0xc8), // DB C8+i FCMOVNE ST(0), ST(i)
  reg("fcmovnbe", 0xdb, 0xd0), // DB D0+i FCMOVNBE ST(0), ST(i)
  reg("fcmovnu", 0xdb, 0xd8), // DB D8+i FCMOVNU ST(0), ST(i)
  reg("fneni", 0xdb, 0xe0), // DB E0 FNENI: 8087 leftover, no operation (fixed form: exactly this ModRM byte)
  reg("fndisi", 0xdb, 0xe1), // DB E1 FNDISI: 8087 leftover, no operation (fixed form: exactly this ModRM byte)
  reg("fnclex", 0xdb, 0xe2), // DB E2 FNCLEX (fixed form: exactly this ModRM byte)
  reg("fninit", 0xdb, 0xe3), // DB E3 FNINIT (fixed form: exactly this ModRM byte)
  reg("fnsetpm", 0xdb, 0xe4), // DB E4 FNSETPM: 287 leftover, no operation (fixed form: exactly this ModRM byte)
  reg("fucomi", 0xdb, 0xe8), // DB E8+i FUCOMI ST(0), ST(i)
  reg("fcomi", 0xdb, 0xf0), // DB F0+i FCOMI ST(0), ST(i)
  reg("fadd", 0xdc, 0xc0), // DC C0+i FADD ST(i), ST(0)
  reg("fmul", 0xdc, 0xc8), // DC C8+i FMUL ST(i), ST(0)
  reg("fcom", 0xdc, 0xd0), // DC D0+i FCOM2 ST(i): reserved alias of D8 D0+i
  reg("fcomp", 0xdc, 0xd8), // DC D8+i FCOMP3 ST(i): reserved alias of D8 D8+i
  reg("fsubr", 0xdc, 0xe0), // DC E0+i FSUBR ST(i), ST(0)
  reg("fsub", 0xdc, 0xe8), // DC E8+i FSUB ST(i), ST(0)
  reg("fdivr", 0xdc, 0xf0), // DC F0+i FDIVR ST(i), ST(0)
  reg("fdiv", 0xdc, 0xf8), // DC F8+i FDIV ST(i), ST(0)
  reg("ffree", 0xdd, 0xc0), // DD C0+i FFREE ST(i)
  reg("fxch", 0xdd, 0xc8), // DD C8+i FXCH4 ST(i): reserved alias of D9 C8+i
  reg("fst", 0xdd, 0xd0), // DD D0+i FST ST(i)
  reg("fstp", 0xdd, 0xd8), // DD D8+i FSTP ST(i)
  reg("fucom", 0xdd, 0xe0), // DD E0+i FUCOM ST(i)
  reg("fucomp", 0xdd, 0xe8), // DD E8+i FUCOMP ST(i)
  reg("faddp", 0xde, 0xc0), // DE C0+i FADDP ST(i), ST(0)
  reg("fmulp", 0xde, 0xc8), // DE C8+i FMULP ST(i), ST(0)
  reg("fcomp", 0xde, 0xd0), // DE D0+i FCOMP5 ST(i): reserved alias of D8 D8+i
  reg("fcompp", 0xde, 0xd9), // DE D9 FCOMPP (fixed form: exactly this ModRM byte)
  reg("fsubrp", 0xde, 0xe0), // DE E0+i FSUBRP ST(i), ST(0)
  reg("fsubp", 0xde, 0xe8), // DE E8+i FSUBP ST(i), ST(0)
  reg("fdivrp", 0xde, 0xf0), // DE F0+i FDIVRP ST(i), ST(0)
  reg("fdivp", 0xde, 0xf8), // DE F8+i FDIVP ST(i), ST(0)
  reg("ffreep", 0xdf, 0xc0), // DF C0+i FFREEP ST(i): free, then pop (undocumented by Intel, present since the 287)
  reg("fxch", 0xdf, 0xc8), // DF C8+i FXCH7 ST(i): reserved alias of D9 C8+i
  reg("fstp", 0xdf, 0xd0), // DF D0+i FSTP8 ST(i): reserved alias of DD D8+i
  reg("fstp", 0xdf, 0xd8), // DF D8+i FSTP9 ST(i): reserved alias of DD D8+i
  reg("fnstsw", 0xdf, 0xe0), // DF E0 FNSTSW AX (fixed form: exactly this ModRM byte)
  reg("fucomip", 0xdf, 0xe8), // DF E8+i FUCOMIP ST(0), ST(i)
  reg("fcomip", 0xdf, 0xf0), // DF F0+i FCOMIP ST(0), ST(i)
];

/** Register forms whose `modrmBase` is one exact ModRM byte rather than a base for ST(i). */
export function isFixedRegisterForm(form: InstructionForm): boolean {
  if (form.modrm !== "reg" || form.modrmBase === undefined) return false;
  const op = form.opcode[0]!;
  const b = form.modrmBase;
  if (op === 0xd9) return b >= 0xd0 && b !== 0xd8;
  return (
    (op === 0xda && b === 0xe9) ||
    (op === 0xdb && b >= 0xe0 && b <= 0xe4) ||
    (op === 0xde && b === 0xd9) ||
    (op === 0xdf && b === 0xe0)
  );
}
