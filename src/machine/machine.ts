/**
 * The composition root: builds one virtual machine (RAM, buses, PC platform devices, vCPU,
 * engine, monitor, virtual time) and runs it. Nothing else wires parts together.
 *
 * Memory map:
 *   [0, RAM)                    guest RAM (GuestMemory, a SharedArrayBuffer)
 *   [1 MiB - fw, 1 MiB)         a copy of the firmware image in RAM (the "shadowed" BIOS)
 *   [4 GiB - fw, 4 GiB)         the firmware as ROM on the MMIO bus (the reset vector)
 * Ports: the PC platform (pc-platform.ts), COM1 16550A at 0x3F8 on IRQ 4, POST port 0x80,
 * optionally a QEMU-compatible isa-debug-exit.
 *
 * Time: one virtual clock drives the PIT, the RTC and the TSC (TSC_HZ = 1 GHz, so the TSC
 * counts virtual nanoseconds). "real" (PacedClock) advances with retired instructions at a
 * rate steered toward the host's monotonic clock, so it follows wall-clock time while guest
 * calibration loops still see consistent clocks; "deterministic" advances a fixed number of
 * nanoseconds per retired instruction and skips idle (HLT) time, so a run, its output and its
 * exit counts repeat exactly.
 */

import { applyEntryState, type EntryPath, type LinuxBoot, loadLinux } from "../boot/index.js";
import { Bus } from "../bus/bus.js";
import type { InterruptLine } from "../bus/irq.js";
import { BinaryTranslator, type TranslatorOptions } from "../cpu/bt/translator.js";
import type { Cpu } from "../cpu/cpu.js";
import { Flag } from "../cpu/cpu.js";
import { createCpu } from "../cpu/create.js";
import { Interpreter } from "../cpu/interp/interpreter.js";
import { DebugExit } from "../devices/debug-exit.js";
import type { DeviceStats } from "../devices/device-stats.js";
import { PostPort } from "../devices/post-port.js";
import { Rom } from "../devices/rom.js";
import { Uart16550 } from "../devices/uart16550.js";
import { VirtioBlk } from "../devices/virtio/index.js";
import { GuestMemory } from "../memory/guest-memory.js";
import { type Clock, InstructionClock, PacedClock, tscAt } from "../time/clock.js";
import { Scheduler } from "../time/scheduler.js";
import type { CpuEngine } from "../vmm/engine.js";
import type { ExitStats } from "../vmm/exit-stats.js";
import { Monitor } from "../vmm/monitor.js";
import { createNic, type Nic, type NicConfig } from "./nics.js";
import { PcPlatform } from "./pc-platform.js";

export const COM1_PORT = 0x3f8;
export const DEFAULT_MEMORY_MIB = 64;
/** Deterministic mode: virtual nanoseconds per retired instruction (a 1 GIPS virtual CPU). */
export const DETERMINISTIC_NS_PER_INSTRUCTION = 1;
/** Deterministic mode's RTC start: 2024-01-01T00:00:00Z. */
export const DETERMINISTIC_RTC_START_MS = Date.UTC(2024, 0, 1);

export type TimeMode = "real" | "deterministic";

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
  /** Virtual time base (default "real"). */
  readonly time?: TimeMode;
  /** Network cards, in PCI slot order from slot 3. */
  readonly nics?: readonly NicConfig[];
  /** virtio-blk disks backed by host files, after the NICs. */
  readonly disks?: readonly { readonly path: string; readonly readOnly?: boolean }[];
  /** CPU engine: the interpreter (default) or the binary translator (src/cpu/bt/). */
  readonly engine?: "interp" | "bt";
  /** Binary translator tuning (tests translate at first sight with `hotThreshold: 0`). */
  readonly translator?: TranslatorOptions;
}

/** First PCI slot for add-on devices (0: host bridge, 1: PIIX3). */
const FIRST_PCI_SLOT = 3;

export type StopCause =
  | "debug-exit"
  | "triple-fault"
  | "halted"
  | "reset"
  | "host-stop"
  | "instruction-limit"
  | "timeout";

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

/** Instructions per engine slice: between slices the machine runs due timers, injects interrupts and checks limits. */
const SLICE = 100_000;
const YIELD_EVERY_MS = 20;
/** While halted with an idle wait: how often the event loop gets a turn. */
const IDLE_YIELD_EVERY_MS = 10;

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
  readonly clock: Clock;
  readonly scheduler = new Scheduler();
  readonly platform: PcPlatform;
  readonly com1: Uart16550;
  readonly post = new PostPort();
  readonly timeMode: TimeMode;
  /** Per-device accounting of every device model that keeps it (NICs, block devices). */
  readonly deviceStats: DeviceStats[] = [];
  readonly nics: Nic[] = [];
  readonly disks: VirtioBlk[] = [];
  /** Called between CPU slices: host-side work such as draining a switch port into a NIC. */
  private readonly pollers: (() => void)[] = [];
  private idleWait: ((ms: number) => void) | undefined;
  /** External interrupts injected, for reports. */
  interruptsInjected = 0;
  private readonly serialListeners: ((byte: number) => void)[] = [];
  /** Host input sources that may wake a halted guest (an interactive console). */
  private inputAttached = false;

  constructor(options: MachineOptions = {}) {
    const mib = options.memoryMiB ?? DEFAULT_MEMORY_MIB;
    if (!Number.isInteger(mib) || mib < 2 || mib > 3072) {
      throw new MachineConfigError(`memory size must be an integer between 2 and 3072 MiB, got ${mib}`);
    }
    this.memory = new GuestMemory(mib * 1024 * 1024);
    this.monitor = new Monitor({
      ports: this.ports,
      mmio: this.mmio,
      ...(options.tracePorts !== undefined ? { tracePorts: options.tracePorts } : {}),
      ...(options.onTracedWrite !== undefined ? { onTracedWrite: options.onTracedWrite } : {}),
    });
    this.cpu = createCpu(this.memory, this.monitor);
    this.engine =
      options.engine === "bt"
        ? new BinaryTranslator(this.cpu, options.translator ?? {})
        : new Interpreter(this.cpu);
    this.monitor.attach(this.engine);

    this.timeMode = options.time ?? "real";
    const cpu = this.cpu;
    this.clock =
      this.timeMode === "deterministic"
        ? new InstructionClock(() => cpu.instructionsRetired, DETERMINISTIC_NS_PER_INSTRUCTION)
        : new PacedClock(() => cpu.instructionsRetired);
    this.cpu.readTimeBase = () => BigInt(tscAt(this.clock.nowNs()));

    this.platform = new PcPlatform({
      ports: this.ports,
      mmio: this.mmio,
      clock: this.clock,
      scheduler: this.scheduler,
      memoryBytes: this.memory.size,
      ...(this.timeMode === "deterministic" ? { rtcStartMs: DETERMINISTIC_RTC_START_MS } : {}),
      onReset: () => this.monitor.requestStop("reset-request"),
    });
    // When the PIC's INTR rises in the middle of a slice (a device raised a line from an exit
    // handler, or an EOI unblocked a lower-priority request), ask for an interrupt-window exit
    // so that the run loop injects it as soon as IF allows, not only at the next slice
    // boundary. Without this a lower-priority IRQ (the UART's THRE on IRQ 4) starved under
    // real time: by every slice boundary the timer was due again and IRQ 0 won the priority
    // resolution, so the guest's tty output was never transmitted. (bring-up fix, see report)
    this.platform.pic.onIntrChange((level) => {
      if (level) this.engine.interruptWindowExiting = true;
    });
    this.com1 = new Uart16550(`uart16550@0x${COM1_PORT.toString(16)}`, this.platform.irqs[4], (b) => {
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
    let slot = FIRST_PCI_SLOT;
    (options.nics ?? []).forEach((config, i) => {
      const nic = createNic(config, i, { memory: this.memory, clock: this.clock, scheduler: this.scheduler });
      this.platform.pci.addDevice(nic, slot++);
      this.deviceStats.push(nic.stats);
      this.nics.push(nic);
    });
    for (const [i, disk] of (options.disks ?? []).entries()) {
      const blk = new VirtioBlk({
        memory: this.memory,
        path: disk.path,
        readOnly: disk.readOnly ?? false,
        name: `virtio-blk#${i}`,
      });
      this.platform.pci.addDevice(blk, slot++);
      this.deviceStats.push(blk.stats);
      this.disks.push(blk);
    }
    this.platform.assignPciResources();
    if (options.firmware !== undefined) this.loadFirmware(options.firmware);
  }

  /** Map a raw firmware image below 1 MiB (in RAM) and below 4 GiB (ROM), then reset. */
  private loadFirmware(image: Uint8Array): void {
    if (image.length !== 0x10000 && image.length !== 0x20000) {
      throw new MachineConfigError(
        `firmware image must be exactly 64 KiB or 128 KiB, got ${image.length} bytes`,
      );
    }
    this.memory.writeBytes(0x100000 - image.length, image);
    this.mmio.register(0x1_0000_0000 - image.length, image.length, new Rom("firmware ROM", image.slice()));
    this.engine.reset();
  }

  /**
   * Load a Linux bzImage (and initrd) by the 32-bit boot protocol and point the vCPU at its
   * entry: either the uncompressed kernel after host-side decompression ("vmlinux", the
   * default) or the kernel's own decompressor ("decompressor").
   */
  async loadLinux(
    kernel: Uint8Array,
    options: { initrd?: Uint8Array; cmdline?: string; entryPath?: EntryPath } = {},
  ): Promise<LinuxBoot> {
    const boot = await loadLinux(this.memory, kernel, {
      ...(options.cmdline !== undefined ? { cmdline: options.cmdline } : {}),
      ...(options.initrd !== undefined ? { initrd: options.initrd } : {}),
      entryPath: options.entryPath ?? "vmlinux",
    });
    this.engine.reset();
    applyEntryState(this.cpu, boot.entry);
    return boot;
  }

  /** Register host-side work to run between CPU slices (e.g. a switch port's receive poll). */
  addPoller(poll: () => void): void {
    this.pollers.push(poll);
  }

  /**
   * A blocking wait for host input (e.g. a switch port's `waitSync`) that the run loop uses
   * instead of a timer while the vCPU is halted, so a frame that arrives wakes the guest at
   * once rather than at its next timer tick. Only for a VM on a worker thread: it blocks the
   * thread for up to the given milliseconds (at most 10).
   */
  setIdleWait(wait: (ms: number) => void): void {
    this.idleWait = wait;
  }

  onSerial(listener: (byte: number) => void): void {
    this.serialListeners.push(listener);
  }

  /** Send bytes to the guest's serial console (host keyboard input). Returns how many were taken. */
  sendSerial(bytes: Uint8Array): number {
    this.inputAttached = true;
    return this.com1.receive(bytes);
  }

  /** Mark that host input may arrive later, so a halted guest waits for it instead of stopping. */
  attachInput(): void {
    this.inputAttached = true;
  }

  get irqLines(): readonly InterruptLine[] {
    return this.platform.irqs;
  }

  get stats(): ExitStats {
    return this.monitor.stats;
  }

  /** Deliver a pending PIC interrupt, or ask the engine for an interrupt-window exit. */
  private injectPendingInterrupt(): void {
    const pic = this.platform.pic;
    if (!pic.hasInterrupt()) {
      this.engine.interruptWindowExiting = false;
      return;
    }
    if (this.engine.canInjectInterrupt()) {
      this.engine.injectInterrupt(pic.acknowledge());
      this.interruptsInjected++;
      // Another request may still be pending (e.g. with automatic EOI nothing blocks it):
      // keep asking for the window rather than waiting for the next slice boundary.
      this.engine.interruptWindowExiting = pic.hasInterrupt();
    } else {
      this.engine.interruptWindowExiting = true;
    }
  }

  /**
   * Run until the guest stops (debug-exit, triple fault, reset request, HLT that nothing can
   * wake) or a limit is reached. Yields to the event loop regularly so host I/O keeps flowing.
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
      if (stop === "debug-exit") return result("debug-exit");
      if (stop === "triple-fault" || this.cpu.shutdown) return result("triple-fault");
      if (stop === "reset-request") return result("reset");
      if (stop === "host-stop") return result("host-stop");
      this.monitor.stop = "none";

      for (const poll of this.pollers) poll();
      this.scheduler.runDue(this.clock.nowNs());
      this.injectPendingInterrupt();

      const now = performance.now();
      if (now >= deadline) return result("timeout");
      const done = this.cpu.instructionsRetired - startInstr;
      if (done >= maxInstr) return result("instruction-limit");

      if (this.cpu.halted) {
        const wake = this.scheduler.nextDeadlineNs();
        const interruptsEnabled = (this.cpu.getEflags() & Flag.IF) !== 0;
        if (!interruptsEnabled || (wake === Number.POSITIVE_INFINITY && !this.inputAttached)) {
          return result("halted"); // Nothing can ever wake this CPU (no NMI sources exist).
        }
        if (this.clock instanceof InstructionClock) {
          this.clock.skipTo(wake);
        } else if (this.clock instanceof PacedClock) {
          // Sleep until the next timer is due in host time (at most 10 ms, so host input is
          // seen), then let virtual time catch up.
          const waitMs = Math.min(Math.max((wake - this.clock.hostNs()) / 1e6, 0), 10);
          // (ne2k ping fix) When virtual time lags host time (by up to PacedClock.MAX_LAG_NS),
          // waitMs is 0 and the idle guest used to skip from timer to timer without ever
          // yielding, and lastYield was reset anyway: host events, such as a backend's reply
          // queued with queueMicrotask right after a transmit, starved until virtual time had
          // caught up, seconds of guest time later (the ping timed out with the replies still
          // queued). Let them in before skipping time, and if one woke the guest (an IRQ is
          // pending), deliver it now rather than after the skip.
          if (waitMs > 0 && this.idleWait !== undefined) {
            // Sleep until the timer or a frame, whichever comes first; the pollers deliver the
            // frame at the top of the loop. Still let the event loop in (console input, stop).
            this.idleWait(waitMs);
            if (performance.now() - lastYield >= IDLE_YIELD_EVERY_MS) {
              await new Promise<void>((resolve) => setImmediate(resolve));
              lastYield = performance.now();
            }
            if (!this.platform.pic.hasInterrupt()) this.clock.skipTo(Math.min(wake, this.clock.hostNs()));
            continue;
          }
          if (waitMs > 0) {
            await new Promise<void>((resolve) => setTimeout(resolve, waitMs));
            lastYield = performance.now();
          } else if (performance.now() - lastYield >= YIELD_EVERY_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastYield = performance.now();
          } else {
            await Promise.resolve(); // runs already-queued microtasks only
          }
          if (this.platform.pic.hasInterrupt()) continue;
          this.clock.skipTo(Math.min(wake, this.clock.hostNs()));
        }
        continue;
      }

      let budget = Math.min(SLICE, maxInstr - done);
      const clock = this.clock;
      if (clock instanceof InstructionClock || clock instanceof PacedClock) {
        // Stop at the next timer deadline (exactly, in deterministic mode, so runs repeat).
        if (clock instanceof PacedClock) clock.resync();
        const untilTimer = Math.ceil(
          (this.scheduler.nextDeadlineNs() - clock.nowNs()) / clock.nsPerInstruction,
        );
        budget = Math.max(1, Math.min(budget, untilTimer));
      }
      this.engine.run(budget);

      if (now - lastYield >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
  }
}
