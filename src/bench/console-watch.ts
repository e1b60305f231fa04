/**
 * Watches a guest's serial console for the lines that mark the stages of a boot, the same way
 * for every engine (vmlab in a child process, QEMU on a pipe), and notes when each first
 * appeared.
 *
 * Stages: "init" (the initramfs's /init started: the image's own marker line, or the
 * kernel's "Run /init as init process", printed just before it execs /init), "done" (/init
 * printed `vmlab-exit-status: N` after the benchmark's command), "panic" (a kernel panic: the
 * boot will not finish).
 */

import { EXIT_MARKER } from "../images/index.js";

/**
 * The line the initramfs's /init should print as its very first action, so a boot can be
 * timed to "/init started" with the stock (quiet) command line.
 */
export { INIT_STARTED_MARKER as INIT_STARTED_LINE } from "../images/index.js";
/** The kernel's own line (KERN_INFO, so only without `quiet`), printed just before it execs /init. */
export const KERNEL_RUN_INIT_LINE = "Run /init as init process";

export type Stage = "init" | "done" | "panic";

export interface StageHit {
  /** Host seconds from the start of the boot. */
  readonly seconds: number;
  /** Guest instructions retired by then, when the engine can tell. */
  readonly instructions?: number;
  readonly line: string;
}

const PANIC = /Kernel panic - not syncing/;
/** Kernel reports of a fault that may or may not end the boot; the first one is kept. */
const FAULT = /Kernel panic|BUG: |Oops: |general protection fault|invalid opcode: |segfault at /;
const EXIT = new RegExp(`${EXIT_MARKER}\\s*(-?\\d+)`);
/** Lines kept for reports of a failed boot. */
const TAIL_LINES = 12;
const MAX_LINE = 4096;

export class ConsoleWatch {
  readonly hits: Partial<Record<Stage, StageHit>> = {};
  /** The command's exit status from the `vmlab-exit-status: N` line. */
  exitStatus: number | undefined;
  /** The first kernel fault report (panic, BUG, Oops, segfault), if any. */
  firstFault: string | undefined;
  /** The last complete non-empty lines (without carriage returns). */
  readonly tail: string[] = [];
  /** Non-empty lines seen so far. */
  lineCount = 0;
  private partial = "";

  constructor(
    private readonly initLine: string,
    private readonly onHit?: (stage: Stage, hit: StageHit) => void,
  ) {}

  /** Feeds console bytes that arrived `seconds` after the start (with `instructions` retired). */
  feed(bytes: Uint8Array | string, seconds: number, instructions?: number): void {
    const text = typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("latin1");
    for (const ch of text) {
      if (ch === "\n") {
        this.line(this.partial.replace(/\r/g, ""), seconds, instructions);
        this.partial = "";
      } else if (this.partial.length < MAX_LINE) {
        this.partial += ch;
      }
    }
  }

  /** The last line seen (a partial one if the console stopped mid-line), "" if none. */
  get lastLine(): string {
    const partial = this.partial.replace(/\r/g, "").trim();
    return partial !== "" ? partial : (this.tail.at(-1) ?? "");
  }

  /** The line that best explains a failed boot: the panic line, else the first fault report, else the last line. */
  get failureLine(): string {
    return this.hits.panic?.line ?? this.firstFault ?? this.lastLine;
  }

  private line(line: string, seconds: number, instructions: number | undefined): void {
    if (line.trim() === "") return;
    this.lineCount++;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    if (line.includes(this.initLine)) this.hit("init", line, seconds, instructions);
    const m = EXIT.exec(line);
    if (m !== null && this.hits.done === undefined) {
      this.exitStatus = Number(m[1]);
      this.hit("done", line, seconds, instructions);
    }
    if (PANIC.test(line)) this.hit("panic", line, seconds, instructions);
    if (this.firstFault === undefined && FAULT.test(line)) this.firstFault = line;
  }

  private hit(stage: Stage, line: string, seconds: number, instructions: number | undefined): void {
    if (this.hits[stage] !== undefined) return;
    const hit: StageHit = { seconds, line, ...(instructions !== undefined ? { instructions } : {}) };
    this.hits[stage] = hit;
    this.onHit?.(stage, hit);
  }
}
