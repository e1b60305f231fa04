// Two vmlab processes, each booting the Debian guest with the same NIC model, joined on one
// named virtual switch: they ping each other and move 16 MiB over TCP (busybox nc), and the
// md5 the receiver computes equals the md5 of the same stream computed on the host.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NIC_MODELS } from "../src/machine/nics.js";
import { REPO_ROOT } from "./repo-root.js";

const vmlab = join(REPO_ROOT, "bin", "vmlab.js");
const BYTES = 16 * 1024 * 1024;

/** Boot a VM; `killAfter` stops it (after `graceMs`) if it has not ended by itself. */
function vm(args: string[]): {
  done: Promise<{ status: number | null; out: string }>;
  killAfter(graceMs: number): void;
} {
  const child = spawn(process.execPath, [vmlab, "run", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const killAfter = (graceMs: number) => {
    setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  };
  const done = new Promise<{ status: number | null; out: string }>((resolve) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("latin1");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
  });
  return { done, killAfter };
}

/** The stream the sender writes: busybox `yes 0123456789abcdef | head -c BYTES`. */
function expectedMd5(): string {
  const line = "0123456789abcdef\n";
  const h = createHash("md5");
  const chunk = line.repeat(4096);
  let left = BYTES;
  while (left > 0) {
    const n = Math.min(left, chunk.length);
    h.update(chunk.slice(0, n));
    left -= n;
  }
  return h.digest("hex");
}

/**
 * What tshark (Wireshark's reader) sees in the receiver's capture: the number of TCP
 * conversations, and the payload bytes and the first payload of the stream to port 5000.
 */
function tsharkStream(pcap: string): { conversations: number; payloadBytes: number; firstPayload: string } {
  const run = (args: string[]): string => {
    const r = spawnSync("tshark", ["-n", "-r", pcap, ...args], { encoding: "utf8", maxBuffer: 256 << 20 });
    assert.equal(r.error, undefined, `tshark: ${r.error?.message} (setup.sh installs it)`);
    assert.equal(r.status, 0, `tshark ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  // "-z conv,tcp" prints one line per conversation: "A:port <-> B:port  frames bytes ...".
  const conversations = run(["-q", "-z", "conv,tcp"])
    .split("\n")
    .filter((l) => /<->/.test(l)).length;
  const lens = run([
    "-Y",
    "tcp.dstport == 5000 && tcp.len > 0",
    "-T",
    "fields",
    "-e",
    "tcp.len",
    "-e",
    "tcp.payload",
  ])
    .trim()
    .split("\n");
  let payloadBytes = 0;
  for (const l of lens) payloadBytes += Number(l.split("\t")[0]);
  const firstPayload = Buffer.from(lens[0]?.split("\t")[1]?.replace(/:/g, "") ?? "", "hex").toString(
    "latin1",
  );
  return { conversations, payloadBytes, firstPayload };
}

for (const model of NIC_MODELS) {
  const name = `${model}: two VMs on a named switch ping each other and move 16 MiB over TCP intact`;
  test(name, async () => {
    const net = `test-${model}-${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), "vmlab-pair-"));
    const pcap = join(dir, "receiver.pcap");
    const receiver = vm([
      "--nic",
      model,
      "--net",
      net,
      "--pcap",
      pcap,
      "--exec",
      // After its checks the receiver tells the sender it may stop (port 5001), retrying
      // until the sender listens.
      "ip addr add 10.9.0.1/24 dev eth0; ip link set eth0 up; nc -l -p 5000 | md5sum; ping -c 3 10.9.0.2; " +
        "for i in $(seq 30); do echo done | nc 10.9.0.2 5001 && break; sleep 1; done",
    ]);
    const sender = vm([
      "--nic",
      model,
      "--net",
      net,
      "--exec",
      // The two VMs boot in their own time: the sender waits until the receiver answers (a
      // fixed sleep is too short on a loaded host) and until its listener takes the stream,
      // and stays up until the receiver has pinged it back and says so on port 5001.
      "ip addr add 10.9.0.2/24 dev eth0; ip link set eth0 up; " +
        "for i in $(seq 120); do ping -c 1 -W 1 10.9.0.1 >/dev/null && break; done; ping -c 3 10.9.0.1; " +
        `for i in $(seq 10); do yes 0123456789abcdef | head -c ${BYTES} | nc 10.9.0.1 5000 && break; sleep 1; done; ` +
        "nc -l -p 5001",
    ]);
    // The sender waits for the receiver's word and each waits for the other: when one VM has
    // ended, the other gets two minutes to end too, then is stopped (and the test fails on its
    // status) rather than left to the 15-minute limit.
    void receiver.done.then(() => sender.killAfter(120_000));
    void sender.done.then(() => receiver.killAfter(120_000));
    const [r, s] = await Promise.all([receiver.done, sender.done]);
    const both = `sender:\n${s.out.slice(-2000)}\nreceiver:\n${r.out.slice(-2000)}`;
    assert.equal(s.status, 0, both);
    assert.equal(r.status, 0, both);
    assert.match(s.out, /3 packets transmitted, [23] packets received/, `sender pings receiver\n${both}`);
    assert.match(r.out, /3 packets transmitted, [23] packets received/, `receiver pings sender\n${both}`);
    assert.match(r.out, new RegExp(`${expectedMd5()} {2}-`), `the receiver's md5 of the stream\n${both}`);
    // The capture opens in tshark and shows the stream: at least one TCP conversation, all of
    // the payload (retransmissions can add more), starting with the sender's first line.
    const seen = tsharkStream(pcap);
    assert.ok(seen.conversations >= 1, "tshark sees a TCP conversation");
    assert.ok(seen.payloadBytes >= BYTES, `tshark sees ${seen.payloadBytes} payload bytes to port 5000`);
    assert.ok(
      seen.firstPayload.startsWith("0123456789abcdef\n"),
      `first payload ${JSON.stringify(seen.firstPayload.slice(0, 40))}`,
    );
    rmSync(dir, { recursive: true, force: true });
  });
}
