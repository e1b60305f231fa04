/** `vmlab run`: boot a machine (a firmware image or a Linux kernel) and show what it does. */

import { existsSync, writeFileSync } from "node:fs";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { EntryPath } from "../../boot/index.js";
import { TRANSLATOR_BACKENDS, type TranslatorBackend } from "../../cpu/bt/translator.js";
import { DEFAULT_KERNEL_ARGS, defaultImage, EXIT_MARKER, execCmdlineArg } from "../../images/index.js";
import { DEFAULT_MEMORY_MIB, type RunResult, type TimeMode } from "../../machine/machine.js";
import { NIC_DRIVER, NIC_MODELS, type NicModel } from "../../machine/nics.js";
import { startVmThread, type VmThread, type VmThreadConfig } from "../../machine/vm-thread.js";
import { joinNamedSwitch, type PortHandle } from "../../net/index.js";
import { integerOption, numberOption, repeatableInteger } from "../parse.js";
import { formatStatsTable } from "../stats-report.js";

interface RunOptions {
  cpu: "interp" | "bt";
  btBackend: TranslatorBackend;
  btHot?: number;
  btHotUser?: number;
  bios?: string;
  kernel?: string;
  initrd?: string;
  append?: string;
  exec?: string;
  entry: EntryPath;
  mem: number;
  stats?: boolean;
  statsJson?: string;
  tracePort?: number[];
  debugExit?: number;
  maxInstructions?: number;
  timeout?: number;
  time: TimeMode;
  nic?: NicModel;
  net?: string;
  pcap?: string;
  mitigation: boolean;
  disk?: string[];
  mac?: Uint8Array;
}

/** Exit status when vmlab itself fails (bad arguments, unreadable files). */
const EXIT_USAGE = 2;

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description(
      "boot a virtual machine: the default Debian guest (see `vmlab image build`), a kernel, or a firmware image",
    )
    .option("--kernel <bzImage>", "Linux kernel to boot by the 32-bit boot protocol")
    .option("--initrd <file>", "initial ramdisk for --kernel")
    .option("--append <args>", `kernel command line (default with the built image: "${DEFAULT_KERNEL_ARGS}")`)
    .option(
      "--exec <command>",
      "boot the guest, run this shell command in it, print its output, exit with its status",
    )
    .addOption(
      new Option(
        "--entry <path>",
        "kernel entry: host-side decompression into vmlinux, or the kernel's own decompressor",
      )
        .choices(["vmlinux", "decompressor"])
        .default("vmlinux"),
    )
    .addOption(
      new Option(
        "--cpu <engine>",
        "CPU engine: the interpreter, or the binary translator (hot guest code compiled to WebAssembly or JavaScript)",
      )
        .choices(["interp", "bt"])
        .default("interp"),
    )
    .addOption(
      new Option(
        "--bt-backend <backend>",
        "what --cpu bt translates hot code into: WebAssembly modules, or JavaScript functions",
      )
        .choices([...TRANSLATOR_BACKENDS])
        .default("wasm"),
    )
    .addOption(
      new Option(
        "--bt-hot <n>",
        "block entries before --cpu bt translates a block, a block of n instructions counting max(1, n/4) per entry; for user code too unless --bt-hot-user (default 20000 for wasm, 50000 for js)",
      ).argParser(integerOption("--bt-hot", 0, 1e12)),
    )
    .addOption(
      new Option(
        "--bt-hot-user <n>",
        "the same for blocks entered in user mode (CPL 3) (default: --bt-hot if given, else 20000 for wasm, 50000 for js)",
      ).argParser(integerOption("--bt-hot-user", 0, 1e12)),
    )
    .addOption(
      new Option("--nic <model>", "add a network card (its Linux driver is in the default image)").choices([
        ...NIC_MODELS,
      ]),
    )
    .option(
      "--net <name>",
      "attach the NIC to the named virtual switch NAME (shared by vmlab processes on this machine)",
    )
    .option(
      "--mac <address>",
      "the NIC's MAC address (default: 52:54:00 and three bytes from the process id)",
      parseMac,
    )
    .option("--pcap <file>", "capture the NIC's traffic (both directions) to a pcap file")
    .option("--no-mitigation", "e1000: turn interrupt mitigation (ITR, RDTR/RADV, TIDV/TADV) off")
    .option(
      "--disk <file>",
      "add a virtio-blk disk backed by this host file (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
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
    .addOption(
      new Option(
        "--time <mode>",
        "virtual time base: host real time, or deterministic (advances with retired instructions)",
      )
        .choices(["real", "deterministic"])
        .default("real"),
    )
    .option(
      "--max-instructions <n>",
      "stop after this many guest instructions",
      integerOption("--max-instructions", 1, Number.MAX_SAFE_INTEGER),
    )
    .option("--timeout <seconds>", "stop after this much host time", numberOption("--timeout", 0.001, 1e7))
    .action(async (opts: RunOptions) => {
      process.exitCode = await runCommand(opts);
    });
}

class UsageError extends Error {}

/** Errors that mean bad input (reported in one line, exit status 2); the VM worker's keep their class names. */
const USAGE_ERRORS = new Set(["MachineConfigError", "BootImageError", "VmInputError", "NamedSwitchError"]);

async function runCommand(opts: RunOptions): Promise<number> {
  try {
    return await runMachine(opts);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof Error && USAGE_ERRORS.has(e.name))) {
      process.stderr.write(`vmlab run: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

/**
 * The VM runs on a worker thread (startVmThread); this thread keeps the named switch's part
 * of this process, the terminal, the console output and the report.
 */
async function runMachine(opts: RunOptions): Promise<number> {
  if (opts.bios !== undefined && (opts.kernel !== undefined || opts.exec !== undefined)) {
    throw new UsageError("--bios cannot be combined with --kernel or --exec");
  }
  for (const disk of opts.disk ?? []) {
    if (!existsSync(disk))
      throw new UsageError(`disk image ${disk} does not exist (create one, e.g. truncate -s 64M ${disk})`);
  }
  const boot = opts.bios === undefined ? linuxBoot(opts) : undefined;
  const switchPort = opts.nic !== undefined ? await attachNetwork(opts.nic, opts.net) : undefined;
  try {
    return await runVm(opts, {
      memoryMiB: opts.mem,
      time: opts.time,
      engine: opts.cpu,
      translator: {
        backend: opts.btBackend,
        ...(opts.btHot !== undefined ? { hotThreshold: opts.btHot } : {}),
        ...(opts.btHotUser !== undefined ? { hotThresholdUser: opts.btHotUser } : {}),
      },
      ...(opts.bios !== undefined ? { firmwarePath: opts.bios } : {}),
      ...boot,
      nics:
        opts.nic !== undefined
          ? [
              {
                model: opts.nic,
                mac: opts.mac ?? processMac(),
                mitigation: opts.mitigation,
                ...(switchPort !== undefined ? { port: switchPort.description } : {}),
                ...(opts.pcap !== undefined ? { pcapPath: opts.pcap } : {}),
              },
            ]
          : [],
      disks: (opts.disk ?? []).map((path) => ({ path })),
      ...(opts.tracePort !== undefined ? { tracePorts: opts.tracePort } : {}),
      ...(opts.debugExit !== undefined ? { debugExitPort: opts.debugExit } : {}),
      ...(opts.maxInstructions !== undefined ? { maxInstructions: opts.maxInstructions } : {}),
      ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout * 1000 } : {}),
      interactive: opts.exec === undefined && opts.bios === undefined,
    });
  } finally {
    switchPort?.close();
  }
}

async function runVm(opts: RunOptions, config: VmThreadConfig): Promise<number> {
  const vm = startVmThread(config);
  // The guest's console. With --exec, watch for the exit-status marker /init prints.
  let execStatus: number | undefined;
  let line = "";
  const marker = new RegExp(`${EXIT_MARKER}\\s*(\\d+)`);
  vm.onSerial((bytes) => {
    process.stdout.write(bytes);
    if (opts.exec === undefined) return;
    for (const byte of bytes) {
      if (byte === 0x0a) {
        const m = line.match(marker);
        if (m !== null) execStatus = Number(m[1]);
        line = "";
      } else if (line.length < 4096) {
        line += String.fromCharCode(byte);
      }
    }
  });
  vm.onMessage((ev) => {
    if (ev.type === "started") {
      if (ev.bootSummary !== undefined) process.stderr.write(`vmlab: ${ev.bootSummary}\n`);
    } else {
      process.stderr.write(
        `[port 0x${ev.port.toString(16).padStart(4, "0")}] <- 0x${(ev.value >>> 0).toString(16).padStart(ev.size * 2, "0")}\n`,
      );
    }
  });
  const console = config.interactive ? attachConsole(vm) : undefined;
  let done: Awaited<typeof vm.done>;
  try {
    done = await vm.done;
  } finally {
    console?.detach();
  }
  const { result, report } = done;
  process.stderr.write(`\nvmlab: ${describeStop(result)}\n`);
  if (opts.stats) process.stderr.write(`${formatStatsTable(report)}\n`);
  if (opts.statsJson !== undefined) writeFileSync(opts.statsJson, `${JSON.stringify(report, null, 2)}\n`);

  if (opts.exec !== undefined) {
    if (execStatus === undefined) {
      process.stderr.write(`vmlab: the guest stopped before reporting the command's exit status\n`);
      return 1;
    }
    return execStatus;
  }
  switch (result.reason) {
    case "debug-exit":
      return result.exitCode;
    case "triple-fault":
      return 3;
    default:
      return 0;
  }
}

function parseMac(value: string): Uint8Array {
  const m = value.match(
    /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i,
  );
  if (m === null) throw new InvalidArgumentError(`--mac must look like 52:54:00:12:34:56, got "${value}"`);
  const bytes = Uint8Array.from(m.slice(1).map((h) => Number.parseInt(h, 16)));
  if ((bytes[0]! & 1) !== 0) throw new InvalidArgumentError(`--mac ${value} is a multicast address`);
  return bytes;
}

/** A MAC unique to this process, so two vmlab processes on one switch differ. */
function processMac(): Uint8Array {
  const p = process.pid;
  return Uint8Array.of(0x52, 0x54, 0x00, (p >>> 16) & 0xff, (p >>> 8) & 0xff, p & 0xff);
}

/**
 * The NIC's cable: a port on the named switch (`--net NAME`), or none (frames are dropped).
 * This thread hosts (or joins) the named switch's hub and pumps it while the VM's worker
 * computes; the worker attaches to the port's shared rings.
 */
async function attachNetwork(model: NicModel, net: string | undefined): Promise<PortHandle | undefined> {
  if (net === undefined) {
    process.stderr.write(`vmlab: --nic ${model} without --net: the card has no cable (frames are dropped)\n`);
    return undefined;
  }
  const port = await joinNamedSwitch(net);
  process.stderr.write(`vmlab: ${model} on switch "${net}" (this process is its ${port.role()})\n`);
  return port;
}

/** Kernel, initrd and the final command line (the worker reads the files). */
function linuxBoot(
  opts: RunOptions,
): Pick<VmThreadConfig, "kernelPath" | "initrdPath" | "cmdline" | "entry"> {
  let kernelPath = opts.kernel;
  let initrdPath = opts.initrd;
  let append = opts.append;
  if (kernelPath === undefined) {
    const image = defaultImage();
    if (image === undefined) {
      throw new UsageError(
        "no guest given and no default image built yet. Build it with `node bin/vmlab.js image build` " +
          "(fetches Debian's i386 kernel and busybox), or pass --kernel FILE or --bios FILE.",
      );
    }
    kernelPath = image.kernel;
    initrdPath ??= image.initrd;
    append ??= DEFAULT_KERNEL_ARGS;
  }
  let cmdline = append ?? DEFAULT_KERNEL_ARGS;
  // Load only the drivers of the devices this machine has (module loading is guest work).
  const modules = [
    ...(opts.nic !== undefined ? NIC_DRIVER[opts.nic].split(",") : []),
    ...((opts.disk?.length ?? 0) > 0 ? ["virtio_pci", "virtio_blk"] : []),
  ];
  if (modules.length > 0 && !cmdline.includes("vmlab.modules=")) {
    cmdline = `${cmdline} vmlab.modules=${[...new Set(modules)].join(",")}`;
  }
  if (opts.exec !== undefined) cmdline = `${cmdline} ${execCmdlineArg(opts.exec)}`;
  return {
    kernelPath,
    ...(initrdPath !== undefined ? { initrdPath } : {}),
    cmdline,
    entry: opts.entry,
  };
}

/**
 * Connect the terminal to the guest's serial console: raw keyboard input goes to COM1 (the
 * worker holds what the UART's FIFO cannot take yet); Ctrl-A X quits (as in QEMU).
 */
function attachConsole(vm: VmThread): { detach(): void } {
  const stdin = process.stdin;
  let ctrlA = false;
  const onData = (chunk: Buffer): void => {
    const bytes: number[] = [];
    for (const b of chunk) {
      if (ctrlA) {
        ctrlA = false;
        if (b === 0x78 || b === 0x58) {
          if (bytes.length > 0) vm.sendSerial(Uint8Array.from(bytes));
          vm.stop();
          return;
        }
        if (b !== 0x01) bytes.push(0x01);
      } else if (b === 0x01) {
        ctrlA = true;
        continue;
      }
      bytes.push(b);
    }
    if (bytes.length > 0) vm.sendSerial(Uint8Array.from(bytes));
  };
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on("data", onData);
  stdin.resume();
  return {
    detach(): void {
      stdin.off("data", onData);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
    },
  };
}

function describeStop(r: RunResult): string {
  const mips = r.seconds > 0 ? (r.instructions / r.seconds / 1e6).toFixed(1) : "-";
  const what: Record<RunResult["reason"], string> = {
    "debug-exit": `guest exited through isa-debug-exit with status ${r.exitCode}`,
    "triple-fault": "guest triple-faulted (CPU shut down)",
    halted: "guest halted with nothing to wake it",
    reset: "guest requested a reset (keyboard controller, port 0x92 or 0xCF9)",
    "host-stop": "stopped from the console (Ctrl-A X)",
    "instruction-limit": "instruction limit reached",
    timeout: "time limit reached",
  };
  return `${what[r.reason]} after ${r.instructions} instructions in ${r.seconds.toFixed(3)} s (${mips} MIPS)`;
}
