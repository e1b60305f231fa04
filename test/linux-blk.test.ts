// virtio-blk with the guest's own virtio_blk driver: one boot writes raw data to /dev/vda and
// exits; the data is in the host file afterwards, and a second boot reads it back.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "./repo-root.js";

const vmlab = join(REPO_ROOT, "bin", "vmlab.js");

function run(disk: string, command: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [vmlab, "run", "--disk", disk, "--exec", command], {
    encoding: "utf8",
    timeout: 600_000,
  });
  return { status: r.status, out: `${r.stdout}\n${r.stderr.slice(-1500)}` };
}

test("virtio-blk: a write survives vmlab's exit and a second boot reads it back", () => {
  const disk = join(mkdtempSync(join(tmpdir(), "vmlab-blk-")), "disk.img");
  writeFileSync(disk, new Uint8Array(8 * 1024 * 1024));
  const token = `vmlab-blk-${process.pid}-${Date.now()}`;
  const w = run(
    disk,
    `echo ${token} | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null; cat /sys/block/vda/size`,
  );
  assert.equal(w.status, 0, w.out);
  assert.match(w.out, /^16384\r?$/m, "capacity in 512-byte sectors");
  const bytes = readFileSync(disk);
  assert.equal(
    bytes.subarray(2048 * 512, 2048 * 512 + token.length).toString("latin1"),
    token,
    "in the host file",
  );
  const r = run(disk, "dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | head -1");
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`^${token}\\r?$`, "m"));
});
