// Synthetic kernels for the boot tests: a minimal i386 vmlinux ELF and a bzImage around a
// payload, with every header field chosen by the test.

/** A tiny vmlinux: ET_EXEC, EM_386, entry 0x1000000, a text segment (with E8/E9 branches
 * so the x86 BCJ filter has work) and a data segment whose p_memsz includes a BSS. */
const FILLER = [0x89, 0xc0, 0x90, 0x01, 0x55, 0x8b, 0x00, 0xff] as const;

export function makeVmlinux(textSize = 0x1000, dataSize = 0x400, bssSize = 0x1000): Uint8Array {
  const textOff = 0x1000;
  const dataOff = textOff + textSize;
  const buf = new Uint8Array(dataOff + dataSize);
  const v = new DataView(buf.buffer);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, 0x100_0000, true); // e_entry (physical)
  v.setUint32(28, 52, true); // e_phoff
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 2, true);
  v.setUint16(46, 40, true);
  const ph = (i: number, off: number, paddr: number, filesz: number, memsz: number, flags: number): void => {
    const o = 52 + i * 32;
    v.setUint32(o, 1, true); // PT_LOAD
    v.setUint32(o + 4, off, true);
    v.setUint32(o + 8, (paddr + 0xc000_0000) >>> 0, true);
    v.setUint32(o + 12, paddr, true);
    v.setUint32(o + 16, filesz, true);
    v.setUint32(o + 20, memsz, true);
    v.setUint32(o + 24, flags, true);
    v.setUint32(o + 28, 0x1000, true);
  };
  ph(0, textOff, 0x100_0000, textSize, textSize, 5);
  ph(1, dataOff, 0x100_0000 + textSize, dataSize, dataSize + bssSize, 6);
  // Text: a deterministic mix of calls, jumps and filler.
  let seed = 12345;
  for (let i = textOff; i < dataOff; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const r = seed >>> 24;
    if (i % 16 === 0 && i + 5 <= dataOff) {
      buf[i] = r & 1 ? 0xe8 : 0xe9;
      v.setInt32(i + 1, (r & 0x7f) * 16 - 1024, true);
      i += 4;
    } else {
      buf[i] = FILLER[r % FILLER.length]!;
    }
  }
  for (let i = dataOff; i < buf.length; i++) buf[i] = (i >> 4) & 0xff;
  return buf;
}

export interface BzFields {
  protocol?: number;
  setupSects?: number;
  loadflags?: number;
  code32Start?: number;
  initrdAddrMax?: number;
  kernelAlignment?: number;
  relocatable?: number;
  cmdlineSize?: number;
  prefAddress?: number;
  initSize?: number;
  syssizeDelta?: number;
  payloadOffsetDelta?: number;
  payloadLengthDelta?: number;
  magic?: number;
  bootFlag?: number;
}

/** A bzImage: setup sectors with a header, then a protected-mode part made of a 0x200-byte
 * stand-in decompressor, the payload and its 4-byte size trailer (as the kernel build does). */
export function makeBzImage(payload: Uint8Array, f: BzFields = {}, uncompressedSize = 0): Uint8Array {
  const setupSects = f.setupSects ?? 2;
  const setupSize = ((setupSects === 0 ? 4 : setupSects) + 1) * 512;
  const stub = 0x200;
  const pmLen = stub + payload.length + 4;
  const buf = new Uint8Array(setupSize + pmLen);
  const v = new DataView(buf.buffer);
  const protocol = f.protocol ?? 0x020f;
  v.setUint8(0x1ef, 0xff); // what real images have just before the header
  v.setUint8(0x1f1, setupSects);
  v.setUint32(0x1f4, Math.ceil(pmLen / 16) + (f.syssizeDelta ?? 0), true);
  v.setUint16(0x1fa, 0xffff, true);
  v.setUint16(0x1fe, f.bootFlag ?? 0xaa55, true);
  v.setUint8(0x200, 0xeb);
  v.setUint8(0x201, 0x6a); // header ends at 0x26c (2.15)
  v.setUint32(0x202, f.magic ?? 0x53726448, true);
  v.setUint16(0x206, protocol, true);
  v.setUint16(0x20e, 0x300 - 0x200, true); // kernel_version -> offset 0x300
  buf.set(new TextEncoder().encode("6.1.0-test (synthetic) #1\0"), 0x300);
  v.setUint8(0x211, f.loadflags ?? 1);
  v.setUint32(0x214, f.code32Start ?? 0x10_0000, true);
  v.setUint32(0x22c, f.initrdAddrMax ?? 0x7fff_ffff, true);
  v.setUint32(0x230, f.kernelAlignment ?? 0x100_0000, true);
  v.setUint8(0x234, f.relocatable ?? 1);
  v.setUint16(0x236, 4, true);
  v.setUint32(0x238, f.cmdlineSize ?? 2047, true);
  v.setUint32(0x248, stub + (f.payloadOffsetDelta ?? 0), true);
  v.setUint32(0x24c, payload.length + 4 + (f.payloadLengthDelta ?? 0), true);
  v.setUint32(0x258, f.prefAddress ?? 0x100_0000, true);
  v.setUint32(0x260, f.initSize ?? 0x80_0000, true);
  for (let i = 0; i < stub; i++) buf[setupSize + i] = 0x90;
  buf.set(payload, setupSize + stub);
  v.setUint32(setupSize + stub + payload.length, uncompressedSize, true);
  return buf;
}
