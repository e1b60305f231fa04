/**
 * The bzImage file: its real-mode setup sectors, the setup header inside them, and the
 * protected-mode kernel that follows (Linux Documentation/arch/x86/boot.rst, "THE REAL-MODE
 * KERNEL HEADER" and "DETAILS OF HEADER FIELDS").
 *
 *   file offset 0                      setup (setup_sects + 1) * 512 bytes; the setup header
 *                                      is at 0x1F1 and ends at 0x202 + byte[0x201]
 *   file offset (setup_sects+1)*512    the protected-mode kernel: the decompressor
 *                                      (arch/x86/boot/compressed/) with the compressed
 *                                      vmlinux at payload_offset, payload_length bytes
 *
 * Every field is read through a bounds-checked reader: a truncated or corrupt file fails
 * with a `BootImageError` that names the field.
 */

import { ByteReader } from "./bytes.js";
import { BootImageError, hex } from "./errors.js";

/** Offsets of setup-header fields, in the file and identically in boot_params (boot.rst). */
export const Hdr = {
  SETUP_SECTS: 0x1f1,
  ROOT_FLAGS: 0x1f2,
  SYSSIZE: 0x1f4,
  RAM_SIZE: 0x1f8,
  VID_MODE: 0x1fa,
  ROOT_DEV: 0x1fc,
  BOOT_FLAG: 0x1fe,
  JUMP: 0x200,
  HEADER: 0x202,
  VERSION: 0x206,
  REALMODE_SWTCH: 0x208,
  START_SYS_SEG: 0x20c,
  KERNEL_VERSION: 0x20e,
  TYPE_OF_LOADER: 0x210,
  LOADFLAGS: 0x211,
  SETUP_MOVE_SIZE: 0x212,
  CODE32_START: 0x214,
  RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c,
  BOOTSECT_KLUDGE: 0x220,
  HEAP_END_PTR: 0x224,
  EXT_LOADER_VER: 0x226,
  EXT_LOADER_TYPE: 0x227,
  CMD_LINE_PTR: 0x228,
  INITRD_ADDR_MAX: 0x22c,
  KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE_KERNEL: 0x234,
  MIN_ALIGNMENT: 0x235,
  XLOADFLAGS: 0x236,
  CMDLINE_SIZE: 0x238,
  HARDWARE_SUBARCH: 0x23c,
  HARDWARE_SUBARCH_DATA: 0x240,
  PAYLOAD_OFFSET: 0x248,
  PAYLOAD_LENGTH: 0x24c,
  SETUP_DATA: 0x250,
  PREF_ADDRESS: 0x258,
  INIT_SIZE: 0x260,
  HANDOVER_OFFSET: 0x264,
  KERNEL_INFO_OFFSET: 0x268,
} as const;

/** "HdrS" read as a little-endian u32 at 0x202. */
export const HDRS_MAGIC = 0x5372_6448;
export const BOOT_FLAG_MAGIC = 0xaa55;

/** loadflags bits (boot.rst, field "loadflags"). */
export const LoadFlags = {
  LOADED_HIGH: 1 << 0,
  KASLR_FLAG: 1 << 1,
  QUIET_FLAG: 1 << 5,
  KEEP_SEGMENTS: 1 << 6,
  CAN_USE_HEAP: 1 << 7,
} as const;

/** The oldest protocol this loader accepts: 2.04 has the 32-bit syssize. */
export const MIN_PROTOCOL = 0x0204;

/** Compression formats the kernel build can choose for the payload (arch/x86/boot/compressed/Makefile). */
export type PayloadFormat = "xz" | "gzip" | "bzip2" | "lzma" | "lzo" | "lz4" | "zstd" | "elf" | "unknown";

export interface BzImage {
  /** The whole file. */
  readonly bytes: Uint8Array;
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  readonly protocol: number;
  /** Setup sectors after the boot sector (0 in the file means 4). */
  readonly setupSects: number;
  /** Bytes of real-mode code: (setupSects + 1) * 512 = file offset of the protected-mode kernel. */
  readonly setupSize: number;
  /** The setup header bytes, file offsets 0x1F1 .. 0x202 + byte[0x201]. */
  readonly setupHeader: Uint8Array;
  readonly loadflags: number;
  /** 32-bit entry of the protected-mode kernel (normally 0x100000). */
  readonly code32Start: number;
  /** Highest address the initrd may occupy (inclusive). */
  readonly initrdAddrMax: number;
  /** Physical alignment a relocatable kernel needs (2.05+, else 0). */
  readonly kernelAlignment: number;
  readonly relocatable: boolean;
  readonly xloadflags: number;
  /** Longest command line without its NUL (255 before 2.06). */
  readonly cmdlineSize: number;
  /** Preferred load address of a relocatable kernel (2.10+; else 0x100000). */
  readonly prefAddress: number;
  /** Bytes of linear memory the kernel needs from its load address during boot (2.10+; else 0). */
  readonly initSize: number;
  /** The protected-mode kernel (the file after the setup sectors, at most syssize*16 bytes). */
  readonly protectedMode: Uint8Array;
  /** The compressed vmlinux (2.08+), a view into the protected-mode kernel. */
  readonly payload: Uint8Array | undefined;
  readonly payloadFormat: PayloadFormat;
  /** The kernel's version string (kernel_version field), if present and readable. */
  readonly kernelVersion: string | undefined;
}

export const protocolString = (p: number): string => `${p >> 8}.${(p & 0xff).toString().padStart(2, "0")}`;

/** Recognizes a payload by its magic bytes (the kernel's decompressors check the same ones). */
export function detectPayloadFormat(p: Uint8Array): PayloadFormat {
  const at = (i: number): number => p[i] ?? -1;
  if (at(0) === 0xfd && at(1) === 0x37 && at(2) === 0x7a && at(3) === 0x58 && at(4) === 0x5a && at(5) === 0) {
    return "xz";
  }
  if (at(0) === 0x1f && (at(1) === 0x8b || at(1) === 0x9e)) return "gzip";
  if (at(0) === 0x42 && at(1) === 0x5a && at(2) === 0x68) return "bzip2";
  if (at(0) === 0x5d && at(1) === 0 && at(2) === 0) return "lzma";
  if (at(0) === 0x89 && at(1) === 0x4c && at(2) === 0x5a && at(3) === 0x4f) return "lzo";
  if (at(0) === 0x02 && at(1) === 0x21 && at(2) === 0x4c && at(3) === 0x18) return "lz4";
  if (at(0) === 0x28 && at(1) === 0xb5 && at(2) === 0x2f && at(3) === 0xfd) return "zstd";
  if (at(0) === 0x7f && at(1) === 0x45 && at(2) === 0x4c && at(3) === 0x46) return "elf";
  return "unknown";
}

/** Parses and validates a bzImage. Throws `BootImageError` for anything it cannot load. */
export function parseBzImage(bytes: Uint8Array): BzImage {
  const r = new ByteReader(bytes, "bzImage");
  if (bytes.length < 0x202 + 4) {
    throw new BootImageError(
      "truncated",
      `bzImage: file is ${bytes.length} bytes, too short for a setup header (needs at least 0x206)`,
    );
  }
  const magic = r.u32(Hdr.HEADER, "header signature");
  if (magic !== HDRS_MAGIC) {
    throw new BootImageError(
      "bad-magic",
      `bzImage: no "HdrS" signature at 0x202 (found ${hex(magic)}): not a Linux kernel image, or older than boot protocol 2.00`,
    );
  }
  const bootFlag = r.u16(Hdr.BOOT_FLAG, "boot_flag");
  if (bootFlag !== BOOT_FLAG_MAGIC) {
    throw new BootImageError("bad-magic", `bzImage: boot_flag at 0x1FE is ${hex(bootFlag)}, expected 0xaa55`);
  }
  const protocol = r.u16(Hdr.VERSION, "version");
  if (protocol < MIN_PROTOCOL) {
    throw new BootImageError(
      "unsupported",
      `bzImage: boot protocol ${protocolString(protocol)} is older than ${protocolString(MIN_PROTOCOL)}, the oldest this loader supports`,
    );
  }
  // boot.rst: "the end of setup header can be calculated as 0x0202 + byte value at offset 0x0201".
  const headerEnd = 0x202 + r.u8(Hdr.JUMP + 1, "jump");
  const setupHeader = r.slice(Hdr.SETUP_SECTS, headerEnd - Hdr.SETUP_SECTS, "setup header");
  // "If this field is 0, the real value is 4."
  const rawSects = r.u8(Hdr.SETUP_SECTS, "setup_sects");
  const setupSects = rawSects === 0 ? 4 : rawSects;
  const setupSize = (setupSects + 1) * 512;
  if (setupSize >= bytes.length) {
    throw new BootImageError(
      "truncated",
      `bzImage: setup_sects=${setupSects} puts the protected-mode kernel at ${hex(setupSize)}, but the file is only ${bytes.length} bytes`,
    );
  }
  if (headerEnd > setupSize) {
    throw new BootImageError(
      "corrupt",
      `bzImage: setup header ends at ${hex(headerEnd)}, past the setup sectors`,
    );
  }
  const loadflags = r.u8(Hdr.LOADFLAGS, "loadflags");
  if ((loadflags & LoadFlags.LOADED_HIGH) === 0) {
    throw new BootImageError(
      "unsupported",
      "bzImage: loadflags.LOADED_HIGH is clear: this is a zImage (protected-mode code at 0x10000), which is not supported",
    );
  }
  // syssize: size of the protected-mode code in 16-byte paragraphs (32-bit since 2.04).
  const syssize = r.u32(Hdr.SYSSIZE, "syssize");
  const pmAvailable = bytes.length - setupSize;
  const pmClaimed = syssize * 16;
  if (syssize === 0 || pmClaimed > pmAvailable + 15) {
    throw new BootImageError(
      syssize === 0 ? "corrupt" : "truncated",
      `bzImage: syssize says the protected-mode kernel is ${pmClaimed} bytes, but the file holds ${pmAvailable} after the setup sectors`,
    );
  }
  const protectedMode = bytes.subarray(setupSize, setupSize + Math.min(pmClaimed, pmAvailable));
  const code32Start = r.u32(Hdr.CODE32_START, "code32_start");
  // Before 2.03 the field did not exist and the limit was 0x37FFFFFF; we require 2.04.
  const initrdAddrMax = r.u32(Hdr.INITRD_ADDR_MAX, "initrd_addr_max");
  let kernelAlignment = 0;
  let relocatable = false;
  if (protocol >= 0x0205) {
    kernelAlignment = r.u32(Hdr.KERNEL_ALIGNMENT, "kernel_alignment");
    relocatable = r.u8(Hdr.RELOCATABLE_KERNEL, "relocatable_kernel") !== 0;
    if (relocatable && (kernelAlignment === 0 || (kernelAlignment & (kernelAlignment - 1)) !== 0)) {
      throw new BootImageError(
        "corrupt",
        `bzImage: kernel_alignment ${hex(kernelAlignment)} is not a power of two`,
      );
    }
  }
  const xloadflags = protocol >= 0x020c ? r.u16(Hdr.XLOADFLAGS, "xloadflags") : 0;
  const cmdlineSize = protocol >= 0x0206 ? r.u32(Hdr.CMDLINE_SIZE, "cmdline_size") : 255;
  let payload: Uint8Array | undefined;
  let payloadFormat: PayloadFormat = "unknown";
  if (protocol >= 0x0208) {
    // payload_offset is relative to the start of the protected-mode code.
    const off = r.u32(Hdr.PAYLOAD_OFFSET, "payload_offset");
    const len = r.u32(Hdr.PAYLOAD_LENGTH, "payload_length");
    if (len === 0 || off + len > protectedMode.length) {
      throw new BootImageError(
        len === 0 ? "corrupt" : "truncated",
        `bzImage: payload [${hex(off)}, +${len}) lies outside the ${protectedMode.length}-byte protected-mode kernel`,
      );
    }
    payload = protectedMode.subarray(off, off + len);
    payloadFormat = detectPayloadFormat(payload);
  }
  const prefAddress = protocol >= 0x020a ? r.u64(Hdr.PREF_ADDRESS, "pref_address") : 0x10_0000;
  const initSize = protocol >= 0x020a ? r.u32(Hdr.INIT_SIZE, "init_size") : 0;
  return {
    bytes,
    protocol,
    setupSects,
    setupSize,
    setupHeader,
    loadflags,
    code32Start,
    initrdAddrMax,
    kernelAlignment,
    relocatable,
    xloadflags,
    cmdlineSize,
    prefAddress,
    initSize,
    protectedMode,
    payload,
    payloadFormat,
    kernelVersion: readKernelVersion(bytes, r, setupSize),
  };
}

/** kernel_version: "set to a pointer (minus 0x200) to a NUL-terminated human-readable kernel version". */
function readKernelVersion(bytes: Uint8Array, r: ByteReader, setupSize: number): string | undefined {
  const ptr = r.u16(Hdr.KERNEL_VERSION, "kernel_version");
  if (ptr === 0) return undefined;
  const start = ptr + 0x200;
  if (start >= setupSize) return undefined;
  let end = start;
  while (end < setupSize && end - start < 256 && bytes[end] !== 0) end++;
  return new TextDecoder("latin1").decode(bytes.subarray(start, end));
}
