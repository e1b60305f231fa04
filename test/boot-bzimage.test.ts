// Linux loader tests on synthetic kernels: header parsing and its errors, boot_params field
// offsets, the e820 map, xz (x86 BCJ + LZMA2) and gzip payloads, both entry paths, and the
// CPU entry state.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { bcjX86Decode } from "../src/boot/bcj-x86.js";
import {
  applyEntryState,
  BootImageError,
  buildE820Map,
  decompressXz,
  E820Type,
  Hdr,
  loadLinux,
  parseBzImage,
  parseVmlinux,
  prepareKernel,
  ZeroPage,
} from "../src/boot/index.js";
import { Cpu, CS, DS, SS } from "../src/cpu/cpu.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import { makeBzImage, makeVmlinux } from "./boot-fixture.js";

/** makeVmlinux() compressed with `xz --check=crc32 --x86 --lzma2=dict=64KiB` (xz 5.4.1). */
const VMLINUX_XZ_B64 =
  "/Td6WFoAAAFpIt42AgEEACEBCADSuXTL4CP/COFdAD+RRYRoO97epg8j1uiCe1dq8yIFWlXmY+/H1VzCxeSXk8MvVVydyzI+SN+B" +
  "kd0FQPNrua9xaiX9aYZtdSaZELt6FK3A9x/iVSogVwn/86KmykA+IaKiUOrqawKPqzNApa8NPWYIW/UHDd/PxFW4UT1hvXcZNM+K" +
  "WE/LOhYtzYe6gPfOoLs8VI04Sk9cS2pirXbPJtU1N6FylfE0uUak0dcnr6SoHICKiI9nQAnD83P4Jc8Df8R1yQrK7joSEMSnU9fD" +
  "VCfrKtBouGsNkDrL/fPIaqQMpIzSI1nzswRBO5j7Tn7pCMXneOYTjeHtItcY6ukDjQ374gregpBrHKXWJZjAUehut0oFnKkp6oKC" +
  "SKX6uizGKJsIejYOXfUJyuGGWWV0OpFT5gQMN594nkatUpIBKjyb272fjyJ83vLEfrRIJ2REiKxXrln1aTofPbUqob/oZbkx1+EW" +
  "HW/W43al5ewt0RddeH3qrbPcbIQWQN5lWgKE+gX0N8DzSno+MQtiBrpXOSZxNDQzUk+LlqLIEd/NOFsywn5Nw/lIEva42dp7dXwq" +
  "Ssnpxme7JqlP9tUImvdEZfDvDnFQW5TMFuaAGIWVO8a/SfB+ifMnqIEviHF03Hx9KEU8kesq9exq+U74HZ7P1nSAvS4sPARVjhCz" +
  "wTCWbmVP7a9fc2TZ3eveuLITVzDnrI3N0VjkmI7QbJzMvEgqXvgJ51zPUFYvC9yQ9yOjcct5kwzcTGykLxPEpnn38bEmtuDcY2Va" +
  "Ahk+UDcl/zGjzfOs8xHHWQ8njEvedWcTVNsV0pC4Ki2ygTjUfFccf6lCDTKS6WKBoVwoUKM/rvCHkNmsJow5aIIl7kJYx3nHi8m9" +
  "td2kbC1bkDieNtZLL+bwInLF8PpgALg03/xBhGdTe+nJ04hPKNGkvNAuWnGUih/IreYYIrxYDjklR2gsdStPbhwY74xBfLYvA0aa" +
  "LHuL8oGk6PsxPLS/NYCsLgKsUcFBkQ7ls/+97mqVyEHLNrprIK7SK0h7t8GS5LWpUl0vKyLnoej2UMrhYPQ5/q3ss63urG7iolrg" +
  "jbAiPRyG1mYuMGmu0MmVXd97ExnI53M3siGvzS3fUJSnh18aJ+HHBQeN98oZjwly//bZzcxkgxmVpTztB6vo1D81DPjOmFJuaEc5" +
  "kBLNntY25lhVZYZq6DebcT0qKWmJ544AOgfrErolkAij+HCdw9jCy7xKgC8tarxPXXkalBaanAYySkrYcTnZrcd2oHW9+g6mJJyx" +
  "tdXj6YF9EiSyeGE3r3bgnddsgm5dNenQbigFkqHPtJHY0HNhdTjuL2RhtjJezfHaliw9vpJ0yzGxSsS+3b/0NGhlKCK+h06+ZsrQ" +
  "qYgehVDg2LzR+JC0jq3It+BvWnPHepdaIn02Ld6S4lBBQNd3kX8ARmFdg4hQqXe9VE98upGlW5Atos+009TJw1HhyipZcOkXWoBJ" +
  "byzwt7rsrHKqvsxWejE0hDRRoK/xSp63xcuFE+1mdcvRRtdOKjz2Vz1sIXtTHsZviHmVrWf4Akhem/G23oC3vRAbAbBJ5Dof2G/A" +
  "TlTaY9L/Sjgok68O6YUwQfGe07fT0XKwTeXOp7MFMFCXnoF6iG1Sa2uifg2S7UhpRgxiJ4x745DLm9jbmsHlRtF2VzHpGMtcoye3" +
  "KWsVgJYHzkqFq8dMshWXIBPaQwJ0yP2hP3BbeaGHSduc16irSTSitMjwFSUesJNEf1u1R8S64MuYu8VldMsf9Yv3IGsBVPbe+yl8" +
  "XlRnXltJvQ9c5f9vk9ddpcchAp3c7LOCHvNlykHy3vpydRJUUpufCGcjwr19ErlsmSN/waxY+3Ees0jr97aLJk5Bdv3qvvkdEZFx" +
  "73l7Y6g0VnnYqccE28E35uZihNbjQOM+y1fEbHP8JedJwDv2qqLcAdhOBo0++0Q3nZlZwM9wyGWOhU/G3W88C12bj47eoahXu0Hl" +
  "qqaInhKmdhU3Dc9MVtSbk9AXunDWrlg3bUyHPeKCeH/KZ1CgroYIKPRuspFTM4lmSSLYI8u7UizuUo/JSRuNypJqBLic8p1kT0tj" +
  "5OFumfiJZEfsXC/ea5HGajl16zCIJZdz+6nN9ydxhE6cCcRxLIAvp2t4cvlHNXU+lT7QQtdwNDNcIrPyjCz4HKBwU7AdP/2oISRW" +
  "gs4naAMs6JiztQakdua38PhDBGb5EoV7Af4QIL6oJJqUMxjxcJWp/9hxhFqRy0NfSuuvLQbNgFt/n9epicBJtu+8nMsch+lmIyea" +
  "fMnAi9urusc5kD5R2s3b4xPBi9EwbV3Mi+O4h9dVLe4V0TkDujZop5R+hdMBSXAnr1Xji/HZUn30dtEinWVXQ157EsYD14NWRJA2" +
  "/+J15T/3NFBTNlYvRx4tPpQqhBEIjc/nY1i2iKbVolks6MP08BI54Pbt9bLPV02rDUC/yDzmSQzuBh+PSJkei002Z+vy1Eexi+F+" +
  "GUYXWEKzOuVTYp23D9dnqJI34dZBJrTUdfZq3KlQnOc0czOahb6vnlx1e3tjrOB0uYGnyovn/zJGuVc5MM0C5mKH1Bh5IgMiknws" +
  "5MeVfYCR72jNKK5x+hwI8E8kNwX9YRGhkTeI9u0md9Dqc0CT/S3qS0woI2K6Jxo6YJvx7/1MtquFSDLc4w09L/4+qRjlZpfjwyzh" +
  "BiwnFOnEcooT46wUZvXcWq+ekQKoFI/agHaPUPg5cIC1riDTHekj8XpSq0hehcz30nfl0K86bkPsdX0U1VUJrsr0IGfPhU8PJJHM" +
  "FBSW3KlQMYLnWLag9w1m7CSJcXnjegEV7bhj9Zki70jy9oYpt3A59yZnw+8+bgTfZf665wg6BTiBLR9SklzWqXODatIufFDI0nty" +
  "2kJ8WdQ/+/ko9kDOIbP6GzcnUf6mz/Qc8YJ1VH/4nxGYpfvOomBmTUkYAqgVXbm5LFWDwnk7kYHdOVR4YCqGIY1hLPcBxmMqePTK" +
  "7TxaUJgO2cjl2q1XeZnDYJ0sJuKzcPKPUNlPcU4sdh8Q1VRz9JTJFeKiLWp5O4+sPmVVXU3pAAAAAIOXGssAAfkRgEgAAH1ImD8+" +
  "MA2LAgAAAAABWVo=";

const vmlinuxXz = (): Uint8Array => new Uint8Array(Buffer.from(VMLINUX_XZ_B64, "base64"));
const MiB = 1 << 20;

function rejects(fn: () => unknown, kind: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BootImageError, `expected BootImageError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test("parses the setup header of a 2.15 bzImage", () => {
  const img = parseBzImage(makeBzImage(vmlinuxXz(), {}, makeVmlinux().length));
  assert.equal(img.protocol, 0x020f);
  assert.equal(img.setupSects, 2);
  assert.equal(img.setupSize, 3 * 512);
  assert.equal(img.code32Start, 0x10_0000);
  assert.equal(img.cmdlineSize, 2047);
  assert.equal(img.kernelAlignment, 0x100_0000);
  assert.ok(img.relocatable);
  assert.equal(img.initSize, 0x80_0000);
  assert.equal(img.payloadFormat, "xz");
  assert.equal(img.kernelVersion, "6.1.0-test (synthetic) #1");
  assert.equal(img.setupHeader.length, 0x26c - 0x1f1);
});

test("setup_sects 0 means 4", () => {
  assert.equal(parseBzImage(makeBzImage(vmlinuxXz(), { setupSects: 0 })).setupSize, 5 * 512);
});

test("bad, old or truncated images fail with a BootImageError that says what is wrong", () => {
  const good = makeBzImage(vmlinuxXz());
  rejects(() => parseBzImage(new Uint8Array(100)), "truncated", /too short/);
  rejects(() => parseBzImage(makeBzImage(vmlinuxXz(), { magic: 0x12345678 })), "bad-magic", /HdrS/);
  rejects(() => parseBzImage(makeBzImage(vmlinuxXz(), { bootFlag: 0 })), "bad-magic", /boot_flag/);
  rejects(
    () => parseBzImage(makeBzImage(vmlinuxXz(), { protocol: 0x0203 })),
    "unsupported",
    /2\.03 is older than 2\.04/,
  );
  rejects(() => parseBzImage(makeBzImage(vmlinuxXz(), { loadflags: 0 })), "unsupported", /LOADED_HIGH/);
  rejects(() => parseBzImage(makeBzImage(vmlinuxXz(), { syssizeDelta: 100 })), "truncated", /syssize/);
  rejects(() => parseBzImage(makeBzImage(vmlinuxXz(), { payloadLengthDelta: 64 })), "truncated", /payload/);
  const manySects = good.slice();
  manySects[0x1f1] = 200;
  rejects(() => parseBzImage(manySects), "truncated", /setup_sects=200/);
  rejects(
    () => parseBzImage(makeBzImage(vmlinuxXz(), { kernelAlignment: 0x3000 })),
    "corrupt",
    /power of two/,
  );
  // Every prefix of a good image either parses or fails with a BootImageError, never anything else.
  for (let n = 0; n < good.length; n += 97) {
    try {
      parseBzImage(good.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof BootImageError, `prefix ${n}: ${String(e)}`);
    }
  }
});

test("payload formats the loader cannot decompress are named", async () => {
  const cases: [number[], RegExp][] = [
    [[0x02, 0x21, 0x4c, 0x18, 0, 0], /lz4-compressed/],
    [[0x28, 0xb5, 0x2f, 0xfd, 0, 0], /zstd-compressed/],
    [[0x42, 0x5a, 0x68, 0x39, 0, 0], /bzip2-compressed/],
    [[0x5d, 0, 0, 0x80, 0, 0], /lzma-compressed/],
    [[0x89, 0x4c, 0x5a, 0x4f, 0, 0], /lzo-compressed/],
  ];
  for (const [magic, re] of cases) {
    await assert.rejects(prepareKernel(makeBzImage(Uint8Array.from(magic))), (e: unknown) => {
      assert.ok(e instanceof BootImageError);
      assert.equal(e.kind, "unsupported");
      assert.match(e.message, re);
      assert.match(e.message, /decompressor/);
      return true;
    });
  }
});

test("xz payload with the x86 BCJ filter decompresses to the original ELF", async () => {
  const out = await decompressXz(vmlinuxXz());
  assert.deepEqual(Buffer.from(out), Buffer.from(makeVmlinux()));
});

test("a corrupt or truncated xz stream is a BootImageError", async () => {
  const xz = vmlinuxXz();
  for (const pos of [3, 9, 14, xz.length / 2, xz.length - 20, xz.length - 3]) {
    const bad = xz.slice();
    bad[Math.floor(pos)]! ^= 0x40;
    await assert.rejects(decompressXz(bad), BootImageError, `flipped byte ${pos}`);
  }
  for (const n of [0, 10, 100, xz.length - 1]) {
    await assert.rejects(decompressXz(xz.subarray(0, n)), BootImageError, `prefix ${n}`);
  }
});

test("the x86 BCJ decoder turns absolute CALL/JMP targets back into relative ones", () => {
  // E8 at offset 0x10 with absolute target 0x1234 -> rel = 0x1234 - (0x10 + 5).
  const buf = new Uint8Array(0x20);
  buf.set([0xe8, 0x34, 0x12, 0x00, 0x00], 0x10);
  bcjX86Decode(buf);
  assert.deepEqual([...buf.subarray(0x11, 0x15)], [0x1f, 0x12, 0x00, 0x00]);
  // The start offset counts as the position of byte 0; targets are sign-extended from bit 24.
  const b2 = new Uint8Array(16);
  b2.set([0xe8, 0x00, 0x00, 0x00, 0x00], 0);
  bcjX86Decode(b2, 0x100);
  assert.deepEqual([...b2.subarray(1, 5)], [0xfb, 0xfe, 0xff, 0xff]);
  // The last four bytes are never converted.
  const b3 = Uint8Array.from([0, 0, 0, 0xe8, 1, 2, 3]);
  bcjX86Decode(b3);
  assert.deepEqual([...b3], [0, 0, 0, 0xe8, 1, 2, 3]);
});

test("xz from the host's xz tool round-trips through every check type (skipped without xz)", async (t) => {
  const data = makeVmlinux(0x8000, 0x1000, 0);
  for (const check of ["none", "crc32", "crc64", "sha256"]) {
    const r = spawnSync("xz", [`--check=${check}`, "--x86", "--lzma2=preset=6,dict=32MiB", "-c"], {
      input: data,
    });
    if (r.error) {
      t.skip("xz is not installed");
      return;
    }
    assert.deepEqual(Buffer.from(await decompressXz(new Uint8Array(r.stdout))), Buffer.from(data), check);
  }
});

test("host-side path: a gzip payload is decompressed and the ELF loaded at p_paddr", async () => {
  const elf = makeVmlinux();
  const mem = new GuestMemory(64 * MiB);
  mem.fill(0x100_1000 + 0x400, 0x1000, 0xaa); // the BSS must be cleared
  const boot = await loadLinux(mem, makeBzImage(gzipSync(elf), {}, elf.length), { cmdline: "console=ttyS0" });
  assert.equal(boot.entry.eip, 0x100_0000);
  assert.deepEqual(Buffer.from(mem.readBytes(0x100_0000, 0x1000)), Buffer.from(elf.subarray(0x1000, 0x2000)));
  assert.deepEqual(Buffer.from(mem.readBytes(0x100_1000, 0x400)), Buffer.from(elf.subarray(0x2000, 0x2400)));
  assert.ok(
    mem.readBytes(0x100_1400, 0x1000).every((b) => b === 0),
    "BSS zeroed",
  );
  assert.deepEqual(boot.kernelRange, [0x100_0000, 0x180_0000], "init_size counts from the load address");
});

test("host-side path with the xz fixture; ELF validation against the buffer", async () => {
  const mem = new GuestMemory(32 * MiB);
  const boot = await loadLinux(mem, makeBzImage(vmlinuxXz(), {}, makeVmlinux().length));
  assert.equal(boot.entry.eip, 0x100_0000);
  const elf = makeVmlinux();
  const v = new DataView(elf.buffer);
  v.setUint32(52 + 16, 0x10_0000, true); // p_filesz past the end
  rejects(() => parseVmlinux(elf), "truncated", /PT_LOAD segment 0/);
  const e2 = makeVmlinux();
  new DataView(e2.buffer).setUint32(24, 0x500_0000, true);
  rejects(() => parseVmlinux(e2), "corrupt", /entry/);
  rejects(() => parseVmlinux(e2.subarray(0, 40)), "truncated", /ELF header/);
});

test("boot_params: setup header copied at 0x1F1, loader fields at their zero-page offsets", async () => {
  const elf = makeVmlinux();
  const bz = makeBzImage(gzipSync(elf), {}, elf.length);
  const mem = new GuestMemory(64 * MiB);
  const initrd = new Uint8Array(10_000).fill(7);
  const boot = await loadLinux(mem, bz, { cmdline: "console=ttyS0 quiet", initrd });
  const bp = boot.layout.bootParams;
  assert.equal(bp, 0x7000);
  assert.deepEqual(
    Buffer.from(mem.readBytes(bp + 0x1f1, 0x26c - 0x1f1)).subarray(0, 0x1f),
    Buffer.from(bz.subarray(0x1f1, 0x210)),
  );
  assert.equal(mem.read32(bp + Hdr.HEADER), 0x53726448);
  assert.equal(mem.read8(bp + ZeroPage.SENTINEL), 0, "sentinel stays 0");
  assert.equal(mem.read8(bp + Hdr.TYPE_OF_LOADER), 0xff);
  assert.equal(mem.read8(bp + Hdr.LOADFLAGS), 0x81, "LOADED_HIGH | CAN_USE_HEAP");
  assert.equal(mem.read16(bp + Hdr.HEAP_END_PTR), 0xfe00);
  assert.equal(mem.read32(bp + Hdr.CMD_LINE_PTR), 0x2_0000);
  assert.equal(new TextDecoder().decode(mem.readBytes(0x2_0000, 19)), "console=ttyS0 quiet");
  assert.equal(mem.read8(0x2_0000 + 19), 0);
  const rdAddr = mem.read32(bp + Hdr.RAMDISK_IMAGE);
  assert.equal(mem.read32(bp + Hdr.RAMDISK_SIZE), 10_000);
  assert.equal(rdAddr % 4096, 0);
  assert.equal(rdAddr, 64 * MiB - 12 * 1024, "top of RAM, 4 KiB aligned");
  assert.equal(mem.read8(rdAddr + 9999), 7);
  assert.equal(mem.read32(bp + ZeroPage.ALT_MEM_K), 63 * 1024);
  assert.equal(mem.read16(bp + ZeroPage.EXT_MEM_K), 63 * 1024);
  assert.equal(mem.read8(bp + ZeroPage.ORIG_VIDEO_IS_VGA), 0, "headless");
  assert.equal(mem.read8(bp + 0x0e), 0, "orig_video_lines 0: vgacon stays off");
  // e820 at 0x2D0, 20 bytes per entry, count at 0x1E8.
  assert.equal(mem.read8(bp + ZeroPage.E820_ENTRIES), 4);
  const entry = (i: number): [number, number, number] => {
    const o = bp + 0x2d0 + i * 20;
    return [
      mem.read32(o) + mem.read32(o + 4) * 2 ** 32,
      mem.read32(o + 8) + mem.read32(o + 12) * 2 ** 32,
      mem.read32(o + 16),
    ];
  };
  assert.deepEqual(entry(0), [0, 0x9fc00, 1]);
  assert.deepEqual(entry(1), [0x9fc00, 0x400, 2]);
  assert.deepEqual(entry(2), [0xf0000, 0x10000, 2]);
  assert.deepEqual(entry(3), [0x100000, 63 * MiB, 1]);
  // The boot GDT: 0x10 flat code, 0x18 flat data.
  assert.equal(mem.read32(0x5000 + 0x10), 0x0000ffff);
  assert.equal(mem.read32(0x5000 + 0x14), 0x00cf9b00);
  assert.equal(mem.read32(0x5000 + 0x1c), 0x00cf9300);
});

test("e820: the PC map, minus the caller's reservations", () => {
  assert.deepEqual(buildE820Map(128 * MiB), [
    { addr: 0, size: 0x9fc00, type: E820Type.RAM },
    { addr: 0x9fc00, size: 0x400, type: E820Type.RESERVED },
    { addr: 0xf0000, size: 0x10000, type: E820Type.RESERVED },
    { addr: 0x100000, size: 127 * MiB, type: E820Type.RAM },
  ]);
  const m = buildE820Map(128 * MiB, [
    { addr: 127 * MiB, size: MiB, type: E820Type.ACPI },
    { addr: 0x80000, size: 0x1000 },
  ]);
  assert.deepEqual(m, [
    { addr: 0, size: 0x80000, type: 1 },
    { addr: 0x80000, size: 0x1000, type: 2 },
    { addr: 0x81000, size: 0x9fc00 - 0x81000, type: 1 },
    { addr: 0x9fc00, size: 0x400, type: 2 },
    { addr: 0xf0000, size: 0x10000, type: 2 },
    { addr: 0x100000, size: 126 * MiB, type: 1 },
    { addr: 127 * MiB, size: MiB, type: 3 },
  ]);
});

test("the kernel, command line and initrd must fit: no-room errors", async () => {
  const elf = makeVmlinux();
  const bz = makeBzImage(gzipSync(elf), {}, elf.length);
  await assert.rejects(loadLinux(new GuestMemory(16 * MiB), bz), /no-room|not inside usable RAM/);
  await assert.rejects(
    loadLinux(new GuestMemory(32 * MiB), bz, { cmdline: "x".repeat(2048) }),
    /cmdline_size = 2047/,
  );
  await assert.rejects(
    loadLinux(new GuestMemory(32 * MiB), bz, { initrd: new Uint8Array(9 * MiB) }),
    /initrd/,
  );
  await assert.rejects(
    loadLinux(new GuestMemory(32 * MiB), bz, { layout: { bootParams: 0x100_0800 } }),
    /overlaps the kernel/,
  );
});

test("decompressor path: protected-mode code at code32_start, entered there", async () => {
  const bz = makeBzImage(vmlinuxXz(), { initSize: 0x40_0000 });
  const mem = new GuestMemory(32 * MiB);
  const boot = await loadLinux(mem, bz, { entryPath: "decompressor", initrd: new Uint8Array(4096) });
  assert.equal(boot.entry.eip, 0x10_0000);
  assert.equal(mem.read8(0x10_0000), 0x90);
  assert.deepEqual(boot.kernelRange, [0x10_0000, 0x140_0000], "output buffer = pref_address + init_size");
  assert.equal(boot.initrd?.addr, 32 * MiB - 4096);
});

test("applyEntryState: 32-bit flat protected mode, ESI = boot_params, IF = 0, paging off", async () => {
  const elf = makeVmlinux();
  const mem = new GuestMemory(32 * MiB);
  const boot = await loadLinux(mem, makeBzImage(gzipSync(elf), {}, elf.length));
  const cpu = new Cpu(mem, { handleExit() {} });
  cpu.regs[3] = 99;
  applyEntryState(cpu, boot.entry);
  assert.equal(cpu.eip, 0x100_0000);
  assert.equal(cpu.regs[6], 0x7000, "ESI");
  assert.equal(cpu.regs[3], 0, "EBX");
  assert.equal(cpu.regs[5], 0, "EBP");
  assert.equal(cpu.regs[7], 0, "EDI");
  assert.equal(cpu.segSel[CS], 0x10);
  assert.equal(cpu.segSel[DS], 0x18);
  assert.equal(cpu.segSel[SS], 0x18);
  assert.equal(cpu.segAccess[CS], 0xc09b);
  assert.equal(cpu.segAccess[SS], 0xc093);
  assert.equal(cpu.segBase[CS], 0);
  assert.equal(cpu.segLimit[DS]! >>> 0, 0xffff_ffff);
  assert.ok(cpu.protectedMode && !cpu.pagingEnabled);
  assert.ok(cpu.codeSize32 && cpu.stackSize32);
  assert.equal(cpu.getEflags() & 0x200, 0, "IF clear");
  assert.equal(cpu.cpl, 0);
  assert.equal(cpu.gdtrBase, 0x5000);
  assert.equal(cpu.gdtrLimit, 31);
});
