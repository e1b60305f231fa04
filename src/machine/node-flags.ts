/**
 * The Node options and environment a vmlab process runs under: bin/vmlab.js starts itself
 * again with them when they are missing, and the benchmarks pass them to their vmlab
 * children, so that a benchmarked boot runs the engines as `vmlab run` does.
 *
 *  - The interpreter's hot loop is one large function: a bigger cumulative inlining budget
 *    lets V8 inline its instruction helpers (about +10% MIPS).
 *  - V8 compiles on a pool of background threads (Node's default: 4), the translator's wasm
 *    tier-up and the JIT's optimised JavaScript. On a machine with 2 cores, those threads took
 *    cycles from the VM's own thread: a deterministic boot with --cpu bt through the
 *    decompressor ran ~7% faster with a pool of 1 (17.0 s and 18.7 s against 18.3 s and
 *    20.1 s, alternate runs). The pool gets the cores the VM thread leaves, at least one.
 *  - glibc's malloc (read from the environment at start-up, so also set by bin/vmlab.js's
 *    second process): V8 allocates and frees with malloc at a high rate (its compilers'
 *    zones among others), and glibc hands freed memory at the top of its heap back to the
 *    kernel past the trim threshold (128 KiB, then adjusted); each page of it touched again
 *    is a page fault, and page faults are dear in a VM guest such as this machine. With the
 *    memory kept (MALLOC_ENV) a deterministic --cpu bt boot took 79-82 K minor faults
 *    instead of 225-270 K, 0.75 s of system time instead of 1.6-2.1 s, and 5% less wall time
 *    (median of 7 sequential pairs, 0.91-0.99; measured with M_TOP_PAD 64 MiB as well),
 *    for 7-18 MB more RSS.
 */

import { availableParallelism } from "node:os";

export const INLINE_BUDGET_FLAG = "--max-inlined-bytecode-size-cumulative=4000";
export const POOL_SIZE_OPTION = "--v8-pool-size";

/** Background compiler threads for a host with `cores` cores: one core stays the VM's. */
export function compilerPoolSize(cores: number = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** The Node options a vmlab process should start with. */
export function vmlabNodeFlags(cores?: number): string[] {
  return [INLINE_BUDGET_FLAG, `${POOL_SIZE_OPTION}=${compilerPoolSize(cores)}`];
}

/**
 * glibc malloc settings (mallopt(3) M_TRIM_THRESHOLD, M_MMAP_THRESHOLD). The trim threshold
 * is what cuts the faults (alone: 81 K); a fixed mmap threshold saved a little more CPU.
 * M_TOP_PAD is left at its default: the fault count is the same without it.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
  MALLOC_MMAP_THRESHOLD_: String(32 << 20),
};

/** The environment for a vmlab process: `env` with MALLOC_ENV's settings where it has none. */
export function vmlabEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...MALLOC_ENV, ...env };
}

/** Whether `env` has every MALLOC_ENV setting (its own values or vmlab's). */
export function hasVmlabEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.keys(MALLOC_ENV).every((k) => env[k] !== undefined);
}

/** Whether the running process was started with vmlab's Node options (its pool size set). */
export function hasVmlabNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => a === POOL_SIZE_OPTION || a.startsWith(`${POOL_SIZE_OPTION}=`));
}
