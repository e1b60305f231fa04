/**
 * Generates user-mode test cases from the instruction table (INSTRUCTION_FORMS + X87_FORMS):
 * every form with oracle "user" (and the "control" forms we know how to confine to the
 * snippet), each operand size, register and memory ModRM variants, random operands from a
 * seeded PRNG mixed with edge values.
 *
 * Memory operands always address the data buffer through a base register (or an absolute
 * disp32) so that both sides touch the same bytes and the host never faults on an unmapped
 * page. 16-bit addressing (67 prefix) is not generated here: offsets below 64 KiB cannot
 * be mapped in a Linux process (mmap_min_addr); the QEMU programs cover it.
 */

import type { InstructionForm } from "../../cpu/isa.js";
import { CODE_ADDR, DATA_ADDR, deriveSeed, INITIAL_ESP, Prng, STACK_ADDR } from "../layout.js";
import { buildX87Image, doubleToExt80 } from "../x87-format.js";
import type { Patch, UserCase } from "./case.js";

/** EFLAGS bits compared: the six arithmetic flags and DF (SDM Vol. 1 3.4.3). */
export const COMPARED_FLAGS = 0x0cd5;
/** Host CPL-3 EFLAGS: IF=1, bit 1 set, IOPL 0 (the kernel forces IF on; POPF cannot clear it). */
const BASE_EFLAGS = 0x0202;
/** x87 control word for all cases: all exceptions masked, round to nearest, PC = double (10b). */
export const X87_FCW = 0x027f;

/** Identifies a table form (also in reports and in the exclusion list). */
export function formKey(f: InstructionForm): string {
  const op = f.opcode.map((b) => b.toString(16).padStart(2, "0")).join(" ");
  const digit = f.digit !== undefined ? ` /${f.digit}` : "";
  const base = f.modrmBase !== undefined ? ` ${f.modrmBase.toString(16)}` : "";
  const mod = f.modrm === "mem" ? " m" : f.modrm === "reg" ? " r" : "";
  return `${f.mnemonic} ${op}${digit}${base}${mod}`;
}

/** Forms of oracle "user"/"control" that are not generated, with the reason. */
export interface Exclusion {
  readonly match: (f: InstructionForm) => boolean;
  readonly reason: string;
}

const mn = (...names: string[]) => {
  const set = new Set(names);
  return (f: InstructionForm) => set.has(f.mnemonic);
};
const opc =
  (...bytes: number[]) =>
  (f: InstructionForm) =>
    f.opcode.length === bytes.length && f.opcode.every((b, i) => b === bytes[i]);

export const EXCLUSIONS: readonly Exclusion[] = [
  { match: mn("cpuid"), reason: "host CPUID differs from vmlab's virtual CPUID by design" },
  { match: mn("rdtsc", "rdpmc", "rdtscp"), reason: "time-dependent result" },
  {
    match: (f) => opc(0xcd)(f) || mn("int")(f),
    reason: "INT n on Linux: INT 0x80 is a system call (unsafe); gates are host-specific",
  },
  { match: mn("syscall", "sysenter", "sysexit", "sysret"), reason: "enters the host kernel" },
  {
    match: mn(
      "hlt",
      "cli",
      "sti",
      "in",
      "out",
      "ins",
      "outs",
      "insb",
      "insw",
      "insd",
      "outsb",
      "outsw",
      "outsd",
    ),
    reason: "privileged / I/O: covered by the QEMU oracle",
  },
  {
    match: mn("sgdt", "sidt", "sldt", "str", "smsw", "lar", "lsl", "verr", "verw", "arpl"),
    reason: "result depends on the host's descriptor tables (or UMIP)",
  },
  { match: mn("lds", "les", "lfs", "lgs", "lss"), reason: "segment loads: covered by the QEMU oracle" },
  {
    match: (f) => f.mnemonic === "pop" && f.modrm === "none" && isSegPushPop(f),
    reason: "segment register pop is a segment load: covered by the QEMU oracle",
  },
  {
    match: (f) => f.mnemonic === "mov" && opc(0x8e)(f),
    reason: "MOV Sreg: segment load, covered by the QEMU oracle",
  },
  {
    match: mn("jmpf", "callf", "retf", "iret", "iretd", "ljmp", "lcall", "lret"),
    reason: "far transfer loads CS: covered by the QEMU oracle",
  },
  {
    match: (f) =>
      (opc(0xff)(f) && (f.digit === 3 || f.digit === 5)) ||
      opc(0xea)(f) ||
      opc(0x9a)(f) ||
      opc(0xca)(f) ||
      opc(0xcb)(f) ||
      opc(0xcf)(f),
    reason: "far transfer loads CS: covered by the QEMU oracle",
  },
  { match: mn("fisttp"), reason: "SSE3 instruction (not on the modelled Pentium III)" },
];

/** MOV AL/eAX <-> moffs (A0-A3): the immediate is the address (SDM Vol. 2B MOV). */
function isMoffs(f: InstructionForm): boolean {
  return f.opcode.length === 1 && f.opcode[0]! >= 0xa0 && f.opcode[0]! <= 0xa3;
}

function isSegPushPop(f: InstructionForm): boolean {
  const o = f.opcode;
  if (o.length === 1) return [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f].includes(o[0]!);
  return o.length === 2 && o[0] === 0x0f && [0xa0, 0xa1, 0xa8, 0xa9].includes(o[1]!);
}

export function exclusionReason(f: InstructionForm): string | undefined {
  for (const e of EXCLUSIONS) if (e.match(f)) return e.reason;
  if (f.oracle === "system") return "oracle system";
  if (f.oracle === "control" && controlKind(f) === undefined)
    return "control transfer with no in-snippet generator";
  return undefined;
}

// ---- operand values -----------------------------------------------------------------------

const EDGE32 = [
  0, 1, 2, 0xffffffff, 0xfffffffe, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
  0x80000001, 0x0000ff00, 0x12345678,
];
const SHIFT_COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 0xff];

/**
 * A shift count. SHLD/SHRD with a 16-bit operand and a (masked) count above 16 leave the
 * result and all flags undefined (SDM Vol. 2B SHLD: "If the count is greater than the
 * operand size, the result is undefined"): such counts are not generated.
 */
function shiftCount(rng: Prng, m: string, size: number): number {
  for (;;) {
    const c = rng.pick(SHIFT_COUNTS);
    if ((m === "shld" || m === "shrd") && size === 16 && (c & 31) > 16) continue;
    return c;
  }
}

function value(rng: Prng, size: 8 | 16 | 32): number {
  const mask = size === 32 ? 0xffffffff : size === 16 ? 0xffff : 0xff;
  const v = rng.chance(0.35) ? rng.pick(EDGE32) : rng.u32();
  return (v & mask) >>> 0;
}

function fill32(rng: Prng): number {
  return rng.chance(0.35) ? rng.pick(EDGE32) : rng.u32();
}

function le(v: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (v >>> (8 * i)) & 0xff;
  return b;
}

// ---- mnemonic classes ---------------------------------------------------------------------

const SHIFTS = new Set(["rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar", "shld", "shrd"]);
const STRINGS = /^(movs[bwd]?|cmps[bwd]?|stos[bwd]?|lods[bwd]?|scas[bwd]?)$/;
const STACK_USERS = new Set([
  "push",
  "pop",
  "pushf",
  "pushfd",
  "pushfw",
  "popf",
  "popfd",
  "popfw",
  "pusha",
  "pushad",
  "popa",
  "popad",
  "enter",
  "leave",
]);
const BIT_OPS = new Set(["bt", "bts", "btr", "btc"]);

/** x87 memory operand types by opcode (D8..DF) and ModRM.reg (SDM Vol. 2A Table A-7..A-22). */
type X87Mem = "f32" | "f64" | "f80" | "i16" | "i32" | "i64" | "bcd" | "cw" | "sw" | "env" | "save" | "none";
function x87MemType(op: number, digit: number): X87Mem {
  switch (op) {
    case 0xd8:
      return "f32";
    case 0xd9:
      return (["f32", "none", "f32", "f32", "env", "cw", "env", "cw"] as const)[digit]!;
    case 0xda:
      return "i32";
    case 0xdb:
      return (["i32", "i32", "i32", "i32", "none", "f80", "none", "f80"] as const)[digit]!;
    case 0xdc:
      return "f64";
    case 0xdd:
      return (["f64", "i64", "f64", "f64", "save", "none", "save", "sw"] as const)[digit]!;
    case 0xde:
      return "i16";
    default:
      return (["i16", "i16", "i16", "i16", "bcd", "i64", "bcd", "i64"] as const)[digit]!;
  }
}

const X87_EDGE = [
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  3,
  -2.5,
  10,
  100,
  1e10,
  -1e-10,
  Math.PI,
  Math.E,
  0.1,
  1 / 3,
  65535,
  2 ** 31,
  -(2 ** 31),
  2 ** 63,
  1e300,
  -1e-300,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];

function x87Value(rng: Prng, special: boolean): number {
  if (rng.chance(0.4)) {
    const v = rng.pick(X87_EDGE);
    if (!special && (!Number.isFinite(v) || Math.abs(v) > 1e200 || (v !== 0 && Math.abs(v) < 1e-200)))
      return 1.25;
    return v;
  }
  // A random double with a moderate exponent: mantissa bits from the PRNG.
  const mant = 1 + rng.u32() / 2 ** 32 + rng.u32() / 2 ** 52;
  const exp = rng.below(64) - 32;
  const sign = rng.chance(0.5) ? -1 : 1;
  return sign * mant * 2 ** exp;
}

/** Mnemonics whose result is computed by an approximation: compared with a tolerance. */
const X87_TRANSCENDENTAL = new Set([
  "fsin",
  "fcos",
  "fsincos",
  "fptan",
  "fpatan",
  "f2xm1",
  "fyl2x",
  "fyl2xp1",
]);
/** Mnemonics that define C0/C2/C3 (compares, FXAM, FPREM...): SDM Vol. 2A per instruction. */
const X87_DEFINES_CC =
  /^(fcom|fcomp|fcompp|fucom|fucomp|fucompp|ficom|ficomp|ftst|fxam|fprem|fprem1|fnstsw|fstsw|fnstenv|fstenv|fnsave|fsave|fldenv|frstor|fnclex|fclex|fninit|finit|fldcw|fnstcw|fstcw|fincstp|fdecstp|ffree|fnop|fwait|wait|fxch)$/;
const X87_TRIG_C2 = new Set(["fsin", "fcos", "fsincos", "fptan"]);

function fswMaskFor(mnemonic: string): number {
  // Always: TOP (bits 11-13), IE (0), ZE (2), SF (6). Masked: DE, OE, UE, PE (vmlab need not
  // track inexactness, Vol. 1 8.4), ES/B (summaries of those), C1 (round-up indicator).
  let mask = 0x3800 | 0x0001 | 0x0004 | 0x0040;
  if (X87_DEFINES_CC.test(mnemonic)) mask |= 0x4500;
  if (mnemonic === "fxam" || mnemonic === "fprem" || mnemonic === "fprem1") mask |= 0x0200;
  if (X87_TRIG_C2.has(mnemonic)) mask |= 0x0400;
  if (/^(fnstsw|fstsw|fnstenv|fstenv|fnsave|fsave|fldenv|frstor|fnclex|fclex|fninit|finit)$/.test(mnemonic))
    mask = 0xffff & ~0x0000;
  return mask;
}

// ---- control forms --------------------------------------------------------------------------

type ControlKind = "rel" | "ret" | "retimm" | "indirect" | "trap";
function controlKind(f: InstructionForm): ControlKind | undefined {
  const o = f.opcode;
  const first = o[0]!;
  if (f.modrm === "none") {
    if (o.length === 1 && first === 0xc3) return "ret";
    if (o.length === 1 && first === 0xc2) return "retimm";
    if (o.length === 1 && (first === 0xcc || first === 0xce)) return "trap";
    if (
      o.length === 1 &&
      ((first >= 0x70 && first <= 0x7f) ||
        first === 0xeb ||
        first === 0xe9 ||
        first === 0xe8 ||
        (first >= 0xe0 && first <= 0xe3))
    )
      return "rel";
    if (o.length === 2 && first === 0x0f && o[1]! >= 0x80 && o[1]! <= 0x8f) return "rel";
    return undefined;
  }
  if (first === 0xff && (f.digit === 2 || f.digit === 4)) return "indirect";
  return undefined;
}

// ---- the generator ---------------------------------------------------------------------------

export interface GenerateOptions {
  readonly seed: number;
  /** Cases per (form, operand size, ModRM kind). */
  readonly count: number;
  readonly filter?: string;
}

export interface GeneratedSet {
  readonly cases: UserCase[];
  /** formKey -> reason, for user/control forms that got no case. */
  readonly excluded: Map<string, string>;
  /** formKey -> number of cases. */
  readonly perForm: Map<string, number>;
}

interface Builder {
  rng: Prng;
  regs: number[];
  eflags: number;
  patches: Patch[];
  memIgnore: { offset: number; length: number }[];
  /** Registers that must not be overwritten by random operand values (base/index/pinned). */
  pinned: Set<number>;
}

const dataOff = (addr: number) => addr - DATA_ADDR;

export function generateUserCases(forms: readonly InstructionForm[], opts: GenerateOptions): GeneratedSet {
  const cases: UserCase[] = [];
  const excluded = new Map<string, string>();
  const perForm = new Map<string, number>();
  let nextId = 1;
  for (const form of forms) {
    const key = formKey(form);
    if (opts.filter !== undefined && form.mnemonic !== opts.filter.toLowerCase()) continue;
    const reason = exclusionReason(form);
    if (reason !== undefined) {
      if (form.oracle !== "system") excluded.set(key, reason);
      continue;
    }
    const rng = new Prng(deriveSeed(opts.seed, key));
    let made = 0;
    const sizes = form.operandSizes.length > 0 ? form.operandSizes : [32 as const];
    for (const size of sizes) {
      const kinds: ("reg" | "mem" | "none")[] =
        form.modrm === "none"
          ? ["none"]
          : form.modrm === "reg"
            ? ["reg"]
            : form.modrm === "mem"
              ? ["mem"]
              : ["reg", "mem"];
      for (const kind of kinds) {
        for (let n = 0; n < opts.count; n++) {
          const c = makeCase(form, key, size, kind, rng, nextId);
          if (c === undefined) continue;
          cases.push(c);
          nextId++;
          made++;
        }
      }
    }
    if (made === 0)
      excluded.set(key, "generator produced no encodable case (operand size / form combination)");
    perForm.set(key, made);
  }
  return { cases, excluded, perForm };
}

function isX87(f: InstructionForm): boolean {
  const o = f.opcode[0]!;
  return f.opcode.length === 1 && o >= 0xd8 && o <= 0xdf;
}

function makeCase(
  form: InstructionForm,
  key: string,
  size: 8 | 16 | 32,
  kind: "reg" | "mem" | "none",
  rng: Prng,
  id: number,
): UserCase | undefined {
  const b: Builder = {
    rng,
    regs: [
      fill32(rng),
      fill32(rng),
      fill32(rng),
      fill32(rng),
      INITIAL_ESP,
      fill32(rng),
      fill32(rng),
      fill32(rng),
    ],
    eflags: BASE_EFLAGS | (rng.u32() & 0x08d5) | (rng.chance(0.2) ? 0x400 : 0),
    patches: [],
    memIgnore: [],
    pinned: new Set([4]),
  };
  const m = form.mnemonic;
  const bytes: number[] = [];
  // 66 selects 16-bit operands when the form also has a 32-bit size; forms listed only at
  // 16 bits (RET imm16, FNSTSW, ...) are inherently 16-bit and take no prefix.
  if (size === 16 && form.operandSizes.includes(32)) bytes.push(0x66);
  let variant = `${size}`;
  let fpu: Uint8Array | undefined;
  let fswMask = 0;
  let floatTolerance = 0;

  // String instructions: REP / REPNE variants, ESI/EDI inside the buffer, small ECX.
  if (STRINGS.test(m)) {
    const rep = rng.pick([0, 0xf3, 0xf2]);
    if (rep !== 0) bytes.unshift(rep);
    variant += rep === 0xf3 ? " rep" : rep === 0xf2 ? " repne" : "";
    b.regs[6] = DATA_ADDR + 0x300 + rng.below(0x400);
    b.regs[7] = DATA_ADDR + 0x900 + rng.below(0x400);
    b.regs[1] = rep !== 0 ? rng.pick([0, 1, 2, 3, 5, 8, 16]) : fill32(rng);
    b.regs[0] = value(rng, 32);
    // Make REPE/REPNE stop sometimes: copy some source bytes to the destination.
    if (rng.chance(0.5)) {
      const src = new Uint8Array(24);
      for (let i = 0; i < src.length; i++) src[i] = rng.chance(0.7) ? 0x41 : rng.below(256);
      const start = (b.eflags & 0x400) !== 0 ? 20 : 0;
      b.patches.push({ offset: dataOff(b.regs[6]!) - start, bytes: src });
      b.patches.push({ offset: dataOff(b.regs[7]!) - start, bytes: src.slice() });
      if (rng.chance(0.5)) b.regs[0] = 0x41414141;
    }
  }
  if (STACK_USERS.has(m)) {
    b.regs[5] = STACK_ADDR + 0xa00 + rng.below(0x100) * 4; // EBP for ENTER/LEAVE frames
    b.pinned.add(5);
    if (/^popf/.test(m)) {
      // Sanitize the popped EFLAGS: no TF (would trap), no AC (alignment checks on Linux).
      const v = (rng.u32() & ~(0x100 | 0x40000 | 0x10000 | 0x20000)) >>> 0;
      b.patches.push({ offset: INITIAL_ESP - DATA_ADDR, bytes: le(v, 4) });
    }
  }
  if (m === "xlat" || m === "xlatb") {
    b.regs[3] = DATA_ADDR + rng.below(0xe00);
    b.pinned.add(3);
  }
  if (m === "div" || m === "idiv") shapeDivision(b, size, m === "idiv");

  // Control forms: confine the target to the snippet end.
  const ck = form.oracle === "control" ? controlKind(form) : undefined;
  if (form.oracle === "control" && ck === undefined) return undefined;
  if (ck !== undefined && size === 16 && ck !== "trap") return undefined; // 16-bit EIP truncation leaves the snippet
  if (ck !== undefined && bytes[0] === 0x66) bytes.shift();

  bytes.push(...form.opcode);

  // ModRM / SIB / displacement.
  let memAddr = -1;
  if (form.modrm !== "none") {
    const regField = form.digit ?? pickReg(b, size);
    if (isX87(form) && kind === "reg") {
      const base = form.modrmBase ?? 0xc0 | ((form.digit ?? 0) << 3);
      const exact = form.modrmBase !== undefined && isExactX87(form.opcode[0]!, form.modrmBase);
      bytes.push(exact ? base : (base & 0xf8) | rng.below(8));
      variant += " st";
    } else if (kind === "reg") {
      const rm = pickReg(b, size);
      bytes.push(0xc0 | (regField << 3) | rm);
      variant += " reg";
    } else {
      const enc = memoryOperand(b, regField, m);
      bytes.push(...enc.bytes);
      memAddr = enc.addr;
      variant += ` ${enc.name}`;
    }
  }

  // Immediates.
  const imm = form.immediate;
  const immSizes: number[] =
    typeof imm === "number" ? (imm === 0 ? [] : [imm]) : imm === "z" ? [size === 16 ? 2 : 4] : [...imm];
  for (const s of immSizes) {
    let v: number;
    if (SHIFTS.has(m)) v = shiftCount(rng, m, size);
    else if (m === "enter") v = s === 2 ? rng.below(16) * 4 : rng.pick([0, 0, 1, 2, 3]);
    else if (m === "ret") v = rng.below(16) * 2;
    else if (m === "aam" || m === "aad") v = rng.pick([0, 10, 10, 16, rng.below(256)]);
    else if (BIT_OPS.has(m)) v = rng.pick([0, 1, 7, 8, 15, 16, 31, 32, 33, rng.below(256)]);
    else if (isMoffs(form)) {
      memAddr = DATA_ADDR + 0x200 + rng.below(0xc00);
      v = memAddr;
    } else v = value(rng, s === 1 ? 8 : s === 2 ? 16 : 32);
    bytes.push(...le(v, s));
  }

  // Operand-specific shaping after the encoding is known.
  if (SHIFTS.has(m) && form.immediate === 0 && !(form.opcode[0] === 0xd0 || form.opcode[0] === 0xd1)) {
    b.regs[1] = (b.regs[1]! & ~0xff) | shiftCount(rng, m, size);
  }
  if (form.operandSizes.length > 0 && memAddr >= 0) {
    // Place an interesting value in the memory operand.
    const width = size === 8 ? 1 : size === 16 ? 2 : 4;
    if (!isX87(form) && !STRINGS.test(m))
      b.patches.push({ offset: dataOff(memAddr), bytes: le(value(rng, size), width) });
  }
  if (m === "push" && size === 32 && isSegPushPop(form)) {
    // SDM Vol. 2B PUSH: with a 32-bit operand size, a segment register push may write only
    // the low 16 bits (P6 and later) or zero-extend: the upper two bytes are unspecified.
    b.memIgnore.push({ offset: INITIAL_ESP - 2 - DATA_ADDR, length: 2 });
  }
  if (m === "cmpxchg8b" && memAddr >= 0 && rng.chance(0.5)) {
    b.patches.push({
      offset: dataOff(memAddr),
      bytes: new Uint8Array([...le(b.regs[0]!, 4), ...le(b.regs[2]!, 4)]),
    });
  }
  if (m === "cmpxchg" && rng.chance(0.5) && memAddr >= 0) {
    const width = size === 8 ? 1 : size === 16 ? 2 : 4;
    b.patches.push({ offset: dataOff(memAddr), bytes: le(b.regs[0]!, width) });
  }
  if (m === "bound" && memAddr >= 0) {
    const width = size === 16 ? 2 : 4;
    const lo = rng.below(100);
    const hi = lo + rng.below(100);
    b.patches.push({ offset: dataOff(memAddr), bytes: new Uint8Array([...le(lo, width), ...le(hi, width)]) });
  }

  // x87: an FRSTOR image with a few stack values; memory operands get typed values.
  if (isX87(form)) {
    const depth = rng.pick([0, 1, 2, 2, 3, 3, 4, 8]);
    const top = rng.below(8);
    const stack: number[] = [];
    const specials = rng.chance(0.15);
    for (let i = 0; i < depth; i++) stack.push(x87ArgValue(m, rng, specials, i));
    fpu = buildX87Image(X87_FCW, top, stack);
    fswMask = fswMaskFor(m);
    floatTolerance = X87_TRANSCENDENTAL.has(m) ? 1e-14 : 0;
    if (memAddr >= 0) {
      const t = x87MemType(form.opcode[0]!, form.digit ?? 0);
      const p = x87MemValue(t, rng, size === 16);
      if (p !== undefined)
        b.patches.push(...p.map((bytes, i) => ({ offset: dataOff(memAddr) + i * 16, bytes })));
      if (t === "env" || t === "save") {
        // Stored images: instruction/data pointer fields are implementation-specific (FIP of
        // the last non-control instruction, CS/DS or 0 on CPUs that deprecate them).
        if (size === 16) b.memIgnore.push({ offset: dataOff(memAddr) + 6, length: 8 });
        else b.memIgnore.push({ offset: dataOff(memAddr) + 12, length: 16 });
      }
    }
  }

  // Control forms: append the skipped instruction and aim the transfer at the snippet end.
  if (ck !== undefined) {
    const skip = [0x40]; // inc eax: visible in EAX and the flags when not skipped
    const end = CODE_ADDR + bytes.length + skip.length;
    if (ck === "rel") {
      const immLen = typeof imm === "number" ? imm : size === 16 ? 2 : 4;
      // Rewrite the displacement: target = end.
      bytes.splice(bytes.length - immLen, immLen, ...le(skip.length, immLen));
      if (form.opcode[0] === 0xe3 || (form.opcode[0]! >= 0xe0 && form.opcode[0]! <= 0xe2)) {
        b.regs[1] = rng.pick([0, 1, 2, 0x10000, 0xffffffff, fill32(rng)]);
      }
    } else if (ck === "ret" || ck === "retimm") {
      b.patches.push({ offset: INITIAL_ESP - DATA_ADDR, bytes: le(end, 4) });
    } else if (ck === "indirect") {
      if (memAddr >= 0) b.patches.push({ offset: dataOff(memAddr), bytes: le(end, 4) });
      else b.regs[bytes[bytes.length - 1]! & 7] = end;
    }
    bytes.push(...skip);
    variant += " ctl";
  }

  if (bytes.length > 64) return undefined;
  return {
    id,
    formKey: key,
    mnemonic: m,
    variant,
    code: Uint8Array.from(bytes),
    regs: b.regs.map((r) => r >>> 0),
    eflags: b.eflags,
    dataSeed: rng.u32(),
    patches: b.patches,
    ...(fpu !== undefined ? { fpu } : {}),
    flagMask: COMPARED_FLAGS & ~form.undefinedFlags,
    fswMask,
    floatTolerance,
    memIgnore: b.memIgnore,
  };
}

/** x87 register-form ModRM bytes that are a whole instruction, not a base + ST(i). */
function isExactX87(op: number, modrm: number): boolean {
  if (op === 0xd9) return modrm === 0xd0 || modrm >= 0xe0;
  if (op === 0xda) return modrm === 0xe9;
  if (op === 0xdb) return modrm >= 0xe0 && modrm <= 0xe7;
  if (op === 0xde) return modrm === 0xd9;
  if (op === 0xdf) return modrm === 0xe0;
  return false;
}

function x87ArgValue(m: string, rng: Prng, specials: boolean, i: number): number {
  if (X87_TRANSCENDENTAL.has(m) || m === "fsqrt" || m === "fscale" || m === "fprem" || m === "fprem1") {
    switch (m) {
      case "fsin":
      case "fcos":
      case "fsincos":
      case "fptan":
        return (rng.u32() / 2 ** 32 - 0.5) * 6;
      case "f2xm1":
        return rng.u32() / 2 ** 32 - 0.5;
      case "fyl2x":
        return i === 0 ? rng.u32() / 2 ** 28 + 1e-3 : (rng.u32() / 2 ** 32 - 0.5) * 8;
      case "fyl2xp1":
        return i === 0 ? (rng.u32() / 2 ** 32 - 0.5) * 0.5 : (rng.u32() / 2 ** 32 - 0.5) * 8;
      case "fpatan":
        return (rng.u32() / 2 ** 32 - 0.5) * 10;
      case "fscale":
        return i === 1 ? rng.below(64) - 32 + (rng.chance(0.3) ? 0.5 : 0) : x87Value(rng, false);
      default:
        return x87Value(rng, specials);
    }
  }
  return x87Value(rng, specials);
}

function x87MemValue(t: X87Mem, rng: Prng, layout16: boolean): Uint8Array[] | undefined {
  const dv = (n: number) => {
    const a = new Uint8Array(n);
    return { a, v: new DataView(a.buffer) };
  };
  switch (t) {
    case "f32": {
      const { a, v } = dv(4);
      v.setFloat32(0, x87Value(rng, rng.chance(0.1)), true);
      return [a];
    }
    case "f64": {
      const { a, v } = dv(8);
      v.setFloat64(0, x87Value(rng, rng.chance(0.1)), true);
      return [a];
    }
    case "f80":
      return [doubleToExt80(x87Value(rng, rng.chance(0.1)))];
    case "i16": {
      const { a, v } = dv(2);
      v.setInt16(
        0,
        rng.chance(0.3) ? rng.pick([0, 1, -1, 0x7fff, -0x8000]) : ((rng.u32() & 0xffff) << 16) >> 16,
        true,
      );
      return [a];
    }
    case "i32": {
      const { a, v } = dv(4);
      v.setInt32(0, rng.chance(0.3) ? rng.pick([0, 1, -1, 0x7fffffff, -0x80000000]) : rng.u32() | 0, true);
      return [a];
    }
    case "i64": {
      const { a, v } = dv(8);
      // Up to 53 bits so that the value is exact in a double; edge values too.
      const hi = rng.chance(0.3)
        ? rng.pick([0, -1, 0x1fffff, -0x200000])
        : (rng.u32() & 0x1fffff) - (rng.chance(0.5) ? 0x200000 : 0);
      v.setInt32(0, rng.u32() | 0, true);
      v.setInt32(4, hi, true);
      return [a];
    }
    case "bcd": {
      const a = new Uint8Array(10);
      const digits = rng.below(16);
      for (let i = 0; i < 9; i++) {
        const lo = i * 2 < digits ? rng.below(10) : 0;
        const hi = i * 2 + 1 < digits ? rng.below(10) : 0;
        a[i] = lo | (hi << 4);
      }
      a[9] = rng.chance(0.5) ? 0x80 : 0;
      return [a];
    }
    case "cw": {
      // Keep all exceptions masked; vary rounding control; precision control stays double.
      const { a, v } = dv(2);
      v.setUint16(0, 0x027f | (rng.below(4) << 10), true);
      return [a];
    }
    case "env":
    case "save": {
      const depth = rng.below(5);
      const stack: number[] = [];
      for (let i = 0; i < depth; i++) stack.push(x87Value(rng, false));
      const img = buildX87Image(X87_FCW | (rng.below(4) << 10), rng.below(8), stack);
      let bytes: Uint8Array = t === "env" ? img.subarray(0, 28) : img;
      if (layout16) {
        // 16-bit protected-mode layout (SDM Vol. 1 Fig. 8-10): FCW FSW FTW, pointers, then ST(0..7).
        const b16 = new Uint8Array(t === "env" ? 14 : 94);
        b16.set(img.subarray(0, 2), 0);
        b16.set(img.subarray(4, 6), 2);
        b16.set(img.subarray(8, 10), 4);
        if (t === "save") b16.set(img.subarray(28, 108), 14);
        bytes = b16;
      }
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += 16) chunks.push(bytes.slice(i, i + 16));
      return chunks;
    }
    default:
      return undefined;
  }
}

function pickReg(b: Builder, size: 8 | 16 | 32): number {
  // ESP (4) is never a random operand in 16/32-bit forms (the stack must stay usable);
  // for byte forms 4 is AH.
  for (;;) {
    const r = b.rng.below(8);
    if (size === 8) return r;
    if (r !== 4 && !b.pinned.has(r)) return r;
  }
}

/** A memory operand in the data buffer; sets the base/index registers it needs. */
function memoryOperand(
  b: Builder,
  regField: number,
  m: string,
): { bytes: number[]; addr: number; name: string } {
  const rng = b.rng;
  const addr = DATA_ADDR + 0x200 + rng.below(0xc00);
  // Base registers that are not the ModRM.reg operand (its value must stay free).
  const baseChoices = [3, 6, 7, 5, 0, 1, 2].filter((r) => r !== regField || BIT_OPS.has(m) === false);
  const setBase = (r: number, v: number) => {
    b.regs[r] = v >>> 0;
    b.pinned.add(r);
  };
  const variant = rng.below(5);
  const reg = (regField & 7) << 3;
  if (variant === 0) {
    // mod=00 rm=base ([ebx], [esi], [edi], ... but not ESP/EBP encodings).
    const base = rng.pick(baseChoices.filter((r) => r !== 5));
    setBase(base, addr);
    shapeRegOperand(b, regField, base, m);
    return { bytes: [0x00 | reg | base], addr, name: "[base]" };
  }
  if (variant === 1) {
    const base = rng.pick(baseChoices);
    const disp = rng.below(256) - 128;
    setBase(base, addr - disp);
    shapeRegOperand(b, regField, base, m);
    return { bytes: [0x40 | reg | base, disp & 0xff], addr, name: "[base+d8]" };
  }
  if (variant === 2) {
    const base = rng.pick(baseChoices);
    const disp = rng.below(0x2000) - 0x1000;
    setBase(base, addr - disp);
    shapeRegOperand(b, regField, base, m);
    return { bytes: [0x80 | reg | base, ...le(disp >>> 0, 4)], addr, name: "[base+d32]" };
  }
  if (variant === 3) {
    shapeRegOperand(b, regField, -1, m);
    return { bytes: [0x05 | reg, ...le(addr, 4)], addr, name: "[d32]" };
  }
  // SIB: [base + index*scale + disp8], index small.
  const base = rng.pick(baseChoices);
  const index = rng.pick([0, 1, 2, 3, 5, 6, 7].filter((r) => r !== base && r !== regField));
  const scale = rng.below(4);
  const idx = rng.below(16);
  const disp = rng.below(256) - 128;
  setBase(index, idx);
  setBase(base, addr - disp - (idx << scale));
  shapeRegOperand(b, regField, base, m);
  return {
    bytes: [0x44 | reg, (scale << 6) | (index << 3) | base, disp & 0xff],
    addr,
    name: "[base+index*s+d8]",
  };
}

/** Keep the ModRM.reg operand meaningful for instructions whose register operand addresses memory. */
function shapeRegOperand(b: Builder, regField: number, base: number, m: string): void {
  if (BIT_OPS.has(m) && regField !== base) {
    // Bit offset register: +-2047 bits keeps the addressed dword inside the buffer.
    b.regs[regField] = (b.rng.below(4096) - 2048) >>> 0;
    b.pinned.add(regField);
  }
  if (m === "bound" && regField !== base) {
    b.regs[regField] = b.rng.pick([0, 5, 50, 99, 150, 200, 0xffffffff, b.rng.below(256)]);
    b.pinned.add(regField);
  }
}

/** DIV/IDIV: mostly representable quotients, some overflows, some zero divisors (#DE). */
function shapeDivision(b: Builder, size: 8 | 16 | 32, signed: boolean): void {
  const rng = b.rng;
  const r = rng.below(10);
  if (r < 6) {
    // Small high half: EDX (DX, AH) below the divisor in most cases.
    if (size === 32) b.regs[2] = signed ? (rng.chance(0.5) ? 0 : 0xffffffff) : rng.below(16);
    else if (size === 16)
      b.regs[2] = (b.regs[2]! & ~0xffff) | (signed ? (rng.chance(0.5) ? 0 : 0xffff) : rng.below(16));
    else b.regs[0] = (b.regs[0]! & ~0xff00) | ((signed ? (rng.chance(0.5) ? 0 : 0xff) : rng.below(4)) << 8);
  }
  // Divisor registers are random; zero divisors come from the edge values (value() picks 0).
}
