import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus, BusError } from "../src/bus/bus.js";
import type { AccessWidth, BusDevice } from "../src/bus/device.js";
import { WIDTH_8, WIDTH_16, WIDTH_ANY } from "../src/bus/device.js";
import { InterruptLine } from "../src/bus/irq.js";

class Recorder implements BusDevice {
  readonly log: string[] = [];
  constructor(
    readonly name: string,
    readonly widths: number,
    private readonly value = 0,
  ) {}
  read(offset: number, width: AccessWidth): number {
    this.log.push(`r${width}@${offset}`);
    return this.value + offset;
  }
  write(offset: number, width: AccessWidth, v: number): void {
    this.log.push(`w${width}@${offset}=${v.toString(16)}`);
  }
}

test("unmapped reads return all-ones and unmapped writes are dropped", () => {
  const bus = new Bus("ports", 0x10000);
  assert.equal(bus.read(0x1234, 1), 0xff);
  assert.equal(bus.read(0x1234, 2), 0xffff);
  assert.equal(bus.read(0x1234, 4), 0xffffffff);
  bus.write(0x1234, 4, 0);
  assert.equal(bus.unmappedReads, 3);
  assert.equal(bus.unmappedWrites, 1);
});

test("overlapping registrations are refused", () => {
  const bus = new Bus("ports", 0x10000);
  bus.register(0x3f8, 8, new Recorder("a", WIDTH_8));
  assert.throws(() => bus.register(0x3ff, 1, new Recorder("b", WIDTH_8)), BusError);
  assert.throws(() => bus.register(0x3f0, 9, new Recorder("c", WIDTH_8)), BusError);
  bus.register(0x400, 1, new Recorder("d", WIDTH_8));
  assert.throws(() => bus.register(0xffff, 2, new Recorder("e", WIDTH_8)), BusError, "past the space");
});

test("accesses are routed by range with offsets relative to the base", () => {
  const bus = new Bus("ports", 0x10000);
  const a = new Recorder("a", WIDTH_ANY, 0x100);
  const b = new Recorder("b", WIDTH_ANY, 0x200);
  bus.register(0x60, 4, a);
  bus.register(0x70, 2, b);
  assert.equal(bus.read(0x62, 1), 0x102);
  assert.equal(bus.read(0x71, 1), 0x201);
  assert.deepEqual(a.log, ["r1@2"]);
});

test("wide accesses are split to the device's widths, little-endian", () => {
  const bus = new Bus("ports", 0x10000);
  const d = new Recorder("byte-only", WIDTH_8, 0x10);
  bus.register(0x100, 4, d);
  assert.equal(bus.read(0x100, 4), 0x13121110);
  bus.write(0x100, 2, 0xabcd);
  assert.deepEqual(d.log.slice(4), ["w1@0=cd", "w1@1=ab"]);
});

test("narrow reads of a 16-bit-only device are widened and extracted", () => {
  const bus = new Bus("ports", 0x10000);
  const d = new Recorder("word-only", WIDTH_16, 0x1230);
  bus.register(0x200, 4, d);
  assert.equal(bus.read(0x201, 1), 0x12);
});

test("re-entrant access from inside a device is refused", () => {
  const bus = new Bus("ports", 0x10000);
  const evil: BusDevice = {
    name: "evil",
    widths: WIDTH_8,
    read: () => bus.read(0x10, 1),
    write: () => {},
  };
  bus.register(0x10, 1, evil);
  assert.throws(() => bus.read(0x10, 1), BusError);
  // The bus is usable afterwards.
  bus.register(0x20, 1, new Recorder("ok", WIDTH_8, 5));
  assert.equal(bus.read(0x20, 1), 5);
});

test("an interrupt line counts rising edges and notifies its listener", () => {
  const line = new InterruptLine("irq4");
  const seen: boolean[] = [];
  line.connect((l) => seen.push(l));
  line.raise();
  line.raise();
  line.lower();
  line.pulse();
  assert.deepEqual(seen, [true, false, true, false]);
  assert.equal(line.raisedCount, 2);
});
