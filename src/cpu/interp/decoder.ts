/**
 * The decoder, built from the instruction table (table.ts). It reads prefixes
 * (SDM Vol. 2A 2.1.1), the opcode (one byte or 0F xx), ModRM/SIB/displacement with 16- and
 * 32-bit addressing (SDM Vol. 2A 2.1.5, Tables 2-1..2-3) and immediates, and fills an Insn
 * with the handler chosen for the operand size and ModRM.mod.
 *
 * Bytes come from the fetcher below: it reads through CS (limit check, #GP(0)), the page
 * translation of the block being decoded (Access.FETCH) and RAM. An instruction longer than
 * 15 bytes is #GP(0) (SDM Vol. 2A 2.3.11). When decoding the second and later instructions
 * of a block, reaching another page throws END_OF_BLOCK instead of translating it, so that
 * a fault belongs to the instruction that really needs the bytes.
 */

import { readPhys8 } from "../access.js";
import { Access, type Cpu } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import { fastKind } from "./fast.js";
import { Insn } from "./insn.js";
import { ud, x87 } from "./ops-system.js";
import { INTERP_FORMS, type InterpForm } from "./table.js";

// ---- dispatch table --------------------------------------------------------------------------

interface Entry {
  readonly modrm: boolean;
  /** Forms by ModRM.reg for group opcodes, else the same form 8 times. */
  readonly byReg: readonly (InterpForm | undefined)[];
}

const X87_FORM: InterpForm = {
  mnemonic: "esc",
  opcode: [0xd8],
  modrm: "rm",
  immediate: 0,
  operandSizes: [16, 32],
  undefinedFlags: 0,
  oracle: "user",
  exec: x87,
};

function buildDispatch(): (Entry | undefined)[] {
  const table: (Entry | undefined)[] = new Array(512).fill(undefined);
  const byOp = new Map<number, InterpForm[]>();
  for (const form of INTERP_FORMS) {
    const op = form.opcode.length === 2 ? 0x100 | form.opcode[1]! : form.opcode[0]!;
    let list = byOp.get(op);
    if (list === undefined) byOp.set(op, (list = []));
    list.push(form);
  }
  for (let op = 0xd8; op <= 0xdf; op++) byOp.set(op, [X87_FORM]);
  for (const [op, list] of byOp) {
    const modrm = list[0]!.modrm !== "none";
    const byReg: (InterpForm | undefined)[] = new Array(8).fill(undefined);
    for (const form of list) {
      if ((form.modrm !== "none") !== modrm)
        throw new Error(`table: mixed ModRM use for opcode ${op.toString(16)}`);
      if (form.digit === undefined) {
        if (list.length !== 1) throw new Error(`table: opcode ${op.toString(16)} listed twice`);
        byReg.fill(form);
      } else {
        if (byReg[form.digit] !== undefined)
          throw new Error(`table: ${op.toString(16)} /${form.digit} twice`);
        byReg[form.digit] = form;
      }
    }
    table[op] = { modrm, byReg };
  }
  return table;
}

const DISPATCH = buildDispatch();

/** Opcode bytes that are prefixes (not in the dispatch table). */
export const PREFIX_BYTES: readonly number[] = [
  0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3,
];

// ---- fetcher ---------------------------------------------------------------------------------

/** Thrown (never escapes the block builder) when a later instruction of a block needs another page. */
export const END_OF_BLOCK = { endOfBlock: true };

let fCpu: Cpu | undefined;
/** CS offset of the next byte, of the instruction start; CS base and limit. */
let fEip = 0;
let fStart = 0;
let fBase = 0;
let fLimit = 0;
/** Linear page (base) and physical page (base) of the block's first byte. */
let fLinPage = 0;
let fPhysPage = 0;
/** The second page, translated lazily for the first instruction of a block only. */
let fLin2Page = 1;
let fPhys2Page = 0;
let fAllowCross = false;
/** Set when a byte came from outside RAM (the block must not be cached). */
export let fUncacheable = false;
export let fUsedPage2 = false;

export function fetchBegin(cpu: Cpu, eip: number, linPage: number, physPage: number): void {
  fCpu = cpu;
  fEip = eip >>> 0;
  fBase = cpu.segBase[1]!;
  fLimit = cpu.segLimit[1]! >>> 0;
  fLinPage = linPage;
  fPhysPage = physPage;
  fLin2Page = 1;
  fUncacheable = false;
  fUsedPage2 = false;
}

export function fetchPosition(): number {
  return fEip;
}
export function fetchPhys2(): number {
  return fPhys2Page;
}

function fetch8(): number {
  const cpu = fCpu!;
  const off = fEip;
  if (off - fStart >= 15) raise(cpu, Vector.GP, 0);
  if (off > fLimit) {
    if (!fAllowCross) throw END_OF_BLOCK;
    raise(cpu, Vector.GP, 0);
  }
  const lin = (fBase + off) | 0;
  const page = lin & ~0xfff;
  let phys: number;
  if (page === fLinPage) phys = (fPhysPage + (lin & 0xfff)) >>> 0;
  else {
    if (!fAllowCross) throw END_OF_BLOCK;
    if (page !== fLin2Page) {
      const p = cpu.pagingEnabled ? cpu.mmu.translate(lin >>> 0, Access.FETCH, cpu.cpl === 3) : lin >>> 0;
      fLin2Page = page;
      fPhys2Page = (p & ~0xfff) >>> 0;
    }
    fUsedPage2 = true;
    phys = (fPhys2Page + (lin & 0xfff)) >>> 0;
  }
  fEip = (off + 1) >>> 0;
  if (phys < cpu.memory.size) return cpu.memory.read8(phys);
  fUncacheable = true;
  return readPhys8(cpu, phys);
}
function fetch16(): number {
  const lo = fetch8();
  return lo | (fetch8() << 8);
}
function fetch32(): number {
  const lo = fetch16();
  return lo | (fetch16() << 16);
}

// ---- decode ----------------------------------------------------------------------------------

/** Set by decode(): the instruction ends its block. */
export let decodedEnd = false;

/**
 * Decode one instruction at the fetcher's position into `i`. `def32` is CS.D. `first` allows
 * fetching across the page boundary (see the header). Unknown and invalid forms decode to a
 * handler that raises #UD when executed.
 */
export function decode(i: Insn, def32: boolean, first: boolean): void {
  fAllowCross = first;
  fStart = fEip;
  let o32 = def32;
  let a32 = def32;
  let seg = -1;
  let rep = 0;
  let lock = 0;
  let b: number;
  for (;;) {
    b = fetch8();
    switch (b) {
      case 0x26:
        seg = 0;
        continue;
      case 0x2e:
        seg = 1;
        continue;
      case 0x36:
        seg = 2;
        continue;
      case 0x3e:
        seg = 3;
        continue;
      case 0x64:
        seg = 4;
        continue;
      case 0x65:
        seg = 5;
        continue;
      case 0x66:
        o32 = !def32;
        continue;
      case 0x67:
        a32 = !def32;
        continue;
      case 0xf0:
        lock = 1;
        continue;
      case 0xf2:
        rep = 2;
        continue;
      case 0xf3:
        rep = 1;
        continue;
    }
    break;
  }
  let op = b;
  if (b === 0x0f) op = 0x100 | fetch8();
  i.op = op;
  i.o32 = o32 ? 1 : 0;
  i.a32 = a32 ? 1 : 0;
  i.rep = rep;
  i.lock = lock;
  i.seg = seg >= 0 ? seg : 3;
  i.segOverride = seg >= 0 ? 1 : 0;
  i.base = -1;
  i.index = -1;
  i.scale = 0;
  i.disp = 0;
  i.mod = 3;
  i.reg = op & 7;
  i.rm = 0;
  i.modrm = 0;
  i.imm = 0;
  i.imm2 = 0;
  i.sub = 0;
  i.sub2 = 0;
  const e = DISPATCH[op];
  let form: InterpForm | undefined;
  let mod = 3;
  if (e === undefined) form = undefined;
  else if (e.modrm) {
    const m = fetch8();
    i.modrm = m;
    mod = m >> 6;
    i.reg = (m >> 3) & 7;
    i.rm = m & 7;
    form = e.byReg[i.reg];
    if (form !== undefined && form.modIgnored === true) mod = 3;
    else if (mod !== 3) decodeEa(i, mod, a32, seg);
    i.mod = mod;
  } else form = e.byReg[0];

  if (
    form === undefined ||
    (form.modrm === "reg" && mod !== 3) ||
    (form.modrm === "mem" && mod === 3) ||
    (lock !== 0 && (form.lockable !== true || mod === 3))
  ) {
    i.fn = ud;
    i.kind = 0;
    i.len = (fEip - fStart) >>> 0;
    decodedEnd = true;
    return;
  }

  // Immediates.
  const im = form.immediate;
  if (form.far === true) {
    i.imm = o32 ? fetch32() : fetch16();
    i.imm2 = fetch16();
  } else if (form.moffs === true) {
    i.disp = a32 ? fetch32() : fetch16();
  } else if (im === 1) {
    const v = fetch8();
    i.imm = form.sx === true ? (v << 24) >> 24 : v;
  } else if (im === 2) {
    i.imm = fetch16();
  } else if (im === 4) {
    i.imm = fetch32();
  } else if (im === "z") {
    if (o32) i.imm = fetch32();
    else {
      const v = fetch16();
      i.imm = form.sx === true ? (v << 16) >> 16 : v;
    }
  } else if (im !== 0) {
    i.imm = fetch16();
    i.imm2 = fetch8();
  }

  let h = form.exec;
  if (mod === 3) {
    if (form.execReg !== undefined) h = form.execReg;
  } else if (form.execMem !== undefined) h = form.execMem;
  i.fn = typeof h === "function" ? h : o32 ? h[1] : h[0];
  i.sub = form.subBySize === true ? (o32 ? 4 : 2) : (form.sub ?? 0);
  i.sub2 = form.sub2 ?? 0;
  i.kind = fastKind(i);
  i.len = (fEip - fStart) >>> 0;
  decodedEnd = form.end === true || (form.string === true && rep !== 0);
}

/** ModRM memory operand (mod != 3): SDM Vol. 2A Tables 2-1 (16-bit) and 2-2/2-3 (32-bit). */
function decodeEa(i: Insn, mod: number, a32: boolean, seg: number): void {
  const rm = i.rm;
  let ss = false;
  if (a32) {
    if (rm === 4) {
      const sib = fetch8();
      const base = sib & 7;
      const index = (sib >> 3) & 7;
      if (index !== 4) {
        i.index = index;
        i.scale = sib >> 6;
      }
      if (base === 5 && mod === 0) {
        i.disp = fetch32();
      } else {
        i.base = base;
        ss = base === 4 || base === 5;
      }
    } else if (rm === 5 && mod === 0) {
      i.disp = fetch32();
    } else {
      i.base = rm;
      ss = rm === 5;
    }
    if (mod === 1) i.disp = (fetch8() << 24) >> 24;
    else if (mod === 2) i.disp = fetch32();
  } else {
    switch (rm) {
      case 0:
        i.base = 3;
        i.index = 6;
        break;
      case 1:
        i.base = 3;
        i.index = 7;
        break;
      case 2:
        i.base = 5;
        i.index = 6;
        ss = true;
        break;
      case 3:
        i.base = 5;
        i.index = 7;
        ss = true;
        break;
      case 4:
        i.base = 6;
        break;
      case 5:
        i.base = 7;
        break;
      case 6:
        if (mod === 0) i.disp = fetch16();
        else {
          i.base = 5;
          ss = true;
        }
        break;
      default:
        i.base = 3;
    }
    if (mod === 1) i.disp = (fetch8() << 24) >> 24;
    else if (mod === 2) i.disp = fetch16();
  }
  if (seg < 0 && ss) i.seg = 2;
}

/** For tests and tools: the table entry the decoder would use for opcode `op` and ModRM.reg. */
export function formFor(op: number, reg: number): InterpForm | undefined {
  return DISPATCH[op]?.byReg[reg];
}

export { Insn };
