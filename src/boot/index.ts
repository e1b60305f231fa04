/** Linux boot: bzImage parsing, boot_params, host-side decompression, 32-bit entry. */

export {
  type BzImage,
  detectPayloadFormat,
  Hdr,
  LoadFlags,
  type PayloadFormat,
  parseBzImage,
  protocolString,
} from "./bzimage.js";
export { decompressPayload } from "./decompress.js";
export { elfSectionBytes, elfSections, elfSegments, parseElfHeader } from "./elf.js";
export {
  applyEntryState,
  BOOT_CS,
  BOOT_DS,
  type EntryState,
  protectedModeEntry,
  writeBootGdt,
} from "./entry.js";
export { BootImageError, type BootImageErrorKind } from "./errors.js";
export {
  type BootLayout,
  DEFAULT_LAYOUT,
  type EntryPath,
  type LinuxBoot,
  type LinuxLoadOptions,
  loadLinux,
  loadPreparedKernel,
  type PreparedKernel,
  parseVmlinux,
  prepareKernel,
} from "./linux.js";
export { decompressXz } from "./xz.js";
export {
  BOOT_PARAMS_SIZE,
  buildBootParams,
  buildE820Map,
  type E820Entry,
  type E820Reservation,
  E820Type,
  ZeroPage,
} from "./zero-page.js";
