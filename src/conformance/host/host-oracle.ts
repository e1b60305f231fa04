/**
 * Oracle (a): the host CPU. Builds host/harness.c with `gcc -m32` into a cache directory
 * (rebuilt when the source changes), streams cases to it and parses its results.
 *
 * Some hosts cannot execute 32-bit programs at all (a 64-bit kernel without IA32 emulation,
 * or a sandbox such as gVisor: exec fails with ENOEXEC). There the harness runs under
 * `qemu-i386` (Debian's qemu-user), and the oracle is QEMU's user-mode emulation of the CPU
 * rather than the CPU itself; `harnessRunner()` says which one is in use.
 */

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillRegion, MAX_CODE, MAX_PATCH, PATCH_BYTES, REGION_SIZE } from "../layout.js";
import { findSource } from "../sources.js";
import type { CaseOutcome, UserCase } from "../user/case.js";

export class HostOracleError extends Error {
  override readonly name = "HostOracleError";
}

export const CACHE_DIR = join(tmpdir(), "vmlab-conformance");

const IN_SIZE = 548;
const OUT_SIZE = 172;
const IN_MAGIC = 0x56434931;
const OUT_MAGIC = 0x56434f31;
const HDR_MAGIC = 0x56434831;

/** Compile the harness (cached by source hash) and return the executable's path. */
export function buildHarness(): string {
  const src = findSource("host/harness.c");
  const text = readFileSync(src);
  const flags = ["-m32", "-O1", "-no-pie", "-fno-pie", "-w"];
  const hash = createHash("sha256").update(text).update(flags.join(" ")).digest("hex").slice(0, 16);
  mkdirSync(CACHE_DIR, { recursive: true });
  const exe = join(CACHE_DIR, `harness-${hash}`);
  if (existsSync(exe)) return exe;
  const tmp = `${exe}.${process.pid}.tmp`;
  const r = spawnSync("gcc", [...flags, src, "-o", tmp], { encoding: "utf8" });
  if (r.error !== undefined) {
    throw new HostOracleError(`cannot run gcc (${r.error.message}): install gcc and gcc-multilib`);
  }
  if (r.status !== 0) {
    throw new HostOracleError(
      `gcc -m32 failed to build the host harness; install gcc-multilib (apt-get install gcc-multilib)\n${r.stderr}`,
    );
  }
  renameSync(tmp, exe);
  return exe;
}

/** How the harness is run: directly on the host CPU, or under QEMU's user-mode emulator. */
export interface HarnessRunner {
  readonly oracle: "host CPU" | "qemu-i386";
  readonly command: string;
  readonly args: readonly string[];
}

let runner: HarnessRunner | undefined;

/** Does `command args` start the harness (it prints its header before reading any case)? */
function printsHeader(command: string, args: readonly string[]): boolean {
  const r = spawnSync(command, args, { input: Buffer.alloc(0), timeout: 30_000 });
  return r.error === undefined && r.stdout.length >= 4 && r.stdout.readUInt32LE(0) === HDR_MAGIC;
}

/**
 * Build the harness and find how to run it: natively when this host executes 32-bit x86
 * programs, else under qemu-i386 when it is installed (scripts/setup.sh installs it on such
 * hosts); otherwise a HostOracleError that says what is missing.
 */
export function harnessRunner(): HarnessRunner {
  if (runner !== undefined) return runner;
  const exe = buildHarness();
  if (printsHeader(exe, [])) runner = { oracle: "host CPU", command: exe, args: [] };
  else if (printsHeader("qemu-i386", [exe]))
    runner = { oracle: "qemu-i386", command: "qemu-i386", args: [exe] };
  else {
    throw new HostOracleError(
      "this host cannot execute the 32-bit harness (no IA32 emulation?) and qemu-i386 cannot run it either: install qemu-user (apt-get install qemu-user)",
    );
  }
  return runner;
}

/** Segment selectors the harness process runs with: ES CS SS DS FS GS. */
export type HostSelectors = readonly number[];

export function encodeCase(c: UserCase): Buffer {
  const b = Buffer.alloc(IN_SIZE);
  if (c.code.length > MAX_CODE) throw new HostOracleError(`case ${c.id}: code longer than ${MAX_CODE}`);
  const patches = splitPatches(c);
  b.writeUInt32LE(IN_MAGIC, 0);
  b.writeUInt32LE(c.id >>> 0, 4);
  for (let i = 0; i < 8; i++) b.writeUInt32LE(c.regs[i]! >>> 0, 8 + i * 4);
  b.writeUInt32LE(c.eflags >>> 0, 40);
  b.writeUInt32LE(c.dataSeed >>> 0, 44);
  b.writeUInt32LE(c.fpu !== undefined ? 1 : 0, 48);
  b.writeUInt8(c.code.length, 52);
  b.writeUInt8(patches.length, 53);
  Buffer.from(c.code).copy(b, 56);
  for (let i = 0; i < patches.length; i++) {
    const p = patches[i]!;
    const at = 120 + i * (4 + PATCH_BYTES);
    b.writeUInt16LE(p.offset, at);
    b.writeUInt8(p.bytes.length, at + 2);
    Buffer.from(p.bytes).copy(b, at + 4);
  }
  if (c.fpu !== undefined) Buffer.from(c.fpu).copy(b, 440);
  return b;
}

function splitPatches(c: UserCase): { offset: number; bytes: Uint8Array }[] {
  const out: { offset: number; bytes: Uint8Array }[] = [];
  for (const p of c.patches) {
    if (p.offset < 0 || p.offset + p.bytes.length > REGION_SIZE) {
      throw new HostOracleError(`case ${c.id}: patch outside the region`);
    }
    for (let i = 0; i < p.bytes.length; i += PATCH_BYTES) {
      out.push({
        offset: p.offset + i,
        bytes: p.bytes.subarray(i, Math.min(p.bytes.length, i + PATCH_BYTES)),
      });
    }
  }
  if (out.length > MAX_PATCH) throw new HostOracleError(`case ${c.id}: more than ${MAX_PATCH} patch chunks`);
  return out;
}

/** The region as a case starts it: the xorshift fill, then the patches. */
export function initialRegion(c: UserCase): Uint8Array {
  const r = new Uint8Array(REGION_SIZE);
  fillRegion(r, c.dataSeed);
  for (const p of c.patches) r.set(p.bytes, p.offset);
  return r;
}

export interface HostRun {
  /** What produced the outcomes (harnessRunner). */
  readonly oracle: HarnessRunner["oracle"];
  readonly selectors: HostSelectors;
  readonly outcomes: Map<number, CaseOutcome>;
}

/**
 * Run cases on the host. A harness that dies mid-batch (it should not) is restarted after
 * the case it died on, which is reported with `error`.
 */
export async function runOnHost(cases: readonly UserCase[], timeoutMs = 120_000): Promise<HostRun> {
  const exe = harnessRunner();
  const outcomes = new Map<number, CaseOutcome>();
  let selectors: HostSelectors = [];
  let start = 0;
  while (start < cases.length) {
    const batch = cases.slice(start);
    const r = await runBatch(exe, batch, timeoutMs);
    selectors = r.selectors;
    for (const [id, o] of r.outcomes) outcomes.set(id, o);
    start += r.outcomes.size;
    if (start < cases.length) {
      const dead = cases[start]!;
      outcomes.set(dead.id, {
        vector: -1,
        errorCode: 0,
        regs: [],
        eflags: 0,
        eip: 0,
        region: new Uint8Array(0),
        error: `host harness died on this case (${r.why})`,
      });
      start++;
    }
  }
  return { oracle: exe.oracle, selectors, outcomes };
}

function runBatch(
  exe: HarnessRunner,
  cases: readonly UserCase[],
  timeoutMs: number,
): Promise<{ selectors: HostSelectors; outcomes: Map<number, CaseOutcome>; why: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe.command, exe.args, { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin.on("error", () => {
      /* the harness died: handled on close */
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new HostOracleError(`cannot start the host harness: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const why = `exit ${code ?? ""} ${signal ?? ""} ${stderr.trim()}`.trim();
      try {
        resolve({ ...parseOutput(all, cases, why), why });
      } catch (e) {
        reject(e);
      }
    });
    const payload = Buffer.concat(cases.map(encodeCase));
    child.stdin.end(payload);
  });
}

function parseOutput(
  all: Buffer,
  cases: readonly UserCase[],
  why: string,
): { selectors: HostSelectors; outcomes: Map<number, CaseOutcome> } {
  if (all.length < 28 || all.readUInt32LE(0) !== HDR_MAGIC) {
    throw new HostOracleError(`the host harness produced no header (could it map its fixed pages?): ${why}`);
  }
  const selectors = [0, 1, 2, 3, 4, 5].map((i) => all.readUInt32LE(4 + i * 4));
  const byId = new Map(cases.map((c) => [c.id, c]));
  const outcomes = new Map<number, CaseOutcome>();
  let at = 28;
  while (at + OUT_SIZE <= all.length) {
    if (all.readUInt32LE(at) !== OUT_MAGIC) throw new HostOracleError("host harness output out of sync");
    const id = all.readUInt32LE(at + 4);
    const n = all.readUInt32LE(at + 168);
    if (at + OUT_SIZE + n * 4 > all.length) break;
    const c = byId.get(id);
    if (c === undefined) throw new HostOracleError(`host harness answered unknown case ${id}`);
    const region = initialRegion(c);
    for (let i = 0; i < n; i++) {
      const e = all.readUInt32LE(at + OUT_SIZE + i * 4);
      region[e >>> 8] = e & 0xff;
    }
    const regs: number[] = [];
    for (let i = 0; i < 8; i++) regs.push(all.readUInt32LE(at + 20 + i * 4));
    const vector = all.readInt32LE(at + 8);
    const outcome: CaseOutcome = {
      vector,
      errorCode: all.readUInt32LE(at + 16),
      regs,
      eflags: all.readUInt32LE(at + 52),
      eip: all.readUInt32LE(at + 56),
      region,
      ...(c.fpu !== undefined ? { fpu: new Uint8Array(all.subarray(at + 60, at + 168)) } : {}),
    };
    outcomes.set(id, outcome);
    at += OUT_SIZE + n * 4;
  }
  return { selectors, outcomes };
}
