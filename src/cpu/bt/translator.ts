/**
 * The binary translator engine (`--cpu bt`): guest code is translated, one basic block at a
 * time, into JavaScript functions (codegen.ts) that V8 compiles to machine code, kept in a
 * translation cache keyed by the block's physical address and CS.D, and chained so that hot
 * paths go from block to block without a cache lookup (a block's successors are remembered
 * and re-validated by two compares) or, for a block that jumps back to itself, without
 * leaving its function at all. JavaScript has no tail calls, so a block cannot jump into its
 * successor's code the way a machine-code translator patches a jump; the run loop below is
 * the trampoline that follows the chain.
 *
 * The translator reuses the interpreter's decoder, its block boundaries and its handlers:
 * a block covers exactly the instructions the interpreter's block at that address covers
 * (interpreter.ts: up to 32 instructions, ending at a control transfer, a system
 * instruction, a page end, or where decoding the next instruction would fault), and it
 * retires them the way the interpreter does (the whole block's count at its exit, the
 * instructions before a faulting one on an exception). Because the Machine ends every slice
 * at an exact instruction count, the same counts mean that interrupts are taken at the same
 * architectural points, and exit handlers and the deterministic clock observe the same
 * instruction counts: `--time deterministic` runs are identical under both engines.
 *
 * What the translation depends on: the physical bytes (validated on every entry by
 * GuestMemory's per-page code generation, which any write to a page holding translated code
 * bumps: self-modifying and cross-modified code, DMA included), CS.D (part of the key) and
 * the start EIP (a constant in the code; a block reached at another EIP is retranslated).
 * Everything else (segment state, paging, CPL) is checked at run time by the emitted code,
 * exactly as the interpreter's fast paths check it.
 *
 * Cold code is not worth translating (a translation costs ~50-100 us of V8 parsing and
 * compiling): a block runs through the interpreter's handlers until it has been entered
 * `hotThreshold` times (user code: `hotThresholdUser`), long blocks counting more
 * (HOT_WEIGHT_SHIFT). A budget tail (a block longer than the instructions left in the
 * slice) and single steps (interrupt shadow, TF) run the same handlers, or, with
 * `translateTails`, a counted variant of the translation
 * (used by the differential tests so that every instruction form is exercised translated
 * even with a budget of 1).
 *
 * Adaptive retranslation (Adams & Agesen 3.3): an inline load or store that keeps reaching
 * MMIO (each time through the soft TLB's slow path and a VM exit) gets its block
 * retranslated with that instruction as a direct callout.
 */

import { setFlagsFromString } from "node:v8";
import type { CpuEngine, StopReasonCode } from "../../vmm/engine.js";
import { StopReason } from "../../vmm/engine.js";
import { ExitReason } from "../../vmm/exit-reason.js";
import { Access, type Cpu, CS, DOUBLE_FIELD, Flag, TLB_DROP_NON_GLOBAL } from "../cpu.js";
import { CPU_FAULT, raise } from "../fault.js";
import {
  decode,
  decodedEnd,
  END_OF_BLOCK,
  fetchBegin,
  fetchPhys2,
  fUncacheable,
  fUsedPage2,
} from "../interp/decoder.js";
import {
  condition,
  getCF,
  installFlagAccessors,
  lazyAdd,
  lazyLogic,
  lazyResultWith,
  lazySub,
} from "../interp/flags.js";
import { type Handler, Insn } from "../interp/insn.js";
import {
  adjustSp,
  dropTlbPages,
  flushTlb,
  initTlb,
  pop32,
  push32,
  ramWrite8,
  ramWrite16,
  ramWrite32,
  rd8,
  rd16,
  rd32,
  rmwRead32,
  rmwWrite32,
  type SoftTlb,
  stackRead32,
  tlbDropsOnly,
  tlbNoteFetch,
  useTlb,
  wr8,
  wr16,
  wr32,
} from "../interp/mem.js";
import * as C from "../interp/ops-control.js";
import { simpleExit, ud } from "../interp/ops-system.js";
import { deliverException, deliverExternalInterrupt, resetCpu } from "../system/index.js";
import { CALLOUT_KINDS, type CalloutKind } from "./callouts.js";
import { type BlockInput, generateBlock, generateRegion } from "./codegen.js";
import { PackedArena, packBlock, runPacked } from "./cold-runner.js";
import { generateWasmRegion, HandlerTable, type WasmRegionCode } from "./wasm-codegen.js";
import { WasmBackend } from "./wasm-glue.js";

/**
 * V8 never optimises a function whose bytecode exceeds --max-optimized-bytecode-size (60 KiB
 * by default): such a region would run in V8's bytecode interpreter forever, 3x slower than
 * the cold loop (measured: the decompressor boot went from 15 s to 48 s when flag stores on
 * block exits pushed its hottest regions over). Regions are bounded (REGION_INSNS), so
 * allowing 256 KiB keeps every region optimisable.
 */
setFlagsFromString("--max-optimized-bytecode-size=262144");

/** Same block size limit as the interpreter (interpreter.ts MAX_BLOCK): the boundaries must match. */
const MAX_BLOCK = 32;
/**
 * The block cache: 2^18 slots in sets of two (2-way set associative), indexed by a
 * multiplicative hash of the physical address. It was direct-mapped on a weaker hash, and a
 * Debian boot re-decoded 111 K blocks evicted by a colliding one, most of them in a few
 * pairs of hot blocks that evicted each other on every entry (22 K times for one pair on
 * adjacent pages), each eviction losing the block's entry count, so such a block never got
 * hot enough to translate.
 */
const CACHE_BITS = 18;

/** The first slot of the cache set `phys` belongs in (the other is the next slot); exported for the tests. */
export function cacheSet(phys: number): number {
  return (Math.imul(phys, 0x9e3779b1) >>> (32 - CACHE_BITS)) & ~1;
}
/**
 * Block entries before translation (`hotThreshold`), each entry weighted by the block's
 * length (HOT_WEIGHT_SHIFT). A JavaScript translation pays for V8's compile and tier-up only
 * on the hottest code (measured on a Debian boot: at 200 and 2000 entries slower than the
 * interpreter, at 5000-20000 ~3-5% less main-thread CPU but 20-45% more total CPU in V8's
 * background compiles, at 50000 about even); a wasm one (compiled in batches by the baseline
 * compiler) already pays at a lower count (measured: scratch A/B of the decompressor boot).
 */
const DEFAULT_HOT = 50_000;
const DEFAULT_HOT_WASM = 20_000;
/** CS states whose chained links are kept apart (translator chainStamp): kernel, user, a few more. */
const CHAIN_STATE_BITS = 3;
const CHAIN_STATES = 1 << CHAIN_STATE_BITS;
const CHAIN_STATE_WORDS = 5;
/** Epochs wrap here, so that stamps stay small integers (translator bumpChainEpoch). */
const CHAIN_EPOCH_MASK = (1 << 27) - 1;
/** Entries of the translator's fetch-translation cache (a power of two). */
const FETCH_ENTRIES = 256;
/** A fetch-cache tag: the linear page, and 2 for a user-mode fetch (another walk's result). */
const fetchTag = (cpu: Cpu, linPage: number): number => linPage | (cpu.cpl === 3 ? 2 : 0);
/** MMIO accesses of one inline instruction before its block is retranslated with a callout. */
const MMIO_RETRANSLATE = 4;

export type BlockFn = (cpu: Cpu, left: number) => void;

/** A region's member, as translated (its records are bound by the translation). */
interface Member {
  readonly block: BtBlock;
  readonly eip: number;
  readonly insns: readonly Insn[];
  readonly inline: Uint8Array;
}

/** What a translation (`B` in the generated code) knows about its blocks. */
export class Region {
  /** Start EIP of the block that was running when the translation threw (set by its catch). */
  faultPc = -1;
  readonly members = new Map<number, Member>();
}

/** The wasm backend compiles this many queued regions into one module... */
const WASM_BATCH = 32;
/** ...or fewer, once a queued block has had this many more entries. */
const WASM_WAIT = 2000;
/**
 * A block of n instructions adds max(1, n >> HOT_WEIGHT_SHIFT) to its entry count: a cold
 * entry costs about in proportion to its instructions, and a translation's fixed costs
 * (region entry, dispatch) weigh less on a long block. A Debian boot calls the kernel's
 * blake2s_compress_generic (72 blocks, most of 32 instructions) ~16 K times, just short of
 * 20 000 entries per block, so its 34 M instructions all ran cold. Weighted (a 32-instruction
 * block is hot after 2 500 entries): cold block entries 33.9 M -> 25.9 M, boots faster in 7
 * of 10 sequential pairs (median B/A 0.94); a shift of 1 (hot after 1 250) translated 30%
 * more regions and was slower, one of 3 (5 000) about even.
 */
const HOT_WEIGHT_SHIFT = 2;

/** A region member as it was when queued for the wasm backend (its records, its code generation). */
interface QueuedMember {
  readonly block: BtBlock;
  readonly eip: number;
  readonly phys: number;
  readonly d32: number;
  readonly page: number;
  readonly gen: number;
  readonly page2: number;
  readonly gen2: number;
  readonly insns: Insn[];
}

/** Most blocks and instructions in one region. */
const REGION_BLOCKS = 24;
const REGION_INSNS = 320;

const NO_CALLOUTS: ReadonlySet<number> = new Set();
const NO_CODE = new Int32Array(0);

/**
 * A decoded block. Fields are declared (and so laid out by V8) in the order the dispatch
 * loop touches them: a lukewarm kernel boot enters ~35 M cold blocks, and the first touch of
 * each block object is a cache miss, so the fields every entry reads come first. EIPs are
 * kept as int32 keys too: a uint32 of 2^31 and above (a Linux kernel's code) is stored as a
 * heap number, one more pointer to follow.
 */
export class BtBlock {
  phys = -1;
  /** `eip | 0`, compared on every entry. */
  key = 0;
  page = 0;
  gen = 0;
  page2 = -1;
  gen2 = 0;
  n = 0;
  /** The region translation entered at this block, and that region. */
  fn: BlockFn | undefined = undefined;
  /** Entries so far, a long block's weighted (HOT_WEIGHT_SHIFT): hotness. */
  hits = 0;
  /** Decoded records; replaced, not reused, once a translation has bound them. */
  insns: Insn[] = [];
  /** The records packed for the cold loop (cold-runner.ts): an arena, the offset, the room. */
  code: Int32Array = NO_CODE;
  codeOff = 0;
  codeRoom = 0;
  region: Region | undefined = undefined;
  /** Chaining, as in the interpreter (interpreter.ts Block); link keys are `eip | 0`. */
  linkStamp = -1;
  nextKeyA = 0;
  nextPhysA = -1;
  nextA: BtBlock | undefined = undefined;
  nextKeyB = 0;
  nextPhysB = -1;
  nextB: BtBlock | undefined = undefined;
  /** The translator's ngStamp when the links were last checked, and which links lead to global pages. */
  linkNg = 0;
  globalA = false;
  globalB = false;
  d32 = 0;
  bytes = 0;
  /** The EIP the translation was made for (its instruction addresses are constants); set by build. */
  eip = DOUBLE_FIELD;
  bound = false;
  /** Waiting in the wasm backend's compile queue (translateWasmRegion). */
  queued = false;
  /** The counted single-block translation for budget tails, and its region record. */
  counted: BlockFn | undefined = undefined;
  countedRegion: Region | undefined = undefined;
  /** Adaptive retranslation: MMIO accesses per instruction, and the instructions made callouts. */
  mmio: Uint8Array | undefined = undefined;
  forced: Set<number> | undefined = undefined;
}

export interface TranslatorOptions {
  /**
   * Block entries before a block is translated (0: translate at first sight), for all code
   * unless `hotThresholdUser` is given. Default per backend (DEFAULT_HOT, DEFAULT_HOT_WASM).
   */
  readonly hotThreshold?: number;
  /** The same for blocks entered at CPL 3 (default: `hotThreshold` if given, else the backend's). */
  readonly hotThresholdUser?: number;
  /** Run budget tails and single steps through counted translations instead of the handlers. */
  readonly translateTails?: boolean;
  /**
   * What regions are translated into: "js" (codegen.ts, functions V8 optimises) or "wasm"
   * (wasm-codegen.ts, WebAssembly modules V8 compiles at once). Default "wasm".
   */
  readonly backend?: TranslatorBackend;
}

export type TranslatorBackend = "js" | "wasm";
export const TRANSLATOR_BACKENDS: readonly TranslatorBackend[] = ["js", "wasm"];

/** Translation-cache statistics (`translationStats()`), for `--stats`. */
export interface TranslationStats {
  /** Blocks translated (region members, retranslations and counted variants included). */
  readonly blocksTranslated: number;
  /** Region translations made (each one V8 function holding one or more blocks). */
  readonly regionsTranslated: number;
  /** Guest code bytes covered by those translations. */
  readonly guestBytesTranslated: number;
  /** Guest instructions covered by those translations. */
  readonly instructionsTranslated: number;
  /** Block entries that found a valid translated block (chained or from the cache). */
  readonly cacheHits: number;
  /** Block entries that ran a cold block through the handlers (not yet translated). */
  readonly coldEntries: number;
  /** Blocks decoded (first sight, invalidation or eviction). */
  readonly blocksDecoded: number;
  /** Cached blocks dropped because a write changed their code page (self-modifying or DMA). */
  readonly invalidations: number;
  /** Host time spent generating and compiling translations, in milliseconds. */
  readonly translateMs: number;
  /**
   * Callouts executed by translated code, by kind (callouts.ts). Cold blocks run the
   * interpreter's loop, where a sensitive instruction is its handler as in the interpreter.
   */
  readonly callouts: Readonly<Record<CalloutKind, number>>;
  /** Blocks retranslated because an instruction kept reaching MMIO (adaptive retranslation). */
  readonly retranslations: number;
  /** Wasm regions dropped because they were entered under the other CR0.PG than they were made for. */
  readonly modeMisses: number;
  /** MMIO accesses made by inline loads/stores (each one a trip through the slow path). */
  readonly mmioInline: number;
  /** Instructions retired inside translated code / through the handlers. */
  readonly instructionsInTranslations: number;
}

export class BinaryTranslator implements CpuEngine {
  readonly name = "bt";
  readonly cpu: Cpu;
  private readonly blocks: (BtBlock | undefined)[] = new Array(1 << CACHE_BITS).fill(undefined);
  private readonly tlb: SoftTlb;
  /** Entries before translation: of a block entered at CPL 0-2, at CPL 3. */
  private readonly hot: number;
  private readonly hotUser: number;
  private readonly translateTails: boolean;
  /**
   * Fetch translations (linear code page -> physical page) for `lookup`, direct-mapped by
   * linear page: tag = linear page | 2 for CPL 3; 1 (never a tag) marks an empty entry. Built
   * on the paging unit's translations, so cleared with the soft TLB (cpu.tlbEpoch).
   */
  private readonly fetchTag = new Int32Array(FETCH_ENTRIES).fill(1);
  private readonly fetchPage = new Int32Array(FETCH_ENTRIES);
  /**
   * Per linear page, the chain stamp under which a block on it was last looked up: chained
   * links made in the current epoch (chainStamp >> CHAIN_STATE_BITS) lead only to pages
   * looked up in it, so an INVLPG of any other page leaves them valid (execBlocks).
   */
  private readonly codeLinStamp = new Int32Array(1 << 20).fill(-1);
  /** Where cold blocks are packed (cold-runner.ts). */
  private readonly arena = new PackedArena();
  /** Per fetch-cache entry, 1 for a global translation (kept by MOV CR3). */
  private readonly fetchGlobal = new Uint8Array(FETCH_ENTRIES);
  /** Whether the last lookup's code page had a global translation. */
  private fetchWasGlobal = false;
  /**
   * Bumped by every MOV CR3 (a non-global flush): a block's links to code on non-global
   * pages hold only while its `linkNg` equals this; links to global pages stay.
   */
  private ngStamp = 0;
  private inRun = false;
  private pendingVector = -1;
  private windowExiting = false;
  private curBlock: BtBlock | undefined = undefined;
  private curBlockEip = 0;
  /** The translation the current entry runs (undefined: the cold loop), for fault accounting. */
  private curRegion: Region | undefined = undefined;
  /**
   * Chained links hold under the stamp they were made under: chainEpoch * CHAIN_STATES + the
   * CS state's slot. A TLB flush or a code-page drop bumps the epoch (every link goes); a
   * switch between CS states (kernel and user code, on every system call, interrupt and
   * IRET) only selects another slot, so the kernel's links survive a trip to user mode.
   */
  private chainStamp = 0;
  private chainEpoch = 0;
  /** The CS states seen (base, limit, access rights, CPL, CR0), CHAIN_STATE_WORDS each. */
  private readonly chainStates = new Int32Array(CHAIN_STATES * CHAIN_STATE_WORDS);
  private chainStateCount = 0;
  private chainStateSlot = 0;
  /** The runtime the generated code uses (codegen.ts `RT`). */
  private readonly rt: Record<string, unknown>;
  private readonly calloutCounts = new Float64Array(CALLOUT_KINDS.length);
  /** The wasm backend, when regions are translated into WebAssembly, and its compile queue. */
  private readonly wasm: WasmBackend | undefined;
  private wasmQueue: QueuedMember[][] = [];
  // statistics
  private blocksTranslated = 0;
  private guestBytes = 0;
  private insnsTranslated = 0;
  private cacheHits = 0;
  private coldEntries = 0;
  private blocksDecoded = 0;
  private invalidations = 0;
  private translateMs = 0;
  private regionsTranslated = 0;
  private retranslations = 0;
  private mmioInline = 0;
  private retiredTranslated = 0;
  /** Wasm regions entered under the other CR0.PG than they were made for (dropModeMiss). */
  private modeMisses = 0;

  constructor(cpu: Cpu, options: TranslatorOptions = {}) {
    this.cpu = cpu;
    const backend = options.backend ?? "wasm";
    this.hot = options.hotThreshold ?? (backend === "wasm" ? DEFAULT_HOT_WASM : DEFAULT_HOT);
    this.hotUser = options.hotThresholdUser ?? this.hot;
    this.translateTails = options.translateTails ?? false;
    installFlagAccessors(cpu);
    this.tlb = initTlb(cpu);
    this.wasm =
      backend === "wasm"
        ? new WasmBackend(
            cpu,
            this.calloutCounts,
            (c) => flatMask(c, 4),
            (r) => {
              this.curRegion = r as Region;
            },
            (r) => this.dropModeMiss(r as Region),
          )
        : undefined;
    this.rt = {
      rd8,
      rd16,
      rd32,
      rmwRead32,
      rmwWrite32,
      wr8,
      wr16,
      wr32,
      push32,
      pop32,
      stackRead32,
      adjustSp,
      getCF,
      condition,
      lazyAdd,
      lazySub,
      lazyLogic,
      lazyResultWith,
      raise,
      calloutCounts: this.calloutCounts,
      flatMask,
      ramWrite8,
      ramWrite16,
      ramWrite32,
      MV: new DataView(cpu.memory.buffer),
      MB: new Uint8Array(cpu.memory.buffer),
      MS: cpu.memory.size,
      CP: cpu.memory.codePages,
      TR: cpu.tlbRead,
      TW: cpu.tlbWrite,
      noteBreak: (c: Cpu, r: Region, eip: number, k: number) => this.noteBreak(c, r, eip, k),
    };
  }

  get interruptWindowExiting(): boolean {
    return this.windowExiting;
  }
  set interruptWindowExiting(v: boolean) {
    this.windowExiting = v;
    if (v) this.cpu.iBreak = true;
  }

  requestStop(): void {
    this.cpu.iStop = true;
    this.cpu.iBreak = true;
  }

  canInjectInterrupt(): boolean {
    return (this.cpu.eflags & Flag.IF) !== 0 && this.cpu.interruptShadow === 0;
  }

  injectInterrupt(vector: number): void {
    if (this.inRun) {
      this.pendingVector = vector;
      this.cpu.iBreak = true;
      return;
    }
    this.deliverInterrupt(vector);
  }

  reset(): void {
    resetCpu(this.cpu);
    this.invalidateCaches();
  }

  /** Drop every translation (e.g. after the monitor rewrote guest memory wholesale). */
  invalidateCaches(): void {
    this.blocks.fill(undefined);
    this.cpu.tlbEpoch++;
    this.fetchTag.fill(1);
    this.pendingVector = -1;
  }

  translationStats(): TranslationStats {
    const callouts = {} as Record<CalloutKind, number>;
    CALLOUT_KINDS.forEach((k, i) => {
      callouts[k] = this.calloutCounts[i]!;
    });
    return {
      blocksTranslated: this.blocksTranslated,
      regionsTranslated: this.regionsTranslated,
      guestBytesTranslated: this.guestBytes,
      instructionsTranslated: this.insnsTranslated,
      cacheHits: this.cacheHits + (this.wasm?.chainedEntries ?? 0),
      coldEntries: this.coldEntries,
      blocksDecoded: this.blocksDecoded,
      invalidations: this.invalidations,
      translateMs: this.translateMs,
      callouts,
      retranslations: this.retranslations,
      modeMisses: this.modeMisses,
      mmioInline: this.mmioInline,
      instructionsInTranslations: this.retiredTranslated,
    };
  }

  private deliverInterrupt(vector: number): void {
    const cpu = this.cpu;
    deliverExternalInterrupt(cpu, vector);
    cpu.interruptShadow = 0;
  }

  /** Deliver the exception recorded in cpu.fault* (EIP/ESP already restored). */
  protected deliverFault(): void {
    const cpu = this.cpu;
    cpu.interruptShadow = 0;
    try {
      deliverException(cpu);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      cpu.shutdown = true;
      simpleExit(cpu, ExitReason.TRIPLE_FAULT);
    }
  }

  /** The run loop: the interpreter's (interpreter.ts run), so that slices end identically. */
  run(maxInstructions: number): StopReasonCode {
    const cpu = this.cpu;
    cpu.iStop = false;
    useTlb(this.tlb);
    const end = cpu.instructionsRetired + maxInstructions;
    for (;;) {
      if (cpu.iStop || cpu.shutdown) return StopReason.REQUESTED;
      if (this.pendingVector >= 0) {
        const v = this.pendingVector;
        this.pendingVector = -1;
        this.deliverInterrupt(v);
      }
      if (cpu.halted) return StopReason.REQUESTED;
      if (cpu.instructionsRetired >= end) return StopReason.BUDGET;
      const shadow = cpu.interruptShadow !== 0;
      if (this.windowExiting && !shadow && (cpu.eflags & Flag.IF) !== 0) {
        simpleExit(cpu, ExitReason.INTERRUPT_WINDOW);
        if (cpu.iStop || cpu.shutdown || cpu.halted || this.pendingVector >= 0) continue;
      }
      const tf = (cpu.eflags & Flag.TF) !== 0;
      let limit = end;
      if (shadow || tf) {
        limit = cpu.instructionsRetired + 1;
        cpu.interruptShadow = 0;
      }
      cpu.iBreak = false;
      this.inRun = true;
      const before = cpu.instructionsRetired;
      try {
        this.execBlocks(limit);
      } catch (e) {
        this.inRun = false;
        if (e !== CPU_FAULT) throw e;
        // Inline instructions are precise by construction (no state changes before their
        // last possible fault); handler calls restore ESP as in the interpreter.
        const inline = this.countRetiredBeforeFault();
        cpu.eip = cpu.insnEip;
        if (!inline) cpu.regs[4] = cpu.insnEsp;
        this.deliverFault();
        continue;
      }
      this.inRun = false;
      if (tf && cpu.instructionsRetired > before && !cpu.shutdown) {
        cpu.dr[6] = cpu.dr[6]! | 0x4000;
        cpu.faultVector = 1;
        cpu.faultErrorCode = 0;
        cpu.faultHasErrorCode = false;
        this.deliverFault();
      }
    }
  }

  /**
   * Count the instructions of the current block before the faulting one; true if that one
   * ran inline (translated inline code, or a fast-path kind of the cold loop), whose ESP is
   * precise, false if it ran through its handler (ESP is restored from cpu.insnEsp). In a
   * region the block that was running is the one its catch recorded (Region.faultPc).
   */
  private countRetiredBeforeFault(): boolean {
    const b = this.curBlock;
    if (b === undefined) return false;
    this.curBlock = undefined;
    let start = this.curBlockEip;
    let insns: readonly Insn[] = b.insns;
    let n = b.n;
    let inline: Uint8Array | undefined;
    const r = this.curRegion;
    if (r !== undefined) {
      const m = r.members.get(r.faultPc);
      if (m === undefined) return false;
      start = m.eip;
      insns = m.insns;
      n = m.insns.length;
      inline = m.inline;
    }
    const target = this.cpu.insnEip;
    let eip = start;
    for (let k = 0; k < n; k++) {
      if (eip === target) {
        this.cpu.instructionsRetired += k;
        return inline !== undefined ? inline[k] === 1 : insns[k]!.kind !== 0;
      }
      eip = (eip + insns[k]!.len) >>> 0;
    }
    return false;
  }

  private execBlocks(limit: number): void {
    const cpu = this.cpu;
    const regs = cpu.regs;
    const tlb = this.tlb;
    const gens = cpu.memory.codeGeneration;
    if (this.chainStateCount === 0 || !this.isChainState(this.chainStateSlot)) {
      this.chainStateSlot = this.chainState();
      this.restamp();
    }
    let stamp = this.chainStamp;
    let prev: BtBlock | undefined;
    for (;;) {
      if (cpu.iBreak) return;
      const left = limit - cpu.instructionsRetired;
      if (left <= 0) return;
      if (cpu.tlbEpoch !== tlb.epoch) {
        if (tlbDropsOnly(cpu, tlb)) {
          // Only INVLPGs and MOV CR3s: chained links survive unless one may lead to a dropped
          // page (dropFetchPages) or, after a MOV CR3, to a non-global one (ngStamp).
          if (this.dropFetchPages()) stamp = this.newChainEpoch();
          dropTlbPages(cpu, tlb);
        } else {
          flushTlb(cpu, tlb);
          this.fetchTag.fill(1);
          stamp = this.newChainEpoch();
        }
      }
      const eip = cpu.eip;
      const key = eip | 0;
      cpu.insnEip = eip;
      cpu.insnEsp = regs[4]!;
      let b: BtBlock | undefined;
      if (prev !== undefined) {
        if (prev.linkStamp !== stamp) {
          prev.linkStamp = stamp;
          prev.linkNg = this.ngStamp;
          prev.nextA = undefined;
          prev.nextB = undefined;
        } else {
          if (prev.linkNg !== this.ngStamp) {
            // A MOV CR3 since: only links to code on global pages stay.
            prev.linkNg = this.ngStamp;
            if (!prev.globalA) prev.nextA = undefined;
            if (!prev.globalB) prev.nextB = undefined;
          }
          let phys = -1;
          if (prev.nextKeyA === key) {
            b = prev.nextA;
            phys = prev.nextPhysA;
          } else if (prev.nextKeyB === key) {
            b = prev.nextB;
            phys = prev.nextPhysB;
          }
          if (
            b !== undefined &&
            (b.phys !== phys ||
              b.key !== key ||
              gens[b.page] !== b.gen ||
              (b.page2 >= 0 && gens[b.page2] !== b.gen2))
          )
            b = undefined;
        }
      }
      if (b === undefined) {
        b = this.lookup(eip);
        const linPage = (cpu.segBase[CS]! + eip) >>> 12;
        this.codeLinStamp[linPage] = stamp;
        if (b.page2 >= 0) this.codeLinStamp[(linPage + 1) & 0xfffff] = stamp;
        if (prev !== undefined && b.phys >= 0) {
          // A block that crosses into a second page counts as non-global (that page's
          // translation was not looked at).
          const global = this.fetchWasGlobal && b.page2 < 0;
          if (prev.nextA === undefined || prev.nextKeyA === key) {
            prev.nextKeyA = key;
            prev.nextPhysA = b.phys;
            prev.nextA = b;
            prev.globalA = global;
          } else {
            prev.nextKeyB = key;
            prev.nextPhysB = b.phys;
            prev.nextB = b;
            prev.globalB = global;
          }
        }
      }
      prev = b;
      this.curBlock = b;
      this.curBlockEip = eip;
      const n = b.n;
      if (n <= left) {
        let fn = b.fn;
        if (fn === undefined && b.phys >= 0 && (b.hits += n >> HOT_WEIGHT_SHIFT || 1) > this.hotFor(cpu))
          fn = this.translateRegion(b);
        cpu.iRepBudget = left - n + 1;
        if (fn !== undefined) {
          this.cacheHits++;
          this.curRegion = b.region;
          const before = cpu.instructionsRetired;
          fn(cpu, left);
          this.retiredTranslated += cpu.instructionsRetired - before;
        } else {
          this.coldEntries++;
          this.curRegion = undefined;
          runPacked(cpu, b.code, b.codeOff, b.insns, n, eip | 0);
        }
      } else {
        // A budget tail: the first `left` instructions only.
        cpu.iRepBudget = 1;
        if (this.translateTails && b.phys >= 0) {
          const fn = b.counted ?? this.translateCounted(b);
          this.curRegion = b.countedRegion;
          fn(cpu, left);
        } else {
          this.curRegion = undefined;
          runPacked(cpu, b.code, b.codeOff, b.insns, left, eip | 0);
        }
      }
      this.curBlock = undefined;
    }
  }

  /** Every chained link goes (links are checked against the stamp); returns the new stamp. */
  private newChainEpoch(): number {
    this.bumpChainEpoch();
    return this.restamp();
  }

  /** chainStamp from the epoch and the current CS state's slot; returns it. */
  private restamp(): number {
    this.chainStamp = this.chainEpoch * CHAIN_STATES + this.chainStateSlot;
    return this.chainStamp;
  }

  private bumpChainEpoch(): void {
    this.chainEpoch = (this.chainEpoch + 1) & CHAIN_EPOCH_MASK;
    if (this.chainEpoch === 0) {
      // Wrapped: stamps repeat, so nothing stamped before may pass for current.
      for (const b of this.blocks) if (b !== undefined) b.linkStamp = -1;
      this.codeLinStamp.fill(-1);
    }
  }

  /** Whether chainStates' slot k holds the CPU's current CS state. */
  private isChainState(k: number): boolean {
    const cpu = this.cpu;
    const t = this.chainStates;
    const o = k * CHAIN_STATE_WORDS;
    return (
      t[o] === cpu.segBase[CS] &&
      t[o + 1] === cpu.segLimit[CS] &&
      t[o + 2] === cpu.segAccess[CS] &&
      t[o + 3] === cpu.cpl &&
      t[o + 4] === cpu.cr0
    );
  }

  /**
   * The slot of the current CS state in chainStates, added if new; when the table is full a
   * slot is reused, and a new epoch keeps the links made under its old state from passing
   * for the new one's.
   */
  private chainState(): number {
    for (let k = 0; k < this.chainStateCount; k++) if (this.isChainState(k)) return k;
    let k = this.chainStateCount;
    if (k < CHAIN_STATES) this.chainStateCount++;
    else {
      k = (this.chainStateSlot + 1) % CHAIN_STATES;
      this.bumpChainEpoch();
    }
    const cpu = this.cpu;
    const t = this.chainStates;
    const o = k * CHAIN_STATE_WORDS;
    t[o] = cpu.segBase[CS]!;
    t[o + 1] = cpu.segLimit[CS]!;
    t[o + 2] = cpu.segAccess[CS]!;
    t[o + 3] = cpu.cpl;
    t[o + 4] = cpu.cr0;
    return k;
  }

  /**
   * Drop the fetch translations cpu.tlbDropPages records; true if a block on a page INVLPG
   * invalidated may have been looked up in the current chain epoch, under any CS state (a
   * MOV CR3 drops the links to non-global pages through ngStamp instead).
   */
  private dropFetchPages(): boolean {
    const cpu = this.cpu;
    const tags = this.fetchTag;
    let code = false;
    for (let k = 0; k < cpu.tlbDropCount; k++) {
      const p = cpu.tlbDropPages[k]!;
      if (p === TLB_DROP_NON_GLOBAL) {
        for (let e = 0; e < FETCH_ENTRIES; e++) if (this.fetchGlobal[e] === 0) tags[e] = 1;
        this.ngStamp = (this.ngStamp + 1) | 0;
      } else if (p >= 0) {
        const e = p & (FETCH_ENTRIES - 1);
        if (tags[e]! >>> 12 === p) tags[e] = 1;
        if (this.codeLinStamp[p]! >> CHAIN_STATE_BITS === this.chainEpoch) code = true;
      } else {
        const region = -1 - p;
        for (let e = 0; e < FETCH_ENTRIES; e++) if (tags[e]! >>> 22 === region) tags[e] = 1;
        code = true;
      }
    }
    return code;
  }

  /**
   * The JavaScript source the translator emits for the block at CS:`eip` (decoded now if it
   * is not cached), for tools and the golden-file tests. Nothing is compiled or run.
   */
  translationSource(eip: number, counted = false): string {
    useTlb(this.tlb);
    const b = this.lookup(eip);
    if (counted) return generateBlock(this.blockInput(b, true)).source;
    return generateRegion(this.regionMembers(b).map((m) => this.blockInput(m, false))).source;
  }

  private blockInput(b: BtBlock, counted: boolean): BlockInput {
    return { eip: b.eip, insns: b.insns.slice(0, b.n), forced: b.forced ?? NO_CALLOUTS, counted };
  }

  /** Compile generated source into the translation function. */
  private compile(source: string, handlers: Handler[], records: Insn[], region: Region): BlockFn {
    const factory = new Function("RT", "H", "I", "B", source) as (
      rt: Record<string, unknown>,
      h: Handler[],
      i: Insn[],
      b: Region,
    ) => BlockFn;
    return factory(this.rt, handlers, records, region);
  }

  /**
   * The entries before translation of a block entered now: supervisor (CPL 0-2) and user
   * (CPL 3) code may have their own thresholds (`hotThresholdUser`), by default the same.
   * Measured on a Debian boot: the kernel's start-up runs most of its cold instructions in
   * blocks entered 2 000-20 000 times (82% of the 58 M cold instructions between 2.33e9 and
   * 2.55e9), and 5 000 for all code translated more of it but made user space slower
   * (median of 5 sequential pairs of whole boots 1.03); 5 000 for supervisor code alone was
   * no faster either (median of 14 pairs 1.04, 0.89-1.14).
   */
  private hotFor(cpu: Cpu): number {
    return cpu.cpl === 3 ? this.hotUser : this.hot;
  }

  /** Its blocks leave `region`: they run cold again until they are hot again. */
  private dropRegion(region: Region): void {
    for (const m of region.members.values()) {
      if (m.block.region === region) {
        m.block.fn = undefined;
        m.block.region = undefined;
      }
      if (m.block.countedRegion === region) {
        m.block.counted = undefined;
        m.block.countedRegion = undefined;
      }
    }
  }

  /**
   * A wasm region made for the other CR0.PG was entered (wasm-codegen.ts region): it ran
   * nothing. Its blocks run cold and are translated again, under the mode they run in now,
   * once hot again (the kernel's start-up code runs once before it turns paging on).
   */
  private dropModeMiss(region: Region): void {
    this.modeMisses++;
    this.dropRegion(region);
    for (const m of region.members.values()) if (m.block.region === undefined) m.block.hits = 0;
  }

  /** The counted single-block translation of `b`, for budget tails and single steps. */
  private translateCounted(b: BtBlock): BlockFn {
    const t0 = performance.now();
    const code = generateBlock(this.blockInput(b, true));
    const region = new Region();
    region.members.set(b.eip, { block: b, eip: b.eip, insns: b.insns.slice(0, b.n), inline: code.inline });
    const fn = this.compile(code.source, code.handlers, code.records, region);
    b.bound = true;
    b.counted = fn;
    b.countedRegion = region;
    this.blocksTranslated++;
    this.guestBytes += b.bytes;
    this.insnsTranslated += b.n;
    this.translateMs += performance.now() - t0;
    return fn;
  }

  /**
   * `b` became hot: translate it together with the blocks it leads to (regionMembers: by its
   * static successors: fall-through, Jcc/JMP/CALL targets) that have run before, into one
   * region function. The members that have no translation of their own enter through it.
   */
  private translateRegion(b: BtBlock): BlockFn | undefined {
    if (this.wasm !== undefined) return this.translateWasmRegion(b);
    const t0 = performance.now();
    const members = this.regionMembers(b);
    const code = generateRegion(members.map((m) => this.blockInput(m, false)));
    const region = new Region();
    members.forEach((m, k) => {
      region.members.set(m.eip, {
        block: m,
        eip: m.eip,
        insns: m.insns.slice(0, m.n),
        inline: code.inline[k]!,
      });
      m.bound = true;
      this.guestBytes += m.bytes;
      this.insnsTranslated += m.n;
    });
    const fn = this.compile(code.source, code.handlers, code.records, region);
    for (const m of members) {
      if (m === b || m.fn === undefined) {
        m.fn = fn;
        m.region = region;
      }
    }
    this.blocksTranslated += members.length;
    this.regionsTranslated++;
    this.translateMs += performance.now() - t0;
    return fn;
  }

  /**
   * translateRegion for the wasm backend (wasm-codegen.ts, wasm-glue.ts): the region is
   * queued and compiled with others into one module (V8's cost per module is far above its
   * cost per function), when WASM_BATCH regions wait or when a waiting one has run
   * WASM_WAIT more entries; until then its blocks keep running cold.
   */
  private translateWasmRegion(b: BtBlock): BlockFn | undefined {
    const hot = this.hotFor(this.cpu);
    const batch = hot === 0 ? 1 : WASM_BATCH;
    if (b.queued && this.wasmQueue.length < batch && b.hits <= hot + WASM_WAIT) return undefined;
    const t0 = performance.now();
    if (!b.queued) {
      b.queued = true;
      this.wasmQueue.push(
        this.regionMembers(b).map((m) => {
          // A rebuild of a queued block must not reuse the records the queue holds.
          m.bound = true;
          return {
            block: m,
            eip: m.eip,
            phys: m.phys,
            d32: m.d32,
            page: m.page,
            gen: m.gen,
            page2: m.page2,
            gen2: m.gen2,
            insns: m.insns.slice(0, m.n),
          };
        }),
      );
    }
    if (this.wasmQueue.length >= batch || b.hits > hot + WASM_WAIT) this.compileWasmQueue();
    this.translateMs += performance.now() - t0;
    return b.fn;
  }

  /** Compile the queued regions whose blocks are still what they were when queued. */
  private compileWasmQueue(): void {
    const wasm = this.wasm!;
    const gens = this.cpu.memory.codeGeneration;
    const table = new HandlerTable();
    const codes: WasmRegionCode[] = [];
    const regions: Region[] = [];
    const memberLists: QueuedMember[][] = [];
    for (const queued of this.wasmQueue) {
      queued[0]!.block.queued = false;
      const live = queued.filter(
        (q) =>
          q.block.eip === q.eip &&
          q.block.phys === q.phys &&
          q.block.d32 === q.d32 &&
          q.block.insns[0] === q.insns[0] &&
          gens[q.page] === q.gen &&
          (q.page2 < 0 || gens[q.page2] === q.gen2),
      );
      if (live[0] !== queued[0] || queued[0]!.block.fn !== undefined) continue;
      const code = generateWasmRegion(wasm.layout, table, live, this.cpu.cr0 < 0 ? 1 : 0);
      const region = new Region();
      live.forEach((q, k) => {
        region.members.set(q.eip, { block: q.block, eip: q.eip, insns: q.insns, inline: code.inline[k]! });
        this.guestBytes += q.block.bytes;
        this.insnsTranslated += q.insns.length;
      });
      codes.push(code);
      regions.push(region);
      memberLists.push(live);
    }
    this.wasmQueue = [];
    if (codes.length === 0) return;
    const fns = wasm.instantiate(
      table,
      codes,
      regions,
      memberLists.map((live) =>
        live
          .filter((q) => q.page2 < 0)
          .map((q) => ({
            phys: q.phys,
            eip: q.eip,
            d32: q.d32,
            page: q.page,
            gen: q.gen,
            bytes: q.block.bytes,
          })),
      ),
    );
    memberLists.forEach((live, r) => {
      for (const q of live) {
        if (q === live[0] || q.block.fn === undefined) {
          q.block.fn = fns[r]!;
          q.block.region = regions[r]!;
        }
      }
      this.blocksTranslated += live.length;
      this.regionsTranslated++;
    });
  }

  /**
   * The region around hot block `b`: breadth-first over static successors that have run,
   * on the same page, or with the wasm backend on any page whose fetch translation is cached
   * (its code checks the page of each member on entry: WasmEmitter.pageCheck). A region
   * confined to one page split a 9-instruction loop of the kernel's decompressor that
   * straddles a page boundary into two regions, and the dispatcher ran 29 M of its 49 M
   * region changes between them.
   */
  private regionMembers(b: BtBlock): BtBlock[] {
    const members = [b];
    if (b.page2 >= 0) return members;
    const cpu = this.cpu;
    const base = cpu.segBase[CS]!;
    const linPage = (base + b.eip) & ~0xfff;
    const crossPage = this.wasm !== undefined;
    const seen = new Set<number>([b.eip]);
    const queue = successors(b);
    let insns = b.n;
    const gens = cpu.memory.codeGeneration;
    const minHits = Math.max(1, this.hotFor(cpu) >> 3);
    while (queue.length > 0 && members.length < REGION_BLOCKS && insns < REGION_INSNS) {
      const eip = queue.shift()!;
      if (seen.has(eip)) continue;
      seen.add(eip);
      const lin = (base + eip) | 0;
      let physPage = b.phys & ~0xfff;
      if ((lin & ~0xfff) !== linPage) {
        if (!crossPage) continue;
        physPage = this.cachedFetchPage(lin);
        if (physPage < 0) continue;
      }
      const phys = physPage + (lin & 0xfff);
      const slot = this.slotOf(cacheSet(phys), phys, b.d32);
      const m = slot < 0 ? undefined : this.blocks[slot];
      if (
        m === undefined ||
        m.eip !== eip ||
        m.page2 >= 0 ||
        gens[m.page] !== m.gen ||
        (m.fn === undefined && m.hits < minHits)
      )
        continue;
      members.push(m);
      insns += m.n;
      queue.push(...successors(m));
    }
    return members;
  }

  /**
   * Called by translated code when an inline memory instruction (instruction k of the block
   * at `eip`) ended its block (cpu.iBreak): if that was an MMIO access (a VM exit for this
   * instruction), count it, and after MMIO_RETRANSLATE of them drop the translations holding
   * the block so it is retranslated with that instruction as a callout.
   */
  private noteBreak(cpu: Cpu, r: Region, eip: number, k: number): void {
    const x = cpu.exit;
    if (
      x.reason !== ExitReason.EPT_VIOLATION ||
      x.instructionPointer !== (cpu.segBase[CS]! + cpu.insnEip) >>> 0
    )
      return;
    // The exit record is refilled before every exit; clear the match so a later break of this
    // instruction for another reason (a code-page write) is not taken for a second MMIO access.
    x.instructionPointer = -1;
    this.mmioInline++;
    const b = r.members.get(eip)?.block;
    if (b === undefined || b.eip !== eip) return;
    if (b.mmio === undefined) b.mmio = new Uint8Array(b.n);
    b.forced ??= new Set();
    if (++b.mmio[k]! >= MMIO_RETRANSLATE && !b.forced.has(k)) {
      b.forced.add(k);
      // Every translation that contains the block goes, so that it is entered cold again.
      for (const region of [b.region, b.countedRegion, r]) if (region !== undefined) this.dropRegion(region);
      b.hits = 0;
      this.retranslations++;
    }
  }

  /**
   * The physical page the fetch translation cache (lookup) holds for linear address `lin`,
   * or -1; the linear page itself with paging off. Nothing is walked or filled.
   */
  private cachedFetchPage(lin: number): number {
    const cpu = this.cpu;
    const linPage = lin & ~0xfff;
    if (cpu.cr0 >= 0) return linPage >>> 0;
    const e = (linPage >>> 12) & (FETCH_ENTRIES - 1);
    return this.fetchTag[e] === fetchTag(cpu, linPage) ? this.fetchPage[e]! >>> 0 : -1;
  }

  /** Find or decode the block at CS:eip (interpreter.ts lookup, plus the EIP of the translation). */
  private lookup(eip: number): BtBlock {
    const cpu = this.cpu;
    const lin = (cpu.segBase[CS]! + eip) | 0;
    const linPage = lin & ~0xfff;
    let physPage: number;
    if (cpu.cr0 >= 0) {
      physPage = linPage >>> 0;
      this.fetchWasGlobal = true; // no paging: nothing but a CR0 write changes it
    } else {
      const user = cpu.cpl === 3;
      const tag = fetchTag(cpu, linPage);
      const e = (linPage >>> 12) & (FETCH_ENTRIES - 1);
      if (this.fetchTag[e] === tag) {
        physPage = this.fetchPage[e]! >>> 0;
        this.fetchWasGlobal = this.fetchGlobal[e] === 1;
      } else {
        const p = cpu.mmu.translate(lin >>> 0, Access.FETCH, user);
        physPage = (p & ~0xfff) >>> 0;
        this.fetchWasGlobal = false;
        if (cpu.tlbNoCache) cpu.tlbNoCache = false;
        else {
          if (this.wasm !== undefined) tlbNoteFetch(cpu, lin, p);
          this.fetchTag[e] = tag;
          this.fetchPage[e] = physPage | 0;
          this.fetchGlobal[e] = cpu.mmu.lastGlobal ? 1 : 0;
          this.fetchWasGlobal = cpu.mmu.lastGlobal;
        }
      }
    }
    const phys = physPage + (lin & 0xfff);
    const d32 = (cpu.segAccess[CS]! >> 14) & 1;
    const set = cacheSet(phys);
    let slot = this.slotOf(set, phys, d32);
    if (slot < 0) {
      // A miss: the new block takes an empty slot, or the one of the set entered less.
      const first = this.blocks[set];
      const second = this.blocks[set + 1];
      slot = first === undefined || (second !== undefined && second.hits >= first.hits) ? set : set + 1;
    }
    let b = this.blocks[slot];
    const gens = cpu.memory.codeGeneration;
    if (b !== undefined && b.phys === phys && b.d32 === d32) {
      if (gens[b.page] === b.gen && (b.page2 < 0 || gens[b.page2] === b.gen2)) {
        if (eip + b.bytes - 1 <= cpu.segLimit[CS]! >>> 0) {
          if (b.key === (eip | 0)) return b;
          // Same code reached at another EIP: its translation has the old addresses baked in.
          b.fn = undefined;
          b.region = undefined;
          b.counted = undefined;
          b.countedRegion = undefined;
          b.eip = eip;
          b.key = eip | 0;
          return b;
        }
      } else this.invalidations++;
    }
    // Rebuild in place (the interpreter does too): chained links to this object are validated
    // by physical address, generation and EIP, and its decoded records are reused.
    if (b === undefined) {
      b = new BtBlock();
      this.blocks[slot] = b;
    }
    // An uncacheable block (code outside RAM) is used once and dropped.
    if (!this.build(b, eip, linPage, physPage, phys, d32)) this.blocks[slot] = undefined;
    return b;
  }

  /** The slot of cache set `set` holding the block decoded at `phys` under CS.D `d32`, or -1. */
  private slotOf(set: number, phys: number, d32: number): number {
    const a = this.blocks[set];
    if (a !== undefined && a.phys === phys && a.d32 === d32) return set;
    const b = this.blocks[set + 1];
    return b !== undefined && b.phys === phys && b.d32 === d32 ? set + 1 : -1;
  }

  /** Decode a block exactly as the interpreter does (interpreter.ts build). */
  private build(
    b: BtBlock,
    eip: number,
    linPage: number,
    physPage: number,
    phys: number,
    d32: number,
  ): boolean {
    const cpu = this.cpu;
    const mem = cpu.memory;
    this.blocksDecoded++;
    fetchBegin(cpu, eip, linPage, physPage);
    b.phys = -1;
    b.n = 0;
    b.page2 = -1;
    b.eip = eip;
    b.key = eip | 0;
    b.hits = 0;
    b.queued = false;
    b.fn = undefined;
    b.region = undefined;
    b.counted = undefined;
    b.countedRegion = undefined;
    b.mmio = undefined;
    b.forced = undefined;
    if (b.bound) {
      // A translation still holds the old records (a region member evicted by a collision).
      b.insns = [];
      b.bound = false;
    }
    let pos = eip >>> 0;
    let cacheable = true;
    for (let k = 0; k < MAX_BLOCK; k++) {
      let i = b.insns[k];
      if (i === undefined) {
        i = new Insn(ud);
        b.insns.push(i);
      }
      try {
        decode(i, d32 !== 0, k === 0);
      } catch (e) {
        if (k === 0) throw e;
        if (e === END_OF_BLOCK || e === CPU_FAULT) break;
        throw e;
      }
      pos = (pos + i.len) >>> 0;
      b.n = k + 1;
      if (fUncacheable) cacheable = false;
      if (k === 0 && fUsedPage2) {
        b.page2 = fetchPhys2() >>> 12;
        break;
      }
      if (decodedEnd) break;
    }
    b.bytes = (pos - eip) >>> 0;
    b.d32 = d32;
    if (b.codeRoom < b.n) {
      b.codeOff = this.arena.reserve(b.n);
      b.code = this.arena.code;
      b.codeRoom = b.n;
    }
    packBlock(b.insns, b.n, b.code, b.codeOff);
    if (physPage + 0x1000 > mem.size) cacheable = false;
    if (b.page2 >= 0 && (b.page2 + 1) * 0x1000 > mem.size) cacheable = false;
    const pageIdx = physPage >>> 12;
    if (cacheable) {
      mem.markCodePage(physPage);
      if (b.page2 >= 0) mem.markCodePage(b.page2 * 0x1000);
    }
    b.page = physPage < mem.size ? pageIdx : 0;
    b.gen = physPage < mem.size ? mem.codeGeneration[pageIdx]! : 0;
    if (b.page2 >= 0) b.gen2 = mem.codeGeneration[b.page2]!;
    b.phys = cacheable ? phys : -1;
    return cacheable;
  }
}

/** Static successors of a block's last instruction (region formation only; not semantics). */
function successors(b: BtBlock): number[] {
  const i = b.insns[b.n - 1]!;
  let end = b.eip;
  for (let k = 0; k < b.n; k++) end = (end + b.insns[k]!.len) >>> 0;
  const fn = i.fn;
  const target = i.o32 !== 0 ? (end + i.imm) >>> 0 : (end + i.imm) & 0xffff;
  if (fn === C.jcc || fn === C.loop || fn === C.callRel16 || fn === C.callRel32) return [target, end];
  if (fn === C.jmpRel) return [target];
  if (CONTROL.has(fn)) return [];
  return [end];
}

const CONTROL = new Set<Handler>([
  C.retNear16,
  C.retNear32,
  C.jmpRm16,
  C.jmpRm32,
  C.callRm16,
  C.callRm32,
  C.jmpFarImm,
  C.jmpFarMem,
  C.callFarImm,
  C.callFarMem,
  C.retFar,
  C.iretOp,
  C.intN,
  C.int3,
]);

/**
 * The segments whose accesses translated code may make inline (codegen.ts phys): flat (base
 * 0, limit 4 GiB) present expand-up data segments, readable (bit s) and writable (bit 8 + s),
 * exactly the segment half of mem.ts's rdN/wrN fast paths; the paging half is the soft TLB.
 * Segments from `anyBaseFrom` on may have any base (the wasm backend adds FS's and GS's:
 * wasm-codegen.ts phys; Linux i386 keeps its per-CPU data at FS:, ~1.4 M accesses a boot).
 */
function flatMask(cpu: Cpu, anyBaseFrom = 6): number {
  let m = 0;
  for (let s = 0; s < 6; s++) {
    if ((s < anyBaseFrom && cpu.segBase[s] !== 0) || cpu.segLimit[s] !== -1) continue;
    const a = cpu.segAccess[s]!;
    if ((a & 0x9c) === 0x90) m |= 1 << s;
    if ((a & 0x9e) === 0x92) m |= 0x100 << s;
  }
  return m;
}
