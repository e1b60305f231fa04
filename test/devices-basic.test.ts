import assert from "node:assert/strict";
import { test } from "node:test";
import { InterruptLine } from "../src/bus/irq.js";
import { DebugExit } from "../src/devices/debug-exit.js";
import { Uart16550 } from "../src/devices/uart16550.js";

test("16550: THR writes reach the sink; LSR reports THRE|TEMT", () => {
  const out: number[] = [];
  const u = new Uart16550("com1", undefined, (b) => out.push(b));
  u.write(0, 1, 0x41);
  u.write(0, 1, 0x42);
  assert.deepEqual(out, [0x41, 0x42]);
  assert.equal(u.read(5, 1) & 0x60, 0x60);
});

test("16550: divisor latch is reached through LCR.DLAB", () => {
  const out: number[] = [];
  const u = new Uart16550("com1", undefined, (b) => out.push(b));
  u.write(3, 1, 0x80);
  u.write(0, 1, 0x01);
  u.write(1, 1, 0x00);
  assert.equal(u.read(0, 1), 1);
  u.write(3, 1, 0x03);
  u.write(0, 1, 0x5a);
  assert.deepEqual(out, [0x5a], "divisor writes are not transmitted");
});

test("16550: received bytes raise IRQ (with OUT2) and are read in order; overrun sets OE", () => {
  const irq = new InterruptLine("irq4");
  const u = new Uart16550("com1", irq, () => {});
  u.write(2, 1, 0x07); // FIFO on
  u.write(1, 1, 0x01); // RDA interrupt
  u.write(4, 1, 0x08); // OUT2
  assert.equal(u.receive(new TextEncoder().encode("hi")), 2);
  assert.equal(irq.asserted, true);
  assert.equal(u.read(2, 1) & 0x0f, 0x04, "IIR: received data available");
  assert.equal(u.read(0, 1), 0x68);
  assert.equal(u.read(0, 1), 0x69);
  assert.equal(irq.asserted, false);
  assert.equal(u.receive(new Uint8Array(20)), 16);
  assert.equal(u.read(5, 1) & 0x02, 0x02, "overrun");
});

test("16550: THRE interrupt is raised on enable and cleared by reading IIR", () => {
  const irq = new InterruptLine("irq4");
  const u = new Uart16550("com1", irq, () => {});
  u.write(4, 1, 0x08);
  u.write(1, 1, 0x02);
  assert.equal(irq.asserted, true);
  assert.equal(u.read(2, 1) & 0x0f, 0x02);
  assert.equal(irq.asserted, false);
});

test("isa-debug-exit reports (v << 1) | 1 like QEMU's", () => {
  const statuses: number[] = [];
  const d = new DebugExit(0xf4, (s) => statuses.push(s));
  d.write(0, 1, 0);
  d.write(0, 1, 3);
  assert.deepEqual(statuses, [1, 7]);
});

test("16550: each THR write with THRE interrupts enabled gives the 8259 a fresh edge", () => {
  const irq = new InterruptLine("irq4");
  const u = new Uart16550("com1", irq, () => {});
  u.write(4, 1, 0x08); // OUT2
  u.write(1, 1, 0x02); // THRE interrupt: pending at once
  const before = irq.raisedCount;
  u.write(0, 1, 0x41); // without reading IIR first: the line must still drop and rise
  u.write(0, 1, 0x42);
  assert.equal(irq.raisedCount - before, 2);
  assert.equal(irq.asserted, true);
});
