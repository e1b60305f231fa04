// The real guest: Debian's 6.1 686 kernel and the busybox initramfs from `vmlab image build`.
// Runs only when the image cache exists ($VMLAB_CACHE or ~/.cache/vmlab/images) or when
// VMLAB_IMAGE_TESTS=1, in which case it builds the image first (apt-get: network).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { applyEntryState, loadPreparedKernel, parseBzImage, prepareKernel } from "../src/boot/index.js";
import { Cpu } from "../src/cpu/cpu.js";
import { buildImage, defaultImage, parseCpio, readManifest } from "../src/images/index.js";
import { GuestMemory } from "../src/memory/guest-memory.js";

const wanted = process.env.VMLAB_IMAGE_TESTS === "1";
const skip =
  defaultImage() === undefined && !wanted
    ? "no guest image cached: run `vmlab image build` or set VMLAB_IMAGE_TESTS=1 to fetch it"
    : false;

test("Debian 6.1 686 kernel: header, host-side xz decompression, vmlinux entry", {
  skip,
  timeout: 600_000,
}, async () => {
  if (defaultImage() === undefined) await buildImage({ log: () => {} });
  const img = defaultImage();
  assert.ok(img);
  const kernel = new Uint8Array(readFileSync(img.kernel));
  const bz = parseBzImage(kernel);
  assert.ok(bz.protocol >= 0x020f, `boot protocol ${bz.protocol.toString(16)}`);
  assert.equal(bz.payloadFormat, "xz");
  assert.ok(bz.relocatable);
  assert.equal(bz.prefAddress, 0x100_0000);
  const k = await prepareKernel(kernel, "vmlinux");
  assert.equal(k.vmlinux?.entry, 0x100_0000, "e_entry is physical startup_32");
  const initrd = new Uint8Array(readFileSync(img.initrd));
  const mem = new GuestMemory(128 << 20);
  const boot = loadPreparedKernel(mem, k, { cmdline: "console=ttyS0 acpi=off", initrd });
  assert.equal(boot.entry.eip, 0x100_0000);
  assert.ok(boot.kernelRange[1] <= (boot.initrd?.addr ?? 0), "initrd above the kernel");
  // startup_32 of the 6.1 i386 kernel begins with `mov pa(initial_stack), %ecx` (8B 0D).
  assert.deepEqual([mem.read8(0x100_0000), mem.read8(0x100_0001)], [0x8b, 0x0d]);
  const cpu = new Cpu(mem, { handleExit() {} });
  applyEntryState(cpu, boot.entry);
  assert.equal(cpu.regs[6], boot.layout.bootParams);

  const names = parseCpio(gunzipSync(initrd)).map((e) => e.name);
  assert.ok(names.includes("init"));
  const m = readManifest();
  for (const mod of [
    "e1000",
    "ne2k_pci",
    "8390",
    "pcnet32",
    "8139cp",
    "mii",
    "virtio_pci",
    "virtio_net",
    "virtio_blk",
  ]) {
    assert.ok(
      m?.modules.some((x) => x.name === mod),
      mod,
    );
  }
});
