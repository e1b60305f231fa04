import type { Cpu } from "../cpu/cpu.js";

/** Why `CpuEngine.run` returned. */
export const StopReason = {
  /** The instruction budget ran out. */
  BUDGET: 0,
  /** An exit handler (or another thread) asked the engine to stop, e.g. after HLT or shutdown. */
  REQUESTED: 1,
} as const;
export type StopReasonCode = (typeof StopReason)[keyof typeof StopReason];

/**
 * A way of executing guest code: the interpreter today; the binary translator and the
 * VT-x model later. An engine runs the guest until a budget is spent or the monitor asks
 * it to stop; every sensitive event inside is reported as a VM exit to `cpu.exitHandler`.
 */
export interface CpuEngine {
  readonly name: string;
  readonly cpu: Cpu;
  /** Run at most `maxInstructions` instructions. */
  run(maxInstructions: number): StopReasonCode;
  /** Make `run` return after the current instruction (safe to call from an exit handler). */
  requestStop(): void;
  /**
   * True when an external interrupt can be delivered now: IF=1, no interrupt shadow
   * (SDM Vol. 3A 6.8.1 and 6.8.3).
   */
  canInjectInterrupt(): boolean;
  /**
   * Deliver an external interrupt through the IDT now (VM-entry event injection,
   * SDM Vol. 3C 26.6). Precondition: `canInjectInterrupt()`. Wakes a halted CPU.
   */
  injectInterrupt(vector: number): void;
  /**
   * When set, the engine exits with INTERRUPT_WINDOW as soon as `canInjectInterrupt()`
   * becomes true (SDM Vol. 3C 25.6.2 "interrupt-window exiting").
   */
  interruptWindowExiting: boolean;
  /** Put the CPU in its power-on state (SDM Vol. 3A 9.1.1, Table 9-1). */
  reset(): void;
}
