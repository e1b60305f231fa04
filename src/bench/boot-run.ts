/**
 * One boot's outcome, the same shape for every engine, how its status is decided, and the two
 * ways a boot is watched from the benchmark's process:
 *
 * - `runChildBoot`: a Node child process (vmlab: boot-child.ts, v86: v86-child.ts) that
 *   reports what happened as JSON lines (`ChildEvent`) on stdout;
 * - `runConsoleProcess`: any other process whose stdout is the guest's serial console (QEMU).
 *
 * Both time from just before the spawn (the child reports its own times, from just before it
 * starts the guest) and kill the process after the time limit, so a hang ends that boot only.
 */

import { spawn } from "node:child_process";
import { vmlabEnv } from "../machine/node-flags.js";
import { ConsoleWatch, type Stage, type StageHit } from "./console-watch.js";

/** ok: the command ran and /init reported status 0. timeout: the time limit hit first. crashed: anything else. */
export type BootStatus = "ok" | "timeout" | "crashed";

export interface BootRun {
  readonly status: BootStatus;
  /** Host seconds from the start of the boot to the end of the run (or the kill). */
  readonly seconds: number;
  /** vmlab: host seconds spent in loadLinux (for the vmlinux path, mostly host-side decompression); v86: to "emulator-started". */
  readonly loadSeconds?: number;
  /** "/init started" and "command done", when they appeared. */
  readonly init?: StageHit;
  readonly done?: StageHit;
  readonly exitStatus?: number;
  /** vmlab, v86: guest instructions retired in the whole run, and their rate over the run (not the load). */
  readonly instructions?: number;
  readonly mips?: number;
  /** How the run ended: vmlab's stop cause ("reset" is the clean end), "exit N" for QEMU, "killed", ... */
  readonly stop: string;
  /** For a failed boot: the panic line or the last console line. */
  readonly failureLine: string;
  readonly firstFault?: string;
  /** The last console lines (for the JSON report of a failed boot). */
  readonly consoleTail: readonly string[];
  /** Console lines that contain the caller's `markPrefix`, in order, with when they appeared. */
  readonly marks?: readonly StageHit[];
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

/**
 * What a boot child (boot-child.ts, v86-child.ts) writes on stdout, one JSON object per line:
 * "loaded" once the guest is set up, "stage" when a console marker first appears, "line" for
 * every console line, then "end" (or "error" if the emulator itself threw). Times are host
 * seconds from the child's start of the boot; instruction counts are the guest's, when the
 * engine can tell.
 */
export type ChildEvent =
  | { readonly event: "loaded"; readonly loadSeconds: number; readonly summary: string }
  | ({ readonly event: "stage"; readonly stage: Stage } & StageHit)
  | {
      readonly event: "line";
      readonly text: string;
      readonly seconds?: number;
      readonly instructions?: number;
    }
  | {
      readonly event: "end";
      /** vmlab's StopCause ("reset": the guest rebooted, the clean end), or the v86 child's reason. */
      readonly reason: string;
      /** Host seconds from the start to the end of the run. */
      readonly seconds: number;
      /** Host seconds spent running the guest (without loading). */
      readonly runSeconds: number;
      readonly instructions: number;
      readonly exitStatus: number | null;
      readonly failureLine: string;
      readonly firstFault: string | null;
    }
  | { readonly event: "error"; readonly message: string };

export interface WatchOptions {
  /** Host milliseconds allowed for the boot. */
  readonly timeoutMs: number;
  /** Keep console lines containing this text as `marks`. */
  readonly markPrefix?: string;
}

/** Time the parent grants a child beyond its own timeout (start-up, load, reporting) before killing it. */
const CHILD_GRACE_MS = 30_000;
/** Console lines kept per boot for the JSON report. */
const TAIL_LINES = 12;
/** After a kernel panic, let a console process print the rest of the report for this long, then kill it. */
const AFTER_PANIC_MS = 3000;

/**
 * Boots once in a Node child process: `node [...nodeArgs] script '<config JSON>'`, where the
 * script speaks the ChildEvent protocol. The child enforces `timeoutMs` itself; the parent
 * kills it CHILD_GRACE_MS later if it has not ended.
 */
export function runChildBoot(
  script: string,
  nodeArgs: readonly string[],
  config: unknown,
  opts: WatchOptions,
): Promise<BootRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    // Both Node children (vmlab's and v86's) get vmlab's malloc settings (node-flags.ts), so
    // the two run under the same allocator.
    const child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(config)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: vmlabEnv(),
    });
    let loadSeconds: number | undefined;
    const stages: { init?: StageHit; done?: StageHit; panic?: StageHit } = {};
    const tail: string[] = [];
    const marks: StageHit[] = [];
    let end: Extract<ChildEvent, { event: "end" }> | undefined;
    let error: string | undefined;
    let killed = false;
    let stderr = "";
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs + CHILD_GRACE_MS);

    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let e: ChildEvent;
        try {
          e = JSON.parse(text) as ChildEvent;
        } catch {
          continue; // Not an event (a stray log line).
        }
        if (e.event === "loaded") loadSeconds = e.loadSeconds;
        else if (e.event === "stage")
          stages[e.stage] ??= { seconds: e.seconds, line: e.line, ...pickInstr(e) };
        else if (e.event === "line") {
          tail.push(e.text);
          if (tail.length > TAIL_LINES) tail.shift();
          if (opts.markPrefix !== undefined && e.text.includes(opts.markPrefix) && e.seconds !== undefined)
            marks.push({ seconds: e.seconds, line: e.text, ...pickInstr(e) });
        } else if (e.event === "end") end = e;
        else error = e.message;
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    child.on("error", (e) => {
      error = e.message;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const seconds = end?.seconds ?? (performance.now() - t0) / 1000;
      const timedOut = end?.reason === "timeout" || killed;
      const stop =
        end !== undefined
          ? end.reason
          : killed
            ? "killed (no answer after the timeout)"
            : error !== undefined
              ? `error: ${error.split("\n")[0]}`
              : `child ${signal !== null ? `signal ${signal}` : `exit ${code}`}: ${stderr.trim().split("\n").at(-1) ?? ""}`;
      const exitStatus = end?.exitStatus ?? undefined;
      const instructions = end?.instructions;
      resolve({
        status: classify({ done: stages.done, exitStatus: exitStatus ?? undefined, timedOut }),
        seconds,
        ...(loadSeconds !== undefined ? { loadSeconds } : {}),
        ...(stages.init !== undefined ? { init: stages.init } : {}),
        ...(stages.done !== undefined ? { done: stages.done } : {}),
        ...(exitStatus !== null && exitStatus !== undefined ? { exitStatus } : {}),
        ...(instructions !== undefined ? { instructions } : {}),
        ...(end !== undefined && end.runSeconds > 0 ? { mips: end.instructions / end.runSeconds / 1e6 } : {}),
        stop,
        failureLine: end?.failureLine || stages.panic?.line || (tail.at(-1) ?? ""),
        ...(end?.firstFault ? { firstFault: end.firstFault } : {}),
        consoleTail: tail,
        ...(opts.markPrefix !== undefined ? { marks } : {}),
      });
    });
  });
}

function pickInstr(h: { instructions?: number }): { instructions?: number } {
  return h.instructions !== undefined ? { instructions: h.instructions } : {};
}

/**
 * Boots once in a process whose stdout is the guest's serial console (QEMU with
 * `-serial stdio`), watching it as runChildBoot's children watch theirs. The process is
 * killed after `timeoutMs` and a few seconds after a kernel panic. Times are host seconds
 * from just before the spawn; there are no instruction counts.
 */
export function runConsoleProcess(
  binary: string,
  args: readonly string[],
  initLine: string,
  opts: WatchOptions,
): Promise<BootRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const elapsed = (): number => (performance.now() - t0) / 1000;
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let killedFor: "timeout" | "panic" | undefined;
    const kill = (why: "timeout" | "panic"): void => {
      killedFor ??= why;
      child.kill("SIGKILL");
    };
    let panicTimer: NodeJS.Timeout | undefined;
    const marks: StageHit[] = [];
    let partial = "";
    const watch = new ConsoleWatch(initLine, (stage) => {
      if (stage === "panic") panicTimer = setTimeout(() => kill("panic"), AFTER_PANIC_MS);
    });
    const timer = setTimeout(() => kill("timeout"), opts.timeoutMs);
    let stderr = "";
    let spawnError: string | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      const seconds = elapsed();
      watch.feed(chunk, seconds);
      if (opts.markPrefix === undefined) return;
      const lines = (partial + chunk.toString("latin1")).split("\n");
      partial = (lines.pop() ?? "").slice(-4096);
      for (const line of lines) {
        if (line.includes(opts.markPrefix)) marks.push({ seconds, line: line.replace(/\r/g, "") });
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.on("error", (e) => {
      spawnError = e.message;
    });
    child.on("close", (code, signal) => {
      const seconds = elapsed();
      clearTimeout(timer);
      if (panicTimer !== undefined) clearTimeout(panicTimer);
      const stop =
        spawnError !== undefined
          ? `not started: ${spawnError}`
          : killedFor !== undefined
            ? `killed (${killedFor})`
            : signal !== null
              ? `signal ${signal}`
              : `exit ${code}`;
      const processError = stderr.trim().split("\n").at(-1) ?? "";
      const failureLine =
        spawnError ??
        (watch.hits.panic?.line ||
          watch.lastLine ||
          (processError !== "" ? `${binary}: ${processError}` : ""));
      resolve({
        status: classify({
          done: watch.hits.done,
          exitStatus: watch.exitStatus,
          timedOut: killedFor === "timeout",
        }),
        seconds,
        ...(watch.hits.init !== undefined ? { init: watch.hits.init } : {}),
        ...(watch.hits.done !== undefined ? { done: watch.hits.done } : {}),
        ...(watch.exitStatus !== undefined ? { exitStatus: watch.exitStatus } : {}),
        stop,
        failureLine,
        ...(watch.firstFault !== undefined ? { firstFault: watch.firstFault } : {}),
        consoleTail: [...watch.tail],
        ...(opts.markPrefix !== undefined ? { marks } : {}),
      });
    });
  });
}
