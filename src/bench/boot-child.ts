/**
 * Boots the guest once in vmlab and reports, as JSON lines on stdout, what happened and when.
 * `vmlab bench boot` runs this in a child process per boot, so a crash or a hang of one boot
 * cannot take the benchmark down (the parent kills a child that overruns its time).
 *
 *   node dist/src/bench/boot-child.js '<BootChildConfig as JSON>'
 *
 * Events, one JSON object per line (`ChildEvent` in boot-run.ts): "loaded" after loadLinux
 * (with the host-side load and decompression time), "stage" when a console marker first
 * appears, "line" for every console line (with its time and instruction count), then "end"
 * (or "error" if vmlab itself threw).
 * Times are host seconds from just before loadLinux, so the vmlinux path's host-side
 * decompression is inside them, as QEMU's own loading is inside its times.
 */

import { readFileSync } from "node:fs";
import type { EntryPath } from "../boot/index.js";
import { warmUpTranslator } from "../machine/jit-warm-up.js";
import { Machine, type MachineOptions, type TimeMode } from "../machine/machine.js";
import type { ChildEvent } from "./boot-run.js";
import { ConsoleWatch } from "./console-watch.js";

export type { ChildEvent } from "./boot-run.js";

/** vmlab's CPU engines (MachineOptions.engine). */
export type Engine = NonNullable<MachineOptions["engine"]>;

export interface BootChildConfig {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  readonly entry: EntryPath;
  readonly memoryMiB: number;
  readonly timeoutMs: number;
  readonly time: TimeMode;
  /** The CPU engine (default: the interpreter). */
  readonly engine?: Engine;
  /** The console line that marks "/init started". */
  readonly initLine: string;
}

/** After a kernel panic, keep running this long for the rest of its report, then stop. */
const AFTER_PANIC_MS = 3000;

function emit(e: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

async function bootOnce(config: BootChildConfig): Promise<void> {
  const kernel = readFileSync(config.kernel);
  const initrd = readFileSync(config.initrd);
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  // As vmlab run does (vm-worker.ts), and inside the timed span.
  if (config.engine === "bt") warmUpTranslator({});
  const machine = new Machine({
    memoryMiB: config.memoryMiB,
    time: config.time,
    ...(config.engine !== undefined ? { engine: config.engine } : {}),
  });

  const boot = await machine.loadLinux(kernel, { initrd, cmdline: config.cmdline, entryPath: config.entry });
  emit({ event: "loaded", loadSeconds: elapsed(), summary: boot.summary });

  let stopTimer: NodeJS.Timeout | undefined;
  const watch = new ConsoleWatch(config.initLine, (stage, hit) => {
    emit({ event: "stage", stage, ...hit });
    if (stage === "panic") {
      stopTimer = setTimeout(() => machine.monitor.requestStop("host-stop"), AFTER_PANIC_MS);
    }
  });
  let lines = 0;
  const one = new Uint8Array(1);
  machine.onSerial((byte) => {
    one[0] = byte;
    const seconds = elapsed();
    const instructions = machine.cpu.instructionsRetired;
    watch.feed(one, seconds, instructions);
    if (watch.lineCount !== lines) {
      lines = watch.lineCount;
      emit({ event: "line", text: watch.tail.at(-1)!, seconds, instructions });
    }
  });

  const remainingMs = Math.max(config.timeoutMs - elapsed() * 1000, 1);
  const r = await machine.run({ timeoutMs: remainingMs });
  if (stopTimer !== undefined) clearTimeout(stopTimer);
  emit({
    event: "end",
    reason: r.reason,
    seconds: elapsed(),
    runSeconds: r.seconds,
    instructions: machine.cpu.instructionsRetired,
    exitStatus: watch.exitStatus ?? null,
    failureLine: watch.failureLine,
    firstFault: watch.firstFault ?? null,
  });
}

try {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error("usage: boot-child.js '<config JSON>'");
  await bootOnce(JSON.parse(arg) as BootChildConfig);
} catch (e) {
  emit({ event: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
}
