/**
 * Differential conformance against QEMU (src/conformance/qemu/): each firmware program
 * must print exactly the same lines in vmlab as in qemu-system-i386 and end the same way.
 * Skipped when qemu-system-i386 is not installed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { runQemuOracle } from "../src/conformance/index.js";

const haveQemu = spawnSync("qemu-system-i386", ["--version"]).status === 0;

test("qemu oracle: every program matches exactly", {
  skip: !haveQemu && "qemu-system-i386 not installed",
  timeout: 150_000,
}, async () => {
  const r = await runQemuOracle({ seed: 1, count: 1, oracle: "all", qemuArithCases: 300 });
  const bad = r.programs.filter((p) => !p.passed);
  const text = bad.map((p) => `${p.name}: ${p.error ?? ""}\n  ${p.diffs.join("\n  ")}`).join("\n");
  assert.ok(r.passed + r.failed > 100, "programs printed almost nothing");
  assert.equal(bad.length, 0, `programs differing from QEMU:\n${text}`);
  const fraction = r.passed / (r.passed + r.failed);
  assert.ok(fraction >= 0.99, `line pass fraction ${fraction}`);
});
