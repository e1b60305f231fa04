/**
 * The fixed memory layout that the host harness (host/harness.c) and vmlab's side of the
 * user-mode oracle share, and the deterministic fills both sides compute. Keep in sync
 * with the #defines at the top of harness.c.
 */

/** The snippet's first byte. One page; the harness appends "jmp exit_stub". */
export const CODE_ADDR = 0x0010_0000;
/** The data buffer that memory operands point into. */
export const DATA_ADDR = 0x0010_2000;
/** The stack page; ESP starts at STACK_ADDR + 0x800. */
export const STACK_ADDR = 0x0010_3000;
export const INITIAL_ESP = STACK_ADDR + 0x800;
/** Data buffer + stack page: the bytes compared after every case. */
export const REGION_ADDR = DATA_ADDR;
export const REGION_SIZE = 0x2000;
/** Room for vmlab's x87 prologue/epilogue (FRSTOR / FNSAVE): not compared, not on the host. */
export const FPU_IMAGE_ADDR = 0x0010_5000;
export const FPU_OUT_ADDR = 0x0010_5100;
export const FPU_STUB_ADDR = 0x0010_6000;
/** Guest RAM for the vmlab side (covers everything above). */
export const GUEST_RAM_SIZE = 0x0020_0000;

export const MAX_CODE = 64;
export const MAX_PATCH = 16;
export const PATCH_BYTES = 16;

/** xorshift32, the generator both sides use to fill the region (harness.c xorshift32). */
export function fillRegion(out: Uint8Array, seed: number): void {
  let s = seed >>> 0 || 0x9e3779b9;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i + 4 <= out.length; i += 4) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    view.setUint32(i, s, true);
  }
}

/** A seeded PRNG for case generation (mulberry32): the same seed gives the same cases. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform unsigned 32-bit integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new RangeError("pick from an empty list");
    return item;
  }
}

/** Seed of one named stream derived from the run seed (FNV-1a of the name, mixed). */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
