/**
 * The boot benchmark behind `vmlab bench boot`: boots the default Debian guest (kernel,
 * initramfs, the same command line) in vmlab and in QEMU TCG several times, runs a trivial
 * command in it, and reports host seconds to "/init started" and to "command done".
 *
 * Rows: vmlab through the kernel's own decompressor (the main comparison with QEMU, which
 * always boots that way), vmlab entering vmlinux after host-side decompression (its load
 * time shown apart), and QEMU. vmlab boots run in child processes (boot-child.ts), one at a
 * time, so a crash or a hang ends that boot only; boots of the different rows are
 * interleaved so a change in host load falls on all rows alike.
 */

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
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
import type { BootChildConfig, ChildEvent } from "./boot-child.js";
import { type BootRun, classify } from "./boot-run.js";
import { INIT_STARTED_LINE, KERNEL_RUN_INIT_LINE, type StageHit } from "./console-watch.js";
import { ensureQemu, QEMU_BINARY, QEMU_CPU, qemuBootArgs, runQemuBoot } from "./qemu.js";
import { type Align, formatCount, formatSpread, formatTable, type Spread, spread } from "./table.js";

export type EntryChoice = EntryPath | "both";

export interface BootBenchOptions {
  readonly runs: number;
  /** Host seconds allowed per boot. */
  readonly timeoutS: number;
  readonly qemu: boolean;
  /** Whether to boot vmlab at all (false: the QEMU row only). */
  readonly vmlab: boolean;
  readonly entry: EntryChoice;
  /** Extra kernel arguments after DEFAULT_KERNEL_ARGS. */
  readonly append?: string;
  readonly memoryMiB: number;
  /** The command /init runs (vmlab.exec); its end is "command done". */
  readonly command: string;
  readonly time: TimeMode;
}

export type RowId = "vmlab-decompressor" | "vmlab-vmlinux" | "qemu-decompressor";

export const ROW_LABELS: Record<RowId, string> = {
  "vmlab-decompressor": "vmlab decompressor",
  "vmlab-vmlinux": "vmlab vmlinux",
  "qemu-decompressor": "qemu tcg decompressor",
};

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
  /** vmlab median / QEMU median, when both have figures. */
  readonly initVsQemu?: number;
  readonly doneVsQemu?: number;
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
  readonly host: { readonly cpu: string; readonly cpus: number; readonly node: string };
  readonly rows: readonly RowSummary[];
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
/** Time the parent grants a vmlab child beyond its own timeout (start-up, load, reporting) before killing it. */
const CHILD_GRACE_MS = 30_000;
/** Console lines kept per boot for the JSON report. */
const TAIL_LINES = 12;

/** Boots once in vmlab in a child process. */
export function runVmlabBoot(config: BootChildConfig): Promise<BootRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CHILD_SCRIPT, JSON.stringify(config)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let loadSeconds: number | undefined;
    const stages: { init?: StageHit; done?: StageHit; panic?: StageHit } = {};
    const tail: string[] = [];
    let end: Extract<ChildEvent, { event: "end" }> | undefined;
    let error: string | undefined;
    let killed = false;
    let stderr = "";
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, config.timeoutMs + CHILD_GRACE_MS);

    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let e: ChildEvent;
        try {
          e = JSON.parse(text) as ChildEvent;
        } catch {
          continue; // Not an event (a stray log line).
        }
        if (e.event === "loaded") loadSeconds = e.loadSeconds;
        else if (e.event === "stage")
          stages[e.stage] ??= { seconds: e.seconds, line: e.line, ...pickInstr(e) };
        else if (e.event === "line") {
          tail.push(e.text);
          if (tail.length > TAIL_LINES) tail.shift();
        } else if (e.event === "end") end = e;
        else error = e.message;
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    child.on("error", (e) => {
      error = e.message;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = end?.seconds ?? (performance.now() - t0) / 1000;
      const timedOut = end?.reason === "timeout" || killed;
      const stop =
        end !== undefined
          ? end.reason
          : killed
            ? "killed (no answer after the timeout)"
            : error !== undefined
              ? `vmlab error: ${error.split("\n")[0]}`
              : `child ${signal !== null ? `signal ${signal}` : `exit ${code}`}: ${stderr.trim().split("\n").at(-1) ?? ""}`;
      const exitStatus = end?.exitStatus ?? undefined;
      const instructions = end?.instructions;
      resolve({
        status: classify({ done: stages.done, exitStatus: exitStatus ?? undefined, timedOut }),
        seconds,
        ...(loadSeconds !== undefined ? { loadSeconds } : {}),
        ...(stages.init !== undefined ? { init: stages.init } : {}),
        ...(stages.done !== undefined ? { done: stages.done } : {}),
        ...(exitStatus !== null && exitStatus !== undefined ? { exitStatus } : {}),
        ...(instructions !== undefined ? { instructions } : {}),
        ...(end !== undefined && end.runSeconds > 0 ? { mips: end.instructions / end.runSeconds / 1e6 } : {}),
        stop,
        failureLine: end?.failureLine || stages.panic?.line || (tail.at(-1) ?? ""),
        ...(end?.firstFault ? { firstFault: end.firstFault } : {}),
        consoleTail: tail,
      });
    });
  });
}

function pickInstr(h: { instructions?: number }): { instructions?: number } {
  return h.instructions !== undefined ? { instructions: h.instructions } : {};
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

/** Adds the vmlab/QEMU ratios of the medians to the vmlab rows. */
export function withRatios(rows: readonly RowSummary[]): RowSummary[] {
  const q = rows.find((r) => r.id === "qemu-decompressor");
  return rows.map((r) => {
    if (r === q || q === undefined) return r;
    const ratio = (a?: Spread, b?: Spread): number | undefined =>
      a !== undefined && b !== undefined && b.median > 0 ? a.median / b.median : undefined;
    const initVsQemu = ratio(r.initSeconds, q.initSeconds);
    const doneVsQemu = ratio(r.doneSeconds, q.doneSeconds);
    return {
      ...r,
      ...(initVsQemu !== undefined ? { initVsQemu } : {}),
      ...(doneVsQemu !== undefined ? { doneVsQemu } : {}),
    };
  });
}

function statusCell(s: RowSummary["statuses"]): string {
  const total = s.ok + s.timeout + s.crashed;
  const parts = (["ok", "timeout", "crashed"] as const)
    .filter((k) => s[k] > 0)
    .map((k) => `${k} ${s[k]}/${total}`);
  return parts.join(", ") || "-";
}

const ratioCell = (x: number | undefined): string => (x === undefined ? "-" : `${x.toFixed(1)}x`);

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
    ratioCell(r.initVsQemu),
    ratioCell(r.doneVsQemu),
  ]);
  const align: Align[] = ["left", "left", ...Array<Align>(8).fill("right")];
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
    `"done" = /init's "${report.doneMarker} 0" line; times are host seconds from the start (vmlab: before loadLinux; qemu: process spawn)`,
    "figures: median (min-max) over the runs that reached that point; qemu instruction counts are '-' (-icount would change its timing)",
  ];
  if (report.qemu !== null && "missing" in report.qemu) notes.push(`qemu: ${report.qemu.missing}`);
  else if (report.qemu !== null) notes.push(`qemu: ${report.qemu.version}, -cpu ${QEMU_CPU}`);
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

export async function runBootBench(
  opts: BootBenchOptions,
  log: (msg: string) => void,
): Promise<BootBenchReport> {
  if (!Number.isInteger(opts.runs) || opts.runs < 1)
    throw new BootBenchError("--runs must be a positive integer");
  const image = defaultImage();
  if (image === undefined) {
    throw new BootBenchError("no guest image built yet: run `vmlab image build` first");
  }
  const hasMarker = initPrintsStartedLine(readFileSync(image.initrd));
  const { cmdline, initLine } = bootCmdline(hasMarker, opts.command, opts.append);
  const timeoutMs = opts.timeoutS * 1000;

  const ids: RowId[] = [];
  if (opts.vmlab && opts.entry !== "vmlinux") ids.push("vmlab-decompressor");
  if (opts.vmlab && opts.entry !== "decompressor") ids.push("vmlab-vmlinux");
  let qemu: BootBenchReport["qemu"] = null;
  const qemuConfig = { kernel: image.kernel, initrd: image.initrd, cmdline, memoryMiB: opts.memoryMiB };
  if (opts.qemu) {
    const q = ensureQemu(log);
    qemu = "version" in q ? { version: q.version, args: qemuBootArgs(qemuConfig) } : q;
    if ("missing" in q) log(q.missing);
    else ids.push("qemu-decompressor");
  }

  log(
    `boot benchmark: ${image.version}, rows: ${ids.map((id) => ROW_LABELS[id]).join(", ")}; ${opts.runs} run(s) each`,
  );
  log(`cmdline: ${cmdline}`);
  const runs = new Map<RowId, BootRun[]>(ids.map((id) => [id, []]));
  const total = ids.length * opts.runs;
  let n = 0;
  for (let i = 0; i < opts.runs; i++) {
    for (const id of ids) {
      const r =
        id === "qemu-decompressor"
          ? await runQemuBoot(qemuConfig, initLine, timeoutMs, QEMU_BINARY)
          : await runVmlabBoot({
              kernel: image.kernel,
              initrd: image.initrd,
              cmdline,
              entry: id === "vmlab-vmlinux" ? "vmlinux" : "decompressor",
              memoryMiB: opts.memoryMiB,
              timeoutMs,
              time: opts.time,
              initLine,
            });
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
    host: { cpu, cpus: cpus().length, node: process.version },
    rows: withRatios(ids.map((id) => summarizeRow(id, runs.get(id)!))),
  };
}
