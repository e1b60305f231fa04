import { buildProgram } from "./qemu/build.ts";
import { Machine } from "../machine/machine.ts";
const img = buildProgram(process.argv[2]!);
const m = new Machine({ memoryMiB: 16, firmware: img, debugExitPort: 0xf4 });
let out = "";
m.onSerial((b) => { out += String.fromCharCode(b); });
const trace: string[] = [];
const cpu = m.cpu;
for (let i = 0; i < Number(process.argv[3] ?? 1e6); i++) {
  trace.push(`${cpu.segSel[1]!.toString(16)}:${cpu.eip.toString(16)} eax=${(cpu.regs[0]!>>>0).toString(16)} esp=${(cpu.regs[4]!>>>0).toString(16)} fl=${cpu.getEflags().toString(16)}`);
  if (trace.length > 40) trace.shift();
  try { m.engine.run(1); } catch (e) { console.log("threw", e); break; }
  if (cpu.halted || cpu.shutdown || m.monitor.stop !== "none") { console.log("stop", m.monitor.stop, cpu.halted, cpu.shutdown); break; }
}
console.log(out);
console.log(trace.join("\n"));
