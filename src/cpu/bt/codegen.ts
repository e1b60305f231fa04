/**
 * The translator's code generator: one decoded block (the interpreter's decoder, the same
 * block boundaries) becomes the source text of one JavaScript function, compiled with
 * `new Function` and then optimised by V8 like any other hot function.
 *
 * What a translation looks like (test/golden/bt/ holds examples):
 *  - every instruction's EIP is a constant; `cpu.insnEip` is stored only before an
 *    instruction that can fault or leave as a VM exit (precise exceptions: the run loop
 *    restores EIP from it and counts the instructions before it);
 *  - the guest registers the block touches live in locals (`r0`..`r7`), loaded on entry and
 *    written through to `cpu.regs` on every write, so the architectural state is current
 *    at every point where an instruction can fault or call out. Write-through rather than
 *    write-back keeps exceptions simple (no repair code) and costs one typed-array store per
 *    register write; the win is that reads (addresses, operands) never touch memory;
 *  - the hot instruction forms (the interpreter's fast.ts kinds and a few more) are emitted
 *    inline with exactly the semantics of their handler; everything else is a direct call
 *    of the interpreter's handler with its decoded record bound as a constant (`h3(cpu,
 *    i3)`), after which the locals are reloaded;
 *  - arithmetic flags stay lazy (flags.ts): inline code writes the same lazy record the
 *    handlers do; a Jcc whose flags come from an earlier instruction of the same block is
 *    evaluated from that instruction's operands (`cmp eax, ebx; jl` becomes `a < b`);
 *  - sensitive instructions (callouts.ts) are handler calls that also bump a callout
 *    counter;
 *  - the unit of translation is a region: the hot block and the blocks of the same page it
 *    leads to that have run before, in one function that goes from block to block through a
 *    `switch` on the next EIP while the budget lasts and nothing asked it to stop, so a hot
 *    loop of several blocks never returns to the dispatcher (v86 compiles a page's hot
 *    blocks into one wasm function the same way); registers stay in locals across blocks;
 *  - a "counted" variant of one block runs at most `limit` instructions (budget tails,
 *    single steps).
 *
 * Instructions are retired in whole blocks (`cpu.instructionsRetired += n` at the exit), as
 * the interpreter does, so that exit handlers and the deterministic clock observe the same
 * instruction counts under both engines.
 */

import type { Handler, Insn } from "../interp/insn.js";
import * as A from "../interp/ops-alu.js";
import * as C from "../interp/ops-control.js";
import * as D from "../interp/ops-data.js";
import { CALLOUT_MMIO, calloutKind } from "./callouts.js";

export interface BlockInput {
  /** CS offset of the first instruction. */
  readonly eip: number;
  readonly insns: readonly Insn[];
  /** Instruction indices emitted as callouts instead of inline code (adaptive retranslation). */
  readonly forced: ReadonlySet<number>;
  /** The counted variant: `fn(cpu, limit)` runs at most `limit` instructions. */
  readonly counted: boolean;
}

export interface BlockCode {
  /** The body of the factory `new Function("RT", "H", "I", "B", source)`. */
  readonly source: string;
  /** Handlers and records referenced as H[k] / I[k]. */
  readonly handlers: Handler[];
  readonly records: Insn[];
  /** Per instruction: 1 when it ran inline (precise: a fault needs no ESP restore), 0 through its handler. */
  readonly inline: Uint8Array;
  /** Per instruction: its callout kind (callouts.ts), or -1. */
  readonly callouts: Int16Array;
}

/** The integer ALU handlers (ops-alu.ts): they touch registers, flags and memory only. */
const ALU_HANDLERS: ReadonlySet<Handler> = new Set(
  Object.values(A).filter((f): f is Handler => typeof f === "function"),
);

const ARITH = 0x8d5;
const OP_ADD = 0;
const OP_SUB = 1;
const GP = 13;
const SS = 2;

/** What the last inline flag-setting instruction of the block left, for Jcc and INC/DEC. */
interface FlagState {
  readonly kind: "add" | "sub" | "logic" | "incdec" | "result";
  /** Locals holding the operands and the result (int32 for 32 bits, unsigned for 8). */
  readonly a: string;
  readonly b: string;
  readonly r: string;
  readonly bits: number;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

class Emitter {
  private readonly out: string[] = [];
  private readonly regsUsed = new Set<number>();
  private readonly rt = new Set<string>();
  readonly handlers: Handler[] = [];
  readonly records: Insn[] = [];
  private flags: FlagState | undefined;
  /**
   * The lazy-flag record of the block's last flag-setting instruction, not yet stored into
   * `cpu` (assignments joined by "; "). Each flag-setting instruction replaces the whole
   * record, so only the last one before something that can observe the flags is stored: a
   * handler call, a slow-path memory access (it may fault, and delivery pushes EFLAGS), a
   * flag read from `cpu`, and every way out of the block.
   */
  private pending: string | undefined;
  /** Inline memory accesses use the flat-segment mask FM (load/store). */
  private fm = false;
  inline: Uint8Array;
  callouts: Int16Array;

  /** Region mode: block ends continue the region's dispatch loop instead of returning. */
  private region = false;

  constructor(private b: BlockInput) {
    this.inline = new Uint8Array(b.insns.length);
    this.callouts = new Int16Array(b.insns.length).fill(-1);
  }

  /** The block-final transfer to `eip` (an expression) after instruction k. */
  private endBlock(k: number, eip: string): string {
    if (this.region)
      return `${this.flushStmt()}cpu.instructionsRetired += ${k + 1}; left -= ${k + 1}; pc = ${eip}; break;`;
    return this.exitAfter(k, eip);
  }

  private line(s: string): void {
    this.out.push(s);
  }
  /** Record the flags an instruction leaves (a complete lazy record; see `pending`). */
  private setFlags(assignments: string): void {
    this.pending = assignments.replace(/;\s*$/, "");
  }
  /** The pending flag stores as statements ("" when none), for a path that leaves or faults. */
  private flushStmt(): string {
    return this.pending === undefined ? "" : `${this.pending}; `;
  }
  /** The same as a comma-expression prefix, for a slow path inside an expression. */
  private flushExpr(): string {
    return this.pending === undefined ? "" : `${this.pending.split("; ").join(", ")}, `;
  }
  /** Store the pending flags here, on the main path. */
  private flushNow(): void {
    if (this.pending !== undefined) this.line(`${this.pending};`);
    this.pending = undefined;
  }
  private use(name: string): string {
    this.rt.add(name);
    return name;
  }
  private reg(n: number): string {
    this.regsUsed.add(n);
    return `r${n}`;
  }
  /**
   * The physical address of an inline access, or -1 for the slow path: the mem.ts fast path
   * (present expand-up data segment, inside one page, RAM) for flat segments (base 0, limit
   * 4 GiB; `FM` holds one read bit per segment and one write bit at +8), where the linear
   * address is the offset. With paging on (`PG`) the linear page goes through the soft TLB
   * (`TR`/`TW`, mem.ts tlbTranslateRead/Write) and must grant the current privilege (`PV`:
   * 1 supervisor, 2 user); a miss takes the slow path, which walks and fills. FM, PG and PV
   * are recomputed after every handler call that may change segments, CR0 or CPL.
   */
  private phys(w: 1 | 2 | 4, seg: number, addr: string, write: boolean): string {
    this.fm = true;
    const bit = write ? 0x100 << seg : 1 << seg;
    const page = w === 1 ? "" : ` && (xa & 4095) <= ${4096 - w}`;
    const ms = this.use("MS");
    const tlb = this.use(write ? "TW" : "TR");
    return (
      `((xa = (${addr}) >>> 0), (FM & ${bit}) !== 0${page} ? ` +
      `(PG === 0 ? (xa + ${w} <= ${ms} ? xa : -1) : ` +
      `((xe = ${tlb}[xa >>> 12]) & PV) !== 0 && (xp = (xe & -4096) | (xa & 4095)) >= 0 && xp + ${w} <= ${ms} ? xp : -1) : -1)`
    );
  }

  /** An inline load (mem.ts rdN fast path, see phys); anything else goes through rdN. */
  private load(w: 1 | 2 | 4, seg: number, addr: string): string {
    const slow = this.use(w === 1 ? "rd8" : w === 2 ? "rd16" : "rd32");
    const fast =
      w === 1 ? `${this.use("MB")}[xp]` : `${this.use("MV")}.${w === 2 ? "getUint16" : "getInt32"}(xp, true)`;
    return `((xp = ${this.phys(w, seg, addr, false)}) >= 0 ? ${fast} : (${this.flushExpr()}${slow}(cpu, ${seg}, xa)))`;
  }

  /**
   * An inline store (mem.ts wrN): RAM is written directly unless the page holds decoded code
   * (`CP`), where ramWriteN bumps the page's generation and ends the block (self-modifying code).
   */
  private store(w: 1 | 2 | 4, seg: number, addr: string, v: string): string {
    const slow = this.use(w === 1 ? "wr8" : w === 2 ? "wr16" : "wr32");
    const ram = this.use(w === 1 ? "ramWrite8" : w === 2 ? "ramWrite16" : "ramWrite32");
    const fast =
      w === 1
        ? `${this.use("MB")}[xp] = ${v}`
        : `${this.use("MV")}.${w === 2 ? "setUint16" : "setInt32"}(xp, ${v}, true)`;
    return (
      `if ((xp = ${this.phys(w, seg, addr, true)}) >= 0) { if (${this.use("CP")}[xp >>> 12] === 0) ${fast}; else ${ram}(cpu, xp, ${v}); } ` +
      `else { ${this.flushStmt()}${slow}(cpu, ${seg}, xa, ${v}); }`
    );
  }

  /**
   * Read-modify-write (mem.ts rmwRead32/rmwWrite32): the destination is checked for writing
   * (the write TLB) before it is read, so the instruction faults before it changes anything.
   * rmwRead returns the operand; rmwWrite stores `v` to the same place.
   */
  private rmwRead(k: number, seg: number, addr: string): string {
    const mv = this.use("MV");
    return `((p${k} = ${this.phys(4, seg, addr, true)}) >= 0 ? ${mv}.getInt32(p${k}, true) : (${this.flushExpr()}${this.use("rmwRead32")}(cpu, ${seg}, xa)))`;
  }
  private rmwWrite(k: number, v: string): string {
    return (
      `if (p${k} >= 0) { if (${this.use("CP")}[p${k} >>> 12] === 0) ${this.use("MV")}.setInt32(p${k}, ${v}, true); else ${this.use("ramWrite32")}(cpu, p${k}, ${v}); } ` +
      `else ${this.use("rmwWrite32")}(cpu, ${v});`
    );
  }

  private setReg(n: number, v: string): void {
    this.regsUsed.add(n);
    this.line(`r${n} = ${v}; R[${n}] = r${n};`);
  }
  /** 8-bit register by ModRM number (AL CL DL BL AH CH DH BH). */
  private reg8(n: number): string {
    return n < 4 ? `(${this.reg(n)} & 255)` : `((${this.reg(n - 4)} >> 8) & 255)`;
  }
  private setReg8(n: number, v: string): void {
    if (n < 4) this.setReg(n, `(r${n} & -256) | ${v}`);
    else this.setReg(n - 4, `(r${n - 4} & -65281) | (${v} << 8)`);
  }

  /** Effective address (insn.ts `ea`), masked to the address size. */
  private ea(i: Insn): string {
    const parts: string[] = [String(i.disp | 0)];
    if (i.base >= 0) parts.push(this.reg(i.base));
    if (i.index >= 0) parts.push(i.scale !== 0 ? `(${this.reg(i.index)} << ${i.scale})` : this.reg(i.index));
    const sum = parts.length === 1 ? parts[0]! : parts.join(" + ");
    return i.a32 !== 0 ? `((${sum}) | 0)` : `((${sum}) & 65535)`;
  }

  private exitAfter(k: number, eip: string | undefined): string {
    return `${this.flushStmt()}${eip !== undefined ? `cpu.eip = ${eip}; ` : ""}cpu.instructionsRetired += ${k + 1}; return;`;
  }

  /** After an instruction that may have set cpu.iBreak (a store, an MMIO access): leave the block. */
  private breakCheck(k: number, next: number, last: boolean, memory: boolean): void {
    if (last) return;
    const note = memory ? `${this.use("noteBreak")}(cpu, B, ${hex(this.b.eip)}, ${k}); ` : "";
    this.line(`if (cpu.iBreak) { ${note}${this.exitAfter(k, hex(next))} }`);
  }

  private lazy(op: number, a: string, b: string, r: string, bits: number): void {
    // flags.ts lazyAdd / lazySub (one short call: a record may be stored on several paths).
    this.setFlags(`${this.use(op === OP_ADD ? "lazyAdd" : "lazySub")}(cpu, ${a}, ${b}, ${r}, ${bits});`);
  }
  private lazyLogic(r: string, bits: number): void {
    this.setFlags(`${this.use("lazyLogic")}(cpu, ${r}, ${bits});`);
  }

  /**
   * CF as an expression, from the block's own flag state when known (flags.ts getCF); an
   * expression that reads `cpu` gets the pending flags stored first.
   */
  private cf(): string {
    const e = this.cfExpr();
    if (e.includes("cpu")) this.flushNow();
    return e;
  }
  private cfExpr(): string {
    const f = this.flags;
    if (f !== undefined && f.bits === 32) {
      if (f.kind === "sub") return `((${f.a} >>> 0) < (${f.b} >>> 0) ? 1 : 0)`;
      if (f.kind === "add") return `((${f.r} >>> 0) < (${f.a} >>> 0) ? 1 : 0)`;
      if (f.kind === "logic") return "0";
    }
    if (f !== undefined && (f.kind === "incdec" || f.kind === "result")) return "(cpu.eflags & 1)";
    return `${this.use("getCF")}(cpu)`;
  }

  /**
   * 32-bit ALU op `op` (ADD OR ADC SBB AND SUB XOR CMP) on locals a, b into local `t` with
   * its lazy flags, exactly as ops-alu.ts alu32; returns the result's local.
   */
  private alu32(op: number, k: number, a: string, b: string): string {
    const t = `t${k}`;
    switch (op) {
      case 0:
        this.line(`const ${t} = (${a} + ${b}) | 0;`);
        this.lazy(OP_ADD, a, b, t, 32);
        this.flags = { kind: "add", a, b, r: t, bits: 32 };
        break;
      case 2:
        this.line(`const ${t} = (${a} + ${b} + ${this.cf()}) | 0;`);
        this.lazy(OP_ADD, a, b, t, 32);
        this.flags = undefined;
        break;
      case 3:
        this.line(`const ${t} = (${a} - ${b} - ${this.cf()}) | 0;`);
        this.lazy(OP_SUB, a, b, t, 32);
        this.flags = undefined;
        break;
      case 5:
      case 7:
        this.line(`const ${t} = (${a} - ${b}) | 0;`);
        this.lazy(OP_SUB, a, b, t, 32);
        this.flags = { kind: "sub", a, b, r: t, bits: 32 };
        break;
      default: {
        const sym = op === 1 ? "|" : op === 4 ? "&" : "^";
        this.line(`const ${t} = ${a} ${sym} ${b};`);
        this.lazyLogic(t, 32);
        this.flags = { kind: "logic", a, b, r: t, bits: 32 };
      }
    }
    return t;
  }

  /** 8-bit ALU op (ops-alu.ts alu8); operands and result are unsigned bytes. */
  private alu8(op: number, k: number, a: string, b: string): string {
    const t = `t${k}`;
    const cf = (): string => {
      this.flushNow();
      return `${this.use("getCF")}(cpu)`;
    };
    switch (op) {
      case 0:
        this.line(`const ${t} = (${a} + ${b}) & 255;`);
        this.lazy(OP_ADD, a, b, t, 8);
        this.flags = { kind: "add", a, b, r: t, bits: 8 };
        break;
      case 2:
        this.line(`const ${t} = (${a} + ${b} + ${cf()}) & 255;`);
        this.lazy(OP_ADD, a, b, t, 8);
        this.flags = undefined;
        break;
      case 3:
        this.line(`const ${t} = (${a} - ${b} - ${cf()}) & 255;`);
        this.lazy(OP_SUB, a, b, t, 8);
        this.flags = undefined;
        break;
      case 5:
      case 7:
        // CMP keeps the destination: the result only goes to the flag record.
        this.line(`const ${t} = (${a} - ${b}) & 255;`);
        this.lazy(OP_SUB, a, b, t, 8);
        this.flags = { kind: "sub", a, b, r: t, bits: 8 };
        break;
      default: {
        const sym = op === 1 ? "|" : op === 4 ? "&" : "^";
        this.line(`const ${t} = (${a} ${sym} ${b}) & 255;`);
        this.lazyLogic(t, 8);
        this.flags = { kind: "logic", a, b, r: t, bits: 8 };
      }
    }
    return t;
  }

  /**
   * A condition code (flags.ts condition) as a boolean expression; the generic form reads
   * `cpu`, so the pending flags are stored first.
   */
  private condition(cc: number): string {
    const e = this.conditionExpr(cc);
    if (e.includes("\u0001condition\u0001")) this.flushNow();
    return e;
  }
  private conditionExpr(cc: number): string {
    const f = this.flags;
    const generic = `\u0001condition\u0001(cpu, ${cc})`;
    if (f === undefined) return generic;
    const { a, b, r } = f;
    if (f.bits === 32) {
      if (f.kind === "sub") {
        switch (cc) {
          case 0:
            return `((${a} ^ ${b}) & (${a} ^ ${r})) < 0`;
          case 1:
            return `((${a} ^ ${b}) & (${a} ^ ${r})) >= 0`;
          case 2:
            return `(${a} >>> 0) < (${b} >>> 0)`;
          case 3:
            return `(${a} >>> 0) >= (${b} >>> 0)`;
          case 6:
            return `(${a} >>> 0) <= (${b} >>> 0)`;
          case 7:
            return `(${a} >>> 0) > (${b} >>> 0)`;
          case 12:
            return `(${a} | 0) < (${b} | 0)`;
          case 13:
            return `(${a} | 0) >= (${b} | 0)`;
          case 14:
            return `(${a} | 0) <= (${b} | 0)`;
          case 15:
            return `(${a} | 0) > (${b} | 0)`;
        }
      }
      if (f.kind === "logic") {
        switch (cc) {
          case 0:
          case 2:
            return "false";
          case 1:
          case 3:
            return "true";
          case 6:
            return `${r} === 0`;
          case 7:
            return `${r} !== 0`;
          case 12:
            return `${r} < 0`;
          case 13:
            return `${r} >= 0`;
          case 14:
            return `${r} <= 0`;
          case 15:
            return `${r} > 0`;
        }
      }
      if (f.kind === "add" && (cc === 2 || cc === 3))
        return `(${r} >>> 0) ${cc === 2 ? "<" : ">="} (${a} >>> 0)`;
      switch (cc) {
        case 4:
          return `${r} === 0`;
        case 5:
          return `${r} !== 0`;
        case 8:
          return `${r} < 0`;
        case 9:
          return `${r} >= 0`;
      }
      return generic;
    }
    // 8-bit results are unsigned bytes.
    if (f.kind === "sub") {
      switch (cc) {
        case 2:
          return `${a} < ${b}`;
        case 3:
          return `${a} >= ${b}`;
        case 6:
          return `${a} <= ${b}`;
        case 7:
          return `${a} > ${b}`;
      }
    }
    if (f.kind === "logic") {
      switch (cc) {
        case 2:
          return "false";
        case 3:
          return "true";
      }
    }
    switch (cc) {
      case 4:
        return `${r} === 0`;
      case 5:
        return `${r} !== 0`;
      case 8:
        return `(${r} & 128) !== 0`;
      case 9:
        return `(${r} & 128) === 0`;
    }
    return generic;
  }

  /** Near jump target check (ops-control.ts jumpNear): #GP(0) beyond the CS limit. */
  private limitCheck(target: string): void {
    this.line(
      `if (${target} > (cpu.segLimit[1] >>> 0)) { ${this.flushStmt()}${this.use("raise")}(cpu, ${GP}, 0); }`,
    );
  }

  /** push32 (mem.ts) of `v`, keeping r4 current. */
  private push32(v: string, k: number): void {
    this.reg(4);
    this.line(
      `if ((cpu.segAccess[${SS}] & 16384) !== 0) { const s${k} = (r4 - 4) | 0; ${this.store(4, SS, `s${k}`, v)} r4 = s${k}; R[4] = s${k}; }`,
    );
    this.line(`else { ${this.flushStmt()}${this.use("push32")}(cpu, ${v}); r4 = R[4]; }`);
  }

  /** Bind an instruction's handler and record as constants of the translation. */
  private bind(i: Insn): [string, string] {
    const h = this.handlers.length;
    this.handlers.push(i.fn);
    this.records.push(i);
    return [`H${h}`, `I${h}`];
  }

  /** The handler call: the reference semantics for everything not emitted inline. */
  private call(i: Insn, k: number, next: number, last: boolean, callout: number): void {
    const [h, r] = this.bind(i);
    this.flushNow();
    this.line(`cpu.insnEsp = R[4]; cpu.eip = ${hex(next)};`);
    if (callout >= 0) this.line(`CO[${callout}]++;`);
    // A REP string instruction retires its further iterations itself (ops-string.ts
    // finishRep): the region's budget must count them, or the blocks after it overrun it.
    const rep = i.rep !== 0 && this.region;
    if (rep) this.line(`const q${k} = cpu.instructionsRetired;`);
    this.line(`${h}(cpu, ${r});`);
    if (rep) this.line(`left -= cpu.instructionsRetired - q${k};`);
    // ALU handlers change no segment register and no control register: FM stays.
    this.line(ALU_HANDLERS.has(i.fn) ? "\u0000RELOADREGS\u0000" : "\u0000RELOAD\u0000");
    this.flags = undefined;
    if (last)
      this.line(this.region ? this.endBlock(k, "cpu.eip") : `cpu.instructionsRetired += ${k + 1}; return;`);
    else this.line(`if (cpu.iBreak) { cpu.instructionsRetired += ${k + 1}; return; }`);
  }

  /** Emit instruction k; returns true when it ended the block's code (a transfer at the end). */
  private insn(i: Insn, k: number, eip: number, next: number, last: boolean): boolean {
    const fn = i.fn;
    const reg = i.mod === 3;
    this.line(`// ${k}: ${hex(eip)} ${fn.name}${i.sub !== 0 ? ` /${i.sub}` : ""} (${i.len} bytes)`);
    const forced = this.b.forced.has(k);
    const callout = calloutKind(i);
    this.callouts[k] = forced ? CALLOUT_MMIO : callout;
    const fault = (): void => this.line(`cpu.insnEip = ${hex(eip)};`);
    if (forced || callout >= 0) {
      fault();
      this.call(i, k, next, last, forced ? CALLOUT_MMIO : callout);
      return last;
    }
    this.inline[k] = 1;
    const t = `t${k}`;
    // ---- data movement ----
    if (fn === D.movRR32 || (fn === D.movRmR32 && reg)) {
      const [d, s] = fn === D.movRR32 ? [i.reg, i.rm] : [i.rm, i.reg];
      this.setReg(d, this.reg(s));
      return false;
    }
    if (fn === D.movRM32 || (fn === D.movRRm32 && !reg)) {
      fault();
      this.setReg(i.reg, `${this.load(4, i.seg, this.ea(i))}`);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.movMR32 || (fn === D.movRmR32 && !reg)) {
      fault();
      this.line(this.store(4, i.seg, this.ea(i), `${this.reg(i.reg)}`));
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.movRImm32) {
      this.setReg(i.reg, String(i.imm | 0));
      return false;
    }
    if (fn === D.movRmImm32) {
      if (reg) this.setReg(i.rm, String(i.imm | 0));
      else {
        fault();
        this.line(this.store(4, i.seg, this.ea(i), `${i.imm | 0}`));
        this.breakCheck(k, next, last, true);
      }
      return false;
    }
    if (fn === D.lea32) {
      this.setReg(i.reg, this.ea(i));
      return false;
    }
    if (fn === D.movzxB32 || fn === D.movsxB32) {
      const sx = fn === D.movsxB32;
      if (reg) {
        const v = this.reg8(i.rm);
        this.setReg(i.reg, sx ? `((${v} << 24) >> 24)` : v);
        return false;
      }
      fault();
      const v = `${this.load(1, i.seg, this.ea(i))}`;
      this.setReg(i.reg, sx ? `((${v} << 24) >> 24)` : v);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.movzxW32 || fn === D.movsxW32) {
      const sx = fn === D.movsxW32;
      let v: string;
      if (reg) v = `(${this.reg(i.rm)} & 65535)`;
      else {
        fault();
        v = `${this.load(2, i.seg, this.ea(i))}`;
      }
      this.setReg(i.reg, sx ? `((${v} << 16) >> 16)` : v);
      if (!reg) this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.movRRm8 || fn === D.movRmR8) {
      if (reg) {
        const [d, s] = fn === D.movRRm8 ? [i.reg, i.rm] : [i.rm, i.reg];
        this.line(`const ${t} = ${this.reg8(s)};`);
        this.setReg8(d, t);
        return false;
      }
      fault();
      if (fn === D.movRRm8) {
        this.line(`const ${t} = ${this.load(1, i.seg, this.ea(i))};`);
        this.setReg8(i.reg, t);
      } else {
        this.line(this.store(1, i.seg, this.ea(i), `${this.reg8(i.reg)}`));
      }
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.pushR32 || fn === D.pushImm32) {
      fault();
      const v = fn === D.pushR32 ? this.reg(i.reg) : String(i.imm | 0);
      this.line(`const ${t} = ${v};`);
      this.push32(t, k);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.popR32) {
      fault();
      this.reg(4);
      this.line(
        `let ${t}; if ((cpu.segAccess[${SS}] & 16384) !== 0) { ${t} = ${this.load(4, SS, "r4")}; r4 = (r4 + 4) | 0; R[4] = r4; }`,
      );
      this.line(`else { ${this.flushStmt()}${t} = ${this.use("pop32")}(cpu); r4 = R[4]; }`);
      this.setReg(i.reg, t);
      this.breakCheck(k, next, last, true);
      return false;
    }
    // ---- arithmetic ----
    if (
      (fn === A.aluRmR32 && reg) ||
      fn === A.aluRRm32 ||
      (fn === A.aluRmImm32 && reg) ||
      fn === A.aluAccImm32 ||
      fn === A.cmpRmR32
    ) {
      let dst: number;
      let a: string;
      let b: string;
      let mem = false;
      if (fn === A.aluRmR32) {
        dst = i.rm;
        a = this.reg(i.rm);
        b = this.reg(i.reg);
      } else if (fn === A.aluRRm32) {
        dst = i.reg;
        a = this.reg(i.reg);
        if (reg) b = this.reg(i.rm);
        else {
          fault();
          mem = true;
          this.line(`const b${k} = ${this.load(4, i.seg, this.ea(i))};`);
          b = `b${k}`;
        }
      } else if (fn === A.aluRmImm32) {
        dst = i.rm;
        a = this.reg(i.rm);
        b = String(i.imm | 0);
      } else if (fn === A.aluAccImm32) {
        dst = 0;
        a = this.reg(0);
        b = String(i.imm | 0);
      } else {
        // CMP r/m32, r32: a is the r/m operand.
        dst = -1;
        if (reg) a = this.reg(i.rm);
        else {
          fault();
          mem = true;
          this.line(`const a${k} = ${this.load(4, i.seg, this.ea(i))};`);
          a = `a${k}`;
        }
        b = this.reg(i.reg);
      }
      // Operands into constants: the flag record and a later Jcc refer to them.
      if (a.startsWith("r")) {
        this.line(`const a${k} = ${a};`);
        a = `a${k}`;
      }
      if (b.startsWith("r")) {
        this.line(`const b${k} = ${b};`);
        b = `b${k}`;
      }
      const op = fn === A.cmpRmR32 ? 7 : i.sub;
      const r = this.alu32(op, k, a, b);
      if (dst >= 0 && op !== 7) this.setReg(dst, r);
      if (mem) this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === A.testRmR32 || fn === A.testAccImm32 || (fn === A.testRmImm32 && reg)) {
      let a: string;
      if (fn === A.testAccImm32) a = this.reg(0);
      else if (reg) a = this.reg(i.rm);
      else {
        fault();
        this.line(`const a${k} = ${this.load(4, i.seg, this.ea(i))};`);
        a = `a${k}`;
      }
      const b = fn === A.testRmR32 ? this.reg(i.reg) : String(i.imm | 0);
      this.line(`const ${t} = ${a} & ${b};`);
      this.lazyLogic(t, 32);
      this.flags = { kind: "logic", a: t, b: t, r: t, bits: 32 };
      if (!reg && fn === A.testRmR32) this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === A.incR32 || fn === A.decR32) {
      const dec = fn === A.decR32;
      const cf = this.cf();
      this.line(`const a${k} = ${this.reg(i.reg)}, ${t} = (a${k} ${dec ? "-" : "+"} 1) | 0;`);
      this.setReg(i.reg, t);
      // lazyIncDec: CF becomes concrete, the rest lazy from the record.
      // CF stays as it was: concrete from the earlier record, or already in cpu.eflags.
      const keep = cf === "(cpu.eflags & 1)" ? "" : `cpu.eflags = (cpu.eflags & -2) | ${cf}; `;
      this.setFlags(
        `${keep}cpu.lfA = a${k}; cpu.lfB = 1; cpu.lfRes = ${t}; cpu.lfBits = 32; cpu.lfOp = ${dec ? OP_SUB : OP_ADD}; cpu.lazyMask = ${ARITH & ~1};`,
      );
      this.flags = { kind: "incdec", a: `a${k}`, b: "1", r: t, bits: 32 };
      return false;
    }
    if (fn === A.shiftRm32 && reg && (i.sub === 4 || i.sub === 5 || i.sub === 7)) {
      const c = i.sub2 === 0 ? i.imm & 31 : i.sub2 === 1 ? 1 : 0;
      if (c !== 0) {
        const v = `v${k}`;
        this.line(`const ${v} = ${this.reg(i.rm)};`);
        let r: string;
        let cf: string;
        let of: string;
        if (i.sub === 5) {
          r = `(${v} >>> ${c}) | 0`;
          cf = `(${v} >>> ${c - 1}) & 1`;
          of = `${v} >>> 31`;
          this.line(`const ${t} = ${r};`);
        } else if (i.sub === 4) {
          this.line(`const ${t} = ${v} << ${c};`);
          cf = `(${v} >>> ${32 - c}) & 1`;
          of = `((${t} >>> 31) ^ ${cf}) & 1`;
        } else {
          this.line(`const ${t} = ${v} >> ${c};`);
          cf = `(${v} >> ${c - 1}) & 1`;
          of = "0";
        }
        this.setFlags(`${this.use("lazyResultWith")}(cpu, ${t}, 32, ${cf}, ${of});`);
        this.setReg(i.rm, t);
        this.flags = { kind: "result", a: t, b: t, r: t, bits: 32 };
        return false;
      }
    }
    if (fn === A.imulRRm32) {
      // IMUL r32, r/m32 [, imm] (ops-alu.ts imulRRm32): CF = OF = the signed product does not
      // fit in 32 bits (the double product is exact whenever it does); SZP from the low half.
      let a: string;
      if (reg) a = this.reg(i.rm);
      else {
        fault();
        this.line(`const a${k} = ${this.load(4, i.seg, this.ea(i))};`);
        a = `a${k}`;
      }
      const b = i.sub !== 0 ? String(i.imm | 0) : this.reg(i.reg);
      this.line(`const ${t} = Math.imul(${a}, ${b}), o${k} = ${a} * ${b} !== ${t} ? 1 : 0;`);
      this.setFlags(`${this.use("lazyResultWith")}(cpu, ${t}, 32, o${k}, o${k});`);
      this.setReg(i.reg, t);
      this.flags = { kind: "result", a: t, b: t, r: t, bits: 32 };
      if (!reg) this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === A.shiftRm16 && reg && (i.sub === 4 || i.sub === 5 || i.sub === 7)) {
      // SHL/SHR/SAR r16, imm8 | 1 with a count of 1-15 (ops-alu.ts shift, bits = 16).
      const c = i.sub2 === 0 ? i.imm & 31 : i.sub2 === 1 ? 1 : 0;
      if (c !== 0 && c < 16) {
        const v = `v${k}`;
        this.line(`const ${v} = ${this.reg(i.rm)} & 65535;`);
        let cf: string;
        let of: string;
        if (i.sub === 5) {
          this.line(`const ${t} = ${v} >>> ${c};`);
          cf = `(${v} >>> ${c - 1}) & 1`;
          of = `${v} >>> 15`;
        } else if (i.sub === 4) {
          this.line(`const ${t} = (${v} << ${c}) & 65535;`);
          cf = `(${v} >>> ${16 - c}) & 1`;
          of = `((${t} >>> 15) ^ ${cf}) & 1`;
        } else {
          this.line(`const ${t} = (((${v} << 16) >> 16) >> ${c}) & 65535;`);
          cf = `(((${v} << 16) >> 16) >> ${c - 1}) & 1`;
          of = "0";
        }
        this.setFlags(`${this.use("lazyResultWith")}(cpu, ${t}, 16, ${cf}, ${of});`);
        this.setReg(i.rm, `(r${i.rm} & -65536) | ${t}`);
        this.flags = undefined;
        return false;
      }
    }
    if (fn === A.aluRmR8 && reg) {
      this.line(`const a${k} = ${this.reg8(i.rm)}, b${k} = ${this.reg8(i.reg)};`);
      const r = this.alu8(i.sub, k, `a${k}`, `b${k}`);
      if (i.sub !== 7) this.setReg8(i.rm, r);
      return false;
    }
    if (fn === A.testRmR8 && reg) {
      this.line(`const ${t} = ${this.reg8(i.rm)} & ${this.reg8(i.reg)};`);
      this.lazyLogic(t, 8);
      this.flags = { kind: "logic", a: t, b: t, r: t, bits: 8 };
      return false;
    }
    if (
      fn === A.shiftRm32 &&
      reg &&
      i.sub2 === 2 &&
      (i.sub === 4 || i.sub === 5 || i.sub === 6 || i.sub === 7)
    ) {
      // Count from CL, masked to 5 bits; a count of 0 changes nothing (ops-alu.ts shift).
      const c = `c${k}`;
      const v = `v${k}`;
      this.line(`const ${c} = ${this.reg(1)} & 31;`);
      // A count of 0 leaves the flags alone: the earlier record must be in place first.
      this.flushNow();
      this.line(`if (${c} !== 0) {`);
      this.line(`const ${v} = ${this.reg(i.rm)};`);
      let cf: string;
      let of: string;
      if (i.sub === 5) {
        this.line(`const ${t} = (${v} >>> ${c}) | 0;`);
        cf = `(${v} >>> (${c} - 1)) & 1`;
        of = `${v} >>> 31`;
      } else if (i.sub === 7) {
        this.line(`const ${t} = ${v} >> ${c};`);
        cf = `(${v} >> (${c} - 1)) & 1`;
        of = "0";
      } else {
        this.line(`const ${t} = ${v} << ${c};`);
        cf = `(${v} >>> (32 - ${c})) & 1`;
        of = `((${t} >>> 31) ^ ${cf}) & 1`;
      }
      this.line(`${this.use("lazyResultWith")}(cpu, ${t}, 32, ${cf}, ${of});`);
      this.setReg(i.rm, t);
      this.line("}");
      this.flags = undefined;
      return false;
    }
    if (
      fn === A.aluAccImm8 ||
      (fn === A.aluRmImm8 && reg) ||
      (fn === A.aluRRm8 && reg) ||
      (fn === A.cmpRmR8 && reg)
    ) {
      // 8-bit ALU on registers (ops-alu.ts alu8): a CMP leaves the destination alone.
      const dst = fn === A.aluAccImm8 ? 0 : fn === A.aluRRm8 ? i.reg : i.rm;
      const b =
        fn === A.aluAccImm8 || fn === A.aluRmImm8
          ? String(i.imm & 255)
          : this.reg8(fn === A.aluRRm8 ? i.rm : i.reg);
      this.line(`const a${k} = ${this.reg8(dst)}, b${k} = ${b};`);
      const op = fn === A.cmpRmR8 ? 7 : i.sub;
      const r = this.alu8(op, k, `a${k}`, `b${k}`);
      if (op !== 7) this.setReg8(dst, r);
      return false;
    }
    if (fn === A.testAccImm8 || fn === A.testRmImm8) {
      let a: string;
      if (fn === A.testAccImm8) a = this.reg8(0);
      else if (reg) a = this.reg8(i.rm);
      else {
        fault();
        this.line(`const a${k} = ${this.load(1, i.seg, this.ea(i))};`);
        a = `a${k}`;
      }
      this.line(`const ${t} = ${a} & ${i.imm & 255};`);
      this.lazyLogic(t, 8);
      this.flags = { kind: "logic", a: t, b: t, r: t, bits: 8 };
      if (fn === A.testRmImm8 && !reg) this.breakCheck(k, next, last, true);
      return false;
    }
    if ((fn === A.aluRmImm32 || fn === A.aluRmR32) && !reg) {
      // Read-modify-write (mem.ts rmwRead32/rmwWrite32: the destination is checked for writing
      // before it is read); CMP only reads.
      fault();
      const b = fn === A.aluRmImm32 ? String(i.imm | 0) : `b${k}`;
      if (fn === A.aluRmR32) this.line(`const b${k} = ${this.reg(i.reg)};`);
      if (i.sub === 7) {
        this.line(`const a${k} = ${this.load(4, i.seg, this.ea(i))};`);
        this.alu32(7, k, `a${k}`, b);
      } else {
        this.line(`let p${k} = 0; const a${k} = ${this.rmwRead(k, i.seg, this.ea(i))};`);
        const r = this.alu32(i.sub, k, `a${k}`, b);
        this.line(this.rmwWrite(k, r));
      }
      this.breakCheck(k, next, last, true);
      return false;
    }
    if ((fn === A.incRm32 || fn === A.decRm32) && !reg) {
      fault();
      const dec = fn === A.decRm32;
      const cf = this.cf();
      this.line(
        `let p${k} = 0; const a${k} = ${this.rmwRead(k, i.seg, this.ea(i))}, ${t} = (a${k} ${dec ? "-" : "+"} 1) | 0;`,
      );
      // CF stays as it was: concrete from the earlier record, or already in cpu.eflags.
      const keep = cf === "(cpu.eflags & 1)" ? "" : `cpu.eflags = (cpu.eflags & -2) | ${cf}; `;
      this.setFlags(
        `${keep}cpu.lfA = a${k}; cpu.lfB = 1; cpu.lfRes = ${t}; cpu.lfBits = 32; cpu.lfOp = ${dec ? OP_SUB : OP_ADD}; cpu.lazyMask = ${ARITH & ~1};`,
      );
      this.line(this.rmwWrite(k, t));
      this.flags = { kind: "incdec", a: `a${k}`, b: "1", r: t, bits: 32 };
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.movAxMoffs32 || fn === D.movMoffsAx32) {
      fault();
      if (fn === D.movAxMoffs32) this.setReg(0, `${this.load(4, i.seg, `${i.disp | 0}`)}`);
      else this.line(this.store(4, i.seg, `${i.disp | 0}`, `${this.reg(0)}`));
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === A.cmov32) {
      let v: string;
      if (reg) v = this.reg(i.rm);
      else {
        fault();
        this.line(`const v${k} = ${this.load(4, i.seg, this.ea(i))};`);
        v = `v${k}`;
      }
      this.line(`if (${this.condition(i.sub)}) { r${i.reg} = ${v}; R[${i.reg}] = r${i.reg}; }`);
      this.reg(i.reg);
      if (!reg) this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === A.setcc && reg) {
      this.line(`const ${t} = ${this.condition(i.sub)} ? 1 : 0;`);
      this.setReg8(i.rm, t);
      return false;
    }
    if (fn === D.movRmImm8 && !reg) {
      fault();
      this.line(this.store(1, i.seg, this.ea(i), `${i.imm & 255}`));
      this.breakCheck(k, next, last, true);
      return false;
    }
    if ((fn === D.movRmR16 || fn === D.movRRm16) && !reg) {
      fault();
      if (fn === D.movRmR16) this.line(this.store(2, i.seg, this.ea(i), `${this.reg(i.reg)} & 65535`));
      else this.setReg(i.reg, `(r${i.reg} & -65536) | ${this.load(2, i.seg, this.ea(i))}`);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.pushRm32 && !reg) {
      fault();
      this.line(`const ${t} = ${this.load(4, i.seg, this.ea(i))};`);
      this.push32(t, k);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.leave && i.o32 !== 0) {
      fault();
      this.reg(5);
      this.reg(4);
      this.line(
        `if ((cpu.segAccess[${SS}] & 16384) !== 0) { const ${t} = ${this.load(4, SS, "r5")}; r4 = (r5 + 4) | 0; R[4] = r4; r5 = ${t}; R[5] = ${t}; }`,
      );
      const [h, r] = this.bind(i);
      this.line(`else { ${this.flushStmt()}${h}(cpu, ${r}); r4 = R[4]; r5 = R[5]; }`);
      this.breakCheck(k, next, last, true);
      return false;
    }
    if (fn === D.xchg32 && reg) {
      this.line(`const ${t} = ${this.reg(i.rm)};`);
      this.setReg(i.rm, this.reg(i.reg));
      this.setReg(i.reg, t);
      return false;
    }
    if (fn === D.nop) return false;
    // ---- control transfer (always the last instruction of a block) ----
    if (last && (fn === C.jcc || fn === C.jmpRel)) {
      const target = i.o32 !== 0 ? (next + i.imm) >>> 0 : (next + i.imm) & 0xffff;
      const taken = (): void => {
        fault();
        this.limitCheck(hex(target));
        this.line(this.endBlock(k, hex(target)));
      };
      if (fn === C.jcc) {
        const cond = this.condition(i.sub);
        if (cond === "false") {
          this.line(this.endBlock(k, hex(next)));
          return true;
        }
        this.line(`if (${cond}) {`);
        taken();
        this.line("}");
        this.line(this.endBlock(k, hex(next)));
      } else taken();
      return true;
    }
    if (last && (fn === C.jmpRm32 || fn === C.callRm32)) {
      fault();
      const v = reg ? this.reg(i.rm) : `${this.load(4, i.seg, this.ea(i))}`;
      this.line(`const ${t} = ${v} >>> 0;`);
      this.limitCheck(t);
      if (fn === C.callRm32) this.push32(hex(next), k);
      this.line(this.endBlock(k, t));
      return true;
    }
    if (last && fn === C.callRel32) {
      const target = (next + i.imm) >>> 0;
      fault();
      this.limitCheck(hex(target));
      this.push32(hex(next), k);
      this.line(this.endBlock(k, hex(target)));
      return true;
    }
    if (last && fn === C.retNear32) {
      fault();
      this.reg(4);
      const lim = "(cpu.segLimit[1] >>> 0)";
      const raise = this.use("raise");
      this.line(
        `let ${t}; if ((cpu.segAccess[${SS}] & 16384) !== 0) { ${t} = ${this.load(4, SS, "r4")} >>> 0; if (${t} > ${lim}) { ${this.flushStmt()}${raise}(cpu, ${GP}, 0); } r4 = (r4 + ${4 + i.imm}) | 0; R[4] = r4; }`,
      );
      this.line(
        `else { ${this.flushStmt()}${t} = ${this.use("stackRead32")}(cpu, 0) >>> 0; if (${t} > ${lim}) ${raise}(cpu, ${GP}, 0); ${this.use("adjustSp")}(cpu, ${4 + i.imm}); r4 = R[4]; }`,
      );
      this.line(this.endBlock(k, t));
      return true;
    }
    // ---- everything else: the interpreter's handler ----
    this.inline[k] = 0;
    fault();
    this.call(i, k, next, last, -1);
    return last;
  }

  /** Emit one block's instructions; returns the eips of its instructions. */
  private body(b: BlockInput): void {
    this.b = b;
    this.flags = undefined;
    this.pending = undefined;
    this.inline = new Uint8Array(b.insns.length);
    this.callouts = new Int16Array(b.insns.length).fill(-1);
    const insns = b.insns;
    const n = insns.length;
    let eip = b.eip >>> 0;
    const eips: number[] = [];
    for (const i of insns) {
      eips.push(eip);
      eip = (eip + i.len) >>> 0;
    }
    const end = eip;
    let ended = false;
    for (let k = 0; k < n; k++) {
      if (b.counted && k > 0) {
        this.line(
          `if (limit === ${k}) { ${this.flushStmt()}cpu.eip = ${hex(eips[k]!)}; cpu.instructionsRetired += ${k}; return; }`,
        );
      }
      ended = this.insn(insns[k]!, k, eips[k]!, k + 1 < n ? eips[k + 1]! : end, k === n - 1);
    }
    // Fall-through end (block size limit, page end, an instruction that ends the block).
    if (!ended) this.line(this.endBlock(n - 1, hex(end)));
    this.pending = undefined;
  }

  /** The factory source around the emitted lines. */
  private finish(name: string, params: string, body: string[], loop: boolean): string {
    const regs = [...this.regsUsed].sort((x, y) => x - y);
    const regReload = regs.length > 0 ? regs.map((r) => `r${r} = R[${r}];`).join(" ") : "";
    let reload = regReload;
    if (this.fm) {
      this.use("flatMask");
      reload += `${reload === "" ? "" : " "}FM = flatMask(cpu); PG = cpu.cr0 < 0 ? 1 : 0; PV = cpu.cpl === 3 ? 2 : 1;`;
    }
    if (this.out.some((l) => l.includes("\u0001condition\u0001"))) this.rt.add("condition");
    const lines = body
      .map((l) =>
        l
          .replace("\u0000RELOADREGS\u0000", regReload)
          .replace("\u0000RELOAD\u0000", reload)
          .replaceAll("\u0001condition\u0001", "condition"),
      )
      .filter((l) => l.trim() !== "");
    const head: string[] = ['"use strict";'];
    const rt = [...this.rt].sort();
    if (rt.length > 0) head.push(`const { ${rt.join(", ")} } = RT;`);
    if (this.out.some((l) => l.startsWith("CO["))) head.push("const CO = RT.calloutCounts;");
    for (let h = 0; h < this.handlers.length; h++) head.push(`const H${h} = H[${h}], I${h} = I[${h}];`);
    head.push(`return function ${name}(${params}) {`);
    head.push("  const R = cpu.regs;");
    if (regs.length > 0) head.push(`  let ${regs.map((r) => `r${r} = R[${r}]`).join(", ")};`);
    if (this.fm)
      head.push(
        "  let FM = flatMask(cpu), PG = cpu.cr0 < 0 ? 1 : 0, PV = cpu.cpl === 3 ? 2 : 1, xa = 0, xe = 0, xp = 0;",
      );
    if (loop) head.push("  const epoch = cpu.tlbEpoch;");
    return `${[...head, ...lines, "};"].join("\n")}\n`;
  }

  /** A straight-line translation of one block (the counted variant for budget tails). */
  generate(): string {
    this.body(this.b);
    const name = `block_${hex(this.b.eip).slice(2)}`;
    return this.finish(
      name,
      this.b.counted ? "cpu, limit" : "cpu, left",
      this.out.map((l) => `  ${l}`),
      false,
    );
  }

  /**
   * A region: several blocks of one page in one function, entered at any of them (cpu.eip)
   * and going from block to block through a switch on the next block's EIP while the budget
   * lasts and nothing asked to stop. Each block keeps its exact extent and retires its own
   * instruction count at its end, as the interpreter's blocks do.
   */
  generateRegion(members: readonly BlockInput[]): {
    source: string;
    inline: Uint8Array[];
    callouts: Int16Array[];
  } {
    this.region = true;
    const inline: Uint8Array[] = [];
    const callouts: Int16Array[] = [];
    const body: string[] = [];
    for (const m of members) {
      const start = this.out.length;
      this.body(m);
      inline.push(this.inline);
      callouts.push(this.callouts);
      const n = m.insns.length;
      const lines = this.out.slice(start);
      const handler = lines.some((l) => l.startsWith("H") || l.includes("cpu.insnEsp"));
      body.push(`      case ${hex(m.eip)}: {`);
      body.push(`        if (left < ${n}) { cpu.eip = pc; return; }`);
      if (handler) body.push(`        cpu.iRepBudget = left - ${n - 1};`);
      for (const l of lines) body.push(`        ${l}`);
      body.push("      }");
    }
    const loop = [
      "  let pc = cpu.eip;",
      "  try {",
      "    for (;;) {",
      "      switch (pc) {",
      ...body,
      "      default:",
      "        cpu.eip = pc; return;",
      "      }",
      "      if (cpu.iBreak || cpu.tlbEpoch !== epoch) { cpu.eip = pc; return; }",
      "    }",
      "  } catch (e) {",
      "    B.faultPc = pc;",
      "    throw e;",
      "  }",
    ];
    const name = `region_${hex(members[0]!.eip).slice(2)}`;
    return { source: this.finish(name, "cpu, left", loop, true), inline, callouts };
  }
}

/** Generate the source of one block's translation. */
export function generateBlock(input: BlockInput): BlockCode {
  const e = new Emitter(input);
  const source = e.generate();
  return { source, handlers: e.handlers, records: e.records, inline: e.inline, callouts: e.callouts };
}

export interface RegionCode {
  readonly source: string;
  readonly handlers: Handler[];
  readonly records: Insn[];
  /** Per member, per instruction: 1 when inline (see BlockCode.inline). */
  readonly inline: Uint8Array[];
}

/** Generate the source of a region's translation (members[0] is the block that became hot). */
export function generateRegion(members: readonly BlockInput[]): RegionCode {
  const e = new Emitter(members[0]!);
  const r = e.generateRegion(members);
  return { source: r.source, handlers: e.handlers, records: e.records, inline: r.inline };
}
