/**
 * Differential fixture for the binary translator: the same guest state and code in two
 * vCPUs (full system layer and paging unit, createCpu), one run by the interpreter and one by
 * the translator, driven by the same sequence of run(budget) calls and compared after each:
 * registers, EIP, EFLAGS, segment caches, control registers, retired instructions, the
 * exits the monitor saw, the exceptions raised (with the state they left) and all of RAM.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryTranslator, type TranslatorOptions } from "../src/cpu/bt/translator.js";
import type { Cpu } from "../src/cpu/cpu.js";
import { createCpu } from "../src/cpu/create.js";
import { Interpreter } from "../src/cpu/interp/interpreter.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import type { CpuEngine } from "../src/vmm/engine.js";
import type { ExitHandler, VmExit } from "../src/vmm/exit.js";
import { ExitReason } from "../src/vmm/exit-reason.js";

export interface FaultRecord {
  vector: number;
  errorCode: number;
  eip: number;
  regs: number[];
  eflags: number;
  retired: number;
  cr2: number;
}

/** Exit handler: IN returns a counter, MMIO reads return a counter too, HLT stops, CPUID answers. */
export class TwinHandler implements ExitHandler {
  readonly exits: string[] = [];
  engine: CpuEngine | undefined;
  private counter = 0x1234;
  handleExit(x: VmExit): void {
    const cpu = this.engine!.cpu;
    this.exits.push(
      `${x.reason}:${x.address >>> 0}:${x.size}:${x.write ? 1 : 0}:${x.value >>> 0}:${x.instructionPointer >>> 0}@${cpu.instructionsRetired}`,
    );
    if ((x.reason === ExitReason.IO_INSTRUCTION || x.reason === ExitReason.EPT_VIOLATION) && !x.write) {
      x.value = this.counter++;
    }
    if (x.reason === ExitReason.CPUID) {
      cpu.regs[0] = 0x11;
      cpu.regs[3] = 0x22;
      cpu.regs[1] = 0x33;
      cpu.regs[2] = 0x44;
    }
    if (x.reason === ExitReason.HLT) this.engine!.requestStop();
  }
}

/** Exceptions are recorded (with the precise state) and stop the run instead of being delivered. */
class RecordingInterpreter extends Interpreter {
  readonly faults: FaultRecord[] = [];
  protected override deliverFault(): void {
    this.faults.push(faultOf(this.cpu));
    this.requestStop();
  }
}
export class RecordingTranslator extends BinaryTranslator {
  readonly faults: FaultRecord[] = [];
  protected override deliverFault(): void {
    this.faults.push(faultOf(this.cpu));
    this.requestStop();
  }
}

function faultOf(c: Cpu): FaultRecord {
  return {
    vector: c.faultVector,
    errorCode: c.faultHasErrorCode ? c.faultErrorCode : -1,
    eip: c.eip >>> 0,
    regs: Array.from(c.regs, (r) => r >>> 0),
    eflags: c.getEflags() >>> 0,
    retired: c.instructionsRetired,
    cr2: c.cr2 >>> 0,
  };
}

export interface Side {
  cpu: Cpu;
  mem: GuestMemory;
  engine: RecordingInterpreter | RecordingTranslator;
  handler: TwinHandler;
}

export type Setup = (cpu: Cpu, mem: GuestMemory) => void;

/** Flat 4 GiB segments, CPL 0, protected mode without paging, ESP 0x8000, code at `at`. */
export function flat32(code: readonly number[], at = 0x1000): Setup {
  return (cpu, mem) => {
    cpu.cr0 = 0x11;
    for (let s = 0; s < 6; s++) {
      cpu.segBase[s] = 0;
      cpu.segLimit[s] = -1;
      cpu.segAccess[s] = s === 1 ? 0xcf9b : 0xcf93;
      cpu.segSel[s] = s === 1 ? 8 : 16;
    }
    cpu.setEflags(2);
    cpu.eip = at;
    cpu.regs[4] = 0x8000;
    mem.writeBytes(at, Uint8Array.from(code));
  };
}

/** Identity-map the first `mib4` 4 MiB pages with PSE (CR4.PSE, PDE.PS) and turn paging on. */
export function withPaging(setup: Setup, mib4 = 1, pd = 0x20000): Setup {
  return (cpu, mem) => {
    setup(cpu, mem);
    for (let k = 0; k < mib4; k++) mem.write32(pd + 4 * k, (k << 22) | 0x83);
    cpu.cr3 = pd;
    cpu.cr4 |= 0x10;
    cpu.cr0 = cpu.cr0 | 0x8000_0001 | 0;
  };
}

function side(kind: "interp" | "bt", setup: Setup, memSize: number, opts: TranslatorOptions): Side {
  const mem = new GuestMemory(memSize);
  const handler = new TwinHandler();
  const cpu = createCpu(mem, handler);
  const engine = kind === "bt" ? new RecordingTranslator(cpu, opts) : new RecordingInterpreter(cpu);
  handler.engine = engine;
  setup(cpu, mem);
  return { cpu, mem, engine, handler };
}

export function snapshot(s: Side): Record<string, unknown> {
  const c = s.cpu;
  return {
    regs: Array.from(c.regs, (r) => (r >>> 0).toString(16)),
    eip: (c.eip >>> 0).toString(16),
    eflags: (c.getEflags() >>> 0).toString(16),
    segSel: Array.from(c.segSel),
    segBase: Array.from(c.segBase),
    segLimit: Array.from(c.segLimit),
    segAccess: Array.from(c.segAccess),
    cr: [c.cr0, c.cr2, c.cr3, c.cr4].map((v) => (v >>> 0).toString(16)),
    cpl: c.cpl,
    retired: c.instructionsRetired,
    halted: c.halted,
    shutdown: c.shutdown,
    shadow: c.interruptShadow,
    exits: s.handler.exits.join(" "),
    faults: JSON.stringify(s.engine.faults),
    ram: createHash("md5").update(s.mem.readBytes(0, s.mem.size)).digest("hex"),
  };
}

export class Twin {
  readonly a: Side;
  readonly b: Side;
  constructor(setup: Setup, opts: TranslatorOptions = { hotThreshold: 0 }, memSize = 0x200000) {
    this.a = side("interp", setup, memSize, {});
    this.b = side("bt", setup, memSize, opts);
  }
  get bt(): RecordingTranslator {
    return this.b.engine as RecordingTranslator;
  }
  /** Run both with the same budget and require identical state afterwards. */
  run(budget: number, what = ""): void {
    const ra = this.a.engine.run(budget);
    const rb = this.b.engine.run(budget);
    assert.equal(rb, ra, `${what}: stop reason`);
    this.same(`${what} after run(${budget})`);
  }
  same(what: string): void {
    assert.deepEqual(snapshot(this.b), snapshot(this.a), what);
  }
  /** Apply a change (a host write standing for DMA, a test's poke) to both sides. */
  both(f: (s: Side) => void): void {
    f(this.a);
    f(this.b);
  }
  /** Run until both stop on their own (HLT or an exception), in slices of `slice`. */
  runToStop(slice = 1_000_000, max = 50): void {
    for (let k = 0; k < max && !this.a.cpu.halted && this.a.engine.faults.length === 0; k++) {
      this.run(slice, `slice ${k}`);
      if (this.a.cpu.iStop) break;
    }
  }
}

export function le32(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
}
export function le16(v: number): number[] {
  return [v & 255, (v >>> 8) & 255];
}

/**
 * Assemble Intel-syntax code with binutils (as the guests are built: `as --32`, `ld -m
 * elf_i386`), linked at `at`, and return its bytes.
 */
export function asm(src: string, at: number, code16 = false): number[] {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-bt-asm-"));
  try {
    const s = join(dir, "a.S");
    writeFileSync(s, `.intel_syntax noprefix\n${code16 ? ".code16" : ".code32"}\n.text\n${src}\n`);
    execFileSync("as", ["--32", "-o", join(dir, "a.o"), s], { stdio: ["ignore", "pipe", "pipe"] });
    execFileSync(
      "ld",
      [
        "-m",
        "elf_i386",
        "-Ttext",
        `0x${at.toString(16)}`,
        "-e",
        "0",
        "-o",
        join(dir, "a.elf"),
        join(dir, "a.o"),
      ],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    execFileSync("objcopy", ["-O", "binary", "-j", ".text", join(dir, "a.elf"), join(dir, "a.bin")]);
    return Array.from(readFileSync(join(dir, "a.bin")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
