/**
 * The boot benchmark behind `vmlab bench boot`: boots the default Debian guest (kernel,
 * initramfs, the same command line) in vmlab, in QEMU TCG and in v86 several times, runs a
 * trivial command in it, and reports host seconds to "/init started" and to "command done".
 *
 * Rows: per vmlab CPU engine (`interp`, `bt`), vmlab through the kernel's own decompressor
 * (the main comparison with QEMU and v86, which always boot that way) and vmlab entering
 * vmlinux after host-side decompression (its load time shown apart); then QEMU and v86
 * (v86.ts). vmlab and v86 boots run in child processes (boot-child.ts, v86-child.ts), QEMU
 * is one; one boot at a time, so a crash or a hang ends that boot only, and boots of the
 * different rows are interleaved so a change in host load falls on all rows alike. Every row
 * gets the ratios of its medians to QEMU's and to v86's.
 */

import { readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { EntryPath } from "../boot/index.js";
import {
  DEFAULT_KERNEL_ARGS,
  defaultImage,
  EXIT_MARKER,
  execCmdlineArg,
  parseCpio,
} from "../images/index.js";
import type { TimeMode } from "../machine/machine.js";
import { vmlabNodeFlags } from "../machine/node-flags.js";
import type { BootChildConfig, Engine } from "./boot-child.js";
import { type BootRun, runChildBoot, type WatchOptions } from "./boot-run.js";
import { INIT_STARTED_LINE, KERNEL_RUN_INIT_LINE } from "./console-watch.js";
import { ensureQemu, QEMU_BINARY, QEMU_CPU, qemuBootArgs, runQemuBoot } from "./qemu.js";
import {
  type Align,
  formatCount,
  formatRatio,
  formatSpread,
  formatTable,
  type Spread,
  spread,
} from "./table.js";
import { ensureV86, runV86Boot, V86_INITRD_ADDRESS, type V86Setup, v86MemoryMiB } from "./v86.js";

export type { Engine } from "./boot-child.js";
export type EntryChoice = EntryPath | "both";

/** vmlab's CPU engines, in row order (MachineOptions.engine). */
export const ENGINES: readonly Engine[] = ["interp", "bt"];

export interface BootBenchOptions {
  readonly runs: number;
  /** Host seconds allowed per boot. */
  readonly timeoutS: number;
  readonly qemu: boolean;
  /** Whether to boot v86 (the v86 row). */
  readonly v86: boolean;
  /** Whether to boot vmlab at all (false: the reference rows only). */
  readonly vmlab: boolean;
  /** vmlab's CPU engines, a row (or two, see `entry`) each (default: all of ENGINES). */
  readonly engines?: readonly Engine[];
  readonly entry: EntryChoice;
  /** Extra kernel arguments after DEFAULT_KERNEL_ARGS. */
  readonly append?: string;
  readonly memoryMiB: number;
  /** The command /init runs (vmlab.exec); its end is "command done". */
  readonly command: string;
  readonly time: TimeMode;
}

export type VmlabRowId = `vmlab-${Engine}-${EntryPath}`;
export type RowId = VmlabRowId | "qemu-decompressor" | "v86-decompressor";

export const ROW_LABELS: Record<RowId, string> = {
  "vmlab-interp-decompressor": "vmlab interp decompressor",
  "vmlab-interp-vmlinux": "vmlab interp vmlinux",
  "vmlab-bt-decompressor": "vmlab bt decompressor",
  "vmlab-bt-vmlinux": "vmlab bt vmlinux",
  "qemu-decompressor": "qemu tcg decompressor",
  "v86-decompressor": "v86 decompressor",
};

/** The engine and entry path of a vmlab row. */
export function vmlabRow(id: RowId): { engine: Engine; entry: EntryPath } | undefined {
  const m = /^vmlab-(\w+)-(\w+)$/.exec(id);
  return m === null ? undefined : { engine: m[1] as Engine, entry: m[2] as EntryPath };
}

export interface RowSummary {
  readonly id: RowId;
  readonly label: string;
  readonly statuses: Record<BootRun["status"], number>;
  readonly loadSeconds?: Spread;
  readonly initSeconds?: Spread;
  readonly doneSeconds?: Spread;
  readonly initInstructions?: Spread;
  readonly doneInstructions?: Spread;
  readonly mips?: Spread;
  /** This row's median / QEMU's median, and / v86's, when both have figures. */
  readonly initVsQemu?: number;
  readonly doneVsQemu?: number;
  readonly initVsV86?: number;
  readonly doneVsV86?: number;
  readonly runs: readonly BootRun[];
}

export interface BootBenchReport {
  readonly image: { readonly kernel: string; readonly initrd: string; readonly version: string };
  readonly cmdline: string;
  /** The console line taken as "/init started", and where it comes from. */
  readonly initLine: string;
  readonly initMarker: "image" | "kernel";
  readonly doneMarker: string;
  readonly runsPerRow: number;
  readonly timeoutS: number;
  readonly memoryMiB: number;
  readonly time: TimeMode;
  readonly qemu:
    | { readonly version: string; readonly args: readonly string[] }
    | { readonly missing: string }
    | null;
  /** The v86 package's version and the RAM the v86 row got (see v86.ts), or why it did not run. */
  readonly v86: V86Report | { readonly missing: string } | null;
  readonly host: { readonly cpu: string; readonly cpus: number; readonly node: string };
  readonly rows: readonly RowSummary[];
}

/** What the reports say about the v86 row. */
export interface V86Report {
  readonly version: string;
  /** RAM given to v86 (see v86MemoryMiB). */
  readonly memoryMiB: number;
  readonly bios: string;
}

export class BootBenchError extends Error {
  override readonly name = "BootBenchError";
}

/** Whether the initramfs's /init prints INIT_STARTED_LINE (gzip'd newc cpio, as `vmlab image build` writes). */
export function initPrintsStartedLine(initrd: Uint8Array): boolean {
  try {
    const cpio = initrd[0] === 0x1f && initrd[1] === 0x8b ? gunzipSync(initrd) : initrd;
    const init = parseCpio(cpio).find((e) => e.name === "init" || e.name === "./init");
    return init !== undefined && Buffer.from(init.data).toString("latin1").includes(INIT_STARTED_LINE);
  } catch {
    return false;
  }
}

/**
 * The kernel command line and the "/init started" marker. With an image whose /init prints
 * INIT_STARTED_LINE, the stock arguments; otherwise `loglevel=7` is added (after `quiet`, so
 * it wins) to get the kernel's KERN_INFO "Run /init as init process" line, at the cost of
 * printing the whole boot log on the serial console in every engine alike.
 */
export function bootCmdline(
  imageHasMarker: boolean,
  command: string,
  append: string | undefined,
): { cmdline: string; initLine: string } {
  const parts = [DEFAULT_KERNEL_ARGS];
  if (!imageHasMarker) parts.push("loglevel=7");
  if (append !== undefined && append.trim() !== "") parts.push(append.trim());
  parts.push(execCmdlineArg(command));
  return { cmdline: parts.join(" "), initLine: imageHasMarker ? INIT_STARTED_LINE : KERNEL_RUN_INIT_LINE };
}

const CHILD_SCRIPT = fileURLToPath(new URL("./boot-child.js", import.meta.url));
/**
 * Node options of a vmlab child: the ones `vmlab run` runs under (machine/node-flags.ts), so
 * that a benchmarked boot runs the engine as `vmlab run` does.
 */
export const VMLAB_NODE_FLAGS: readonly string[] = vmlabNodeFlags();

/** Boots once in vmlab in a child process (boot-child.ts). */
export function runVmlabBoot(
  config: BootChildConfig,
  opts: Omit<WatchOptions, "timeoutMs"> = {},
): Promise<BootRun> {
  return runChildBoot(CHILD_SCRIPT, VMLAB_NODE_FLAGS, config, { ...opts, timeoutMs: config.timeoutMs });
}

/** One line of progress for a finished boot. */
export function describeRun(label: string, index: number, r: BootRun): string {
  const parts = [`${label} run ${index + 1}: ${r.status}`];
  if (r.loadSeconds !== undefined) parts.push(`load ${r.loadSeconds.toFixed(2)} s`);
  parts.push(r.init !== undefined ? `/init ${r.init.seconds.toFixed(2)} s` : "no /init");
  if (r.done !== undefined) parts.push(`done ${r.done.seconds.toFixed(2)} s`);
  if (r.instructions !== undefined) parts.push(`${formatCount(r.instructions)} instr`);
  if (r.mips !== undefined) parts.push(`${r.mips.toFixed(1)} MIPS`);
  parts.push(`end ${r.seconds.toFixed(2)} s (${r.stop})`);
  let s = parts.join(", ");
  if (r.status !== "ok") {
    s += `\n    last console lines:${r.consoleTail
      .slice(-4)
      .map((l) => `\n      ${l}`)
      .join("")}`;
  }
  if (r.status !== "ok" && r.firstFault !== undefined && r.firstFault !== r.failureLine) {
    s += `\n    first fault: ${JSON.stringify(r.firstFault)}`;
  }
  return s;
}

export function summarizeRow(id: RowId, runs: readonly BootRun[]): RowSummary {
  const statuses = { ok: 0, timeout: 0, crashed: 0 };
  for (const r of runs) statuses[r.status]++;
  const figures = (f: (r: BootRun) => number | undefined): Spread | undefined =>
    spread(runs.map(f).filter((v): v is number => v !== undefined));
  const fields = {
    loadSeconds: figures((r) => r.loadSeconds),
    initSeconds: figures((r) => r.init?.seconds),
    doneSeconds: figures((r) => r.done?.seconds),
    initInstructions: figures((r) => r.init?.instructions),
    doneInstructions: figures((r) => r.done?.instructions),
    mips: figures((r) => r.mips),
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { id, label: ROW_LABELS[id], statuses, ...defined, runs };
}

/** The ratio of two medians, when both are there. */
export function medianRatio(a: Spread | undefined, b: Spread | undefined): number | undefined {
  return a !== undefined && b !== undefined && b.median > 0 ? a.median / b.median : undefined;
}

/** Adds to every row the ratios of its medians to QEMU's and to v86's (not to itself). */
export function withRatios(rows: readonly RowSummary[]): RowSummary[] {
  const q = rows.find((r) => r.id === "qemu-decompressor");
  const v = rows.find((r) => r.id === "v86-decompressor");
  return rows.map((r) => {
    const vsQ = q !== undefined && r !== q;
    const vsV = v !== undefined && r !== v;
    const ratios = {
      initVsQemu: vsQ ? medianRatio(r.initSeconds, q.initSeconds) : undefined,
      doneVsQemu: vsQ ? medianRatio(r.doneSeconds, q.doneSeconds) : undefined,
      initVsV86: vsV ? medianRatio(r.initSeconds, v.initSeconds) : undefined,
      doneVsV86: vsV ? medianRatio(r.doneSeconds, v.doneSeconds) : undefined,
    };
    return { ...r, ...Object.fromEntries(Object.entries(ratios).filter(([, x]) => x !== undefined)) };
  });
}

function statusCell(s: RowSummary["statuses"]): string {
  const total = s.ok + s.timeout + s.crashed;
  const parts = (["ok", "timeout", "crashed"] as const)
    .filter((k) => s[k] > 0)
    .map((k) => `${k} ${s[k]}/${total}`);
  return parts.join(", ") || "-";
}

/** The report as a text table: medians with (min-max) over the runs that reached each point. */
export function formatBootTable(rows: readonly RowSummary[]): string {
  const header = [
    "engine / entry",
    "status",
    "host load s",
    "to /init s",
    "to done s",
    "instr to /init",
    "instr to done",
    "MIPS",
    "/init vs qemu",
    "done vs qemu",
    "/init vs v86",
    "done vs v86",
  ];
  const body = rows.map((r) => [
    r.label,
    statusCell(r.statuses),
    formatSpread(r.loadSeconds, 2),
    formatSpread(r.initSeconds, 2),
    formatSpread(r.doneSeconds, 2),
    r.initInstructions !== undefined ? formatCount(r.initInstructions.median) : "-",
    r.doneInstructions !== undefined ? formatCount(r.doneInstructions.median) : "-",
    formatSpread(r.mips, 1),
    formatRatio(r.initVsQemu),
    formatRatio(r.doneVsQemu),
    formatRatio(r.initVsV86),
    formatRatio(r.doneVsV86),
  ]);
  const align: Align[] = ["left", "left", ...Array<Align>(header.length - 2).fill("right")];
  return formatTable([header, ...body], align);
}

/** Notes printed under the table: what was measured, and why each failed boot failed. */
export function formatNotes(report: BootBenchReport): string {
  const notes = [
    `guest: ${report.image.version}, ${report.memoryMiB} MiB, ${report.runsPerRow} run(s) per row, timeout ${report.timeoutS} s per boot, vmlab time ${report.time}`,
    `cmdline: ${report.cmdline}`,
    `"/init" = first console line containing ${JSON.stringify(report.initLine)}` +
      (report.initMarker === "kernel"
        ? " (this image's /init prints no start line, so loglevel=7 was added to see the kernel's)"
        : ""),
    `"done" = /init's "${report.doneMarker} 0" line; times are host seconds from the start (vmlab: before loadLinux; qemu: process spawn; v86: before the emulator is created)`,
    "figures: median (min-max) over the runs that reached that point; qemu instruction counts are '-' (-icount would change its timing)",
    "host load s: vmlab's JIT warm-up (--cpu bt) and loadLinux (vmlinux: host-side decompression), v86's set-up until it starts the CPU; MIPS: instructions over the run after that",
    "vs qemu, vs v86: this row's median time / the reference row's median time (below 1: faster than the reference); compare vmlab's decompressor rows, which boot as QEMU and v86 do",
  ];
  if (report.qemu !== null && "missing" in report.qemu) notes.push(`qemu: ${report.qemu.missing}`);
  else if (report.qemu !== null) notes.push(`qemu: ${report.qemu.version}, -cpu ${QEMU_CPU}`);
  if (report.v86 !== null && "missing" in report.v86) notes.push(`v86: ${report.v86.missing}`);
  else if (report.v86 !== null) notes.push(v86Note(report.v86, report.memoryMiB));
  for (const row of report.rows) {
    row.runs.forEach((r, i) => {
      if (r.status === "ok") return;
      const what = r.done === undefined ? "no exit-status line" : `command exit status ${r.exitStatus}`;
      notes.push(
        `${row.label} run ${i + 1}: ${r.status} (stop: ${r.stop}) after ${r.seconds.toFixed(1)} s, ${what}; ` +
          `console: ${r.failureLine}`,
      );
    });
  }
  return notes.map((n) => `  ${n}`).join("\n");
}

/** The v86 line of the notes (also used by the compute benchmark). */
export function v86Note(v86: V86Report, memoryMiB: number): string {
  const ram =
    v86.memoryMiB === memoryMiB
      ? `${v86.memoryMiB} MiB`
      : `${v86.memoryMiB} MiB (v86 loads the initrd at ${V86_INITRD_ADDRESS / 2 ** 20} MiB, so it needs more than the others' ${memoryMiB} MiB; --mem ${v86.memoryMiB} gives every row the same)`;
  return `v86: npm v86 ${v86.version} (wasm JIT), SeaBIOS ${v86.bios}, RAM ${ram}; instructions from its counter`;
}

/** The image's files and command line for a benchmark run, or an error when there is no image. */
export function benchImage(
  command: string,
  append: string | undefined,
): {
  image: NonNullable<ReturnType<typeof defaultImage>>;
  hasMarker: boolean;
  cmdline: string;
  initLine: string;
} {
  const image = defaultImage();
  if (image === undefined) {
    throw new BootBenchError("no guest image built yet: run `vmlab image build` first");
  }
  const hasMarker = initPrintsStartedLine(readFileSync(image.initrd));
  return { image, hasMarker, ...bootCmdline(hasMarker, command, append) };
}

/** The v86 set-up for a benchmark (or why it is missing), logging what it finds. */
export function v86ForBench(
  initrd: string,
  memoryMiB: number,
  log: (msg: string) => void,
): { setup: V86Setup; report: V86Report } | { missing: string } {
  const setup = ensureV86(log);
  if ("missing" in setup) {
    log(`v86: ${setup.missing}`);
    return setup;
  }
  const mib = v86MemoryMiB(memoryMiB, statSync(initrd).size);
  return { setup, report: { version: setup.version, memoryMiB: mib, bios: setup.bios } };
}

export async function runBootBench(
  opts: BootBenchOptions,
  log: (msg: string) => void,
): Promise<BootBenchReport> {
  if (!Number.isInteger(opts.runs) || opts.runs < 1)
    throw new BootBenchError("--runs must be a positive integer");
  const { image, hasMarker, cmdline, initLine } = benchImage(opts.command, opts.append);
  const timeoutMs = opts.timeoutS * 1000;

  const ids: RowId[] = [];
  const engines = opts.engines ?? ENGINES;
  if (opts.vmlab && engines.length === 0) throw new BootBenchError("no vmlab engine chosen (--cpu)");
  for (const engine of opts.vmlab ? engines : []) {
    if (opts.entry !== "vmlinux") ids.push(`vmlab-${engine}-decompressor`);
    if (opts.entry !== "decompressor") ids.push(`vmlab-${engine}-vmlinux`);
  }
  let qemu: BootBenchReport["qemu"] = null;
  const qemuConfig = { kernel: image.kernel, initrd: image.initrd, cmdline, memoryMiB: opts.memoryMiB };
  if (opts.qemu) {
    const q = ensureQemu(log);
    qemu = "version" in q ? { version: q.version, args: qemuBootArgs(qemuConfig) } : q;
    if ("missing" in q) log(q.missing);
    else ids.push("qemu-decompressor");
  }
  const v86 = opts.v86 ? v86ForBench(image.initrd, opts.memoryMiB, log) : undefined;
  if (v86 !== undefined && !("missing" in v86)) ids.push("v86-decompressor");
  const bootOnce = (id: RowId): Promise<BootRun> => {
    const vm = vmlabRow(id);
    if (vm !== undefined) {
      return runVmlabBoot({
        kernel: image.kernel,
        initrd: image.initrd,
        cmdline,
        entry: vm.entry,
        engine: vm.engine,
        memoryMiB: opts.memoryMiB,
        timeoutMs,
        time: opts.time,
        initLine,
      });
    }
    if (id === "v86-decompressor" && v86 !== undefined && !("missing" in v86)) {
      const { kernel, initrd } = image;
      const memoryMiB = v86.report.memoryMiB;
      return runV86Boot(v86.setup, { kernel, initrd, cmdline, memoryMiB, timeoutMs, initLine });
    }
    return runQemuBoot(qemuConfig, initLine, timeoutMs, QEMU_BINARY);
  };

  log(
    `boot benchmark: ${image.version}, rows: ${ids.map((id) => ROW_LABELS[id]).join(", ")}; ${opts.runs} run(s) each`,
  );
  log(`cmdline: ${cmdline}`);
  const runs = new Map<RowId, BootRun[]>(ids.map((id) => [id, []]));
  const total = ids.length * opts.runs;
  let n = 0;
  for (let i = 0; i < opts.runs; i++) {
    for (const id of ids) {
      const r = await bootOnce(id);
      runs.get(id)!.push(r);
      log(`[${++n}/${total}] ${describeRun(ROW_LABELS[id], i, r)}`);
    }
  }

  const cpu = cpus()[0]?.model ?? "unknown";
  return {
    image,
    cmdline,
    initLine,
    initMarker: hasMarker ? "image" : "kernel",
    doneMarker: EXIT_MARKER,
    runsPerRow: opts.runs,
    timeoutS: opts.timeoutS,
    memoryMiB: opts.memoryMiB,
    time: opts.time,
    qemu,
    v86: v86 === undefined ? null : "missing" in v86 ? v86 : v86.report,
    host: { cpu, cpus: cpus().length, node: process.version },
    rows: withRatios(ids.map((id) => summarizeRow(id, runs.get(id)!))),
  };
}
