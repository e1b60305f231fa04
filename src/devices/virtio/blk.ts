/**
 * virtio-blk (virtio 1.2, 5.2) over the modern PCI transport: PCI device 1AF4:1042, class
 * 010000h (mass storage, as QEMU), one request queue, backed by a host file through a file
 * descriptor (node:fs, synchronous: the request is complete in the file before the used
 * element is published).
 *
 * Features offered (5.2.3): VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE (512),
 * VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO when read-only, VIRTIO_F_VERSION_1,
 * VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX.
 *
 * A request (5.2.6): struct virtio_blk_req { le32 type; le32 reserved; le64 sector; u8 data[];
 * u8 status; } as a device-readable part (header, then data for OUT) and a device-writable
 * part (data for IN and GET_ID, then the status byte, last). The device makes no assumption on
 * how the parts are cut into descriptors (2.7.4.1): it reads and writes them as byte streams.
 * Requests a guest gets wrong are answered VIRTIO_BLK_S_IOERR (out of range, unaligned, wrong
 * direction, read-only) or VIRTIO_BLK_S_UNSUPP (unknown type); a request without a writable
 * status byte cannot be answered at all and is a device error (DEVICE_NEEDS_RESET). Host I/O
 * errors (EIO, ENOSPC) are IOERR too, counted as "error:host-io".
 */

import * as fs from "node:fs";
import type { GuestMemory } from "../../memory/guest-memory.js";
import { F_EVENT_IDX, F_INDIRECT_DESC, featureWords } from "./constants.js";
import { VirtioGuestFault } from "./errors.js";
import { VirtioPciDevice } from "./pci-transport.js";
import { type DescriptorChain, readFromSegments, type Segment, writeToSegments } from "./queue.js";

/** Feature bits (5.2.3). */
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
export const VIRTIO_BLK_F_FLUSH = 9;
/** Request types (5.2.6). */
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
/** Status values (5.2.6). */
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;
export const SECTOR_SIZE = 512;
/** VIRTIO_BLK_ID_BYTES (5.2.6): the length of the GET_ID answer. */
export const VIRTIO_BLK_ID_BYTES = 20;
const REQ_HEADER = 16;
/** Largest request accepted (bytes of one chain); Linux's default max_sectors is 1.25 MiB. */
export const MAX_REQUEST_BYTES = 32 << 20;

export interface VirtioBlkOptions {
  readonly memory: GuestMemory;
  /** The host file holding the disk image. Its size, rounded down to 512 bytes, is the capacity. */
  readonly path: string;
  readonly readOnly?: boolean;
  /** The serial number returned by GET_ID (at most 20 bytes). */
  readonly id?: string;
  /** Queue size (power of 2, default 128). */
  readonly queueSize?: number;
  readonly name?: string;
}

export class VirtioBlk extends VirtioPciDevice {
  readonly readOnly: boolean;
  readonly path: string;
  /** Capacity in 512-byte sectors. */
  readonly capacity: number;
  private fd: number;
  private readonly id: Uint8Array;
  private readonly scratch = Buffer.alloc(64 * 1024);
  private readonly reqHeader = new Uint8Array(REQ_HEADER);
  private readonly statusByte = new Uint8Array(1);

  constructor(options: VirtioBlkOptions) {
    const readOnly = options.readOnly ?? false;
    const size = options.queueSize ?? 128;
    const bits = [
      VIRTIO_BLK_F_SEG_MAX,
      VIRTIO_BLK_F_BLK_SIZE,
      VIRTIO_BLK_F_FLUSH,
      F_EVENT_IDX,
      F_INDIRECT_DESC,
    ];
    if (readOnly) bits.push(VIRTIO_BLK_F_RO);
    super({
      name: options.name ?? "virtio-blk",
      memory: options.memory,
      virtioId: 2,
      classCode: 0x010000,
      features: featureWords(bits),
      queues: [{ name: "request", size, maxChainBytes: MAX_REQUEST_BYTES }],
      configLength: 36,
    });
    this.readOnly = readOnly;
    this.path = options.path;
    this.fd = fs.openSync(options.path, readOnly ? "r" : "r+");
    const bytes = fs.fstatSync(this.fd).size;
    this.capacity = Math.floor(bytes / SECTOR_SIZE);
    this.id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    this.id.set(new TextEncoder().encode(options.id ?? "vmlab-virtio-blk").subarray(0, VIRTIO_BLK_ID_BYTES));
    this.writeConfig(size);
  }

  /** struct virtio_blk_config (5.2.4), the fields up to num_queues. */
  private writeConfig(queueSize: number): void {
    const v = new DataView(this.deviceConfig.buffer);
    v.setUint32(0, this.capacity % 0x1_0000_0000, true); // capacity, le64
    v.setUint32(4, Math.floor(this.capacity / 0x1_0000_0000), true);
    v.setUint32(8, 0, true); // size_max (feature not offered)
    v.setUint32(12, queueSize - 2, true); // seg_max: room for header and status descriptors
    v.setUint16(16, 0, true); // geometry (not offered)
    v.setUint32(20, SECTOR_SIZE, true); // blk_size
    v.setUint16(34, 1, true); // num_queues (meaningful only with VIRTIO_BLK_F_MQ)
  }

  /** Close the host file (the device answers IOERR afterwards). */
  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  protected override queueNotify(_index: number): void {
    const q = this.queues[0]!;
    let used = 0;
    // At most `size` chains per notification: a driver that refills as fast as we complete
    // cannot keep the vCPU here; what remains is taken at the next notification.
    for (let n = 0; n < q.size; n++) {
      const chain = q.pop();
      if (chain === null) break;
      const written = this.request(chain);
      q.pushUsed(chain.head, written);
      used++;
      // Publish as we go: the request is complete in the file already (5.2.6.2 / 2.7.8).
      q.publishUsed();
    }
    // The loop may end on its bound (a full ring: `size` requests, as blk-mq's queue depth
    // allows with indirect descriptors) without the empty pop() that moves avail_event;
    // without this the driver's next request would not notify (2.7.10) and the disk would hang.
    q.publishAvailEvent();
    if (used > 0) this.usedBufferNotify(q);
  }

  /** Execute one request; returns the bytes written into the writable part (the used len). */
  private request(chain: DescriptorChain): number {
    // 5.2.6.1: the status byte is the last device-writable byte. Without one nothing can be answered.
    if (chain.writableBytes === 0) throw new VirtioGuestFault("blk-no-status");
    const statusOffset = chain.writableBytes - 1;
    let status = VIRTIO_BLK_S_OK;
    let dataWritten = 0;
    this.stats.count("blk:requests");
    if (chain.readableBytes < REQ_HEADER) {
      this.guestError("blk-short-header");
      status = VIRTIO_BLK_S_IOERR;
    } else {
      const h = this.reqHeader;
      readFromSegments(this.memory, chain.readable, 0, h);
      const type = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
      const sectorLo = (h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24)) >>> 0;
      const sectorHi = (h[12]! | (h[13]! << 8) | (h[14]! << 16) | (h[15]! << 24)) >>> 0;
      // A sector at or above 2^32 is beyond any capacity this device has (files below 2 TiB).
      const sector = sectorHi === 0 ? sectorLo : Number.POSITIVE_INFINITY;
      switch (type) {
        case VIRTIO_BLK_T_IN: {
          this.stats.count("blk:read");
          const len = statusOffset;
          status = this.checkData(chain.readableBytes === REQ_HEADER, sector, len);
          if (status === VIRTIO_BLK_S_OK) {
            status = this.readDisk(chain.writable, sector * SECTOR_SIZE, len);
            if (status === VIRTIO_BLK_S_OK) dataWritten = len;
          }
          break;
        }
        case VIRTIO_BLK_T_OUT: {
          this.stats.count("blk:write");
          const len = chain.readableBytes - REQ_HEADER;
          status = this.checkData(chain.writableBytes === 1, sector, len);
          if (status === VIRTIO_BLK_S_OK && this.readOnly) {
            this.guestError("blk-read-only"); // 5.2.6.2: IOERR and no data written
            status = VIRTIO_BLK_S_IOERR;
          }
          if (status === VIRTIO_BLK_S_OK) status = this.writeDisk(chain.readable, sector * SECTOR_SIZE, len);
          break;
        }
        case VIRTIO_BLK_T_FLUSH:
          this.stats.count("blk:flush");
          status = this.flush();
          break;
        case VIRTIO_BLK_T_GET_ID: {
          this.stats.count("blk:get-id");
          const n = Math.min(VIRTIO_BLK_ID_BYTES, statusOffset);
          dataWritten = writeToSegments(this.memory, chain.writable, 0, this.id.subarray(0, n));
          this.stats.count("dma:write-bytes", n);
          break;
        }
        default:
          this.guestError("blk-unsupported");
          status = VIRTIO_BLK_S_UNSUPP;
      }
    }
    this.statusByte[0] = status;
    writeToSegments(this.memory, chain.writable, statusOffset, this.statusByte);
    if (status !== VIRTIO_BLK_S_OK)
      this.stats.count(status === VIRTIO_BLK_S_UNSUPP ? "blk:unsupp" : "blk:ioerr");
    return dataWritten + 1;
  }

  /** 5.2.6.1/5.2.6.2 checks of a data request: direction, 512-byte multiple, inside the capacity. */
  private checkData(directionOk: boolean, sector: number, len: number): number {
    if (!directionOk) {
      this.guestError("blk-data-direction");
      return VIRTIO_BLK_S_IOERR;
    }
    if (len % SECTOR_SIZE !== 0) {
      this.guestError("blk-unaligned");
      return VIRTIO_BLK_S_IOERR;
    }
    // sector < 2^32 and len < 2^26: the sum is exact.
    if (!(sector + len / SECTOR_SIZE <= this.capacity)) {
      this.guestError("blk-out-of-range");
      return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
  }

  private readDisk(segs: readonly Segment[], position: number, len: number): number {
    try {
      let done = 0;
      while (done < len) {
        const n = Math.min(this.scratch.length, len - done);
        const got = fs.readSync(this.fd, this.scratch, 0, n, position + done);
        // A file shortened behind our back reads as zeros beyond its end.
        if (got < n) this.scratch.fill(0, got, n);
        writeToSegments(this.memory, segs, done, this.scratch.subarray(0, n));
        done += n;
      }
      this.stats.count("dma:write-bytes", len);
      this.stats.count("blk:read-bytes", len);
      return VIRTIO_BLK_S_OK;
    } catch (e) {
      return this.hostError(e);
    }
  }

  private writeDisk(segs: readonly Segment[], position: number, len: number): number {
    try {
      let done = 0;
      while (done < len) {
        const n = Math.min(this.scratch.length, len - done);
        readFromSegments(this.memory, segs, REQ_HEADER + done, this.scratch.subarray(0, n));
        let off = 0;
        while (off < n) off += fs.writeSync(this.fd, this.scratch, off, n - off, position + done + off);
        done += n;
      }
      this.stats.count("dma:read-bytes", len);
      this.stats.count("blk:write-bytes", len);
      return VIRTIO_BLK_S_OK;
    } catch (e) {
      return this.hostError(e);
    }
  }

  private flush(): number {
    try {
      fs.fsyncSync(this.fd);
      return VIRTIO_BLK_S_OK;
    } catch (e) {
      return this.hostError(e);
    }
  }

  /** A host I/O failure is the guest's IOERR, not a crash; anything but an fs error is a bug and rethrown. */
  private hostError(e: unknown): number {
    if (!(e instanceof Error) || !("code" in e)) throw e;
    this.stats.count("error:host-io");
    return VIRTIO_BLK_S_IOERR;
  }
}
