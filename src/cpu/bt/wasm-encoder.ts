/**
 * A minimal WebAssembly binary writer for the translator's wasm backend (wasm-codegen.ts):
 * one module per translation, importing the machine's shared memory and a few host
 * functions, exporting one function. Only i32 is used. Encodings follow the WebAssembly
 * Core Specification 2.0, chapter 5 (Binary Format): LEB128 integers (5.2.2), sections
 * (5.5), instructions (5.4).
 */

/** Opcodes used by the code generator (Core Spec 5.4). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  call: 0x10,
  callIndirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8u: 0x2d,
  i32Load8s: 0x2c,
  i32Load16u: 0x2f,
  i32Load16s: 0x2e,
  i32Store: 0x36,
  i32Store8: 0x3a,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtS: 0x48,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32LeS: 0x4c,
  i32LeU: 0x4d,
  i32GeS: 0x4e,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrS: 0x75,
  i32ShrU: 0x76,
  i32Rotl: 0x77,
  i32Rotr: 0x78,
  i64Ne: 0x52,
  i64Mul: 0x7e,
  i32WrapI64: 0xa7,
  i64ExtendI32S: 0xac,
} as const;

const I32 = 0x7f;
/** Block type: no result. */
export const VOID = 0x40;
export const RESULT_I32 = I32;

/** A growable byte buffer (the emitter writes tens of kilobytes per module). */
export class ByteWriter {
  private buf = new Uint8Array(4096);
  length = 0;
  push(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }
  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buf.length) this.grow(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  /** Drop the last byte. */
  pop(): void {
    this.length--;
  }
  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.slice(0, this.length);
  }
  private grow(n: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

type ByteSink = { push(b: number): void };

export function uleb(out: ByteSink, n: number): void {
  let v = n >>> 0;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

export function sleb(out: ByteSink, n: number): void {
  let v = n | 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(out: ByteSink, s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

function section(out: ByteWriter, id: number, body: ByteWriter): void {
  out.push(id);
  uleb(out, body.length);
  out.append(body.bytes());
}

export interface ImportedFunction {
  readonly name: string;
  readonly params: number;
  readonly results: 0 | 1;
}

/** A function body: `locals` extra i32 locals and its code (without the final end). */
export interface FunctionBody {
  readonly locals: number;
  readonly code: Uint8Array;
}

/**
 * A module: memory "env.m" (shared, `pages` wasm pages), the functions `imports` ("env.<name>",
 * all-i32 signatures, function indices 0..n-1) and the functions `bodies`, exported as "f0",
 * "f1", ..., each with `params` i32 parameters and no result. One module holds many
 * translations because V8's cost per module (its import wrappers, its code space) is far
 * above its cost per function.
 */
export function encodeModule(
  pages: number,
  imports: readonly ImportedFunction[],
  params: number,
  bodies: readonly FunctionBody[],
): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  out.append(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  // Types: one per import, then the exported functions' (all the same).
  const types = new ByteWriter();
  uleb(types, imports.length + 1);
  const sig = (p: number, r: number): void => {
    types.push(0x60);
    uleb(types, p);
    for (let i = 0; i < p; i++) types.push(I32);
    uleb(types, r);
    for (let i = 0; i < r; i++) types.push(I32);
  };
  for (const f of imports) sig(f.params, f.results);
  sig(params, 0);
  section(out, 1, types);
  const imp = new ByteWriter();
  uleb(imp, imports.length + 1);
  name(imp, "env");
  name(imp, "m");
  imp.push(0x02);
  imp.push(0x03); // memory, limits: shared with maximum
  uleb(imp, pages);
  uleb(imp, pages);
  imports.forEach((f, k) => {
    name(imp, "env");
    name(imp, f.name);
    imp.push(0x00);
    uleb(imp, k);
  });
  section(out, 2, imp);
  const funcs = new ByteWriter();
  uleb(funcs, bodies.length);
  for (let k = 0; k < bodies.length; k++) uleb(funcs, imports.length);
  section(out, 3, funcs);
  const exp = new ByteWriter();
  uleb(exp, bodies.length);
  bodies.forEach((_, k) => {
    name(exp, `f${k}`);
    exp.push(0x00);
    uleb(exp, imports.length + k);
  });
  section(out, 7, exp);
  const codeSec = new ByteWriter();
  uleb(codeSec, bodies.length);
  for (const f of bodies) {
    const head = new ByteWriter();
    if (f.locals > 0) {
      uleb(head, 1);
      uleb(head, f.locals);
      head.push(I32);
    } else uleb(head, 0);
    uleb(codeSec, head.length + f.code.length + 1);
    codeSec.append(head.bytes());
    codeSec.append(f.code);
    codeSec.push(Op.end);
  }
  section(out, 10, codeSec);
  return out.bytes();
}

/**
 * The dispatcher module: memory "env.m", table "env.t" (funcref, the region functions), and
 * one exported function "run" (2 i32 parameters, `locals` i32 locals, `code`) whose
 * `call_indirect` uses type 0, a region function's (i32) -> ().
 */
export function encodeDispatcher(pages: number, locals: number, code: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new ByteWriter();
  out.append(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  const types = new ByteWriter();
  types.append(Uint8Array.of(2, 0x60, 1, I32, 0, 0x60, 2, I32, I32, 0));
  section(out, 1, types);
  const imp = new ByteWriter();
  uleb(imp, 2);
  name(imp, "env");
  name(imp, "m");
  imp.push(0x02);
  imp.push(0x03);
  uleb(imp, pages);
  uleb(imp, pages);
  name(imp, "env");
  name(imp, "t");
  imp.push(0x01); // table
  imp.push(0x70); // funcref
  imp.push(0x00); // limits: minimum only
  uleb(imp, 1);
  section(out, 2, imp);
  const funcs = new ByteWriter();
  funcs.append(Uint8Array.of(1, 1));
  section(out, 3, funcs);
  const exp = new ByteWriter();
  uleb(exp, 1);
  name(exp, "run");
  exp.push(0x00);
  uleb(exp, 0);
  section(out, 7, exp);
  const codeSec = new ByteWriter();
  uleb(codeSec, 1);
  const head = new ByteWriter();
  uleb(head, 1);
  uleb(head, locals);
  head.push(I32);
  uleb(codeSec, head.length + code.length + 1);
  codeSec.append(head.bytes());
  codeSec.append(code);
  codeSec.push(Op.end);
  section(out, 10, codeSec);
  return out.bytes();
}
