// Differential testing of the binary translator against the interpreter on whole programs:
// the built-in guests and the QEMU-oracle firmware programs (real mode, protected mode,
// rings, exceptions, paging) run in a Machine in deterministic mode under both engines and
// must give identical console output, identical exit counts per reason and the same number
// of instructions; the host-CPU oracle's user-mode cases run translated (every case through
// a translation, budget 1 included) and must pass as the interpreter does.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { runQemuOracle } from "../src/conformance/index.js";
import { qemuPrograms } from "../src/conformance/qemu/programs.js";
import { runVmlab } from "../src/conformance/qemu/run-qemu.js";
import { runUserOracle } from "../src/conformance/user/run-user.js";
import type { TranslatorBackend } from "../src/cpu/bt/translator.js";
import { buildGuest } from "../src/guests/assemble.js";
import { Machine } from "../src/machine/machine.js";

interface GuestResult {
  output: string;
  exits: string;
  instructions: number;
  reason: string;
}

async function runGuest(
  image: Uint8Array,
  engine: "interp" | "bt",
  hotThreshold = 0,
  backend: TranslatorBackend = "js",
): Promise<GuestResult> {
  const m = new Machine({
    memoryMiB: 16,
    firmware: image,
    debugExitPort: 0xf4,
    time: "deterministic",
    engine,
    translator: { hotThreshold, backend },
  });
  let output = "";
  m.onSerial((b) => {
    output += String.fromCharCode(b);
  });
  const r = await m.run({ maxInstructions: 200_000_000 });
  const exits = m.stats
    .rows()
    .map((row) => `${row.reason}=${row.count}`)
    .join(" ");
  return { output, exits, instructions: r.instructions, reason: r.reason };
}

const GUESTS: [string, Record<string, number>][] = [
  ["bench", { ITERS: 3 }],
  ["demo", {}],
  ["exit-count", { OUTS: 37, CPUIDS: 5 }],
];

for (const [name, defs] of GUESTS) {
  test(`guest ${name}: identical output, exit counts and instruction count under bt`, async () => {
    const image = readFileSync(buildGuest(name, defs));
    const a = await runGuest(image, "interp");
    assert.ok(a.instructions > 100, `${name} ran (${a.reason})`);
    // Everything translated at first sight, most of it, and the default threshold.
    for (const hot of [0, 20, 50_000])
      assert.deepEqual(await runGuest(image, "bt", hot), a, `hotThreshold ${hot}`);
    // The wasm backend (wasm-codegen.ts), everything translated and most of it.
    for (const hot of [0, 20])
      assert.deepEqual(await runGuest(image, "bt", hot, "wasm"), a, `wasm backend, hotThreshold ${hot}`);
  });
}

test("QEMU-oracle programs: identical output and end under bt and interp", async () => {
  for (const p of qemuPrograms(1, 100)) {
    const image = p.build();
    const a = await runVmlab(image, 60_000, "interp");
    const b = await runVmlab(image, 60_000, "bt");
    assert.ok(a.lines.length > 10, `${p.name} printed ${a.lines.length} lines`);
    assert.deepEqual(b, a, p.name);
  }
});

const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;
test("QEMU oracle under bt: every program matches QEMU", {
  skip: !haveQemu && "qemu-system-i386 not installed",
  timeout: 150_000,
}, async () => {
  const r = await runQemuOracle({ seed: 1, count: 1, oracle: "qemu", qemuArithCases: 100, engine: "bt" });
  const bad = r.programs.filter((p) => !p.passed).map((p) => `${p.name}: ${p.diffs.slice(0, 5).join("\n")}`);
  assert.deepEqual(bad, []);
});

const isX86 = process.arch === "x64" || process.arch === "ia32";
test("host oracle under bt: the same cases pass as under the interpreter", {
  skip: !isX86 && "needs an x86 host",
  timeout: 120_000,
}, async () => {
  const a = await runUserOracle({ seed: 1, count: 4, maxFailures: 50 });
  const b = await runUserOracle({ seed: 1, count: 4, maxFailures: 50, engine: "bt" });
  assert.ok(b.passed + b.failed > 1000, `only ${b.passed + b.failed} cases ran ${b.error ?? ""}`);
  assert.equal(
    b.failed,
    a.failed,
    b.failures.map((f) => `${f.formKey} ${f.bytes}: ${f.diffs.join("; ")}`).join("\n"),
  );
  assert.equal(b.passed, a.passed);
});
