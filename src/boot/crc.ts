/** CRC32 (IEEE 802.3, reflected 0xEDB88320) and CRC64 (ECMA-182, reflected 0xC96C5795D7870F42),
 * the integrity checks of the .xz format (xz file format 1.2.0, section 3.4 "Check"). */

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  const t = CRC32_TABLE;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// CRC64 kept as two 32-bit halves so that it runs on plain int arithmetic (no BigInt per byte).
const CRC64_LO = new Uint32Array(256);
const CRC64_HI = new Uint32Array(256);
{
  const polyLo = 0xd787_0f42;
  const polyHi = 0xc96c_5795;
  for (let i = 0; i < 256; i++) {
    let lo = i;
    let hi = 0;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        lo = (lo ^ polyLo) >>> 0;
        hi = (hi ^ polyHi) >>> 0;
      }
    }
    CRC64_LO[i] = lo;
    CRC64_HI[i] = hi;
  }
}

/** CRC64 as a 16-digit lower-case hex string (the xz check field read little-endian). */
export function crc64Hex(data: Uint8Array): string {
  let lo = 0xffff_ffff;
  let hi = 0xffff_ffff;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ data[i]!) & 0xff;
    lo = (CRC64_LO[idx]! ^ ((lo >>> 8) | (hi << 24))) >>> 0;
    hi = (CRC64_HI[idx]! ^ (hi >>> 8)) >>> 0;
  }
  lo = ~lo >>> 0;
  hi = ~hi >>> 0;
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
