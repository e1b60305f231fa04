// The virtio fuzz target (STYLE.md practice 9): thousands of random driver steps, no exception
// may escape the device. Fixed seeds, so a failure replays.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzVirtio } from "../src/devices/virtio/testing/fuzz.js";

for (const device of ["net", "blk"] as const) {
  for (const seed of [1, 2, 3]) {
    test(`fuzz: virtio-${device}, seed ${seed}, 3000 iterations, nothing escapes`, () => {
      const r = fuzzVirtio({ seed, iterations: 3000, device });
      const stats = new Map(r.stats);
      // The run must reach deep states, or it proves nothing: kicks, completed work, device errors.
      assert.ok((stats.get("write:queue_notify") ?? 0) > 50, "notifications");
      assert.ok(
        [...stats.keys()].some((k) => k.startsWith("error:")),
        "guest errors detected",
      );
      assert.ok((stats.get("device:needs-reset") ?? 0) > 0, "some device errors");
      const work =
        device === "net"
          ? (stats.get("tx:frames") ?? 0) + (stats.get("rx:frames") ?? 0)
          : (stats.get("blk:requests") ?? 0);
      assert.ok(work > 0, "some real work done");
    });
  }
}
