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

import { CODE_PAGES_OFF, STATE_OFF, TLB_READ_OFF, TLB_WRITE_OFF } from "../../memory/wasm-layout.js";
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
  encodeRegions,
  type HandlerTable,
  S_BREAK,
  S_CSLIM,
  S_EFL,
  S_EIP,
  S_FAULT_PC,
  S_FM,
  S_LAZY,
  S_LFA,
  S_LFB,
  S_LFBITS,
  S_LFOP,
  S_LFRES,
  S_PG,
  S_PV,
  S_REPB,
  S_RET,
  S_SS32,
  STATE_SLOTS,
  type WasmLayout,
  type WasmRegionCode,
} from "./wasm-codegen.js";

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

export type TranslationFn = (cpu: Cpu, left: number) => void;

export class WasmBackend {
  readonly layout: WasmLayout;
  private readonly S: Int32Array;
  /** cpu.tlbEpoch at the current call's entry: a handler that changes it ends the region. */
  private epoch = 0;

  constructor(
    private readonly cpu: Cpu,
    private readonly calloutCounts: { [k: number]: number },
    private readonly flatMask: (cpu: Cpu) => number,
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
    };
  }

  /**
   * Compile regions (generated against `table`) into one module and instantiate it; each
   * region's `faultPc` gets the faulting block's EIP.
   */
  instantiate(
    table: HandlerTable,
    codes: readonly WasmRegionCode[],
    regions: readonly { faultPc: number }[],
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
      const f = instance.exports[`f${k}`] as (left: number) => void;
      return (c: Cpu, left: number): void => {
        this.enter();
        try {
          f(left);
        } catch (e) {
          region.faultPc = S[FAULT_PC]! >>> 0;
          this.flagsToCpu();
          this.flushRetired();
          throw e;
        }
        this.flagsToCpu();
        this.flushRetired();
        c.eip = S[EIP]! >>> 0;
      };
    });
  }

  private enter(): void {
    const cpu = this.cpu;
    const S = this.S;
    this.flagsFromCpu();
    this.summary();
    S[EIP] = cpu.eip | 0;
    S[RET] = 0;
    S[BREAK] = 0;
    this.epoch = cpu.tlbEpoch;
  }

  /** The segment and paging facts the inline accesses test (codegen.ts phys). */
  private summary(): void {
    const cpu = this.cpu;
    const S = this.S;
    S[FM] = this.flatMask(cpu);
    S[PG] = cpu.cr0 < 0 ? 1 : 0;
    S[PV] = cpu.cpl === 3 ? 2 : 1;
    S[SS32] = (cpu.segAccess[SS]! & 0x4000) !== 0 ? 1 : 0;
    S[CSLIM] = cpu.segLimit[CS]!;
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
    code.handlers[k]!(cpu, code.records[k]!);
    this.flagsFromCpu();
    if (code.alu[k] === 0) this.summary();
    S[EIP] = cpu.eip | 0;
    return cpu.iBreak || cpu.tlbEpoch !== this.epoch ? 1 : 0;
  }
}
