// pcap capture: a PcapWriter on a switch port records both directions; the file is parsed back
// (frame count, bytes, timestamps from a fake clock) and, when tshark is installed, opened by it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { captureBackend, LINKTYPE_ETHERNET, PcapWriter, readPcap } from "../src/net/pcap.js";
import { SwitchPortBackend } from "../src/net/port-backend.js";
import { VirtualSwitch } from "../src/net/switch.js";

const hasTshark = spawnSync("tshark", ["--version"], { stdio: "ignore" }).status === 0;

function frame(dst: number, src: number, len: number, fill: number): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.set([0x02, 0, 0, 0, 0, dst], 0);
  f.set([0x02, 0, 0, 0, 0, src], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

test("a port capture records both directions, readable back and by tshark", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-pcap-"));
  try {
    const path = join(dir, "port.pcap");
    let now = 5e9;
    const pcap = new PcapWriter(path, { clock: { nowNs: () => now }, epochNs: 1_700_000_000e9 });
    const sw = new VirtualSwitch();
    const a = sw.addRingPort("a");
    const b = sw.addRingPort("b");
    sw.capture(a.id, pcap);
    const va = new SwitchPortBackend(a.description);
    const vb = new SwitchPortBackend(b.description);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      // 150 frames each way, lengths 60..1514, the clock advancing 1.5 ms per frame.
      const out = i % 2 === 0;
      const f = out
        ? frame(2, 1, 60 + ((i * 97) % 1455), i & 0xff)
        : frame(1, 2, 60 + ((i * 53) % 1455), i & 0xff);
      (out ? va : vb).send(f);
      sw.poll();
      sent.push(f);
      now += 1.5e6;
    }
    // Frames from other ports to other ports are not recorded on port a.
    const c = sw.addRingPort("c");
    new SwitchPortBackend(c.description).send(frame(2, 3, 100, 0));
    sw.poll();
    pcap.close();
    assert.equal(pcap.frames, 300);

    const file = readPcap(new Uint8Array(readFileSync(path)));
    assert.equal(file.linktype, LINKTYPE_ETHERNET);
    assert.equal(file.snaplen, 65535);
    assert.equal(file.records.length, 300);
    let bytes = 0;
    for (let i = 0; i < 300; i++) {
      const r = file.records[i]!;
      assert.deepEqual(r.data, sent[i], `record ${i}`);
      assert.equal(r.origLen, sent[i]!.length);
      const ns = 1_700_000_000e9 + i * 1.5e6;
      assert.equal(r.tsSec, Math.floor(ns / 1e9));
      assert.ok(Math.abs(r.tsUsec - Math.floor((ns % 1e9) / 1e3)) <= 1, `record ${i} usec ${r.tsUsec}`);
      bytes += r.data.length;
    }
    assert.equal(bytes, pcap.bytes);
    assert.equal(readFileSync(path).length, 24 + 16 * 300 + bytes);

    if (hasTshark) {
      const t = spawnSync("tshark", ["-r", path, "-T", "fields", "-e", "frame.len", "-e", "eth.src"], {
        encoding: "utf8",
      });
      assert.equal(t.status, 0, t.stderr);
      const lines = t.stdout.trim().split("\n");
      assert.equal(lines.length, 300);
      for (let i = 0; i < 300; i++) {
        const [len, src] = lines[i]!.split("\t");
        assert.equal(Number(len), sent[i]!.length);
        assert.equal(src, i % 2 === 0 ? "02:00:00:00:00:01" : "02:00:00:00:00:02");
      }
      console.log("tshark read the capture");
    } else {
      console.log("tshark not installed: capture checked by readPcap only");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("snaplen truncates records but keeps the original length; captureBackend taps a NIC", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmlab-pcap-"));
  try {
    const path = join(dir, "nic.pcap");
    const pcap = new PcapWriter(path, { snaplen: 64 });
    const sw = new VirtualSwitch();
    const a = sw.addLocalBackend();
    const b = sw.addLocalBackend();
    const tapped = captureBackend(a, pcap);
    let got = 0;
    tapped.setReceiver(() => ++got > 0);
    b.setReceiver(() => true);
    tapped.send(frame(2, 1, 1000, 7));
    b.send(frame(1, 2, 200, 8));
    pcap.close();
    assert.equal(got, 1);
    const file = readPcap(new Uint8Array(readFileSync(path)));
    assert.deepEqual(
      file.records.map((r) => [r.data.length, r.origLen]),
      [
        [64, 1000],
        [64, 200],
      ],
    );
    assert.ok(Math.abs(file.records[0]!.tsSec - Date.now() / 1000) < 60, "host wall time");
    assert.throws(() => readPcap(new Uint8Array(10)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
