/** The user-mode oracle end to end: generate, run on the host, run in vmlab, compare. */

import type { InstructionForm } from "../../cpu/isa.js";
import { disassemble, hexBytes } from "../disasm.js";
import { runOnHost } from "../host/host-oracle.js";
import { CODE_ADDR, REGION_ADDR } from "../layout.js";
import { ext80ToDouble, parseX87Image } from "../x87-format.js";
import type { CaseOutcome, UserCase } from "./case.js";
import { compareOutcomes, flagsText, REG_NAMES, vectorName } from "./compare.js";
import { generateUserCases } from "./generate.js";
import { VmlabUserRunner } from "./vmlab-user.js";

export interface UserFailure {
  readonly formKey: string;
  readonly mnemonic: string;
  readonly variant: string;
  readonly bytes: string;
  readonly disassembly: string;
  readonly initial: string;
  readonly expected: string;
  readonly actual: string;
  readonly diffs: readonly string[];
}

export interface FormTally {
  passed: number;
  failed: number;
}

export interface UserReport {
  readonly passed: number;
  readonly failed: number;
  readonly perForm: Record<string, FormTally>;
  readonly failures: UserFailure[];
  /** formKey -> reason for user/control forms that were not generated. */
  readonly excluded: Record<string, string>;
  /** What the cases were compared against: the host CPU, or qemu-i386 where the host cannot run 32-bit code. */
  readonly oracle: string;
  /** Set when the oracle could not run at all (no gcc, no interpreter). */
  readonly error?: string;
}

export async function loadForms(): Promise<InstructionForm[]> {
  const { INSTRUCTION_FORMS } = await import("../../cpu/interp/table.js");
  const { X87_FORMS } = await import("../../cpu/x87/table.js");
  return [...INSTRUCTION_FORMS, ...X87_FORMS];
}

export async function runUserOracle(opts: {
  seed: number;
  count: number;
  filter?: string;
  maxFailures?: number;
  /** vmlab's engine; "bt" translates every case (no hotness threshold, counted single steps). */
  engine?: "interp" | "bt";
}): Promise<UserReport> {
  const forms = await loadForms();
  const gen = generateUserCases(forms, opts);
  const host = await runOnHost(gen.cases);
  const vm = await VmlabUserRunner.create(host.selectors, opts.engine ?? "interp");
  const perForm: Record<string, FormTally> = {};
  const failures: UserFailure[] = [];
  let passed = 0;
  let failed = 0;
  for (const c of gen.cases) {
    const expected = host.outcomes.get(c.id);
    if (expected === undefined) throw new Error(`host gave no result for case ${c.id}`);
    const actual = vm.run(c);
    const diffs = compareOutcomes(c, expected, actual);
    const tally = (perForm[c.formKey] ??= { passed: 0, failed: 0 });
    if (diffs.length === 0) {
      passed++;
      tally.passed++;
    } else {
      failed++;
      tally.failed++;
      if (failures.length < (opts.maxFailures ?? 2000))
        failures.push(describeFailure(c, expected, actual, diffs));
    }
  }
  return {
    oracle: host.oracle,
    passed,
    failed,
    perForm,
    failures,
    excluded: Object.fromEntries(gen.excluded),
  };
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;

function regsText(regs: readonly number[]): string {
  return regs.map((r, i) => `${REG_NAMES[i]}=${hex(r)}`).join(" ");
}

function outcomeText(o: CaseOutcome, c: UserCase): string {
  if (o.error !== undefined) return `error: ${o.error}`;
  const parts = [
    o.vector >= 0 ? `exception ${vectorName(o.vector)} err=${hex(o.errorCode)}` : "completed",
    regsText(o.regs),
    `eip=${hex(o.eip)}`,
    `eflags=${flagsText(o.eflags)}`,
  ];
  if (o.fpu !== undefined && c.fpu !== undefined) parts.push(x87Text(o.fpu));
  return parts.join(" ");
}

function x87Text(img: Uint8Array): string {
  const x = parseX87Image(img);
  const top = (x.fsw >> 11) & 7;
  const st: string[] = [];
  for (let i = 0; i < 8; i++) {
    const phys = (top + i) & 7;
    if (((x.ftw >> (phys * 2)) & 3) === 3) continue;
    st.push(`st${i}=${ext80ToDouble(x.st[i]!)}`);
  }
  return `fsw=0x${x.fsw.toString(16)} fcw=0x${x.fcw.toString(16)} ftw=0x${x.ftw.toString(16)} ${st.join(" ")}`;
}

function describeFailure(c: UserCase, e: CaseOutcome, a: CaseOutcome, diffs: string[]): UserFailure {
  const patches = c.patches.map((p) => `[${hex(REGION_ADDR + p.offset)}]=${hexBytes(p.bytes)}`).join(" ");
  return {
    formKey: c.formKey,
    mnemonic: c.mnemonic,
    variant: c.variant,
    bytes: hexBytes(c.code),
    disassembly: disassemble(c.code, CODE_ADDR),
    initial: `${regsText(c.regs)} eflags=${flagsText(c.eflags)} data-seed=${hex(c.dataSeed)}${patches ? ` ${patches}` : ""}${c.fpu !== undefined ? ` ${x87Text(c.fpu)}` : ""}`,
    expected: outcomeText(e, c),
    actual: outcomeText(a, c),
    diffs,
  };
}
