// End-to-end exit accounting: a guest doing N port writes and M CPUIDs yields exactly those
// exit counts, through the Machine API and through `vmlab run --stats-json`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { buildGuest } from "../src/guests/assemble.js";
import { Machine } from "../src/machine/machine.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
import { REPO_ROOT } from "./repo-root.js";

const vmlab = join(REPO_ROOT, "bin", "vmlab.js");

for (const [outs, cpuids] of [
  [1, 1],
  [37, 5],
  [1000, 250],
] as const) {
  test(`${outs} port writes and ${cpuids} CPUIDs give exactly those exit counts`, async () => {
    const image = readFileSync(buildGuest("exit-count", { OUTS: outs, CPUIDS: cpuids }));
    const m = new Machine({ memoryMiB: 2, firmware: image });
    const r = await m.run({ maxInstructions: 1_000_000 });
    assert.equal(r.reason, "halted");
    assert.equal(m.stats.count(ExitReason.IO_INSTRUCTION), outs);
    assert.equal(m.stats.count(ExitReason.CPUID), cpuids);
    assert.equal(m.stats.count(ExitReason.HLT), 1);
    // The reset vector's 5-byte far JMP is fetched from the ROM alias below 4 GiB, which is
    // MMIO: one EPT_VIOLATION exit per byte. Everything after runs from the RAM copy.
    assert.equal(m.stats.count(ExitReason.EPT_VIOLATION), 5);
    assert.equal(m.stats.total, outs + cpuids + 1 + 5, "no other exits");
    assert.equal(m.post.writes, outs);
    assert.equal(m.post.lastCode, 1, "the last OUT wrote CL=1");
  });
}

test("vmlab run --stats-json writes the exit table; --trace-port prints every write", () => {
  const bin = buildGuest("exit-count", { OUTS: 3, CPUIDS: 2 });
  const json = join(mkdtempSync(join(tmpdir(), "vmlab-test-")), "stats.json");
  const r = spawnSync(
    process.execPath,
    [vmlab, "run", "--bios", bin, "--mem", "2", "--stats", "--stats-json", json, "--trace-port", "0x80"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[port 0x0080\] <- 0x03\n\[port 0x0080\] <- 0x02\n\[port 0x0080\] <- 0x01\n/);
  assert.match(r.stderr, /IO_INSTRUCTION\s+3\s/);
  const report = JSON.parse(readFileSync(json, "utf8")) as {
    exits: { reason: string; count: number; meanNs: number }[];
  };
  const byName = Object.fromEntries(report.exits.map((e) => [e.reason, e.count]));
  assert.deepEqual(byName, { IO_INSTRUCTION: 3, CPUID: 2, HLT: 1, EPT_VIOLATION: 5 });
  for (const e of report.exits) assert.ok(e.meanNs > 0, `${e.reason} has a latency`);
});

test("vmlab run refuses a bad firmware image with a clear error", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-test-"));
  const r = spawnSync(process.execPath, [vmlab, "run", "--bios", join(dir, "missing.bin")], {
    encoding: "utf8",
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read firmware image/);
  const r2 = spawnSync(process.execPath, [vmlab, "run", "--bios", vmlab], { encoding: "utf8" });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /64 KiB or 128 KiB/);
  const r3 = spawnSync(process.execPath, [vmlab, "run", "--mem", "lots"], { encoding: "utf8" });
  assert.notEqual(r3.status, 0);
  assert.match(r3.stderr, /--mem must be an integer/);
});
