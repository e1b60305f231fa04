// The boot benchmark's pieces that need no boot: the table formatter and run statistics, the
// console watcher, the kernel command line and "/init" marker choice, QEMU's command line,
// and the summary table (statuses, medians, ratios) built from synthetic runs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  bootCmdline,
  ENGINES,
  formatBootTable,
  initPrintsStartedLine,
  ROW_LABELS,
  summarizeRow,
  vmlabRow,
  withRatios,
} from "../src/bench/boot-bench.js";
import type { BootRun } from "../src/bench/boot-run.js";
import { ConsoleWatch, INIT_STARTED_LINE, KERNEL_RUN_INIT_LINE } from "../src/bench/console-watch.js";
import { QEMU_CPU, qemuBootArgs } from "../src/bench/qemu.js";
import { formatCount, formatSpread, formatTable, spread } from "../src/bench/table.js";
import { buildCpio, DEFAULT_KERNEL_ARGS, execCmdlineArg } from "../src/images/index.js";
import { REPO_ROOT } from "./repo-root.js";

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

test("the summary table: statuses per row, medians over the runs that got there, ratios to QEMU and v86", () => {
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
  const v86: BootRun = { ...q(40), loadSeconds: 0.1, init: hit(30, 2.6e9), instructions: 2.7e9, mips: 68 };
  const bt: BootRun = { ...q(32), loadSeconds: 0.02, init: hit(24, 2.4e9), done: hit(32, 2.5e9) };
  const rows = withRatios([
    summarizeRow("vmlab-interp-decompressor", [crashed, timedOut]),
    summarizeRow("vmlab-bt-decompressor", [bt]),
    summarizeRow("qemu-decompressor", [q(5), q(6), q(4)]),
    summarizeRow("v86-decompressor", [v86]),
  ]);
  assert.equal(rows[0]!.initVsQemu, 85 / 4);
  assert.equal(rows[0]!.doneVsQemu, undefined);
  assert.equal(rows[0]!.initVsV86, 85 / 30);
  assert.equal(rows[1]!.doneVsV86, 32 / 40);
  assert.equal(rows[2]!.initVsQemu, undefined, "no ratio of a reference to itself");
  assert.equal(rows[2]!.doneVsV86, 5 / 40);
  assert.equal(rows[3]!.doneVsQemu, 40 / 5);
  assert.equal(rows[3]!.doneVsV86, undefined);
  const lines = formatBootTable(rows).split("\n");
  assert.equal(lines.length, 6);
  assert.match(
    lines[0]!,
    /^engine \/ entry\s+status\s+host load s\s+to \/init s\s+to done s\s+instr to \/init\s+instr to done\s+MIPS\s+\/init vs qemu\s+done vs qemu\s+\/init vs v86\s+done vs v86$/,
  );
  assert.match(
    lines[2]!,
    /^vmlab interp decompressor\s+timeout 1\/2, crashed 1\/2\s+0\.01\s+85\.00 \(80\.00-90\.00\)\s+-\s+2\.10e9\s+-\s+25\.0 \(24\.0-26\.0\)\s+21\.3x\s+-\s+2\.83x\s+-$/,
  );
  assert.match(
    lines[3]!,
    /^vmlab bt decompressor\s+ok 1\/1\s+0\.02\s+24\.00\s+32\.00\s+2\.40e9\s+2\.50e9\s+-\s+6\.00x\s+6\.40x\s+0\.80x\s+0\.80x$/,
  );
  assert.match(
    lines[4]!,
    /^qemu tcg decompressor\s+ok 3\/3\s+-\s+4\.00 \(3\.00-5\.00\)\s+5\.00 \(4\.00-6\.00\)\s+-\s+-\s+-\s+-\s+-\s+0\.13x\s+0\.13x$/,
  );
  assert.match(
    lines[5]!,
    /^v86 decompressor\s+ok 1\/1\s+0\.10\s+30\.00\s+40\.00\s+2\.60e9\s+-\s+68\.0\s+7\.50x\s+8\.00x\s+-\s+-$/,
  );
});

test("rows: one per vmlab engine and entry path, then QEMU and v86; --cpu is checked", () => {
  assert.deepEqual(ENGINES, ["interp", "bt"]);
  assert.deepEqual(vmlabRow("vmlab-bt-decompressor"), { engine: "bt", entry: "decompressor" });
  assert.deepEqual(vmlabRow("vmlab-interp-vmlinux"), { engine: "interp", entry: "vmlinux" });
  assert.equal(vmlabRow("v86-decompressor"), undefined);
  assert.equal(vmlabRow("qemu-decompressor"), undefined);
  for (const [id, label] of Object.entries(ROW_LABELS)) {
    const vm = vmlabRow(id as keyof typeof ROW_LABELS);
    if (vm !== undefined) assert.equal(label, `vmlab ${vm.engine} ${vm.entry}`);
  }
  const r = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "bin", "vmlab.js"), "bench", "boot", "--cpu", "interp,jit"],
    {
      encoding: "utf8",
    },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--cpu takes a comma-separated list of interp, bt; got "interp,jit"/);
});
