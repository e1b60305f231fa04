/**
 * Builds vmlab's built-in guests (64 KiB firmware images written in GNU assembler) with the
 * host's binutils: `as --32`, `ld -m elf_i386` with guest.ld, `objcopy -O binary`. Results are
 * cached by a hash of the sources and definitions, so repeated runs cost nothing.
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Folder holding the .S sources: src/guests in the repository, whether this module runs from src/ or dist/src/. */
export const GUEST_SOURCE_DIR = existsSync(join(here, "guest.ld"))
  ? here
  : resolve(here, "../../../src/guests");

export class GuestBuildError extends Error {
  override readonly name = "GuestBuildError";
}

function tool(name: string, args: string[], cwd: string): void {
  try {
    execFileSync(name, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === "ENOENT") {
      throw new GuestBuildError(
        `${name} not found: install binutils (apt-get install binutils) to build guests`,
      );
    }
    throw new GuestBuildError(`${name} ${args.join(" ")} failed:\n${err.stderr?.toString() ?? err.message}`);
  }
}

/**
 * Assemble `<name>.S` from `sourceDir` into a 64 KiB image and return the path of the cached
 * binary. `defines` become `--defsym NAME=VALUE`.
 */
export function buildGuest(
  name: string,
  defines: Readonly<Record<string, number>> = {},
  sourceDir: string = GUEST_SOURCE_DIR,
  cacheDir: string = join(tmpdir(), "vmlab-guests"),
): string {
  const source = join(sourceDir, `${name}.S`);
  if (!existsSync(source)) throw new GuestBuildError(`no guest source ${source}`);
  const hash = createHash("sha256");
  for (const f of readdirSync(sourceDir).sort()) {
    if (f.endsWith(".S") || f.endsWith(".ld")) hash.update(f).update(readFileSync(join(sourceDir, f)));
  }
  hash.update(JSON.stringify(defines));
  const key = hash.digest("hex").slice(0, 16);
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, `${name}-${key}.bin`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}`;
  const defsyms = Object.entries(defines).flatMap(([k, v]) => ["--defsym", `${k}=${v}`]);
  tool("as", ["--32", "-I", sourceDir, ...defsyms, "-o", `${tmp}.o`, source], sourceDir);
  tool(
    "ld",
    ["-m", "elf_i386", "-T", join(sourceDir, "guest.ld"), "-o", `${tmp}.elf`, `${tmp}.o`],
    sourceDir,
  );
  tool("objcopy", ["-O", "binary", `${tmp}.elf`, tmp], sourceDir);
  const size = readFileSync(tmp).length;
  if (size !== 0x10000)
    throw new GuestBuildError(`${name}: image is ${size} bytes, expected 65536 (check guest.ld)`);
  renameSync(tmp, out);
  return out;
}
