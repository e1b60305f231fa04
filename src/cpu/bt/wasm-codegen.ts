/**
 * The translator's WebAssembly backend (`--bt-backend wasm`): a region of decoded blocks
 * (the same members, boundaries and dispatch as codegen.ts's JavaScript regions) becomes one
 * wasm function. V8 compiles a small wasm module to machine code at once (its baseline
 * compiler, Liftoff, in microseconds), where a `new Function` translation starts in V8's
 * bytecode interpreter and needs thousands of calls before it is optimised; so warm code
 * can be translated, not only the hottest (v86 compiles guest code to wasm for the same
 * reason).
 *
 * What the wasm code touches is in the machine's one shared WebAssembly memory
 * (memory/wasm-layout.ts): guest RAM, the register file (`cpu.regs`), the soft TLB, the
 * code-page flags, and the state slots below, which the JavaScript glue (wasm-glue.ts)
 * copies to and from `cpu` around each call:
 *  - registers are read and written in memory (no locals), so the architectural state is
 *    current at every point where something can fault or call out;
 *  - the lazy-flag record (flags.ts: lfA lfB lfRes lfOp lfBits lazyMask) is written by every
 *    inline flag-setting instruction; a Jcc/SETcc/CMOVcc whose flags come from an earlier
 *    instruction of the same block is evaluated from its operands, otherwise through the
 *    `cond` import;
 *  - inline loads and stores take the mem.ts fast path (flat segment, one page, the soft
 *    TLB granting the privilege, RAM); anything else calls the `rd`/`wr` imports, which run
 *    mem.ts's rdN/wrN (segment checks, page walks, faults, MMIO); a store to a page holding
 *    decoded code goes through `ramw` (generation bump, self-modifying code);
 *  - every other instruction, and an inline one whose rare case (a 16-bit stack, a jump
 *    beyond the CS limit) is not emitted, calls its interpreter handler through the `h`
 *    import; after a handler or an access that asked to stop, the region returns.
 *
 * Instruction accounting is the JavaScript backend's: each block retires its count at its
 * end (S_RET, added to cpu.instructionsRetired by the glue), faults leave S_FAULT_PC at
 * the faulting block's start and the glue sets `cpu.insnEip` before every import.
 */

import type { Handler, Insn } from "../interp/insn.js";
import * as A from "../interp/ops-alu.js";
import * as C from "../interp/ops-control.js";
import * as D from "../interp/ops-data.js";
import { calloutKind } from "./callouts.js";
import { encodeModule, Op, sleb, uleb, VOID } from "./wasm-encoder.js";

/** State slots: byte offsets from the CPU area's state start (after the 8 registers). */
export const S_LFA = 32;
export const S_LFB = 36;
export const S_LFRES = 40;
export const S_LFOP = 44;
export const S_LFBITS = 48;
export const S_LAZY = 52;
export const S_EIP = 56;
export const S_RET = 60;
export const S_FAULT_PC = 64;
export const S_REPB = 68;
/** mem.ts flatMask(cpu): one read bit per segment, one write bit at +8. */
export const S_FM = 72;
/** 1 when CR0.PG is set. */
export const S_PG = 76;
/** Soft-TLB privilege bit: 1 supervisor, 2 user. */
export const S_PV = 80;
/** SS is a 32-bit stack (descriptor B bit). */
export const S_SS32 = 84;
/** CS limit (unsigned). */
export const S_CSLIM = 88;
/** Set by the glue after an import when cpu.iBreak is set. */
export const S_BREAK = 92;
export const STATE_SLOTS = 24;

/** Imported function indices. */
const IMP_H = 0;
const IMP_RD = 1;
const IMP_WR = 2;
const IMP_RAMW = 3;
const IMP_COND = 4;
export const IMPORTS = [
  { name: "h", params: 1, results: 1 },
  { name: "rd", params: 4, results: 1 },
  { name: "wr", params: 5, results: 0 },
  { name: "ramw", params: 3, results: 0 },
  { name: "cond", params: 1, results: 1 },
] as const;

/** The integer ALU handlers (ops-alu.ts): they touch registers, flags and memory only. */
const ALU_HANDLERS: ReadonlySet<Handler> = new Set(
  Object.values(A).filter((f): f is Handler => typeof f === "function"),
);

const ARITH = 0x8d5;
const SS = 2;

/** Fixed locals (after the `left` parameter, local 0). */
const L_LEFT = 0;
const L_PC = 1;
const L_XA = 2;
const L_XP = 3;
const L_XE = 4;
const L_BRK = 5;
const FIXED_LOCALS = 6;

export interface WasmLayout {
  /** Absolute address of the state slots (the register file is at +0). */
  readonly state: number;
  readonly tlbRead: number;
  readonly tlbWrite: number;
  readonly codePages: number;
  /** RAM size. */
  readonly ramSize: number;
  /** The memory's size in wasm pages (the import's limits). */
  readonly pages: number;
}

export interface WasmMember {
  readonly eip: number;
  readonly insns: readonly Insn[];
}

export interface WasmRegionCode {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Handler-call table for the `h` import: handler, record, EIP, next EIP, callout kind. */
  readonly handlers: Handler[];
  readonly records: Insn[];
  readonly eips: number[];
  readonly nexts: number[];
  readonly callouts: number[];
  /** 1 when the handler is an integer ALU one (ops-alu.ts): no segment, CR0 or CPL change. */
  readonly alu: Uint8Array;
  /** Per member, per instruction: 1 when it ran inline (see codegen.ts BlockCode.inline). */
  readonly inline: Uint8Array[];
}

interface FlagState {
  readonly kind: "add" | "sub" | "logic";
  readonly a: number;
  readonly b: number;
  readonly r: number;
  readonly bits: 8 | 32;
}

class WasmEmitter {
  readonly c: number[] = [];
  private nLocals = FIXED_LOCALS;
  /** Structured-control nesting depth now, and the depth of each label. */
  private depth = 0;
  private loopDepth = 0;
  private flags: FlagState | undefined;
  readonly handlers: Handler[] = [];
  readonly records: Insn[] = [];
  readonly eips: number[] = [];
  readonly nexts: number[] = [];
  readonly callouts: number[] = [];
  readonly alu: number[] = [];
  private inline = new Uint8Array(0);

  constructor(private readonly L: WasmLayout) {}

  // ---- raw emission ----
  private op(...b: number[]): void {
    for (const x of b) this.c.push(x);
  }
  private i32(v: number): void {
    this.c.push(Op.i32Const);
    sleb(this.c, v);
  }
  private get(l: number): void {
    this.c.push(Op.localGet);
    uleb(this.c, l);
  }
  private set(l: number): void {
    this.c.push(Op.localSet);
    uleb(this.c, l);
  }
  private tee(l: number): void {
    this.c.push(Op.localTee);
    uleb(this.c, l);
  }
  private local(): number {
    return this.nLocals++;
  }
  get locals(): number {
    return this.nLocals - 1;
  }
  private mem(opc: number, align: number, offset: number): void {
    this.c.push(opc);
    uleb(this.c, align);
    uleb(this.c, offset >>> 0);
  }
  private open(kind: number, type: number = VOID): void {
    this.c.push(kind, type);
    this.depth++;
  }
  private else_(): void {
    this.c.push(Op.else);
  }
  private end(): void {
    this.c.push(Op.end);
    this.depth--;
  }
  /** Branch to the region's dispatch loop. */
  private brLoop(): void {
    this.c.push(Op.br);
    uleb(this.c, this.depth - this.loopDepth - 1);
  }
  private call(f: number): void {
    this.c.push(Op.call);
    uleb(this.c, f);
  }

  // ---- state ----
  private loadSlot(off: number): void {
    this.i32(0);
    this.mem(Op.i32Load, 2, this.L.state + off);
  }
  /** Store the value `emit` pushes into a slot. */
  private storeSlot(off: number, emit: () => void): void {
    this.i32(0);
    emit();
    this.mem(Op.i32Store, 2, this.L.state + off);
  }
  private storeSlotConst(off: number, v: number): void {
    this.storeSlot(off, () => this.i32(v));
  }
  private reg(n: number): void {
    this.loadSlot(n * 4);
  }
  private setReg(n: number, l: number): void {
    this.storeSlot(n * 4, () => this.get(l));
  }
  /** 8-bit register by ModRM number (AL CL DL BL AH CH DH BH): a byte of the register file. */
  private reg8Addr(n: number): number {
    return this.L.state + (n & 3) * 4 + (n >> 2);
  }
  private reg8(n: number): void {
    this.i32(0);
    this.mem(Op.i32Load8u, 0, this.reg8Addr(n));
  }
  private setReg8(n: number, l: number): void {
    this.i32(0);
    this.get(l);
    this.mem(Op.i32Store8, 0, this.reg8Addr(n));
  }
  /** Effective address (insn.ts `ea`) onto the stack. */
  private ea(i: Insn): void {
    this.i32(i.disp | 0);
    if (i.base >= 0) {
      this.reg(i.base);
      this.op(Op.i32Add);
    }
    if (i.index >= 0) {
      this.reg(i.index);
      if (i.scale !== 0) {
        this.i32(i.scale);
        this.op(Op.i32Shl);
      }
      this.op(Op.i32Add);
    }
    if (i.a32 === 0) {
      this.i32(0xffff);
      this.op(Op.i32And);
    }
  }

  // ---- memory (mem.ts fast paths) ----
  /**
   * L_XP := the physical address of a w-byte access at offset L_XA in `seg`, or -1 for the
   * slow path (see codegen.ts phys: a flat segment, inside one page, RAM; with paging, the
   * soft TLB entry must grant the current privilege).
   */
  private phys(w: 1 | 2 | 4, seg: number, write: boolean): void {
    const L = this.L;
    this.i32(-1);
    this.set(L_XP);
    this.loadSlot(S_FM);
    this.i32(write ? 0x100 << seg : 1 << seg);
    this.op(Op.i32And);
    this.i32(0);
    this.op(Op.i32Ne);
    if (w > 1) {
      this.get(L_XA);
      this.i32(4095);
      this.op(Op.i32And);
      this.i32(4096 - w);
      this.op(Op.i32LeU, Op.i32And);
    }
    this.open(Op.if);
    this.loadSlot(S_PG);
    this.op(Op.i32Eqz);
    this.open(Op.if);
    this.get(L_XA);
    this.i32(L.ramSize - w);
    this.op(Op.i32LeU);
    this.open(Op.if);
    this.get(L_XA);
    this.set(L_XP);
    this.end();
    this.else_();
    this.get(L_XA);
    this.i32(12);
    this.op(Op.i32ShrU);
    this.i32(2);
    this.op(Op.i32Shl);
    this.mem(Op.i32Load, 2, write ? L.tlbWrite : L.tlbRead);
    this.tee(L_XE);
    this.loadSlot(S_PV);
    this.op(Op.i32And);
    this.open(Op.if);
    this.get(L_XE);
    this.i32(-4096);
    this.op(Op.i32And);
    this.get(L_XA);
    this.i32(4095);
    this.op(Op.i32And, Op.i32Or);
    this.tee(L_XE);
    this.i32(L.ramSize - w);
    this.op(Op.i32LeU);
    this.open(Op.if);
    this.get(L_XE);
    this.set(L_XP);
    this.end();
    this.end();
    this.end();
    this.end();
  }
  private noteBreak(): void {
    this.loadSlot(S_BREAK);
    this.get(L_BRK);
    this.op(Op.i32Or);
    this.set(L_BRK);
  }
  /** Load w bytes at `seg`:(address on the stack) into a new local; returns it. */
  private load(w: 1 | 2 | 4, seg: number, eip: number, signed = false): number {
    this.set(L_XA);
    this.phys(w, seg, false);
    const v = this.local();
    this.get(L_XP);
    this.i32(-1);
    this.op(Op.i32Ne);
    this.open(Op.if);
    this.get(L_XP);
    if (w === 4) this.mem(Op.i32Load, 2, 0);
    else if (w === 2) this.mem(signed ? Op.i32Load16s : Op.i32Load16u, 1, 0);
    else this.mem(signed ? Op.i32Load8s : Op.i32Load8u, 0, 0);
    this.set(v);
    this.else_();
    this.i32(seg);
    this.get(L_XA);
    this.i32(w);
    this.i32(eip | 0);
    this.call(IMP_RD);
    if (signed) {
      this.i32(32 - w * 8);
      this.op(Op.i32Shl);
      this.i32(32 - w * 8);
      this.op(Op.i32ShrS);
    }
    this.set(v);
    this.noteBreak();
    this.end();
    return v;
  }
  /** Store local `v` (w bytes) at `seg`:(address on the stack). */
  private store(w: 1 | 2 | 4, seg: number, v: number, eip: number): void {
    this.set(L_XA);
    this.phys(w, seg, true);
    this.get(L_XP);
    this.i32(-1);
    this.op(Op.i32Ne);
    this.open(Op.if);
    this.get(L_XP);
    this.i32(12);
    this.op(Op.i32ShrU);
    this.mem(Op.i32Load8u, 0, this.L.codePages);
    this.op(Op.i32Eqz);
    this.open(Op.if);
    this.get(L_XP);
    this.get(v);
    if (w === 4) this.mem(Op.i32Store, 2, 0);
    else if (w === 2) this.mem(Op.i32Store16, 1, 0);
    else this.mem(Op.i32Store8, 0, 0);
    this.else_();
    this.get(L_XP);
    this.get(v);
    this.i32(w);
    this.call(IMP_RAMW);
    this.noteBreak();
    this.end();
    this.else_();
    this.i32(seg);
    this.get(L_XA);
    this.get(v);
    this.i32(w);
    this.i32(eip | 0);
    this.call(IMP_WR);
    this.noteBreak();
    this.end();
  }

  // ---- flags ----
  private lazy(op: 0 | 1 | 2, a: number, b: number, r: number, bits: 8 | 32): void {
    if (op !== 2) {
      this.storeSlot(S_LFA, () => this.get(a));
      this.storeSlot(S_LFB, () => this.get(b));
    }
    this.storeSlot(S_LFRES, () => this.get(r));
    this.storeSlotConst(S_LFBITS, bits);
    this.storeSlotConst(S_LFOP, op);
    this.storeSlotConst(S_LAZY, ARITH);
    this.flags =
      op === 2 ? { kind: "logic", a: r, b: r, r, bits } : { kind: op === 0 ? "add" : "sub", a, b, r, bits };
  }

  /** Push a condition code's truth (0/1): from the block's flag state when known, else `cond`. */
  private cond(cc: number): void {
    const f = this.flags;
    const g = (l: number): void => this.get(l);
    const generic = (): void => {
      this.i32(cc);
      this.call(IMP_COND);
    };
    if (f === undefined) {
      generic();
      return;
    }
    const { a, b, r } = f;
    const cmp = (x: number, y: number, o: number): void => {
      g(x);
      g(y);
      this.op(o);
    };
    const zero = (o: number): void => {
      g(r);
      this.i32(0);
      this.op(o);
    };
    if (f.bits === 32) {
      if (f.kind === "sub") {
        switch (cc) {
          case 0:
          case 1:
            g(a);
            g(b);
            this.op(Op.i32Xor);
            g(a);
            g(r);
            this.op(Op.i32Xor, Op.i32And);
            this.i32(0);
            this.op(cc === 0 ? Op.i32LtS : Op.i32GeS);
            return;
          case 2: {
            cmp(a, b, Op.i32LtU);
            return;
          }
          case 3: {
            cmp(a, b, Op.i32GeU);
            return;
          }
          case 6: {
            cmp(a, b, Op.i32LeU);
            return;
          }
          case 7: {
            cmp(a, b, Op.i32GtU);
            return;
          }
          case 12: {
            cmp(a, b, Op.i32LtS);
            return;
          }
          case 13: {
            cmp(a, b, Op.i32GeS);
            return;
          }
          case 14: {
            cmp(a, b, Op.i32LeS);
            return;
          }
          case 15: {
            cmp(a, b, Op.i32GtS);
            return;
          }
        }
      }
      if (f.kind === "logic") {
        switch (cc) {
          case 0:
          case 2: {
            this.i32(0);
            return;
          }
          case 1:
          case 3: {
            this.i32(1);
            return;
          }
          case 6: {
            zero(Op.i32Eq);
            return;
          }
          case 7: {
            zero(Op.i32Ne);
            return;
          }
          case 12: {
            zero(Op.i32LtS);
            return;
          }
          case 13: {
            zero(Op.i32GeS);
            return;
          }
          case 14: {
            zero(Op.i32LeS);
            return;
          }
          case 15: {
            zero(Op.i32GtS);
            return;
          }
        }
      }
      if (f.kind === "add" && (cc === 2 || cc === 3)) {
        cmp(r, a, cc === 2 ? Op.i32LtU : Op.i32GeU);
        return;
      }
      switch (cc) {
        case 4: {
          zero(Op.i32Eq);
          return;
        }
        case 5: {
          zero(Op.i32Ne);
          return;
        }
        case 8: {
          zero(Op.i32LtS);
          return;
        }
        case 9: {
          zero(Op.i32GeS);
          return;
        }
      }
      generic();
      return;
    }
    // 8-bit results are unsigned bytes.
    if (f.kind === "sub") {
      switch (cc) {
        case 2: {
          cmp(a, b, Op.i32LtU);
          return;
        }
        case 3: {
          cmp(a, b, Op.i32GeU);
          return;
        }
        case 6: {
          cmp(a, b, Op.i32LeU);
          return;
        }
        case 7: {
          cmp(a, b, Op.i32GtU);
          return;
        }
      }
    }
    if (f.kind === "logic" && (cc === 2 || cc === 3)) {
      this.i32(cc === 2 ? 0 : 1);
      return;
    }
    switch (cc) {
      case 4: {
        zero(Op.i32Eq);
        return;
      }
      case 5: {
        zero(Op.i32Ne);
        return;
      }
      case 8:
      case 9:
        g(r);
        this.i32(128);
        this.op(Op.i32And);
        this.i32(0);
        this.op(cc === 8 ? Op.i32Ne : Op.i32Eq);
        return;
    }
    generic();
    return;
  }

  // ---- exits ----
  private addRet(n: number): void {
    this.storeSlot(S_RET, () => {
      this.loadSlot(S_RET);
      this.i32(n);
      this.op(Op.i32Add);
    });
  }
  /** Leave the region after instruction k with EIP `next`. */
  private exitAfter(k: number, next: number): void {
    this.addRet(k + 1);
    this.storeSlotConst(S_EIP, next);
    this.op(Op.return);
  }
  /** If an access asked to stop (L_BRK), leave after instruction k. */
  private breakCheck(k: number, next: number): void {
    this.get(L_BRK);
    this.open(Op.if);
    this.exitAfter(k, next);
    this.end();
  }
  /** The block's end: retire k+1, go on at the EIP `emitTarget` pushes. */
  private endBlock(k: number, emitTarget: () => void): void {
    this.addRet(k + 1);
    this.get(L_LEFT);
    this.i32(k + 1);
    this.op(Op.i32Sub);
    this.set(L_LEFT);
    emitTarget();
    this.set(L_PC);
    this.brLoop();
  }

  /** The handler call (the reference semantics) for instruction k. */
  private handler(i: Insn, k: number, eip: number, next: number, last: boolean): void {
    const h = this.handlers.length;
    this.handlers.push(i.fn);
    this.records.push(i);
    this.eips.push(eip >>> 0);
    this.nexts.push(next >>> 0);
    this.callouts.push(calloutKind(i));
    this.alu.push(ALU_HANDLERS.has(i.fn) ? 1 : 0);
    this.i32(h);
    this.call(IMP_H);
    this.flags = undefined;
    if (last) {
      // The handler left the next EIP (S_EIP); a stop request ends the region there.
      this.open(Op.if);
      this.addRet(k + 1);
      this.op(Op.return);
      this.end();
      this.endBlock(k, () => this.loadSlot(S_EIP));
    } else {
      this.open(Op.if);
      this.addRet(k + 1);
      this.op(Op.return);
      this.end();
    }
  }

  /** A jump target beyond the CS limit raises #GP in the handler: a runtime fallback. */
  private jumpTo(i: Insn, k: number, eip: number, next: number, target: number | (() => void)): void {
    const t = this.local();
    if (typeof target === "number") this.i32(target | 0);
    else target();
    this.set(t);
    this.get(t);
    this.loadSlot(S_CSLIM);
    this.op(Op.i32GtU);
    this.open(Op.if);
    this.handler(i, k, eip, next, true);
    this.end();
    this.endBlock(k, () => this.get(t));
  }

  /** Inline 32-bit push of local v (mem.ts push32 on a 32-bit stack). */
  private push(v: number, eip: number): void {
    const s = this.local();
    this.reg(4);
    this.i32(4);
    this.op(Op.i32Sub);
    this.tee(s);
    this.store(4, SS, v, eip);
    this.setReg(4, s);
  }
  private ss32(): void {
    this.loadSlot(S_SS32);
  }

  // ---- instructions ----
  /** Emit instruction k; returns true when it ended the block (a transfer, always last). */
  private insn(i: Insn, k: number, eip: number, next: number, last: boolean): boolean {
    const fn = i.fn;
    const reg = i.mod === 3;
    if (calloutKind(i) >= 0) {
      this.handler(i, k, eip, next, last);
      return last;
    }
    this.inline[k] = 1;
    const memOp = (): void => this.breakCheck(k, next);
    if (fn === D.movRR32 || (fn === D.movRmR32 && reg)) {
      const [d, s] = fn === D.movRR32 ? [i.reg, i.rm] : [i.rm, i.reg];
      const t = this.local();
      this.reg(s);
      this.set(t);
      this.setReg(d, t);
      return false;
    }
    if (fn === D.movRM32 || (fn === D.movRRm32 && !reg)) {
      this.ea(i);
      const v = this.load(4, i.seg, eip);
      this.setReg(i.reg, v);
      memOp();
      return false;
    }
    if (fn === D.movRRm32 && reg) {
      const t = this.local();
      this.reg(i.rm);
      this.set(t);
      this.setReg(i.reg, t);
      return false;
    }
    if (fn === D.movMR32 || (fn === D.movRmR32 && !reg)) {
      const t = this.local();
      this.reg(i.reg);
      this.set(t);
      this.ea(i);
      this.store(4, i.seg, t, eip);
      memOp();
      return false;
    }
    if (fn === D.movRImm32 || (fn === D.movRmImm32 && reg)) {
      this.storeSlotConst((fn === D.movRImm32 ? i.reg : i.rm) * 4, i.imm | 0);
      return false;
    }
    if (fn === D.movRmImm32) {
      const t = this.local();
      this.i32(i.imm | 0);
      this.set(t);
      this.ea(i);
      this.store(4, i.seg, t, eip);
      memOp();
      return false;
    }
    if (fn === D.lea32) {
      const t = this.local();
      this.ea(i);
      this.set(t);
      this.setReg(i.reg, t);
      return false;
    }
    if (fn === D.movzxB32 || fn === D.movsxB32 || fn === D.movzxW32 || fn === D.movsxW32) {
      const sx = fn === D.movsxB32 || fn === D.movsxW32;
      const w = fn === D.movzxB32 || fn === D.movsxB32 ? 1 : 2;
      let v: number;
      if (reg) {
        v = this.local();
        if (w === 1) this.reg8(i.rm);
        else {
          this.reg(i.rm);
          this.i32(0xffff);
          this.op(Op.i32And);
        }
        if (sx) {
          this.i32(32 - w * 8);
          this.op(Op.i32Shl);
          this.i32(32 - w * 8);
          this.op(Op.i32ShrS);
        }
        this.set(v);
      } else {
        this.ea(i);
        v = this.load(w, i.seg, eip, sx);
      }
      this.setReg(i.reg, v);
      if (!reg) memOp();
      return false;
    }
    if (fn === D.movRRm8 || fn === D.movRmR8) {
      const t = this.local();
      if (reg) {
        const [d, s] = fn === D.movRRm8 ? [i.reg, i.rm] : [i.rm, i.reg];
        this.reg8(s);
        this.set(t);
        this.setReg8(d, t);
        return false;
      }
      if (fn === D.movRRm8) {
        this.ea(i);
        const v = this.load(1, i.seg, eip);
        this.setReg8(i.reg, v);
      } else {
        this.reg8(i.reg);
        this.set(t);
        this.ea(i);
        this.store(1, i.seg, t, eip);
      }
      memOp();
      return false;
    }
    if (fn === D.movRmImm8 && !reg) {
      const t = this.local();
      this.i32(i.imm & 255);
      this.set(t);
      this.ea(i);
      this.store(1, i.seg, t, eip);
      memOp();
      return false;
    }
    if (fn === D.pushR32 || fn === D.pushImm32) {
      // A 16-bit stack takes the handler.
      this.inline[k] = 1;
      this.ss32();
      this.open(Op.if);
      const t = this.local();
      if (fn === D.pushR32) this.reg(i.reg);
      else this.i32(i.imm | 0);
      this.set(t);
      this.push(t, eip);
      this.else_();
      this.handler(i, k, eip, next, false);
      this.end();
      memOp();
      return false;
    }
    if (fn === D.popR32) {
      this.ss32();
      this.open(Op.if);
      this.reg(4);
      const v = this.load(4, SS, eip);
      const s = this.local();
      this.reg(4);
      this.i32(4);
      this.op(Op.i32Add);
      this.set(s);
      this.setReg(4, s);
      this.setReg(i.reg, v);
      this.else_();
      this.handler(i, k, eip, next, false);
      this.end();
      memOp();
      return false;
    }
    if (
      ((fn === A.aluRmR32 && reg) ||
        fn === A.aluRRm32 ||
        (fn === A.aluRmImm32 && reg) ||
        fn === A.aluAccImm32 ||
        fn === A.cmpRmR32) &&
      !(fn !== A.cmpRmR32 && (i.sub === 2 || i.sub === 3))
    ) {
      const a = this.local();
      const b = this.local();
      let dst = -1;
      let mem = false;
      if (fn === A.aluRmR32) {
        dst = i.rm;
        this.reg(i.rm);
        this.set(a);
        this.reg(i.reg);
        this.set(b);
      } else if (fn === A.aluRRm32) {
        dst = i.reg;
        this.reg(i.reg);
        this.set(a);
        if (reg) {
          this.reg(i.rm);
          this.set(b);
        } else {
          mem = true;
          this.ea(i);
          this.get(this.load(4, i.seg, eip));
          this.set(b);
        }
      } else if (fn === A.aluRmImm32 || fn === A.aluAccImm32) {
        dst = fn === A.aluAccImm32 ? 0 : i.rm;
        this.reg(dst);
        this.set(a);
        this.i32(i.imm | 0);
        this.set(b);
      } else {
        if (reg) this.reg(i.rm);
        else {
          mem = true;
          this.ea(i);
          this.get(this.load(4, i.seg, eip));
        }
        this.set(a);
        this.reg(i.reg);
        this.set(b);
      }
      const op = fn === A.cmpRmR32 ? 7 : i.sub;
      const r = this.local();
      this.get(a);
      this.get(b);
      this.op(
        op === 0
          ? Op.i32Add
          : op === 5 || op === 7
            ? Op.i32Sub
            : op === 1
              ? Op.i32Or
              : op === 4
                ? Op.i32And
                : Op.i32Xor,
      );
      this.set(r);
      this.lazy(op === 0 ? 0 : op === 5 || op === 7 ? 1 : 2, a, b, r, 32);
      if (op !== 7) this.setReg(dst, r);
      if (mem) memOp();
      return false;
    }
    if (fn === A.testRmR32 || fn === A.testAccImm32 || (fn === A.testRmImm32 && reg)) {
      const r = this.local();
      if (fn === A.testAccImm32) this.reg(0);
      else if (reg) this.reg(i.rm);
      else {
        this.ea(i);
        this.get(this.load(4, i.seg, eip));
      }
      if (fn === A.testRmR32) this.reg(i.reg);
      else this.i32(i.imm | 0);
      this.op(Op.i32And);
      this.set(r);
      this.lazy(2, r, r, r, 32);
      if (!reg && fn === A.testRmR32) memOp();
      return false;
    }
    if (
      fn === A.aluAccImm8 ||
      (fn === A.aluRmImm8 && reg) ||
      (fn === A.aluRRm8 && reg) ||
      (fn === A.cmpRmR8 && reg)
    ) {
      const op = fn === A.cmpRmR8 ? 7 : i.sub;
      if (op === 2 || op === 3) {
        this.inline[k] = 0;
        this.handler(i, k, eip, next, last);
        return last;
      }
      const dst = fn === A.aluAccImm8 ? 0 : fn === A.aluRRm8 ? i.reg : i.rm;
      const a = this.local();
      const b = this.local();
      const r = this.local();
      this.reg8(dst);
      this.set(a);
      if (fn === A.aluAccImm8 || fn === A.aluRmImm8) this.i32(i.imm & 255);
      else this.reg8(fn === A.aluRRm8 ? i.rm : i.reg);
      this.set(b);
      this.get(a);
      this.get(b);
      this.op(
        op === 0
          ? Op.i32Add
          : op === 5 || op === 7
            ? Op.i32Sub
            : op === 1
              ? Op.i32Or
              : op === 4
                ? Op.i32And
                : Op.i32Xor,
      );
      this.i32(255);
      this.op(Op.i32And);
      this.set(r);
      this.lazy(op === 0 ? 0 : op === 5 || op === 7 ? 1 : 2, a, b, r, 8);
      if (op !== 7) this.setReg8(dst, r);
      return false;
    }
    if (fn === A.testAccImm8 || fn === A.testRmImm8 || (fn === A.testRmR8 && reg)) {
      const r = this.local();
      if (fn === A.testAccImm8) this.reg8(0);
      else if (reg) this.reg8(i.rm);
      else {
        this.ea(i);
        this.get(this.load(1, i.seg, eip));
      }
      if (fn === A.testRmR8) this.reg8(i.reg);
      else this.i32(i.imm & 255);
      this.op(Op.i32And);
      this.set(r);
      this.lazy(2, r, r, r, 8);
      if (!reg) memOp();
      return false;
    }
    if (fn === A.setcc && reg) {
      const t = this.local();
      this.cond(i.sub);
      this.set(t);
      this.setReg8(i.rm, t);
      return false;
    }
    if (fn === A.cmov32) {
      let v: number;
      if (reg) {
        v = this.local();
        this.reg(i.rm);
        this.set(v);
      } else {
        this.ea(i);
        v = this.load(4, i.seg, eip);
      }
      this.cond(i.sub);
      this.open(Op.if);
      this.setReg(i.reg, v);
      this.end();
      if (!reg) memOp();
      return false;
    }
    if (fn === D.xchg32 && reg) {
      const t = this.local();
      const u = this.local();
      this.reg(i.rm);
      this.set(t);
      this.reg(i.reg);
      this.set(u);
      this.setReg(i.rm, u);
      this.setReg(i.reg, t);
      return false;
    }
    if (fn === D.nop) return false;
    // ---- control transfer (always the last instruction of a block) ----
    if (last && (fn === C.jcc || fn === C.jmpRel)) {
      const target = i.o32 !== 0 ? (next + i.imm) >>> 0 : (next + i.imm) & 0xffff;
      if (fn === C.jcc) {
        this.cond(i.sub);
        this.open(Op.if);
        this.jumpTo(i, k, eip, next, target);
        this.end();
        this.endBlock(k, () => this.i32(next | 0));
      } else this.jumpTo(i, k, eip, next, target);
      return true;
    }
    if (last && fn === C.callRel32) {
      const target = (next + i.imm) >>> 0;
      this.ss32();
      this.op(Op.i32Eqz);
      this.i32(target | 0);
      this.loadSlot(S_CSLIM);
      this.op(Op.i32GtU, Op.i32Or);
      this.open(Op.if);
      this.handler(i, k, eip, next, true);
      this.end();
      const t = this.local();
      this.i32(next | 0);
      this.set(t);
      this.push(t, eip);
      this.endBlock(k, () => this.i32(target | 0));
      return true;
    }
    if (last && fn === C.retNear32) {
      this.ss32();
      this.op(Op.i32Eqz);
      this.open(Op.if);
      this.handler(i, k, eip, next, true);
      this.end();
      this.reg(4);
      const t = this.load(4, SS, eip);
      this.get(t);
      this.loadSlot(S_CSLIM);
      this.op(Op.i32GtU);
      this.open(Op.if);
      this.handler(i, k, eip, next, true);
      this.end();
      const s = this.local();
      this.reg(4);
      this.i32(4 + i.imm);
      this.op(Op.i32Add);
      this.set(s);
      this.setReg(4, s);
      this.endBlock(k, () => this.get(t));
      return true;
    }
    if (last && fn === C.jmpRm32 && reg) {
      this.jumpTo(i, k, eip, next, () => this.reg(i.rm));
      return true;
    }
    this.inline[k] = 0;
    this.handler(i, k, eip, next, last);
    return last;
  }

  /** One member block; leaves its inline flags. */
  private body(m: WasmMember): Uint8Array {
    const insns = m.insns;
    const n = insns.length;
    this.inline = new Uint8Array(n);
    this.flags = undefined;
    // Budget: the whole block or nothing (the dispatcher runs a tail).
    this.get(L_LEFT);
    this.i32(n);
    this.op(Op.i32LtS);
    this.open(Op.if);
    this.storeSlotConst(S_EIP, m.eip);
    this.op(Op.return);
    this.end();
    this.storeSlotConst(S_FAULT_PC, m.eip);
    this.storeSlot(S_REPB, () => {
      this.get(L_LEFT);
      this.i32(n - 1);
      this.op(Op.i32Sub);
    });
    this.i32(0);
    this.set(L_BRK);
    const eips: number[] = [];
    let eip = m.eip >>> 0;
    for (const i of insns) {
      eips.push(eip);
      eip = (eip + i.len) >>> 0;
    }
    const end = eip;
    let ended = false;
    for (let k = 0; k < n; k++)
      ended = this.insn(insns[k]!, k, eips[k]!, k + 1 < n ? eips[k + 1]! : end, k === n - 1);
    if (!ended) this.endBlock(n - 1, () => this.i32(end | 0));
    return this.inline;
  }

  /** The region function: a dispatch loop over the members' start EIPs. */
  region(members: readonly WasmMember[]): Uint8Array[] {
    const inline: Uint8Array[] = [];
    this.loadSlot(S_EIP);
    this.set(L_PC);
    this.open(Op.loop);
    this.loopDepth = this.depth - 1;
    this.open(Op.block); // exit
    for (let m = members.length - 1; m >= 0; m--) this.open(Op.block);
    // Dispatch: the member whose EIP is pc, else leave.
    members.forEach((m, k) => {
      this.get(L_PC);
      this.i32(m.eip | 0);
      this.op(Op.i32Eq, Op.brIf);
      uleb(this.c, k);
    });
    this.op(Op.br);
    uleb(this.c, members.length);
    for (const m of members) {
      this.end();
      inline.push(this.body(m));
    }
    this.end(); // exit
    this.storeSlot(S_EIP, () => this.get(L_PC));
    this.op(Op.return);
    this.end(); // loop
    return inline;
  }
}

/** Generate a region's wasm module (members[0] is the block that became hot). */
export function generateWasmRegion(layout: WasmLayout, members: readonly WasmMember[]): WasmRegionCode {
  const e = new WasmEmitter(layout);
  const inline = e.region(members);
  const bytes = encodeModule(layout.pages, IMPORTS, 1, e.locals, e.c);
  return {
    bytes,
    handlers: e.handlers,
    records: e.records,
    eips: e.eips,
    nexts: e.nexts,
    callouts: e.callouts,
    alu: Uint8Array.from(e.alu),
    inline,
  };
}
