/**
 * boot_params, the "zero page" (Linux Documentation/arch/x86/zero-page.rst and
 * arch/x86/include/uapi/asm/bootparam.h), and the BIOS-style e820 memory map in it.
 */

import { type BzImage, Hdr, LoadFlags } from "./bzimage.js";
import { BootImageError, hex } from "./errors.js";

export const BOOT_PARAMS_SIZE = 4096;

/** Offsets of the boot_params fields this loader writes (zero-page.rst). */
export const ZeroPage = {
  /** struct screen_info, 0x40 bytes. All zero = no VGA text console (vgacon_startup: mode,
   * lines and cols all 0 -> "no_vga"), which is what a headless machine with a serial
   * console wants. */
  SCREEN_INFO: 0x000,
  /** screen_info.ext_mem_k: KiB of memory above 1 MiB (legacy, capped at 0xFC00). */
  EXT_MEM_K: 0x002,
  /** screen_info.orig_video_isVGA. */
  ORIG_VIDEO_IS_VGA: 0x00f,
  ACPI_RSDP_ADDR: 0x070,
  EXT_RAMDISK_IMAGE: 0x0c0,
  EXT_RAMDISK_SIZE: 0x0c4,
  EXT_CMD_LINE_PTR: 0x0c8,
  /** alt_mem_k: KiB of memory above 1 MiB (used only when there is no e820 map). */
  ALT_MEM_K: 0x1e0,
  E820_ENTRIES: 0x1e8,
  /** sentinel: must stay 0, or the kernel assumes a loader that did not clear boot_params
   * and wipes fields (sanitize_boot_params). The bzImage has 0xFF here, one byte before
   * the header, so the header copy must start at 0x1F1 exactly. */
  SENTINEL: 0x1ef,
  SETUP_HEADER: 0x1f1,
  E820_TABLE: 0x2d0,
} as const;

export const E820_MAX_ENTRIES = 128;
export const E820_ENTRY_SIZE = 20;

/** e820 types (ACPI spec, "Address Range Types"; Linux E820_TYPE_*). */
export const E820Type = { RAM: 1, RESERVED: 2, ACPI: 3, NVS: 4, UNUSABLE: 5 } as const;

export interface E820Entry {
  readonly addr: number;
  readonly size: number;
  readonly type: number;
}

/** A range the caller keeps for itself (firmware, ACPI tables, an MMIO window inside RAM). */
export interface E820Reservation {
  readonly addr: number;
  readonly size: number;
  /** Default E820Type.RESERVED. */
  readonly type?: number;
}

/** The classic PC layout: 639 KiB of base memory, the EBDA (0x9FC00-0xA0000) and the BIOS
 * ROM (0xF0000-0x100000) reserved, then RAM from 1 MiB to the top. The VGA hole
 * 0xA0000-0xF0000 is simply absent. Reservations are carved out of RAM and listed. */
export const EBDA_START = 0x9_fc00;
export const BIOS_ROM_START = 0xf_0000;
export const HIGH_MEMORY = 0x10_0000;

export function buildE820Map(ramSize: number, reserved: readonly E820Reservation[] = []): E820Entry[] {
  const ram: [number, number][] = [];
  const add = (a: number, b: number): void => {
    if (b > a) ram.push([a, b]);
  };
  add(0, Math.min(EBDA_START, ramSize));
  add(HIGH_MEMORY, ramSize);
  const rsv: E820Entry[] = [
    { addr: EBDA_START, size: 0xa_0000 - EBDA_START, type: E820Type.RESERVED },
    { addr: BIOS_ROM_START, size: HIGH_MEMORY - BIOS_ROM_START, type: E820Type.RESERVED },
  ];
  for (const r of reserved) {
    if (!(Number.isSafeInteger(r.addr) && Number.isSafeInteger(r.size) && r.addr >= 0 && r.size > 0)) {
      throw new RangeError(`e820 reservation [${r.addr}, +${r.size}) is not a valid range`);
    }
    rsv.push({ addr: r.addr, size: r.size, type: r.type ?? E820Type.RESERVED });
  }
  // Subtract every reservation from every RAM range.
  let free = ram;
  for (const r of rsv) {
    const rEnd = r.addr + r.size;
    free = free.flatMap(([a, b]): [number, number][] => {
      if (rEnd <= a || r.addr >= b) return [[a, b]];
      const parts: [number, number][] = [];
      if (r.addr > a) parts.push([a, r.addr]);
      if (rEnd < b) parts.push([rEnd, b]);
      return parts;
    });
  }
  const all: E820Entry[] = [...free.map(([a, b]) => ({ addr: a, size: b - a, type: E820Type.RAM })), ...rsv];
  all.sort((x, y) => x.addr - y.addr || x.type - y.type);
  // Merge touching entries of one type.
  const out: E820Entry[] = [];
  for (const e of all) {
    const last = out[out.length - 1];
    if (last !== undefined && last.type === e.type && last.addr + last.size >= e.addr) {
      out[out.length - 1] = { ...last, size: Math.max(last.addr + last.size, e.addr + e.size) - last.addr };
    } else {
      out.push(e);
    }
  }
  if (out.length > E820_MAX_ENTRIES) {
    throw new RangeError(`e820 map has ${out.length} entries, boot_params holds ${E820_MAX_ENTRIES}`);
  }
  return out;
}

export interface BootParamsInput {
  readonly image: BzImage;
  readonly ramSize: number;
  readonly e820: readonly E820Entry[];
  readonly cmdLinePtr: number;
  readonly initrd?: { readonly addr: number; readonly size: number } | undefined;
}

/** Builds the 4096-byte boot_params: zeroed, the setup header copied from the image at 0x1F1
 * (32-bit boot protocol, boot.rst), then the loader's fields. */
export function buildBootParams(input: BootParamsInput): Uint8Array {
  const { image } = input;
  const bp = new Uint8Array(BOOT_PARAMS_SIZE);
  const v = new DataView(bp.buffer);
  bp.set(image.setupHeader, ZeroPage.SETUP_HEADER);
  // "Boot loader has no assigned ID": 0xFF (boot.rst, type_of_loader).
  v.setUint8(Hdr.TYPE_OF_LOADER, 0xff);
  // CAN_USE_HEAP with the customary heap end (setup at 0x90000, heap to 0x9FE00); only the
  // 16-bit setup code reads it, set for completeness. KEEP_SEGMENTS is obsolete: cleared.
  const lf = (image.loadflags | LoadFlags.CAN_USE_HEAP) & ~LoadFlags.KEEP_SEGMENTS;
  v.setUint8(Hdr.LOADFLAGS, lf);
  v.setUint16(Hdr.HEAP_END_PTR, 0xfe00, true);
  v.setUint32(Hdr.CMD_LINE_PTR, input.cmdLinePtr, true);
  if (input.initrd !== undefined) {
    if (input.initrd.addr + input.initrd.size > image.initrdAddrMax + 1) {
      throw new BootImageError(
        "no-room",
        `initrd [${hex(input.initrd.addr)}, +${input.initrd.size}) ends above initrd_addr_max ${hex(image.initrdAddrMax)}`,
      );
    }
    v.setUint32(Hdr.RAMDISK_IMAGE, input.initrd.addr, true);
    v.setUint32(Hdr.RAMDISK_SIZE, input.initrd.size, true);
  }
  const highKiB = Math.max(0, Math.floor((input.ramSize - HIGH_MEMORY) / 1024));
  v.setUint16(ZeroPage.EXT_MEM_K, Math.min(highKiB, 0xfc00), true);
  v.setUint32(ZeroPage.ALT_MEM_K, highKiB, true);
  if (input.e820.length > E820_MAX_ENTRIES) throw new RangeError("too many e820 entries");
  input.e820.forEach((e, i) => {
    const o = ZeroPage.E820_TABLE + i * E820_ENTRY_SIZE;
    v.setBigUint64(o, BigInt(e.addr), true);
    v.setBigUint64(o + 8, BigInt(e.size), true);
    v.setUint32(o + 16, e.type, true);
  });
  v.setUint8(ZeroPage.E820_ENTRIES, input.e820.length);
  return bp;
}
