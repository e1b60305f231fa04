/**
 * Guest exceptions raised inside an instruction. An instruction that faults calls
 * `raise(cpu, vector, errorCode)`; that records the exception on the CPU and throws the
 * `CPU_FAULT` sentinel, which the engine's run loop catches. The loop then restores
 * EIP and ESP to their values at the start of the instruction (precise exceptions:
 * Intel SDM Vol. 3A 6.5 "Faults") and delivers the exception through the IDT.
 *
 * The sentinel is a preallocated object, not an Error, so throwing it captures no
 * stack trace and allocates nothing.
 */

/** Exception vectors, Intel SDM Vol. 3A Table 6-1. */
export const Vector = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
  MF: 16,
  AC: 17,
  MC: 18,
} as const;

/** Vectors that push an error code (SDM Vol. 3A Table 6-1, "Error Code" column). */
export function vectorHasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

export class CpuFaultSignal {
  readonly isCpuFault = true;
}

/** The one object ever thrown for a guest exception. */
export const CPU_FAULT: CpuFaultSignal = new CpuFaultSignal();

/** The fields `raise` writes; the Cpu class has them. */
export interface FaultSink {
  faultVector: number;
  faultErrorCode: number;
  faultHasErrorCode: boolean;
}

/** Raise a guest exception with an error code (or without one when `errorCode` < 0). */
export function raise(cpu: FaultSink, vector: number, errorCode = -1): never {
  cpu.faultVector = vector;
  cpu.faultHasErrorCode = errorCode >= 0 && vectorHasErrorCode(vector);
  cpu.faultErrorCode = Math.max(errorCode, 0);
  throw CPU_FAULT;
}
