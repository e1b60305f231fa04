// v86 as a benchmark reference, and the compute benchmark: v86's RAM rule, the compute
// command run by the host's shell (its markers, its input stream and the host-side md5),
// the parsing of workload windows and the summary table from synthetic runs, the console
// watcher of a plain process; then real boots of the default image: v86 to "/init started"
// through `runBootBench`, and `runComputeBench` small (1 MiB, one run) in vmlab, QEMU and v86.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { formatBootTable, runBootBench } from "../src/bench/boot-bench.js";
import { type BootRun, runConsoleProcess } from "../src/bench/boot-run.js";
import {
  COMPUTE_MARK,
  type ComputeRowId,
  computeCommand,
  expectedMd5,
  formatComputeTable,
  INPUT_FILE,
  runComputeBench,
  summarizeCompute,
  type WorkloadWindow,
  workloadWindows,
} from "../src/bench/compute-bench.js";
import { INIT_STARTED_LINE } from "../src/bench/console-watch.js";
import { qemuVersion } from "../src/bench/qemu.js";
import { V86_INITRD_ADDRESS, v86MemoryMiB } from "../src/bench/v86.js";
import { buildCpio, defaultImage } from "../src/images/index.js";

const MiB = 1024 * 1024;
const NO_IMAGE = "no default guest image: run `node bin/vmlab.js image build` (scripts/setup.sh does)";

test("v86's RAM: the request when the initrd fits above 64 MiB, else the next power of two", () => {
  assert.equal(V86_INITRD_ADDRESS, 64 * MiB);
  assert.equal(v86MemoryMiB(64, 1_315_987), 128);
  assert.equal(v86MemoryMiB(16, 1_315_987), 128);
  assert.equal(v86MemoryMiB(128, 1_315_987), 128);
  assert.equal(v86MemoryMiB(96, 1_315_987), 96);
  assert.equal(v86MemoryMiB(64, 70 * MiB), 256);
});

test("the compute command, run by the host's shell: markers around each workload, the right md5", () => {
  // A stand-in for the guest's /bin/busybox: 100000 bytes, so 1 MiB is 10 copies and a part.
  const file = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 251);
  const dir = mkdtempSync(join(tmpdir(), "vmlab-compute-"));
  try {
    const path = join(dir, "busybox");
    writeFileSync(path, file);
    const command = computeCommand(1, ["md5", "gzip"]).replaceAll(INPUT_FILE, path);
    const r = spawnSync("sh", ["-c", command], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    const initrd = gzipSync(buildCpio([{ kind: "file", path: "bin/busybox", data: file }]));
    const md5 = expectedMd5(initrd, 1);
    const stream = Buffer.concat(Array(11).fill(Buffer.from(file))).subarray(0, MiB);
    assert.equal(md5, createHash("md5").update(stream).digest("hex"));
    assert.deepEqual(lines.slice(0, 3), [
      `${COMPUTE_MARK} begin md5`,
      `${COMPUTE_MARK} end md5 ${md5}`,
      `${COMPUTE_MARK} begin gzip`,
    ]);
    const gz = Number(/end gzip (\d+)$/.exec(lines[3]!)?.[1]);
    assert.ok(gz > 1000 && gz < MiB, `gzip output size ${lines[3]}`);
    assert.equal(lines.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(expectedMd5(Uint8Array.of(1, 2, 3), 1), undefined);
});

const run = (marks: { seconds: number; line: string; instructions?: number }[]): BootRun => ({
  status: "ok",
  seconds: 100,
  stop: "reset",
  failureLine: "",
  consoleTail: [],
  marks,
});

test("workload windows: begin and end lines the marker starts, the result, instructions in between", () => {
  const r = run([
    { seconds: 30, line: `vmlab-init: running: echo "${COMPUTE_MARK} begin md5"`, instructions: 1 },
    { seconds: 40, line: `${COMPUTE_MARK} begin md5`, instructions: 3e9 },
    { seconds: 50, line: `${COMPUTE_MARK} end md5 0123abcd\r`, instructions: 3.5e9 },
    { seconds: 51, line: `${COMPUTE_MARK} begin gzip`, instructions: 3.6e9 },
  ]);
  assert.deepEqual(workloadWindows(r), [
    { workload: "md5", seconds: 10, instructions: 0.5e9, result: "0123abcd" },
  ]);
  assert.deepEqual(workloadWindows(run([])), []);
});

test("the compute summary: medians, MIPS, QEMU's estimate, ratios, and the result checks", () => {
  const w = (workload: "md5" | "gzip", seconds: number, result: string, instructions?: number) =>
    ({
      workload,
      seconds,
      result,
      ...(instructions !== undefined ? { instructions } : {}),
    }) as WorkloadWindow;
  const runs = new Map<ComputeRowId, WorkloadWindow[][]>([
    ["vmlab-interp", [[w("md5", 20, "aa", 4e8), w("gzip", 60, "1000", 1.8e9)]]],
    ["qemu", [[w("md5", 2, "aa"), w("gzip", 6, "1000")]]],
    ["v86", [[w("md5", 10, "bb", 4.1e8)], []]],
  ]);
  const rows = summarizeCompute(["vmlab-interp", "qemu", "v86"], runs, ["md5", "gzip"], "aa");
  assert.equal(rows.length, 6);
  const [vm, q, v] = rows;
  assert.equal(vm!.mips!.median, 20);
  assert.equal(vm!.vsQemu, 10);
  assert.equal(vm!.vsV86, 2);
  assert.equal(q!.estimatedMips, 200, "vmlab's 4e8 instructions over QEMU's 2 s");
  assert.equal(q!.vsQemu, undefined);
  assert.equal(v!.resultOk, false, "a wrong md5 is flagged");
  assert.equal(vm!.resultOk, true);
  assert.equal(rows[5]!.measured, 0);
  assert.equal(rows[5]!.runCount, 2);
  assert.equal(rows[3]!.resultOk, true, "gzip sizes agree across the rows that have them");
  const lines = formatComputeTable(rows, 8).split("\n");
  assert.match(
    lines[0]!,
    /^engine\s+workload\s+runs\s+host s\s+instructions\s+MIPS\s+MiB\/s\s+vs qemu\s+vs v86\s+result$/,
  );
  assert.match(
    lines[2]!,
    /^vmlab interp\s+md5 8 MiB\s+1\/1\s+20\.00\s+4\.00e8\s+20\.0\s+0\.40\s+10\.0x\s+2\.00x\s+ok aa$/,
  );
  assert.match(lines[3]!, /^qemu tcg\s+md5 8 MiB\s+1\/1\s+2\.00\s+-\s+~200\.0\s+4\.00\s+-\s+0\.20x\s+ok aa$/);
  assert.match(
    lines[4]!,
    /^v86\s+md5 8 MiB\s+1\/2\s+10\.00\s+4\.10e8\s+41\.0\s+0\.80\s+5\.00x\s+-\s+WRONG bb$/,
  );
  assert.match(lines[7]!, /^v86\s+gzip 8 MiB\s+0\/2\s+-\s+-\s+-\s+-\s+-\s+-\s+-$/);
});

test("runConsoleProcess: a plain process's console, stages, exit status and timed marker lines", async () => {
  const script = [
    `echo '${INIT_STARTED_LINE}'`,
    `echo '${COMPUTE_MARK} begin md5'`,
    "sleep 0.3",
    `printf '${COMPUTE_MARK} end md5 abc\\r\\nvmlab-exit-status: 0\\r\\n'`,
  ].join("; ");
  const r = await runConsoleProcess("sh", ["-c", script], INIT_STARTED_LINE, {
    timeoutMs: 10_000,
    markPrefix: COMPUTE_MARK,
  });
  assert.equal(r.status, "ok");
  assert.equal(r.stop, "exit 0");
  assert.ok(r.init !== undefined && r.done !== undefined);
  const windows = workloadWindows(r);
  assert.equal(windows.length, 1);
  assert.equal(windows[0]!.result, "abc");
  assert.ok(windows[0]!.seconds >= 0.25, `window ${windows[0]!.seconds} s`);

  const hang = await runConsoleProcess("sleep", ["10"], INIT_STARTED_LINE, { timeoutMs: 300 });
  assert.equal(hang.status, "timeout");
  assert.equal(hang.stop, "killed (timeout)");
});

test("v86 boots the default image to /init through the boot benchmark", { timeout: 300_000 }, async () => {
  assert.ok(defaultImage(), NO_IMAGE);
  const log: string[] = [];
  const report = await runBootBench(
    {
      runs: 1,
      timeoutS: 240,
      qemu: false,
      v86: true,
      vmlab: false,
      entry: "decompressor",
      memoryMiB: 64,
      command: "true",
      time: "real",
    },
    (m) => log.push(m),
  );
  assert.ok(report.v86 !== null && "version" in report.v86, `v86 is set up: ${JSON.stringify(report.v86)}`);
  assert.equal(report.v86.memoryMiB, 128);
  assert.equal(report.rows.length, 1);
  const row = report.rows[0]!;
  assert.equal(row.id, "v86-decompressor");
  const r = row.runs[0]!;
  assert.equal(r.status, "ok", log.join("\n"));
  const init = r.init;
  assert.ok(init !== undefined, "the /init marker was seen");
  assert.ok(init.line.includes(INIT_STARTED_LINE));
  assert.ok(init.seconds > 0 && r.done!.seconds > init.seconds);
  assert.ok((init.instructions ?? 0) > 1e9, `instructions to /init: ${init.instructions}`);
  assert.ok((r.mips ?? 0) > 1);
  assert.match(formatBootTable(report.rows), /\nv86 decompressor\s+ok 1\/1/);
});

test("the compute benchmark, small: md5 and gzip of 1 MiB in vmlab, QEMU and v86", {
  timeout: 900_000,
}, async () => {
  assert.ok(defaultImage(), NO_IMAGE);
  const qemu = qemuVersion() !== undefined;
  const log: string[] = [];
  const report = await runComputeBench(
    {
      runs: 1,
      mib: 1,
      workloads: ["md5", "gzip"],
      timeoutS: 600,
      vmlab: true,
      engines: ["interp"],
      qemu,
      v86: true,
      memoryMiB: 64,
      time: "real",
    },
    (m) => log.push(m),
  );
  const ids: ComputeRowId[] = qemu ? ["vmlab-interp", "qemu", "v86"] : ["vmlab-interp", "v86"];
  assert.deepEqual(
    report.rows.map((r) => `${r.id} ${r.workload}`),
    ["md5", "gzip"].flatMap((w) => ids.map((id) => `${id} ${w}`)),
  );
  for (const r of report.rows) {
    const why = `${r.id} ${r.workload}: ${JSON.stringify(r)}\n${log.join("\n")}`;
    assert.equal(r.measured, 1, why);
    assert.ok(r.resultOk, why);
    assert.ok(r.seconds!.median > 0, why);
    if (r.id === "qemu") assert.ok(r.estimatedMips! > 0, why);
    else assert.ok(r.instructions!.median > 1e6 && r.mips!.median > 0, why);
  }
  assert.equal(report.rows[0]!.results[0], report.expectedMd5);
  assert.match(formatComputeTable(report.rows, report.mib), /\nvmlab interp\s+md5 1 MiB\s+1\/1/);
});
