/**
 * The oracle's own conversions between doubles and the x87 80-bit format (SDM Vol. 1
 * 4.2.2, 8.1.10 Fig. 8-9 FNSAVE layout), written independently of src/cpu/x87 so that a
 * bug there cannot hide itself.
 */

/** Exact 80-bit encoding of a double (denormal doubles become normal extended values). */
export function doubleToExt80(x: number): Uint8Array {
  const out = new Uint8Array(10);
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x, true);
  const hi = b.getUint32(4, true);
  const lo = b.getUint32(0, true);
  const sign = hi >>> 31;
  const exp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  let sig: bigint;
  if (exp === 0x7ff) {
    e = 0x7fff;
    sig = (1n << 63n) | (mant << 11n);
  } else if (exp === 0) {
    if (mant === 0n) {
      e = 0;
      sig = 0n;
    } else {
      // Denormal double: normalize.
      let shift = 0;
      while ((mant & (1n << 52n)) === 0n) {
        mant <<= 1n;
        shift++;
      }
      e = 1 - 1023 + 16383 - shift;
      sig = mant << 11n;
    }
  } else {
    e = exp - 1023 + 16383;
    sig = (1n << 63n) | (mant << 11n);
  }
  const v = new DataView(out.buffer);
  v.setBigUint64(0, sig, true);
  v.setUint16(8, (sign << 15) | e, true);
  return out;
}

/**
 * The double nearest to an 80-bit value (round to nearest even, SDM Vol. 1 4.8.4), or
 * NaN for NaNs and unsupported encodings (pseudo-NaN, unnormals).
 */
export function ext80ToDouble(bytes: Uint8Array, offset = 0): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + offset, 10);
  const sig = v.getBigUint64(0, true);
  const se = v.getUint16(8, true);
  const sign = se >>> 15 ? -1 : 1;
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if ((sig & ((1n << 63n) - 1n)) === 0n) return sign * Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  if (sig === 0n) return sign * 0;
  if (e !== 0 && sig >> 63n === 0n) return Number.NaN; // unnormal: invalid operand
  // value = sig * 2^(e - 16383 - 63) (e == 0: denormal, exponent 1 - 16383).
  const unbiased = (e === 0 ? 1 : e) - 16383 - 63;
  return sign * roundBigToDouble(sig, unbiased);
}

/** sig * 2^exp rounded to the nearest double (ties to even), sig > 0. */
function roundBigToDouble(sig: bigint, exp: number): number {
  const bits = sig.toString(2).length;
  // Target: 53 significant bits, but fewer when the result is subnormal.
  const topExp = exp + bits - 1; // exponent of the leading bit
  let keep = 53;
  if (topExp < -1022) keep = 53 - (-1022 - topExp);
  if (keep <= 0) {
    // Below half the smallest subnormal or at most equal: round to 0 or min subnormal.
    if (keep === 0) {
      // value in [2^-1075, 2^-1074): rounds to 2^-1074 unless exactly the half (ties to even: 0).
      const exactHalf = sig === 1n << BigInt(bits - 1);
      return exactHalf ? 0 : 2 ** -1074;
    }
    return 0;
  }
  let m = sig;
  let e = exp;
  if (bits > keep) {
    const drop = BigInt(bits - keep);
    const half = 1n << (drop - 1n);
    const rem = m & ((1n << drop) - 1n);
    m >>= drop;
    e += Number(drop);
    if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
  }
  // m < 2^54 and e in range: exact in a double product (split to avoid 2^e underflow).
  return Number(m) * 2 ** Math.floor(e / 2) * 2 ** (e - Math.floor(e / 2));
}

/** FNSAVE / FRSTOR 32-bit protected-mode image (108 bytes, SDM Vol. 1 Fig. 8-9). */
export interface X87Image {
  fcw: number;
  fsw: number;
  /** Full tag word (2 bits per physical register: 0 valid, 1 zero, 2 special, 3 empty). */
  ftw: number;
  /** ST(0)..ST(7) as 10-byte values. */
  st: Uint8Array[];
}

export function tagOf(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, 10);
  const sig = v.getBigUint64(0, true);
  const e = v.getUint16(8, true) & 0x7fff;
  if (e === 0x7fff) return 2;
  if (e === 0) return sig === 0n ? 1 : 2;
  return sig >> 63n === 0n ? 2 : 0;
}

/** Build an FRSTOR image: `stack` values become ST(0).., the rest is empty. */
export function buildX87Image(fcw: number, top: number, stack: readonly number[]): Uint8Array {
  const img = new Uint8Array(108);
  const v = new DataView(img.buffer);
  let ftw = 0xffff;
  for (let i = 0; i < 8; i++) {
    const value = stack[i];
    if (value === undefined) continue;
    const ext = doubleToExt80(value);
    img.set(ext, 28 + i * 10);
    const phys = (top + i) & 7;
    ftw = (ftw & ~(3 << (phys * 2))) | (tagOf(ext) << (phys * 2));
  }
  v.setUint16(0, fcw, true);
  v.setUint16(4, (top & 7) << 11, true);
  v.setUint16(8, ftw, true);
  return img;
}

export function parseX87Image(img: Uint8Array): X87Image {
  const v = new DataView(img.buffer, img.byteOffset, 108);
  const st: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) st.push(img.slice(28 + i * 10, 38 + i * 10));
  return { fcw: v.getUint16(0, true), fsw: v.getUint16(4, true), ftw: v.getUint16(8, true), st };
}

export function ext80Hex(b: Uint8Array): string {
  let s = "";
  for (let i = 9; i >= 0; i--) s += b[i]!.toString(16).padStart(2, "0");
  return `${s.slice(0, 4)}:${s.slice(4)}`;
}
