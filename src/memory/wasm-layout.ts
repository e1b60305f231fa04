/**
 * The layout of the one shared `WebAssembly.Memory` a machine's guest RAM lives in
 * (guest-memory.ts). WebAssembly code reaches exactly one memory (multi-memory is not
 * available in Node 20), so everything the binary translator's wasm code reads or writes
 * shares it:
 *
 *   [0, size)                        guest RAM
 *   [cpuArea, +64 KiB)               CPU state: the register file and the slots the
 *                                    translator exchanges with its wasm code (cpu/bt/wasm/)
 *   [cpuArea + TLB_READ_OFF, +4 MiB) soft TLB for reads, one int32 per linear page (cpu/interp/mem.ts)
 *   [cpuArea + TLB_WRITE_OFF, +4 MiB) soft TLB for writes
 *   [cpuArea + CODE_PAGES_OFF, +size/4096) one byte per RAM page: it holds decoded code
 *   [cpuArea + codeGenOff(size), +size/1024) one int32 per RAM page: its code generation
 *   [cpuArea + entryOff(size), +1 MiB)  the wasm dispatcher's table of translated blocks
 *
 * `cpuArea` is the RAM size rounded up to a wasm page, so guest-physical addresses (always
 * checked against the RAM size) never reach it.
 */

export const WASM_PAGE = 65536;
/** RAM sizes up to 3.75 GiB leave room for the CPU area below wasm32's 4 GiB. */
export const MAX_RAM = 0xf000_0000;

export const STATE_OFF = 0;
export const STATE_BYTES = WASM_PAGE;
/** 2^20 linear pages x 4 bytes. */
export const TLB_BYTES = 4 << 20;
export const TLB_READ_OFF = STATE_OFF + STATE_BYTES;
export const TLB_WRITE_OFF = TLB_READ_OFF + TLB_BYTES;
export const CODE_PAGES_OFF = TLB_WRITE_OFF + TLB_BYTES;

const roundUp = (n: number): number => Math.ceil(n / WASM_PAGE) * WASM_PAGE;

/** Code generations: one int32 per RAM page, after the code-page flags. */
export const codeGenOff = (ramSize: number): number => CODE_PAGES_OFF + roundUp(ramSize / 4096);
/** The translator's entry table (cpu/bt/wasm-glue.ts): ENTRY_COUNT entries of 32 bytes. */
export const entryOff = (ramSize: number): number => codeGenOff(ramSize) + roundUp(ramSize / 1024);
export const ENTRY_COUNT = 32768;
export const ENTRY_BYTES = 32;

/** Where the CPU area starts for `ramSize` bytes of RAM. */
export const cpuAreaStart = (ramSize: number): number => roundUp(ramSize);

/** The CPU area's length for `ramSize` bytes of RAM (a whole number of wasm pages). */
export const CPU_AREA_BYTES = (ramSize: number): number =>
  roundUp(entryOff(ramSize) + ENTRY_COUNT * ENTRY_BYTES);
