// virtio-blk (virtio 1.2, 5.2) against a temporary host file: read, write (in the file before
// completion), flush, get-id, out-of-range and malformed requests, read-only devices.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_F_SEG_MAX,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VirtioBlk,
} from "../src/devices/virtio/blk.js";
import { F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1, featureWords } from "../src/devices/virtio/constants.js";
import type { MockBuffer, MockQueue } from "../src/devices/virtio/testing/driver-mock.js";
import { virtioHarness } from "../src/devices/virtio/testing/harness.js";

const SECTORS = 64;

function disk(readOnly = false) {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-virtio-blk-"));
  const path = join(dir, "disk.img");
  const img = new Uint8Array(SECTORS * 512);
  for (let i = 0; i < img.length; i++) img[i] = (i >> 9) ^ (i & 0xff);
  writeFileSync(path, img);
  const h = virtioHarness((memory) => new VirtioBlk({ memory, path, readOnly, id: "disk-0001" }));
  assert.equal(
    h.drv.negotiate(
      featureWords([
        F_VERSION_1,
        F_EVENT_IDX,
        F_INDIRECT_DESC,
        VIRTIO_BLK_F_FLUSH,
        VIRTIO_BLK_F_SEG_MAX,
        VIRTIO_BLK_F_RO,
      ]),
    ),
    true,
  );
  const q = h.drv.setupQueue(0);
  h.drv.driverOk();
  const cleanup = () => {
    h.dev.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { ...h, q, path, img, cleanup };
}

function header(type: number, sector: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(8, sector % 0x1_0000_0000, true);
  v.setUint32(12, Math.floor(sector / 0x1_0000_0000), true);
  return b;
}

/** Submit one request and return [used len, status byte, data read]. */
function submit(q: MockQueue, bufs: MockBuffer[], options: { indirect?: boolean } = {}) {
  const head = q.add(bufs, options);
  q.kick();
  const used = q.collect();
  assert.equal(used.length, 1, "one used element");
  assert.equal(used[0]!.id, head);
  const w = q.written(head);
  return { len: used[0]!.len, status: w[w.length - 1], data: w.subarray(0, w.length - 1) };
}

test("virtio-blk: config space, features, GET_ID", () => {
  const d = disk();
  try {
    assert.equal(d.drv.cfgRead(0x02, 2), 0x1042, "modern virtio-blk device ID");
    assert.equal(d.drv.config(0, 4), SECTORS, "capacity low");
    assert.equal(d.drv.config(4, 4), 0, "capacity high");
    assert.equal(d.drv.config(12, 4), 126, "seg_max");
    assert.equal(d.drv.config(20, 4), 512, "blk_size");
    assert.equal(d.drv.has(VIRTIO_BLK_F_RO), false, "writable device does not offer RO");
    const r = submit(d.q, [{ data: header(VIRTIO_BLK_T_GET_ID, 0) }, { writable: 20 }, { writable: 1 }]);
    assert.equal(r.status, VIRTIO_BLK_S_OK);
    assert.equal(r.len, 21);
    assert.equal(new TextDecoder().decode(r.data).replace(/\0+$/, ""), "disk-0001");
  } finally {
    d.cleanup();
  }
});

test("virtio-blk: read returns the file's sectors; write lands in the file before completion", () => {
  const d = disk();
  try {
    const r = submit(d.q, [{ data: header(VIRTIO_BLK_T_IN, 3) }, { writable: 1024 }, { writable: 1 }]);
    assert.equal(r.status, VIRTIO_BLK_S_OK);
    assert.equal(r.len, 1025, "used len = data + status");
    assert.deepEqual(r.data, d.img.subarray(3 * 512, 5 * 512));
    assert.equal(d.dev.stats.get("dma:write-bytes"), 1024);
    // Write two sectors at 10, split across three descriptors, through an indirect table.
    const data = new Uint8Array(1024).map((_, i) => (i * 13) & 0xff);
    const w = submit(
      d.q,
      [
        { data: header(VIRTIO_BLK_T_OUT, 10) },
        { data: data.subarray(0, 100) },
        { data: data.subarray(100) },
        { writable: 1 },
      ],
      { indirect: true },
    );
    assert.equal(w.status, VIRTIO_BLK_S_OK);
    assert.equal(w.len, 1);
    const file = readFileSync(d.path);
    assert.deepEqual(new Uint8Array(file.subarray(10 * 512, 12 * 512)), data, "in the file when completed");
    assert.deepEqual(
      new Uint8Array(file.subarray(0, 10 * 512)),
      d.img.subarray(0, 10 * 512),
      "nothing else changed",
    );
    const back = submit(d.q, [{ data: header(VIRTIO_BLK_T_IN, 10) }, { writable: 1024 }, { writable: 1 }]);
    assert.deepEqual(back.data, data);
    const f = submit(d.q, [{ data: header(VIRTIO_BLK_T_FLUSH, 0) }, { writable: 1 }]);
    assert.equal(f.status, VIRTIO_BLK_S_OK);
    assert.equal(d.dev.stats.get("blk:flush"), 1);
    assert.equal(d.dev.stats.get("kick:request"), 4);
  } finally {
    d.cleanup();
  }
});

test("virtio-blk: out-of-range, unaligned, wrong-direction and unknown requests are IOERR / UNSUPP", () => {
  const d = disk();
  try {
    const last = submit(d.q, [
      { data: header(VIRTIO_BLK_T_IN, SECTORS - 1) },
      { writable: 512 },
      { writable: 1 },
    ]);
    assert.equal(last.status, VIRTIO_BLK_S_OK, "the last sector is readable");
    const past = submit(d.q, [
      { data: header(VIRTIO_BLK_T_IN, SECTORS - 1) },
      { writable: 1024 },
      { writable: 1 },
    ]);
    assert.equal(past.status, VIRTIO_BLK_S_IOERR);
    const huge = submit(d.q, [
      { data: header(VIRTIO_BLK_T_OUT, 2 ** 40) },
      { data: new Uint8Array(512) },
      { writable: 1 },
    ]);
    assert.equal(huge.status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.dev.stats.get("error:blk-out-of-range"), 2);
    const odd = submit(d.q, [{ data: header(VIRTIO_BLK_T_IN, 0) }, { writable: 100 }, { writable: 1 }]);
    assert.equal(odd.status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.dev.stats.get("error:blk-unaligned"), 1);
    // A write whose data is device-writable.
    const dir = submit(d.q, [{ data: header(VIRTIO_BLK_T_OUT, 0) }, { writable: 512 }, { writable: 1 }]);
    assert.equal(dir.status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.dev.stats.get("error:blk-data-direction"), 1);
    const unk = submit(d.q, [{ data: header(99, 0) }, { writable: 1 }]);
    assert.equal(unk.status, VIRTIO_BLK_S_UNSUPP);
    const short = submit(d.q, [{ data: new Uint8Array(8) }, { writable: 1 }]);
    assert.equal(short.status, VIRTIO_BLK_S_IOERR);
    assert.deepEqual(new Uint8Array(readFileSync(d.path)), d.img, "the file is untouched");
    assert.equal(d.drv.status & 64, 0, "none of these needs a reset");
  } finally {
    d.cleanup();
  }
});

test("virtio-blk: a read-only device offers VIRTIO_BLK_F_RO and refuses writes with IOERR", () => {
  const d = disk(true);
  try {
    assert.equal(d.drv.has(VIRTIO_BLK_F_RO), true);
    const w = submit(d.q, [
      { data: header(VIRTIO_BLK_T_OUT, 0) },
      { data: new Uint8Array(512).fill(1) },
      { writable: 1 },
    ]);
    assert.equal(w.status, VIRTIO_BLK_S_IOERR);
    assert.equal(d.dev.stats.get("error:blk-read-only"), 1);
    assert.deepEqual(new Uint8Array(readFileSync(d.path)), d.img);
    const r = submit(d.q, [{ data: header(VIRTIO_BLK_T_IN, 0) }, { writable: 512 }, { writable: 1 }]);
    assert.equal(r.status, VIRTIO_BLK_S_OK);
  } finally {
    d.cleanup();
  }
});

test("virtio-blk: a status descriptor that is not device-writable is a device error", () => {
  const d = disk();
  try {
    // header R, data W, status R: a readable descriptor after a writable one (2.7.4.2).
    d.q.add([{ data: header(VIRTIO_BLK_T_IN, 0) }, { writable: 512 }, { data: new Uint8Array(1) }]);
    assert.doesNotThrow(() => d.q.kick());
    assert.equal(d.dev.stats.get("error:readable-after-writable"), 1);
    assert.equal(d.drv.status & 64, 64, "DEVICE_NEEDS_RESET");
    assert.equal(d.drv.readIsr() & 2, 2, "configuration change notification");
    assert.deepEqual(d.q.collect(), []);
    // After a reset the device works again; header R, status R (nothing writable at all).
    d.drv.negotiate(featureWords([F_VERSION_1]));
    const q = d.drv.setupQueue(0);
    d.drv.driverOk();
    q.add([{ data: header(VIRTIO_BLK_T_FLUSH, 0) }, { data: new Uint8Array(1) }]);
    q.kick();
    assert.equal(d.dev.stats.get("error:blk-no-status"), 1);
    assert.equal(d.drv.status & 64, 64);
  } finally {
    d.cleanup();
  }
});

test("virtio-blk: a full ring of requests still moves avail_event, so the next request notifies (2.7.10)", () => {
  // Regression: the request loop is bounded by the queue size; with every entry of the ring
  // available (blk-mq's queue depth equals the ring size with indirect descriptors), the loop
  // ended on its bound without the empty pop() that publishes avail_event: the driver's next
  // request saw vring_need_event() false and never notified, and the disk hung.
  const d = disk();
  try {
    const size = d.q.size;
    for (let i = 0; i < size; i++) {
      d.q.add([{ data: header(VIRTIO_BLK_T_FLUSH, 0) }, { writable: 1 }], { indirect: true });
    }
    d.q.kick();
    assert.equal(d.q.collect().length, size);
    assert.equal(d.q.availEvent, size & 0xffff, "avail_event = the next avail index the device will look at");
    // One more request: old avail idx `size`, new `size + 1`; the driver notifies only if
    // (new - avail_event - 1) < (new - old), i.e. avail_event === size.
    const oldIdx = size;
    const newIdx = size + 1;
    assert.equal(((newIdx - d.q.availEvent - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff), true);
    const r = submit(d.q, [{ data: header(VIRTIO_BLK_T_FLUSH, 0) }, { writable: 1 }]);
    assert.equal(r.status, VIRTIO_BLK_S_OK);
  } finally {
    d.cleanup();
  }
});
