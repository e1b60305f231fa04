/**
 * Interpreter micro benchmark (not a test): a loop of ALU, load/store and branch
 * instructions in flat 32-bit mode. Build with tsc and run the emitted JS for real
 * numbers (tsx adds getter indirection to every import):
 *   npx tsc -p . --outDir /tmp/build && node /tmp/build/test/interp-bench.js 100000000 [--tune]
 */
import { tuneV8ForInterpreter } from "../src/cpu/interp/interpreter.js";
import { flatMachine } from "./interp-helpers.js";

if (process.argv.includes("--tune")) await tuneV8ForInterpreter();

function le32(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
}

const N = Number(process.argv[2] ?? 100_000_000);
const iters = Math.floor(N / 7);
// mov ecx, iters; mov esi, 0x10000
// loop: add eax,ebx; xor edx,eax; mov [esi+4],eax; mov ebx,[esi+4]; inc edi; dec ecx; jnz loop
// hlt
const code = [
  0xb9,
  ...le32(iters),
  0xbe,
  ...le32(0x10000),
  0x01,
  0xd8,
  0x31,
  0xc2,
  0x89,
  0x46,
  0x04,
  0x8b,
  0x5e,
  0x04,
  0x47,
  0x49,
  0x75,
  0x100 - 14,
  0xf4,
];
const m = flatMachine(code);
m.cpu.regs[3] = 1;
const t0 = performance.now();
const c0 = process.cpuUsage();
const start = m.cpu.instructionsRetired;
while (!m.cpu.halted) m.interp.run(1_000_000);
const total = m.cpu.instructionsRetired - start;
const dt = (performance.now() - t0) / 1000;
const cpuS = process.cpuUsage(c0).user / 1e6;
console.log(
  `${total} instructions in ${dt.toFixed(2)} s wall = ${(total / dt / 1e6).toFixed(1)} MIPS ` +
    `(${(total / cpuS / 1e6).toFixed(1)} MIPS per CPU-second)`,
);
