/**
 * Power-on / RESET state of the vCPU (SDM Vol. 3A 9.1.1, Table 9-1).
 */

import { type Cpu, CS, EDX, Flag } from "../cpu.js";

/**
 * EDX after reset: the processor signature, equal to CPUID.1:EAX (src/vmm/cpuid.ts
 * CPUID_SIGNATURE; a test keeps the two equal). Family 6, model 8, stepping 3.
 */
export const CPU_SIGNATURE = (6 << 8) | (8 << 4) | 3;

/** Power-on CR0: CD, NW, ET (Table 9-1). */
export const RESET_CR0 = 0x6000_0010;
const DATA_ACCESS = 0x93; // present, DPL 0, read/write data, accessed
const CODE_ACCESS = 0x9b; // present, DPL 0, execute/read code, accessed

export function resetCpu(cpu: Cpu): void {
  cpu.regs.fill(0);
  cpu.regs[EDX] = CPU_SIGNATURE;
  cpu.eip = 0xfff0;
  cpu.eflags = Flag.FIXED1;
  cpu.setEflags(Flag.FIXED1);
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = 0;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = 0xffff;
    cpu.segAccess[s] = DATA_ACCESS;
  }
  cpu.segSel[CS] = 0xf000;
  cpu.segBase[CS] = 0xffff_0000 | 0;
  cpu.segAccess[CS] = CODE_ACCESS;
  cpu.cpl = 0;
  cpu.gdtrBase = 0;
  cpu.gdtrLimit = 0xffff;
  cpu.idtrBase = 0;
  cpu.idtrLimit = 0xffff;
  cpu.ldtrSel = 0;
  cpu.ldtrBase = 0;
  cpu.ldtrLimit = 0xffff;
  cpu.trSel = 0;
  cpu.trBase = 0;
  cpu.trLimit = 0xffff;
  cpu.trAccess = 0x8b; // present, busy 32-bit TSS
  cpu.cr0 = RESET_CR0;
  cpu.cr2 = 0;
  cpu.cr3 = 0;
  cpu.cr4 = 0;
  cpu.dr.fill(0);
  cpu.dr[6] = 0xffff_0ff0 | 0;
  cpu.dr[7] = 0x400;
  cpu.sysenterCs = 0;
  cpu.sysenterEsp = 0;
  cpu.sysenterEip = 0;
  // The TSC is cleared by RESET (SDM Vol. 3B 17.17).
  cpu.tscOffset = -cpu.readTimeBase();
  cpu.halted = false;
  cpu.shutdown = false;
  cpu.interruptShadow = 0;
  cpu.faultVector = -1;
  cpu.faultErrorCode = 0;
  cpu.faultHasErrorCode = false;
  cpu.suppressException = false;
  // Installed by createCpu; a bare Cpu in a unit test may lack them.
  (cpu.fpu as Cpu["fpu"] | undefined)?.reset();
  (cpu.mmu as Cpu["mmu"] | undefined)?.flush(true);
  // Translations changed: the interpreter's own TLB must go too (cpu.ts, tlbEpoch).
  cpu.tlbEpoch = (cpu.tlbEpoch + 1) | 0;
}
