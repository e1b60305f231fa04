import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { InterruptLine } from "../src/bus/irq.js";
import { Pic8259 } from "../src/devices/pic8259.js";

/** The PIC on a port bus, initialized the way Linux's init_8259A does it. */
function linuxPic(): { pic: Pic8259; ports: Bus } {
  const pic = new Pic8259();
  const ports = new Bus("ports", 0x10000);
  pic.attach(ports);
  ports.write(0x21, 1, 0xff); // mask all
  ports.write(0xa1, 1, 0xff);
  ports.write(0x20, 1, 0x11); // ICW1: edge, cascade, ICW4
  ports.write(0x21, 1, 0x20); // ICW2: vectors 0x20-0x27
  ports.write(0x21, 1, 0x04); // ICW3: slave on IR2
  ports.write(0x21, 1, 0x01); // ICW4: 8086 mode, normal EOI
  ports.write(0xa0, 1, 0x11);
  ports.write(0xa1, 1, 0x28);
  ports.write(0xa1, 1, 0x02);
  ports.write(0xa1, 1, 0x01);
  ports.write(0x21, 1, 0x00); // unmask all
  ports.write(0xa1, 1, 0x00);
  return { pic, ports };
}

test("PIC: Linux init sequence, IRQ 0 delivers vector 0x20 and sets ISR until EOI", () => {
  const { pic, ports } = linuxPic();
  assert.equal(ports.read(0x21, 1), 0x00, "IMR readable");
  assert.equal(pic.hasInterrupt(), false);
  pic.setIrq(0, true);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x20);
  assert.equal(pic.hasInterrupt(), false);
  ports.write(0x20, 1, 0x0b); // OCW3: read ISR
  assert.equal(ports.read(0x20, 1), 0x01);
  pic.setIrq(0, false);
  pic.setIrq(0, true); // a new edge while in service: waits for EOI
  assert.equal(pic.hasInterrupt(), false);
  ports.write(0x20, 1, 0x20); // non-specific EOI
  assert.equal(ports.read(0x20, 1), 0x00);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x20);
  assert.equal(pic.acknowledged[0], 2);
});

test("PIC: priority (lower IRQ first), nesting, and IRR read", () => {
  const { pic, ports } = linuxPic();
  pic.setIrq(4, true);
  pic.setIrq(1, true);
  ports.write(0x20, 1, 0x0a); // OCW3: read IRR
  assert.equal(ports.read(0x20, 1), 0x12);
  assert.equal(pic.acknowledge(), 0x21);
  assert.equal(pic.hasInterrupt(), false, "IRQ 4 is lower priority than IRQ 1 in service");
  pic.setIrq(0, true);
  assert.equal(pic.hasInterrupt(), true, "IRQ 0 preempts IRQ 1");
  assert.equal(pic.acknowledge(), 0x20);
  ports.write(0x20, 1, 0x20); // EOI clears the highest in service: IRQ 0
  ports.write(0x20, 1, 0x0b);
  assert.equal(ports.read(0x20, 1), 0x02);
  ports.write(0x20, 1, 0x61); // specific EOI for IRQ 1
  assert.equal(pic.acknowledge(), 0x24);
});

test("PIC: masking holds requests in IRR; unmasking delivers", () => {
  const { pic, ports } = linuxPic();
  ports.write(0x21, 1, 0x08);
  pic.setIrq(3, true);
  assert.equal(pic.hasInterrupt(), false);
  ports.write(0x21, 1, 0x00);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x23);
});

test("PIC: cascade via IRQ 2 delivers slave vectors; both EOIs needed", () => {
  const { pic, ports } = linuxPic();
  const rtc = new InterruptLine("irq8");
  const lines: (InterruptLine | undefined)[] = [];
  lines[8] = rtc;
  pic.connect(lines);
  rtc.raise();
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x28);
  ports.write(0x20, 1, 0x0b);
  assert.equal(ports.read(0x20, 1), 0x04, "master ISR bit 2");
  ports.write(0xa0, 1, 0x0b);
  assert.equal(ports.read(0xa0, 1), 0x01, "slave ISR bit 0");
  pic.setIrq(14, true);
  assert.equal(pic.hasInterrupt(), false, "master IR2 in service blocks the slave");
  ports.write(0xa0, 1, 0x20);
  ports.write(0x20, 1, 0x20);
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x2e);
  assert.equal(pic.acknowledged[8], 1);
  assert.equal(pic.acknowledged[14], 1);
  // A masked slave line does not reach the master.
  ports.write(0xa0, 1, 0x20);
  ports.write(0x20, 1, 0x20);
  ports.write(0xa1, 1, 0x02);
  pic.setIrq(9, true);
  assert.equal(pic.hasInterrupt(), false);
});

test("PIC: ELCR level lines re-interrupt after EOI while high; IRQ 0/1/2/8/13 stay edge", () => {
  const { pic, ports } = linuxPic();
  ports.write(0x4d0, 1, 0xff);
  ports.write(0x4d1, 1, 0xff);
  assert.equal(ports.read(0x4d0, 1), 0xf8);
  assert.equal(ports.read(0x4d1, 1), 0xde);
  pic.setIrq(11, true, 1);
  assert.equal(pic.acknowledge(), 0x2b);
  ports.write(0xa0, 1, 0x20);
  ports.write(0x20, 1, 0x20);
  assert.equal(pic.hasInterrupt(), true, "still high: requests again");
  assert.equal(pic.acknowledge(), 0x2b);
  ports.write(0xa0, 1, 0x20);
  ports.write(0x20, 1, 0x20);
  pic.setIrq(11, false, 1);
  assert.equal(pic.hasInterrupt(), false, "level dropped: IRR cleared");
  // Edge line: one edge, one interrupt, even if the line stays high.
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x21);
  ports.write(0x20, 1, 0x20);
  assert.equal(pic.hasInterrupt(), false);
});

test("PIC: shared level line is the OR of its sources", () => {
  const { pic, ports } = linuxPic();
  pic.setTrigger(10, true);
  pic.setIrq(10, true, 0);
  pic.setIrq(10, true, 1);
  pic.setIrq(10, false, 0);
  assert.equal(pic.hasInterrupt(), true, "the PCI source still holds it");
  pic.setIrq(10, false, 1);
  assert.equal(pic.hasInterrupt(), false);
  assert.equal(ports.read(0x4d1, 1), 0x04);
});

test("PIC: spurious IRQ 7 when the request vanishes before INTA; IRQ 15 on the slave", () => {
  const { pic, ports } = linuxPic();
  pic.setTrigger(5, true);
  pic.setIrq(5, true);
  assert.equal(pic.hasInterrupt(), true);
  pic.setIrq(5, false);
  assert.equal(pic.acknowledge(), 0x27);
  assert.equal(pic.spuriousMaster, 1);
  ports.write(0x20, 1, 0x0b);
  assert.equal(ports.read(0x20, 1), 0x00, "no ISR bit for a spurious IRQ 7");
  // Slave: the master sees IR2 but the slave's request is masked by the time of INTA.
  pic.setIrq(12, true);
  ports.write(0xa1, 1, 0x10); // the handler of another CPU masks it... the request is gone
  assert.equal(pic.acknowledge(), 0x27, "nothing pending on the master either");
});

test("PIC: auto-EOI, poll command, special mask mode, rotation", () => {
  const { pic, ports } = linuxPic();
  ports.write(0x20, 1, 0x11);
  ports.write(0x21, 1, 0x20);
  ports.write(0x21, 1, 0x04);
  ports.write(0x21, 1, 0x03); // ICW4: AEOI
  pic.setIrq(3, true);
  assert.equal(pic.acknowledge(), 0x23);
  ports.write(0x20, 1, 0x0b);
  assert.equal(ports.read(0x20, 1), 0x00, "auto-EOI leaves ISR clear");
  // Poll: OCW3 P=1, the next read returns 0x80 | level and acknowledges.
  pic.setIrq(6, true);
  ports.write(0x20, 1, 0x0c);
  assert.equal(ports.read(0x20, 1), 0x86);
  assert.equal(pic.hasInterrupt(), false);
  ports.write(0x20, 1, 0x0c);
  assert.equal(ports.read(0x20, 1), 0x00, "poll with nothing pending");
  // Rotation: set priority so that IRQ 4 is lowest (IRQ 5 highest).
  ports.write(0x20, 1, 0x11);
  ports.write(0x21, 1, 0x20);
  ports.write(0x21, 1, 0x04);
  ports.write(0x21, 1, 0x01);
  ports.write(0x20, 1, 0xc4);
  pic.setIrq(3, false);
  pic.setIrq(3, true);
  pic.setIrq(5, true);
  assert.equal(pic.acknowledge(), 0x25, "IRQ 5 now outranks IRQ 3");
  // Special mask mode: masking the in-service IRQ 5 lets lower IRQ 3 through.
  assert.equal(pic.hasInterrupt(), false);
  ports.write(0x21, 1, 0x20);
  ports.write(0x20, 1, 0x68); // OCW3: set special mask
  assert.equal(pic.hasInterrupt(), true);
  assert.equal(pic.acknowledge(), 0x23);
});

test("PIC: hostile writes do not throw; out-of-range IRQ numbers are ignored", () => {
  const { pic, ports } = linuxPic();
  for (let v = 0; v < 256; v++) {
    ports.write(0x20, 1, v);
    ports.write(0x21, 1, v);
    ports.write(0xa0, 1, v);
    ports.write(0xa1, 1, v);
    ports.read(0x20, 1);
    ports.read(0xa0, 1);
    if (pic.hasInterrupt()) pic.acknowledge();
  }
  pic.setIrq(16, true);
  pic.setIrq(-1, true);
  pic.setIrq(2.5, true);
  assert.ok(true);
});
