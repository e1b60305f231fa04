/**
 * The JavaScript side of the translator's wasm backend (wasm-codegen.ts): instantiates a
 * region's module against the machine's shared memory and the host imports, and wraps it
 * as a translation function `(cpu, left)` like the JavaScript backend's, so the dispatcher,
 * the fault accounting and the statistics do not see which backend made it.
 *
 * State crosses in the memory's state slots: on entry the lazy-flag record, EIP and the
 * segment/paging summary the inline memory accesses test (FM, PG, PV, SS32, CS limit) are
 * written there; on exit, on a fault and around every import the record and the retired
 * count go back to `cpu`, so a handler, a page walk or a device model sees exactly what
 * it sees under the JavaScript backend.
 */

import {
  CODE_PAGES_OFF,
  codeGenOff,
  ENTRY_BYTES,
  ENTRY_COUNT,
  entryOff,
  STATE_OFF,
  TLB_READ_OFF,
  TLB_WRITE_OFF,
} from "../../memory/wasm-layout.js";
import type { Cpu } from "../cpu.js";
import { CS, SS } from "../cpu.js";
import { condition } from "../interp/flags.js";
import {
  ramWrite8,
  ramWrite16,
  ramWrite32,
  rd8,
  rd16,
  rd32,
  rmwRead32,
  rmwWrite32,
  wr8,
  wr16,
  wr32,
} from "../interp/mem.js";
import {
  type DispatchLayout,
  encodeRegions,
  generateDispatcher,
  type HandlerTable,
  S_BREAK,
  S_CSBASE,
  S_CSLIM,
  S_CUR,
  S_D32,
  S_EFL,
  S_EIP,
  S_EXTRA,
  S_FAULT_PC,
  S_FM,
  S_FS_BASE,
  S_GS_BASE,
  S_HITS,
  S_LAZY,
  S_LFA,
  S_LFB,
  S_LFBITS,
  S_LFOP,
  S_LFRES,
  S_MODE_MISS,
  S_PG,
  S_PV,
  S_REPB,
  S_RET,
  S_SS32,
  STATE_SLOTS,
  type WasmRegionCode,
} from "./wasm-codegen.js";
import { encodeDispatcher } from "./wasm-encoder.js";

const LFA = S_LFA >> 2;
const LFB = S_LFB >> 2;
const LFRES = S_LFRES >> 2;
const LFOP = S_LFOP >> 2;
const LFBITS = S_LFBITS >> 2;
const LAZY = S_LAZY >> 2;
const EIP = S_EIP >> 2;
const RET = S_RET >> 2;
const FAULT_PC = S_FAULT_PC >> 2;
const REPB = S_REPB >> 2;
const FM = S_FM >> 2;
const PG = S_PG >> 2;
const PV = S_PV >> 2;
const SS32 = S_SS32 >> 2;
const CSLIM = S_CSLIM >> 2;
const BREAK = S_BREAK >> 2;
const EFL = S_EFL >> 2;
const CSBASE = S_CSBASE >> 2;
const D32 = S_D32 >> 2;
const CUR = S_CUR >> 2;
const HITS = S_HITS >> 2;
const EXTRA = S_EXTRA >> 2;
const FS_BASE = S_FS_BASE >> 2;
const GS_BASE = S_GS_BASE >> 2;
const MODE_MISS = S_MODE_MISS >> 2;

/** A translated block as the dispatcher's entry table records it. */
export interface EntryBlock {
  readonly phys: number;
  readonly eip: number;
  readonly d32: number;
  readonly page: number;
  readonly gen: number;
  readonly bytes: number;
}

export type TranslationFn = (cpu: Cpu, left: number) => void;

export class WasmBackend {
  readonly layout: DispatchLayout;
  private readonly S: Int32Array;
  /** The region functions (index 0 unused) and their regions, for the dispatcher. */
  private readonly table = new WebAssembly.Table({ element: "anyfunc", initial: 1 });
  private readonly regionsByIndex: { faultPc: number }[] = [{ faultPc: -1 }];
  private readonly entries: Int32Array;
  private readonly dispatch: (idx: number, left: number) => void;
  /** Regions entered by the dispatcher without a return to the host. */
  chainedEntries = 0;
  /** cpu.tlbEpoch at the current call's entry: a handler that changes it ends the region. */
  private epoch = 0;

  constructor(
    private readonly cpu: Cpu,
    private readonly calloutCounts: { [k: number]: number },
    /** The segments inline accesses may use (translator.ts flatMask: FS and GS at any base). */
    private readonly flatMask: (cpu: Cpu) => number,
    /** Told which region was running when a translation threw (the fault accounting). */
    private readonly onFault: (region: { faultPc: number }) => void,
    /** Told of a region entered under the other CR0.PG than it was made for (it ran nothing). */
    private readonly onModeMiss: (region: { faultPc: number }) => void,
  ) {
    const m = cpu.memory;
    const base = m.cpuArea + STATE_OFF;
    this.S = new Int32Array(m.buffer, base, 8 + STATE_SLOTS);
    this.layout = {
      state: base,
      tlbRead: m.cpuArea + TLB_READ_OFF,
      tlbWrite: m.cpuArea + TLB_WRITE_OFF,
      codePages: m.cpuArea + CODE_PAGES_OFF,
      ramSize: m.size,
      pages: m.buffer.byteLength / 65536,
      codeGen: m.cpuArea + codeGenOff(m.size),
      entries: m.cpuArea + entryOff(m.size),
      entryMask: ENTRY_COUNT - 1,
    };
    this.entries = new Int32Array(m.buffer, this.layout.entries, (ENTRY_COUNT * ENTRY_BYTES) / 4);
    this.entries.fill(0);
    const d = generateDispatcher(this.layout);
    const dispatcher = new WebAssembly.Instance(
      new WebAssembly.Module(encodeDispatcher(this.layout.pages, d.locals, d.code)),
      { env: { m: m.wasmMemory, t: this.table } },
    );
    this.dispatch = dispatcher.exports.run as (idx: number, left: number) => void;
  }

  /** Record a translated block in the dispatcher's entry table (the latest one wins a slot). */
  private enterBlock(b: EntryBlock, idx: number): void {
    const slot = ((b.phys ^ (b.phys >>> 15)) & (ENTRY_COUNT - 1)) * (ENTRY_BYTES / 4);
    const e = this.entries;
    e[slot] = b.phys | 0;
    e[slot + 1] = b.eip | 0;
    e[slot + 2] = b.d32;
    e[slot + 3] = b.page;
    e[slot + 4] = b.gen;
    e[slot + 5] = (b.eip + b.bytes - 1) | 0;
    e[slot + 6] = idx;
  }

  /**
   * Compile regions (generated against `table`) into one module and instantiate it; each
   * region's `faultPc` gets the faulting block's EIP.
   */
  instantiate(
    table: HandlerTable,
    codes: readonly WasmRegionCode[],
    regions: readonly { faultPc: number }[],
    blocks: readonly (readonly EntryBlock[])[],
  ): TranslationFn[] {
    const cpu = this.cpu;
    const S = this.S;
    const env = {
      m: cpu.memory.wasmMemory,
      h: (k: number): number => this.handler(table, k),
      rd: (seg: number, addr: number, w: number, eip: number): number => {
        this.flushRetired();
        cpu.insnEip = eip >>> 0;
        const off = addr >>> 0;
        const v = w === 4 ? rd32(cpu, seg, off) : w === 2 ? rd16(cpu, seg, off) : rd8(cpu, seg, off);
        S[BREAK] = cpu.iBreak ? 1 : 0;
        return v;
      },
      wr: (seg: number, addr: number, v: number, w: number, eip: number): void => {
        this.flushRetired();
        cpu.insnEip = eip >>> 0;
        const off = addr >>> 0;
        if (w === 4) wr32(cpu, seg, off, v);
        else if (w === 2) wr16(cpu, seg, off, v & 0xffff);
        else wr8(cpu, seg, off, v & 0xff);
        S[BREAK] = cpu.iBreak ? 1 : 0;
      },
      ramw: (phys: number, v: number, w: number): void => {
        this.flushRetired();
        const p = phys >>> 0;
        if (w === 4) ramWrite32(cpu, p, v);
        else if (w === 2) ramWrite16(cpu, p, v & 0xffff);
        else ramWrite8(cpu, p, v & 0xff);
        S[BREAK] = cpu.iBreak ? 1 : 0;
      },
      rmwr: (seg: number, addr: number, eip: number): number => {
        this.flushRetired();
        cpu.insnEip = eip >>> 0;
        const v = rmwRead32(cpu, seg, addr >>> 0);
        S[BREAK] = cpu.iBreak ? 1 : 0;
        return v;
      },
      rmww: (v: number): void => {
        this.flushRetired();
        rmwWrite32(cpu, v);
        S[BREAK] = cpu.iBreak ? 1 : 0;
      },
      cond: (cc: number): number => {
        this.flagsToCpu();
        return condition(cpu, cc) ? 1 : 0;
      },
    };
    const bytes = encodeRegions(this.layout, codes);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env });
    return regions.map((region, k) => {
      const idx = this.table.length;
      this.table.grow(1);
      this.table.set(idx, instance.exports[`f${k}`] as () => void);
      this.regionsByIndex[idx] = region;
      for (const b of blocks[k]!) this.enterBlock(b, idx);
      return (c: Cpu, left: number): void => {
        this.enter();
        try {
          this.dispatch(idx, left);
        } catch (e) {
          const running = this.regionsByIndex[S[CUR]!]!;
          running.faultPc = S[FAULT_PC]! >>> 0;
          this.onFault(running);
          this.leave();
          throw e;
        }
        this.leave();
        c.eip = S[EIP]! >>> 0;
        if (S[MODE_MISS] !== 0) {
          S[MODE_MISS] = 0;
          this.onModeMiss(this.regionsByIndex[S[CUR]!]!);
        }
      };
    });
  }

  private leave(): void {
    this.flagsToCpu();
    this.flushRetired();
    this.chainedEntries += this.S[HITS]!;
  }

  private enter(): void {
    const cpu = this.cpu;
    const S = this.S;
    this.flagsFromCpu();
    this.summary();
    S[EIP] = cpu.eip | 0;
    S[RET] = 0;
    S[BREAK] = 0;
    S[HITS] = 0;
    this.epoch = cpu.tlbEpoch;
  }

  /** The segment and paging facts the inline accesses test (codegen.ts phys). */
  private summary(): void {
    const cpu = this.cpu;
    const S = this.S;
    S[FM] = this.flatMask(cpu);
    S[FS_BASE] = cpu.segBase[4]!;
    S[GS_BASE] = cpu.segBase[5]!;
    S[PG] = cpu.cr0 < 0 ? 1 : 0;
    S[PV] = cpu.cpl === 3 ? 2 : 1;
    S[SS32] = (cpu.segAccess[SS]! & 0x4000) !== 0 ? 1 : 0;
    S[CSLIM] = cpu.segLimit[CS]!;
    S[CSBASE] = cpu.segBase[CS]!;
    S[D32] = (cpu.segAccess[CS]! >> 14) & 1;
  }

  private flagsToCpu(): void {
    const cpu = this.cpu;
    const S = this.S;
    cpu.lfA = S[LFA]!;
    cpu.lfB = S[LFB]!;
    cpu.lfRes = S[LFRES]!;
    cpu.lfOp = S[LFOP]!;
    cpu.lfBits = S[LFBITS]!;
    cpu.lazyMask = S[LAZY]!;
    cpu.eflags = S[EFL]!;
  }

  private flagsFromCpu(): void {
    const cpu = this.cpu;
    const S = this.S;
    S[LFA] = cpu.lfA;
    S[LFB] = cpu.lfB;
    S[LFRES] = cpu.lfRes;
    S[LFOP] = cpu.lfOp;
    S[LFBITS] = cpu.lfBits;
    S[LAZY] = cpu.lazyMask;
    S[EFL] = cpu.eflags;
  }

  /** Blocks retired so far in this call become visible to the rest of the machine. */
  private flushRetired(): void {
    const S = this.S;
    this.cpu.instructionsRetired += S[RET]!;
    S[RET] = 0;
  }

  /** The `h` import: run instruction k's interpreter handler as the JavaScript backend does. */
  private handler(code: HandlerTable, k: number): number {
    const cpu = this.cpu;
    const S = this.S;
    this.flagsToCpu();
    this.flushRetired();
    cpu.insnEip = code.eips[k]!;
    cpu.insnEsp = cpu.regs[4]!;
    cpu.eip = code.nexts[k]!;
    cpu.iRepBudget = S[REPB]!;
    const co = code.callouts[k]!;
    if (co >= 0) this.calloutCounts[co]!++;
    const retired = cpu.instructionsRetired;
    code.handlers[k]!(cpu, code.records[k]!);
    // Instructions the handler retired itself (REP iterations after the first), for the
    // region's budget (wasm-codegen.ts handler).
    S[EXTRA] = cpu.instructionsRetired - retired;
    this.flagsFromCpu();
    // A region is made for one CR0.PG (wasm-codegen.ts region): a change of it ends the region.
    const pg = S[PG];
    if (code.alu[k] === 0) this.summary();
    S[EIP] = cpu.eip | 0;
    return cpu.iBreak || cpu.tlbEpoch !== this.epoch || S[PG] !== pg ? 1 : 0;
  }
}
