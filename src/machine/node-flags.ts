/**
 * The Node options a vmlab process runs under: bin/vmlab.js starts itself again with them
 * when they are missing, and the benchmarks pass them to their vmlab children, so that a
 * benchmarked boot runs the engines as `vmlab run` does.
 *
 *  - The interpreter's hot loop is one large function: a bigger cumulative inlining budget
 *    lets V8 inline its instruction helpers (about +10% MIPS).
 *  - V8 compiles on a pool of background threads (Node's default: 4), the translator's wasm
 *    tier-up and the JIT's optimised JavaScript. On a machine with 2 cores, those threads took
 *    cycles from the VM's own thread: a deterministic boot with --cpu bt through the
 *    decompressor ran ~7% faster with a pool of 1 (17.0 s and 18.7 s against 18.3 s and
 *    20.1 s, alternate runs). The pool gets the cores the VM thread leaves, at least one.
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

/** Whether the running process was started with vmlab's Node options (its pool size set). */
export function hasVmlabNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.some((a) => a === POOL_SIZE_OPTION || a.startsWith(`${POOL_SIZE_OPTION}=`));
}
