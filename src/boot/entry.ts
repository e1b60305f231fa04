/**
 * The CPU state of a 32-bit boot protocol entry (boot.rst, "32-bit BOOT PROTOCOL"):
 *
 *   "At entry, the CPU must be in 32-bit protected mode with paging disabled; a GDT must be
 *    loaded with the descriptors for selectors __BOOT_CS(0x10) and __BOOT_DS(0x18); both
 *    descriptors must be 4G flat segment; __BOOT_CS must have execute/read permission, and
 *    __BOOT_DS must have read/write permission; CS must be __BOOT_CS and DS, ES, SS must be
 *    __BOOT_DS; interrupt must be disabled; %esi must hold the base address of the struct
 *    boot_params; %ebp, %edi and %ebx must be zero."
 *
 * The loader writes that GDT into guest memory (`writeBootGdt`) and describes the register
 * state as a plain object; `applyEntryState` puts it into a `Cpu`, filling the hidden
 * descriptor caches directly as if the segment loads had happened.
 */

import { type Cpu, CR0, CS, DS, ES, FS, GS, SS } from "../cpu/cpu.js";
import type { GuestMemory } from "../memory/guest-memory.js";

export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** Access rights as in `Cpu.segAccess` (descriptor high dword bits 8..23): P, DPL 0, S,
 * type 0xB (code, execute/read, accessed) or 0x3 (data, read/write, accessed), D/B, G. */
export const FLAT_CODE_ACCESS = 0xc09b;
export const FLAT_DATA_ACCESS = 0xc093;
/** The same descriptors as GDT entries (base 0, limit 0xFFFFF pages). */
const FLAT_CODE_DESC = [0x0000_ffff, 0x00cf_9b00] as const;
const FLAT_DATA_DESC = [0x0000_ffff, 0x00cf_9300] as const;
/** Entries 0 and 1 null, 2 = __BOOT_CS, 3 = __BOOT_DS. */
export const BOOT_GDT_SIZE = 4 * 8;

export interface SegmentState {
  readonly selector: number;
  readonly base: number;
  /** Byte limit (granularity applied). */
  readonly limit: number;
  readonly access: number;
}

export interface EntryState {
  readonly eip: number;
  /** EAX ECX EDX EBX ESP EBP ESI EDI. */
  readonly regs: readonly [number, number, number, number, number, number, number, number];
  readonly eflags: number;
  readonly cs: SegmentState;
  /** Loaded into DS, ES, SS (and FS, GS, which the protocol leaves undefined). */
  readonly data: SegmentState;
  readonly gdtBase: number;
  readonly gdtLimit: number;
}

/** Writes the four-entry boot GDT at `addr` (8-byte aligned). */
export function writeBootGdt(mem: GuestMemory, addr: number): void {
  mem.fill(addr, 16, 0);
  mem.write32(addr + BOOT_CS, FLAT_CODE_DESC[0]);
  mem.write32(addr + BOOT_CS + 4, FLAT_CODE_DESC[1]);
  mem.write32(addr + BOOT_DS, FLAT_DATA_DESC[0]);
  mem.write32(addr + BOOT_DS + 4, FLAT_DATA_DESC[1]);
}

/** The 32-bit protocol entry state: EIP = entry, ESI = boot_params, EBX = EBP = EDI = 0,
 * IF = 0, flat __BOOT_CS / __BOOT_DS. ESP is not defined by the protocol; we give a small
 * stack below `stackTop` (the kernel's decompressor and startup_32 both set their own). */
export function protectedModeEntry(
  entry: number,
  bootParams: number,
  gdtBase: number,
  stackTop: number,
): EntryState {
  return {
    eip: entry >>> 0,
    regs: [0, 0, 0, 0, stackTop >>> 0, 0, bootParams >>> 0, 0],
    eflags: 0x2,
    cs: { selector: BOOT_CS, base: 0, limit: 0xffff_ffff, access: FLAT_CODE_ACCESS },
    data: { selector: BOOT_DS, base: 0, limit: 0xffff_ffff, access: FLAT_DATA_ACCESS },
    gdtBase,
    gdtLimit: BOOT_GDT_SIZE - 1,
  };
}

/** Puts `state` into the CPU: protected mode (CR0.PE), paging off, CPL 0, IF = 0. */
export function applyEntryState(cpu: Cpu, state: EntryState): void {
  for (let i = 0; i < 8; i++) cpu.regs[i] = state.regs[i]! | 0;
  cpu.eip = state.eip >>> 0;
  cpu.setEflags(state.eflags);
  const set = (seg: number, s: SegmentState): void => {
    cpu.segSel[seg] = s.selector;
    cpu.segBase[seg] = s.base | 0;
    cpu.segLimit[seg] = s.limit | 0;
    cpu.segAccess[seg] = s.access;
  };
  set(CS, state.cs);
  for (const seg of [DS, ES, SS, FS, GS]) set(seg, state.data);
  cpu.gdtrBase = state.gdtBase >>> 0;
  cpu.gdtrLimit = state.gdtLimit;
  cpu.cr0 = (cpu.cr0 | CR0.PE) & ~CR0.PG;
  cpu.cpl = 0;
  cpu.halted = false;
  cpu.interruptShadow = 0;
  // The translation regime changed without a MOV CR0: drop cached translations.
  cpu.tlbEpoch = (cpu.tlbEpoch + 1) | 0;
}
