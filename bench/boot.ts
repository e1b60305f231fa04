/**
 * Boot benchmark: boots the default Debian guest (`vmlab image build`) in vmlab (through the
 * kernel's decompressor, and into vmlinux after host-side decompression) and in QEMU TCG,
 * runs `true` in it, and prints medians of the host seconds to "/init started" and to
 * "command done", vmlab's instruction counts and MIPS, and vmlab/QEMU ratios.
 *
 *   node dist/bench/boot.js [--runs N] [--timeout S] [--json FILE] [--no-qemu]
 *                           [--entry vmlinux|decompressor|both] [--append ARGS] [--mem MiB]
 *
 * The same command as `vmlab bench boot`; see src/bench/boot-bench.ts.
 */

import { Command } from "commander";
import { registerBenchCommand } from "../src/cli/commands/bench.js";

const program = new Command().name("vmlab").showHelpAfterError();
registerBenchCommand(program);
await program.parseAsync(["bench", "boot", ...process.argv.slice(2)], { from: "user" });
