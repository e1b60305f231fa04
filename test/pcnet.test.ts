import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32le } from "../src/devices/ne2k/ether-crc.js";
import { Pcnet } from "../src/devices/pcnet/pcnet.js";
import { Pcnet32Driver, type Pcnet32DriverOptions } from "../src/devices/pcnet/testing/pcnet32-driver.js";
import { GuestMemory } from "../src/memory/guest-memory.js";

import { pciNicPlatform, testFrame } from "./nic-helpers.js";

const MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const PEER = Uint8Array.from([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
const RAM = 16 * 1024 * 1024;

function setup(options: Pcnet32DriverOptions = {}) {
  const memory = new GuestMemory(RAM);
  const { ports, mmio, pci, pic, nic, wire, sent } = pciNicPlatform(
    (backend) => new Pcnet({ memory, backend, mac: MAC }),
    { slot: 4, ramTop: RAM },
  );
  const base = nic.barAddress(0);
  const drv = new Pcnet32Driver(ports, base, memory, options);
  return { ports, mmio, pci, pic, nic, wire, sent, drv, base, memory };
}

function frame(dst: Uint8Array, src: Uint8Array, len: number, seed = 1): Uint8Array {
  return testFrame(dst, src, len, seed, 13);
}

test("pcnet: PCI identity 1022:2000 class 0x020000, 32-byte I/O and MMIO BARs decoding the same registers", () => {
  const { nic, mmio, ports, base } = setup();
  assert.equal(nic.configRead(0, 4), 0x20001022);
  assert.equal(nic.configRead(8, 4) >>> 8, 0x020000);
  assert.equal(nic.configRead(0x3d, 1), 1);
  assert.equal(nic.bars[0]?.kind, "io");
  assert.equal(nic.bars[1]?.kind, "mem");
  const mbase = nic.barAddress(1);
  assert.ok(mbase >= RAM);
  assert.equal(mmio.read(mbase, 4), ports.read(base, 4), "APROM through both windows");
  mmio.write(mbase + 0x12, 2, 88);
  assert.equal(ports.read(base + 0x12, 2), 88, "RAP shared");
});

test("pcnet: pcnet32 probe: CSR0 = 4 after reset, RAP check, chip ID 0x2621 (79C970A), MAC from CSR12-14 and APROM", () => {
  const { drv, nic } = setup();
  const mac = drv.probe();
  assert.deepEqual([...mac], [...MAC]);
  assert.equal(drv.chipVersion, 0x2621);
  assert.equal(drv.dwio, false);
  assert.equal(drv.readCsr(88) | (drv.readCsr(89) << 16), 0x2621003);
  assert.equal(drv.readBcr(20) & 0xff, 2, "SWSTYLE 2");
  assert.equal(drv.readBcr(20) & 0x0100, 0x0100, "SSIZE32");
  assert.equal(drv.readCsr(58), drv.readBcr(20), "CSR58 mirrors BCR20");
  assert.ok(nic.stats.get("read:CSR0") >= 1 && nic.stats.get("read:RESET") >= 1);
  assert.notEqual(drv.readBcr(4), 0xc0, "link up for pcnet32_check_media");
});

test("pcnet: DWIO is entered by a dword write to RDP; WIO accesses are then ignored; reset keeps DWIO", () => {
  const { ports, base, drv, nic, sent } = setup();
  ports.write(base + 0x10, 4, 0); // dword write to RDP (CSR0 via RAP 0)
  assert.equal(nic.dwordIo, true);
  assert.equal(ports.read(base + 0x10, 2), 0xffff, "16-bit RDP ignored");
  ports.read(base + 0x18, 4); // S_RESET in DWIO
  assert.equal(nic.dwordIo, true);
  drv.probe();
  assert.equal(drv.dwio, true, "the driver fell back to DWIO");
  assert.equal(drv.chipVersion, 0x2621);
  drv.open();
  drv.transmit(frame(PEER, MAC, 100));
  assert.equal(sent.length, 1);
  nic.hardReset();
  assert.equal(nic.dwordIo, false, "only H_RESET leaves DWIO");
});

test("pcnet: transmit gathers the descriptor, pads (CSR4 APAD_XMT), hands OWN back and raises TINT", () => {
  const { drv, nic, sent, pic } = setup();
  drv.probe();
  drv.open();
  drv.interrupt(); // IDON
  assert.equal(nic.interruptLevel, false);
  const f = frame(PEER, MAC, 42);
  drv.transmit(f);
  assert.equal(sent.length, 1);
  const expect = new Uint8Array(60);
  expect.set(f);
  assert.deepEqual(sent[0], expect);
  assert.equal(drv.txStatus(0) & 0x8000, 0, "OWN cleared");
  assert.equal(drv.txStatus(0) & 0x0300, 0x0300, "STP|ENP kept");
  assert.equal(drv.readCsr(0) & 0x0200, 0x0200, "TINT");
  assert.equal(nic.interruptLevel, true);
  assert.equal(pic.hasInterrupt(), true);
  drv.interrupt();
  assert.equal(nic.interruptLevel, false);
  assert.equal(drv.dirtyTx, 1, "reclaimed");
  assert.equal(nic.stats.get("tx:frames"), 1);
  assert.equal(nic.stats.get("kick:tx"), 1);
  const big = frame(PEER, MAC, 1514, 5);
  drv.transmit(big);
  assert.deepEqual(sent[1], big);
});

test("pcnet: receive into an owned descriptor with STP|ENP and MCNT = length + FCS; RINT; CSR3 and INEA masking", () => {
  const { drv, nic, wire, memory } = setup();
  drv.probe();
  drv.open();
  drv.interrupt();
  const f = frame(MAC, PEER, 100);
  assert.equal(wire.send(f), true);
  assert.equal(drv.rxStatus(0) & 0x8000, 0, "OWN cleared");
  assert.equal(drv.rxStatus(0) >> 8, 0x03, "STP|ENP");
  assert.equal(drv.rxStatus(0) & 0x40, 0x40, "PAM: physical address match");
  assert.equal(drv.rxMessageLength(0), 104);
  const fcs = memory.readBytes(drv.rxBuffers + 100, 4);
  const crc = ~crc32le(f) >>> 0;
  assert.deepEqual([...fcs], [crc & 0xff, (crc >>> 8) & 0xff, (crc >>> 16) & 0xff, crc >>> 24], "FCS stored");
  assert.equal(nic.interruptLevel, true, "RINT & INEA");
  // RINTM in CSR3 masks the line, RINT stays set.
  drv.writeCsr(3, 0x0400);
  assert.equal(nic.interruptLevel, false);
  assert.equal(drv.readCsr(0) & 0x0400, 0x0400);
  drv.writeCsr(3, 0);
  assert.equal(nic.interruptLevel, true);
  // INEA clear masks it too.
  drv.writeCsr(0, 0);
  assert.equal(nic.interruptLevel, false);
  assert.equal(drv.readCsr(0) & 0x0400, 0x0400, "writing 0 clears nothing");
  drv.writeCsr(0, 0x0040);
  assert.equal(nic.interruptLevel, true);
  drv.writeCsr(0, 0x0440); // write 1 to RINT clears it
  assert.equal(drv.readCsr(0) & 0x0400, 0);
  assert.equal(nic.interruptLevel, false);
  const got = drv.rx();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], f);
  // A runt is padded to 60 (+4 FCS).
  wire.send(frame(MAC, PEER, 20));
  assert.equal(drv.rxMessageLength(1), 64);
  assert.equal(drv.rx()[0]?.length, 60);
  // Broadcast accepted (BAM); unicast to another station filtered.
  wire.send(frame(new Uint8Array(6).fill(0xff), PEER, 80));
  assert.equal(drv.rxStatus(2) & 0x10, 0x10, "BAM");
  wire.send(frame(PEER, PEER, 80));
  assert.equal(nic.stats.get("rx:filtered"), 1);
});

test("pcnet: the receive and transmit rings wrap", () => {
  const { drv, wire, sent } = setup({ rxLenBits: 2, txLenBits: 1 });
  drv.probe();
  drv.open();
  drv.interrupt();
  for (let i = 0; i < 11; i++) {
    const f = frame(MAC, PEER, 64 + i * 37, i);
    assert.equal(wire.send(f), true);
    const got = drv.interrupt();
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], f);
    const t = frame(PEER, MAC, 70 + i, i);
    drv.transmit(t);
    assert.deepEqual(sent[i], t);
    drv.interrupt();
  }
  assert.equal(drv.curRx, 11);
  assert.equal(drv.dirtyTx, 11);
});

test("pcnet: no owned receive descriptor sets MISS, counts (CSR112, rx:missed) and drops", () => {
  const { drv, nic, wire } = setup({ rxLenBits: 2 });
  drv.probe();
  drv.open();
  drv.interrupt();
  let ok = 0;
  for (let i = 0; i < 7; i++) if (wire.send(frame(MAC, PEER, 200, i))) ok++;
  assert.equal(ok, 4);
  assert.equal(nic.stats.get("rx:missed"), 3);
  assert.equal(drv.readCsr(112), 3);
  assert.equal(drv.readCsr(0) & 0x9000, 0x9000, "MISS and ERR");
  const got = drv.interrupt();
  assert.equal(got.length, 4);
  assert.equal(drv.stats.missed, 1, "the handler saw MISS");
  assert.equal(drv.readCsr(0) & 0x1000, 0, "acknowledged");
  assert.equal(wire.send(frame(MAC, PEER, 200)), true, "descriptors back");
});

test("pcnet: a frame larger than one buffer spans descriptors: STP on the first, ENP and MCNT on the last", () => {
  const { drv, wire, memory } = setup({ bufSize: 256, rxLenBits: 3 });
  drv.probe();
  drv.open();
  drv.interrupt();
  const f = frame(MAC, PEER, 700);
  assert.equal(wire.send(f), true);
  assert.equal(drv.rxStatus(0) >> 8, 0x02, "STP only");
  assert.equal(drv.rxStatus(1) >> 8, 0x00, "middle");
  assert.equal(drv.rxStatus(2) >> 8, 0x01, "ENP");
  assert.equal(drv.rxMessageLength(2), 704);
  const joined = new Uint8Array(700);
  for (let i = 0; i < 3; i++) {
    const part = memory.readBytes(drv.rxBuffers + i * 256, Math.min(256, 700 - i * 256));
    joined.set(part, i * 256);
  }
  assert.deepEqual(joined, f);
  assert.equal(drv.rxStatus(3) & 0x8000, 0x8000, "the next descriptor is still the chip's");
});

test("pcnet: SWSTYLE 0 (16-bit Lance init block and 8-byte descriptors) transmits and receives", () => {
  const { drv, nic, wire, sent } = setup({ swstyle: 0 });
  drv.probe();
  assert.equal(drv.readBcr(20) & 0x3ff, 0x200, "style 0, CSRPCNET, no SSIZE32");
  drv.open();
  drv.interrupt();
  const t = frame(PEER, MAC, 300);
  drv.transmit(t);
  assert.deepEqual(sent[0], t);
  assert.equal(drv.txStatus(0) & 0x8000, 0);
  const f = frame(MAC, PEER, 500);
  wire.send(f);
  assert.equal(drv.rxStatus(0) >> 8, 0x03);
  assert.equal(drv.rxMessageLength(0), 504);
  const got = drv.interrupt();
  assert.deepEqual(got[0], f);
  assert.equal(nic.interruptLevel, false);
});

test("pcnet: logical address filter (LADRF hash of ether_crc_le) and promiscuous mode under CSR5 suspend", () => {
  const { drv, nic, wire } = setup();
  drv.probe();
  drv.open();
  drv.interrupt();
  const group = Uint8Array.from([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);
  const other = Uint8Array.from([0x01, 0x00, 0x5e, 0x00, 0x00, 0x09]);
  const idx = crc32le(group) >>> 26;
  assert.notEqual(crc32le(other) >>> 26, idx);
  const ladrf = [0, 0, 0, 0];
  ladrf[idx >> 4] = 1 << (idx & 15);
  drv.setFilter(false, ladrf);
  assert.equal(drv.readCsr(5) & 1, 0, "suspend left");
  wire.send(frame(group, PEER, 64));
  wire.send(frame(other, PEER, 64));
  const got = drv.interrupt();
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.subarray(0, 6), group);
  assert.equal(nic.stats.get("rx:filtered"), 1);
  drv.setFilter(true);
  wire.send(frame(PEER, PEER, 64));
  assert.equal(drv.interrupt().length, 1, "promiscuous");
  // CSR15 is protected while running.
  drv.writeCsr(15, 0);
  assert.equal(drv.readCsr(15) & 0x8000, 0x8000);
  assert.equal(nic.stats.get("csr:write-while-running"), 1);
});

test("pcnet: CSR15 LOOP sends the frame back to our own receive ring", () => {
  const { drv, nic, sent } = setup();
  drv.probe();
  drv.open();
  drv.interrupt();
  drv.writeCsr(5, 1);
  drv.writeCsr(15, 0x8004);
  drv.writeCsr(5, 0);
  const f = frame(MAC, MAC, 90);
  drv.transmit(f);
  assert.equal(sent.length, 0);
  assert.equal(nic.stats.get("tx:loopback"), 1);
  assert.deepEqual(drv.interrupt()[0], f);
});

test("pcnet: init block outside RAM sets MERR and stops; descriptors and buffers outside RAM are counted", () => {
  const { drv, nic, wire, memory } = setup();
  drv.probe();
  drv.writeCsr(1, 0xfff0);
  drv.writeCsr(2, 0xffff);
  drv.writeCsr(0, 0x0041);
  const c0 = drv.readCsr(0);
  assert.equal(c0 & 0x0800, 0x0800, "MERR");
  assert.equal(c0 & 0x0004, 0x0004, "STOP");
  assert.equal(c0 & 0x8000, 0x8000, "ERR");
  assert.equal(nic.interruptLevel, true, "MERR interrupts with INEA");
  assert.equal(nic.stats.get("error:init-block-outside-ram"), 1);
  // A normal open, then a transmit descriptor whose buffer is outside RAM.
  drv.open();
  drv.interrupt();
  drv.writeTxDesc(0, 0xfffff000, 100, 0x8300);
  drv.curTx = 1;
  drv.writeCsr(0, 0x0048);
  assert.equal(nic.stats.get("error:tx-buffer-outside-ram"), 1);
  assert.equal(drv.txStatus(0) & 0xc000, 0x4000, "handed back with ERR");
  assert.equal(drv.readCsr(0) & 0x0800, 0x0800, "MERR");
  drv.interrupt();
  // A receive descriptor pointing outside RAM.
  memory.write32(drv.rxDescAddr(drv.curRx & (drv.rxSize - 1)), 0xfffffff0);
  assert.equal(wire.send(frame(MAC, PEER, 100)), false);
  assert.equal(nic.stats.get("error:rx-buffer-outside-ram"), 1);
  drv.interrupt();
  // The receive ring itself outside RAM (CSR24/25 written while suspended).
  drv.writeCsr(5, 1);
  drv.writeCsr(24, 0xff00);
  drv.writeCsr(25, 0xffff);
  drv.writeCsr(5, 0);
  assert.equal(wire.send(frame(MAC, PEER, 100)), false);
  assert.equal(nic.stats.get("error:rx-descriptor-outside-ram"), 1);
});

test("pcnet: a TX chain without ENP is bounded by the ring, handed back with BUFF|UFLO and counted", () => {
  const { drv, nic, sent } = setup({ txLenBits: 2 });
  drv.probe();
  drv.open();
  drv.interrupt();
  // Every descriptor owned, STP on the first, none with ENP.
  for (let i = 0; i < 4; i++) drv.writeTxDesc(i, drv.txBuffers, 64, i === 0 ? 0x8200 : 0x8000);
  drv.curTx = 4;
  drv.writeCsr(0, 0x0048);
  assert.equal(sent.length, 0);
  assert.equal(nic.stats.get("error:tx-chain-without-enp"), 1);
  for (let i = 0; i < 4; i++) assert.equal(drv.txStatus(i) & 0xc000, 0x4000, `desc ${i} ERR, not OWN`);
  assert.equal(drv.txMisc(3) >>> 30, 3, "BUFF|UFLO in the last");
  assert.equal(drv.readCsr(0) & 0x0010, 0, "TXON off (underflow)");
  // The driver sees UFLO and restarts the chip; transmission works again.
  drv.interrupt();
  drv.transmit(frame(PEER, MAC, 64));
  assert.equal(sent.length, 1);
});

test("pcnet: zero-length and oversized rings written through CSR76/78 are counted and bounded", () => {
  const { drv, nic, wire } = setup();
  drv.probe();
  drv.open();
  drv.interrupt();
  drv.writeCsr(5, 1);
  drv.writeCsr(76, 0); // zero-length receive ring
  drv.writeCsr(78, -4096 & 0xffff); // 4096 descriptors: clamped to 512
  drv.writeCsr(5, 0);
  assert.equal(drv.readCsr(78), -512 & 0xffff);
  assert.equal(nic.stats.get("error:ring-length"), 2);
  assert.equal(wire.send(frame(MAC, PEER, 100)), false);
  assert.equal(nic.stats.get("error:rx-ring-empty"), 1);
  assert.equal(drv.readCsr(0) & 0x1000, 0x1000, "MISS");
  drv.writeCsr(5, 1);
  drv.writeCsr(78, 0);
  drv.writeCsr(5, 0);
  drv.writeCsr(0, 0x0048);
  assert.equal(nic.stats.get("error:tx-ring-empty"), 2, "leaving suspend and TDMD both poll the empty ring");
});

test("pcnet: seeded fuzz of registers, rings and frames never throws and stays bounded", () => {
  const { nic, wire, ports, mmio, base, memory, drv } = setup({ rxLenBits: 3, txLenBits: 3 });
  const mbase = nic.barAddress(1);
  let s = 0xc0ffee;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const widths = [1, 2, 4] as const;
  const csrs = [0, 1, 2, 3, 4, 5, 8, 15, 24, 25, 30, 31, 58, 72, 74, 76, 78, 88, 112, 124];
  const statusBits = [0x8000, 0x4000, 0x1000, 0x0200, 0x0100];
  const randomFrame = () => {
    const len = rnd(4) === 0 ? rnd(3000) : 14 + rnd(1500);
    const f = new Uint8Array(len);
    for (let j = 0; j < len; j++) f[j] = rnd(256);
    if (len >= 6 && rnd(3) !== 0) f.set(MAC, 0);
    return f;
  };
  drv.probe();
  drv.open();
  for (let i = 0; i < 60_000; i++) {
    const op = rnd(100);
    if (op < 25) {
      // Hostile descriptor: random OWN/ERR/STP/ENP, length and buffer (often valid).
      const rx = rnd(2) === 0;
      const idx = rnd(8);
      const a = rx ? drv.rxDescAddr(idx) : drv.txDescAddr(idx);
      let st = 0;
      for (const b of statusBits) if (rnd(2)) st |= b;
      const buf = rnd(5) === 0 ? (rnd(0x10000) << 16) | rnd(0x10000) : drv.rxBuffers + rnd(0x8000);
      memory.write32(a, buf);
      memory.write16(a + 4, rnd(4) === 0 ? rnd(0x10000) : -rnd(2000) & 0xffff);
      memory.write32(a + 8, rnd(0x10000));
      memory.write16(a + 6, st);
    } else if (op < 45) {
      wire.send(randomFrame());
    } else if (op < 53) {
      if (rnd(2)) drv.transmit(randomFrame().subarray(0, 1514));
      else drv.interrupt();
    } else if (op < 68) {
      const dw = nic.dwordIo;
      const rap = rnd(4) === 0 ? rnd(128) : csrs[rnd(csrs.length)]!;
      const bus = rnd(2) === 0 ? ports : mmio;
      const b = bus === ports ? base : mbase;
      let v = rnd(0x10000);
      if (rap === 1) v = drv.initBlock & 0xffff;
      if (rap === 2) v = rnd(4) === 0 ? rnd(0x10000) : drv.initBlock >>> 16;
      if (rap === 0 && rnd(2)) v &= ~0x0004; // fewer STOPs
      bus.write(b + (dw ? 0x14 : 0x12), dw ? 4 : 2, rap);
      bus.write(b + (rnd(4) === 0 ? (dw ? 0x1c : 0x16) : 0x10), dw ? 4 : 2, v);
    } else if (op < 85) {
      const w = widths[rnd(3)]!;
      let off = rnd(32) & ~(w - 1);
      if ((off === 0x14 || off === 0x18) && rnd(20) !== 0) off = 0x10; // resets stay rare
      ports.read(base + off, w);
    } else if (op < 90) {
      const w = widths[rnd(3)]!;
      ports.write(base + (rnd(32) & ~(w - 1)), w, rnd(0x10000));
    } else if (op < 94) {
      // Hostile initialization block contents.
      memory.write32(drv.initBlock + 4 * rnd(7), (rnd(0x10000) << 16) | rnd(0x10000));
    } else if (op < 97) {
      nic.poll();
    } else if (op < 99) {
      drv.dwio = nic.dwordIo;
      drv.open();
    } else {
      nic.hardReset();
      drv.probe();
      drv.open();
    }
  }
  assert.ok(nic.stats.get("tx:frames") > 100, `tx ${nic.stats.get("tx:frames")}`);
  assert.ok(nic.stats.get("rx:frames") > 100, `rx ${nic.stats.get("rx:frames")}`);
  assert.ok(nic.stats.get("error:tx-chain-without-enp") > 0);
  assert.ok(nic.stats.get("rx:missed") > 0);
});
