/**
 * Arithmetic results and flags at edge values (SDM Vol. 1 3.4.3 and the instruction pages
 * of Vol. 2), checked through EFLAGS as software sees it (PUSHF / getEflags).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFastPaths } from "../src/cpu/interp/fast.js";
import { flatMachine, le32 } from "./interp-helpers.js";

const CF = 1;
const PF = 4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;

/** Run `code` (then HLT) with EAX/EBX/ECX/EDX preset; returns the machine. */
function exec(code: number[], regs: number[] = [], flags = 2) {
  const m = flatMachine([...code, 0xf4]);
  regs.forEach((v, k) => {
    m.cpu.regs[k] = v;
  });
  m.cpu.setEflags(flags);
  m.interp.run(1000);
  return m;
}
function flagsOf(m: ReturnType<typeof exec>): number {
  return m.cpu.getEflags() & ARITH;
}

for (const fast of [true, false]) {
  const tag = fast ? "(fast paths)" : "(handlers)";
  test(`ADD/SUB/ADC/SBB/CMP flags at the edges ${tag}`, () => {
    setFastPaths(fast);
    // add eax, ebx: 0x7fffffff + 1 = 0x80000000: OF SF AF PF (low byte 0 has even parity)
    let m = exec([0x01, 0xd8], [0x7fffffff, 0, 0, 1]);
    assert.equal(m.cpu.regs[0], 0x80000000 | 0);
    assert.equal(flagsOf(m), OF | SF | AF | PF);
    // add eax, ebx: 0xffffffff + 1 = 0: CF ZF AF PF
    m = exec([0x01, 0xd8], [-1, 0, 0, 1]);
    assert.equal(m.cpu.regs[0], 0);
    assert.equal(flagsOf(m), CF | ZF | AF | PF);
    // sub eax, ebx: 0 - 1 = 0xffffffff: CF SF AF PF
    m = exec([0x29, 0xd8], [0, 0, 0, 1]);
    assert.equal(m.cpu.regs[0], -1);
    assert.equal(flagsOf(m), CF | SF | AF | PF);
    // cmp eax, ebx: 0x80000000 - 1: OF (positive result from negative minus positive), AF
    m = exec([0x39, 0xd8], [0x80000000 | 0, 0, 0, 1]);
    assert.equal(m.cpu.regs[0], 0x80000000 | 0);
    assert.equal(flagsOf(m), OF | AF | PF);
    // stc; adc eax, ebx: 0xffffffff + 0 + 1 = 0 with CF
    m = exec([0xf9, 0x11, 0xd8], [-1, 0, 0, 0]);
    assert.equal(m.cpu.regs[0], 0);
    assert.equal(flagsOf(m) & (CF | ZF | OF), CF | ZF);
    // stc; sbb eax, ebx: 0 - 0 - 1 = 0xffffffff, CF
    m = exec([0xf9, 0x19, 0xd8], [0, 0, 0, 0]);
    assert.equal(m.cpu.regs[0], -1);
    assert.equal(flagsOf(m) & (CF | ZF | SF | OF), CF | SF);
    // stc; adc al, 0x7f with AL=0: 0x80: OF SF AF, no CF
    m = exec([0xf9, 0x14, 0x7f], [0]);
    assert.equal(m.cpu.regs[0], 0x80);
    assert.equal(flagsOf(m), OF | SF | AF);
    // add ax, bx (16-bit): 0xffff + 1 = 0 CF ZF
    m = exec([0x66, 0x01, 0xd8], [0x1234ffff, 0, 0, 1]);
    assert.equal(m.cpu.regs[0], 0x12340000);
    assert.equal(flagsOf(m), CF | ZF | AF | PF);
    setFastPaths(true);
  });

  test(`INC/DEC keep CF, NEG sets CF for nonzero ${tag}`, () => {
    setFastPaths(fast);
    let m = exec([0xf9, 0x40], [0x7fffffff]); // stc; inc eax
    assert.equal(flagsOf(m), CF | OF | SF | AF | PF);
    m = exec([0xf8, 0x48], [0]); // clc; dec eax -> 0xffffffff, CF stays 0
    assert.equal(flagsOf(m), SF | AF | PF);
    m = exec([0xf7, 0xd8], [0]); // neg eax (0): CF=0 ZF
    assert.equal(flagsOf(m), ZF | PF);
    m = exec([0xf7, 0xd8], [0x80000000 | 0]); // neg 0x80000000: OF CF SF
    assert.equal(m.cpu.regs[0], 0x80000000 | 0);
    assert.equal(flagsOf(m) & (CF | OF | SF | ZF), CF | OF | SF);
    setFastPaths(true);
  });
}

test("logic ops clear CF and OF; TEST does not write", () => {
  const m = exec([0xf9, 0x85, 0xd8], [0xf0, 0, 0, 0x0f]); // stc; test eax, ebx
  assert.equal(m.cpu.regs[0], 0xf0);
  assert.equal(flagsOf(m) & (CF | OF | ZF), ZF);
});

test("shifts: count masking, CF = last bit out, OF for count 1", () => {
  // shl eax, 1 with 0x80000000: CF=1, result 0, OF = MSB(0) ^ CF = 1
  let m = exec([0xd1, 0xe0], [0x80000000 | 0]);
  assert.equal(m.cpu.regs[0], 0);
  assert.equal(flagsOf(m) & (CF | OF | ZF), CF | OF | ZF);
  // shr eax, 1 with 0x80000001: CF=1, OF = MSB(original) = 1
  m = exec([0xd1, 0xe8], [0x80000001 | 0]);
  assert.equal(m.cpu.regs[0], 0x40000000);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // sar eax, 1 with 0x80000000: OF=0
  m = exec([0xd1, 0xf8], [0x80000000 | 0]);
  assert.equal(m.cpu.regs[0], 0xc0000000 | 0);
  assert.equal(flagsOf(m) & (CF | OF | SF), SF);
  // shl eax, cl with CL=33: count masked to 1
  m = exec([0xd3, 0xe0], [3, 33]);
  assert.equal(m.cpu.regs[0], 6);
  // shl eax, cl with CL=32: count 0: flags unchanged (stc before)
  m = exec([0xf9, 0xd3, 0xe0], [3, 32]);
  assert.equal(m.cpu.regs[0], 3);
  assert.equal(flagsOf(m) & CF, CF);
  // shr al, cl with CL=9 (8-bit operand: masked to 9, not 1): result 0
  m = exec([0xd2, 0xe8], [0xff, 9]);
  assert.equal(m.cpu.regs[0]! & 0xff, 0);
  // rol al, 1 with 0x80 -> 0x01, CF=1, OF = MSB ^ CF = 1
  m = exec([0xd0, 0xc0], [0x80]);
  assert.equal(m.cpu.regs[0], 1);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // rcr al, 1 with CF=1, AL=0x01: AL=0x80, CF=1, OF = MSB(dest) ^ CF(old) = 0 ^ 1 = 1
  m = exec([0xf9, 0xd0, 0xd8], [0x01]);
  assert.equal(m.cpu.regs[0], 0x80);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // rcl eax, cl (CL=1) with CF=0, EAX=0x80000000: EAX=0, CF=1
  m = exec([0xf8, 0xd3, 0xd0], [0x80000000 | 0, 1]);
  assert.equal(m.cpu.regs[0], 0);
  assert.equal(flagsOf(m) & CF, CF);
  // shld eax, ebx, 4: 0x12345678, 0x9abcdef0 -> 0x23456789
  m = exec([0x0f, 0xa4, 0xd8, 4], [0x12345678, 0, 0, 0x9abcdef0 | 0]);
  assert.equal(m.cpu.regs[0], 0x23456789);
  assert.equal(flagsOf(m) & CF, CF);
  // shrd eax, ebx, cl (CL=8): -> 0xf0123456
  m = exec([0x0f, 0xad, 0xd8], [0x12345678, 8, 0, 0x9abcdef0 | 0]);
  assert.equal(m.cpu.regs[0], 0xf0123456 | 0);
  assert.equal(flagsOf(m) & CF, 0);
});

test("MUL/IMUL results and CF=OF", () => {
  // mul ebx: 0xffffffff * 0xffffffff = 0xfffffffe_00000001
  let m = exec([0xf7, 0xe3], [-1, 0, 0, -1]);
  assert.equal(m.cpu.regs[0], 1);
  assert.equal(m.cpu.regs[2], 0xfffffffe | 0);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // imul ebx: -1 * -1 = 1 (EDX=0): no overflow
  m = exec([0xf7, 0xeb], [-1, 0, 0, -1]);
  assert.equal(m.cpu.regs[0], 1);
  assert.equal(m.cpu.regs[2], 0);
  assert.equal(flagsOf(m) & (CF | OF), 0);
  // imul eax, ebx, 0x10000 with EBX=0x10000 -> overflow, low 0
  m = exec([0x69, 0xc3, ...le32(0x10000)], [0, 0, 0, 0x10000]);
  assert.equal(m.cpu.regs[0], 0);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // imul eax, ebx (0F AF): 0x7fffffff * 2 overflows
  m = exec([0x0f, 0xaf, 0xc3], [2, 0, 0, 0x7fffffff]);
  assert.equal(m.cpu.regs[0], -2);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
  // mul bl: AL=0x80 * 2 = 0x100
  m = exec([0xf6, 0xe3], [0x80, 0, 0, 2]);
  assert.equal(m.cpu.regs[0]! & 0xffff, 0x100);
  assert.equal(flagsOf(m) & (CF | OF), CF | OF);
});

test("DIV/IDIV results and #DE", () => {
  // div ebx: EDX:EAX = 0x00000001_00000000 / 2 = 0x80000000 r 0
  let m = exec([0xf7, 0xf3], [0, 0, 1, 2]);
  assert.equal(m.cpu.regs[0], 0x80000000 | 0);
  assert.equal(m.cpu.regs[2], 0);
  // div ebx: 0x12345678_9abcdef0 / 0x87654321
  m = exec([0xf7, 0xf3], [0x9abcdef0 | 0, 0, 0x12345678, 0x87654321 | 0]);
  const n = (0x12345678n << 32n) | 0x9abcdef0n;
  assert.equal(BigInt(m.cpu.regs[0]! >>> 0), n / 0x87654321n);
  assert.equal(BigInt(m.cpu.regs[2]! >>> 0), n % 0x87654321n);
  // idiv ebx: -7 / 2 = -3 r -1
  m = exec([0xf7, 0xfb], [-7, 0, -1, 2]);
  assert.equal(m.cpu.regs[0], -3);
  assert.equal(m.cpu.regs[2], -1);
  // div by zero: #DE at the DIV, registers unchanged
  m = exec([0xf7, 0xf3], [5, 0, 0, 0]);
  assert.equal(m.interp.faults[0]?.vector, 0);
  assert.equal(m.interp.faults[0]?.eip, 0x1000);
  assert.equal(m.cpu.regs[0], 5);
  // quotient overflow: EDX=2, EBX=2 -> #DE
  m = exec([0xf7, 0xf3], [0, 0, 2, 2]);
  assert.equal(m.interp.faults[0]?.vector, 0);
  // idiv: 0x80000000 / -1 overflows -> #DE
  m = exec([0xf7, 0xfb], [0x80000000 | 0, 0, -1, -1]);
  assert.equal(m.interp.faults[0]?.vector, 0);
  // aam 0 -> #DE
  m = exec([0xd4, 0x00], [0x12]);
  assert.equal(m.interp.faults[0]?.vector, 0);
});

test("decimal adjust (SDM DAA example) and AAM/AAD", () => {
  // AL = 0x79 + 0x35 = 0xAE; DAA -> 0x14, CF=1, AF=1
  let m = exec([0x04, 0x35, 0x27], [0x79]);
  assert.equal(m.cpu.regs[0], 0x14);
  assert.equal(flagsOf(m) & (CF | AF), CF | AF);
  // AL = 0x35 - 0x47 = 0xEE; DAS -> 0x88, CF=1
  m = exec([0x2c, 0x47, 0x2f], [0x35]);
  assert.equal(m.cpu.regs[0], 0x88);
  assert.equal(flagsOf(m) & CF, CF);
  // aam: AL=0x3f (63) -> AH=6, AL=3
  m = exec([0xd4, 0x0a], [0x3f]);
  assert.equal(m.cpu.regs[0]! & 0xffff, 0x0603);
  // aad: AH=6 AL=3 -> AL=63, AH=0
  m = exec([0xd5, 0x0a], [0x0603]);
  assert.equal(m.cpu.regs[0]! & 0xffff, 63);
});

test("bit instructions: BT with register offset addresses memory beyond the operand", () => {
  // bts [ebx], ecx with ECX=35 sets bit 3 of the dword at ebx+4
  const m = exec([0x0f, 0xab, 0x0b], [0, 35, 0, 0x4000]);
  assert.equal(m.mem.read32(0x4004), 8);
  assert.equal(flagsOf(m) & CF, 0);
  // bt [ebx], ecx with ECX=-1 reads bit 31 of ebx-4
  const m2 = flatMachine([0x0f, 0xa3, 0x0b, 0xf4]);
  m2.mem.write32(0x3ffc, 0x80000000 | 0);
  m2.cpu.regs[1] = -1;
  m2.cpu.regs[3] = 0x4000;
  m2.interp.run(10);
  assert.equal(m2.cpu.getEflags() & CF, CF);
  // bsf/bsr
  const m3 = exec([0x0f, 0xbc, 0xc3, 0x0f, 0xbd, 0xcb], [0, 0, 0, 0x00f0]);
  assert.equal(m3.cpu.regs[0], 4);
  assert.equal(m3.cpu.regs[1], 7);
  // bsf with zero source: ZF=1, destination unchanged
  const m4 = exec([0x0f, 0xbc, 0xc3], [77, 0, 0, 0]);
  assert.equal(m4.cpu.regs[0], 77);
  assert.equal(flagsOf(m4) & ZF, ZF);
});

test("CMPXCHG, XADD, CMPXCHG8B, BSWAP, CMOV, SETcc", () => {
  // cmpxchg ebx, ecx: EAX == EBX -> EBX = ECX, ZF
  let m = exec([0x0f, 0xb1, 0xcb], [5, 9, 0, 5]);
  assert.equal(m.cpu.regs[3], 9);
  assert.equal(flagsOf(m) & ZF, ZF);
  // not equal: EAX = EBX
  m = exec([0x0f, 0xb1, 0xcb], [4, 9, 0, 5]);
  assert.equal(m.cpu.regs[0], 5);
  assert.equal(m.cpu.regs[3], 5);
  // xadd ebx, ecx
  m = exec([0x0f, 0xc1, 0xcb], [0, 2, 0, 40]);
  assert.equal(m.cpu.regs[3], 42);
  assert.equal(m.cpu.regs[1], 40);
  // cmpxchg8b [esi]: equal case
  const m8 = flatMachine([0x0f, 0xc7, 0x0e, 0xf4]);
  m8.mem.write32(0x4000, 1);
  m8.mem.write32(0x4004, 2);
  m8.cpu.regs[0] = 1;
  m8.cpu.regs[2] = 2;
  m8.cpu.regs[3] = 7;
  m8.cpu.regs[1] = 8;
  m8.cpu.regs[6] = 0x4000;
  m8.interp.run(10);
  assert.equal(m8.mem.read32(0x4000), 7);
  assert.equal(m8.mem.read32(0x4004), 8);
  assert.equal(m8.cpu.getEflags() & ZF, ZF);
  // bswap eax
  m = exec([0x0f, 0xc8], [0x12345678]);
  assert.equal(m.cpu.regs[0], 0x78563412);
  // cmp eax, ebx (1 < 2); cmovl ecx, edx; setl al
  m = exec([0x39, 0xd8, 0x0f, 0x4c, 0xca, 0x0f, 0x9c, 0xc0], [1, 0, 99, 2]);
  assert.equal(m.cpu.regs[1], 99);
  assert.equal(m.cpu.regs[0]! & 0xff, 1);
});

test("16-bit addressing in real mode: [bp+si+disp] defaults to SS", async () => {
  const { realMachine } = await import("./interp-helpers.js");
  // mov ax, [bp+si+2]; hlt
  const m = realMachine([0x8b, 0x42, 0x02, 0xf4]);
  m.cpu.segBase[2] = 0x20000; // SS
  m.cpu.segBase[3] = 0x30000; // DS
  m.cpu.regs[5] = 0x10; // BP
  m.cpu.regs[6] = 0xfff0; // SI: the sum wraps at 64 KiB
  m.mem.write16(0x20002, 0xbeef);
  m.interp.run(10);
  assert.equal(m.cpu.regs[0]! & 0xffff, 0xbeef);
});
