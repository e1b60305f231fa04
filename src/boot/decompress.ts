/** Host-side decompression of the bzImage payload. xz (with x86 BCJ) and gzip are
 * supported; the other formats the kernel build offers are recognized and refused. */

import { gunzipSync } from "node:zlib";
import type { PayloadFormat } from "./bzimage.js";
import { BootImageError } from "./errors.js";
import { decompressXz } from "./xz.js";

/** Upper bound on a decompressed vmlinux, checked before allocating. */
export const MAX_VMLINUX = 512 * 1024 * 1024;

export async function decompressPayload(payload: Uint8Array, format: PayloadFormat): Promise<Uint8Array> {
  switch (format) {
    case "xz":
      return decompressXz(payload, MAX_VMLINUX);
    case "gzip":
      try {
        // The kernel build appends the 4-byte size after the gzip member; zlib stops at the
        // member's end and ignores it.
        return new Uint8Array(gunzipSync(payload, { maxOutputLength: MAX_VMLINUX }));
      } catch (e) {
        throw new BootImageError("corrupt", `gzip payload: ${(e as Error).message}`);
      }
    case "elf":
      return payload;
    case "bzip2":
    case "lzma":
    case "lzo":
    case "lz4":
    case "zstd":
      throw new BootImageError(
        "unsupported",
        `the kernel payload is ${format}-compressed; host-side decompression supports xz and gzip only — use the decompressor entry path (entryPath: "decompressor") or a kernel built with CONFIG_KERNEL_XZ / CONFIG_KERNEL_GZIP`,
      );
    case "unknown":
      throw new BootImageError("bad-magic", "the kernel payload has no known compression magic");
  }
}
