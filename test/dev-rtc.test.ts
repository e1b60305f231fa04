import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { InterruptLine } from "../src/bus/irq.js";
import { RtcCmos } from "../src/devices/rtc-cmos.js";
import { FakeClock } from "../src/time/clock.js";
import { Scheduler } from "../src/time/scheduler.js";

/** 2024-02-29 23:59:58.000 UTC, a Thursday (day of week 5), at virtual time 0. */
const BASE = Date.UTC(2024, 1, 29, 23, 59, 58, 0);

function setup(startTimeMs = BASE, memoryBytes = 64 * 1024 * 1024) {
  const clock = new FakeClock();
  const scheduler = new Scheduler();
  const irq = new InterruptLine("irq8");
  const rtc = new RtcCmos({ clock, scheduler, irq, memoryBytes, startTimeMs });
  const ports = new Bus("ports", 0x10000);
  rtc.attach(ports);
  const reg = (i: number) => {
    ports.write(0x70, 1, i);
    return ports.read(0x71, 1);
  };
  const setReg = (i: number, v: number) => {
    ports.write(0x70, 1, i);
    ports.write(0x71, 1, v);
  };
  return { clock, scheduler, irq, rtc, ports, reg, setReg };
}

test("RTC: BCD 24-hour time matches the base date and rolls over a leap day", () => {
  const { clock, reg } = setup();
  assert.deepEqual(
    [reg(0), reg(2), reg(4), reg(6), reg(7), reg(8), reg(9), reg(0x32)],
    [0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20],
  );
  assert.equal(reg(0x0b) & 0x06, 0x02, "BCD, 24-hour");
  assert.equal(reg(0x0d), 0x80, "VRT");
  clock.advance(2e9);
  assert.deepEqual([reg(0), reg(2), reg(4), reg(6), reg(7), reg(8)], [0x00, 0x00, 0x00, 0x06, 0x01, 0x03]);
});

test("RTC: UIP is set for the 244 us before each update, and only then", () => {
  const { clock, reg } = setup();
  clock.set(1e9 - 244_001);
  assert.equal(reg(0x0a) & 0x80, 0);
  assert.equal(reg(0), 0x58);
  clock.set(1e9 - 244_000);
  assert.equal(reg(0x0a) & 0x80, 0x80);
  clock.set(1e9 - 1);
  assert.equal(reg(0x0a) & 0x80, 0x80);
  assert.equal(reg(0), 0x58, "not updated yet");
  clock.set(1e9);
  assert.equal(reg(0x0a) & 0x80, 0);
  assert.equal(reg(0), 0x59);
});

test("RTC: binary and 12-hour formats", () => {
  const { reg, setReg } = setup();
  setReg(0x0b, 0x04); // binary, 12-hour
  assert.equal(reg(4), 0x80 | 11, "11 PM");
  assert.equal(reg(0), 58);
  assert.equal(reg(9), 24);
  setReg(0x0b, 0x00); // BCD, 12-hour
  assert.equal(reg(4), 0x91);
});

test("RTC: periodic interrupt at the register A rate, register C cleared on read", () => {
  const { clock, scheduler, irq, reg, setReg } = setup();
  let interrupts = 0;
  irq.connect((level) => {
    if (level) interrupts++;
  });
  setReg(0x0b, 0x42); // PIE, 24-hour
  const run = (ns: number) => {
    const end = clock.nowNs() + ns;
    while (clock.nowNs() < end) {
      clock.set(Math.min(end, Math.max(clock.nowNs() + 1, scheduler.nextDeadlineNs())));
      scheduler.runDue(clock.nowNs());
      if (irq.asserted) {
        const c = reg(0x0c);
        assert.equal(c & 0xc0, 0xc0, "IRQF and PF");
        assert.equal(irq.asserted, false, "reading C lowers IRQ 8");
        assert.equal(reg(0x0c), 0, "C is clear after a read");
      }
    }
  };
  run(1e9);
  assert.equal(interrupts, 1024, "RS = 6: 1024 Hz");
  interrupts = 0;
  setReg(0x0a, 0x2f); // RS = 15: 2 Hz
  run(1e9);
  assert.equal(interrupts, 2);
  interrupts = 0;
  setReg(0x0a, 0x20); // RS = 0: none
  run(1e9);
  assert.equal(interrupts, 0);
});

test("RTC: update-ended flag and interrupt once per second; polling sees UF without IRQ", () => {
  const { clock, scheduler, irq, reg, setReg } = setup();
  clock.advance(1.5e9);
  assert.equal(reg(0x0c) & 0xb0, 0x10, "UF without UIE: no IRQF (PF also runs at the default 1024 Hz)");
  assert.equal(reg(0x0c) & 0xb0, 0x00);
  setReg(0x0b, 0x12); // UIE
  clock.set(scheduler.nextDeadlineNs());
  assert.equal(clock.nowNs(), 2e9, "scheduled at the next update");
  scheduler.runDue(clock.nowNs());
  assert.equal(irq.asserted, true);
  assert.equal(reg(0x0c) & 0x90, 0x90);
  assert.equal(irq.asserted, false);
});

test("RTC: alarm interrupt when seconds/minutes/hours match (0xC0 = don't care)", () => {
  const { clock, scheduler, irq, reg, setReg } = setup();
  setReg(0x01, 0x05); // alarm at xx:xx:05
  setReg(0x03, 0xc0);
  setReg(0x05, 0xc0);
  setReg(0x0b, 0x22); // AIE
  for (let s = 1; s <= 6; s++) {
    clock.set(s * 1e9);
    scheduler.runDue(clock.nowNs());
    assert.equal(irq.asserted, false, `no alarm at second ${s}`);
  }
  clock.set(7e9); // 00:00:05
  scheduler.runDue(clock.nowNs());
  assert.equal(irq.asserted, true);
  assert.equal(reg(0x0c) & 0xa0, 0xa0);
});

test("RTC: setting the time with SET, then running from it", () => {
  const { clock, reg, setReg } = setup();
  setReg(0x0b, 0x82); // SET
  clock.advance(5e9);
  assert.equal(reg(0), 0x58, "frozen while SET");
  assert.equal(reg(0x0a) & 0x80, 0, "no UIP while SET");
  setReg(0, 0x30);
  setReg(2, 0x15);
  setReg(4, 0x10);
  setReg(7, 0x04);
  setReg(8, 0x07);
  setReg(9, 0x99);
  setReg(0x32, 0x19);
  setReg(0x0b, 0x02);
  clock.advance(61e9);
  assert.deepEqual(
    [reg(0), reg(2), reg(4), reg(7), reg(8), reg(9), reg(0x32)],
    [0x31, 0x16, 0x10, 0x04, 0x07, 0x99, 0x19],
  );
});

test("RTC: CMOS memory-size bytes, NMI mask, RAM", () => {
  const { rtc, reg, setReg, ports } = setup(BASE, 64 * 1024 * 1024);
  assert.equal(reg(0x15) | (reg(0x16) << 8), 640);
  assert.equal(reg(0x17) | (reg(0x18) << 8), 63 * 1024);
  assert.equal(reg(0x30) | (reg(0x31) << 8), 63 * 1024);
  assert.equal(reg(0x34) | (reg(0x35) << 8), (48 * 1024) / 64);
  const big = setup(BASE, 3 * 1024 * 1024 * 1024);
  assert.equal(big.reg(0x17) | (big.reg(0x18) << 8), 0xffff, "capped");
  ports.write(0x70, 1, 0x80 | 0x40);
  assert.equal(rtc.nmiMasked, true);
  ports.write(0x71, 1, 0xa5);
  assert.equal(reg(0x40), 0xa5);
  assert.equal(rtc.nmiMasked, false);
  setReg(0x0d, 0);
  assert.equal(reg(0x0d), 0x80, "D is read-only");
});

test("RTC: hostile register values neither throw nor produce NaN", () => {
  const { clock, scheduler, reg, setReg, rtc } = setup();
  for (let v = 0; v < 256; v += 7) {
    for (let r = 0; r < 0x0e; r++) setReg(r, v);
    setReg(0x32, v);
    clock.advance(3.3e8);
    scheduler.runDue(clock.nowNs());
    for (let r = 0; r < 0x0e; r++) reg(r);
    assert.ok(Number.isFinite(rtc.epochSeconds()));
  }
});

test("RTC: 8192 Hz periodic interrupts from a fractional start time stay exact and never spin the scheduler", () => {
  const { clock, scheduler, irq, reg, setReg } = setup(BASE + 0.123456);
  let interrupts = 0;
  irq.connect((level) => {
    if (level) interrupts++;
  });
  setReg(0x0a, 0x23); // RS = 3: 122.07 us
  setReg(0x0b, 0x42);
  while (clock.nowNs() < 1e9) {
    clock.set(Math.min(1e9, Math.max(clock.nowNs() + 1, scheduler.nextDeadlineNs())));
    scheduler.runDue(clock.nowNs());
    if (irq.asserted) reg(0x0c);
  }
  assert.ok(Math.abs(interrupts - 8192) <= 1, `${interrupts} interrupts`);
  assert.equal(scheduler.truncatedRuns, 0);
});
