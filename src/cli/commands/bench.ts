/**
 * `vmlab bench boot`: time boots of the default guest in vmlab, QEMU TCG and v86 (src/bench/boot-bench.ts).
 * `vmlab bench compute`: md5sum and gzip in the guest, vmlab, QEMU TCG and v86 (src/bench/compute-bench.ts).
 * `vmlab bench net`: TCP bulk transfers between two guests per NIC model, vmlab and QEMU (src/bench/net-bench.ts).
 */

import { writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  BootBenchError,
  type BootBenchOptions,
  ENGINES,
  type Engine,
  type EntryChoice,
  formatBootTable,
  formatNotes,
  runBootBench,
} from "../../bench/boot-bench.js";
import {
  DEFAULT_COMPUTE_MIB,
  DEFAULT_COMPUTE_TIMEOUT_S,
  formatComputeNotes,
  formatComputeTable,
  runComputeBench,
  WORKLOADS,
  type Workload,
} from "../../bench/compute-bench.js";
import {
  formatNetNotes,
  formatNetTable,
  minMemoryMiB,
  NetBenchError,
  type NetBenchOptions,
  runNetBench,
} from "../../bench/net-bench.js";
import { formatByteSize, parseByteSize } from "../../bench/net-guest.js";
import { DEFAULT_MEMORY_MIB, type TimeMode } from "../../machine/machine.js";
import { NIC_MODELS, type NicModel } from "../../machine/nics.js";
import { integerOption, numberOption } from "../parse.js";

interface BootCommandOptions {
  runs: number;
  timeout: number;
  json?: string;
  qemu: boolean;
  v86: boolean;
  vmlab: boolean;
  cpu: Engine[];
  entry: EntryChoice;
  append?: string;
  mem: number;
  command: string;
  time: TimeMode;
}

export const DEFAULT_BOOT_TIMEOUT_S = 300;

/** `--cpu interp,bt`: vmlab engines, a row each (default: all). */
function cpuOption(): Option {
  return new Option("--cpu <engines>", `vmlab engines, comma-separated (${ENGINES.join(", ")})`)
    .argParser(parseEngines)
    .default([...ENGINES], ENGINES.join(","));
}

/** Parses `--cpu`. */
function parseEngines(value: string): Engine[] {
  const engines = value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const bad = engines.filter((e) => !(ENGINES as readonly string[]).includes(e));
  if (engines.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `--cpu takes a comma-separated list of ${ENGINES.join(", ")}; got "${value}"`,
    );
  }
  return [...new Set(engines)] as Engine[];
}

export function registerBenchCommand(program: Command): void {
  const bench = program.command("bench").description("benchmarks that put vmlab's figures beside QEMU's");
  bench
    .command("boot")
    .description(
      "boot the default Debian guest to /init and through a trivial command, in vmlab (per engine), " +
        "QEMU TCG and v86; print medians of the host seconds and the ratios to QEMU and v86 (see `vmlab image build`)",
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
    .option("--no-v86", "skip the v86 reference row")
    .option("--no-vmlab", "boot the references only (a quick check of the reference rows)")
    .addOption(cpuOption())
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
  registerNetCommand(bench);
  registerComputeCommand(bench);
}

async function benchBoot(opts: BootCommandOptions): Promise<number> {
  const options: BootBenchOptions = {
    runs: opts.runs,
    timeoutS: opts.timeout,
    qemu: opts.qemu,
    v86: opts.v86,
    vmlab: opts.vmlab,
    engines: opts.cpu,
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

interface NetCommandOptions {
  models: NicModel[];
  bytes: number;
  runs: number;
  qemu: boolean;
  vmlab: boolean;
  timeout: number;
  setupTimeout: number;
  json?: string;
  mitigation: boolean;
  pcapDir?: string;
  mem?: number;
}

export const DEFAULT_NET_BYTES = 16 * 1024 * 1024;
export const DEFAULT_NET_TIMEOUT_S = 900;
export const DEFAULT_NET_SETUP_TIMEOUT_S = 600;

function parseModels(value: string): NicModel[] {
  const models = value
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "");
  const bad = models.filter((m) => !(NIC_MODELS as readonly string[]).includes(m));
  if (models.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `--models takes a comma-separated list of ${NIC_MODELS.join(", ")}; got "${value}"`,
    );
  }
  return [...new Set(models)] as NicModel[];
}

function parseBytes(value: string): number {
  const n = parseByteSize(value);
  if (n === undefined || n < 1 || n > 1024 ** 3) {
    throw new InvalidArgumentError(
      `--bytes must be a size from 1 to 1G (e.g. 16M, 512K, 1000000), got "${value}"`,
    );
  }
  return n;
}

function registerNetCommand(bench: Command): void {
  bench
    .command("net")
    .description(
      "for each NIC model, two guests on one switch, one sending a TCP bulk stream (busybox nc) to the other, " +
        "in vmlab and in QEMU TCG (-netdev socket); print throughput, instructions per byte, exits and " +
        "interrupts per frame, and the md5 check",
    )
    .option("--models <list>", `NIC models, comma-separated (${NIC_MODELS.join(", ")})`, parseModels, [
      ...NIC_MODELS,
    ] as NicModel[])
    .option(
      "--bytes <size>",
      "payload per transfer (suffixes K, M, G: binary)",
      parseBytes,
      DEFAULT_NET_BYTES,
    )
    .option("--runs <n>", "transfers per model and engine", integerOption("--runs", 1, 100), 1)
    .option(
      "--timeout <seconds>",
      "host seconds allowed per transfer (sender's start to receiver's end)",
      numberOption("--timeout", 1, 1e6),
      DEFAULT_NET_TIMEOUT_S,
    )
    .option(
      "--setup-timeout <seconds>",
      "host seconds allowed for both guests to boot and get ready",
      numberOption("--setup-timeout", 1, 1e6),
      DEFAULT_NET_SETUP_TIMEOUT_S,
    )
    .option("--json <file>", "also write the table and every transfer's figures (all exit reasons) as JSON")
    .option("--no-qemu", "skip the QEMU reference rows")
    .option("--no-vmlab", "run QEMU only (a quick check of the reference rows)")
    .option("--no-mitigation", "e1000: interrupt mitigation off (vmlab and QEMU's e1000 mitigation=off)")
    .option("--pcap-dir <dir>", "capture each vmlab transfer's receiver port to a pcap file in this folder")
    .option(
      "--mem <MiB>",
      "guest RAM in MiB, each guest (default: 64, or more when --bytes needs it)",
      integerOption("--mem", 16, 3072),
    )
    .action(async (opts: NetCommandOptions) => {
      process.exitCode = await benchNet(opts);
    });
}

async function benchNet(opts: NetCommandOptions): Promise<number> {
  const options: NetBenchOptions = {
    models: opts.models,
    bytes: opts.bytes,
    runs: opts.runs,
    vmlab: opts.vmlab,
    qemu: opts.qemu,
    transferTimeoutS: opts.timeout,
    setupTimeoutS: opts.setupTimeout,
    memoryMiB: opts.mem ?? Math.max(DEFAULT_MEMORY_MIB, minMemoryMiB(opts.bytes)),
    mitigation: opts.mitigation,
    ...(opts.pcapDir !== undefined ? { pcapDir: opts.pcapDir } : {}),
  };
  try {
    const report = await runNetBench(options, (msg) => process.stderr.write(`${msg}\n`));
    console.log(formatNetTable(report.rows));
    console.log(formatNetNotes(report));
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    // Failed transfers are rows of the table; the benchmark itself succeeded.
    return 0;
  } catch (e) {
    if (e instanceof NetBenchError) {
      process.stderr.write(`vmlab bench net: ${e.message} (${formatByteSize(opts.bytes)} per transfer)\n`);
      return 2;
    }
    throw e;
  }
}

interface ComputeCommandOptions {
  runs: number;
  mib: number;
  workloads: Workload[];
  timeout: number;
  json?: string;
  qemu: boolean;
  v86: boolean;
  vmlab: boolean;
  cpu: Engine[];
  mem: number;
  time: TimeMode;
}

function parseWorkloads(value: string): Workload[] {
  const list = value
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "");
  const bad = list.filter((w) => !(WORKLOADS as readonly string[]).includes(w));
  if (list.length === 0 || bad.length > 0) {
    throw new InvalidArgumentError(
      `--workloads takes a comma-separated list of ${WORKLOADS.join(", ")}; got "${value}"`,
    );
  }
  return WORKLOADS.filter((w) => list.includes(w));
}

function registerComputeCommand(bench: Command): void {
  bench
    .command("compute")
    .description(
      "boot the default Debian guest and time md5sum and gzip of N MiB inside it, in vmlab (per engine), " +
        "QEMU TCG and v86; print medians of the host seconds, MIPS and the ratios to QEMU and v86",
    )
    .option("--runs <n>", "boots per row", integerOption("--runs", 1, 1000), 1)
    .option("--mib <n>", "MiB of input per workload", integerOption("--mib", 1, 4096), DEFAULT_COMPUTE_MIB)
    .option("--workloads <list>", `workloads, comma-separated (${WORKLOADS.join(", ")})`, parseWorkloads, [
      ...WORKLOADS,
    ] as Workload[])
    .option(
      "--timeout <seconds>",
      "host seconds allowed per boot (boot and every workload)",
      numberOption("--timeout", 1, 1e6),
      DEFAULT_COMPUTE_TIMEOUT_S,
    )
    .option("--json <file>", "also write the table and every run's figures as JSON")
    .option("--no-qemu", "skip the QEMU reference row")
    .option("--no-v86", "skip the v86 reference row")
    .option("--no-vmlab", "run the references only")
    .addOption(cpuOption())
    .option("--mem <MiB>", "guest RAM in MiB", integerOption("--mem", 16, 3072), DEFAULT_MEMORY_MIB)
    .addOption(
      new Option("--time <mode>", "vmlab's virtual time base (QEMU and v86 follow host time)")
        .choices(["real", "deterministic"])
        .default("real"),
    )
    .action(async (opts: ComputeCommandOptions) => {
      process.exitCode = await benchCompute(opts);
    });
}

async function benchCompute(opts: ComputeCommandOptions): Promise<number> {
  try {
    const report = await runComputeBench(
      {
        runs: opts.runs,
        mib: opts.mib,
        workloads: opts.workloads,
        timeoutS: opts.timeout,
        vmlab: opts.vmlab,
        engines: opts.cpu,
        qemu: opts.qemu,
        v86: opts.v86,
        memoryMiB: opts.mem,
        time: opts.time,
      },
      (msg) => process.stderr.write(`${msg}\n`),
    );
    console.log(formatComputeTable(report.rows, report.mib));
    console.log(formatComputeNotes(report));
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof BootBenchError) {
      process.stderr.write(`vmlab bench compute: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
