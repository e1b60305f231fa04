// Bulk REP MOVS/STOS (src/cpu/interp/ops-string.ts) against the element-by-element path:
// page faults in the middle of a string (ECX/ESI/EDI, EIP, CR2 and the error code exactly as
// the slow path leaves them), DF=1, overlapping copies, code writes, segment limits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { raise, Vector } from "../src/cpu/fault.js";
import { setFastPaths } from "../src/cpu/interp/fast.js";
import { flatMachine, le32, type Machine } from "./interp-helpers.js";

const NOT_PRESENT = 0x31; // linear page 0x31000 faults

/** A flat machine with a fake paging unit (identity, except one not-present page). */
function pagedMachine(code: number[]): Machine {
  const m = flatMachine(code);
  const { cpu } = m;
  cpu.mmu = {
    translate(lin, access, user) {
      if (lin >>> 12 === NOT_PRESENT) {
        cpu.cr2 = lin | 0;
        raise(cpu, Vector.PF, (access === 1 ? 2 : 0) | (user ? 4 : 0));
      }
      return lin >>> 0;
    },
    flush() {},
    lastGlobal: false,
    invalidatePage() {
      return false;
    },
  };
  cpu.cr0 = cpu.cr0 | 0x8000_0000 | 0;
  return m;
}

interface Outcome {
  regs: number[];
  eip: number;
  eflags: number;
  cr2: number;
  faults: { vector: number; errorCode: number; eip: number; esp: number }[];
  retired: number;
  ram: Uint8Array;
}

function run(setup: () => Machine, fast: boolean, budget = 1_000_000): Outcome {
  setFastPaths(fast);
  try {
    const m = setup();
    m.interp.run(budget);
    return {
      regs: Array.from(m.cpu.regs),
      eip: m.cpu.eip,
      eflags: m.cpu.getEflags(),
      cr2: m.cpu.cr2,
      faults: m.interp.faults,
      retired: m.cpu.instructionsRetired,
      ram: m.mem.readBytes(0x20000, 0x20000),
    };
  } finally {
    setFastPaths(true);
  }
}

function same(setup: () => Machine, budget?: number): Outcome {
  const slow = run(setup, false, budget);
  const fast = run(setup, true, budget);
  assert.deepEqual(fast.regs, slow.regs, "registers");
  assert.equal(fast.eip, slow.eip, "EIP");
  assert.equal(fast.eflags, slow.eflags, "EFLAGS");
  assert.equal(fast.cr2, slow.cr2, "CR2");
  assert.deepEqual(fast.faults, slow.faults, "faults");
  assert.equal(fast.retired, slow.retired, "instructions retired");
  assert.ok(Buffer.from(fast.ram).equals(Buffer.from(slow.ram)), "memory");
  return fast;
}

const MOV_ESI = 0xbe;
const MOV_EDI = 0xbf;
const MOV_ECX = 0xb9;
const MOV_EAX = 0xb8;
const STD = 0xfd;
const HLT = 0xf4;

function fillSource(m: Machine): Machine {
  const bytes = new Uint8Array(0x1000);
  for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 37 + 11) & 0xff;
  m.mem.writeBytes(0x20000, bytes);
  m.mem.writeBytes(0x22000, bytes);
  return m;
}

test("REP MOVSD into a not-present page stops at the page with exact ECX/ESI/EDI and CR2", () => {
  // dst 0x30f80: 32 dwords fit before page 0x31000 faults.
  const code = [
    MOV_ESI,
    ...le32(0x20000),
    MOV_EDI,
    ...le32(0x30f80),
    MOV_ECX,
    ...le32(0x100),
    0xf3,
    0xa5,
    HLT,
  ];
  const r = same(() => fillSource(pagedMachine(code)));
  assert.equal(r.faults.length, 1);
  assert.equal(r.faults[0]!.vector, 14);
  assert.equal(r.faults[0]!.errorCode, 2);
  assert.equal(r.faults[0]!.eip, 0x100f, "EIP at the REP MOVSD");
  assert.equal(r.cr2, 0x31000);
  assert.equal(r.regs[1], 0x100 - 32);
  assert.equal(r.regs[6], 0x20000 + 128);
  assert.equal(r.regs[7], 0x31000);
});

test("REP MOVSB reading from a not-present page faults on the read (error code 0)", () => {
  const code = [MOV_ESI, ...le32(0x30ff0), MOV_EDI, ...le32(0x20000), MOV_ECX, ...le32(100), 0xf3, 0xa4, HLT];
  const r = same(() => pagedMachine(code));
  assert.equal(r.cr2, 0x31000);
  assert.equal(r.faults[0]!.errorCode, 0);
  assert.equal(r.regs[1], 100 - 16);
});

test("REP MOVSD with DF=1 walks down into a not-present page", () => {
  // dst 0x32040 going down: dwords at 0x32040 .. 0x32000 (17 of them), then 0x31ffc faults.
  const code = [
    STD,
    MOV_ESI,
    ...le32(0x21ff0),
    MOV_EDI,
    ...le32(0x32040),
    MOV_ECX,
    ...le32(50),
    0xf3,
    0xa5,
    HLT,
  ];
  const r = same(() => fillSource(pagedMachine(code)));
  assert.equal(r.cr2, 0x31ffc);
  assert.equal(r.regs[1], 50 - 17);
  assert.equal(r.regs[7], 0x31ffc);
  assert.equal(r.regs[6], 0x21ff0 - 17 * 4);
});

test("REP MOVS/STOS across pages, misaligned, backwards, and with the budget cut mid-string", () => {
  const cases: number[][] = [
    // misaligned dwords across a page boundary, forward
    [MOV_ESI, ...le32(0x20ffe), MOV_EDI, ...le32(0x24ffd), MOV_ECX, ...le32(0x900), 0xf3, 0xa5, HLT],
    // backwards words
    [
      STD,
      MOV_ESI,
      ...le32(0x22ffe),
      MOV_EDI,
      ...le32(0x26001),
      MOV_ECX,
      ...le32(0x1200),
      0xf3,
      0x66,
      0xa5,
      HLT,
    ],
    // REP STOSD of a non-uniform value, backwards
    [STD, MOV_EAX, ...le32(0x12345678), MOV_EDI, ...le32(0x27ff0), MOV_ECX, ...le32(0x700), 0xf3, 0xab, HLT],
    // REP STOSD of zero, forward, odd start
    [MOV_EAX, ...le32(0), MOV_EDI, ...le32(0x28003), MOV_ECX, ...le32(0x700), 0xf3, 0xab, HLT],
    // REP STOSW of 0x4141 and REP STOSB
    [MOV_EAX, ...le32(0x4141), MOV_EDI, ...le32(0x29001), MOV_ECX, ...le32(0x901), 0xf3, 0x66, 0xab, HLT],
    [MOV_EAX, ...le32(0x7f), MOV_EDI, ...le32(0x2a001), MOV_ECX, ...le32(0x2345), 0xf3, 0xaa, HLT],
  ];
  for (const code of cases) {
    same(() => fillSource(flatMachine(code)));
    same(() => fillSource(pagedMachine(code)));
    // Stopped by the instruction budget in the middle (the REP resumes later).
    for (const budget of [5, 7, 300, 1000]) same(() => fillSource(flatMachine(code)), budget);
  }
});

test("overlapping REP MOVSB forward replicates like the element-by-element copy", () => {
  for (const [src, dst, df] of [
    [0x20000, 0x20001, 0],
    [0x20000, 0x20003, 0],
    [0x20010, 0x2000f, 0],
    [0x20ff0, 0x20ff1, 1],
    [0x20ff0, 0x20fef, 1],
  ] as const) {
    for (const op of [0xa4, 0xa5]) {
      const code = [
        ...(df ? [STD] : []),
        MOV_ESI,
        ...le32(src),
        MOV_EDI,
        ...le32(dst),
        MOV_ECX,
        ...le32(0x300),
        0xf3,
        op,
        HLT,
      ];
      same(() => fillSource(flatMachine(code)));
    }
  }
});

test("REP MOVSD and STOSD stop at the segment limit (#GP) exactly as the slow path", () => {
  const code = [
    MOV_ESI,
    ...le32(0x20000),
    MOV_EDI,
    ...le32(0x20f00),
    MOV_ECX,
    ...le32(0x100),
    0xf3,
    0xa5,
    HLT,
  ];
  const r = same(() => {
    const m = fillSource(flatMachine(code));
    m.cpu.segLimit[0] = 0x20f3f; // ES: 16 dwords fit
    return m;
  });
  assert.equal(r.faults[0]!.vector, 13);
  assert.equal(r.regs[1], 0x100 - 16);
  const stos = [STD, MOV_EDI, ...le32(0x20f00), MOV_ECX, ...le32(0x100), 0xf3, 0xab, HLT];
  same(() => {
    const m = flatMachine(stos);
    m.cpu.segBase[0] = 0x1000; // ES base: offsets near 0 wrap below the segment start
    m.cpu.regs[7] = 0x40;
    return m;
  });
});

test("REP STOSW over already-decoded code takes effect (self-modifying code)", () => {
  // call sub (inc eax; ret); rewrite sub to nop; ret with REP STOSW; call sub again; hlt.
  const code = [
    MOV_EAX,
    ...le32(0),
    0xe8,
    ...le32(0x1030 - 0x100a), // 0x1005: call 0x1030
    MOV_EDI,
    ...le32(0x1030), // 0x100a
    MOV_ECX,
    ...le32(2), // 0x100f
    0x66,
    0xbb,
    0x90,
    0xc3, // 0x1014: mov bx, 0xc390
    0x66,
    0x93, // 0x1018: xchg ax, bx -> AX = 0xc390
    0xf3,
    0x66,
    0xab, // 0x101a: rep stosw
    0xe8,
    ...le32(0x1030 - 0x1022), // 0x101d: call 0x1030
    HLT, // 0x1022
  ];
  const full = new Array(0x32).fill(0x90);
  full.splice(0, code.length, ...code);
  full[0x30] = 0x40; // inc eax
  full[0x31] = 0xc3; // ret
  const r = same(() => flatMachine(full));
  assert.equal(r.faults.length, 0);
  assert.equal(r.regs[0], 0xc390, "the second call ran the rewritten code (no INC)");
  assert.equal(r.regs[3], 1, "BX holds EAX after the first call (1)");
});
