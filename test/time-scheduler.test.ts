import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, InstructionClock, PacedClock, TSC_HZ, tscAt } from "../src/time/clock.js";
import { MAX_CALLBACKS_PER_RUN, Scheduler } from "../src/time/scheduler.js";
import { nsAtTick, ticksAt } from "../src/time/ticks.js";

test("FakeClock advances only by hand and refuses to go back", () => {
  const c = new FakeClock();
  assert.equal(c.nowNs(), 0);
  c.advance(1500);
  assert.equal(c.nowNs(), 1500);
  assert.throws(() => c.set(10));
  assert.throws(() => c.advance(-1));
  assert.throws(() => c.advance(Number.NaN));
});

test("PacedClock: follows the host while idle, discards lag beyond MAX_LAG_NS", () => {
  let n = 0;
  let hostMs = 1000;
  const c = new PacedClock(
    () => n,
    10,
    () => hostMs,
  );
  n = 1_000_000; // 10 ms of virtual time at 10 ns per instruction
  hostMs += 5; // the host is behind: nothing to catch up, nothing dropped
  assert.equal(c.nowNs(), 10e6);
  assert.equal(c.hostNs(), 5e6);
  hostMs += 3000; // a slow guest: 3 s of host time pass while it runs 10 ms of virtual time
  assert.equal(c.hostNs() - c.nowNs(), PacedClock.MAX_LAG_NS);
  assert.equal(c.droppedTotalNs, 3005e6 - 10e6 - PacedClock.MAX_LAG_NS);
  c.skipTo(c.hostNs()); // idle: catch up the bounded lag only
  assert.equal(c.nowNs(), 10e6 + PacedClock.MAX_LAG_NS);
  for (let i = 0; i < 100; i++) {
    hostMs += 10; // then an idle second (the machine sleeps at most 10 ms at a time) is a second
    c.skipTo(c.hostNs());
  }
  assert.equal(c.nowNs(), 1010e6 + PacedClock.MAX_LAG_NS);
  assert.equal(c.droppedTotalNs, 3005e6 - 10e6 - PacedClock.MAX_LAG_NS);
});

test("InstructionClock: instructions x rate, idle skips, monotonic across counter resets", () => {
  let n = 0;
  const c = new InstructionClock(() => n, 2.5);
  n = 1000;
  assert.equal(c.nowNs(), 2500);
  c.skipTo(10_000);
  assert.equal(c.nowNs(), 10_000);
  n = 1004;
  assert.equal(c.nowNs(), 10_010);
  n = 0; // machine reset: time must not go backwards
  assert.equal(c.nowNs(), 10_010);
  assert.throws(() => new InstructionClock(() => 0, 0));
  assert.equal(TSC_HZ, 1e9);
  assert.equal(tscAt(1234.9), 1234);
});

test("ticks: exact integer conversion, inverse of each other, even after 2^53/hz ns", () => {
  const hz = 1_193_182;
  assert.equal(ticksAt(1e9, hz), hz);
  assert.equal(ticksAt(1e9 - 1, hz), hz - 1);
  assert.equal(nsAtTick(hz, hz), 1e9);
  for (const tick of [1, 2, 11931, 65536, 1193183, 123_456_789_012]) {
    const ns = nsAtTick(tick, hz);
    assert.equal(ticksAt(ns, hz), tick, `tick ${tick} begins at ${ns}`);
    assert.equal(ticksAt(ns - 1, hz), tick - 1);
  }
  // 200 days in ns: ns * hz overflows 2^53 but the split arithmetic stays exact.
  const big = 200 * 86400 * 1e9;
  assert.equal(ticksAt(big, hz), 200 * 86400 * hz);
});

test("Scheduler: earliest first, reschedule and cancel, next deadline", () => {
  const s = new Scheduler();
  const log: string[] = [];
  const a = s.createTimer("a", () => log.push("a"));
  const b = s.createTimer("b", () => log.push("b"));
  const c = s.createTimer("c", () => log.push("c"));
  a.schedule(300);
  b.schedule(100);
  c.schedule(200);
  assert.equal(s.nextDeadlineNs(), 100);
  b.schedule(400); // reschedule later
  c.cancel();
  assert.equal(s.nextDeadlineNs(), 300);
  assert.equal(s.runDue(299), 0);
  assert.equal(s.runDue(1000), 2);
  assert.deepEqual(log, ["a", "b"]);
  assert.equal(s.nextDeadlineNs(), Number.POSITIVE_INFINITY);
  assert.equal(a.pending, false);
});

test("Scheduler: many timers come out sorted (heap property)", () => {
  const s = new Scheduler();
  const out: number[] = [];
  const timers = Array.from({ length: 200 }, (_, i) => s.createTimer(`t${i}`, () => out.push(i)));
  // Pseudo-random deadlines, some rescheduled, some cancelled.
  const deadline = (i: number) => ((i * 7919) % 1000) * 10 + i / 1000;
  for (const [i, t] of timers.entries()) t.schedule(deadline(i) + 5000);
  for (const [i, t] of timers.entries()) if (i % 3 === 0) t.schedule(deadline(i));
  for (const [i, t] of timers.entries()) if (i % 5 === 1) t.cancel();
  s.runDue(1e9);
  const expected = timers
    .map((_, i) => i)
    .filter((i) => i % 5 !== 1)
    .sort(
      (x, y) =>
        (x % 3 === 0 ? deadline(x) : deadline(x) + 5000) - (y % 3 === 0 ? deadline(y) : deadline(y) + 5000),
    );
  assert.deepEqual(out, expected);
});

test("Scheduler: a timer re-arming itself in the past cannot hang runDue", () => {
  const s = new Scheduler();
  const t = s.createTimer("busy", () => t.schedule(0));
  t.schedule(0);
  assert.equal(s.runDue(10), MAX_CALLBACKS_PER_RUN);
  assert.equal(s.truncatedRuns, 1);
  assert.throws(() => t.schedule(Number.NaN));
});
