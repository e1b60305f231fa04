/**
 * The monitor's exit dispatcher: receives every VM exit of a vCPU, handles it (port I/O and
 * MMIO to the buses, CPUID, MSRs, HLT, triple fault) and accounts for it: one counter and
 * one latency aggregate per exit reason. Latency is the host time spent handling the exit,
 * measured around the handler with a monotonic clock.
 */

import type { Bus } from "../bus/bus.js";
import type { AccessWidth } from "../bus/device.js";
import type { Cpu } from "../cpu/cpu.js";
import { cpuid } from "./cpuid.js";
import type { CpuEngine } from "./engine.js";
import type { ExitHandler, VmExit } from "./exit.js";
import { ExitReason } from "./exit-reason.js";
import { ExitStats } from "./exit-stats.js";
import { MsrFile } from "./msr.js";

/** Why the monitor stopped the vCPU; read by the machine's run loop. */
export type MonitorStop = "none" | "halted" | "triple-fault" | "debug-exit" | "reset-request" | "host-stop";

export interface MonitorOptions {
  readonly ports: Bus;
  readonly mmio: Bus;
  /** Ports whose writes are reported to `onTracedWrite` (`vmlab run --trace-port`). */
  readonly tracePorts?: readonly number[];
  readonly onTracedWrite?: (port: number, size: number, value: number) => void;
}

export class Monitor implements ExitHandler {
  readonly stats = new ExitStats();
  readonly msrs = new MsrFile();
  private readonly tracedPorts: Uint8Array = new Uint8Array(0x10000);
  private readonly cpuidOut = new Int32Array(4);
  private engine: CpuEngine | undefined;
  private cpu: Cpu | undefined;
  /** Set when the monitor asked the engine to stop, and why. */
  stop: MonitorStop = "none";
  exitCode = 0;

  constructor(private readonly options: MonitorOptions) {
    for (const p of options.tracePorts ?? []) this.tracedPorts[p & 0xffff] = 1;
  }

  attach(engine: CpuEngine): void {
    this.engine = engine;
    this.cpu = engine.cpu;
  }

  /** Ask the vCPU to stop at the next instruction boundary (e.g. a device's power-off). */
  requestStop(why: MonitorStop, exitCode = 0): void {
    this.stop = why;
    this.exitCode = exitCode;
    this.engine?.requestStop();
  }

  handleExit(exit: VmExit): void {
    const t0 = performance.now();
    this.dispatch(exit);
    this.stats.record(exit.reason, (performance.now() - t0) * 1e6);
  }

  private dispatch(x: VmExit): void {
    switch (x.reason) {
      case ExitReason.IO_INSTRUCTION:
        if (x.write) {
          if (this.tracedPorts[x.address] === 1) this.options.onTracedWrite?.(x.address, x.size, x.value);
          this.options.ports.write(x.address, x.size as AccessWidth, x.value);
        } else {
          x.value = this.options.ports.read(x.address, x.size as AccessWidth);
        }
        return;
      case ExitReason.EPT_VIOLATION:
        if (x.write) this.options.mmio.write(x.address, x.size as AccessWidth, x.value);
        else x.value = this.options.mmio.read(x.address, x.size as AccessWidth);
        return;
      case ExitReason.CPUID: {
        const regs = this.cpu!.regs;
        cpuid(regs[0]!, this.cpuidOut);
        regs[0] = this.cpuidOut[0]!;
        regs[3] = this.cpuidOut[1]!;
        regs[1] = this.cpuidOut[2]!;
        regs[2] = this.cpuidOut[3]!;
        return;
      }
      case ExitReason.MSR_READ: {
        const v = this.msrs.read(x.address);
        if (v === undefined) {
          x.fault = true;
          return;
        }
        x.value = Number(v & 0xffffffffn) | 0;
        x.valueHigh = Number(v >> 32n) | 0;
        return;
      }
      case ExitReason.MSR_WRITE: {
        const v = (BigInt(x.valueHigh >>> 0) << 32n) | BigInt(x.value >>> 0);
        if (!this.msrs.write(x.address, v)) x.fault = true;
        return;
      }
      case ExitReason.HLT:
        // The machine's run loop decides whether an interrupt can wake the CPU.
        this.requestStop("halted");
        return;
      case ExitReason.TRIPLE_FAULT:
        this.requestStop("triple-fault");
        return;
      case ExitReason.INTERRUPT_WINDOW:
        // The run loop injects the pending interrupt once the engine has stopped.
        this.engine?.requestStop();
        return;
      default:
        // CR_ACCESS, INVLPG, EXCEPTION_NMI, WBINVD, ...: the engine already performed the
        // architectural effect; the exit exists for accounting and for future MMU strategies.
        return;
    }
  }
}
