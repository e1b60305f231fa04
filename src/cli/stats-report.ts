/** Formats the exit-statistics table that `vmlab run --stats` prints and `--stats-json` writes. */

import type { TranslationStats } from "../cpu/bt/translator.js";
import type { StatsReport } from "../machine/stats-report.js";

/** The report type lives with the machine (the VM worker builds it); formatting stays here. */
export type { StatsReport } from "../machine/stats-report.js";

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
    ...(report.translation !== undefined ? [formatTranslation(report.translation)] : []),
  ].join("\n");
}

/** The translation-cache lines of `--cpu bt` (callouts are what bt pays instead of exits). */
function formatTranslation(t: TranslationStats): string {
  const callouts = Object.entries(t.callouts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${n}`)
    .join(" ");
  return [
    `translation cache: ${t.regionsTranslated} regions, ${t.blocksTranslated} blocks, ${t.instructionsTranslated} instructions, ${t.guestBytesTranslated} guest bytes translated in ${t.translateMs.toFixed(0)} ms`,
    `  hits ${t.cacheHits}, cold entries ${t.coldEntries}, blocks decoded ${t.blocksDecoded}, invalidations ${t.invalidations}, retranslations ${t.retranslations}, paging-mode misses ${t.modeMisses}, inline MMIO ${t.mmioInline}, instructions in translations ${t.instructionsInTranslations}`,
    `  callouts (not exits): ${callouts || "none"}`,
  ].join("\n");
}
