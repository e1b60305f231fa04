/**
 * Binary translator benchmark: MIPS of the interpreter and of the binary translator side by
 * side, on the built-in `bench` guest (CRC-32, REP MOVSD, insertion sort; protected mode with
 * paging) and on a Debian boot (deterministic time) to its /init and to the end of a short
 * command. Both engines must give the same guest output (a correctness check). Medians of
 * `--runs` runs (`--boot-runs` for the boots, which are slow).
 *
 *   npm run build && node dist/bench/bt-mips.js [--iters N] [--runs N] [--boot-runs N] [--no-boot] [--json FILE]
 *
 * Besides wall time, the table shows the main thread's CPU time (Linux /proc), which is what
 * to compare on a shared machine: V8 compiles translations on a background thread, and other
 * processes' load inflates wall time. "MIPS" is instructions over wall seconds; "MIPS/cpu"
 * over main-thread CPU seconds.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildGuest } from "../src/guests/assemble.js";
import {
  DEFAULT_KERNEL_ARGS,
  defaultImage,
  execCmdlineArg,
  INIT_STARTED_MARKER,
} from "../src/images/index.js";
import { Machine } from "../src/machine/machine.js";

const { values: args } = parseArgs({
  options: {
    iters: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    "boot-runs": { type: "string", default: "1" },
    "no-boot": { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const iters = Number(args.iters);
const runs = Number(args.runs);
const bootRuns = Number(args["boot-runs"]);

type Engine = "interp" | "bt";
const ENGINES: readonly Engine[] = ["interp", "bt"];

interface Sample {
  instructions: number;
  seconds: number;
  cpuSeconds: number;
  output: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** CPU seconds of this process's main thread (utime + stime), or NaN off Linux. */
function mainThreadCpu(): number {
  try {
    const s = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function benchGuest(image: Uint8Array, engine: Engine): Promise<Sample> {
  const m = new Machine({ memoryMiB: 64, firmware: image, debugExitPort: 0xf4, engine });
  let output = "";
  m.onSerial((b) => {
    output += String.fromCharCode(b);
  });
  const c0 = mainThreadCpu();
  const r = await m.run({ timeoutMs: 600_000 });
  if (r.reason !== "debug-exit") throw new Error(`${engine}: bench guest stopped with ${r.reason}`);
  return { instructions: r.instructions, seconds: r.seconds, cpuSeconds: mainThreadCpu() - c0, output };
}

interface BootSample {
  init: Sample;
  total: Sample;
}

async function benchBoot(engine: Engine): Promise<BootSample> {
  const image = defaultImage();
  if (image === undefined) throw new Error("no default guest image: run `node bin/vmlab.js image build`");
  const m = new Machine({ memoryMiB: 64, time: "deterministic", engine });
  await m.loadLinux(readFileSync(image.kernel), {
    initrd: readFileSync(image.initrd),
    cmdline: `${DEFAULT_KERNEL_ARGS} ${execCmdlineArg("uname -a; echo hi | md5sum")}`,
  });
  let text = "";
  let init: Sample | undefined;
  const t0 = performance.now();
  const c0 = mainThreadCpu();
  const i0 = m.cpu.instructionsRetired;
  m.onSerial((b) => {
    text += String.fromCharCode(b);
    if (init === undefined && text.includes(INIT_STARTED_MARKER)) {
      init = {
        instructions: m.cpu.instructionsRetired - i0,
        seconds: (performance.now() - t0) / 1000,
        cpuSeconds: mainThreadCpu() - c0,
        output: "",
      };
    }
  });
  const r = await m.run({ timeoutMs: 900_000 });
  const total = {
    instructions: r.instructions,
    seconds: r.seconds,
    cpuSeconds: mainThreadCpu() - c0,
    output: text,
  };
  return { init: init ?? total, total };
}

function row(name: string, xs: Sample[]): string[] {
  const instructions = xs[0]!.instructions;
  const s = median(xs.map((x) => x.seconds));
  const c = median(xs.map((x) => x.cpuSeconds));
  return [
    name,
    String(instructions),
    s.toFixed(2),
    (instructions / s / 1e6).toFixed(1),
    c.toFixed(2),
    (instructions / c / 1e6).toFixed(1),
  ];
}

const rows: string[][] = [["workload / engine", "instructions", "wall s", "MIPS", "cpu s", "MIPS/cpu"]];
const json: Record<string, unknown> = { iters, runs, bootRuns };

const guest = readFileSync(buildGuest("bench", { ITERS: iters }));
const guestSamples: Record<string, Sample[]> = {};
for (let k = 0; k < runs; k++) {
  for (const e of ENGINES) {
    (guestSamples[e] ??= []).push(await benchGuest(guest, e));
    process.stderr.write(
      `  bench guest ${e} run ${k + 1}: ${guestSamples[e]!.at(-1)!.seconds.toFixed(2)} s\n`,
    );
  }
}
if (guestSamples.bt![0]!.output !== guestSamples.interp![0]!.output)
  throw new Error("bench guest: outputs differ");
for (const e of ENGINES) rows.push(row(`bench guest (ITERS=${iters}) ${e}`, guestSamples[e]!));
json.guest = guestSamples;

if (!args["no-boot"]) {
  const boots: Record<string, BootSample[]> = {};
  for (let k = 0; k < bootRuns; k++) {
    for (const e of ENGINES) {
      (boots[e] ??= []).push(await benchBoot(e));
      process.stderr.write(
        `  Debian boot ${e} run ${k + 1}: ${boots[e]!.at(-1)!.total.seconds.toFixed(2)} s\n`,
      );
    }
  }
  if (boots.bt![0]!.total.output !== boots.interp![0]!.total.output)
    throw new Error("Debian boot: consoles differ");
  for (const e of ENGINES)
    rows.push(
      row(
        `Debian boot to /init ${e}`,
        boots[e]!.map((b) => b.init),
      ),
    );
  for (const e of ENGINES)
    rows.push(
      row(
        `Debian boot + command ${e}`,
        boots[e]!.map((b) => b.total),
      ),
    );
  json.boot = Object.fromEntries(
    Object.entries(boots).map(([e, bs]) => [
      e,
      bs.map((b) => ({ init: { ...b.init }, total: { ...b.total, output: undefined } })),
    ]),
  );
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
