import assert from "node:assert/strict";
import { test } from "node:test";
import { Access, type Cpu, CR0, CR4 } from "../src/cpu/cpu.js";
import { Vector } from "../src/cpu/fault.js";
import type { PagingUnit } from "../src/mmu/paging.js";
import { fault, makeCpu } from "./system-fixture.js";

const PD = 0x10000;
const PT0 = 0x12000;
const PT1 = 0x11000;
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const G = 0x100;

/** Identity map of 0..4 MiB (supervisor), a test table at 4 MiB, 4 MiB pages at 8 and 12 MiB. */
function setup(): { cpu: Cpu; mmu: PagingUnit } {
  const { cpu, mmu } = makeCpu();
  const m = cpu.memory;
  for (let i = 0; i < 1024; i++) m.write32(PT0 + i * 4, (i << 12) | P | RW);
  m.write32(PD + 0, PT0 | P | RW);
  m.write32(PD + 4, PT1 | P | RW | US);
  m.write32(PT1 + 0 * 4, 0x100000 | P | RW | US);
  m.write32(PT1 + 1 * 4, 0x101000 | P | US);
  m.write32(PT1 + 2 * 4, 0x102000 | P | RW);
  m.write32(PT1 + 3 * 4, 0x103000 | P);
  m.write32(PT1 + 4 * 4, 0x104000); // not present
  m.write32(PT1 + 5 * 4, 0x105000 | P | RW | US | G);
  m.write32(PD + 8, 0x400000 | P | RW | US | PS);
  m.write32(PD + 12, 0x800000 | P | RW | US | PS | (1 << 13)); // reserved bit 13
  m.write32(PD + 16, 0xfff0_0000 | P | RW | US); // page table outside RAM
  cpu.cr3 = PD;
  cpu.cr0 = CR0.PE | CR0.PG | CR0.ET;
  return { cpu, mmu };
}

function pf(cpu: Cpu, mmu: PagingUnit, lin: number, access: 0 | 1 | 2, user: boolean): number {
  const f = fault(cpu, () => mmu.translate(lin, access, user));
  assert.ok(f, `expected #PF at ${lin.toString(16)}`);
  assert.equal(f[0], Vector.PF);
  assert.equal(cpu.cr2 >>> 0, lin >>> 0, "CR2 = faulting linear address");
  return f[1];
}

test("4 KiB translation and offset", () => {
  const { cpu, mmu } = setup();
  assert.equal(mmu.translate(0x400123, Access.READ, true), 0x100123);
  assert.equal(mmu.translate(0x401fff, Access.FETCH, true), 0x101fff);
  assert.equal(mmu.translate(0x2345, Access.WRITE, false), 0x2345);
  assert.equal(cpu.cr2, 0);
});

test("not-present page and PDE: error code P=0 with W/R and U/S", () => {
  const { cpu, mmu } = setup();
  assert.equal(pf(cpu, mmu, 0x404010, Access.READ, true), 0b100);
  assert.equal(pf(cpu, mmu, 0x404010, Access.WRITE, false), 0b010);
  assert.equal(pf(cpu, mmu, 0x404010, Access.WRITE, true), 0b110);
  assert.equal(pf(cpu, mmu, 0x2000_0abc, Access.READ, false), 0b000); // PDE not present
  assert.equal(pf(cpu, mmu, 0x0100_0000, Access.READ, false), 0, "table outside RAM = not present");
});

test("user write to a read-only user page: error 7", () => {
  const { cpu, mmu } = setup();
  assert.equal(pf(cpu, mmu, 0x401004, Access.WRITE, true), 0b111);
  // Reads are fine and do not grant a later write through the TLB.
  assert.equal(mmu.translate(0x401004, Access.READ, true), 0x101004);
  assert.equal(pf(cpu, mmu, 0x401008, Access.WRITE, true), 0b111);
});

test("supervisor write to read-only pages: allowed with WP=0, #PF(3) with WP=1", () => {
  const { cpu, mmu } = setup();
  assert.equal(mmu.translate(0x403010, Access.WRITE, false), 0x103010);
  assert.equal(mmu.translate(0x401010, Access.WRITE, false), 0x101010);
  cpu.cr0 |= CR0.WP;
  mmu.flush(true); // MOV CR0 flushes on a WP change (src/cpu/system does it)
  assert.equal(pf(cpu, mmu, 0x403010, Access.WRITE, false), 0b011);
  assert.equal(pf(cpu, mmu, 0x401010, Access.WRITE, false), 0b011);
  // Supervisor write to a read-write page is fine with WP=1.
  assert.equal(mmu.translate(0x402010, Access.WRITE, false), 0x102010);
});

test("user access to a supervisor page: error 5 (read) / 7 (write)", () => {
  const { cpu, mmu } = setup();
  assert.equal(pf(cpu, mmu, 0x402000, Access.READ, true), 0b101);
  assert.equal(pf(cpu, mmu, 0x402000, Access.WRITE, true), 0b111);
  assert.equal(pf(cpu, mmu, 0x1000, Access.READ, true), 0b101, "PDE without U/S");
  // Supervisor read of the same page is fine even after the user fault.
  assert.equal(mmu.translate(0x402000, Access.READ, false), 0x102000);
});

test("accessed and dirty bits in PDE and PTE", () => {
  const { cpu, mmu } = setup();
  const m = cpu.memory;
  mmu.translate(0x400000, Access.READ, true);
  assert.equal(m.read32(PD + 4) & A, A, "PDE.A");
  assert.equal(m.read32(PT1) & (A | D), A, "PTE.A only after a read");
  mmu.translate(0x400004, Access.WRITE, true); // TLB had read rights only: must walk and set D
  assert.equal(m.read32(PT1) & (A | D), A | D, "PTE.D after a write");
  assert.equal(m.read32(PD + 4) & D, 0, "PDE.D is never set for a page-table PDE");
  // A faulting write does not set D.
  fault(cpu, () => mmu.translate(0x401000, Access.WRITE, true));
  assert.equal(m.read32(PT1 + 4) & D, 0);
  // The guest clears D: the cached write right keeps it clear until INVLPG (as hardware).
  m.write32(PT1, m.read32(PT1) & ~D);
  mmu.invalidatePage(0x400000);
  mmu.translate(0x400008, Access.WRITE, true);
  assert.equal(m.read32(PT1) & D, D);
});

test("4 MiB pages: translation, A/D on the PDE, PS ignored without CR4.PSE, RSVD", () => {
  const { cpu, mmu } = setup();
  const m = cpu.memory;
  // Without PSE the PDE is a page-table pointer: 0x400000 holds zeros, so not present.
  assert.equal(pf(cpu, mmu, 0x812345, Access.READ, false), 0);
  cpu.cr4 = CR4.PSE;
  mmu.flush(true);
  assert.equal(mmu.translate(0x812345, Access.READ, true), 0x412345);
  assert.equal(mmu.translate(0xbfffff, Access.READ, false), 0x7fffff);
  assert.equal(m.read32(PD + 8) & (A | D), A);
  assert.equal(mmu.translate(0x800000, Access.WRITE, true), 0x400000);
  assert.equal(m.read32(PD + 8) & (A | D), A | D);
  assert.equal(pf(cpu, mmu, 0xc00000, Access.READ, false), 0b1001, "reserved bit: P|RSVD");
  assert.equal(pf(cpu, mmu, 0xc00000, Access.WRITE, true), 0b1111);
});

test("global pages survive a non-global flush (CR3 reload), not a full one", () => {
  const { cpu, mmu } = setup();
  const m = cpu.memory;
  cpu.cr4 = CR4.PGE;
  assert.equal(mmu.translate(0x405000, Access.READ, true), 0x105000);
  assert.equal(mmu.translate(0x400000, Access.READ, true), 0x100000);
  m.write32(PT1 + 5 * 4, 0x1f5000 | P | RW | US | G);
  m.write32(PT1 + 0 * 4, 0x1f0000 | P | RW | US);
  mmu.flush(false);
  assert.equal(mmu.translate(0x405000, Access.READ, true), 0x105000, "global entry kept");
  assert.equal(mmu.translate(0x400000, Access.READ, true), 0x1f0000, "non-global entry dropped");
  mmu.flush(true);
  assert.equal(mmu.translate(0x405000, Access.READ, true), 0x1f5000);
  // Without CR4.PGE the G bit is ignored.
  cpu.cr4 = 0;
  mmu.flush(true);
  mmu.translate(0x405000, Access.READ, true);
  m.write32(PT1 + 5 * 4, 0x105000 | P | RW | US | G);
  mmu.flush(false);
  assert.equal(mmu.translate(0x405000, Access.READ, true), 0x105000);
});

test("INVLPG drops one 4 KiB page, and a whole 4 MiB page", () => {
  const { cpu, mmu } = setup();
  const m = cpu.memory;
  mmu.translate(0x400000, Access.READ, false);
  mmu.translate(0x402000, Access.READ, false);
  m.write32(PT1 + 0 * 4, 0x1f0000 | P | RW | US);
  m.write32(PT1 + 2 * 4, 0x1f2000 | P | RW);
  mmu.invalidatePage(0x400abc);
  assert.equal(mmu.translate(0x400000, Access.READ, false), 0x1f0000);
  assert.equal(mmu.translate(0x402000, Access.READ, false), 0x102000, "other page still cached");
  cpu.cr4 = CR4.PSE;
  mmu.flush(true);
  mmu.translate(0x800000, Access.READ, false);
  mmu.translate(0xb00000, Access.READ, false);
  m.write32(PD + 8, 0xc00000 | P | RW | US | PS);
  mmu.invalidatePage(0x9ff000);
  assert.equal(mmu.translate(0x800000, Access.READ, false), 0xc00000);
  assert.equal(mmu.translate(0xb00000, Access.READ, false), 0xf00000);
});

test("TLB hit path serves cached rights; peek has no side effects", () => {
  const { cpu, mmu } = setup();
  mmu.translate(0x400000, Access.WRITE, true);
  const walks = mmu.walks;
  for (let i = 0; i < 100; i++) mmu.translate(0x400000 + i, i & 1 ? Access.WRITE : Access.READ, true);
  assert.equal(mmu.walks, walks, "no walks on hits");
  const m = cpu.memory;
  const before = m.read32(PT1 + 2 * 4);
  assert.equal(mmu.peek(0x402010, Access.WRITE, false), 0x102010);
  assert.equal(mmu.peek(0x402010, Access.READ, true), -1);
  assert.equal(m.read32(PT1 + 2 * 4), before);
});

test("many pages: flush visits only filled slots and leaves nothing stale", () => {
  const { cpu, mmu } = setup();
  for (let i = 0; i < 1024; i++) mmu.translate(i << 12, Access.READ, false);
  cpu.memory.write32(PT0 + 7 * 4, 0x9000 | P | RW);
  mmu.flush(false);
  assert.equal(mmu.translate(0x7000, Access.READ, false), 0x9000);
  assert.equal(
    mmu.tlb.reduce((n, e) => n + (e !== 0 ? 1 : 0), 0),
    1,
  );
});
