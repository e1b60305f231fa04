/** `vmlab bench boot`: time boots of the default guest in vmlab and in QEMU TCG (src/bench/boot-bench.ts). */

import { writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import {
  BootBenchError,
  type BootBenchOptions,
  type EntryChoice,
  formatBootTable,
  formatNotes,
  runBootBench,
} from "../../bench/boot-bench.js";
import { DEFAULT_MEMORY_MIB, type TimeMode } from "../../machine/machine.js";
import { integerOption, numberOption } from "../parse.js";

interface BootCommandOptions {
  runs: number;
  timeout: number;
  json?: string;
  qemu: boolean;
  vmlab: boolean;
  entry: EntryChoice;
  append?: string;
  mem: number;
  command: string;
  time: TimeMode;
}

export const DEFAULT_BOOT_TIMEOUT_S = 300;

export function registerBenchCommand(program: Command): void {
  const bench = program.command("bench").description("benchmarks that put vmlab's figures beside QEMU's");
  bench
    .command("boot")
    .description(
      "boot the default Debian guest to /init and through a trivial command, in vmlab and in QEMU TCG; " +
        "print medians of the host seconds (see `vmlab image build`)",
    )
    .option("--runs <n>", "boots per row", integerOption("--runs", 1, 1000), 3)
    .option(
      "--timeout <seconds>",
      "host seconds allowed per boot",
      numberOption("--timeout", 1, 1e6),
      DEFAULT_BOOT_TIMEOUT_S,
    )
    .option("--json <file>", "also write the table and every run's raw figures as JSON")
    .option("--no-qemu", "skip the QEMU reference row")
    .option("--no-vmlab", "boot QEMU only (a quick check of the reference row)")
    .addOption(
      new Option(
        "--entry <path>",
        "vmlab rows: the kernel's own decompressor (as QEMU boots), host-side decompression into vmlinux, or both",
      )
        .choices(["vmlinux", "decompressor", "both"])
        .default("both"),
    )
    .option("--append <args>", "extra kernel arguments, after the default ones (for every engine)")
    .option("--mem <MiB>", "guest RAM in MiB", integerOption("--mem", 16, 3072), DEFAULT_MEMORY_MIB)
    .option("--command <cmd>", "the shell command /init runs once booted (its end is 'done')", "true")
    .addOption(
      new Option("--time <mode>", "vmlab's virtual time base (QEMU always follows host time)")
        .choices(["real", "deterministic"])
        .default("real"),
    )
    .action(async (opts: BootCommandOptions) => {
      process.exitCode = await benchBoot(opts);
    });
}

async function benchBoot(opts: BootCommandOptions): Promise<number> {
  const options: BootBenchOptions = {
    runs: opts.runs,
    timeoutS: opts.timeout,
    qemu: opts.qemu,
    vmlab: opts.vmlab,
    entry: opts.entry,
    memoryMiB: opts.mem,
    command: opts.command,
    time: opts.time,
    ...(opts.append !== undefined ? { append: opts.append } : {}),
  };
  try {
    const report = await runBootBench(options, (msg) => process.stderr.write(`${msg}\n`));
    console.log(formatBootTable(report.rows));
    console.log(formatNotes(report));
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    // A benchmark that measured what it could succeeded; failed boots are in the table.
    return 0;
  } catch (e) {
    if (e instanceof BootBenchError) {
      process.stderr.write(`vmlab bench boot: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
