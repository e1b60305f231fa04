/**
 * Conversions between JavaScript doubles, the x87 double extended-precision format and the
 * memory formats (single, double, 16/32/64-bit integers), SDM Vol. 1 4.2.2 (Table 4-3),
 * 4.8 (real number encodings), 8.2 (x87 data types).
 *
 * Double extended precision (80 bits): sign (bit 79), biased exponent (15 bits, bias 16383),
 * an explicit integer bit J (bit 63) and a 63-bit fraction. We hold the 64-bit significand
 * as two unsigned 32-bit words `hi:lo` and the sign and exponent as one 16-bit word `se`
 * (sign << 15 | exponent), which is also its memory layout (bytes 8..9).
 *
 * Every function here writes its results into the one `Ext80` or `Rounded` scratch object
 * the caller passes, so no conversion allocates (STYLE.md: hot paths allocation-free).
 * All word values are kept unsigned (>>> 0).
 */

/** A double extended-precision value in its memory layout. */
export class Ext80 {
  /** sign << 15 | biased exponent. */
  se = 0;
  /** Significand bits 63..32 (bit 31 of `hi` is J, the explicit integer bit). */
  hi = 0;
  /** Significand bits 31..0. */
  lo = 0;
}

export const EXP_BIAS = 16383;
export const EXP_MAX = 0x7fff;

/** The QNaN floating-point indefinite (SDM Vol. 1 Table 4-3): sign 1, exp all ones, 0xC000... */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc000_0000;

const scratchBuf = new ArrayBuffer(8);
const f64 = new Float64Array(scratchBuf);
const u32 = new Uint32Array(scratchBuf); // little-endian host: u32[0] = low word
const f32 = new Float32Array(scratchBuf);

/** Bits of a double: high word. */
export function doubleHi(x: number): number {
  f64[0] = x;
  return u32[1]!;
}

/** Build a double from its two words. */
export function doubleFromWords(hi: number, lo: number): number {
  u32[0] = lo;
  u32[1] = hi;
  return f64[0]!;
}

/** Build a double from a single-precision bit pattern (exact). */
export function floatFromBits(bits: number): number {
  u32[0] = bits;
  return f32[0]!;
}

/** Exact conversion of a double to double extended precision (denormals are normalized). */
export function doubleToExt(x: number, out: Ext80): void {
  f64[0] = x;
  const lo = u32[0]!;
  const hi = u32[1]!;
  const sign = (hi >>> 31) << 15;
  const e = (hi >>> 20) & 0x7ff;
  const fhi = hi & 0xfffff;
  if (e === 0x7ff) {
    // Infinity or NaN: J = 1, fraction shifted to the top (the quiet bit lands on bit 62).
    out.se = sign | EXP_MAX;
    out.hi = (0x8000_0000 | (fhi << 11) | (lo >>> 21)) >>> 0;
    out.lo = (lo << 11) >>> 0;
    return;
  }
  if (e === 0) {
    if ((fhi | lo) === 0) {
      out.se = sign;
      out.hi = 0;
      out.lo = 0;
      return;
    }
    // Denormal double: value = f * 2^-1074, normal in extended precision.
    let mhi = fhi;
    let mlo = lo;
    // Normalize the 52-bit fraction so that its top bit is bit 63 of hi:lo.
    let lz: number;
    if (mhi !== 0) lz = Math.clz32(mhi);
    else lz = 32 + Math.clz32(mlo);
    // Shift left by lz (0..63): the leading bit moves to position 63.
    if (lz >= 32) {
      mhi = mlo << (lz - 32);
      mlo = 0;
    } else if (lz > 0) {
      mhi = (mhi << lz) | (mlo >>> (32 - lz));
      mlo = mlo << lz;
    }
    // Leading bit was at position 63 - lz, value = 1.x * 2^(63 - lz - 1074).
    out.se = sign | (63 - lz - 1074 + EXP_BIAS);
    out.hi = mhi >>> 0;
    out.lo = mlo >>> 0;
    return;
  }
  out.se = sign | (e - 1023 + EXP_BIAS);
  out.hi = (0x8000_0000 | (fhi << 11) | (lo >>> 21)) >>> 0;
  out.lo = (lo << 11) >>> 0;
}

/** 2^k for any integer k (underflows to 0, overflows to Infinity). */
function scalbn(x: number, k: number): number {
  while (k > 1023) {
    x *= 8.98846567431158e307; // 2^1023
    k -= 1023;
    if (!Number.isFinite(x)) return x;
  }
  while (k < -1022) {
    x *= 2.2250738585072014e-308; // 2^-1022
    k += 1022;
    if (x === 0) return x;
  }
  return x * 2 ** k;
}

export { scalbn };

/**
 * Double extended -> double, rounding to nearest (the value we compute with). NaNs keep
 * their sign and top fraction bits; unsupported encodings (pseudo-NaN, pseudo-infinity,
 * unnormals: SDM Vol. 1 8.2.2) become NaN, which makes every arithmetic use of them invalid.
 */
export function extToDouble(se: number, hi: number, lo: number): number {
  const sign = se & 0x8000;
  const e = se & EXP_MAX;
  if (e === EXP_MAX) {
    if ((hi & 0x8000_0000) === 0) return Number.NaN; // pseudo-infinity / pseudo-NaN
    if ((hi & 0x7fff_ffff) === 0 && lo === 0) return sign ? -Infinity : Infinity;
    // NaN: fraction bits 62..11 -> double fraction bits 51..0; keep at least the quiet bit.
    const dhi = ((sign << 16) | 0x7ff0_0000 | ((hi >>> 11) & 0xfffff)) >>> 0;
    let dlo = ((hi << 21) | (lo >>> 11)) >>> 0;
    if ((dhi & 0xfffff) === 0 && dlo === 0) dlo = 1; // payload only in low bits: stay a NaN
    return doubleFromWords(dhi, dlo);
  }
  if (e !== 0 && (hi & 0x8000_0000) === 0) return Number.NaN; // unnormal
  if ((hi | lo) === 0) return sign ? -0 : 0;
  // Value = significand * 2^(max(e,1) - 16383 - 63). hi * 2^32 is exact; adding lo rounds once.
  const m = hi * 4294967296 + lo;
  const v = scalbn(m, (e === 0 ? 1 : e) - EXP_BIAS - 63);
  return sign ? -v : v;
}

/** Classification of a double extended value (SDM Vol. 1 Table 8-7 / FXAM). */
export const Cls = {
  UNSUPPORTED: 0,
  NAN: 1,
  NORMAL: 2,
  INFINITY: 3,
  ZERO: 4,
  DENORMAL: 6,
} as const;

export function classifyExt(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  const j = hi & 0x8000_0000;
  if (e === EXP_MAX) {
    if (j === 0) return Cls.UNSUPPORTED;
    return (hi & 0x7fff_ffff) === 0 && lo === 0 ? Cls.INFINITY : Cls.NAN;
  }
  if (e === 0) return (hi | lo) === 0 ? Cls.ZERO : Cls.DENORMAL;
  return j === 0 ? Cls.UNSUPPORTED : Cls.NORMAL;
}

// ---- rounding of a significand -----------------------------------------------------------

/** Rounding-control values of the FCW RC field (SDM Vol. 1 Table 4-8). */
export const RC = { NEAREST: 0, DOWN: 1, UP: 2, CHOP: 3 } as const;

/** Output of the rounding helpers. */
export class Rounded {
  hi = 0;
  lo = 0;
  /** Lost bits were nonzero (precision exception). */
  inexact = false;
  /** The magnitude was rounded up (the x87 reports this in C1). */
  roundedUp = false;
  /** The result does not fit the target (integer overflow, carry out of 64 bits). */
  overflow = false;
}

const lowMask = (k: number): number => (k <= 0 ? 0 : k >= 32 ? 0xffff_ffff : 0xffff_ffff >>> (32 - k));

/**
 * Shift the 64-bit magnitude hi:lo right by n (>= 0) and round the result according to
 * `rc` for a number of sign `negative`. Writes r.hi:r.lo, inexact, roundedUp; sets
 * r.overflow if rounding carried out of 64 bits.
 */
export function shiftRound(
  hi: number,
  lo: number,
  n: number,
  negative: boolean,
  rc: number,
  r: Rounded,
): void {
  let qh: number;
  let ql: number;
  let guard: number;
  let sticky: boolean;
  if (n === 0) {
    qh = hi;
    ql = lo;
    guard = 0;
    sticky = false;
  } else if (n < 32) {
    ql = ((lo >>> n) | (hi << (32 - n))) >>> 0;
    qh = hi >>> n;
    guard = (lo >>> (n - 1)) & 1;
    sticky = (lo & lowMask(n - 1)) !== 0;
  } else if (n === 32) {
    ql = hi;
    qh = 0;
    guard = lo >>> 31;
    sticky = (lo & 0x7fff_ffff) !== 0;
  } else if (n < 64) {
    const m = n - 32;
    ql = hi >>> m;
    qh = 0;
    guard = (hi >>> (m - 1)) & 1;
    sticky = (hi & lowMask(m - 1)) !== 0 || lo !== 0;
  } else if (n === 64) {
    ql = 0;
    qh = 0;
    guard = hi >>> 31;
    sticky = (hi & 0x7fff_ffff) !== 0 || lo !== 0;
  } else {
    ql = 0;
    qh = 0;
    guard = 0;
    sticky = (hi | lo) !== 0;
  }
  const inexact = guard !== 0 || sticky;
  let up = false;
  if (inexact) {
    switch (rc) {
      case RC.NEAREST:
        up = guard !== 0 && (sticky || (ql & 1) !== 0);
        break;
      case RC.DOWN:
        up = negative;
        break;
      case RC.UP:
        up = !negative;
        break;
      default:
        up = false;
    }
  }
  r.overflow = false;
  if (up) {
    ql = (ql + 1) >>> 0;
    if (ql === 0) {
      qh = (qh + 1) >>> 0;
      if (qh === 0) r.overflow = true;
    }
  }
  r.hi = qh;
  r.lo = ql;
  r.inexact = inexact;
  r.roundedUp = up;
}

/**
 * Normalize an extended value's significand (denormals and pseudo-denormals) and return its
 * unbiased exponent such that value = (hi:lo / 2^63) * 2^exp, with bit 63 set in `out`.
 * The significand must be nonzero.
 */
export function normalizeExt(se: number, hi: number, lo: number, out: Ext80): number {
  let e = se & EXP_MAX;
  if (e === 0) e = 1; // denormals use the minimum exponent (SDM Vol. 1 4.8.3.2)
  let exp = e - EXP_BIAS;
  if ((hi & 0x8000_0000) === 0) {
    const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
    if (lz >= 32) {
      hi = lo << (lz - 32);
      lo = 0;
    } else {
      hi = (hi << lz) | (lo >>> (32 - lz));
      lo = lo << lz;
    }
    exp -= lz;
  }
  out.se = se & 0x8000;
  out.hi = hi >>> 0;
  out.lo = lo >>> 0;
  return exp;
}

/** Results of `extToFloatBits`. */
export class FloatStore {
  hi = 0;
  lo = 0;
  inexact = false;
  roundedUp = false;
  overflow = false;
  underflow = false;
  /** Tiny before rounding (the unmasked underflow condition). */
  tiny = false;
}

const norm = new Ext80();
const rnd = new Rounded();

/**
 * Round a finite nonzero extended value to single (fracBits 23) or double (fracBits 52)
 * precision under rounding control `rc` (SDM Vol. 1 4.8.4), for FST/FSTP m32fp/m64fp.
 * Writes the bit pattern (single: in `lo`; double: hi:lo) and the exception conditions:
 * overflow (masked response per Table 4-10: infinity or the largest finite number),
 * underflow (tiny before rounding and inexact; the x87 detects tininess before rounding
 * for its masked response, SDM Vol. 1 4.9.1.5), inexact.
 */
export function extToFloatBits(
  se: number,
  hi: number,
  lo: number,
  fracBits: 23 | 52,
  rc: number,
  out: FloatStore,
): void {
  const exp = normalizeExt(se, hi, lo, norm);
  const negative = (se & 0x8000) !== 0;
  const bias = fracBits === 23 ? 127 : 1023;
  const expField = fracBits === 23 ? 0xff : 0x7ff;
  let be = exp + bias;
  let shift = 63 - fracBits;
  let tiny = false;
  if (be <= 0) {
    tiny = true;
    shift += 1 - be;
    be = 0;
  }
  shiftRound(norm.hi, norm.lo, shift, negative, rc, rnd);
  out.inexact = rnd.inexact;
  out.roundedUp = rnd.roundedUp;
  out.underflow = tiny && rnd.inexact;
  out.tiny = tiny;
  // Encode: with J included in q, the biased exponent field is (be - 1) + carry from q.
  // For a denormal (be = 0) q < 2^fracBits, and a carry into 2^fracBits makes it normal.
  let qh = rnd.hi;
  const ql = rnd.lo;
  let field = be > 0 ? be - 1 : 0;
  if (fracBits === 23) {
    let bits = field * 0x80_0000 + ql; // <= 2^31, exact
    field = Math.floor(bits / 0x80_0000);
    if (field >= expField) {
      overflowResult(negative, rc, out, 23);
      return;
    }
    bits = (bits | (negative ? 0x8000_0000 : 0)) >>> 0;
    out.hi = 0;
    out.lo = bits;
    out.overflow = false;
    return;
  }
  // Double: q = qh:ql has at most 54 bits (53 plus a rounding carry).
  qh += field * 0x10_0000;
  field = Math.floor(qh / 0x10_0000);
  if (field >= expField) {
    overflowResult(negative, rc, out, 52);
    return;
  }
  out.hi = (qh | (negative ? 0x8000_0000 : 0)) >>> 0;
  out.lo = ql >>> 0;
  out.overflow = false;
}

function overflowResult(negative: boolean, rc: number, out: FloatStore, fracBits: 23 | 52): void {
  // SDM Vol. 1 Table 4-10: to nearest -> inf; toward 0 -> max; toward +inf -> +inf or -max; ...
  const toInf = rc === RC.NEAREST || (rc === RC.UP && !negative) || (rc === RC.DOWN && negative);
  const s = negative ? 0x8000_0000 : 0;
  if (fracBits === 23) {
    out.hi = 0;
    out.lo = (s | (toInf ? 0x7f80_0000 : 0x7f7f_ffff)) >>> 0;
  } else {
    out.hi = (s | (toInf ? 0x7ff0_0000 : 0x7fef_ffff)) >>> 0;
    out.lo = toInf ? 0 : 0xffff_ffff;
  }
  out.overflow = true;
  out.underflow = false;
  out.tiny = false;
  out.inexact = true;
  out.roundedUp = toInf;
}

/**
 * Round a finite extended value to an integer magnitude under `rc` (FIST, FISTP, FBSTP,
 * FRNDINT: SDM Vol. 1 4.8.4.1). Writes r.hi:r.lo = |rounded value| (64 bits) and sets
 * r.overflow when it does not fit in 64 bits.
 */
export function extToIntMagnitude(se: number, hi: number, lo: number, rc: number, r: Rounded): void {
  const negative = (se & 0x8000) !== 0;
  if ((hi | lo) === 0) {
    r.hi = 0;
    r.lo = 0;
    r.inexact = false;
    r.roundedUp = false;
    r.overflow = false;
    return;
  }
  const exp = normalizeExt(se, hi, lo, norm);
  // value = q * 2^(exp - 63); the integer part is q >> (63 - exp).
  const shift = 63 - exp;
  if (shift < 0) {
    r.hi = 0xffff_ffff;
    r.lo = 0xffff_ffff;
    r.inexact = false;
    r.roundedUp = false;
    r.overflow = true;
    return;
  }
  shiftRound(norm.hi, norm.lo, shift, negative, rc, r);
}

/** 64-bit magnitude -> extended (exact), for FILD m64 and FBLD. */
export function u64ToExt(negative: boolean, hi: number, lo: number, out: Ext80): void {
  if ((hi | lo) === 0) {
    out.se = negative ? 0x8000 : 0;
    out.hi = 0;
    out.lo = 0;
    return;
  }
  const lz = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (lz >= 32) {
    hi = lo << (lz - 32);
    lo = 0;
  } else if (lz > 0) {
    hi = (hi << lz) | (lo >>> (32 - lz));
    lo = lo << lz;
  }
  out.se = (negative ? 0x8000 : 0) | (EXP_BIAS + 63 - lz);
  out.hi = hi >>> 0;
  out.lo = lo >>> 0;
}

// ---- helpers for the double-precision arithmetic core -------------------------------------

/** The next double after `x` toward +Infinity (`up`) or -Infinity. NaN and the far infinity stay. */
export function nextAfter(x: number, up: boolean): number {
  if (Number.isNaN(x)) return x;
  if (x === 0) return up ? 5e-324 : -5e-324;
  if (up ? x === Infinity : x === -Infinity) return x;
  f64[0] = x;
  let lo = u32[0]!;
  let hi = u32[1]!;
  // Moving away from zero increments the magnitude; toward zero decrements it.
  if (up === x > 0) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  return doubleFromWords(hi, lo);
}

/** Unbiased binary exponent of a finite nonzero double (floor(log2|x|)), denormals included. */
export function exponentOf(x: number): number {
  f64[0] = x;
  const e = (u32[1]! >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return exponentOf(x * 2 ** 64) - 64; // 2^64 makes a denormal normal
}

const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter

/** a*b - p exactly, for p = fl(a*b) with |a|,|b| well inside the double range (Dekker 1971). */
function twoProductErr(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

const sgn = (d: number): number => (d > 0 ? 1 : d < 0 ? -1 : 0);

/** sign(exact(a+b) - s) for s = fl(a+b) finite (Knuth's TwoSum is exact without overflow). */
export function addDiff(a: number, b: number, s: number): number {
  const bb = s - a;
  return sgn(a - (s - bb) + (b - bb));
}

/** sign(exact(a*b) - p) for p = fl(a*b) finite; operands scaled to [1,2) so Dekker is exact. */
export function mulDiff(a: number, b: number, p: number): number {
  if (a === 0 || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return 0;
  if (p === 0) return a > 0 === b > 0 ? 1 : -1;
  const ea = exponentOf(a);
  const eb = exponentOf(b);
  const as = scalbn(a, -ea);
  const bs = scalbn(b, -eb);
  const ps = scalbn(p, -(ea + eb));
  return sgn(twoProductErr(as, bs, ps));
}

/** sign(exact(x/y) - q) for q = fl(x/y) finite, x and y finite and nonzero. */
export function divDiff(x: number, y: number, q: number): number {
  if (x === 0 || !Number.isFinite(x) || !Number.isFinite(y) || y === 0) return 0;
  if (q === 0) return x > 0 === y > 0 ? 1 : -1;
  const ex = exponentOf(x);
  const ey = exponentOf(y);
  const xs = scalbn(x, -ex);
  const ys = scalbn(y, -ey);
  const qs = scalbn(q, ey - ex);
  const p = qs * ys;
  // qs*ys - xs = (p - xs) + err; p and xs are within a factor of 2 (Sterbenz: exact).
  const d = p - xs + twoProductErr(qs, ys, p);
  if (d === 0) return 0;
  // sign(x/y - q) = -sign(q*y - x) * sign(y)
  return d > 0 !== ys > 0 ? 1 : -1;
}

/** sign(sqrt(x) - r) for r = fl(sqrt(x)), x finite positive. */
export function sqrtDiff(x: number, r: number): number {
  if (x === 0 || !Number.isFinite(x)) return 0;
  let ex = exponentOf(x);
  ex -= ex & 1; // even, so that the square root scales by an integer power
  const xs = scalbn(x, -ex);
  const rs = scalbn(r, -(ex / 2));
  const p = rs * rs;
  const d = p - xs + twoProductErr(rs, rs, p);
  return d > 0 ? -1 : d < 0 ? 1 : 0;
}
