/** Errors of the Linux loader. One class; the message says what is wrong with the image. */

/** What went wrong, for callers that branch on it. */
export type BootImageErrorKind =
  | "truncated" // a field or region reaches past the end of the file
  | "bad-magic" // a signature ("HdrS", 0xAA55, ELF magic, xz magic) is missing
  | "unsupported" // a valid image this loader cannot handle (old protocol, lz4 payload, ...)
  | "corrupt" // a field holds an impossible value, or a checksum fails
  | "no-room"; // the image, initrd or command line does not fit in guest RAM

export class BootImageError extends Error {
  override readonly name = "BootImageError";
  constructor(
    readonly kind: BootImageErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Hex for messages; negative int32 values are shown as their unsigned 32-bit form. */
export const hex = (n: number): string => `0x${(n < 0 ? n >>> 0 : n).toString(16)}`;
