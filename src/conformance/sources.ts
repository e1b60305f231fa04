/**
 * Locating the non-TypeScript sources of this folder (the C harness, the assembly
 * programs) both when running from src/ (tsx) and from the compiled dist/src/.
 */

import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of `rel` (relative to src/conformance/). */
export function findSource(rel: string): string {
  const candidates = [
    join(here, rel),
    resolve(here, "../../../src/conformance", rel),
    resolve(process.cwd(), "src/conformance", rel),
  ];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`conformance source ${rel} not found (looked in ${candidates.join(", ")})`);
}
