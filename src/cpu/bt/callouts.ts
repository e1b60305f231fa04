/**
 * Callouts: the sensitive instructions that translated code hands to the monitor's side
 * (the interpreter's handler, which performs the privileged work and raises the VM exit
 * when there is one). In a software VMM a callout is what replaces a trap: the translator
 * sees the instruction at translation time and emits a call instead of letting it trap
 * (Adams & Agesen, "A comparison of software and hardware techniques for x86
 * virtualization", 3.2). They are counted here by kind, separately from the monitor's exit
 * statistics, which must stay identical to the interpreter's.
 */

import type { Handler, Insn } from "../interp/insn.js";
import * as C from "../interp/ops-control.js";
import * as D from "../interp/ops-data.js";
import * as S from "../interp/ops-string.js";
import * as Y from "../interp/ops-system.js";

/** Callout kinds, in the order of the counters (BinaryTranslator.translationStats). */
export const CALLOUT_KINDS = [
  "io",
  "io-string",
  "cpuid",
  "hlt",
  "cr",
  "dr",
  "invlpg",
  "descriptor-table",
  "msw",
  "ldt-tr",
  "segment-load",
  "if",
  "flags",
  "int",
  "iret",
  "far-transfer",
  "sysenter",
  "msr",
  "rdtsc",
  "cache",
  "descriptor-check",
  /** An access that kept reaching MMIO, retranslated as a callout (adaptive retranslation). */
  "mmio",
] as const;
export type CalloutKind = (typeof CALLOUT_KINDS)[number];

export const CALLOUT_MMIO = CALLOUT_KINDS.indexOf("mmio");

const byHandler = new Map<Handler, CalloutKind>([
  [Y.inOp, "io"],
  [Y.outOp, "io"],
  [S.ins, "io-string"],
  [S.outs, "io-string"],
  [Y.cpuidOp, "cpuid"],
  [Y.hlt, "hlt"],
  [Y.movCrR, "cr"],
  [Y.movRCr, "cr"],
  [Y.cltsOp, "cr"],
  [Y.movDrR, "dr"],
  [Y.movRDr, "dr"],
  [Y.group6, "ldt-tr"],
  [D.movSegRm, "segment-load"],
  [D.popSeg, "segment-load"],
  [D.loadFarPointer, "segment-load"],
  [Y.cli, "if"],
  [Y.sti, "if"],
  [D.pushf, "flags"],
  [D.popf, "flags"],
  [C.intN, "int"],
  [C.int3, "int"],
  [C.into, "int"],
  [C.iretOp, "iret"],
  [C.jmpFarImm, "far-transfer"],
  [C.jmpFarMem, "far-transfer"],
  [C.callFarImm, "far-transfer"],
  [C.callFarMem, "far-transfer"],
  [C.retFar, "far-transfer"],
  [Y.sysenterOp, "sysenter"],
  [Y.sysexitOp, "sysenter"],
  [Y.rdmsrOp, "msr"],
  [Y.wrmsrOp, "msr"],
  [Y.rdtsc, "rdtsc"],
  [Y.invdOp, "cache"],
  [Y.larLsl, "descriptor-check"],
  [Y.arplOp, "descriptor-check"],
]);

/** The callout kind of a decoded instruction (index into CALLOUT_KINDS), or -1 for ordinary code. */
export function calloutKind(i: Insn): number {
  if (i.fn === Y.group7) {
    // 0F 01 is a group: /7 INVLPG, /0-/3 SGDT SIDT LGDT LIDT, /4 /6 SMSW LMSW (SDM Vol. 2D A.4).
    return CALLOUT_KINDS.indexOf(i.reg === 7 ? "invlpg" : i.reg < 4 ? "descriptor-table" : "msw");
  }
  const k = byHandler.get(i.fn);
  return k === undefined ? -1 : CALLOUT_KINDS.indexOf(k);
}
