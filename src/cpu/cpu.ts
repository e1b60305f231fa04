/**
 * The architectural state of one i686 vCPU and the memory-access paths every engine
 * shares. Field layout is a contract between the interpreter (src/cpu/interp/), the
 * system layer (src/cpu/system/), the MMU (src/mmu/) and the x87 unit (src/cpu/x87/).
 *
 * Registers live in typed arrays so that the decoder can index them by ModRM number:
 *   regs[0..7]  = EAX ECX EDX EBX ESP EBP ESI EDI  (Int32Array)
 *   reg16[i*2]  = AX .. DI   (Uint16Array view of the same bytes, little-endian)
 *   reg8[REG8_INDEX[i]] = AL CL DL BL AH CH DH BH (Uint8Array view)
 *
 * Segment registers are indexed in encoding order (SDM Vol. 2A 3.1.1.3 "sreg"):
 *   ES=0 CS=1 SS=2 DS=3 FS=4 GS=5. Each has a hidden descriptor cache
 * (SDM Vol. 3A 3.4.3): base, limit (already scaled by the G bit, so a byte limit),
 * and the access-rights bits 8..23 of the descriptor's high dword (type, S, DPL, P,
 * AVL, L, D/B, G) stored as `segAccess`.
 */

import type { GuestMemory } from "../memory/guest-memory.js";
import { STATE_OFF } from "../memory/wasm-layout.js";
import type { ExitHandler } from "../vmm/exit.js";
import { VmExit } from "../vmm/exit.js";
import type { FaultSink } from "./fault.js";

/**
 * The initial value of a number field that will hold values beyond the small integers (31
 * bits and sign): EIPs and linear addresses of 2^31 and above (a Linux kernel's), counts past
 * 2^31. Zero as a double: -0 is not a small integer. V8 picks a field's representation from
 * the first value stored. A field started at 0 is a small-integer field, and the first larger
 * value turns it into a double field, which gives the object a new hidden class and
 * deoptimises every optimised function that had seen the old one ("wrong map"). A Cpu's
 * eip, insnEip, instructionsRetired and iRepBudget did that during a boot, and with them
 * BtBlock.eip: about 100 deoptimisations. The constructor then stores +0, which leaves a
 * double field a double field.
 */
export const DOUBLE_FIELD = -0;

export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;

export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;

/** ModRM 8-bit register number -> byte index in `reg8` (AL CL DL BL AH CH DH BH). */
export const REG8_INDEX: readonly number[] = [0, 4, 8, 12, 1, 5, 9, 13];

/** EFLAGS bits, SDM Vol. 1 3.4.3. */
export const Flag = {
  CF: 1 << 0,
  FIXED1: 1 << 1,
  PF: 1 << 2,
  AF: 1 << 4,
  ZF: 1 << 6,
  SF: 1 << 7,
  TF: 1 << 8,
  IF: 1 << 9,
  DF: 1 << 10,
  OF: 1 << 11,
  IOPL: 3 << 12,
  NT: 1 << 14,
  RF: 1 << 16,
  VM: 1 << 17,
  AC: 1 << 18,
  VIF: 1 << 19,
  VIP: 1 << 20,
  ID: 1 << 21,
} as const;

/** The six arithmetic status flags. */
export const ARITH_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/** CR0 bits, SDM Vol. 3A 2.5. */
export const CR0 = {
  PE: 1 << 0,
  MP: 1 << 1,
  EM: 1 << 2,
  TS: 1 << 3,
  ET: 1 << 4,
  NE: 1 << 5,
  WP: 1 << 16,
  AM: 1 << 18,
  NW: 1 << 29,
  CD: 1 << 30,
  PG: 1 << 31,
} as const;

/** CR4 bits, SDM Vol. 3A 2.5. */
export const CR4 = {
  VME: 1 << 0,
  PVI: 1 << 1,
  TSD: 1 << 2,
  DE: 1 << 3,
  PSE: 1 << 4,
  PAE: 1 << 5,
  MCE: 1 << 6,
  PGE: 1 << 7,
  PCE: 1 << 8,
  OSFXSR: 1 << 9,
} as const;

/** Memory access kinds for translation (page-fault error code bit 1 is `write`). */
export const Access = { READ: 0, WRITE: 1, FETCH: 2 } as const;
export type AccessKind = (typeof Access)[keyof typeof Access];

/** Segment access-rights bits as stored in `segAccess` (descriptor high dword >> 8). */
export const SegAttr = {
  /** Type field (4 bits): bit 0 accessed, bit 1 R/W, bit 2 C/E, bit 3 code. */
  TYPE_MASK: 0xf,
  ACCESSED: 1 << 0,
  RW: 1 << 1,
  CONFORMING_OR_EXPAND_DOWN: 1 << 2,
  CODE: 1 << 3,
  /** S: 1 for code/data, 0 for system descriptors. */
  S: 1 << 4,
  DPL_SHIFT: 5,
  P: 1 << 7,
  AVL: 1 << 12,
  DB: 1 << 14,
  G: 1 << 15,
} as const;

/** The x87 unit owns its state (src/cpu/x87/); the CPU only holds it. */
export interface X87Unit {
  /** FNINIT state (also the power-on state). */
  reset(): void;
  /**
   * Execute one x87 escape instruction (opcodes D8..DF). `modrm` is the ModRM byte; when
   * mod != 3, `seg`:`offset` is the decoded memory operand (segment override applied,
   * offset already masked to the address size). `opSize32` is the operand size, which
   * selects the FNSTENV/FLDENV/FNSAVE/FRSTOR layout (SDM Vol. 1 8.1.10, Figs. 8-9..8-12).
   * Raises #NM when CR0.EM or CR0.TS says so (SDM Vol. 3A 2.5, Table 2-2).
   */
  execute(opcode: number, modrm: number, seg: number, offset: number, opSize32: boolean): void;
  /** WAIT/FWAIT (9B): #NM if CR0.MP and CR0.TS; #MF / IRQ13 if an unmasked exception is pending. */
  fwait(): void;
}

/** Translation from linear to physical addresses (src/mmu/). */
export interface LinearTranslator {
  /**
   * Translate a linear address for an access by the current privilege level, raising
   * #PF (with CR2 and the error code set) on failure. Returns the physical address.
   * `user` is true for CPL 3 accesses that are subject to U/S checks.
   */
  translate(linear: number, access: AccessKind, user: boolean): number;
  /**
   * True when the translation translate() last returned is global (PTE.G under CR4.PGE),
   * which MOV CR3 keeps (SDM Vol. 3A 4.10.2.4).
   */
  readonly lastGlobal: boolean;
  /** Drop all non-global TLB entries (MOV CR3) or all of them (`includingGlobal`). */
  flush(includingGlobal: boolean): void;
  /**
   * INVLPG: drop the entry for one linear page. Returns true when that page lay in a 4 MiB
   * page, whose whole entry went (SDM Vol. 3A 4.10.4.1).
   */
  invalidatePage(linear: number): boolean;
}

/** A cpu.tlbDropPages record: MOV CR3 dropped every non-global translation (SDM Vol. 3A 4.10.4.1). */
export const TLB_DROP_NON_GLOBAL = 0x100000;

export class Cpu implements FaultSink {
  // ---- general registers -------------------------------------------------------------
  // They live at the start of the memory's CPU area (memory/wasm-layout.ts), where the
  // translator's WebAssembly code reads and writes them.
  readonly regs: Int32Array;
  readonly reg16: Uint16Array;
  readonly reg8: Uint8Array;
  /** Offset of the next instruction within CS (a double field: DOUBLE_FIELD). */
  eip = DOUBLE_FIELD;

  /**
   * EFLAGS. The interpreter may keep the arithmetic flags lazily; everyone else reads
   * and writes EFLAGS only through `getEflags()` / `setEflags()`, which the interpreter's
   * flag module installs (see src/cpu/interp/flags.ts). Bit 1 always reads as 1.
   */
  eflags = Flag.FIXED1;
  getEflags: () => number = () => this.eflags | Flag.FIXED1;
  setEflags: (value: number) => void = (value) => {
    this.eflags = (value & 0x003f_7fd5) | Flag.FIXED1;
  };

  // ---- segment registers and their descriptor caches ---------------------------------
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  /** Byte limit (G already applied), unsigned: compare with `>>> 0`. */
  readonly segLimit = new Int32Array(6);
  readonly segAccess = new Int32Array(6);
  /** Current privilege level (CS.RPL in protected mode, 0 in real mode, 3 in vm86). */
  cpl = 0;

  // ---- descriptor tables -------------------------------------------------------------
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0x3ff;
  ldtrSel = 0;
  ldtrBase = 0;
  ldtrLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  /** TR access rights (type 9/11 = 32-bit TSS available/busy). */
  trAccess = 0;

  // ---- control and debug registers ---------------------------------------------------
  cr0 = CR0.ET | CR0.CD | CR0.NW;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);

  // ---- model-specific registers the CPU itself uses (the monitor owns the rest) ------
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** Added to the virtual time base to form the TSC (IA32_TIME_STAMP_COUNTER writes). */
  tscOffset = 0n;

  /**
   * Exceptions whose delivery is reported to the monitor first as an EXCEPTION_NMI exit
   * (the VT-x exception bitmap, SDM Vol. 3C 24.6.3). Bit n = vector n.
   */
  exceptionBitmap = 0;
  /** The CPU is shut down after a triple fault until the monitor resets it. */
  shutdown = false;

  // ---- execution state ---------------------------------------------------------------
  /** Set by HLT; cleared when an interrupt is delivered. */
  halted = false;
  /**
   * Interrupt shadow (SDM Vol. 3A 6.8.3): nonzero for the one instruction after STI
   * (when it set IF) and after MOV SS / POP SS. External interrupts are not taken
   * while it is set.
   */
  interruptShadow = 0;
  /** Instructions retired since reset (the deterministic clock counts these). */
  instructionsRetired = DOUBLE_FIELD;

  // ---- the exception being raised (written by fault.raise) ---------------------------
  faultVector = -1;
  faultErrorCode = 0;
  faultHasErrorCode = false;

  // ---- collaborators -----------------------------------------------------------------
  /** The reused exit record; filled before every call to `exitHandler.handleExit`. */
  readonly exit = new VmExit();
  exitHandler: ExitHandler;
  readonly memory: GuestMemory;
  /** Installed by the engine's constructor: the paging unit (src/mmu/). */
  mmu!: LinearTranslator;
  /** Installed by the engine's constructor: the x87 unit (src/cpu/x87/). */
  fpu!: X87Unit;
  /** Virtual time base in TSC ticks; injected by the machine (real or deterministic). */
  readTimeBase: () => bigint = () => BigInt(this.instructionsRetired);

  // ---- interpreter-owned fields (src/cpu/interp/ adds its own below this line) -------
  /**
   * Lazy arithmetic flags (src/cpu/interp/flags.ts): the flags named in `lazyMask` are
   * computed on demand from the last flag-setting operation (`lfOp` on `lfA`, `lfB` giving
   * `lfRes`, `lfBits` wide); the others live in `eflags`.
   */
  lfA = 0;
  lfB = 0;
  lfRes = 0;
  lfOp = 0;
  lfBits = 32;
  lazyMask = 0;
  /**
   * The interpreter's software TLB (src/cpu/interp/mem.ts): linear page -> physical page | 1
   * (supervisor may use) | 2 (user may use); 0 = empty. Filled only from `mmu.translate`.
   * Anyone who changes a translation without MOV CR0/CR3/CR4 or INVLPG (e.g. a shadow MMU
   * write-protecting a page) bumps `tlbEpoch`; a translator that wants an access not to be
   * cached sets `tlbNoCache` during `translate`.
   */
  tlbRead: Int32Array = new Int32Array(0);
  tlbWrite: Int32Array = new Int32Array(0);
  tlbEpoch = 0;
  tlbNoCache = false;
  /**
   * The translations dropped since an engine last brought its caches in line with
   * `tlbEpoch` (each drop also bumps the epoch): a linear page number (INVLPG), -1 - region
   * for a 4 MiB region (INVLPG in a large page), or TLB_DROP_NON_GLOBAL (MOV CR3). When
   * every bump since `tlbDropBase` is one of these, an engine may drop just those instead of
   * everything (mem.ts tlbDropsOnly).
   */
  readonly tlbDropPages = new Int32Array(16);
  tlbDropCount = 0;
  tlbDropBase = 0;
  /** EIP and ESP at the start of the current instruction (precise exceptions). */
  insnEip = DOUBLE_FIELD;
  insnEsp = 0;
  /** Set to make the interpreter's inner loop return to its outer loop after this instruction. */
  iBreak = false;
  /** Set by requestStop(). */
  iStop = false;
  /** Instructions a REP string instruction may still run before it must yield. */
  iRepBudget = DOUBLE_FIELD;
  /** Physical address of the current read-modify-write operand, -1 for the slow path. */
  rmwPhys = 0;
  rmwOff = DOUBLE_FIELD;
  rmwSeg = 0;
  /** When set, RDTSC leaves the engine as an RDTSC exit (VT-x "RDTSC exiting"). */
  rdtscExiting = false;

  // ---- system-owned fields (src/cpu/system/ and src/mmu/ add their own below this line)
  /**
   * Set by the EXCEPTION_NMI exit handler to drop the exception it was told about: the
   * monitor resolved it (e.g. a shadow-paging fault) and does not re-inject it. Cleared
   * by the system layer before each such exit.
   */
  suppressException = false;

  constructor(memory: GuestMemory, exitHandler: ExitHandler) {
    const at = memory.cpuArea + STATE_OFF;
    this.regs = new Int32Array(memory.buffer, at, 8);
    this.reg16 = new Uint16Array(memory.buffer, at, 16);
    this.reg8 = new Uint8Array(memory.buffer, at, 32);
    this.memory = memory;
    this.exitHandler = exitHandler;
    // Zero, in the double fields DOUBLE_FIELD made.
    this.eip = 0;
    this.insnEip = 0;
    this.instructionsRetired = 0;
    this.iRepBudget = 0;
    this.rmwOff = 0;
  }

  // ---- small helpers everyone uses ---------------------------------------------------
  get protectedMode(): boolean {
    return (this.cr0 & CR0.PE) !== 0;
  }

  get pagingEnabled(): boolean {
    return (this.cr0 & CR0.PG) !== 0;
  }

  get v86Mode(): boolean {
    return (this.eflags & Flag.VM) !== 0;
  }

  /** CS.D: default operand and address size 32 (SDM Vol. 3A 3.4.5). */
  get codeSize32(): boolean {
    return (this.segAccess[CS]! & SegAttr.DB) !== 0;
  }

  /** SS.B: the stack pointer is ESP rather than SP. */
  get stackSize32(): boolean {
    return (this.segAccess[SS]! & SegAttr.DB) !== 0;
  }
}
