/** One boot's outcome, the same shape for every engine, and how its status is decided. */

import type { StageHit } from "./console-watch.js";

/** ok: the command ran and /init reported status 0. timeout: the time limit hit first. crashed: anything else. */
export type BootStatus = "ok" | "timeout" | "crashed";

export interface BootRun {
  readonly status: BootStatus;
  /** Host seconds from the start of the boot to the end of the run (or the kill). */
  readonly seconds: number;
  /** vmlab: host seconds spent in loadLinux (for the vmlinux path, mostly host-side decompression). */
  readonly loadSeconds?: number;
  /** "/init started" and "command done", when they appeared. */
  readonly init?: StageHit;
  readonly done?: StageHit;
  readonly exitStatus?: number;
  /** vmlab: guest instructions retired in the whole run, and their rate over the run (not the load). */
  readonly instructions?: number;
  readonly mips?: number;
  /** How the run ended: vmlab's stop cause ("reset" is the clean end), "exit N" for QEMU, "killed", ... */
  readonly stop: string;
  /** For a failed boot: the panic line or the last console line. */
  readonly failureLine: string;
  readonly firstFault?: string;
  /** The last console lines (for the JSON report of a failed boot). */
  readonly consoleTail: readonly string[];
}

export interface Outcome {
  readonly done: StageHit | undefined;
  readonly exitStatus: number | undefined;
  readonly timedOut: boolean;
}

export function classify(o: Outcome): BootStatus {
  if (o.done !== undefined && o.exitStatus === 0) return "ok";
  if (o.done === undefined && o.timedOut) return "timeout";
  return "crashed";
}
