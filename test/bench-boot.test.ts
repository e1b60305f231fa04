// The boot benchmark's pieces that need no boot: the table formatter and run statistics, the
// console watcher, the kernel command line and "/init" marker choice, QEMU's command line,
// and the summary table (statuses, medians, ratios) built from synthetic runs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  bootCmdline,
  formatBootTable,
  initPrintsStartedLine,
  summarizeRow,
  withRatios,
} from "../src/bench/boot-bench.js";
import type { BootRun } from "../src/bench/boot-run.js";
import { ConsoleWatch, INIT_STARTED_LINE, KERNEL_RUN_INIT_LINE } from "../src/bench/console-watch.js";
import { QEMU_CPU, qemuBootArgs } from "../src/bench/qemu.js";
import { formatCount, formatSpread, formatTable, spread } from "../src/bench/table.js";
import { buildCpio, DEFAULT_KERNEL_ARGS, execCmdlineArg } from "../src/images/index.js";

test("formatTable pads columns, rules the header and right-aligns on request", () => {
  const t = formatTable(
    [
      ["name", "s"],
      ["qemu", "3.5"],
      ["vmlab", "120.25"],
    ],
    ["left", "right"],
  );
  assert.equal(t, ["name        s", "-----  ------", "qemu      3.5", "vmlab  120.25"].join("\n"));
  assert.equal(formatTable([]), "");
});

test("spread and its formatting: median of odd and even counts, range only when it varies", () => {
  assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.equal(spread([4, 1, 2, 3])!.median, 2.5);
  assert.equal(spread([]), undefined);
  assert.equal(formatSpread(spread([5.5, 4.25, 6]), 2), "5.50 (4.25-6.00)");
  assert.equal(formatSpread(spread([7, 7]), 1), "7.0");
  assert.equal(formatSpread(undefined, 1), "-");
  assert.equal(formatCount(3.27e9), "3.27e9");
  assert.equal(formatCount(812), "812");
});

test("ConsoleWatch finds /init, the exit status and a panic across split chunks and CRLF", () => {
  const seen: string[] = [];
  const w = new ConsoleWatch(KERNEL_RUN_INIT_LINE, (stage) => seen.push(stage));
  w.feed("[ 2.07] Run /init as ", 1.5, 100);
  w.feed("init process\r\n\r\nvmlab-init: running: true\r\n", 2, 200);
  w.feed("vmlab-exit-status: 0\r\n", 3, 300);
  assert.deepEqual(w.hits.init, { seconds: 2, instructions: 200, line: "[ 2.07] Run /init as init process" });
  assert.equal(w.hits.done?.seconds, 3);
  assert.equal(w.exitStatus, 0);
  w.feed("[ 9.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\r\nCPU: 0 PID", 4);
  assert.deepEqual(seen, ["init", "done", "panic"]);
  assert.equal(
    w.failureLine,
    "[ 9.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
  );
  assert.equal(w.lastLine, "CPU: 0 PID");
  assert.equal(w.lineCount, 4);
});

test("the command line: stock arguments with the image's start line, loglevel=7 without it", () => {
  const withMarker = bootCmdline(true, "true", undefined);
  assert.equal(withMarker.cmdline, `${DEFAULT_KERNEL_ARGS} ${execCmdlineArg("true")}`);
  assert.equal(withMarker.initLine, INIT_STARTED_LINE);
  const without = bootCmdline(false, "true", " nosmp ");
  assert.equal(without.cmdline, `${DEFAULT_KERNEL_ARGS} loglevel=7 nosmp ${execCmdlineArg("true")}`);
  assert.equal(without.initLine, KERNEL_RUN_INIT_LINE);

  const initrd = (script: string): Uint8Array =>
    gzipSync(
      buildCpio([{ kind: "file", path: "init", data: new TextEncoder().encode(script), mode: 0o755 }]),
    );
  assert.equal(initPrintsStartedLine(initrd(`#!/bin/sh\necho "${INIT_STARTED_LINE}"\n`)), true);
  assert.equal(initPrintsStartedLine(initrd("#!/bin/sh\necho hello\n")), false);
  assert.equal(initPrintsStartedLine(Uint8Array.of(1, 2, 3)), false);
});

test("QEMU's command line: TCG, a PC without defaults, COM1 on stdio, no reboot, one -append", () => {
  const cmdline = `${DEFAULT_KERNEL_ARGS} ${execCmdlineArg("true")}`;
  const args = qemuBootArgs({ kernel: "/k/vmlinuz", initrd: "/k/initrd.gz", cmdline, memoryMiB: 96 });
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  assert.equal(value("-accel"), "tcg");
  assert.equal(value("-M"), "pc");
  assert.equal(value("-cpu"), QEMU_CPU);
  assert.equal(value("-m"), "96");
  assert.equal(value("-serial"), "stdio");
  assert.equal(value("-kernel"), "/k/vmlinuz");
  assert.equal(value("-initrd"), "/k/initrd.gz");
  assert.equal(value("-append"), cmdline);
  for (const flag of ["-nodefaults", "-no-reboot"]) assert.ok(args.includes(flag), flag);
  assert.equal(value("-display"), "none");
});

test("the summary table: statuses per row, medians over the runs that got there, ratios to QEMU", () => {
  const hit = (seconds: number, instructions?: number) => ({
    seconds,
    line: "x",
    ...(instructions !== undefined ? { instructions } : {}),
  });
  const crashed: BootRun = {
    status: "crashed",
    seconds: 95,
    loadSeconds: 0.01,
    init: hit(80, 2e9),
    instructions: 2.5e9,
    mips: 26,
    stop: "host-stop",
    failureLine: "Kernel panic - not syncing: Attempted to kill init!",
    consoleTail: [],
  };
  const timedOut: BootRun = { ...crashed, status: "timeout", seconds: 300, init: hit(90, 2.2e9), mips: 24 };
  const q = (s: number): BootRun => ({
    status: "ok",
    seconds: s + 0.1,
    init: hit(s - 1),
    done: hit(s),
    exitStatus: 0,
    stop: "exit 0",
    failureLine: "",
    consoleTail: [],
  });
  const rows = withRatios([
    summarizeRow("vmlab-decompressor", [crashed, timedOut]),
    summarizeRow("qemu-decompressor", [q(5), q(6), q(4)]),
  ]);
  assert.equal(rows[0]!.initVsQemu, 85 / 4);
  assert.equal(rows[0]!.doneVsQemu, undefined);
  const lines = formatBootTable(rows).split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^engine \/ entry\s+status\s+host load s\s+to \/init s\s+to done s/);
  assert.match(
    lines[2]!,
    /^vmlab decompressor\s+timeout 1\/2, crashed 1\/2\s+0\.01\s+85\.00 \(80\.00-90\.00\)\s+-\s+2\.10e9\s+-\s+25\.0 \(24\.0-26\.0\)\s+21\.3x\s+-$/,
  );
  assert.match(
    lines[3]!,
    /^qemu tcg decompressor\s+ok 3\/3\s+-\s+4\.00 \(3\.00-5\.00\)\s+5\.00 \(4\.00-6\.00\)\s+-\s+-\s+-\s+-\s+-$/,
  );
});
