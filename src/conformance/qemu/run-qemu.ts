/**
 * Oracle (b): QEMU. Runs a firmware image in `qemu-system-i386` (TCG, Pentium III, 16 MiB,
 * COM1 to a file, isa-debug-exit at 0xF4) and in a vmlab Machine with the same devices,
 * and compares the serial output line by line, plus the exit status.
 */

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR } from "../host/host-oracle.js";

export interface GuestRun {
  readonly lines: string[];
  readonly exitCode: number;
  /** Why the run ended ("debug-exit", "timeout", "triple-fault", ...). */
  readonly reason: string;
  readonly error?: string;
}

export const QEMU_ARGS = [
  "-accel",
  "tcg",
  "-M",
  "pc",
  "-cpu",
  "pentium3",
  "-display",
  "none",
  "-nodefaults",
  "-device",
  "isa-debug-exit,iobase=0xf4,iosize=0x04",
  "-m",
  "16",
  "-no-reboot",
] as const;

function splitLines(text: string): string[] {
  const lines = text.replace(/\r/g, "").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function runQemu(name: string, image: Uint8Array, timeoutMs = 30_000): Promise<GuestRun> {
  const dir = join(CACHE_DIR, "qemu-run");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.${process.pid}.bin`);
  const serial = join(dir, `${name}.${process.pid}.serial`);
  writeFileSync(file, image);
  writeFileSync(serial, "");
  return new Promise((resolve) => {
    const child = spawn("qemu-system-i386", [...QEMU_ARGS, "-serial", `file:${serial}`, "-bios", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({
        lines: [],
        exitCode: -1,
        reason: "error",
        error: `cannot run qemu-system-i386 (install qemu-system-x86): ${e.message}`,
      });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      // COM1 goes to a file, not a pipe: QEMU may drop pipe output still queued at exit.
      out = readFileSync(serial, "latin1");
      rmSync(serial, { force: true });
      rmSync(file, { force: true });
      const reason = timedOut ? "timeout" : code !== null && (code & 1) === 1 ? "debug-exit" : "exit";
      resolve({
        lines: splitLines(out),
        exitCode: code ?? -1,
        reason,
        ...(err.trim() !== "" && reason !== "debug-exit" ? { error: err.trim() } : {}),
      });
    });
  });
}

export async function runVmlab(
  image: Uint8Array,
  timeoutMs = 60_000,
  engine: "interp" | "bt" = "interp",
): Promise<GuestRun> {
  let out = "";
  try {
    const { Machine } = await import("../../machine/machine.js");
    const machine = new Machine({
      memoryMiB: 16,
      firmware: image,
      debugExitPort: 0xf4,
      engine,
      // The translator translates at first sight here, so the programs exercise translations.
      translator: { hotThreshold: 0 },
    });
    machine.onSerial((b) => {
      out += String.fromCharCode(b);
    });
    const r = await machine.run({ timeoutMs, maxInstructions: 200_000_000 });
    return { lines: splitLines(out), exitCode: r.exitCode, reason: r.reason };
  } catch (e) {
    return {
      lines: splitLines(out),
      exitCode: -1,
      reason: "error",
      error: `vmlab threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    };
  }
}
