// Image builder tests that need no network: the newc cpio writer (checked with GNU cpio when
// installed), .modinfo parsing and dependency resolution on synthetic modules, modules.dep,
// the initramfs tree and the /init script's syntax.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  buildCpio,
  buildModulesDep,
  execCmdlineArg,
  INIT_SCRIPT,
  initramfsEntries,
  parseCpio,
  readModinfo,
  resolveModules,
} from "../src/images/index.js";

/** A minimal ELF32 relocatable module: sections null, .modinfo, .shstrtab. */
function makeKo(modinfo: Record<string, string>): Uint8Array {
  const enc = new TextEncoder();
  const info = enc.encode(
    `${Object.entries(modinfo)
      .map(([k, v]) => `${k}=${v}`)
      .join("\0")}\0`,
  );
  const shstr = enc.encode("\0.modinfo\0.shstrtab\0");
  const infoOff = 52;
  const strOff = infoOff + info.length;
  const shoff = (strOff + shstr.length + 3) & ~3;
  const buf = new Uint8Array(shoff + 3 * 40);
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 1, true); // ET_REL
  v.setUint16(18, 3, true);
  v.setUint32(32, shoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(46, 40, true);
  v.setUint16(48, 3, true);
  v.setUint16(50, 2, true);
  buf.set(info, infoOff);
  buf.set(shstr, strOff);
  const sh = (i: number, name: number, type: number, off: number, size: number): void => {
    const o = shoff + i * 40;
    v.setUint32(o, name, true);
    v.setUint32(o + 4, type, true);
    v.setUint32(o + 16, off, true);
    v.setUint32(o + 20, size, true);
  };
  sh(1, 1, 1, infoOff, info.length);
  sh(2, 10, 3, strOff, shstr.length);
  return buf;
}

test("cpio newc: entries round-trip, padding to 4, trailer last", () => {
  const data = new TextEncoder().encode("hello\n");
  const a = buildCpio([
    { kind: "dir", path: "bin" },
    { kind: "file", path: "/bin/hello", data, mode: 0o755 },
    { kind: "symlink", path: "bin/sh", target: "busybox" },
    { kind: "chardev", path: "dev/console", major: 5, minor: 1 },
  ]);
  assert.equal(a.length % 4, 0);
  assert.equal(new TextDecoder().decode(a.subarray(0, 6)), "070701");
  const back = parseCpio(a);
  assert.deepEqual(
    back.map((e) => [e.name, e.mode.toString(8)]),
    [
      ["bin", "40755"],
      ["bin/hello", "100755"],
      ["bin/sh", "120777"],
      ["dev/console", "20600"],
    ],
  );
  assert.equal(new TextDecoder().decode(back[1]!.data), "hello\n");
  assert.equal(new TextDecoder().decode(back[2]!.data), "busybox");
  assert.deepEqual([back[3]!.rdevMajor, back[3]!.rdevMinor], [5, 1]);
  assert.throws(() => buildCpio([{ kind: "dir", path: "a/../b" }]), /bad cpio path/);
  assert.throws(
    () =>
      buildCpio([
        { kind: "dir", path: "a" },
        { kind: "dir", path: "a" },
      ]),
    /duplicate/,
  );
});

test("cpio newc: GNU cpio lists what we wrote (skipped without cpio)", (t) => {
  const a = buildCpio([
    { kind: "dir", path: "etc" },
    { kind: "file", path: "etc/x", data: new Uint8Array(5) },
    { kind: "symlink", path: "l", target: "etc/x" },
  ]);
  const r = spawnSync("cpio", ["-t", "--quiet"], { input: a, encoding: "utf8" });
  if (r.error) {
    t.skip("cpio is not installed (apt-get install cpio)");
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["etc", "etc/x", "l"]);
});

test(".modinfo: key=value strings from the ELF section", () => {
  const info = readModinfo(
    makeKo({ name: "virtio_net", depends: "virtio_ring,virtio,net_failover", alias: "x" }),
  );
  assert.deepEqual(info.get("depends"), ["virtio_ring,virtio,net_failover"]);
  assert.deepEqual(info.get("name"), ["virtio_net"]);
});

test("modules: dependency closure from depends=, .ko.xz, built-ins, modules.dep", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-mods-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (rel: string, data: Uint8Array): void => {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), data);
  };
  const ver = "6.1.0-test 686 SMP";
  put("kernel/net/core/failover.ko", makeKo({ name: "failover", depends: "", vermagic: ver }));
  put(
    "kernel/drivers/net/net_failover.ko",
    makeKo({ name: "net_failover", depends: "failover", vermagic: ver }),
  );
  put("kernel/drivers/virtio/virtio.ko", makeKo({ name: "virtio", depends: "", vermagic: ver }));
  const ring = makeKo({ name: "virtio_ring", depends: "virtio", vermagic: ver });
  const xz = spawnSync("xz", ["--check=crc32", "-c"], { input: ring });
  if (xz.error) put("kernel/drivers/virtio/virtio_ring.ko", ring);
  else put("kernel/drivers/virtio/virtio_ring.ko.xz", new Uint8Array(xz.stdout));
  put(
    "kernel/drivers/net/virtio_net.ko",
    makeKo({ name: "virtio_net", depends: "virtio_ring,virtio,net_failover,crc32c_builtin", vermagic: ver }),
  );
  put(
    "kernel/drivers/net/ethernet/8390/ne2k-pci.ko",
    makeKo({ name: "ne2k_pci", depends: "8390", vermagic: ver }),
  );
  put("kernel/drivers/net/ethernet/8390/8390.ko", makeKo({ name: "8390", depends: "", vermagic: ver }));
  writeFileSync(join(dir, "modules.builtin"), "kernel/lib/crc32c_builtin.ko\n");

  const set = await resolveModules(dir, ["virtio_net", "ne2k-pci"]);
  const names = set.order.map((m) => m.name);
  for (const m of set.order) {
    for (const d of m.depends) assert.ok(names.indexOf(d) < names.indexOf(m.name), `${d} before ${m.name}`);
  }
  assert.deepEqual(
    new Set(names),
    new Set(["virtio", "virtio_ring", "failover", "net_failover", "virtio_net", "8390", "ne2k_pci"]),
  );
  assert.equal(
    set.order.find((m) => m.name === "virtio_ring")?.relPath,
    "kernel/drivers/virtio/virtio_ring.ko",
  );
  assert.deepEqual(set.sequences.get("ne2k_pci"), ["8390", "ne2k_pci"]);
  assert.equal(set.sequences.get("virtio_net")?.at(-1), "virtio_net");
  const dep = buildModulesDep(set);
  assert.match(
    dep,
    /^kernel\/drivers\/net\/ethernet\/8390\/ne2k-pci\.ko: kernel\/drivers\/net\/ethernet\/8390\/8390\.ko$/m,
  );
  assert.match(dep, /^kernel\/drivers\/virtio\/virtio\.ko:$/m);
  // modprobe loads the listed dependencies from last to first: virtio must come last.
  const vnet = dep.split("\n").find((l) => l.startsWith("kernel/drivers/net/virtio_net.ko:"))!;
  assert.ok(vnet.trimEnd().endsWith("kernel/drivers/virtio/virtio.ko"), vnet);

  await assert.rejects(resolveModules(dir, ["e1000"]), /"e1000" is neither/);

  const entries = initramfsEntries("6.1.0-test", new Uint8Array([0x7f, 0x45]), set);
  const cpio = parseCpio(buildCpio(entries));
  const paths = cpio.map((e) => e.name);
  for (const p of [
    "init",
    "bin/busybox",
    "bin/sh",
    "dev/console",
    "etc/vmlab/drivers",
    "lib/modules/6.1.0-test/modules.dep",
  ]) {
    assert.ok(paths.includes(p), p);
  }
  assert.ok(paths.includes("lib/modules/6.1.0-test/kernel/drivers/net/ethernet/8390/ne2k-pci.ko"));
  const drivers = new TextDecoder().decode(cpio.find((e) => e.name === "etc/vmlab/drivers")!.data);
  assert.match(
    drivers,
    /^ne2k_pci kernel\/drivers\/net\/ethernet\/8390\/8390\.ko kernel\/drivers\/net\/ethernet\/8390\/ne2k-pci\.ko$/m,
  );
  // Every directory precedes its contents (the kernel's unpacker needs parents first).
  const seen = new Set<string>();
  for (const p of paths) {
    const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    assert.ok(parent === "" || seen.has(parent), `${p} before its directory`);
    seen.add(p);
  }
});

test("/init is valid sh and reads vmlab.exec as base64", (t) => {
  assert.ok(INIT_SCRIPT.startsWith("#!/bin/sh\n"));
  assert.match(INIT_SCRIPT, /vmlab-exit-status: \$\?/);
  assert.match(INIT_SCRIPT, /reboot -f/);
  assert.match(INIT_SCRIPT, /setsid cttyhack sh/);
  assert.equal(
    execCmdlineArg("echo hi; exit 3"),
    `vmlab.exec=${Buffer.from("echo hi; exit 3").toString("base64")}`,
  );
  const r = spawnSync("sh", ["-n"], { input: INIT_SCRIPT, encoding: "utf8" });
  if (r.error) {
    t.skip("no host sh");
    return;
  }
  assert.equal(r.status, 0, r.stderr);
});

test("module signatures are stripped: the trailer's lengths are honoured, unsigned modules untouched", async () => {
  const { stripModuleSignature } = await import("../src/images/index.js");
  const body = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 4]);
  const sig = new Uint8Array(300).fill(0xaa);
  const info = new Uint8Array(12);
  new DataView(info.buffer).setUint32(8, sig.length, false);
  const magic = new TextEncoder().encode("~Module signature appended~\n");
  const signed = new Uint8Array([...body, ...sig, ...info, ...magic]);
  assert.deepEqual(Array.from(stripModuleSignature(signed)), Array.from(body));
  assert.equal(stripModuleSignature(body), body);
  // A trailer claiming more bytes than the file has is left alone.
  new DataView(info.buffer).setUint32(8, 1 << 20, false);
  const bogus = new Uint8Array([...body, ...info, ...magic]);
  assert.equal(stripModuleSignature(bogus).length, bogus.length);
});
