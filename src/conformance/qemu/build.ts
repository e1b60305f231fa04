/**
 * Building the QEMU-oracle programs: GNU assembler sources (src/conformance/qemu/*.S, or
 * generated text) assembled with `as --32`, linked at F0000 with image.ld and flattened to a
 * 64 KiB image with objcopy. Cached by content hash in os.tmpdir()/vmlab-conformance/.
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { CACHE_DIR } from "../host/host-oracle.js";
import { findSource } from "../sources.js";

export class ImageBuildError extends Error {
  override readonly name = "ImageBuildError";
}

function run(tool: string, args: string[], cwd: string): void {
  const r = spawnSync(tool, args, { cwd, encoding: "utf8" });
  if (r.error !== undefined)
    throw new ImageBuildError(`${tool} not found (install binutils): ${r.error.message}`);
  if (r.status !== 0) throw new ImageBuildError(`${tool} ${args.join(" ")} failed:\n${r.stderr}`);
}

/** Build an image from assembly text; `name` is used for file names and messages. */
export function buildImage(name: string, source: string): Uint8Array {
  const qemuDir = dirname(findSource("qemu/lib.inc"));
  const support = readdirSync(qemuDir)
    .filter((f) => f.endsWith(".inc") || f.endsWith(".ld"))
    .sort();
  const h = createHash("sha256").update(source);
  for (const f of support) h.update(f).update(readFileSync(join(qemuDir, f)));
  const hash = h.digest("hex").slice(0, 16);
  const dir = join(CACHE_DIR, "images");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${name}-${hash}.bin`);
  if (existsSync(out)) return new Uint8Array(readFileSync(out));
  const work = join(dir, `${name}-${hash}.${process.pid}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "prog.S"), source);
  for (const f of support) copyFileSync(join(qemuDir, f), join(work, f));
  run("as", ["--32", "-I", work, "-o", "prog.o", "prog.S"], work);
  run("ld", ["-m", "elf_i386", "-T", "image.ld", "-o", "prog.elf", "prog.o"], work);
  run("objcopy", ["-O", "binary", "prog.elf", "prog.bin"], work);
  const bin = readFileSync(join(work, "prog.bin"));
  if (bin.length !== 0x10000)
    throw new ImageBuildError(`${name}: image is ${bin.length} bytes, expected 65536`);
  renameSync(join(work, "prog.bin"), out);
  rmSync(work, { recursive: true, force: true });
  return new Uint8Array(bin);
}

/** Build one of the hand-written programs in src/conformance/qemu/. */
export function buildProgram(name: string): Uint8Array {
  return buildImage(name, readFileSync(findSource(`qemu/${name}.S`), "utf8"));
}
