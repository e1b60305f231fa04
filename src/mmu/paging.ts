/**
 * The paging unit: 32-bit two-level paging (Intel SDM Vol. 3A 4.3) with 4 MiB pages
 * (CR4.PSE, PDE.PS), global pages (CR4.PGE, G bit), U/S and R/W protection with CR0.WP
 * (4.6), accessed/dirty updates in the in-memory entries (4.8), #PF with CR2 and the
 * error code (4.7), and a software TLB (4.10).
 *
 * No PAE: CPUID does not advertise it and MOV CR4 refuses CR4.PAE (src/cpu/system/).
 * CPUID must not advertise PSE-36 either: bits 21:13 of a 4 MiB PDE are reserved here
 * (MAXPHYADDR = 32) and set RSVD in the #PF error code.
 *
 * Software TLB (the hit path of every memory access):
 *   `tlb` is indexed by linear page number (linear >>> 12) and holds
 *   physical page address (bits 31..12) | permission bits (TlbFlag). An entry grants an
 *   access only if the bit `1 << ((access & 1) | (user ? 2 : 0))` is set, so a lookup is
 *   one load, one AND and one OR. Write permission is only cached once the entry's dirty
 *   bit is set in memory, so the first write to a page always walks and sets D
 *   (SDM 4.8). Read/fetch and write, supervisor and user, are cached separately; the
 *   cached rights already include CR0.WP, which is why a WP change flushes the TLB.
 *   4 MiB pages are cached per 4 KiB slot, filled on demand; `largeRegions` remembers
 *   which 4 MiB regions hold such slots so INVLPG drops the whole large page.
 *   A list of the filled slots lets a flush visit only those (not 1M entries).
 *
 * Page-table entries that lie outside guest RAM (CR3 or a PDE pointing into MMIO or
 * unbacked space) read as 0, i.e. not present, so the access raises #PF with P=0: the
 * guest cannot make the walker touch device registers (hostile-guest rule of
 * CONTEXT.md). Real hardware would read the bus (all-ones for unbacked space, which
 * would be present with reserved bits); no OS relies on either behaviour.
 */

import { type AccessKind, type Cpu, CR0, CR4, type LinearTranslator } from "../cpu/cpu.js";
import { raise, Vector } from "../cpu/fault.js";

/** Permission and bookkeeping bits in the low 12 bits of a TLB entry. */
export const TlbFlag = {
  /** Supervisor read / fetch (bit index 0 = READ, supervisor). */
  READ_SUPER: 1 << 0,
  /** Supervisor write (bit index 1 = WRITE, supervisor). */
  WRITE_SUPER: 1 << 1,
  /** User read / fetch (bit index 2). */
  READ_USER: 1 << 2,
  /** User write (bit index 3). */
  WRITE_USER: 1 << 3,
  /** Translation from a global page (kept by a non-global flush). */
  GLOBAL: 1 << 4,
  /** Slot of a 4 MiB page. */
  LARGE: 1 << 5,
} as const;

/** Page-fault error code bits, SDM Vol. 3A 4.7, Figure 4-12. */
export const PfError = {
  P: 1 << 0,
  W: 1 << 1,
  U: 1 << 2,
  RSVD: 1 << 3,
  ID: 1 << 4,
} as const;

/** Paging-structure entry bits (32-bit paging, SDM Vol. 3A Tables 4-4 .. 4-6). */
const PTE_P = 1 << 0;
const PTE_RW = 1 << 1;
const PTE_US = 1 << 2;
const PTE_A = 1 << 5;
const PTE_D = 1 << 6;
const PDE_PS = 1 << 7;
const PTE_G = 1 << 8;
/** Bits 21:13 of a 4 MiB PDE: reserved with MAXPHYADDR = 32 and no PSE-36 (Table 4-5). */
const PDE4M_RESERVED = 0x003f_e000;

const PAGES = 1 << 20;

export class PagingUnit implements LinearTranslator {
  /**
   * Linear page number -> physical page | TlbFlag bits; 0 = no entry. Public so that an
   * engine may inline the hit path: `e & (1 << ((access & 1) | (user ? 2 : 0)))`.
   */
  readonly tlb = new Int32Array(PAGES);
  /** Page numbers of the slots that may be nonzero (no duplicates: see `inList`). */
  private readonly filled = new Int32Array(PAGES);
  private filledCount = 0;
  private readonly inList = new Uint8Array(PAGES);
  /** One flag per 4 MiB linear region: some slot in it came from a 4 MiB page. */
  private readonly largeRegions = new Uint8Array(1024);

  /** Page walks done (TLB misses, including the ones that fault). */
  walks = 0;
  /** The last translate() result came from a global entry (LinearTranslator.lastGlobal). */
  lastGlobal = false;
  /** Page faults raised. */
  faults = 0;
  /** Flushes (MOV CR3, CR0/CR4 changes) and INVLPGs. */
  flushes = 0;
  invalidations = 0;

  constructor(private readonly cpu: Cpu) {}

  translate(linear: number, access: AccessKind, user: boolean): number {
    const e = this.tlb[linear >>> 12]!;
    if ((e & (1 << ((access & 1) | (user ? 2 : 0)))) !== 0) {
      this.lastGlobal = (e & TlbFlag.GLOBAL) !== 0;
      return ((e & ~0xfff) | (linear & 0xfff)) >>> 0;
    }
    return this.walk(linear >>> 0, access, user);
  }

  flush(includingGlobal: boolean): void {
    this.flushes++;
    const tlb = this.tlb;
    const list = this.filled;
    const inList = this.inList;
    const n = this.filledCount;
    if (includingGlobal) {
      for (let i = 0; i < n; i++) {
        const p = list[i]!;
        tlb[p] = 0;
        inList[p] = 0;
      }
      this.filledCount = 0;
      this.largeRegions.fill(0);
      return;
    }
    // Keep global entries (SDM 4.10.4.1: MOV CR3 does not invalidate global pages).
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const p = list[i]!;
      if ((tlb[p]! & TlbFlag.GLOBAL) !== 0) {
        list[kept++] = p;
      } else {
        tlb[p] = 0;
        inList[p] = 0;
      }
    }
    this.filledCount = kept;
  }

  invalidatePage(linear: number): boolean {
    this.invalidations++;
    const page = linear >>> 12;
    // The slot stays in `filled` (its `inList` mark too), so refilling it adds no duplicate.
    this.tlb[page] = 0;
    const region = page >>> 10;
    if (this.largeRegions[region] !== 0) {
      // INVLPG of any address in a 4 MiB page drops the whole page (SDM 4.10.4.1).
      this.tlb.fill(0, region << 10, (region + 1) << 10);
      return true;
    }
    return false;
  }

  /**
   * Translate without side effects (no A/D updates, no fault, TLB untouched), for
   * debuggers and monitors. Returns the physical address, or -1 when the access would fault.
   */
  peek(linear: number, access: AccessKind, user: boolean): number {
    const cpu = this.cpu;
    linear >>>= 0;
    if ((cpu.cr0 & CR0.PG) === 0) return linear;
    const write = (access & 1) !== 0;
    const wp = (cpu.cr0 & CR0.WP) !== 0;
    const pde = this.readEntry(((cpu.cr3 & 0xffff_f000) >>> 0) + ((linear >>> 22) << 2));
    if ((pde & PTE_P) === 0) return -1;
    if ((cpu.cr4 & CR4.PSE) !== 0 && (pde & PDE_PS) !== 0) {
      if ((pde & PDE4M_RESERVED) !== 0 || !allowed(pde, write, user, wp)) return -1;
      return (((pde & 0xffc0_0000) >>> 0) + (linear & 0x3f_ffff)) >>> 0;
    }
    const pte = this.readEntry(((pde & 0xffff_f000) >>> 0) + (((linear >>> 12) & 0x3ff) << 2));
    if ((pte & PTE_P) === 0 || !allowed(pde & pte, write, user, wp)) return -1;
    return ((pte & 0xffff_f000) | (linear & 0xfff)) >>> 0;
  }

  // ---- the walk (SDM Vol. 3A 4.3, Figures 4-2 and 4-3) --------------------------------------

  private walk(linear: number, access: AccessKind, user: boolean): number {
    this.walks++;
    const cpu = this.cpu;
    if ((cpu.cr0 & CR0.PG) === 0) return linear;
    const write = (access & 1) !== 0;
    const wp = (cpu.cr0 & CR0.WP) !== 0;
    const pge = (cpu.cr4 & CR4.PGE) !== 0;

    const pdeAddr = ((cpu.cr3 & 0xffff_f000) >>> 0) + ((linear >>> 22) << 2);
    const pde = this.readEntry(pdeAddr);
    if ((pde & PTE_P) === 0) this.fault(linear, write, user, 0);

    let phys: number;
    let rights: number;
    let dirty: boolean;
    let global: boolean;
    let large = false;
    if ((cpu.cr4 & CR4.PSE) !== 0 && (pde & PDE_PS) !== 0) {
      // 4 MiB page (Figure 4-3, Table 4-4 with PS=1).
      if ((pde & PDE4M_RESERVED) !== 0) this.fault(linear, write, user, PfError.P | PfError.RSVD);
      if (!allowed(pde, write, user, wp)) this.fault(linear, write, user, PfError.P);
      const updated = pde | PTE_A | (write ? PTE_D : 0);
      if (updated !== pde) this.writeEntry(pdeAddr, updated);
      phys = ((pde & 0xffc0_0000) + (linear & 0x003f_f000)) | 0;
      rights = pde;
      dirty = (updated & PTE_D) !== 0;
      global = pge && (pde & PTE_G) !== 0;
      large = true;
    } else {
      const pteAddr = ((pde & 0xffff_f000) >>> 0) + (((linear >>> 12) & 0x3ff) << 2);
      const pte = this.readEntry(pteAddr);
      if ((pte & PTE_P) === 0) this.fault(linear, write, user, 0);
      // The access rights are the AND of both levels (SDM 4.6.1).
      rights = pde & pte;
      if (!allowed(rights, write, user, wp)) this.fault(linear, write, user, PfError.P);
      if ((pde & PTE_A) === 0) this.writeEntry(pdeAddr, pde | PTE_A);
      const updated = pte | PTE_A | (write ? PTE_D : 0);
      if (updated !== pte) this.writeEntry(pteAddr, updated);
      phys = pte & 0xffff_f000;
      dirty = (updated & PTE_D) !== 0;
      global = pge && (pte & PTE_G) !== 0;
    }

    // Fill the TLB slot with every right the entry grants (write rights only once dirty).
    const rw = (rights & PTE_RW) !== 0;
    const us = (rights & PTE_US) !== 0;
    let flags = TlbFlag.READ_SUPER;
    if (dirty && (rw || !wp)) flags |= TlbFlag.WRITE_SUPER;
    if (us) {
      flags |= TlbFlag.READ_USER;
      if (dirty && rw) flags |= TlbFlag.WRITE_USER;
    }
    if (global) flags |= TlbFlag.GLOBAL;
    this.lastGlobal = global;
    const page = linear >>> 12;
    if (large) {
      flags |= TlbFlag.LARGE;
      this.largeRegions[page >>> 10] = 1;
    }
    this.tlb[page] = phys | flags;
    if (this.inList[page] === 0) {
      this.inList[page] = 1;
      this.filled[this.filledCount++] = page;
    }
    return ((phys & ~0xfff) | (linear & 0xfff)) >>> 0;
  }

  private readEntry(addr: number): number {
    const m = this.cpu.memory;
    return addr + 4 <= m.size ? m.read32(addr) : 0;
  }

  private writeEntry(addr: number, value: number): void {
    const m = this.cpu.memory;
    if (addr + 4 <= m.size) m.write32(addr, value);
  }

  /** #PF: CR2 = linear address, error code = P | W/R | U/S | RSVD (SDM 4.7). */
  private fault(linear: number, write: boolean, user: boolean, bits: number): never {
    this.faults++;
    const cpu = this.cpu;
    cpu.cr2 = linear | 0;
    return raise(cpu, Vector.PF, bits | (write ? PfError.W : 0) | (user ? PfError.U : 0));
  }
}

/**
 * SDM Vol. 3A 4.6.1: user accesses need U/S=1 (and R/W=1 for writes) at every level;
 * supervisor reads are always allowed; supervisor writes need R/W=1 only when CR0.WP=1.
 */
function allowed(rights: number, write: boolean, user: boolean, wp: boolean): boolean {
  if (user) {
    if ((rights & PTE_US) === 0) return false;
    return !write || (rights & PTE_RW) !== 0;
  }
  return !write || !wp || (rights & PTE_RW) !== 0;
}
