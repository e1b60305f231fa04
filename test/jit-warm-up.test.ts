// The JIT warm-up (machine/jit-warm-up.ts): its program runs without a fault on the
// translator's cold path, and reaches every packed instruction kind of the cold loop
// (cold-runner.ts), so a kind added there without a line in the program fails here.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { BtBlock } from "../src/cpu/bt/translator.js";
import { warmUpTranslator } from "../src/machine/jit-warm-up.js";
import { StopReason } from "../src/vmm/engine.js";

/** Kinds 1..25 (interp/fast.ts) and 26..51 (cold-runner.ts P_*). */
const LAST_PACKED_KIND = 51;

test("the warm-up program runs its passes on the cold path without a fault, once per process", () => {
  const r = warmUpTranslator({});
  assert.ok(r !== undefined);
  assert.equal(r.shutdown, false);
  assert.equal(r.stop, StopReason.BUDGET);
  assert.ok(r.passes >= 15, `passes: ${r.passes}`);
  // Every pass retires the same instructions: the budget ends inside pass passes+1.
  assert.ok(r.instructions >= r.passes * 1500, `instructions: ${r.instructions}`);

  const blocks = (r.engine as unknown as { blocks: (BtBlock | undefined)[] }).blocks;
  const seen = new Set<number>();
  let translated = 0;
  for (const b of blocks) {
    if (b === undefined) continue;
    if (b.fn !== undefined) translated++;
    for (let k = 0; k < b.n; k++) seen.add(b.code[b.codeOff + k * 4]! & 63);
  }
  assert.equal(translated, 0, "the warm-up runs cold: nothing translated");
  const missing = [];
  for (let kind = 1; kind <= LAST_PACKED_KIND; kind++) if (!seen.has(kind)) missing.push(kind);
  assert.deepEqual(missing, [], "packed kinds the program does not reach");
  assert.equal(warmUpTranslator({}), undefined, "a second call does nothing");
});
