/**
 * A/B benchmark of two vmlab builds' binary translator: this checkout against another one
 * (`--against DIR`, e.g. a `git worktree` of an earlier commit, built), on the same
 * deterministic runs of the default Debian guest, in sequential pairs. This machine's speed
 * drifts by more than ±20% over an hour, so a single timing says little; the two builds run
 * one right after the other, in alternating order (ABBA), and the table gives each pair's
 * ratio and their median.
 *
 *   npm run build && node dist/bench/bt-ab.js --against ../vmlab-old [--runs 5]
 *       [--windows cold,kernel,boot] [--json FILE] [--this-args="..."] [--other-args="..."]
 *
 * `--this-args` and `--other-args` add `vmlab run` options to one side's runs (split at
 * spaces), so that two settings of one build can be compared too:
 * `--against . --this-args="--bt-hot 5000"` (with `=`, as the value starts with `--`); they
 * come after the window's own options, so they may override them.
 *
 * Windows (each a `vmlab run --cpu bt --entry decompressor --time deterministic`):
 *  - cold: the first 300 M instructions with nothing translated (`--bt-hot 2000000000`): the
 *    cold loop and the dispatcher alone, on the BIOS and the kernel's decompressor;
 *  - kernel: to 2.55e9 instructions, through the decompressor (2.33e9) and the kernel's
 *    start-up, where lukewarm code runs cold;
 *  - boot: the whole boot and `true` in the guest.
 * Times are the VM's own ("after N instructions in S s"), without process start-up. In a
 * deterministic run both builds must retire the same instructions: a pair where they do
 * not is reported (the builds do not run the guest the same way), not hidden.
 */

import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const WINDOWS = {
  cold: ["--bt-hot", "2000000000", "--max-instructions", "300000000"],
  kernel: ["--max-instructions", "2550000000"],
  boot: ["--exec", "true"],
} as const;
type Window = keyof typeof WINDOWS;

function fail(message: string): never {
  process.stderr.write(`bt-ab: ${message}\n`);
  process.exit(2);
}

const OPTIONS = {
  against: { type: "string" },
  runs: { type: "string", default: "5" },
  windows: { type: "string", default: "cold,kernel,boot" },
  json: { type: "string" },
  "this-args": { type: "string", default: "" },
  "other-args": { type: "string", default: "" },
} as const;

function parse() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (e) {
    // A bad option, or a value that starts with "--" given without "=" (--this-args="--bt-hot 5000").
    fail(
      `${(e as Error).message} (options: --against DIR --runs N --windows LIST --json FILE --this-args=ARGS --other-args=ARGS)`,
    );
  }
}
const args = parse();

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
if (args.against === undefined) fail("--against DIR (another vmlab checkout, built) is required");
const other = resolve(args.against);
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be a positive integer, not ${args.runs}`);
const windows = args.windows.split(",").map((w) => w.trim()) as Window[];
for (const w of windows) if (!(w in WINDOWS)) fail(`unknown window ${w} (cold, kernel, boot)`);
for (const dir of [here, other])
  if (!existsSync(join(dir, "dist", "src", "cli", "main.js")))
    fail(`${dir} is not a built vmlab checkout (run \`npm run build\` there)`);

interface Timing {
  readonly seconds: number;
  readonly instructions: number;
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== "");
const hereArgs = words(args["this-args"]);
const otherArgs = words(args["other-args"]);
if (other === here && hereArgs.join(" ") === otherArgs.join(" "))
  fail("--against is this checkout: give --this-args or --other-args to compare two settings");

/** One deterministic run of `window` by the build in `dir`, with `extra` options. */
function runOnce(dir: string, window: Window, extra: readonly string[]): Timing {
  const argv = [
    join(dir, "bin", "vmlab.js"),
    "run",
    "--entry",
    "decompressor",
    "--cpu",
    "bt",
    "--time",
    "deterministic",
    ...WINDOWS[window],
    ...extra,
  ];
  const r = spawnSync(process.execPath, argv, { encoding: "utf8", maxBuffer: 64 << 20 });
  const m = /after (\d+) instructions in ([\d.]+) s/.exec(`${r.stdout}\n${r.stderr}`);
  if (m === null) fail(`${dir}: ${window}: no timing line in its output (exit ${r.status})`);
  return { seconds: Number(m[2]), instructions: Number(m[1]) };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
};

interface Row {
  readonly window: Window;
  readonly here: Timing[];
  readonly other: Timing[];
  readonly ratios: number[];
  mismatches: number;
}

const rows: Row[] = [];
for (const window of windows) {
  const row: Row = { window, here: [], other: [], ratios: [], mismatches: 0 };
  for (let i = 0; i < runs; i++) {
    // ABBA: the build that runs first alternates, so a drift within a pair cancels out.
    let h: Timing;
    let o: Timing;
    if (i % 2 === 0) {
      h = runOnce(here, window, hereArgs);
      o = runOnce(other, window, otherArgs);
    } else {
      o = runOnce(other, window, otherArgs);
      h = runOnce(here, window, hereArgs);
    }
    row.here.push(h);
    row.other.push(o);
    row.ratios.push(h.seconds / o.seconds);
    if (h.instructions !== o.instructions) row.mismatches++;
    process.stderr.write(
      `[${window} ${i + 1}/${runs}] this ${h.seconds.toFixed(2)} s, other ${o.seconds.toFixed(2)} s, ratio ${(h.seconds / o.seconds).toFixed(3)}\n`,
    );
  }
  rows.push(row);
}

console.log(`this build:  ${here}${hereArgs.length > 0 ? ` (${hereArgs.join(" ")})` : ""}`);
console.log(`other build: ${other}${otherArgs.length > 0 ? ` (${otherArgs.join(" ")})` : ""}`);
console.log(
  "window   this s (median)  other s (median)  ratio (median)  pair ratios                  instructions",
);
for (const r of rows) {
  const inst =
    r.mismatches === 0
      ? `${r.here[0]!.instructions} (same)`
      : `DIFFER in ${r.mismatches} pair(s): ${r.here[0]!.instructions} vs ${r.other[0]!.instructions}`;
  console.log(
    `${r.window.padEnd(8)} ${median(r.here.map((t) => t.seconds))
      .toFixed(2)
      .padStart(15)}  ${median(r.other.map((t) => t.seconds))
      .toFixed(2)
      .padStart(16)}  ${median(r.ratios).toFixed(3).padStart(14)}  ${r.ratios
      .map((x) => x.toFixed(3))
      .join(" ")
      .padEnd(27)}  ${inst}`,
  );
}
console.log("ratio: this build's time / the other's, per sequential pair (below 1: this build is faster)");
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify({ here, other, rows }, null, 2)}\n`);
