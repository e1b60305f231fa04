/**
 * Integer arithmetic and logic: ADD..CMP, INC/DEC, NOT/NEG, TEST, MUL/IMUL/DIV/IDIV,
 * shifts and rotates, SHLD/SHRD, bit tests and scans, BSWAP, XADD, CMPXCHG(8B), CMOVcc,
 * SETcc, decimal adjust, sign extension and flag instructions. Section references are to
 * the instruction pages of Intel SDM Vol. 2A/2B.
 */

import type { Cpu } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  AF,
  ARITH,
  CF,
  condition,
  getAF,
  getCF,
  getOF,
  getSF,
  getZF,
  lazyAdd,
  lazyIncDec,
  lazyLogic,
  lazyResultWith,
  lazySub,
  materialize,
  OF,
  PARITY,
  PF,
  readEflags,
  SF,
  setCF,
  ZF,
} from "./flags.js";
import { ea, type Insn } from "./insn.js";
import { rd16, rd32, rmwRead16, rmwRead32, rmwWrite16, rmwWrite32, wr32 } from "./mem.js";
import {
  getReg8,
  getRm8,
  getRm16,
  getRm32,
  R8,
  rmwGet8,
  rmwGet16,
  rmwGet32,
  rmwPut8,
  rmwPut16,
  rmwPut32,
  setReg8,
} from "./operand.js";

// ---- ALU core (ADD OR ADC SBB AND SUB XOR CMP = ops 0..7) -----------------------------------

export function alu8(cpu: Cpu, op: number, a: number, b: number): number {
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) & 0xff;
      lazyAdd(cpu, a, b, r, 8);
      return r;
    case 1:
      r = (a | b) & 0xff;
      lazyLogic(cpu, r, 8);
      return r;
    case 2:
      r = (a + b + getCF(cpu)) & 0xff;
      lazyAdd(cpu, a, b, r, 8);
      return r;
    case 3:
      r = (a - b - getCF(cpu)) & 0xff;
      lazySub(cpu, a, b, r, 8);
      return r;
    case 4:
      r = a & b & 0xff;
      lazyLogic(cpu, r, 8);
      return r;
    case 5:
      r = (a - b) & 0xff;
      lazySub(cpu, a, b, r, 8);
      return r;
    case 6:
      r = (a ^ b) & 0xff;
      lazyLogic(cpu, r, 8);
      return r;
    default:
      lazySub(cpu, a, b, (a - b) & 0xff, 8);
      return a;
  }
}

export function alu16(cpu: Cpu, op: number, a: number, b: number): number {
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) & 0xffff;
      lazyAdd(cpu, a, b, r, 16);
      return r;
    case 1:
      r = (a | b) & 0xffff;
      lazyLogic(cpu, r, 16);
      return r;
    case 2:
      r = (a + b + getCF(cpu)) & 0xffff;
      lazyAdd(cpu, a, b, r, 16);
      return r;
    case 3:
      r = (a - b - getCF(cpu)) & 0xffff;
      lazySub(cpu, a, b, r, 16);
      return r;
    case 4:
      r = a & b & 0xffff;
      lazyLogic(cpu, r, 16);
      return r;
    case 5:
      r = (a - b) & 0xffff;
      lazySub(cpu, a, b, r, 16);
      return r;
    case 6:
      r = (a ^ b) & 0xffff;
      lazyLogic(cpu, r, 16);
      return r;
    default:
      lazySub(cpu, a, b, (a - b) & 0xffff, 16);
      return a;
  }
}

export function alu32(cpu: Cpu, op: number, a: number, b: number): number {
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) | 0;
      lazyAdd(cpu, a, b, r, 32);
      return r;
    case 1:
      r = a | b;
      lazyLogic(cpu, r, 32);
      return r;
    case 2:
      r = (a + b + getCF(cpu)) | 0;
      lazyAdd(cpu, a, b, r, 32);
      return r;
    case 3:
      r = (a - b - getCF(cpu)) | 0;
      lazySub(cpu, a, b, r, 32);
      return r;
    case 4:
      r = a & b;
      lazyLogic(cpu, r, 32);
      return r;
    case 5:
      r = (a - b) | 0;
      lazySub(cpu, a, b, r, 32);
      return r;
    case 6:
      r = a ^ b;
      lazyLogic(cpu, r, 32);
      return r;
    default:
      lazySub(cpu, a, b, (a - b) | 0, 32);
      return a;
  }
}

// op r/m, reg (00 01 08 09 ...): i.sub = ALU op
export function aluRmR8(cpu: Cpu, i: Insn): void {
  const b = getReg8(cpu, i.reg);
  rmwPut8(cpu, i, alu8(cpu, i.sub, rmwGet8(cpu, i), b));
}
export function aluRmR16(cpu: Cpu, i: Insn): void {
  const b = cpu.reg16[i.reg << 1]!;
  rmwPut16(cpu, i, alu16(cpu, i.sub, rmwGet16(cpu, i), b));
}
export function aluRmR32(cpu: Cpu, i: Insn): void {
  const b = cpu.regs[i.reg]!;
  if (i.mod === 3) {
    cpu.regs[i.rm] = alu32(cpu, i.sub, cpu.regs[i.rm]!, b);
    return;
  }
  const v = rmwRead32(cpu, i.seg, ea(cpu, i));
  rmwWrite32(cpu, alu32(cpu, i.sub, v, b));
}
/** CMP r/m, reg: read only. */
export function cmpRmR8(cpu: Cpu, i: Insn): void {
  alu8(cpu, 7, getRm8(cpu, i), getReg8(cpu, i.reg));
}
export function cmpRmR16(cpu: Cpu, i: Insn): void {
  alu16(cpu, 7, getRm16(cpu, i), cpu.reg16[i.reg << 1]!);
}
export function cmpRmR32(cpu: Cpu, i: Insn): void {
  const a = i.mod === 3 ? cpu.regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
  const b = cpu.regs[i.reg]!;
  lazySub(cpu, a, b, (a - b) | 0, 32);
}
// op reg, r/m (02 03 0A 0B ...)
export function aluRRm8(cpu: Cpu, i: Insn): void {
  const r = alu8(cpu, i.sub, getReg8(cpu, i.reg), getRm8(cpu, i));
  if (i.sub !== 7) setReg8(cpu, i.reg, r);
}
export function aluRRm16(cpu: Cpu, i: Insn): void {
  const r = alu16(cpu, i.sub, cpu.reg16[i.reg << 1]!, getRm16(cpu, i));
  if (i.sub !== 7) cpu.reg16[i.reg << 1] = r;
}
export function aluRRm32(cpu: Cpu, i: Insn): void {
  const b = i.mod === 3 ? cpu.regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
  const r = alu32(cpu, i.sub, cpu.regs[i.reg]!, b);
  if (i.sub !== 7) cpu.regs[i.reg] = r;
}
// op AL/eAX, imm (04 05 0C 0D ...)
export function aluAccImm8(cpu: Cpu, i: Insn): void {
  const r = alu8(cpu, i.sub, cpu.reg8[0]!, i.imm);
  if (i.sub !== 7) cpu.reg8[0] = r;
}
export function aluAccImm16(cpu: Cpu, i: Insn): void {
  const r = alu16(cpu, i.sub, cpu.reg16[0]!, i.imm);
  if (i.sub !== 7) cpu.reg16[0] = r;
}
export function aluAccImm32(cpu: Cpu, i: Insn): void {
  const r = alu32(cpu, i.sub, cpu.regs[0]!, i.imm);
  if (i.sub !== 7) cpu.regs[0] = r;
}
// Group 1 (80 81 82 83): op r/m, imm; i.sub = /digit
export function aluRmImm8(cpu: Cpu, i: Insn): void {
  if (i.sub === 7) alu8(cpu, 7, getRm8(cpu, i), i.imm);
  else rmwPut8(cpu, i, alu8(cpu, i.sub, rmwGet8(cpu, i), i.imm));
}
export function aluRmImm16(cpu: Cpu, i: Insn): void {
  if (i.sub === 7) alu16(cpu, 7, getRm16(cpu, i), i.imm & 0xffff);
  else rmwPut16(cpu, i, alu16(cpu, i.sub, rmwGet16(cpu, i), i.imm & 0xffff));
}
export function aluRmImm32(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) {
    const r = alu32(cpu, i.sub, cpu.regs[i.rm]!, i.imm);
    if (i.sub !== 7) cpu.regs[i.rm] = r;
    return;
  }
  if (i.sub === 7) {
    alu32(cpu, 7, rd32(cpu, i.seg, ea(cpu, i)), i.imm);
    return;
  }
  const v = rmwRead32(cpu, i.seg, ea(cpu, i));
  rmwWrite32(cpu, alu32(cpu, i.sub, v, i.imm));
}

// TEST (84 85 A8 A9 F6/0 F7/0)
export function testRmR8(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm8(cpu, i) & getReg8(cpu, i.reg), 8);
}
export function testRmR16(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm16(cpu, i) & cpu.reg16[i.reg << 1]!, 16);
}
export function testRmR32(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm32(cpu, i) & cpu.regs[i.reg]!, 32);
}
export function testAccImm8(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, cpu.reg8[0]! & i.imm, 8);
}
export function testAccImm16(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, cpu.reg16[0]! & i.imm, 16);
}
export function testAccImm32(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, cpu.regs[0]! & i.imm, 32);
}
export function testRmImm8(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm8(cpu, i) & i.imm, 8);
}
export function testRmImm16(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm16(cpu, i) & i.imm, 16);
}
export function testRmImm32(cpu: Cpu, i: Insn): void {
  lazyLogic(cpu, getRm32(cpu, i) & i.imm, 32);
}

// ---- INC DEC (40-4F, FE /0 /1, FF /0 /1) ----------------------------------------------------

export function incR16(cpu: Cpu, i: Insn): void {
  const a = cpu.reg16[i.reg << 1]!;
  const r = (a + 1) & 0xffff;
  cpu.reg16[i.reg << 1] = r;
  lazyIncDec(cpu, a, r, 16, false);
}
export function incR32(cpu: Cpu, i: Insn): void {
  const a = cpu.regs[i.reg]!;
  const r = (a + 1) | 0;
  cpu.regs[i.reg] = r;
  lazyIncDec(cpu, a, r, 32, false);
}
export function decR16(cpu: Cpu, i: Insn): void {
  const a = cpu.reg16[i.reg << 1]!;
  const r = (a - 1) & 0xffff;
  cpu.reg16[i.reg << 1] = r;
  lazyIncDec(cpu, a, r, 16, true);
}
export function decR32(cpu: Cpu, i: Insn): void {
  const a = cpu.regs[i.reg]!;
  const r = (a - 1) | 0;
  cpu.regs[i.reg] = r;
  lazyIncDec(cpu, a, r, 32, true);
}
export function incRm8(cpu: Cpu, i: Insn): void {
  const a = rmwGet8(cpu, i);
  const r = (a + 1) & 0xff;
  lazyIncDec(cpu, a, r, 8, false);
  rmwPut8(cpu, i, r);
}
export function decRm8(cpu: Cpu, i: Insn): void {
  const a = rmwGet8(cpu, i);
  const r = (a - 1) & 0xff;
  lazyIncDec(cpu, a, r, 8, true);
  rmwPut8(cpu, i, r);
}
export function incRm16(cpu: Cpu, i: Insn): void {
  const a = rmwGet16(cpu, i);
  const r = (a + 1) & 0xffff;
  lazyIncDec(cpu, a, r, 16, false);
  rmwPut16(cpu, i, r);
}
export function decRm16(cpu: Cpu, i: Insn): void {
  const a = rmwGet16(cpu, i);
  const r = (a - 1) & 0xffff;
  lazyIncDec(cpu, a, r, 16, true);
  rmwPut16(cpu, i, r);
}
export function incRm32(cpu: Cpu, i: Insn): void {
  const a = rmwGet32(cpu, i);
  const r = (a + 1) | 0;
  lazyIncDec(cpu, a, r, 32, false);
  rmwPut32(cpu, i, r);
}
export function decRm32(cpu: Cpu, i: Insn): void {
  const a = rmwGet32(cpu, i);
  const r = (a - 1) | 0;
  lazyIncDec(cpu, a, r, 32, true);
  rmwPut32(cpu, i, r);
}

// ---- NOT NEG (F6/F7 /2 /3) -----------------------------------------------------------------

export function notRm8(cpu: Cpu, i: Insn): void {
  rmwPut8(cpu, i, ~rmwGet8(cpu, i) & 0xff);
}
export function notRm16(cpu: Cpu, i: Insn): void {
  rmwPut16(cpu, i, ~rmwGet16(cpu, i) & 0xffff);
}
export function notRm32(cpu: Cpu, i: Insn): void {
  rmwPut32(cpu, i, ~rmwGet32(cpu, i));
}
export function negRm8(cpu: Cpu, i: Insn): void {
  const b = rmwGet8(cpu, i);
  const r = -b & 0xff;
  lazySub(cpu, 0, b, r, 8);
  rmwPut8(cpu, i, r);
}
export function negRm16(cpu: Cpu, i: Insn): void {
  const b = rmwGet16(cpu, i);
  const r = -b & 0xffff;
  lazySub(cpu, 0, b, r, 16);
  rmwPut16(cpu, i, r);
}
export function negRm32(cpu: Cpu, i: Insn): void {
  const b = rmwGet32(cpu, i);
  const r = -b | 0;
  lazySub(cpu, 0, b, r, 32);
  rmwPut32(cpu, i, r);
}

// ---- MUL IMUL DIV IDIV ----------------------------------------------------------------------

/** High and low halves of the last 64-bit product. */
let prodHi = 0;
let prodLo = 0;

/** Unsigned 32x32 -> 64 multiply into prodHi:prodLo. */
function mulU32(a: number, b: number): void {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  prodLo = (ll & 0xffff) | (mid << 16);
  prodHi = (ah * bh + Math.floor(lh / 65536) + Math.floor(hl / 65536) + Math.floor(mid / 65536)) | 0;
}

/** Signed 32x32 -> 64 multiply into prodHi:prodLo. */
function mulS32(a: number, b: number): void {
  mulU32(a, b);
  let hi = prodHi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  prodHi = hi;
}

/** MUL/IMUL flags: CF=OF=overflow; SF ZF AF PF undefined (set from the low result). */
function mulFlags(cpu: Cpu, low: number, bits: number, overflow: boolean): void {
  const o = overflow ? 1 : 0;
  lazyResultWith(cpu, low, bits, o, o);
}

export function mulRm8(cpu: Cpu, i: Insn): void {
  const r = cpu.reg8[0]! * getRm8(cpu, i);
  cpu.reg16[0] = r;
  mulFlags(cpu, r & 0xff, 8, r > 0xff);
}
export function mulRm16(cpu: Cpu, i: Insn): void {
  const r = cpu.reg16[0]! * getRm16(cpu, i);
  cpu.reg16[0] = r;
  cpu.reg16[4] = r >>> 16;
  mulFlags(cpu, r & 0xffff, 16, r > 0xffff);
}
export function mulRm32(cpu: Cpu, i: Insn): void {
  mulU32(cpu.regs[0]!, getRm32(cpu, i));
  cpu.regs[0] = prodLo;
  cpu.regs[2] = prodHi;
  mulFlags(cpu, prodLo, 32, prodHi !== 0);
}
export function imulRm8(cpu: Cpu, i: Insn): void {
  const r = ((cpu.reg8[0]! << 24) >> 24) * ((getRm8(cpu, i) << 24) >> 24);
  cpu.reg16[0] = r;
  mulFlags(cpu, r & 0xff, 8, r !== (r << 24) >> 24);
}
export function imulRm16(cpu: Cpu, i: Insn): void {
  const r = ((cpu.reg16[0]! << 16) >> 16) * ((getRm16(cpu, i) << 16) >> 16);
  cpu.reg16[0] = r;
  cpu.reg16[4] = r >> 16;
  mulFlags(cpu, r & 0xffff, 16, r !== (r << 16) >> 16);
}
export function imulRm32(cpu: Cpu, i: Insn): void {
  mulS32(cpu.regs[0]!, getRm32(cpu, i));
  cpu.regs[0] = prodLo;
  cpu.regs[2] = prodHi;
  mulFlags(cpu, prodLo, 32, prodHi !== prodLo >> 31);
}
/** IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B): i.sub = 1 when an immediate is used. */
export function imulRRm16(cpu: Cpu, i: Insn): void {
  const b = i.sub !== 0 ? (i.imm << 16) >> 16 : (cpu.reg16[i.reg << 1]! << 16) >> 16;
  const r = ((getRm16(cpu, i) << 16) >> 16) * b;
  cpu.reg16[i.reg << 1] = r;
  mulFlags(cpu, r & 0xffff, 16, r !== (r << 16) >> 16);
}
export function imulRRm32(cpu: Cpu, i: Insn): void {
  const b = i.sub !== 0 ? i.imm : cpu.regs[i.reg]!;
  mulS32(getRm32(cpu, i), b);
  cpu.regs[i.reg] = prodLo;
  mulFlags(cpu, prodLo, 32, prodHi !== prodLo >> 31);
}

export function divRm8(cpu: Cpu, i: Insn): void {
  const d = getRm8(cpu, i);
  if (d === 0) raise(cpu, Vector.DE);
  const n = cpu.reg16[0]!;
  const q = Math.floor(n / d);
  if (q > 0xff) raise(cpu, Vector.DE);
  cpu.reg8[0] = q;
  cpu.reg8[1] = n - q * d;
}
export function divRm16(cpu: Cpu, i: Insn): void {
  const d = getRm16(cpu, i);
  if (d === 0) raise(cpu, Vector.DE);
  const n = (cpu.reg16[4]! * 65536 + cpu.reg16[0]!) >>> 0;
  const q = Math.floor(n / d);
  if (q > 0xffff) raise(cpu, Vector.DE);
  cpu.reg16[0] = q;
  cpu.reg16[4] = n - q * d;
}

let divQ = 0;
let divR = 0;
/** Unsigned 64/32 division of hi:lo by d (hi < d, so the quotient fits 32 bits). */
function divU64(hi: number, lo: number, d: number): void {
  // Two 16-bit long-division steps; every intermediate is below 2^48, exact in a double.
  let t = hi * 65536 + (lo >>> 16);
  let q1 = Math.floor(t / d);
  let r = t - q1 * d;
  if (r < 0) {
    q1--;
    r += d;
  }
  t = r * 65536 + (lo & 0xffff);
  let q0 = Math.floor(t / d);
  r = t - q0 * d;
  if (r < 0) {
    q0--;
    r += d;
  }
  divQ = q1 * 65536 + q0;
  divR = r;
}

export function divRm32(cpu: Cpu, i: Insn): void {
  const d = getRm32(cpu, i) >>> 0;
  if (d === 0) raise(cpu, Vector.DE);
  const hi = cpu.regs[2]! >>> 0;
  const lo = cpu.regs[0]! >>> 0;
  if (hi >= d) raise(cpu, Vector.DE);
  if (hi === 0) {
    const q = Math.floor(lo / d);
    cpu.regs[0] = q;
    cpu.regs[2] = lo - q * d;
    return;
  }
  divU64(hi, lo, d);
  cpu.regs[0] = divQ;
  cpu.regs[2] = divR;
}
export function idivRm8(cpu: Cpu, i: Insn): void {
  const d = (getRm8(cpu, i) << 24) >> 24;
  if (d === 0) raise(cpu, Vector.DE);
  const n = (cpu.reg16[0]! << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) raise(cpu, Vector.DE);
  cpu.reg8[0] = q;
  cpu.reg8[1] = n - q * d;
}
export function idivRm16(cpu: Cpu, i: Insn): void {
  const d = (getRm16(cpu, i) << 16) >> 16;
  if (d === 0) raise(cpu, Vector.DE);
  const n = (cpu.reg16[4]! << 16) | cpu.reg16[0]!;
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) raise(cpu, Vector.DE);
  cpu.reg16[0] = q;
  cpu.reg16[4] = n - q * d;
}
export function idivRm32(cpu: Cpu, i: Insn): void {
  const d = getRm32(cpu, i);
  if (d === 0) raise(cpu, Vector.DE);
  let hi = cpu.regs[2]!;
  let lo = cpu.regs[0]!;
  const negN = hi < 0;
  if (negN) {
    // 64-bit two's-complement negation.
    lo = -lo | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const ad = Math.abs(d);
  const uhi = hi >>> 0;
  const ulo = lo >>> 0;
  if (uhi >= ad) raise(cpu, Vector.DE);
  divU64(uhi, ulo, ad);
  const negQ = negN !== d < 0;
  const q = negQ ? -divQ : divQ;
  if (q > 0x7fffffff || q < -0x80000000) raise(cpu, Vector.DE);
  cpu.regs[0] = q;
  cpu.regs[2] = negN ? -divR : divR;
}

// ---- shifts and rotates (C0 C1 D0-D3; i.sub = /digit; count from imm, 1 or CL) ---------------
// SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR, SDM Vol. 2B: the count is masked to 5 bits; a masked
// count of 0 changes nothing (flags included). OF is defined for count 1 only; for larger
// counts we compute the same formula (the SDM leaves it undefined).

function shiftCount(cpu: Cpu, i: Insn): number {
  return (i.sub2 === 0 ? i.imm : i.sub2 === 1 ? 1 : cpu.reg8[4]!) & 31;
}

export function shift(cpu: Cpu, op: number, v: number, c: number, bits: number): number {
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  const msb = bits - 1;
  let r: number;
  let cf: number;
  let of: number;
  switch (op) {
    case 0: {
      // ROL
      const n = c & msb;
      r = n === 0 ? v : ((v << n) | (v >>> (bits - n))) & mask;
      cf = r & 1;
      of = ((r >>> msb) ^ cf) & 1;
      materializeOthers(cpu);
      setCfOf(cpu, cf, of);
      return r;
    }
    case 1: {
      // ROR
      const n = c & msb;
      r = n === 0 ? v : ((v >>> n) | (v << (bits - n))) & mask;
      cf = (r >>> msb) & 1;
      of = ((r >>> msb) ^ (r >>> (msb - 1))) & 1;
      materializeOthers(cpu);
      setCfOf(cpu, cf, of);
      return r;
    }
    case 2: {
      // RCL: rotate through CF, (bits+1)-bit rotation
      const n = bits === 32 ? c : c % (bits + 1);
      let carry = getCF(cpu);
      r = v >>> 0;
      for (let k = 0; k < n; k++) {
        const out = (r >>> msb) & 1;
        r = ((r << 1) | carry) & mask;
        carry = out;
      }
      r &= mask;
      materializeOthers(cpu);
      setCfOf(cpu, carry, ((r >>> msb) ^ carry) & 1);
      return r;
    }
    case 3: {
      // RCR
      const n = bits === 32 ? c : c % (bits + 1);
      let carry = getCF(cpu);
      of = ((v >>> msb) ^ carry) & 1;
      r = v >>> 0;
      for (let k = 0; k < n; k++) {
        const out = r & 1;
        r = ((r >>> 1) | (carry << msb)) & mask;
        carry = out;
      }
      r &= mask;
      materializeOthers(cpu);
      setCfOf(cpu, carry, of);
      return r;
    }
    case 4:
    case 6: {
      // SHL/SAL (6 is the undocumented alias)
      r = c < 32 ? (v << c) & mask : 0;
      cf = c <= bits ? (v >>> (bits - c)) & 1 : 0;
      if (bits === 32) cf = (v >>> (32 - c)) & 1;
      of = ((r >>> msb) ^ cf) & 1;
      lazyResultWith(cpu, bits === 32 ? r | 0 : r, bits, cf, of);
      return r;
    }
    case 5: {
      // SHR
      const u = v & mask;
      r = (u >>> c) & mask;
      cf = (u >>> (c - 1)) & 1;
      if (c > bits) cf = 0;
      of = (u >>> msb) & 1;
      lazyResultWith(cpu, bits === 32 ? r | 0 : r, bits, cf, of);
      return r;
    }
    default: {
      // SAR
      const s = bits === 32 ? v | 0 : bits === 16 ? (v << 16) >> 16 : (v << 24) >> 24;
      r = (s >> Math.min(c, msb)) & mask;
      cf = (s >> Math.min(c - 1, msb)) & 1;
      lazyResultWith(cpu, bits === 32 ? r | 0 : r, bits, cf, 0);
      return r;
    }
  }
}

/** Rotates change only CF and OF: make the other lazy flags concrete first. */
function materializeOthers(cpu: Cpu): void {
  // The other lazy flags stay valid: they are computed from the unchanged lazy record.
  cpu.lazyMask &= ~(CF | OF);
}
function setCfOf(cpu: Cpu, cf: number, of: number): void {
  cpu.eflags = (cpu.eflags & ~(CF | OF)) | (cf & 1) | ((of & 1) << 11);
}

export function shiftRm8(cpu: Cpu, i: Insn): void {
  const c = shiftCount(cpu, i);
  if (c === 0) {
    getRm8(cpu, i); // still reads (and can fault on) the operand
    return;
  }
  rmwPut8(cpu, i, shift(cpu, i.sub, rmwGet8(cpu, i), c, 8));
}
export function shiftRm16(cpu: Cpu, i: Insn): void {
  const c = shiftCount(cpu, i);
  if (c === 0) {
    getRm16(cpu, i);
    return;
  }
  rmwPut16(cpu, i, shift(cpu, i.sub, rmwGet16(cpu, i), c, 16));
}
export function shiftRm32(cpu: Cpu, i: Insn): void {
  const c = shiftCount(cpu, i);
  if (c === 0) {
    getRm32(cpu, i);
    return;
  }
  rmwPut32(cpu, i, shift(cpu, i.sub, rmwGet32(cpu, i), c, 32) | 0);
}

// SHLD/SHRD (0F A4 A5 AC AD): i.sub = 0 SHLD, 1 SHRD; i.sub2 = 0 imm8 count, 2 CL.
export function shldRm16(cpu: Cpu, i: Insn): void {
  const c = (i.sub2 === 0 ? i.imm : cpu.reg8[4]!) & 31;
  if (c === 0) {
    getRm16(cpu, i);
    return;
  }
  const d = rmwGet16(cpu, i);
  const s = cpu.reg16[i.reg << 1]!;
  let r: number;
  let cf: number;
  // Counts above 16 give an undefined result (SDM); we shift the 48-bit d:s:d as the P6 does.
  if (i.sub === 0) {
    if (c <= 16) {
      const w = ((d << 16) | s) >>> 0;
      r = ((w << c) >>> 16) & 0xffff;
      cf = (w >>> (32 - c)) & 1;
    } else {
      const w = ((s << 16) | d) >>> 0;
      r = ((w << (c - 16)) >>> 16) & 0xffff;
      cf = (w >>> (48 - c)) & 1;
    }
  } else if (c <= 16) {
    const w = ((s << 16) | d) >>> 0;
    r = (w >>> c) & 0xffff;
    cf = (w >>> (c - 1)) & 1;
  } else {
    const w = ((d << 16) | s) >>> 0;
    r = (w >>> (c - 16)) & 0xffff;
    cf = (w >>> (c - 17)) & 1;
  }
  const of = ((r ^ d) >>> 15) & 1;
  lazyResultWith(cpu, r, 16, cf, of);
  rmwPut16(cpu, i, r);
}
export function shldRm32(cpu: Cpu, i: Insn): void {
  const c = (i.sub2 === 0 ? i.imm : cpu.reg8[4]!) & 31;
  if (c === 0) {
    getRm32(cpu, i);
    return;
  }
  const d = rmwGet32(cpu, i);
  const s = cpu.regs[i.reg]!;
  let r: number;
  let cf: number;
  if (i.sub === 0) {
    r = (d << c) | (s >>> (32 - c));
    cf = (d >>> (32 - c)) & 1;
  } else {
    r = (d >>> c) | (s << (32 - c));
    cf = (d >>> (c - 1)) & 1;
  }
  const of = ((r ^ d) >>> 31) & 1;
  lazyResultWith(cpu, r, 32, cf, of);
  rmwPut32(cpu, i, r);
}

// ---- bit test (0F A3 AB B3 BB, 0F BA /4-/7) --------------------------------------------------
// i.sub: 0 BT, 1 BTS, 2 BTR, 3 BTC. Register bit offsets address memory beyond the operand
// (SDM Vol. 2A BT: "bit offset ... ranges -2^31 .. 2^31-1"); immediate offsets are masked.
// Flags: CF = the bit; OF SF AF PF undefined (left unchanged here); ZF unchanged.

function bitApply(op: number, v: number, m: number): number {
  return op === 1 ? v | m : op === 2 ? v & ~m : op === 3 ? v ^ m : v;
}

export function btRm16(cpu: Cpu, i: Insn): void {
  const imm = i.sub2 !== 0;
  if (i.mod === 3) {
    const bit = (imm ? i.imm : cpu.reg16[i.reg << 1]!) & 15;
    const v = cpu.reg16[i.rm << 1]!;
    setCF(cpu, v >>> bit);
    cpu.reg16[i.rm << 1] = bitApply(i.sub, v, 1 << bit);
    return;
  }
  let addr: number;
  let bit: number;
  if (imm) {
    addr = ea(cpu, i);
    bit = i.imm & 15;
  } else {
    const off = (cpu.reg16[i.reg << 1]! << 16) >> 16;
    addr = ea(cpu, i) + ((off >> 4) << 1);
    bit = off & 15;
  }
  const a = i.a32 !== 0 ? addr | 0 : addr & 0xffff;
  if (i.sub === 0) {
    setCF(cpu, rd16(cpu, i.seg, a) >>> bit);
    return;
  }
  const v = rmwRead16(cpu, i.seg, a);
  setCF(cpu, v >>> bit);
  rmwWrite16(cpu, bitApply(i.sub, v, 1 << bit));
}
export function btRm32(cpu: Cpu, i: Insn): void {
  const imm = i.sub2 !== 0;
  const off = imm ? i.imm & 31 : cpu.regs[i.reg]!;
  if (i.mod === 3) {
    const bit = off & 31;
    const v = cpu.regs[i.rm]!;
    setCF(cpu, v >>> bit);
    cpu.regs[i.rm] = bitApply(i.sub, v, 1 << bit);
    return;
  }
  const addr = imm ? ea(cpu, i) : ea(cpu, i) + ((off >> 5) << 2);
  const a = i.a32 !== 0 ? addr | 0 : addr & 0xffff;
  const bit = off & 31;
  if (i.sub === 0) {
    setCF(cpu, rd32(cpu, i.seg, a) >>> bit);
    return;
  }
  const v = rmwRead32(cpu, i.seg, a);
  setCF(cpu, v >>> bit);
  rmwWrite32(cpu, bitApply(i.sub, v, 1 << bit));
}

// ---- BSF BSR (0F BC BD): ZF=1 and destination unchanged when the source is 0 -------------------

function bitScanFlags(cpu: Cpu, zero: boolean): void {
  materialize(cpu);
  cpu.eflags = zero ? cpu.eflags | ZF : cpu.eflags & ~ZF;
}
export function bsf16(cpu: Cpu, i: Insn): void {
  const v = getRm16(cpu, i);
  bitScanFlags(cpu, v === 0);
  if (v !== 0) cpu.reg16[i.reg << 1] = 31 - Math.clz32(v & -v);
}
export function bsf32(cpu: Cpu, i: Insn): void {
  const v = getRm32(cpu, i);
  bitScanFlags(cpu, v === 0);
  if (v !== 0) cpu.regs[i.reg] = 31 - Math.clz32(v & -v);
}
export function bsr16(cpu: Cpu, i: Insn): void {
  const v = getRm16(cpu, i);
  bitScanFlags(cpu, v === 0);
  if (v !== 0) cpu.reg16[i.reg << 1] = 31 - Math.clz32(v);
}
export function bsr32(cpu: Cpu, i: Insn): void {
  const v = getRm32(cpu, i);
  bitScanFlags(cpu, v === 0);
  if (v !== 0) cpu.regs[i.reg] = 31 - Math.clz32(v);
}

/** BSWAP r32 (0F C8+r). With a 16-bit operand the result is undefined; real CPUs write 0. */
export function bswap(cpu: Cpu, i: Insn): void {
  const v = cpu.regs[i.reg]!;
  if (i.o32 === 0) {
    cpu.reg16[i.reg << 1] = 0;
    return;
  }
  cpu.regs[i.reg] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

// ---- XADD CMPXCHG CMPXCHG8B -------------------------------------------------------------------

export function xadd8(cpu: Cpu, i: Insn): void {
  const d = rmwGet8(cpu, i);
  const s = getReg8(cpu, i.reg);
  const r = alu8(cpu, 0, d, s);
  setReg8(cpu, i.reg, d);
  rmwPut8(cpu, i, r);
}
export function xadd16(cpu: Cpu, i: Insn): void {
  const d = rmwGet16(cpu, i);
  const s = cpu.reg16[i.reg << 1]!;
  const r = alu16(cpu, 0, d, s);
  cpu.reg16[i.reg << 1] = d;
  rmwPut16(cpu, i, r);
}
export function xadd32(cpu: Cpu, i: Insn): void {
  const d = rmwGet32(cpu, i);
  const s = cpu.regs[i.reg]!;
  const r = alu32(cpu, 0, d, s);
  cpu.regs[i.reg] = d;
  rmwPut32(cpu, i, r);
}
export function cmpxchg8(cpu: Cpu, i: Insn): void {
  const d = rmwGet8(cpu, i);
  const acc = cpu.reg8[0]!;
  alu8(cpu, 7, acc, d);
  if (acc === d) rmwPut8(cpu, i, getReg8(cpu, i.reg));
  else {
    rmwPut8(cpu, i, d); // the destination is always written (SDM Vol. 2A CMPXCHG)
    cpu.reg8[0] = d;
  }
}
export function cmpxchg16(cpu: Cpu, i: Insn): void {
  const d = rmwGet16(cpu, i);
  const acc = cpu.reg16[0]!;
  alu16(cpu, 7, acc, d);
  if (acc === d) rmwPut16(cpu, i, cpu.reg16[i.reg << 1]!);
  else {
    rmwPut16(cpu, i, d);
    cpu.reg16[0] = d;
  }
}
export function cmpxchg32(cpu: Cpu, i: Insn): void {
  const d = rmwGet32(cpu, i);
  const acc = cpu.regs[0]!;
  alu32(cpu, 7, acc, d);
  if (acc === d) rmwPut32(cpu, i, cpu.regs[i.reg]!);
  else {
    rmwPut32(cpu, i, d);
    cpu.regs[0] = d;
  }
}
/** CMPXCHG8B m64 (0F C7 /1): only ZF changes. */
export function cmpxchg8b(cpu: Cpu, i: Insn): void {
  const off = ea(cpu, i);
  const hiOff = i.a32 !== 0 ? (off + 4) | 0 : (off + 4) & 0xffff;
  // Check the whole quadword for writing before anything changes.
  rmwRead32(cpu, i.seg, hiOff);
  const lo = rmwRead32(cpu, i.seg, off);
  const hi = rd32(cpu, i.seg, hiOff);
  materialize(cpu);
  if (lo === cpu.regs[0] && hi === cpu.regs[2]) {
    wr32(cpu, i.seg, off, cpu.regs[3]!);
    wr32(cpu, i.seg, hiOff, cpu.regs[1]!);
    cpu.eflags |= ZF;
  } else {
    wr32(cpu, i.seg, off, lo);
    wr32(cpu, i.seg, hiOff, hi);
    cpu.regs[0] = lo;
    cpu.regs[2] = hi;
    cpu.eflags &= ~ZF;
  }
}

// ---- CMOVcc SETcc (i.sub = condition code) ----------------------------------------------------

export function cmov16(cpu: Cpu, i: Insn): void {
  const v = getRm16(cpu, i); // the source is read (and may fault) whatever the condition
  if (condition(cpu, i.sub)) cpu.reg16[i.reg << 1] = v;
}
export function cmov32(cpu: Cpu, i: Insn): void {
  const v = getRm32(cpu, i);
  if (condition(cpu, i.sub)) cpu.regs[i.reg] = v;
}
export function setcc(cpu: Cpu, i: Insn): void {
  const v = condition(cpu, i.sub) ? 1 : 0;
  if (i.mod === 3) cpu.reg8[R8[i.rm]!] = v;
  else rmwPut8OrWrite(cpu, i, v);
}
function rmwPut8OrWrite(cpu: Cpu, i: Insn, v: number): void {
  rmwGet8(cpu, i);
  rmwPut8(cpu, i, v);
}

// ---- decimal adjust (27 2F 37 3F D4 D5) ------------------------------------------------------

function setSZP8(_cpu: Cpu, r: number): number {
  return (r === 0 ? ZF : 0) | (r & 0x80 ? SF : 0) | PARITY[r & 0xff]!;
}

export function daa(cpu: Cpu, _i: Insn): void {
  const oldAl = cpu.reg8[0]!;
  const oldCf = getCF(cpu);
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || getAF(cpu)) {
    al = (al + 6) & 0xff;
    cf = oldCf | (oldAl + 6 > 0xff ? 1 : 0);
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  }
  cpu.reg8[0] = al;
  materialize(cpu);
  // OF is undefined; we leave the value an 8-bit ADD of the adjustment would give as 0.
  cpu.eflags = (cpu.eflags & ~ARITH) | cf | af | setSZP8(cpu, al);
}
export function das(cpu: Cpu, _i: Insn): void {
  const oldAl = cpu.reg8[0]!;
  const oldCf = getCF(cpu);
  let al = oldAl;
  let cf = 0;
  let af = 0;
  if ((al & 0x0f) > 9 || getAF(cpu)) {
    al = (al - 6) & 0xff;
    cf = oldCf | (oldAl < 6 ? 1 : 0);
    af = AF;
  }
  if (oldAl > 0x99 || oldCf) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  cpu.reg8[0] = al;
  materialize(cpu);
  cpu.eflags = (cpu.eflags & ~ARITH) | cf | af | setSZP8(cpu, al);
}
export function aaa(cpu: Cpu, _i: Insn): void {
  const adjust = (cpu.reg8[0]! & 0x0f) > 9 || getAF(cpu) !== 0;
  materialize(cpu);
  if (adjust) {
    cpu.reg16[0] = (cpu.reg16[0]! + 0x106) & 0xffff;
    cpu.eflags |= AF | CF;
  } else cpu.eflags &= ~(AF | CF);
  cpu.reg8[0] = cpu.reg8[0]! & 0x0f;
}
export function aas(cpu: Cpu, _i: Insn): void {
  const adjust = (cpu.reg8[0]! & 0x0f) > 9 || getAF(cpu) !== 0;
  materialize(cpu);
  if (adjust) {
    // SDM Vol. 2A AAS: "AX <- AX - 6; AH <- AH - 1": the borrow from AL reaches AH
    // (found by the host-CPU oracle: AL=01 AH=00 AF=1 gives AX=FE0B).
    cpu.reg16[0] = (cpu.reg16[0]! - 6) & 0xffff;
    cpu.reg8[1] = (cpu.reg8[1]! - 1) & 0xff;
    cpu.eflags |= AF | CF;
  } else cpu.eflags &= ~(AF | CF);
  cpu.reg8[0] = cpu.reg8[0]! & 0x0f;
}
export function aam(cpu: Cpu, i: Insn): void {
  const base = i.imm & 0xff;
  if (base === 0) raise(cpu, Vector.DE);
  const al = cpu.reg8[0]!;
  cpu.reg8[1] = Math.floor(al / base);
  const r = al % base;
  cpu.reg8[0] = r;
  lazyLogic(cpu, r, 8);
}
export function aad(cpu: Cpu, i: Insn): void {
  const r = (cpu.reg8[0]! + cpu.reg8[1]! * (i.imm & 0xff)) & 0xff;
  cpu.reg16[0] = r;
  lazyLogic(cpu, r, 8);
}
/** SALC (D6, undocumented): AL = CF ? FF : 00. */
export function salc(cpu: Cpu, _i: Insn): void {
  cpu.reg8[0] = getCF(cpu) ? 0xff : 0;
}

// ---- sign extension (98 99) -----------------------------------------------------------------

export function cbw(cpu: Cpu, i: Insn): void {
  if (i.o32 !== 0) cpu.regs[0] = (cpu.regs[0]! << 16) >> 16;
  else cpu.reg16[0] = (cpu.reg8[0]! << 24) >> 24;
}
export function cwd(cpu: Cpu, i: Insn): void {
  if (i.o32 !== 0) cpu.regs[2] = cpu.regs[0]! >> 31;
  else cpu.reg16[4] = (cpu.regs[0]! << 16) >> 31;
}

// ---- flag instructions (9E 9F F5 F8 F9 FC FD) -------------------------------------------------

export function lahf(cpu: Cpu, _i: Insn): void {
  cpu.reg8[1] = readEflags(cpu) & 0xff;
}
export function sahf(cpu: Cpu, _i: Insn): void {
  materialize(cpu);
  cpu.eflags = (cpu.eflags & ~(CF | PF | AF | ZF | SF)) | (cpu.reg8[1]! & (CF | PF | AF | ZF | SF));
}
export function cmc(cpu: Cpu, _i: Insn): void {
  setCF(cpu, getCF(cpu) ^ 1);
}
export function clc(cpu: Cpu, _i: Insn): void {
  setCF(cpu, 0);
}
export function stc(cpu: Cpu, _i: Insn): void {
  setCF(cpu, 1);
}
export function cld(cpu: Cpu, _i: Insn): void {
  cpu.eflags &= ~0x400;
}
export function std(cpu: Cpu, _i: Insn): void {
  cpu.eflags |= 0x400;
}

export { getOF, getSF, getZF };
