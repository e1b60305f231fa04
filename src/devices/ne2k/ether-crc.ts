/**
 * The Ethernet CRC-32 (IEEE 802.3 clause 3.2.9: polynomial 0x04C11DB7, reflected form
 * 0xEDB88320, initial value all-ones) as the multicast hash filters of the DP8390 and the
 * Lance family use it, and as the frame check sequence a PCnet appends to received frames.
 *
 * `crc32le` returns the running register without the final inversion, i.e. Linux's
 * `ether_crc_le()`; `etherCrcBe` is its bit reversal, Linux's `ether_crc()`. The hash index
 * of a multicast address is the top 6 bits of one or the other:
 *   DP8390 (lib8390.c make_mc_bits):  ether_crc(6, addr) >> 26  -> MAR[idx >> 3] bit (idx & 7)
 *   PCnet (pcnet32_load_multicast):   ether_crc_le(6, addr) >> 26 -> LADRF bit idx
 * Shared by the NE2000 and PCnet models (the PCnet imports it from here).
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 register over `data[from, to)` starting from all-ones, not inverted (ether_crc_le). */
export function crc32le(data: Uint8Array, from = 0, to = data.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Bit reversal of a 32-bit value. */
export function bitrev32(v: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) {
    r = (r << 1) | (v & 1);
    v >>>= 1;
  }
  return r >>> 0;
}

/** Linux's ether_crc(): the big-endian (bit-reversed) form, not inverted. */
export function etherCrcBe(data: Uint8Array, from = 0, to = data.length): number {
  return bitrev32(crc32le(data, from, to));
}

/** The frame check sequence of `data[0, len)`: the inverted CRC, sent least significant byte first. */
export function ethernetFcs(data: Uint8Array, len = data.length): number {
  return ~crc32le(data, 0, len) >>> 0;
}
