import assert from "node:assert/strict";
import { test } from "node:test";
import { GuestMemory, GuestMemoryError } from "../src/memory/guest-memory.js";

test("guest memory round-trips 8/16/32-bit values little-endian", () => {
  const m = new GuestMemory(0x10000);
  m.write32(0x100, 0x12345678);
  assert.equal(m.read8(0x100), 0x78);
  assert.equal(m.read16(0x102), 0x1234);
  assert.equal(m.read32(0x100), 0x12345678);
  m.write32(0x200, 0xffffffff);
  assert.equal(m.read32(0x200), -1, "32-bit reads are int32");
});

test("guest memory refuses accesses outside RAM with a typed error, including at the edge", () => {
  const m = new GuestMemory(0x10000);
  assert.throws(() => m.read32(0xfffd), GuestMemoryError);
  assert.throws(() => m.read8(0x10000), GuestMemoryError);
  assert.throws(() => m.read8(-1), GuestMemoryError);
  assert.throws(() => m.writeBytes(0xff00, new Uint8Array(0x101)), GuestMemoryError);
  assert.throws(() => m.readBytes(0xffffffff, 2), GuestMemoryError);
  m.write32(0xfffc, 7);
  assert.equal(m.read32(0xfffc), 7);
});

test("guest memory is a shared WebAssembly memory; the CPU area past the RAM is out of the guest's reach", () => {
  const m = new GuestMemory(0x2000);
  assert.ok(m.buffer instanceof SharedArrayBuffer);
  assert.equal(m.wasmMemory.buffer, m.buffer);
  assert.equal(m.cpuArea, 0x10000, "RAM rounded up to a wasm page");
  const wasmView = new Uint8Array(m.wasmMemory.buffer);
  wasmView[5] = 42;
  assert.equal(m.read8(5), 42);
  // Bytes in the CPU area are not guest-physical memory.
  assert.throws(() => m.read8(m.cpuArea), GuestMemoryError);
  assert.throws(() => m.readBytes(0x1fff, 2), GuestMemoryError);
});

test("writes to a marked code page bump its generation once, until it is marked again", () => {
  const m = new GuestMemory(0x4000);
  m.markCodePage(0x1000);
  m.write8(0x1800, 1);
  assert.equal(m.codeGeneration[1], 1);
  m.write8(0x1801, 1);
  assert.equal(m.codeGeneration[1], 1, "unmarked after the first write");
  m.markCodePage(0x1000);
  m.write32(0x0ffe, 0); // crosses into page 1
  assert.equal(m.codeGeneration[1], 2);
  assert.equal(m.codeGeneration[0], 0);
});

test("invalid RAM sizes are refused", () => {
  assert.throws(() => new GuestMemory(1000), RangeError);
  assert.throws(() => new GuestMemory(0), RangeError);
});
