// `vmlab run --cpu bt --exec ...` prints exactly what `--cpu interp` prints: the whole guest
// console (kernel log with its timestamps included), in deterministic time, through the CLI.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./repo-root.js";

const COMMAND = "uname -a; echo hello | md5sum; ls /bin | wc -l; seq 1 200 | sort -rn | head -3";

function run(cpu: string): { status: number | null; stdout: string } {
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "bin", "vmlab.js"), "run", "--cpu", cpu, "--time", "deterministic", "--exec", COMMAND],
    { encoding: "latin1", timeout: 600_000, maxBuffer: 64 << 20 },
  );
  return { status: r.status, stdout: r.stdout };
}

test("vmlab run --cpu bt --exec gives the same console output as --cpu interp", () => {
  const interp = run("interp");
  const bt = run("bt");
  assert.equal(interp.status, 0, interp.stdout.slice(-2000));
  assert.equal(bt.status, 0, bt.stdout.slice(-2000));
  assert.match(interp.stdout, /b1946ac92492d2347c6235b4d2611184 {2}-/, "md5 of 'hello\\n'");
  assert.match(interp.stdout, /^200\r?\n199\r?\n198\r?$/m);
  assert.equal(bt.stdout, interp.stdout);
});
