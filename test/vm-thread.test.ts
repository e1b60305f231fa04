// A VM on its own worker thread (startVmThread) behaves exactly as on the main thread: the same
// console and exit counts in deterministic time; bad configurations reject `done` with the
// worker's error class and message; console marks produce snapshots taken mid-run.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildGuest } from "../src/guests/assemble.js";
import { Machine } from "../src/machine/machine.js";
import { startVmThread, type VmSnapshot, type VmThreadConfig } from "../src/machine/vm-thread.js";

const firmware = (path: string): VmThreadConfig => ({
  firmwarePath: path,
  memoryMiB: 16,
  time: "deterministic",
  nics: [],
  disks: [],
  maxInstructions: 50_000_000,
});

const exitCounts = (rows: readonly { reason: string; count: number }[]): string =>
  rows.map((r) => `${r.reason}=${r.count}`).join(" ");

for (const [guest, defines] of [
  ["demo", {}],
  ["exit-count", { OUTS: 37, CPUIDS: 5 }],
] as const) {
  test(`${guest}: on a worker thread, the same console and exit counts as on the main thread`, async () => {
    const path = buildGuest(guest, defines);
    const m = new Machine({ memoryMiB: 16, time: "deterministic", firmware: readFileSync(path) });
    let expected = "";
    m.onSerial((b) => {
      expected += String.fromCharCode(b);
    });
    const r = await m.run({ maxInstructions: 50_000_000 });

    const vm = startVmThread(firmware(path));
    const chunks: Uint8Array[] = [];
    vm.onSerial((bytes) => chunks.push(bytes));
    const done = await vm.done;
    const console = Buffer.concat(chunks).toString("latin1");
    assert.equal(console, expected);
    assert.equal(done.result.reason, r.reason);
    assert.equal(done.result.instructions, r.instructions);
    assert.equal(exitCounts(done.report.exits), exitCounts(m.stats.rows()));
    assert.equal(done.report.totalExits, m.stats.total);
    assert.deepEqual(done.nics, []);
    if (guest === "demo") assert.ok(chunks.length < console.length, "console output is batched");
  });
}

test("bad configurations reject done with the worker's error class and message", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-vm-thread-"));
  const missing = startVmThread({
    kernelPath: join(dir, "no-such-bzImage"),
    memoryMiB: 16,
    time: "deterministic",
    nics: [],
    disks: [],
  });
  await assert.rejects(missing.done, (e: Error) => {
    assert.equal(e.name, "VmInputError");
    assert.match(e.message, /cannot read kernel .*no-such-bzImage/);
    return true;
  });

  const short = join(dir, "short.bin");
  writeFileSync(short, new Uint8Array(1000));
  const wrongSize = startVmThread(firmware(short));
  await assert.rejects(wrongSize.done, (e: Error) => {
    assert.equal(e.name, "MachineConfigError");
    assert.match(e.message, /64 KiB or 128 KiB, got 1000 bytes/);
    return true;
  });

  // This process is intact: a good VM still runs.
  const ok = await startVmThread(firmware(buildGuest("exit-count", { OUTS: 1, CPUIDS: 1 }))).done;
  assert.equal(ok.result.reason, "halted");
});

test("a marker line on the console gives a snapshot of the counters at that point", async () => {
  const before = performance.timeOrigin + performance.now();
  const vm = startVmThread({ ...firmware(buildGuest("demo")), markPrefix: "CPUID vendor:" });
  const marks: VmSnapshot[] = [];
  let consoleAtMark = "";
  let console = "";
  vm.onSerial((bytes) => {
    console += Buffer.from(bytes).toString("latin1");
  });
  vm.onMark((snap) => {
    marks.push(snap);
    consoleAtMark = console;
  });
  const done = await vm.done;
  const after = performance.timeOrigin + performance.now();
  assert.equal(marks.length, 1);
  const snap = marks[0]!;
  assert.equal(snap.label, "GenuineIntel");
  assert.ok(snap.report.instructions > 0);
  assert.ok(snap.report.instructions <= done.report.instructions);
  assert.ok(snap.hostMs >= before && snap.hostMs <= after);
  assert.match(consoleAtMark, /CPUID vendor: GenuineIntel\r\n$/, "the console up to the mark came first");
  // The demo executes its second CPUID after printing the vendor line.
  const cpuid = (rows: readonly { reason: string; count: number }[]): number | undefined =>
    rows.find((r) => r.reason === "CPUID")?.count;
  assert.equal(cpuid(snap.report.exits), 1);
  assert.equal(cpuid(done.report.exits), 2);
});

test("stop() ends a running guest: done resolves with host-stop", async () => {
  const vm = startVmThread({
    ...firmware(buildGuest("bench", { ITERS: 1_000_000 })), // minutes of work
    maxInstructions: Number.MAX_SAFE_INTEGER,
  });
  setTimeout(() => vm.stop(), 200);
  const done = await vm.done;
  assert.equal(done.result.reason, "host-stop");
  assert.ok(done.result.instructions > 0);
});

test("isa-debug-exit in the worker: the guest's status comes back", async () => {
  const vm = startVmThread({ ...firmware(buildGuest("bench", { ITERS: 2 })), debugExitPort: 0xf4 });
  const done = await vm.done;
  assert.equal(done.result.reason, "debug-exit");
  assert.equal(done.result.exitCode, 1);
});
