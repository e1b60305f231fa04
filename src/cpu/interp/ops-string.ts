/**
 * String instructions MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/REPNE
 * (SDM Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"). The source is seg:(E)SI (DS unless
 * overridden), the destination ES:(E)DI (never overridden); the address size selects
 * SI/DI/CX or ESI/EDI/ECX. A repeated instruction runs at most `cpu.iRepBudget`
 * iterations per execution; if the count is not exhausted, EIP is set back to the
 * instruction so that it resumes later (an interruptible REP, SDM Vol. 2B REP:
 * "the instruction may be interrupted between iterations"). The registers are written
 * back after every iteration, so a fault in iteration k leaves the state of k-1 iterations.
 *
 * i.sub = element size in bytes (1, 2 or 4).
 */

import { type Cpu, ES } from "../cpu.js";
import { bulkStrings } from "./fast.js";
import { lazySub } from "./flags.js";
import type { Insn } from "./insn.js";
import { rd8, rd16, rd32, tlbTranslateRead, tlbTranslateWrite, wr8, wr16, wr32 } from "./mem.js";
import { checkIo, ioIn, ioOut } from "./ops-system.js";

const DF = 0x400;

function readSrc(cpu: Cpu, seg: number, off: number, size: number): number {
  return size === 1 ? rd8(cpu, seg, off) : size === 2 ? rd16(cpu, seg, off) : rd32(cpu, seg, off);
}
function writeDst(cpu: Cpu, off: number, size: number, v: number): void {
  if (size === 1) wr8(cpu, ES, off, v);
  else if (size === 2) wr16(cpu, ES, off, v);
  else wr32(cpu, ES, off, v);
}
function cmpFlags(cpu: Cpu, a: number, b: number, size: number): void {
  if (size === 1) lazySub(cpu, a, b, (a - b) & 0xff, 8);
  else if (size === 2) lazySub(cpu, a, b, (a - b) & 0xffff, 16);
  else lazySub(cpu, a, b, (a - b) | 0, 32);
}

function getCount(cpu: Cpu, i: Insn): number {
  return i.a32 !== 0 ? cpu.regs[1]! >>> 0 : cpu.reg16[2]!;
}
function setCount(cpu: Cpu, i: Insn, c: number): void {
  if (i.a32 !== 0) cpu.regs[1] = c;
  else cpu.reg16[2] = c;
}
function si(cpu: Cpu, i: Insn): number {
  return i.a32 !== 0 ? cpu.regs[6]! : cpu.reg16[12]!;
}
function di(cpu: Cpu, i: Insn): number {
  return i.a32 !== 0 ? cpu.regs[7]! : cpu.reg16[14]!;
}
function advSi(cpu: Cpu, i: Insn, d: number): void {
  if (i.a32 !== 0) cpu.regs[6] = (cpu.regs[6]! + d) | 0;
  else cpu.reg16[12] = cpu.reg16[12]! + d;
}
function advDi(cpu: Cpu, i: Insn, d: number): void {
  if (i.a32 !== 0) cpu.regs[7] = (cpu.regs[7]! + d) | 0;
  else cpu.reg16[14] = cpu.reg16[14]! + d;
}

/** Account for `n` iterations of a repeated instruction and arrange a restart if unfinished. */
function finishRep(cpu: Cpu, n: number, remaining: number): void {
  if (n > 1) cpu.instructionsRetired += n - 1;
  if (remaining !== 0) {
    cpu.eip = cpu.insnEip;
    cpu.iBreak = true;
  }
}

// ---- bulk REP MOVS/STOS ---------------------------------------------------------------------
// With 32-bit addressing, a run of iterations whose source and destination each stay inside
// one page, inside their segment limits (present expand-up data segments, the destination
// writable), and inside RAM is done in one go: translated once per page, exactly as the
// per-element path would (same order: source first, then destination, so a #PF names the
// same address with the registers of the iterations before it). Anything else (16-bit
// addressing, page or limit boundaries, MMIO, faults) goes element by element.

/**
 * Elements (at most `max`) from offset `off` (linear `lin`) in direction `d` that stay inside
 * one page and inside segment `seg`, a present expand-up data segment, writable when `write`
 * (the conditions of the mem.ts fast paths); 0 when the first element does not.
 */
function bulkRoom(
  cpu: Cpu,
  seg: number,
  off: number,
  lin: number,
  size: number,
  d: number,
  max: number,
  write: boolean,
): number {
  const a = cpu.segAccess[seg]!;
  if (write ? (a & 0x9e) !== 0x92 : (a & 0x9c) !== 0x90) return 0;
  const limit = cpu.segLimit[seg]! >>> 0;
  const po = lin & 0xfff;
  let k: number;
  if (d > 0) {
    if (po + size > 0x1000) return 0;
    k = Math.min(max, ((0x1000 - po) / size) | 0);
    // The last element must end inside the limit (no 32-bit wrap: limit < 2^32).
    const room = limit - off - size + 1;
    if (room < 0) return 0;
    k = Math.min(k, Math.floor(room / size) + 1);
  } else {
    if (po + size > 0x1000 || off + size - 1 > limit) return 0;
    // Elements at off, off - size, ...: stay in the page and at or above offset 0.
    k = Math.min(max, ((po / size) | 0) + 1, Math.floor(off / size) + 1);
  }
  return k;
}

/** REP MOVS with 32-bit addressing: iterations done, 0 when the element path must take the next one. */
function movsBulk(cpu: Cpu, i: Insn, size: number, d: number, count: number, max: number): number {
  const seg = i.seg;
  const srcOff = cpu.regs[6]! >>> 0;
  const dstOff = cpu.regs[7]! >>> 0;
  const srcLin = (cpu.segBase[seg]! + srcOff) | 0;
  const dstLin = (cpu.segBase[ES]! + dstOff) | 0;
  let k = bulkRoom(cpu, seg, srcOff, srcLin, size, d, Math.min(count, max), false);
  if (k < 2) return 0;
  k = bulkRoom(cpu, ES, dstOff, dstLin, size, d, k, true);
  if (k < 2) return 0;
  const paging = cpu.cr0 < 0;
  const src = paging ? tlbTranslateRead(cpu, srcLin) : srcLin >>> 0;
  const dst = paging ? tlbTranslateWrite(cpu, dstLin) : dstLin >>> 0;
  const mem = cpu.memory;
  const bytes = k * size;
  // Lowest addresses of both runs.
  const srcLo = d > 0 ? src : src - bytes + size;
  const dstLo = d > 0 ? dst : dst - bytes + size;
  if (srcLo + bytes > mem.size || dstLo + bytes > mem.size) return 0;
  const gens = mem.codeGeneration;
  const g = gens[dstLo >>> 12];
  if (srcLo + bytes <= dstLo || dstLo + bytes <= srcLo) {
    // Disjoint: a block copy equals the element-by-element one.
    mem.writeBytes(dstLo, mem.readBytes(srcLo, bytes));
  } else if (size === 4) {
    for (let j = 0, s = src, t = dst; j < k; j++, s += d, t += d) mem.write32(t, mem.read32(s));
  } else if (size === 2) {
    for (let j = 0, s = src, t = dst; j < k; j++, s += d, t += d) mem.write16(t, mem.read16(s));
  } else {
    for (let j = 0, s = src, t = dst; j < k; j++, s += d, t += d) mem.write8(t, mem.read8(s));
  }
  if (gens[dstLo >>> 12] !== g) cpu.iBreak = true;
  cpu.regs[6] = (srcOff + d * k) | 0;
  cpu.regs[7] = (dstOff + d * k) | 0;
  cpu.regs[1] = (count - k) | 0;
  return k;
}

/** REP STOS with 32-bit addressing (see movsBulk). */
function stosBulk(cpu: Cpu, size: number, d: number, v: number, count: number, max: number): number {
  const dstOff = cpu.regs[7]! >>> 0;
  const dstLin = (cpu.segBase[ES]! + dstOff) | 0;
  const k = bulkRoom(cpu, ES, dstOff, dstLin, size, d, Math.min(count, max), true);
  if (k < 2) return 0;
  const dst = cpu.cr0 < 0 ? tlbTranslateWrite(cpu, dstLin) : dstLin >>> 0;
  const mem = cpu.memory;
  const bytes = k * size;
  const dstLo = d > 0 ? dst : dst - bytes + size;
  if (dstLo + bytes > mem.size) return 0;
  const gens = mem.codeGeneration;
  const g = gens[dstLo >>> 12];
  const b0 = v & 0xff;
  if (size === 1 || (size === 2 ? v === b0 * 0x101 : v === ((b0 * 0x01010101) | 0)))
    mem.fill(dstLo, bytes, b0);
  else if (size === 4) for (let j = 0, t = dstLo; j < k; j++, t += 4) mem.write32(t, v);
  else for (let j = 0, t = dstLo; j < k; j++, t += 2) mem.write16(t, v);
  if (gens[dstLo >>> 12] !== g) cpu.iBreak = true;
  cpu.regs[7] = (dstOff + d * k) | 0;
  cpu.regs[1] = (count - k) | 0;
  return k;
}

export function movs(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const d = cpu.eflags & DF ? -size : size;
  if (i.rep === 0) {
    writeDst(cpu, di(cpu, i), size, readSrc(cpu, i.seg, si(cpu, i), size));
    advSi(cpu, i, d);
    advDi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    if (bulkStrings && i.a32 !== 0 && count > 1 && budget - n > 1) {
      const k = movsBulk(cpu, i, size, d, count, budget - n);
      if (k !== 0) {
        count -= k;
        n += k;
        continue;
      }
    }
    writeDst(cpu, di(cpu, i), size, readSrc(cpu, i.seg, si(cpu, i), size));
    advSi(cpu, i, d);
    advDi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
  }
  finishRep(cpu, n, count);
}

export function stos(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const d = cpu.eflags & DF ? -size : size;
  const v = size === 1 ? cpu.reg8[0]! : size === 2 ? cpu.reg16[0]! : cpu.regs[0]!;
  if (i.rep === 0) {
    writeDst(cpu, di(cpu, i), size, v);
    advDi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    if (bulkStrings && i.a32 !== 0 && count > 1 && budget - n > 1) {
      const k = stosBulk(cpu, size, d, v, count, budget - n);
      if (k !== 0) {
        count -= k;
        n += k;
        continue;
      }
    }
    writeDst(cpu, di(cpu, i), size, v);
    advDi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
  }
  finishRep(cpu, n, count);
}

function storeAcc(cpu: Cpu, size: number, v: number): void {
  if (size === 1) cpu.reg8[0] = v;
  else if (size === 2) cpu.reg16[0] = v;
  else cpu.regs[0] = v;
}
function acc(cpu: Cpu, size: number): number {
  return size === 1 ? cpu.reg8[0]! : size === 2 ? cpu.reg16[0]! : cpu.regs[0]!;
}

export function lods(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const d = cpu.eflags & DF ? -size : size;
  if (i.rep === 0) {
    storeAcc(cpu, size, readSrc(cpu, i.seg, si(cpu, i), size));
    advSi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    storeAcc(cpu, size, readSrc(cpu, i.seg, si(cpu, i), size));
    advSi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
  }
  finishRep(cpu, n, count);
}

/** CMPS: compares [src] with ES:[dst] (src - dst). REPE (rep=1) stops on ZF=0, REPNE on ZF=1. */
export function cmps(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const d = cpu.eflags & DF ? -size : size;
  if (i.rep === 0) {
    const a = readSrc(cpu, i.seg, si(cpu, i), size);
    const b = readSrc(cpu, ES, di(cpu, i), size);
    cmpFlags(cpu, a, b, size);
    advSi(cpu, i, d);
    advDi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    const a = readSrc(cpu, i.seg, si(cpu, i), size);
    const b = readSrc(cpu, ES, di(cpu, i), size);
    cmpFlags(cpu, a, b, size);
    advSi(cpu, i, d);
    advDi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
    if ((a === b) !== (i.rep === 1)) {
      count = 0;
      break;
    }
  }
  finishRep(cpu, n, count);
}

export function scas(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const d = cpu.eflags & DF ? -size : size;
  const a = acc(cpu, size);
  if (i.rep === 0) {
    cmpFlags(cpu, a, readSrc(cpu, ES, di(cpu, i), size), size);
    advDi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    const b = readSrc(cpu, ES, di(cpu, i), size);
    cmpFlags(cpu, a, b, size);
    advDi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
    if ((a === b) !== (i.rep === 1)) {
      count = 0;
      break;
    }
  }
  finishRep(cpu, n, count);
}

/** INS (6C 6D): port DX -> ES:[(E)DI]; one IO_INSTRUCTION exit per element. */
export function ins(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const port = cpu.reg16[4]!;
  checkIo(cpu, port, size);
  const d = cpu.eflags & DF ? -size : size;
  if (i.rep === 0) {
    const off = di(cpu, i);
    // Probe the destination first, so a fault does not lose the port read.
    writeDst(cpu, off, size, 0);
    writeDst(cpu, off, size, ioIn(cpu, port, size, true));
    advDi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    const off = di(cpu, i);
    writeDst(cpu, off, size, 0);
    writeDst(cpu, off, size, ioIn(cpu, port, size, true));
    advDi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
    if (cpu.iStop) break;
  }
  finishRep(cpu, n, count);
}

/** OUTS (6E 6F): seg:[(E)SI] -> port DX; one IO_INSTRUCTION exit per element. */
export function outs(cpu: Cpu, i: Insn): void {
  const size = i.sub;
  const port = cpu.reg16[4]!;
  checkIo(cpu, port, size);
  const d = cpu.eflags & DF ? -size : size;
  if (i.rep === 0) {
    ioOut(cpu, port, size, readSrc(cpu, i.seg, si(cpu, i), size), true);
    advSi(cpu, i, d);
    return;
  }
  let count = getCount(cpu, i);
  const budget = cpu.iRepBudget;
  let n = 0;
  while (count !== 0 && n < budget) {
    ioOut(cpu, port, size, readSrc(cpu, i.seg, si(cpu, i), size), true);
    advSi(cpu, i, d);
    count = i.a32 !== 0 ? (count - 1) >>> 0 : (count - 1) & 0xffff;
    setCount(cpu, i, count);
    n++;
    if (cpu.iStop) break;
  }
  finishRep(cpu, n, count);
}
