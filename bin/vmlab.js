#!/usr/bin/env node
// The vmlab command: runs the compiled CLI (build it with `npm run build`).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";

// The interpreter's hot loop is one large function: a bigger cumulative inlining budget lets
// V8 inline its instruction helpers (about +10% MIPS). Must run before that code is compiled.
v8.setFlagsFromString("--max-inlined-bytecode-size-cumulative=4000");

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "src", "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write("vmlab: not built yet; run `npm install && npm run build` in the vmlab folder first\n");
  process.exit(2);
}
await import(main);
