/**
 * The translator's WebAssembly backend (`--bt-backend wasm`): a region of decoded blocks
 * (the boundaries and dispatch of codegen.ts's JavaScript regions; its members may also lie
 * on other pages, each then checked on entry: WasmEmitter.pageCheck) becomes one
 * wasm function. V8 compiles wasm to machine code at once with its baseline compiler
 * (Liftoff), where a `new Function` translation starts in V8's bytecode interpreter and needs
 * thousands of calls before it is optimised; V8's fixed cost is per module (~0.4 ms, mostly
 * its import wrappers), so the translator compiles regions in batches (translator.ts
 * translateWasmRegion). Warm code is then worth translating, not only the hottest (v86
 * compiles guest code to wasm for the same reason).
 *
 * What the wasm code touches is in the machine's one shared WebAssembly memory
 * (memory/wasm-layout.ts): guest RAM, the register file (`cpu.regs`), the soft TLB, the
 * code-page flags, and the state slots below, which the JavaScript glue (wasm-glue.ts)
 * copies to and from `cpu` around each call:
 *  - registers live in locals, loaded on entry and after a handler call, and written
 *    through to the register file on every write, so the architectural state is current at
 *    every point where something can fault or call out (as in codegen.ts);
 *  - the lazy-flag record (flags.ts: lfA lfB lfRes lfOp lfBits lazyMask, and EFLAGS for the
 *    flags an instruction defines concretely) of the last flag-setting instruction stays in
 *    locals and is stored only where something can observe it: before an import call, at
 *    a block's end and on every way out; a Jcc/SETcc/CMOVcc whose flags come from an
 *    earlier instruction of the same block is evaluated from its operands, otherwise through
 *    the `cond` import;
 *  - inline loads and stores take the mem.ts fast path (flat segment, or FS/GS of limit
 *    4 GiB at any base; one page; the soft TLB granting the privilege; RAM), tested in one
 *    condition; a region is made for the CR0.PG it was translated under (without paging it
 *    has no TLB code) and checks it on entry; anything else calls the `rd`/`wr` imports,
 *    which run mem.ts's rdN/wrN (segment checks, page walks, faults, MMIO); a store to a page
 *    holding decoded code goes through `ramw` (generation bump, self-modifying code);
 *  - every other instruction, and an inline one whose rare case (a 16-bit stack, a jump
 *    beyond the CS limit) is not emitted, calls its interpreter handler through the `h`
 *    import; after a handler or an access that asked to stop, the region returns.
 *
 * Instruction accounting is the JavaScript backend's: each block retires its count at its
 * end (a local, added to S_RET before every import and return, which the glue adds to
 * cpu.instructionsRetired), a fault leaves S_FAULT_PC at the faulting block's start (stored
 * before every import, the only things that can fault) and the glue sets `cpu.insnEip`
 * before every import. Measured on the decompressor phase of the boot, keeping these three
 * out of memory at every block made it ~4% faster (median of 5 concurrent pairs).
 */

import type { Handler, Insn } from "../interp/insn.js";
import * as A from "../interp/ops-alu.js";
import * as C from "../interp/ops-control.js";
import * as D from "../interp/ops-data.js";
import * as Str from "../interp/ops-string.js";
import { calloutKind } from "./callouts.js";
import { deadFlagsDistance } from "./flag-liveness.js";
import {
  ByteWriter,
  encodeModule,
  type FunctionBody,
  Op,
  RESULT_I32,
  sleb,
  uleb,
  VOID,
} from "./wasm-encoder.js";

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
/** translator.ts flatMask(cpu, 4): one read bit per segment, one write bit at +8 (FS and GS at any base). */
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
/** cpu.eflags (the concrete flags; the lazy ones are in the record). */
export const S_EFL = 96;
/** The budget left when a region returns to the dispatcher for its next block. */
export const S_LEFT = 100;
/** Set by a region that must return to the host (a stop request, the budget, a break). */
export const S_STOP = 104;
/** CS base and CS.D (the dispatcher's lookup). */
export const S_CSBASE = 108;
export const S_D32 = 112;
/** The table index of the region running (the fault accounting's region). */
export const S_CUR = 116;
/** Regions entered by the dispatcher without returning to the host. */
export const S_HITS = 120;
/** Instructions the last handler retired itself (REP iterations after the first). */
export const S_EXTRA = 124;
/**
 * The FS and GS bases: their bits in S_FM also stand for segments of limit 4 GiB at any base
 * (Linux's per-CPU data is at FS:), whose inline accesses add the base (phys).
 */
export const S_FS_BASE = 128;
export const S_GS_BASE = 132;
/** Set by a region entered under the other CR0.PG than it was made for (region). */
export const S_MODE_MISS = 136;
export const STATE_SLOTS = 27;

/** Imported function indices. */
const IMP_H = 0;
const IMP_RD = 1;
const IMP_WR = 2;
const IMP_RAMW = 3;
const IMP_COND = 4;
const IMP_RMWR = 5;
const IMP_RMWW = 6;
export const IMPORTS = [
  { name: "h", params: 1, results: 1 },
  { name: "rd", params: 4, results: 1 },
  { name: "wr", params: 5, results: 0 },
  { name: "ramw", params: 3, results: 0 },
  { name: "cond", params: 1, results: 1 },
  { name: "rmwr", params: 3, results: 1 },
  { name: "rmww", params: 1, results: 0 },
] as const;

/** The integer ALU handlers (ops-alu.ts): they touch registers, flags and memory only. */
const ALU_HANDLERS: ReadonlySet<Handler> = new Set(
  Object.values(A).filter((f): f is Handler => typeof f === "function"),
);

const ARITH = 0x8d5;
const CF_OF_AF = 0x811;
const CF_OF = 0x801;
const ZF_SF_PF = 0xc4;
const SS = 2;

/** Fixed locals (after the `left` parameter, local 0). */
const L_LEFT = 0;
const L_PC = 1;
const L_XA = 2;
const L_XP = 3;
const L_XE = 4;
const L_BRK = 5;
const L_FM = 6;
const L_PG = 7;
const L_PV = 8;
const L_SS32 = 9;
const L_CSLIM = 10;
/** EAX..EDI in locals 11..18. */
const L_R0 = 11;
/** The flag record of the block's last flag-setting instruction: operands, result, CF, OF. */
const L_FA = 19;
const L_FB = 20;
const L_FR = 21;
const L_FCF = 22;
const L_FOF = 23;
/** 0 until the first member entered has begun (WasmEmitter.pageCheck); wasm zeroes locals. */
const L_MOVED = 24;
/** Instructions retired by blocks that ended since S_RET was last brought up to date (spillRet). */
const L_RET = 25;
/**
 * Instruction temporaries start here and are reused by every instruction: V8's baseline
 * compiler does work per local at every control-flow merge, so a region must not grow one
 * local per instruction.
 */
const FIXED_LOCALS = 26;

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
  /** The code generation of each physical page (GuestMemory.codeGeneration). */
  readonly codeGen: number;
}

/**
 * A member block: its start EIP and records, and where its code was when decoded (the
 * physical address and that page's code generation), which a region spanning several pages
 * checks on entry to each member (WasmEmitter.pageCheck).
 */
export interface WasmMember {
  readonly eip: number;
  readonly insns: readonly Insn[];
  readonly phys: number;
  readonly page: number;
  readonly gen: number;
}

/**
 * The handler-call table of one module (the `h` import's argument indexes it): handler,
 * record, EIP, next EIP, callout kind, and 1 when the handler is an integer ALU one
 * (ops-alu.ts: no segment, CR0 or CPL change).
 */
export class HandlerTable {
  readonly handlers: Handler[] = [];
  readonly records: Insn[] = [];
  readonly eips: number[] = [];
  readonly nexts: number[] = [];
  readonly callouts: number[] = [];
  readonly alu: number[] = [];
}

export interface WasmRegionCode {
  /** The region function's body (a module holds several: encodeRegions). */
  readonly body: FunctionBody;
  /** Per member, per instruction: 1 when it ran inline (see codegen.ts BlockCode.inline). */
  readonly inline: Uint8Array[];
}

/** What the last flag-setting instruction of the block left (locals), for Jcc and CF. */
interface FlagState {
  readonly kind: "add" | "sub" | "logic" | "result" | "incdec";
  readonly a: number;
  readonly b: number;
  readonly r: number;
  readonly bits: 8 | 16 | 32;
  /** "result"/"incdec": the local holding CF (and OF for "result"). */
  readonly cf?: number;
  readonly of?: number;
  /** "incdec": 1 for DEC. */
  readonly dec?: boolean;
  /** ADC/SBB: the record is exact but the operand shortcuts for Jcc and CF do not apply. */
  readonly carryIn?: boolean;
}

const aluOp = (op: number): number =>
  op === 0 || op === 2
    ? Op.i32Add
    : op === 5 || op === 7 || op === 3
      ? Op.i32Sub
      : op === 1
        ? Op.i32Or
        : op === 4
          ? Op.i32And
          : Op.i32Xor;

class WasmEmitter {
  readonly c = new ByteWriter();
  private nextLocal = FIXED_LOCALS;
  /** The region's members by start EIP (int32), the member being emitted, and each member's label depth. */
  private readonly memberIndex = new Map<number, number>();
  private member = 0;
  private memberDepth: number[] = [];
  /** The depth of the region's exit label, and whether its members lie on more than one page. */
  private exitDepth = 0;
  private multiPage = false;
  private nLocals = FIXED_LOCALS;
  /** Structured-control nesting depth now, and the loop's depth. */
  private depth = 0;
  private loopDepth = 0;
  /** The flag state of the block (known operands), and whether its record is not yet stored. */
  private flags: FlagState | undefined;
  private pending = false;
  /** The member block being emitted, for look-ahead (flag-liveness.ts). */
  private blockInsns: readonly Insn[] = [];
  private blockN = 0;
  /** The member block's EIP: a fault in an import rolls back to it (S_FAULT_PC). */
  private blockEip = 0;
  private inline = new Uint8Array(0);

  constructor(
    private readonly L: WasmLayout,
    private readonly T: HandlerTable,
    /** CR0.PG (0/1) the region is made for: its inline accesses take that path only. */
    private readonly pg: number,
  ) {}

  // ---- raw emission ----
  private op(a: number, b = -1, c = -1): void {
    this.c.push(a);
    if (b >= 0) this.c.push(b);
    if (c >= 0) this.c.push(c);
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
  /** A temporary, live until the end of the current instruction. */
  private local(): number {
    const l = this.nextLocal++;
    if (this.nextLocal > this.nLocals) this.nLocals = this.nextLocal;
    return l;
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
    this.c.push(kind);
    this.c.push(type);
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
  /**
   * Call import `f` (its arguments are on the stack). Every import but `cond` may fault or
   * read the retired count (wasm-glue.ts flushRetired), so before it the retired count, the
   * block's EIP for a fault (S_FAULT_PC) and, for a handler, its REP budget (S_REPB) are
   * stored; they are kept out of memory elsewhere (stores are stack-neutral, so they go
   * after the arguments).
   */
  private call(f: number): void {
    if (f !== IMP_COND) {
      this.spillRet();
      this.storeSlotConst(S_FAULT_PC, this.blockEip);
      if (f === IMP_H)
        this.storeSlot(S_REPB, () => {
          this.get(L_LEFT);
          this.i32(this.blockN - 1);
          this.op(Op.i32Sub);
        });
    }
    this.c.push(Op.call);
    uleb(this.c, f);
  }
  /** S_RET += L_RET; L_RET = 0. */
  private spillRet(): void {
    this.storeSlot(S_RET, () => {
      this.loadSlot(S_RET);
      this.get(L_RET);
      this.op(Op.i32Add);
    });
    this.i32(0);
    this.set(L_RET);
  }
  /** Return to the dispatcher, the retired count brought up to date. */
  private ret(): void {
    this.spillRet();
    this.op(Op.return);
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
  private storeSlotLocal(off: number, l: number): void {
    this.storeSlot(off, () => this.get(l));
  }
  private reg(n: number): void {
    this.get(L_R0 + n);
  }
  /** Write register n from local l (write-through to the register file). */
  private setReg(n: number, l: number): void {
    this.get(l);
    this.set(L_R0 + n);
    this.storeSlotLocal(n * 4, l);
  }
  /** Write register n from the value on the stack. */
  private setRegTop(n: number): void {
    this.set(L_R0 + n);
    this.storeSlotLocal(n * 4, L_R0 + n);
  }
  private loadRegs(): void {
    for (let n = 0; n < 8; n++) {
      this.loadSlot(n * 4);
      this.set(L_R0 + n);
    }
  }
  private loadSummary(): void {
    this.loadSlot(S_FM);
    this.set(L_FM);
    this.loadSlot(S_PG);
    this.set(L_PG);
    this.loadSlot(S_PV);
    this.set(L_PV);
    this.loadSlot(S_SS32);
    this.set(L_SS32);
    this.loadSlot(S_CSLIM);
    this.set(L_CSLIM);
  }
  /** 8-bit register by ModRM number (AL CL DL BL AH CH DH BH). */
  private reg8(n: number): void {
    this.reg(n & 3);
    if (n >= 4) {
      this.i32(8);
      this.op(Op.i32ShrU);
    }
    this.i32(255);
    this.op(Op.i32And);
  }
  /** Write 8-bit register n from local l (a byte). */
  private setReg8(n: number, l: number): void {
    const r = n & 3;
    this.reg(r);
    this.i32(n < 4 ? -256 : -65281);
    this.op(Op.i32And);
    this.get(l);
    if (n >= 4) {
      this.i32(8);
      this.op(Op.i32Shl);
    }
    this.op(Op.i32Or);
    this.setRegTop(r);
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

  // ---- flags ----
  /**
   * Record the flags of a flag-setting instruction (stored later: see `flush`). Its operand
   * locals are copied into the record's own locals, which outlive the instruction.
   */
  private setFlags(f: FlagState): void {
    const copy = (from: number | undefined, to: number): number | undefined => {
      if (from === undefined) return undefined;
      if (from !== to) {
        this.get(from);
        this.set(to);
      }
      return to;
    };
    const logic = f.kind === "logic" || f.kind === "result";
    const r = copy(f.r, L_FR)!;
    const a = logic ? r : copy(f.a, L_FA)!;
    const b = logic ? r : copy(f.b, L_FB)!;
    const cf = copy(f.cf, L_FCF);
    const of = copy(f.of, L_FOF);
    this.flags = {
      kind: f.kind,
      a,
      b,
      r,
      bits: f.bits,
      ...(cf !== undefined ? { cf } : {}),
      ...(of !== undefined ? { of } : {}),
      ...(f.dec !== undefined ? { dec: f.dec } : {}),
      ...(f.carryIn !== undefined ? { carryIn: f.carryIn } : {}),
    };
    this.pending = true;
  }
  /** Store the pending flag record into the state slots (flags.ts lazyAdd/Sub/Logic/ResultWith/IncDec). */
  private flush(): void {
    const f = this.flags;
    if (!this.pending || f === undefined) return;
    switch (f.kind) {
      case "add":
      case "sub":
        this.storeSlotLocal(S_LFA, f.a);
        this.storeSlotLocal(S_LFB, f.b);
        this.storeSlotLocal(S_LFRES, f.r);
        this.storeSlotConst(S_LFBITS, f.bits);
        this.storeSlotConst(S_LFOP, f.kind === "add" ? 0 : 1);
        this.storeSlotConst(S_LAZY, ARITH);
        break;
      case "logic":
        this.storeSlotLocal(S_LFRES, f.r);
        this.storeSlotConst(S_LFBITS, f.bits);
        this.storeSlotConst(S_LFOP, 2);
        this.storeSlotConst(S_LAZY, ARITH);
        break;
      case "result":
        this.storeSlotLocal(S_LFRES, f.r);
        this.storeSlotConst(S_LFBITS, f.bits);
        this.storeSlotConst(S_LFOP, 2);
        this.storeSlot(S_EFL, () => {
          this.loadSlot(S_EFL);
          this.i32(~CF_OF_AF);
          this.op(Op.i32And);
          this.get(f.cf!);
          this.op(Op.i32Or);
          this.get(f.of!);
          this.i32(11);
          this.op(Op.i32Shl, Op.i32Or);
        });
        this.storeSlotConst(S_LAZY, ZF_SF_PF);
        break;
      case "incdec":
        this.storeSlot(S_EFL, () => {
          this.loadSlot(S_EFL);
          this.i32(-2);
          this.op(Op.i32And);
          this.get(f.cf!);
          this.op(Op.i32Or);
        });
        this.storeSlotLocal(S_LFA, f.a);
        this.storeSlotConst(S_LFB, 1);
        this.storeSlotLocal(S_LFRES, f.r);
        this.storeSlotConst(S_LFBITS, f.bits);
        this.storeSlotConst(S_LFOP, f.dec ? 1 : 0);
        this.storeSlotConst(S_LAZY, ARITH & ~1);
        break;
    }
    this.pending = false;
  }

  /**
   * Push CF (0/1): from the block's flag state when known, else flags.ts getCF on the stored
   * record (the pending record is stored first).
   */
  private cf(): void {
    const f = this.flags?.carryIn === true ? undefined : this.flags;
    if (f !== undefined && f.bits === 32) {
      if (f.kind === "sub") {
        this.get(f.a);
        this.get(f.b);
        this.op(Op.i32LtU);
        return;
      }
      if (f.kind === "add") {
        this.get(f.r);
        this.get(f.a);
        this.op(Op.i32LtU);
        return;
      }
      if (f.kind === "logic") {
        this.i32(0);
        return;
      }
    }
    if (f !== undefined && (f.kind === "result" || f.kind === "incdec")) {
      this.get(f.cf!);
      return;
    }
    this.flush();
    // getCF: (lazyMask & CF) === 0 ? eflags & CF : by lfOp from lfA, lfB, lfRes, lfBits.
    this.loadSlot(S_LAZY);
    this.i32(1);
    this.op(Op.i32And);
    this.op(Op.i32Eqz);
    this.open(Op.if, RESULT_I32);
    this.loadSlot(S_EFL);
    this.i32(1);
    this.op(Op.i32And);
    this.else_();
    this.loadSlot(S_LFOP);
    this.i32(2);
    this.op(Op.i32LtU);
    this.open(Op.if, RESULT_I32);
    // a = lfA, b = lfB, r = lfRes; add: (a & b) | ((a | b) & ~r); sub: (~a & b) | (~(a ^ b) & r)
    this.loadSlot(S_LFOP);
    this.op(Op.i32Eqz);
    this.open(Op.if, RESULT_I32);
    this.loadSlot(S_LFA);
    this.loadSlot(S_LFB);
    this.op(Op.i32And);
    this.loadSlot(S_LFA);
    this.loadSlot(S_LFB);
    this.op(Op.i32Or);
    this.loadSlot(S_LFRES);
    this.i32(-1);
    this.op(Op.i32Xor, Op.i32And, Op.i32Or);
    this.else_();
    this.loadSlot(S_LFA);
    this.i32(-1);
    this.op(Op.i32Xor);
    this.loadSlot(S_LFB);
    this.op(Op.i32And);
    this.loadSlot(S_LFA);
    this.loadSlot(S_LFB);
    this.op(Op.i32Xor);
    this.i32(-1);
    this.op(Op.i32Xor);
    this.loadSlot(S_LFRES);
    this.op(Op.i32And, Op.i32Or);
    this.end();
    this.loadSlot(S_LFBITS);
    this.i32(1);
    this.op(Op.i32Sub, Op.i32ShrU);
    this.i32(1);
    this.op(Op.i32And);
    this.else_();
    this.i32(0);
    this.end();
    this.end();
  }

  /** Push a condition code's truth (0/1): from the block's flag state when known, else `cond`. */
  private cond(cc: number): void {
    const f = this.flags?.carryIn === true ? undefined : this.flags;
    const g = (l: number): void => this.get(l);
    const generic = (): void => {
      this.flush();
      this.i32(cc);
      this.call(IMP_COND);
    };
    if (f === undefined || f.bits === 16) {
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
    if (f.kind === "result" || f.kind === "incdec") {
      // ZF and SF from the result, CF from its local.
      if (f.bits === 32) {
        if (cc === 4) {
          zero(Op.i32Eq);
          return;
        }
        if (cc === 5) {
          zero(Op.i32Ne);
          return;
        }
        if (cc === 8) {
          zero(Op.i32LtS);
          return;
        }
        if (cc === 9) {
          zero(Op.i32GeS);
          return;
        }
      }
      if (f.kind === "result" && (cc === 2 || cc === 3)) {
        g(f.cf!);
        if (cc === 3) this.op(Op.i32Eqz);
        return;
      }
      generic();
      return;
    }
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
  }

  // ---- memory (mem.ts fast paths) ----
  /**
   * The fast-path test of a w-byte access at offset L_XA in `seg` (see codegen.ts phys: a
   * flat segment, inside one page, RAM; with paging, the soft TLB entry must grant the
   * current privilege): pushes 1 when the access may go straight to RAM at L_XP, else 0, in
   * one condition without branches. The region is made for one CR0.PG (`this.pg`, checked on
   * entry: region); without paging a load may cross a page (RAM is contiguous), a store
   * may not (the code-page check in ramStore looks at its first page).
   */
  private phys(w: 1 | 2 | 4, seg: number, write: boolean): void {
    const L = this.L;
    // FS and GS may have a base (S_FS_BASE): the checks are on the linear address; the slow
    // path still gets the offset in L_XA.
    let lin = L_XA;
    if (seg >= 4) {
      lin = this.local();
      this.get(L_XA);
      this.loadSlot(seg === 4 ? S_FS_BASE : S_GS_BASE);
      this.op(Op.i32Add);
      this.set(lin);
    }
    if (this.pg === 0) {
      this.get(lin);
      this.set(L_XP);
    } else {
      // L_XE := the soft TLB entry (a frame address and privilege bits); L_XP := its frame
      // plus the page offset.
      this.get(lin);
      this.i32(12);
      this.op(Op.i32ShrU);
      this.i32(2);
      this.op(Op.i32Shl);
      this.mem(Op.i32Load, 2, write ? L.tlbWrite : L.tlbRead);
      this.tee(L_XE);
      this.i32(-4096);
      this.op(Op.i32And);
      this.get(lin);
      this.i32(4095);
      this.op(Op.i32And, Op.i32Or);
      this.set(L_XP);
    }
    const bit = write ? 8 + seg : seg;
    this.get(L_FM);
    if (bit !== 0) {
      this.i32(bit);
      this.op(Op.i32ShrU);
    }
    this.i32(1);
    this.op(Op.i32And);
    if (w > 1 && (this.pg !== 0 || write)) {
      this.get(lin);
      this.i32(4095);
      this.op(Op.i32And);
      this.i32(4096 - w);
      this.op(Op.i32LeU, Op.i32And);
    }
    if (this.pg !== 0) {
      this.get(L_XE);
      this.get(L_PV);
      this.op(Op.i32And);
      this.i32(0);
      this.op(Op.i32Ne, Op.i32And);
    }
    this.get(L_XP);
    this.i32(L.ramSize - w);
    this.op(Op.i32LeU, Op.i32And);
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
    const v = this.local();
    this.phys(w, seg, false);
    this.open(Op.if);
    this.get(L_XP);
    if (w === 4) this.mem(Op.i32Load, 2, 0);
    else if (w === 2) this.mem(signed ? Op.i32Load16s : Op.i32Load16u, 1, 0);
    else this.mem(signed ? Op.i32Load8s : Op.i32Load8u, 0, 0);
    this.set(v);
    this.else_();
    const pending = this.pending;
    this.flush();
    this.pending = pending;
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
  /** The store of local `v` to L_XP (RAM, checked): direct, or through `ramw` on a code page. */
  private ramStore(w: 1 | 2 | 4, v: number): void {
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
  }
  /** Store local `v` (w bytes) at `seg`:(address on the stack). */
  private store(w: 1 | 2 | 4, seg: number, v: number, eip: number): void {
    this.set(L_XA);
    this.phys(w, seg, true);
    this.open(Op.if);
    this.ramStore(w, v);
    this.else_();
    const pending = this.pending;
    this.flush();
    this.pending = pending;
    this.i32(seg);
    this.get(L_XA);
    this.get(v);
    this.i32(w);
    this.i32(eip | 0);
    this.call(IMP_WR);
    this.noteBreak();
    this.end();
  }
  /**
   * Read-modify-write, first half (mem.ts rmwRead32): the destination is checked for writing
   * before it is read. Leaves L_XP (-1: the slow path remembered the place in cpu) and
   * returns the operand's local; `rmwWrite` stores the result.
   */
  private rmwRead(seg: number, eip: number): number {
    this.set(L_XA);
    const v = this.local();
    const p = this.local();
    this.phys(4, seg, true);
    this.open(Op.if);
    this.get(L_XP);
    this.mem(Op.i32Load, 2, 0);
    this.set(v);
    this.else_();
    const pending = this.pending;
    this.flush();
    this.pending = pending;
    this.i32(seg);
    this.get(L_XA);
    this.i32(eip | 0);
    this.call(IMP_RMWR);
    this.set(v);
    this.noteBreak();
    this.i32(-1);
    this.set(L_XP);
    this.end();
    this.get(L_XP);
    this.set(p);
    this.rmwPlace = p;
    return v;
  }
  private rmwPlace = 0;
  private rmwWrite(v: number): void {
    const p = this.rmwPlace;
    this.get(p);
    this.i32(-1);
    this.op(Op.i32Ne);
    this.open(Op.if);
    this.get(p);
    this.set(L_XP);
    this.ramStore(4, v);
    this.else_();
    // The record of this instruction is what a fault in the write would see delivered.
    const pending = this.pending;
    this.flush();
    this.pending = pending;
    this.get(v);
    this.call(IMP_RMWW);
    this.noteBreak();
    this.end();
  }

  // ---- exits ----
  private addRet(n: number): void {
    this.get(L_RET);
    this.i32(n);
    this.op(Op.i32Add);
    this.set(L_RET);
  }
  /** Leave the region after instruction k with EIP `next`. */
  private exitAfter(k: number, next: number): void {
    const pending = this.pending;
    this.flush();
    this.pending = pending;
    this.addRet(k + 1);
    this.storeSlotConst(S_EIP, next);
    this.storeSlotConst(S_STOP, 1);
    this.ret();
  }
  /** If an access asked to stop (L_BRK), leave after instruction k. */
  private breakCheck(k: number, next: number): void {
    this.get(L_BRK);
    this.open(Op.if);
    this.exitAfter(k, next);
    this.end();
  }
  /**
   * The block's end: retire k+1, go on at the EIP `emitTarget` pushes. A constant `target`
   * that is a later member of the region is branched to directly (its body starts where its
   * label block ends, which encloses this one); anything else goes through the dispatch loop.
   */
  private endBlock(k: number, emitTarget: () => void, target?: number): void {
    const pending = this.pending;
    this.flush();
    this.pending = pending;
    this.addRet(k + 1);
    this.get(L_LEFT);
    this.i32(k + 1);
    this.op(Op.i32Sub);
    this.set(L_LEFT);
    const j = target === undefined ? undefined : this.memberIndex.get(target | 0);
    if (j !== undefined && j > this.member) {
      this.c.push(Op.br);
      uleb(this.c, this.depth - 1 - this.memberDepth[j]!);
      return;
    }
    emitTarget();
    this.set(L_PC);
    this.brLoop();
  }

  /**
   * The handler call (the reference semantics) for instruction k. `fallback`: a branch taken
   * only in a rare state (a 16-bit stack, a jump beyond the CS limit); the inline path
   * beside it keeps the block's flag state.
   */
  private handler(i: Insn, k: number, eip: number, next: number, last: boolean, fallback = false): void {
    const saved = this.flags;
    const savedPending = this.pending;
    const T = this.T;
    const h = T.handlers.length;
    const alu = ALU_HANDLERS.has(i.fn);
    T.handlers.push(i.fn);
    T.records.push(i);
    T.eips.push(eip >>> 0);
    T.nexts.push(next >>> 0);
    T.callouts.push(calloutKind(i));
    T.alu.push(alu ? 1 : 0);
    this.flush();
    this.i32(h);
    this.call(IMP_H);
    this.set(L_XE);
    if (i.rep !== 0) {
      // A REP string instruction retires its further iterations itself (ops-string.ts
      // finishRep; the glue leaves their count in S_EXTRA): the budget must count them, or
      // the blocks after it overrun it.
      this.get(L_LEFT);
      this.loadSlot(S_EXTRA);
      this.op(Op.i32Sub);
      this.set(L_LEFT);
    }
    this.loadRegs();
    if (!alu) this.loadSummary();
    this.flags = undefined;
    this.get(L_XE);
    this.open(Op.if);
    this.addRet(k + 1);
    this.storeSlotConst(S_STOP, 1);
    this.ret();
    this.end();
    // The handler left the next EIP (S_EIP); a stop request ended the region there.
    if (last) this.endBlock(k, () => this.loadSlot(S_EIP));
    if (fallback) {
      this.flags = saved;
      this.pending = savedPending;
    }
  }

  /** A jump target beyond the CS limit raises #GP in the handler: a runtime fallback. */
  private jumpTo(i: Insn, k: number, eip: number, next: number, target: number | (() => void)): void {
    const t = this.local();
    if (typeof target === "number") this.i32(target | 0);
    else target();
    this.set(t);
    this.get(t);
    this.get(L_CSLIM);
    this.op(Op.i32GtU);
    this.open(Op.if);
    this.handler(i, k, eip, next, true, true);
    this.end();
    this.endBlock(k, () => this.get(t), typeof target === "number" ? target : undefined);
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

  // ---- instructions ----
  /** Emit instruction k; returns true when it ended the block (a transfer, always last). */
  private insn(i: Insn, k: number, eip: number, next: number, last: boolean): boolean {
    this.nextLocal = FIXED_LOCALS;
    const fn = i.fn;
    const reg = i.mod === 3;
    if (calloutKind(i) >= 0) {
      this.handler(i, k, eip, next, last);
      return last;
    }
    this.inline[k] = 1;
    const memOp = (): void => this.breakCheck(k, next);
    if (fn === D.movRR32 || ((fn === D.movRmR32 || fn === D.movRRm32) && reg)) {
      const [d, s] = fn === D.movRmR32 ? [i.rm, i.reg] : [i.reg, i.rm];
      this.reg(s);
      this.setRegTop(d);
      return false;
    }
    if (fn === D.movRM32 || (fn === D.movRRm32 && !reg)) {
      this.ea(i);
      this.setReg(i.reg, this.load(4, i.seg, eip));
      memOp();
      return false;
    }
    if (fn === D.movMR32 || (fn === D.movRmR32 && !reg)) {
      this.ea(i);
      this.store(4, i.seg, L_R0 + i.reg, eip);
      memOp();
      return false;
    }
    if (fn === D.movRImm32 || (fn === D.movRmImm32 && reg)) {
      this.i32(i.imm | 0);
      this.setRegTop(fn === D.movRImm32 ? i.reg : i.rm);
      return false;
    }
    if (fn === D.movRmImm32 || (fn === D.movRmImm8 && !reg)) {
      const t = this.local();
      this.i32(fn === D.movRmImm8 ? i.imm & 255 : i.imm | 0);
      this.set(t);
      this.ea(i);
      this.store(fn === D.movRmImm8 ? 1 : 4, i.seg, t, eip);
      memOp();
      return false;
    }
    if (fn === D.movAxMoffs32 || fn === D.movMoffsAx32) {
      this.i32(i.disp | 0);
      if (fn === D.movAxMoffs32) this.setReg(0, this.load(4, i.seg, eip));
      else this.store(4, i.seg, L_R0, eip);
      memOp();
      return false;
    }
    if (fn === D.lea32) {
      this.ea(i);
      this.setRegTop(i.reg);
      return false;
    }
    if (fn === D.movzxB32 || fn === D.movsxB32 || fn === D.movzxW32 || fn === D.movsxW32) {
      const sx = fn === D.movsxB32 || fn === D.movsxW32;
      const w = fn === D.movzxB32 || fn === D.movsxB32 ? 1 : 2;
      if (reg) {
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
        this.setRegTop(i.reg);
        return false;
      }
      this.ea(i);
      this.setReg(i.reg, this.load(w, i.seg, eip, sx));
      memOp();
      return false;
    }
    if ((fn === D.movRmR16 || fn === D.movRRm16) && !reg) {
      this.ea(i);
      if (fn === D.movRmR16) this.store(2, i.seg, L_R0 + i.reg, eip);
      else {
        const v = this.load(2, i.seg, eip);
        this.reg(i.reg);
        this.i32(-65536);
        this.op(Op.i32And);
        this.get(v);
        this.op(Op.i32Or);
        this.setRegTop(i.reg);
      }
      memOp();
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
      this.ea(i);
      if (fn === D.movRRm8) this.setReg8(i.reg, this.load(1, i.seg, eip));
      else {
        this.set(L_XA);
        this.reg8(i.reg);
        this.set(t);
        this.get(L_XA);
        this.store(1, i.seg, t, eip);
      }
      memOp();
      return false;
    }
    if (fn === D.pushR32 || fn === D.pushImm32 || (fn === D.pushRm32 && !reg)) {
      // A 16-bit stack takes the handler.
      this.get(L_SS32);
      this.open(Op.if);
      let t: number;
      if (fn === D.pushR32) t = L_R0 + i.reg;
      else if (fn === D.pushImm32) {
        t = this.local();
        this.i32(i.imm | 0);
        this.set(t);
      } else {
        this.ea(i);
        t = this.load(4, i.seg, eip);
      }
      this.push(t, eip);
      this.else_();
      this.handler(i, k, eip, next, false, true);
      this.end();
      memOp();
      return false;
    }
    if (fn === D.popR32) {
      this.get(L_SS32);
      this.open(Op.if);
      this.reg(4);
      const v = this.load(4, SS, eip);
      this.reg(4);
      this.i32(4);
      this.op(Op.i32Add);
      this.setRegTop(4);
      this.setReg(i.reg, v);
      this.else_();
      this.handler(i, k, eip, next, false, true);
      this.end();
      memOp();
      return false;
    }
    if (fn === D.leave && i.o32 !== 0) {
      this.get(L_SS32);
      this.open(Op.if);
      this.reg(5);
      const v = this.load(4, SS, eip);
      this.reg(5);
      this.i32(4);
      this.op(Op.i32Add);
      this.setRegTop(4);
      this.setReg(5, v);
      this.else_();
      this.handler(i, k, eip, next, false, true);
      this.end();
      memOp();
      return false;
    }
    if (
      (fn === A.aluRmR32 && reg) ||
      fn === A.aluRRm32 ||
      (fn === A.aluRmImm32 && reg) ||
      fn === A.aluAccImm32 ||
      fn === A.cmpRmR32
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
        if (reg) this.reg(i.rm);
        else {
          mem = true;
          this.ea(i);
          this.get(this.load(4, i.seg, eip));
        }
        this.set(b);
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
      const r = this.alu32(op, a, b);
      if (op !== 7) this.setReg(dst, r);
      if (mem) memOp();
      return false;
    }
    if ((fn === A.aluRmImm32 || fn === A.aluRmR32) && !reg) {
      const b = this.local();
      if (fn === A.aluRmImm32) this.i32(i.imm | 0);
      else this.reg(i.reg);
      this.set(b);
      this.ea(i);
      if (i.sub === 7) this.alu32(7, this.load(4, i.seg, eip), b);
      else {
        const a = this.rmwRead(i.seg, eip);
        const r = this.alu32(i.sub, a, b);
        this.rmwWrite(r);
      }
      memOp();
      return false;
    }
    if (fn === A.incR32 || fn === A.decR32 || ((fn === A.incRm32 || fn === A.decRm32) && !reg)) {
      const dec = fn === A.decR32 || fn === A.decRm32;
      const cf = this.local();
      this.cf();
      this.set(cf);
      let a: number;
      if (fn === A.incR32 || fn === A.decR32) a = L_R0 + i.reg;
      else {
        this.ea(i);
        a = this.rmwRead(i.seg, eip);
      }
      const r = this.local();
      this.get(a);
      this.i32(dec ? -1 : 1);
      this.op(Op.i32Add);
      this.set(r);
      const a0 = this.local();
      this.get(a);
      this.set(a0);
      this.setFlags({ kind: "incdec", a: a0, b: a0, r, bits: 32, cf, dec });
      if (fn === A.incR32 || fn === A.decR32) this.setReg(i.reg, r);
      else {
        this.rmwWrite(r);
        memOp();
      }
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
      this.setFlags({ kind: "logic", a: r, b: r, r, bits: 32 });
      if (!reg && fn === A.testRmR32) memOp();
      return false;
    }
    if (
      fn === A.aluAccImm8 ||
      (fn === A.aluRmImm8 && reg) ||
      fn === A.aluRRm8 ||
      (fn === A.aluRmR8 && reg) ||
      (fn === A.cmpRmR8 && reg)
    ) {
      const op = fn === A.cmpRmR8 ? 7 : i.sub;
      const dst = fn === A.aluAccImm8 ? 0 : fn === A.aluRRm8 ? i.reg : i.rm;
      const a = this.local();
      const b = this.local();
      const r = this.local();
      let cf = -1;
      if (op === 2 || op === 3) {
        cf = this.local();
        this.cf();
        this.set(cf);
      }
      this.reg8(dst);
      this.set(a);
      if (fn === A.aluAccImm8 || fn === A.aluRmImm8) this.i32(i.imm & 255);
      else if (!reg) {
        // op r8, m8 (02 0A 12 1A 22 2A 32 3A): the load is the only thing that can fault.
        this.ea(i);
        this.get(this.load(1, i.seg, eip));
      } else this.reg8(fn === A.aluRRm8 ? i.rm : i.reg);
      this.set(b);
      this.get(a);
      this.get(b);
      this.op(aluOp(op));
      if (cf >= 0) {
        this.get(cf);
        this.op(aluOp(op));
      }
      this.i32(255);
      this.op(Op.i32And);
      this.set(r);
      const kind = op === 0 || op === 2 ? "add" : op === 3 || op === 5 || op === 7 ? "sub" : "logic";
      // ADC/SBB: the record is exact (flags.ts), but the shortcuts assume no carry in.
      this.setFlags({ kind, a, b, r, bits: 8, carryIn: cf >= 0 });
      if (op !== 7) this.setReg8(dst, r);
      if (!reg) memOp();
      return false;
    }
    if ((fn === A.aluRmImm8 || fn === A.aluRmImm16) && !reg && i.sub === 7) {
      // CMP m8, imm8 (80 /7) and CMP m16, imm16 (66 81 /7, 66 83 /7): ops-alu.ts alu8/alu16
      // case 7, the load the only thing that can fault.
      const w = fn === A.aluRmImm8 ? 1 : 2;
      const mask = w === 1 ? 0xff : 0xffff;
      const b = this.local();
      const r = this.local();
      this.ea(i);
      const a = this.load(w, i.seg, eip);
      this.i32(i.imm & mask);
      this.set(b);
      this.get(a);
      this.get(b);
      this.op(Op.i32Sub);
      this.i32(mask);
      this.op(Op.i32And);
      this.set(r);
      this.setFlags({ kind: "sub", a, b, r, bits: w === 1 ? 8 : 16 });
      memOp();
      return false;
    }
    if ((fn === Str.lods || fn === Str.scas) && i.rep === 0 && i.a32 !== 0 && (i.sub === 1 || i.sub === 4)) {
      // LODSB/LODSD (AC AD) and SCASB/SCASD (AE AF) without REP, 32-bit addressing
      // (ops-string.ts lods/scas): the load, then the accumulator or the flags of
      // acc - m, then ESI/EDI step by the size, down when EFLAGS.DF is set.
      const w = i.sub;
      const lods = fn === Str.lods;
      const idx = lods ? 6 : 7;
      this.reg(idx);
      const v = this.load(w, lods ? i.seg : 0, eip);
      if (lods) {
        if (w === 1) this.setReg8(0, v);
        else this.setReg(0, v);
      } else {
        const a = this.local();
        const r = this.local();
        if (w === 1) this.reg8(0);
        else this.reg(0);
        this.tee(a);
        this.get(v);
        this.op(Op.i32Sub);
        if (w === 1) {
          this.i32(255);
          this.op(Op.i32And);
        }
        this.set(r);
        this.setFlags({ kind: "sub", a, b: v, r, bits: w === 1 ? 8 : 32 });
      }
      this.stringStep(idx, w);
      memOp();
      return false;
    }
    if (fn === Str.movs && i.rep === 0 && i.a32 !== 0) {
      // MOVSB/MOVSW/MOVSD (A4 A5) without REP, 32-bit addressing (ops-string.ts movs): the
      // load at seg:ESI, the store at ES:EDI (a fault in either leaves ESI and EDI), then
      // both step by the size, down when EFLAGS.DF is set.
      const w = i.sub as 1 | 2 | 4;
      this.reg(6);
      const v = this.load(w, i.seg, eip);
      this.reg(7);
      this.store(w, 0, v, eip);
      this.stringStep(6, w);
      this.stringStep(7, w);
      memOp();
      return false;
    }
    if (fn === D.movRImm8) {
      const v = this.local();
      this.i32(i.imm & 255);
      this.set(v);
      this.setReg8(i.reg, v);
      return false;
    }
    if (fn === A.notRm32 && reg) {
      // NOT r32 (F7 /2): no flags.
      this.reg(i.rm);
      this.i32(-1);
      this.op(Op.i32Xor);
      this.setRegTop(i.rm);
      return false;
    }
    if (fn === A.negRm32 && reg) {
      // NEG r32 (F7 /3): the flags of 0 - r (ops-alu.ts negRm32).
      const a = this.local();
      const b = this.local();
      const r = this.local();
      this.i32(0);
      this.set(a);
      this.reg(i.rm);
      this.set(b);
      this.i32(0);
      this.get(b);
      this.op(Op.i32Sub);
      this.set(r);
      this.setFlags({ kind: "sub", a, b, r, bits: 32 });
      this.setReg(i.rm, r);
      return false;
    }
    if (fn === A.shiftRm32 && reg && i.sub <= 1 && deadFlagsDistance(this.blockInsns, k, this.blockN) > 0) {
      // ROL/ROR whose CF and OF a later instruction of the block overwrites (flag-liveness.ts):
      // the bare rotate (a count of 0, which changes nothing, is a rotate by 0 here too).
      this.reg(i.rm);
      if (i.sub2 === 2) {
        this.reg8(1);
        this.i32(31);
        this.op(Op.i32And);
      } else this.i32(i.sub2 === 0 ? i.imm & 31 : 1);
      this.op(i.sub === 0 ? Op.i32Rotl : Op.i32Rotr);
      this.setRegTop(i.rm);
      return false;
    }
    if (fn === A.shiftRm32 && reg && i.sub <= 1 && i.sub2 !== 2 && (i.sub2 === 1 || (i.imm & 31) !== 0)) {
      this.rotate32(i.sub, i.rm, i.sub2 === 1 ? 1 : i.imm & 31);
      return false;
    }
    if (fn === A.shiftRm32 && reg && (i.sub === 4 || i.sub === 5) && i.sub2 === 2) {
      this.shiftCl32(i.sub, i.rm);
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
      this.setFlags({ kind: "logic", a: r, b: r, r, bits: 8 });
      if (!reg) memOp();
      return false;
    }
    if (fn === A.shiftRm32 && reg && (i.sub === 4 || i.sub === 5 || i.sub === 7) && i.sub2 !== 2) {
      const c = i.sub2 === 0 ? i.imm & 31 : i.sub2 === 1 ? 1 : 0;
      if (c !== 0) {
        this.shift32(i.sub, i.rm, c);
        return false;
      }
    }
    if (fn === A.shiftRm16 && reg && (i.sub === 4 || i.sub === 5 || i.sub === 7) && i.sub2 !== 2) {
      const c = i.sub2 === 0 ? i.imm & 31 : i.sub2 === 1 ? 1 : 0;
      if (c !== 0 && c < 16) {
        this.shift16(i.sub, i.rm, c);
        return false;
      }
    }
    if (fn === A.imulRRm32) {
      // CF = OF = the signed product does not fit in 32 bits; SZP from the low half.
      const a = this.local();
      if (reg) this.reg(i.rm);
      else {
        this.ea(i);
        this.get(this.load(4, i.seg, eip));
      }
      this.set(a);
      const b = this.local();
      if (i.sub !== 0) this.i32(i.imm | 0);
      else this.reg(i.reg);
      this.set(b);
      const r = this.local();
      const o = this.local();
      this.get(a);
      this.op(Op.i64ExtendI32S);
      this.get(b);
      this.op(Op.i64ExtendI32S, Op.i64Mul, Op.i32WrapI64);
      this.set(r);
      // Overflow: the 64-bit product differs from the sign-extended low half.
      this.get(a);
      this.op(Op.i64ExtendI32S);
      this.get(b);
      this.op(Op.i64ExtendI32S, Op.i64Mul);
      this.get(r);
      this.op(Op.i64ExtendI32S, Op.i64Ne);
      this.set(o);
      this.setFlags({ kind: "result", a: r, b: r, r, bits: 32, cf: o, of: o });
      this.setReg(i.reg, r);
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
      if (reg) v = L_R0 + i.rm;
      else {
        this.ea(i);
        v = this.load(4, i.seg, eip);
      }
      this.cond(i.sub);
      this.open(Op.if);
      this.get(v);
      this.setRegTop(i.reg);
      this.end();
      if (!reg) memOp();
      return false;
    }
    if ((fn === D.xchg32 && reg) || fn === D.xchgAx32) {
      // XCHG r/m32, r32 with a register operand (87) and XCHG EAX, r32 (91-97; ops-data.ts).
      const other = fn === D.xchgAx32 ? 0 : i.rm;
      const t = this.local();
      this.reg(other);
      this.set(t);
      this.reg(i.reg);
      this.setRegTop(other);
      this.setReg(i.reg, t);
      return false;
    }
    if (fn === A.bswap && i.o32 !== 0) {
      // BSWAP r32 (0F C8+r; ops-alu.ts bswap): bytes 0 1 2 3 become 3 2 1 0.
      const v = L_R0 + i.reg;
      this.get(v);
      this.i32(24);
      this.op(Op.i32Shl);
      this.get(v);
      this.i32(0xff00);
      this.op(Op.i32And);
      this.i32(8);
      this.op(Op.i32Shl, Op.i32Or);
      this.get(v);
      this.i32(8);
      this.op(Op.i32ShrU);
      this.i32(0xff00);
      this.op(Op.i32And, Op.i32Or);
      this.get(v);
      this.i32(24);
      this.op(Op.i32ShrU, Op.i32Or);
      this.setRegTop(i.reg);
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
        this.endBlock(k, () => this.i32(next | 0), next);
      } else this.jumpTo(i, k, eip, next, target);
      return true;
    }
    if (last && fn === C.callRel32) {
      const target = (next + i.imm) >>> 0;
      this.get(L_SS32);
      this.op(Op.i32Eqz);
      this.i32(target | 0);
      this.get(L_CSLIM);
      this.op(Op.i32GtU, Op.i32Or);
      this.open(Op.if);
      this.handler(i, k, eip, next, true, true);
      this.end();
      const t = this.local();
      this.i32(next | 0);
      this.set(t);
      this.push(t, eip);
      this.endBlock(k, () => this.i32(target | 0), target);
      return true;
    }
    if (last && (fn === C.jmpRm32 || fn === C.callRm32)) {
      const call = fn === C.callRm32;
      if (call) {
        this.get(L_SS32);
        this.op(Op.i32Eqz);
        this.open(Op.if);
        this.handler(i, k, eip, next, true, true);
        this.end();
      }
      const t = this.local();
      if (reg) this.reg(i.rm);
      else {
        this.ea(i);
        this.get(this.load(4, i.seg, eip));
      }
      this.set(t);
      this.get(t);
      this.get(L_CSLIM);
      this.op(Op.i32GtU);
      this.open(Op.if);
      this.handler(i, k, eip, next, true, true);
      this.end();
      if (call) {
        const n = this.local();
        this.i32(next | 0);
        this.set(n);
        this.push(n, eip);
      }
      this.endBlock(k, () => this.get(t));
      return true;
    }
    if (last && fn === C.retNear32) {
      this.get(L_SS32);
      this.op(Op.i32Eqz);
      this.open(Op.if);
      this.handler(i, k, eip, next, true, true);
      this.end();
      this.reg(4);
      const t = this.load(4, SS, eip);
      this.get(t);
      this.get(L_CSLIM);
      this.op(Op.i32GtU);
      this.open(Op.if);
      this.handler(i, k, eip, next, true, true);
      this.end();
      this.reg(4);
      this.i32(4 + i.imm);
      this.op(Op.i32Add);
      this.setRegTop(4);
      this.endBlock(k, () => this.get(t));
      return true;
    }
    this.inline[k] = 0;
    this.handler(i, k, eip, next, last);
    return last;
  }
  /** 32-bit ALU op (ops-alu.ts alu32) on locals a, b; returns the result's local. */
  private alu32(op: number, a: number, b: number): number {
    const r = this.local();
    let cf = -1;
    if (op === 2 || op === 3) {
      cf = this.local();
      this.cf();
      this.set(cf);
    }
    this.get(a);
    this.get(b);
    this.op(aluOp(op));
    if (cf >= 0) {
      this.get(cf);
      this.op(aluOp(op));
    }
    this.set(r);
    const kind = op === 0 || op === 2 ? "add" : op === 3 || op === 5 || op === 7 ? "sub" : "logic";
    // ADC/SBB: the record is exact (flags.ts), but the shortcuts assume no carry in.
    this.setFlags({ kind, a, b, r, bits: 32, carryIn: cf >= 0 });
    return r;
  }

  /**
   * A string instruction's index register (ESI 6, EDI 7) steps by the size w, down when
   * EFLAGS.DF is set (ops-string.ts advSi/advDi): idx += w - DF * 2w.
   */
  private stringStep(idx: number, w: 1 | 2 | 4): void {
    this.reg(idx);
    this.i32(w);
    this.loadSlot(S_EFL);
    this.i32(10);
    this.op(Op.i32ShrU);
    this.i32(1);
    this.op(Op.i32And);
    this.i32(w === 1 ? 1 : w === 2 ? 2 : 3);
    this.op(Op.i32Shl);
    this.op(Op.i32Sub);
    this.op(Op.i32Add);
    this.setRegTop(idx);
  }

  /**
   * ROL/ROR r32 by a constant 1-31 whose flags may be read (ops-alu.ts shift; SDM Vol. 2B
   * "RCL/RCR/ROL/ROR"): CF is the bit rotated into bit 0 (ROL) or bit 31 (ROR), OF is
   * defined for a count of 1 and computed the same way for any count, as the interpreter
   * does; SF ZF AF PF are unchanged. The pending record is stored first, and the rotate
   * makes CF and OF concrete in EFLAGS and takes them out of the lazy mask (flags.ts: each
   * flag is lazy or concrete on its own), as lazyIncDec does for CF.
   */
  private rotate32(sub: number, rm: number, c: number): void {
    const r = this.local();
    this.flush();
    this.reg(rm);
    this.i32(c);
    this.op(sub === 0 ? Op.i32Rotl : Op.i32Rotr);
    this.set(r);
    this.storeSlot(S_EFL, () => {
      this.loadSlot(S_EFL);
      this.i32(~CF_OF);
      this.op(Op.i32And);
      if (sub === 0) {
        // CF = r & 1; OF = (r >>> 31) ^ CF.
        this.get(r);
        this.i32(1);
        this.op(Op.i32And);
        this.get(r);
        this.i32(31);
        this.op(Op.i32ShrU);
        this.get(r);
        this.op(Op.i32Xor);
      } else {
        // CF = r >>> 31; OF = bit 31 ^ bit 30.
        this.get(r);
        this.i32(31);
        this.op(Op.i32ShrU);
        this.get(r);
        this.get(r);
        this.i32(1);
        this.op(Op.i32Shl, Op.i32Xor);
        this.i32(31);
        this.op(Op.i32ShrU);
      }
      this.i32(1);
      this.op(Op.i32And);
      this.i32(11);
      this.op(Op.i32Shl, Op.i32Or, Op.i32Or);
    });
    this.storeSlot(S_LAZY, () => {
      this.loadSlot(S_LAZY);
      this.i32(~CF_OF);
      this.op(Op.i32And);
    });
    this.flags = undefined;
    this.pending = false;
    this.setReg(rm, r);
  }

  /** SHL/SHR/SAR r32 by a constant 1-31 (ops-alu.ts shift). */
  private shift32(sub: number, rm: number, c: number): void {
    this.shift32With(
      sub,
      rm,
      () => this.i32(c),
      () => this.i32(sub === 4 ? 32 - c : c - 1),
    );
  }

  /**
   * SHL/SHR r32 by CL (D3 /4, D3 /5; ops-alu.ts shift): a masked count of 0 changes nothing,
   * flags included, so the count is known only at run time; both ways leave the flag record
   * stored (not in locals).
   */
  private shiftCl32(sub: number, rm: number): void {
    const c = this.local();
    this.flush();
    this.reg(1);
    this.i32(31);
    this.op(Op.i32And);
    this.tee(c);
    this.open(Op.if);
    this.shift32With(
      sub,
      rm,
      () => this.get(c),
      () => {
        // The bit shifted out last: bit 32 - c for SHL, bit c - 1 for SHR.
        if (sub === 4) this.i32(32);
        this.get(c);
        if (sub !== 4) this.i32(1);
        this.op(Op.i32Sub);
      },
    );
    this.flush();
    this.end();
    this.flags = undefined;
    this.pending = false;
  }

  /**
   * SHL/SHR/SAR r32 by a count in 1-31 that `count` pushes; `cfBit` pushes the position of
   * the bit shifted out last (CF). OF as ops-alu.ts shift computes it for any count.
   */
  private shift32With(sub: number, rm: number, count: () => void, cfBit: () => void): void {
    const v = this.local();
    const r = this.local();
    const cf = this.local();
    const of = this.local();
    this.reg(rm);
    this.set(v);
    this.get(v);
    count();
    this.op(sub === 5 ? Op.i32ShrU : sub === 4 ? Op.i32Shl : Op.i32ShrS);
    this.set(r);
    this.get(v);
    cfBit();
    this.op(sub === 7 ? Op.i32ShrS : Op.i32ShrU);
    this.i32(1);
    this.op(Op.i32And);
    this.set(cf);
    if (sub === 5) {
      this.get(v);
      this.i32(31);
      this.op(Op.i32ShrU);
    } else if (sub === 4) {
      this.get(r);
      this.i32(31);
      this.op(Op.i32ShrU);
      this.get(cf);
      this.op(Op.i32Xor);
      this.i32(1);
      this.op(Op.i32And);
    } else this.i32(0);
    this.set(of);
    this.setFlags({ kind: "result", a: r, b: r, r, bits: 32, cf, of });
    this.setReg(rm, r);
  }

  /** SHL/SHR/SAR r16 by a constant 1-15 (ops-alu.ts shift, bits = 16). */
  private shift16(sub: number, rm: number, c: number): void {
    const v = this.local();
    const r = this.local();
    const cf = this.local();
    const of = this.local();
    this.reg(rm);
    if (sub === 7) {
      this.i32(16);
      this.op(Op.i32Shl);
      this.i32(16);
      this.op(Op.i32ShrS);
    } else {
      this.i32(0xffff);
      this.op(Op.i32And);
    }
    this.set(v); // SAR: sign-extended; SHL/SHR: zero-extended
    this.get(v);
    this.i32(c);
    this.op(sub === 5 ? Op.i32ShrU : sub === 4 ? Op.i32Shl : Op.i32ShrS);
    this.i32(0xffff);
    this.op(Op.i32And);
    this.set(r);
    this.get(v);
    this.i32(sub === 4 ? 16 - c : c - 1);
    this.op(sub === 7 ? Op.i32ShrS : Op.i32ShrU);
    this.i32(1);
    this.op(Op.i32And);
    this.set(cf);
    if (sub === 5) {
      this.get(v);
      this.i32(15);
      this.op(Op.i32ShrU);
    } else if (sub === 4) {
      this.get(r);
      this.i32(15);
      this.op(Op.i32ShrU);
      this.get(cf);
      this.op(Op.i32Xor);
      this.i32(1);
      this.op(Op.i32And);
    } else this.i32(0);
    this.set(of);
    this.setFlags({ kind: "result", a: r, b: r, r, bits: 16, cf, of });
    this.reg(rm);
    this.i32(-65536);
    this.op(Op.i32And);
    this.get(r);
    this.op(Op.i32Or);
    this.setRegTop(rm);
  }

  /** One member block; leaves its inline flags. */
  private body(m: WasmMember): Uint8Array {
    const insns = m.insns;
    const n = insns.length;
    this.inline = new Uint8Array(n);
    this.flags = undefined;
    this.pending = false;
    // Budget: the whole block or nothing (the dispatcher runs a tail).
    this.get(L_LEFT);
    this.i32(n);
    this.op(Op.i32LtS);
    this.open(Op.if);
    this.storeSlotConst(S_EIP, m.eip);
    this.storeSlotConst(S_STOP, 1);
    this.ret();
    this.end();
    this.blockEip = m.eip;
    this.blockN = n;
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
    if (this.multiPage) this.pageCheck(m);
    this.blockInsns = insns;
    for (let k = 0; k < n; k++)
      ended = this.insn(insns[k]!, k, eips[k]!, k + 1 < n ? eips[k + 1]! : end, k === n - 1);
    if (!ended) this.endBlock(n - 1, () => this.i32(end | 0), end);
    return this.inline;
  }

  /**
   * On entry to a member of a region that spans pages: leave (to the dispatcher, at the
   * member's EIP) unless its code page still holds the code it was translated from (its
   * code generation) and CS:EIP still leads there (CS base + EIP through the soft TLB with
   * paging on, as the dispatcher translates it; the linear address itself with paging off).
   * The dispatcher or the host checked the member the region was entered at (and only it:
   * this check is skipped there, so that a host entry whose soft-TLB entry is gone cannot
   * leave at once, again and again, at the same EIP). ~8 instructions per member entry.
   */
  private pageCheck(m: WasmMember): void {
    const e = this.local();
    this.get(L_MOVED);
    this.open(Op.if);
    this.i32(m.page << 2);
    this.mem(Op.i32Load, 2, this.L.codeGen);
    this.i32(m.gen);
    this.op(Op.i32Ne);
    this.leaveIf(m.eip);
    this.loadSlot(S_CSBASE);
    this.i32(m.eip | 0);
    this.op(Op.i32Add);
    this.set(e);
    if (this.pg !== 0) {
      // Paging (the region's mode): the soft TLB's entry grants the access and names the page.
      this.get(e);
      this.i32(12);
      this.op(Op.i32ShrU);
      this.i32(2);
      this.op(Op.i32Shl);
      this.mem(Op.i32Load, 2, this.L.tlbRead);
      this.tee(e);
      this.get(L_PV);
      this.op(Op.i32And);
      this.open(Op.if, RESULT_I32);
      this.get(e);
      this.else_();
      this.i32(-1);
      this.end();
    } else this.get(e);
    this.i32(-4096);
    this.op(Op.i32And);
    this.i32((m.phys & ~0xfff) | 0);
    this.op(Op.i32Ne);
    this.leaveIf(m.eip);
    this.end();
    this.i32(1);
    this.set(L_MOVED);
  }

  /** If the value on the stack is not 0, leave the region (its exit label) at `eip`. */
  private leaveIf(eip: number): void {
    this.open(Op.if);
    this.i32(eip | 0);
    this.set(L_PC);
    this.c.push(Op.br);
    uleb(this.c, this.depth - 1 - this.exitDepth);
    this.end();
  }

  /**
   * The region function: a dispatch loop over the members' start EIPs. A block whose
   * successor is a later member branches to it directly (endBlock); backward edges and
   * computed targets go through the dispatch. On the decompressor phase of the boot
   * (`--max-instructions 2300000000`) that made translated code ~6% faster.
   */
  region(members: readonly WasmMember[]): Uint8Array[] {
    const inline: Uint8Array[] = [];
    this.loadRegs();
    this.loadSummary();
    this.loadSlot(S_EIP);
    this.set(L_PC);
    // Entered with paging on when made for paging off, or the reverse: leave at once, nothing
    // run, and say so (the host drops the region and runs the block cold). A handler that
    // changes CR0.PG ends the region after it (wasm-glue.ts handler).
    this.get(L_PG);
    this.i32(this.pg);
    this.op(Op.i32Ne);
    this.open(Op.if);
    this.storeSlotConst(S_MODE_MISS, 1);
    this.storeSlotConst(S_STOP, 1);
    this.storeSlotLocal(S_LEFT, L_LEFT);
    this.op(Op.return);
    this.end();
    this.open(Op.loop);
    this.loopDepth = this.depth - 1;
    this.open(Op.block); // exit
    this.exitDepth = this.depth - 1;
    this.multiPage = members.some((m) => m.page !== members[0]!.page);
    this.memberIndex.clear();
    members.forEach((m, k) => {
      if (!this.memberIndex.has(m.eip | 0)) this.memberIndex.set(m.eip | 0, k);
    });
    this.memberDepth = new Array(members.length);
    for (let m = members.length - 1; m >= 0; m--) {
      this.open(Op.block);
      this.memberDepth[m] = this.depth - 1;
    }
    // Dispatch: the member whose EIP is pc, else leave.
    members.forEach((m, k) => {
      this.get(L_PC);
      this.i32(m.eip | 0);
      this.op(Op.i32Eq, Op.brIf);
      uleb(this.c, k);
    });
    this.op(Op.br);
    uleb(this.c, members.length);
    members.forEach((m, k) => {
      this.end();
      this.member = k;
      inline.push(this.body(m));
    });
    this.end(); // exit: the next block is not a member; the dispatcher looks it up
    this.storeSlot(S_EIP, () => this.get(L_PC));
    this.storeSlotLocal(S_LEFT, L_LEFT);
    this.ret();
    this.end(); // loop
    return inline;
  }
}

/** One module for several regions' functions (exports f0, f1, ...). */
export function encodeRegions(
  layout: WasmLayout,
  regions: readonly WasmRegionCode[],
): Uint8Array<ArrayBuffer> {
  return encodeModule(
    layout.pages,
    IMPORTS,
    1,
    regions.map((r) => r.body),
  );
}

/** Generate a region's wasm function (members[0] is the block that became hot). */
export function generateWasmRegion(
  layout: WasmLayout,
  table: HandlerTable,
  members: readonly WasmMember[],
  pg: number,
): WasmRegionCode {
  const e = new WasmEmitter(layout, table, pg);
  const inline = e.region(members);
  return { body: { locals: e.locals, code: e.c.bytes() }, inline };
}

/** Where the dispatcher finds the code generations and its entry table. */
export interface DispatchLayout extends WasmLayout {
  readonly entries: number;
  readonly entryMask: number;
}

/**
 * The dispatcher: `run(idx, left)` calls region `idx` (a table index) and, while the region
 * left because its next block is not one of its members, finds that block's region in the
 * entry table and calls it, without returning to the host. An entry (32 bytes: physical
 * address, EIP, CS.D, page, code generation, last byte's offset, table index) is used only
 * when it matches the block the CPU is at: the linear address (CS base + EIP) through the soft
 * TLB when paging is on, CS.D, the page's current code generation and the CS limit: the
 * checks the host's block lookup makes (translator.ts lookup). Anything else returns to the
 * host, which looks the block up itself.
 */
export function generateDispatcher(L: DispatchLayout): FunctionBody {
  const c = new ByteWriter();
  const IDX = 0;
  const LEFT = 1;
  const PC = 2;
  const LIN = 3;
  const E = 4;
  const PHYS = 5;
  const ENT = 6;
  const op = (...b: number[]): void => {
    for (const x of b) c.push(x);
  };
  const i32 = (v: number): void => {
    c.push(Op.i32Const);
    sleb(c, v);
  };
  const get = (l: number): void => op(Op.localGet, l);
  const set = (l: number): void => op(Op.localSet, l);
  const mem = (opc: number, offset: number): void => {
    c.push(opc);
    uleb(c, 2);
    uleb(c, offset >>> 0);
  };
  const slot = (off: number): void => {
    i32(0);
    mem(Op.i32Load, L.state + off);
  };
  const store = (off: number, emit: () => void): void => {
    i32(0);
    emit();
    mem(Op.i32Store, L.state + off);
  };
  const returnIf = (): void => op(Op.if, VOID, Op.return, Op.end);
  const entry = (field: number): void => {
    get(ENT);
    mem(Op.i32Load, L.entries + field);
  };
  op(Op.loop, VOID);
  store(S_STOP, () => i32(0));
  store(S_CUR, () => get(IDX));
  get(LEFT);
  get(IDX);
  op(Op.callIndirect, 0, 0);
  slot(S_STOP);
  returnIf();
  slot(S_LEFT);
  op(Op.localTee, LEFT);
  i32(0);
  op(Op.i32LeS);
  returnIf();
  slot(S_EIP);
  set(PC);
  slot(S_CSBASE);
  get(PC);
  op(Op.i32Add);
  set(LIN);
  slot(S_PG);
  op(Op.if, VOID);
  get(LIN);
  i32(12);
  op(Op.i32ShrU);
  i32(2);
  op(Op.i32Shl);
  mem(Op.i32Load, L.tlbRead);
  op(Op.localTee, E);
  slot(S_PV);
  op(Op.i32And, Op.i32Eqz);
  returnIf();
  get(E);
  i32(-4096);
  op(Op.i32And);
  get(LIN);
  i32(4095);
  op(Op.i32And, Op.i32Or);
  set(PHYS);
  op(Op.else);
  get(LIN);
  set(PHYS);
  op(Op.end);
  get(PHYS);
  get(PHYS);
  i32(15);
  op(Op.i32ShrU, Op.i32Xor);
  i32(L.entryMask);
  op(Op.i32And);
  i32(5);
  op(Op.i32Shl);
  set(ENT);
  entry(0);
  get(PHYS);
  op(Op.i32Ne);
  returnIf();
  entry(4);
  get(PC);
  op(Op.i32Ne);
  returnIf();
  entry(8);
  slot(S_D32);
  op(Op.i32Ne);
  returnIf();
  entry(12);
  i32(2);
  op(Op.i32Shl);
  mem(Op.i32Load, L.codeGen);
  entry(16);
  op(Op.i32Ne);
  returnIf();
  entry(20);
  slot(S_CSLIM);
  op(Op.i32GtU);
  returnIf();
  entry(24);
  op(Op.localTee, IDX);
  op(Op.i32Eqz);
  returnIf();
  store(S_HITS, () => {
    slot(S_HITS);
    i32(1);
    op(Op.i32Add);
  });
  op(Op.br, 0);
  op(Op.end);
  return { locals: 5, code: c.bytes() };
}
