import assert from "node:assert/strict";
import { test } from "node:test";
import { readMem32, segmentAddress } from "../src/cpu/access.js";
import { type Cpu, CR0, CS, DS, ES, ESP, FS, GS, SS } from "../src/cpu/cpu.js";
import { Vector } from "../src/cpu/fault.js";
import { farCall, farJump, farReturn, loadSegment } from "../src/cpu/system/index.js";
import {
  fault,
  GDT,
  gateDesc,
  LDT,
  makeCpu,
  segDesc,
  setupProtected,
  TSS,
  writeDesc,
} from "./system-fixture.js";

function pm(): Cpu {
  const { cpu } = makeCpu();
  setupProtected(cpu);
  cpu.regs[ESP] = 0x7000;
  return cpu;
}

function toRing3(cpu: Cpu): void {
  cpu.segSel[CS] = 0x1b;
  cpu.segAccess[CS] = 0xc0fb;
  cpu.segSel[SS] = 0x23;
  cpu.segAccess[SS] = 0xc0f3;
  cpu.cpl = 3;
}

test("real mode: base = selector << 4, limit and rights kept (unreal mode)", () => {
  const { cpu } = makeCpu();
  cpu.cr0 = CR0.ET;
  cpu.segLimit[DS] = -1; // left over from protected mode
  cpu.segAccess[DS] = 0xc093;
  loadSegment(cpu, DS, 0x1234);
  assert.equal(cpu.segSel[DS], 0x1234);
  assert.equal(cpu.segBase[DS], 0x12340);
  assert.equal(cpu.segLimit[DS], -1);
  assert.equal(segmentAddress(cpu, DS, 0x0010_0000, 4, false), 0x12340 + 0x10_0000);
});

test("protected mode: descriptor cache fill, G scaling, accessed bit", () => {
  const cpu = pm();
  writeDesc(cpu, GDT + 0x58, segDesc(0x1234_5678, 0x00abc, 0x92, 0x4)); // byte granular
  cpu.gdtrLimit = 0x5f;
  loadSegment(cpu, ES, 0x58);
  assert.equal(cpu.segBase[ES], 0x1234_5678);
  assert.equal(cpu.segLimit[ES], 0xabc);
  assert.equal(cpu.segAccess[ES], 0x4093);
  assert.equal(cpu.memory.read8(GDT + 0x58 + 5), 0x93, "accessed bit written back");
  loadSegment(cpu, FS, 0x10);
  assert.equal(cpu.segLimit[FS], -1, "G: (0xFFFFF << 12) | 0xFFF");
});

test("null selectors: DS may be null (then #GP(0) on use), SS may not", () => {
  const cpu = pm();
  loadSegment(cpu, DS, 0x0003);
  assert.equal(cpu.segSel[DS], 3);
  assert.deepEqual(
    fault(cpu, () => readMem32(cpu, DS, 0)),
    [Vector.GP, 0],
  );
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, SS, 0)),
    [Vector.GP, 0],
  );
  assert.equal(cpu.segSel[SS], 0x10, "SS unchanged");
});

test("#GP(selector) error codes for bad selectors", () => {
  const cpu = pm();
  // Beyond the GDT limit (RPL bits are not part of the error code).
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x00ff)),
    [Vector.GP, 0xfc],
  );
  // LDT selector while LDTR is null.
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x000c)),
    [Vector.GP, 0x0c],
  );
  // System descriptor (TSS) into DS.
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x28)),
    [Vector.GP, 0x28],
  );
  // Execute-only code into DS: make 0x48 execute-only.
  writeDesc(cpu, GDT + 0x48, segDesc(0, 0xfffff, 0x98));
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x48)),
    [Vector.GP, 0x48],
  );
  // Readable code into DS is fine.
  loadSegment(cpu, DS, 0x08);
  // Code into SS, RPL != CPL, DPL != CPL.
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, SS, 0x08)),
    [Vector.GP, 0x08],
  );
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, SS, 0x11)),
    [Vector.GP, 0x10],
  );
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, SS, 0x20)),
    [Vector.GP, 0x20],
  );
  // Not present: #SS for SS, #NP for the others.
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, SS, 0x40)),
    [Vector.SS, 0x40],
  );
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, GS, 0x40)),
    [Vector.NP, 0x40],
  );
});

test("privilege checks at ring 3: DPL 0 data refused, DPL 3 data and conforming code allowed", () => {
  const cpu = pm();
  toRing3(cpu);
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x10)),
    [Vector.GP, 0x10],
  );
  loadSegment(cpu, DS, 0x23);
  assert.equal(cpu.segSel[DS], 0x23);
  writeDesc(cpu, GDT + 0x48, segDesc(0, 0xfffff, 0x9e)); // conforming readable code, DPL 0
  loadSegment(cpu, ES, 0x48);
  assert.equal(cpu.segSel[ES], 0x48);
  // RPL 3 with DPL 1 data at CPL 3: refused.
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, FS, 0x3b)),
    [Vector.GP, 0x38],
  );
});

test("LDT selectors after LLDT", () => {
  const cpu = pm();
  cpu.ldtrSel = 0x50;
  cpu.ldtrBase = LDT;
  cpu.ldtrLimit = 0x7f;
  writeDesc(cpu, LDT + 8, segDesc(0x4000_0000, 0xfff, 0x92, 0x4));
  loadSegment(cpu, DS, 0x0c);
  assert.equal(cpu.segBase[DS], 0x4000_0000);
  assert.deepEqual(
    fault(cpu, () => loadSegment(cpu, DS, 0x84)),
    [Vector.GP, 0x84],
    "beyond the LDT limit",
  );
});

test("far JMP: direct code segment, offset limit, privilege", () => {
  const cpu = pm();
  farJump(cpu, 0x08, 0x12345, true);
  assert.equal(cpu.eip, 0x12345);
  assert.equal(cpu.segSel[CS], 0x08);
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0x18, 0, true)),
    [Vector.GP, 0x18],
    "DPL 3 code from ring 0",
  );
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0x10, 0, true)),
    [Vector.GP, 0x10],
    "data segment",
  );
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0x28, 0, true)),
    [Vector.GP, 0x28],
    "TSS: no task switch",
  );
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0, 0, true)),
    [Vector.GP, 0],
  );
  writeDesc(cpu, GDT + 0x48, segDesc(0, 0xfff, 0x9a, 0x4)); // 4 KiB limit, byte granular
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0x48, 0x1000, true)),
    [Vector.GP, 0],
    "offset beyond limit",
  );
  cpu.memory.write8(GDT + 0x48 + 5, 0x1a); // not present
  assert.deepEqual(
    fault(cpu, () => farJump(cpu, 0x48, 0, true)),
    [Vector.NP, 0x48],
  );
  // Real mode.
  const r = makeCpu().cpu;
  r.cr0 = CR0.ET;
  r.segLimit[CS] = 0xffff;
  farJump(r, 0xf000, 0xe05b, false);
  assert.equal(r.segBase[CS], 0xf0000);
  assert.equal(r.eip, 0xe05b);
});

test("far CALL through a 32-bit call gate from ring 3 to ring 0 with parameters, RETF back", () => {
  const cpu = pm();
  cpu.memory.write32(TSS + 4, 0x9000);
  cpu.memory.write32(TSS + 8, 0x10);
  writeDesc(cpu, GDT + 0x48, gateDesc(0x08, 0xc000_1000, 0xc, 3, 2));
  toRing3(cpu);
  cpu.segSel[DS] = 0x23;
  cpu.segAccess[DS] = 0xc0f3;
  cpu.regs[ESP] = 0x7000 - 8;
  cpu.memory.write32(0x7000 - 8, 0x1111); // param 0
  cpu.memory.write32(0x7000 - 4, 0x2222); // param 1
  farCall(cpu, 0x4b, 0, true, 0x400123);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[CS], 0x08);
  assert.equal(cpu.segSel[SS], 0x10);
  assert.equal(cpu.eip >>> 0, 0xc000_1000);
  assert.equal(cpu.regs[ESP], 0x9000 - 24);
  const words = [0, 1, 2, 3, 4, 5].map((i) => cpu.memory.read32(0x9000 - 24 + i * 4) >>> 0);
  assert.deepEqual(words, [0x400123, 0x1b, 0x1111, 0x2222, 0x7000 - 8, 0x23]);
  // RETF 8 to ring 3: pops the parameters on both stacks.
  cpu.segSel[ES] = 0x10;
  cpu.segAccess[ES] = 0xc093;
  farReturn(cpu, true, 8);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[CS], 0x1b);
  assert.equal(cpu.segSel[SS], 0x23);
  assert.equal(cpu.regs[ESP], 0x7000);
  assert.equal(cpu.eip, 0x400123);
  assert.equal(cpu.segSel[ES], 0, "ES (DPL 0) nulled");
  assert.equal(cpu.segSel[DS], 0x23, "DS (DPL 3) kept");
});

test("call gate checks: gate DPL, not present gate", () => {
  const cpu = pm();
  writeDesc(cpu, GDT + 0x48, gateDesc(0x08, 0x1000, 0xc, 0));
  toRing3(cpu);
  assert.deepEqual(
    fault(cpu, () => farCall(cpu, 0x4b, 0, true, 0)),
    [Vector.GP, 0x48],
  );
  cpu.memory.write8(GDT + 0x48 + 5, 0x6c); // DPL 3, P = 0
  assert.deepEqual(
    fault(cpu, () => farCall(cpu, 0x4b, 0, true, 0)),
    [Vector.NP, 0x48],
  );
  assert.equal(cpu.cpl, 3);
});

test("far CALL/RETF at the same privilege level (16-bit operand)", () => {
  const cpu = pm();
  cpu.segSel[CS] = 0x08;
  farCall(cpu, 0x08, 0x2000, false, 0x1234);
  assert.equal(cpu.regs[ESP], 0x7000 - 4);
  assert.equal(cpu.memory.read16(0x7000 - 2), 0x08);
  assert.equal(cpu.memory.read16(0x7000 - 4), 0x1234);
  assert.equal(cpu.eip, 0x2000);
  farReturn(cpu, false, 0);
  assert.equal(cpu.eip, 0x1234);
  assert.equal(cpu.regs[ESP], 0x7000);
  // RETF to a more privileged ring: #GP(selector).
  toRing3(cpu);
  cpu.regs[ESP] = 0x7000 - 8;
  cpu.memory.write32(0x7000 - 8, 0x10);
  cpu.memory.write32(0x7000 - 4, 0x08);
  assert.deepEqual(
    fault(cpu, () => farReturn(cpu, true, 0)),
    [Vector.GP, 0x08],
  );
});
