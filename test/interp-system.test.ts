/**
 * String instructions, precise exceptions, self-modifying code, and the VM exits the
 * interpreter reports (IN/OUT/INS/OUTS, CPUID, HLT, RDTSC, interrupt window).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { raise } from "../src/cpu/fault.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
import { flatMachine, le32 } from "./interp-helpers.js";

const ZF = 0x40;

test("REP MOVSB forward and backward (DF), REP STOSD", () => {
  // rep movsb; std; rep movsb; cld; rep stosd; hlt
  const m = flatMachine([0xf3, 0xa4, 0xf4]);
  m.mem.writeBytes(0x4000, Uint8Array.from([1, 2, 3, 4, 5]));
  m.cpu.regs[6] = 0x4000;
  m.cpu.regs[7] = 0x5000;
  m.cpu.regs[1] = 5;
  m.interp.run(100);
  assert.deepEqual([...m.mem.readBytes(0x5000, 6)], [1, 2, 3, 4, 5, 0]);
  assert.equal(m.cpu.regs[1], 0);
  assert.equal(m.cpu.regs[6], 0x4005);
  assert.equal(m.cpu.regs[7], 0x5005);

  const b = flatMachine([0xfd, 0xf3, 0xa4, 0xf4]); // std; rep movsb
  b.mem.writeBytes(0x4000, Uint8Array.from([1, 2, 3, 4, 5]));
  b.cpu.regs[6] = 0x4004;
  b.cpu.regs[7] = 0x5004;
  b.cpu.regs[1] = 5;
  b.interp.run(100);
  assert.deepEqual([...b.mem.readBytes(0x5000, 5)], [1, 2, 3, 4, 5]);
  assert.equal(b.cpu.regs[6], 0x4000 - 1);
  assert.equal(b.cpu.regs[7], 0x5000 - 1);

  const s = flatMachine([0xf3, 0xab, 0xf4]); // rep stosd
  s.cpu.regs[0] = 0x11223344;
  s.cpu.regs[7] = 0x6000;
  s.cpu.regs[1] = 3;
  s.interp.run(100);
  assert.equal(s.mem.read32(0x6008), 0x11223344);
  assert.equal(s.mem.read32(0x600c), 0);
  assert.equal(s.cpu.regs[7], 0x600c);
});

test("REPE CMPSB stops at the first difference; REPNE SCASB finds a byte", () => {
  const m = flatMachine([0xf3, 0xa6, 0xf4]);
  m.mem.writeBytes(0x4000, Uint8Array.from([1, 2, 3, 4]));
  m.mem.writeBytes(0x5000, Uint8Array.from([1, 2, 9, 4]));
  m.cpu.regs[6] = 0x4000;
  m.cpu.regs[7] = 0x5000;
  m.cpu.regs[1] = 4;
  m.interp.run(100);
  assert.equal(m.cpu.regs[1], 1); // stopped after the 3rd comparison
  assert.equal(m.cpu.regs[6], 0x4003);
  assert.equal(m.cpu.getEflags() & ZF, 0);

  const s = flatMachine([0xf2, 0xae, 0xf4]); // repne scasb
  s.mem.writeBytes(0x5000, Uint8Array.from([7, 7, 0, 7]));
  s.cpu.regs[0] = 0;
  s.cpu.regs[7] = 0x5000;
  s.cpu.regs[1] = 100;
  s.interp.run(1000);
  assert.equal(s.cpu.regs[7], 0x5003);
  assert.equal(s.cpu.regs[1], 97);
  assert.equal(s.cpu.getEflags() & ZF, ZF);
});

test("a long REP instruction yields at the budget and resumes at the same EIP", () => {
  const m = flatMachine([0xf3, 0xaa, 0xf4]); // rep stosb
  m.cpu.regs[0] = 0xab;
  m.cpu.regs[7] = 0x10000;
  m.cpu.regs[1] = 5000;
  m.interp.run(1000);
  assert.equal(m.cpu.eip, 0x1000);
  assert.ok(m.cpu.regs[1]! > 0 && m.cpu.regs[1]! < 5000);
  assert.ok(m.cpu.instructionsRetired <= 1000);
  while (!m.cpu.halted) m.interp.run(1000);
  assert.equal(m.cpu.regs[1], 0);
  assert.equal(m.mem.read8(0x10000 + 4999), 0xab);
  assert.equal(m.mem.read8(0x10000 + 5000), 0);
});

test("precise exceptions: a PUSH that page-faults leaves ESP and EIP at the instruction", () => {
  // push eax; push ebx; hlt  with the stack page 0x7000 not present
  const m = flatMachine([0x50, 0x53, 0xf4]);
  m.cpu.cr0 |= 0x80000000 | 0; // paging on, through the fake MMU
  m.cpu.mmu = {
    translate: (lin, _access, _user) => {
      if (lin >>> 12 === 0x7) {
        m.cpu.cr2 = lin;
        raise(m.cpu, 14, 2);
      }
      return lin >>> 0;
    },
    flush() {},
    lastGlobal: false,
    invalidatePage() {
      return false;
    },
  };
  m.cpu.regs[4] = 0x8004; // first push at 0x8000 works, second at 0x7ffc faults
  m.interp.run(100);
  assert.equal(m.interp.faults.length, 1);
  assert.equal(m.interp.faults[0]!.vector, 14);
  assert.equal(m.interp.faults[0]!.errorCode, 2);
  assert.equal(m.cpu.eip, 0x1001);
  assert.equal(m.cpu.regs[4], 0x8000);
  assert.equal(m.cpu.cr2, 0x7ffc);
  assert.equal(m.cpu.instructionsRetired, 1);
});

test("precise exceptions: ADD to a read-only page changes neither memory nor flags", () => {
  // stc; add [ebx], eax; hlt  with the page at 0x4000 read-only
  const m = flatMachine([0xf9, 0x01, 0x03, 0xf4]);
  m.cpu.cr0 |= 0x80000000 | 0;
  m.cpu.mmu = {
    translate: (lin, access) => {
      if (lin >>> 12 === 0x4 && access === 1) raise(m.cpu, 14, 3);
      return lin >>> 0;
    },
    flush() {},
    lastGlobal: false,
    invalidatePage() {
      return false;
    },
  };
  m.cpu.regs[0] = 1;
  m.cpu.regs[3] = 0x4000;
  m.mem.write32(0x4000, -1);
  m.interp.run(100);
  assert.equal(m.interp.faults[0]?.vector, 14);
  assert.equal(m.cpu.eip, 0x1001);
  assert.equal(m.mem.read32(0x4000), -1);
  assert.equal(m.cpu.getEflags() & 0x8d5, 1); // CF from STC, nothing else
});

test("self-modifying code: a store into the next instruction is seen", () => {
  // mov byte [0x1008], 0x42 ; mov al, 0x00 ; hlt      (the MOV AL imm8 byte is at 0x1008)
  //  0x1000: c6 05 08 10 00 00 42   (7 bytes)  0x1007: b0 00   0x1009: f4
  const code = [0xc6, 0x05, ...le32(0x1008), 0x42, 0xb0, 0x00, 0xf4];
  const m = flatMachine(code);
  m.interp.run(100);
  assert.equal(m.cpu.regs[0]! & 0xff, 0x42);
  // And code already cached is re-decoded after a write: run a loop twice.
  // 0x1000: mov al, 1 ; inc byte [0x1001] ; dec ecx ; jnz 0x1000 ; hlt
  const loop = [0xb0, 0x01, 0xfe, 0x05, ...le32(0x1001), 0x49, 0x75, 0x100 - 11, 0xf4];
  const l = flatMachine(loop);
  l.cpu.regs[1] = 3;
  l.interp.run(100);
  assert.equal(l.cpu.regs[0]! & 0xff, 3); // 1, then 2, then 3
});

test("OUT and IN leave as IO_INSTRUCTION exits, one per element for OUTS", () => {
  // mov dx, 0x3f8; out dx, al; out 0x80, al; in al, dx; mov ecx, 3; rep outsb; hlt
  const code = [0x66, 0xba, 0xf8, 0x03, 0xee, 0xe6, 0x80, 0xec, 0xb9, ...le32(3), 0xf3, 0x6e, 0xf4];
  const m = flatMachine(code);
  m.cpu.regs[0] = 0x41;
  m.cpu.regs[6] = 0x4000;
  m.mem.writeBytes(0x4000, Uint8Array.from([7, 8, 9]));
  m.handler.inValue = 0x5a;
  m.interp.run(100);
  const io = m.handler.exits.filter((x) => x.reason === ExitReason.IO_INSTRUCTION);
  assert.equal(io.length, 6);
  assert.deepEqual(
    io.map((x) => [x.address, x.size, x.write, x.string, x.value]),
    [
      [0x3f8, 1, true, false, 0x41],
      [0x80, 1, true, false, 0x41],
      [0x3f8, 1, false, false, 0],
      [0x3f8, 1, true, true, 7],
      [0x3f8, 1, true, true, 8],
      [0x3f8, 1, true, true, 9],
    ],
  );
  assert.equal(io[0]!.instructionPointer, 0x1004);
  assert.equal(m.cpu.regs[0]! & 0xff, 0x5a);
  assert.equal(m.cpu.regs[6], 0x4003);
});

test("N OUT instructions in a loop make N exits", () => {
  // loop: out 0xe9, al ; dec ecx ; jnz loop ; hlt
  const m = flatMachine([0xe6, 0xe9, 0x49, 0x75, 0x100 - 5, 0xf4]);
  m.cpu.regs[1] = 1000;
  m.interp.run(100000);
  assert.equal(m.handler.exits.filter((x) => x.reason === ExitReason.IO_INSTRUCTION).length, 1000);
});

test("CPUID and HLT exits", () => {
  // cpuid ; hlt ; nop
  const m = flatMachine([0x0f, 0xa2, 0xf4, 0x90]);
  m.cpu.regs[0] = 1;
  m.interp.run(100);
  assert.deepEqual(
    m.handler.exits.map((x) => x.reason),
    [ExitReason.CPUID, ExitReason.HLT],
  );
  assert.equal(m.cpu.regs[0], 0x11);
  assert.equal(m.cpu.regs[3], 0x22);
  assert.equal(m.cpu.halted, true);
  assert.equal(m.cpu.eip, 0x1003); // after the HLT
  assert.equal(m.handler.exits[1]!.instructionPointer, 0x1002);
  // A halted CPU returns immediately.
  const before = m.cpu.instructionsRetired;
  m.interp.run(100);
  assert.equal(m.cpu.instructionsRetired, before);
});

test("RDTSC reads the time base plus the offset, or exits when asked", () => {
  const m = flatMachine([0x0f, 0x31, 0xf4]);
  m.cpu.readTimeBase = () => 0x1_0000_0005n;
  m.cpu.tscOffset = 10n;
  m.interp.run(10);
  assert.equal(m.cpu.regs[0], 15);
  assert.equal(m.cpu.regs[2], 1);
  const x = flatMachine([0x0f, 0x31, 0xf4]);
  x.cpu.rdtscExiting = true;
  x.interp.run(10);
  assert.equal(x.handler.exits[0]!.reason, ExitReason.RDTSC);
});

test("interrupt-window exiting fires once IF=1 and the STI shadow has passed", () => {
  // sti ; nop ; nop ; hlt
  const m = flatMachine([0xfb, 0x90, 0x90, 0xf4]);
  m.interp.interruptWindowExiting = true;
  const seen: number[] = [];
  m.handler.handleExit = (x) => {
    if (x.reason === ExitReason.INTERRUPT_WINDOW) {
      seen.push(m.cpu.eip);
      m.interp.interruptWindowExiting = false;
    }
    if (x.reason === ExitReason.HLT) m.interp.requestStop();
  };
  m.interp.run(100);
  // Not after STI (shadow), but after the instruction that follows it.
  assert.deepEqual(seen, [0x1002]);
});

test("LOOP, CALL/RET, PUSH/POP, ENTER/LEAVE", () => {
  // mov ecx, 5; xor eax,eax; l: add eax, ecx; loop l; call f; hlt; f: enter 8,0; push eax; pop ebx; leave; ret
  const code = [
    0xb9,
    ...le32(5),
    0x31,
    0xc0,
    0x01,
    0xc8,
    0xe2,
    0x100 - 4,
    0xe8,
    ...le32(1),
    0xf4,
    0xc8,
    0x08,
    0x00,
    0x00,
    0x50,
    0x5b,
    0xc9,
    0xc3,
  ];
  const m = flatMachine(code);
  m.interp.run(1000);
  assert.equal(m.cpu.regs[0], 15);
  assert.equal(m.cpu.regs[3], 15);
  assert.equal(m.cpu.regs[4], 0x8000);
  assert.equal(m.cpu.halted, true);
  assert.equal(m.interp.faults.length, 0);
});
