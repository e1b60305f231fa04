// The translator's block cache and hotness (translator.ts): two blocks of one cache set stay
// cached together (2-way set associative) instead of evicting each other on every entry, and
// a long block is hot after fewer entries than a short one (HOT_WEIGHT_SHIFT), and supervisor
// and user code count against their own thresholds. Each program also runs beside the
// interpreter, compared after every run (test/bt-helpers.ts).
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

test("supervisor and user code have their own hot thresholds (hotThreshold, hotThresholdUser)", () => {
  // 20 entries of a 3-instruction loop block, then a jump to itself until the budget ends
  // (no HLT: it faults at CPL 3).
  const code = asm("  mov ecx, 20\n1:  add eax, ebx\n  dec ecx\n  jnz 1b\n2:  jmp 2b\n", AT);
  const translated = (cpl: number, hotThreshold: number, hotThresholdUser: number | undefined): number => {
    const setup: Setup = (cpu, mem) => {
      flat32(code, AT)(cpu, mem);
      if (cpl === 3) {
        // Flat ring-3 code and data (DPL 3, selectors with RPL 3).
        for (let s = 0; s < 6; s++) {
          cpu.segAccess[s] = s === 1 ? 0xcffb : 0xcff3;
          cpu.segSel[s] = s === 1 ? 0x1b : 0x23;
        }
        cpu.cpl = 3;
      }
    };
    const t = new Twin(setup, {
      backend: "js",
      hotThreshold,
      ...(hotThresholdUser !== undefined ? { hotThresholdUser } : {}),
    });
    t.run(100);
    assert.equal(t.a.cpu.cpl, cpl);
    return t.bt.translationStats().blocksTranslated;
  };
  // The loop block (20 entries) is past a threshold of 10, short of 1e9.
  assert.ok(translated(0, 10, 1e9) >= 1, "CPL 0 counts against hotThreshold");
  assert.equal(translated(3, 10, 1e9), 0, "CPL 3 counts against hotThresholdUser");
  assert.ok(translated(3, 1e9, 10) >= 1, "CPL 3 translates past hotThresholdUser");
  assert.equal(translated(0, 1e9, 10), 0, "CPL 0 does not count against hotThresholdUser");
  assert.ok(translated(3, 10, undefined) >= 1, "without hotThresholdUser, user code takes hotThreshold");
});
