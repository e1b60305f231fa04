/**
 * Per-reason VM-exit accounting: a counter and a latency aggregate for every exit reason
 * (count, mean, standard deviation, min, max), plus a bounded reservoir of samples for
 * medians. The aggregate is Welford's online algorithm, so it is exact and allocation-free.
 * Latencies are in nanoseconds of host time spent in the monitor's handler.
 */

import { DOUBLE_FIELD } from "../cpu/cpu.js";
import { EXIT_REASON_SLOTS, exitReasonName } from "./exit-reason.js";

/** Samples kept per reason (reservoir sampling, Vitter's algorithm R). */
export const SAMPLE_RESERVOIR = 1024;

export class LatencyAggregate {
  count = 0;
  // Double fields from the start (cpu.ts DOUBLE_FIELD): the first fractional mean would
  // otherwise change the hidden class of every aggregate.
  mean = DOUBLE_FIELD;
  /** Sum of squared deviations (Welford's M2). */
  private m2 = DOUBLE_FIELD;
  min = Number.POSITIVE_INFINITY;
  max = DOUBLE_FIELD;
  readonly samples = new Float64Array(SAMPLE_RESERVOIR);
  private rng = 0x2545f491;

  constructor() {
    this.reset();
  }

  add(ns: number): void {
    const n = ++this.count;
    const delta = ns - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (ns - this.mean);
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
    if (n <= SAMPLE_RESERVOIR) {
      this.samples[n - 1] = ns;
    } else {
      // xorshift32: deterministic, allocation-free.
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x;
      const j = (x >>> 0) % n;
      if (j < SAMPLE_RESERVOIR) this.samples[j] = ns;
    }
  }

  get stdDev(): number {
    return this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0;
  }

  get median(): number {
    const k = Math.min(this.count, SAMPLE_RESERVOIR);
    if (k === 0) return 0;
    const sorted = Array.from(this.samples.subarray(0, k)).sort((a, b) => a - b);
    return k % 2 === 1 ? sorted[(k - 1) / 2]! : (sorted[k / 2 - 1]! + sorted[k / 2]!) / 2;
  }

  reset(): void {
    this.count = 0;
    this.mean = 0;
    this.m2 = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
  }
}

export interface ExitStatsRow {
  reason: string;
  code: number;
  count: number;
  meanNs: number;
  stdDevNs: number;
  minNs: number;
  maxNs: number;
  medianNs: number;
}

export class ExitStats {
  readonly byReason: LatencyAggregate[] = Array.from(
    { length: EXIT_REASON_SLOTS },
    () => new LatencyAggregate(),
  );

  record(reason: number, ns: number): void {
    this.byReason[reason]!.add(ns);
  }

  count(reason: number): number {
    return this.byReason[reason]!.count;
  }

  get total(): number {
    let t = 0;
    for (const a of this.byReason) t += a.count;
    return t;
  }

  /** Rows for every reason that occurred, most frequent first. */
  rows(): ExitStatsRow[] {
    const rows: ExitStatsRow[] = [];
    this.byReason.forEach((a, code) => {
      if (a.count === 0) return;
      rows.push({
        reason: exitReasonName.get(code) ?? `REASON_${code}`,
        code,
        count: a.count,
        meanNs: a.mean,
        stdDevNs: a.stdDev,
        minNs: a.min,
        maxNs: a.max,
        medianNs: a.median,
      });
    });
    return rows.sort((x, y) => y.count - x.count || x.code - y.code);
  }

  reset(): void {
    for (const a of this.byReason) a.reset();
  }
}
