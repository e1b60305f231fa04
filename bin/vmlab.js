#!/usr/bin/env node
// The vmlab command: runs the compiled CLI (build it with `npm run build`).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const main = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "src", "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write("vmlab: not built yet; run `npm install && npm run build` in the vmlab folder first\n");
  process.exit(2);
}
await import(main);
