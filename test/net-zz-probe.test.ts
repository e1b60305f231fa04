import { isMainThread, Worker, parentPort } from "node:worker_threads";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
const role = process.env.PROBE_ROLE;
if (!isMainThread) {
  const x: number = 42;
  parentPort!.postMessage(x);
} else if (role === "child") {
  process.send!({ argv: process.execArgv });
  process.exit(0);
} else {
  test("probe", async () => {
    console.log("execArgv", JSON.stringify(process.execArgv));
    const url = import.meta.url;
    const w = url.endsWith(".ts") ? new Worker(`import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`, { eval: true }) : new Worker(new URL(url));
    const v = await new Promise((r, j) => { w.once("message", r); w.once("error", j); });
    console.log("worker said", v);
    const c = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, PROBE_ROLE: "child" }, execArgv: process.execArgv.filter((a) => !a.startsWith("--test")) });
    const m = await new Promise((r) => c.once("message", r));
    console.log("child said", m);
  });
}
