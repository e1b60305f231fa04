import type { ExitReasonCode } from "./exit-reason.js";

/**
 * One VM exit, as an engine hands it to the monitor. A single instance is reused for
 * every exit of a vCPU (no allocation on the hot path); the monitor must copy what it
 * keeps. Which fields are meaningful depends on `reason` (documented per field, after
 * the SDM's exit qualification, Vol. 3C 28.2.1).
 *
 * Exits are delivered synchronously: the engine calls `ExitHandler.handleExit` at the
 * point of the sensitive event and continues with what the handler left in `value`
 * and in the vCPU state. Instructions whose result the monitor supplies (IN, CPUID,
 * RDMSR, MMIO reads) read it from `value` / the registers when the handler returns.
 */
export class VmExit {
  reason: ExitReasonCode = 0;
  /** IO_INSTRUCTION: port. EPT_VIOLATION: guest-physical address. INVLPG: linear address.
   * CR_ACCESS: control register number. MSR_*: MSR index. EXCEPTION_NMI: vector. */
  address = 0;
  /** IO_INSTRUCTION / EPT_VIOLATION: access width in bytes (1, 2 or 4). */
  size = 0;
  /** IO_INSTRUCTION / EPT_VIOLATION / CR_ACCESS / MSR_*: true for a write (OUT, store, MOV to CR, WRMSR). */
  write = false;
  /** IO_INSTRUCTION: INS/OUTS. */
  string = false;
  /** Data: the value written (OUT, MMIO store, MOV to CR, WRMSR low dword), or, for reads,
   * where the handler puts the result (IN, MMIO load, RDMSR low dword). */
  value = 0;
  /** MSR_*: the high dword. EXCEPTION_NMI: the error code. */
  valueHigh = 0;
  /**
   * Set by the handler to make the exiting instruction raise #GP(0) instead of completing,
   * e.g. RDMSR/WRMSR of an MSR the platform does not have (SDM Vol. 2B RDMSR: "#GP(0) if
   * ECX specifies a reserved or unimplemented MSR address"). Engines clear it before each exit.
   */
  fault = false;
  /** Linear address of the instruction that caused the exit (CS base + EIP). */
  instructionPointer = 0;
}

/** What a monitor implements to receive exits from an engine. */
export interface ExitHandler {
  handleExit(exit: VmExit): void;
}
