// `vmlab bench net`: the guest commands and their parsing, the session that drives a pair
// (scripted consoles, no VM), QEMU's command line, and one real small run through the CLI
// (e1000, 1 MiB, vmlab and QEMU) whose JSON must hold both rows with sane figures.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { NetBenchReport } from "../src/bench/net-bench.js";
import {
  netGuestCmdline,
  parseByteSize,
  parseDevLine,
  parseNetInfo,
  receiverCommand,
  senderCommand,
  streamMd5,
} from "../src/bench/net-guest.js";
import { qemuNetArgs } from "../src/bench/net-qemu.js";
import { NetPairSession } from "../src/bench/net-session.js";
import { DEFAULT_KERNEL_ARGS, execCmdlineArg } from "../src/images/index.js";
import { REPO_ROOT } from "./repo-root.js";

test("sizes, /proc/net/dev lines and info lines parse", () => {
  assert.equal(parseByteSize("16M"), 16 * 1024 * 1024);
  assert.equal(parseByteSize("512k"), 512 * 1024);
  assert.equal(parseByteSize("1.5MiB"), 1.5 * 1024 * 1024);
  assert.equal(parseByteSize("1000000"), 1_000_000);
  assert.equal(parseByteSize("16X"), undefined);
  assert.deepEqual(
    parseDevLine(
      "  eth0:17595950   12222    0    0    0     0          0         0    43622     656    0    0",
    ),
    { rxBytes: 17595950, rxPackets: 12222, txBytes: 43622, txPackets: 656 },
  );
  assert.equal(parseDevLine("  lo: 1 2 3"), undefined);
  assert.deepEqual(parseNetInfo(`vmlab-net: received-md5 ${"a".repeat(32)}  -`), {
    kind: "received-md5",
    md5: "a".repeat(32),
  });
  assert.deepEqual(parseNetInfo("vmlab-net: nc-status 1"), { kind: "nc-status", status: 1 });
  assert.equal(parseNetInfo("vmlab-init: running: ..."), undefined);
});

test("the host's md5 of the stream is that of `yes 0123456789abcdef | head -c N`", () => {
  const n = 70_001;
  const text = "0123456789abcdef\n".repeat(Math.ceil(n / 17)).slice(0, n);
  assert.equal(streamMd5(n), createHash("md5").update(text).digest("hex"));
});

test("the guest commands: one line each, marks around the transfer, the model's modules on the command line", () => {
  const r = receiverCommand();
  const s = senderCommand(1024);
  for (const c of [r, s]) {
    assert.ok(!c.includes("\n"));
    assert.match(c, /echo "vmlab-mark: start".*echo "vmlab-mark: end"/);
  }
  assert.match(r, /nc -l -p 5000 <>\/tmp\/in \| md5sum >\/tmp\/md5 & until/);
  assert.match(s, /head -c 1024 >\/tmp\/stream/);
  assert.equal(
    netGuestCmdline("virtio-net", "true"),
    `${DEFAULT_KERNEL_ARGS} vmlab.modules=virtio_pci,virtio_net ${execCmdlineArg("true")}`,
  );
});

test("QEMU's pair: the receiver listens, the sender connects, the same NIC on each", () => {
  const c = {
    model: "ne2k" as const,
    bytes: 1024,
    kernel: "k",
    initrd: "i",
    memoryMiB: 64,
    mitigation: true,
    setupTimeoutMs: 1,
    transferTimeoutMs: 1,
    label: "t",
  };
  const r = qemuNetArgs(c, "receiver", 4321);
  const s = qemuNetArgs(c, "sender", 4321);
  assert.equal(r[r.indexOf("-netdev") + 1], "socket,id=n0,listen=127.0.0.1:4321");
  assert.equal(s[s.indexOf("-netdev") + 1], "socket,id=n0,connect=127.0.0.1:4321");
  assert.equal(r[r.indexOf("-device") + 1], "ne2k_pci,netdev=n0,mac=52:54:00:09:00:01");
  assert.equal(s[s.indexOf("-device") + 1], "ne2k_pci,netdev=n0,mac=52:54:00:09:00:02");
  assert.match(r[r.indexOf("-append") + 1]!, /vmlab\.modules=ne2k_pci vmlab\.exec=/);
  const e = qemuNetArgs({ ...c, model: "e1000", mitigation: false }, "sender", 1);
  assert.equal(e[e.indexOf("-device") + 1], "e1000,netdev=n0,mac=52:54:00:09:00:02,mitigation=off");
});

const md5 = "c".repeat(32);

test("the session says 'go' to the receiver once both are ready, to the sender after the receiver's mark", async () => {
  const sent: string[] = [];
  const s = new NetPairSession({
    label: "t",
    setupTimeoutMs: 60_000,
    transferTimeoutMs: 60_000,
    marksFromConsole: true,
    send: (role, text) => sent.push(`${role}:${text.trim()}`),
    log: () => {},
  });
  s.feed("receiver", "vmlab-init: started\r\nvmlab-net: listening\r\n");
  s.feed("sender", `vmlab-net: sent-md5 ${md5}  -\r\n`);
  assert.deepEqual(sent, []);
  s.feed("sender", "vmlab-net: ready\r\n");
  assert.deepEqual(sent, ["receiver:go"]);
  s.feed("receiver", "go\r\nvmlab-net: dev eth0: 1 2 0 0 0 0 0 0 3 4\r\nvmlab-mark: start\r\n", 1000);
  assert.deepEqual(sent, ["receiver:go", "sender:go"]);
  s.feed("sender", "go\r\nvmlab-mark: start\r\n", 2000);
  s.feed(
    "receiver",
    `vmlab-mark: end\r\nvmlab-net: received-md5 ${md5}  -\r\nvmlab-exit-status: 0\r\n`,
    5000,
  );
  assert.equal(s.done, false);
  s.feed("sender", "vmlab-mark: end\r\nvmlab-net: nc-status 0\r\n", 5010);
  assert.deepEqual(await s.finished, { ok: true });
  assert.equal(s.consoles.sender.marks.start?.hostMs, 2000);
  assert.equal(s.consoles.receiver.marks.end?.hostMs, 5000);
  assert.equal(s.consoles.receiver.devs.length, 1);
});

test("the session fails with the stage it was in when a guest stops early", async () => {
  const s = new NetPairSession({
    label: "t",
    setupTimeoutMs: 60_000,
    transferTimeoutMs: 60_000,
    marksFromConsole: true,
    send: () => {},
    log: () => {},
  });
  s.feed("receiver", "vmlab-init: started\nvmlab-net: listening\n");
  s.feed("sender", `vmlab-init: started\nvmlab-net: sent-md5 ${md5}  -\n`);
  s.ended("sender", "VM stopped: triple-fault");
  const o = await s.finished;
  assert.equal(o.ok, false);
  assert.match(
    (o as { reason: string }).reason,
    /^sender stopped \(VM stopped: triple-fault\): sender gets no ping reply from 10\.9\.0\.1$/,
  );
});

test("vmlab bench net --models e1000 --bytes 1M: vmlab and QEMU rows, md5 ok, figures from the VMs' counters", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-bench-net-"));
  const json = join(dir, "net.json");
  const bytes = 1024 * 1024;
  const { status, out, err } = await new Promise<{ status: number | null; out: string; err: string }>(
    (resolve) => {
      const child = spawn(
        process.execPath,
        [
          join(REPO_ROOT, "bin", "vmlab.js"),
          "bench",
          "net",
          "--models",
          "e1000",
          "--bytes",
          "1M",
          "--json",
          json,
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ status: code, out, err });
      });
    },
  );
  assert.equal(status, 0, `${out}\n${err.slice(-3000)}`);
  assert.match(out, /^e1000\s+vmlab\s+ok\s/m, out);
  assert.match(out, /^e1000\s+qemu\s+ok\s/m, out);

  const report = JSON.parse(readFileSync(json, "utf8")) as NetBenchReport;
  assert.equal(report.bytes, bytes);
  const row = (engine: string) => report.rows.find((r) => r.model === "e1000" && r.engine === engine);
  for (const engine of ["vmlab", "qemu"]) {
    const run = row(engine)?.runs[0];
    assert.ok(run !== undefined, `a ${engine} row`);
    assert.equal(run.status, "ok", `${engine}: ${run.failure}`);
    assert.ok(run.md5.ok && run.md5.sender === report.expectedMd5 && run.md5.receiver === report.expectedMd5);
    assert.ok(run.mbps !== undefined && run.mbps > 0, `${engine} throughput`);
    assert.ok(run.frames !== undefined && run.frames >= bytes / 1514, `${engine} frames: ${run.frames}`);
  }
  const v = row("vmlab")!.runs[0]!;
  assert.ok(v.instrPerByte!.sender > 0 && v.instrPerByte!.receiver > 0);
  const reasons = v.exits!.byReason.map((r) => r.reason);
  assert.ok(
    reasons.includes("IO_INSTRUCTION") || reasons.includes("EPT_VIOLATION"),
    `exit reasons: ${reasons.join(" ")}`,
  );
  assert.ok(v.exits!.perFrame > 0 && v.interrupts!.perFrame > 0);
  // e1000 is an MMIO device: its register accesses are EPT_VIOLATION exits.
  assert.ok(reasons.includes("EPT_VIOLATION"));
  assert.ok(row("vmlab")!.vsQemu !== undefined);
});
