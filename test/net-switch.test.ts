// The learning switch: learning, flooding, aging, filtering, bad lengths, drop-not-block on a
// slow port, a hostile ring; two worker threads exchanging 10,000 checksummed frames; two (then
// three) Node processes joining one named switch, including hub fail-over.
//
// This file is also the worker script and the child-process script (it checks which it is
// before registering any test), so the test needs no fixture file.
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { FrameRing } from "../src/net/frame-ring.js";
import { joinNamedSwitch, namedSwitchAddress } from "../src/net/named.js";
import { SwitchPortBackend } from "../src/net/port-backend.js";
import { type SwitchPortDescription, VirtualSwitch } from "../src/net/switch.js";

// ---------------------------------------------------------------------------------------------
// The peer protocol used by the worker and process tests: data frames (EtherType 0x88b5) carry
// a sequence number, a pseudo-random payload and an FNV-1a checksum; the receiver returns
// cumulative acks (0x88b6); the sender keeps at most WINDOW frames unacknowledged, so the rings
// never overflow and every frame must arrive, in order, intact.

const DATA_TYPE = 0x88b5;
const ACK_TYPE = 0x88b6;
const WINDOW = 64;

const mac = (n: number): number[] => [0x02, 0, 0, 0, 0, n];

function fnv1a(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function dataLen(seq: number): number {
  return 60 + ((seq * 7919) % 1455); // 60 .. 1514
}

function buildData(buf: Uint8Array, seq: number, dst: number, src: number): number {
  const len = dataLen(seq);
  buf.set(mac(dst), 0);
  buf.set(mac(src), 6);
  buf[12] = DATA_TYPE >> 8;
  buf[13] = DATA_TYPE & 0xff;
  const dv = new DataView(buf.buffer, buf.byteOffset);
  dv.setUint32(14, seq);
  let x = (seq + 1) * 0x9e3779b1;
  for (let i = 18; i < len - 4; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  dv.setUint32(len - 4, fnv1a(buf, 14, len - 4));
  return len;
}

function checkData(f: Uint8Array, seq: number): string | undefined {
  const dv = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (f.length !== dataLen(seq)) return `seq ${seq}: length ${f.length}, expected ${dataLen(seq)}`;
  if (fnv1a(f, 14, f.length - 4) !== dv.getUint32(f.length - 4)) return `seq ${seq}: bad checksum`;
  return undefined;
}

interface PeerResult {
  sent: number;
  received: number;
  errors: string[];
  txDrops: number;
  rxDrops: number;
  /** Frames that arrived after a lost one (discarded; go-back-N resends them). */
  gaps: number;
  /** Go-back-N restarts after 300 ms without ack progress. */
  retransmits: number;
}

async function runPeer(
  desc: SwitchPortDescription,
  me: number,
  peer: number,
  count: number,
): Promise<PeerResult> {
  const be = new SwitchPortBackend(desc);
  let received = 0;
  let acked = 0;
  let sent = 0;
  let lastAck = 0;
  let gaps = 0;
  let retransmits = 0;
  let ackProgressAt = performance.now();
  const errors: string[] = [];
  be.setReceiver((f) => {
    // Only frames from the peer count (a port reused by a later run may still hold a previous
    // peer's late acks).
    if (f[11] !== peer || f[5] !== me) return true;
    const type = (f[12]! << 8) | f[13]!;
    if (type === DATA_TYPE) {
      const seq = new DataView(f.buffer, f.byteOffset).getUint32(14);
      if (seq === received) {
        const err = checkData(f, seq);
        if (err !== undefined && errors.length < 10) errors.push(err);
        received++;
      } else if (seq > received) {
        gaps++;
      }
    } else if (type === ACK_TYPE) {
      const n = new DataView(f.buffer, f.byteOffset).getUint32(14);
      if (n > acked && n <= sent) {
        acked = n;
        ackProgressAt = performance.now();
      }
    }
    return true;
  });
  const tx = new Uint8Array(1514);
  const ack = new Uint8Array(60);
  ack.set(mac(peer), 0);
  ack.set(mac(me), 6);
  ack[12] = ACK_TYPE >> 8;
  ack[13] = ACK_TYPE & 0xff;
  const sendAck = () => {
    new DataView(ack.buffer).setUint32(14, received);
    if (be.send(ack)) lastAck = received;
  };
  const deadline = performance.now() + 60_000;
  let idle = 0;
  while (received < count || acked < count) {
    if (performance.now() > deadline) {
      errors.push(`timeout: sent ${sent} acked ${acked} received ${received}`);
      break;
    }
    let progress = false;
    if (sent > acked && performance.now() - ackProgressAt > 300) {
      sent = acked; // go-back-N: frames were lost (only expected while a hub fails over)
      retransmits++;
      ackProgressAt = performance.now();
    }
    while (sent < count && sent - acked < WINDOW) {
      const len = buildData(tx, sent, peer, me);
      if (!be.canSend(len)) break;
      assert.ok(be.send(tx.subarray(0, len)));
      sent++;
      progress = true;
    }
    if (be.poll() > 0) progress = true;
    if (received !== lastAck && (received - lastAck >= 16 || received === count || !progress)) sendAck();
    if (progress) {
      idle = 0;
      // Yield: in a child process the switch and its sockets share this event loop.
      await new Promise((r) => setImmediate(r));
    } else {
      if (++idle % 20 === 0) sendAck(); // re-send a possibly lost cumulative ack
      await (be.waitForFrames(10) ?? Promise.resolve());
    }
  }
  // Linger briefly so the peer gets our last ack even if one was lost.
  for (let i = 0; i < 3; i++) {
    sendAck();
    be.poll();
    await new Promise((r) => setTimeout(r, 10));
  }
  return { sent, received, errors, txDrops: be.stats.txDrops, rxDrops: be.stats.rxDrops, gaps, retransmits };
}

// ---------------------------------------------------------------------------------------------
// Entry points when this file runs as a worker or as a child process.

const CHILD_ENV = "VMLAB_NET_TEST_CHILD";

if (!isMainThread) {
  const { desc, me, peer, count } = workerData as {
    desc: SwitchPortDescription;
    me: number;
    peer: number;
    count: number;
  };
  runPeer(desc, me, peer, count).then((r) => parentPort!.postMessage(r));
} else if (process.env[CHILD_ENV] !== undefined) {
  childMain();
} else {
  registerTests();
}

type ChildMsg =
  | { cmd: "join"; name: string; socketDir?: string }
  | { cmd: "run"; me: number; peer: number; count: number }
  | { cmd: "exit" };

function childMain(): void {
  let handle: Awaited<ReturnType<typeof joinNamedSwitch>> | undefined;
  process.on("message", async (m: ChildMsg) => {
    if (m.cmd === "join") {
      handle = await joinNamedSwitch(m.name, m.socketDir === undefined ? {} : { socketDir: m.socketDir });
      process.send!({ role: handle.role() });
    } else if (m.cmd === "run") {
      const r = await runPeer(handle!.description, m.me, m.peer, m.count);
      process.send!({ result: r, role: handle!.role() });
    } else {
      handle?.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------

function frame(dst: number[], src: number[], len = 60): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  return f;
}

const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** A switch with `n` sink ports that record what they receive. */
function sinkSwitch(n: number, opts: ConstructorParameters<typeof VirtualSwitch>[0] = {}) {
  const sw = new VirtualSwitch(opts);
  const got: Uint8Array[][] = [];
  for (let i = 0; i < n; i++) {
    const list: Uint8Array[] = [];
    got.push(list);
    sw.attach((f) => {
      list.push(f.slice());
      return true;
    });
  }
  const counts = () => got.map((g) => g.length);
  const clear = () => {
    for (const g of got) g.length = 0;
  };
  return { sw, got, counts, clear };
}

function workerFor(data: unknown): Worker {
  const url = import.meta.url;
  // Under tsx (sources), the worker must load tsx's loader before this .ts file.
  if (url.endsWith(".ts")) {
    const code = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
    return new Worker(code, { eval: true, workerData: data });
  }
  return new Worker(new URL(url), { workerData: data });
}

function forkChild(): ChildProcess {
  return fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, [CHILD_ENV]: "1" },
    execArgv: process.execArgv.filter((a) => !a.startsWith("--test")),
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}

function ask<T>(child: ChildProcess, msg: ChildMsg): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as T));
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before answering ${msg.cmd}`)));
    child.send(msg);
  });
}

function registerTests(): void {
  test("unknown unicast floods; learning then forwards to one port only", () => {
    const { sw, counts, clear } = sinkSwitch(4);
    sw.input(0, frame(mac(2), mac(1))); // 1 -> 2: unknown, flooded to ports 1..3
    assert.deepEqual(counts(), [0, 1, 1, 1]);
    clear();
    sw.input(2, frame(mac(1), mac(2))); // 2 -> 1: MAC 1 learned on port 0
    assert.deepEqual(counts(), [1, 0, 0, 0]);
    clear();
    sw.input(0, frame(mac(2), mac(1))); // MAC 2 now learned on port 2
    assert.deepEqual(counts(), [0, 0, 1, 0]);
    assert.equal(sw.lookup(new Uint8Array(mac(1))), 0);
    assert.equal(sw.lookup(new Uint8Array(mac(2))), 2);
    assert.equal(sw.portStats(0).rxFrames, 2);
    assert.equal(sw.portStats(2).txFrames, 2);
    assert.equal(sw.portStats(3).txFrames, 1);
  });

  test("broadcast and multicast flood to every other port; a station moving is re-learned", () => {
    const { sw, counts, clear } = sinkSwitch(3);
    sw.input(1, frame(mac(2), mac(1)));
    clear();
    sw.input(0, frame(mac(1), mac(2))); // learned MAC 2 at port 0, MAC 1 at port 1
    clear();
    sw.input(0, frame(BCAST, mac(2)));
    assert.deepEqual(counts(), [0, 1, 1]);
    clear();
    sw.input(1, frame([0x01, 0x00, 0x5e, 0, 0, 1], mac(1)));
    assert.deepEqual(counts(), [1, 0, 1]);
    clear();
    // Multicast source addresses are never learned.
    sw.input(2, frame(BCAST, [0x03, 0, 0, 0, 0, 9]));
    assert.equal(sw.lookup(new Uint8Array([0x03, 0, 0, 0, 0, 9])), undefined);
    clear();
    sw.input(2, frame(BCAST, mac(2))); // MAC 2 moved to port 2
    clear();
    sw.input(1, frame(mac(2), mac(1)));
    assert.deepEqual(counts(), [0, 0, 1]);
  });

  test("entries age out (fake clock) and the table size is bounded", () => {
    let now = 0;
    const { sw, counts, clear } = sinkSwitch(3, {
      clock: { nowNs: () => now },
      agingNs: 1e9,
      maxMacEntries: 4,
    });
    sw.input(0, frame(BCAST, mac(1)));
    clear();
    sw.input(1, frame(mac(1), mac(2)));
    assert.deepEqual(counts(), [1, 0, 0]);
    clear();
    now = 2e9; // past the 1 s ageing time
    sw.input(1, frame(mac(1), mac(2)));
    assert.deepEqual(counts(), [1, 0, 1], "aged out: flooded again");
    for (let i = 10; i < 20; i++) sw.input(2, frame(BCAST, mac(i)));
    assert.ok(sw.macTableSize <= 4);
    assert.ok(sw.learnRefused >= 7);
  });

  test("runts, giants and same-port destinations are dropped and counted", () => {
    const { sw, counts, clear } = sinkSwitch(2);
    assert.equal(sw.input(0, new Uint8Array(13)), false);
    assert.equal(sw.input(0, frame(BCAST, mac(1), 1523)), false);
    assert.equal(sw.portStats(0).rxBadLength, 2);
    assert.ok(sw.input(0, frame(BCAST, mac(1), 1522)));
    assert.ok(sw.input(0, frame(BCAST, mac(1), 14)));
    assert.deepEqual(counts(), [0, 2]);
    clear();
    sw.input(0, frame(BCAST, mac(2)));
    sw.input(0, frame(mac(2), mac(1))); // both stations behind port 0
    assert.deepEqual(counts(), [0, 1]);
    assert.equal(sw.portStats(0).rxFiltered, 1);
  });

  test("a slow port drops instead of blocking the sender", () => {
    const sw = new VirtualSwitch({ ringCapacity: 16 * 1024 });
    const a = sw.addRingPort("fast");
    const b = sw.addRingPort("slow");
    const va = new SwitchPortBackend(a.description);
    const vb = new SwitchPortBackend(b.description); // never polled until the end
    const f = frame(mac(2), mac(1), 1000);
    const N = 200;
    for (let i = 0; i < N; i++) {
      assert.ok(va.send(f), "the sender's own ring never fills: the switch drains it");
      assert.equal(sw.poll(), 1);
    }
    const st = sw.portStats(b.id);
    assert.ok(st.txDrops > 100, `drops counted: ${st.txDrops}`);
    assert.equal(st.txFrames + st.txDrops, N);
    assert.equal(st.txFrames, 16); // 16 KiB / 1004-byte records, rounded down
    assert.equal(sw.portStats(a.id).rxFrames, N);
    let got = 0;
    vb.setReceiver(() => ++got > 0);
    assert.equal(vb.poll(1000), st.txFrames);
    assert.equal(got, st.txFrames);
    // A receiver that refuses (no NIC buffer) counts drops on the VM side, visible to the switch.
    va.send(f);
    sw.poll();
    vb.setReceiver(() => false);
    vb.poll();
    assert.equal(vb.stats.rxDrops, 1);
    assert.equal(sw.allStats().find((p) => p.id === b.id)!.vmRxDrops, 1);
  });

  test("a hostile VM corrupting its ring disables its port only", () => {
    const { sw } = sinkSwitch(1);
    const bad = sw.addRingPort("hostile");
    const good = sw.addRingPort("good");
    const vbad = new SwitchPortBackend(bad.description);
    const vgood = new SwitchPortBackend(good.description);
    vbad.send(frame(BCAST, mac(6)));
    // The guest side rewrites the published record's length to 2^31 - 1.
    new Int32Array(bad.description.toSwitch, 128, 1)[0] = 0x7fff_ffff;
    assert.equal(sw.poll(), 0);
    assert.match(sw.portStats(bad.id).error ?? "", /corrupted frame length/);
    vgood.send(frame(BCAST, mac(7)));
    assert.equal(sw.poll(), 1);
    assert.equal(sw.portStats(0).txFrames, 1);
    // A VM whose incoming ring is corrupted stops receiving with an error, no hang.
    const i32 = new Int32Array(good.description.fromSwitch, 0, 32);
    i32[0] = 0x1000_0000;
    assert.equal(vgood.poll(), 0);
    assert.match(vgood.stats.error ?? "", /corrupted ring indices/);
    // and the switch, as producer of that ring, disables the port on its next delivery.
    sw.input(0, frame(BCAST, mac(1)));
    assert.match(sw.portStats(good.id).error ?? "", /corrupted ring indices/);
    assert.ok(new FrameRing(bad.description.toSwitch).capacity > 0);
  });

  test("two worker threads exchange 10,000 checksummed frames through the switch", {
    timeout: 120_000,
  }, async () => {
    const sw = new VirtualSwitch();
    const a = sw.addRingPort("vmA");
    const b = sw.addRingPort("vmB");
    const c = sw.addRingPort("idle"); // sees only the floods before each station is learned
    sw.start();
    const t0 = performance.now();
    const run = (desc: SwitchPortDescription, me: number, peer: number) =>
      new Promise<PeerResult>((resolve, reject) => {
        const w = workerFor({ desc, me, peer, count: 5000 });
        w.once("message", (r: PeerResult) => {
          resolve(r);
          void w.terminate();
        });
        w.once("error", reject);
        // A worker whose event loop empties exits with code 0 and no message: fail, don't hang.
        w.once("exit", (code) => reject(new Error(`worker exited (${code}) without a result`)));
      });
    let results: PeerResult[];
    try {
      results = await Promise.all([run(a.description, 1, 2), run(b.description, 2, 1)]);
    } finally {
      sw.stop(); // a running switch keeps this process alive
    }
    const [ra, rb] = results as [PeerResult, PeerResult];
    const ms = performance.now() - t0;
    for (const r of [ra, rb]) {
      assert.deepEqual(r.errors, []);
      assert.equal(r.received, 5000);
      assert.equal(r.sent, 5000);
      assert.equal(r.rxDrops, 0);
      assert.equal(r.gaps, 0, "no frame lost");
      assert.equal(r.retransmits, 0);
    }
    const sa = sw.portStats(a.id);
    const sb = sw.portStats(b.id);
    assert.equal(sa.txDrops + sb.txDrops, 0);
    assert.ok(sa.rxFrames >= 5000 && sb.rxFrames >= 5000);
    let bytes = 0;
    for (let i = 0; i < 5000; i++) bytes += dataLen(i);
    assert.ok(sa.rxBytes >= bytes);
    // At most each sender's first window goes out before its peer's MAC is learned.
    const flooded = sw.portStats(c.id).txFrames;
    assert.ok(flooded <= 2 * WINDOW, `idle port got ${flooded} of ${sa.rxFrames + sb.rxFrames} frames`);
    console.log(`10,000 frames, ${((2 * bytes) / 1048576).toFixed(1)} MiB in ${ms.toFixed(0)} ms`);
  });

  test("separate processes join one named switch, and it survives its hub exiting", {
    timeout: 120_000,
  }, async () => {
    const name = `test-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
    const p1 = forkChild();
    const p2 = forkChild();
    const p3 = forkChild();
    try {
      const r1 = await ask<{ role: string }>(p1, { cmd: "join", name });
      const r2 = await ask<{ role: string }>(p2, { cmd: "join", name });
      assert.deepEqual([r1.role, r2.role], ["hub", "client"]);
      type Res = { result: PeerResult; role: string };
      const [x1, x2] = await Promise.all([
        ask<Res>(p1, { cmd: "run", me: 1, peer: 2, count: 2000 }),
        ask<Res>(p2, { cmd: "run", me: 2, peer: 1, count: 2000 }),
      ]);
      for (const x of [x1, x2]) {
        assert.deepEqual(x.result.errors, []);
        assert.equal(x.result.received, 2000);
        assert.equal(x.result.gaps + x.result.retransmits, 0, "nothing lost between processes");
      }
      // The hub (first process) leaves; p2 re-elects itself or joins p3.
      p1.send({ cmd: "exit" });
      await new Promise((r) => p1.once("exit", r));
      const r3 = await ask<{ role: string }>(p3, { cmd: "join", name });
      const [y2, y3] = await Promise.all([
        ask<Res>(p2, { cmd: "run", me: 2, peer: 3, count: 1000 }),
        ask<Res>(p3, { cmd: "run", me: 3, peer: 2, count: 1000 }),
      ]);
      for (const y of [y2, y3]) {
        assert.deepEqual(y.result.errors, []);
        assert.equal(y.result.received, 1000);
      }
      assert.ok(["hub", "client"].includes(r3.role));
      assert.deepEqual([y2.role, y3.role].sort(), ["client", "hub"]);
    } finally {
      for (const p of [p1, p2, p3]) if (p.exitCode === null) p.kill();
    }
  });

  test("socket-file mode: a stale socket file is replaced, and processes still meet", {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmlab-net-"));
    const name = "stale";
    writeFileSync(join(dir, `${name}.sock`), "left behind by a crashed hub");
    const p1 = forkChild();
    const p2 = forkChild();
    try {
      const r1 = await ask<{ role: string }>(p1, { cmd: "join", name, socketDir: dir });
      const r2 = await ask<{ role: string }>(p2, { cmd: "join", name, socketDir: dir });
      assert.deepEqual([r1.role, r2.role], ["hub", "client"]);
      type Res = { result: PeerResult; role: string };
      const [x1, x2] = await Promise.all([
        ask<Res>(p1, { cmd: "run", me: 1, peer: 2, count: 500 }),
        ask<Res>(p2, { cmd: "run", me: 2, peer: 1, count: 500 }),
      ]);
      for (const x of [x1, x2]) {
        assert.deepEqual(x.result.errors, []);
        assert.equal(x.result.received, 500);
      }
    } finally {
      for (const p of [p1, p2]) if (p.exitCode === null) p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a hostile peer on the hub socket is disconnected; the switch keeps working", {
    timeout: 30_000,
  }, async () => {
    const name = `hostile-${process.pid}`;
    const a = await joinNamedSwitch(name);
    const b = await joinNamedSwitch(name);
    try {
      assert.equal(a.role(), "hub");
      assert.equal(a.switch, b.switch, "ports of one process share its switch");
      const closes = (payload: Buffer) =>
        new Promise<void>((resolve, reject) => {
          const s = createConnection({ path: namedSwitchAddress(name) });
          const timer = setTimeout(() => reject(new Error("hostile peer not disconnected")), 5000);
          s.on("error", () => {});
          s.resume(); // read (and discard) the hub's hello, so that its close is seen
          s.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
          s.write(payload);
        });
      await closes(Buffer.from("GET / HTTP/1.1\r\n\r\n")); // bad hello
      const hello = Buffer.alloc(8);
      hello.writeUInt32LE(0x4e4c4d56, 0);
      hello.writeUInt16LE(1, 4);
      const huge = Buffer.alloc(4);
      huge.writeUInt32LE(0xffff_fff0, 0);
      await closes(Buffer.concat([hello, huge])); // a 4 GiB frame length
      // The two local ports still talk (through this process's switch, started by join).
      const va = new SwitchPortBackend(a.description);
      const vb = new SwitchPortBackend(b.description);
      let got = 0;
      vb.setReceiver(() => ++got > 0);
      assert.ok(va.send(frame(BCAST, mac(1))));
      for (let i = 0; i < 100 && got === 0; i++) {
        await (vb.waitForFrames(50) ?? Promise.resolve());
        vb.poll();
      }
      assert.equal(got, 1);
    } finally {
      a.close();
      b.close();
    }
  });
}
