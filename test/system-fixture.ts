/**
 * Shared fixture for the system-layer and MMU tests: a Cpu on 16 MiB of RAM with a
 * recording exit handler, and helpers that write descriptors, gates and page tables.
 */
import { Cpu, CR0 } from "../src/cpu/cpu.js";
import { CPU_FAULT } from "../src/cpu/fault.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import { PagingUnit } from "../src/mmu/paging.js";
import type { ExitHandler, VmExit } from "../src/vmm/exit.js";

export interface RecordedExit {
  reason: number;
  address: number;
  value: number;
  valueHigh: number;
  write: boolean;
}

export class RecordingHandler implements ExitHandler {
  readonly exits: RecordedExit[] = [];
  /** Called for each exit after recording it (tests use it to answer RDMSR etc.). */
  onExit: (exit: VmExit) => void = () => {};
  handleExit(exit: VmExit): void {
    this.exits.push({
      reason: exit.reason,
      address: exit.address,
      value: exit.value,
      valueHigh: exit.valueHigh,
      write: exit.write,
    });
    this.onExit(exit);
  }
  reasons(): number[] {
    return this.exits.map((e) => e.reason);
  }
}

export function makeCpu(): { cpu: Cpu; handler: RecordingHandler; mmu: PagingUnit } {
  const handler = new RecordingHandler();
  const cpu = new Cpu(new GuestMemory(16 << 20), handler);
  const mmu = new PagingUnit(cpu);
  cpu.mmu = mmu;
  return { cpu, handler, mmu };
}

/** Run `fn` and return the fault it raised as [vector, errorCode], or null if none. */
export function fault(cpu: Cpu, fn: () => unknown): [number, number] | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return [cpu.faultVector, cpu.faultHasErrorCode ? cpu.faultErrorCode : -1];
  }
}

/** A code/data segment descriptor (SDM Vol. 3A Figure 3-8). `access` is byte 5 (P DPL S type). */
export function segDesc(base: number, limit: number, access: number, flags = 0xc): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi =
    (base & 0xff00_0000) |
    ((flags & 0xf) << 20) |
    (limit & 0xf_0000) |
    ((access & 0xff) << 8) |
    ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

/** A gate descriptor (interrupt/trap/call gate, SDM Vol. 3A Figures 5-8, 6-2). */
export function gateDesc(
  selector: number,
  offset: number,
  type: number,
  dpl: number,
  params = 0,
): [number, number] {
  const lo = ((selector & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff_0000) | 0x8000 | (dpl << 13) | (type << 8) | (params & 0x1f);
  return [lo | 0, hi | 0];
}

export function writeDesc(cpu: Cpu, addr: number, d: [number, number]): void {
  cpu.memory.write32(addr, d[0]);
  cpu.memory.write32(addr + 4, d[1]);
}

export const GDT = 0x1000;
export const IDT = 0x2000;
export const TSS = 0x3000;
export const LDT = 0x6000;

/**
 * A flat protected-mode setup: GDT at 0x1000 with
 *   0x08 ring-0 code, 0x10 ring-0 data, 0x18 ring-3 code, 0x20 ring-3 data,
 *   0x28 32-bit TSS at 0x3000 (limit 0x67 + I/O bitmap room), 0x30 ring-1 code, 0x38 ring-1 data,
 *   0x40 not-present data, 0x48 ring-0 16-bit data (limit 0xFFFF), 0x50 LDT at 0x6000
 * IDT at 0x2000 (256 entries), TR loaded, CPL 0.
 */
export function setupProtected(cpu: Cpu): void {
  const gdt: [number, number][] = [
    [0, 0],
    segDesc(0, 0xfffff, 0x9a),
    segDesc(0, 0xfffff, 0x92),
    segDesc(0, 0xfffff, 0xfa),
    segDesc(0, 0xfffff, 0xf2),
    segDesc(TSS, 0x67 + 0x2000, 0x89, 0),
    segDesc(0, 0xfffff, 0xba),
    segDesc(0, 0xfffff, 0xb2),
    segDesc(0, 0xfffff, 0x12),
    segDesc(0, 0xffff, 0x92, 0),
    segDesc(LDT, 0x7f, 0x82, 0),
  ];
  for (const [i, d] of gdt.entries()) writeDesc(cpu, GDT + i * 8, d);
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = gdt.length * 8 - 1;
  cpu.idtrBase = IDT;
  cpu.idtrLimit = 256 * 8 - 1;
  cpu.cr0 = CR0.PE | CR0.ET;
  const flatCode = 0xc09b;
  const flatData = 0xc093;
  for (let s = 0; s < 6; s++) {
    cpu.segSel[s] = s === 1 ? 0x08 : 0x10;
    cpu.segBase[s] = 0;
    cpu.segLimit[s] = -1;
    cpu.segAccess[s] = s === 1 ? flatCode : flatData;
  }
  cpu.cpl = 0;
  cpu.trSel = 0x28;
  cpu.trBase = TSS;
  cpu.trLimit = 0x67 + 0x2000;
  cpu.trAccess = 0x8b;
  cpu.memory.write16(TSS + 0x66, 0x68);
}
