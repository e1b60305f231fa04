// The translator's block cache and hotness (translator.ts): two blocks of one cache set stay
// cached together (2-way set associative) instead of evicting each other on every entry, and
// a long block is hot after fewer entries than a short one (HOT_WEIGHT_SHIFT). Each program
// also runs beside the interpreter, compared after every run (test/bt-helpers.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheSet } from "../src/cpu/bt/translator.js";
import { asm, flat32, type Setup, Twin } from "./bt-helpers.js";

const AT = 0x1000;

function rel32(from: number, to: number): number[] {
  const d = (to - from) | 0;
  return [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, (d >>> 24) & 0xff];
}

function runToHlt(t: Twin, budget: number): void {
  for (let k = 0; k < 1000 && !t.a.cpu.halted; k++) t.run(budget);
  assert.ok(t.a.cpu.halted, "the program ran to its HLT");
}

test("two blocks of one cache set, entered in turn, are each decoded once", () => {
  // A: JMP B.  B: DEC ECX; JNZ A; HLT.  Both blocks fall in one cache set.
  const a = 0x2000;
  let b = a + 0x100;
  while (cacheSet(b) !== cacheSet(a)) b++;
  assert.ok(b + 16 < 0x200000, "a second address in the set within RAM");
  const start = [0xb9, 100, 0, 0, 0, 0xe9, ...rel32(AT + 10, a)]; // MOV ECX, 100; JMP A
  const setup: Setup = (cpu, mem) => {
    flat32(start, AT)(cpu, mem);
    mem.writeBytes(a, Uint8Array.from([0xe9, ...rel32(a + 5, b)]));
    mem.writeBytes(b, Uint8Array.from([0x49, 0x0f, 0x85, ...rel32(b + 7, a), 0xf4]));
  };
  const t = new Twin(setup, { hotThreshold: 1e9 }); // cold: every entry looks its block up
  runToHlt(t, 1000);
  assert.equal(t.a.cpu.regs[1], 0);
  const decoded = t.bt.translationStats().blocksDecoded;
  // The start block, A, B and the HLT after the loop.
  assert.ok(decoded <= 4, `${decoded} blocks decoded for 200 block entries`);
});

test("a block of 30 instructions is hot after a seventh of the entries a short one needs", () => {
  const loop = (body: string) => asm(`  mov ecx, 20\n1:${body}\n  dec ecx\n  jnz 1b\n  hlt\n`, AT);
  const long = loop(Array(28).fill("  add eax, ebx").join("\n")); // 30 instructions: weight 7
  const short = loop("  add eax, ebx"); // 3 instructions: weight 1
  const opts = { hotThreshold: 70, backend: "js" as const };
  const tl = new Twin(flat32(long, AT), opts);
  runToHlt(tl, 10_000);
  const ts = new Twin(flat32(short, AT), opts);
  runToHlt(ts, 10_000);
  // 20 entries: past 70 / 7 for the long loop's block, short of 70 for the short one's.
  assert.ok(tl.bt.translationStats().blocksTranslated >= 1, "the long loop was translated");
  assert.equal(ts.bt.translationStats().blocksTranslated, 0, "the short loop was not");
});
