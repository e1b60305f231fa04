/**
 * The CPUID the monitor reports (SDM Vol. 2A, CPUID, Tables 3-8, 3-10, 3-11). vmlab's vCPU
 * is a GenuineIntel family-6 (P6) processor: FPU, DE, PSE, TSC, MSR, CX8, SEP, PGE, CMOV.
 * Not advertised, because not implemented: VME, PAE, APIC, MTRR, MCE/MCA, PAT, MMX, FXSR, SSE.
 */

/** Family 6, model 8, stepping 3 (a Pentium III-class signature). */
export const CPUID_SIGNATURE = (6 << 8) | (8 << 4) | 3;

export const CpuidFeature = {
  FPU: 1 << 0,
  DE: 1 << 2,
  PSE: 1 << 3,
  TSC: 1 << 4,
  MSR: 1 << 5,
  CX8: 1 << 8,
  SEP: 1 << 11,
  PGE: 1 << 13,
  CMOV: 1 << 15,
} as const;

export const CPUID_FEATURES_EDX =
  CpuidFeature.FPU |
  CpuidFeature.DE |
  CpuidFeature.PSE |
  CpuidFeature.TSC |
  CpuidFeature.MSR |
  CpuidFeature.CX8 |
  CpuidFeature.SEP |
  CpuidFeature.PGE |
  CpuidFeature.CMOV;

const BRAND = "vmlab virtual i686 CPU";

function asciiDwords(s: string, count: number): number[] {
  const bytes = new Uint8Array(count * 4);
  for (let i = 0; i < s.length && i < bytes.length; i++) bytes[i] = s.charCodeAt(i);
  const v = new DataView(bytes.buffer);
  return Array.from({ length: count }, (_, i) => v.getInt32(i * 4, true));
}

const VENDOR = asciiDwords("GenuineIntel", 3); // EBX, EDX, ECX order below
const BRAND_DWORDS = asciiDwords(BRAND, 12);

const MAX_BASIC_LEAF = 1;
const MAX_EXTENDED_LEAF = 0x8000_0004;

/** Fill `out` with EAX, EBX, ECX, EDX for the given leaf (ECX subleaf unused by these leaves). */
export function cpuid(leaf: number, out: Int32Array): void {
  leaf >>>= 0;
  // SDM: a basic leaf above the maximum returns the data of the highest basic leaf.
  if (leaf >= 0x8000_0000) {
    if (leaf > MAX_EXTENDED_LEAF) leaf = MAX_BASIC_LEAF;
  } else if (leaf > MAX_BASIC_LEAF) {
    leaf = MAX_BASIC_LEAF;
  }
  out.fill(0);
  switch (leaf) {
    case 0:
      out[0] = MAX_BASIC_LEAF;
      out[1] = VENDOR[0]!; // "Genu"
      out[3] = VENDOR[1]!; // "ineI"
      out[2] = VENDOR[2]!; // "ntel"
      return;
    case 1:
      out[0] = CPUID_SIGNATURE;
      out[3] = CPUID_FEATURES_EDX;
      return;
    case 0x8000_0000:
      out[0] = MAX_EXTENDED_LEAF;
      return;
    case 0x8000_0002:
    case 0x8000_0003:
    case 0x8000_0004: {
      const base = (leaf - 0x8000_0002) * 4;
      for (let i = 0; i < 4; i++) out[i] = BRAND_DWORDS[base + i]!;
      return;
    }
    default:
      return;
  }
}
