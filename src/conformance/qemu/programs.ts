/** The QEMU-oracle programs: hand-written ones and generated ones. */

import { buildImage, buildProgram } from "./build.js";
import { generateArithProgram } from "./gen-arith.js";

export interface QemuProgram {
  readonly name: string;
  readonly description: string;
  build(): Uint8Array;
}

export function qemuPrograms(seed: number, arithCases = 300): QemuProgram[] {
  return [
    {
      name: "real",
      description: "real mode: segments, IVT interrupts, exceptions, REP strings",
      build: () => buildProgram("real"),
    },
    {
      name: "pmode",
      description:
        "16/32-bit protected mode, descriptors, exceptions and error codes, ring 3, TSS stack switch",
      build: () => buildProgram("pmode"),
    },
    {
      name: "paging",
      description: "page faults (error codes, CR2), A/D bits, INVLPG, CR3, PSE, PGE, user/supervisor",
      build: () => buildProgram("paging"),
    },
    {
      name: `arith-${seed}`,
      description: `${arithCases} generated real-mode arithmetic cases (seed ${seed})`,
      build: () => buildImage(`arith-${seed}`, generateArithProgram(seed, arithCases)),
    },
  ];
}
