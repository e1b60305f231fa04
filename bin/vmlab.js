#!/usr/bin/env node
// The vmlab command: runs the compiled CLI (build it with `npm run build`).
//
// vmlab runs under a few Node options and environment variables (dist/src/machine/
// node-flags.js says which and why: V8's inlining budget, its compiler thread pool, which
// Node sizes at start-up only, and glibc malloc settings, which glibc reads at start-up).
// When they are missing, this script starts itself again with them, passes the terminal
// through and ends as the second process ends. VMLAB_NO_RESPAWN=1 keeps the first process
// (a wrapper that sets the options itself, or a debugger).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8 from "node:v8";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "src");
const main = join(dist, "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write(
    "vmlab: not built yet; run `npm install && npm run build` in the vmlab folder first\n",
  );
  process.exit(2);
}
const flags = await import(pathToFileURL(join(dist, "machine", "node-flags.js")).href);

const respawn =
  (!flags.hasVmlabNodeFlags() || !flags.hasVmlabEnv()) &&
  process.env.VMLAB_NO_RESPAWN !== "1" &&
  process.env.VMLAB_RESPAWNED !== "1"; // the second process never starts a third
if (respawn) {
  const args = [
    ...flags.vmlabNodeFlags(),
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ];
  const env = { ...flags.vmlabEnv(), VMLAB_RESPAWNED: "1" };
  const child = spawn(process.execPath, args, { stdio: "inherit", env });
  // Ctrl-C reaches both processes (one process group); the second one decides what it means.
  process.on("SIGINT", () => {});
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    process.stderr.write(`vmlab: cannot start ${process.execPath}: ${e.message}\n`);
    process.exit(2);
  });
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  // Must run before the interpreter's code is compiled (a no-op when the option was given).
  v8.setFlagsFromString(flags.INLINE_BUDGET_FLAG);
  await import(pathToFileURL(main).href);
}
