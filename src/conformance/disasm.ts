/** Disassembly of failing snippets for reports (iced-x86, Intel syntax as NASM prints it). */

import { createRequire } from "node:module";

interface IcedInstruction {
  readonly length: number;
  ipLo?: number;
  free(): void;
}
interface IcedDecoder {
  ip: bigint;
  readonly canDecode: boolean;
  decode(): IcedInstruction;
  free(): void;
}
interface IcedModule {
  Decoder: new (bitness: number, data: Uint8Array, options: number) => IcedDecoder;
  Formatter: new (syntax: number) => { format(i: IcedInstruction): string; free(): void };
  DecoderOptions: { None: number };
  FormatterSyntax: { Nasm: number; Intel: number };
}

let iced: IcedModule | undefined;
function load(): IcedModule {
  iced ??= createRequire(import.meta.url)("iced-x86") as IcedModule;
  return iced;
}

/** "add eax,ebx ; inc eax" for the bytes of a snippet (32-bit code at `ip`). */
export function disassemble(bytes: Uint8Array, ip = 0, bitness = 32): string {
  try {
    const m = load();
    const dec = new m.Decoder(bitness, bytes, m.DecoderOptions.None);
    dec.ip = BigInt(ip);
    const fmt = new m.Formatter(m.FormatterSyntax.Intel);
    const parts: string[] = [];
    while (dec.canDecode) {
      const ins = dec.decode();
      parts.push(fmt.format(ins));
      ins.free();
    }
    dec.free();
    fmt.free();
    return parts.join(" ; ");
  } catch (e) {
    return `(disassembly failed: ${e instanceof Error ? e.message : String(e)})`;
  }
}

export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}
