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
import { lazySub } from "./flags.js";
import type { Insn } from "./insn.js";
import { rd8, rd16, rd32, wr8, wr16, wr32 } from "./mem.js";
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
