import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { InterruptLine } from "../src/bus/irq.js";
import { I8042 } from "../src/devices/i8042.js";

function setup() {
  const irq1 = new InterruptLine("irq1");
  let resets = 0;
  const a20: boolean[] = [];
  const kbc = new I8042({ irq1, onReset: () => resets++, onA20: (on) => a20.push(on) });
  const ports = new Bus("ports", 0x10000);
  kbc.attach(ports);
  ports.register(0x92, 1, kbc.port92);
  /** A controller command and its response byte, as Linux's i8042_command does it. */
  const command = (cmd: number, param?: number): number | undefined => {
    ports.write(0x64, 1, cmd);
    if (param !== undefined) ports.write(0x60, 1, param);
    return (ports.read(0x64, 1) & 1) !== 0 ? ports.read(0x60, 1) : undefined;
  };
  return { kbc, ports, irq1, command, resets: () => resets, a20 };
}

test("i8042: self-test answers 0x55, interface test 0x00, status SYS set", () => {
  const { ports, command } = setup();
  assert.equal(ports.read(0x64, 1) & 0x01, 0, "output buffer empty");
  assert.equal(command(0xaa), 0x55);
  assert.equal(ports.read(0x64, 1) & 0x04, 0x04);
  assert.equal(command(0xab), 0x00);
  assert.equal(ports.read(0x64, 1) & 0x01, 0, "response consumed");
});

test("i8042: command byte read/write (Linux i8042_controller_init)", () => {
  const { command } = setup();
  const ctr = command(0x20);
  assert.equal(ctr, 0x45);
  assert.equal(command(0x60, 0x65), undefined);
  assert.equal(command(0x20), 0x65);
});

test("i8042: the AUX probe reports no mouse without timeouts", () => {
  const { ports, command } = setup();
  ports.write(0x64, 1, 0xd3); // AUX loopback
  ports.write(0x60, 1, 0x5a);
  const st = ports.read(0x64, 1);
  assert.equal(st & 0x01, 0x01, "answers at once");
  assert.equal(st & 0x20, 0x00, "but not as AUX data: the loop fails");
  ports.read(0x60, 1);
  const aux = command(0xa9);
  assert.ok(aux !== undefined && aux !== 0 && aux !== 0xfa && aux !== 0xff, "AUX interface test fails");
});

test("i8042: 0xFE pulses reset; output port bit 0 low resets; port 0x92 resets and gates A20", () => {
  const { ports, resets, a20, kbc } = setup();
  ports.write(0x64, 1, 0xfe);
  assert.equal(resets(), 1);
  ports.write(0x64, 1, 0xff); // pulse nothing
  assert.equal(resets(), 1);
  ports.write(0x64, 1, 0xd1);
  ports.write(0x60, 1, 0x01); // A20 off, reset line high
  assert.equal(resets(), 1);
  assert.deepEqual(a20, [false]);
  assert.equal(kbc.a20Enabled, false);
  ports.write(0x92, 1, 0x02);
  assert.equal(kbc.a20Enabled, true);
  ports.write(0x92, 1, 0x03);
  assert.equal(resets(), 2);
});

test("i8042: keyboard reset and identify over the data port, IRQ 1 per byte", () => {
  const { ports, irq1 } = setup();
  ports.write(0x60, 1, 0xff);
  assert.equal(irq1.asserted, true);
  assert.equal(ports.read(0x60, 1), 0xfa);
  assert.equal(irq1.raisedCount, 2, "the second byte is a new edge");
  assert.equal(ports.read(0x60, 1), 0xaa);
  assert.equal(irq1.asserted, false);
  ports.write(0x60, 1, 0xf2);
  assert.deepEqual([ports.read(0x60, 1), ports.read(0x60, 1), ports.read(0x60, 1)], [0xfa, 0xab, 0x41]);
  ports.write(0x60, 1, 0x12); // unknown command
  assert.equal(ports.read(0x60, 1), 0xfe);
});

test("i8042: a hostile byte storm neither throws nor grows without bound", () => {
  const { ports } = setup();
  for (let i = 0; i < 10_000; i++) {
    ports.write(0x64, 1, i & 0xff);
    ports.write(0x60, 1, (i * 7) & 0xff);
  }
  let n = 0;
  while ((ports.read(0x64, 1) & 1) !== 0 && n < 1000) {
    ports.read(0x60, 1);
    n++;
  }
  assert.ok(n <= 64, `queue bounded (${n})`);
});
