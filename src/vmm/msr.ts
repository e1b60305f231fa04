/**
 * The model-specific registers the platform (not the CPU core) answers for. The CPU core
 * itself keeps the SYSENTER MSRs and the TSC; everything else reaches the monitor as an
 * MSR_READ / MSR_WRITE exit and is answered here. An MSR that is not listed raises #GP(0),
 * as on hardware (SDM Vol. 2B RDMSR/WRMSR), which is what Linux's rdmsr_safe() expects.
 */

/** MSR numbers, SDM Vol. 4 Table 2-2 / 2-3 (P6 family). */
export const Msr = {
  IA32_P5_MC_ADDR: 0x0,
  IA32_P5_MC_TYPE: 0x1,
  IA32_PLATFORM_ID: 0x17,
  IA32_BIOS_SIGN_ID: 0x8b,
  IA32_MISC_ENABLE: 0x1a0,
} as const;

export class MsrFile {
  private readonly values = new Map<number, bigint>([
    [Msr.IA32_P5_MC_ADDR, 0n],
    [Msr.IA32_P5_MC_TYPE, 0n],
    [Msr.IA32_PLATFORM_ID, 0n],
    [Msr.IA32_BIOS_SIGN_ID, 0n],
    // Bit 0: fast-strings enable (SDM Vol. 4 Table 2-3).
    [Msr.IA32_MISC_ENABLE, 1n],
  ]);
  /** Writes that are accepted but ignored (read back as written). */
  unknownAccesses = 0;

  /** The value, or undefined when the MSR does not exist. */
  read(index: number): bigint | undefined {
    const v = this.values.get(index >>> 0);
    if (v === undefined) this.unknownAccesses++;
    return v;
  }

  /** False when the MSR does not exist (the caller raises #GP). */
  write(index: number, value: bigint): boolean {
    index >>>= 0;
    if (!this.values.has(index)) {
      this.unknownAccesses++;
      return false;
    }
    // IA32_BIOS_SIGN_ID: writing it triggers a microcode-revision latch; reads return 0.
    if (index === Msr.IA32_BIOS_SIGN_ID) return true;
    this.values.set(index, BigInt.asUintN(64, value));
    return true;
  }
}
