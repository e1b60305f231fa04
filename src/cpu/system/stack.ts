/**
 * Stack frames built and consumed by far calls, interrupt delivery, RETF and IRET.
 *
 * A frame is written to a stack described by locals (base, limit, access rights, ESP)
 * rather than through the SS cache, because a privilege change writes to the new stack
 * before SS:ESP are committed: if a push faults (#SS on the limit, #PF on the page), no
 * register has changed yet and the exception is delivered from the original state
 * (SDM Vol. 3A 6.5, "faults are restartable"). Bytes already written stay written, as
 * on hardware.
 *
 * The frame state lives in one reused record (no allocation per event).
 */

import { readMem16, readMem32, writeLinear16, writeLinear32 } from "../access.js";
import { type Cpu, ESP, SegAttr } from "../cpu.js";
import { raise, Vector } from "../fault.js";

class Frame {
  base = 0;
  limit = 0;
  access = 0;
  /** Full ESP; for a 16-bit stack only the low word moves. */
  esp = 0;
  /** Supervisor accesses (the frame belongs to CPL 0..2). */
  system = false;
  /** Error code of the #SS raised when a push exceeds the limit. */
  ssError = 0;
}
export const frame = new Frame();

/** Start a frame on the stack given by its cache values. */
export function beginFrame(
  base: number,
  limit: number,
  access: number,
  esp: number,
  system: boolean,
  ssError: number,
): void {
  const f = frame;
  f.base = base;
  f.limit = limit;
  f.access = access;
  f.esp = esp;
  f.system = system;
  f.ssError = ssError;
}

/** Start a frame on the current SS:ESP at the current privilege level. */
export function beginFrameOnCurrentStack(cpu: Cpu, ssError: number): void {
  beginFrame(cpu.segBase[2]!, cpu.segLimit[2]!, cpu.segAccess[2]!, cpu.regs[ESP]!, false, ssError);
}

/** Limit check for `size` bytes at `offset` (expand-up or expand-down, SDM Vol. 3A 5.3). */
export function stackOffsetValid(access: number, limit: number, offset: number, size: number): boolean {
  const last = offset + size - 1;
  if ((access & 0x1c) === 0x14) {
    // Expand-down data: valid offsets are (limit, upper].
    const upper = (access & SegAttr.DB) !== 0 ? 0xffff_ffff : 0xffff;
    return offset > limit >>> 0 && last <= upper;
  }
  return last <= limit >>> 0;
}

function nextOffset(size: number): number {
  const f = frame;
  if ((f.access & SegAttr.DB) !== 0) {
    f.esp = (f.esp - size) | 0;
    return f.esp >>> 0;
  }
  const sp = (f.esp - size) & 0xffff;
  f.esp = (f.esp & ~0xffff) | sp;
  return sp;
}

export function framePush32(cpu: Cpu, value: number): void {
  const f = frame;
  const off = nextOffset(4);
  if (!stackOffsetValid(f.access, f.limit, off, 4)) raise(cpu, Vector.SS, f.ssError);
  writeLinear32(cpu, (f.base + off) | 0, value, f.system);
}

export function framePush16(cpu: Cpu, value: number): void {
  const f = frame;
  const off = nextOffset(2);
  if (!stackOffsetValid(f.access, f.limit, off, 2)) raise(cpu, Vector.SS, f.ssError);
  writeLinear16(cpu, (f.base + off) | 0, value, f.system);
}

export function framePush(cpu: Cpu, value: number, size32: boolean): void {
  if (size32) framePush32(cpu, value);
  else framePush16(cpu, value);
}

/** Read the current stack at ESP + `delta` (SS checks apply: #SS(0)); `size32` picks the width. */
export function stackPeek(cpu: Cpu, delta: number, size32: boolean): number {
  const esp = cpu.regs[ESP]!;
  const off = cpu.stackSize32 ? (esp + delta) | 0 : (esp + delta) & 0xffff;
  return size32 ? readMem32(cpu, 2, off) : readMem16(cpu, 2, off);
}

/** Add `delta` to (E)SP honoring SS.B. */
export function adjustStackPointer(cpu: Cpu, delta: number): void {
  if (cpu.stackSize32) cpu.regs[ESP] = (cpu.regs[ESP]! + delta) | 0;
  else cpu.reg16[8] = (cpu.reg16[8]! + delta) & 0xffff;
}

/** Set (E)SP after loading a new SS: ESP when the new stack is 32-bit, SP otherwise. */
export function setStackPointer(cpu: Cpu, value: number): void {
  if (cpu.stackSize32) cpu.regs[ESP] = value | 0;
  else cpu.reg16[8] = value & 0xffff;
}
