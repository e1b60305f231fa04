/**
 * .xz decoding for the kernel payload (The .xz File Format 1.2.0, tukaani.org).
 *
 * The LZMA2 work is done by `xz-decompress` (xz-embedded compiled to WebAssembly, no native
 * build). That build has no BCJ filters, and the kernel's payload is made with
 * `xz --check=crc32 --x86 --lzma2=,dict=32MiB` (scripts/xz_wrap.sh). So this module:
 *   1. parses the container itself from the end (stream footer -> index -> blocks), checking
 *      every CRC32 and bounds-checking every size against the buffer;
 *   2. re-frames each block as a plain LZMA2 block (filter chain without BCJ, check "None")
 *      in a new, self-consistent stream (new block headers, index and footer);
 *   3. runs that through xz-decompress, splits the output by the index's block sizes;
 *   4. undoes the x86 BCJ filter per block (bcj-x86.ts) and verifies the original check
 *      (CRC32, CRC64 or SHA-256) of each block on the final bytes.
 */

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { bcjX86Decode } from "./bcj-x86.js";
import { crc32, crc64Hex } from "./crc.js";
import { BootImageError, hex } from "./errors.js";

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
const FOOTER_MAGIC = [0x59, 0x5a] as const; // "YZ"

/** Filter IDs (section 5.3). */
const FILTER_LZMA2 = 0x21;
const FILTER_X86 = 0x04;
const FILTER_NAMES: Record<number, string> = {
  3: "Delta",
  5: "PowerPC BCJ",
  6: "IA-64 BCJ",
  7: "ARM BCJ",
  8: "ARM-Thumb BCJ",
  9: "SPARC BCJ",
  10: "ARM64 BCJ",
  11: "RISC-V BCJ",
};

/** Check IDs (section 2.1.1.2): size in bytes of the check field. */
function checkSize(id: number): number {
  if (id === 0) return 0;
  return [4, 8, 16, 32, 64][Math.floor((id - 1) / 3)] ?? -1;
}

const fail = (msg: string): never => {
  throw new BootImageError("corrupt", `xz: ${msg}`);
};

/** Reads a multibyte integer (section 1.2): at most 9 bytes, no trailing zero byte. */
function readVli(buf: Uint8Array, pos: number, end: number, what: string): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (pos + i >= end) fail(`${what}: integer runs past its field`);
    const b = buf[pos + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0) fail(`${what}: integer is not in its shortest form`);
      if (!Number.isSafeInteger(value)) fail(`${what}: integer is above 2^53`);
      return [value, pos + i + 1];
    }
  }
  return fail(`${what}: integer is longer than 9 bytes`);
}

function writeVli(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

const le32 = (buf: Uint8Array, pos: number): number =>
  (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;

function pushLe32(out: number[], v: number): void {
  out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

interface XzBlock {
  /** The LZMA2 dictionary-size property byte. */
  lzma2Prop: number;
  /** BCJ x86 start offset, or undefined when the chain has no BCJ filter. */
  x86Start: number | undefined;
  /** The compressed LZMA2 data (a view into the input). */
  data: Uint8Array;
  uncompressedSize: number;
  /** The stored check of the block, a view into the input. */
  check: Uint8Array;
}

interface XzStream {
  checkType: number;
  blocks: XzBlock[];
  /** Offset just past the stream footer. */
  end: number;
}

/** Finds the end of the xz stream in `buf`: trailing stream padding (zero bytes) and the
 * kernel build's 4-byte size trailer (arch/x86/boot/compressed/Makefile, size_append) are
 * skipped. Returns the offset just past "YZ". */
function findStreamEnd(buf: Uint8Array): { end: number; sizeTrailer: number | undefined } {
  const isFooterEnd = (e: number): boolean =>
    e >= 24 && buf[e - 2] === FOOTER_MAGIC[0] && buf[e - 1] === FOOTER_MAGIC[1];
  let e = buf.length;
  if (isFooterEnd(e)) return { end: e, sizeTrailer: undefined };
  if (isFooterEnd(e - 4)) return { end: e - 4, sizeTrailer: le32(buf, e - 4) };
  while (e >= 4 && e % 4 === 0 && le32(buf, e - 4) === 0) {
    e -= 4;
    if (isFooterEnd(e)) return { end: e, sizeTrailer: undefined };
  }
  return fail('no stream footer ("YZ") at the end of the data: truncated?');
}

/** Parses one .xz stream ending at `end` (exclusive), starting at offset 0. */
function parseStream(buf: Uint8Array, end: number): XzStream {
  for (let i = 0; i < 6; i++)
    if (buf[i] !== MAGIC[i]) throw new BootImageError("bad-magic", "xz: no stream header magic");
  if (end < 12 + 12) fail("stream shorter than its header and footer");
  // Stream header: magic(6) flags(2) CRC32(flags)(4).
  if (crc32(buf.subarray(6, 8)) !== le32(buf, 8)) fail("stream header CRC32 mismatch");
  if (buf[6] !== 0 || (buf[7]! & 0xf0) !== 0) fail("reserved stream flags set");
  const checkType = buf[7]! & 0x0f;
  const cSize = checkSize(checkType);
  // Stream footer: CRC32(4) backward size(4) flags(2) "YZ".
  const f = end - 12;
  if (crc32(buf.subarray(f + 4, f + 10)) !== le32(buf, f)) fail("stream footer CRC32 mismatch");
  if (buf[f + 8] !== buf[6] || buf[f + 9] !== buf[7]) fail("stream footer flags differ from the header's");
  const indexSize = (le32(buf, f + 4) + 1) * 4;
  const indexStart = f - indexSize;
  if (indexStart < 12) fail(`index size ${indexSize} reaches before the stream header`);
  // Index: indicator 0x00, record count, records (unpadded size, uncompressed size), padding, CRC32.
  if (buf[indexStart] !== 0) fail("index indicator is not 0x00");
  if (crc32(buf.subarray(indexStart, f - 4)) !== le32(buf, f - 4)) fail("index CRC32 mismatch");
  let p = indexStart + 1;
  let count: number;
  [count, p] = readVli(buf, p, f - 4, "index record count");
  const records: { unpadded: number; uncompressed: number }[] = [];
  for (let i = 0; i < count; i++) {
    let unpadded: number;
    let uncompressed: number;
    [unpadded, p] = readVli(buf, p, f - 4, "index unpadded size");
    [uncompressed, p] = readVli(buf, p, f - 4, "index uncompressed size");
    records.push({ unpadded, uncompressed });
  }
  while (p < f - 4) if (buf[p++] !== 0) fail("index padding is not zero");
  if (p !== f - 4) fail("index records overrun the index");

  const blocks: XzBlock[] = [];
  let pos = 12;
  for (const [n, rec] of records.entries()) {
    const blockStart = pos;
    if (blockStart >= indexStart) fail(`block ${n} starts inside the index`);
    const hdrSize = (buf[blockStart]! + 1) * 4;
    if (buf[blockStart] === 0) fail(`block ${n}: index indicator where a block header was expected`);
    const hdrEnd = blockStart + hdrSize;
    if (hdrEnd > indexStart) fail(`block ${n}: header runs into the index`);
    if (crc32(buf.subarray(blockStart, hdrEnd - 4)) !== le32(buf, hdrEnd - 4))
      fail(`block ${n}: header CRC32 mismatch`);
    const flags = buf[blockStart + 1]!;
    if ((flags & 0x3c) !== 0) fail(`block ${n}: reserved block flags set`);
    const nFilters = (flags & 3) + 1;
    let q = blockStart + 2;
    let declaredCompressed: number | undefined;
    let declaredUncompressed: number | undefined;
    if (flags & 0x40) [declaredCompressed, q] = readVli(buf, q, hdrEnd - 4, `block ${n} compressed size`);
    if (flags & 0x80) [declaredUncompressed, q] = readVli(buf, q, hdrEnd - 4, `block ${n} uncompressed size`);
    let lzma2Prop: number | undefined;
    let x86Start: number | undefined;
    for (let k = 0; k < nFilters; k++) {
      let id: number;
      let propSize: number;
      [id, q] = readVli(buf, q, hdrEnd - 4, `block ${n} filter id`);
      [propSize, q] = readVli(buf, q, hdrEnd - 4, `block ${n} filter properties size`);
      if (q + propSize > hdrEnd - 4) fail(`block ${n}: filter properties run past the header`);
      const last = k === nFilters - 1;
      if (id === FILTER_LZMA2) {
        if (!last || propSize !== 1) fail(`block ${n}: LZMA2 must be the last filter with 1 property byte`);
        lzma2Prop = buf[q]!;
      } else if (id === FILTER_X86) {
        if (last || x86Start !== undefined) fail(`block ${n}: misplaced x86 BCJ filter`);
        if (propSize === 0) x86Start = 0;
        else if (propSize === 4) x86Start = le32(buf, q);
        else fail(`block ${n}: x86 BCJ properties must be 0 or 4 bytes`);
      } else {
        throw new BootImageError(
          "unsupported",
          `xz: block ${n} uses the ${FILTER_NAMES[id] ?? `unknown (id ${hex(id)})`} filter; only x86 BCJ + LZMA2 are supported`,
        );
      }
      q += propSize;
    }
    if (lzma2Prop === undefined) fail(`block ${n}: filter chain does not end in LZMA2`);
    while (q < hdrEnd - 4) if (buf[q++] !== 0) fail(`block ${n}: header padding is not zero`);
    // Unpadded size = header + compressed data + check (section 4.3.2).
    const compressed = rec.unpadded - hdrSize - cSize;
    if (compressed <= 0) fail(`block ${n}: index unpadded size ${rec.unpadded} is too small`);
    if (declaredCompressed !== undefined && declaredCompressed !== compressed)
      fail(`block ${n}: compressed size disagrees with the index`);
    if (declaredUncompressed !== undefined && declaredUncompressed !== rec.uncompressed) {
      fail(`block ${n}: uncompressed size disagrees with the index`);
    }
    const dataEnd = hdrEnd + compressed;
    const padded = dataEnd + ((4 - (compressed % 4)) % 4);
    if (padded + cSize > indexStart) fail(`block ${n}: data runs into the index`);
    for (let z = dataEnd; z < padded; z++) if (buf[z] !== 0) fail(`block ${n}: block padding is not zero`);
    blocks.push({
      lzma2Prop: lzma2Prop as number,
      x86Start,
      data: buf.subarray(hdrEnd, dataEnd),
      uncompressedSize: rec.uncompressed,
      check: buf.subarray(padded, padded + cSize),
    });
    pos = padded + cSize;
  }
  if (pos !== indexStart) fail("blocks do not end where the index begins");
  if (cSize < 0) throw new BootImageError("unsupported", `xz: unknown check type ${checkType}`);
  return { checkType, blocks, end };
}

/** Builds a stream of plain LZMA2 blocks with check None, consistent in every CRC and size. */
function reframe(blocks: readonly XzBlock[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  const flags = [0x00, 0x00];
  const header = [...MAGIC, ...flags];
  pushLe32(header, crc32(Uint8Array.from(flags)));
  parts.push(Uint8Array.from(header));
  const index: number[] = [0x00];
  writeVli(index, blocks.length);
  for (const b of blocks) {
    const h: number[] = [0, 0xc0]; // size placeholder; 1 filter, both sizes present
    writeVli(h, b.data.length);
    writeVli(h, b.uncompressedSize);
    h.push(FILTER_LZMA2, 1, b.lzma2Prop);
    while ((h.length + 4) % 4 !== 0) h.push(0);
    h[0] = (h.length + 4) / 4 - 1;
    pushLe32(h, crc32(Uint8Array.from(h)));
    parts.push(Uint8Array.from(h), b.data, new Uint8Array((4 - (b.data.length % 4)) % 4));
    writeVli(index, h.length + b.data.length);
    writeVli(index, b.uncompressedSize);
  }
  while (index.length % 4 !== 0) index.push(0);
  pushLe32(index, crc32(Uint8Array.from(index)));
  parts.push(Uint8Array.from(index));
  const footerBody = [0, 0, 0, 0, ...flags];
  const backward = index.length / 4 - 1;
  footerBody[0] = backward & 0xff;
  footerBody[1] = (backward >>> 8) & 0xff;
  footerBody[2] = (backward >>> 16) & 0xff;
  footerBody[3] = (backward >>> 24) & 0xff;
  const footer: number[] = [];
  pushLe32(footer, crc32(Uint8Array.from(footerBody)));
  parts.push(Uint8Array.from([...footer, ...footerBody, ...FOOTER_MAGIC]));
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// xz-decompress is CommonJS whose named export Node's ESM loader cannot detect.
interface XzModule {
  XzReadableStream: new (s: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>;
}
const loadXzDecompress = (): XzModule => createRequire(import.meta.url)("xz-decompress") as XzModule;

async function lzma2Decode(stream: Uint8Array<ArrayBuffer>, expected: number): Promise<Uint8Array> {
  const { XzReadableStream } = loadXzDecompress();
  const out = new Uint8Array(expected);
  let o = 0;
  const reader = new XzReadableStream(new Blob([stream]).stream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (o + value.length > expected) fail(`decoded data exceeds the ${expected} bytes the index declares`);
      out.set(value, o);
      o += value.length;
    }
  } catch (e) {
    if (e instanceof BootImageError) throw e;
    fail(`LZMA2 data is corrupt (${(e as Error).message})`);
  }
  if (o !== expected) fail(`decoded ${o} bytes, the index declares ${expected}`);
  return out;
}

function verifyCheck(type: number, data: Uint8Array, stored: Uint8Array, n: number): void {
  let ok = true;
  if (type === 0x01) ok = crc32(data) === le32(stored, 0);
  else if (type === 0x04) {
    const hexLe = Array.from(stored, (b) => b.toString(16).padStart(2, "0"))
      .reverse()
      .join("");
    ok = crc64Hex(data) === hexLe;
  } else if (type === 0x0a)
    ok = Buffer.from(createHash("sha256").update(data).digest()).equals(Buffer.from(stored));
  // Other (reserved) check types carry no defined algorithm: sizes were checked, contents are not.
  if (!ok) fail(`block ${n}: check of the decompressed data does not match (corrupt payload)`);
}

/** Decompresses a complete .xz stream (optionally followed by stream padding or the
 * kernel's 4-byte size trailer). `maxOutput` bounds the declared size before allocation. */
export async function decompressXz(buf: Uint8Array, maxOutput = 512 * 1024 * 1024): Promise<Uint8Array> {
  const { end, sizeTrailer } = findStreamEnd(buf);
  const stream = parseStream(buf, end);
  const total = stream.blocks.reduce((n, b) => n + b.uncompressedSize, 0);
  if (total > maxOutput) {
    throw new BootImageError(
      "unsupported",
      `xz: declares ${total} bytes of output, above the ${maxOutput}-byte limit`,
    );
  }
  if (sizeTrailer !== undefined && sizeTrailer !== total % 2 ** 32) {
    fail(`the size trailer says ${sizeTrailer} bytes, the index ${total}`);
  }
  const out = await lzma2Decode(reframe(stream.blocks), total);
  let o = 0;
  for (const [n, b] of stream.blocks.entries()) {
    const block = out.subarray(o, o + b.uncompressedSize);
    if (b.x86Start !== undefined) bcjX86Decode(block, b.x86Start);
    verifyCheck(stream.checkType, block, b.check, n);
    o += b.uncompressedSize;
  }
  return out;
}
