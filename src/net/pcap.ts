/**
 * Packet capture in the classic libpcap file format (pcap-savefile(5); IETF
 * draft-ietf-opsawg-pcap section 4-5): a 24-byte global header (magic 0xa1b2c3d4 written in
 * host order, version 2.4, thiszone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET = 1) and per
 * frame a 16-byte record header (ts_sec, ts_usec, incl_len, orig_len) followed by incl_len
 * bytes. Files open in tcpdump, tshark and Wireshark.
 *
 * Writes are buffered (64 KiB) and flushed synchronously when the buffer fills, on `flush()`
 * and on `close()`; call `close()` (or `flush()`) before the process exits.
 *
 * Timestamps: host wall-clock time by default; with a `clock` (a vmlab Clock, virtual time),
 * `epochNs + (clock.nowNs() - clock.nowNs() at open)`, so virtual time is laid out from the
 * moment the capture started (epochNs defaults to the host time at open).
 */
import { closeSync, openSync, writeSync } from "node:fs";
import type { NetBackend } from "./backend.js";
import type { FrameTap, NsClock } from "./switch.js";

export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
const BUFFER_BYTES = 64 * 1024;

export interface PcapOptions {
  /** Bytes kept per frame (longer frames are truncated; orig_len keeps the real length). */
  snaplen?: number;
  /** Source of record timestamps (virtual time); host wall time when absent. */
  clock?: NsClock;
  /** Wall time (ns since 1970) that corresponds to the clock's value at open. */
  epochNs?: number;
}

export class PcapWriter implements FrameTap {
  readonly snaplen: number;
  private fd: number | undefined;
  private readonly buf = new Uint8Array(BUFFER_BYTES);
  private readonly dv = new DataView(this.buf.buffer);
  private used = 0;
  private readonly clock: NsClock | undefined;
  private readonly epochNs: number;
  private readonly clockOrigin: number;
  /** Frames written. */
  frames = 0;
  /** Bytes of frame data written (after snaplen truncation). */
  bytes = 0;

  constructor(path: string, options: PcapOptions = {}) {
    const snaplen = options.snaplen ?? 65535;
    if (!Number.isInteger(snaplen) || snaplen < 14 || snaplen > 262144) {
      throw new RangeError(`snaplen must be an integer in [14, 262144], got ${snaplen}`);
    }
    this.snaplen = snaplen;
    this.clock = options.clock;
    this.clockOrigin = this.clock?.nowNs() ?? 0;
    this.epochNs = options.epochNs ?? Date.now() * 1e6;
    this.fd = openSync(path, "w");
    const dv = this.dv;
    dv.setUint32(0, PCAP_MAGIC, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setInt32(8, 0, true); // thiszone
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, snaplen, true);
    dv.setUint32(20, LINKTYPE_ETHERNET, true);
    this.used = PCAP_GLOBAL_HEADER_BYTES;
    this.flush();
  }

  private timestampNs(): number {
    if (this.clock !== undefined) return this.epochNs + (this.clock.nowNs() - this.clockOrigin);
    // Date.now() has only ms resolution; refine with performance.now() for microseconds.
    return wallOriginNs + performance.now() * 1e6;
  }

  /** Records one frame (both directions of a port go to the same file). */
  write(frame: Uint8Array): void {
    if (this.fd === undefined) return;
    const incl = Math.min(frame.length, this.snaplen);
    const need = PCAP_RECORD_HEADER_BYTES + incl;
    if (this.used + need > BUFFER_BYTES) this.flush();
    const ns = this.timestampNs();
    const sec = Math.floor(ns / 1e9);
    const usec = Math.min(999_999, Math.floor((ns - sec * 1e9) / 1e3));
    if (need > BUFFER_BYTES) {
      // A frame larger than the buffer (only with a huge snaplen): write it directly.
      const hdr = new DataView(new ArrayBuffer(PCAP_RECORD_HEADER_BYTES));
      setRecordHeader(hdr, 0, sec, usec, incl, frame.length);
      writeAll(this.fd, new Uint8Array(hdr.buffer));
      writeAll(this.fd, frame.subarray(0, incl));
    } else {
      setRecordHeader(this.dv, this.used, sec, usec, incl, frame.length);
      this.buf.set(
        incl === frame.length ? frame : frame.subarray(0, incl),
        this.used + PCAP_RECORD_HEADER_BYTES,
      );
      this.used += need;
    }
    this.frames++;
    this.bytes += incl;
  }

  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}

const wallOriginNs = Date.now() * 1e6 - performance.now() * 1e6;

function setRecordHeader(
  dv: DataView,
  off: number,
  sec: number,
  usec: number,
  incl: number,
  orig: number,
): void {
  dv.setUint32(off, sec >>> 0, true);
  dv.setUint32(off + 4, usec, true);
  dv.setUint32(off + 8, incl, true);
  dv.setUint32(off + 12, orig, true);
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

/** One record read back by `readPcap`. */
export interface PcapRecord {
  tsSec: number;
  tsUsec: number;
  origLen: number;
  data: Uint8Array;
}

/** Parses a classic little-endian pcap file (what PcapWriter writes); throws on malformed input. */
export function readPcap(file: Uint8Array): { snaplen: number; linktype: number; records: PcapRecord[] } {
  if (file.length < PCAP_GLOBAL_HEADER_BYTES) throw new Error("pcap file shorter than its global header");
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (dv.getUint32(0, true) !== PCAP_MAGIC) throw new Error("not a little-endian microsecond pcap file");
  if (dv.getUint16(4, true) !== 2 || dv.getUint16(6, true) !== 4) throw new Error("pcap version is not 2.4");
  const snaplen = dv.getUint32(16, true);
  const linktype = dv.getUint32(20, true);
  const records: PcapRecord[] = [];
  let off = PCAP_GLOBAL_HEADER_BYTES;
  while (off < file.length) {
    if (off + PCAP_RECORD_HEADER_BYTES > file.length) throw new Error(`truncated record header at ${off}`);
    const incl = dv.getUint32(off + 8, true);
    const orig = dv.getUint32(off + 12, true);
    if (incl > snaplen || incl > orig)
      throw new Error(`bad record lengths at ${off}: incl ${incl} orig ${orig}`);
    const start = off + PCAP_RECORD_HEADER_BYTES;
    if (start + incl > file.length) throw new Error(`truncated record data at ${off}`);
    records.push({
      tsSec: dv.getUint32(off, true),
      tsUsec: dv.getUint32(off + 4, true),
      origLen: orig,
      data: file.slice(start, start + incl),
    });
    off = start + incl;
  }
  return { snaplen, linktype, records };
}

/**
 * A NetBackend wrapper that records both directions of a NIC's traffic (for a VM worker that
 * captures at its own port instead of at the switch).
 */
export function captureBackend(inner: NetBackend, tap: FrameTap): NetBackend {
  return {
    send(frame) {
      tap.write(frame);
      return inner.send(frame);
    },
    setReceiver(r) {
      inner.setReceiver((frame) => {
        tap.write(frame);
        return r(frame);
      });
    },
  };
}
