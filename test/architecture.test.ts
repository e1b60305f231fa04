// Keeps ARCHITECTURE.md's import rules true: each folder of src/ may import only the folders
// listed for it. A new folder must be added here (and to ARCHITECTURE.md) to be allowed.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./repo-root.js";

const srcRoot = join(REPO_ROOT, "src");

/** folder -> folders it may import from (besides itself). "vmm/contract" = src/vmm/{exit,exit-reason,engine}.ts */
const ALLOWED: Record<string, readonly string[]> = {
  memory: [],
  time: [],
  net: [],
  bus: ["memory"],
  devices: ["bus", "memory", "net", "time"],
  cpu: ["memory", "mmu", "vmm/contract"],
  mmu: ["cpu", "memory", "vmm/contract"],
  vmm: ["bus", "cpu", "memory"],
  boot: ["cpu", "memory"],
  images: ["boot"],
  machine: ["boot", "bus", "cpu", "devices", "images", "memory", "mmu", "net", "time", "vmm"],
  guests: [],
  bench: ["boot", "cpu", "guests", "images", "machine", "memory", "net", "time", "vmm"],
  conformance: ["bus", "cpu", "devices", "guests", "machine", "memory", "mmu", "vmm"],
  cli: [
    "bench",
    "boot",
    "bus",
    "conformance",
    "cpu",
    "devices",
    "guests",
    "images",
    "machine",
    "memory",
    "mmu",
    "net",
    "time",
    "vmm",
  ],
};
const CONTRACT = new Set(["vmm/exit.ts", "vmm/exit-reason.ts", "vmm/engine.ts"]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

test("src/ folders import only what ARCHITECTURE.md allows", () => {
  const violations: string[] = [];
  for (const file of tsFiles(srcRoot)) {
    const from = relative(srcRoot, file).split("/")[0]!;
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      violations.push(`${relative(srcRoot, file)}: folder "${from}" has no import rule`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
      const target = relative(srcRoot, resolve(dirname(file), m[1]!)).replace(/\.js$/, ".ts");
      const to = target.split("/")[0]!;
      if (to === from) continue;
      if (allowed.includes(to)) continue;
      if (to === "vmm" && CONTRACT.has(target) && allowed.includes("vmm/contract")) continue;
      violations.push(`${relative(srcRoot, file)} imports ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});
