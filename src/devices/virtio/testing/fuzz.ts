/**
 * The virtio fuzz target (STYLE.md practice 9): a seeded random driver that mixes a correct
 * driver's steps (negotiate, set up queues, add buffers, kick) with hostile ones (random
 * common-config and device-config writes, random bytes in the descriptor table and the rings,
 * random available indices, notifications of any offset, random frames from the network,
 * configuration-space writes to the capabilities) for N iterations. The property: no exception
 * escapes the device, whatever the guest does. Errors of the driver mock itself
 * (DriverMockError, e.g. "no free descriptor") are the fuzzer's problem and are skipped.
 *
 * Reproducible: the same seed replays the same run; a failure names the seed and iteration.
 */

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessWidth } from "../../../bus/device.js";
import { backToBack } from "../../../net/backend.js";
import { VirtioBlk } from "../blk.js";
import { VirtioNet } from "../net.js";
import type { VirtioPciDevice } from "../pci-transport.js";
import { DriverMockError, type MockBuffer, type MockQueue } from "./driver-mock.js";
import { type VirtioHarness, virtioHarness } from "./harness.js";

export interface FuzzOptions {
  readonly seed: number;
  readonly iterations: number;
  readonly device: "net" | "blk";
}

export interface FuzzReport {
  readonly iterations: number;
  /** Device statistics at the end (error kinds hit, frames, requests ...). */
  readonly stats: [string, number][];
  /** Driver-mock preconditions that failed (skipped steps). */
  readonly skipped: number;
}

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RAM = 4 << 20;

export function fuzzVirtio(options: FuzzOptions): FuzzReport {
  const rnd = prng(options.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const widths: AccessWidth[] = [1, 2, 4];
  const interesting = [0, 1, 2, 0xff, 0xffff, 0x7fff, 0x8000, 0xffffffff, 0x80000000, RAM - 16, RAM, 0x10000];
  const value = () => (rnd() < 0.5 ? pick(interesting) : (rnd() * 0x1_0000_0000) >>> 0);

  let dir: string | undefined;
  let peerSend: ((f: Uint8Array) => boolean) | undefined;
  let h: VirtioHarness<VirtioPciDevice>;
  if (options.device === "net") {
    const [guestSide, wire] = backToBack();
    wire.setReceiver(() => rnd() < 0.9);
    peerSend = (f) => wire.send(f);
    h = virtioHarness((memory) => new VirtioNet({ memory, backend: guestSide, queueSize: 16 }), {
      ramSize: RAM,
    });
  } else {
    dir = mkdtempSync(join(tmpdir(), "vmlab-virtio-fuzz-"));
    const path = join(dir, "disk.img");
    writeFileSync(path, new Uint8Array(64 * 512));
    closeSync(openSync(path, "r"));
    h = virtioHarness((memory) => new VirtioBlk({ memory, path, queueSize: 16 }), { ramSize: RAM });
  }
  const { drv, dev, memory } = h;
  const nq = dev.queues.length;
  let skipped = 0;
  const queues: (MockQueue | undefined)[] = [];

  const setup = () => {
    drv.cfgWrite(0x04, 2, 0x0006); // memory decoding and bus mastering back on
    const f0 = rnd() < 0.8 ? drv.deviceFeaturesWord(0) : value();
    const f1 = rnd() < 0.9 ? 1 : value();
    if (!drv.negotiate([f0, f1], rnd() < 0.1)) return;
    for (let i = 0; i < nq; i++) queues[i] = drv.setupQueue(i, pick([undefined, 2, 4, 8, 16]));
    if (rnd() < 0.95) drv.driverOk();
  };

  const randomBuffers = (q: MockQueue): MockBuffer[] => {
    const n = 1 + int(Math.min(4, q.freeCount));
    const out: MockBuffer[] = [];
    if (options.device === "blk") {
      const hdr = new Uint8Array(16);
      const v = new DataView(hdr.buffer);
      v.setUint32(0, pick([0, 1, 4, 8, 99]), true);
      v.setUint32(8, pick([0, 1, 63, 64, 0xffffffff, int(80)]), true);
      v.setUint32(12, rnd() < 0.9 ? 0 : value(), true);
      out.push({ data: hdr });
      if (rnd() < 0.5) out.push({ data: new Uint8Array(pick([0, 512, 1024, 100])) });
      else out.push({ writable: pick([0, 512, 1024, 20, 100]) });
      out.push({ writable: 1 });
      return out;
    }
    const hostile = rnd() < 0.1;
    if (q.index === 0) {
      // Receive buffers: device-writable (mostly)
      for (let i = 0; i < n; i++)
        out.push(hostile && rnd() < 0.5 ? { data: new Uint8Array(8) } : { writable: 12 + int(2000) });
    } else {
      out.push({ data: new Uint8Array(12).fill(hostile ? int(256) : 0) });
      for (let i = 1; i < n; i++)
        out.push(hostile && rnd() < 0.5 ? { writable: 8 } : { data: new Uint8Array(int(600)) });
    }
    return out;
  };

  const ringArea = (q: MockQueue): [number, number] => {
    switch (int(3)) {
      case 0:
        return [q.desc, 16 * q.size];
      case 1:
        return [q.avail, 6 + 2 * q.size];
      default:
        return [q.used, 6 + 8 * q.size];
    }
  };

  const step = () => {
    const q = queues[int(nq)];
    const r = rnd();
    // A correct driver most of the time, so the hostile steps hit a device in deep states.
    // DRIVER_OK | FEATURES_OK without FAILED or DEVICE_NEEDS_RESET, else start over as Linux would.
    if (((drv.status & 0xcc) !== 0x0c || (drv.cfgRead(0x04, 2) & 6) !== 6) && rnd() < 0.3) {
      setup();
      return;
    }
    if (r < 0.35 && q !== undefined) {
      if (q.freeCount > 0) q.add(randomBuffers(q), { indirect: rnd() < 0.2 });
      q.kick();
      q.collect();
      return;
    }
    if (r < 0.5 && peerSend !== undefined) {
      peerSend(new Uint8Array(14 + int(1500)).fill(int(256)));
      return;
    }
    switch (int(14)) {
      case 0:
        drv.setCommon(int(0x40), pick(widths), value());
        return;
      case 1:
        drv.common(int(0x40), pick(widths));
        return;
      case 2: {
        if (q === undefined) return;
        const [base, len] = ringArea(q);
        const off = int(len);
        const w = pick(widths);
        if (off + w <= len) {
          if (w === 1) memory.write8(base + off, value());
          else if (w === 2) memory.write16(base + off, value());
          else memory.write32(base + off, value());
        }
        return;
      }
      case 3:
        if (q !== undefined) {
          q.writeDesc(
            int(q.size),
            pick([0x200000, RAM - 8, value()]),
            pick([0, 16, 72, 512, value()]),
            int(8),
            int(q.size + 2),
            rnd() < 0.95 ? 0 : 1,
          );
        }
        return;
      case 4:
      case 5:
        if (q !== undefined) {
          if (q.freeCount > 0) q.add(randomBuffers(q), { indirect: rnd() < 0.2 });
          q.kick();
          q.collect();
        }
        return;
      case 6:
        drv.mmio.write(drv.barBase + 0x3000 + int(16), pick(widths), int(4));
        return;
      case 7:
        drv.readIsr();
        return;
      case 8:
        if (peerSend !== undefined) peerSend(new Uint8Array(int(1600)).fill(int(256)));
        return;
      case 9:
        if (q !== undefined && rnd() < 0.3) q.setAvailIdx(q.availIdx + int(q.size * 2 + 2) - 1);
        else if (q !== undefined) q.publish(int(q.size + 1));
        return;
      case 10:
        // Capabilities and the PCI_CFG window; occasionally the command register.
        if (rnd() < 0.1) drv.cfgWrite(0x04, 2, pick([0x0006, 0x0002, 0x0000, 0x0406]));
        else drv.cfgWrite(0x40 + int(0x58), pick(widths), value());
        drv.cfgRead(0x40 + int(0x58), pick(widths));
        return;
      case 11:
        if (rnd() < 0.5) drv.config(int(40), pick(widths));
        else drv.mmio.write(drv.barBase + 0x2000 + int(40), pick(widths), value());
        return;
      case 12:
        if (rnd() < 0.3) setup();
        return;
      default:
        if (rnd() < 0.05) drv.status = 0;
        else if (rnd() < 0.1) drv.status = value() & 0xff;
        return;
    }
  };

  try {
    setup();
    for (let i = 0; i < options.iterations; i++) {
      try {
        step();
      } catch (e) {
        if (e instanceof DriverMockError) {
          skipped++;
          continue;
        }
        const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        throw new Error(
          `fuzz ${options.device} seed ${options.seed} iteration ${i}: exception escaped: ${msg}`,
          {
            cause: e,
          },
        );
      }
    }
  } finally {
    if (dev instanceof VirtioBlk) dev.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  return { iterations: options.iterations, stats: dev.stats.entries(), skipped };
}
