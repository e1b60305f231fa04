// The demo guest end to end: real mode -> protected mode -> paging -> CPUID -> a sieve,
// printed on the 16550 UART. The prime count (9592 below 100000) is a known fact, not a
// recorded output; the rest of the text comes from the guest's own strings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildGuest } from "../src/guests/assemble.js";
import { Machine } from "../src/machine/machine.js";
import { ExitReason } from "../src/vmm/exit-reason.js";

test("the demo guest reaches paging, reads CPUID and counts 9592 primes below 100000", async () => {
  const m = new Machine({ memoryMiB: 16, firmware: readFileSync(buildGuest("demo")) });
  let out = "";
  m.onSerial((b) => {
    out += String.fromCharCode(b);
  });
  const r = await m.run({ maxInstructions: 50_000_000 });
  assert.equal(r.reason, "halted", out);
  assert.match(out, /32-bit protected mode, paging on/);
  assert.match(out, /CPUID vendor: GenuineIntel\r\n/);
  assert.match(out, /CPUID\.1 EDX features: 0x0000a93d\r\n/);
  assert.match(out, /primes below 100000: 9592\r\n/);
  assert.equal(m.post.lastCode, 0x59);
  assert.equal(m.stats.count(ExitReason.CPUID), 2);
  assert.ok(m.stats.count(ExitReason.CR_ACCESS) >= 3, "CR4, CR3 and CR0 writes are CR_ACCESS exits");
  assert.equal(m.stats.count(ExitReason.HLT), 1);
});
