/** `vmlab run`: boot a machine from a firmware image and show what it does. */

import { readFileSync, writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { DEFAULT_MEMORY_MIB, Machine, MachineConfigError, type RunResult } from "../../machine/machine.js";
import { integerOption, numberOption, repeatableInteger } from "../parse.js";
import { buildStatsReport, formatStatsTable } from "../stats-report.js";

interface RunOptions {
  bios?: string;
  mem: number;
  stats?: boolean;
  statsJson?: string;
  tracePort?: number[];
  debugExit?: number;
  maxInstructions?: number;
  timeout?: number;
  time: "real" | "deterministic";
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("boot a virtual machine and run it until the guest stops")
    .option("--bios <file>", "raw 64 KiB or 128 KiB firmware image, started at its reset vector F000:FFF0")
    .option("--mem <MiB>", "guest RAM in MiB", integerOption("--mem", 2, 3072), DEFAULT_MEMORY_MIB)
    .option("--stats", "print VM-exit counts and latencies by reason when the VM stops")
    .option("--stats-json <file>", "write the VM-exit statistics as JSON")
    .option(
      "--trace-port <port>",
      "print every value written to this I/O port (repeatable)",
      repeatableInteger("--trace-port", 0, 0xffff),
    )
    .option(
      "--debug-exit <port>",
      "add a QEMU-compatible isa-debug-exit device at this port (write v: exit with status (v<<1)|1)",
      integerOption("--debug-exit", 0, 0xfffc),
    )
    .option(
      "--max-instructions <n>",
      "stop after this many guest instructions",
      integerOption("--max-instructions", 1, Number.MAX_SAFE_INTEGER),
    )
    .addOption(
      new Option(
        "--time <mode>",
        "virtual time base: host real time, or deterministic (advances with retired instructions)",
      )
        .choices(["real", "deterministic"])
        .default("real"),
    )
    .option("--timeout <seconds>", "stop after this much host time", numberOption("--timeout", 0.001, 1e7))
    .action(async (opts: RunOptions) => {
      process.exitCode = await runCommand(opts);
    });
}

async function runCommand(opts: RunOptions): Promise<number> {
  if (opts.bios === undefined) {
    process.stderr.write(
      "vmlab run: no guest given. Pass --bios FILE (a raw 64/128 KiB firmware image); e.g. the demo guest:\n" +
        "  npm run guests && node bin/vmlab.js run --bios build/guests/demo.bin --stats\n" +
        "(Booting Linux directly with --kernel comes with the PC-platform work; see README.)\n",
    );
    return 2;
  }
  let firmware: Uint8Array;
  try {
    firmware = readFileSync(opts.bios);
  } catch (e) {
    process.stderr.write(`vmlab run: cannot read firmware image ${opts.bios}: ${(e as Error).message}\n`);
    return 2;
  }
  let machine: Machine;
  try {
    machine = new Machine({
      memoryMiB: opts.mem,
      time: opts.time,
      firmware,
      ...(opts.tracePort !== undefined ? { tracePorts: opts.tracePort } : {}),
      onTracedWrite: (port, size, value) => {
        const digits = size * 2;
        process.stderr.write(
          `[port 0x${port.toString(16).padStart(4, "0")}] <- 0x${(value >>> 0).toString(16).padStart(digits, "0")}\n`,
        );
      },
      ...(opts.debugExit !== undefined ? { debugExitPort: opts.debugExit } : {}),
    });
  } catch (e) {
    if (e instanceof MachineConfigError) {
      process.stderr.write(`vmlab run: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  machine.onSerial((byte) => process.stdout.write(Uint8Array.of(byte)));
  const result = await machine.run({
    ...(opts.maxInstructions !== undefined ? { maxInstructions: opts.maxInstructions } : {}),
    ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
  });
  process.stderr.write(`vmlab: ${describeStop(result)}\n`);
  const report = buildStatsReport(machine.stats, result.instructions, result.seconds);
  if (opts.stats) process.stderr.write(`${formatStatsTable(report)}\n`);
  if (opts.statsJson !== undefined) writeFileSync(opts.statsJson, `${JSON.stringify(report, null, 2)}\n`);
  switch (result.reason) {
    case "debug-exit":
      return result.exitCode;
    case "triple-fault":
      return 3;
    default:
      return 0;
  }
}

function describeStop(r: RunResult): string {
  const mips = r.seconds > 0 ? (r.instructions / r.seconds / 1e6).toFixed(1) : "-";
  const what: Record<RunResult["reason"], string> = {
    "debug-exit": `guest exited through isa-debug-exit with status ${r.exitCode}`,
    "triple-fault": "guest triple-faulted (CPU shut down)",
    halted: "guest halted with nothing to wake it",
    reset: "guest requested a reset (keyboard controller, port 0x92 or 0xCF9)",
    "instruction-limit": "instruction limit reached",
    timeout: "time limit reached",
  };
  return `${what[r.reason]} after ${r.instructions} instructions in ${r.seconds.toFixed(3)} s (${mips} MIPS)`;
}
