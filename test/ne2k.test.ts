import assert from "node:assert/strict";
import { test } from "node:test";
import { etherCrcBe } from "../src/devices/ne2k/ether-crc.js";
import { Ne2kPci } from "../src/devices/ne2k/ne2k-pci.js";
import { Ne2kDriver } from "../src/devices/ne2k/testing/ne2k-driver.js";

import { pciNicPlatform, testFrame } from "./nic-helpers.js";

const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const PEER = Uint8Array.from([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

function setup() {
  const { ports, pci, pic, nic, wire, sent } = pciNicPlatform(
    (backend) => new Ne2kPci({ backend, mac: MAC }),
    { slot: 3, ramTop: 16 * 1024 * 1024 },
  );
  const base = nic.barAddress(0);
  const drv = new Ne2kDriver(ports, base);
  const reg = (off: number) => ports.read(base + off, 1);
  const setReg = (off: number, v: number) => ports.write(base + off, 1, v);
  return { ports, pci, pic, nic, wire, sent, drv, base, reg, setReg };
}

function frame(dst: Uint8Array, src: Uint8Array, len: number, seed = 1): Uint8Array {
  return testFrame(dst, src, len, seed, 7);
}

test("ne2k: PCI identity 10EC:8029 class 0x020000 with a 32-byte I/O BAR and INTA", () => {
  const { nic } = setup();
  assert.equal(nic.configRead(0, 4), 0x802910ec);
  assert.equal(nic.configRead(8, 4) >>> 8, 0x020000);
  assert.equal(nic.configRead(0x3d, 1), 1);
  assert.equal(nic.bars[0]?.size, 32);
  assert.equal(nic.barAddress(0) & 0x1f, 0);
});

test("ne2k: ne2k-pci probe reads the MAC from the doubled PROM in word mode; RTL8029 IDs", () => {
  const { drv, nic, reg, setReg } = setup();
  const mac = drv.probe();
  assert.deepEqual([...mac], [...MAC]);
  assert.ok(nic.stats.get("read:CNTR0") >= 2, "the 8390 check read CNTR0");
  assert.ok(nic.stats.get("read:RESET") >= 1);
  assert.equal(nic.stats.get("remote-dma:bytes"), 64, "32 inb in word mode move 2 bytes each");
  assert.equal(reg(0x0a), 0x50, "8029ID0 'P'");
  assert.equal(reg(0x0b), 0x43, "8029ID1 'C'");
  setReg(0, 0xe1); // page 3, stop
  assert.equal(reg(0x0e), 0x29);
  assert.equal(reg(0x0f), 0x80);
  setReg(0, 0x21);
  // Byte mode: the PROM reads doubled, m0 m0 m1 m1 ...
  setReg(0x0e, 0x48);
  setReg(0x0a, 12);
  setReg(0x0b, 0);
  setReg(0x08, 0);
  setReg(0x09, 0);
  setReg(0, 0x0a);
  const bytes = Array.from({ length: 12 }, () => reg(0x10));
  assert.deepEqual(
    bytes,
    [...MAC].flatMap((b) => [b, b]),
  );
  assert.equal(reg(0x07) & 0x40, 0x40, "RDC after the programmed count");
});

test("ne2k: transmit through the data port (outsl) reaches the backend with the right bytes; PTX interrupt", () => {
  const { drv, nic, sent, pic } = setup();
  drv.probe();
  drv.open();
  const f = frame(PEER, MAC, 42);
  drv.transmit(f);
  assert.equal(sent.length, 1);
  const expect = new Uint8Array(60);
  expect.set(f);
  assert.deepEqual(sent[0], expect, "padded to ETH_ZLEN by the driver, bytes intact");
  assert.equal(nic.stats.get("tx:frames"), 1);
  assert.equal(nic.interruptLevel, true, "ISR.PTX & IMR raise INTA");
  assert.equal(pic.hasInterrupt(), true);
  drv.interrupt();
  assert.equal(nic.interruptLevel, false, "write-1-to-clear lowered it");
  assert.equal(pic.hasInterrupt(), false);
  assert.ok(nic.stats.get("irq:raised") >= 1 && nic.stats.get("irq:lowered") >= 1);
  // An odd 1001-byte frame: outsl + outw tail.
  const big = frame(PEER, MAC, 1001, 9);
  drv.transmit(big);
  assert.deepEqual(sent[1], big);
});

test("ne2k: receive into the ring with the 4-byte header; ei_receive gets the frame back", () => {
  const { drv, nic, wire } = setup();
  drv.probe();
  drv.open();
  const f = frame(MAC, PEER, 100);
  assert.equal(wire.send(f), true);
  assert.equal(nic.interruptLevel, true);
  const page = drv.rxStartPage;
  const hdr = nic.buffer.subarray(page << 8, (page << 8) + 4);
  assert.equal(hdr[0], 0x01, "RSR: PRX");
  assert.equal(hdr[1], page + 1, "next page");
  assert.equal(hdr[2]! | (hdr[3]! << 8), 104, "count = header + frame");
  const got = drv.interrupt();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], f);
  assert.equal(nic.interruptLevel, false);
  // A runt is padded to 60 bytes; a broadcast is accepted (RCR.AB).
  const runt = frame(new Uint8Array(6).fill(0xff), PEER, 20);
  wire.send(runt);
  const got2 = drv.interrupt();
  assert.equal(got2.length, 1);
  assert.equal(got2[0]!.length, 60);
  assert.deepEqual(got2[0]!.subarray(0, 20), runt);
  assert.equal(nic.stats.get("rx:frames"), 2);
  assert.equal(nic.stats.get("rx:padded"), 1);
  // Unicast to someone else is filtered.
  wire.send(frame(PEER, PEER, 64));
  assert.equal(nic.stats.get("rx:filtered"), 1);
  assert.equal(nic.interruptLevel, false);
});

test("ne2k: IMR masks the line; ISR bits stay until written with 1", () => {
  const { drv, nic, wire, reg, setReg } = setup();
  drv.probe();
  drv.open();
  setReg(0x0f, 0x00); // IMR = 0
  wire.send(frame(MAC, PEER, 64));
  assert.equal(nic.interruptLevel, false, "masked");
  assert.equal(reg(0x07) & 0x01, 0x01, "ISR.PRX pending");
  setReg(0x0f, 0x3f);
  assert.equal(nic.interruptLevel, true, "unmasking raises it");
  setReg(0x07, 0x02); // clearing another bit does nothing
  assert.equal(nic.interruptLevel, true);
  setReg(0x07, 0x01);
  assert.equal(nic.interruptLevel, false);
  assert.equal(reg(0x07) & 0x01, 0);
});

test("ne2k: the ring wraps at PSTOP and a frame split across the wrap reads back intact", () => {
  const { drv, nic, wire } = setup();
  drv.probe();
  drv.open();
  const ring = drv.stopPage - drv.rxStartPage; // 52 pages
  let received = 0;
  let wrapped = false;
  for (let i = 0; i < 3 * ring; i++) {
    const f = frame(MAC, PEER, 700 + (i % 5) * 131, i);
    assert.equal(wire.send(f), true, `frame ${i} stored`);
    const got = drv.interrupt();
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], f, `frame ${i} intact`);
    received++;
    if (drv.currentPage < drv.rxStartPage + 4) wrapped = true;
  }
  assert.ok(wrapped, "CURR wrapped to PSTART");
  assert.equal(nic.stats.get("rx:frames"), received);
  assert.equal(drv.stats.rxErrors, 0);
});

test("ne2k: overflow sets ISR.OVW, drops and counts; ei_rx_overrun recovers", () => {
  const { drv, nic, wire, reg } = setup();
  drv.probe();
  drv.open();
  let stored = 0;
  let dropped = 0;
  for (let i = 0; i < 20; i++) {
    if (wire.send(frame(MAC, PEER, 1514, i))) stored++;
    else dropped++;
  }
  assert.ok(stored >= 8 && stored <= 9, `stored ${stored}`);
  assert.equal(nic.stats.get("rx:overflow"), dropped);
  assert.equal(reg(0x07) & 0x10, 0x10, "ISR.OVW");
  assert.equal(reg(0x0c) & 0x10, 0x10, "RSR.MPA");
  const got = drv.interrupt();
  assert.equal(got.length, stored, "all stored frames drained");
  assert.equal(drv.stats.rxOverruns, 1);
  assert.equal(nic.interruptLevel, false);
  assert.equal(wire.send(frame(MAC, PEER, 200)), true, "room again");
  assert.equal(drv.interrupt().length, 1);
  assert.equal(reg(0x0f), dropped, "CNTR2 counted the missed frames, cleared by reading");
  assert.equal(reg(0x0f), 0);
});

test("ne2k: multicast hash (MAR) and promiscuous mode", () => {
  const { drv, nic, wire } = setup();
  drv.probe();
  drv.open();
  const group = Uint8Array.from([0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]);
  const other = Uint8Array.from([0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01]);
  const idx = etherCrcBe(group) >>> 26;
  assert.notEqual(etherCrcBe(other) >>> 26, idx, "test addresses hash apart");
  const mar = new Uint8Array(8);
  mar[idx >> 3] = 1 << (idx & 7);
  drv.rxConfig = 0x04 | 0x08;
  drv.setMulticastFilter(mar);
  wire.send(frame(group, PEER, 64));
  wire.send(frame(other, PEER, 64));
  const got = drv.interrupt();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.subarray(0, 6), group);
  assert.equal(nic.buffer[drv.rxStartPage << 8], 0x21, "RSR: PRX | PHY (multicast)");
  drv.rxConfig = 0x14;
  drv.setMulticastFilter(new Uint8Array(8));
  wire.send(frame(PEER, PEER, 64));
  assert.equal(drv.interrupt().length, 1, "promiscuous takes unicast to others");
});

test("ne2k: TCR loopback sends the frame to our own ring, not the wire", () => {
  const { drv, nic, sent, setReg } = setup();
  drv.probe();
  drv.open();
  setReg(0x0c, 0x14); // promiscuous so our own source-addressed frame passes
  setReg(0x0d, 0x02); // internal loopback
  const f = frame(MAC, MAC, 80);
  drv.transmit(f);
  assert.equal(sent.length, 0);
  assert.equal(nic.stats.get("tx:loopback"), 1);
  const got = drv.interrupt();
  assert.deepEqual(got[0], f);
});

test("ne2k: a hostile ring, remote DMA outside the buffer and a TX outside RAM are counted, not fatal", () => {
  const { drv, nic, wire, reg, setReg, ports, base } = setup();
  drv.probe();
  drv.open();
  // PSTART >= PSTOP.
  setReg(0x01, 0x70);
  setReg(0x02, 0x60);
  assert.equal(wire.send(frame(MAC, PEER, 64)), false);
  assert.equal(nic.stats.get("error:rx-ring-invalid"), 1);
  // PSTOP beyond the packet RAM, PSTART below it.
  setReg(0x01, 0x00);
  setReg(0x02, 0xff);
  assert.equal(wire.send(frame(MAC, PEER, 64)), false);
  assert.equal(nic.stats.get("error:rx-ring-invalid"), 2);
  // CURR outside the ring.
  setReg(0x01, 0x4c);
  setReg(0x02, 0x80);
  setReg(0x00, 0x62); // page 1, start
  setReg(0x07, 0xf0);
  setReg(0x00, 0x22);
  assert.equal(wire.send(frame(MAC, PEER, 64)), false);
  assert.equal(nic.stats.get("error:rx-ring-invalid"), 3);
  // Remote DMA from 0xFFFC for 8 bytes: unmapped bytes read 0xFF, the address wraps to the PROM.
  setReg(0x0a, 8);
  setReg(0x0b, 0);
  setReg(0x08, 0xfc);
  setReg(0x09, 0xff);
  setReg(0x00, 0x0a);
  assert.equal(ports.read(base + 0x10, 4), 0xffffffff);
  assert.equal(ports.read(base + 0x10, 4), (MAC[1]! << 16) | MAC[0]! | (MAC[0]! << 8) | (MAC[1]! << 24));
  assert.ok(nic.stats.get("error:remote-dma-unmapped") >= 4);
  // Reading past the programmed count is counted (ne2k-pci's PROM read does it on every probe).
  const past = nic.stats.get("remote-dma:past-count");
  ports.read(base + 0x10, 2);
  assert.equal(nic.stats.get("remote-dma:past-count"), past + 1);
  // Remote write to the PROM region is dropped.
  setReg(0x0a, 2);
  setReg(0x08, 0);
  setReg(0x09, 0);
  setReg(0x00, 0x12);
  ports.write(base + 0x10, 2, 0);
  assert.equal(nic.buffer[0], MAC[0]);
  // Transmit from a page past the RAM.
  setReg(0x04, 0x7f);
  setReg(0x05, 0x00);
  setReg(0x06, 0x10); // 4 KiB from 0x7F00 runs off the end
  setReg(0x07, 0xff);
  setReg(0x00, 0x26);
  assert.equal(nic.stats.get("error:tx-outside-buffer"), 1);
  assert.equal(reg(0x07) & 0x08, 0x08, "ISR.TXE");
  assert.equal(reg(0x04) & 0x08, 0x08, "TSR.ABT");
});

test("ne2k: seeded fuzz of register, data-port and reset accesses plus received frames never throws", () => {
  const { nic, wire, ports, base, drv } = setup();
  drv.probe();
  drv.open();
  let s = 0x1234567;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const widths = [1, 2, 4] as const;
  for (let i = 0; i < 200_000; i++) {
    const op = rnd(10);
    const w = widths[rnd(3)]!;
    let off = rnd(0x20) & ~(w - 1);
    if (off >= 0x18 && rnd(50) !== 0) off = 0x10; // resets stay rare
    if (op < 4) ports.write(base + off, w, rnd(0x1_0000) | (rnd(0x1_0000) << 16));
    else if (op < 5) {
      // Keep the chip mostly started with a plausible ring, so frames reach the store path.
      ports.write(base, 1, rnd(8) === 0 ? rnd(256) : 0x22 | (rnd(4) << 6));
      if (rnd(4) === 0) drv.open();
    } else if (op < 9) ports.read(base + off, w);
    else {
      const len = rnd(1600);
      const f = new Uint8Array(len);
      for (let j = 0; j < len; j++) f[j] = rnd(256);
      if (len >= 6 && rnd(2) === 0) f.set(MAC, 0);
      wire.send(f);
    }
  }
  assert.equal(nic.buffer.length, 0x8000);
  assert.ok(nic.stats.get("read:DATA") > 0);
  assert.ok(nic.stats.get("rx:frames") > 100, `rx ${nic.stats.get("rx:frames")}`);
  assert.ok(nic.stats.get("tx:frames") > 100, `tx ${nic.stats.get("tx:frames")}`);
  assert.ok(nic.stats.get("rx:overflow") > 0);
  assert.ok(nic.stats.get("error:rx-ring-invalid") > 0);
});

test("ne2k: frames arriving in the middle of remote-DMA writes and reads disturb neither", () => {
  // The backend may deliver between any two guest port accesses (PingResponder replies from
  // a microtask right after the transmit): the receive uses the local DMA only, so RSAR, RBCR
  // and the data port sequence in progress must be untouched.
  const { drv, nic, wire, sent, ports, base } = setup();
  drv.probe();
  drv.open();
  const incoming = [frame(MAC, PEER, 98, 3), frame(MAC, PEER, 60, 4), frame(MAC, PEER, 300, 5)];
  let next = 0;
  let dataAccesses = 0;
  const inject = (address: number) => {
    if (address !== base + 0x10) return;
    // Every 7th data-port access, one frame arrives "from the wire".
    if (++dataAccesses % 7 === 0 && next < incoming.length) wire.send(incoming[next++]!);
  };
  const io = {
    read: (address: number, width: 1 | 2 | 4) => {
      const v = ports.read(address, width);
      inject(address);
      return v;
    },
    write: (address: number, width: 1 | 2 | 4, value: number) => {
      ports.write(address, width, value);
      inject(address);
    },
  };
  const drv2 = new Ne2kDriver(io, base);
  const out = frame(PEER, MAC, 200, 9);
  drv2.transmit(out); // remote-DMA write of 200 bytes; frame 0 arrives mid-way
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], out);
  const got: Uint8Array[] = [];
  // The remote-DMA reads of ei_receive: frames 1 and 2 arrive while it reads the ring.
  for (let i = 0; i < 5 && nic.interruptLevel; i++) got.push(...drv2.interrupt());
  assert.equal(next, incoming.length);
  assert.deepEqual(got, incoming);
  assert.equal(nic.stats.get("remote-dma:past-count"), 16, "only the probe's PROM over-read");
});
