/**
 * Network benchmark: for each NIC model, two guests on one switch, one sending a TCP bulk
 * stream to the other, in vmlab (two VMs on worker threads, a virtual switch) and in QEMU TCG
 * (two processes over `-netdev socket`); prints throughput, instructions per byte, VM exits
 * and interrupts per frame, and the md5 check at both ends.
 *
 *   node dist/bench/net.js [--models a,b] [--bytes 16M] [--runs N] [--timeout S] [--json FILE]
 *                          [--no-qemu] [--no-vmlab] [--no-mitigation] [--pcap-dir DIR] [--mem MiB]
 *
 * The same command as `vmlab bench net`; see src/bench/net-bench.ts.
 */

import { Command } from "commander";
import { registerBenchCommand } from "../src/cli/commands/bench.js";

const program = new Command().name("vmlab").showHelpAfterError();
registerBenchCommand(program);
await program.parseAsync(["bench", "net", ...process.argv.slice(2)], { from: "user" });
