import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuid } from "../src/vmm/cpuid.js";
import { ExitReason } from "../src/vmm/exit-reason.js";
import { ExitStats, LatencyAggregate } from "../src/vmm/exit-stats.js";
import { MsrFile } from "../src/vmm/msr.js";

test("latency aggregate computes count, mean, sample std-dev, min, max, median", () => {
  const a = new LatencyAggregate();
  for (const v of [2, 4, 4, 4, 5, 5, 7, 9]) a.add(v);
  assert.equal(a.count, 8);
  assert.equal(a.mean, 5);
  assert.ok(Math.abs(a.stdDev - Math.sqrt(32 / 7)) < 1e-12);
  assert.equal(a.min, 2);
  assert.equal(a.max, 9);
  assert.equal(a.median, 4.5);
});

test("exit stats rows list only reasons that occurred, most frequent first, by VT-x name", () => {
  const s = new ExitStats();
  s.record(ExitReason.CPUID, 100);
  s.record(ExitReason.IO_INSTRUCTION, 50);
  s.record(ExitReason.IO_INSTRUCTION, 70);
  const rows = s.rows();
  assert.deepEqual(
    rows.map((r) => [r.reason, r.count]),
    [
      ["IO_INSTRUCTION", 2],
      ["CPUID", 1],
    ],
  );
  assert.equal(s.total, 3);
});

test("CPUID reports GenuineIntel family 6 with FPU TSC CX8 CMOV PSE PGE MSR", () => {
  const out = new Int32Array(4);
  cpuid(0, out);
  const bytes = new Uint8Array(new Int32Array([out[1]!, out[3]!, out[2]!]).buffer);
  assert.equal(new TextDecoder().decode(bytes), "GenuineIntel");
  cpuid(1, out);
  assert.equal((out[0]! >> 8) & 0xf, 6);
  const need = [0, 3, 4, 5, 8, 13, 15]; // FPU PSE TSC MSR CX8 PGE CMOV
  for (const bit of need) assert.equal((out[3]! >>> bit) & 1, 1, `feature bit ${bit}`);
  assert.equal((out[3]! >>> 6) & 1, 0, "no PAE");
});

test("CPUID above the maximum basic leaf returns the highest basic leaf", () => {
  const a = new Int32Array(4);
  const b = new Int32Array(4);
  cpuid(1, a);
  cpuid(0x1234, b);
  assert.deepEqual(b, a);
});

test("MSR file: known MSRs read back, unknown ones are refused", () => {
  const m = new MsrFile();
  assert.equal(m.read(0x1a0), 1n);
  assert.equal(m.write(0x1a0, 0x1_0000_0001n), true);
  assert.equal(m.read(0x1a0), 0x1_0000_0001n);
  assert.equal(m.read(0xdead), undefined);
  assert.equal(m.write(0xdead, 1n), false);
});
