/**
 * One user-mode test case: a snippet of instruction bytes and the state it starts from,
 * run identically on the host CPU (host/harness.c) and in vmlab (user/vmlab-user.ts).
 */

export interface Patch {
  /** Offset inside the compared region (REGION_ADDR-based). */
  readonly offset: number;
  readonly bytes: Uint8Array;
}

export interface UserCase {
  readonly id: number;
  /** The table form this case exercises (formKey()). */
  readonly formKey: string;
  readonly mnemonic: string;
  /** Short description of the variant: operand size, ModRM kind, prefix. */
  readonly variant: string;
  readonly code: Uint8Array;
  /** EAX ECX EDX EBX ESP EBP ESI EDI, unsigned. */
  readonly regs: readonly number[];
  readonly eflags: number;
  readonly dataSeed: number;
  readonly patches: readonly Patch[];
  /** 108-byte FRSTOR image loaded before the snippet (x87 cases). */
  readonly fpu?: Uint8Array;
  /** EFLAGS bits compared (arithmetic flags + DF minus the form's undefined flags). */
  readonly flagMask: number;
  /** FSW bits compared (x87 cases). */
  readonly fswMask: number;
  /** Relative tolerance for x87 register values (0: bit-exact after rounding to double). */
  readonly floatTolerance: number;
  /** Region byte ranges not compared (e.g. pointer fields of FNSTENV images). */
  readonly memIgnore: readonly { readonly offset: number; readonly length: number }[];
}

/** What a case did on one side. */
export interface CaseOutcome {
  /** Exception vector, or -1 when the snippet ran to its end. */
  readonly vector: number;
  readonly errorCode: number;
  readonly regs: readonly number[];
  readonly eflags: number;
  readonly eip: number;
  /** FNSAVE image after the snippet (x87 cases). */
  readonly fpu?: Uint8Array;
  /** The region after the snippet. */
  readonly region: Uint8Array;
  /** Set when the side could not run the case at all (crash, missing engine). */
  readonly error?: string;
}

/** Vectors that push an error code (SDM Vol. 3A Table 6-1). */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}
