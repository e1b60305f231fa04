/**
 * QEMU TCG as the reference for boot benchmarks: the command line, finding (or installing)
 * qemu-system-i386, and one timed boot with the console watched on a pipe.
 *
 * The machine: `-M pc` (i440FX, like vmlab's platform), `-cpu pentium3` (family 6 with FPU,
 * CX8, CMOV and TSC, no PAE: what the Debian 686 kernel needs, and no more than vmlab
 * offers), `-nodefaults` (no VGA, NIC or floppy to probe), COM1 on stdio, and `-no-reboot`
 * so the keyboard-controller reset that /init's `reboot -f` causes ends QEMU.
 * No instruction count: `-icount` would give one but changes QEMU's timing, so the QEMU
 * rows show "-" there.
 */

import { spawnSync } from "node:child_process";
import { type BootRun, runConsoleProcess } from "./boot-run.js";

export const QEMU_BINARY = "qemu-system-i386";
export const QEMU_CPU = "pentium3";
/** Debian's package that holds qemu-system-i386. */
export const QEMU_PACKAGE = "qemu-system-x86";

export interface QemuBootConfig {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly memoryMiB: number;
}

/** The arguments of qemu-system-i386 for one boot of a kernel and initrd. */
export function qemuBootArgs(c: QemuBootConfig): string[] {
  return [
    "-accel",
    "tcg",
    "-M",
    "pc",
    "-cpu",
    QEMU_CPU,
    "-m",
    String(c.memoryMiB),
    "-display",
    "none",
    "-nodefaults",
    "-serial",
    "stdio",
    "-no-reboot",
    "-kernel",
    c.kernel,
    "-initrd",
    c.initrd,
    "-append",
    c.cmdline,
  ];
}

/** `qemu-system-i386 --version`'s first line, or undefined when it is not installed. */
export function qemuVersion(binary = QEMU_BINARY): string | undefined {
  const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return r.stdout.split("\n")[0]?.trim();
}

/**
 * Makes sure qemu-system-i386 is there: when it is missing and we are root on a system with
 * apt-get, installs qemu-system-x86 (as scripts/setup.sh does). Returns its version, or a
 * reason it is not available.
 */
export function ensureQemu(log: (msg: string) => void): { version: string } | { missing: string } {
  const found = qemuVersion();
  if (found !== undefined) return { version: found };
  const root = process.getuid?.() === 0;
  const apt = spawnSync("apt-get", ["--version"], { encoding: "utf8" });
  if (!root || apt.error !== undefined) {
    return {
      missing: `${QEMU_BINARY} not found; install ${QEMU_PACKAGE} (apt-get install ${QEMU_PACKAGE}) for the QEMU rows`,
    };
  }
  log(`${QEMU_BINARY} not found: installing ${QEMU_PACKAGE} with apt-get`);
  const install = (): number | null =>
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", QEMU_PACKAGE], {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).status;
  if (install() !== 0) {
    log("apt-get install failed; running apt-get update and trying once more");
    spawnSync("apt-get", ["update"], { stdio: ["ignore", "inherit", "inherit"] });
    install();
  }
  const after = qemuVersion();
  return after !== undefined
    ? { version: after }
    : { missing: `installing ${QEMU_PACKAGE} did not give a working ${QEMU_BINARY}` };
}

/** Boots once under QEMU. Times are host seconds from just before the process is spawned. */
export function runQemuBoot(
  config: QemuBootConfig,
  initLine: string,
  timeoutMs: number,
  binary = QEMU_BINARY,
): Promise<BootRun> {
  return runConsoleProcess(binary, qemuBootArgs(config), initLine, { timeoutMs });
}
