/**
 * A warm-up of V8's feedback for the binary translator's cold path, run once per process
 * before the guest starts, by `vmlab run`'s VM worker (vm-worker.ts) and the boot bench's
 * child (bench/boot-child.ts) when the engine is `bt`.
 *
 * Why: V8 optimises a function from the types it has seen, and an operation that has never
 * run (a case of the cold loop's switch, a condition code `condition` was never asked for, a
 * shift count form) becomes a deoptimisation point. A boot reaches such code for the first
 * time seconds in, and each time the cold loop (runPacked, a large function with its helpers
 * inlined) drops back to V8's baseline code until it is optimised again, behind the
 * translator's own WebAssembly compiles on the compiler thread. Two deterministic boots in one
 * process took 15.2 s and then 12.3 s: the second ran on warm feedback.
 *
 * What: a throwaway 2 MiB machine (built like the real one, so every object has the same
 * hidden class) runs a generated program through the translator's cold path, under paging,
 * at kernel-like addresses (2^31 and above): every packed instruction kind in its register
 * and memory forms, every condition code after every kind of flag-setting instruction (as
 * Jcc, SETcc and CMOVcc), accesses that cross a page, and a few common handler-run
 * instructions. Nothing of it touches the real machine: the guest sees nothing. Measured:
 * deopts in a deterministic boot 125 to 89 (the cold loop's 13 to 2). A longer program that
 * also ran INVLPG, MOV CR3, a store into its own code, a block across a page and a block
 * with two successors cut them to 78 but made boots ~2.5% slower (5 sequential pairs), so
 * it was not kept.
 */

import { applyEntryState, protectedModeEntry } from "../boot/entry.js";
import { CR0, CR4, EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP } from "../cpu/cpu.js";
import type { CpuEngine } from "../vmm/engine.js";
import { Machine, type MachineOptions } from "./machine.js";

/** Physical layout of the throwaway machine (linear = physical + KERNEL_BASE). */
const KERNEL_BASE = 0xc000_0000;
const PAGE_DIR = 0x1000;
const CODE = 0x10000;
const DATA = 0x80000;
const STACK_TOP = 0xf0000;
/** Passes over the program: enough for every operation to collect feedback a few times. */
const PASSES = 20;

/** A little x86 assembler for the program below (32-bit code, the encodings of SDM Vol. 2). */
class Emitter {
  readonly bytes: number[] = [];
  b(...xs: number[]): this {
    for (const x of xs) this.bytes.push(x & 0xff);
    return this;
  }
  d32(v: number): this {
    return this.b(v, v >> 8, v >> 16, v >> 24);
  }
  /** ModRM with a register operand. */
  rr(reg: number, rm: number): this {
    return this.b(0xc0 | (reg << 3) | rm);
  }
  /** ModRM for [ebx+disp8] (form 0) or [ebx+ecx*4+disp32] (form 1). */
  mem(reg: number, form: number, disp = 8): this {
    if (form === 0) return this.b(0x40 | (reg << 3) | 3, disp);
    return this.b(0x80 | (reg << 3) | 4, (2 << 6) | (1 << 3) | 3).d32(disp);
  }
}

/** The program at linear KERNEL_BASE + CODE: one pass, ending in a jump back to its start. */
export function warmUpProgram(): Uint8Array {
  const e = new Emitter();
  const dataLin = KERNEL_BASE + DATA;
  const movImm = (r: number, v: number): Emitter => e.b(0xb8 + r).d32(v);
  // Registers: EBX data, ECX a small index, EAX/EDX/ESI/EDI values that vary by pass.
  movImm(EBX, dataLin);
  movImm(ECX, 3);
  e.b(0x8b).mem(EAX, 0, 0x40); // mov eax, [ebx+0x40]: the pass counter
  e.b(0x40); // inc eax
  e.b(0x89).mem(EAX, 0, 0x40);
  e.b(0x8b).rr(EDX, EAX); // mov edx, eax
  e.b(0xc1).rr(4, EDX).b(29); // shl edx, 29: large and small values across passes
  e.b(0x8b).rr(ESI, EDX);
  e.b(0xf7).rr(3, ESI); // neg esi
  // Flag producers, each followed by every condition code as Jcc, SETcc and CMOVcc.
  const producers: (() => void)[] = [
    () => e.b(0x01).rr(EDX, EAX), // add eax, edx
    () => e.b(0x29).rr(ESI, EAX), // sub eax, esi
    () => e.b(0x39).rr(EDX, EAX), // cmp eax, edx
    () => e.b(0x21).rr(EDX, EAX), // and eax, edx
    () => e.b(0x09).rr(ESI, EAX), // or eax, esi
    () => e.b(0x31).rr(EDX, EAX), // xor eax, edx
    () => e.b(0x11).rr(EDX, EAX), // adc eax, edx
    () => e.b(0x19).rr(ESI, EAX), // sbb eax, esi
    () => e.b(0x40), // inc eax
    () => e.b(0x48), // dec eax
    () => e.b(0xc1).rr(4, EAX).b(3), // shl eax, 3
    () => e.b(0xc1).rr(5, EAX).b(1), // shr eax, 1
    () => e.b(0xd1).rr(7, EAX), // sar eax, 1
    () => e.b(0xf7).rr(3, EAX), // neg eax
    () => e.b(0x85).rr(EDX, EAX), // test eax, edx
    () => e.b(0x00).rr(EDX, EAX), // add al, dl
    () => e.b(0x3c).b(0x80), // cmp al, 0x80
    () => e.b(0x84).rr(EAX, EAX), // test al, al
    () => e.b(0x66, 0x01).rr(EDX, EAX), // add ax, dx
    () => e.b(0x83).mem(7, 0).b(5), // cmp dword [ebx+8], 5
    () => e.b(0x0f, 0xaf).rr(EAX, EDX), // imul eax, edx
    () => e.b(0x0f, 0xa3).rr(ECX, EAX), // bt eax, ecx
  ];
  for (const produce of producers) {
    for (let cc = 0; cc < 16; cc++) {
      produce();
      e.b(0x70 + cc, 0); // jcc +0: a block ends, either way to the next instruction
      produce();
      e.b(0x0f, 0x90 + cc).rr(0, EDI); // setcc bh (r/m 7 is BH)
      e.b(0x0f, 0x40 + cc).rr(EDI, EDX); // cmovcc edi, edx
    }
  }
  // Every fast-path form, register and memory operands.
  for (const form of [0, 1]) {
    for (let sub = 0; sub < 8; sub++) {
      e.b(0x01 + 8 * sub).rr(EDX, EAX); // alu eax, edx
      e.b(0x03 + 8 * sub).rr(EAX, ESI); // alu eax, esi (r, r/m)
      e.b(0x03 + 8 * sub).mem(EAX, form); // alu eax, [m]
      e.b(0x01 + 8 * sub).mem(EDX, form); // alu [m], edx
      e.b(0x83).rr(sub, EAX).b(7); // alu eax, imm8
      e.b(0x81).rr(sub, ESI).d32(0x12345); // alu esi, imm32
      e.b(0x81).mem(sub, form).d32(0x1111); // alu dword [m], imm32
      e.b(0x05 + 8 * sub).d32(0x7f); // alu eax, imm32
      e.b(0x04 + 8 * sub).b(9); // alu al, imm8
      e.b(0x00 + 8 * sub).rr(EDX, EAX); // alu al, dl
      e.b(0x80).rr(sub, EAX).b(3); // alu al, imm8 (80 /sub)
      e.b(0x80).mem(sub, form).b(3); // alu byte [m], imm8
    }
    for (const sub of [0, 1, 4, 5, 7]) {
      e.b(0xc1).rr(sub, EDX).b(5); // rotate/shift edx, imm8
      e.b(0xd1).rr(sub, ESI); // by 1
      e.b(0xd3).rr(sub, EDI); // by cl
      e.b(0xc1).rr(sub, EAX).b(3);
      e.b(0x85).rr(EAX, EDI); // test: the shift's flags live
    }
    e.b(0x8b).rr(EAX, EDX); // mov eax, edx
    e.b(0x89).rr(EDX, ESI); // mov esi, edx
    e.b(0x8b).mem(EAX, form); // mov eax, [m]
    e.b(0x89).mem(ESI, form); // mov [m], esi
    e.b(0x8b).mem(EAX, 0, 0xfe).b(0x89).mem(EAX, 0, 0xfe); // [ebx-2]: across a page
    e.b(0x39).rr(EDX, EAX).b(0x39).mem(EDX, form); // cmp r/m, r
    e.b(0x85).rr(EDX, EAX).b(0x84).rr(EDX, EAX); // test r32, test r8
    e.b(0x38).rr(EDX, EAX); // cmp al, dl
    e.b(0x8d).mem(EAX, form); // lea
    e.b(0x0f, 0xb6).rr(EAX, EDX).b(0x0f, 0xb6).mem(EAX, form); // movzx r32, r/m8
    e.b(0x0f, 0xb7).rr(EAX, EDX).b(0x0f, 0xb7).mem(EAX, form); // movzx r32, r/m16
    e.b(0x0f, 0xbe).rr(EAX, EDX).b(0x0f, 0xbf).mem(EAX, form); // movsx
    e.b(0xc7).mem(0, form).d32(0x55aa); // mov dword [m], imm32
    e.b(0xc7).rr(0, EDI).d32(9); // mov edi, imm32 (c7)
    e.b(0x88).rr(EDX, EAX).b(0x88).mem(EDX, form); // mov r/m8, r8
    e.b(0x66, 0x89).rr(EDX, EAX).b(0x66, 0x89).mem(EDX, form); // mov r/m16, r16
    e.b(0xc6).rr(0, EAX).b(7).b(0xc6).mem(0, form).b(7); // mov r/m8, imm8
    e.b(0xa1).d32(dataLin + 0x20); // mov eax, [moffs]
    e.b(0x0f, 0x44).rr(EAX, EDX).b(0x0f, 0x45).mem(EAX, form); // cmov r, r/m
    e.b(0xf6).rr(0, EAX).b(1).b(0xf6).mem(0, form).b(1); // test r/m8, imm8
    e.b(0xf7).rr(0, EAX).d32(1).b(0xf7).mem(0, form).d32(1); // test r/m32, imm32
    e.b(0xa9).d32(3).b(0xa8, 3); // test eax, imm32; test al, imm8
    e.b(0xf7).rr(2, EDX).b(0xf7).rr(3, EDX); // not, neg
    e.b(0xff).mem(0, form).b(0xff).mem(1, form); // inc/dec dword [m]
    e.b(0x42, 0x4a); // inc/dec edx
    e.b(0x50 + EDX, 0x58 + EDX); // push/pop edx
    e.b(0x68)
      .d32(5)
      .b(0x58 + EAX); // push imm32; pop eax
    e.b(0xff)
      .mem(6, form)
      .b(0x58 + EAX); // push dword [m]; pop eax
    e.b(0x55).b(0x8b).rr(EBP, ESP).b(0x83).rr(5, ESP).b(16).b(0xc9); // push ebp; mov ebp, esp; sub esp, 16; leave
    e.b(0x90); // nop
    e.b(0x0f, 0xaf).mem(EAX, form); // imul eax, [m]
    e.b(0xf7).rr(4, EDX); // mul edx
    e.b(0x99); // cdq
    e.b(0x87).rr(EDX, EAX).b(0x87).mem(EDX, form); // xchg
    e.b(0x0f, 0xb1).mem(EDX, form); // cmpxchg [m], edx
    e.b(0x0f, 0xbc).rr(EAX, EDX).b(0x0f, 0xbd).rr(EAX, ESI); // bsf, bsr
    // A call and its return, a jump.
    e.b(0xe8).d32(2).b(0xeb, 1).b(0xc3); // call +2 (to the ret); jmp +1 (over it)
    e.b(0xe9).d32(0); // jmp rel32 +0
  }
  // Accesses that cross a page (the slow paths of the memory helpers).
  e.b(0x8b)
    .mem(EAX, 1, 0xffe - 12)
    .b(0x89)
    .mem(EAX, 1, 0xffe - 12);
  e.b(0x0f, 0xb7).mem(EAX, 0, 0x7f).b(0x66, 0x89).mem(EAX, 0, 0x7f);
  // String instructions: ESI, EDI into the data area, small counts.
  movImm(ESI, dataLin + 0x100);
  movImm(EDI, dataLin + 0x200);
  movImm(ECX, 8);
  e.b(0xf3, 0xa5); // rep movsd
  movImm(ECX, 8);
  e.b(0xf3, 0xab); // rep stosd
  movImm(ECX, 5);
  e.b(0xf3, 0xa4); // rep movsb
  e.b(0xa5, 0xab, 0xa4, 0xaa); // movsd, stosd, movsb, stosb
  e.b(0xfc); // cld
  // Back to the start.
  const back = -(e.bytes.length + 5);
  e.b(0xe9).d32(back);
  return Uint8Array.from(e.bytes);
}

export interface WarmUpResult {
  /** Passes over the program completed (the program counts them in memory). */
  readonly passes: number;
  readonly instructions: number;
  /** How the engine's run ended (StopReason). */
  readonly stop: number;
  /** Whether the throwaway CPU shut down (a fault it could not deliver): a bad program. */
  readonly shutdown: boolean;
  /** The throwaway machine's engine (its block cache shows what the program covered). */
  readonly engine: CpuEngine;
}

let warmedUp = false;

/**
 * Run the warm-up once in this process (later calls return undefined), with the translator
 * options of the machine to come, so that the translator objects have the same shape.
 */
export function warmUpTranslator(options: Pick<MachineOptions, "translator">): WarmUpResult | undefined {
  if (warmedUp) return undefined;
  warmedUp = true;
  const m = new Machine({
    memoryMiB: 2,
    engine: "bt",
    time: "deterministic",
    translator: { ...options.translator, hotThreshold: 1 << 30 },
  });
  const cpu = m.cpu;
  const ram = new DataView(m.memory.buffer);
  // Page directory: 4 MiB pages, 0 and KERNEL_BASE both mapped to physical 0 (SDM Vol. 3A 4.3).
  ram.setUint32(PAGE_DIR, 0x83, true);
  ram.setUint32(PAGE_DIR + (KERNEL_BASE >>> 22) * 4, 0x83, true);
  const program = warmUpProgram();
  new Uint8Array(m.memory.buffer, CODE, program.length).set(program);
  // Flat 32-bit protected mode at CPL 0, as the boot protocol enters a kernel, then paging on.
  applyEntryState(cpu, protectedModeEntry(KERNEL_BASE + CODE, 0, 0, KERNEL_BASE + STACK_TOP));
  cpu.cr3 = PAGE_DIR;
  cpu.cr4 |= CR4.PSE;
  cpu.cr0 = cpu.cr0 | CR0.PG | 0;
  cpu.tlbEpoch = (cpu.tlbEpoch + 1) | 0;
  // About PASSES passes (a pass retires about 2 400 instructions).
  const stop = m.engine.run(PASSES * 2400);
  return {
    passes: ram.getUint32(DATA + 0x40, true),
    instructions: cpu.instructionsRetired,
    stop,
    shutdown: cpu.shutdown,
    engine: m.engine,
  };
}
