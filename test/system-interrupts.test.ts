import assert from "node:assert/strict";
import { test } from "node:test";
import { type Cpu, CR0, CS, DS, ES, ESP, Flag, SS } from "../src/cpu/cpu.js";
import { Vector } from "../src/cpu/fault.js";
import {
  deliverException,
  deliverExternalInterrupt,
  iret,
  softwareInterrupt,
} from "../src/cpu/system/index.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
import { fault, gateDesc, IDT, makeCpu, setupProtected, TSS, writeDesc } from "./system-fixture.js";

const INT32 = 0xe;
const TRAP32 = 0xf;
const INT16 = 0x6;
const RING0_STACK = 0x9000;
const RING3_STACK = 0x8000;

function setGate(cpu: Cpu, vector: number, offset: number, type = INT32, dpl = 0, selector = 0x08): void {
  writeDesc(cpu, IDT + vector * 8, gateDesc(selector, offset, type, dpl));
}

/** A protected-mode CPU running at ring 3 with IF=1, TSS.SS0:ESP0 = 0x10:0x9000. */
function ring3(): ReturnType<typeof makeCpu> {
  const env = makeCpu();
  const { cpu } = env;
  setupProtected(cpu);
  cpu.memory.write32(TSS + 4, RING0_STACK);
  cpu.memory.write32(TSS + 8, 0x10);
  for (let v = 0; v < 32; v++) setGate(cpu, v, 0x1000_0000 + v * 0x100);
  cpu.segSel[CS] = 0x1b;
  cpu.segAccess[CS] = 0xc0fb;
  for (const s of [ES, SS, DS, 4, 5]) {
    cpu.segSel[s] = 0x23;
    cpu.segAccess[s] = 0xc0f3;
  }
  cpu.cpl = 3;
  cpu.regs[ESP] = RING3_STACK;
  cpu.eip = 0x400500;
  cpu.setEflags(Flag.FIXED1 | Flag.IF | Flag.CF);
  return env;
}

function stack(cpu: Cpu, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(cpu.memory.read32((cpu.regs[ESP]! >>> 0) + i * 4) >>> 0);
  return out;
}

test("INT n through a 32-bit interrupt gate from ring 3: TSS stack switch and frame", () => {
  const { cpu } = ring3();
  setGate(cpu, 0x80, 0xc010_0000, INT32, 3);
  cpu.halted = true;
  softwareInterrupt(cpu, 0x80, 0x400502, 0);
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.segSel[CS], 0x08);
  assert.equal(cpu.segSel[SS], 0x10);
  assert.equal(cpu.eip >>> 0, 0xc010_0000);
  assert.equal(cpu.regs[ESP], RING0_STACK - 20);
  // EIP CS EFLAGS ESP SS, from the lowest address.
  assert.deepEqual(stack(cpu, 5), [0x400502, 0x1b, Flag.FIXED1 | Flag.IF | Flag.CF, RING3_STACK, 0x23]);
  assert.equal(cpu.getEflags() & Flag.IF, 0, "interrupt gate clears IF");
  assert.equal(cpu.halted, false);
  // Accessed bits of the new CS and SS descriptors were set.
  assert.equal(cpu.memory.read32(0x1000 + 0x08 + 4) & 0x100, 0x100);
  assert.equal(cpu.memory.read32(0x1000 + 0x10 + 4) & 0x100, 0x100);
});

test("IRET back to ring 3 restores SS:ESP, EFLAGS and nulls ring-0 data segments", () => {
  const { cpu } = ring3();
  setGate(cpu, 0x80, 0xc010_0000, TRAP32, 3);
  softwareInterrupt(cpu, 0x80, 0x400502, 0);
  assert.equal(cpu.getEflags() & Flag.IF, Flag.IF, "trap gate keeps IF");
  // The handler loads kernel data into DS and ES, keeps FS = user data.
  cpu.segSel[DS] = 0x10;
  cpu.segAccess[DS] = 0xc093;
  cpu.segSel[ES] = 0x10;
  cpu.segAccess[ES] = 0xc093;
  cpu.setEflags(Flag.FIXED1);
  iret(cpu, true);
  assert.equal(cpu.cpl, 3);
  assert.equal(cpu.segSel[CS], 0x1b);
  assert.equal(cpu.segSel[SS], 0x23);
  assert.equal(cpu.regs[ESP], RING3_STACK);
  assert.equal(cpu.eip, 0x400502);
  assert.equal(cpu.getEflags(), Flag.FIXED1 | Flag.IF | Flag.CF);
  assert.equal(cpu.segSel[DS], 0);
  assert.equal(cpu.segAccess[DS]! & 0x80, 0, "DS nulled");
  assert.equal(cpu.segSel[ES], 0);
  assert.equal(cpu.segSel[4], 0x23, "FS (DPL 3) kept");
});

test("IRET at ring 3 cannot change IOPL or IF (IOPL 0); at ring 0 it can", () => {
  const { cpu } = ring3();
  cpu.regs[ESP] = 0x7000 - 12;
  cpu.memory.write32(0x7000 - 12, 0x400600);
  cpu.memory.write32(0x7000 - 8, 0x1b);
  cpu.memory.write32(0x7000 - 4, Flag.FIXED1 | Flag.IOPL | Flag.ZF);
  iret(cpu, true);
  assert.equal(cpu.getEflags(), Flag.FIXED1 | Flag.IF | Flag.ZF);
  // NT=1 would be a task return: not supported, #GP(0).
  cpu.setEflags(cpu.getEflags() | Flag.NT);
  assert.deepEqual(
    fault(cpu, () => iret(cpu, true)),
    [Vector.GP, 0],
  );
});

test("exception with an error code from ring 3 pushes SS ESP EFLAGS CS EIP ERR", () => {
  const { cpu } = ring3();
  cpu.faultVector = Vector.GP;
  cpu.faultErrorCode = 0x1234;
  cpu.faultHasErrorCode = true;
  deliverException(cpu);
  assert.equal(cpu.eip >>> 0, 0x1000_0000 + 13 * 0x100);
  assert.equal(cpu.regs[ESP], RING0_STACK - 24);
  assert.deepEqual(stack(cpu, 6), [
    0x1234,
    0x400500,
    0x1b,
    Flag.FIXED1 | Flag.IF | Flag.CF,
    RING3_STACK,
    0x23,
  ]);
});

test("same-privilege delivery at ring 0 through a 16-bit gate pushes 16-bit FLAGS CS IP", () => {
  const { cpu } = makeCpu();
  setupProtected(cpu);
  cpu.regs[ESP] = 0x7000;
  cpu.eip = 0x1234;
  cpu.setEflags(Flag.FIXED1 | Flag.IF | Flag.TF);
  setGate(cpu, 0x30, 0x5678, INT16);
  deliverExternalInterrupt(cpu, 0x30);
  assert.equal(cpu.regs[ESP], 0x7000 - 6);
  assert.equal(cpu.memory.read16(0x7000 - 6), 0x1234);
  assert.equal(cpu.memory.read16(0x7000 - 4), 0x08);
  assert.equal(cpu.memory.read16(0x7000 - 2), Flag.FIXED1 | Flag.IF | Flag.TF);
  assert.equal(cpu.eip, 0x5678);
  assert.equal(cpu.getEflags() & (Flag.IF | Flag.TF), 0);
});

test("software INT checks the gate DPL: #GP(vector*8+2)", () => {
  const { cpu } = ring3();
  setGate(cpu, 0x81, 0x1000, INT32, 0);
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x81, 0x400502, 0)),
    [Vector.GP, 0x81 * 8 + 2],
  );
  assert.equal(cpu.cpl, 3, "nothing committed");
  assert.equal(cpu.segSel[SS], 0x23);
  // INTO with OF = 0 does nothing.
  softwareInterrupt(cpu, 4, 0x400501, 2);
  assert.equal(cpu.eip, 0x400501);
  assert.equal(cpu.cpl, 3);
});

test("IDT limit and not-present gates; EXT set for exceptions and external interrupts", () => {
  const { cpu } = ring3();
  // #UD beyond the IDT limit -> #GP(6*8+2+1), delivered through the #GP gate.
  cpu.idtrLimit = 14 * 8 - 1;
  cpu.memory.write32(IDT + 6 * 8 + 4, 0); // also make 6 not present (limit hits first)
  cpu.idtrLimit = 6 * 8 + 6;
  setGate(cpu, 13, 0xd000);
  cpu.idtrLimit = 14 * 8 - 1;
  cpu.faultVector = 20; // a vector beyond the limit
  cpu.faultHasErrorCode = false;
  deliverException(cpu);
  assert.equal(cpu.eip, 0xd000);
  assert.equal(stack(cpu, 1)[0], 20 * 8 + 2 + 1);

  // External interrupt through a not-present gate -> #NP(vector*8+2+1).
  const b = ring3().cpu;
  b.memory.write32(IDT + 0x40 * 8, 0);
  b.memory.write32(IDT + 0x40 * 8 + 4, 0x0e00); // 32-bit interrupt gate, P=0
  deliverExternalInterrupt(b, 0x40);
  assert.equal(b.eip >>> 0, 0x1000_0000 + 11 * 0x100);
  assert.equal(stack(b, 2)[0], 0x40 * 8 + 2 + 1);
  assert.equal(stack(b, 2)[1], 0x400500, "return address is the interrupted instruction");

  // Software INT through a not-present gate: #NP(vector*8+2), EXT = 0.
  const c = ring3().cpu;
  writeDesc(c, IDT + 0x80 * 8, gateDesc(0x08, 0x1000, INT32, 3));
  c.memory.write8(IDT + 0x80 * 8 + 5, 0x6e); // P=0, DPL 3
  assert.deepEqual(
    fault(c, () => softwareInterrupt(c, 0x80, 0x400502, 0)),
    [Vector.NP, 0x80 * 8 + 2],
  );
});

test("bad code selector in a gate: #GP(selector+EXT)", () => {
  const { cpu } = ring3();
  setGate(cpu, 0x22, 0x1000, INT32, 3, 0x10); // data segment as target
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x22, 0, 0)),
    [Vector.GP, 0x10],
  );
  setGate(cpu, 0x23, 0x1000, INT32, 3, 0x1f8); // beyond the GDT limit
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x23, 0, 0)),
    [Vector.GP, 0x1f8],
  );
  setGate(cpu, 0x24, 0x1000, INT32, 3, 0x00);
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x24, 0, 0)),
    [Vector.GP, 0],
  );
  // A bad TSS stack: SS0 = null -> #TS(EXT) for an exception.
  cpu.memory.write32(TSS + 8, 0);
  setGate(cpu, 0x25, 0x1000, INT32, 3);
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x25, 0, 0)),
    [Vector.TS, 0],
  );
  cpu.memory.write32(TSS + 8, 0x23); // ring-3 stack for ring 0
  assert.deepEqual(
    fault(cpu, () => softwareInterrupt(cpu, 0x25, 0, 0)),
    [Vector.TS, 0x20],
  );
});

test("contributory fault while delivering a contributory one: #DF with error code 0", () => {
  const { cpu } = ring3();
  cpu.memory.write8(IDT + 13 * 8 + 5, 0x0e); // #GP gate not present -> #NP(13*8+3)
  deliverFault(cpu, Vector.GP, 0x88);
  assert.equal(cpu.eip >>> 0, 0x1000_0000 + 8 * 0x100, "in the #DF handler");
  assert.deepEqual(stack(cpu, 3), [0, 0x400500, 0x1b]);
  assert.equal(cpu.shutdown, false);
});

test("benign then contributory: handled serially (no #DF)", () => {
  const { cpu } = ring3();
  cpu.memory.write8(IDT + 6 * 8 + 5, 0x0e); // #UD gate not present
  deliverFault(cpu, Vector.UD, -1);
  assert.equal(cpu.eip >>> 0, 0x1000_0000 + 11 * 0x100, "#NP handler");
  assert.equal(stack(cpu, 1)[0], 6 * 8 + 2 + 1);
});

test("fault while delivering #DF: TRIPLE_FAULT exit and shutdown", () => {
  const { cpu, handler } = ring3();
  cpu.memory.write8(IDT + 13 * 8 + 5, 0x0e);
  cpu.memory.write8(IDT + 8 * 8 + 5, 0x0e);
  deliverFault(cpu, Vector.GP, 0);
  assert.equal(cpu.shutdown, true);
  assert.deepEqual(handler.reasons(), [ExitReason.TRIPLE_FAULT]);
  assert.equal(cpu.cpl, 3, "state untouched");
  // Further events are ignored while shut down.
  deliverExternalInterrupt(cpu, 0x20);
  assert.equal(handler.exits.length, 1);
});

test("#PF during #PF delivery (ring-0 stack not mapped): #DF, then triple fault", () => {
  const { cpu, handler } = ring3();
  const PD = 0x20000;
  const PT = 0x21000;
  cpu.memory.write32(PD, PT | 7);
  for (let i = 0; i < 1024; i++) cpu.memory.write32(PT + i * 4, (i << 12) | 7);
  cpu.memory.write32(PT + 8 * 4, 0); // page 0x8000..0x8fff (ring-0 stack below 0x9000) not present
  cpu.cr3 = PD;
  cpu.cr0 |= CR0.PG;
  cpu.cr2 = 0x4000_0000;
  deliverFault(cpu, Vector.PF, 6);
  assert.equal(cpu.shutdown, true);
  assert.equal(cpu.cr2 >>> 0, 0x8ffc, "CR2 of the last #PF");
  assert.deepEqual(handler.reasons(), [ExitReason.TRIPLE_FAULT]);
});

test("exception bitmap: EXCEPTION_NMI exit before delivery, and suppression", () => {
  const { cpu, handler } = ring3();
  cpu.exceptionBitmap = 1 << Vector.PF;
  cpu.cr2 = 0xdead_b000 | 0;
  deliverFault(cpu, Vector.PF, 7);
  assert.equal(handler.exits.length, 1);
  const x = handler.exits[0]!;
  assert.equal(x.reason, ExitReason.EXCEPTION_NMI);
  assert.equal(x.address, Vector.PF);
  assert.equal(x.valueHigh, 7);
  assert.equal(x.value >>> 0, 0xdead_b000);
  assert.equal(cpu.cpl, 0, "delivered after the exit");

  const b = ring3();
  b.cpu.exceptionBitmap = 1 << Vector.PF;
  b.handler.onExit = () => {
    b.cpu.suppressException = true;
  };
  deliverFault(b.cpu, Vector.PF, 4);
  assert.equal(b.cpu.cpl, 3, "suppressed: not delivered");
  assert.equal(b.cpu.suppressException, false);
  // INT3 goes through the bitmap, INT n does not.
  b.cpu.exceptionBitmap = (1 << Vector.BP) | (1 << Vector.GP);
  setGate(b.cpu, 3, 0x3333, INT32, 3);
  b.handler.onExit = () => {};
  softwareInterrupt(b.cpu, 3, 0x400501, 1);
  assert.equal(b.handler.exits.at(-1)!.address, 3);
  assert.equal(b.cpu.eip, 0x3333);
});

test("real mode: IVT delivery pushes FLAGS CS IP, clears IF TF AC; IRET returns", () => {
  const { cpu } = makeCpu();
  cpu.cr0 = CR0.ET;
  cpu.idtrBase = 0;
  cpu.idtrLimit = 0x3ff;
  for (let s = 0; s < 6; s++) {
    cpu.segLimit[s] = 0xffff;
    cpu.segAccess[s] = 0x93;
  }
  cpu.segSel[CS] = 0x1000;
  cpu.segBase[CS] = 0x10000;
  cpu.segSel[SS] = 0x2000;
  cpu.segBase[SS] = 0x20000;
  cpu.regs[ESP] = 0x100;
  cpu.eip = 0x50;
  cpu.memory.write16(0x21 * 4, 0x1234);
  cpu.memory.write16(0x21 * 4 + 2, 0xf000);
  const flags = Flag.FIXED1 | Flag.IF | Flag.TF | Flag.AC | Flag.ZF;
  cpu.setEflags(flags);
  softwareInterrupt(cpu, 0x21, 0x52, 0);
  assert.equal(cpu.segSel[CS], 0xf000);
  assert.equal(cpu.segBase[CS], 0xf0000);
  assert.equal(cpu.eip, 0x1234);
  assert.equal(cpu.regs[ESP], 0xfa);
  assert.equal(cpu.memory.read16(0x200fa), 0x52);
  assert.equal(cpu.memory.read16(0x200fc), 0x1000);
  assert.equal(cpu.memory.read16(0x200fe), flags & 0xffff);
  assert.equal(cpu.getEflags(), Flag.FIXED1 | Flag.ZF);
  iret(cpu, false);
  assert.equal(cpu.segSel[CS], 0x1000);
  assert.equal(cpu.segBase[CS], 0x10000);
  assert.equal(cpu.eip, 0x52);
  assert.equal(cpu.regs[ESP], 0x100);
  assert.equal(cpu.getEflags(), flags & 0xffff, "a 16-bit IRET does not restore AC");
});

test("real mode: SP wraps at 64 KiB", () => {
  const { cpu } = makeCpu();
  cpu.cr0 = CR0.ET;
  for (let s = 0; s < 6; s++) cpu.segLimit[s] = 0xffff;
  cpu.regs[ESP] = 0x0001_0002;
  cpu.memory.write32(8 * 4, 0x0000_0100);
  deliverExternalInterrupt(cpu, 8);
  assert.equal(cpu.regs[ESP], 0x0001_fffc, "high word of ESP kept, SP wrapped");
  assert.equal(cpu.eip, 0x100);
});

function deliverFault(cpu: Cpu, vector: number, error: number): void {
  cpu.faultVector = vector;
  cpu.faultErrorCode = Math.max(0, error);
  cpu.faultHasErrorCode = error >= 0;
  deliverException(cpu);
}
