/**
 * Shared fixtures for the interpreter tests: a vCPU in flat 32-bit protected mode (or real
 * mode) without paging, set up by hand (the system layer's resetCpu is not needed), and a
 * recording ExitHandler.
 */

import type { X87Unit } from "../src/cpu/cpu.js";
import { Cpu } from "../src/cpu/cpu.js";
import { Interpreter } from "../src/cpu/interp/interpreter.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import type { ExitHandler, VmExit } from "../src/vmm/exit.js";
import { ExitReason } from "../src/vmm/exit-reason.js";

export interface RecordedExit {
  reason: number;
  address: number;
  size: number;
  write: boolean;
  string: boolean;
  value: number;
  instructionPointer: number;
}

export class FakeHandler implements ExitHandler {
  readonly exits: RecordedExit[] = [];
  /** Value returned for IN. */
  inValue = 0;
  engine: Interpreter | undefined;
  cpuidRegs = [0x11, 0x22, 0x33, 0x44];
  handleExit(x: VmExit): void {
    this.exits.push({
      reason: x.reason,
      address: x.address,
      size: x.size,
      write: x.write,
      string: x.string,
      value: x.value,
      instructionPointer: x.instructionPointer,
    });
    if (x.reason === ExitReason.IO_INSTRUCTION && !x.write) x.value = this.inValue;
    if (x.reason === ExitReason.CPUID && this.engine) {
      const r = this.engine.cpu.regs;
      r[0] = this.cpuidRegs[0]!;
      r[3] = this.cpuidRegs[1]!;
      r[1] = this.cpuidRegs[2]!;
      r[2] = this.cpuidRegs[3]!;
    }
    if (x.reason === ExitReason.HLT) this.engine?.requestStop();
  }
}

/** An interpreter that records exceptions instead of delivering them (the system layer may be a stub). */
export class TestInterpreter extends Interpreter {
  readonly faults: { vector: number; errorCode: number; eip: number; esp: number }[] = [];
  protected override deliverFault(): void {
    const c = this.cpu;
    this.faults.push({ vector: c.faultVector, errorCode: c.faultErrorCode, eip: c.eip, esp: c.regs[4]! });
    this.requestStop();
  }
}

const noFpu: X87Unit = {
  reset() {},
  execute() {},
  fwait() {},
};

export interface Machine {
  cpu: Cpu;
  interp: TestInterpreter;
  mem: GuestMemory;
  handler: FakeHandler;
}

/** Flat 4 GiB segments, CPL 0, CR0.PE, no paging; code at `codeAddr`, ESP at 0x8000. */
export function flatMachine(code: number[] | Uint8Array, codeAddr = 0x1000, memSize = 0x100000): Machine {
  const mem = new GuestMemory(memSize);
  const handler = new FakeHandler();
  const cpu = new Cpu(mem, handler);
  cpu.fpu = noFpu;
  cpu.mmu = {
    translate: (l) => l >>> 0,
    flush() {},
    lastGlobal: false,
    invalidatePage() {
      return false;
    },
  };
  cpu.cr0 = 0x11;
  for (let s = 0; s < 6; s++) {
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = -1;
    cpu.segAccess[s] = s === 1 ? 0xcf9b : 0xcf93;
    cpu.segSel[s] = s === 1 ? 8 : 16;
  }
  const interp = new TestInterpreter(cpu);
  handler.engine = interp;
  cpu.setEflags(2);
  cpu.eip = codeAddr;
  cpu.regs[4] = 0x8000;
  mem.writeBytes(codeAddr, Uint8Array.from(code));
  return { cpu, interp, mem, handler };
}

/** Real mode: 64 KiB segments with base = selector << 4 (access rights 0x93 / 0x9b). */
export function realMachine(code: number[], cs = 0x100, ip = 0): Machine {
  const m = flatMachine([], 0);
  const { cpu, mem } = m;
  cpu.cr0 = 0x10;
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = s === 1 ? cs : 0;
    cpu.segBase[s] = s === 1 ? cs << 4 : 0;
    cpu.segLimit[s] = 0xffff;
    cpu.segAccess[s] = s === 1 ? 0x9b : 0x93;
  }
  cpu.eip = ip;
  cpu.regs[4] = 0x7000;
  mem.writeBytes((cs << 4) + ip, Uint8Array.from(code));
  return m;
}

/** Run until HLT (the fake handler stops the engine at the HLT exit). */
export function runToHlt(m: Machine, budget = 1_000_000): void {
  m.interp.run(budget);
}

export function le32(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
}
export function le16(v: number): number[] {
  return [v & 255, (v >>> 8) & 255];
}
