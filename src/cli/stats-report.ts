/** Formats the exit-statistics table that `vmlab run --stats` prints and `--stats-json` writes. */

import type { Machine } from "../machine/machine.js";
import type { ExitStatsRow } from "../vmm/exit-stats.js";

export interface StatsReport {
  readonly instructions: number;
  readonly seconds: number;
  readonly totalExits: number;
  readonly exits: readonly ExitStatsRow[];
  /** External interrupts injected into the vCPU, and PIC acknowledgements per IRQ line. */
  readonly interrupts: { readonly injected: number; readonly byIrq: Readonly<Record<string, number>> };
  /** Per-device counters by cause (register accesses by name, kicks, DMA bytes, ...). */
  readonly devices: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export function buildStatsReport(machine: Machine, instructions: number, seconds: number): StatsReport {
  const byIrq: Record<string, number> = {};
  machine.platform.pic.acknowledged.forEach((n, irq) => {
    if (n > 0) byIrq[`IRQ${irq}`] = n;
  });
  const devices: Record<string, Record<string, number>> = {};
  for (const d of machine.deviceStats) {
    const entries = d.entries();
    if (entries.length > 0) devices[d.device] = Object.fromEntries(entries);
  }
  return {
    instructions,
    seconds,
    totalExits: machine.stats.total,
    exits: machine.stats.rows(),
    interrupts: { injected: machine.interruptsInjected, byIrq },
    devices,
  };
}

const fmtNs = (ns: number): string => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)}us` : `${ns.toFixed(0)}ns`);

export function formatStatsTable(report: StatsReport): string {
  const header = ["exit reason", "count", "mean", "std-dev", "min", "median", "max"];
  const rows = report.exits.map((r) => [
    r.reason,
    String(r.count),
    fmtNs(r.meanNs),
    fmtNs(r.stdDevNs),
    fmtNs(r.minNs),
    fmtNs(r.medianNs),
    fmtNs(r.maxNs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const mips = report.seconds > 0 ? report.instructions / report.seconds / 1e6 : 0;
  return [
    `VM exits: ${report.totalExits} in ${report.instructions} instructions (${report.seconds.toFixed(3)} s, ${mips.toFixed(1)} MIPS)`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "latency = host time in the monitor's exit handler",
    `interrupts injected: ${report.interrupts.injected}${
      Object.keys(report.interrupts.byIrq).length > 0
        ? ` (${Object.entries(report.interrupts.byIrq)
            .map(([irq, n]) => `${irq} ${n}`)
            .join(", ")})`
        : ""
    }`,
    ...Object.entries(report.devices).map(
      ([device, counters]) =>
        `${device}: ${Object.entries(counters)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
    ),
  ].join("\n");
}
