import assert from "node:assert/strict";
import { test } from "node:test";
import { type Cpu, CR0, CR4, CS, DS, EAX, ECX, EDX, ESP, Flag, SS } from "../src/cpu/cpu.js";
import { Vector } from "../src/cpu/fault.js";
import {
  arpl,
  CPU_SIGNATURE,
  checkIoPermission,
  clts,
  execGroup6,
  execGroup7,
  execLarLsl,
  movFromCr,
  movFromDr,
  movToCr,
  movToDr,
  rdmsr,
  resetCpu,
  sysenter,
  sysexit,
  wrmsr,
} from "../src/cpu/system/index.js";
import { CPUID_SIGNATURE } from "../src/vmm/cpuid.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
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

function pm() {
  const env = makeCpu();
  setupProtected(env.cpu);
  env.cpu.regs[ESP] = 0x7000;
  return env;
}
function ring3(cpu: Cpu): void {
  cpu.segSel[CS] = 0x1b;
  cpu.segAccess[CS] = 0xc0fb;
  cpu.cpl = 3;
}
const zf = (cpu: Cpu): boolean => (cpu.getEflags() & Flag.ZF) !== 0;
/** ModRM with mod = 3. */
const reg = (r: number, rm: number): number => 0xc0 | (r << 3) | rm;
/** ModRM with mod = 0, rm = 5 (disp32). */
const mem = (r: number): number => (r << 3) | 5;

test("resetCpu: power-on state of Table 9-1", () => {
  const { cpu, mmu } = makeCpu();
  cpu.cr0 = CR0.PE | CR0.PG;
  cpu.shutdown = true;
  cpu.halted = true;
  cpu.regs[EAX] = 5;
  fault(cpu, () => mmu.translate(0, 0, false)); // PG set, tables zero: #PF
  resetCpu(cpu);
  assert.equal(cpu.segSel[CS], 0xf000);
  assert.equal(cpu.segBase[CS]! >>> 0, 0xffff_0000);
  assert.equal(cpu.segLimit[CS], 0xffff);
  assert.equal(cpu.eip, 0xfff0);
  assert.equal(cpu.segAccess[DS], 0x93);
  assert.equal(cpu.segLimit[SS], 0xffff);
  assert.equal(cpu.regs[EDX], CPU_SIGNATURE);
  assert.equal(CPU_SIGNATURE, CPUID_SIGNATURE, "EDX after reset = CPUID.1:EAX");
  assert.equal(cpu.regs[EAX], 0);
  assert.equal(cpu.cr0 >>> 0, 0x6000_0010);
  assert.equal(cpu.getEflags(), 2);
  assert.equal(cpu.idtrLimit, 0xffff);
  assert.equal(cpu.gdtrLimit, 0xffff);
  assert.equal(cpu.dr[6]! >>> 0, 0xffff_0ff0);
  assert.equal(cpu.dr[7], 0x400);
  assert.equal(cpu.shutdown, false);
  assert.equal(cpu.halted, false);
  assert.equal(cpu.cpl, 0);
});

test("LGDT/LIDT (16-bit operand masks the base to 24 bits), SGDT/SIDT", () => {
  const { cpu } = pm();
  cpu.memory.write16(0x500, 0x27);
  cpu.memory.write32(0x502, 0x1234_5678);
  execGroup7(cpu, mem(2), DS, 0x500, true);
  assert.equal(cpu.gdtrBase, 0x1234_5678);
  assert.equal(cpu.gdtrLimit, 0x27);
  execGroup7(cpu, mem(3), DS, 0x500, false);
  assert.equal(cpu.idtrBase, 0x34_5678);
  execGroup7(cpu, mem(0), DS, 0x600, true);
  assert.equal(cpu.memory.read16(0x600), 0x27);
  assert.equal(cpu.memory.read32(0x602), 0x1234_5678);
  execGroup7(cpu, mem(1), DS, 0x610, true);
  assert.equal(cpu.memory.read32(0x612), 0x34_5678);
  ring3(cpu);
  assert.deepEqual(
    fault(cpu, () => execGroup7(cpu, mem(2), DS, 0x500, true)),
    [Vector.GP, 0],
  );
  execGroup7(cpu, mem(0), DS, 0x620, true); // SGDT is not privileged
  assert.deepEqual(
    fault(cpu, () => execGroup7(cpu, reg(2, 0), DS, 0, true)),
    [Vector.UD, -1],
  );
});

test("LTR marks the TSS busy; LTR of a busy TSS is #GP; STR", () => {
  const { cpu } = pm();
  writeDesc(cpu, GDT + 0x48, segDesc(TSS, 0x67, 0x89, 0));
  cpu.regs[EAX] = 0x48;
  execGroup6(cpu, reg(3, EAX), DS, 0, true);
  assert.equal(cpu.trSel, 0x48);
  assert.equal(cpu.trBase, TSS);
  assert.equal(cpu.trLimit, 0x67);
  assert.equal(cpu.trAccess & 0x1f, 0xb);
  assert.equal(cpu.memory.read8(GDT + 0x48 + 5), 0x8b, "busy in the GDT");
  assert.deepEqual(
    fault(cpu, () => execGroup6(cpu, reg(3, EAX), DS, 0, true)),
    [Vector.GP, 0x48],
  );
  cpu.regs[EAX] = 0;
  assert.deepEqual(
    fault(cpu, () => execGroup6(cpu, reg(3, EAX), DS, 0, true)),
    [Vector.GP, 0],
  );
  cpu.regs[ECX] = -1;
  execGroup6(cpu, reg(1, ECX), DS, 0, true);
  assert.equal(cpu.regs[ECX], 0x48, "STR r32 zero-extends");
  // Real mode: #UD.
  cpu.cr0 = CR0.ET;
  assert.deepEqual(
    fault(cpu, () => execGroup6(cpu, reg(1, ECX), DS, 0, true)),
    [Vector.UD, -1],
  );
});

test("LLDT loads LDTR; null makes it invalid; non-LDT descriptor #GP", () => {
  const { cpu } = pm();
  cpu.regs[EAX] = 0x50;
  execGroup6(cpu, reg(2, EAX), DS, 0, true);
  assert.equal(cpu.ldtrBase, LDT);
  assert.equal(cpu.ldtrLimit, 0x7f);
  cpu.regs[EAX] = 0x10;
  assert.deepEqual(
    fault(cpu, () => execGroup6(cpu, reg(2, EAX), DS, 0, true)),
    [Vector.GP, 0x10],
  );
  cpu.regs[EAX] = 0x54; // TI set
  assert.deepEqual(
    fault(cpu, () => execGroup6(cpu, reg(2, EAX), DS, 0, true)),
    [Vector.GP, 0x54],
  );
  cpu.regs[EAX] = 0;
  execGroup6(cpu, reg(2, EAX), DS, 0, true);
  assert.equal(cpu.ldtrSel, 0);
});

test("LAR/LSL/VERR/VERW", () => {
  const { cpu } = pm();
  cpu.regs[EAX] = 0x7777;
  execLarLsl(cpu, false, 0x1b, EAX, true);
  assert.ok(zf(cpu));
  assert.equal(cpu.regs[EAX], 0x00c0_fa00);
  execLarLsl(cpu, true, 0x28, ECX, true);
  assert.ok(zf(cpu));
  assert.equal(cpu.regs[ECX], 0x2067);
  execLarLsl(cpu, true, 0x10, ECX, true);
  assert.equal(cpu.regs[ECX], -1);
  // A call gate: valid for LAR, not for LSL.
  writeDesc(cpu, GDT + 0x48, gateDesc(0x08, 0, 0xc, 0));
  execLarLsl(cpu, false, 0x48, EDX, true);
  assert.ok(zf(cpu));
  cpu.regs[EDX] = 0x5555;
  execLarLsl(cpu, true, 0x48, EDX, true);
  assert.ok(!zf(cpu));
  assert.equal(cpu.regs[EDX], 0x5555, "destination untouched on failure");
  // Interrupt gate: invalid for both. Null and out-of-limit: ZF = 0.
  writeDesc(cpu, GDT + 0x48, gateDesc(0x08, 0, 0xe, 0));
  execLarLsl(cpu, false, 0x48, EDX, true);
  assert.ok(!zf(cpu));
  execLarLsl(cpu, false, 0x3f8, EDX, true);
  assert.ok(!zf(cpu));
  // Privilege: DPL 0 from ring 3 fails.
  ring3(cpu);
  execLarLsl(cpu, false, 0x10, EDX, true);
  assert.ok(!zf(cpu));
  cpu.regs[EAX] = 0x23;
  execGroup6(cpu, reg(4, EAX), DS, 0, true); // VERR
  assert.ok(zf(cpu));
  cpu.regs[EAX] = 0x1b;
  execGroup6(cpu, reg(5, EAX), DS, 0, true); // VERW code
  assert.ok(!zf(cpu));
  execGroup6(cpu, reg(4, EAX), DS, 0, true); // VERR readable code
  assert.ok(zf(cpu));
  cpu.regs[EAX] = 0x10;
  execGroup6(cpu, reg(4, EAX), DS, 0, true);
  assert.ok(!zf(cpu));
});

test("ARPL", () => {
  const { cpu } = pm();
  assert.equal(arpl(cpu, 0x10, 0x23), 0x13);
  assert.ok(zf(cpu));
  assert.equal(arpl(cpu, 0x13, 0x20), 0x13);
  assert.ok(!zf(cpu));
  cpu.cr0 = CR0.ET;
  assert.deepEqual(
    fault(cpu, () => arpl(cpu, 0, 0)),
    [Vector.UD, -1],
  );
});

test("MOV CR: privilege, invalid combinations, TLB flushes, CR_ACCESS exits", () => {
  const { cpu, handler, mmu } = pm();
  movToCr(cpu, 3, 0x20fff);
  assert.equal(cpu.cr3, 0x20018);
  assert.deepEqual(handler.exits.at(-1), {
    reason: ExitReason.CR_ACCESS,
    address: 3,
    value: 0x20018,
    valueHigh: 0,
    write: true,
  });
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 0, CR0.PG | CR0.ET)),
    [Vector.GP, 0],
    "PG without PE",
  );
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 0, CR0.PE | CR0.NW)),
    [Vector.GP, 0],
    "NW without CD",
  );
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 4, CR4.PAE)),
    [Vector.GP, 0],
    "no PAE",
  );
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 4, 1 << 13)),
    [Vector.GP, 0],
    "reserved CR4 bit",
  );
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 1, 0)),
    [Vector.UD, -1],
  );
  movToCr(cpu, 4, CR4.PSE | CR4.PGE);
  assert.equal(cpu.cr4, CR4.PSE | CR4.PGE);
  // Flushes: count them.
  const before = mmu.flushes;
  movToCr(cpu, 3, 0x20000);
  movToCr(cpu, 0, cpu.cr0 | CR0.WP);
  movToCr(cpu, 0, cpu.cr0 | CR0.MP); // no flush
  movToCr(cpu, 4, CR4.PSE);
  assert.equal(mmu.flushes - before, 3);
  assert.equal(movFromCr(cpu, 0) >>> 0, (CR0.PE | CR0.ET | CR0.WP | CR0.MP) >>> 0);
  assert.equal(handler.exits.at(-1)!.write, false);
  handler.onExit = (x) => {
    x.value = 0x1234;
  };
  assert.equal(movFromCr(cpu, 2), 0x1234, "the monitor may supply the value read");
  handler.onExit = () => {};
  // CLTS
  cpu.cr0 |= CR0.TS;
  clts(cpu);
  assert.equal(cpu.cr0 & CR0.TS, 0);
  // LMSW cannot clear PE; SMSW.
  cpu.regs[EAX] = 0xe;
  execGroup7(cpu, reg(6, EAX), DS, 0, true);
  assert.equal(cpu.cr0 & 0xf, 0xf);
  execGroup7(cpu, reg(4, ECX), DS, 0, false);
  assert.equal(cpu.regs[ECX]! & 0xffff, cpu.cr0 & 0xffff);
  // Ring 3: #GP(0).
  ring3(cpu);
  assert.deepEqual(
    fault(cpu, () => movToCr(cpu, 3, 0)),
    [Vector.GP, 0],
  );
  assert.deepEqual(
    fault(cpu, () => movFromCr(cpu, 0)),
    [Vector.GP, 0],
  );
  assert.deepEqual(
    fault(cpu, () => clts(cpu)),
    [Vector.GP, 0],
  );
});

test("INVLPG: TLB entry dropped and INVLPG exit with the linear address", () => {
  const { cpu, handler, mmu } = pm();
  const PD = 0x20000;
  const PT = 0x21000;
  cpu.memory.write32(PD, PT | 3);
  cpu.memory.write32(PT + 5 * 4, 0x9000 | 3);
  cpu.cr3 = PD;
  cpu.cr0 |= CR0.PG;
  assert.equal(mmu.translate(0x5004, 0, false), 0x9004);
  cpu.memory.write32(PT + 5 * 4, 0xa000 | 3);
  cpu.segBase[DS] = 0x1000;
  execGroup7(cpu, mem(7), DS, 0x4123, true);
  assert.equal(mmu.translate(0x5004, 0, false), 0xa004);
  assert.equal(handler.exits.at(-1)!.reason, ExitReason.INVLPG);
  assert.equal(handler.exits.at(-1)!.address, 0x5123);
});

test("MOV DR: DR4/5 alias, CR4.DE, fixed bits, GD", () => {
  const { cpu } = pm();
  movToDr(cpu, 0, 0x1234);
  assert.equal(movFromDr(cpu, 0), 0x1234);
  movToDr(cpu, 6, 0);
  assert.equal(movFromDr(cpu, 4) >>> 0, 0xffff_0ff0);
  movToDr(cpu, 5, 0);
  assert.equal(movFromDr(cpu, 7), 0x400);
  cpu.cr4 = CR4.DE;
  assert.deepEqual(
    fault(cpu, () => movFromDr(cpu, 4)),
    [Vector.UD, -1],
  );
  movToDr(cpu, 7, 0x2000);
  assert.deepEqual(
    fault(cpu, () => movFromDr(cpu, 0)),
    [Vector.DB, -1],
  );
  assert.equal(cpu.dr[6]! & 0x2000, 0x2000, "DR6.BD");
  assert.equal(cpu.dr[7]! & 0x2000, 0, "GD cleared");
});

test("RDMSR/WRMSR: CPU-owned MSRs, monitor-answered MSRs, #GP for unknown", () => {
  const { cpu, handler } = pm();
  cpu.regs[ECX] = 0x174;
  cpu.regs[EAX] = 0x60;
  cpu.regs[EDX] = 0;
  wrmsr(cpu);
  assert.equal(cpu.sysenterCs, 0x60);
  assert.equal(handler.exits.at(-1)!.reason, ExitReason.MSR_WRITE);
  assert.equal(handler.exits.at(-1)!.address, 0x174);
  cpu.regs[EAX] = 0;
  rdmsr(cpu);
  assert.equal(cpu.regs[EAX], 0x60);
  // TSC: write, then read back (time base does not move in this test).
  cpu.regs[ECX] = 0x10;
  cpu.regs[EAX] = 0x100;
  cpu.regs[EDX] = 2;
  wrmsr(cpu);
  cpu.regs[EAX] = 0;
  cpu.regs[EDX] = 0;
  rdmsr(cpu);
  assert.equal(cpu.regs[EAX], 0x100);
  assert.equal(cpu.regs[EDX], 2);
  // Monitor-owned.
  handler.onExit = (x) => {
    if (x.address === 0x1a0) {
      x.value = 0x11;
      x.valueHigh = 0x22;
    } else x.fault = true;
  };
  cpu.regs[ECX] = 0x1a0;
  rdmsr(cpu);
  assert.equal(cpu.regs[EAX], 0x11);
  assert.equal(cpu.regs[EDX], 0x22);
  cpu.regs[ECX] = 0x9999;
  assert.deepEqual(
    fault(cpu, () => rdmsr(cpu)),
    [Vector.GP, 0],
  );
  assert.deepEqual(
    fault(cpu, () => wrmsr(cpu)),
    [Vector.GP, 0],
  );
  ring3(cpu);
  assert.deepEqual(
    fault(cpu, () => rdmsr(cpu)),
    [Vector.GP, 0],
  );
});

test("SYSENTER/SYSEXIT", () => {
  const { cpu } = pm();
  ring3(cpu);
  cpu.setEflags(Flag.FIXED1 | Flag.IF);
  assert.deepEqual(
    fault(cpu, () => sysenter(cpu)),
    [Vector.GP, 0],
    "SYSENTER_CS = 0",
  );
  cpu.sysenterCs = 0x08;
  cpu.sysenterEsp = 0x9000;
  cpu.sysenterEip = 0xc000_0000 | 0;
  sysenter(cpu);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[CS], 0x08);
  assert.equal(cpu.segSel[SS], 0x10);
  assert.equal(cpu.segAccess[CS], 0xc09b);
  assert.equal(cpu.segLimit[SS], -1);
  assert.equal(cpu.regs[ESP], 0x9000);
  assert.equal(cpu.eip >>> 0, 0xc000_0000);
  assert.equal(cpu.getEflags() & Flag.IF, 0);
  cpu.regs[ECX] = 0x7000;
  cpu.regs[EDX] = 0x400000;
  sysexit(cpu);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[CS], 0x1b);
  assert.equal(cpu.segSel[SS], 0x23);
  assert.equal(cpu.segAccess[SS], 0xc0f3);
  assert.equal(cpu.regs[ESP], 0x7000);
  assert.equal(cpu.eip, 0x400000);
  assert.deepEqual(
    fault(cpu, () => sysexit(cpu)),
    [Vector.GP, 0],
    "SYSEXIT at ring 3",
  );
});

test("I/O permission bitmap", () => {
  const { cpu } = pm();
  ring3(cpu);
  cpu.setEflags(Flag.FIXED1);
  const bitmap = TSS + 0x68;
  cpu.memory.write8(bitmap + (0x3f8 >>> 3), 0xfe); // only port 0x3f8 allowed in 0x3f8..0x3ff
  checkIoPermission(cpu, 0x3f8, 1);
  assert.deepEqual(
    fault(cpu, () => checkIoPermission(cpu, 0x3f8, 2)),
    [Vector.GP, 0],
  );
  assert.deepEqual(
    fault(cpu, () => checkIoPermission(cpu, 0x3f9, 1)),
    [Vector.GP, 0],
  );
  // An access spanning two bitmap bytes checks both.
  cpu.memory.write8(bitmap + (0x80 >>> 3), 0);
  cpu.memory.write8(bitmap + (0x80 >>> 3) - 1, 0x7f);
  checkIoPermission(cpu, 0x7f, 2);
  cpu.memory.write8(bitmap + (0x80 >>> 3), 1);
  assert.deepEqual(
    fault(cpu, () => checkIoPermission(cpu, 0x7f, 2)),
    [Vector.GP, 0],
  );
  // Bitmap beyond the TSS limit.
  cpu.trLimit = 0x67;
  assert.deepEqual(
    fault(cpu, () => checkIoPermission(cpu, 0x3f8, 1)),
    [Vector.GP, 0],
  );
  // IOPL 3: no check.
  cpu.setEflags(Flag.FIXED1 | Flag.IOPL);
  checkIoPermission(cpu, 0x3f9, 1);
});
