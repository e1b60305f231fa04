/**
 * Boots the guest once in v86 (headless, in this Node process) and reports, as JSON lines on
 * stdout, what happened and when: the same `ChildEvent` protocol as boot-child.ts, so the
 * benchmarks treat v86 boots like vmlab's (v86.ts starts this script).
 *
 *   node dist/src/bench/v86-child.js '<V86ChildConfig as JSON>'
 *
 * Times are host seconds from just before the emulator is created (its WebAssembly module is
 * compiled and SeaBIOS, the bzImage and the initrd are copied into guest RAM inside that
 * time, as QEMU's loading is inside its times). The run ends once the command's exit-status
 * line has appeared: the image's /init then reboots, and v86 0.5 aborts on that reboot
 * ("Unimplemented: #GP handler" in real mode), which is no part of the boot being measured.
 *
 * Instructions: v86 keeps a 32-bit instruction counter (`get_instruction_counter()`), which
 * wraps every 2^32 instructions (~15 s at v86's speed); it is read at every console byte and
 * every POLL_MS and unwrapped here.
 */

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { ChildEvent } from "./boot-run.js";
import { ConsoleWatch } from "./console-watch.js";
import type { V86BootConfig } from "./v86.js";

export interface V86ChildConfig extends V86BootConfig {
  /** The package's build/libv86.mjs and build/v86.wasm. */
  readonly lib: string;
  readonly wasm: string;
  /** SeaBIOS. */
  readonly bios: string;
}

/** After a kernel panic, keep running this long for the rest of its report, then stop. */
const AFTER_PANIC_MS = 3000;
/** How often the 32-bit instruction counter is read, well within its wrap period. */
const POLL_MS = 100;

function emit(e: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`);
}

function arrayBuffer(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function bootOnce(config: V86ChildConfig): Promise<void> {
  const { V86 } = (await import(pathToFileURL(config.lib).href)) as typeof import("v86");
  const bios = arrayBuffer(config.bios);
  const bzimage = arrayBuffer(config.kernel);
  const initrd = arrayBuffer(config.initrd);

  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const emulator = new V86({
    wasm_path: config.wasm,
    bios: { buffer: bios },
    bzimage: { buffer: bzimage },
    initrd: { buffer: initrd },
    cmdline: config.cmdline,
    memory_size: config.memoryMiB * 1024 * 1024,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });

  // The 32-bit counter, unwrapped.
  let high = 0;
  let last = 0;
  const instructions = (): number => {
    const raw = emulator.get_instruction_counter();
    if (raw < last) high += 2 ** 32;
    last = raw;
    return high + raw;
  };
  const poll = setInterval(instructions, POLL_MS);

  let startedAt: number | undefined;
  emulator.add_listener("emulator-started", () => {
    startedAt = elapsed();
    emit({ event: "loaded", loadSeconds: startedAt, summary: "v86 started" });
  });

  let ended = false;
  let watch: ConsoleWatch | undefined;
  const finish = (reason: string, failure?: string): void => {
    if (ended) return;
    ended = true;
    const seconds = elapsed();
    const count = instructions();
    clearInterval(poll);
    clearTimeout(timer);
    if (panicTimer !== undefined) clearTimeout(panicTimer);
    emit({
      event: "end",
      reason,
      seconds,
      runSeconds: startedAt !== undefined ? seconds - startedAt : 0,
      instructions: count,
      exitStatus: watch?.exitStatus ?? null,
      failureLine: failure ?? watch?.failureLine ?? "",
      firstFault: watch?.firstFault ?? null,
    });
    // The emulator's timers would keep the process alive; everything is reported.
    process.exit(0);
  };

  let panicTimer: NodeJS.Timeout | undefined;
  watch = new ConsoleWatch(config.initLine, (stage, hit) => {
    emit({ event: "stage", stage, ...hit });
    if (stage === "done") finish("stopped after the exit-status line");
    if (stage === "panic") panicTimer = setTimeout(() => finish("kernel panic"), AFTER_PANIC_MS);
  });
  const timer = setTimeout(() => finish("timeout"), Math.max(config.timeoutMs, 1));

  let lines = 0;
  const one = new Uint8Array(1);
  emulator.add_listener("serial0-output-byte", (byte: number) => {
    one[0] = byte;
    const seconds = elapsed();
    const count = instructions();
    watch.feed(one, seconds, count);
    if (watch.lineCount !== lines && !ended) {
      lines = watch.lineCount;
      emit({ event: "line", text: watch.tail.at(-1)!, seconds, instructions: count });
    }
  });

  // v86 runs its main loop from setImmediate callbacks: an abort inside its WebAssembly
  // (an unimplemented corner, a guest it cannot run) surfaces here.
  process.on("uncaughtException", (e) => {
    finish(`v86 crashed: ${e.message.split("\n")[0]}`, watch.lastLine);
  });
}

try {
  const arg = process.argv[2];
  if (arg === undefined) throw new Error("usage: v86-child.js '<config JSON>'");
  await bootOnce(JSON.parse(arg) as V86ChildConfig);
} catch (e) {
  emit({ event: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exitCode = 1;
}
