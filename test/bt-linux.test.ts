// A Debian boot in deterministic mode under the interpreter and under the binary translator,
// running a set of busybox commands: the console output and the VM-exit counts per reason
// must be identical (the translator retires exactly the interpreter's instruction counts, so
// timer interrupts land at the same instructions), and the commands' results are checked
// against values known independently of vmlab.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { BinaryTranslator } from "../src/cpu/bt/translator.js";
import { DEFAULT_KERNEL_ARGS, defaultImage, execCmdlineArg } from "../src/images/index.js";
import { Machine } from "../src/machine/machine.js";

const image = defaultImage();
const COMMANDS = "uname -a; echo hi | md5sum; ls /bin | wc -l; dd if=/dev/zero bs=1k count=256 | md5sum";

async function boot(engine: "interp" | "bt") {
  assert.ok(image, "no default guest image: run `node bin/vmlab.js image build` (scripts/setup.sh does)");
  const m = new Machine({ memoryMiB: 64, time: "deterministic", engine });
  await m.loadLinux(readFileSync(image.kernel), {
    initrd: readFileSync(image.initrd),
    cmdline: `${DEFAULT_KERNEL_ARGS} ${execCmdlineArg(COMMANDS)}`,
  });
  let text = "";
  m.onSerial((b) => {
    text += String.fromCharCode(b);
  });
  const r = await m.run({ timeoutMs: 900_000 });
  assert.equal(
    r.reason,
    "reset",
    `${engine}: the guest reboots after the commands (${r.reason})\n${text.slice(-1500)}`,
  );
  const exits = m.stats
    .rows()
    .map((row) => `${row.reason}=${row.count}`)
    .join(" ");
  return { text, exits, instructions: r.instructions, seconds: r.seconds, engine: m.engine };
}

test("Debian boot + busybox commands: identical console and exit counts under interp and bt", {
  timeout: 1_200_000,
}, async () => {
  const a = await boot("interp");
  const b = await boot("bt");
  const md5 = (s: string | Buffer) => createHash("md5").update(s).digest("hex");
  assert.match(a.text, /Linux vmlab 6\.1\.\d+-\d+-686 #1 SMP .* i686 GNU\/Linux/);
  assert.match(a.text, new RegExp(`${md5("hi\n")} {2}-`));
  assert.match(a.text, new RegExp(`${md5(Buffer.alloc(256 * 1024))} {2}-`));
  assert.match(a.text, /vmlab-exit-status: 0/);
  assert.equal(b.text, a.text, "console output");
  assert.equal(b.exits, a.exits, "exit counts per reason");
  assert.equal(b.instructions, a.instructions, "instructions retired");
  const s = (b.engine as BinaryTranslator).translationStats();
  // Hot code ran translated (callouts are counted in translated code; cold blocks run the
  // interpreter's loop, where a sensitive instruction is simply its handler).
  assert.ok(s.regionsTranslated > 20 && s.instructionsInTranslations > b.instructions / 4, JSON.stringify(s));
  assert.ok(s.callouts.invlpg > 0, JSON.stringify(s.callouts));
  process.stderr.write(
    `# boot + commands: ${a.instructions} instructions; interp ${a.seconds.toFixed(1)} s, bt ${b.seconds.toFixed(1)} s\n`,
  );
});
