/**
 * The worker entry of vm-thread.ts: builds the Machine from `workerData` (a VmThreadConfig),
 * runs it and posts console output, marks and the final report to the parent. Frames cross
 * through the switch port's shared rings, polled between CPU slices; host work here (console
 * batching, input) runs in a Machine poller and never touches guest state.
 */

import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import {
  captureBackend,
  type NetBackend,
  NullBackend,
  PcapWriter,
  type PortBackendStats,
  SwitchPortBackend,
} from "../net/index.js";
import { warmUpTranslator } from "./jit-warm-up.js";
import { Machine, type RunResult } from "./machine.js";
import type { NicConfig } from "./nics.js";
import { buildStatsReport } from "./stats-report.js";
import {
  type FromWorker,
  serializeError,
  type ToWorker,
  VmInputError,
  type VmSnapshot,
  type VmThreadConfig,
  type VmThreadNic,
  type VmThreadResult,
} from "./vm-thread.js";

/** Console bytes are posted at least this often while the guest prints. */
const FLUSH_MS = 4;
/** ...and at once when this many are waiting. */
const FLUSH_BYTES = 64 * 1024;
/** Longest console line kept for mark detection. */
const MAX_LINE = 4096;

const port = parentPort;
if (port === null) throw new Error("vm-worker.js is a worker_threads entry (use startVmThread)");
const config = workerData as VmThreadConfig;

let machine: Machine | undefined;
let stopRequested = false;
/** Console input not yet taken by the UART. */
let input: Uint8Array[] = [];

const send = (msg: FromWorker, transfer?: ArrayBuffer[]): void => port.postMessage(msg, transfer);

const onMessage = (msg: ToWorker): void => {
  if (msg.type === "stop") {
    stopRequested = true;
    machine?.monitor.requestStop("host-stop");
  } else {
    input.push(msg.bytes);
  }
};
port.on("message", onMessage);

// Console output and traced writes waiting to be posted.
let out = new Uint8Array(4096);
let outLen = 0;
let traces: number[] = [];
let lastFlush = performance.now();

function flush(): void {
  lastFlush = performance.now();
  if (outLen === 0 && traces.length === 0) return;
  const msg: FromWorker = { type: "output" };
  const transfer: ArrayBuffer[] = [];
  if (outLen > 0) {
    const bytes = out.slice(0, outLen);
    msg.serial = bytes;
    transfer.push(bytes.buffer);
    outLen = 0;
  }
  if (traces.length > 0) {
    msg.traces = traces;
    traces = [];
  }
  send(msg, transfer);
}

function readInput(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new VmInputError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

interface NicSide {
  backend: NetBackend;
  port?: SwitchPortBackend;
  pcap?: PcapWriter;
}

function attachNic(nic: VmThreadNic): NicSide {
  const port = nic.port !== undefined ? new SwitchPortBackend(nic.port) : undefined;
  let pcap: PcapWriter | undefined;
  if (nic.pcapPath !== undefined) {
    try {
      pcap = new PcapWriter(nic.pcapPath);
    } catch (e) {
      throw new VmInputError(`cannot write pcap file ${nic.pcapPath}: ${(e as Error).message}`);
    }
  }
  const inner: NetBackend = port ?? new NullBackend();
  return {
    backend: pcap !== undefined ? captureBackend(inner, pcap) : inner,
    ...(port !== undefined ? { port } : {}),
    ...(pcap !== undefined ? { pcap } : {}),
  };
}

const nicStats = (nics: readonly NicSide[]): PortBackendStats[] =>
  nics.map((n) =>
    n.port !== undefined
      ? { ...n.port.stats }
      : { txFrames: 0, txBytes: 0, txDrops: 0, rxFrames: 0, rxBytes: 0, rxDrops: 0, error: undefined },
  );

async function main(): Promise<VmThreadResult> {
  const nics: NicSide[] = [];
  try {
    for (const nic of config.nics) nics.push(attachNic(nic));
    const firmware =
      config.firmwarePath !== undefined ? readInput("firmware image", config.firmwarePath) : undefined;
    const nicConfigs: NicConfig[] = config.nics.map((n, i) => ({
      model: n.model,
      backend: nics[i]!.backend,
      mac: n.mac,
      mitigation: n.mitigation,
    }));
    // V8's feedback for the translator's cold path (jit-warm-up.ts), before the guest runs.
    if (config.engine === "bt")
      warmUpTranslator(config.translator !== undefined ? { translator: config.translator } : {});
    const m = new Machine({
      memoryMiB: config.memoryMiB,
      time: config.time,
      ...(config.engine !== undefined ? { engine: config.engine } : {}),
      ...(config.translator !== undefined ? { translator: config.translator } : {}),
      nics: nicConfigs,
      disks: config.disks,
      ...(firmware !== undefined ? { firmware } : {}),
      ...(config.tracePorts !== undefined ? { tracePorts: config.tracePorts } : {}),
      onTracedWrite: (p, size, value) => {
        traces.push(p, size, value);
      },
      ...(config.debugExitPort !== undefined ? { debugExitPort: config.debugExitPort } : {}),
    });
    machine = m;
    try {
      return await runMachine(m, nics, firmware === undefined);
    } finally {
      for (const d of m.disks) d.close();
    }
  } finally {
    for (const n of nics) n.pcap?.close();
  }
}

async function runMachine(m: Machine, nics: NicSide[], linux: boolean): Promise<VmThreadResult> {
  let bootSummary: string | undefined;
  if (linux) {
    if (config.kernelPath === undefined) throw new VmInputError("no kernel and no firmware image given");
    const kernel = readInput("kernel", config.kernelPath);
    const initrd = config.initrdPath !== undefined ? readInput("initrd", config.initrdPath) : undefined;
    const boot = await m.loadLinux(kernel, {
      ...(config.cmdline !== undefined ? { cmdline: config.cmdline } : {}),
      ...(config.entry !== undefined ? { entryPath: config.entry } : {}),
      ...(initrd !== undefined ? { initrd } : {}),
    });
    bootSummary = boot.summary;
  }

  const startInstr = m.cpu.instructionsRetired;
  let start = performance.now();
  const markPrefix = config.markPrefix;
  let line = "";
  m.onSerial((byte) => {
    if (outLen === out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    out[outLen++] = byte;
    if (markPrefix !== undefined) {
      if (byte === 0x0a) {
        if (line.startsWith(markPrefix)) mark(line.slice(markPrefix.length).trim());
        line = "";
      } else if (line.length < MAX_LINE) {
        line += String.fromCharCode(byte);
      }
    }
    if (outLen >= FLUSH_BYTES) flush();
  });
  const mark = (label: string): void => {
    flush(); // the console up to the mark line arrives first
    const hostNow = performance.now();
    const snapshot: VmSnapshot = {
      label,
      hostMs: performance.timeOrigin + hostNow,
      report: buildStatsReport(m, m.cpu.instructionsRetired - startInstr, (hostNow - start) / 1000),
      nics: nicStats(nics),
    };
    send({ type: "mark", snapshot });
  };

  for (const n of nics) if (n.port !== undefined) m.addPoller(() => n.port!.poll());
  // A halted vCPU sleeps on the (first) port's receive ring, so an arriving frame wakes it.
  const waitPort = nics.find((n) => n.port !== undefined)?.port;
  if (waitPort !== undefined) m.setIdleWait((ms) => waitPort.waitSync(ms));
  m.addPoller(() => {
    // Console input, as much as the UART's receive FIFO takes.
    while (input.length > 0 && m.com1.receiveSpace > 0) {
      const chunk = input[0]!;
      const taken = m.sendSerial(chunk);
      if (taken >= chunk.length) input.shift();
      else input[0] = chunk.subarray(taken);
      if (taken === 0) break;
    }
    if (performance.now() - lastFlush >= FLUSH_MS) flush();
  });
  if (config.interactive) m.attachInput();
  if (stopRequested) m.monitor.requestStop("host-stop");

  send(bootSummary !== undefined ? { type: "started", bootSummary } : { type: "started" });
  start = performance.now();
  const result: RunResult = await m.run({
    ...(config.maxInstructions !== undefined ? { maxInstructions: config.maxInstructions } : {}),
    ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
  });
  flush();
  input = [];
  return {
    result,
    report: buildStatsReport(m, result.instructions, result.seconds),
    nics: nicStats(nics),
    ...(bootSummary !== undefined ? { bootSummary } : {}),
  };
}

// "done" goes out after the disks and pcap files are closed: the parent then ends this thread.
main().then(
  (result) => {
    send({ type: "done", result });
    port.off("message", onMessage);
  },
  (e: unknown) => {
    flush();
    send({ type: "error", error: serializeError(e) });
    port.off("message", onMessage);
  },
);
