/**
 * vmlab's differential conformance suite. Two oracles:
 *  (a) "host": single instructions generated from the instruction table run natively on
 *      the host CPU (ring 3 of a 32-bit Linux process, host/harness.c) and in vmlab's
 *      interpreter, state compared field by field (user/);
 *  (b) "qemu": whole firmware programs (qemu/*.S and generated ones) run in
 *      qemu-system-i386 and in a vmlab Machine, serial output compared line by line.
 * See README.md in this folder.
 */

import { qemuPrograms } from "./qemu/programs.js";
import { runQemu, runVmlab } from "./qemu/run-qemu.js";
import { runUserOracle, type UserReport } from "./user/run-user.js";

export type OracleChoice = "host" | "qemu" | "all";

export interface ConformanceOptions {
  readonly seed: number;
  /** Host oracle: cases per (form, operand size, ModRM kind). */
  readonly count: number;
  readonly oracle: OracleChoice;
  /** Only this mnemonic (host oracle) / programs whose name contains it (QEMU oracle). */
  readonly filter?: string;
  /** Generated real-mode arithmetic cases in the QEMU program. */
  readonly qemuArithCases?: number;
  /** vmlab's CPU engine (default the interpreter; "bt" runs the binary translator). */
  readonly engine?: "interp" | "bt";
}

export interface ProgramResult {
  readonly name: string;
  readonly description: string;
  readonly passed: boolean;
  readonly qemuLines: number;
  readonly vmlabLines: number;
  readonly qemuEnd: string;
  readonly vmlabEnd: string;
  /** Line-level differences (first ones), "line N: expected ... / got ...". */
  readonly diffs: string[];
  readonly error?: string;
}

export interface QemuReport {
  /** Lines compared that matched / differed, over all programs. */
  readonly passed: number;
  readonly failed: number;
  readonly programs: ProgramResult[];
  readonly error?: string;
}

export interface ConformanceReport {
  readonly seed: number;
  readonly host?: UserReport;
  readonly qemu?: QemuReport;
  readonly passed: number;
  readonly failed: number;
}

export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  let host: UserReport | undefined;
  let qemu: QemuReport | undefined;
  if (opts.oracle === "host" || opts.oracle === "all") {
    try {
      host = await runUserOracle({
        seed: opts.seed,
        count: opts.count,
        ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
        ...(opts.engine !== undefined ? { engine: opts.engine } : {}),
      });
    } catch (e) {
      host = {
        oracle: "none",
        passed: 0,
        failed: 1,
        perForm: {},
        failures: [],
        excluded: {},
        error: e instanceof Error ? e.message : String(e),
      };
    }
  }
  if (opts.oracle === "qemu" || opts.oracle === "all") {
    qemu = await runQemuOracle(opts);
  }
  const passed = (host?.passed ?? 0) + (qemu?.passed ?? 0);
  const failed = (host?.failed ?? 0) + (qemu?.failed ?? 0);
  return {
    seed: opts.seed,
    ...(host !== undefined ? { host } : {}),
    ...(qemu !== undefined ? { qemu } : {}),
    passed,
    failed,
  };
}

export async function runQemuOracle(opts: ConformanceOptions): Promise<QemuReport> {
  const programs = qemuPrograms(opts.seed, opts.qemuArithCases ?? 300).filter(
    (p) => opts.filter === undefined || opts.oracle !== "qemu" || p.name.includes(opts.filter),
  );
  const results: ProgramResult[] = [];
  let passed = 0;
  let failed = 0;
  for (const p of programs) {
    let image: Uint8Array;
    try {
      image = p.build();
    } catch (e) {
      failed++;
      results.push({
        name: p.name,
        description: p.description,
        passed: false,
        qemuLines: 0,
        vmlabLines: 0,
        qemuEnd: "",
        vmlabEnd: "",
        diffs: [],
        error: e instanceof Error ? e.message : String(e),
      });
      continue;
    }
    const [q, v] = [await runQemu(p.name, image), await runVmlab(image, 60_000, opts.engine)];
    const diffs: string[] = [];
    const n = Math.max(q.lines.length, v.lines.length);
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < n; i++) {
      if (q.lines[i] === v.lines[i]) ok++;
      else {
        bad++;
        if (diffs.length < 40)
          diffs.push(
            `line ${i + 1}:\n      expected (qemu):  ${q.lines[i] ?? "<end of output>"}\n      actual (vmlab):   ${v.lines[i] ?? "<end of output>"}`,
          );
      }
    }
    const qEnd = `${q.reason} status ${q.exitCode}`;
    const vEnd = `${v.reason} status ${v.exitCode}`;
    if (q.reason !== "debug-exit" || v.reason !== "debug-exit" || q.exitCode !== v.exitCode) {
      bad++;
      diffs.push(`end: expected (qemu) ${qEnd}, actual (vmlab) ${vEnd}`);
    }
    passed += ok;
    failed += bad;
    const error = [
      q.error !== undefined ? `qemu: ${q.error}` : "",
      v.error !== undefined ? `vmlab: ${v.error}` : "",
    ]
      .filter((s) => s !== "")
      .join("; ");
    results.push({
      name: p.name,
      description: p.description,
      passed: bad === 0,
      qemuLines: q.lines.length,
      vmlabLines: v.lines.length,
      qemuEnd: qEnd,
      vmlabEnd: vEnd,
      diffs,
      ...(error !== "" ? { error } : {}),
    });
  }
  return { passed, failed, programs: results };
}

export type { UserReport } from "./user/run-user.js";
