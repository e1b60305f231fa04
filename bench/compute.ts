/**
 * Compute benchmark: boots the default Debian guest (`vmlab image build`) in vmlab (per CPU
 * engine), QEMU TCG and v86, and times md5sum and gzip of N MiB inside it; prints medians of
 * the host seconds per workload, MIPS (vmlab and v86 count instructions; QEMU's is estimated
 * from vmlab's count), and the ratios to QEMU and v86. The md5 is checked against the host's.
 *
 *   node dist/bench/compute.js [--mib N] [--runs N] [--workloads md5,gzip] [--cpu interp,bt]
 *                              [--no-qemu] [--no-v86] [--no-vmlab] [--timeout S] [--json FILE]
 *
 * The same command as `vmlab bench compute`; see src/bench/compute-bench.ts.
 */

import { Command } from "commander";
import { registerBenchCommand } from "../src/cli/commands/bench.js";

const program = new Command().name("vmlab").showHelpAfterError();
registerBenchCommand(program);
await program.parseAsync(["bench", "compute", ...process.argv.slice(2)], { from: "user" });
