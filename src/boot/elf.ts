/**
 * Just enough ELF32 (System V gABI, "ELF Header", "Program Header", "Sections") to load an
 * i386 vmlinux and to read a kernel module's `.modinfo`. Every table and segment is checked
 * against the buffer before it is read.
 */

import { ByteReader } from "./bytes.js";
import { BootImageError, hex } from "./errors.js";

export const ElfType = { REL: 1, EXEC: 2, DYN: 3 } as const;
export const EM_386 = 3;
export const PT_LOAD = 1;

export interface ElfHeader {
  type: number;
  machine: number;
  entry: number;
  phoff: number;
  phnum: number;
  phentsize: number;
  shoff: number;
  shnum: number;
  shentsize: number;
  shstrndx: number;
}

export interface ElfSegment {
  type: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  flags: number;
}

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
}

/** Parses and validates an ELF32 little-endian header. */
export function parseElfHeader(bytes: Uint8Array, what = "ELF"): ElfHeader {
  const r = new ByteReader(bytes, what);
  r.need(0, 52, "ELF header");
  if (!(bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
    throw new BootImageError("bad-magic", `${what}: no ELF magic`);
  }
  if (bytes[4] !== 1)
    throw new BootImageError("unsupported", `${what}: not a 32-bit ELF (EI_CLASS ${bytes[4]})`);
  if (bytes[5] !== 1)
    throw new BootImageError("unsupported", `${what}: not little-endian (EI_DATA ${bytes[5]})`);
  const h: ElfHeader = {
    type: r.u16(16, "e_type"),
    machine: r.u16(18, "e_machine"),
    entry: r.u32(24, "e_entry"),
    phoff: r.u32(28, "e_phoff"),
    shoff: r.u32(32, "e_shoff"),
    phentsize: r.u16(42, "e_phentsize"),
    phnum: r.u16(44, "e_phnum"),
    shentsize: r.u16(46, "e_shentsize"),
    shnum: r.u16(48, "e_shnum"),
    shstrndx: r.u16(50, "e_shstrndx"),
  };
  if (h.machine !== EM_386)
    throw new BootImageError("unsupported", `${what}: e_machine ${h.machine} is not EM_386`);
  if (h.phnum > 0) {
    if (h.phentsize < 32) throw new BootImageError("corrupt", `${what}: e_phentsize ${h.phentsize} < 32`);
    r.need(h.phoff, h.phnum * h.phentsize, "program header table");
  }
  if (h.shnum > 0) {
    if (h.shentsize < 40) throw new BootImageError("corrupt", `${what}: e_shentsize ${h.shentsize} < 40`);
    r.need(h.shoff, h.shnum * h.shentsize, "section header table");
  }
  return h;
}

/** The program headers; PT_LOAD file ranges are checked against the buffer. */
export function elfSegments(bytes: Uint8Array, h: ElfHeader, what = "ELF"): ElfSegment[] {
  const r = new ByteReader(bytes, what);
  const out: ElfSegment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = h.phoff + i * h.phentsize;
    const s: ElfSegment = {
      type: r.u32(o, `phdr ${i} p_type`),
      offset: r.u32(o + 4, `phdr ${i} p_offset`),
      vaddr: r.u32(o + 8, `phdr ${i} p_vaddr`),
      paddr: r.u32(o + 12, `phdr ${i} p_paddr`),
      filesz: r.u32(o + 16, `phdr ${i} p_filesz`),
      memsz: r.u32(o + 20, `phdr ${i} p_memsz`),
      flags: r.u32(o + 24, `phdr ${i} p_flags`),
    };
    if (s.type === PT_LOAD) {
      r.need(s.offset, s.filesz, `PT_LOAD segment ${i} (${hex(s.paddr)})`);
      if (s.memsz < s.filesz) {
        throw new BootImageError(
          "corrupt",
          `${what}: segment ${i} has p_memsz ${s.memsz} < p_filesz ${s.filesz}`,
        );
      }
      if (s.paddr + s.memsz > 2 ** 32) {
        throw new BootImageError(
          "corrupt",
          `${what}: segment ${i} [${hex(s.paddr)}, +${s.memsz}) wraps past 4 GiB`,
        );
      }
    }
    out.push(s);
  }
  return out;
}

/** The section headers with their names (from e_shstrndx); ranges checked for non-NOBITS sections. */
export function elfSections(bytes: Uint8Array, h: ElfHeader, what = "ELF"): ElfSection[] {
  const r = new ByteReader(bytes, what);
  const raw: { nameOff: number; type: number; offset: number; size: number }[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const o = h.shoff + i * h.shentsize;
    const sec = {
      nameOff: r.u32(o, `shdr ${i} sh_name`),
      type: r.u32(o + 4, `shdr ${i} sh_type`),
      offset: r.u32(o + 16, `shdr ${i} sh_offset`),
      size: r.u32(o + 20, `shdr ${i} sh_size`),
    };
    if (sec.type !== 8 /* SHT_NOBITS */) r.need(sec.offset, sec.size, `section ${i}`);
    raw.push(sec);
  }
  const strtab = raw[h.shstrndx];
  const name = (off: number): string => {
    if (strtab === undefined || off >= strtab.size) return "";
    const start = strtab.offset + off;
    let end = start;
    const stop = strtab.offset + strtab.size;
    while (end < stop && bytes[end] !== 0) end++;
    return new TextDecoder("latin1").decode(bytes.subarray(start, end));
  };
  return raw.map((s) => ({ name: name(s.nameOff), type: s.type, offset: s.offset, size: s.size }));
}

/** The bytes of the named section, or undefined. */
export function elfSectionBytes(bytes: Uint8Array, name: string, what = "ELF"): Uint8Array | undefined {
  const h = parseElfHeader(bytes, what);
  const s = elfSections(bytes, h, what).find((x) => x.name === name);
  return s === undefined || s.type === 8 ? undefined : bytes.subarray(s.offset, s.offset + s.size);
}
