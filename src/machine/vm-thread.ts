/**
 * One VM on its own worker_threads Worker (vm-worker.ts is the worker's entry). The calling
 * thread keeps the host side: the switch (a port's rings are SharedArrayBuffers, shared with
 * the worker through `port`), the terminal, output. Messages carry only the console (batched),
 * marks, traced port writes and the final report; nothing here changes what the guest sees,
 * so a deterministic run gives the same console and exit counts as on the main thread.
 */

import { Worker } from "node:worker_threads";
import { BootImageError, type BootImageErrorKind, type EntryPath } from "../boot/index.js";
import type { TranslatorOptions } from "../cpu/bt/translator.js";
import type { PortBackendStats, SwitchPortDescription } from "../net/index.js";
import { MachineConfigError, type RunResult, type TimeMode } from "./machine.js";
import type { NicModel } from "./nics.js";
import type { StatsReport } from "./stats-report.js";

export type { StatsReport } from "./stats-report.js";

export interface VmThreadNic {
  model: NicModel;
  mac: Uint8Array;
  mitigation: boolean;
  /** Switch port to attach to; absent = no cable (NullBackend). */
  port?: SwitchPortDescription;
  /** Capture this NIC's traffic (both directions) to a pcap file, in the worker. */
  pcapPath?: string;
}

export interface VmThreadConfig {
  /** Linux boot: paths and the final command line are the caller's. */
  kernelPath?: string;
  initrdPath?: string;
  cmdline?: string;
  entry?: EntryPath;
  /** A raw 64/128 KiB firmware image instead of a kernel. */
  firmwarePath?: string;
  memoryMiB: number;
  time: TimeMode;
  /** CPU engine (default the interpreter). */
  engine?: "interp" | "bt";
  /** Binary translator options (backend, hot threshold). */
  translator?: TranslatorOptions;
  nics: VmThreadNic[];
  disks: { path: string; readOnly?: boolean }[];
  tracePorts?: number[];
  debugExitPort?: number;
  maxInstructions?: number;
  timeoutMs?: number;
  /**
   * A serial-console line that starts with this prefix (e.g. "vmlab-mark:") makes the worker
   * take a VmSnapshot, labelled with the rest of the line trimmed, and post it at once.
   */
  markPrefix?: string;
  /** Console input is expected (keeps a halted guest waiting for input, as machine.attachInput()). */
  interactive?: boolean;
}

export interface VmSnapshot {
  label: string;
  /** performance.timeOrigin + performance.now() in the worker when taken (comparable across threads). */
  hostMs: number;
  /** Counters so far; `instructions` and `seconds` count from the start of the run. */
  report: StatsReport;
  /** Per NIC, its port backend's counters (zeros for a NIC without a cable). */
  nics: PortBackendStats[];
}

export interface VmThreadResult {
  result: RunResult;
  report: StatsReport;
  nics: PortBackendStats[];
  bootSummary?: string;
}

/** Informational events besides the console and marks. */
export type VmThreadEvent =
  /** The VM is built (and its kernel loaded); the run starts now. */
  | { type: "started"; bootSummary?: string }
  /** A write to one of `tracePorts`. */
  | { type: "trace"; port: number; size: number; value: number };

export interface VmThread {
  /** Guest console output, in order, batched. */
  onSerial(cb: (bytes: Uint8Array) => void): void;
  onMark(cb: (snap: VmSnapshot) => void): void;
  onMessage(cb: (event: VmThreadEvent) => void): void;
  /** Console input; the worker feeds the UART as its FIFO has room. */
  sendSerial(bytes: Uint8Array): void;
  /** Asks the guest to stop (StopCause "host-stop"); `done` still resolves. */
  stop(): void;
  /**
   * Resolves once the VM has stopped and the worker has exited. Rejects with an Error of the
   * worker's error class name and message if the VM fails to start or the worker crashes.
   */
  readonly done: Promise<VmThreadResult>;
}

/** A file the VM needs (kernel, initrd, firmware, pcap) cannot be read or written. */
export class VmInputError extends Error {
  override readonly name = "VmInputError";
}

/** An Error as it crosses postMessage. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** BootImageError's kind. */
  kind?: string;
}

/** Main thread -> worker. */
export type ToWorker = { type: "serial"; bytes: Uint8Array } | { type: "stop" };

/** Worker -> main thread, in order; "done" or "error" is the last. */
export type FromWorker =
  | { type: "output"; serial?: Uint8Array; traces?: number[] }
  | { type: "started"; bootSummary?: string }
  | { type: "mark"; snapshot: VmSnapshot }
  | { type: "done"; result: VmThreadResult }
  | { type: "error"; error: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: "Error", message: String(e) };
  return {
    name: e.name,
    message: e.message,
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
    ...(e instanceof BootImageError ? { kind: e.kind } : {}),
  };
}

/** Recreates the worker's error: vmlab's own classes as themselves, others as an Error with the same name. */
export function deserializeError(s: SerializedError): Error {
  let e: Error;
  switch (s.name) {
    case "MachineConfigError":
      e = new MachineConfigError(s.message);
      break;
    case "BootImageError":
      e = new BootImageError((s.kind ?? "corrupt") as BootImageErrorKind, s.message);
      break;
    case "VmInputError":
      e = new VmInputError(s.message);
      break;
    default:
      e = new Error(s.message);
      Object.defineProperty(e, "name", { value: s.name, configurable: true, writable: true });
  }
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}

/** Starts a VM on a new worker thread. Register listeners before the next await. */
export function startVmThread(config: VmThreadConfig): VmThread {
  const worker = new Worker(new URL("./vm-worker.js", import.meta.url), { workerData: config });
  const serialListeners: ((bytes: Uint8Array) => void)[] = [];
  const markListeners: ((snap: VmSnapshot) => void)[] = [];
  const eventListeners: ((event: VmThreadEvent) => void)[] = [];
  // Output that arrived before anyone listened (a caller that registers late loses nothing).
  const earlySerial: Uint8Array[] = [];
  const earlyMarks: VmSnapshot[] = [];
  let finished = false;
  let outcome: { ok: VmThreadResult } | { err: Error } | undefined;

  const done = new Promise<VmThreadResult>((resolve, reject) => {
    const settle = (o: { ok: VmThreadResult } | { err: Error }): void => {
      outcome ??= o;
      finished = true;
      // Every message was posted before "done"/"error", so nothing is lost by ending it now.
      void worker.terminate();
    };
    worker.on("message", (msg: FromWorker) => {
      switch (msg.type) {
        case "output":
          if (msg.serial !== undefined) {
            if (serialListeners.length === 0) earlySerial.push(msg.serial);
            for (const l of serialListeners) l(msg.serial);
          }
          if (msg.traces !== undefined) {
            const t = msg.traces;
            for (let i = 0; i + 2 < t.length; i += 3) {
              const ev: VmThreadEvent = { type: "trace", port: t[i]!, size: t[i + 1]!, value: t[i + 2]! };
              for (const l of eventListeners) l(ev);
            }
          }
          break;
        case "started": {
          const ev: VmThreadEvent =
            msg.bootSummary !== undefined
              ? { type: "started", bootSummary: msg.bootSummary }
              : { type: "started" };
          for (const l of eventListeners) l(ev);
          break;
        }
        case "mark":
          if (markListeners.length === 0) earlyMarks.push(msg.snapshot);
          for (const l of markListeners) l(msg.snapshot);
          break;
        case "done":
          settle({ ok: msg.result });
          break;
        case "error":
          settle({ err: deserializeError(msg.error) });
          break;
      }
    });
    worker.on("error", (e) => {
      outcome ??= { err: e instanceof Error ? e : new Error(String(e)) };
    });
    worker.on("messageerror", (e) => {
      outcome ??= { err: e };
    });
    worker.on("exit", (code) => {
      finished = true;
      const o = outcome ?? { err: new Error(`the VM worker exited (code ${code}) before the VM stopped`) };
      if ("ok" in o) resolve(o.ok);
      else reject(o.err);
    });
  });

  const post = (msg: ToWorker, transfer?: ArrayBuffer[]): void => {
    if (!finished) worker.postMessage(msg, transfer);
  };
  return {
    onSerial(cb) {
      serialListeners.push(cb);
      for (const b of earlySerial.splice(0)) cb(b);
    },
    onMark(cb) {
      markListeners.push(cb);
      for (const s of earlyMarks.splice(0)) cb(s);
    },
    onMessage(cb) {
      eventListeners.push(cb);
    },
    sendSerial(bytes) {
      const copy = bytes.slice(); // the caller's buffer may be reused (stdin chunks are pooled)
      post({ type: "serial", bytes: copy }, [copy.buffer]);
    },
    stop() {
      post({ type: "stop" });
    },
    done,
  };
}
