/**
 * Builds a vCPU with its paging unit and x87 unit installed: the one place that knows
 * which implementations make up a Cpu.
 */

import type { GuestMemory } from "../memory/guest-memory.js";
import { PagingUnit } from "../mmu/paging.js";
import type { ExitHandler } from "../vmm/exit.js";
import { Cpu } from "./cpu.js";
import { resetCpu } from "./system/index.js";
import { X87Fpu } from "./x87/fpu.js";

export function createCpu(memory: GuestMemory, handler: ExitHandler): Cpu {
  const cpu = new Cpu(memory, handler);
  cpu.mmu = new PagingUnit(cpu);
  cpu.fpu = new X87Fpu(cpu);
  resetCpu(cpu);
  return cpu;
}
