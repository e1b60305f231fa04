/**
 * v86 (the npm package `v86`: an x86 PC emulator in Rust compiled to WebAssembly, with an
 * x86-to-wasm JIT) as the second reference for the benchmarks, beside QEMU TCG: the closest
 * relative of vmlab, a whole PC emulated inside a JavaScript engine.
 *
 * v86 runs headless in a Node child process (v86-child.ts), one boot per child, so a hang can
 * be killed and every boot starts from a cold JIT as vmlab's and QEMU's do. It boots the same
 * bzImage, initramfs and command line: SeaBIOS (Debian's `seabios` package: v86 ships no
 * BIOS) runs first, then v86's own boot-sector stub enters the kernel's real-mode setup, and
 * the kernel's own decompressor runs, as in QEMU and in vmlab's `decompressor` rows.
 *
 * One difference: v86 always loads the initrd at 64 MiB (src/kernel.js), so it needs more than
 * 64 MiB of RAM; with a smaller `--mem` the v86 row gets the next power of two above 64 MiB
 * plus the initrd (128 MiB for the default image), and the notes say so.
 */

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BootRun, runChildBoot, type WatchOptions } from "./boot-run.js";
import type { V86ChildConfig } from "./v86-child.js";

export const V86_PACKAGE = "v86";
/** Debian's package with SeaBIOS (bios.bin, vgabios.bin), as QEMU uses it. */
export const SEABIOS_PACKAGE = "seabios";
export const SEABIOS_BIOS = "/usr/share/seabios/bios.bin";
/** Where v86 puts the initrd in guest-physical memory (v86 src/kernel.js: `initrd_start = 64 * 1024 * 1024`). */
export const V86_INITRD_ADDRESS = 64 * 1024 * 1024;

const MiB = 1024 * 1024;

export interface V86Setup {
  /** The package's version ("0.5.462"). */
  readonly version: string;
  /** build/libv86.mjs and build/v86.wasm of the installed package. */
  readonly lib: string;
  readonly wasm: string;
  /** SeaBIOS. No VGA BIOS: the console is COM1, as in QEMU's `-nodefaults` machine. */
  readonly bios: string;
}

/** The installed v86 package's files, or why it cannot be used. */
export function findV86(): Omit<V86Setup, "bios"> | { missing: string } {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${V86_PACKAGE}/package.json`));
  } catch {
    return {
      missing: `the npm package ${V86_PACKAGE} is not installed (it is a devDependency: run \`npm install\`)`,
    };
  }
  const lib = join(dir, "build", "libv86.mjs");
  const wasm = join(dir, "build", "v86.wasm");
  for (const f of [lib, wasm]) {
    if (!existsSync(f)) return { missing: `${f} is missing from the installed ${V86_PACKAGE} package` };
  }
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string };
  // The published package.json carries the build's commit ("0.5.462+g5f9a90f").
  return { version: (pkg.version ?? "unknown").split("+")[0]!, lib, wasm };
}

/**
 * Makes sure SeaBIOS is there: when it is missing and we are root on a system with apt-get,
 * installs Debian's seabios (as scripts/setup.sh does). Returns the BIOS file, or a reason.
 */
export function ensureSeabios(log: (msg: string) => void): { bios: string } | { missing: string } {
  if (existsSync(SEABIOS_BIOS)) return { bios: SEABIOS_BIOS };
  const root = process.getuid?.() === 0;
  const apt = spawnSync("apt-get", ["--version"], { encoding: "utf8" });
  if (!root || apt.error !== undefined) {
    return {
      missing: `${SEABIOS_BIOS} not found; install ${SEABIOS_PACKAGE} (apt-get install ${SEABIOS_PACKAGE}) for the v86 row`,
    };
  }
  log(`${SEABIOS_BIOS} not found: installing ${SEABIOS_PACKAGE} with apt-get`);
  const install = (): number | null =>
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", SEABIOS_PACKAGE], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status;
  if (install() !== 0) {
    log("apt-get install failed; running apt-get update and trying once more");
    spawnSync("apt-get", ["update"], { stdio: ["ignore", "inherit", "inherit"] });
    install();
  }
  return existsSync(SEABIOS_BIOS)
    ? { bios: SEABIOS_BIOS }
    : { missing: `installing ${SEABIOS_PACKAGE} did not give ${SEABIOS_BIOS}` };
}

/** The v86 package and SeaBIOS, or why the v86 row cannot run. */
export function ensureV86(log: (msg: string) => void): V86Setup | { missing: string } {
  const v86 = findV86();
  if ("missing" in v86) return v86;
  const bios = ensureSeabios(log);
  if ("missing" in bios) return bios;
  return { ...v86, bios: bios.bios };
}

/**
 * The RAM v86 gets for a requested size: the request when the initrd fits above
 * V86_INITRD_ADDRESS, else the smallest power of two that holds it there (v86 wants a power
 * of two; its docs say "should be").
 */
export function v86MemoryMiB(requestedMiB: number, initrdBytes: number): number {
  const needed = V86_INITRD_ADDRESS + initrdBytes;
  if (requestedMiB * MiB > needed) return requestedMiB;
  let mib = 1;
  while (mib * MiB <= needed) mib *= 2;
  return mib;
}

export interface V86BootConfig {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly memoryMiB: number;
  readonly timeoutMs: number;
  /** The console line that marks "/init started". */
  readonly initLine: string;
}

const CHILD_SCRIPT = fileURLToPath(new URL("./v86-child.js", import.meta.url));

/** Boots once in v86, in a child process (v86-child.ts). */
export function runV86Boot(
  setup: V86Setup,
  config: V86BootConfig,
  opts: Omit<WatchOptions, "timeoutMs"> = {},
): Promise<BootRun> {
  const child: V86ChildConfig = {
    ...config,
    lib: setup.lib,
    wasm: setup.wasm,
    bios: setup.bios,
  };
  return runChildBoot(CHILD_SCRIPT, [], child, { ...opts, timeoutMs: config.timeoutMs });
}
