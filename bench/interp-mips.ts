/**
 * Interpreter benchmark: runs the built-in `bench` guest (CRC-32, REP MOVSD, insertion sort,
 * in protected mode with paging) under vmlab's interpreter and, in the same run, under QEMU
 * TCG as the reference. Prints a table of medians: instructions, seconds, MIPS, and the ratio
 * of QEMU's speed to vmlab's. Both must print the same checksums (a correctness check).
 *
 *   node --max-inlined-bytecode-size-cumulative=4000 dist/bench/interp-mips.js [--iters N] [--runs N] [--json FILE] [--no-qemu]
 * (`npm run bench` passes the V8 flag, as bin/vmlab.js does.)
 *
 * QEMU's MIPS uses vmlab's instruction count for the same program (the guest is
 * deterministic) over QEMU's wall time minus its start-up time, measured with the same
 * image at ITERS=1 in the same run. QEMU runs `--qemu-scale` times more rounds than vmlab
 * (its run would otherwise be lost in start-up noise); the instruction count for that many
 * rounds is extrapolated from vmlab's counts at ITERS=1 and ITERS=n (it is exactly linear).
 */

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildGuest } from "../src/guests/assemble.js";
import { Machine } from "../src/machine/machine.js";

const { values: args } = parseArgs({
  options: {
    iters: { type: "string", default: "300" },
    runs: { type: "string", default: "3" },
    json: { type: "string" },
    "no-qemu": { type: "boolean", default: false },
    "qemu-scale": { type: "string", default: "40" },
  },
});
const iters = Number(args.iters);
const runs = Number(args.runs);
if (!Number.isInteger(iters) || iters < 1 || !Number.isInteger(runs) || runs < 1) {
  throw new Error("--iters and --runs must be positive integers");
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function runVmlab(
  image: Uint8Array,
): Promise<{ seconds: number; instructions: number; output: string }> {
  const machine = new Machine({ memoryMiB: 64, firmware: image, debugExitPort: 0xf4 });
  let output = "";
  machine.onSerial((b) => {
    output += String.fromCharCode(b);
  });
  const r = await machine.run({ timeoutMs: 600_000 });
  if (r.reason !== "debug-exit")
    throw new Error(`vmlab: bench guest stopped with ${r.reason}; output: ${output}`);
  return { seconds: r.seconds, instructions: r.instructions, output };
}

function runQemu(imagePath: string): { seconds: number; output: string } | undefined {
  const t0 = performance.now();
  const r = spawnSync(
    "qemu-system-i386",
    [
      "-accel",
      "tcg",
      "-M",
      "pc",
      "-cpu",
      "pentium3",
      "-m",
      "64",
      "-display",
      "none",
      "-nodefaults",
      "-serial",
      "stdio",
      "-device",
      "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "-bios",
      imagePath,
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.error !== undefined) return undefined;
  if (r.status !== 1) throw new Error(`qemu exited with ${r.status}: ${r.stderr}`);
  return { seconds, output: r.stdout };
}

const imagePath = buildGuest("bench", { ITERS: iters });
const image = readFileSync(imagePath);
process.stderr.write(`bench guest: ITERS=${iters}, ${runs} runs each\n`);

const vm: { seconds: number; instructions: number; output: string }[] = [];
for (let i = 0; i < runs; i++) {
  vm.push(await runVmlab(image));
  process.stderr.write(`  vmlab run ${i + 1}: ${vm.at(-1)!.seconds.toFixed(2)} s\n`);
}
const instructions = vm[0]!.instructions;
const qemuScale = Number(args["qemu-scale"]);
const oneRound = await runVmlab(readFileSync(buildGuest("bench", { ITERS: 1 })));
const perRound = iters > 1 ? (instructions - oneRound.instructions) / (iters - 1) : 0;
const qemuIters = iters * qemuScale;
const qemuInstructions = oneRound.instructions + perRound * (qemuIters - 1);
const vmSeconds = median(vm.map((r) => r.seconds));
const vmMips = instructions / vmSeconds / 1e6;

let qemuRow: { seconds: number; mips: number; startup: number; sameOutput: boolean } | undefined;
if (!args["no-qemu"]) {
  const emptyPath = buildGuest("bench", { ITERS: 1 });
  const qemuPath = buildGuest("bench", { ITERS: qemuIters });
  const reference = runQemu(imagePath);
  const sameOutput =
    reference !== undefined && reference.output.replace(/\r/g, "") === vm[0]!.output.replace(/\r/g, "");
  const q: number[] = [];
  const startup: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = runQemu(emptyPath);
    const r = runQemu(qemuPath);
    if (s === undefined || r === undefined) break;
    startup.push(s.seconds);
    q.push(r.seconds);
  }
  if (q.length > 0) {
    const seconds = Math.max(median(q) - median(startup), 1e-3);
    qemuRow = { seconds, mips: qemuInstructions / seconds / 1e6, startup: median(startup), sameOutput };
  } else {
    process.stderr.write("qemu-system-i386 not found: install qemu-system-x86 for the reference row\n");
  }
}

const rows = [
  ["engine", "instructions", "seconds (median)", "MIPS", "vs QEMU", "output"],
  [
    "vmlab interp",
    String(instructions),
    vmSeconds.toFixed(3),
    vmMips.toFixed(1),
    qemuRow ? `${(vmMips / qemuRow.mips).toFixed(3)}x` : "-",
    vm[0]!.output.trim(),
  ],
];
if (qemuRow) {
  rows.push([
    "qemu tcg",
    String(instructions),
    `${qemuRow.seconds.toFixed(3)} (+${qemuRow.startup.toFixed(2)} start)`,
    qemuRow.mips.toFixed(1),
    "1.000x",
    qemuRow.sameOutput ? "same" : "DIFFERENT",
  ]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
if (args.json !== undefined) {
  writeFileSync(
    args.json,
    `${JSON.stringify({ iters, runs, instructions, vmlab: { seconds: vmSeconds, mips: vmMips, runs: vm.map((r) => r.seconds) }, qemu: qemuRow ?? null }, null, 2)}\n`,
  );
}
if (qemuRow && !qemuRow.sameOutput) process.exitCode = 1;
