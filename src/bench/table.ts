/**
 * Plain-text tables for benchmark reports, and the run statistics they show. Kept here rather
 * than taken from an npm table library: what benchmarks need is a header rule, padded columns
 * and numbers aligned on the right, which is a dozen lines.
 */

export type Align = "left" | "right";

/**
 * Formats rows (the first is the header) as padded columns separated by two spaces, with a
 * rule of dashes under the header. `align[i]` aligns column i (default: left). Trailing
 * spaces are trimmed from every line.
 */
export function formatTable(rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  if (rows.length === 0) return "";
  const columns = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string =>
    widths
      .map((w, i) => {
        const cell = r[i] ?? "";
        return align[i] === "right" ? cell.padStart(w) : cell.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  const [header, ...body] = rows;
  return [line(header!), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** How many values the figures are taken over. */
  readonly n: number;
}

/** Median (mean of the middle two for an even count), min and max; undefined for no values. */
export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  const median = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, n: s.length };
}

/** "12.3 (11.9-13.0)": median with the range when there is more than one distinct value; "-" for none. */
export function formatSpread(s: Spread | undefined, digits: number): string {
  if (s === undefined) return "-";
  const median = s.median.toFixed(digits);
  if (s.n < 2 || s.min === s.max) return median;
  return `${median} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
}

/** An instruction count in engineering form: 3.27e9. */
export function formatCount(n: number | undefined): string {
  if (n === undefined) return "-";
  if (n < 1e4) return String(Math.round(n));
  return n.toExponential(2).replace("e+", "e");
}

/** A ratio of two times: "0.87x" (two decimals below 10, where "at most 1.0" is decided), "21.3x"; "-" for none. */
export function formatRatio(x: number | undefined): string {
  if (x === undefined) return "-";
  return `${x.toFixed(x < 10 ? 2 : 1)}x`;
}
