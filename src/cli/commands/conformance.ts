/** `vmlab conformance`: the differential conformance suite (src/conformance/). */

import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { type ConformanceReport, type OracleChoice, runConformance } from "../../conformance/index.js";

interface ConformanceCliOptions {
  seed: number;
  count: number;
  minPass: number;
  oracle: OracleChoice;
  filter?: string;
  json?: string;
  arith: number;
}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${name} must be an integer between ${min} and ${max}, got ${v}`);
    return n;
  };
}

export function registerConformanceCommand(program: Command): void {
  program
    .command("conformance")
    .description(
      "compare vmlab's CPU with the host CPU (user-mode instructions) and with QEMU (whole programs)",
    )
    .option("--seed <S>", "seed of the case generators", intArg("--seed", 0, 0xffffffff), 1)
    .option(
      "--count <N>",
      "host oracle: cases per form, operand size and ModRM kind",
      intArg("--count", 1, 100_000),
      16,
    )
    .option(
      "--min-pass <F>",
      "exit non-zero when passed / (passed + failed) is below this fraction",
      (v: string) => {
        const f = Number(v);
        if (!(f >= 0 && f <= 1)) throw new Error(`--min-pass must be between 0 and 1, got ${v}`);
        return f;
      },
      0.99,
    )
    .option(
      "--oracle <which>",
      "host | qemu | all",
      (v: string) => {
        if (v !== "host" && v !== "qemu" && v !== "all")
          throw new Error(`--oracle must be host, qemu or all, got ${v}`);
        return v as OracleChoice;
      },
      "all" as OracleChoice,
    )
    .option(
      "--filter <MNEMONIC>",
      "host oracle: only this mnemonic; with --oracle qemu: programs whose name contains it",
    )
    .option(
      "--arith <N>",
      "QEMU oracle: generated real-mode arithmetic cases",
      intArg("--arith", 1, 400),
      300,
    )
    .option("--json <FILE>", "write the full report as JSON")
    .action(async (opts: ConformanceCliOptions) => {
      const report = await runConformance({
        seed: opts.seed,
        count: opts.count,
        oracle: opts.oracle,
        qemuArithCases: opts.arith,
        ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
      });
      printReport(report);
      if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      const total = report.passed + report.failed;
      const fraction = total === 0 ? 0 : report.passed / total;
      console.log(`conformance: ${report.passed} passed, ${report.failed} failed`);
      process.exitCode = fraction < opts.minPass ? 1 : 0;
    });
}

function printReport(r: ConformanceReport): void {
  if (r.host !== undefined) {
    const h = r.host;
    if (h.error !== undefined) console.log(`host oracle: ERROR ${h.error}`);
    for (const f of h.failures) {
      console.log(`FAIL host ${f.formKey} [${f.variant}]`);
      console.log(`  bytes:    ${f.bytes}    ${f.disassembly}`);
      console.log(`  initial:  ${f.initial}`);
      console.log(`  expected: ${f.expected}`);
      console.log(`  actual:   ${f.actual}`);
      for (const d of f.diffs) console.log(`  differs:  ${d}`);
    }
    const excluded = Object.keys(h.excluded).length;
    console.log(
      `host oracle (${h.oracle}): ${h.passed} passed, ${h.failed} failed over ${Object.keys(h.perForm).length} forms (${excluded} user/control forms excluded)`,
    );
  }
  if (r.qemu !== undefined) {
    for (const p of r.qemu.programs) {
      if (p.passed) continue;
      console.log(
        `FAIL qemu ${p.name} (${p.description}): qemu ${p.qemuLines} lines, ${p.qemuEnd}; vmlab ${p.vmlabLines} lines, ${p.vmlabEnd}`,
      );
      if (p.error !== undefined) console.log(`  error: ${p.error}`);
      for (const d of p.diffs) console.log(`  ${d}`);
    }
    const ok = r.qemu.programs.filter((p) => p.passed).length;
    console.log(
      `qemu oracle: ${ok}/${r.qemu.programs.length} programs match exactly; ${r.qemu.passed} lines matched, ${r.qemu.failed} differed`,
    );
  }
}
