// Split virtqueues (virtio 1.2, 2.7): the bounded descriptor walker, ring index arithmetic,
// and malformed rings written by a hostile driver. Every malformed ring must end as a device
// error (DEVICE_NEEDS_RESET, a configuration interrupt, an "error:<kind>" counter), with no
// exception escaping to the caller and the device usable again after a reset.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  featureWords,
  STATUS_DEVICE_NEEDS_RESET,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "../src/devices/virtio/constants.js";
import {
  VirtioGuestError,
  type VirtioGuestErrorKind,
  VirtioGuestFault,
} from "../src/devices/virtio/errors.js";
import { VirtioNet } from "../src/devices/virtio/net.js";
import { SplitQueue } from "../src/devices/virtio/queue.js";
import { virtioHarness } from "../src/devices/virtio/testing/harness.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import { NullBackend } from "../src/net/backend.js";

const RAM = 16 << 20;
const { NEXT, WRITE, INDIRECT } = {
  NEXT: VIRTQ_DESC_F_NEXT,
  WRITE: VIRTQ_DESC_F_WRITE,
  INDIRECT: VIRTQ_DESC_F_INDIRECT,
};

/** A virtio-net with its transmit queue of `size` entries, driver running. */
function txSetup(size = 8, bits = [F_VERSION_1, F_INDIRECT_DESC, F_EVENT_IDX]) {
  const backend = new NullBackend();
  const h = virtioHarness((memory) => new VirtioNet({ memory, backend }), { ramSize: RAM });
  assert.equal(h.drv.negotiate(featureWords(bits)), true);
  h.drv.setupQueue(0);
  const tx = h.drv.setupQueue(1, size);
  h.drv.driverOk();
  return { ...h, tx, backend };
}

function expectDeviceError(h: ReturnType<typeof txSetup>, kind: VirtioGuestErrorKind) {
  assert.doesNotThrow(() => h.tx.kick(), "no exception escapes the device");
  assert.equal(h.dev.stats.get(`error:${kind}`), 1, `error:${kind} counted`);
  assert.equal(h.drv.status & STATUS_DEVICE_NEEDS_RESET, STATUS_DEVICE_NEEDS_RESET, "DEVICE_NEEDS_RESET");
  assert.equal(h.irq(), true, "configuration change interrupt");
  assert.equal(h.drv.readIsr() & 2, 2);
  assert.equal(h.tx.usedIdx, 0, "nothing completed");
  assert.equal(h.backend.dropped, 0, "nothing transmitted");
  // The queue is stopped: further kicks do nothing.
  h.tx.kick();
  assert.equal(h.dev.stats.get(`error:${kind}`), 1);
  // A reset brings the device back.
  assert.equal(h.drv.negotiate(featureWords([F_VERSION_1])), true);
  h.drv.setupQueue(0);
  const tx = h.drv.setupQueue(1, 8);
  h.drv.driverOk();
  tx.add([{ data: new Uint8Array(12 + 60) }]);
  tx.kick();
  assert.equal(tx.collect().length, 1, "works after reset");
  assert.equal(h.backend.dropped, 1, "the frame reached the backend");
}

/** A 72-byte buffer (header + minimal frame) in RAM. */
const BUF = 0x200000;
const LEN = 72;

test("malformed ring: descriptor NEXT loop ends at the queue-size bound", () => {
  const h = txSetup();
  h.tx.writeDesc(0, BUF, LEN, NEXT, 1);
  h.tx.writeDesc(1, BUF, LEN, NEXT, 0);
  h.tx.publish(0);
  expectDeviceError(h, "chain-too-long");
});

test("malformed ring: head index and next index at or above the queue size", () => {
  const h = txSetup();
  h.tx.publish(8);
  expectDeviceError(h, "desc-index");
  const h2 = txSetup();
  h2.tx.writeDesc(0, BUF, LEN, NEXT, 0xffff);
  h2.tx.publish(0);
  expectDeviceError(h2, "desc-index");
});

test("malformed ring: buffer past the end of RAM, addr + len overflowing 2^32, address above 4 GiB", () => {
  const h = txSetup();
  h.tx.writeDesc(0, RAM - 10, LEN, 0, 0);
  h.tx.publish(0);
  expectDeviceError(h, "buffer-outside-ram");
  const h2 = txSetup();
  h2.tx.writeDesc(0, 0xfffff000, 0x2000, 0, 0); // wraps to 0x1000 in 32-bit arithmetic
  h2.tx.publish(0);
  expectDeviceError(h2, "buffer-outside-ram");
  const h3 = txSetup();
  h3.tx.writeDesc(0, BUF, LEN, 0, 0, 1); // 0x1_0020_0000
  h3.tx.publish(0);
  expectDeviceError(h3, "buffer-outside-ram");
  const h4 = txSetup();
  h4.tx.writeDesc(0, 0, 0xffffffff, 0, 0);
  h4.tx.publish(0);
  expectDeviceError(h4, "buffer-outside-ram");
});

test("malformed ring: a chain longer than the queue (indirect table of size + 1 entries)", () => {
  const h = txSetup(8);
  const table = 0x300000;
  for (let i = 0; i < 9; i++) {
    h.memory.write32(table + 16 * i, BUF);
    h.memory.write32(table + 16 * i + 8, 8);
    h.memory.write16(table + 16 * i + 12, i < 8 ? NEXT : 0);
    h.memory.write16(table + 16 * i + 14, i + 1);
  }
  h.tx.writeDesc(0, table, 16 * 9, INDIRECT, 0);
  h.tx.publish(0);
  expectDeviceError(h, "indirect-bad-length");
});

test("malformed ring: a NEXT loop inside an indirect table ends at its bound", () => {
  const h = txSetup(8);
  const table = 0x300000;
  h.memory.write32(table, BUF);
  h.memory.write32(table + 8, LEN);
  h.memory.write16(table + 12, NEXT);
  h.memory.write16(table + 14, 0); // points at itself
  h.tx.writeDesc(0, table, 16 * 4, INDIRECT, 0);
  h.tx.publish(0);
  expectDeviceError(h, "chain-too-long");
});

test("malformed ring: available idx more than the queue size ahead", () => {
  const h = txSetup(8);
  h.tx.setAvailIdx(9);
  expectDeviceError(h, "avail-idx-jump");
  const h2 = txSetup(8);
  h2.tx.setAvailIdx(0xfff0); // "behind": a decrement is the same impossible jump mod 2^16
  expectDeviceError(h2, "avail-idx-jump");
});

test("malformed ring: nested indirect table, INDIRECT with NEXT, INDIRECT without the feature", () => {
  const h = txSetup();
  const outer = 0x300000;
  const inner = 0x301000;
  h.memory.write32(inner, BUF);
  h.memory.write32(inner + 8, LEN);
  h.memory.write32(outer, inner);
  h.memory.write32(outer + 8, 16);
  h.memory.write16(outer + 12, INDIRECT);
  h.tx.writeDesc(0, outer, 16, INDIRECT, 0);
  h.tx.publish(0);
  expectDeviceError(h, "indirect-nested");
  const h2 = txSetup();
  h2.memory.write32(inner, BUF);
  h2.memory.write32(inner + 8, LEN);
  h2.tx.writeDesc(0, inner, 16, INDIRECT | NEXT, 1);
  h2.tx.publish(0);
  expectDeviceError(h2, "indirect-with-next");
  const h3 = txSetup(8, [F_VERSION_1]);
  h3.memory.write32(inner, BUF);
  h3.memory.write32(inner + 8, LEN);
  h3.tx.writeDesc(0, inner, 16, INDIRECT, 0);
  h3.tx.publish(0);
  expectDeviceError(h3, "indirect-not-negotiated");
});

test("malformed ring: a device-writable descriptor in a transmit chain", () => {
  const h = txSetup();
  h.tx.writeDesc(0, BUF, LEN, WRITE, 0);
  h.tx.publish(0);
  expectDeviceError(h, "net-tx-writable");
});

test("queue: direct descriptors followed by an indirect table form one chain (2.7.5.3.2)", () => {
  const memory = new GuestMemory(1 << 20);
  const q = new SplitQueue(memory, "t", 8, 1 << 20);
  q.descAddr = 0x1000;
  q.availAddr = 0x2000;
  q.usedAddr = 0x3000;
  q.indirect = true;
  assert.equal(q.validate(), undefined);
  q.enabled = true;
  const d = (i: number, addr: number, len: number, flags: number, next: number, base = 0x1000) => {
    memory.write32(base + 16 * i, addr);
    memory.write32(base + 16 * i + 8, len);
    memory.write16(base + 16 * i + 12, flags);
    memory.write16(base + 16 * i + 14, next);
  };
  d(0, 0x8000, 10, NEXT, 5);
  d(5, 0x4000, 32, INDIRECT | WRITE, 0); // WRITE on the table descriptor is ignored
  d(0, 0x9000, 20, NEXT, 1, 0x4000);
  d(1, 0xa000, 30, WRITE, 0, 0x4000);
  memory.write16(0x2004, 0);
  memory.write16(0x2002, 1);
  const c = q.pop();
  assert.ok(c !== null);
  assert.deepEqual(c.readable, [
    { addr: 0x8000, len: 10 },
    { addr: 0x9000, len: 20 },
  ]);
  assert.deepEqual(c.writable, [{ addr: 0xa000, len: 30 }]);
  assert.equal(c.readableBytes, 30);
  assert.equal(q.pop(), null);
  // Wrap-around of the free-running indices.
  q.lastAvail = 0xffff;
  memory.write16(0x2004 + 2 * 7, 0);
  memory.write16(0x2002, 1); // 0xffff -> 0x0001: two chains
  assert.equal(q.pending(), 2);
  q.nextUsed = 0xffff;
  q.pushUsed(3, 9);
  q.publishUsed();
  assert.equal(memory.read16(0x3002), 0);
  assert.equal(memory.read32(0x3004 + 8 * 7), 3);
  // Chain byte bound.
  const small = new SplitQueue(memory, "s", 8, 25);
  small.descAddr = 0x1000;
  small.availAddr = 0x2000;
  small.usedAddr = 0x3000;
  small.indirect = true;
  assert.throws(
    () => small.walk(0),
    (e: unknown) => e instanceof VirtioGuestFault && e.kind === "chain-too-many-bytes",
  );
});

test("errors: every kind has a message citing the specification", () => {
  for (const [kind, message] of Object.entries(VirtioGuestError)) {
    assert.ok(message.length > 10, kind);
    if (kind !== "dma-outside-ram") assert.match(message, /\(\d+(\.\d+)+(, \d+(\.\d+)+)*\)$/, kind);
  }
});
