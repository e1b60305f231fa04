/**
 * The interpreter engine: a decoded-block cache and the run loop.
 *
 * Blocks. Straight-line runs of up to MAX_BLOCK instructions are decoded once and cached,
 * keyed by the physical address of their first byte and CS.D (the only mode bit decoding
 * depends on; mode checks such as "#UD in real mode" are made at execution). A block ends
 * after a control transfer or any instruction that changes system state, at the end of a
 * page (a later instruction never crosses a page; only a block's first instruction may),
 * or when decoding the next instruction would fault. Blocks are validated against
 * GuestMemory's per-page code generation on entry, and after every instruction (a write to
 * the block's own page, self-modifying code, ends the block so the rest is re-decoded).
 * A block's instructions run through runBlock (block-runner.ts), which the binary
 * translator also runs its cold blocks through.
 *
 * Precise exceptions (SDM Vol. 3A 6.5): EIP and ESP at the start of each instruction are
 * kept in cpu.insnEip/insnEsp; on a fault the run loop restores them and asks the system
 * layer to deliver the exception. Instructions are written so that they change no other
 * state before their last possible fault.
 */

import type { CpuEngine, StopReasonCode } from "../../vmm/engine.js";
import { StopReason } from "../../vmm/engine.js";
import { ExitReason } from "../../vmm/exit-reason.js";
import { Access, type Cpu, CS, Flag } from "../cpu.js";
import { CPU_FAULT } from "../fault.js";
import { deliverException, deliverExternalInterrupt, resetCpu } from "../system/index.js";
import { runBlock } from "./block-runner.js";
import {
  decode,
  decodedEnd,
  END_OF_BLOCK,
  fetchBegin,
  fetchPhys2,
  fUncacheable,
  fUsedPage2,
} from "./decoder.js";
import { installFlagAccessors } from "./flags.js";
import { Insn } from "./insn.js";
import { flushTlb, initTlb, type SoftTlb, useTlb } from "./mem.js";
import { simpleExit, ud } from "./ops-system.js";

const MAX_BLOCK = 32;
const CACHE_BITS = 16;
const CACHE_MASK = (1 << CACHE_BITS) - 1;

export class Block {
  phys = -1;
  d32 = 0;
  n = 0;
  /** Bytes covered, for the CS limit check on entry. */
  bytes = 0;
  page = 0;
  gen = 0;
  /** Second page (only when the first instruction crosses a page boundary), else -1. */
  page2 = -1;
  gen2 = 0;
  readonly insns: Insn[] = [];
  /**
   * Block chaining: the blocks that ran after this one (two exits: fall-through and taken),
   * keyed by their EIP and first byte's physical address. Valid only while `linkStamp` equals
   * the interpreter's `chainStamp`, which moves whenever the TLB epoch does (paging, CS, CPL
   * or mode may have changed) and at every run(); code writes are caught by the generation
   * check every block entry makes anyway.
   */
  linkStamp = -1;
  nextEipA = -1;
  nextPhysA = -1;
  nextA: Block | undefined = undefined;
  nextEipB = -1;
  nextPhysB = -1;
  nextB: Block | undefined = undefined;
}

export class Interpreter implements CpuEngine {
  readonly name = "interp";
  readonly cpu: Cpu;
  private readonly blocks: (Block | undefined)[] = new Array(1 << CACHE_BITS).fill(undefined);
  private readonly tlb: SoftTlb;
  /** Cached translation of the current code page. */
  private fetchLin = 1;
  private fetchPhys = 0;
  private fetchUser = false;
  private inRun = false;
  private pendingVector = -1;
  private windowExiting = false;
  private curBlock: Block | undefined = undefined;
  private curBlockEip = 0;
  /** See Block.linkStamp. */
  private chainStamp = 0;
  /** The code context the current stamp was taken in (see execBlocks). */
  private chainCsBase = 0;
  private chainCsLimit = 0;
  private chainCsAccess = -1;
  private chainCpl = 0;
  private chainCr0 = 0;
  /** Statistics: blocks decoded since reset. */
  blocksDecoded = 0;

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    installFlagAccessors(cpu);
    this.tlb = initTlb(cpu);
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
      // Called from an exit handler in the middle of an instruction: deliver at the boundary.
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

  /** Drop all decoded blocks and translations (e.g. after the monitor rewrote guest memory wholesale). */
  invalidateCaches(): void {
    this.blocks.fill(undefined);
    this.cpu.tlbEpoch++;
    this.fetchLin = 1;
    this.pendingVector = -1;
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
      // The system layer promotes nested faults itself; one escaping here is a shutdown.
      cpu.shutdown = true;
      simpleExit(cpu, ExitReason.TRIPLE_FAULT);
    }
  }

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
        // Exactly one instruction: the shadow covers it (SDM Vol. 3A 6.8.3); TF traps after it.
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
        // Inline kinds are precise by construction and do not record ESP (block-runner.ts).
        const kind = this.countRetiredBeforeFault();
        cpu.eip = cpu.insnEip;
        if (kind === 0) cpu.regs[4] = cpu.insnEsp;
        this.deliverFault();
        continue;
      }
      this.inRun = false;
      if (tf && cpu.instructionsRetired > before && !cpu.shutdown) {
        // Single-step trap after the instruction (SDM Vol. 3A 17.3.1.4): DR6.BS, #DB.
        cpu.dr[6] = cpu.dr[6]! | 0x4000;
        cpu.faultVector = 1;
        cpu.faultErrorCode = 0;
        cpu.faultHasErrorCode = false;
        this.deliverFault();
      }
    }
  }

  /**
   * The block loop adds its retired count after the block; when an instruction faults,
   * count the instructions of the block that completed before it. Returns the faulting
   * instruction's fast-path kind (0 when it ran through its handler or faulted in decode).
   */
  private countRetiredBeforeFault(): number {
    const b = this.curBlock;
    if (b === undefined) return 0;
    this.curBlock = undefined;
    let eip = this.curBlockEip;
    const target = this.cpu.insnEip;
    for (let k = 0; k < b.n; k++) {
      if (eip === target) {
        this.cpu.instructionsRetired += k;
        return b.insns[k]!.kind;
      }
      eip = (eip + b.insns[k]!.len) >>> 0;
    }
    return 0;
  }

  /** Run blocks until `limit` instructions have retired or an instruction sets cpu.iBreak. */
  private execBlocks(limit: number): void {
    const cpu = this.cpu;
    const regs = cpu.regs;
    const tlb = this.tlb;
    const gens = cpu.memory.codeGeneration;
    // Anything outside run() (tests, the monitor, the boot loader) may have changed CS or
    // the mode; translations changed outside run() move tlbEpoch (cpu.ts contract).
    if (
      cpu.segBase[CS] !== this.chainCsBase ||
      cpu.segLimit[CS] !== this.chainCsLimit ||
      cpu.segAccess[CS] !== this.chainCsAccess ||
      cpu.cpl !== this.chainCpl ||
      cpu.cr0 !== this.chainCr0
    ) {
      this.chainCsBase = cpu.segBase[CS]!;
      this.chainCsLimit = cpu.segLimit[CS]!;
      this.chainCsAccess = cpu.segAccess[CS]!;
      this.chainCpl = cpu.cpl;
      this.chainCr0 = cpu.cr0;
      this.chainStamp++;
    }
    let stamp = this.chainStamp;
    let prev: Block | undefined;
    for (;;) {
      if (cpu.iBreak) return;
      const left = limit - cpu.instructionsRetired;
      if (left <= 0) return;
      if (cpu.tlbEpoch !== tlb.epoch) {
        flushTlb(cpu, tlb);
        this.fetchLin = 1;
        stamp = ++this.chainStamp;
      }
      const eip = cpu.eip;
      cpu.insnEip = eip;
      cpu.insnEsp = regs[4]!;
      // Chained lookup: the successor this block had last time, if still valid.
      let b: Block | undefined;
      if (prev !== undefined) {
        if (prev.linkStamp !== stamp) {
          prev.linkStamp = stamp;
          prev.nextEipA = -1;
          prev.nextA = undefined;
          prev.nextEipB = -1;
          prev.nextB = undefined;
        } else {
          let phys = -1;
          if (prev.nextEipA === eip) {
            b = prev.nextA;
            phys = prev.nextPhysA;
          } else if (prev.nextEipB === eip) {
            b = prev.nextB;
            phys = prev.nextPhysB;
          }
          if (
            b !== undefined &&
            (b.phys !== phys || gens[b.page] !== b.gen || (b.page2 >= 0 && gens[b.page2] !== b.gen2))
          )
            b = undefined;
        }
      }
      if (b === undefined) {
        b = this.lookup(eip);
        if (prev !== undefined && b.phys >= 0) {
          // Link it (the freshest exit replaces the older one when both are taken).
          if (prev.nextEipA === -1 || prev.nextEipA === eip) {
            prev.nextEipA = eip;
            prev.nextPhysA = b.phys;
            prev.nextA = b;
          } else {
            prev.nextEipB = eip;
            prev.nextPhysB = b.phys;
            prev.nextB = b;
          }
        }
      }
      prev = b;
      this.curBlock = b;
      this.curBlockEip = eip;
      const n = Math.min(b.n, left);
      cpu.iRepBudget = left - n + 1;
      // Signed, so that V8 does not box a kernel's EIP on every call (see runBlock).
      runBlock(cpu, b.insns, n, eip | 0);
      this.curBlock = undefined;
    }
  }

  /** Find or decode the block at CS:eip. */
  private lookup(eip: number): Block {
    const cpu = this.cpu;
    const lin = (cpu.segBase[CS]! + eip) | 0;
    const linPage = lin & ~0xfff;
    let physPage: number;
    if (cpu.cr0 >= 0) physPage = linPage >>> 0;
    else {
      const user = cpu.cpl === 3;
      if (linPage !== this.fetchLin || user !== this.fetchUser) {
        const p = cpu.mmu.translate(lin >>> 0, Access.FETCH, user);
        this.fetchPhys = (p & ~0xfff) >>> 0;
        if (cpu.tlbNoCache) cpu.tlbNoCache = false;
        else {
          this.fetchLin = linPage;
          this.fetchUser = user;
        }
      }
      physPage = this.fetchPhys;
    }
    const phys = physPage + (lin & 0xfff);
    const d32 = (cpu.segAccess[CS]! >> 14) & 1;
    const slot = (phys ^ (phys >>> CACHE_BITS) ^ Math.imul(phys >>> 12, 0x9e5)) & CACHE_MASK;
    let b = this.blocks[slot];
    const gens = cpu.memory.codeGeneration;
    if (
      b !== undefined &&
      b.phys === phys &&
      b.d32 === d32 &&
      gens[b.page] === b.gen &&
      (b.page2 < 0 || gens[b.page2] === b.gen2) &&
      eip + b.bytes - 1 <= cpu.segLimit[CS]! >>> 0
    ) {
      return b;
    }
    if (b === undefined) {
      b = new Block();
      this.blocks[slot] = b;
    }
    // An uncacheable block (code outside RAM) is used once and dropped.
    if (!this.build(b, eip, linPage, physPage, phys, d32)) this.blocks[slot] = undefined;
    return b;
  }

  /** Decode a block; returns false when it must not be cached. */
  private build(
    b: Block,
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
    if (physPage + 0x1000 > mem.size) cacheable = false;
    if (b.page2 >= 0 && (b.page2 + 1) * 0x1000 > mem.size) cacheable = false;
    // A block must not extend past the CS limit check we make on lookup.
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

/**
 * Optional V8 tuning for the interpreter's run loop. Its inline fast paths exhaust TurboFan's
 * default cumulative inlining budget (920 bytecodes), leaving calls to small helpers (rd32,
 * lazyIncDec) in the hottest loop; a larger budget measured ~+25% MIPS on the micro benchmark.
 * Call once at startup, before guest code runs (Node only; the flag affects the whole process).
 */
export async function tuneV8ForInterpreter(): Promise<void> {
  const v8 = await import("node:v8");
  v8.setFlagsFromString("--max-inlined-bytecode-size-cumulative=4000");
}
