/**
 * Byte-level helpers for the e1000 offloads: the Internet checksum (RFC 1071: 16-bit big-endian
 * words, ones' complement sum with end-around carry) and the Ethernet FCS (IEEE 802.3 CRC-32,
 * reflected polynomial EDB88320h, appended least significant byte first).
 *
 * Callers pass ranges already checked against the buffer; sums are kept below 2^31 by folding
 * every 32 Ki words, so no step overflows a double's exact integer range either way.
 */

/** Ones' complement sum (not complemented, not folded to 16 bits) of buf[start, end). */
export function onesSum(buf: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  let n = 0;
  for (; i + 1 < end; i += 2) {
    sum += (buf[i]! << 8) | buf[i + 1]!;
    if (++n === 0x8000) {
      sum = (sum & 0xffff) + (sum >>> 16);
      n = 0;
    }
  }
  if (i < end) sum += buf[i]! << 8; // odd length: pad with a zero byte
  return sum;
}

/** Fold a ones' complement sum to 16 bits. */
export function fold16(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export function get16be(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

export function put16be(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff;
  buf[off + 1] = v & 0xff;
}

export function get32be(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

export function put32be(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** IEEE 802.3 CRC-32 of buf[start, end). */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
