/**
 * Loads a Linux bzImage into guest RAM and describes the CPU state to start it with.
 *
 * Two entry paths, both the 32-bit boot protocol (boot.rst, "32-bit BOOT PROTOCOL"):
 *
 *  - "decompressor": the protected-mode part of the bzImage is loaded at code32_start
 *    (0x100000) and entered there. The kernel's own decompressor
 *    (arch/x86/boot/compressed/head_32.S) moves itself up, decompresses vmlinux to
 *    max(load address aligned to kernel_alignment, LOAD_PHYSICAL_ADDR = pref_address)
 *    using init_size bytes from there, applies relocations if it moved the kernel, and
 *    jumps to vmlinux's startup_32 with ESI = boot_params. For Debian's 6.1 686 kernel
 *    that is ~2.3e9 guest instructions of xz.
 *
 *  - "vmlinux" (the default): the host does that work. The payload (payload_offset /
 *    payload_length, 2.08+) is decompressed here (xz with the x86 BCJ filter, or gzip), the
 *    ELF's PT_LOAD segments are copied to their p_paddr (0x1000000 = LOAD_PHYSICAL_ADDR for
 *    the Debian kernel; the BSS part of p_memsz is zeroed) and the CPU enters at e_entry,
 *    which for an i386 vmlinux is already physical (the linker script says
 *    ENTRY(phys_startup_32)). Loaded at its link address the kernel needs no relocation.
 *    What vmlinux's startup_32 (arch/x86/kernel/head_32.S) expects is exactly what the
 *    decompressor leaves: 32-bit flat protected mode, paging off, IF=0, ESI = boot_params
 *    with the setup header. It then loads its own GDT (boot_gdt_descr), sets up its stack,
 *    clears its BSS, copies boot_params and the command line (cmd_line_ptr) into its own
 *    data, builds its early page tables in its .brk area (inside p_memsz), and enables
 *    paging. So the memory from the kernel's start to start + init_size must be free RAM,
 *    boot_params and the command line must not overlap the kernel, and the initrd must lie
 *    above the kernel. The decompressor would also have cleared KASLR_FLAG (the kernel is
 *    not randomized here) and cleared nothing else.
 *
 * Guest-physical layout (defaults; all configurable):
 *   0x5000   boot GDT (32 bytes);  stack grows down from 0x7000
 *   0x7000   boot_params (4 KiB)
 *   0x20000  command line (up to cmdline_size + 1 bytes)
 *   0x100000 protected-mode kernel (decompressor path)
 *   0x1000000 vmlinux (vmlinux path)
 *   top      initrd, 4 KiB aligned, as high as possible below min(initrd_addr_max, RAM top,
 *            LOWMEM_LIMIT) so that the kernel need not copy it out of highmem.
 */

import type { GuestMemory } from "../memory/guest-memory.js";
import { type BzImage, detectPayloadFormat, parseBzImage, protocolString } from "./bzimage.js";
import { decompressPayload } from "./decompress.js";
import { type ElfSegment, elfSegments, PT_LOAD, parseElfHeader } from "./elf.js";
import { BOOT_GDT_SIZE, type EntryState, protectedModeEntry, writeBootGdt } from "./entry.js";
import { BootImageError, hex } from "./errors.js";
import {
  BOOT_PARAMS_SIZE,
  buildBootParams,
  buildE820Map,
  type E820Entry,
  type E820Reservation,
  E820Type,
  HIGH_MEMORY,
} from "./zero-page.js";

export type EntryPath = "vmlinux" | "decompressor";

export interface BootLayout {
  readonly gdt: number;
  readonly stackTop: number;
  readonly bootParams: number;
  readonly cmdline: number;
}

export const DEFAULT_LAYOUT: BootLayout = {
  gdt: 0x5000,
  stackTop: 0x7000,
  bootParams: 0x7000,
  cmdline: 0x2_0000,
};

/** The initrd stays below this (896 MiB lowmem minus the 128 MiB vmalloc reserve of a
 * 3G/1G i386 kernel, rounded down), so that relocate_initrd() has nothing to copy. */
export const LOWMEM_LIMIT = 0x3700_0000;

/** A vmlinux ELF ready to copy into guest RAM. */
export interface VmlinuxImage {
  /** Physical entry point (e_entry). */
  readonly entry: number;
  readonly segments: readonly { readonly paddr: number; readonly data: Uint8Array; readonly memsz: number }[];
  /** Bytes of the uncompressed ELF file. */
  readonly fileSize: number;
}

/** A kernel parsed (and, for the vmlinux path, decompressed) once; loadable many times. */
export interface PreparedKernel {
  readonly image: BzImage;
  readonly entryPath: EntryPath;
  readonly vmlinux: VmlinuxImage | undefined;
  /** Host milliseconds spent decompressing (0 for the decompressor path). */
  readonly decompressMs: number;
}

export interface LinuxLoadOptions {
  readonly cmdline?: string;
  readonly initrd?: Uint8Array | undefined;
  readonly layout?: Partial<BootLayout>;
  /** Ranges of RAM the machine keeps for itself (listed as reserved in e820). */
  readonly reserved?: readonly E820Reservation[];
}

export interface LinuxBoot {
  readonly entry: EntryState;
  readonly layout: BootLayout;
  readonly e820: readonly E820Entry[];
  /** [start, end) of guest memory the kernel will occupy during early boot. */
  readonly kernelRange: readonly [number, number];
  readonly initrd: { readonly addr: number; readonly size: number } | undefined;
  readonly summary: string;
}

/** Parses a vmlinux ELF (i386, ET_EXEC) and collects its PT_LOAD segments. */
export function parseVmlinux(elf: Uint8Array): VmlinuxImage {
  const h = parseElfHeader(elf, "vmlinux");
  if (h.type !== 2) throw new BootImageError("unsupported", `vmlinux: ELF type ${h.type} is not ET_EXEC`);
  const loads = elfSegments(elf, h, "vmlinux").filter((s: ElfSegment) => s.type === PT_LOAD && s.memsz > 0);
  if (loads.length === 0) throw new BootImageError("corrupt", "vmlinux: no PT_LOAD segments");
  const inside = loads.some((s) => h.entry >= s.paddr && h.entry < s.paddr + s.memsz);
  if (!inside) {
    throw new BootImageError(
      "corrupt",
      `vmlinux: entry ${hex(h.entry)} lies in no PT_LOAD segment (by physical address)`,
    );
  }
  return {
    entry: h.entry,
    segments: loads.map((s) => ({
      paddr: s.paddr,
      data: elf.subarray(s.offset, s.offset + s.filesz),
      memsz: s.memsz,
    })),
    fileSize: elf.length,
  };
}

/** Parses the bzImage and, for the vmlinux path, decompresses its payload on the host. */
export async function prepareKernel(
  bytes: Uint8Array,
  entryPath: EntryPath = "vmlinux",
): Promise<PreparedKernel> {
  const image = parseBzImage(bytes);
  if (entryPath === "decompressor") return { image, entryPath, vmlinux: undefined, decompressMs: 0 };
  if (image.payload === undefined) {
    throw new BootImageError(
      "unsupported",
      `bzImage: boot protocol ${protocolString(image.protocol)} has no payload_offset (2.08+ needed for host-side decompression); use the decompressor entry`,
    );
  }
  const t0 = performance.now();
  const elf = await decompressPayload(image.payload, image.payloadFormat);
  const decompressMs = performance.now() - t0;
  if (detectPayloadFormat(elf) !== "elf")
    throw new BootImageError("bad-magic", "payload: decompressed data is not an ELF file");
  return { image, entryPath, vmlinux: parseVmlinux(elf), decompressMs };
}

const alignDown = (n: number, a: number): number => n - (n % a);
const overlaps = (a: number, aLen: number, b: number, bLen: number): boolean => a < b + bLen && b < a + aLen;

/** Writes the kernel, boot_params, command line, GDT and initrd into `mem` and returns the
 * entry state. Throws BootImageError("no-room") when something does not fit. */
export function loadPreparedKernel(
  mem: GuestMemory,
  k: PreparedKernel,
  opts: LinuxLoadOptions = {},
): LinuxBoot {
  const { image } = k;
  const layout: BootLayout = { ...DEFAULT_LAYOUT, ...opts.layout };
  const ramSize = mem.size;
  const e820 = buildE820Map(ramSize, opts.reserved ?? []);
  const isRam = (addr: number, len: number): boolean =>
    e820.some((e) => e.type === E820Type.RAM && addr >= e.addr && addr + len <= e.addr + e.size);
  const needRam = (addr: number, len: number, what: string): void => {
    if (!isRam(addr, len)) {
      throw new BootImageError(
        "no-room",
        `${what} [${hex(addr)}, ${hex(addr + len)}) is not inside usable RAM (guest RAM is ${ramSize >>> 20} MiB)`,
      );
    }
  };

  // The kernel.
  let entry: number;
  let kernelStart: number;
  let kernelEnd: number;
  if (k.entryPath === "vmlinux") {
    const v = k.vmlinux;
    if (v === undefined) throw new BootImageError("corrupt", "prepared kernel has no vmlinux");
    kernelStart = Math.min(...v.segments.map((s) => s.paddr));
    kernelEnd = Math.max(...v.segments.map((s) => s.paddr + s.memsz));
    // init_size counts from the load address: the early kernel may use all of it.
    if (image.initSize > 0) kernelEnd = Math.max(kernelEnd, kernelStart + image.initSize);
    needRam(kernelStart, kernelEnd - kernelStart, "the kernel (vmlinux segments, init_size)");
    for (const s of v.segments) {
      mem.writeBytes(s.paddr, s.data);
      if (s.memsz > s.data.length) mem.fill(s.paddr + s.data.length, s.memsz - s.data.length, 0);
    }
    entry = v.entry;
  } else {
    const load = image.code32Start;
    const pm = image.protectedMode;
    kernelStart = Math.min(load, image.prefAddress);
    // The decompressor's output buffer: max(aligned load address, LOAD_PHYSICAL_ADDR) + init_size.
    const align = image.kernelAlignment > 0 ? image.kernelAlignment : 1;
    const out = image.relocatable
      ? Math.max(Math.ceil(load / align) * align, image.prefAddress)
      : image.prefAddress;
    kernelEnd = Math.max(load + pm.length, out + image.initSize);
    needRam(load, pm.length, "the protected-mode kernel");
    needRam(out, image.initSize, "the decompressor's output buffer (init_size)");
    mem.writeBytes(load, pm);
    entry = load;
  }

  // The command line.
  const cmdline = new TextEncoder().encode(opts.cmdline ?? "");
  if (cmdline.length > image.cmdlineSize) {
    throw new BootImageError(
      "no-room",
      `command line is ${cmdline.length} bytes, the kernel accepts at most cmdline_size = ${image.cmdlineSize}`,
    );
  }
  if (cmdline.includes(0)) throw new BootImageError("corrupt", "command line contains a NUL byte");
  const fixed: [number, number, string][] = [
    [layout.gdt, BOOT_GDT_SIZE, "boot GDT"],
    [layout.bootParams, BOOT_PARAMS_SIZE, "boot_params"],
    [layout.cmdline, cmdline.length + 1, "command line"],
  ];
  for (const [addr, len, what] of fixed) {
    needRam(addr, len, what);
    if (overlaps(addr, len, kernelStart, kernelEnd - kernelStart)) {
      throw new BootImageError(
        "no-room",
        `${what} at ${hex(addr)} overlaps the kernel [${hex(kernelStart)}, ${hex(kernelEnd)})`,
      );
    }
  }

  // The initrd: as high as possible in one RAM range, above the kernel.
  let initrd: { addr: number; size: number } | undefined;
  if (opts.initrd !== undefined && opts.initrd.length > 0) {
    const size = opts.initrd.length;
    const limit = Math.min(image.initrdAddrMax + 1, LOWMEM_LIMIT, 2 ** 32);
    for (const e of [...e820].reverse()) {
      if (e.type !== E820Type.RAM) continue;
      const top = Math.min(e.addr + e.size, limit);
      const addr = alignDown(top - size, 4096);
      if (addr >= Math.max(e.addr, kernelEnd, HIGH_MEMORY)) {
        initrd = { addr, size };
        break;
      }
    }
    if (initrd === undefined) {
      throw new BootImageError(
        "no-room",
        `initrd of ${size} bytes does not fit in RAM between the kernel's end ${hex(kernelEnd)} and ${hex(Math.min(ramSize, limit))}; give the guest more memory`,
      );
    }
    mem.writeBytes(initrd.addr, opts.initrd);
  }

  const bp = buildBootParams({ image, ramSize, e820, cmdLinePtr: layout.cmdline, initrd });
  mem.writeBytes(layout.bootParams, bp);
  mem.writeBytes(layout.cmdline, cmdline);
  mem.write8(layout.cmdline + cmdline.length, 0);
  writeBootGdt(mem, layout.gdt);

  const state = protectedModeEntry(entry, layout.bootParams, layout.gdt, layout.stackTop);
  const summary =
    `Linux ${image.kernelVersion?.split(" ")[0] ?? "?"} (boot protocol ${protocolString(image.protocol)}, ${image.payloadFormat} payload), ` +
    `${k.entryPath === "vmlinux" ? `vmlinux at ${hex(kernelStart)} (decompressed on the host in ${k.decompressMs.toFixed(0)} ms)` : `decompressor at ${hex(entry)}`}, ` +
    `entry ${hex(entry)}, boot_params ${hex(layout.bootParams)}` +
    (initrd ? `, initrd ${hex(initrd.addr)} (${initrd.size} bytes)` : "");
  return { entry: state, layout, e820, kernelRange: [kernelStart, kernelEnd], initrd, summary };
}

/** One call: parse, (decompress,) load. */
export async function loadLinux(
  mem: GuestMemory,
  kernel: Uint8Array,
  opts: LinuxLoadOptions & { readonly entryPath?: EntryPath } = {},
): Promise<LinuxBoot> {
  return loadPreparedKernel(mem, await prepareKernel(kernel, opts.entryPath ?? "vmlinux"), opts);
}
