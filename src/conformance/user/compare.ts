/**
 * Comparison of a case's host outcome (expected) with vmlab's (actual). What is masked:
 *  - EFLAGS: only CF PF AF ZF SF OF DF are compared, minus the form's `undefinedFlags`
 *    (the SDM's "undefined" flags, e.g. SDM Vol. 2A MUL: "SF, ZF, AF, PF undefined").
 *  - Error codes: compared only for vectors that push one (SDM Vol. 3A Table 6-1).
 *  - x87: registers compared after rounding the host's 80-bit value to a double (vmlab keeps
 *    doubles); NaNs match any NaN; transcendental results within a relative tolerance;
 *    FSW by `fswMask` (TOP, IE, ZE, SF always; C0-C3 where the SDM defines them); tags
 *    compared as empty / non-empty.
 */

import { REGION_ADDR } from "../layout.js";
import { ext80Hex, ext80ToDouble, parseX87Image } from "../x87-format.js";
import { type CaseOutcome, hasErrorCode, type UserCase } from "./case.js";

export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;

const hex = (v: number, w = 8) => `0x${(v >>> 0).toString(16).padStart(w, "0")}`;

export function compareOutcomes(c: UserCase, expected: CaseOutcome, actual: CaseOutcome): string[] {
  const diffs: string[] = [];
  if (expected.error !== undefined) return [`host: ${expected.error}`];
  if (actual.error !== undefined) return [`vmlab: ${actual.error}`];
  if (expected.vector !== actual.vector) {
    diffs.push(`exception: expected ${vectorName(expected.vector)}, got ${vectorName(actual.vector)}`);
    return diffs;
  }
  if (expected.vector >= 0 && hasErrorCode(expected.vector) && expected.errorCode !== actual.errorCode) {
    diffs.push(`error code: expected ${hex(expected.errorCode, 4)}, got ${hex(actual.errorCode, 4)}`);
  }
  for (let i = 0; i < 8; i++) {
    if (expected.regs[i]! >>> 0 !== actual.regs[i]! >>> 0) {
      diffs.push(`${REG_NAMES[i]}: expected ${hex(expected.regs[i]!)}, got ${hex(actual.regs[i]!)}`);
    }
  }
  if (expected.eip >>> 0 !== actual.eip >>> 0)
    diffs.push(`eip: expected ${hex(expected.eip)}, got ${hex(actual.eip)}`);
  const fe = expected.eflags & c.flagMask;
  const fa = actual.eflags & c.flagMask;
  if (fe !== fa)
    diffs.push(
      `eflags (mask ${hex(c.flagMask, 4)}): expected ${flagsText(fe)}, got ${flagsText(fa)} (differ: ${flagsText(fe ^ fa)})`,
    );
  diffs.push(...compareRegion(c, expected.region, actual.region));
  if (c.fpu !== undefined && expected.fpu !== undefined && actual.fpu !== undefined) {
    diffs.push(...compareX87(c, expected.fpu, actual.fpu));
  }
  return diffs;
}

function compareRegion(c: UserCase, e: Uint8Array, a: Uint8Array): string[] {
  const ignored = (off: number) => c.memIgnore.some((r) => off >= r.offset && off < r.offset + r.length);
  const out: string[] = [];
  let i = 0;
  while (i < e.length) {
    if (e[i] === a[i] || ignored(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j < e.length && j - i < 16 && e[j] !== a[j] && !ignored(j)) j++;
    const bytes = (b: Uint8Array) =>
      Array.from(b.subarray(i, j), (x) => x.toString(16).padStart(2, "0")).join(" ");
    out.push(`memory ${hex(REGION_ADDR + i)}: expected ${bytes(e)}, got ${bytes(a)}`);
    i = j;
    if (out.length >= 6) {
      out.push("memory: more differences omitted");
      break;
    }
  }
  return out;
}

function compareX87(c: UserCase, eImg: Uint8Array, aImg: Uint8Array): string[] {
  const e = parseX87Image(eImg);
  const a = parseX87Image(aImg);
  const out: string[] = [];
  const fe = e.fsw & c.fswMask;
  const fa = a.fsw & c.fswMask;
  if (fe !== fa)
    out.push(
      `fsw (mask ${hex(c.fswMask, 4)}): expected ${hex(fe, 4)}, got ${hex(fa, 4)} (TOP ${(e.fsw >> 11) & 7} vs ${(a.fsw >> 11) & 7})`,
    );
  if ((e.fcw & 0x1f3f) !== (a.fcw & 0x1f3f)) out.push(`fcw: expected ${hex(e.fcw, 4)}, got ${hex(a.fcw, 4)}`);
  const topE = (e.fsw >> 11) & 7;
  for (let i = 0; i < 8; i++) {
    const phys = (topE + i) & 7;
    const emptyE = ((e.ftw >> (phys * 2)) & 3) === 3;
    const emptyA = ((a.ftw >> (phys * 2)) & 3) === 3;
    if (emptyE !== emptyA) {
      out.push(`st(${i}): expected ${emptyE ? "empty" : "non-empty"}, got ${emptyA ? "empty" : "non-empty"}`);
      continue;
    }
    if (emptyE) continue;
    const ve = ext80ToDouble(e.st[i]!);
    const va = ext80ToDouble(a.st[i]!);
    if (!sameFloat(ve, va, c.floatTolerance)) {
      out.push(`st(${i}): expected ${ve} (${ext80Hex(e.st[i]!)}), got ${va} (${ext80Hex(a.st[i]!)})`);
    }
  }
  return out;
}

function sameFloat(e: number, a: number, tol: number): boolean {
  if (Number.isNaN(e) || Number.isNaN(a)) return Number.isNaN(e) && Number.isNaN(a);
  if (Object.is(e, a)) return true;
  if (tol === 0) return false;
  if (!Number.isFinite(e) || !Number.isFinite(a)) return false;
  return Math.abs(e - a) <= tol * Math.max(Math.abs(e), Math.abs(a), 2 ** -1000);
}

export function vectorName(v: number): string {
  if (v < 0) return "none";
  const names = [
    "#DE",
    "#DB",
    "NMI",
    "#BP",
    "#OF",
    "#BR",
    "#UD",
    "#NM",
    "#DF",
    "9",
    "#TS",
    "#NP",
    "#SS",
    "#GP",
    "#PF",
    "15",
    "#MF",
    "#AC",
    "#MC",
    "#XM",
  ];
  return `${names[v] ?? v} (${v})`;
}

export function flagsText(f: number): string {
  const names: [number, string][] = [
    [0x800, "OF"],
    [0x400, "DF"],
    [0x80, "SF"],
    [0x40, "ZF"],
    [0x10, "AF"],
    [0x4, "PF"],
    [0x1, "CF"],
  ];
  const set = names.filter(([b]) => (f & b) !== 0).map(([, n]) => n);
  return `${hex(f, 4)}[${set.join(" ")}]`;
}
