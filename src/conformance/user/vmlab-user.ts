/**
 * vmlab's side of the user-mode oracle: the same snippet, registers, flags and buffer,
 * run by the interpreter in flat 32-bit protected mode at CPL 3 (segment caches set
 * directly: base 0, limit 4 GiB, 32-bit code), code at the same address as on the host,
 * stopping when EIP reaches the end of the snippet.
 *
 * Exceptions are caught as EXCEPTION_NMI exits (cpu.exceptionBitmap = all ones, the VT-x
 * exception bitmap): the handler records the vector and error code and aborts the run,
 * so no IDT is needed. x87 state goes in and out through FRSTOR / FNSAVE executed by
 * the interpreter itself from a separate stub page (the architectural interface).
 */

import { type Cpu, CR0 } from "../../cpu/cpu.js";
import { GuestMemory } from "../../memory/guest-memory.js";
import type { CpuEngine } from "../../vmm/engine.js";
import type { ExitHandler, VmExit } from "../../vmm/exit.js";
import { ExitReason, exitReasonName } from "../../vmm/exit-reason.js";
import { initialRegion } from "../host/host-oracle.js";
import {
  CODE_ADDR,
  FPU_IMAGE_ADDR,
  FPU_OUT_ADDR,
  FPU_STUB_ADDR,
  GUEST_RAM_SIZE,
  REGION_ADDR,
  REGION_SIZE,
} from "../layout.js";
import type { CaseOutcome, UserCase } from "./case.js";

/** Flat segments: access rights (descriptor high dword bits 8..23): P, DPL 3, S, G, D/B. */
const CODE_ACCESS = 0xc0fb; // type 0xB: execute/read, accessed
const DATA_ACCESS = 0xc0f3; // type 0x3: read/write, accessed
const MAX_STEPS = 20_000;

class StopRun {
  constructor(readonly why: string) {}
}

interface Fault {
  vector: number;
  errorCode: number;
  regs: number[];
  eflags: number;
  eip: number;
}

export class VmlabUserRunner implements ExitHandler {
  readonly memory = new GuestMemory(GUEST_RAM_SIZE);
  private cpu!: Cpu;
  private engine!: CpuEngine;
  private fault: Fault | undefined;
  private unexpected: string | undefined;

  private constructor(private readonly selectors: readonly number[]) {}

  /**
   * Load the engine (it may not exist yet in a partial tree: the error says so). The binary
   * translator runs with no hotness threshold and counted translations for the single steps
   * below, so that every case runs translated code.
   */
  static async create(
    selectors: readonly number[],
    engine: "interp" | "bt" = "interp",
  ): Promise<VmlabUserRunner> {
    const r = new VmlabUserRunner(selectors);
    const { createCpu } = await import("../../cpu/create.js");
    r.cpu = createCpu(r.memory, r);
    if (engine === "bt") {
      const { BinaryTranslator } = await import("../../cpu/bt/translator.js");
      r.engine = new BinaryTranslator(r.cpu, { hotThreshold: 0, translateTails: true });
    } else {
      const { Interpreter } = await import("../../cpu/interp/interpreter.js");
      r.engine = new Interpreter(r.cpu);
    }
    return r;
  }

  handleExit(exit: VmExit): void {
    if (exit.reason === ExitReason.EXCEPTION_NMI) {
      const cpu = this.cpu;
      this.fault = {
        vector: exit.address,
        errorCode: exit.valueHigh >>> 0,
        regs: Array.from(cpu.regs, (r) => r >>> 0),
        eflags: cpu.getEflags() >>> 0,
        eip: cpu.eip >>> 0,
      };
      throw new StopRun("exception");
    }
    this.unexpected = `unexpected VM exit ${exitReasonName.get(exit.reason) ?? exit.reason} (address 0x${(exit.address >>> 0).toString(16)})`;
    throw new StopRun("exit");
  }

  private setupState(c: UserCase | undefined, eip: number): void {
    const cpu = this.cpu;
    cpu.cr0 = CR0.PE | CR0.ET | CR0.NE | CR0.MP;
    cpu.cr4 = 0;
    cpu.cpl = 3;
    cpu.halted = false;
    cpu.shutdown = false;
    cpu.interruptShadow = 0;
    cpu.exceptionBitmap = 0xffffffff | 0;
    cpu.idtrLimit = 0;
    for (let s = 0; s < 6; s++) {
      const sel = this.selectors[s] ?? (s === 1 ? 0x23 : 0x2b);
      cpu.segSel[s] = sel;
      cpu.segBase[s] = 0;
      cpu.segLimit[s] = -1;
      cpu.segAccess[s] = s === 1 ? CODE_ACCESS : (sel & ~3) === 0 ? 0 : DATA_ACCESS;
    }
    if (c !== undefined) {
      for (let i = 0; i < 8; i++) cpu.regs[i] = c.regs[i]! | 0;
      cpu.setEflags(c.eflags);
    }
    cpu.eip = eip;
  }

  /** Run from the current EIP until EIP == end; returns an error text or undefined. */
  private runTo(end: number): string | undefined {
    this.fault = undefined;
    this.unexpected = undefined;
    const cpu = this.cpu;
    try {
      for (let steps = 0; cpu.eip >>> 0 !== end >>> 0; steps++) {
        if (steps >= MAX_STEPS)
          return `EIP never reached the snippet end (0x${(cpu.eip >>> 0).toString(16)})`;
        this.engine.run(1);
        if (cpu.shutdown) return "triple fault (shutdown)";
      }
    } catch (e) {
      if (e instanceof StopRun) return this.unexpected;
      if (cpu.faultVector >= 0 && this.fault === undefined) {
        // Exception delivery itself failed (system layer missing?): keep what was raised.
        this.fault = {
          vector: cpu.faultVector,
          errorCode: cpu.faultErrorCode,
          regs: Array.from(cpu.regs, (r) => r >>> 0),
          eflags: cpu.getEflags() >>> 0,
          eip: cpu.eip >>> 0,
        };
        return undefined;
      }
      return `vmlab threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
    return undefined;
  }

  run(c: UserCase): CaseOutcome {
    const mem = this.memory;
    const cpu = this.cpu;
    mem.writeBytes(REGION_ADDR, initialRegion(c));
    const page = new Uint8Array(0x1000).fill(0xcc);
    page.set(c.code);
    mem.writeBytes(CODE_ADDR, page);
    cpu.faultVector = -1;

    if (c.fpu !== undefined) {
      // FRSTOR [FPU_IMAGE_ADDR] (DD /4, mod 00 rm 101 disp32).
      mem.writeBytes(FPU_IMAGE_ADDR, c.fpu);
      mem.writeBytes(
        FPU_STUB_ADDR,
        Uint8Array.of(0xdd, 0x25, ...le32(FPU_IMAGE_ADDR), 0xdd, 0x35, ...le32(FPU_OUT_ADDR)),
      );
      this.setupState(c, FPU_STUB_ADDR);
      const err = this.runTo(FPU_STUB_ADDR + 6);
      if (err !== undefined || this.fault !== undefined)
        return this.failed(`x87 prologue (FRSTOR): ${err ?? `exception ${this.fault?.vector}`}`);
    } else {
      cpu.fpu.reset();
    }
    this.setupState(c, CODE_ADDR);
    const end = CODE_ADDR + c.code.length;
    const err = this.runTo(end);
    if (err !== undefined) return this.failed(err);
    const fault = this.fault as Fault | undefined;
    let fpu: Uint8Array | undefined;
    if (c.fpu !== undefined) {
      const saved = { regs: Array.from(cpu.regs), eflags: cpu.getEflags(), eip: cpu.eip };
      cpu.eip = FPU_STUB_ADDR + 6;
      const e2 = this.runTo(FPU_STUB_ADDR + 12);
      if (e2 !== undefined || this.fault !== undefined)
        return this.failed(`x87 epilogue (FNSAVE): ${e2 ?? `exception ${this.fault?.vector}`}`);
      fpu = mem.readBytes(FPU_OUT_ADDR, 108);
      for (let i = 0; i < 8; i++) cpu.regs[i] = saved.regs[i]!;
      cpu.eip = saved.eip;
    }
    const region = mem.readBytes(REGION_ADDR, REGION_SIZE);
    if (fault !== undefined) {
      return {
        vector: fault.vector,
        errorCode: fault.errorCode,
        regs: fault.regs,
        eflags: fault.eflags,
        eip: fault.eip,
        region,
        ...(fpu !== undefined ? { fpu } : {}),
      };
    }
    return {
      vector: -1,
      errorCode: 0,
      regs: Array.from(cpu.regs, (r) => r >>> 0),
      eflags: cpu.getEflags() >>> 0,
      eip: cpu.eip >>> 0,
      region,
      ...(fpu !== undefined ? { fpu } : {}),
    };
  }

  private failed(error: string): CaseOutcome {
    return { vector: -1, errorCode: 0, regs: [], eflags: 0, eip: 0, region: new Uint8Array(0), error };
  }
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
