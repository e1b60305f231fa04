/**
 * Data movement: MOV (all forms), MOVZX/MOVSX, LEA, XCHG, XLAT, stack operations
 * (PUSH/POP of registers, immediates, memory and segment registers; PUSHA/POPA;
 * PUSHF/POPF; ENTER/LEAVE), segment register loads (MOV Sreg, LDS..LSS) and BOUND.
 * Section references are to the instruction pages of Intel SDM Vol. 2A/2B.
 */

import { type Cpu, SS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { loadSegment } from "../system/index.js";
import { readEflags, writeEflags } from "./flags.js";
import { ea, type Insn } from "./insn.js";
import {
  adjustSp,
  pop16,
  pop32,
  probeWrite,
  push16,
  push32,
  rd8,
  rd16,
  rd32,
  rmwRead16,
  rmwRead32,
  rmwWrite16,
  rmwWrite32,
  stackRead16,
  stackRead32,
  wr8,
  wr16,
  wr32,
} from "./mem.js";
import {
  getReg8,
  getRm8,
  getRm16,
  getRm32,
  R8,
  rmwGet8,
  rmwPut8,
  setReg8,
  setRm8,
  setRm16,
  setRm32,
} from "./operand.js";

// ---- MOV -----------------------------------------------------------------------------------

export function movRmR8(cpu: Cpu, i: Insn): void {
  setRm8(cpu, i, getReg8(cpu, i.reg));
}
export function movRmR16(cpu: Cpu, i: Insn): void {
  setRm16(cpu, i, cpu.reg16[i.reg << 1]!);
}
export function movRmR32(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) cpu.regs[i.rm] = cpu.regs[i.reg]!;
  else wr32(cpu, i.seg, ea(cpu, i), cpu.regs[i.reg]!);
}
export function movRRm8(cpu: Cpu, i: Insn): void {
  setReg8(cpu, i.reg, getRm8(cpu, i));
}
export function movRRm16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = getRm16(cpu, i);
}
export function movRRm32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = i.mod === 3 ? cpu.regs[i.rm]! : rd32(cpu, i.seg, ea(cpu, i));
}
/** MOV r32, r/m32 with mod=3 (specialised). */
export function movRR32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = cpu.regs[i.rm]!;
}
/** MOV r32, m32 (specialised). */
export function movRM32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = rd32(cpu, i.seg, ea(cpu, i));
}
/** MOV m32, r32 (specialised). */
export function movMR32(cpu: Cpu, i: Insn): void {
  wr32(cpu, i.seg, ea(cpu, i), cpu.regs[i.reg]!);
}
// B0-B7, B8-BF: register in the opcode
export function movRImm8(cpu: Cpu, i: Insn): void {
  cpu.reg8[R8[i.reg]!] = i.imm;
}
export function movRImm16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = i.imm;
}
export function movRImm32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = i.imm;
}
// C6 /0, C7 /0
export function movRmImm8(cpu: Cpu, i: Insn): void {
  setRm8(cpu, i, i.imm);
}
export function movRmImm16(cpu: Cpu, i: Insn): void {
  setRm16(cpu, i, i.imm);
}
export function movRmImm32(cpu: Cpu, i: Insn): void {
  setRm32(cpu, i, i.imm);
}
// A0-A3: moffs (the offset is in i.disp with base = index = -1)
export function movAlMoffs(cpu: Cpu, i: Insn): void {
  cpu.reg8[0] = rd8(cpu, i.seg, i.disp);
}
export function movAxMoffs16(cpu: Cpu, i: Insn): void {
  cpu.reg16[0] = rd16(cpu, i.seg, i.disp);
}
export function movAxMoffs32(cpu: Cpu, i: Insn): void {
  cpu.regs[0] = rd32(cpu, i.seg, i.disp);
}
export function movMoffsAl(cpu: Cpu, i: Insn): void {
  wr8(cpu, i.seg, i.disp, cpu.reg8[0]!);
}
export function movMoffsAx16(cpu: Cpu, i: Insn): void {
  wr16(cpu, i.seg, i.disp, cpu.reg16[0]!);
}
export function movMoffsAx32(cpu: Cpu, i: Insn): void {
  wr32(cpu, i.seg, i.disp, cpu.regs[0]!);
}

// MOVZX / MOVSX (0F B6 B7 BE BF)
export function movzxB16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = getRm8(cpu, i);
}
export function movzxB32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = getRm8(cpu, i);
}
export function movzxW16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = getRm16(cpu, i);
}
export function movzxW32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = getRm16(cpu, i);
}
export function movsxB16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = (getRm8(cpu, i) << 24) >> 24;
}
export function movsxB32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = (getRm8(cpu, i) << 24) >> 24;
}
export function movsxW16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = getRm16(cpu, i);
}
export function movsxW32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = (getRm16(cpu, i) << 16) >> 16;
}

/** LEA (8D): mod=3 is #UD (the decoder only accepts memory forms). */
export function lea16(cpu: Cpu, i: Insn): void {
  cpu.reg16[i.reg << 1] = ea(cpu, i);
}
export function lea32(cpu: Cpu, i: Insn): void {
  cpu.regs[i.reg] = ea(cpu, i);
}

// ---- XCHG (86 87 90+r) ---------------------------------------------------------------------

export function xchg8(cpu: Cpu, i: Insn): void {
  const v = rmwGet8(cpu, i);
  rmwPut8(cpu, i, getReg8(cpu, i.reg));
  setReg8(cpu, i.reg, v);
}
export function xchg16(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) {
    const t = cpu.reg16[i.rm << 1]!;
    cpu.reg16[i.rm << 1] = cpu.reg16[i.reg << 1]!;
    cpu.reg16[i.reg << 1] = t;
    return;
  }
  const v = rmwRead16(cpu, i.seg, ea(cpu, i));
  rmwWrite16(cpu, cpu.reg16[i.reg << 1]!);
  cpu.reg16[i.reg << 1] = v;
}
export function xchg32(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) {
    const t = cpu.regs[i.rm]!;
    cpu.regs[i.rm] = cpu.regs[i.reg]!;
    cpu.regs[i.reg] = t;
    return;
  }
  const v = rmwRead32(cpu, i.seg, ea(cpu, i));
  rmwWrite32(cpu, cpu.regs[i.reg]!);
  cpu.regs[i.reg] = v;
}
export function xchgAx16(cpu: Cpu, i: Insn): void {
  const t = cpu.reg16[0]!;
  cpu.reg16[0] = cpu.reg16[i.reg << 1]!;
  cpu.reg16[i.reg << 1] = t;
}
export function xchgAx32(cpu: Cpu, i: Insn): void {
  const t = cpu.regs[0]!;
  cpu.regs[0] = cpu.regs[i.reg]!;
  cpu.regs[i.reg] = t;
}

export function nop(_cpu: Cpu, _i: Insn): void {}

/** XLAT (D7): AL = [seg:(E)BX + AL]. */
export function xlat(cpu: Cpu, i: Insn): void {
  const off = i.a32 !== 0 ? (cpu.regs[3]! + cpu.reg8[0]!) | 0 : (cpu.reg16[6]! + cpu.reg8[0]!) & 0xffff;
  cpu.reg8[0] = rd8(cpu, i.seg, off);
}

// ---- PUSH / POP ------------------------------------------------------------------------------

export function pushR16(cpu: Cpu, i: Insn): void {
  push16(cpu, cpu.reg16[i.reg << 1]!);
}
export function pushR32(cpu: Cpu, i: Insn): void {
  push32(cpu, cpu.regs[i.reg]!);
}
export function popR16(cpu: Cpu, i: Insn): void {
  const v = pop16(cpu);
  cpu.reg16[i.reg << 1] = v;
}
export function popR32(cpu: Cpu, i: Insn): void {
  const v = pop32(cpu);
  cpu.regs[i.reg] = v;
}
export function pushImm16(cpu: Cpu, i: Insn): void {
  push16(cpu, i.imm);
}
export function pushImm32(cpu: Cpu, i: Insn): void {
  push32(cpu, i.imm);
}
/** FF /6 */
export function pushRm16(cpu: Cpu, i: Insn): void {
  push16(cpu, getRm16(cpu, i));
}
export function pushRm32(cpu: Cpu, i: Insn): void {
  push32(cpu, getRm32(cpu, i));
}
/**
 * 8F /0. "If the ESP register is used as a base register for addressing a destination
 * operand in memory, the POP instruction computes the effective address of the operand
 * after it increments the ESP register" (SDM Vol. 2B POP). A fault restores ESP (run loop).
 */
export function popRm16(cpu: Cpu, i: Insn): void {
  const v = pop16(cpu);
  setRm16(cpu, i, v);
}
export function popRm32(cpu: Cpu, i: Insn): void {
  const v = pop32(cpu);
  setRm32(cpu, i, v);
}

/** PUSH Sreg (06 0E 16 1E 0F A0 0F A8): i.sub = segment. A 32-bit push writes 16 bits on P6+ (we write the zero-extended dword). */
export function pushSeg(cpu: Cpu, i: Insn): void {
  const sel = cpu.segSel[i.sub]!;
  if (i.o32 !== 0) push32(cpu, sel);
  else push16(cpu, sel);
}
/** POP Sreg (07 17 1F 0F A1 0F A9). POP SS inhibits interrupts for one instruction (SDM Vol. 3A 6.8.3). */
export function popSeg(cpu: Cpu, i: Insn): void {
  const sel = i.o32 !== 0 ? stackRead32(cpu, 0) & 0xffff : stackRead16(cpu, 0);
  loadSegment(cpu, i.sub, sel);
  adjustSp(cpu, i.o32 !== 0 ? 4 : 2);
  if (i.sub === SS) {
    cpu.interruptShadow = 1;
    cpu.iBreak = true;
  }
}

/** PUSHA/PUSHAD (60): the whole 8-slot frame is checked before the first write. */
export function pusha(cpu: Cpu, i: Insn): void {
  const size = i.o32 !== 0 ? 4 : 2;
  const big = (cpu.segAccess[SS]! & 0x4000) !== 0;
  const sp = cpu.regs[4]!;
  const low = big ? (sp - 8 * size) | 0 : (sp - 8 * size) & 0xffff;
  if (!big && (sp & 0xffff) >= 8 * size) probeWrite(cpu, SS, low, 8 * size);
  else if (big) probeWrite(cpu, SS, low, 8 * size);
  for (let r = 0; r < 8; r++) {
    const v = r === 4 ? sp : cpu.regs[r]!;
    if (size === 4) push32(cpu, v);
    else push16(cpu, v);
  }
}
/** POPA/POPAD (61): the slot of (E)SP is skipped. */
export function popa(cpu: Cpu, i: Insn): void {
  const size = i.o32 !== 0 ? 4 : 2;
  const vals = popaValues;
  for (let k = 0; k < 8; k++) vals[k] = size === 4 ? stackRead32(cpu, k * 4) : stackRead16(cpu, k * 2);
  for (let k = 0; k < 8; k++) {
    const r = 7 - k;
    if (r === 4) continue;
    if (size === 4) cpu.regs[r] = vals[k]!;
    else cpu.reg16[r << 1] = vals[k]!;
  }
  adjustSp(cpu, 8 * size);
}
const popaValues = new Int32Array(8);

// ---- PUSHF / POPF (9C 9D), SDM Vol. 2B PUSHF, POPF ---------------------------------------------

const IOPL_SHIFT = 12;
const VM = 1 << 17;
const RF = 1 << 16;
const IF = 1 << 9;
const IOPL = 3 << 12;
const VIF = 1 << 19;
const VIP = 1 << 20;

export function pushf(cpu: Cpu, i: Insn): void {
  const fl = readEflags(cpu);
  if ((fl & VM) !== 0 && (fl & IOPL) >> IOPL_SHIFT < 3) raise(cpu, Vector.GP, 0);
  if (i.o32 !== 0) push32(cpu, fl & ~(VM | RF));
  else push16(cpu, fl & 0xffff);
}

export function popf(cpu: Cpu, i: Insn): void {
  const old = readEflags(cpu);
  const iopl = (old & IOPL) >> IOPL_SHIFT;
  if ((old & VM) !== 0 && iopl < 3) raise(cpu, Vector.GP, 0);
  const v = i.o32 !== 0 ? pop32(cpu) : pop16(cpu);
  // Bits POPF never changes: VM, VIP, VIF, reserved; RF is cleared.
  let keep = VM | VIP | VIF | RF;
  if (cpu.protectedMode || (old & VM) !== 0) {
    if ((old & VM) !== 0) keep |= IOPL;
    else {
      if (cpu.cpl > 0) keep |= IOPL;
      if (cpu.cpl > iopl) keep |= IF;
    }
  }
  if (i.o32 === 0) keep |= 0xffff0000 | 0;
  let nv = (old & keep) | (v & ~keep);
  nv &= ~RF;
  writeEflags(cpu, nv);
  cpu.iBreak = true; // TF or IF may have changed
}

// ---- ENTER / LEAVE (C8 C9) -------------------------------------------------------------------

/** ENTER imm16, imm8 (SDM Vol. 2A ENTER, nesting level mod 32). */
export function enter(cpu: Cpu, i: Insn): void {
  const size = i.o32 !== 0 ? 4 : 2;
  const alloc = i.imm & 0xffff;
  const level = i.imm2 & 31;
  const big = (cpu.segAccess[SS]! & 0x4000) !== 0;
  const ebp0 = cpu.regs[5]!;
  if (size === 4) push32(cpu, ebp0);
  else push16(cpu, ebp0);
  const frame = big ? cpu.regs[4]! : cpu.regs[4]! & 0xffff;
  if (level > 0) {
    let bp = ebp0;
    for (let k = 1; k < level; k++) {
      bp = big ? (bp - size) | 0 : (bp - size) & 0xffff;
      if (size === 4) push32(cpu, rd32(cpu, SS, bp));
      else push16(cpu, rd16(cpu, SS, bp));
    }
    if (size === 4) push32(cpu, frame);
    else push16(cpu, frame);
  }
  // The new stack top must be writable (SDM: "#SS(0) if ... ESP exceeds the stack segment limit").
  const newSp = big ? (cpu.regs[4]! - alloc) | 0 : (cpu.regs[4]! - alloc) & 0xffff;
  if (alloc > 0) probeWrite(cpu, SS, newSp, 1);
  if (size === 4) cpu.regs[5] = frame;
  else cpu.reg16[10] = frame;
  if (big) cpu.regs[4] = newSp;
  else cpu.reg16[8] = newSp;
}

export function leave(cpu: Cpu, i: Insn): void {
  const big = (cpu.segAccess[SS]! & 0x4000) !== 0;
  const bp = big ? cpu.regs[5]! : cpu.regs[5]! & 0xffff;
  const v = i.o32 !== 0 ? rd32(cpu, SS, bp) : rd16(cpu, SS, bp);
  if (big) cpu.regs[4] = (bp + (i.o32 !== 0 ? 4 : 2)) | 0;
  else cpu.reg16[8] = bp + (i.o32 !== 0 ? 4 : 2);
  if (i.o32 !== 0) cpu.regs[5] = v;
  else cpu.reg16[10] = v;
}

// ---- segment registers -------------------------------------------------------------------------

/** MOV r/m16, Sreg (8C): a register destination with a 32-bit operand gets the zero-extended selector. */
export function movRmSeg(cpu: Cpu, i: Insn): void {
  if (i.reg > 5) raise(cpu, Vector.UD);
  const sel = cpu.segSel[i.reg]!;
  if (i.mod === 3) {
    if (i.o32 !== 0) cpu.regs[i.rm] = sel;
    else cpu.reg16[i.rm << 1] = sel;
  } else wr16(cpu, i.seg, ea(cpu, i), sel);
}
/** MOV Sreg, r/m16 (8E): CS is #UD; loading SS inhibits interrupts for one instruction. */
export function movSegRm(cpu: Cpu, i: Insn): void {
  if (i.reg > 5 || i.reg === 1) raise(cpu, Vector.UD);
  const sel = getRm16(cpu, i);
  loadSegment(cpu, i.reg, sel);
  if (i.reg === SS) {
    cpu.interruptShadow = 1;
    cpu.iBreak = true;
  }
}
/** LES LDS LSS LFS LGS (C4 C5 0F B2 0F B4 0F B5): i.sub = segment. */
export function loadFarPointer(cpu: Cpu, i: Insn): void {
  const off = ea(cpu, i);
  const selOff = i.a32 !== 0 ? (off + (i.o32 !== 0 ? 4 : 2)) | 0 : (off + (i.o32 !== 0 ? 4 : 2)) & 0xffff;
  const v = i.o32 !== 0 ? rd32(cpu, i.seg, off) : rd16(cpu, i.seg, off);
  const sel = rd16(cpu, i.seg, selOff);
  loadSegment(cpu, i.sub, sel);
  if (i.o32 !== 0) cpu.regs[i.reg] = v;
  else cpu.reg16[i.reg << 1] = v;
  if (i.sub === SS) cpu.iBreak = true;
}

/** BOUND r, m (62): #BR when the index is outside [lower, upper] (signed). */
export function bound(cpu: Cpu, i: Insn): void {
  const off = ea(cpu, i);
  if (i.o32 !== 0) {
    const hiOff = i.a32 !== 0 ? (off + 4) | 0 : (off + 4) & 0xffff;
    const lo = rd32(cpu, i.seg, off);
    const hi = rd32(cpu, i.seg, hiOff);
    const v = cpu.regs[i.reg]!;
    if (v < lo || v > hi) raise(cpu, Vector.BR);
  } else {
    const hiOff = i.a32 !== 0 ? (off + 2) | 0 : (off + 2) & 0xffff;
    const lo = (rd16(cpu, i.seg, off) << 16) >> 16;
    const hi = (rd16(cpu, i.seg, hiOff) << 16) >> 16;
    const v = (cpu.reg16[i.reg << 1]! << 16) >> 16;
    if (v < lo || v > hi) raise(cpu, Vector.BR);
  }
}

export { getRm16, getRm32 };
