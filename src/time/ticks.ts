/**
 * Exact conversion between virtual nanoseconds and the ticks of a device oscillator
 * (the PIT's 1.193182 MHz, the RTC's 32.768 kHz). Ticks are numbered from virtual time 0, so
 * every device sees one free-running clock grid, as on the board.
 *
 * `ns * hz / 1e9` in doubles would lose integer precision once the product passes 2^53
 * (after ~87 days for the PIT); splitting `ns` into whole seconds and a remainder keeps every
 * product below `hz * 1e9` (< 2^53 for hz < 9e6), so the results are exact integers and
 * monotonic. Callers pass hz as an integer below MAX_TICK_HZ.
 */

const NS_PER_S = 1_000_000_000;
/** hz * 1e9 must stay below 2^53 for the arithmetic below to be exact. */
export const MAX_TICK_HZ = 9_000_000;

/** The number of whole ticks of an `hz` oscillator elapsed at virtual time `ns` (floored to integer ns). */
export function ticksAt(ns: number, hz: number): number {
  const n = Math.floor(ns);
  if (n <= 0) return 0;
  const s = Math.floor(n / NS_PER_S);
  const r = n - s * NS_PER_S; // 0 <= r < 1e9, exact: n is an integer below 2^53 in practice.
  return s * hz + floorDiv(r * hz, NS_PER_S); // r * hz < 1e9 * 9e6 < 2^53
}

/** The first integer ns at which `ticksAt(ns, hz) >= tick` (the time tick `tick` begins). */
export function nsAtTick(tick: number, hz: number): number {
  if (tick <= 0) return 0;
  const s = Math.floor(tick / hz);
  const q = tick - s * hz; // 0 <= q < hz
  return s * NS_PER_S + ceilDiv(q * NS_PER_S, hz); // q * 1e9 < 2^53
}

/** floor(a / b) for non-negative integers a, b < 2^53, corrected for the rounding of the double quotient. */
function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

function ceilDiv(a: number, b: number): number {
  const q = floorDiv(a, b);
  return q * b === a ? q : q + 1;
}
