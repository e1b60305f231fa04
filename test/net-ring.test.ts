// FrameRing: the shared-memory SPSC ring between a VM worker and the switch. Wrap-around,
// full/empty, free-running index wrap, and hostile headers (errors, never a hang).
import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameRing, FrameRingError, RING_HEADER_BYTES } from "../src/net/frame-ring.js";

const HEAD = 0;
const TAIL = 16;
const MAXFRAME = 3;

function frameOf(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    f[i] = x & 0xff;
  }
  return f;
}

test("push/pop one frame; empty ring pops -1", () => {
  const ring = FrameRing.create(4096, 1514);
  const into = new Uint8Array(1514);
  assert.equal(ring.pop(into), -1);
  assert.ok(ring.isEmpty());
  const f = frameOf(60, 1);
  assert.ok(ring.push(f));
  assert.ok(!ring.isEmpty());
  assert.equal(ring.pop(into), 60);
  assert.deepEqual(into.subarray(0, 60), f);
  assert.equal(ring.pop(into), -1);
});

test("wrap-around: 20,000 variable-length frames through a 4 KiB ring keep their contents", () => {
  const ring = FrameRing.create(4096, 1514);
  // A second view of the same buffer, as the other thread would have.
  const consumer = new FrameRing(ring.buffer);
  const into = new Uint8Array(1514);
  let pushed = 0;
  let popped = 0;
  let splits = 0;
  while (popped < 20_000) {
    // Push a burst until full, then drain part of it: the write position lands everywhere.
    for (;;) {
      const len = 14 + ((pushed * 7919) % 1501);
      const head = new Int32Array(ring.buffer, 0, 1)[0]! >>> 0;
      if (!ring.push(frameOf(len, pushed))) break;
      if ((head & 4095) + 4 + len > 4096) splits++;
      pushed++;
    }
    const drain = 1 + (popped % 3);
    for (let k = 0; k < drain; k++) {
      const len = consumer.pop(into);
      assert.ok(len > 0);
      assert.equal(len, 14 + ((popped * 7919) % 1501), `length of frame ${popped}`);
      assert.deepEqual(into.subarray(0, len), frameOf(len, popped), `contents of frame ${popped}`);
      popped++;
    }
  }
  assert.ok(splits > 100, `frames split across the end of the ring: ${splits}`);
});

test("full ring refuses, counts the drop, and accepts again after a pop", () => {
  const ring = FrameRing.create(4096, 1514);
  const f = frameOf(1000, 3); // record = 1004 bytes: four fit in 4096
  let n = 0;
  while (ring.push(f)) n++;
  assert.equal(n, 4);
  assert.equal(ring.producerDrops, 1);
  assert.ok(!ring.canPush(1000));
  assert.ok(ring.canPush(60)); // 4096 - 4016 = 80 bytes free
  assert.equal(ring.freeBytes(), 80);
  assert.equal(ring.pop(new Uint8Array(1514)), 1000);
  assert.ok(ring.push(f));
  // Oversized and empty frames are refused, not written.
  assert.ok(!ring.push(new Uint8Array(1515)));
  assert.ok(!ring.push(new Uint8Array(0)));
  assert.equal(ring.producerDrops, 3);
});

test("free-running indices wrap past 2^32", () => {
  const ring = FrameRing.create(4096, 1514);
  const i32 = new Int32Array(ring.buffer, 0, 32);
  i32[HEAD] = i32[TAIL] = 0xffff_f000 | 0;
  const into = new Uint8Array(1514);
  for (let i = 0; i < 200; i++) {
    assert.ok(ring.push(frameOf(500, i)));
    assert.ok(ring.push(frameOf(501, i + 1)));
    assert.equal(ring.pop(into), 500);
    assert.deepEqual(into.subarray(0, 500), frameOf(500, i));
    assert.equal(ring.pop(into), 501);
  }
  assert.ok(i32[HEAD]! >>> 0 < 0xffff_f000, "head wrapped");
});

test("corrupted indices or lengths throw FrameRingError instead of looping or allocating", {
  timeout: 5000,
}, () => {
  const into = new Uint8Array(1514);
  const mk = () => {
    const ring = FrameRing.create(4096, 1514);
    assert.ok(ring.push(frameOf(100, 1)));
    return {
      ring,
      i32: new Int32Array(ring.buffer, 0, 32),
      words: new Int32Array(ring.buffer, RING_HEADER_BYTES),
    };
  };
  // Head far beyond tail (more bytes "in use" than the ring holds).
  let { ring, i32, words } = mk();
  i32[HEAD] = 4096 * 3;
  assert.throws(() => ring.pop(into), FrameRingError);
  // Misaligned tail.
  ({ ring, i32, words } = mk());
  i32[TAIL] = 2;
  assert.throws(() => ring.pop(into), FrameRingError);
  // Huge length prefix (as unsigned: 4 GiB - 1; as signed: -1), and 2^31 - 1.
  for (const bad of [-1, 0x7fff_ffff, 0, 1515]) {
    ({ ring, i32, words } = mk());
    words[0] = bad;
    assert.throws(() => ring.pop(into), FrameRingError, `length ${bad}`);
  }
  // A length that fits maxFrame but exceeds the bytes published.
  ({ ring, i32, words } = mk());
  words[0] = 1000;
  assert.throws(() => ring.pop(into), FrameRingError);
  // The producer checks the consumer's tail too.
  ({ ring, i32, words } = mk());
  i32[TAIL] = -8192;
  assert.throws(() => ring.push(frameOf(60, 2)), FrameRingError);
  // Bad magic or an impossible maxFrame in the header refuse to attach.
  const raw = FrameRing.create(4096, 1514);
  const h = new Int32Array(raw.buffer, 0, 32);
  h[MAXFRAME] = 0x7fff_ffff;
  assert.throws(() => new FrameRing(raw.buffer), FrameRingError);
  h[2] = 0;
  assert.throws(() => new FrameRing(raw.buffer), FrameRingError);
  assert.throws(() => new FrameRing(new SharedArrayBuffer(RING_HEADER_BYTES + 1000)), FrameRingError);
  // maxFrame is cached at attach: raising it in the header later changes nothing.
  ({ ring, i32, words } = mk());
  i32[MAXFRAME] = 60000;
  words[0] = 3000;
  assert.throws(() => ring.pop(into), FrameRingError);
});

test("waitForData resolves when the producer pushes", async () => {
  const ring = FrameRing.create(4096, 1514);
  const p = ring.waitForData(5000);
  assert.ok(p !== undefined, "empty ring: the consumer sleeps");
  const t0 = performance.now();
  setTimeout(() => ring.push(frameOf(60, 9)), 20);
  await p;
  assert.ok(performance.now() - t0 < 2000, "woken by the push, not the timeout");
  assert.equal(ring.waitForData(), undefined, "non-empty ring: no wait");
});
