/**
 * Lazy arithmetic flags. An ALU operation records its operands, result, width and kind
 * (`cpu.lfA`, `lfB`, `lfRes`, `lfBits`, `lfOp`) and marks the flags it defines in
 * `cpu.lazyMask`; CF/PF/AF/ZF/SF/OF are computed from that record only when read
 * (a Jcc, PUSHF, an exception, ...). Flags outside `lazyMask` live in `cpu.eflags`.
 *
 * The carry/borrow/overflow formulas work for the carrying forms too (ADC/SBB), because
 * they look only at the operand and result bits of the most significant position
 * (SDM Vol. 1 3.4.3.1 and the flag descriptions of ADD/ADC/SUB/SBB in Vol. 2A).
 * `lfRes` is stored truncated to the operand width (unsigned for 8/16, int32 for 32).
 */

import { type Cpu, Flag } from "../cpu.js";

export const OP_ADD = 0;
export const OP_SUB = 1;
/** Logic ops and everything that only defines ZF/SF/PF from the result (CF=OF=AF=0). */
export const OP_LOGIC = 2;

export const CF = 1;
export const PF = 4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** Writable EFLAGS bits on this CPU model (i686: ID, AC, VIP/VIF, VM, RF, NT, IOPL, ...). */
export const EFLAGS_MASK = 0x003f_7fd5;

/** PARITY[b] = PF for the low byte b (set when the number of 1 bits is even). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b !== 0; b >>= 1) n += b & 1;
  PARITY[i] = (n & 1) === 0 ? PF : 0;
}

export function getCF(cpu: Cpu): number {
  if ((cpu.lazyMask & CF) === 0) return cpu.eflags & CF;
  const a = cpu.lfA;
  const b = cpu.lfB;
  const r = cpu.lfRes;
  switch (cpu.lfOp) {
    case OP_ADD:
      return (((a & b) | ((a | b) & ~r)) >>> (cpu.lfBits - 1)) & 1;
    case OP_SUB:
      return (((~a & b) | (~(a ^ b) & r)) >>> (cpu.lfBits - 1)) & 1;
    default:
      return 0;
  }
}

export function getOF(cpu: Cpu): number {
  if ((cpu.lazyMask & OF) === 0) return (cpu.eflags >> 11) & 1;
  const a = cpu.lfA;
  const b = cpu.lfB;
  const r = cpu.lfRes;
  switch (cpu.lfOp) {
    case OP_ADD:
      return (((a ^ r) & (b ^ r)) >>> (cpu.lfBits - 1)) & 1;
    case OP_SUB:
      return (((a ^ b) & (a ^ r)) >>> (cpu.lfBits - 1)) & 1;
    default:
      return 0;
  }
}

export function getAF(cpu: Cpu): number {
  if ((cpu.lazyMask & AF) === 0) return (cpu.eflags >> 4) & 1;
  if (cpu.lfOp === OP_LOGIC) return 0;
  return ((cpu.lfA ^ cpu.lfB ^ cpu.lfRes) >> 4) & 1;
}

export function getZF(cpu: Cpu): number {
  if ((cpu.lazyMask & ZF) === 0) return (cpu.eflags >> 6) & 1;
  return cpu.lfRes === 0 ? 1 : 0;
}

export function getSF(cpu: Cpu): number {
  if ((cpu.lazyMask & SF) === 0) return (cpu.eflags >> 7) & 1;
  return (cpu.lfRes >>> (cpu.lfBits - 1)) & 1;
}

export function getPF(cpu: Cpu): number {
  if ((cpu.lazyMask & PF) === 0) return (cpu.eflags >> 2) & 1;
  return PARITY[cpu.lfRes & 0xff]! >> 2;
}

/** The six arithmetic flags as EFLAGS bits. */
export function arithFlags(cpu: Cpu): number {
  const m = cpu.lazyMask;
  if (m === 0) return cpu.eflags & ARITH;
  return (
    getCF(cpu) |
    (getPF(cpu) << 2) |
    (getAF(cpu) << 4) |
    (getZF(cpu) << 6) |
    (getSF(cpu) << 7) |
    (getOF(cpu) << 11)
  );
}

/** Full EFLAGS (bit 1 reads as 1). */
export function readEflags(cpu: Cpu): number {
  if (cpu.lazyMask === 0) return cpu.eflags | Flag.FIXED1;
  return (cpu.eflags & ~ARITH) | arithFlags(cpu) | Flag.FIXED1;
}

/** Make every flag concrete in `cpu.eflags` (before an instruction sets some flags by hand). */
export function materialize(cpu: Cpu): void {
  if (cpu.lazyMask !== 0) {
    cpu.eflags = (cpu.eflags & ~ARITH) | arithFlags(cpu);
    cpu.lazyMask = 0;
  }
}

export function writeEflags(cpu: Cpu, value: number): void {
  cpu.eflags = (value & EFLAGS_MASK) | Flag.FIXED1;
  cpu.lazyMask = 0;
}

/** Install the lazy-aware EFLAGS accessors that everyone else uses (cpu.ts contract). */
export function installFlagAccessors(cpu: Cpu): void {
  cpu.getEflags = () => readEflags(cpu);
  cpu.setEflags = (value: number) => writeEflags(cpu, value);
}

/** Set or clear one concrete flag (materializes that flag only). */
export function setFlag(cpu: Cpu, flag: number, on: boolean): void {
  // The other lazy flags stay lazy: they are computed from the unchanged lazy record.
  cpu.lazyMask &= ~flag;
  cpu.eflags = on ? cpu.eflags | flag : cpu.eflags & ~flag;
}

/** Set CF explicitly (keeps other lazy flags lazy). */
export function setCF(cpu: Cpu, cf: number): void {
  cpu.lazyMask &= ~CF;
  cpu.eflags = (cpu.eflags & ~CF) | (cf & 1);
}

// ---- result recorders ---------------------------------------------------------------------

export function lazyAdd(cpu: Cpu, a: number, b: number, r: number, bits: number): void {
  cpu.lfA = a;
  cpu.lfB = b;
  cpu.lfRes = r;
  cpu.lfBits = bits;
  cpu.lfOp = OP_ADD;
  cpu.lazyMask = ARITH;
}

export function lazySub(cpu: Cpu, a: number, b: number, r: number, bits: number): void {
  cpu.lfA = a;
  cpu.lfB = b;
  cpu.lfRes = r;
  cpu.lfBits = bits;
  cpu.lfOp = OP_SUB;
  cpu.lazyMask = ARITH;
}

export function lazyLogic(cpu: Cpu, r: number, bits: number): void {
  cpu.lfRes = r;
  cpu.lfBits = bits;
  cpu.lfOp = OP_LOGIC;
  cpu.lazyMask = ARITH;
}

/**
 * Result-defined flags (ZF SF PF) lazy from `r`; CF, OF and AF given explicitly
 * (shifts, multiplications, SHLD/SHRD).
 */
export function lazyResultWith(cpu: Cpu, r: number, bits: number, cf: number, of: number): void {
  cpu.lfRes = r;
  cpu.lfBits = bits;
  cpu.lfOp = OP_LOGIC;
  cpu.eflags = (cpu.eflags & ~(CF | OF | AF)) | (cf & 1) | ((of & 1) << 11);
  cpu.lazyMask = ZF | SF | PF;
}

/** INC/DEC: like ADD/SUB of 1, CF unchanged (SDM Vol. 2A INC, DEC). */
export function lazyIncDec(cpu: Cpu, a: number, r: number, bits: number, dec: boolean): void {
  const cf = getCF(cpu);
  cpu.eflags = (cpu.eflags & ~CF) | cf;
  cpu.lfA = a;
  cpu.lfB = 1;
  cpu.lfRes = r;
  cpu.lfBits = bits;
  cpu.lfOp = dec ? OP_SUB : OP_ADD;
  cpu.lazyMask = ARITH & ~CF;
}

/** Condition codes tttn (SDM Vol. 2A Appendix B.1.4.7, Table B-10). */
export function condition(cpu: Cpu, cc: number): boolean {
  switch (cc) {
    case 0:
      return getOF(cpu) !== 0;
    case 1:
      return getOF(cpu) === 0;
    case 2:
      return getCF(cpu) !== 0;
    case 3:
      return getCF(cpu) === 0;
    case 4:
      return getZF(cpu) !== 0;
    case 5:
      return getZF(cpu) === 0;
    case 6:
      return (getCF(cpu) | getZF(cpu)) !== 0;
    case 7:
      return (getCF(cpu) | getZF(cpu)) === 0;
    case 8:
      return getSF(cpu) !== 0;
    case 9:
      return getSF(cpu) === 0;
    case 10:
      return getPF(cpu) !== 0;
    case 11:
      return getPF(cpu) === 0;
    case 12:
      return getSF(cpu) !== getOF(cpu);
    case 13:
      return getSF(cpu) === getOF(cpu);
    case 14:
      return getZF(cpu) !== 0 || getSF(cpu) !== getOF(cpu);
    default:
      return getZF(cpu) === 0 && getSF(cpu) === getOF(cpu);
  }
}
