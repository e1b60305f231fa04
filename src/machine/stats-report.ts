/** The report of a run's counters (`vmlab run --stats`/`--stats-json`, VM-thread snapshots). */

import { BinaryTranslator, type TranslationStats } from "../cpu/bt/translator.js";
import type { ExitStatsRow } from "../vmm/exit-stats.js";
import type { Machine } from "./machine.js";

export interface StatsReport {
  readonly instructions: number;
  readonly seconds: number;
  readonly totalExits: number;
  readonly exits: readonly ExitStatsRow[];
  /** External interrupts injected into the vCPU, and PIC acknowledgements per IRQ line. */
  readonly interrupts: { readonly injected: number; readonly byIrq: Readonly<Record<string, number>> };
  /** Per-device counters by cause (register accesses by name, kicks, DMA bytes, ...). */
  readonly devices: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** The binary translator's translation-cache counters (`--cpu bt` only). Callouts are not exits. */
  readonly translation?: TranslationStats;
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
    ...(machine.engine instanceof BinaryTranslator ? { translation: machine.engine.translationStats() } : {}),
  };
}
