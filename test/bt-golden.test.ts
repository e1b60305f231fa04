// Golden files of what the translator emits for a few fixed blocks (test/golden/bt/*.golden:
// JavaScript, named so that the linter does not parse a function body as a module), so
// that a change in the generated code is seen in review, and each translation is also run
// against the interpreter. After an intended change of the code generator, regenerate with
//   npm run build && UPDATE_GOLDEN=1 node scripts/run-tests.mjs bt-golden
// and review the diff.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { asm, flat32, Twin } from "./bt-helpers.js";
import { REPO_ROOT } from "./repo-root.js";

const DIR = join(REPO_ROOT, "test", "golden", "bt");
const AT = 0x1000;

const BLOCKS: Record<string, string> = {
  // A counting loop: register locals, a flag record, DEC then JNZ from the block's own flags,
  // and the self-loop that keeps the loop inside its function.
  "loop-dec-jnz": "1: add eax, ecx\n xor edx, eax\n dec ecx\n jnz 1b",
  // Loads and stores through the soft TLB helpers, CMP from memory, a signed Jcc evaluated
  // from the CMP's operands.
  "load-store-cmp-jl": "mov eax, [esi+ecx*4+8]\n mov [edi], eax\n cmp eax, [ebx]\n jl 1f\n nop\n1: ret",
  // Stack traffic: PUSH, a call to the interpreter's handler (IMUL), POP and RET.
  "push-call-ret": "push ebx\n imul eax, ebx, 12\n pop ebx\n movzx edx, al\n ret",
  // Sensitive instructions: an IN callout ends the block.
  "callout-in": "mov dx, 0x3f8\n mov ecx, 3\n in al, dx",
};

test("the translator emits the golden source for fixed blocks", () => {
  const update = process.env.UPDATE_GOLDEN === "1";
  if (update) mkdirSync(DIR, { recursive: true });
  for (const [name, src] of Object.entries(BLOCKS)) {
    const t = new Twin(flat32(asm(src, AT), AT), { hotThreshold: 0 });
    const source = `// ${src.replace(/\n/g, ";")}\n${t.bt.translationSource(AT)}`;
    const file = join(DIR, `${name}.golden`);
    if (update) writeFileSync(file, source);
    assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
    assert.equal(source, readFileSync(file, "utf8"), `${name}: emitted code changed (see the header)`);
    // The emitted code compiles, and runs as the interpreter does.
    assert.doesNotThrow(() => new Function("RT", "H", "I", "B", source.slice(source.indexOf("\n") + 1)));
    t.run(7, name);
    t.run(40, name);
  }
});
