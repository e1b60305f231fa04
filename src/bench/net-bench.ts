/**
 * The network benchmark behind `vmlab bench net`: for each NIC model, two guests on one
 * switch, one sending a TCP bulk stream (busybox nc) to the other, in vmlab (two VMs on
 * worker threads, a VirtualSwitch on this thread: net-vmlab.ts) and, as the reference, in QEMU
 * TCG (two processes joined by `-netdev socket` on 127.0.0.1: net-qemu.ts), with the same
 * kernel, initramfs and command lines (net-guest.ts).
 *
 * Per transfer: throughput (payload bits over host time from the sender's start mark to the
 * receiver's end mark), frames on the wire, and for vmlab guest instructions per payload byte,
 * VM exits per frame by reason and interrupts per frame, all from the VMs' own counters
 * between their marks; and an integrity check (MD5 computed by the sender over what it sends,
 * by the receiver over what it received, and by the host over the expected stream). A
 * transfer that fails is a FAILED row with its reason, never the end of the benchmark.
 */

import { mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { defaultImage } from "../images/index.js";
import { NIC_MODELS, type NicModel } from "../machine/nics.js";
import type { StatsReport, VmSnapshot } from "../machine/vm-thread.js";
import {
  type DevCounters,
  formatByteSize,
  type Role,
  receiverCommand,
  senderCommand,
  streamMd5,
} from "./net-guest.js";
import {
  killAllQemu,
  type NetPairConfig,
  QEMU_NIC_DEVICE,
  type QemuPairResult,
  runQemuPair,
} from "./net-qemu.js";
import type { NetPairSession } from "./net-session.js";
import { runVmlabPair, type VmlabPairResult } from "./net-vmlab.js";
import { ensureQemu, QEMU_CPU } from "./qemu.js";
import { type Align, formatCount, formatSpread, formatTable, type Spread, spread } from "./table.js";

export type NetEngine = "vmlab" | "qemu";

export interface NetBenchOptions {
  readonly models: readonly NicModel[];
  /** Payload bytes per transfer. */
  readonly bytes: number;
  readonly runs: number;
  readonly vmlab: boolean;
  readonly qemu: boolean;
  /** Host seconds from the sender's start mark to the receiver's end mark. */
  readonly transferTimeoutS: number;
  /** Host seconds from the start until both guests are ready (boot, modules, making the stream). */
  readonly setupTimeoutS: number;
  readonly memoryMiB: number;
  /** e1000 interrupt mitigation, in vmlab and in QEMU. */
  readonly mitigation: boolean;
  /** Capture each vmlab transfer's receiver port here (one pcap file per transfer). */
  readonly pcapDir?: string;
}

export class NetBenchError extends Error {
  override readonly name = "NetBenchError";
}

export interface ReasonCount {
  readonly reason: string;
  readonly count: number;
  readonly perFrame: number;
}

export interface FrameCounts {
  readonly tx: number;
  readonly rx: number;
}

/** One transfer between two guests. */
export interface NetRun {
  readonly engine: NetEngine;
  readonly model: NicModel;
  /** 1-based. */
  readonly run: number;
  readonly status: "ok" | "FAILED";
  readonly failure?: string;
  /** Host seconds from the sender's start mark to the receiver's end mark. */
  readonly seconds?: number;
  readonly mbps?: number;
  readonly md5: {
    readonly expected: string;
    readonly sender?: string;
    readonly receiver?: string;
    readonly ok: boolean;
  };
  /** Frames on the wire in the sender's window: what it sent (data) plus what it received (ACKs). */
  readonly frames?: number;
  readonly framesSource?: "switch port (vmlab backend counters)" | "guest /proc/net/dev";
  /** vmlab: each VM's port-backend frame counts between its own marks. */
  readonly portFrames?: Record<Role, FrameCounts>;
  /** Each guest's own eth0 packet counts between its marks (/proc/net/dev). */
  readonly guestFrames?: Partial<Record<Role, FrameCounts>>;
  /** vmlab: guest instructions between each VM's marks, per payload byte, and the VM's MIPS then. */
  readonly instructions?: Record<Role, number>;
  readonly instrPerByte?: Record<Role, number>;
  readonly mips?: Record<Role, number>;
  /** vmlab: VM exits of both VMs in their windows, by reason (descending), and per VM. */
  readonly exits?: {
    readonly total: number;
    readonly perFrame: number;
    readonly byReason: readonly ReasonCount[];
    readonly byVm: Record<Role, Record<string, number>>;
  };
  /** vmlab: external interrupts injected into both VMs in their windows. */
  readonly interrupts?: {
    readonly injected: number;
    readonly perFrame: number;
    readonly byVm: Record<Role, { readonly injected: number; readonly byIrq: Record<string, number> }>;
  };
  /** vmlab: per-device counter deltas in each VM's window. */
  readonly devices?: Record<Role, Record<string, Record<string, number>>>;
  /** Host seconds from the start of the pair until both guests were ready. */
  readonly setupSeconds?: number;
  /** How each guest stopped (vmlab: the VM's stop cause; QEMU: its exit). */
  readonly stop: Record<Role, string | undefined>;
  readonly consoleTail: Record<Role, readonly string[]>;
  readonly pcap?: string;
}

export interface NetRow {
  readonly model: NicModel;
  readonly engine: NetEngine;
  readonly ok: number;
  readonly mbps?: Spread;
  readonly seconds?: Spread;
  readonly frames?: Spread;
  readonly instrPerByte?: { readonly sender?: Spread; readonly receiver?: Spread };
  readonly exitsPerFrame?: Spread;
  /** Median exits per frame by reason over the ok runs, descending. */
  readonly exitReasonsPerFrame?: readonly { readonly reason: string; readonly perFrame: number }[];
  readonly irqPerFrame?: Spread;
  /** vmlab median Mb/s / QEMU median Mb/s for the same model. */
  readonly vsQemu?: number;
  readonly runs: readonly NetRun[];
}

export interface NetBenchReport {
  readonly image: { readonly kernel: string; readonly initrd: string; readonly version: string };
  readonly bytes: number;
  readonly expectedMd5: string;
  readonly runsPerRow: number;
  readonly memoryMiB: number;
  readonly mitigation: boolean;
  readonly setupTimeoutS: number;
  readonly transferTimeoutS: number;
  readonly commands: Record<Role, string>;
  readonly qemu:
    | { readonly version: string; readonly devices: Record<NicModel, string> }
    | { readonly missing: string }
    | null;
  readonly host: { readonly cpu: string; readonly cpus: number; readonly node: string };
  readonly rows: readonly NetRow[];
}

/** The sender keeps the stream in its tmpfs (half of RAM at most): RAM needed for `bytes`. */
export function minMemoryMiB(bytes: number): number {
  return Math.ceil((2 * bytes) / (1024 * 1024)) + 32;
}

// ---- figures of one transfer ----

const delta = (a: FrameCounts, b: FrameCounts): FrameCounts => ({ tx: b.tx - a.tx, rx: b.rx - a.rx });

function devFrames(devs: readonly (DevCounters | undefined)[]): FrameCounts | undefined {
  const [a, b] = devs;
  if (a === undefined || b === undefined) return undefined;
  return { tx: b.txPackets - a.txPackets, rx: b.rxPackets - a.rxPackets };
}

function exitDelta(a: StatsReport, b: StatsReport): Record<string, number> {
  const before = new Map(a.exits.map((r) => [r.reason, r.count]));
  const out: Record<string, number> = {};
  for (const r of b.exits) {
    const d = r.count - (before.get(r.reason) ?? 0);
    if (d > 0) out[r.reason] = d;
  }
  return out;
}

function irqDelta(a: StatsReport, b: StatsReport): { injected: number; byIrq: Record<string, number> } {
  const byIrq: Record<string, number> = {};
  for (const [irq, n] of Object.entries(b.interrupts.byIrq)) {
    const d = n - (a.interrupts.byIrq[irq] ?? 0);
    if (d > 0) byIrq[irq] = d;
  }
  return { injected: b.interrupts.injected - a.interrupts.injected, byIrq };
}

function deviceDelta(a: StatsReport, b: StatsReport): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [dev, counters] of Object.entries(b.devices)) {
    const d: Record<string, number> = {};
    for (const [k, v] of Object.entries(counters)) {
      const x = v - (a.devices[dev]?.[k] ?? 0);
      if (x !== 0) d[k] = x;
    }
    if (Object.keys(d).length > 0) out[dev] = d;
  }
  return out;
}

interface Common {
  seconds?: number;
  mbps?: number;
  md5: NetRun["md5"];
  guestFrames?: Partial<Record<Role, FrameCounts>>;
  setupSeconds?: number;
  consoleTail: Record<Role, readonly string[]>;
  failure?: string;
}

/** What both engines measure the same way: time, checksums, the guests' own frame counts, the outcome. */
function commonFigures(
  session: NetPairSession,
  outcome: { ok: true } | { ok: false; reason: string },
  bytes: number,
  expected: string,
): Common {
  const r = session.consoles.receiver;
  const s = session.consoles.sender;
  const md5 = {
    expected,
    ...(s.sentMd5 !== undefined ? { sender: s.sentMd5 } : {}),
    ...(r.receivedMd5 !== undefined ? { receiver: r.receivedMd5 } : {}),
    ok: s.sentMd5 === expected && r.receivedMd5 === expected,
  };
  const out: Common = {
    md5,
    consoleTail: { receiver: [...r.watch.tail], sender: [...s.watch.tail] },
  };
  const start = s.marks.start?.hostMs;
  const end = r.marks.end?.hostMs;
  if (start !== undefined && end !== undefined && end > start) {
    out.seconds = (end - start) / 1000;
    out.mbps = (bytes * 8) / out.seconds / 1e6;
  }
  const guestFrames: Partial<Record<Role, FrameCounts>> = {};
  const gr = devFrames(r.devs);
  const gs = devFrames(s.devs);
  if (gr !== undefined) guestFrames.receiver = gr;
  if (gs !== undefined) guestFrames.sender = gs;
  if (gr !== undefined || gs !== undefined) out.guestFrames = guestFrames;
  if (r.listeningMs !== undefined && s.readyMs !== undefined) {
    out.setupSeconds = (Math.max(r.listeningMs, s.readyMs) - session.startMs) / 1000;
  }
  if (!outcome.ok) out.failure = outcome.reason;
  else if (!md5.ok) {
    out.failure =
      `md5 mismatch: sender ${md5.sender ?? "(none)"}, receiver ${md5.receiver ?? "(none)"}, ` +
      `expected ${expected}`;
  } else if (s.ncStatus !== 0) out.failure = `the sender's nc exited with status ${s.ncStatus}`;
  else if (out.seconds === undefined) out.failure = "no usable start/end marks";
  return out;
}

function vmlabRun(
  model: NicModel,
  run: number,
  bytes: number,
  expected: string,
  p: VmlabPairResult,
  pcap?: string,
): NetRun {
  const c = commonFigures(p.session, p.outcome, bytes, expected);
  const cons = p.session.consoles;
  const snaps = {} as Record<Role, [VmSnapshot, VmSnapshot]>;
  let haveSnaps = true;
  for (const role of ["receiver", "sender"] as const) {
    const a = cons[role].marks.start?.snapshot;
    const b = cons[role].marks.end?.snapshot;
    if (a === undefined || b === undefined) haveSnaps = false;
    else snaps[role] = [a, b];
  }
  const stop = {
    receiver: describeResult(p.results.receiver),
    sender: describeResult(p.results.sender),
  };
  const base = {
    engine: "vmlab" as const,
    model,
    run,
    ...c,
    stop,
    ...(pcap !== undefined ? { pcap } : {}),
  };
  if (!haveSnaps) return finalize(base);

  const frameCounts = (role: Role): FrameCounts => {
    const [a, b] = snaps[role];
    const na = a.nics[0];
    const nb = b.nics[0];
    if (na === undefined || nb === undefined) return { tx: 0, rx: 0 };
    return delta({ tx: na.txFrames, rx: na.rxFrames }, { tx: nb.txFrames, rx: nb.rxFrames });
  };
  const portFrames = { receiver: frameCounts("receiver"), sender: frameCounts("sender") };
  const frames = portFrames.sender.tx + portFrames.sender.rx;
  const per = (n: number): number => (frames > 0 ? n / frames : 0);
  const instructions = {} as Record<Role, number>;
  const instrPerByte = {} as Record<Role, number>;
  const mips = {} as Record<Role, number>;
  const exitsByVm = {} as Record<Role, Record<string, number>>;
  const irqByVm = {} as Record<Role, { injected: number; byIrq: Record<string, number> }>;
  const devices = {} as Record<Role, Record<string, Record<string, number>>>;
  const sum = new Map<string, number>();
  for (const role of ["receiver", "sender"] as const) {
    const [a, b] = snaps[role];
    instructions[role] = b.report.instructions - a.report.instructions;
    instrPerByte[role] = instructions[role] / bytes;
    const secs = (b.hostMs - a.hostMs) / 1000;
    mips[role] = secs > 0 ? instructions[role] / secs / 1e6 : 0;
    exitsByVm[role] = exitDelta(a.report, b.report);
    for (const [reason, n] of Object.entries(exitsByVm[role])) sum.set(reason, (sum.get(reason) ?? 0) + n);
    irqByVm[role] = irqDelta(a.report, b.report);
    devices[role] = deviceDelta(a.report, b.report);
  }
  const byReason = [...sum]
    .map(([reason, count]) => ({ reason, count, perFrame: per(count) }))
    .sort((x, y) => y.count - x.count);
  const totalExits = byReason.reduce((t, r) => t + r.count, 0);
  const injected = irqByVm.receiver.injected + irqByVm.sender.injected;
  return finalize({
    ...base,
    frames,
    framesSource: "switch port (vmlab backend counters)",
    portFrames,
    instructions,
    instrPerByte,
    mips,
    exits: { total: totalExits, perFrame: per(totalExits), byReason, byVm: exitsByVm },
    interrupts: { injected, perFrame: per(injected), byVm: irqByVm },
    devices,
  });
}

function qemuRun(model: NicModel, run: number, bytes: number, expected: string, p: QemuPairResult): NetRun {
  const c = commonFigures(p.session, p.outcome, bytes, expected);
  const g = c.guestFrames?.sender;
  const cons = p.session.consoles;
  return finalize({
    engine: "qemu",
    model,
    run,
    ...c,
    ...(g !== undefined ? { frames: g.tx + g.rx, framesSource: "guest /proc/net/dev" as const } : {}),
    stop: { receiver: cons.receiver.ended, sender: cons.sender.ended },
  });
}

function finalize(r: Omit<NetRun, "status"> & { failure?: string }): NetRun {
  return { ...r, status: r.failure === undefined ? "ok" : "FAILED" };
}

function describeResult(r: VmlabPairResult["results"]["receiver"]): string | undefined {
  if (r === undefined) return undefined;
  if (r instanceof Error) return `error: ${r.name}: ${r.message}`;
  return `${r.result.reason} after ${formatCount(r.result.instructions)} instructions in ${r.result.seconds.toFixed(1)} s`;
}

// ---- rows and the table ----

export function summarizeNetRow(model: NicModel, engine: NetEngine, runs: readonly NetRun[]): NetRow {
  const ok = runs.filter((r) => r.status === "ok");
  const fig = (f: (r: NetRun) => number | undefined): Spread | undefined =>
    spread(ok.map(f).filter((v): v is number => v !== undefined));
  const reasons = new Set(ok.flatMap((r) => r.exits?.byReason.map((x) => x.reason) ?? []));
  const exitReasonsPerFrame = [...reasons]
    .map((reason) => ({
      reason,
      perFrame: spread(ok.map((r) => r.exits?.byReason.find((x) => x.reason === reason)?.perFrame ?? 0))!
        .median,
    }))
    .sort((a, b) => b.perFrame - a.perFrame);
  const sender = fig((r) => r.instrPerByte?.sender);
  const receiver = fig((r) => r.instrPerByte?.receiver);
  const fields = {
    mbps: fig((r) => r.mbps),
    seconds: fig((r) => r.seconds),
    frames: fig((r) => r.frames),
    instrPerByte:
      sender !== undefined || receiver !== undefined
        ? { ...(sender !== undefined ? { sender } : {}), ...(receiver !== undefined ? { receiver } : {}) }
        : undefined,
    exitsPerFrame: fig((r) => r.exits?.perFrame),
    exitReasonsPerFrame: exitReasonsPerFrame.length > 0 ? exitReasonsPerFrame : undefined,
    irqPerFrame: fig((r) => r.interrupts?.perFrame),
  };
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { model, engine, ok: ok.length, ...defined, runs };
}

/** Adds vmlab/QEMU throughput ratios (medians) to the vmlab rows. */
export function withQemuRatios(rows: readonly NetRow[]): NetRow[] {
  return rows.map((r) => {
    if (r.engine !== "vmlab" || r.mbps === undefined) return r;
    const q = rows.find((x) => x.engine === "qemu" && x.model === r.model)?.mbps;
    return q !== undefined && q.median > 0 ? { ...r, vsQemu: r.mbps.median / q.median } : r;
  });
}

/** Short names for the exit reasons that dominate network I/O. */
const SHORT_REASON: Record<string, string> = {
  IO_INSTRUCTION: "IO",
  EPT_VIOLATION: "MMIO",
  EXTERNAL_INTERRUPT: "EXT_INT",
  INTERRUPT_WINDOW: "IRQ_WIN",
  EXCEPTION_NMI: "EXC",
  CR_ACCESS: "CR",
  MSR_READ: "RDMSR",
  MSR_WRITE: "WRMSR",
};

export const TOP_REASONS = 3;

const fmt = (x: number | undefined, digits: number): string => (x === undefined ? "-" : x.toFixed(digits));

function statusCell(r: NetRow): string {
  const n = r.runs.length;
  if (r.ok === n) return n === 1 ? "ok" : `ok ${n}/${n}`;
  return r.ok === 0 ? "FAILED" : `ok ${r.ok}/${n}`;
}

function md5Cell(r: NetRow): string {
  const checked = r.runs.filter((x) => x.md5.sender !== undefined || x.md5.receiver !== undefined);
  if (checked.length === 0) return "-";
  const good = checked.filter((x) => x.md5.ok).length;
  return good === checked.length ? "ok" : `BAD ${checked.length - good}/${checked.length}`;
}

/** The report as a text table, one row per model and engine. */
export function formatNetTable(rows: readonly NetRow[]): string {
  const header = [
    "NIC",
    "engine",
    "status",
    "Mb/s",
    "vs qemu",
    "seconds",
    "frames",
    "instr/B snd",
    "instr/B rcv",
    "exits/frame",
    `top exits/frame`,
    "irq/frame",
    "md5",
    "failure",
  ];
  const body = rows.map((r) => {
    const top = (r.exitReasonsPerFrame ?? [])
      .slice(0, TOP_REASONS)
      .map((x) => `${SHORT_REASON[x.reason] ?? x.reason} ${x.perFrame.toFixed(2)}`)
      .join(", ");
    const failure = r.runs.find((x) => x.status === "FAILED")?.failure ?? "";
    return [
      r.model,
      r.engine,
      statusCell(r),
      formatSpread(r.mbps, 2),
      r.vsQemu !== undefined ? `${r.vsQemu.toFixed(3)}x` : "-",
      formatSpread(r.seconds, 2),
      r.frames !== undefined ? String(Math.round(r.frames.median)) : "-",
      formatSpread(r.instrPerByte?.sender, 1),
      formatSpread(r.instrPerByte?.receiver, 1),
      formatSpread(r.exitsPerFrame, 2),
      top === "" ? "-" : top,
      formatSpread(r.irqPerFrame, 3),
      md5Cell(r),
      failure,
    ];
  });
  const align: Align[] = [
    "left",
    "left",
    "left",
    ...Array<Align>(7).fill("right"),
    "left",
    "right",
    "left",
    "left",
  ];
  return formatTable([header, ...body], align);
}

/** The legend and the notes printed under the table. */
export function formatNetNotes(report: NetBenchReport): string {
  const notes = [
    `${formatByteSize(report.bytes)} per transfer over TCP (busybox nc), ${report.runsPerRow} run(s) per row, ` +
      `guest ${report.image.version}, ${report.memoryMiB} MiB each, e1000 mitigation ${report.mitigation ? "on" : "off"}`,
    "Mb/s: payload bits / host seconds from the sender's start mark to the receiver's end mark (seconds); " +
      "vs qemu: vmlab Mb/s / QEMU Mb/s",
    "frames: Ethernet frames in the sender's window, data sent plus ACKs received " +
      "(vmlab: its switch port's counters; qemu: the guest's /proc/net/dev)",
    "instr/B: guest instructions between a VM's own marks per payload byte (snd: nc + TCP send; " +
      "rcv: nc + TCP receive + md5sum of the stream)",
    `exits/frame: VM exits of both VMs in their windows per frame; top: the ${TOP_REASONS} most frequent reasons ` +
      "(IO = IO_INSTRUCTION, MMIO = EPT_VIOLATION, IRQ_WIN = INTERRUPT_WINDOW); every reason is in --json",
    "irq/frame: external interrupts injected into both VMs (every IRQ line, the timer too) per frame",
    "md5 ok: the sender's md5 of its stream (in the guest), the receiver's md5 of what it received " +
      "and the host's md5 of the expected stream agree",
    "figures are medians (min-max) over the ok runs; qemu counts no instructions or exits ('-')",
  ];
  if (report.qemu !== null && "missing" in report.qemu) notes.push(`qemu: ${report.qemu.missing}`);
  else if (report.qemu !== null) {
    notes.push(`qemu: ${report.qemu.version}, TCG, -cpu ${QEMU_CPU}, -netdev socket on 127.0.0.1`);
  }
  for (const row of report.rows) {
    for (const r of row.runs) {
      if (r.status === "ok") continue;
      notes.push(`${row.model} ${row.engine} run ${r.run}: FAILED: ${r.failure}`);
      for (const role of ["receiver", "sender"] as const) {
        const tail = r.consoleTail[role].slice(-4);
        notes.push(`  ${role} (${r.stop[role] ?? "still running when stopped"}), last lines:`);
        for (const l of tail) notes.push(`    ${l}`);
      }
    }
  }
  return notes.map((n) => `  ${n}`).join("\n");
}

/** One line of progress for a finished transfer. */
export function describeNetRun(r: NetRun, bytes: number): string {
  if (r.status === "FAILED") return `FAILED: ${r.failure}`;
  const parts = [`ok: ${formatByteSize(bytes)} in ${fmt(r.seconds, 2)} s = ${fmt(r.mbps, 2)} Mb/s`];
  if (r.frames !== undefined) parts.push(`${r.frames} frames`);
  if (r.instrPerByte !== undefined) {
    parts.push(`instr/B snd ${r.instrPerByte.sender.toFixed(1)} rcv ${r.instrPerByte.receiver.toFixed(1)}`);
  }
  if (r.exits !== undefined) parts.push(`${r.exits.perFrame.toFixed(2)} exits/frame`);
  if (r.mips !== undefined)
    parts.push(`MIPS snd ${r.mips.sender.toFixed(1)} rcv ${r.mips.receiver.toFixed(1)}`);
  parts.push("md5 ok");
  return parts.join(", ");
}

// ---- the run ----

export async function runNetBench(
  opts: NetBenchOptions,
  log: (msg: string) => void,
): Promise<NetBenchReport> {
  if (opts.models.length === 0) throw new NetBenchError("no NIC model selected");
  for (const m of opts.models) {
    if (!(NIC_MODELS as readonly string[]).includes(m)) {
      throw new NetBenchError(`unknown NIC model "${m}" (models: ${NIC_MODELS.join(", ")})`);
    }
  }
  if (!opts.vmlab && !opts.qemu) throw new NetBenchError("--no-vmlab and --no-qemu leave nothing to run");
  if (!Number.isSafeInteger(opts.bytes) || opts.bytes < 1)
    throw new NetBenchError("--bytes must be at least 1");
  if (opts.memoryMiB < minMemoryMiB(opts.bytes)) {
    throw new NetBenchError(
      `the sender keeps ${formatByteSize(opts.bytes)} in its tmpfs: give the guests at least ` +
        `--mem ${minMemoryMiB(opts.bytes)} (they have ${opts.memoryMiB} MiB)`,
    );
  }
  const image = defaultImage();
  if (image === undefined) throw new NetBenchError("no guest image built yet: run `vmlab image build` first");

  let qemu: NetBenchReport["qemu"] = null;
  if (opts.qemu) {
    const q = ensureQemu(log);
    qemu = "version" in q ? { version: q.version, devices: QEMU_NIC_DEVICE } : q;
    if ("missing" in q) log(q.missing);
  }
  const engines: NetEngine[] = [];
  if (opts.vmlab) engines.push("vmlab");
  if (qemu !== null && "version" in qemu) engines.push("qemu");
  if (opts.pcapDir !== undefined) mkdirSync(opts.pcapDir, { recursive: true });

  const expected = streamMd5(opts.bytes);
  const runs = new Map<string, NetRun[]>();
  const key = (m: NicModel, e: NetEngine): string => `${m}/${e}`;
  for (const m of opts.models) for (const e of engines) runs.set(key(m, e), []);

  // Ctrl-C or a kill ends the QEMU children too (worker threads end with the process).
  const onSignal = (signal: NodeJS.Signals): void => {
    killAllQemu();
    process.stderr.write(`\nvmlab bench net: ${signal}: stopped\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", killAllQemu);
  log(
    `network benchmark: ${opts.models.join(", ")} on ${engines.join(" and ")}, ${formatByteSize(opts.bytes)} ` +
      `per transfer, ${opts.runs} run(s); expected md5 ${expected}`,
  );
  try {
    const total = opts.runs * opts.models.length * engines.length;
    let n = 0;
    for (let run = 1; run <= opts.runs; run++) {
      for (const model of opts.models) {
        for (const engine of engines) {
          const label = `[${++n}/${total}] ${model} ${engine}${opts.runs > 1 ? ` run ${run}` : ""}`;
          const config: NetPairConfig = {
            model,
            bytes: opts.bytes,
            kernel: image.kernel,
            initrd: image.initrd,
            memoryMiB: opts.memoryMiB,
            mitigation: opts.mitigation,
            setupTimeoutMs: opts.setupTimeoutS * 1000,
            transferTimeoutMs: opts.transferTimeoutS * 1000,
            label,
          };
          log(`${label}: booting receiver and sender`);
          let r: NetRun;
          try {
            if (engine === "vmlab") {
              const pcap =
                opts.pcapDir !== undefined
                  ? join(opts.pcapDir, `net-${model}-run${run}-receiver.pcap`)
                  : undefined;
              const p = await runVmlabPair(
                { ...config, ...(pcap !== undefined ? { pcapPath: pcap } : {}) },
                log,
              );
              r = vmlabRun(model, run, opts.bytes, expected, p, pcap);
            } else {
              r = qemuRun(model, run, opts.bytes, expected, await runQemuPair(config, log));
            }
          } catch (e) {
            const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
            r = {
              engine,
              model,
              run,
              status: "FAILED",
              failure: `bench error: ${message}`,
              md5: { expected, ok: false },
              stop: { receiver: undefined, sender: undefined },
              consoleTail: { receiver: [], sender: [] },
            };
          }
          runs.get(key(model, engine))!.push(r);
          log(`${label}: ${describeNetRun(r, opts.bytes)}`);
          if (r.status === "FAILED") {
            for (const role of ["receiver", "sender"] as const) {
              log(`    ${role} (${r.stop[role] ?? "running when stopped"}), last lines:`);
              for (const l of r.consoleTail[role].slice(-4)) log(`      ${l}`);
            }
          }
        }
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", killAllQemu);
    killAllQemu();
  }

  const rows: NetRow[] = [];
  for (const model of opts.models) {
    for (const engine of engines) rows.push(summarizeNetRow(model, engine, runs.get(key(model, engine))!));
  }
  return {
    image: { kernel: image.kernel, initrd: image.initrd, version: image.version },
    bytes: opts.bytes,
    expectedMd5: expected,
    runsPerRow: opts.runs,
    memoryMiB: opts.memoryMiB,
    mitigation: opts.mitigation,
    setupTimeoutS: opts.setupTimeoutS,
    transferTimeoutS: opts.transferTimeoutS,
    commands: { receiver: receiverCommand(), sender: senderCommand(opts.bytes) },
    qemu,
    host: { cpu: cpus()[0]?.model ?? "unknown", cpus: cpus().length, node: process.version },
    rows: withQemuRatios(rows),
  };
}
