import { buildProgram } from "./qemu/build.ts";
import { writeFileSync } from "node:fs";
const img = buildProgram(process.argv[2]!);
writeFileSync(`/tmp/${process.argv[2]}.bin`, img);
console.log("built", img.length);
