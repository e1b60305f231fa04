/**
 * A writer for the "newc" cpio format (SVR4 without CRC), the format the kernel unpacks
 * into its initramfs (Linux Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Each entry: the 110-byte ASCII header "070701" + 13 eight-digit hex fields (ino, mode,
 * uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize
 * including the NUL, check = 0), the name and its NUL padded to a multiple of 4, the data
 * padded to a multiple of 4. The archive ends with an entry named "TRAILER!!!".
 * Timestamps are fixed (0) so the same inputs give the same bytes.
 */

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode?: number }
  | { readonly kind: "file"; readonly path: string; readonly data: Uint8Array; readonly mode?: number }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string }
  | {
      readonly kind: "chardev";
      readonly path: string;
      readonly major: number;
      readonly minor: number;
      readonly mode?: number;
    };

const enc = new TextEncoder();

function hex8(n: number): string {
  if (!(Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff))
    throw new RangeError(`cpio field ${n} does not fit 32 bits`);
  return n.toString(16).padStart(8, "0");
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

/** Builds a newc archive. Paths are relative ("bin/sh"); a leading "/" is removed. */
export function buildCpio(entries: readonly CpioEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0]): void => {
    const nameBytes = enc.encode(`${name}\0`);
    const header =
      "070701" +
      [
        ino++,
        mode,
        0, // uid
        0, // gid
        (mode & 0o170000) === S_IFDIR ? 2 : 1, // nlink
        0, // mtime
        data.length,
        0, // devmajor
        0, // devminor
        rdev[0],
        rdev[1],
        nameBytes.length,
        0, // check
      ]
        .map(hex8)
        .join("");
    chunks.push(enc.encode(header), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)));
    chunks.push(data, new Uint8Array(pad4(data.length)));
  };
  const seen = new Set<string>();
  for (const e of entries) {
    const path = e.path.replace(/^\/+/, "");
    if (path === "" || path.split("/").includes("..")) throw new RangeError(`bad cpio path "${e.path}"`);
    if (seen.has(path)) throw new RangeError(`duplicate cpio path "${path}"`);
    seen.add(path);
    switch (e.kind) {
      case "dir":
        push(path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0));
        break;
      case "file":
        push(path, S_IFREG | (e.mode ?? 0o644), e.data);
        break;
      case "symlink":
        push(path, S_IFLNK | 0o777, enc.encode(e.target));
        break;
      case "chardev":
        push(path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]);
        break;
    }
  }
  ino = 0;
  push("TRAILER!!!", 0, new Uint8Array(0));
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export interface ParsedCpioEntry {
  readonly name: string;
  readonly mode: number;
  readonly data: Uint8Array;
  readonly rdevMajor: number;
  readonly rdevMinor: number;
}

/** Reads a newc archive back (for tests and `vmlab image info`). */
export function parseCpio(buf: Uint8Array): ParsedCpioEntry[] {
  const dec = new TextDecoder();
  const out: ParsedCpioEntry[] = [];
  let o = 0;
  for (;;) {
    if (o + 110 > buf.length) throw new RangeError(`cpio: header at ${o} runs past the end`);
    const h = dec.decode(buf.subarray(o, o + 110));
    if (!h.startsWith("070701")) throw new RangeError(`cpio: bad magic at ${o}`);
    const f = (i: number): number => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = f(1);
    const size = f(6);
    const nameSize = f(11);
    const nameStart = o + 110;
    if (nameStart + nameSize > buf.length) throw new RangeError("cpio: name runs past the end");
    const name = dec.decode(buf.subarray(nameStart, nameStart + nameSize - 1));
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (dataStart + size > buf.length) throw new RangeError(`cpio: data of ${name} runs past the end`);
    if (name === "TRAILER!!!") return out;
    out.push({
      name,
      mode,
      data: buf.subarray(dataStart, dataStart + size),
      rdevMajor: f(9),
      rdevMinor: f(10),
    });
    o = dataStart + size + pad4(size);
  }
}
