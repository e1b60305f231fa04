/** `npm run guests`: builds the built-in guests into build/guests/ for `vmlab run --bios`. */

import { copyFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildGuest, GUEST_SOURCE_DIR } from "./assemble.js";

const outDir = resolve(GUEST_SOURCE_DIR, "../../build/guests");
mkdirSync(outDir, { recursive: true });
for (const [name, defines] of [
  ["demo", {}],
  ["bench", { ITERS: 200 }],
] as const) {
  const bin = buildGuest(name, defines);
  copyFileSync(bin, join(outDir, `${name}.bin`));
  process.stdout.write(`built ${join(outDir, `${name}.bin`)}\n`);
}
