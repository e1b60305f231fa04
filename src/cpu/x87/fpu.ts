/**
 * The x87 floating-point unit (Intel SDM Vol. 1 chapter 8, instruction pages in Vol. 2):
 * the P6-class FPU that Debian's 686 kernel requires (no math emulation), with the
 * FCMOVcc / FCOMI forms of the Pentium Pro and without SSE3's FISTTP (#UD).
 *
 * ## Representation and what is approximated
 * The eight data registers R0..R7 are held as JavaScript doubles (`st`, indexed by
 * physical register number; ST(i) = R[(TOP + i) mod 8]). Next to each double there is
 * an exact 80-bit shadow (`se`: sign and exponent, `mhi:mlo`: the 64-bit significand)
 * and a flag `exact` saying whether the shadow is authoritative:
 *   - values that enter a register without arithmetic keep all 80 bits: FLD m80,
 *     FRSTOR, FILD m64, FBLD, FLD ST(i), FXCH, FST ST(i), FCHS, FABS, the FLDPI-style
 *     constants, FRNDINT, FSCALE, FXTRACT, and every NaN. So FNSAVE/FRSTOR and
 *     FLD/FSTP m80 round-trip any bit pattern (Linux context switches), and
 *     FILD m64 / FISTP m64 (GCC's 64-bit atomic load/store idiom) is exact;
 *   - stores (FST m32/m64/m80, FIST, FBSTP) and comparisons round or compare from
 *     the 80-bit form, so they are exact under all four rounding modes;
 *   - ARITHMETIC IS DONE IN DOUBLE PRECISION (53-bit significand, the exponent range of
 *     a double): FADD/FSUB/FMUL/FDIV/FSQRT results are correctly rounded to 53 bits under
 *     the current RC (directed rounding is done exactly with error-free transformations),
 *     while the hardware with PC = 11b (extended, the default) rounds to 64 bits. Values
 *     outside the double range overflow/underflow at 2^1024 / 2^-1074 instead of
 *     2^16384 / 2^-16445 (OE is reported where the hardware would not). PC = 00b
 *     (single) is applied with Math.fround (round to nearest). PE and C1 (rounded up)
 *     describe the 53-bit rounding. OE/UE masked responses for register destinations
 *     are the IEEE ones; the unmasked ones do not apply the 2^24576 bias.
 *   - transcendental instructions (FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1)
 *     use Math.* in double precision: results may differ from the hardware in the last
 *     bits, and the argument reduction is not the hardware's 66-bit pi (SDM Vol. 1 8.3.10).
 *   - FPREM/FPREM1 are exact for double operands (JS % is an exact fmod); a partial
 *     remainder (exponent difference >= 64) reduces by 2^(D-N) with N = 32 + D mod 32.
 *
 * ## Exceptions (SDM Vol. 1 8.4-8.7)
 * IE (with SF and C1 for stack faults), DE, ZE, OE, UE, PE are set in FSW. A masked
 * exception gets the masked response (QNaN indefinite, integer indefinite, ...). An
 * unmasked pre-computation exception (IE, DE, ZE) leaves the destination and TOP
 * unchanged; any unmasked exception sets ES and B. The next *waiting* x87 instruction
 * (every one except FNINIT FNCLEX FNSTSW FNSTCW FNSTENV FNSAVE and the 8087/287 leftovers
 * FNENI FNDISI FNSETPM) or WAIT then signals it before executing:
 *   - CR0.NE = 1: #MF (vector 16), a fault at the waiting instruction;
 *   - CR0.NE = 0 (PC-style, "FERR#"): `irq13Pending` becomes true once per assertion of
 *     FERR# (it re-arms when ES is cleared: FNCLEX, FNINIT, FLDENV, FRSTOR, FLDCW); the
 *     machine should raise IRQ 13 on the master-slave PIC pair and clear the flag. The
 *     instruction then proceeds, as if IGNNE# were asserted.
 *
 * ## Device-not-available (SDM Vol. 3A 2.5 and Table 2-2)
 * CR0.EM = 1 or CR0.TS = 1: every escape instruction raises #NM. WAIT/FWAIT raises #NM
 * only when CR0.MP = 1 and CR0.TS = 1. Linux's lazy FPU switching relies on these.
 *
 * ## Last instruction and data pointers (SDM Vol. 1 8.1.8, 8.1.9)
 * Every non-control instruction records FCS:FIP, FOP (the low 3 opcode bits and the
 * ModRM byte) and, with a memory operand, FDS:FDP. FIP is `instructionEip` when the
 * interpreter sets it (>= 0) before calling execute(), otherwise `cpu.eip` as found.
 */

import { probeWriteMem, readMem16, readMem32, writeMem16, writeMem32 } from "../access.js";
import { type Cpu, CR0, CS, Flag, type X87Unit } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  addDiff,
  Cls,
  classifyExt,
  divDiff,
  doubleFromWords,
  doubleHi,
  doubleToExt,
  EXP_BIAS,
  EXP_MAX,
  Ext80,
  exponentOf,
  extToDouble,
  extToFloatBits,
  extToIntMagnitude,
  FloatStore,
  floatFromBits,
  INDEFINITE_HI,
  INDEFINITE_SE,
  mulDiff,
  nextAfter,
  normalizeExt,
  RC,
  Rounded,
  scalbn,
  shiftRound,
  sqrtDiff,
  u64ToExt,
} from "./float80.js";

/** FPU status word bits, SDM Vol. 1 8.1.3 (Figure 8-4). */
export const Fsw = {
  IE: 1 << 0,
  DE: 1 << 1,
  ZE: 1 << 2,
  OE: 1 << 3,
  UE: 1 << 4,
  PE: 1 << 5,
  SF: 1 << 6,
  ES: 1 << 7,
  C0: 1 << 8,
  C1: 1 << 9,
  C2: 1 << 10,
  TOP_SHIFT: 11,
  TOP_MASK: 7 << 11,
  C3: 1 << 14,
  B: 1 << 15,
} as const;

/** FPU control word fields, SDM Vol. 1 8.1.5 (Figure 8-6). */
export const Fcw = {
  EXCEPTION_MASKS: 0x3f,
  PC_SHIFT: 8,
  RC_SHIFT: 10,
  /** FNINIT value: all exceptions masked, extended precision, round to nearest. */
  DEFAULT: 0x037f,
} as const;

/** Tag values, SDM Vol. 1 8.1.7 (Figure 8-7). */
export const Tag = { VALID: 0, ZERO: 1, SPECIAL: 2, EMPTY: 3 } as const;

const { IE, DE, ZE, OE, UE, PE, SF, ES, C0, C1, C2, C3, B } = Fsw;
const CC_MASK = C0 | C1 | C2 | C3;
const EXC_MASK = 0x3f;
/** Comparison results, as C3 C2 C0 (SDM Vol. 2A FCOM, Table 3-21). */
const CMP_GT = 0;
const CMP_LT = C0;
const CMP_EQ = C3;
const CMP_UN = C3 | C2 | C0;
const ABORT = -1;
/** Unordered with an unmasked IE: the result is reported, the stack is not popped. */
const CMP_UN_ABORT = -2;

/** The slot after R0..R7 that holds a decoded memory operand (or a constant operand). */
const TMP = 8;

/** x87 constants as exact extended values (SDM Vol. 1 8.3.8): se, hi, lo, and the value
 * one ulp lower, used when RC rounds down or toward zero (or RC up for log2(10)). */
const K_PI = [0x4000, 0xc90f_daa2, 0x2168_c235] as const;
const K_L2E = [0x3fff, 0xb8aa_3b29, 0x5c17_f0bc] as const;
const K_L2T = [0x4000, 0xd49a_784b, 0xcd1b_8afe] as const;
const K_LG2 = [0x3ffd, 0x9a20_9a84, 0xfbcf_f799] as const;
const K_LN2 = [0x3ffe, 0xb172_17f7, 0xd1cf_79ac] as const;

export class X87Fpu implements X87Unit {
  private readonly cpu: Cpu;

  // ---- registers (index = physical register; TMP = memory operand) --------------------
  /** The value of each register as a double (the arithmetic works on these). */
  readonly st = new Float64Array(9);
  /** Exact 80-bit shadow: sign << 15 | exponent. */
  readonly se = new Uint16Array(9);
  /** Exact 80-bit shadow: significand bits 63..32 and 31..0. */
  readonly mhi = new Uint32Array(9);
  readonly mlo = new Uint32Array(9);
  /** 1 when the shadow holds the value exactly (the double is its rounding). */
  readonly exact = new Uint8Array(9);
  /** 1 when the register's tag is empty. The other tags are computed from the contents. */
  readonly empty = new Uint8Array(8);
  /** TOP, the physical number of ST(0). */
  top = 0;

  // ---- control, status, pointers -----------------------------------------------------
  fcw: number = Fcw.DEFAULT;
  /** FSW without the TOP field (see `statusWord`). */
  fsw = 0;
  fip = 0;
  fcs = 0;
  fdp = 0;
  fds = 0;
  fop = 0;
  /** Set by the interpreter to the address (offset in CS) of the current instruction. */
  instructionEip = -1;

  /** CR0.NE = 0 only: an unmasked exception was signalled, IRQ 13 should be raised. */
  irq13Pending = false;
  private ferrAsserted = false;

  // ---- scratch (no allocation per instruction) ----------------------------------------
  private readonly xa = new Ext80();
  private readonly xb = new Ext80();
  private readonly xn = new Ext80();
  private readonly xm = new Ext80();
  private readonly rnd = new Rounded();
  private readonly fst = new FloatStore();
  /** The memory operand in TMP was a denormal in its source format. */
  private tmpDenormal = false;
  private readonly envWords = new Uint32Array(7);
  private readonly rstLo = new Uint32Array(8);
  private readonly rstHi = new Uint32Array(8);
  private readonly rstSe = new Uint16Array(8);

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    this.reset();
  }

  // ---- public state views --------------------------------------------------------------

  /** FSW as FNSTSW stores it (TOP in bits 11..13). */
  get statusWord(): number {
    return (this.fsw & ~Fsw.TOP_MASK) | (this.top << Fsw.TOP_SHIFT);
  }

  /** The full tag word with computed tags (SDM Vol. 1 8.1.7). */
  get tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) tw |= this.tagOf(p) << (2 * p);
    return tw;
  }

  /** ST(i) as a double (for tests and debugging). */
  stValue(i: number): number {
    return this.st[(this.top + i) & 7]!;
  }

  /** ST(i) in 80-bit form: writes into `out`. */
  stExt(i: number, out: Ext80): void {
    this.loadExt((this.top + i) & 7, out);
  }

  // ---- X87Unit ----------------------------------------------------------------------------

  /** FNINIT (SDM Vol. 2A FINIT/FNINIT): register contents are left as they are. */
  reset(): void {
    this.fcw = Fcw.DEFAULT;
    this.fsw = 0;
    this.top = 0;
    this.empty.fill(1);
    this.fip = 0;
    this.fcs = 0;
    this.fdp = 0;
    this.fds = 0;
    this.fop = 0;
    this.ferrAsserted = false;
  }

  fwait(): void {
    const cr0 = this.cpu.cr0;
    if ((cr0 & (CR0.MP | CR0.TS)) === (CR0.MP | CR0.TS)) raise(this.cpu, Vector.NM);
    if ((this.fsw & ES) !== 0) this.signalPending();
  }

  execute(opcode: number, modrm: number, seg: number, offset: number, opSize32: boolean): void {
    const cpu = this.cpu;
    if ((cpu.cr0 & (CR0.EM | CR0.TS)) !== 0) raise(cpu, Vector.NM);
    const op = opcode & 7;
    if (modrm >= 0xc0) {
      this.executeReg(op, modrm);
      return;
    }
    const reg = (modrm >>> 3) & 7;
    // Control instructions with a memory operand (no pointer update, SDM Vol. 1 8.1.8).
    if (op === 1 && reg >= 4) {
      if (reg === 4 || reg === 5) {
        if ((this.fsw & ES) !== 0) this.signalPending();
        if (reg === 4) this.fldenv(seg, offset, opSize32);
        else this.loadControlWord(readMem16(cpu, seg, offset));
      } else if (reg === 6) {
        this.fnstenv(seg, offset, opSize32);
      } else {
        writeMem16(cpu, seg, offset, this.fcw);
      }
      return;
    }
    if (op === 5 && reg >= 4) {
      if (reg === 4) {
        if ((this.fsw & ES) !== 0) this.signalPending();
        this.frstor(seg, offset, opSize32);
        return;
      }
      if (reg === 6) {
        this.fnsave(seg, offset, opSize32);
        return;
      }
      if (reg === 7) {
        writeMem16(cpu, seg, offset, this.statusWord);
        return;
      }
      raise(cpu, Vector.UD); // DD /5
    }
    // Reserved memory forms: D9 /1, DB /1 (FISTTP: SSE3), DB /4, DB /6, DD /1 (FISTTP), DF /1 (FISTTP).
    if (reg === 1 && (op === 1 || op === 3 || op === 5 || op === 7)) {
      raise(cpu, Vector.UD);
    }
    if (op === 3 && (reg === 4 || reg === 6)) raise(cpu, Vector.UD);

    if ((this.fsw & ES) !== 0) this.signalPending();
    this.fop = (op << 8) | modrm;
    this.fip = this.instructionEip >= 0 ? this.instructionEip : cpu.eip;
    this.fcs = cpu.segSel[CS]!;
    this.fdp = offset >>> 0;
    this.fds = cpu.segSel[seg]!;

    switch (op) {
      case 0: // D8: m32fp arithmetic
        this.loadM32fp(seg, offset);
        this.arithmeticMem(reg);
        return;
      case 2: // DA: m32int arithmetic
        this.setTmpDouble(readMem32(cpu, seg, offset));
        this.arithmeticMem(reg);
        return;
      case 4: // DC: m64fp arithmetic
        this.loadM64fp(seg, offset);
        this.arithmeticMem(reg);
        return;
      case 6: // DE: m16int arithmetic
        this.setTmpDouble((readMem16(cpu, seg, offset) << 16) >> 16);
        this.arithmeticMem(reg);
        return;
      case 1: // D9
        if (reg === 0) {
          this.loadM32fp(seg, offset);
          this.fldFloatTmp();
        } else this.storeFloat(seg, offset, false, reg === 3);
        return;
      case 5: // DD
        if (reg === 0) {
          this.loadM64fp(seg, offset);
          this.fldFloatTmp();
        } else this.storeFloat(seg, offset, true, reg === 3);
        return;
      case 3: // DB
        switch (reg) {
          case 0:
            this.setTmpDouble(readMem32(cpu, seg, offset));
            this.pushTmp();
            return;
          case 2:
          case 3:
            this.storeInt(seg, offset, 32, reg === 3);
            return;
          case 5: {
            const lo = readMem32(cpu, seg, offset) >>> 0;
            const hi = readMem32(cpu, seg, offset + 4) >>> 0;
            const se = readMem16(cpu, seg, offset + 8);
            this.setExt(TMP, se, hi, lo);
            this.pushTmp();
            return;
          }
          default: // 7
            this.storeExt80(seg, offset);
            return;
        }
      default: // 7: DF
        switch (reg) {
          case 0:
            this.setTmpDouble((readMem16(cpu, seg, offset) << 16) >> 16);
            this.pushTmp();
            return;
          case 2:
          case 3:
            this.storeInt(seg, offset, 16, reg === 3);
            return;
          case 4:
            this.fbld(seg, offset);
            return;
          case 5: {
            const lo = readMem32(cpu, seg, offset) >>> 0;
            const hi = readMem32(cpu, seg, offset + 4) >>> 0;
            const neg = hi >= 0x8000_0000;
            // |value| of a two's complement 64-bit integer.
            const mlo = neg ? -lo >>> 0 : lo;
            const mhi = neg ? (~hi + (lo === 0 ? 1 : 0)) >>> 0 : hi;
            u64ToExt(neg, mhi, mlo, this.xa);
            this.setExt(TMP, this.xa.se, this.xa.hi, this.xa.lo);
            this.pushTmp();
            return;
          }
          case 6:
            this.fbstp(seg, offset);
            return;
          default: // 7
            this.storeInt(seg, offset, 64, true);
            return;
        }
    }
  }

  // ---- register forms -------------------------------------------------------------------

  private executeReg(op: number, modrm: number): void {
    const cpu = this.cpu;
    const i = modrm & 7;
    const row = (modrm >>> 3) & 7; // 0: C0-C7 ... 7: F8-FF
    // Undefined register encodings (SDM Vol. 2 Appendix A.5, Tables A-8..A-22) and the
    // no-wait control instructions.
    switch (op) {
      case 1:
        if (
          (row === 2 && i !== 0) ||
          (row === 4 && (i === 2 || i === 3 || i === 6 || i === 7)) ||
          modrm === 0xef
        ) {
          raise(cpu, Vector.UD);
        }
        break;
      case 2:
        if (row >= 4 && modrm !== 0xe9) raise(cpu, Vector.UD);
        break;
      case 3:
        if (row === 4) {
          if (i >= 5) raise(cpu, Vector.UD);
          if (i === 2) {
            this.fsw &= ~(0xff | B); // FNCLEX
            this.ferrAsserted = false;
          } else if (i === 3) {
            this.reset(); // FNINIT
          } // FNENI, FNDISI, FNSETPM: no operation on the 387 and later
          return;
        }
        if (row === 7) raise(cpu, Vector.UD);
        break;
      case 5:
        if (row >= 6) raise(cpu, Vector.UD);
        break;
      case 6:
        if (row === 3 && i !== 1) raise(cpu, Vector.UD);
        break;
      case 7:
        if (row === 4) {
          if (i !== 0) raise(cpu, Vector.UD);
          cpu.reg16[0] = this.statusWord; // FNSTSW AX
          return;
        }
        if (row === 7) raise(cpu, Vector.UD);
        break;
      default:
        break;
    }

    if ((this.fsw & ES) !== 0) this.signalPending();
    this.fop = (op << 8) | modrm;
    this.fip = this.instructionEip >= 0 ? this.instructionEip : cpu.eip;
    this.fcs = cpu.segSel[CS]!;

    const t = this.top;
    const sti = (t + i) & 7;
    switch (op) {
      case 0: // D8: ST(0) <- ST(0) op ST(i)
        this.arithmetic(row, t, t, sti, false);
        return;
      case 4: // DC: ST(i) <- ST(0) op ST(i) in the D8 numbering, so E0 (FSUBR) is ST(0) - ST(i)
        this.arithmetic(row, sti, t, sti, false);
        return;
      case 6: // DE: the same, then pop; DE D9 is FCOMPP
        if (row === 3) {
          this.fcom(t, (t + 1) & 7, false, 2);
          return;
        }
        this.arithmetic(row, sti, t, sti, true);
        return;
      case 1:
        this.executeD9(row, i, sti);
        return;
      case 2: // DA: FCMOVB FCMOVE FCMOVBE FCMOVU; DA E9 FUCOMPP
        if (row === 5) {
          this.fcom(t, (t + 1) & 7, true, 2);
          return;
        }
        this.fcmov(row, false, sti);
        return;
      case 3: // DB: FCMOVNB FCMOVNE FCMOVNBE FCMOVNU, FUCOMI, FCOMI
        if (row <= 3) this.fcmov(row, true, sti);
        else this.fcomi(sti, row === 5, false);
        return;
      case 5: // DD: FFREE, FXCH4 (alias), FST, FSTP, FUCOM, FUCOMP
        switch (row) {
          case 0:
            this.empty[sti] = 1;
            return;
          case 1:
            this.fxch(sti);
            return;
          case 2:
          case 3:
            this.fstReg(sti, row === 3);
            return;
          default:
            this.fcom(t, sti, true, row === 5 ? 1 : 0);
            return;
        }
      default: // 7: DF: FFREEP, FXCH7, FSTP8, FSTP9 (aliases), FUCOMIP, FCOMIP
        switch (row) {
          case 0:
            this.empty[sti] = 1;
            this.pop();
            return;
          case 1:
            this.fxch(sti);
            return;
          case 2:
          case 3:
            this.fstReg(sti, true);
            return;
          default:
            this.fcomi(sti, row === 5, true);
            return;
        }
    }
  }

  private executeD9(row: number, i: number, sti: number): void {
    const t = this.top;
    switch (row) {
      case 0: // FLD ST(i)
        this.fldReg(sti);
        return;
      case 1: // FXCH
        this.fxch(sti);
        return;
      case 2: // FNOP (a waiting instruction)
        return;
      case 3: {
        // FSTP1 (reserved alias of FSTP ST(i)). The oracle host (AMD) executes it without
        // the stack-underflow check: the tag moves with the value, then TOP is popped.
        this.fsw &= ~C1;
        const empty = this.empty[t]!;
        this.copySlot(sti, t);
        this.empty[sti] = empty;
        this.pop();
        return;
      }
      case 4:
        switch (i) {
          case 0: // FCHS
          case 1: // FABS
            if (this.empty[t]) {
              if (this.stackUnderflow()) {
                this.setIndefinite(t);
                this.empty[t] = 0;
              }
              return;
            }
            this.fsw &= ~C1;
            if (i === 0) this.setSign(t, !this.signOf(t));
            else this.setSign(t, false);
            return;
          case 4: // FTST
            this.setTmpDouble(0);
            this.fcom(t, TMP, false, 0);
            return;
          default: // 5: FXAM
            this.fxam();
            return;
        }
      case 5: // constants
        this.fldConst(i);
        return;
      case 6:
        switch (i) {
          case 0:
            this.f2xm1();
            return;
          case 1:
            this.fyl2x(false);
            return;
          case 2:
            this.fptanSincos(true);
            return;
          case 3:
            this.fpatan();
            return;
          case 4:
            this.fxtract();
            return;
          case 5:
            this.fprem(true);
            return;
          case 6: // FDECSTP
            this.fsw &= ~C1;
            this.top = (t - 1) & 7;
            return;
          default: // FINCSTP
            this.fsw &= ~C1;
            this.top = (t + 1) & 7;
            return;
        }
      default: // row 7
        switch (i) {
          case 0:
            this.fprem(false);
            return;
          case 1:
            this.fyl2x(true);
            return;
          case 2:
            this.fsqrt();
            return;
          case 3:
            this.fptanSincos(false);
            return;
          case 4:
            this.frndint();
            return;
          case 5:
            this.fscale();
            return;
          case 6:
            this.fsinCos(true);
            return;
          default:
            this.fsinCos(false);
            return;
        }
    }
  }

  // ---- exceptions -------------------------------------------------------------------------

  /** Set exception flags; returns true when one of them is unmasked (ES and B set). */
  private flag(bits: number): boolean {
    this.fsw |= bits;
    if ((bits & ~this.fcw & EXC_MASK) !== 0) {
      this.fsw |= ES | B;
      return true;
    }
    return false;
  }

  /** Stack underflow (IE + SF, C1 = 0). Returns true when masked (apply the masked response). */
  private stackUnderflow(): boolean {
    this.fsw &= ~C1;
    return !this.flag(IE | SF);
  }

  /** Stack overflow (IE + SF, C1 = 1). Returns true when masked. */
  private stackOverflow(): boolean {
    this.fsw |= C1;
    return !this.flag(IE | SF);
  }

  /** ES after a change of FCW or FSW: set iff an unmasked exception flag is set. */
  private updateSummary(): void {
    if ((this.fsw & ~this.fcw & EXC_MASK) !== 0) this.fsw |= ES | B;
    else {
      this.fsw &= ~(ES | B);
      this.ferrAsserted = false;
    }
  }

  /** A waiting instruction found ES set (SDM Vol. 1 8.7; Vol. 3A 2.5 CR0.NE). */
  private signalPending(): void {
    if ((this.cpu.cr0 & CR0.NE) !== 0) raise(this.cpu, Vector.MF);
    if (!this.ferrAsserted) {
      this.ferrAsserted = true;
      this.irq13Pending = true;
    }
  }

  private loadControlWord(v: number): void {
    // Bits 6 reads as 1, bits 7, 13..15 are reserved (SDM Vol. 1 Figure 8-6).
    this.fcw = (v & 0x1f3f) | 0x40;
    this.updateSummary();
  }

  // ---- register slots ---------------------------------------------------------------------

  private setDouble(p: number, v: number): void {
    if (Number.isNaN(v)) {
      this.setIndefinite(p);
      return;
    }
    this.st[p] = v;
    this.exact[p] = 0;
  }

  private setExt(p: number, se: number, hi: number, lo: number): void {
    this.se[p] = se;
    this.mhi[p] = hi;
    this.mlo[p] = lo;
    this.exact[p] = 1;
    this.st[p] = extToDouble(se, hi, lo);
  }

  private setIndefinite(p: number): void {
    this.setExt(p, INDEFINITE_SE, INDEFINITE_HI, 0);
  }

  private copySlot(dst: number, src: number): void {
    this.st[dst] = this.st[src]!;
    this.exact[dst] = this.exact[src]!;
    this.se[dst] = this.se[src]!;
    this.mhi[dst] = this.mhi[src]!;
    this.mlo[dst] = this.mlo[src]!;
  }

  private loadExt(p: number, out: Ext80): void {
    if (this.exact[p]) {
      out.se = this.se[p]!;
      out.hi = this.mhi[p]!;
      out.lo = this.mlo[p]!;
    } else doubleToExt(this.st[p]!, out);
  }

  private signOf(p: number): boolean {
    return this.exact[p] ? (this.se[p]! & 0x8000) !== 0 : doubleHi(this.st[p]!) >= 0x8000_0000;
  }

  private setSign(p: number, negative: boolean): void {
    if (this.exact[p]) {
      this.se[p] = (this.se[p]! & 0x7fff) | (negative ? 0x8000 : 0);
      this.st[p] = extToDouble(this.se[p]!, this.mhi[p]!, this.mlo[p]!);
    } else {
      const v = Math.abs(this.st[p]!);
      this.st[p] = negative ? -v : v;
    }
  }

  private classOf(p: number): number {
    if (this.exact[p]) return classifyExt(this.se[p]!, this.mhi[p]!, this.mlo[p]!);
    const x = this.st[p]!;
    if (Number.isNaN(x)) return Cls.NAN;
    if (x === 0) return Cls.ZERO;
    if (x === Infinity || x === -Infinity) return Cls.INFINITY;
    return Cls.NORMAL;
  }

  private tagOf(p: number): number {
    if (this.empty[p]) return Tag.EMPTY;
    const c = this.classOf(p);
    return c === Cls.NORMAL ? Tag.VALID : c === Cls.ZERO ? Tag.ZERO : Tag.SPECIAL;
  }

  /** A denormal operand in the sense of the DE exception (SDM Vol. 1 8.5.2). */
  private isDenormal(p: number): boolean {
    if (p === TMP) return this.tmpDenormal;
    return this.exact[p] === 1 && (this.se[p]! & EXP_MAX) === 0 && (this.mhi[p]! | this.mlo[p]!) !== 0;
  }

  /** SNaN or unsupported encoding: invalid even for the "unordered" compares. */
  private isSignaling(p: number): boolean {
    const c = this.classOf(p);
    if (c === Cls.UNSUPPORTED) return true;
    return c === Cls.NAN && this.exact[p] === 1 && (this.mhi[p]! & 0x4000_0000) === 0;
  }

  private setTmpDouble(v: number): void {
    this.st[TMP] = v;
    this.exact[TMP] = 0;
    this.tmpDenormal = false;
  }

  /** m32fp into TMP (NaNs keep their payload in the shadow). */
  private loadM32fp(seg: number, offset: number): void {
    const bits = readMem32(this.cpu, seg, offset) >>> 0;
    const e = (bits >>> 23) & 0xff;
    const frac = bits & 0x7f_ffff;
    this.tmpDenormal = e === 0 && frac !== 0;
    if (e === 0xff && frac !== 0) {
      this.setExt(TMP, ((bits >>> 31) << 15) | EXP_MAX, (0x8000_0000 | (frac << 8)) >>> 0, 0);
      return;
    }
    this.st[TMP] = floatFromBits(bits);
    this.exact[TMP] = 0;
  }

  private loadM64fp(seg: number, offset: number): void {
    const lo = readMem32(this.cpu, seg, offset) >>> 0;
    const hi = readMem32(this.cpu, seg, offset + 4) >>> 0;
    const e = (hi >>> 20) & 0x7ff;
    const fracNonzero = ((hi & 0xfffff) | lo) !== 0;
    this.tmpDenormal = e === 0 && fracNonzero;
    const v = doubleFromWords(hi, lo);
    if (e === 0x7ff && fracNonzero) {
      doubleToExt(v, this.xa);
      // doubleToExt reads the bits from a typed array, so the payload is preserved.
      this.setExt(TMP, this.xa.se, this.xa.hi, this.xa.lo);
      return;
    }
    this.st[TMP] = v;
    this.exact[TMP] = 0;
  }

  // ---- stack ------------------------------------------------------------------------------

  private pop(): void {
    this.empty[this.top] = 1;
    this.top = (this.top + 1) & 7;
  }

  /**
   * Make room for a push: returns the new ST(0) slot, or -1 after a stack overflow (the
   * masked response has then already pushed the QNaN indefinite).
   */
  private pushSlot(): number {
    const p = (this.top - 1) & 7;
    if (!this.empty[p]) {
      if (this.stackOverflow()) {
        this.top = p;
        this.setIndefinite(p);
      }
      return -1;
    }
    this.fsw &= ~C1;
    this.top = p;
    this.empty[p] = 0;
    return p;
  }

  /** FILD / FLD m80 / FBLD: push TMP. */
  private pushTmp(): void {
    const p = this.pushSlot();
    if (p >= 0) this.copySlot(p, TMP);
  }

  /** FLD m32fp / m64fp: SNaN -> IE (quieted), denormal -> DE, then push. */
  private fldFloatTmp(): void {
    if (!this.empty[(this.top - 1) & 7]) {
      this.pushSlot(); // stack overflow
      return;
    }
    if (this.exact[TMP] && (this.mhi[TMP]! & 0x4000_0000) === 0) {
      if (this.flag(IE)) return;
      this.mhi[TMP] = this.mhi[TMP]! | 0x4000_0000;
    }
    // DE (a denormal m32fp/m64fp source) does not stop the load even when unmasked (observed
    // on the oracle host; the value is exactly representable, so this is not harmful).
    if (this.tmpDenormal) this.flag(DE);
    this.pushTmp();
  }

  private fldReg(src: number): void {
    const p = (this.top - 1) & 7;
    if (!this.empty[p]) {
      this.pushSlot();
      return;
    }
    if (this.empty[src]) {
      if (this.stackUnderflow()) {
        this.top = p;
        this.empty[p] = 0;
        this.setIndefinite(p);
      }
      return;
    }
    this.copySlot(TMP, src);
    this.pushTmp();
  }

  private fldConst(i: number): void {
    if (i === 7) raise(this.cpu, Vector.UD); // D9 EF
    const p = this.pushSlot();
    if (p < 0) return;
    const rc = (this.fcw >>> Fcw.RC_SHIFT) & 3;
    const down = rc === RC.DOWN || rc === RC.CHOP;
    let k: readonly number[];
    switch (i) {
      case 0:
        this.setDouble(p, 1);
        return;
      case 1: // FLDL2T: the only constant rounded down to nearest; RC up takes the next one
        this.setExt(p, K_L2T[0], K_L2T[1], (K_L2T[2] + (rc === RC.UP ? 1 : 0)) >>> 0);
        return;
      case 2:
        k = K_L2E;
        break;
      case 3:
        k = K_PI;
        break;
      case 4:
        k = K_LG2;
        break;
      case 5:
        k = K_LN2;
        break;
      default: // 6
        this.setDouble(p, 0);
        return;
    }
    this.setExt(p, k[0]!, k[1]!, (k[2]! - (down ? 1 : 0)) >>> 0);
  }

  private fxch(sti: number): void {
    const t = this.top;
    if (this.empty[t] || this.empty[sti]) {
      if (!this.stackUnderflow()) return;
      if (this.empty[t]) {
        this.setIndefinite(t);
        this.empty[t] = 0;
      }
      if (this.empty[sti]) {
        this.setIndefinite(sti);
        this.empty[sti] = 0;
      }
    } else this.fsw &= ~C1;
    this.copySlot(TMP, t);
    this.copySlot(t, sti);
    this.copySlot(sti, TMP);
  }

  /** FST / FSTP ST(i). */
  private fstReg(sti: number, doPop: boolean): void {
    const t = this.top;
    if (this.empty[t]) {
      if (!this.stackUnderflow()) return;
      this.setIndefinite(sti);
    } else {
      this.fsw &= ~C1;
      this.copySlot(sti, t);
    }
    this.empty[sti] = 0;
    if (doPop) this.pop();
  }

  private fcmov(row: number, negate: boolean, sti: number): void {
    const t = this.top;
    if (this.empty[t] || this.empty[sti]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t);
        this.empty[t] = 0;
      }
      return;
    }
    this.fsw &= ~C1;
    const f = this.cpu.getEflags();
    let cond: boolean;
    switch (row) {
      case 0:
        cond = (f & Flag.CF) !== 0;
        break;
      case 1:
        cond = (f & Flag.ZF) !== 0;
        break;
      case 2:
        cond = (f & (Flag.CF | Flag.ZF)) !== 0;
        break;
      default:
        cond = (f & Flag.PF) !== 0;
        break;
    }
    if (cond !== negate) this.copySlot(t, sti);
  }

  // ---- arithmetic -------------------------------------------------------------------------

  /** D8/DA/DC/DE memory forms: ST(0) op TMP. */
  private arithmeticMem(reg: number): void {
    const t = this.top;
    if (reg === 2 || reg === 3) {
      this.fcom(t, TMP, false, reg === 3 ? 1 : 0);
      return;
    }
    this.arithmetic(reg, t, t, TMP, false);
  }

  /**
   * The FADD group: dst <- a op b where op is the /digit of D8: 0 add, 1 mul, 2 com,
   * 3 comp, 4 sub (a - b), 5 subr (b - a), 6 div (a / b), 7 divr (b / a).
   */
  private arithmetic(reg: number, dst: number, a: number, b: number, doPop: boolean): void {
    let ok: boolean;
    switch (reg) {
      case 0:
        ok = this.binop(0, dst, a, b);
        break;
      case 1:
        ok = this.binop(1, dst, a, b);
        break;
      case 2:
      case 3:
        // D8 D0+i FCOM, D8 D8+i FCOMP; DC D0/D8 and DE D0 are reserved aliases.
        this.fcom(this.top, a === this.top ? b : a, false, (reg === 3 ? 1 : 0) + (doPop ? 1 : 0));
        return;
      case 4:
        ok = this.binop(2, dst, a, b);
        break;
      case 5:
        ok = this.binop(2, dst, b, a);
        break;
      case 6:
        ok = this.binop(3, dst, a, b);
        break;
      default:
        ok = this.binop(3, dst, b, a);
        break;
    }
    if (ok && doPop) this.pop();
  }

  /**
   * dst <- x op y with op 0 add, 1 mul, 2 sub, 3 div (SDM Vol. 2A FADD/FMUL/FSUB/FDIV,
   * exceptions per Vol. 1 8.5). Returns false when an unmasked exception suppressed the
   * result (then the caller must not pop).
   */
  private binop(op: number, dst: number, a: number, b: number): boolean {
    if ((a !== TMP && this.empty[a]) || (b !== TMP && this.empty[b])) {
      if (!this.stackUnderflow()) return false;
      this.setIndefinite(dst);
      this.empty[dst] = 0;
      return true;
    }
    this.fsw &= ~C1;
    const x = this.st[a]!;
    const y = this.st[b]!;
    if (Number.isNaN(x) || Number.isNaN(y)) return this.nanResult(dst, a, b);
    if ((this.isDenormal(a) || this.isDenormal(b)) && this.flag(DE)) return false;
    let r: number;
    switch (op) {
      case 0:
        r = x + y;
        break;
      case 1:
        r = x * y;
        break;
      case 2:
        r = x - y;
        break;
      default:
        if (y === 0 && !Number.isNaN(x) && x !== 0 && Number.isFinite(x)) {
          if (this.flag(ZE)) return false;
        }
        r = x / y;
        break;
    }
    if (Number.isNaN(r)) {
      // inf - inf, 0 * inf, 0 / 0, inf / inf (SDM Vol. 1 8.5.1.2)
      if (this.flag(IE)) return false;
      this.setIndefinite(dst);
      return true;
    }
    if (r === 0 && op !== 1 && op !== 3 && ((this.fcw >>> Fcw.RC_SHIFT) & 3) === RC.DOWN) {
      // An exact zero sum is -0 when rounding toward -inf, unless both addends are +0
      // (IEEE 754-1985 6.3, SDM Vol. 1 4.8.3.4); JavaScript always rounds to nearest.
      const y2 = op === 2 ? -y : y;
      if (!(Object.is(x, 0) && Object.is(y2, 0))) r = -0;
    }
    const finiteOps = Number.isFinite(x) && Number.isFinite(y);
    if (!Number.isFinite(r) && finiteOps && !(op === 3 && y === 0)) {
      this.overflowResult(dst, r < 0);
      return true;
    }
    let diff = 0;
    if (finiteOps && Number.isFinite(r)) {
      switch (op) {
        case 0:
          diff = addDiff(x, y, r);
          break;
        case 1:
          diff = mulDiff(x, y, r);
          break;
        case 2:
          diff = addDiff(x, -y, r);
          break;
        default:
          diff = y === 0 ? 0 : divDiff(x, y, r);
          break;
      }
    }
    this.finish(dst, r, diff);
    return true;
  }

  /**
   * Store an arithmetic result given sign(exact - r) (`diff`): apply RC by stepping one
   * ulp when needed, PC = single with Math.fround, and set PE and C1 (SDM Vol. 1 8.1.3.3).
   */
  private finish(dst: number, r: number, diff: number): void {
    let up = false;
    let inexact = diff !== 0;
    if (inexact) {
      const s = r !== 0 ? r > 0 : diff > 0; // sign of the exact result
      up = diff < 0 === s; // |r| > |exact|
      const rc = (this.fcw >>> Fcw.RC_SHIFT) & 3;
      let step = 0;
      if (rc === RC.UP && diff > 0) step = 1;
      else if (rc === RC.DOWN && diff < 0) step = -1;
      else if (rc === RC.CHOP && up) step = s ? -1 : 1;
      if (step !== 0) {
        const n = nextAfter(r, step > 0);
        if (Number.isFinite(n)) {
          r = n;
          up = !up;
        }
      }
    }
    if (((this.fcw >>> Fcw.PC_SHIFT) & 3) === 0 && r !== 0 && Number.isFinite(r)) {
      // PC = single rounds the significand to 24 bits but keeps the extended exponent
      // range (SDM Vol. 1 8.1.5.2), so scale into [1, 2) before Math.fround.
      const e = exponentOf(r);
      const f = scalbn(Math.fround(scalbn(r, -e)), e);
      if (f !== r) {
        inexact = true;
        up = Math.abs(f) > Math.abs(r);
        r = f;
      }
    }
    this.st[dst] = r;
    this.exact[dst] = 0;
    if (inexact) {
      if (up) this.fsw |= C1;
      this.flag(PE);
    }
  }

  /** Overflow of the double range (see the header): the masked response of Table 4-10. */
  private overflowResult(dst: number, negative: boolean): void {
    const rc = (this.fcw >>> Fcw.RC_SHIFT) & 3;
    const toInf = rc === RC.NEAREST || (rc === RC.UP && !negative) || (rc === RC.DOWN && negative);
    const v = toInf ? Infinity : Number.MAX_VALUE;
    this.st[dst] = negative ? -v : v;
    this.exact[dst] = 0;
    if (toInf) this.fsw |= C1;
    this.flag(OE | PE);
  }

  /**
   * NaN operand(s): SNaN or unsupported -> IE; the result is the QNaN chosen by SDM Vol. 1
   * Table 4-7 (larger significand when both are NaNs, ties to the positive one).
   * `b` < 0 for one-operand instructions.
   */
  private nanResult(dst: number, a: number, b: number): boolean {
    const xa = this.xa;
    const xb = this.xb;
    this.loadExt(a, xa);
    const ca = classifyExt(xa.se, xa.hi, xa.lo);
    let cb = Cls.NORMAL as number;
    if (b >= 0) {
      this.loadExt(b, xb);
      cb = classifyExt(xb.se, xb.hi, xb.lo);
    }
    if (ca === Cls.UNSUPPORTED || cb === Cls.UNSUPPORTED) {
      if (this.flag(IE)) return false;
      this.setIndefinite(dst);
      return true;
    }
    const aNaN = ca === Cls.NAN;
    const bNaN = cb === Cls.NAN;
    const aSig = aNaN && (xa.hi & 0x4000_0000) === 0;
    const bSig = bNaN && (xb.hi & 0x4000_0000) === 0;
    if ((aSig || bSig) && this.flag(IE)) return false;
    let useA: boolean;
    if (aNaN && bNaN && aSig === bSig) {
      const ah = (xa.hi | 0x4000_0000) >>> 0;
      const bh = (xb.hi | 0x4000_0000) >>> 0;
      if (ah !== bh) useA = ah > bh;
      else if (xa.lo !== xb.lo) useA = xa.lo > xb.lo;
      else useA = xa.se <= xb.se;
    } else if (aNaN && bNaN)
      useA = bSig; // the QNaN wins over the SNaN
    else useA = aNaN;
    const src = useA ? xa : xb;
    this.setExt(dst, src.se, (src.hi | 0xc000_0000) >>> 0, src.lo);
    return true;
  }

  // ---- comparisons ------------------------------------------------------------------------

  /**
   * Compare ST(0) (slot a) with slot b (SDM Vol. 2A FCOM/FUCOM/FICOM/FTST). `unordered`:
   * QNaNs do not raise IE (FUCOM). Returns a CMP_* code or ABORT.
   */
  private compare(a: number, b: number, unordered: boolean): number {
    if (this.empty[a] || (b !== TMP && this.empty[b])) {
      // The condition codes / EFLAGS say "unordered" even when IE is unmasked (observed on
      // the hardware); the caller must not pop then.
      return this.stackUnderflow() ? CMP_UN : CMP_UN_ABORT;
    }
    this.fsw &= ~C1;
    const x = this.st[a]!;
    const y = this.st[b]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      const invalid = !unordered || this.isSignaling(a) || (Number.isNaN(y) && this.isSignaling(b));
      if (invalid && this.flag(IE)) return CMP_UN_ABORT;
      return CMP_UN;
    }
    if ((this.isDenormal(a) || this.isDenormal(b)) && this.flag(DE)) return ABORT;
    if (x < y) return CMP_LT;
    if (x > y) return CMP_GT;
    if (!this.exact[a] && !this.exact[b]) return CMP_EQ;
    const c = this.compareExt(a, b);
    return c < 0 ? CMP_LT : c > 0 ? CMP_GT : CMP_EQ;
  }

  /** Exact comparison of two non-NaN registers in their 80-bit form. */
  private compareExt(a: number, b: number): number {
    const xa = this.xa;
    const xb = this.xb;
    this.loadExt(a, xa);
    this.loadExt(b, xb);
    const az = (xa.hi | xa.lo) === 0;
    const bz = (xb.hi | xb.lo) === 0;
    const an = (xa.se & 0x8000) !== 0;
    const bn = (xb.se & 0x8000) !== 0;
    if (az && bz) return 0;
    if (az) return bn ? 1 : -1;
    if (bz) return an ? -1 : 1;
    if (an !== bn) return an ? -1 : 1;
    const ea = normalizeExt(xa.se, xa.hi, xa.lo, this.xn);
    const eb = normalizeExt(xb.se, xb.hi, xb.lo, this.xm);
    let m: number;
    if (ea !== eb) m = ea < eb ? -1 : 1;
    else if (this.xn.hi !== this.xm.hi) m = this.xn.hi < this.xm.hi ? -1 : 1;
    else if (this.xn.lo !== this.xm.lo) m = this.xn.lo < this.xm.lo ? -1 : 1;
    else m = 0;
    return an ? -m : m;
  }

  /** FCOM/FCOMP/FCOMPP/FUCOM*/ /* FICOM/FTST: C3 C2 C0, then pop `pops` times. */
  private fcom(a: number, b: number, unordered: boolean, pops: number): void {
    const c = this.compare(a, b, unordered);
    if (c === ABORT) return;
    this.fsw = (this.fsw & ~(C0 | C2 | C3)) | (c === CMP_UN_ABORT ? CMP_UN : c);
    if (c === CMP_UN_ABORT) return;
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF PF CF; OF SF AF cleared (SDM Vol. 2A FCOMI). */
  private fcomi(sti: number, unordered: boolean, doPop: boolean): void {
    const c = this.compare(this.top, sti, unordered);
    if (c === ABORT) return;
    let bits = 0;
    if (c === CMP_LT) bits = Flag.CF;
    else if (c === CMP_EQ) bits = Flag.ZF;
    else if (c === CMP_UN || c === CMP_UN_ABORT) bits = Flag.ZF | Flag.PF | Flag.CF;
    const cpu = this.cpu;
    const f = cpu.getEflags() & ~(Flag.ZF | Flag.PF | Flag.CF | Flag.OF | Flag.SF | Flag.AF);
    cpu.setEflags(f | bits);
    if (doPop && c !== CMP_UN_ABORT) this.pop();
  }

  /** FXAM (SDM Vol. 2A Table 3-39): C1 = sign, C3 C2 C0 = class. */
  private fxam(): void {
    const t = this.top;
    const c = this.empty[t] ? 5 : this.classOf(t);
    let bits = 0;
    if (c & 1) bits |= C0;
    if (c & 2) bits |= C2;
    if (c & 4) bits |= C3;
    if (this.signOf(t)) bits |= C1;
    this.fsw = (this.fsw & ~CC_MASK) | bits;
  }

  // ---- stores -----------------------------------------------------------------------------

  /** FST/FSTP m32fp and m64fp (SDM Vol. 2A FST/FSTP). */
  private storeFloat(seg: number, offset: number, dbl: boolean, doPop: boolean): void {
    const t = this.top;
    let ex = 0;
    let c1 = false;
    let hi: number;
    let lo: number;
    if (this.empty[t]) {
      ex = IE | SF;
      hi = dbl ? 0xfff8_0000 : 0;
      lo = dbl ? 0 : 0xffc0_0000;
    } else {
      const x = this.xa;
      this.loadExt(t, x);
      const neg = (x.se & 0x8000) !== 0;
      const sBit = neg ? 0x8000_0000 : 0;
      switch (classifyExt(x.se, x.hi, x.lo)) {
        case Cls.UNSUPPORTED:
          ex = IE;
          hi = dbl ? 0xfff8_0000 : 0;
          lo = dbl ? 0 : 0xffc0_0000;
          break;
        case Cls.NAN:
          if ((x.hi & 0x4000_0000) === 0) ex = IE;
          if (dbl) {
            hi = (sBit | 0x7ff8_0000 | ((x.hi >>> 11) & 0xfffff)) >>> 0;
            lo = ((x.hi << 21) | (x.lo >>> 11)) >>> 0;
          } else {
            hi = 0;
            lo = (sBit | 0x7fc0_0000 | ((x.hi >>> 8) & 0x7f_ffff)) >>> 0;
          }
          break;
        case Cls.INFINITY:
          hi = dbl ? (sBit | 0x7ff0_0000) >>> 0 : 0;
          lo = dbl ? 0 : (sBit | 0x7f80_0000) >>> 0;
          break;
        case Cls.ZERO:
          hi = dbl ? sBit >>> 0 : 0;
          lo = dbl ? 0 : sBit >>> 0;
          break;
        default: {
          const f = this.fst;
          extToFloatBits(x.se, x.hi, x.lo, dbl ? 52 : 23, (this.fcw >>> Fcw.RC_SHIFT) & 3, f);
          hi = f.hi;
          lo = f.lo;
          if (f.overflow) ex |= OE | PE;
          else {
            if (f.inexact) ex |= PE;
            // UE: masked, only when tiny and inexact; unmasked, whenever tiny (SDM Vol. 1 4.9.1.5).
            if (f.underflow || (f.tiny && (this.fcw & UE) === 0)) ex |= UE;
          }
          c1 = f.roundedUp;
        }
      }
    }
    // An unmasked IE, OE or UE leaves a memory destination unchanged (SDM Vol. 1 4.9.2, 8.5).
    if ((ex & ~this.fcw & (IE | OE | UE)) === 0) {
      if (dbl) {
        probeWriteMem(this.cpu, seg, offset, 8);
        writeMem32(this.cpu, seg, offset, lo);
        writeMem32(this.cpu, seg, offset + 4, hi);
      } else writeMem32(this.cpu, seg, offset, lo);
      if (c1) this.fsw |= C1;
      else this.fsw &= ~C1;
      this.flag(ex);
      if (doPop) this.pop();
      return;
    }
    this.fsw &= ~C1;
    this.flag(ex);
  }

  /** FSTP m80fp: no conversion, no exceptions besides stack underflow. */
  private storeExt80(seg: number, offset: number): void {
    const t = this.top;
    const x = this.xa;
    if (this.empty[t]) {
      if ((this.fcw & IE) === 0) {
        this.stackUnderflow();
        return;
      }
      x.se = INDEFINITE_SE;
      x.hi = INDEFINITE_HI;
      x.lo = 0;
    } else this.loadExt(t, x);
    probeWriteMem(this.cpu, seg, offset, 10);
    writeMem32(this.cpu, seg, offset, x.lo);
    writeMem32(this.cpu, seg, offset + 4, x.hi);
    writeMem16(this.cpu, seg, offset + 8, x.se);
    if (this.empty[t]) this.stackUnderflow();
    else this.fsw &= ~C1;
    this.pop();
  }

  /**
   * Round ST(0) to an integer magnitude into this.rnd. Returns the exception bits: IE for
   * empty (with SF), NaN, infinity, unsupported; otherwise PE if inexact. `limitHi:limitLo`
   * is the largest positive magnitude; the negative limit is one more.
   */
  private roundTopToInt(limitHi: number, limitLo: number): number {
    const t = this.top;
    if (this.empty[t]) return IE | SF;
    const x = this.xa;
    this.loadExt(t, x);
    const c = classifyExt(x.se, x.hi, x.lo);
    if (c === Cls.NAN || c === Cls.INFINITY || c === Cls.UNSUPPORTED) return IE;
    const r = this.rnd;
    extToIntMagnitude(x.se, x.hi, x.lo, (this.fcw >>> Fcw.RC_SHIFT) & 3, r);
    if (r.overflow) return IE;
    const neg = (x.se & 0x8000) !== 0;
    // Negative limit = positive limit + 1.
    let nHi = limitHi;
    const nLo = (limitLo + 1) >>> 0;
    if (nLo === 0) nHi = (nHi + 1) >>> 0;
    const lh = neg ? nHi : limitHi;
    const ll = neg ? nLo : limitLo;
    if (r.hi > lh || (r.hi === lh && r.lo > ll)) return IE;
    return r.inexact ? PE : 0;
  }

  /** FIST/FISTP m16int, m32int, m64int (SDM Vol. 2A FIST/FISTP). */
  private storeInt(seg: number, offset: number, size: 16 | 32 | 64, doPop: boolean): void {
    const ex =
      size === 16
        ? this.roundTopToInt(0, 0x7fff)
        : size === 32
          ? this.roundTopToInt(0, 0x7fff_ffff)
          : this.roundTopToInt(0x7fff_ffff, 0xffff_ffff);
    if ((ex & IE) !== 0) {
      if ((this.fcw & IE) === 0) {
        if (ex & SF) this.stackUnderflow();
        else this.flag(IE);
        return;
      }
    }
    let hi: number;
    let lo: number;
    let c1 = false;
    if ((ex & IE) !== 0) {
      // Integer indefinite (SDM Vol. 1 Table 8-8... 4.8.3.7).
      hi = 0x8000_0000;
      lo = size === 16 ? 0x8000 : size === 32 ? 0x8000_0000 : 0;
    } else {
      const r = this.rnd;
      hi = r.hi;
      lo = r.lo;
      c1 = r.roundedUp;
      if (this.signOf(this.top) && (hi | lo) !== 0) {
        lo = -lo >>> 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      }
    }
    const cpu = this.cpu;
    if (size === 16) writeMem16(cpu, seg, offset, lo & 0xffff);
    else if (size === 32) writeMem32(cpu, seg, offset, lo);
    else {
      probeWriteMem(cpu, seg, offset, 8);
      writeMem32(cpu, seg, offset, lo);
      writeMem32(cpu, seg, offset + 4, hi);
    }
    if (ex & SF) this.stackUnderflow();
    else {
      if (c1) this.fsw |= C1;
      else this.fsw &= ~C1;
      this.flag(ex);
    }
    if (doPop) this.pop();
  }

  /** FBLD m80bcd (SDM Vol. 2A FBLD): 18 packed BCD digits and a sign byte. */
  private fbld(seg: number, offset: number): void {
    const cpu = this.cpu;
    const lo = readMem32(cpu, seg, offset) >>> 0;
    const mid = readMem32(cpu, seg, offset + 4) >>> 0;
    const top = readMem16(cpu, seg, offset + 8);
    // Digits, most significant first: byte 8 holds digits 17,16; byte 0 holds digits 1,0.
    // Two halves of 9 digits each stay below 2^53, so doubles are exact here.
    let high = 0; // digits 17..9
    let low = 0; // digits 8..0
    for (let d = 17; d >= 0; d--) {
      const byte =
        d >= 16
          ? (top >>> (((d - 16) >> 1) * 8)) & 0xff
          : d >= 8
            ? (mid >>> (((d - 8) >> 1) * 8)) & 0xff
            : (lo >>> ((d >> 1) * 8)) & 0xff;
      const digit = (d & 1) === 1 ? byte >>> 4 : byte & 0xf;
      if (d >= 9) high = high * 10 + digit;
      else low = low * 10 + digit;
    }
    // value = high * 1e9 + low, as a 64-bit magnitude: split high*1e9 into 32-bit words.
    const v = BigInt(high) * 1_000_000_000n + BigInt(low);
    const neg = (top & 0x8000) !== 0;
    u64ToExt(neg, Number(v >> 32n), Number(v & 0xffff_ffffn), this.xa);
    this.setExt(TMP, this.xa.se, this.xa.hi, this.xa.lo);
    this.pushTmp();
  }

  /** FBSTP m80bcd (SDM Vol. 2A FBSTP): round by RC; |value| >= 10^18 -> IE, BCD indefinite. */
  private fbstp(seg: number, offset: number): void {
    // 10^18 - 1 = 0x0DE0B6B3_A763FFFF
    const ex = this.roundTopToInt(0x0de0_b6b3, 0xa763_ffff);
    let invalid = (ex & IE) !== 0;
    // The negative limit is also 10^18 - 1 for BCD.
    if (!invalid && this.rnd.hi === 0x0de0_b6b3 && this.rnd.lo === 0xa764_0000) invalid = true;
    if (invalid && (this.fcw & IE) === 0) {
      if (ex & SF) this.stackUnderflow();
      else this.flag(IE);
      return;
    }
    let w0 = 0;
    let w1 = 0;
    let w2 = 0;
    if (invalid) {
      w1 = 0xc000_0000; // BCD indefinite: FFFF C000 0000 0000 0000
      w2 = 0xffff;
    } else {
      let v = (BigInt(this.rnd.hi) << 32n) | BigInt(this.rnd.lo);
      for (let d = 0; d < 18; d++) {
        const digit = Number(v % 10n);
        v /= 10n;
        if (d < 8) w0 = (w0 | (digit << (4 * d))) >>> 0;
        else if (d < 16) w1 = (w1 | (digit << (4 * (d - 8)))) >>> 0;
        else w2 |= digit << (4 * (d - 16));
      }
      if (this.signOf(this.top)) w2 |= 0x8000;
    }
    const cpu = this.cpu;
    probeWriteMem(cpu, seg, offset, 10);
    writeMem32(cpu, seg, offset, w0);
    writeMem32(cpu, seg, offset + 4, w1);
    writeMem16(cpu, seg, offset + 8, w2);
    if (ex & SF) this.stackUnderflow();
    else {
      if (!invalid && this.rnd.roundedUp) this.fsw |= C1;
      else this.fsw &= ~C1;
      this.flag(invalid ? IE : ex);
    }
    this.pop();
  }

  // ---- one-operand instructions -----------------------------------------------------------

  /**
   * Common start of one-operand instructions on ST(0): empty -> underflow (masked: ST(0) =
   * indefinite), NaN -> propagated, denormal -> DE. Returns true when the caller should go on.
   */
  private unary(t: number): boolean {
    if (this.empty[t]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t);
        this.empty[t] = 0;
      }
      return false;
    }
    this.fsw &= ~C1;
    if (Number.isNaN(this.st[t]!)) {
      this.nanResult(t, t, -1);
      return false;
    }
    if (this.isDenormal(t) && this.flag(DE)) return false;
    return true;
  }

  private fsqrt(): void {
    const t = this.top;
    if (!this.unary(t)) return;
    const x = this.st[t]!;
    if (x < 0) {
      if (this.flag(IE)) return;
      this.setIndefinite(t);
      return;
    }
    const r = Math.sqrt(x);
    this.finish(t, r, Number.isFinite(x) ? sqrtDiff(x, r) : 0);
  }

  /** FRNDINT: round to an integer by RC, exactly in 80 bits. */
  private frndint(): void {
    const t = this.top;
    if (!this.unary(t)) return;
    const c = this.classOf(t);
    if (c === Cls.UNSUPPORTED) {
      if (!this.flag(IE)) this.setIndefinite(t);
      return;
    }
    if (c === Cls.INFINITY || c === Cls.ZERO) return;
    const x = this.xa;
    this.loadExt(t, x);
    if ((x.se & EXP_MAX) >= EXP_BIAS + 63) return; // already an integer
    const r = this.rnd;
    extToIntMagnitude(x.se, x.hi, x.lo, (this.fcw >>> Fcw.RC_SHIFT) & 3, r);
    u64ToExt((x.se & 0x8000) !== 0, r.hi, r.lo, this.xb);
    this.setExt(t, this.xb.se, this.xb.hi, this.xb.lo);
    if (r.inexact) {
      if (r.roundedUp) this.fsw |= C1;
      this.flag(PE);
    }
  }

  /** FSIN / FCOS: |x| >= 2^63 -> C2 = 1 and ST(0) unchanged (SDM Vol. 2A FSIN). */
  private fsinCos(sin: boolean): void {
    const t = this.top;
    if (!this.unary(t)) return;
    this.fsw &= ~C2;
    const x = this.st[t]!;
    if (x === Infinity || x === -Infinity) {
      if (!this.flag(IE)) this.setIndefinite(t);
      return;
    }
    if (Math.abs(x) >= 2 ** 63) {
      this.fsw |= C2;
      return;
    }
    if (sin) {
      if (x === 0) return;
      this.setDouble(t, Math.sin(x));
    } else this.setDouble(t, x === 0 ? 1 : Math.cos(x));
    if (x !== 0) this.flag(PE);
  }

  /** FPTAN (push 1.0) and FSINCOS (push cos): ST(0) empty or no room -> stack fault. */
  private fptanSincos(tan: boolean): void {
    const t = this.top;
    const n = (t - 1) & 7;
    this.fsw &= ~C2;
    if (this.empty[t] || !this.empty[n]) {
      const masked = this.empty[t] ? this.stackUnderflow() : this.stackOverflow();
      if (masked) {
        this.setIndefinite(t);
        this.empty[t] = 0;
        this.top = n;
        this.empty[n] = 0;
        this.setIndefinite(n);
      }
      return;
    }
    this.fsw &= ~C1;
    const x = this.st[t]!;
    if (Number.isNaN(x)) {
      if (!this.nanResult(t, t, -1)) return;
      this.top = n;
      this.empty[n] = 0;
      this.copySlot(n, t);
      return;
    }
    if (x === Infinity || x === -Infinity) {
      if (this.flag(IE)) return;
      this.setIndefinite(t);
      this.top = n;
      this.empty[n] = 0;
      this.setIndefinite(n);
      return;
    }
    if (this.isDenormal(t) && this.flag(DE)) return;
    if (Math.abs(x) >= 2 ** 63) {
      this.fsw |= C2;
      return;
    }
    if (tan) {
      if (x !== 0) this.setDouble(t, Math.tan(x));
      this.top = n;
      this.empty[n] = 0;
      this.setDouble(n, 1);
    } else {
      if (x !== 0) this.setDouble(t, Math.sin(x));
      this.top = n;
      this.empty[n] = 0;
      this.setDouble(n, x === 0 ? 1 : Math.cos(x));
    }
    if (x !== 0) this.flag(PE);
  }

  /** F2XM1: 2^x - 1 for -1 <= x <= 1. */
  private f2xm1(): void {
    const t = this.top;
    if (!this.unary(t)) return;
    const x = this.st[t]!;
    let r: number;
    if (x === 0 || x === Infinity) return;
    if (x === -Infinity) r = -1;
    else if (x > 1 || x < -1) {
      // Outside the documented domain the result is undefined; the hardware we compare
      // with (conformance oracle) leaves ST(0) unchanged and reports PE.
      this.flag(PE);
      return;
    } else if (x === 1) r = 1;
    else if (x === -1) r = -0.5;
    else {
      r = Math.expm1(x * Math.LN2);
      this.flag(PE);
    }
    this.setDouble(t, r);
  }

  /** FYL2X: ST(1) <- ST(1) * log2(ST(0)), pop; FYL2XP1: ST(1) * log2(ST(0) + 1). */
  private fyl2x(plusOne: boolean): void {
    const t = this.top;
    const t1 = (t + 1) & 7;
    if (this.empty[t] || this.empty[t1]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t1);
        this.empty[t1] = 0;
        this.pop();
      }
      return;
    }
    this.fsw &= ~C1;
    const x = this.st[t]!;
    const y = this.st[t1]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (this.nanResult(t1, t, t1)) this.pop();
      return;
    }
    if ((this.isDenormal(t) || this.isDenormal(t1)) && this.flag(DE)) return;
    let r: number;
    let pe = true;
    if (plusOne) {
      // Outside the domain (x <= -1 has no logarithm) the hardware returns ST(0) (undefined).
      if (x <= -1 && x !== -Infinity) {
        // Undefined; mimics the oracle host: y * (a negative garbage value) for 0 and inf.
        const special = y === 0 || !Number.isFinite(y);
        r = special ? -y : x;
        if (special) pe = false;
      } else r = y * (Math.log1p(x) / Math.LN2);
      if (x === 0) pe = false;
    } else {
      if (x === 0 && y !== 0 && Number.isFinite(y)) {
        if (this.flag(ZE)) return;
        pe = false;
      }
      const l = Math.log2(x);
      r = y * l;
      if (Number.isInteger(l) || !Number.isFinite(l)) pe = Number.isFinite(r) && mulDiff(y, l, r) !== 0;
    }
    if (Number.isNaN(r)) {
      if (this.flag(IE)) return;
      this.setIndefinite(t1);
      this.pop();
      return;
    }
    this.setDouble(t1, r);
    if (pe) this.flag(PE);
    this.pop();
  }

  /** FPATAN: ST(1) <- arctan(ST(1) / ST(0)), pop (quadrant from both signs, like atan2). */
  private fpatan(): void {
    const t = this.top;
    const t1 = (t + 1) & 7;
    if (this.empty[t] || this.empty[t1]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t1);
        this.empty[t1] = 0;
        this.pop();
      }
      return;
    }
    this.fsw &= ~C1;
    const x = this.st[t]!;
    const y = this.st[t1]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (this.nanResult(t1, t, t1)) this.pop();
      return;
    }
    if ((this.isDenormal(t) || this.isDenormal(t1)) && this.flag(DE)) return;
    const r = Math.atan2(y, x);
    this.setDouble(t1, r);
    if (r !== 0) this.flag(PE);
    this.pop();
  }

  /** FXTRACT: ST(0) <- significand, push exponent... i.e. ST(1) = exponent, ST(0) = significand. */
  private fxtract(): void {
    const t = this.top;
    const n = (t - 1) & 7;
    if (this.empty[t] || !this.empty[n]) {
      const masked = this.empty[t] ? this.stackUnderflow() : this.stackOverflow();
      if (masked) {
        this.setIndefinite(t);
        this.empty[t] = 0;
        this.top = n;
        this.empty[n] = 0;
        this.setIndefinite(n);
      }
      return;
    }
    this.fsw &= ~C1;
    const c = this.classOf(t);
    if (c === Cls.NAN || c === Cls.UNSUPPORTED) {
      if (!this.nanResult(t, t, -1)) return;
      this.top = n;
      this.empty[n] = 0;
      this.copySlot(n, t);
      return;
    }
    if (c === Cls.ZERO) {
      // ST(1) = -inf, ST(0) = the zero (SDM Vol. 2A FXTRACT), with ZE.
      if (this.flag(ZE)) return;
      this.copySlot(TMP, t);
      this.setDouble(t, -Infinity);
      this.top = n;
      this.empty[n] = 0;
      this.copySlot(n, TMP);
      return;
    }
    if (c === Cls.INFINITY) {
      const neg = this.signOf(t);
      this.setDouble(t, Infinity);
      this.top = n;
      this.empty[n] = 0;
      this.setDouble(n, neg ? -Infinity : Infinity);
      return;
    }
    if (c === Cls.DENORMAL && this.flag(DE)) return;
    const x = this.xa;
    this.loadExt(t, x);
    const e = normalizeExt(x.se, x.hi, x.lo, this.xb);
    this.setDouble(t, e);
    this.top = n;
    this.empty[n] = 0;
    this.setExt(n, (x.se & 0x8000) | EXP_BIAS, this.xb.hi, this.xb.lo);
  }

  /** FSCALE: ST(0) <- ST(0) * 2^trunc(ST(1)), exact in 80 bits (SDM Vol. 2A FSCALE). */
  private fscale(): void {
    const t = this.top;
    const t1 = (t + 1) & 7;
    if (this.empty[t] || this.empty[t1]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t);
        this.empty[t] = 0;
      }
      return;
    }
    this.fsw &= ~C1;
    const x = this.st[t]!;
    const y = this.st[t1]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      this.nanResult(t, t, t1);
      return;
    }
    if ((this.isDenormal(t) || this.isDenormal(t1)) && this.flag(DE)) return;
    const cx = this.classOf(t);
    if (y === Infinity || y === -Infinity) {
      if ((y > 0 && cx === Cls.ZERO) || (y < 0 && cx === Cls.INFINITY)) {
        if (!this.flag(IE)) this.setIndefinite(t);
        return;
      }
      if (cx === Cls.ZERO || cx === Cls.INFINITY) return;
      const neg = this.signOf(t);
      this.setDouble(t, y > 0 ? (neg ? -Infinity : Infinity) : neg ? -0 : 0);
      return;
    }
    if (cx === Cls.ZERO || cx === Cls.INFINITY) return;
    const n = Math.max(-70000, Math.min(70000, Math.trunc(y)));
    const xe = this.xa;
    this.loadExt(t, xe);
    const e = normalizeExt(xe.se, xe.hi, xe.lo, this.xb) + n;
    const biased = e + EXP_BIAS;
    const sign = xe.se & 0x8000;
    if (biased >= 1 && biased < EXP_MAX) {
      this.setExt(t, sign | biased, this.xb.hi, this.xb.lo);
      return;
    }
    const rc = (this.fcw >>> Fcw.RC_SHIFT) & 3;
    if (biased >= EXP_MAX) {
      const toInf = rc === RC.NEAREST || (rc === RC.UP && !sign) || (rc === RC.DOWN && sign !== 0);
      if (toInf) this.setExt(t, sign | EXP_MAX, 0x8000_0000, 0);
      else this.setExt(t, sign | (EXP_MAX - 1), 0xffff_ffff, 0xffff_ffff);
      if (toInf) this.fsw |= C1;
      this.flag(OE | PE);
      return;
    }
    // Denormal or zero result in extended precision.
    const r = this.rnd;
    shiftRound(this.xb.hi, this.xb.lo, 1 - biased, sign !== 0, rc, r);
    this.setExt(t, sign | ((r.hi & 0x8000_0000) !== 0 ? 1 : 0), r.hi, r.lo);
    if (r.inexact) {
      if (r.roundedUp) this.fsw |= C1;
      this.flag(UE | PE);
    } else if ((this.fcw & UE) === 0) this.flag(UE);
  }

  /**
   * FPREM (truncating) and FPREM1 (IEEE, round to nearest) (SDM Vol. 2A FPREM/FPREM1):
   * C0 C3 C1 = Q2 Q1 Q0 of the quotient; C2 = 1 for a partial remainder.
   */
  private fprem(ieee: boolean): void {
    const t = this.top;
    const t1 = (t + 1) & 7;
    if (this.empty[t] || this.empty[t1]) {
      if (this.stackUnderflow()) {
        this.setIndefinite(t);
        this.empty[t] = 0;
      }
      return;
    }
    this.fsw &= ~C1;
    const x = this.st[t]!;
    const y = this.st[t1]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      this.nanResult(t, t, t1);
      return;
    }
    if (y === 0 || x === Infinity || x === -Infinity) {
      if (!this.flag(IE)) this.setIndefinite(t);
      return;
    }
    if ((this.isDenormal(t) || this.isDenormal(t1)) && this.flag(DE)) return;
    this.fsw &= ~(C0 | C1 | C2 | C3);
    if (x === 0 || y === Infinity || y === -Infinity) return;
    const d = exponentOf(x) - exponentOf(y);
    if (d >= 64) {
      const nn = 32 + (d % 32);
      const z = scalbn(Math.abs(y), d - nn);
      this.setDouble(t, x % z);
      this.fsw |= C2;
      return;
    }
    let r = x % y;
    let q = 0;
    if (d >= 0) {
      const r8 = x % (8 * y);
      q = Math.abs(Math.round((r8 - r) / y)) & 7;
    }
    if (ieee) {
      const ar = Math.abs(r);
      const ay = Math.abs(y);
      const half = ar >= 2 ** 1022 ? ar - (ay - ar) : 2 * ar - ay; // sign of 2|r| - |y|
      if (half > 0 || (half === 0 && (q & 1) === 1)) {
        r = x > 0 ? ar - ay : ay - ar;
        q = (q + 1) & 7;
      }
    }
    this.setDouble(t, r === 0 ? (x < 0 ? -0 : 0) : r);
    if (q & 4) this.fsw |= C0;
    if (q & 2) this.fsw |= C3;
    if (q & 1) this.fsw |= C1;
  }

  // ---- environment and state images -------------------------------------------------------

  /** Real-address or virtual-8086 mode: the "real mode" image layouts (Figs. 8-11, 8-12). */
  private get realLayout(): boolean {
    return !this.cpu.protectedMode || this.cpu.v86Mode;
  }

  /** Write the 14/28-byte environment (SDM Vol. 1 8.1.10, Figures 8-9..8-12). */
  private writeEnv(seg: number, offset: number, size32: boolean): void {
    const cpu = this.cpu;
    const sw = this.statusWord;
    const tw = this.tagWord;
    if (this.realLayout) {
      const ip = ((this.fcs << 4) + this.fip) >>> 0;
      const dp = ((this.fds << 4) + this.fdp) >>> 0;
      if (size32) {
        writeMem32(cpu, seg, offset, 0xffff_0000 | this.fcw);
        writeMem32(cpu, seg, offset + 4, 0xffff_0000 | sw);
        writeMem32(cpu, seg, offset + 8, 0xffff_0000 | tw);
        writeMem32(cpu, seg, offset + 12, 0xffff_0000 | (ip & 0xffff));
        writeMem32(cpu, seg, offset + 16, ((ip >>> 16) << 12) | (this.fop & 0x7ff));
        writeMem32(cpu, seg, offset + 20, 0xffff_0000 | (dp & 0xffff));
        writeMem32(cpu, seg, offset + 24, (dp >>> 16) << 12);
      } else {
        writeMem16(cpu, seg, offset, this.fcw);
        writeMem16(cpu, seg, offset + 2, sw);
        writeMem16(cpu, seg, offset + 4, tw);
        writeMem16(cpu, seg, offset + 6, ip & 0xffff);
        writeMem16(cpu, seg, offset + 8, (((ip >>> 16) & 0xf) << 12) | (this.fop & 0x7ff));
        writeMem16(cpu, seg, offset + 10, dp & 0xffff);
        writeMem16(cpu, seg, offset + 12, ((dp >>> 16) & 0xf) << 12);
      }
      return;
    }
    if (size32) {
      writeMem32(cpu, seg, offset, 0xffff_0000 | this.fcw);
      writeMem32(cpu, seg, offset + 4, 0xffff_0000 | sw);
      writeMem32(cpu, seg, offset + 8, 0xffff_0000 | tw);
      writeMem32(cpu, seg, offset + 12, this.fip);
      writeMem32(cpu, seg, offset + 16, ((this.fop & 0x7ff) << 16) | this.fcs);
      writeMem32(cpu, seg, offset + 20, this.fdp);
      writeMem32(cpu, seg, offset + 24, 0xffff_0000 | this.fds);
    } else {
      writeMem16(cpu, seg, offset, this.fcw);
      writeMem16(cpu, seg, offset + 2, sw);
      writeMem16(cpu, seg, offset + 4, tw);
      writeMem16(cpu, seg, offset + 6, this.fip & 0xffff);
      writeMem16(cpu, seg, offset + 8, this.fcs);
      writeMem16(cpu, seg, offset + 10, this.fdp & 0xffff);
      writeMem16(cpu, seg, offset + 12, this.fds);
    }
  }

  /** Read the environment into envWords: fcw fsw ftw fip fcs|fop<<16 fdp fds (no state change). */
  private readEnv(seg: number, offset: number, size32: boolean): void {
    const cpu = this.cpu;
    const w = this.envWords;
    if (size32) {
      for (let k = 0; k < 7; k++) w[k] = readMem32(cpu, seg, offset + 4 * k) >>> 0;
    } else {
      for (let k = 0; k < 7; k++) w[k] = readMem16(cpu, seg, offset + 2 * k);
    }
  }

  /** Commit envWords (read by readEnv) to the FPU state. */
  private commitEnv(size32: boolean): void {
    const w = this.envWords;
    this.fcw = (w[0]! & 0x1f3f) | 0x40;
    const sw = w[1]! & 0xffff;
    this.fsw = sw & ~Fsw.TOP_MASK;
    this.top = (sw >>> Fsw.TOP_SHIFT) & 7;
    const tw = w[2]! & 0xffff;
    for (let p = 0; p < 8; p++) this.empty[p] = ((tw >>> (2 * p)) & 3) === 3 ? 1 : 0;
    if (this.realLayout) {
      if (size32) {
        this.fip = ((w[3]! & 0xffff) | ((w[4]! >>> 12) << 16)) >>> 0;
        this.fop = w[4]! & 0x7ff;
        this.fdp = ((w[5]! & 0xffff) | ((w[6]! >>> 12) << 16)) >>> 0;
      } else {
        this.fip = (w[3]! | ((w[4]! >>> 12) << 16)) >>> 0;
        this.fop = w[4]! & 0x7ff;
        this.fdp = (w[5]! | ((w[6]! >>> 12) << 16)) >>> 0;
      }
      this.fcs = 0;
      this.fds = 0;
    } else if (size32) {
      this.fip = w[3]!;
      this.fcs = w[4]! & 0xffff;
      this.fop = (w[4]! >>> 16) & 0x7ff;
      this.fdp = w[5]!;
      this.fds = w[6]! & 0xffff;
    } else {
      this.fip = w[3]!;
      this.fcs = w[4]!;
      this.fdp = w[5]!;
      this.fds = w[6]!;
    }
    this.updateSummary();
  }

  /** FNSTENV: store the environment, then mask all exceptions (SDM Vol. 2A FSTENV). */
  private fnstenv(seg: number, offset: number, size32: boolean): void {
    probeWriteMem(this.cpu, seg, offset, size32 ? 28 : 14);
    this.writeEnv(seg, offset, size32);
    this.fcw |= EXC_MASK;
    this.updateSummary();
  }

  private fldenv(seg: number, offset: number, size32: boolean): void {
    this.readEnv(seg, offset, size32);
    this.commitEnv(size32);
  }

  /** FNSAVE: environment + ST(0)..ST(7) as 80-bit values, then FNINIT (SDM Vol. 2A FSAVE). */
  private fnsave(seg: number, offset: number, size32: boolean): void {
    const cpu = this.cpu;
    const envSize = size32 ? 28 : 14;
    probeWriteMem(cpu, seg, offset, envSize + 80);
    this.writeEnv(seg, offset, size32);
    const x = this.xa;
    for (let i = 0; i < 8; i++) {
      this.loadExt((this.top + i) & 7, x);
      const a = offset + envSize + 10 * i;
      writeMem32(cpu, seg, a, x.lo);
      writeMem32(cpu, seg, a + 4, x.hi);
      writeMem16(cpu, seg, a + 8, x.se);
    }
    this.reset();
  }

  private frstor(seg: number, offset: number, size32: boolean): void {
    const cpu = this.cpu;
    const envSize = size32 ? 28 : 14;
    this.readEnv(seg, offset, size32);
    for (let i = 0; i < 8; i++) {
      const a = offset + envSize + 10 * i;
      this.rstLo[i] = readMem32(cpu, seg, a) >>> 0;
      this.rstHi[i] = readMem32(cpu, seg, a + 4) >>> 0;
      this.rstSe[i] = readMem16(cpu, seg, a + 8);
    }
    this.commitEnv(size32);
    for (let i = 0; i < 8; i++) {
      this.setExt((this.top + i) & 7, this.rstSe[i]!, this.rstHi[i]!, this.rstLo[i]!);
    }
  }
}
