// Boots Debian's i386 kernel and busybox (the default image, `vmlab image build`) in the
// interpreter: the acceptance command plus busybox tools checked against results
// known independently of vmlab (md5 of "hello\n", a sorted list, arithmetic, a gzip round
// trip of 100000 'x' whose md5 is computed on the host), and deterministic mode repeating a
// boot exactly: the same console text and the same VM-exit counts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_KERNEL_ARGS, defaultImage, execCmdlineArg } from "../src/images/index.js";
import { Machine } from "../src/machine/machine.js";
import { REPO_ROOT } from "./repo-root.js";

const image = defaultImage();
const NO_IMAGE = "no default guest image: run `node bin/vmlab.js image build` (scripts/setup.sh does)";

test("vmlab run --exec boots Debian and runs busybox tools with the right results", () => {
  assert.ok(image, NO_IMAGE);
  const x100k = createHash("md5").update("x".repeat(100000)).digest("hex");
  const script = [
    "uname -a",
    "grep -E '^(vendor_id|cpu family|flags)' /proc/cpuinfo",
    "echo hello | md5sum",
    "printf 'pear\\napple\\nfig\\n' | sort | tr '\\n' ' '; echo",
    "echo 3 4 5 | awk '{ print $1*$1 + $2*$2, ($1+$2+$3)/4 }'",
    "head -c 100000 /dev/zero | tr '\\000' x > /tmp/f",
    "gzip -c /tmp/f > /tmp/f.gz && gunzip -c /tmp/f.gz | md5sum",
    "exit 7",
  ].join("; ");
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "vmlab.js"), "run", "--exec", script], {
    encoding: "utf8",
    timeout: 600_000,
  });
  const out = r.stdout;
  assert.equal(
    r.status,
    7,
    `the command's exit status comes back\n${r.stderr.slice(-2000)}\n${out.slice(-2000)}`,
  );
  assert.match(out, /Linux vmlab 6\.1\.\d+-\d+-686 #1 SMP .* i686 GNU\/Linux/);
  assert.match(out, /vendor_id\s*: GenuineIntel/);
  assert.match(out, /cpu family\s*: 6/);
  for (const f of ["fpu", "pse", "tsc", "msr", "cx8", "pge", "cmov"]) {
    assert.match(out, new RegExp(`flags\\s*:.*\\b${f}\\b`), `CPU flag ${f}`);
  }
  assert.match(out, /b1946ac92492d2347c6235b4d2611184 {2}-/);
  assert.match(out, /apple fig pear/);
  assert.match(out, /^25 3$/m);
  assert.match(out, new RegExp(`${x100k} {2}-`), "gzip round trip");
});

async function deterministicBoot(): Promise<{ console: string; exits: string; instructions: number }> {
  assert.ok(image, NO_IMAGE);
  const m = new Machine({ memoryMiB: 64, time: "deterministic" });
  await m.loadLinux(readFileSync(image.kernel), {
    initrd: readFileSync(image.initrd),
    cmdline: `${DEFAULT_KERNEL_ARGS} ${execCmdlineArg("cat /proc/interrupts; date")}`,
  });
  let text = "";
  m.onSerial((b) => {
    text += String.fromCharCode(b);
  });
  const r = await m.run({ timeoutMs: 600_000 });
  assert.equal(r.reason, "reset", `the guest reboots after the command (${r.reason})\n${text.slice(-1500)}`);
  return {
    console: text,
    exits: m.stats
      .rows()
      .map((row) => `${row.reason}=${row.count}`)
      .join(" "),
    instructions: r.instructions,
  };
}

test("deterministic mode: two boots give identical console output and exit counts", async () => {
  const a = await deterministicBoot();
  const b = await deterministicBoot();
  assert.match(a.console, /vmlab-exit-status: 0/);
  assert.match(
    a.console,
    /Mon Jan {2}1 00:00:\d\d UTC 2024/,
    "the RTC starts at the fixed deterministic date",
  );
  assert.equal(b.console, a.console);
  assert.equal(b.exits, a.exits);
  assert.equal(b.instructions, a.instructions);
});
