/**
 * Differential conformance against the host CPU (src/conformance/user/): a fixed-seed
 * subset of the generated user-mode cases must agree with the host in >= 99% of cases,
 * and every "user" form of the table must be generated or explicitly excluded.
 * Needs gcc with -m32 support (gcc-multilib) on an x86 host, and qemu-user where the host
 * kernel cannot execute 32-bit programs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formKey, generateUserCases } from "../src/conformance/user/generate.js";
import { loadForms, runUserOracle } from "../src/conformance/user/run-user.js";

const isX86 = process.arch === "x64" || process.arch === "ia32";

test("every user/control form has a generated case or a listed exclusion", async () => {
  const forms = await loadForms();
  const gen = generateUserCases(forms, { seed: 1, count: 1 });
  const missing: string[] = [];
  for (const f of forms) {
    if (f.oracle === "system") continue;
    const key = formKey(f);
    if ((gen.perForm.get(key) ?? 0) === 0 && !gen.excluded.has(key)) missing.push(key);
  }
  assert.deepEqual(missing, []);
});

test("host oracle: fixed seed, pass fraction >= 0.99 (0.9 against qemu-i386)", {
  skip: !isX86 && "needs an x86 host",
  timeout: 120_000,
}, async () => {
  const r = await runUserOracle({ seed: 1, count: 8, maxFailures: 50 });
  const total = r.passed + r.failed;
  const fraction = r.passed / total;
  process.stderr.write(`# oracle: ${r.oracle}, ${r.passed} of ${total} cases agree\n`);
  const summary = r.failures
    .slice(0, 10)
    .map((f) => `${f.formKey} [${f.variant}] ${f.bytes} (${f.disassembly}): ${f.diffs.join("; ")}`)
    .join("\n");
  assert.ok(total > 1000, `only ${total} cases ran`);
  // The bar is the host CPU's. Where this host cannot execute 32-bit programs the cases run
  // under qemu-i386 instead (host-oracle.ts), whose emulation differs from the hardware in
  // ~8% of these cases (measured with `vmlab conformance --oracle host --count 8`: the
  // F6 /1 alias of TEST, x87 exception and tag details, #DE on DIV/IDIV, BOUND), so only
  // a lower bar can hold against it; the comparison of engines (bt-differential.test.ts)
  // is exact against either oracle.
  const bar = r.oracle === "host CPU" ? 0.99 : 0.9;
  assert.ok(
    fraction >= bar,
    `pass fraction ${fraction.toFixed(4)} against ${r.oracle} (${r.failed} of ${total} failed)\n${summary}`,
  );
});
