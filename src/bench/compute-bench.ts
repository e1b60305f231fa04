/**
 * The compute benchmark behind `vmlab bench compute`: boots the default Debian guest in
 * vmlab (per CPU engine), QEMU TCG and v86, and times CPU-bound work inside it: md5sum and
 * gzip of N MiB streamed through a pipe (the image's /bin/busybox repeated and cut to N MiB:
 * real machine code, so gzip does real matching work, unlike on zeros).
 *
 * The guest command prints a marker line before and after each workload
 * (`vmlab-compute: begin md5` ... `vmlab-compute: end md5 <digest>`); the window between the
 * two lines' arrival on the host is the workload's time, and for vmlab and v86 the guest
 * instructions retired in it give MIPS. QEMU has no instruction counter without -icount
 * (which changes its timing), so its MIPS is an estimate: vmlab's instruction count for the
 * same window (the same user-mode program on the same data) over QEMU's time, marked "~".
 *
 * The md5 digest is checked against the host's digest of the same bytes, and the gzip sizes
 * must agree across engines: a wrong answer is a failure, not a figure. Boots of the rows
 * are interleaved run by run, as in the boot benchmark.
 */

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { gunzipSync } from "node:zlib";
import { parseCpio } from "../images/index.js";
import type { TimeMode } from "../machine/machine.js";
import {
  BootBenchError,
  benchImage,
  describeRun,
  type Engine,
  medianRatio,
  runVmlabBoot,
  type V86Report,
  v86ForBench,
  v86Note,
} from "./boot-bench.js";
import { type BootRun, runConsoleProcess } from "./boot-run.js";
import { ensureQemu, QEMU_BINARY, QEMU_CPU, qemuBootArgs } from "./qemu.js";
import {
  type Align,
  formatCount,
  formatRatio,
  formatSpread,
  formatTable,
  type Spread,
  spread,
} from "./table.js";
import { runV86Boot } from "./v86.js";

export const WORKLOADS = ["md5", "gzip"] as const;
export type Workload = (typeof WORKLOADS)[number];

/** The prefix of the marker lines the guest command prints. */
export const COMPUTE_MARK = "vmlab-compute:";
/** The guest file whose bytes, repeated, are the workloads' input. */
export const INPUT_FILE = "/bin/busybox";

/**
 * MiB per workload by default: small enough that the interpreter row ends in a few minutes
 * (gzip costs ~360 guest instructions per byte of this input, md5sum ~80); `--mib 64` is
 * the size issue 5 names.
 */
export const DEFAULT_COMPUTE_MIB = 8;
export const DEFAULT_COMPUTE_TIMEOUT_S = 1800;

export interface ComputeBenchOptions {
  readonly runs: number;
  /** MiB of input per workload. */
  readonly mib: number;
  readonly workloads: readonly Workload[];
  readonly timeoutS: number;
  readonly vmlab: boolean;
  readonly engines: readonly Engine[];
  readonly qemu: boolean;
  readonly v86: boolean;
  readonly memoryMiB: number;
  readonly time: TimeMode;
}

export type ComputeRowId = `vmlab-${Engine}` | "qemu" | "v86";

export const COMPUTE_ROW_LABELS: Record<ComputeRowId, string> = {
  "vmlab-interp": "vmlab interp",
  "vmlab-bt": "vmlab bt",
  qemu: "qemu tcg",
  v86: "v86",
};

/** The shell command the guest runs: each workload between its two marker lines. */
export function computeCommand(mib: number, workloads: readonly Workload[]): string {
  const pipeline: Record<Workload, string> = {
    md5: "set -- $(data | md5sum); r=$1",
    gzip: "r=$(data | gzip -c | wc -c)",
  };
  return [
    `n=$((${mib} * 1048576))`,
    // cat dies of SIGPIPE once head has its n bytes, which ends the loop.
    `data() { while cat ${INPUT_FILE}; do :; done 2>/dev/null | head -c $n; }`,
    ...workloads.map(
      (w) => `echo "${COMPUTE_MARK} begin ${w}"; ${pipeline[w]}; echo "${COMPUTE_MARK} end ${w} $r"`,
    ),
  ].join("\n");
}

/** The md5 the guest must print: the host's digest of INPUT_FILE from the initrd, repeated to `mib` MiB. */
export function expectedMd5(initrd: Uint8Array, mib: number): string | undefined {
  const name = INPUT_FILE.slice(1);
  let file: { data: Uint8Array } | undefined;
  try {
    const cpio = initrd[0] === 0x1f && initrd[1] === 0x8b ? gunzipSync(initrd) : initrd;
    file = parseCpio(cpio).find((e) => e.name === name || e.name === `./${name}`);
  } catch {
    return undefined; // Not a (gzip'd) newc archive.
  }
  if (file === undefined || file.data.length === 0) return undefined;
  const hash = createHash("md5");
  let left = mib * 1024 * 1024;
  while (left > 0) {
    const part = left >= file.data.length ? file.data : file.data.subarray(0, left);
    hash.update(part);
    left -= part.length;
  }
  return hash.digest("hex");
}

/** One workload's window in one boot. */
export interface WorkloadWindow {
  readonly workload: Workload;
  readonly seconds: number;
  readonly instructions?: number;
  /** What the guest printed: the md5 digest, or gzip's output size in bytes. */
  readonly result: string;
}

/** The workload windows found in a boot's marker lines (a workload without both lines has none). */
export function workloadWindows(run: BootRun): WorkloadWindow[] {
  const windows: WorkloadWindow[] = [];
  const marks = run.marks ?? [];
  for (const w of WORKLOADS) {
    // Only lines the marker starts: /init echoes the whole command first ("running: ...").
    const begin = marks.find((m) => m.line.trim() === `${COMPUTE_MARK} begin ${w}`);
    const endRe = new RegExp(`^${COMPUTE_MARK} end ${w} ?(\\S*)\\s*$`);
    const end = marks.find((m) => endRe.test(m.line.trim()));
    if (begin === undefined || end === undefined) continue;
    const instructions =
      begin.instructions !== undefined && end.instructions !== undefined
        ? end.instructions - begin.instructions
        : undefined;
    windows.push({
      workload: w,
      seconds: end.seconds - begin.seconds,
      ...(instructions !== undefined ? { instructions } : {}),
      result: endRe.exec(end.line.trim())![1] ?? "",
    });
  }
  return windows;
}

export interface ComputeRowSummary {
  readonly id: ComputeRowId;
  readonly label: string;
  readonly workload: Workload;
  /** Runs with this workload's window, out of all runs. */
  readonly measured: number;
  readonly runCount: number;
  readonly seconds?: Spread;
  readonly instructions?: Spread;
  readonly mips?: Spread;
  /** QEMU: the first vmlab row's (else v86's) median instruction count over QEMU's median time. */
  readonly estimatedMips?: number;
  /** Distinct results the guest printed. */
  readonly results: readonly string[];
  /** Whether every result is the expected one (md5: the host's; gzip: the same in every row). */
  readonly resultOk: boolean;
  readonly vsQemu?: number;
  readonly vsV86?: number;
}

export interface ComputeBenchReport {
  readonly image: { readonly kernel: string; readonly initrd: string; readonly version: string };
  readonly cmdline: string;
  readonly command: string;
  readonly mib: number;
  readonly workloads: readonly Workload[];
  readonly runsPerRow: number;
  readonly timeoutS: number;
  readonly memoryMiB: number;
  readonly time: TimeMode;
  readonly expectedMd5?: string;
  readonly qemu: { readonly version: string } | { readonly missing: string } | null;
  readonly v86: V86Report | { readonly missing: string } | null;
  readonly host: { readonly cpu: string; readonly cpus: number; readonly node: string };
  readonly rows: readonly ComputeRowSummary[];
  /** Every boot, per row, with its windows. */
  readonly runs: Readonly<Record<string, readonly { run: BootRun; windows: WorkloadWindow[] }[]>>;
}

/** The table rows, workload by workload, from every row's runs. */
export function summarizeCompute(
  ids: readonly ComputeRowId[],
  runs: ReadonlyMap<ComputeRowId, readonly WorkloadWindow[][]>,
  workloads: readonly Workload[],
  md5: string | undefined,
): ComputeRowSummary[] {
  const rows: ComputeRowSummary[] = [];
  for (const w of workloads) {
    const perRow = ids.map((id) => {
      const all = runs.get(id) ?? [];
      const windows = all.flatMap((ws) => ws.filter((x) => x.workload === w));
      const figures = (f: (x: WorkloadWindow) => number | undefined): Spread | undefined =>
        spread(windows.map(f).filter((v): v is number => v !== undefined));
      return {
        id,
        windows,
        runCount: all.length,
        seconds: figures((x) => x.seconds),
        instructions: figures((x) => x.instructions),
        mips: figures((x) =>
          x.instructions !== undefined && x.seconds > 0 ? x.instructions / x.seconds / 1e6 : undefined,
        ),
      };
    });
    const allResults = [...new Set(perRow.flatMap((r) => r.windows.map((x) => x.result)))];
    // md5: the host's digest; gzip (or md5 without the host's): one value across all rows.
    const agreed = allResults.length === 1 ? allResults[0] : undefined;
    const expected = w === "md5" && md5 !== undefined ? md5 : agreed;
    const q = perRow.find((r) => r.id === "qemu");
    const v = perRow.find((r) => r.id === "v86");
    // The instruction count behind QEMU's estimate: vmlab's (interp first), else v86's.
    const counted =
      perRow.find((r) => r.id.startsWith("vmlab-") && r.instructions !== undefined) ??
      perRow.find((r) => r.instructions !== undefined);
    for (const r of perRow) {
      const results = [...new Set(r.windows.map((x) => x.result))];
      const vsQemu = q !== undefined && r !== q ? medianRatio(r.seconds, q.seconds) : undefined;
      const vsV86 = v !== undefined && r !== v ? medianRatio(r.seconds, v.seconds) : undefined;
      const estimatedMips =
        r.id === "qemu" && counted?.instructions !== undefined && r.seconds !== undefined
          ? counted.instructions.median / r.seconds.median / 1e6
          : undefined;
      const fields = {
        seconds: r.seconds,
        instructions: r.instructions,
        mips: r.mips,
        estimatedMips,
        vsQemu,
        vsV86,
      };
      rows.push({
        id: r.id,
        label: COMPUTE_ROW_LABELS[r.id],
        workload: w,
        measured: r.windows.length,
        runCount: r.runCount,
        results,
        resultOk: results.length > 0 && expected !== undefined && results.every((x) => x === expected),
        ...Object.fromEntries(Object.entries(fields).filter(([, x]) => x !== undefined)),
      });
    }
  }
  return rows;
}

/** The report as a text table: medians with (min-max) over the runs that measured the workload. */
export function formatComputeTable(rows: readonly ComputeRowSummary[], mib: number): string {
  const header = [
    "engine",
    "workload",
    "runs",
    "host s",
    "instructions",
    "MIPS",
    "MiB/s",
    "vs qemu",
    "vs v86",
    "result",
  ];
  const body = rows.map((r) => [
    r.label,
    `${r.workload} ${mib} MiB`,
    `${r.measured}/${r.runCount}`,
    formatSpread(r.seconds, 2),
    r.instructions !== undefined ? formatCount(r.instructions.median) : "-",
    r.mips !== undefined
      ? formatSpread(r.mips, 1)
      : r.estimatedMips !== undefined
        ? `~${r.estimatedMips.toFixed(1)}`
        : "-",
    r.seconds !== undefined ? (mib / r.seconds.median).toFixed(2) : "-",
    formatRatio(r.vsQemu),
    formatRatio(r.vsV86),
    r.results.length === 0 ? "-" : `${r.resultOk ? "ok" : "WRONG"} ${r.results.join(",").slice(0, 12)}`,
  ]);
  const align: Align[] = ["left", "left", ...Array<Align>(7).fill("right"), "left"];
  return formatTable([header, ...body], align);
}

export function formatComputeNotes(report: ComputeBenchReport): string {
  const notes = [
    `guest: ${report.image.version}, ${report.memoryMiB} MiB, ${report.runsPerRow} run(s) per row, timeout ${report.timeoutS} s per boot, vmlab time ${report.time}, vmlab entry vmlinux`,
    `input: ${INPUT_FILE} repeated and cut to ${report.mib} MiB, streamed through a pipe (\`data | md5sum\`, \`data | gzip -c | wc -c\`)`,
    `host s: from the "${COMPUTE_MARK} begin W" line to the "${COMPUTE_MARK} end W" line on the host; MIPS: guest instructions retired in that window / host s`,
    "qemu MIPS '~': the first vmlab row's (else v86's) median instruction count for the window over QEMU's median time (QEMU counts no instructions without -icount)",
    "vs qemu, vs v86: this row's median time / the reference's (below 1: faster); result: md5 digest (checked against the host's) or gzip size (must agree across rows)",
  ];
  if (report.expectedMd5 !== undefined) notes.push(`expected md5 (host): ${report.expectedMd5}`);
  if (report.qemu !== null && "missing" in report.qemu) notes.push(`qemu: ${report.qemu.missing}`);
  else if (report.qemu !== null) notes.push(`qemu: ${report.qemu.version}, -cpu ${QEMU_CPU}`);
  if (report.v86 !== null && "missing" in report.v86) notes.push(`v86: ${report.v86.missing}`);
  else if (report.v86 !== null) notes.push(v86Note(report.v86, report.memoryMiB));
  for (const [id, runs] of Object.entries(report.runs)) {
    runs.forEach(({ run, windows }, i) => {
      if (run.status === "ok" && windows.length === report.workloads.length) return;
      notes.push(
        `${COMPUTE_ROW_LABELS[id as ComputeRowId]} run ${i + 1}: ${run.status} (stop: ${run.stop}) after ${run.seconds.toFixed(1)} s, ` +
          `${windows.length} workload(s) measured; console: ${run.failureLine}`,
      );
    });
  }
  return notes.map((n) => `  ${n}`).join("\n");
}

export async function runComputeBench(
  opts: ComputeBenchOptions,
  log: (msg: string) => void,
): Promise<ComputeBenchReport> {
  if (!Number.isInteger(opts.runs) || opts.runs < 1)
    throw new BootBenchError("--runs must be a positive integer");
  if (!Number.isInteger(opts.mib) || opts.mib < 1)
    throw new BootBenchError("--mib must be a positive integer");
  if (opts.workloads.length === 0) throw new BootBenchError("no workload chosen");
  const command = computeCommand(opts.mib, opts.workloads);
  const { image, cmdline, initLine } = benchImage(command, undefined);
  const md5 = expectedMd5(readFileSync(image.initrd), opts.mib);
  const timeoutMs = opts.timeoutS * 1000;

  const ids: ComputeRowId[] = opts.vmlab ? opts.engines.map((e): ComputeRowId => `vmlab-${e}`) : [];
  let qemu: ComputeBenchReport["qemu"] = null;
  const qemuConfig = { kernel: image.kernel, initrd: image.initrd, cmdline, memoryMiB: opts.memoryMiB };
  if (opts.qemu) {
    qemu = ensureQemu(log);
    if ("missing" in qemu) log(qemu.missing);
    else ids.push("qemu");
  }
  const v86 = opts.v86 ? v86ForBench(image.initrd, opts.memoryMiB, log) : undefined;
  if (v86 !== undefined && !("missing" in v86)) ids.push("v86");
  if (ids.length === 0) throw new BootBenchError("no rows to run");

  log(
    `compute benchmark: ${opts.workloads.join(", ")} of ${opts.mib} MiB; rows: ${ids.map((id) => COMPUTE_ROW_LABELS[id]).join(", ")}; ${opts.runs} run(s) each`,
  );
  const runs = new Map<ComputeRowId, { run: BootRun; windows: WorkloadWindow[] }[]>(
    ids.map((id) => [id, []]),
  );
  const total = ids.length * opts.runs;
  const watch = { timeoutMs, markPrefix: COMPUTE_MARK };
  let n = 0;
  for (let i = 0; i < opts.runs; i++) {
    for (const id of ids) {
      let run: BootRun;
      if (id === "qemu") {
        run = await runConsoleProcess(QEMU_BINARY, qemuBootArgs(qemuConfig), initLine, watch);
      } else if (id === "v86" && v86 !== undefined && !("missing" in v86)) {
        const { kernel, initrd } = image;
        const memoryMiB = v86.report.memoryMiB;
        run = await runV86Boot(v86.setup, { kernel, initrd, cmdline, memoryMiB, timeoutMs, initLine }, watch);
      } else {
        const engine = id.slice("vmlab-".length) as Engine;
        run = await runVmlabBoot(
          {
            kernel: image.kernel,
            initrd: image.initrd,
            cmdline,
            entry: "vmlinux",
            engine,
            memoryMiB: opts.memoryMiB,
            timeoutMs,
            time: opts.time,
            initLine,
          },
          watch,
        );
      }
      const windows = workloadWindows(run);
      runs.get(id)!.push({ run, windows });
      const figures = windows.map(
        (x) =>
          `${x.workload} ${x.seconds.toFixed(2)} s` +
          (x.instructions !== undefined ? ` ${(x.instructions / x.seconds / 1e6).toFixed(1)} MIPS` : "") +
          ` (${x.result})`,
      );
      log(
        `[${++n}/${total}] ${describeRun(COMPUTE_ROW_LABELS[id], i, run)}; ${figures.join(", ") || "no window"}`,
      );
    }
  }

  const windows = new Map([...runs].map(([id, rs]) => [id, rs.map((r) => r.windows)] as const));
  const cpu = cpus()[0]?.model ?? "unknown";
  return {
    image,
    cmdline,
    command,
    mib: opts.mib,
    workloads: opts.workloads,
    runsPerRow: opts.runs,
    timeoutS: opts.timeoutS,
    memoryMiB: opts.memoryMiB,
    time: opts.time,
    ...(md5 !== undefined ? { expectedMd5: md5 } : {}),
    qemu,
    v86: v86 === undefined ? null : "missing" in v86 ? v86 : v86.report,
    host: { cpu, cpus: cpus().length, node: process.version },
    rows: summarizeCompute(ids, windows, opts.workloads, md5),
    runs: Object.fromEntries(runs),
  };
}
