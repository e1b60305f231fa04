// The Node options and environment vmlab runs under (machine/node-flags.ts), and bin/vmlab.js
// starting itself again with them: the second process's output and exit status pass through.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import {
  compilerPoolSize,
  hasVmlabEnv,
  hasVmlabNodeFlags,
  INLINE_BUDGET_FLAG,
  MALLOC_ENV,
  vmlabEnv,
  vmlabNodeFlags,
} from "../src/machine/node-flags.js";
import { REPO_ROOT } from "./repo-root.js";

test("the compiler pool leaves one core to the VM thread, and keeps at least one thread", () => {
  assert.equal(compilerPoolSize(1), 1);
  assert.equal(compilerPoolSize(2), 1);
  assert.equal(compilerPoolSize(8), 7);
  assert.deepEqual(vmlabNodeFlags(2), [INLINE_BUDGET_FLAG, "--v8-pool-size=1"]);
});

test("a process counts as started with vmlab's options only when its pool size was given", () => {
  assert.equal(hasVmlabNodeFlags([]), false);
  assert.equal(hasVmlabNodeFlags([INLINE_BUDGET_FLAG]), false);
  assert.equal(hasVmlabNodeFlags(["--v8-pool-size=3"]), true);
  assert.equal(hasVmlabNodeFlags(["--v8-pool-size", "3"]), true);
  assert.equal(hasVmlabNodeFlags(["--v8-pool-size-x=3"]), false);
});

function vmlab(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "vmlab.js"), ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("bin/vmlab.js, started again with its options, passes the output and exit status through", () => {
  const version = vmlab(["--version"]);
  assert.equal(version.status, 0, version.out);
  assert.match(version.out, /^\d+\.\d+\.\d+\n$/);
  const bad = vmlab(["run", "--no-such-option"]);
  assert.equal(bad.status, 1, bad.out);
  assert.match(bad.out, /unknown option '--no-such-option'/);
  // The same without the second process.
  const direct = vmlab(["run", "--no-such-option"], { VMLAB_NO_RESPAWN: "1" });
  assert.equal(direct.status, 1, direct.out);
  assert.equal(direct.out, bad.out);
});

test("vmlab's malloc settings fill in what the environment lacks and keep what it sets", () => {
  const env = vmlabEnv({ PATH: "/bin", MALLOC_MMAP_THRESHOLD_: "4096" });
  assert.equal(env.PATH, "/bin");
  assert.equal(env.MALLOC_MMAP_THRESHOLD_, "4096");
  assert.equal(env.MALLOC_TRIM_THRESHOLD_, MALLOC_ENV.MALLOC_TRIM_THRESHOLD_);
  assert.equal(hasVmlabEnv(env), true);
  assert.equal(hasVmlabEnv({ MALLOC_MMAP_THRESHOLD_: "4096" }), false);
});

test("bin/vmlab.js's second process runs with the malloc settings, the first without", () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(MALLOC_ENV)) delete env[k];
  // A preload that both processes run (the first passes its Node options on to the second).
  const probe =
    'data:text/javascript,process.stderr.write("pad=" + process.env.MALLOC_TRIM_THRESHOLD_ + "\\n")';
  const r = spawnSync(
    process.execPath,
    [`--import=${probe}`, join(REPO_ROOT, "bin", "vmlab.js"), "--version"],
    {
      encoding: "utf8",
      timeout: 60_000,
      env,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stderr.trim().split("\n"), [
    "pad=undefined",
    `pad=${MALLOC_ENV.MALLOC_TRIM_THRESHOLD_}`,
  ]);
});
