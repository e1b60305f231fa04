import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { InterruptLine } from "../src/bus/irq.js";
import { Pic8259 } from "../src/devices/pic8259.js";
import { PIT_HZ, Pit8254 } from "../src/devices/pit8254.js";
import { FakeClock } from "../src/time/clock.js";
import { Scheduler } from "../src/time/scheduler.js";
import { nsAtTick, ticksAt } from "../src/time/ticks.js";

function setup(startNs = 0) {
  const clock = new FakeClock(startNs);
  const scheduler = new Scheduler();
  const irq0 = new InterruptLine("irq0");
  const pit = new Pit8254(clock, scheduler, irq0);
  const ports = new Bus("ports", 0x10000);
  pit.attach(ports);
  return { clock, scheduler, irq0, pit, ports };
}

/** Advance the fake clock to `untilNs` in steps, running due timers like the machine's loop. */
function runFor(
  clock: FakeClock,
  scheduler: Scheduler,
  untilNs: number,
  stepNs: number,
  each?: () => void,
): void {
  while (clock.nowNs() < untilNs) {
    clock.advance(Math.min(stepNs, untilNs - clock.nowNs()));
    scheduler.runDue(clock.nowNs());
    each?.();
  }
}

test("PIT mode 2 on channel 0: IRQ 0 at 1193182/reload per second through the PIC", () => {
  const { clock, scheduler, irq0, ports } = setup();
  const pic = new Pic8259();
  pic.attach(ports);
  const lines: InterruptLine[] = [irq0];
  pic.connect(lines);
  for (const [p, v] of [
    [0x20, 0x11],
    [0x21, 0x20],
    [0x21, 4],
    [0x21, 1],
    [0x21, 0],
  ] as const)
    ports.write(p, 1, v);
  const reload = 11932; // LATCH for HZ = 100
  ports.write(0x43, 1, 0x34); // channel 0, LSB then MSB, mode 2, binary
  ports.write(0x40, 1, reload & 0xff);
  ports.write(0x40, 1, reload >> 8);
  runFor(clock, scheduler, 1e9, 50_000, () => {
    while (pic.hasInterrupt()) {
      assert.equal(pic.acknowledge(), 0x20);
      ports.write(0x20, 1, 0x20);
    }
  });
  // Count loaded at tick 1; rising edges at 1 + k * reload <= 1193182.
  const expected = Math.floor((PIT_HZ - 1) / reload);
  assert.equal(expected, 99);
  assert.equal(pic.acknowledged[0], expected);
  assert.ok(Math.abs(pic.acknowledged[0]! - PIT_HZ / reload) < 1.01);
});

test("PIT mode 3: square wave period and duty cycle; edges per second", () => {
  const { clock, scheduler, pit, ports } = setup();
  const n = 1000;
  ports.write(0x43, 1, 0x36); // channel 0, mode 3
  ports.write(0x40, 1, n & 0xff);
  ports.write(0x40, 1, n >> 8);
  const outAt = (tick: number) => {
    clock.set(Math.max(clock.nowNs(), nsAtTick(tick, PIT_HZ)));
    ports.write(0x43, 1, 0xe2); // read-back: status only, channel 0
    return (ports.read(0x40, 1) & 0x80) !== 0;
  };
  assert.equal(outAt(1), true);
  assert.equal(outAt(1 + 499), true);
  assert.equal(outAt(1 + 500), false, "low for the second half");
  assert.equal(outAt(1 + 999), false);
  assert.equal(outAt(1 + 1000), true);
  runFor(clock, scheduler, 1e9, 100_000);
  assert.equal(pit.irq0Edges, Math.floor((PIT_HZ - 1) / n));
});

test("PIT channel 2 one-shot (mode 0) through port 0x61: OUT2 rises exactly N+1 ticks after the write", () => {
  const start = 12_345_678; // a write in the middle of a tick
  const { clock, ports, pit } = setup(start);
  const latch = 59659; // Linux pit_calibrate_tsc: 50 ms
  ports.write(0x61, 1, (ports.read(0x61, 1) & ~0x02) | 0x01); // gate high, speaker off
  ports.write(0x43, 1, 0xb0); // channel 2, LSB then MSB, mode 0
  ports.write(0x42, 1, latch & 0xff);
  ports.write(0x42, 1, latch >> 8);
  assert.equal(ports.read(0x61, 1) & 0x20, 0, "OUT2 low after programming");
  const writeTick = ticksAt(start, PIT_HZ);
  const rise = nsAtTick(writeTick + 1 + latch, PIT_HZ);
  clock.set(rise - 1);
  assert.equal(ports.read(0x61, 1) & 0x20, 0, "still counting 1 ns before");
  assert.equal(pit.out2(), false);
  clock.set(rise);
  assert.equal(ports.read(0x61, 1) & 0x21, 0x21, "OUT2 high at terminal count; gate bit reads back");
  clock.advance(1e9);
  assert.equal(ports.read(0x61, 1) & 0x20, 0x20, "mode 0 OUT stays high");
});

test("PIT channel 2 gate: counting stops while GATE2 is low (mode 0)", () => {
  const { clock, ports } = setup();
  ports.write(0x43, 1, 0xb0);
  ports.write(0x42, 1, 100);
  ports.write(0x42, 1, 0);
  clock.set(nsAtTick(1000, PIT_HZ));
  assert.equal(ports.read(0x42, 1), 100, "gate low: the count does not move");
  ports.write(0x61, 1, 0x01);
  clock.set(nsAtTick(1050, PIT_HZ));
  ports.write(0x43, 1, 0x80); // latch channel 2
  const lsb = ports.read(0x42, 1);
  const msb = ports.read(0x42, 1);
  assert.equal(lsb | (msb << 8), 100 - 49);
});

test("PIT: counter reads as quick_pit_calibrate does (mode 0, 0xFFFF, MSB tracks time)", () => {
  const { clock, ports } = setup();
  ports.write(0x61, 1, 0x01);
  ports.write(0x43, 1, 0xb0);
  ports.write(0x42, 1, 0xff);
  ports.write(0x42, 1, 0xff);
  for (const ms of [0.5, 1, 7.3, 30, 54]) {
    clock.set(ms * 1e6);
    const lsb = ports.read(0x42, 1);
    const msb = ports.read(0x42, 1);
    const ticks = ticksAt(ms * 1e6, PIT_HZ) - 1; // loaded at tick 1
    assert.equal(lsb | (msb << 8), 0xffff - ticks, `at ${ms} ms`);
  }
});

test("PIT: counter latch freezes the value; read-back latches status and count", () => {
  const { clock, ports } = setup();
  ports.write(0x43, 1, 0x34);
  ports.write(0x40, 1, 0x00);
  ports.write(0x40, 1, 0x10); // 4096
  ports.write(0x43, 1, 0xe2); // read-back status of channel 0 before the load tick
  assert.equal(ports.read(0x40, 1), 0x80 | 0x40 | 0x30 | 0x04, "OUT high, NULL COUNT, LSB/MSB, mode 2");
  clock.set(nsAtTick(101, PIT_HZ));
  ports.write(0x43, 1, 0x00); // latch channel 0
  clock.advance(1e6);
  assert.equal(ports.read(0x40, 1) | (ports.read(0x40, 1) << 8), 4096 - 100, "latched value");
  ports.write(0x43, 1, 0xc2); // read-back: count and status
  const status = ports.read(0x40, 1);
  assert.equal(status & 0x40, 0, "NULL COUNT clear once loaded");
  const live = ticksAt(clock.nowNs(), PIT_HZ) - 1;
  assert.equal(ports.read(0x40, 1) | (ports.read(0x40, 1) << 8), 4096 - (live % 4096));
});

test("PIT: LSB-only and MSB-only access modes, BCD counting", () => {
  const { clock, ports } = setup();
  ports.write(0x43, 1, 0x50); // channel 1, LSB only, mode 0
  ports.write(0x41, 1, 200);
  clock.set(nsAtTick(51, PIT_HZ));
  assert.equal(ports.read(0x41, 1), 150);
  ports.write(0x43, 1, 0x60); // channel 1, MSB only, mode 0
  ports.write(0x41, 1, 0x12); // 0x1200
  const t1 = ticksAt(clock.nowNs(), PIT_HZ);
  clock.set(nsAtTick(t1 + 1 + 0x300, PIT_HZ));
  assert.equal(ports.read(0x41, 1), 0x0f, "MSB of 0x1200 - 0x300");
  // BCD: 0x0100 = 100 decimal; after 11 ticks it reads 0x0089.
  ports.write(0x43, 1, 0x71); // channel 1, LSB/MSB, mode 0, BCD
  ports.write(0x41, 1, 0x00);
  ports.write(0x41, 1, 0x01);
  const t0 = ticksAt(clock.nowNs(), PIT_HZ);
  clock.set(nsAtTick(t0 + 1 + 11, PIT_HZ));
  assert.equal(ports.read(0x41, 1) | (ports.read(0x41, 1) << 8), 0x0089);
});

test("PIT mode 0 on channel 0 (Linux one-shot clockevent): one IRQ per programmed count", () => {
  const { clock, scheduler, irq0, ports } = setup();
  ports.write(0x43, 1, 0x30);
  ports.write(0x40, 1, 1000 & 0xff);
  ports.write(0x40, 1, 1000 >> 8);
  const before = irq0.raisedCount;
  runFor(clock, scheduler, nsAtTick(1000, PIT_HZ), 10_000);
  assert.equal(irq0.raisedCount, before, "not yet at tick 1000");
  runFor(clock, scheduler, nsAtTick(1001, PIT_HZ), 10_000);
  assert.equal(irq0.raisedCount, before + 1);
  runFor(clock, scheduler, 10e6, 10_000);
  assert.equal(irq0.raisedCount, before + 1, "one-shot");
  ports.write(0x40, 1, 100);
  ports.write(0x40, 1, 0);
  runFor(clock, scheduler, 20e6, 10_000);
  assert.equal(irq0.raisedCount, before + 2, "re-armed by a new count");
});

test("PIT: a new mode 2 count takes effect at the end of the current period", () => {
  const { clock, scheduler, pit, ports } = setup();
  ports.write(0x43, 1, 0x34);
  ports.write(0x40, 1, 0x00);
  ports.write(0x40, 1, 0x10); // 4096: edges at 1 + 4096k
  clock.set(nsAtTick(2000, PIT_HZ));
  ports.write(0x40, 1, 0x00);
  ports.write(0x40, 1, 0x01); // 256 from tick 4097 on
  clock.set(nsAtTick(4097 + 256 * 3 + 10, PIT_HZ));
  ports.write(0x43, 1, 0x00);
  assert.equal(ports.read(0x40, 1) | (ports.read(0x40, 1) << 8), 256 - 10);
  scheduler.runDue(clock.nowNs());
  assert.equal(pit.irq0Edges, 1, "missed edges are coalesced into one");
});

test("PIT: hostile counts are bounded (0 = 65536; count 1 cannot flood the host)", () => {
  const { clock, scheduler, pit, ports } = setup();
  ports.write(0x43, 1, 0x34);
  ports.write(0x40, 1, 0);
  ports.write(0x40, 1, 0);
  runFor(clock, scheduler, 1e9, 1e6);
  assert.equal(pit.irq0Edges, Math.floor((PIT_HZ - 1) / 65536), "count 0 means 65536");
  const before = scheduler.callbacksRun;
  ports.write(0x43, 1, 0x14); // LSB only, mode 2
  ports.write(0x40, 1, 1);
  runFor(clock, scheduler, 1e9 + 1e6, 1e6);
  assert.ok(
    scheduler.callbacksRun - before <= 1e6 / 5000 + 2,
    `${scheduler.callbacksRun - before} callbacks in 1 ms`,
  );
  for (let v = 0; v < 256; v++) {
    ports.write(0x43, 1, v);
    ports.write(0x40 + (v % 3), 1, v);
    ports.read(0x40 + (v % 3), 1);
    ports.write(0x61, 1, v);
  }
  runFor(clock, scheduler, 1e9 + 2e6, 1e5);
});

test("PIT port 0x61: refresh bit 4 toggles every 15.085 us; mode 1 one-shot triggered by GATE2", () => {
  const { clock, ports } = setup();
  const r0 = ports.read(0x61, 1) & 0x10;
  clock.advance(15_085);
  assert.notEqual(ports.read(0x61, 1) & 0x10, r0);
  clock.advance(15_085);
  assert.equal(ports.read(0x61, 1) & 0x10, r0);
  ports.write(0x43, 1, 0xb2); // channel 2, mode 1
  ports.write(0x42, 1, 10);
  ports.write(0x42, 1, 0);
  assert.equal(ports.read(0x61, 1) & 0x20, 0x20, "OUT high until triggered");
  ports.write(0x61, 1, 0x01); // GATE2 rising edge: trigger
  const t = ticksAt(clock.nowNs(), PIT_HZ);
  clock.set(nsAtTick(t + 1, PIT_HZ));
  assert.equal(ports.read(0x61, 1) & 0x20, 0, "OUT low while counting");
  clock.set(nsAtTick(t + 11, PIT_HZ));
  assert.equal(ports.read(0x61, 1) & 0x20, 0x20, "OUT high at terminal count");
});
