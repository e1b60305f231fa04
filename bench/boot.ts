/**
 * Boot benchmark: boots the default Debian guest (`vmlab image build`) in vmlab (per CPU
 * engine, through the kernel's decompressor and into vmlinux after host-side decompression),
 * in QEMU TCG and in v86, runs `true` in it, and prints medians of the host seconds to
 * "/init started" and to "command done", instruction counts and MIPS (vmlab, v86), and the
 * ratios of every row to QEMU and to v86.
 *
 *   node dist/bench/boot.js [--runs N] [--timeout S] [--json FILE] [--no-qemu] [--no-v86]
 *                           [--cpu interp,bt] [--entry vmlinux|decompressor|both] [--append ARGS] [--mem MiB]
 *
 * The same command as `vmlab bench boot`; see src/bench/boot-bench.ts.
 */

import { Command } from "commander";
import { registerBenchCommand } from "../src/cli/commands/bench.js";

const program = new Command().name("vmlab").showHelpAfterError();
registerBenchCommand(program);
await program.parseAsync(["bench", "boot", ...process.argv.slice(2)], { from: "user" });
