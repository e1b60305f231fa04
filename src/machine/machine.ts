/**
 * The composition root: builds one virtual machine (RAM, buses, devices, vCPU, engine,
 * monitor) and runs it. Nothing else wires parts together.
 *
 * Memory map (this minimal PC):
 *   [0, RAM)                    guest RAM (GuestMemory, a SharedArrayBuffer)
 *   [1 MiB - fw, 1 MiB)         a copy of the firmware image in RAM (the "shadowed" BIOS)
 *   [4 GiB - fw, 4 GiB)         the firmware as ROM on the MMIO bus (the reset vector)
 * Ports: COM1 16550A at 0x3F8 (IRQ 4 line), POST port 0x80, optional isa-debug-exit.
 */

import { Bus } from "../bus/bus.js";
import { InterruptLine } from "../bus/irq.js";
import type { Cpu } from "../cpu/cpu.js";
import { createCpu } from "../cpu/create.js";
import { Interpreter } from "../cpu/interp/interpreter.js";
import { DebugExit } from "../devices/debug-exit.js";
import { PostPort } from "../devices/post-port.js";
import { Rom } from "../devices/rom.js";
import { Uart16550 } from "../devices/uart16550.js";
import { GuestMemory } from "../memory/guest-memory.js";
import type { CpuEngine } from "../vmm/engine.js";
import type { ExitStats } from "../vmm/exit-stats.js";
import { Monitor } from "../vmm/monitor.js";

export const COM1_PORT = 0x3f8;
export const DEFAULT_MEMORY_MIB = 64;

export interface MachineOptions {
  /** Guest RAM in MiB (default 64). */
  readonly memoryMiB?: number;
  /** A raw 64 KiB or 128 KiB firmware image; execution starts at its reset vector. */
  readonly firmware?: Uint8Array;
  /** Ports whose every write is reported to `onTracedWrite`. */
  readonly tracePorts?: readonly number[];
  readonly onTracedWrite?: (port: number, size: number, value: number) => void;
  /** Port of a QEMU-compatible isa-debug-exit device (write v: stop with status (v << 1) | 1). */
  readonly debugExitPort?: number;
}

export type StopCause = "debug-exit" | "triple-fault" | "halted" | "instruction-limit" | "timeout";

export interface RunResult {
  readonly reason: StopCause;
  /** The isa-debug-exit status, else 0. */
  readonly exitCode: number;
  /** Instructions retired during this run. */
  readonly instructions: number;
  readonly seconds: number;
}

export interface RunLimits {
  readonly maxInstructions?: number;
  readonly timeoutMs?: number;
}

/** Instructions per engine slice: between slices the machine checks limits and yields to Node's event loop. */
const SLICE = 200_000;
const YIELD_EVERY_MS = 20;

export class MachineConfigError extends Error {
  override readonly name = "MachineConfigError";
}

export class Machine {
  readonly memory: GuestMemory;
  readonly ports = new Bus("port I/O", 0x1_0000);
  readonly mmio = new Bus("MMIO", 0x1_0000_0000);
  readonly monitor: Monitor;
  readonly cpu: Cpu;
  readonly engine: CpuEngine;
  readonly com1Irq = new InterruptLine("IRQ4 (COM1)");
  readonly com1: Uart16550;
  readonly post = new PostPort();
  private readonly serialListeners: ((byte: number) => void)[] = [];

  constructor(options: MachineOptions = {}) {
    const mib = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    if (!Number.isInteger(mib) || mib < 1 || mib > 3072) {
      throw new MachineConfigError(`memory size must be an integer between 1 and 3072 MiB, got ${mib}`);
    }
    this.memory = new GuestMemory(mib * 1024 * 1024);
    this.monitor = new Monitor({
      ports: this.ports,
      mmio: this.mmio,
      ...(options.tracePorts !== undefined ? { tracePorts: options.tracePorts } : {}),
      ...(options.onTracedWrite !== undefined ? { onTracedWrite: options.onTracedWrite } : {}),
    });
    this.cpu = createCpu(this.memory, this.monitor);
    this.engine = new Interpreter(this.cpu);
    this.monitor.attach(this.engine);

    this.com1 = new Uart16550(`uart16550@0x${COM1_PORT.toString(16)}`, this.com1Irq, (b) => {
      for (const l of this.serialListeners) l(b);
    });
    this.ports.register(COM1_PORT, 8, this.com1);
    this.ports.register(0x80, 1, this.post);
    if (options.debugExitPort !== undefined) {
      const port = options.debugExitPort;
      if (!Number.isInteger(port) || port < 0 || port > 0xfffc) {
        throw new MachineConfigError(`debug-exit port must be between 0 and 0xfffc, got ${port}`);
      }
      this.ports.register(
        port,
        4,
        new DebugExit(port, (status) => this.monitor.requestStop("debug-exit", status)),
      );
    }
    if (options.firmware !== undefined) this.loadFirmware(options.firmware);
  }

  /** Map a raw firmware image below 1 MiB (in RAM) and below 4 GiB (ROM), then reset. */
  private loadFirmware(image: Uint8Array): void {
    if (image.length !== 0x10000 && image.length !== 0x20000) {
      throw new MachineConfigError(
        `firmware image must be exactly 64 KiB or 128 KiB, got ${image.length} bytes`,
      );
    }
    if (this.memory.size < 0x100000) {
      throw new MachineConfigError("firmware needs at least 1 MiB of guest RAM");
    }
    this.memory.writeBytes(0x100000 - image.length, image);
    this.mmio.register(0x1_0000_0000 - image.length, image.length, new Rom("firmware ROM", image.slice()));
    this.engine.reset();
  }

  onSerial(listener: (byte: number) => void): void {
    this.serialListeners.push(listener);
  }

  get stats(): ExitStats {
    return this.monitor.stats;
  }

  /**
   * Run until the guest stops (debug-exit, triple fault, HLT that nothing can wake) or a
   * limit is reached. Yields to the event loop regularly so host I/O keeps flowing.
   */
  async run(limits: RunLimits = {}): Promise<RunResult> {
    const start = performance.now();
    const startInstr = this.cpu.instructionsRetired;
    const maxInstr = limits.maxInstructions ?? Number.POSITIVE_INFINITY;
    const deadline = limits.timeoutMs !== undefined ? start + limits.timeoutMs : Number.POSITIVE_INFINITY;
    let lastYield = start;
    const result = (reason: StopCause): RunResult => ({
      reason,
      exitCode: reason === "debug-exit" ? this.monitor.exitCode : 0,
      instructions: this.cpu.instructionsRetired - startInstr,
      seconds: (performance.now() - start) / 1000,
    });
    for (;;) {
      const stop = this.monitor.stop;
      if (stop === "debug-exit" || this.cpu.shutdown || stop === "triple-fault") {
        return result(stop === "debug-exit" ? "debug-exit" : "triple-fault");
      }
      if (this.cpu.halted) {
        // No interrupt controller in this machine yet (the 8259 pair comes with the PC
        // platform), so nothing can wake a halted CPU, whatever its IF.
        return result("halted");
      }
      this.monitor.stop = "none";
      const done = this.cpu.instructionsRetired - startInstr;
      if (done >= maxInstr) return result("instruction-limit");
      this.engine.run(Math.min(SLICE, maxInstr - done));
      const now = performance.now();
      if (now >= deadline) return result("timeout");
      if (now - lastYield >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
  }
}
