// Intel 82540EM (e1000) model, driven through its BARs by the Linux-like driver mock in
// src/devices/e1000/testing/driver.ts. Each test names the behaviour the stock Linux driver
// relies on and asserts the per-device counters the action must cause.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Bus } from "../src/bus/bus.js";
import { E1000 } from "../src/devices/e1000/e1000.js";
import * as R from "../src/devices/e1000/registers.js";
import {
  barsOnBuses,
  DEFAULT_LAYOUT,
  type DriverTuning,
  E1000DriverMock,
} from "../src/devices/e1000/testing/driver.js";
import { PciBus } from "../src/devices/pci/pci-bus.js";
import { GuestMemory } from "../src/memory/guest-memory.js";
import { backToBack } from "../src/net/backend.js";
import { FakeClock } from "../src/time/clock.js";
import { Scheduler } from "../src/time/scheduler.js";

const NIC_MAC = "52:54:00:12:34:56";
const NIC_MAC_BYTES = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const PEER_MAC = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];
const RAM = 4 * 1024 * 1024;
const MMIO_BASE = 0xfebc_0000;
const IO_BASE = 0xc000;

interface BenchOptions {
  readonly mitigation?: boolean;
  readonly tuning?: DriverTuning;
}

function bench(options: BenchOptions = {}) {
  const memory = new GuestMemory(RAM);
  const clock = new FakeClock();
  const scheduler = new Scheduler();
  const [nicSide, peer] = backToBack();
  const sent: Uint8Array[] = [];
  peer.setReceiver((f) => {
    sent.push(f);
    return true;
  });
  const nic = new E1000({
    memory,
    backend: nicSide,
    mac: NIC_MAC,
    clock,
    scheduler,
    ...(options.mitigation === undefined ? {} : { mitigation: options.mitigation }),
  });
  const ports = new Bus("ports", 0x1_0000);
  const mmio = new Bus("mmio", 0x1_0000_0000);
  const pci = new PciBus(ports, mmio, { ramTop: RAM });
  let level = false;
  pci.setIntxRouter((_d, pin, l) => {
    assert.equal(pin, 1, "INTA#");
    level = l;
  });
  pci.addDevice(nic, 3);
  nic.configWrite(0x10, 4, MMIO_BASE);
  nic.configWrite(0x14, 4, IO_BASE);
  nic.configWrite(0x04, 2, 0x0007); // I/O, memory, bus master
  const drv = new E1000DriverMock(barsOnBuses(mmio, ports, MMIO_BASE, IO_BASE), memory);
  if (options.tuning !== undefined) drv.tuning = options.tuning;
  const advance = (ns: number) => {
    clock.advance(ns);
    scheduler.runDue(clock.nowNs());
  };
  return { memory, clock, scheduler, nic, peer, sent, drv, pci, mmio, ports, advance, line: () => level };
}

// ------------------------------------------------------------------ frame helpers (independent of the model)

function sum16(b: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudo(frame: Uint8Array, proto: number, l4len: number): number {
  return sum16(frame, 26, 34, proto + l4len);
}

function ipv4Frame(proto: 6 | 17, payloadLen: number, seed = 1): Uint8Array {
  const l4hdr = proto === 6 ? 20 : 8;
  const f = new Uint8Array(14 + 20 + l4hdr + payloadLen);
  f.set(PEER_MAC, 0);
  f.set(NIC_MAC_BYTES, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const ip = 14;
  f[ip] = 0x45;
  const tot = 20 + l4hdr + payloadLen;
  f[ip + 2] = tot >> 8;
  f[ip + 3] = tot & 0xff;
  f[ip + 4] = 0x12;
  f[ip + 5] = 0x34;
  f[ip + 6] = 0x40;
  f[ip + 8] = 64;
  f[ip + 9] = proto;
  f.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  const l4 = ip + 20;
  f[l4] = 0x04;
  f[l4 + 1] = 0xd2;
  f[l4 + 2] = 0x00;
  f[l4 + 3] = 0x50;
  if (proto === 6) {
    f.set([0x10, 0x20, 0x30, 0x40], l4 + 4); // seq
    f[l4 + 12] = 0x50;
    f[l4 + 13] = 0x19; // FIN | PSH | ACK
    f[l4 + 14] = 0xff;
    f[l4 + 15] = 0xff;
  } else {
    f[l4 + 4] = (8 + payloadLen) >> 8;
    f[l4 + 5] = (8 + payloadLen) & 0xff;
  }
  let x = seed;
  for (let i = l4 + l4hdr; i < f.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f[i] = x >>> 24;
  }
  return f;
}

function ipChecksumOk(f: Uint8Array): boolean {
  return sum16(f, 14, 34) === 0xffff;
}

function l4ChecksumOk(f: Uint8Array): boolean {
  const proto = f[23]!;
  const tot = (f[16]! << 8) | f[17]!;
  const l4len = tot - 20;
  return sum16(f, 34, 34 + l4len, pseudo(f, proto, l4len)) === 0xffff;
}

function simpleFrame(len: number, dst: readonly number[] = NIC_MAC_BYTES, fill = 0xa5): Uint8Array {
  const f = new Uint8Array(len).fill(fill);
  f.set(dst, 0);
  f.set(PEER_MAC, 6);
  f[12] = 0x88;
  f[13] = 0xb5; // local experimental ethertype
  return f;
}

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ------------------------------------------------------------------ identity, EEPROM, PHY, reset

test("e1000: PCI identity 8086:100E class 020000, BAR0 128 KiB memory, BAR1 8-byte I/O, INTA#", () => {
  const { nic } = bench();
  assert.equal(nic.configRead(0x00, 4), 0x100e8086);
  assert.equal(nic.configRead(0x08, 4) >>> 8, 0x020000);
  assert.equal(nic.configRead(0x2c, 4), 0x001e8086, "subsystem 8086:001E");
  assert.equal(nic.configRead(0x3d, 1), 1);
  nic.configWrite(0x10, 4, 0xffffffff);
  assert.equal(nic.configRead(0x10, 4), 0xfffe0000, "128 KiB non-prefetchable memory BAR");
  nic.configWrite(0x14, 4, 0xffffffff);
  assert.equal(nic.configRead(0x14, 4), 0xfffffff9, "8-byte I/O BAR");
});

test("e1000: EEPROM read by Microwire bit-banging as Linux does: checksum BABAh, MAC in words 0-2, IDs; EERD agrees", () => {
  const { drv, nic } = bench();
  drv.resetHw();
  const words = drv.eepromRead(0, 64);
  let sum = 0;
  for (const w of words) sum = (sum + w) & 0xffff;
  assert.equal(sum, 0xbaba, "e1000_validate_eeprom_checksum");
  assert.equal(drv.validateEepromChecksum(), true);
  assert.deepEqual([...drv.readMacAddress()], NIC_MAC_BYTES);
  assert.equal(words[0], 0x5452, "word 0 = bytes 0,1 little-endian");
  assert.equal(words[0x0d], 0x100e, "device ID");
  assert.equal(words[0x0e], 0x8086, "vendor ID");
  assert.equal(words[0x0b], 0x001e, "subsystem ID");
  assert.equal(words[0x0c], 0x8086, "subsystem vendor ID");
  assert.equal(words[0x04], 0xffff, "ID LED: default");
  assert.equal((words[0x0f]! & 0x3000) !== 0, true, "ICW2 advertises pause");
  for (const i of [0, 1, 2, 0x0d, 0x3f]) assert.equal(drv.eepromReadEerd(i), words[i], `EERD word ${i}`);
  assert.ok(nic.stats.get("read:EECD") > 64 * 16, "bit-banged through EECD");
  assert.equal(nic.eeprom.wordsRead >= 64 + 3, true);
  // Without REQ the pins are ignored: a read returns nothing.
  assert.equal(drv.r(R.EECD) & R.EECD_GNT, 0, "grant released");
  assert.equal(drv.r(R.EECD) & R.EECD_PRES, R.EECD_PRES, "EEPROM present, 64-word part (SIZE = 0)");
});

test("e1000: PHY through MDIC: M88E1011 ID, BMSR link and autoneg complete, PSSR 1000/full, errors for other PHY addresses", () => {
  const { drv, nic } = bench();
  drv.resetHw();
  assert.equal(drv.phyRead(2), 0x0141);
  assert.equal(drv.phyRead(3), 0x0c20);
  const bmsr = drv.phyRead(1)!;
  assert.equal(bmsr & 0x0004, 0x0004, "link status");
  assert.equal(bmsr & 0x0020, 0x0020, "autoneg complete");
  assert.equal(drv.phyRead(17)! & 0xec00, 0xac00, "PSSR: 1000 Mb/s, full duplex, resolved, link");
  assert.equal(drv.phyRead(10)! & 0x0c00, 0x0c00, "partner 1000BASE-T capable");
  assert.equal(drv.phyRead(2, 2), undefined, "no PHY at address 2: MDIC.E");
  assert.equal(drv.phyWrite(4, 0x0de1), true);
  assert.equal(drv.phyRead(4), 0x0de1, "ANAR is storage");
  drv.phyWrite(0, 0x8000 | 0x1140);
  assert.equal(drv.phyRead(0)! & 0x8000, 0, "BMCR reset self-clears");
  drv.phyWrite(0, 0x1140 | 0x0200);
  assert.equal(drv.phyRead(0)! & 0x0200, 0, "restart autoneg self-clears");
  assert.equal(nic.stats.get("mdio:read"), 8, "address 2 answered nothing");
  assert.ok(nic.stats.get("read:MDIC") >= 9);
});

test("e1000: CTRL.RST through IOADDR/IODATA resets the MAC and self-clears; STATUS is link up, full duplex, 1000", () => {
  const { drv, nic } = bench();
  drv.w(R.RCTL, R.RCTL_EN | R.RCTL_BAM);
  drv.w(R.IMS, R.INT_RXT0);
  drv.w(R.RA_BASE + 8, 0x11223344);
  drv.resetHw();
  assert.equal(nic.stats.get("reset"), 1);
  assert.equal(nic.stats.get("write:IODATA"), 1);
  assert.equal(drv.r(R.CTRL) & R.CTRL_RST, 0, "RST self-clears");
  assert.equal(drv.r(R.RCTL), 0);
  assert.equal(drv.r(R.IMS), 0);
  assert.equal(drv.r(R.RA_BASE + 8), 0);
  assert.equal(drv.r(R.RA_BASE), 0x12005452, "RAR0 loaded from the EEPROM");
  assert.equal(drv.r(R.RA_BASE + 4), (0x5634 | R.RAH_AV) >>> 0);
  assert.equal(drv.r(R.PBA), 0x00100030);
  const status = drv.r(R.STATUS);
  assert.equal(status & (R.STATUS_LU | R.STATUS_FD), R.STATUS_LU | R.STATUS_FD);
  assert.equal(status & 0xc0, R.STATUS_SPEED_1000);
  // Reading a register through the I/O window works too.
  drv.bars.ioWrite32(R.IOADDR, R.STATUS);
  assert.equal(drv.bars.ioRead32(R.IODATA), status);
  // Link follows CTRL.SLU, and changes raise LSC.
  drv.w(R.CTRL, drv.r(R.CTRL) & ~R.CTRL_SLU);
  assert.equal(drv.r(R.STATUS) & R.STATUS_LU, 0);
  assert.equal(drv.r(R.ICR) & R.INT_LSC, R.INT_LSC);
});

test("e1000: the Linux probe and open sequence completes (driver mock up())", () => {
  const { drv, nic } = bench();
  drv.up();
  assert.deepEqual([...drv.mac], NIC_MAC_BYTES);
  assert.equal(drv.causesSeen & R.INT_LSC, R.INT_LSC, "ICS = LSC reached the handler");
  assert.equal(drv.r(R.RDT), DEFAULT_LAYOUT.rxCount - 2, "one descriptor left unused, RDT = next_to_use - 1");
  assert.equal(drv.r(R.ITR), 195, "1e9 / (20000 * 256)");
  assert.equal(nic.stats.get("error:ring-out-of-ram"), 0);
});

// ------------------------------------------------------------------ transmit

test("e1000 TX: a frame reaches the back-to-back peer, DD is written back, TDH advances, GPTC counts and clears on read", () => {
  const { drv, nic, sent, memory } = bench();
  drv.up();
  const kicks = nic.stats.get("kick:tx");
  const f = simpleFrame(100);
  assert.equal(drv.transmit(f), 1);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], f);
  assert.equal(memory.read8(DEFAULT_LAYOUT.txRing + 12) & R.TXD_STAT_DD, R.TXD_STAT_DD, "DD written back");
  assert.equal(drv.r(R.TDH), 1);
  assert.equal(drv.r(R.TDH), drv.r(R.TDT));
  assert.equal(drv.cleanTx(), 1);
  assert.equal(drv.r(R.STAT.GPTC), 1);
  assert.equal(drv.r(R.STAT.GPTC), 0, "clear on read");
  assert.equal(drv.r(R.STAT.GOTCL), 104, "octets include the FCS");
  assert.equal(drv.r(R.STAT.GOTCH), 0);
  assert.equal(drv.r(R.STAT.GOTCL), 0, "reading GOTCH cleared the pair");
  assert.equal(nic.stats.get("tx:frames"), 1);
  assert.equal(nic.stats.get("kick:tx") - kicks, 1);
  assert.ok(nic.stats.get("write:TDT") >= 2);
});

test("e1000 TX: gather across descriptors up to EOP, short frames padded to 60 bytes, VLAN insertion with CTRL.VME", () => {
  const { drv, sent } = bench();
  drv.up();
  const f = simpleFrame(1500);
  assert.equal(drv.transmit(f, { maxPerDescriptor: 256 }), 6);
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0], f);
  drv.transmit(simpleFrame(42));
  assert.equal(sent[1]!.length, 60, "TCTL.PSP pads");
  assert.deepEqual(sent[1]!.subarray(42), new Uint8Array(18));
  drv.w(R.CTRL, drv.r(R.CTRL) | R.CTRL_VME);
  drv.transmit(simpleFrame(100), { vlan: 0x2005 });
  const t = sent[2]!;
  assert.equal(t.length, 104);
  assert.deepEqual([...t.subarray(12, 16)], [0x81, 0x00, 0x20, 0x05]);
  assert.deepEqual([...t.subarray(16, 18)], [0x88, 0xb5]);
  assert.equal(drv.cleanTx(), 3);
});

test("e1000 TX: TCP and UDP checksum offload through a context descriptor (TUCSS/TUCSO, pseudo-header seed)", () => {
  const { drv, sent } = bench();
  drv.up();
  for (const proto of [6, 17] as const) {
    const f = ipv4Frame(proto, 333);
    const cso = 34 + (proto === 6 ? 16 : 6);
    // CHECKSUM_PARTIAL: the stack leaves the folded pseudo-header sum (with length) in the field.
    const seed = pseudo(f, proto, f.length - 34);
    f[cso] = seed >> 8;
    f[cso + 1] = seed & 0xff;
    f[24] = 0;
    f[25] = 0;
    const ipc = ~sum16(f, 14, 34) & 0xffff;
    f[24] = ipc >> 8;
    f[25] = ipc & 0xff;
    drv.transmit(f, { csum: { css: 34, cso, tcp: proto === 6 }, maxPerDescriptor: 100 });
    const out = sent.at(-1)!;
    assert.equal(out.length, f.length);
    assert.equal(l4ChecksumOk(out), true, `proto ${proto} checksum`);
    assert.equal(ipChecksumOk(out), true);
  }
});

test("e1000 TX: TSO splits a 3000-byte TCP payload into MSS segments with correct lengths, IDs, sequence numbers, flags, checksums", () => {
  const { drv, sent, nic } = bench();
  drv.up();
  const payload = 3000;
  const mss = 1000;
  const f = ipv4Frame(6, payload);
  // e1000_tso: tot_len = 0, check = 0, TCP check = pseudo-header sum without the length.
  f[16] = f[17] = f[24] = f[25] = 0;
  const seed = pseudo(f, 6, 0);
  f[50] = seed >> 8;
  f[51] = seed & 0xff;
  const n = drv.transmit(f, {
    tso: { mss, hdrLen: 54, ipcss: 14, ipcso: 24, ipcse: 33, tucss: 34, tucso: 50, ipv4: true },
    maxPerDescriptor: 1024,
  });
  assert.equal(n, 4, "context + 3 data descriptors");
  assert.equal(sent.length, 3);
  for (let i = 0; i < 3; i++) {
    const s = sent[i]!;
    assert.equal(s.length, 54 + mss);
    assert.equal((s[16]! << 8) | s[17]!, 40 + mss, "IP total length");
    assert.equal((s[18]! << 8) | s[19]!, 0x1234 + i, "IP ID increments");
    const seq = ((s[38]! << 24) | (s[39]! << 16) | (s[40]! << 8) | s[41]!) >>> 0;
    assert.equal(seq, 0x10203040 + i * mss);
    assert.equal(s[47]! & 0x09, i === 2 ? 0x09 : 0, "FIN/PSH only on the last segment");
    assert.equal(ipChecksumOk(s), true, `segment ${i} IP checksum`);
    assert.equal(l4ChecksumOk(s), true, `segment ${i} TCP checksum`);
    assert.deepEqual(s.subarray(54), f.subarray(54 + i * mss, 54 + (i + 1) * mss));
  }
  assert.equal(drv.r(R.STAT.TSCTC), 1);
  assert.equal(drv.r(R.STAT.GPTC), 3);
  assert.equal(nic.stats.get("tx:tso-packets"), 1);
  assert.equal(drv.cleanTx(), 1);
});

// ------------------------------------------------------------------ receive

test("e1000 RX: a frame lands in a descriptor with length + 4 (FCS, SECRC clear), DD|EOP|IXSM, the real CRC; SECRC strips it", () => {
  const { drv, peer, nic, memory } = bench();
  drv.up();
  const f = simpleFrame(200);
  assert.equal(peer.send(f), true);
  const d = DEFAULT_LAYOUT.rxRing;
  assert.equal(memory.read16(d + 8), 204, "length includes the 4 FCS bytes (Linux subtracts them)");
  const st = memory.read8(d + 12);
  assert.equal(st & (R.RXD_STAT_DD | R.RXD_STAT_EOP | R.RXD_STAT_IXSM), 0x07);
  assert.equal(memory.read8(d + 13), 0, "no errors");
  const fcs = memory.readBytes(DEFAULT_LAYOUT.rxBuffers + 200, 4);
  assert.equal((fcs[0]! | (fcs[1]! << 8) | (fcs[2]! << 16) | (fcs[3]! << 24)) >>> 0, crc32(f));
  const { frames } = drv.interrupt();
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.data, f);
  assert.equal(drv.r(R.RDH), 1);
  assert.equal(drv.r(R.STAT.GPRC), 1);
  assert.equal(drv.r(R.STAT.TPR), 1);
  assert.equal(drv.r(R.STAT.GORCL), 204);
  assert.equal(nic.stats.get("rx:frames"), 1);
  // Short frames are padded to 60 bytes as on the wire.
  peer.send(simpleFrame(20));
  const short = drv.interrupt().frames[0]!;
  assert.equal(short.length, 64);
  // SECRC: the FCS is not stored nor counted.
  drv.w(R.RCTL, drv.r(R.RCTL) | R.RCTL_SECRC);
  drv.fcsInLength = false;
  peer.send(f);
  const g = drv.interrupt().frames[0]!;
  assert.equal(g.length, 200);
  assert.deepEqual(g.data, f);
});

test("e1000 RX: a frame longer than the buffer (RCTL.BSIZE 256) spans descriptors with EOP only on the last", () => {
  const { drv, peer, memory } = bench();
  drv.up();
  drv.w(R.RCTL, (drv.r(R.RCTL) & ~(3 << R.RCTL_BSIZE_SHIFT)) | (3 << R.RCTL_BSIZE_SHIFT)); // 256 bytes
  const f = simpleFrame(1000);
  peer.send(f);
  const d = DEFAULT_LAYOUT.rxRing;
  for (let i = 0; i < 3; i++) {
    assert.equal(memory.read16(d + 16 * i + 8), 256);
    assert.equal(memory.read8(d + 16 * i + 12) & R.RXD_STAT_EOP, 0, `descriptor ${i} without EOP`);
  }
  assert.equal(memory.read16(d + 16 * 3 + 8), 1004 - 3 * 256);
  assert.equal(memory.read8(d + 16 * 3 + 12) & R.RXD_STAT_EOP, R.RXD_STAT_EOP);
  assert.equal(drv.r(R.RDH), 4);
  const { frames } = drv.interrupt();
  assert.equal(frames[0]!.descriptors, 4);
  assert.deepEqual(frames[0]!.data, f);
  // Without LPE, frames over 1518 bytes (with FCS) are dropped and counted in ROC.
  peer.send(simpleFrame(1600));
  assert.equal(drv.r(R.STAT.ROC), 1);
});

test("e1000 RX: address filter: RAR exact match, broadcast with BAM, multicast through the MTA hash, UPE/MPE, VLAN strip", () => {
  const { drv, peer, nic } = bench();
  drv.up();
  const other = [0x52, 0x54, 0x00, 0x00, 0x00, 0x01];
  peer.send(simpleFrame(64, other));
  assert.equal(nic.stats.get("rx:filtered"), 1, "unicast to another station");
  peer.send(simpleFrame(64, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assert.equal(nic.stats.get("rx:frames"), 1, "broadcast with BAM");
  const mc = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
  peer.send(simpleFrame(64, mc));
  assert.equal(nic.stats.get("rx:filtered"), 2, "multicast not in the table");
  // e1000_hash_mc_addr, filter type 0: bits 47:36.
  const h = ((mc[4]! >> 4) | (mc[5]! << 4)) & 0xfff;
  drv.w(R.MTA_BASE + 4 * (h >>> 5), 1 << (h & 31));
  peer.send(simpleFrame(64, mc));
  assert.equal(nic.stats.get("rx:frames"), 2, "multicast through the hash");
  drv.w(R.RA_BASE + 8, 0x00005452);
  drv.w(R.RA_BASE + 12, (0x0100 | R.RAH_AV) >>> 0);
  peer.send(simpleFrame(64, [0x52, 0x54, 0x00, 0x00, 0x00, 0x01]));
  assert.equal(nic.stats.get("rx:frames"), 3, "second exact filter");
  drv.w(R.RCTL, drv.r(R.RCTL) | R.RCTL_UPE);
  peer.send(simpleFrame(64, [0x52, 0x54, 0x00, 0x00, 0x00, 0x02]));
  assert.equal(nic.stats.get("rx:frames"), 4, "promiscuous");
  drv.interrupt();
  // VLAN: with CTRL.VME the tag is stripped into the descriptor's special field (VP).
  drv.w(R.CTRL, drv.r(R.CTRL) | R.CTRL_VME);
  const t = simpleFrame(100);
  t.copyWithin(16, 12, 96);
  t.set([0x81, 0x00, 0x00, 0x07], 12);
  peer.send(t);
  const fr = drv.interrupt().frames[0]!;
  assert.equal(fr.status & R.RXD_STAT_VP, R.RXD_STAT_VP);
  assert.equal(fr.special, 7);
  assert.equal(fr.data.length, 96);
  // VFE with an empty VFTA filters tagged frames.
  drv.w(R.RCTL, drv.r(R.RCTL) | R.RCTL_VFE);
  peer.send(t);
  assert.equal(nic.stats.get("rx:filtered"), 3);
});

test("e1000 RX: no free descriptor is an overrun: dropped, counted (rx:dropped, MPC), RXO cause, receive returns false", () => {
  const { drv, peer, nic } = bench();
  drv.up();
  drv.w(R.RDT, drv.r(R.RDH)); // hand nothing to the hardware
  assert.equal(peer.send(simpleFrame(100)), false);
  assert.equal(nic.stats.get("rx:dropped"), 1);
  assert.equal(drv.r(R.STAT.MPC), 1);
  assert.equal(drv.r(R.ICR) & R.INT_RXO, R.INT_RXO);
});

// ------------------------------------------------------------------ interrupts

test("e1000: ICR is read-to-clear and IMS/IMC mask the INTx# level", () => {
  const { drv, line, nic } = bench();
  drv.resetHw();
  drv.w(R.ICS, R.INT_RXT0);
  assert.equal(line(), false, "masked");
  drv.w(R.IMS, R.INT_RXT0);
  assert.equal(line(), true, "IMS unmasks a pending cause");
  assert.equal(drv.r(R.IMS), R.INT_RXT0);
  drv.w(R.IMC, R.INT_RXT0);
  assert.equal(line(), false, "IMC masks");
  drv.w(R.IMS, R.INT_RXT0 | R.INT_TXDW);
  assert.equal(line(), true);
  assert.equal(drv.r(R.ICR), R.INT_RXT0);
  assert.equal(line(), false, "reading ICR deasserts");
  assert.equal(drv.r(R.ICR), 0, "and cleared it");
  drv.w(R.ICS, R.INT_LSC);
  assert.equal(line(), false, "LSC is masked");
  assert.equal(drv.r(R.ICR), R.INT_LSC);
  assert.equal(nic.stats.get("irq:raised"), 2);
  assert.equal(nic.stats.get("irq:lowered"), 2);
  nic.configWrite(0x04, 2, 0x0407); // PCI INTx disable keeps it off the pin
  drv.w(R.ICS, R.INT_TXDW);
  assert.equal(line(), false);
  nic.configWrite(0x04, 2, 0x0007);
  assert.equal(line(), true);
});

function rxStorm(mitigation: boolean, n: number, gapNs: number) {
  const b = bench({ mitigation });
  b.drv.up();
  const before = b.nic.stats.get("irq:raised");
  let received = 0;
  let interrupts = 0;
  for (let i = 0; i < n; i++) {
    b.peer.send(simpleFrame(100 + i));
    b.advance(gapNs);
    if (b.line()) {
      interrupts++;
      received += b.drv.interrupt().frames.length;
    }
  }
  b.advance(1_000_000);
  if (b.line()) {
    interrupts++;
    received += b.drv.interrupt().frames.length;
  }
  return { raised: b.nic.stats.get("irq:raised") - before, interrupts, received, b };
}

test("e1000 mitigation: off, N frames raise exactly N interrupts; ITR on (20000/s), fewer interrupts and every frame delivered", () => {
  const n = 40;
  const off = rxStorm(false, n, 5_000);
  assert.equal(off.raised, n);
  assert.equal(off.interrupts, n);
  assert.equal(off.received, n);
  const on = rxStorm(true, n, 5_000);
  assert.equal(on.received, n);
  assert.ok(on.raised < n / 4, `ITR 195 x 256 ns spaces interrupts (${on.raised})`);
  assert.ok(on.raised >= 3);
  assert.ok(on.b.nic.stats.get("irq:throttled") > 0);
});

test("e1000 mitigation: RDTR/RADV delay RXT0 and TIDV/TADV delay TXDW on virtual time; FPD flushes", () => {
  const tuning: DriverTuning = { tidv: 8, tadv: 32, rdtr: 10, radv: 25, itrRate: 0 };
  const { drv, peer, line, advance } = bench({ tuning });
  drv.up();
  peer.send(simpleFrame(100));
  assert.equal(line(), false, "RXT0 waits for the packet timer");
  advance(9 * 1024);
  peer.send(simpleFrame(100)); // restarts the packet timer
  advance(9 * 1024);
  assert.equal(line(), false);
  advance(2 * 1024);
  assert.equal(line(), true, "packet timer expired");
  assert.equal(drv.interrupt().frames.length, 2);
  // Frames every 8 us keep restarting RDTR; RADV (25 us) fires anyway.
  for (let i = 0; i < 3; i++) {
    peer.send(simpleFrame(100));
    advance(8 * 1024);
  }
  assert.equal(line(), false);
  advance(2 * 1024);
  assert.equal(line(), true, "absolute timer expired");
  drv.interrupt();
  // TX with IDE: TXDW after TIDV.
  drv.transmit(simpleFrame(80));
  assert.equal(line(), false);
  advance(8 * 1024);
  assert.equal(line(), true);
  assert.equal(drv.interrupt().txDone, 1);
  // FPD: writing RDTR with bit 31 fires a pending receive timer at once.
  peer.send(simpleFrame(100));
  assert.equal(line(), false);
  drv.w(R.RDTR, 10 | R.DELAY_FPD);
  assert.equal(line(), true);
  // The same delays are ignored without mitigation.
  const nm = bench({ mitigation: false, tuning });
  nm.drv.up();
  nm.peer.send(simpleFrame(100));
  assert.equal(nm.line(), true);
  nm.drv.interrupt();
  nm.drv.transmit(simpleFrame(80));
  assert.equal(nm.line(), true);
});

// ------------------------------------------------------------------ hostile guests

test("e1000 malformed: a TX ring outside RAM stops the ring with a counted error; a tail beyond the ring is ignored", () => {
  const { drv, nic, sent } = bench();
  drv.up();
  drv.w(R.TDBAL, RAM - 0x200); // 64 descriptors = 1 KiB: the ring crosses the end of RAM
  drv.memory.write32(RAM - 0x200 + 8, (R.TXD_CMD_EOP << 24) | 60);
  drv.w(R.TDT, 1);
  assert.equal(nic.stats.get("error:ring-out-of-ram"), 1);
  assert.equal(drv.r(R.TDH), 0, "nothing fetched");
  drv.w(R.TDBAH, 1); // 64-bit base above 4 GiB
  drv.w(R.TDT, 2);
  assert.equal(nic.stats.get("error:ring-out-of-ram"), 2);
  drv.w(R.TDT, 64);
  assert.equal(nic.stats.get("error:tail-beyond-ring"), 1);
  assert.equal(drv.r(R.TDT), 2, "ignored");
  drv.w(R.RDT, 0x1_0000);
  assert.equal(nic.stats.get("error:tail-beyond-ring"), 2);
  drv.w(R.TDLEN, 100);
  assert.equal(nic.stats.get("error:ring-length-not-128-multiple"), 1);
  assert.equal(drv.r(R.TDLEN), 0, "masked to 128-byte units");
  assert.equal(sent.length, 0);
  // Reprogramming the ring recovers.
  drv.configureTx();
  drv.w(R.TCTL, drv.r(R.TCTL) | R.TCTL_EN);
  drv.transmit(simpleFrame(70));
  assert.equal(sent.length, 1);
});

test("e1000 malformed: zero-length descriptors and a buffer crossing the end of RAM are counted, DD still written, the ring goes on", () => {
  const { drv, nic, sent, memory } = bench();
  drv.up();
  const ring = DEFAULT_LAYOUT.txRing;
  const legacy = (i: number, addr: number, len: number, cmd: number) => {
    memory.write32(ring + 16 * i, addr);
    memory.write32(ring + 16 * i + 4, 0);
    memory.write32(ring + 16 * i + 8, ((cmd << 24) | len) >>> 0);
    memory.write32(ring + 16 * i + 12, 0);
  };
  legacy(0, 0x20_0000, 0, R.TXD_CMD_EOP | R.TXD_CMD_RS);
  legacy(1, RAM - 10, 100, R.TXD_CMD_EOP | R.TXD_CMD_RS);
  legacy(2, 0x20_0000, 50, 0);
  legacy(3, RAM - 10, 100, R.TXD_CMD_EOP | R.TXD_CMD_RS); // a frame whose second buffer is bad
  drv.w(R.TDT, 4);
  assert.equal(nic.stats.get("error:tx-zero-length"), 1);
  assert.equal(nic.stats.get("error:tx-empty-frame"), 1);
  assert.equal(nic.stats.get("error:tx-buffer-out-of-ram"), 2);
  assert.equal(nic.stats.get("tx:dropped"), 3);
  assert.equal(sent.length, 0);
  for (const i of [0, 1, 3]) assert.equal(memory.read8(ring + 16 * i + 12) & 1, 1, `DD on ${i}`);
  assert.equal(drv.r(R.TDH), 4);
  // A 64-bit buffer address above 4 GiB.
  memory.write32(ring + 16 * 4, 0x1000);
  memory.write32(ring + 16 * 4 + 4, 1);
  memory.write32(ring + 16 * 4 + 8, ((R.TXD_CMD_EOP << 24) | 64) >>> 0);
  drv.w(R.TDT, 5);
  assert.equal(nic.stats.get("error:tx-buffer-out-of-ram"), 3);
  // The next well-formed frame goes out.
  memory.write32(ring + 16 * 5, 0x20_0000);
  memory.write32(ring + 16 * 5 + 4, 0);
  memory.write32(ring + 16 * 5 + 8, ((R.TXD_CMD_EOP << 24) | 64) >>> 0);
  drv.w(R.TDT, 6);
  assert.equal(sent.length, 1);
});

test("e1000 malformed: TX frames over 16 KiB or over the ring's descriptor count are dropped; a doorbell walks at most the ring", () => {
  const { drv, nic, sent, memory } = bench();
  drv.up();
  const ring = DEFAULT_LAYOUT.txRing;
  const put = (i: number, len: number, cmd: number) => {
    memory.write32(ring + 16 * i, 0x20_0000);
    memory.write32(ring + 16 * i + 4, 0);
    memory.write32(ring + 16 * i + 8, ((cmd << 24) | len) >>> 0);
    memory.write32(ring + 16 * i + 12, 0);
  };
  for (let i = 0; i < 9; i++) put(i, 2048, i === 8 ? R.TXD_CMD_EOP | R.TXD_CMD_RS : 0);
  drv.w(R.TDT, 9);
  assert.equal(nic.stats.get("error:tx-frame-too-long"), 1);
  assert.equal(sent.length, 0);
  // A small ring (8 descriptors) the guest keeps refilling without EOP.
  drv.w(R.TDLEN, 128);
  drv.w(R.TDH, 0);
  drv.w(R.TDT, 0);
  for (let i = 0; i < 8; i++) put(i, 10, 0);
  for (let round = 0; round < 3; round++) {
    drv.w(R.TDT, 7);
    drv.w(R.TDT, 0);
  }
  assert.equal(nic.stats.get("error:tx-too-many-descriptors"), 1);
  put(0, 10, R.TXD_CMD_EOP);
  drv.w(R.TDT, 1);
  assert.equal(nic.stats.get("tx:dropped"), 2);
  assert.equal(sent.length, 0);
  put(1, 60, R.TXD_CMD_EOP);
  drv.w(R.TDT, 2);
  assert.equal(sent.length, 1, "recovered at the next EOP");
});

test("e1000 malformed: RX ring outside RAM and an RX buffer crossing the end of RAM are counted; the frame is dropped or flagged RXE", () => {
  const { drv, peer, nic, memory } = bench();
  drv.up();
  // The descriptor at RDH points 10 bytes before the end of RAM.
  const d = DEFAULT_LAYOUT.rxRing;
  memory.write32(d, RAM - 10);
  assert.equal(peer.send(simpleFrame(100)), true);
  assert.equal(nic.stats.get("error:rx-buffer-out-of-ram"), 1);
  assert.equal(memory.read8(d + 13), R.RXD_ERR_RXE, "errors: RXE");
  assert.equal(memory.read8(d + 12) & 0x03, 0x03, "DD and EOP: the driver can reclaim it");
  const { frames } = drv.interrupt();
  assert.equal(frames[0]!.errors, R.RXD_ERR_RXE);
  // The ring base beyond RAM.
  drv.w(R.RDBAL, RAM + 0x1000);
  assert.equal(peer.send(simpleFrame(100)), false);
  assert.equal(nic.stats.get("error:ring-out-of-ram"), 1);
  assert.equal(nic.stats.get("rx:dropped"), 1);
  // Head beyond the ring (RDLEN shrunk under it).
  drv.w(R.RDBAL, DEFAULT_LAYOUT.rxRing);
  drv.w(R.RDLEN, 128);
  assert.equal(peer.send(simpleFrame(100)), false);
  assert.equal(nic.stats.get("error:index-beyond-ring"), 1);
});

test("e1000: unknown registers read 0 and are counted; the statistics block reads 0 and clears on read", () => {
  const { drv, nic, peer } = bench();
  assert.equal(drv.r(0x1234), 0);
  assert.equal(nic.stats.get("read:unknown@0x1234"), 1);
  drv.w(0x1234, 0xdead);
  assert.equal(nic.stats.get("write:unknown@0x1234"), 1);
  for (let off = R.STATS_BASE; off < R.STATS_END; off += 4)
    assert.equal(drv.r(off), 0, `stat 0x${off.toString(16)}`);
  assert.equal(nic.stats.get("read:STAT-reserved"), 6);
  assert.equal(nic.stats.get("read:GPRC"), 1);
  drv.up();
  peer.send(simpleFrame(100));
  peer.send(simpleFrame(100));
  assert.equal(drv.r(R.STAT.TPR), 2);
  assert.equal(drv.r(R.STAT.TPR), 0);
  for (const reg of [
    R.FCAL,
    R.FCAH,
    R.FCT,
    R.FCTTV,
    R.WUC,
    R.WUFC,
    R.MANC,
    R.TXDCTL,
    R.RXDCTL,
    R.TCTL_EXT,
    R.FFLT_BASE,
  ]) {
    drv.w(reg, 0x55);
    assert.equal(drv.r(reg), 0x55, `0x${reg.toString(16)} is storage`);
  }
});

test("e1000 fuzz: seeded random register writes, DMA contents, frames and clock steps never throw; the device still works after", () => {
  for (const seed of [1, 2, 3, 0xe1000]) {
    const rnd = mulberry32(seed);
    const b = bench({ mitigation: seed % 2 === 0 });
    b.drv.up();
    const interesting = [
      R.CTRL,
      R.EECD,
      R.EERD,
      R.MDIC,
      R.ICR,
      R.ICS,
      R.IMS,
      R.IMC,
      R.ITR,
      R.RCTL,
      R.TCTL,
      R.RDBAL,
      R.RDBAH,
      R.RDLEN,
      R.RDH,
      R.RDT,
      R.RDTR,
      R.RADV,
      R.TDBAL,
      R.TDBAH,
      R.TDLEN,
      R.TDH,
      R.TDT,
      R.TIDV,
      R.TADV,
      R.VET,
      R.RA_BASE,
      R.RA_BASE + 4,
      R.MTA_BASE,
      R.VFTA_BASE,
    ];
    const value = (): number => {
      switch (Math.floor(rnd() * 5)) {
        case 0:
          return Math.floor(rnd() * 0x1_0000_0000);
        case 1:
          return Math.floor(rnd() * 256);
        case 2:
          return Math.floor(rnd() * RAM) & ~0xf;
        case 3:
          return RAM - Math.floor(rnd() * 64);
        default:
          return (1 << Math.floor(rnd() * 32)) >>> 0;
      }
    };
    const ringAreas = [DEFAULT_LAYOUT.txRing, DEFAULT_LAYOUT.rxRing];
    for (let step = 0; step < 20_000; step++) {
      const p = rnd();
      if (p < 0.3) {
        const off = interesting[Math.floor(rnd() * interesting.length)]!;
        if (off === R.CTRL && rnd() < 0.9) continue; // resets are rare
        b.drv.w(off, value());
      } else if (p < 0.38) {
        b.drv.w(Math.floor(rnd() * R.MMIO_SIZE) & ~3, value());
      } else if (p < 0.48) {
        b.drv.r(Math.floor(rnd() * R.MMIO_SIZE) & ~3);
      } else if (p < 0.65) {
        const base = ringAreas[Math.floor(rnd() * 2)]!;
        b.memory.write32(base + (Math.floor(rnd() * 256) & ~3), value());
      } else if (p < 0.78) {
        const len = Math.floor(rnd() * 3000);
        const f = new Uint8Array(len).map(() => Math.floor(rnd() * 256));
        if (len >= 6 && rnd() < 0.5) f.set(NIC_MAC_BYTES);
        b.peer.send(f);
      } else if (p < 0.88) {
        b.advance(Math.floor(rnd() * 100_000));
      } else if (p < 0.93) {
        if (b.line()) b.drv.interrupt();
      } else if (p < 0.97) {
        b.drv.bars.ioWrite32(Math.floor(rnd() * 2) * 4, value());
      } else {
        b.nic.configWrite(0x04, 2, rnd() < 0.8 ? 0x0007 : 0x0003);
      }
    }
    // Intact: a fresh driver bring-up passes traffic both ways.
    b.nic.configWrite(0x04, 2, 0x0007);
    b.sent.length = 0;
    b.drv.up();
    b.drv.transmit(simpleFrame(100));
    assert.equal(b.sent.length, 1, `seed ${seed}: TX after fuzzing`);
    b.peer.send(simpleFrame(120));
    b.advance(1_000_000);
    assert.equal(b.drv.interrupt().frames.length, 1, `seed ${seed}: RX after fuzzing`);
  }
});

test("e1000: setLinkUp(false) drops the link with LSC, frames are not received, and link returns", () => {
  const { drv, nic, peer } = bench();
  drv.up();
  nic.setLinkUp(false);
  assert.equal(drv.r(R.STATUS) & R.STATUS_LU, 0);
  assert.equal(drv.phyRead(1)! & 0x0004, 0);
  assert.equal(drv.interrupt().icr & R.INT_LSC, R.INT_LSC);
  assert.equal(peer.send(simpleFrame(100)), false);
  nic.setLinkUp(true);
  assert.equal(drv.r(R.STATUS) & R.STATUS_LU, R.STATUS_LU);
  assert.equal(peer.send(simpleFrame(100)), true);
});
