/**
 * Loading data and stack segment registers: MOV Sreg, POP Sreg, LDS/LES/LFS/LGS/LSS
 * (SDM Vol. 2B "MOV", "POP", "LDS/LES/LFS/LGS/LSS"; Vol. 3A 5.5-5.7).
 *
 * Real mode: selector and base (= selector << 4) change; the cached limit and access
 * rights are kept, as on hardware, so "unreal mode" (4 GiB limits left over from
 * protected mode) keeps working.
 *
 * Virtual-8086 mode is not supported by vmlab (Linux 686 does not use it; IRET refuses to
 * enter it), so the v8086 path below only exists for completeness and uses the real-mode rule.
 */

import { type Cpu, SS } from "../cpu.js";
import { raise, Vector } from "../fault.js";
import {
  accConforming,
  accDpl,
  accIsCode,
  accIsSystem,
  accPresent,
  accReadable,
  accWritableData,
  desc,
  descriptorAccess,
  fetchDescriptor,
  isNullSelector,
  loadNullSegment,
  loadSegmentCache,
  selError,
  setAccessedBit,
} from "./descriptors.js";

export function loadSegment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  if (!cpu.protectedMode || cpu.v86Mode) {
    cpu.segSel[seg] = selector;
    cpu.segBase[seg] = selector << 4;
    return;
  }
  if (seg === SS) loadStackSegment(cpu, selector);
  else loadDataSegment(cpu, seg, selector);
}

/** SS: SDM Vol. 2B MOV "IF SS is loaded". */
function loadStackSegment(cpu: Cpu, selector: number): void {
  if (isNullSelector(selector)) raise(cpu, Vector.GP, 0);
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  const cpl = cpu.cpl;
  if ((selector & 3) !== cpl || accDpl(access) !== cpl || !accWritableData(access)) {
    raise(cpu, Vector.GP, selError(selector));
  }
  if (!accPresent(access)) raise(cpu, Vector.SS, selError(selector));
  setAccessedBit(cpu);
  loadSegmentCache(cpu, SS, selector, desc.lo, desc.hi);
}

/** DS, ES, FS, GS: SDM Vol. 2B MOV "IF DS, ES, FS, or GS is loaded with non-NULL selector". */
function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  if (isNullSelector(selector)) {
    loadNullSegment(cpu, seg, selector);
    return;
  }
  fetchDescriptor(cpu, selector, Vector.GP);
  const access = descriptorAccess(desc.hi);
  if (accIsSystem(access) || !accReadable(access)) raise(cpu, Vector.GP, selError(selector));
  if (!accIsCode(access) || !accConforming(access)) {
    // Data or non-conforming code: max(CPL, RPL) <= DPL (SDM Vol. 3A 5.6).
    const dpl = accDpl(access);
    if ((selector & 3) > dpl || cpu.cpl > dpl) raise(cpu, Vector.GP, selError(selector));
  }
  if (!accPresent(access)) raise(cpu, Vector.NP, selError(selector));
  setAccessedBit(cpu);
  loadSegmentCache(cpu, seg, selector, desc.lo, desc.hi);
}
