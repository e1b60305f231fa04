/**
 * VM-exit reasons, named and numbered after the VT-x basic exit reasons
 * (Intel SDM Vol. 3C, Appendix C "VMX Basic Exit Reasons"). Every engine (interpreter,
 * binary translator, VT-x model) reports sensitive events with these codes.
 */
export const ExitReason = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT_SIGNAL: 3,
  INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  HLT: 12,
  INVD: 13,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  VMCALL: 18,
  CR_ACCESS: 28,
  DR_ACCESS: 29,
  IO_INSTRUCTION: 30,
  MSR_READ: 31,
  MSR_WRITE: 32,
  INVALID_GUEST_STATE: 33,
  MWAIT: 36,
  MONITOR: 39,
  PAUSE: 40,
  GDTR_IDTR_ACCESS: 46,
  LDTR_TR_ACCESS: 47,
  EPT_VIOLATION: 48,
  WBINVD: 54,
} as const;

export type ExitReasonName = keyof typeof ExitReason;
export type ExitReasonCode = (typeof ExitReason)[ExitReasonName];

/** Reason code -> name, for reports. */
export const exitReasonName: ReadonlyMap<number, ExitReasonName> = new Map(
  (Object.entries(ExitReason) as [ExitReasonName, number][]).map(([name, code]) => [code, name]),
);

/** Largest reason code plus one: the size of per-reason tables. */
export const EXIT_REASON_SLOTS = 64;
