// Regression test for the NE2000 ping failure ("3 packets transmitted, 0 packets received"):
// not a device bug but the run loop's idle path. After the slow boot, real ("paced") virtual
// time lags host time; a halted guest then skipped from timer deadline to timer deadline
// without ever yielding to the event loop (and reset its yield timer anyway), so the
// PingResponder's replies, queued with queueMicrotask right after each transmit, were stored
// in the ring only once virtual time had caught up: seconds of guest time later, after ping
// had given up. A host event queued while the guest idles must wake it before time is skipped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WIDTH_8 } from "../src/bus/device.js";
import { CS } from "../src/cpu/cpu.js";
import { Machine } from "../src/machine/machine.js";

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/ /g, ""), "hex"));
}

test("ne2k: a backend reply queued as a microtask wakes an idle guest before virtual time skips ahead", async () => {
  const m = new Machine({ memoryMiB: 2, time: "real" });
  // A stand-in for a NIC whose backend answers a transmit asynchronously (as PingResponder
  // does): a write to port 0xE0 "transmits", and the "reply" raises IRQ 4 from a microtask.
  m.ports.register(0xe0, 1, {
    name: "tx-then-reply",
    widths: WIDTH_8,
    read: () => 0xff,
    write: () => queueMicrotask(() => m.irqLines[4]!.set(true)),
  });
  const mem = m.memory;
  // Real mode, PIC at its power-on state (vector base 0): IRQ 0 -> vector 0, IRQ 4 -> 4.
  mem.writeBytes(0 * 4, Uint8Array.of(0x00, 0x21, 0x00, 0x00)); // IVT[0] = 0000:2100
  mem.writeBytes(4 * 4, Uint8Array.of(0x00, 0x20, 0x00, 0x00)); // IVT[4] = 0000:2000
  // 1000: sti; out 0xe0, al; idle: hlt; jmp idle
  mem.writeBytes(0x1000, hex("fb e6e0 f4 ebfd"));
  // 2000 (IRQ 4, the reply): cli; hlt (IF=0: the machine stops, ticks so far in [0x3000])
  mem.writeBytes(0x2000, hex("fa f4"));
  // 2100 (IRQ 0, timer tick): inc word [0x3000]; mov al, 0x20; out 0x20, al (EOI); iret
  mem.writeBytes(0x2100, hex("ff060030 b020 e620 cf"));
  m.engine.reset();
  m.ports.write(0x21, 1, 0xee); // unmask IRQ 0 and IRQ 4 only
  // PIT channel 0, mode 2, 1 kHz (divisor 1193).
  m.ports.write(0x43, 1, 0x34);
  m.ports.write(0x40, 1, 1193 & 0xff);
  m.ports.write(0x40, 1, 1193 >> 8);
  const cpu = m.cpu;
  cpu.segSel[CS] = 0;
  cpu.segBase[CS] = 0;
  cpu.eip = 0x1000;
  // Let host time run ahead of virtual time, as after a guest boot in the interpreter.
  await sleep(300);
  const r = await m.run({ timeoutMs: 10_000 });
  assert.equal(r.reason, "halted");
  const ticks = mem.read16(0x3000);
  // Before the fix the reply waited for virtual time to catch up: ~300 ticks of 1 ms.
  assert.ok(ticks <= 2, `the reply reached the idle guest only after ${ticks} timer ticks`);
});
