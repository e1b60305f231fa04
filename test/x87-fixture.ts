/**
 * A flat protected-mode CPU with an x87 unit for the x87 tests: paging off, all six
 * segments base 0, limit 4 GiB, present read/write data (32-bit). Instructions are run by
 * calling `fpu.execute` with the escape opcode and ModRM byte, as the interpreter does.
 */

import { Cpu, CR0, DS } from "../src/cpu/cpu.js";
import { CPU_FAULT } from "../src/cpu/fault.js";
import { X87Fpu } from "../src/cpu/x87/fpu.js";
import { GuestMemory } from "../src/memory/guest-memory.js";

export interface X87Fixture {
  cpu: Cpu;
  mem: GuestMemory;
  fpu: X87Fpu;
  /** Run a register form or a fixed form: `op` D8..DF, `modrm` >= 0xC0. */
  reg(op: number, modrm: number): void;
  /** Run a memory form with operand DS:`offset` (ModRM mod=00, reg=/digit). */
  mem_(op: number, digit: number, offset: number, opSize32?: boolean): void;
  putF64(addr: number, v: number): void;
  getF64(addr: number): number;
  putF32(addr: number, v: number): void;
  getF32(addr: number): number;
  /** Bytes as a lower-case hex string, most significant byte first (for m80 values). */
  hexBE(addr: number, len: number): string;
  putHexBE(addr: number, hex: string): void;
  /** FLD m64fp of a value (via scratch memory at 0xF000). */
  ld(v: number): void;
  /** FSTP m64fp (via scratch memory at 0xF008). */
  stp(): number;
  sw(): number;
  /** Run `fn` and return the vector it raised, or -1. */
  faultOf(fn: () => void): number;
}

export function makeX87(): X87Fixture {
  const mem = new GuestMemory(1 << 20);
  const cpu = new Cpu(mem, {
    handleExit() {
      throw new Error("unexpected VM exit in an x87 test");
    },
  });
  for (let i = 0; i < 6; i++) {
    cpu.segAccess[i] = 0x93 | (1 << 14) | (1 << 15); // present RW data, B=1, G=1
    cpu.segLimit[i] = -1;
    cpu.segBase[i] = 0;
    cpu.segSel[i] = 0x10 + 8 * i;
  }
  cpu.cr0 = (cpu.cr0 | CR0.PE | CR0.NE | CR0.MP) & ~(CR0.CD | CR0.NW);
  const fpu = new X87Fpu(cpu);
  cpu.fpu = fpu;
  const dv = new DataView(new ArrayBuffer(8));
  const f: X87Fixture = {
    cpu,
    mem,
    fpu,
    reg(op, modrm) {
      fpu.execute(op, modrm, DS, 0, true);
    },
    mem_(op, digit, offset, opSize32 = true) {
      fpu.execute(op, digit << 3, DS, offset, opSize32);
    },
    putF64(addr, v) {
      dv.setFloat64(0, v, true);
      mem.write32(addr, dv.getUint32(0, true));
      mem.write32(addr + 4, dv.getUint32(4, true));
    },
    getF64(addr) {
      dv.setUint32(0, mem.read32(addr), true);
      dv.setUint32(4, mem.read32(addr + 4), true);
      return dv.getFloat64(0, true);
    },
    putF32(addr, v) {
      dv.setFloat32(0, v, true);
      mem.write32(addr, dv.getUint32(0, true));
    },
    getF32(addr) {
      dv.setUint32(0, mem.read32(addr), true);
      return dv.getFloat32(0, true);
    },
    hexBE(addr, len) {
      let s = "";
      for (let i = len - 1; i >= 0; i--)
        s += mem
          .read8(addr + i)
          .toString(16)
          .padStart(2, "0");
      return s;
    },
    putHexBE(addr, hex) {
      const len = hex.length / 2;
      for (let i = 0; i < len; i++)
        mem.write8(addr + len - 1 - i, Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16));
    },
    ld(v) {
      f.putF64(0xf000, v);
      f.mem_(0xdd, 0, 0xf000);
    },
    stp() {
      f.mem_(0xdd, 3, 0xf008);
      return f.getF64(0xf008);
    },
    sw() {
      return fpu.statusWord;
    },
    faultOf(fn) {
      try {
        fn();
      } catch (e) {
        if (e === CPU_FAULT) return cpu.faultVector;
        throw e;
      }
      return -1;
    },
  };
  return f;
}
