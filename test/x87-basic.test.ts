import assert from "node:assert/strict";
import { test } from "node:test";
import { CR0, Flag } from "../src/cpu/cpu.js";
import { Vector } from "../src/cpu/fault.js";
import { Fsw } from "../src/cpu/x87/fpu.js";
import { isFixedRegisterForm, X87_FORMS } from "../src/cpu/x87/table.js";
import { makeX87 } from "./x87-fixture.js";

const { IE, DE, ZE, OE, UE, PE, SF, ES, C0, C1, C2, C3, B } = Fsw;

function bitsOf(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16).padStart(16, "0");
}

test("arithmetic in all operand forms", () => {
  const f = makeX87();
  f.ld(1.5);
  f.ld(2.25); // ST0 = 2.25, ST1 = 1.5
  f.reg(0xd8, 0xc1); // FADD ST0, ST1
  assert.equal(f.fpu.stValue(0), 3.75);
  f.reg(0xd8, 0xe1); // FSUB ST0, ST1
  assert.equal(f.fpu.stValue(0), 2.25);
  f.reg(0xd8, 0xe9); // FSUBR ST0, ST1: 1.5 - 2.25
  assert.equal(f.fpu.stValue(0), -0.75);
  f.reg(0xd8, 0xc9); // FMUL
  assert.equal(f.fpu.stValue(0), -1.125);
  f.reg(0xd8, 0xf1); // FDIV ST0, ST1
  assert.equal(f.fpu.stValue(0), -0.75);
  f.reg(0xd8, 0xf9); // FDIVR ST0, ST1: 1.5 / -0.75
  assert.equal(f.fpu.stValue(0), -2);
  f.reg(0xdc, 0xe9); // FSUB ST1, ST0: ST1 = 1.5 - (-2)
  assert.equal(f.fpu.stValue(1), 3.5);
  f.reg(0xdc, 0xe1); // FSUBR ST1, ST0: ST1 = -2 - 3.5
  assert.equal(f.fpu.stValue(1), -5.5);
  f.reg(0xdc, 0xf9); // FDIV ST1, ST0: ST1 = -5.5 / -2
  assert.equal(f.fpu.stValue(1), 2.75);
  f.reg(0xdc, 0xf1); // FDIVR ST1, ST0: ST1 = -2 / 2.75
  assert.equal(f.fpu.stValue(1), -2 / 2.75);
  f.reg(0xdd, 0xd9); // FSTP ST1 (replace ST1 with -2, pop)
  f.ld(3.5);
  f.reg(0xde, 0xc1); // FADDP ST1, ST0
  assert.equal(f.fpu.stValue(0), 1.5);
  assert.equal((f.sw() >>> 11) & 7, 7);
  f.mem.write16(0x100, 7);
  f.mem_(0xde, 0, 0x100); // FIADD m16int
  assert.equal(f.fpu.stValue(0), 8.5);
  f.mem.write32(0x104, -2);
  f.mem_(0xda, 1, 0x104); // FIMUL m32int
  assert.equal(f.fpu.stValue(0), -17);
  f.putF32(0x108, 0.5);
  f.mem_(0xd8, 5, 0x108); // FSUBR m32fp: 0.5 - -17
  assert.equal(f.fpu.stValue(0), 17.5);
  f.putF64(0x110, 0.25);
  f.mem_(0xdc, 7, 0x110); // FDIVR m64fp: 0.25 / 17.5
  assert.equal(f.fpu.stValue(0), 0.25 / 17.5);
  assert.equal(f.sw() & (IE | ZE | OE), 0);
});

test("division by zero, invalid operations and precision", () => {
  const f = makeX87();
  f.ld(-3);
  f.putF64(0x100, 0);
  f.mem_(0xdc, 6, 0x100); // FDIV m64fp 0
  assert.equal(f.fpu.stValue(0), -Infinity);
  assert.equal(f.sw() & (ZE | IE), ZE);
  f.reg(0xdb, 0xe2); // FNCLEX
  f.ld(Infinity);
  f.reg(0xde, 0xc1); // FADDP: -inf + inf
  assert.equal(bitsOf(f.stp()), "fff8000000000000"); // QNaN indefinite
  assert.equal(f.sw() & IE, IE);
  f.reg(0xdb, 0xe2);
  f.ld(1);
  f.ld(3);
  f.reg(0xde, 0xf9); // FDIVP ST1, ST0: 1 / 3
  assert.equal(f.sw() & (PE | C1), PE); // rounded down
  assert.equal(f.stp(), 1 / 3);
});

test("directed rounding of arithmetic results", () => {
  const f = makeX87();
  const cw = (rc: number) => {
    f.mem.write16(0x200, 0x037f | (rc << 10));
    f.mem_(0xd9, 5, 0x200); // FLDCW
  };
  const third = (rc: number): string => {
    cw(rc);
    f.ld(1);
    f.ld(3);
    f.reg(0xde, 0xf9);
    return bitsOf(f.stp());
  };
  assert.equal(third(0), "3fd5555555555555");
  assert.equal(third(1), "3fd5555555555555");
  assert.equal(third(2), "3fd5555555555556");
  assert.equal(third(3), "3fd5555555555555");
  cw(1);
  f.ld(-1);
  f.ld(3);
  f.reg(0xde, 0xf9);
  assert.equal(bitsOf(f.stp()), "bfd5555555555556");
  // single precision control (PC = 00)
  f.mem.write16(0x200, 0x007f);
  f.mem_(0xd9, 5, 0x200);
  f.ld(1);
  f.ld(3);
  f.reg(0xde, 0xf9);
  assert.equal(f.stp(), Math.fround(1 / 3));
});

test("FCOM/FUCOM/FICOM/FTST condition codes and FNSTSW AX", () => {
  const f = makeX87();
  const cmp = (a: number, b: number): number => {
    f.reg(0xdb, 0xe3); // FNINIT
    f.ld(b);
    f.ld(a);
    f.reg(0xd8, 0xd1); // FCOM ST1
    f.reg(0xdf, 0xe0); // FNSTSW AX
    return f.cpu.reg16[0]! & (C0 | C2 | C3);
  };
  assert.equal(cmp(1, 2), C0);
  assert.equal(cmp(3, 2), 0);
  assert.equal(cmp(2, 2), C3);
  assert.equal(cmp(-0, 0), C3);
  assert.equal(cmp(Number.NaN, 2), C3 | C2 | C0);
  assert.equal(f.sw() & IE, IE); // FCOM signals on a QNaN
  f.reg(0xdb, 0xe3);
  f.ld(2);
  f.ld(Number.NaN);
  f.reg(0xdd, 0xe1); // FUCOM ST1
  assert.equal(f.sw() & (C0 | C2 | C3 | IE), C0 | C2 | C3);
  // FCOMPP pops twice
  f.reg(0xdb, 0xe3);
  f.ld(1);
  f.ld(5);
  f.reg(0xde, 0xd9);
  assert.equal(f.sw() & (C0 | C2 | C3), 0);
  assert.equal(f.fpu.tagWord, 0xffff);
  // FICOM m16int, FTST
  f.ld(-4);
  f.mem.write16(0x100, -4 & 0xffff);
  f.mem_(0xde, 2, 0x100);
  assert.equal(f.sw() & (C0 | C2 | C3), C3);
  f.reg(0xd9, 0xe4); // FTST
  assert.equal(f.sw() & (C0 | C2 | C3), C0);
});

test("FCOMI/FUCOMIP set ZF PF CF and clear OF SF AF; FCMOVcc reads them", () => {
  const f = makeX87();
  const flags = Flag.ZF | Flag.PF | Flag.CF | Flag.OF | Flag.SF | Flag.AF;
  const run = (a: number, b: number, modrm: number): number => {
    f.reg(0xdb, 0xe3);
    f.cpu.setEflags(Flag.OF | Flag.SF | Flag.AF);
    f.ld(b);
    f.ld(a);
    f.reg(0xdb, modrm);
    return f.cpu.getEflags() & flags;
  };
  assert.equal(run(1, 2, 0xf1), Flag.CF);
  assert.equal(run(2, 1, 0xf1), 0);
  assert.equal(run(2, 2, 0xf1), Flag.ZF);
  assert.equal(run(Number.NaN, 2, 0xe9), Flag.ZF | Flag.PF | Flag.CF);
  assert.equal(f.sw() & IE, 0); // FUCOMI: QNaN is not invalid
  assert.equal(run(Number.NaN, 2, 0xf1), Flag.ZF | Flag.PF | Flag.CF);
  assert.equal(f.sw() & IE, IE);
  // FUCOMIP pops
  f.reg(0xdb, 0xe3);
  f.ld(1);
  f.ld(1);
  f.reg(0xdf, 0xe9);
  assert.equal(f.fpu.stValue(0), 1);
  assert.equal((f.sw() >>> 11) & 7, 7);
  // FCMOVB ST0, ST1 with CF=1 moves; FCMOVNB does not
  f.ld(9);
  f.cpu.setEflags(Flag.CF);
  f.reg(0xdb, 0xc1); // FCMOVNB
  assert.equal(f.fpu.stValue(0), 9);
  f.reg(0xda, 0xc1); // FCMOVB
  assert.equal(f.fpu.stValue(0), 1);
});

test("FNSAVE / FRSTOR round-trip a full stack with tags, bit for bit", () => {
  const f = makeX87();
  const load80 = (hex: string) => {
    f.putHexBE(0x500, hex);
    f.mem_(0xdb, 5, 0x500); // FLD m80fp
  };
  load80("3fff8000000000000001"); // 1 + 2^-63: not a double
  f.reg(0xd9, 0xeb); // FLDPI
  f.ld(-0);
  load80("00000000000000000001"); // extended denormal
  f.ld(Infinity);
  load80("7fff8000000000000001"); // SNaN (no exception for FLD m80)
  f.ld(1e300);
  f.reg(0xdd, 0xc2); // FFREE ST(2): the infinity (R3)
  assert.equal(f.sw() & IE, 0);
  assert.equal(f.fpu.tagWord, 0x06e3);
  f.mem.write16(0x200, 0x0b72); // FLDCW: RC up, PE/UE/OE/DE unmasked... no pending flags
  f.mem_(0xd9, 5, 0x200);
  f.mem_(0xdd, 6, 0x2000); // FNSAVE
  assert.equal(f.fpu.tagWord, 0xffff);
  assert.equal(f.fpu.fcw, 0x037f);
  assert.equal(f.sw(), 0);
  assert.equal(f.mem.read32(0x2000 + 8) >>> 0, 0xffff06e3);
  assert.equal(f.mem.read32(0x2000) >>> 0, 0xffff0b72);
  assert.equal((f.mem.read32(0x2004) >>> 11) & 7, 1);
  assert.equal(f.hexBE(0x2000 + 28 + 10 * 6, 10), "3fff8000000000000001"); // ST(6)
  assert.equal(f.hexBE(0x2000 + 28 + 10 * 5, 10), "4000c90fdaa22168c235"); // ST(5) = pi
  assert.equal(f.hexBE(0x2000 + 28 + 10 * 3, 10), "00000000000000000001"); // ST(3)
  assert.equal(f.hexBE(0x2000 + 28 + 10 * 1, 10), "7fff8000000000000001"); // ST(1)
  f.mem_(0xdd, 4, 0x2000); // FRSTOR
  assert.equal(f.fpu.tagWord, 0x06e3);
  assert.equal(f.fpu.fcw, 0x0b72);
  f.mem_(0xdd, 6, 0x3000); // FNSAVE again
  assert.equal(f.hexBE(0x3000, 108), f.hexBE(0x2000, 108));
  // 16-bit layout: 94 bytes
  f.mem_(0xdd, 4, 0x2000);
  f.mem_(0xdd, 6, 0x4000, false);
  f.mem_(0xdd, 4, 0x4000, false);
  f.mem_(0xdd, 6, 0x5000, false);
  assert.equal(f.hexBE(0x5000, 94), f.hexBE(0x4000, 94));
  assert.equal(f.mem.read16(0x4004), 0x06e3);
  assert.equal(f.hexBE(0x4000 + 14 + 60, 10), "3fff8000000000000001");
});

test("FNSTENV layout (protected mode, 32- and 16-bit) and pointer registers", () => {
  const f = makeX87();
  f.fpu.instructionEip = 0x1234;
  f.reg(0xd9, 0xe8); // FLD1
  f.fpu.instructionEip = 0x1236;
  f.reg(0xd9, 0xee); // FLDZ
  f.mem_(0xd9, 6, 0x600); // FNSTENV m28
  const w = (i: number) => f.mem.read32(0x600 + 4 * i) >>> 0;
  assert.equal(w(0), 0xffff037f);
  assert.equal(w(1), 0xffff3000);
  assert.equal(w(2), 0xffff1fff);
  assert.equal(w(3), 0x1236);
  assert.equal(w(4), (0x1ee << 16) | f.cpu.segSel[1]!);
  f.fpu.instructionEip = 0x1240;
  f.putF64(0x700, 2);
  f.mem_(0xdc, 1, 0x700); // FMUL m64fp
  assert.equal(f.fpu.fop, 0x408);
  f.mem_(0xd9, 6, 0x600, false); // FNSTENV m14
  const h = (i: number) => f.mem.read16(0x600 + 2 * i);
  assert.deepEqual(
    [h(0), h(1), h(2), h(3), h(4), h(5), h(6)],
    [0x037f, 0x3000, 0x1fff, 0x1240, f.cpu.segSel[1]!, 0x700, f.cpu.segSel[3]!],
  );
  // FLDENV restores
  f.reg(0xdb, 0xe3);
  f.mem_(0xd9, 4, 0x600, false);
  assert.equal(f.fpu.tagWord, 0x1fff);
  assert.equal(f.fpu.fdp, 0x700);
  assert.equal(f.fpu.fop, 0); // the 16-bit protected-mode image has no FOP
});

test("#NM: CR0.EM or CR0.TS for every escape; WAIT only with MP and TS", () => {
  const f = makeX87();
  f.cpu.cr0 |= CR0.TS;
  assert.equal(
    f.faultOf(() => f.reg(0xd9, 0xe8)),
    Vector.NM,
  );
  assert.equal(
    f.faultOf(() => f.reg(0xdb, 0xe3)),
    Vector.NM,
  ); // even FNINIT
  assert.equal(
    f.faultOf(() => f.fpu.fwait()),
    Vector.NM,
  ); // MP=1 TS=1
  f.cpu.cr0 &= ~CR0.MP;
  assert.equal(
    f.faultOf(() => f.fpu.fwait()),
    -1,
  );
  f.cpu.cr0 = (f.cpu.cr0 & ~CR0.TS) | CR0.EM;
  assert.equal(
    f.faultOf(() => f.mem_(0xdd, 6, 0x100)),
    Vector.NM,
  );
  assert.equal(
    f.faultOf(() => f.fpu.fwait()),
    -1,
  );
  f.cpu.cr0 &= ~CR0.EM;
  assert.equal(
    f.faultOf(() => f.reg(0xd9, 0xe8)),
    -1,
  );
  assert.equal(f.fpu.stValue(0), 1);
});

test("#UD for FISTTP (SSE3) and reserved encodings", () => {
  const f = makeX87();
  f.ld(1);
  for (const [op, digit] of [
    [0xdb, 1],
    [0xdd, 1],
    [0xdf, 1],
    [0xd9, 1],
    [0xdb, 4],
    [0xdd, 5],
  ] as const) {
    assert.equal(
      f.faultOf(() => f.mem_(op, digit, 0x100)),
      Vector.UD,
      `${op.toString(16)} /${digit}`,
    );
  }
  for (const [op, modrm] of [
    [0xd9, 0xd1],
    [0xd9, 0xe2],
    [0xd9, 0xef],
    [0xda, 0xe8],
    [0xdb, 0xe5],
    [0xdd, 0xf0],
    [0xde, 0xd8],
    [0xdf, 0xe1],
    [0xdf, 0xf8],
  ] as const) {
    assert.equal(
      f.faultOf(() => f.reg(op, modrm)),
      Vector.UD,
      `${op.toString(16)} ${modrm.toString(16)}`,
    );
  }
});

test("FIST/FISTP rounding in all four RC modes, range and indefinite", () => {
  const f = makeX87();
  const cases: [number, number[]][] = [
    [2.5, [2, 2, 3, 2]],
    [-2.5, [-2, -3, -2, -2]],
    [1.5, [2, 1, 2, 1]],
    [-1.7, [-2, -2, -1, -1]],
    [2.3, [2, 2, 3, 2]],
    [-0.3, [0, -1, 0, 0]],
  ];
  for (let rc = 0; rc < 4; rc++) {
    f.mem.write16(0x200, 0x037f | (rc << 10));
    f.mem_(0xd9, 5, 0x200);
    for (const [v, want] of cases) {
      f.ld(v);
      f.mem_(0xdb, 3, 0x300); // FISTP m32int
      assert.equal(f.mem.read32(0x300), want[rc], `FISTP m32 ${v} rc=${rc}`);
      assert.equal(f.sw() & PE, PE);
      f.ld(v);
      f.mem_(0xdf, 3, 0x300); // FISTP m16int
      assert.equal((f.mem.read16(0x300) << 16) >> 16, want[rc], `FISTP m16 ${v} rc=${rc}`);
      f.ld(v);
      f.mem_(0xdf, 7, 0x300); // FISTP m64int
      assert.equal(f.mem.read32(0x300), want[rc]);
      assert.equal(f.mem.read32(0x304), want[rc]! < 0 ? -1 : 0);
    }
  }
  f.reg(0xdb, 0xe3);
  f.ld(40000);
  f.mem_(0xdf, 2, 0x300); // FIST m16int: out of range
  assert.equal(f.mem.read16(0x300), 0x8000);
  assert.equal(f.sw() & (IE | PE), IE);
  f.ld(-32768);
  f.mem_(0xdf, 3, 0x300);
  assert.equal(f.mem.read16(0x300), 0x8000);
  f.ld(Number.NaN);
  f.mem_(0xdb, 3, 0x300);
  assert.equal(f.mem.read32(0x300) >>> 0, 0x80000000);
});

test("FILD m64 / FISTP m64 and FBLD / FBSTP are exact beyond 53 bits", () => {
  const f = makeX87();
  f.mem.write32(0x100, 0x9abcdef1 | 0);
  f.mem.write32(0x104, 0x12345678);
  f.mem_(0xdf, 5, 0x100); // FILD m64int
  f.reg(0xd9, 0xc0); // FLD ST0
  f.mem_(0xdb, 7, 0x110); // FSTP m80fp
  assert.equal(f.hexBE(0x110, 10), "403b91a2b3c4d5e6f788");
  f.mem_(0xdf, 7, 0x120); // FISTP m64int
  assert.equal(f.hexBE(0x120, 8), "123456789abcdef1");
  // negative, via FCHS (exact)
  f.mem_(0xdf, 5, 0x100);
  f.reg(0xd9, 0xe0);
  f.mem_(0xdf, 7, 0x120);
  assert.equal(f.hexBE(0x120, 8), "edcba9876543210f");
  // BCD
  f.putHexBE(0x200, "80123456789012345678");
  f.mem_(0xdf, 4, 0x200); // FBLD
  f.reg(0xd9, 0xc0);
  f.mem_(0xdf, 7, 0x220);
  assert.equal(BigInt.asIntN(64, BigInt(`0x${f.hexBE(0x220, 8)}`)), -123456789012345678n);
  f.mem_(0xdf, 6, 0x230); // FBSTP
  assert.equal(f.hexBE(0x230, 10), "80123456789012345678");
  f.ld(1e18);
  f.mem_(0xdf, 6, 0x230); // out of range -> BCD indefinite
  assert.equal(f.hexBE(0x230, 10), "ffffc000000000000000");
  assert.equal(f.sw() & IE, IE);
});

test("m80 round trips: 1.0, -0.0, pi, denormal, inf, NaN", () => {
  const f = makeX87();
  const viaM80 = (v: number): string => {
    f.ld(v);
    f.mem_(0xdb, 7, 0x100);
    const hex = f.hexBE(0x100, 10);
    f.mem_(0xdb, 5, 0x100); // FLD m80
    assert.equal(bitsOf(f.stp()), bitsOf(v), `value ${v}`);
    return hex;
  };
  assert.equal(viaM80(1), "3fff8000000000000000");
  assert.equal(viaM80(-0), "80000000000000000000");
  assert.equal(viaM80(Math.PI), "4000c90fdaa22168c000");
  assert.equal(viaM80(5e-324), "3bcd8000000000000000");
  assert.equal(viaM80(2.2250738585072009e-308), "3c00fffffffffffff000");
  assert.equal(viaM80(-Infinity), "ffff8000000000000000");
  assert.equal(viaM80(Number.NaN), "7fffc000000000000000");
  assert.equal(f.sw() & (IE | DE | UE | OE | PE), DE); // only the double denormals' DE
  // FLDPI keeps 64 bits
  f.reg(0xd9, 0xeb);
  f.mem_(0xdb, 7, 0x100);
  assert.equal(f.hexBE(0x100, 10), "4000c90fdaa22168c235");
  // an extended denormal and a pseudo-denormal survive FLD/FSTP m80
  for (const hex of [
    "00000000000000000001",
    "80008000000000000000",
    "7fffc000000000001234",
    "4000123456789abcdef0",
  ]) {
    f.putHexBE(0x100, hex);
    f.mem_(0xdb, 5, 0x100);
    f.mem_(0xdb, 7, 0x110);
    assert.equal(f.hexBE(0x110, 10), hex);
  }
  // the extended denormal stored to m64 underflows to +0 (UE, PE masked)
  f.reg(0xdb, 0xe3);
  f.putHexBE(0x100, "00000000000000000001");
  f.mem_(0xdb, 5, 0x100);
  assert.equal(bitsOf(f.stp()), "0000000000000000");
  assert.equal(f.sw() & (UE | PE), UE | PE);
});

test("FST m32/m64 rounding, overflow and NaN conversion", () => {
  const f = makeX87();
  const st32 = (v: number, rc: number): number => {
    f.mem.write16(0x200, 0x037f | (rc << 10));
    f.mem_(0xd9, 5, 0x200);
    f.ld(v);
    f.mem_(0xd9, 3, 0x300); // FSTP m32fp
    return f.mem.read32(0x300) >>> 0;
  };
  assert.equal(st32(1 / 3, 0), 0x3eaaaaab);
  assert.equal(st32(1 / 3, 1), 0x3eaaaaaa);
  assert.equal(st32(1 / 3, 2), 0x3eaaaaab);
  assert.equal(st32(1 / 3, 3), 0x3eaaaaaa);
  assert.equal(st32(-1 / 3, 1), 0xbeaaaaab);
  assert.equal(st32(1e300, 0), 0x7f800000);
  assert.equal(f.sw() & (OE | PE), OE | PE);
  assert.equal(st32(1e300, 3), 0x7f7fffff);
  assert.equal(st32(1e-50, 0), 0);
  assert.equal(f.sw() & UE, UE);
  assert.equal(st32(1e-40, 0), 0x000116c2); // single denormal
  // an m64 QNaN payload survives a trip through a register into m32
  f.mem.write32(0x400, 0);
  f.mem.write32(0x404, 0x7ffabcde);
  f.mem_(0xdd, 0, 0x400);
  f.mem_(0xd9, 3, 0x300);
  assert.equal(f.mem.read32(0x300) >>> 0, 0x7fd5e6f0);
  // an m32 SNaN is quieted on load with IE
  f.reg(0xdb, 0xe3);
  f.mem.write32(0x400, 0x7f800001);
  f.mem_(0xd9, 0, 0x400);
  assert.equal(f.sw() & IE, IE);
  f.mem_(0xd9, 3, 0x300);
  assert.equal(f.mem.read32(0x300) >>> 0, 0x7fc00001);
});

test("stack underflow and overflow: masked responses", () => {
  const f = makeX87();
  f.reg(0xd8, 0xc1); // FADD ST0, ST1 on an empty stack
  assert.equal(f.sw() & (IE | SF | C1 | ES), IE | SF);
  assert.ok(Number.isNaN(f.fpu.stValue(0))); // the masked response wrote the indefinite into ST0
  f.reg(0xdb, 0xe3);
  f.mem_(0xdd, 3, 0x100); // FSTP m64 of an empty register stores the indefinite and pops
  assert.equal(f.hexBE(0x100, 8), "fff8000000000000");
  assert.equal(f.sw() & (IE | SF | C1), IE | SF);
  assert.equal((f.sw() >>> 11) & 7, 1);
  f.reg(0xdb, 0xe3);
  for (let i = 0; i < 8; i++) f.reg(0xd9, 0xe8);
  assert.equal(f.sw() & IE, 0);
  f.reg(0xd9, 0xe8); // the ninth push overflows
  assert.equal(f.sw() & (IE | SF | C1), IE | SF | C1);
  assert.ok(Number.isNaN(f.fpu.stValue(0)));
  // FXAM of an empty register: C3 C0
  f.reg(0xdb, 0xe3);
  f.reg(0xd9, 0xe5);
  assert.equal(f.sw() & (C3 | C2 | C0), C3 | C0);
});

test("unmasked exceptions: ES and B, #MF at the next waiting instruction, IRQ 13 with NE=0", () => {
  const f = makeX87();
  f.mem.write16(0x200, 0x037e); // unmask IE
  f.mem_(0xd9, 5, 0x200);
  f.ld(1);
  f.reg(0xd8, 0xc2); // FADD ST0, ST2: ST2 empty -> stack underflow, unmasked
  assert.equal(f.sw() & (IE | SF | ES | B), IE | SF | ES | B);
  assert.equal(f.fpu.stValue(0), 1); // destination unchanged
  assert.equal(
    f.faultOf(() => f.reg(0xd9, 0xe8)),
    Vector.MF,
  );
  assert.equal(
    f.faultOf(() => f.fpu.fwait()),
    Vector.MF,
  );
  assert.equal(
    f.faultOf(() => f.reg(0xdf, 0xe0)),
    -1,
  ); // FNSTSW AX is no-wait
  assert.equal(f.cpu.reg16[0]! & (ES | B), ES | B);
  f.reg(0xdb, 0xe2); // FNCLEX
  assert.equal(f.sw() & (ES | B | IE | SF), 0);
  f.reg(0xd9, 0xe8);
  // PC-style: CR0.NE = 0
  f.cpu.cr0 &= ~CR0.NE;
  f.reg(0xd8, 0xc7);
  assert.equal(f.fpu.irq13Pending, false);
  f.fpu.fwait();
  assert.equal(f.fpu.irq13Pending, true);
  f.fpu.irq13Pending = false;
  f.fpu.fwait();
  assert.equal(f.fpu.irq13Pending, false); // FERR# stays asserted: no second edge
  // FLDCW that masks the exception clears ES
  f.mem.write16(0x200, 0x037f);
  f.mem_(0xd9, 5, 0x200);
  assert.equal(f.sw() & ES, 0);
  // and one that unmasks a set flag makes it pending again
  f.mem.write16(0x200, 0x037e);
  f.mem_(0xd9, 5, 0x200);
  assert.equal(f.sw() & (ES | B), ES | B);
});

test("FXAM classes and sign", () => {
  const f = makeX87();
  const xam = (v: number | string): number => {
    f.reg(0xdb, 0xe3);
    if (typeof v === "string") {
      f.putHexBE(0x100, v);
      f.mem_(0xdb, 5, 0x100);
    } else f.ld(v);
    f.reg(0xd9, 0xe5);
    return f.sw() & (C0 | C1 | C2 | C3);
  };
  assert.equal(xam(1), C2);
  assert.equal(xam(-Infinity), C2 | C0 | C1);
  assert.equal(xam(0), C3);
  assert.equal(xam(-0), C3 | C1);
  assert.equal(xam(Number.NaN), C0);
  assert.equal(xam(5e-324), C2); // a double denormal is normal in extended precision
  assert.equal(xam("00000000000000000001"), C3 | C2);
  assert.equal(xam("40000000000000000001"), 0); // unnormal: unsupported
});

test("FPREM, FPREM1, FSCALE, FXTRACT, FRNDINT, FSQRT, FABS, FCHS, constants", () => {
  const f = makeX87();
  f.ld(3);
  f.ld(10);
  f.reg(0xd9, 0xf8); // FPREM: 10 = 3*3 + 1
  assert.equal(f.fpu.stValue(0), 1);
  assert.equal(f.sw() & (C0 | C1 | C2 | C3), C1 | C3); // Q = 3
  f.reg(0xdb, 0xe3);
  f.ld(3);
  f.ld(5);
  f.reg(0xd9, 0xf5); // FPREM1: 5 = 2*3 - 1
  assert.equal(f.fpu.stValue(0), -1);
  assert.equal(f.sw() & (C0 | C1 | C2 | C3), C3); // Q = 2
  f.reg(0xdb, 0xe3);
  f.ld(3);
  f.ld(2 ** 100);
  f.reg(0xd9, 0xf8); // partial remainder
  assert.equal(f.sw() & C2, C2);
  for (let k = 0; k < 10 && (f.sw() & C2) !== 0; k++) f.reg(0xd9, 0xf8);
  assert.equal(f.sw() & C2, 0);
  assert.equal(f.fpu.stValue(0), Number(2n ** 100n % 3n));
  f.reg(0xdb, 0xe3);
  f.ld(3.7);
  f.ld(1.5);
  f.reg(0xd9, 0xfd); // FSCALE
  assert.equal(f.fpu.stValue(0), 12);
  f.reg(0xd9, 0xf4); // FXTRACT
  assert.equal(f.fpu.stValue(0), 1.5);
  assert.equal(f.fpu.stValue(1), 3);
  f.reg(0xdb, 0xe3);
  f.ld(2.5);
  f.reg(0xd9, 0xfc); // FRNDINT
  assert.equal(f.fpu.stValue(0), 2);
  assert.equal(f.sw() & (PE | C1), PE);
  f.ld(-2);
  f.reg(0xd9, 0xfa); // FSQRT(-2): invalid
  assert.equal(bitsOf(f.stp()), "fff8000000000000");
  f.ld(2);
  f.reg(0xd9, 0xfa);
  assert.equal(f.fpu.stValue(0), Math.SQRT2);
  f.reg(0xd9, 0xe0); // FCHS
  assert.equal(f.fpu.stValue(0), -Math.SQRT2);
  f.reg(0xd9, 0xe1); // FABS
  assert.equal(f.fpu.stValue(0), Math.SQRT2);
  f.reg(0xdb, 0xe3);
  const k: [number, number][] = [
    [0xe8, 1],
    [0xe9, Math.log2(10)],
    [0xea, Math.LOG2E],
    [0xeb, Math.PI],
    [0xec, Math.log10(2)],
    [0xed, Math.LN2],
    [0xee, 0],
  ];
  for (const [m, v] of k) {
    f.reg(0xd9, m);
    assert.equal(f.stp(), v, m.toString(16));
  }
  // transcendental instructions (double precision)
  f.ld(0.5);
  f.reg(0xd9, 0xfe);
  assert.equal(f.fpu.stValue(0), Math.sin(0.5));
  f.reg(0xd9, 0xf2); // FPTAN pushes 1.0
  assert.equal(f.fpu.stValue(0), 1);
  assert.equal(f.fpu.stValue(1), Math.tan(Math.sin(0.5)));
  f.reg(0xdb, 0xe3);
  f.ld(2 ** 64);
  f.reg(0xd9, 0xff); // FCOS out of range: C2
  assert.equal(f.sw() & C2, C2);
  assert.equal(f.fpu.stValue(0), 2 ** 64);
});

test("FXCH, FLD ST(i), FST ST(i), FFREE, FINCSTP, FDECSTP", () => {
  const f = makeX87();
  f.ld(1);
  f.ld(2);
  f.reg(0xd9, 0xc9); // FXCH ST1
  assert.deepEqual([f.fpu.stValue(0), f.fpu.stValue(1)], [1, 2]);
  f.reg(0xd9, 0xc1); // FLD ST1
  assert.deepEqual([f.fpu.stValue(0), f.fpu.stValue(1), f.fpu.stValue(2)], [2, 1, 2]);
  f.reg(0xdd, 0xd2); // FST ST2
  assert.equal(f.fpu.stValue(2), 2);
  f.reg(0xdd, 0xc0); // FFREE ST0
  assert.equal(f.fpu.tagWord & (3 << (2 * 5)), 3 << (2 * 5));
  f.reg(0xd9, 0xf7); // FINCSTP
  assert.equal((f.sw() >>> 11) & 7, 6);
  f.reg(0xd9, 0xf6); // FDECSTP
  assert.equal((f.sw() >>> 11) & 7, 5);
  f.reg(0xdf, 0xc1); // FFREEP ST1
  assert.equal((f.sw() >>> 11) & 7, 6);
  assert.equal(f.fpu.tagWord, 0x3fff); // only R7 is left
});

test("the instruction table covers the implemented forms", () => {
  const mnemonics = new Set(X87_FORMS.map((x) => x.mnemonic));
  for (const m of ["fadd", "fcomi", "fcmovnbe", "fnsave", "frstor", "fbstp", "fisttp"]) {
    assert.equal(mnemonics.has(m), m !== "fisttp", m);
  }
  for (const form of X87_FORMS) {
    assert.equal(form.oracle, "user");
    if (form.modrm === "mem") assert.ok(form.digit !== undefined);
    else assert.ok(form.modrmBase !== undefined && form.modrmBase >= 0xc0);
  }
  // Every table form executes without #UD (with a full-ish stack and TS clear).
  const f = makeX87();
  for (const form of X87_FORMS) {
    f.reg(0xdb, 0xe3);
    f.ld(1);
    f.ld(2);
    const op = form.opcode[0]!;
    const v = f.faultOf(() => {
      if (form.modrm === "mem") f.mem_(op, form.digit!, 0x800);
      else f.reg(op, form.modrmBase! | (isFixedRegisterForm(form) ? 0 : 1));
    });
    assert.equal(v, -1, `${form.mnemonic} ${op.toString(16)}`);
  }
});

test("DE for denormal m64 operands", () => {
  const f = makeX87();
  f.ld(1);
  f.putF64(0x100, 5e-324);
  f.mem_(0xdc, 0, 0x100); // FADD m64fp denormal
  assert.equal(f.sw() & DE, DE);
  assert.equal(f.fpu.stValue(0), 1); // (1 + 2^-1074 rounds to 1 in double)
});

test("behaviours found by the host differential check (test/x87-hostdiff.ts)", () => {
  const f = makeX87();
  const cw = (v: number) => {
    f.mem.write16(0x200, v);
    f.mem_(0xd9, 5, 0x200);
  };
  // Unmasked IE in FCOMP: condition codes say unordered, the stack is not popped.
  cw(0x0360);
  f.ld(1);
  f.ld(Number.NaN);
  f.reg(0xd8, 0xd9); // FCOMP ST1
  assert.equal(f.sw() & (C0 | C2 | C3 | IE | ES), C0 | C2 | C3 | IE | ES);
  assert.equal((f.sw() >>> 11) & 7, 6);
  // Unmasked DE does not stop FLD m64 of a denormal.
  f.reg(0xdb, 0xe3);
  cw(0x0360);
  f.putF64(0x100, 5e-324);
  f.mem_(0xdd, 0, 0x100);
  assert.equal(f.fpu.stValue(0), 5e-324);
  assert.equal(f.sw() & (DE | ES), DE | ES);
  // PC = single keeps the extended exponent range.
  f.reg(0xdb, 0xe3);
  cw(0x007f);
  f.ld(2 ** 1000);
  f.ld(1 + 2 ** -30);
  f.reg(0xde, 0xc9); // FMULP
  assert.equal(f.fpu.stValue(0), 2 ** 1000);
  assert.equal(f.sw() & (PE | OE), PE);
  // Round toward -inf: x - x = -0.
  f.reg(0xdb, 0xe3);
  cw(0x077f);
  f.ld(3);
  f.ld(3);
  f.reg(0xde, 0xe9); // FSUBP
  assert.ok(Object.is(f.fpu.stValue(0), -0));
});
