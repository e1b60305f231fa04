// Interrupt latency: an IRQ raised in the middle of a slice (by a device, from an exit handler)
// must reach the guest as soon as IF allows, not at the next slice boundary. Regression test
// for the starvation of the UART's THRE interrupt (IRQ 4) under real time, where every slice
// boundary found the timer due again and IRQ 0 won the priority resolution.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WIDTH_8 } from "../src/bus/device.js";
import { CS } from "../src/cpu/cpu.js";
import { Machine } from "../src/machine/machine.js";

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/ /g, ""), "hex"));
}

test("an IRQ raised by a device mid-slice is delivered within a few instructions", async () => {
  const m = new Machine({ memoryMiB: 2, time: "real" });
  // Real time: slices are not cut at timer deadlines (100 000 instructions).
  // A test device at port 0xE0: any write raises IRQ 4.
  m.ports.register(0xe0, 1, {
    name: "irq-raiser",
    widths: WIDTH_8,
    read: () => 0xff,
    write: () => m.irqLines[4]!.set(true),
  });
  const mem = m.memory;
  // Real mode, PIC at its power-on state (vector base 0): IRQ 4 -> vector 4.
  mem.writeBytes(4 * 4, Uint8Array.of(0x00, 0x20, 0x00, 0x00)); // IVT[4] = 0000:2000
  // 1000: sti; out 0xe0, al (raises IRQ 4 from the exit handler); loop: inc cx; jmp loop
  mem.writeBytes(0x1000, hex("fb e6e0 41 ebfd"));
  // 2000: mov [0x3000], cx; hlt (IF=0 inside the handler: the machine stops)
  mem.writeBytes(0x2000, hex("890e0030 f4"));
  m.engine.reset();
  // Mask everything but IRQ 4 before the first slice, so that no timer request is pending
  // (a pending, blocked request would make the run loop ask for the window by itself).
  m.ports.write(0x21, 1, 0xef);
  const cpu = m.cpu;
  cpu.segSel[CS] = 0;
  cpu.segBase[CS] = 0;
  cpu.eip = 0x1000;
  cpu.regs[1] = 0;
  const r = await m.run({ maxInstructions: 1_000_000 });
  assert.equal(r.reason, "halted");
  const loops = mem.read16(0x3000);
  assert.ok(loops <= 4, `IRQ 4 was delivered after ${loops} loop iterations (expected at once)`);
});
