/**
 * The x86 BCJ filter decoder (xz file format 1.2.0, section 5.3.3 "Branch/Call/Jump
 * Filters"; behaviour as in xz-embedded's xz_dec_bcj.c, bcj_x86()).
 *
 * The encoder turned the relative targets of E8 (CALL rel32) and E9 (JMP rel32) into
 * absolute ones so that LZMA2 finds more repeats; decoding subtracts the position again.
 * The kernel's payload is built with `xz --x86 --lzma2`, and the WebAssembly xz decoder we
 * use (xz-decompress) is built without BCJ, so this undoes that step on its LZMA2 output.
 *
 * Works in place on a whole block: `startOffset` is the filter's start offset property
 * (0 unless the block header gives one). As in xz, the last 4 bytes are never converted.
 */

const MASK_TO_ALLOWED = [true, true, true, false, true, false, false, false] as const;
const MASK_TO_BIT_NUM = [0, 1, 2, 2, 3, 3, 3, 3] as const;

const testMsByte = (b: number): boolean => b === 0x00 || b === 0xff;

export function bcjX86Decode(buf: Uint8Array, startOffset = 0): void {
  const size = buf.length;
  if (size <= 4) return;
  const limit = size - 4;
  let prevPos = -1;
  let prevMask = 0;
  let i = 0;
  for (; i < limit; i++) {
    if ((buf[i]! & 0xfe) !== 0xe8) continue;
    const dist = i - prevPos;
    prevPos = i;
    if (dist > 3) {
      prevMask = 0;
    } else {
      prevMask = (prevMask << (dist - 1)) & 7;
      if (prevMask !== 0) {
        const b = buf[i + 4 - MASK_TO_BIT_NUM[prevMask]!]!;
        if (!MASK_TO_ALLOWED[prevMask]! || testMsByte(b)) {
          prevMask = (prevMask << 1) | 1;
          continue;
        }
      }
    }
    if (testMsByte(buf[i + 4]!)) {
      let src = (buf[i + 1]! | (buf[i + 2]! << 8) | (buf[i + 3]! << 16) | (buf[i + 4]! << 24)) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - (startOffset + i + 5)) >>> 0;
        if (prevMask === 0) break;
        const j = MASK_TO_BIT_NUM[prevMask]! * 8;
        const b = (dest >>> (24 - j)) & 0xff;
        if (!testMsByte(b)) break;
        src = (dest ^ (2 ** (32 - j) - 1)) >>> 0;
      }
      dest &= 0x01ff_ffff;
      if (dest & 0x0100_0000) dest |= 0xff00_0000;
      buf[i + 1] = dest & 0xff;
      buf[i + 2] = (dest >>> 8) & 0xff;
      buf[i + 3] = (dest >>> 16) & 0xff;
      buf[i + 4] = (dest >>> 24) & 0xff;
      i += 4;
    } else {
      prevMask = (prevMask << 1) | 1;
    }
  }
}
